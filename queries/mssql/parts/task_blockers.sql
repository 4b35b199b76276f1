-- spiral/mssql/parts/task_blockers
-- Waiting tasks blocked by another session, one row per session (the lock wait first,
-- then the longest). For a parallel request sys.dm_exec_requests shows only the
-- coordinator (CXPACKET, "blocked" by its own session): the worker threads' real blocker
-- is here, and spiral uses it when the request itself names no other session.
BEGIN TRY
    SELECT
        CAST(w.session_id AS int) AS task_session_id,
        CAST(w.blocking_session_id AS int) AS task_blocked_by,
        CAST(w.wait_type AS nvarchar(60)) AS task_wait_type,
        CAST(CASE WHEN w.wait_duration_ms > 2147483647 THEN 2147483647
                  ELSE w.wait_duration_ms END AS int) AS task_wait_ms
    FROM (
        SELECT wt.session_id, wt.blocking_session_id, wt.wait_type, wt.wait_duration_ms,
               ROW_NUMBER() OVER (
                   PARTITION BY wt.session_id
                   ORDER BY CASE WHEN wt.wait_type LIKE N'LCK[_]M[_]%' THEN 0 ELSE 1 END,
                            wt.wait_duration_ms DESC) AS pick
        FROM sys.dm_os_waiting_tasks AS wt
        WHERE wt.session_id IS NOT NULL
          AND (wt.blocking_session_id > 0 OR wt.blocking_session_id IN (-2, -3))
          AND wt.blocking_session_id <> wt.session_id
    ) AS w
    WHERE w.pick = 1
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'task_blockers' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
