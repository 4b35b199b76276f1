-- spiral/mssql/parts/counters
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
   -- The row version store in tempdb (RCSI, snapshot isolation, triggers, online index
   -- builds) and tempdb's data files, to say what share of tempdb the versions hold: two
   -- gauges, read like the counters beside them.
   OR (RTRIM(pc.object_name) LIKE N'%:Transactions'
       AND pc.counter_name = N'Version Store Size (KB)')
   OR (RTRIM(pc.object_name) LIKE N'%:Databases'
       AND pc.counter_name = N'Data File(s) Size (KB)' AND pc.instance_name = N'tempdb')
UNION ALL
SELECT
    CAST(N'optimizer' AS nvarchar(128)),
    CAST(oi.counter AS nvarchar(128)),
    CAST(N'' AS nvarchar(128)),
    CAST(oi.occurrence AS bigint)
FROM sys.dm_exec_query_optimizer_info AS oi
WHERE oi.counter = N'optimizations'
OPTION (MAXDOP 1);
