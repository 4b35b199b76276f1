-- spiral/mssql/parts/query_store
-- Query Store's real state in each database that has it on: actual_state is READ_ONLY when
-- the database is read-only or the store is full, and capture mode AUTO may already be set.
-- sys.database_query_store_options lives in each database, hence one small SELECT per
-- database (online and open to this login), sent as one statement.
BEGIN TRY
    DECLARE @qs nvarchar(max);
    SELECT @qs = COALESCE(@qs + N' UNION ALL ', N'')
        + N'SELECT CAST(N' + QUOTENAME(d.name, N'''') + N' AS nvarchar(128)) AS qs_database, '
        + N'CAST(o.actual_state_desc AS nvarchar(60)) AS qs_actual_state, '
        + N'CAST(o.query_capture_mode_desc AS nvarchar(60)) AS qs_capture_mode FROM '
        + QUOTENAME(d.name) + N'.sys.database_query_store_options AS o'
    FROM sys.databases AS d
    WHERE d.is_query_store_on = 1 AND d.state = 0 AND HAS_DBACCESS(d.name) = 1;
    IF @qs IS NOT NULL EXEC (@qs + N' OPTION (MAXDOP 1);');
END TRY
BEGIN CATCH
    SELECT CAST(N'query_store' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
