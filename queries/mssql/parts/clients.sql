-- spiral/mssql/parts/clients
-- Each client combination once (host, program, login, database), keyed like client_key
-- above: the same join, so every combination a session row can name is here, save one
-- that appeared between the two statements (that session's names then read as unknown).
BEGIN TRY
    SELECT DISTINCT
        CAST(SUBSTRING(HASHBYTES('SHA2_256', CONCAT(s.host_name, NCHAR(31), s.program_name, NCHAR(31),
                                                    s.login_name, NCHAR(31), d.name)), 1, 8)
             AS bigint) AS client_key,
        CAST(s.host_name AS nvarchar(128)) AS host_name,
        CAST(s.program_name AS nvarchar(128)) AS program_name,
        CAST(s.login_name AS nvarchar(128)) AS session_login,
        CAST(d.name AS nvarchar(128)) AS session_database
    FROM sys.dm_exec_sessions AS s
    LEFT JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
    CROSS APPLY (SELECT DB_NAME(COALESCE(r.database_id, s.database_id)) AS name) AS d
    WHERE s.is_user_process = 1 OR r.session_id IS NOT NULL
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'clients' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
