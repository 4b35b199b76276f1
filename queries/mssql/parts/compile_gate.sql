-- spiral/mssql/parts/compile_gate
-- The compile gate (RESOURCE_SEMAPHORE_QUERY_COMPILE), summed over pools and gateways.
SELECT
    CAST(SUM(CAST(g.waiter_count AS bigint)) AS bigint) AS gateway_waiters,
    CAST(SUM(CAST(g.active_count AS bigint)) AS bigint) AS gateway_active,
    CAST(SUM(CAST(g.max_count AS bigint)) AS bigint) AS gateway_limit
FROM sys.dm_exec_query_optimizer_memory_gateways AS g
OPTION (MAXDOP 1);
