-- spiral kill --query-only: cancel one backend's running statement, keeping its connection,
-- only if it is still the connection that was selected (same pid and backend_start).
SELECT pg_cancel_backend(pid) AS signalled
FROM pg_stat_get_activity($1)
WHERE $2::timestamptz IS NULL OR backend_start = $2
