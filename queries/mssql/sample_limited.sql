-- spiral/mssql/sample_limited
-- The sample spiral falls back to when the full sample failed before returning anything
-- (typically error 300/297: this login lacks VIEW SERVER STATE, or the batch does not
-- compile on this server). It reads only what any login may read: the version, this
-- session, the settings and the databases. spiral then says exactly what it could not see
-- and which grant would show it, instead of failing or calling the server healthy.

-- Facts that need no permission: version, edition, this session, the server's clock,
-- whether this login may see other sessions at all, and which instance answered (over the
-- DAC spiral checks it is the one it asked for).
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
         END AS int) AS sees_all,
    CAST(@@SERVERNAME AS nvarchar(128)) AS server_name,
    CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name;

-- Server settings. Inside EXEC so that a server without sys.configurations fails only this
-- statement: a missing object in the outer batch would fail the whole batch.
EXEC (N'SELECT CAST(c.name AS nvarchar(128)) AS config_name,
       CAST(c.value_in_use AS bigint) AS config_value
FROM sys.configurations AS c
WHERE c.name IN (N''max worker threads'', N''optimize for ad hoc workloads'', N''user connections'')
OPTION (MAXDOP 1);');

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
