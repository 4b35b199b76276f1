-- spiral/mssql/parts/tempdb_latches
-- Tasks waiting on a page latch in tempdb (database 2), by
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
