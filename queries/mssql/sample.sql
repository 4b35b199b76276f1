-- spiral/mssql/sample
-- One SQL Server sample: one batch, one round trip, the same text every time so the server
-- compiles it once and reuses the plan (a diagnostic that compiles on every run adds to a
-- compile storm). It returns several result sets; spiral recognises each by the name of
-- its first column, so a statement that fails (a missing permission, a lock timeout) only
-- removes its own result set and the rest of the sample still arrives.
-- Every statement runs with MAXDOP 1: a parallel plan would take extra worker threads from
-- a server that may have none left. Every column is CAST to the type spiral decodes.
-- Needs VIEW SERVER STATE (SQL Server 2022+: VIEW SERVER PERFORMANCE STATE); without it
-- the server-state statements fail with error 300/297 and spiral reports what it could not
-- see. SQL Server 2016 or later (memory gateways, is_query_store_on).

-- Facts that need no permission: version, edition, this session, the server's clock, and
-- whether this login may see other sessions at all.
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
         END AS int) AS sees_all;

-- Server settings. Inside EXEC so that a server without sys.configurations fails only this
-- statement: a missing object in the outer batch would fail the whole batch.
EXEC (N'SELECT CAST(c.name AS nvarchar(128)) AS config_name,
       CAST(c.value_in_use AS bigint) AS config_value
FROM sys.configurations AS c
WHERE c.name IN (N''max worker threads'', N''optimize for ad hoc workloads'', N''user connections'')
OPTION (MAXDOP 1);');

-- Sessions and their requests. Blocking ids below 1 (-2 orphaned DTC, -3 deferred recovery,
-- -4/-5 latch owner unknown) are not sessions, and a parallel request "blocked" by its own
-- session id is waiting on its own threads: neither is a lock chain. Idle time is counted
-- in seconds because DATEDIFF in milliseconds overflows after 24 days (error 535), which
-- would fail the statement for one long-idle connection. The sysadmin flag comes from the
-- role catalog (members of a Windows group in sysadmin are not seen) because
-- IS_SRVROLEMEMBER per row may ask the domain about every login.
SELECT
    CAST(s.session_id AS int) AS session_id,
    CAST(s.is_user_process AS bit) AS is_user_process,
    CAST(COALESCE(r.status, s.status) AS nvarchar(30)) AS status,
    CAST(r.command AS nvarchar(32)) AS command,
    CAST(r.wait_type AS nvarchar(60)) AS wait_type,
    CAST(r.wait_time AS int) AS wait_ms,
    CAST(CASE WHEN r.blocking_session_id > 0 AND r.blocking_session_id <> r.session_id
              THEN r.blocking_session_id END AS int) AS blocked_by,
    CAST(COALESCE(r.open_transaction_count, s.open_transaction_count) AS int) AS open_transactions,
    CAST(r.total_elapsed_time AS int) AS elapsed_ms,
    CAST(CASE WHEN r.session_id IS NULL
              THEN DATEDIFF(SECOND, s.last_request_end_time, GETDATE()) END AS bigint) * 1000 AS idle_ms,
    CAST(s.login_time AS datetime) AS login_time,
    CAST(s.host_name AS nvarchar(128)) AS host_name,
    CAST(s.program_name AS nvarchar(128)) AS program_name,
    CAST(s.login_name AS nvarchar(128)) AS session_login,
    CAST(DB_NAME(COALESCE(r.database_id, s.database_id)) AS nvarchar(128)) AS session_database,
    CAST(CASE WHEN sa.sid IS NULL THEN 0 ELSE 1 END AS bit) AS is_sysadmin,
    CAST(LEFT(SUBSTRING(t.text, COALESCE(r.statement_start_offset, 0) / 2 + 1, 4000), 500)
         AS nvarchar(500)) AS sql_text
FROM sys.dm_exec_sessions AS s
LEFT JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
LEFT JOIN (
    SELECT DISTINCT p.sid
    FROM sys.server_role_members AS rm
    JOIN sys.server_principals AS p ON p.principal_id = rm.member_principal_id
    WHERE rm.role_principal_id = 3 -- sysadmin
) AS sa ON sa.sid = s.security_id
OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) AS t
WHERE s.is_user_process = 1 OR r.session_id IS NOT NULL
OPTION (MAXDOP 1);

-- Worker threads: tasks queued for a worker, active and current workers over the visible
-- schedulers (the DAC's own scheduler is 'VISIBLE ONLINE (DAC)' and is left out), and
-- tasks waiting on THREADPOOL with no filter on session: a login waiting for a worker has
-- no session yet.
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

-- The compile gate (RESOURCE_SEMAPHORE_QUERY_COMPILE), summed over pools and gateways.
SELECT
    CAST(SUM(CAST(g.waiter_count AS bigint)) AS bigint) AS gateway_waiters,
    CAST(SUM(CAST(g.active_count AS bigint)) AS bigint) AS gateway_active,
    CAST(SUM(CAST(g.max_count AS bigint)) AS bigint) AS gateway_limit
FROM sys.dm_exec_query_optimizer_memory_gateways AS g
OPTION (MAXDOP 1);

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

-- The plan cache by object type: how many plans, how many used once, how big. Not run on
-- the DAC (sample_dac.sql): a scan of a bloated cache is the expensive part of a sample.
SELECT
    CAST(cp.objtype AS nvarchar(20)) AS plan_objtype,
    CAST(COUNT_BIG(*) AS bigint) AS plans,
    CAST(SUM(CASE WHEN cp.usecounts = 1 THEN 1 ELSE 0 END) AS bigint) AS single_use_plans,
    CAST(SUM(CAST(cp.size_in_bytes AS bigint)) AS bigint) AS size_bytes
FROM sys.dm_exec_cached_plans AS cp
GROUP BY cp.objtype
OPTION (MAXDOP 1);

-- Databases: Query Store and Read Committed Snapshot. Last, because sys.databases is the
-- one read here that can wait on a lock (an ALTER DATABASE in flight, incident 000); with
-- LOCK_TIMEOUT 1000 it then fails alone after a second. is_query_store_on does not tell
-- READ_WRITE from READ_ONLY (that needs sys.database_query_store_options in each
-- database); spiral reads "on" as read-write, the state that amplifies compilations.
SELECT
    CAST(d.name AS nvarchar(128)) AS database_name,
    CAST(d.is_query_store_on AS bit) AS query_store_on,
    CAST(d.is_read_committed_snapshot_on AS bit) AS read_committed_snapshot_on,
    CAST(d.state_desc AS nvarchar(60)) AS database_state
FROM sys.databases AS d
OPTION (MAXDOP 1);
