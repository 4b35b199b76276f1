-- spiral kill: end one backend, but only if it is still the connection that was selected
-- (same pid AND same backend_start: pids are reused in a connection storm). It reads that
-- one backend with pg_stat_get_activity(pid): the pg_stat_activity view would build a row
-- for every backend on each kill. Returns no row when that connection is gone, else
-- whether the signal was sent.
SELECT pg_terminate_backend(pid) AS signalled
FROM pg_stat_get_activity($1)
WHERE $2::timestamptz IS NULL OR backend_start = $2
