-- spiral/mssql/parts/query_text
-- Query text, each distinct statement once per connection, keyed like text_key above:
-- #spiral_sent (created by session_setup.sql) holds the keys already sent, so a later
-- sample sends only statements that are new since. The new texts are sent first and
-- recorded after, both inside TRY: if the SELECT fails nothing is recorded and the texts
-- come again next time. A text that cannot be read (an encrypted module) is sent as NULL
-- and recorded too, so spiral knows it as unknown instead of asking again.
-- A text lookup can wait on a compile lock: under LOCK_TIMEOUT 5 a blocked lookup gives
-- up after 5 ms (as in sp_WhoIsActive) and only the text is lost, never the sessions.
-- KEEPFIXED PLAN: the temp table's growing row count must not recompile the statement.
SET LOCK_TIMEOUT 5;
BEGIN TRY
    DECLARE @new_texts TABLE (text_key bigint NOT NULL, query_text nvarchar(500) NULL);
    INSERT INTO @new_texts (text_key, query_text)
    SELECT
        k.text_key,
        CAST(LEFT(SUBSTRING(q.text, k.statement_start_offset / 2 + 1, 4000), 500)
             AS nvarchar(500))
    FROM (
        SELECT DISTINCT
            r.sql_handle,
            r.statement_start_offset,
            CAST(SUBSTRING(HASHBYTES('SHA2_256', r.sql_handle + CAST(r.statement_start_offset AS binary(4))), 1, 8)
                 AS bigint) AS text_key
        FROM sys.dm_exec_requests AS r
        WHERE r.sql_handle IS NOT NULL
    ) AS k
    OUTER APPLY sys.dm_exec_sql_text(k.sql_handle) AS q
    WHERE NOT EXISTS (SELECT 1 FROM #spiral_sent AS t WHERE t.kind = 1 AND t.k = k.text_key)
    OPTION (MAXDOP 1, KEEPFIXED PLAN);
    SELECT CAST(n.text_key AS bigint) AS text_key, CAST(n.query_text AS nvarchar(500)) AS query_text
    FROM @new_texts AS n;
    INSERT INTO #spiral_sent (kind, k)
    SELECT DISTINCT 1, n.text_key FROM @new_texts AS n
    OPTION (KEEPFIXED PLAN);
END TRY
BEGIN CATCH
    SELECT CAST(N'query_text' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
SET LOCK_TIMEOUT 1000;
