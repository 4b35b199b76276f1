-- spiral/mssql/plan_cache
-- The plan cache by object type: compiled plans, how many were used once, and the stubs
-- 'optimize for ad hoc workloads' leaves instead of a first plan (counted apart: a stub is
-- the remedy working, not bloat). This walks every cached plan (160,000 in incident 000),
-- so spiral sends it as its own batch at most once a minute, never over the DAC, and never
-- while the compile gate or the worker pool is saturated; sample.sql reads the cache's size
-- from the memory cache counters instead.
BEGIN TRY
    SELECT
        CAST(cp.objtype AS nvarchar(20)) AS plan_objtype,
        CAST(SUM(CASE WHEN cp.cacheobjtype = N'Compiled Plan Stub' THEN 0 ELSE 1 END) AS bigint) AS plans,
        CAST(SUM(CASE WHEN cp.cacheobjtype <> N'Compiled Plan Stub' AND cp.usecounts = 1
                      THEN 1 ELSE 0 END) AS bigint) AS single_use_plans,
        CAST(SUM(CASE WHEN cp.cacheobjtype = N'Compiled Plan Stub' THEN 0
                      ELSE CAST(cp.size_in_bytes AS bigint) END) AS bigint) AS size_bytes,
        CAST(SUM(CASE WHEN cp.cacheobjtype = N'Compiled Plan Stub' THEN 1 ELSE 0 END) AS bigint) AS stubs,
        CAST(SUM(CASE WHEN cp.cacheobjtype = N'Compiled Plan Stub'
                      THEN CAST(cp.size_in_bytes AS bigint) ELSE 0 END) AS bigint) AS stub_bytes
    FROM sys.dm_exec_cached_plans AS cp
    GROUP BY cp.objtype
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'plan_cache' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
