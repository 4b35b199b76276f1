-- spiral/mssql/parts/clients
-- Each client combination (host, program, login, database) once per connection, keyed
-- like client_key above: the same join, so every combination a session row can name is
-- here or was sent on an earlier sample (#spiral_sent, as for query text), save one that
-- appeared between the two statements (that session's names then read as unknown, and
-- the combination comes with the next sample). Sent first, recorded after, inside TRY.
BEGIN TRY
    DECLARE @new_clients TABLE (
        client_key bigint NOT NULL,
        host_name nvarchar(128) NULL,
        program_name nvarchar(128) NULL,
        session_login nvarchar(128) NULL,
        session_database nvarchar(128) NULL);
    INSERT INTO @new_clients (client_key, host_name, program_name, session_login, session_database)
    SELECT DISTINCT ck.client_key, s.host_name, s.program_name, s.login_name, d.name
    FROM sys.dm_exec_sessions AS s
    LEFT JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
    CROSS APPLY (SELECT DB_NAME(COALESCE(r.database_id, s.database_id)) AS name) AS d
    CROSS APPLY (
        SELECT CAST(SUBSTRING(HASHBYTES('SHA2_256', CONCAT(s.host_name, NCHAR(31), s.program_name, NCHAR(31),
                                                           s.login_name, NCHAR(31), d.name)), 1, 8)
                    AS bigint) AS client_key
    ) AS ck
    WHERE (s.is_user_process = 1 OR r.session_id IS NOT NULL)
      AND NOT EXISTS (SELECT 1 FROM #spiral_sent AS t WHERE t.kind = 2 AND t.k = ck.client_key)
    OPTION (MAXDOP 1, KEEPFIXED PLAN);
    SELECT
        CAST(n.client_key AS bigint) AS client_key,
        CAST(n.host_name AS nvarchar(128)) AS host_name,
        CAST(n.program_name AS nvarchar(128)) AS program_name,
        CAST(n.session_login AS nvarchar(128)) AS session_login,
        CAST(n.session_database AS nvarchar(128)) AS session_database
    FROM @new_clients AS n;
    INSERT INTO #spiral_sent (kind, k)
    SELECT DISTINCT 2, n.client_key FROM @new_clients AS n
    OPTION (KEEPFIXED PLAN);
END TRY
BEGIN CATCH
    SELECT CAST(N'clients' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
