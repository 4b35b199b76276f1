-- spiral/mssql/parts/orphaned_uow
-- The unit of work (UOW) of an orphaned distributed transaction, read only when something
-- waits on one (blocker -2): KILL '<UOW>' is how it is ended, and sys.dm_tran_locks is too
-- large to read on every sample. The check is inside TRY too: Azure SQL Database's smaller
-- tiers refuse sys.dm_os_waiting_tasks, and that must not read as a broken sample.
BEGIN TRY
    IF EXISTS (SELECT 1 FROM sys.dm_os_waiting_tasks AS wt WHERE wt.blocking_session_id = -2)
        SELECT DISTINCT CAST(l.request_owner_guid AS nvarchar(36)) AS orphaned_uow
        FROM sys.dm_tran_locks AS l
        WHERE l.request_session_id = -2
        OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'orphaned_uow' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
