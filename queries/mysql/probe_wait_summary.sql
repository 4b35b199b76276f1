-- spiral probe, once at connect when performance_schema is ON: may this login read the
-- wait summary? An empty answer means yes; a refusal names the missing grant.
SELECT 1 AS readable
FROM performance_schema.events_waits_summary_global_by_event_name
WHERE 1 = 0
