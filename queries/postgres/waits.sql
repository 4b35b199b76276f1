-- spiral (postgres/waits): what active sessions are waiting on now, most common first.
-- Idle sessions are left out: waiting for the client is not a wait.
SELECT coalesce(wait_event_type || ':' || wait_event, 'running (no wait)') AS waiting_on,
       count(*) AS sessions,
       date_trunc('second', max(now() - query_start)) AS longest_statement
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND state <> 'idle'
  AND pid <> pg_backend_pid()
GROUP BY 1
ORDER BY sessions DESC;
