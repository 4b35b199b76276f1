-- spiral/mssql/parts/query_text
-- Query text, each distinct statement once, keyed like text_key above. A text lookup can
-- wait on a compile lock: under LOCK_TIMEOUT 5 a blocked lookup gives up after 5 ms (as in
-- sp_WhoIsActive) and only the text is lost, never the sessions.
SET LOCK_TIMEOUT 5;
BEGIN TRY
    SELECT
        CAST(SUBSTRING(HASHBYTES('SHA2_256', k.sql_handle + CAST(k.statement_start_offset AS binary(4))), 1, 8)
             AS bigint) AS text_key,
        CAST(LEFT(SUBSTRING(q.text, k.statement_start_offset / 2 + 1, 4000), 500)
             AS nvarchar(500)) AS query_text
    FROM (
        SELECT DISTINCT r.sql_handle, r.statement_start_offset
        FROM sys.dm_exec_requests AS r
        WHERE r.sql_handle IS NOT NULL
    ) AS k
    CROSS APPLY sys.dm_exec_sql_text(k.sql_handle) AS q
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'query_text' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
SET LOCK_TIMEOUT 1000;
