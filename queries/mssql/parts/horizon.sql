-- spiral/mssql/parts/horizon
-- What holds the transaction log and the version store (long-transaction): each database whose log waits before
-- it can be reused (log_reuse_wait_desc other than NOTHING, so a handful of rows), with the
-- share of its log in use from the 'Databases' performance counters. Those counters cover
-- every database at once and cost nothing; sys.dm_db_log_space_usage would read only the
-- current database. At 100% every write in the database fails with error 9002.
BEGIN TRY
    SELECT
        CAST(d.name AS nvarchar(128)) AS log_database,
        CAST(d.log_reuse_wait_desc AS varchar(60)) AS log_reuse_wait,
        CAST(CASE WHEN sz.cntr_value > 0 THEN 100.0 * us.cntr_value / sz.cntr_value END
             AS float) AS log_used_pct
    FROM sys.databases AS d
    LEFT JOIN sys.dm_os_performance_counters AS us
        ON RTRIM(us.object_name) LIKE N'%:Databases'
       AND us.counter_name = N'Log File(s) Used Size (KB)'
       AND RTRIM(us.instance_name) = d.name
    LEFT JOIN sys.dm_os_performance_counters AS sz
        ON RTRIM(sz.object_name) LIKE N'%:Databases'
       AND sz.counter_name = N'Log File(s) Size (KB)'
       AND RTRIM(sz.instance_name) = d.name
    WHERE d.log_reuse_wait_desc <> N'NOTHING'
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'log_reuse' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;

-- The five oldest open transactions of sessions other than spiral's: how long each has
-- been open, the database it wrote most log in, and the log bytes it has used over all its
-- databases (what a rollback must undo, and what the log cannot free while it is open).
-- A handful of rows, whatever the number of sessions.
BEGIN TRY
    SELECT TOP (5)
        CAST(st.session_id AS int) AS trx_session_id,
        CAST(DB_NAME(dt.database_id) AS nvarchar(128)) AS trx_database,
        CAST(DATEDIFF_BIG(MILLISECOND, at.transaction_begin_time, GETDATE()) AS bigint) AS trx_age_ms,
        CAST(dt.log_bytes AS bigint) AS trx_log_bytes
    FROM sys.dm_tran_session_transactions AS st
    JOIN sys.dm_tran_active_transactions AS at ON at.transaction_id = st.transaction_id
    OUTER APPLY (
        SELECT TOP (1)
            x.database_id,
            SUM(x.database_transaction_log_bytes_used) OVER () AS log_bytes
        FROM sys.dm_tran_database_transactions AS x
        WHERE x.transaction_id = st.transaction_id
        ORDER BY x.database_transaction_log_bytes_used DESC
    ) AS dt
    WHERE st.session_id <> @@SPID
    ORDER BY at.transaction_begin_time
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'transactions' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;

-- The five row-versioning transactions open longest (snapshot isolation, RCSI statements,
-- and writers that create versions): the version store in tempdb cannot be cleaned past the
-- oldest of them. Its size comes with the counters. A handful of rows from an in-memory
-- view, whatever the number of sessions.
BEGIN TRY
    SELECT TOP (5)
        CAST(v.session_id AS int) AS vs_session_id,
        CAST(v.elapsed_time_seconds AS bigint) * 1000 AS vs_age_ms,
        CAST(v.is_snapshot AS bit) AS vs_is_snapshot
    FROM sys.dm_tran_active_snapshot_database_transactions AS v
    WHERE v.session_id <> @@SPID
    ORDER BY v.elapsed_time_seconds DESC
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'version_store' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
