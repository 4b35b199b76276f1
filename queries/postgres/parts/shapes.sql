-- spiral/postgres/parts/shapes
-- One row per shape of backend, grouped on the raw columns (the cheapest keys; what is
-- shown of them is worked out per shape in rows.sql), with each backend's pid and
-- timestamps as arrays in the same order.
-- An idle client backend has no statement running and no transaction open, so its
-- statement start, transaction start and xid age are not collected: for an idle shape
-- those arrays are NULL, which spiral reads as NULL for each of its backends (state and
-- backend type are keys, so the filter is all or nothing within a shape). The same way,
-- pg_blocking_pids (which takes the lock manager's partition locks) runs only for shapes
-- that wait on a Lock.
shapes AS (
    SELECT backend_type, state, usesysid, datid, application_name, client_hostname, client_addr,
           wait_event_type, wait_event, query,
           array_agg(pid) AS pids,
           array_agg(state_change) AS state_changes,
           array_agg(backend_start) AS backend_starts,
           array_agg(query_start) FILTER (WHERE state IS DISTINCT FROM 'idle') AS query_starts,
           array_agg(xact_start)
               FILTER (WHERE state IS DISTINCT FROM 'idle'
                          OR backend_type IS DISTINCT FROM 'client backend') AS xact_starts,
           array_agg(greatest(age(backend_xmin), age(backend_xid)))
               FILTER (WHERE state IS DISTINCT FROM 'idle'
                          OR backend_type IS DISTINCT FROM 'client backend') AS xid_ages,
           array_agg(pg_blocking_pids(pid)::text) FILTER (WHERE wait_event_type = 'Lock') AS blocked
      FROM pg_stat_get_activity(NULL)
     GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
