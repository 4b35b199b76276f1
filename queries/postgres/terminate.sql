-- spiral kill: end one backend, but only if it is still the connection that was selected
-- (same pid AND same backend_start: pids are reused in a connection storm). Returns no row
-- when that connection is gone, else whether the signal was sent.
SELECT pg_terminate_backend(pid) AS signalled
FROM pg_stat_activity
WHERE pid = $1
  AND ($2::timestamptz IS NULL OR backend_start = $2)
