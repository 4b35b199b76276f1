-- spiral/mssql/parts/databases
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
