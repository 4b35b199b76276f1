-- spiral (mssql/sessions): every user session, for a person to read in sqlcmd or SSMS.
-- Needs VIEW SERVER STATE (2022+: VIEW SERVER PERFORMANCE STATE). MAXDOP 1: a parallel
-- plan would take worker threads from a server that may have none left.
SELECT TOP (50)
       s.session_id,
       s.login_name,
       s.host_name,
       s.program_name,
       s.status,
       DATEDIFF(SECOND, s.last_request_end_time, GETDATE()) AS idle_seconds,
       r.command,
       r.wait_type,
       r.wait_time / 1000 AS wait_seconds,
       r.blocking_session_id,
       s.open_transaction_count,
       LEFT(t.text, 80) AS statement
FROM sys.dm_exec_sessions AS s
LEFT JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) AS t
WHERE s.is_user_process = 1
  AND s.session_id <> @@SPID
ORDER BY r.total_elapsed_time DESC, s.last_request_end_time
OPTION (MAXDOP 1);
