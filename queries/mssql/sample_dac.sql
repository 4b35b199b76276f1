-- spiral/mssql/sample_dac
-- The sample spiral sends over the dedicated admin connection (DAC). The DAC has one
-- scheduler and a small amount of memory of its own, and only one DAC session may exist
-- per instance, so this batch is sample.sql without its costlier parts: no query text, no
-- plan cache, no Query Store options, no lock-owner lookup. The statements it shares with
-- sample.sql are identical, so the same decoder reads both.
-- Every statement runs with MAXDOP 1 (the DAC cannot run parallel plans anyway).

-- Facts that need no permission: version, edition, this session, the server's clock,
-- whether this login may see other sessions at all, and which instance answered (over the
-- DAC spiral checks it is the one it asked for).
SELECT
    CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
    CAST(@@VERSION AS nvarchar(512)) AS version_text,
    CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
    CAST(SERVERPROPERTY('EngineEdition') AS int) AS engine_edition,
    CAST(@@SPID AS int) AS own_session_id,
    CAST(SUSER_SNAME() AS nvarchar(128)) AS login_name,
    CAST(GETUTCDATE() AS datetime) AS taken_at_utc,
    CAST(DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) AS int) AS utc_offset_min,
    CAST(CASE WHEN CAST(SERVERPROPERTY('EngineEdition') AS int) = 5
              THEN HAS_PERMS_BY_NAME(NULL, N'DATABASE', N'VIEW DATABASE STATE')
              ELSE COALESCE(NULLIF(HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER STATE'), 0),
                            HAS_PERMS_BY_NAME(NULL, NULL, N'VIEW SERVER PERFORMANCE STATE'), 0)
         END AS int) AS sees_all,
    CAST(@@SERVERNAME AS nvarchar(128)) AS server_name,
    CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name;

-- Server settings. Inside EXEC so that a server without sys.configurations fails only this
-- statement: a missing object in the outer batch would fail the whole batch.
EXEC (N'SELECT CAST(c.name AS nvarchar(128)) AS config_name,
       CAST(c.value_in_use AS bigint) AS config_value
FROM sys.configurations AS c
WHERE c.name IN (N''max worker threads'', N''optimize for ad hoc workloads'', N''user connections'')
OPTION (MAXDOP 1);');

-- Sessions and their requests, one row per session. Statements that read many rows run
-- inside TRY/CATCH: an error after some rows were sent (535, 1222) then ends with a small
-- "failed_set" row naming the statement, and spiral marks that area partial instead of
-- keeping a silently shorter list.
-- * MARS: a session may have several requests; the row shows the blocked one, else the
--   longest running, and `requests` says how many there are.
-- * Blockers -2 (orphaned distributed transaction) and -3 (deferred recovery) are kept: the
--   waiters are stuck on them. -4/-5 (latch owner unknown) and the session itself (a
--   parallel request waiting on its own threads) are not a lock chain.
-- * 1900-01-01 is the time of a session that never ran a request (last_request_end_time) or
--   is still logging in (login_time): it means "no time", and idle time then counts from the
--   login. DATEDIFF_BIG, because DATEDIFF returns int and overflows (error 535) past 24 days
--   in milliseconds and past 68 years in seconds.
-- * No query text here: text_key names the statement (8 bytes of a hash of sql_handle and
--   offset) and a later statement sends each distinct text once.
-- * No host, program, login or database names either: 5,000 connections come from a few
--   hundred such combinations. client_key names the combination (8 bytes of a hash) and
--   the next statement sends each once.
-- The sysadmin flag comes from the role catalog (members of a Windows group in sysadmin are
-- not seen) because IS_SRVROLEMEMBER per row may ask the domain about every login.
BEGIN TRY
    SELECT
        CAST(s.session_id AS int) AS session_id,
        CAST(s.is_user_process AS bit) AS is_user_process,
        CAST(COALESCE(r.status, s.status) AS nvarchar(30)) AS status,
        CAST(r.command AS nvarchar(32)) AS command,
        CAST(r.wait_type AS nvarchar(60)) AS wait_type,
        CAST(r.wait_time AS int) AS wait_ms,
        CAST(CASE WHEN (r.blocking_session_id > 0 AND r.blocking_session_id <> r.session_id)
                       OR r.blocking_session_id IN (-2, -3)
                  THEN r.blocking_session_id END AS int) AS blocked_by,
        CAST(COALESCE(r.open_transaction_count, s.open_transaction_count) AS int) AS open_transactions,
        CAST(r.total_elapsed_time AS int) AS elapsed_ms,
        CAST(CASE WHEN r.session_id IS NULL
                  THEN DATEDIFF_BIG(MILLISECOND,
                                    COALESCE(NULLIF(s.last_request_end_time, '19000101'),
                                             NULLIF(s.login_time, '19000101')),
                                    GETDATE()) END AS bigint) AS idle_ms,
        CAST(NULLIF(s.login_time, '19000101') AS datetime) AS login_time,
        CAST(SUBSTRING(HASHBYTES('SHA2_256', CONCAT(s.host_name, NCHAR(31), s.program_name, NCHAR(31),
                                                    s.login_name, NCHAR(31),
                                                    DB_NAME(COALESCE(r.database_id, s.database_id)))), 1, 8)
             AS bigint) AS client_key,
        CAST(CASE WHEN sa.sid IS NULL THEN 0 ELSE 1 END AS bit) AS is_sysadmin,
        CAST(r.requests AS int) AS requests,
        CAST(SUBSTRING(HASHBYTES('SHA2_256', r.sql_handle + CAST(r.statement_start_offset AS binary(4))), 1, 8)
             AS bigint) AS text_key
    FROM sys.dm_exec_sessions AS s
    LEFT JOIN (
        SELECT q.*,
               COUNT(*) OVER (PARTITION BY q.session_id) AS requests,
               ROW_NUMBER() OVER (
                   PARTITION BY q.session_id
                   ORDER BY CASE WHEN (q.blocking_session_id > 0 AND q.blocking_session_id <> q.session_id)
                                      OR q.blocking_session_id IN (-2, -3) THEN 0 ELSE 1 END,
                            q.total_elapsed_time DESC, q.request_id) AS pick
        FROM sys.dm_exec_requests AS q
    ) AS r ON r.session_id = s.session_id AND r.pick = 1
    LEFT JOIN (
        SELECT DISTINCT p.sid
        FROM sys.server_role_members AS rm
        JOIN sys.server_principals AS p ON p.principal_id = rm.member_principal_id
        WHERE rm.role_principal_id = 3 -- sysadmin
    ) AS sa ON sa.sid = s.security_id
    WHERE s.is_user_process = 1 OR r.session_id IS NOT NULL
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'sessions' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;

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

-- The compile gate (RESOURCE_SEMAPHORE_QUERY_COMPILE), summed over pools and gateways.
SELECT
    CAST(SUM(CAST(g.waiter_count AS bigint)) AS bigint) AS gateway_waiters,
    CAST(SUM(CAST(g.active_count AS bigint)) AS bigint) AS gateway_active,
    CAST(SUM(CAST(g.max_count AS bigint)) AS bigint) AS gateway_limit
FROM sys.dm_exec_query_optimizer_memory_gateways AS g
OPTION (MAXDOP 1);

-- Memory grants (RESOURCE_SEMAPHORE), per resource pool: one row per semaphore (regular and
-- small-query), summed by spiral so the statement needs no aggregate. timeout_error_count
-- is cumulative (requests that gave up with error 8645) and is diffed between samples. In
-- TRY/CATCH: an error loses only the memory-grant figures.
BEGIN TRY
    SELECT
        CAST(rs.pool_id AS int) AS grant_pool_id,
        CAST(p.name AS nvarchar(128)) AS grant_pool_name,
        CAST(rs.waiter_count AS bigint) AS pool_grant_waiters,
        CAST(rs.timeout_error_count AS bigint) AS pool_grant_timeouts,
        CAST(rs.granted_memory_kb AS bigint) AS pool_granted_kb,
        CAST(rs.target_memory_kb AS bigint) AS pool_target_kb
    FROM sys.dm_exec_query_resource_semaphores AS rs
    LEFT JOIN sys.dm_resource_governor_resource_pools AS p ON p.pool_id = rs.pool_id
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'grant_pools' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;

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

-- [issue 11: parallel requests] Requests running in parallel, from the tasks each holds
-- (sys.dm_os_tasks: one row per task, and each task holds a worker): when workers run out,
-- this says whether parallel queries took them. sys.dm_exec_requests shows only a parallel
-- request's coordinator, and its dop/parallel_worker_count columns are missing on older
-- builds; the task count is there on every version. With the parallelism settings that
-- decide it. Inside EXEC, like the other sys.configurations read, and in TRY/CATCH: an
-- error loses only these figures.
BEGIN TRY
    EXEC (N'SELECT
    CAST(COUNT_BIG(*) AS bigint) AS parallel_requests,
    CAST(SUM(p.tasks) AS bigint) AS parallel_tasks,
    CAST(MAX(p.tasks) AS bigint) AS max_request_tasks,
    (SELECT CAST(c.value_in_use AS bigint) FROM sys.configurations AS c
     WHERE c.name = N''max degree of parallelism'') AS maxdop_setting,
    (SELECT CAST(c.value_in_use AS bigint) FROM sys.configurations AS c
     WHERE c.name = N''cost threshold for parallelism'') AS cost_threshold_setting
FROM (
    SELECT t.session_id, t.request_id, COUNT_BIG(*) AS tasks
    FROM sys.dm_os_tasks AS t
    WHERE t.session_id IS NOT NULL
    GROUP BY t.session_id, t.request_id
    HAVING COUNT_BIG(*) > 1
) AS p
OPTION (MAXDOP 1);');
END TRY
BEGIN CATCH
    SELECT CAST(N'parallelism' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;

-- [issue 11: tempdb page latches] Tasks waiting on a page latch in tempdb (database 2), by
-- page: resource_description is "2:file:page", and spiral tells the allocation bitmaps
-- (PFS, GAM, SGAM) from other pages. Only waiting tasks are read, a small DMV; the 20
-- busiest pages are enough to name them.
BEGIN TRY
    SELECT TOP (20)
        CAST(wt.resource_description AS nvarchar(256)) AS latch_resource,
        CAST(COUNT_BIG(*) AS bigint) AS latch_waiters,
        CAST(MAX(wt.wait_duration_ms) AS bigint) AS latch_longest_ms
    FROM sys.dm_os_waiting_tasks AS wt
    WHERE wt.wait_type LIKE N'PAGELATCH[_]%'
      AND wt.resource_description LIKE N'2:%'
    GROUP BY wt.resource_description
    ORDER BY COUNT_BIG(*) DESC
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'tempdb_latches' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;

-- Counters. The names are nchar(128), space padded: with Unicode data LIKE treats trailing
-- spaces as significant, so the object name is trimmed before matching. The object prefix
-- is 'SQLServer:' on a default instance and 'MSSQL$NAME:' on a named one, hence '%:'.
SELECT
    CAST(RTRIM(pc.object_name) AS nvarchar(128)) AS counter_object,
    CAST(RTRIM(pc.counter_name) AS nvarchar(128)) AS counter_name,
    CAST(RTRIM(pc.instance_name) AS nvarchar(128)) AS counter_instance,
    CAST(pc.cntr_value AS bigint) AS counter_value
FROM sys.dm_os_performance_counters AS pc
WHERE (RTRIM(pc.object_name) LIKE N'%:SQL Statistics'
       AND pc.counter_name IN (N'SQL Compilations/sec', N'SQL Re-Compilations/sec', N'Batch Requests/sec'))
   OR (RTRIM(pc.object_name) LIKE N'%:General Statistics'
       AND pc.counter_name IN (N'Logins/sec', N'User Connections'))
   OR (RTRIM(pc.object_name) LIKE N'%:Locks'
       AND pc.counter_name = N'Number of Deadlocks/sec' AND pc.instance_name = N'_Total')
UNION ALL
SELECT
    CAST(N'optimizer' AS nvarchar(128)),
    CAST(oi.counter AS nvarchar(128)),
    CAST(N'' AS nvarchar(128)),
    CAST(oi.occurrence AS bigint)
FROM sys.dm_exec_query_optimizer_info AS oi
WHERE oi.counter = N'optimizations'
OPTION (MAXDOP 1);

-- Databases: Query Store and Read Committed Snapshot. sys.databases can wait on a lock (an
-- ALTER DATABASE in flight, incident 000); with LOCK_TIMEOUT 1000 it then fails alone after
-- a second. is_query_store_on means only "enabled": the real state is read below.
SELECT
    CAST(d.name AS nvarchar(128)) AS database_name,
    CAST(d.is_query_store_on AS bit) AS query_store_on,
    CAST(d.is_read_committed_snapshot_on AS bit) AS read_committed_snapshot_on,
    CAST(d.state_desc AS nvarchar(60)) AS database_state
FROM sys.databases AS d
OPTION (MAXDOP 1);
