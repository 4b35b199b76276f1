-- spiral/mssql/kill_status
-- After a KILL that did not return in time: where is that session now? KILL waits for the
-- rollback of a long transaction, and a timeout then is not a failure. Same identity check
-- as kill.sql (session_id AND login time), so a reused id reads as gone.
-- @P1: session_id; @P2: the login time spiral saw, in UTC (NULL: not checked).
-- kill_state: 0 gone, 1 rolling back (the KILL took), 2 still there and not rolling back.
DECLARE @id int = @P1, @seen datetime2 = @P2;
DECLARE @offset int = DATEPART(TZOFFSET, SYSDATETIMEOFFSET());
SELECT CAST(CASE
    WHEN NOT EXISTS (SELECT 1 FROM sys.dm_exec_sessions
                     WHERE session_id = @id
                       AND (@seen IS NULL
                            OR ABS(DATEDIFF_BIG(millisecond, DATEADD(minute, -@offset, login_time), @seen)) <= 10))
        THEN 0
    WHEN EXISTS (SELECT 1 FROM sys.dm_exec_requests
                 WHERE session_id = @id AND command LIKE N'KILLED/ROLLBACK%')
        THEN 1
    ELSE 2 END AS int) AS kill_state;
