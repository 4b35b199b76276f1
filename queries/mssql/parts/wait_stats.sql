-- spiral/mssql/parts/wait_stats
-- Completed waits since startup (sys.dm_os_wait_stats, cumulative): spiral diffs them
-- between samples, so a wait that accrues between two samples shows even when nobody waits
-- at either instant. Only the waits that matter for a spiral: the poison waits
-- (sp_BlitzFirst's list), locks, latches, I/O, log, parallelism, CPU, network, Query Store
-- and availability-group commit; background sleeps and queues are left out by construction,
-- and a fixed list keeps the statement's text and size stable.
BEGIN TRY
    SELECT
        CAST(ws.wait_type AS nvarchar(60)) AS stat_wait_type,
        CAST(ws.wait_time_ms AS bigint) AS stat_wait_ms,
        CAST(ws.signal_wait_time_ms AS bigint) AS stat_signal_ms,
        CAST(ws.waiting_tasks_count AS bigint) AS stat_tasks
    FROM sys.dm_os_wait_stats AS ws
    WHERE ws.wait_time_ms > 0
      AND (ws.wait_type IN (N'THREADPOOL', N'RESOURCE_SEMAPHORE', N'RESOURCE_SEMAPHORE_QUERY_COMPILE',
                            N'IO_QUEUE_LIMIT', N'IO_RETRY', N'LOG_RATE_GOVERNOR', N'POOL_LOG_RATE_GOVERNOR',
                            N'PREEMPTIVE_DEBUG', N'RESMGR_THROTTLED', N'WRITELOG', N'LOGBUFFER',
                            N'HADR_SYNC_COMMIT', N'CXPACKET', N'CXCONSUMER', N'CXSYNC_PORT', N'CXSYNC_CONSUMER',
                            N'SOS_SCHEDULER_YIELD', N'ASYNC_NETWORK_IO', N'IO_COMPLETION', N'ASYNC_IO_COMPLETION')
           OR ws.wait_type LIKE N'SE[_]REPL[_]%'
           OR ws.wait_type LIKE N'LCK[_]M[_]%'
           OR ws.wait_type LIKE N'PAGELATCH[_]%'
           OR ws.wait_type LIKE N'PAGEIOLATCH[_]%'
           OR ws.wait_type LIKE N'QDS[_]STMT%')
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'wait_stats' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
