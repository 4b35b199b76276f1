-- spiral/mssql/parts/facts
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
