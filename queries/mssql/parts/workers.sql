-- spiral/mssql/parts/workers
-- Worker threads: tasks queued for a worker, active and current workers over the visible
-- schedulers (the DAC's own scheduler is 'VISIBLE ONLINE (DAC)' and is left out), and
-- tasks waiting on THREADPOOL with no filter on session: a login waiting for a worker has
-- no session yet. In TRY/CATCH: Azure SQL Database refuses these DMVs to logins without
-- ##MS_ServerStateReader## on its smaller tiers, and the error names the set.
BEGIN TRY
    SELECT
        q.queued_tasks,
        q.active_workers,
        q.current_workers,
        q.runnable_tasks,
        tp.threadpool_waiters,
        CAST(si.max_workers_count AS int) AS max_workers,
        CAST(si.cpu_count AS int) AS cpu_count
    FROM (
        SELECT
            CAST(SUM(CAST(sc.work_queue_count AS bigint)) AS bigint) AS queued_tasks,
            CAST(SUM(CAST(sc.active_workers_count AS bigint)) AS bigint) AS active_workers,
            CAST(SUM(CAST(sc.current_workers_count AS bigint)) AS bigint) AS current_workers,
            CAST(SUM(CAST(sc.runnable_tasks_count AS bigint)) AS bigint) AS runnable_tasks
        FROM sys.dm_os_schedulers AS sc
        WHERE sc.status = N'VISIBLE ONLINE'
    ) AS q
    CROSS JOIN (
        SELECT CAST(COUNT_BIG(*) AS bigint) AS threadpool_waiters
        FROM sys.dm_os_waiting_tasks AS wt
        WHERE wt.wait_type = N'THREADPOOL'
    ) AS tp
    CROSS JOIN sys.dm_os_sys_info AS si
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'workers' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
