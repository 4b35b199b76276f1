-- spiral/mssql/parts/grant_pools
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
