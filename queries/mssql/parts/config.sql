-- spiral/mssql/parts/config
-- Server settings. Inside EXEC so that a server without sys.configurations fails only this
-- statement: a missing object in the outer batch would fail the whole batch.
EXEC (N'SELECT CAST(c.name AS nvarchar(128)) AS config_name,
       CAST(c.value_in_use AS bigint) AS config_value
FROM sys.configurations AS c
WHERE c.name IN (N''max worker threads'', N''optimize for ad hoc workloads'', N''user connections'')
OPTION (MAXDOP 1);');
