-- spiral/mssql/parts/memory_grants
-- Requests queued for a grant (grant_time IS NULL) and holding one, with the five biggest
-- holders: who took the workspace. The DMV has one row per grant request, not per
-- session, so it stays small; the TOP (5) sort is tiny and fits the small-query semaphore,
-- which a queue on the regular one does not block. LEFT JOIN: the counts arrive even when
-- nobody holds a grant.
BEGIN TRY
    SELECT
        c.grant_waiters,
        c.grant_holders,
        c.longest_grant_wait_ms,
        h.holder_session_id,
        h.holder_granted_kb,
        h.holder_requested_kb,
        h.holder_dop
    FROM (
        SELECT
            CAST(COUNT_BIG(CASE WHEN mg.grant_time IS NULL THEN 1 END) AS bigint) AS grant_waiters,
            CAST(COUNT_BIG(mg.grant_time) AS bigint) AS grant_holders,
            CAST(MAX(CASE WHEN mg.grant_time IS NULL THEN mg.wait_time_ms END) AS bigint) AS longest_grant_wait_ms
        FROM sys.dm_exec_query_memory_grants AS mg
    ) AS c
    LEFT JOIN (
        SELECT TOP (5)
            CAST(mg.session_id AS int) AS holder_session_id,
            CAST(mg.granted_memory_kb AS bigint) AS holder_granted_kb,
            CAST(mg.requested_memory_kb AS bigint) AS holder_requested_kb,
            CAST(mg.dop AS int) AS holder_dop
        FROM sys.dm_exec_query_memory_grants AS mg
        WHERE mg.grant_time IS NOT NULL
        ORDER BY mg.granted_memory_kb DESC
    ) AS h ON 1 = 1
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'memory_grants' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
