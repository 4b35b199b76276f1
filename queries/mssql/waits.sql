-- spiral (mssql/waits): what running requests are waiting on now, most common first,
-- and the tasks queued for a worker thread (THREADPOOL) beside them.
SELECT COALESCE(r.wait_type, N'(running)') AS wait_type,
       COUNT(*) AS requests,
       MAX(r.wait_time) / 1000 AS longest_wait_seconds
FROM sys.dm_exec_requests AS r
JOIN sys.dm_exec_sessions AS s ON s.session_id = r.session_id
WHERE s.is_user_process = 1
  AND r.session_id <> @@SPID
GROUP BY r.wait_type
ORDER BY requests DESC
OPTION (MAXDOP 1);

SELECT SUM(work_queue_count) AS tasks_queued_for_a_worker,
       SUM(active_workers_count) AS active_workers
FROM sys.dm_os_schedulers
WHERE status = N'VISIBLE ONLINE'
OPTION (MAXDOP 1);
