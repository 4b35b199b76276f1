-- spiral/mssql/parts/cache_size
-- The plan cache's size from the memory cache counters: a handful of rows, cheap on any
-- server. The per-plan breakdown (single-use plans, stubs) is queries/mssql/plan_cache.sql,
-- a separate batch spiral sends at most once a minute, never over the DAC and never while
-- the compile gate or the worker pool is saturated. Optional, hence in TRY/CATCH: if it
-- fails, only the size is left out.
BEGIN TRY
    SELECT
        CAST(SUM(CAST(mc.entries_count AS bigint)) AS bigint) AS cache_entries,
        CAST(SUM(CAST(mc.pages_kb AS bigint)) * 1024 AS bigint) AS cache_bytes
    FROM sys.dm_os_memory_cache_counters AS mc
    WHERE mc.type IN (N'CACHESTORE_SQLCP', N'CACHESTORE_OBJCP')
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'cache_size' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
