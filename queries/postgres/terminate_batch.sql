-- spiral kill: end a batch of backends in one statement, each only if it is still the
-- connection that was selected (same pid AND same backend_start: pids are reused in a
-- connection storm) and still in the state it was selected for, checked here, in the
-- statement that sends the signals, because the client-side re-check may be half a
-- second old:
--   $1 the pids, $2 their backend_start, position by position
--   $3 = 'idle'                 idle or idle in transaction, since at least $4 ms
--   $3 = 'idle-in-transaction'  idle in transaction, since at least $4 ms
--   $3 = 'active'               running the same statement for at least $4 ms
--   $3 IS NULL                  no state condition
-- A backend whose start time or state this role may not read (no pg_read_all_stats) has
-- them NULL here, so it is never signalled. The backends are read once for the whole
-- batch with pg_stat_get_activity(NULL) (the raw function: the pg_stat_activity view would
-- also join the role and database catalogues). One row per requested pid: whether that
-- connection was still there, whether its state held, and whether the signal was sent.
SELECT v.pid,
       b.pid IS NOT NULL AS present,
       coalesce(b.still, false) AS still,
       CASE WHEN b.still THEN pg_terminate_backend(v.pid) END AS signalled
FROM unnest($1::int[], $2::timestamptz[]) AS v(pid, started)
LEFT JOIN (
    SELECT pid, backend_start,
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
    FROM pg_stat_get_activity(NULL)
) AS b ON b.pid = v.pid AND b.backend_start = v.started
