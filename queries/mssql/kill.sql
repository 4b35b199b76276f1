-- spiral/mssql/kill
-- End one session, only if it is still the connection that was selected AND still in the
-- state it was selected for, both checked here, in the batch that sends the KILL, because
-- the client-side re-check may be half a second old.
-- @P1: session_id; @P2: the login time spiral saw, in UTC (NULL: not checked);
-- @P3: the state it was selected for, @P4 for at least this many milliseconds:
--   'idle'                 sleeping with no request, since at least @P4 ms
--   'idle-in-transaction'  the same, with an open transaction
--   'active'               running a request that started at least @P4 ms ago
--   NULL                   no state condition
-- Identity: SQL Server hands a freed session_id to the next login at once, so the login
-- time must match to the precision of datetime (3.33 ms), converted to UTC with the same
-- offset the sample used (DATEPART(TZOFFSET) in minutes), not within seconds: in a
-- reconnect storm a new client can log in on the victim's id within the same second.
-- Idle time counts from the end of the last request, or from the login for a session that
-- never ran one (its last_request_end_time is the 1900-01-01 sentinel); DATEDIFF_BIG,
-- because DATEDIFF in milliseconds overflows int past 24 days.
-- KILL takes no variable, hence the dynamic statement built from the int parameter.
-- KILL can take as long as the session's rollback: when it does not return in time spiral
-- reads where the session stands (kill_status.sql) instead of calling it a failure.
-- killed: 1 sent, 0 gone (or another connection now), 2 spared (no longer in that state).
DECLARE @id int = @P1, @seen datetime2 = @P2, @mode nvarchar(30) = @P3, @for bigint = @P4;
DECLARE @offset int = DATEPART(TZOFFSET, SYSDATETIMEOFFSET());
IF NOT EXISTS (SELECT 1 FROM sys.dm_exec_sessions
               WHERE session_id = @id AND is_user_process = 1
                 AND (@seen IS NULL
                      OR ABS(DATEDIFF_BIG(millisecond, DATEADD(minute, -@offset, login_time), @seen)) <= 10))
    SELECT CAST(0 AS int) AS killed;
ELSE IF @mode IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM sys.dm_exec_sessions AS s
        WHERE s.session_id = @id
          AND (
                (@mode IN (N'idle', N'idle-in-transaction')
                 AND s.status = N'sleeping'
                 AND NOT EXISTS (SELECT 1 FROM sys.dm_exec_requests AS r WHERE r.session_id = @id)
                 AND (@mode = N'idle' OR s.open_transaction_count > 0)
                 AND DATEDIFF_BIG(millisecond,
                                  COALESCE(NULLIF(s.last_request_end_time, '19000101'), s.login_time),
                                  GETDATE()) >= @for)
             OR (@mode = N'active'
                 AND EXISTS (SELECT 1 FROM sys.dm_exec_requests AS r
                             WHERE r.session_id = @id
                               AND DATEDIFF_BIG(millisecond, r.start_time, GETDATE()) >= @for))
          ))
    SELECT CAST(2 AS int) AS killed;
ELSE
BEGIN
    DECLARE @kill nvarchar(40) = N'KILL ' + CAST(@id AS nvarchar(11));
    EXEC (@kill);
    SELECT CAST(1 AS int) AS killed;
END
