-- spiral kill --query-only: cancel one backend's running statement (keeping its
-- connection), but only if it is still the connection that was selected
-- (same pid AND same backend_start: pids are reused in a connection storm) and still in the
-- state it was selected for, checked here, in the statement that sends the signal, because
-- the client-side re-check may be half a second old:
--   $3 = 'idle'                 idle or idle in transaction, since at least $4 ms
--   $3 = 'idle-in-transaction'  idle in transaction, since at least $4 ms
--   $3 = 'active'               running the same statement for at least $4 ms
--   $3 IS NULL                  no state condition
-- A backend whose start time or state this role may not read (no pg_read_all_stats) has
-- them NULL here, so it is never signalled. It reads that one backend with
-- pg_stat_get_activity(pid): the pg_stat_activity view would build a row for every backend
-- on each kill. Returns no row when that connection is gone, else whether the signal was
-- sent (NULL: the state no longer holds) and whether the state held.
SELECT CASE WHEN still THEN pg_cancel_backend(pid) END AS signalled, still
FROM (
    SELECT pid,
           coalesce(CASE $3::text
                        WHEN 'idle' THEN state IN ('idle', 'idle in transaction',
                                                   'idle in transaction (aborted)')
                        WHEN 'idle-in-transaction' THEN state IN ('idle in transaction',
                                                   'idle in transaction (aborted)')
                        WHEN 'active' THEN state = 'active'
                        ELSE true
                    END
                    AND ($3::text IS NULL
                         OR state_change <= clock_timestamp() - $4::bigint * interval '1 millisecond'),
                    false) AS still
    FROM pg_stat_get_activity($1)
    WHERE backend_start = $2::timestamptz
) AS backend
