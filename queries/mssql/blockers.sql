-- spiral (mssql/blockers): who blocks whom. A lead blocker blocks others and is not
-- blocked itself; a lead with no request is a session sleeping inside an open transaction.
SELECT r.session_id AS blocked_session,
       r.wait_type,
       r.wait_time / 1000 AS waiting_seconds,
       r.blocking_session_id AS blocker_session,
       b.login_name AS blocker_login,
       b.host_name AS blocker_host,
       b.status AS blocker_status,
       b.open_transaction_count AS blocker_open_transactions,
       CASE WHEN br.blocking_session_id IS NULL OR br.blocking_session_id = 0
            THEN 1 ELSE 0 END AS blocker_is_lead
FROM sys.dm_exec_requests AS r
JOIN sys.dm_exec_sessions AS b ON b.session_id = r.blocking_session_id
LEFT JOIN sys.dm_exec_requests AS br ON br.session_id = r.blocking_session_id
WHERE r.blocking_session_id > 0
  AND r.blocking_session_id <> r.session_id
ORDER BY r.wait_time DESC
OPTION (MAXDOP 1);
