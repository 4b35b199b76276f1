-- spiral: completed waits since startup by wait event (performance_schema ON only),
-- diffed between samples like SQL Server's sys.dm_os_wait_stats. SUM_TIMER_WAIT is in
-- picoseconds. Only events that happened at least once come back (most of the few hundred
-- instruments never fire or are disabled), and 'idle' is left out: it is the time
-- connections sat waiting for their client, not a wait on the server.
SELECT EVENT_NAME AS event_name,
       COUNT_STAR AS waits,
       SUM_TIMER_WAIT AS wait_ps
FROM performance_schema.events_waits_summary_global_by_event_name
WHERE COUNT_STAR > 0
  AND EVENT_NAME <> 'idle'
