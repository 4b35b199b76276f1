-- spiral/mssql/kill
-- End one session, only if it is still the connection that was selected:
-- the same session_id AND the same login time (SQL Server reuses session ids at once).
-- @P1: session_id; @P2: the login time spiral saw, in UTC (NULL: not checked).
-- KILL takes no variable, hence the dynamic statement built from the int parameter.
-- DATEDIFF_BIG: DATEDIFF in milliseconds overflows int (error 535) for login times more
-- than 24 days apart, which is exactly a month-old session whose id was since reused.
-- KILL can take as long as the session's rollback: when it does not return in time spiral
-- reads where the session stands (kill_status.sql) instead of calling it a failure.
DECLARE @id int = @P1, @seen datetime2 = @P2;
DECLARE @offset int = CAST(ROUND(DATEDIFF(second, SYSUTCDATETIME(), SYSDATETIME()) / 900.0, 0) * 900 AS int);
IF EXISTS (SELECT 1 FROM sys.dm_exec_sessions
           WHERE session_id = @id AND is_user_process = 1
             AND (@seen IS NULL
                  OR ABS(DATEDIFF_BIG(millisecond, DATEADD(second, -@offset, login_time), @seen)) < 2000))
BEGIN
    DECLARE @kill nvarchar(40) = N'KILL ' + CAST(@id AS nvarchar(11));
    EXEC (@kill);
    SELECT CAST(1 AS int) AS killed;
END
ELSE
    SELECT CAST(0 AS int) AS killed;
