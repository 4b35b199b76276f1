-- spiral (postgres/blockers): who blocks whom, for a person to read in psql.
-- One row per blocked session and each session blocking it; a lead blocker is a blocker
-- that is not blocked itself (end that one, not the queue behind it).
SELECT w.pid AS blocked_pid,
       w.usename AS blocked_user,
       date_trunc('second', now() - w.state_change) AS waiting_for,
       b.pid AS blocker_pid,
       b.usename AS blocker_user,
       b.state AS blocker_state,
       cardinality(pg_blocking_pids(b.pid)) = 0 AS blocker_is_lead,
       left(regexp_replace(b.query, '\s+', ' ', 'g'), 60) AS blocker_statement
FROM pg_stat_activity AS w
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
JOIN pg_stat_activity AS b ON b.pid = bp.pid
WHERE w.wait_event_type = 'Lock'
ORDER BY waiting_for DESC;
