-- spiral: one PostgreSQL sample in one round trip (PostgreSQL 14 and later).
-- Returns one row. pg_stat_activity is read once, by one grouping pass: the backends that
-- share a shape (backend type, state, user, application, database, client, wait and
-- statement text, first 500 characters) are one group, so what a pool's thousand idle
-- connections have in common travels once (shape_* arrays). Per backend only its pid, its
-- shape key (1-based position in shape_*) and its raw timestamps travel, as parallel
-- arrays decoded by position: one JSON object per backend, built and grown as text, was
-- half of this statement's time before. Durations are worked out by spiral against
-- taken_at, one reading of the server's clock.
-- It reads pg_stat_get_activity(NULL), the function under the pg_stat_activity view, and
-- names the role and database once per shape instead of once per backend.
-- pg_blocking_pids (which takes the lock manager's partition locks) runs only for
-- backends waiting on a Lock. The sessions holding the xmin horizon back are picked by
-- spiral from xid_age; horizon names the replication slots and prepared transactions
-- that do, and the oldest datfrozenxid.
-- counters: pg_stat_database summed over databases, only the columns spiral reads
-- (numbackends, which walks every backend once per database, is left out).
WITH clock AS MATERIALIZED (SELECT clock_timestamp() AS now),
shapes AS MATERIALIZED (
    SELECT (row_number() OVER ())::int AS k, backend_type, state, usesysid, datid,
           application_name AS app, coalesce(client_hostname, host(client_addr)) AS client, wait_event_type,
           wait_event, nullif(left(query, 500), '') AS q,
           array_agg(pid) AS pids,
           -- An idle backend's statement start is never read: only its state change is.
           array_agg(CASE WHEN state IS DISTINCT FROM 'idle' THEN query_start END) AS query_starts,
           array_agg(state_change) AS state_changes,
           array_agg(xact_start) AS xact_starts,
           array_agg(backend_start) AS backend_starts,
           array_agg(greatest(age(backend_xmin), age(backend_xid))) AS xid_ages,
           array_agg(CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid)::text END) AS blocked
      FROM pg_stat_get_activity(NULL)
     GROUP BY 2, 3, 4, 5, 6, 7, 8, 9, 10)
SELECT
    current_setting('server_version_num')::int AS version_num,
    current_setting('server_version') AS version,
    (SELECT now FROM clock) AS taken_at,
    pg_backend_pid() AS own_pid,
    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
        OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS sees_all,
    current_user AS me,
    (SELECT json_object_agg(name, reset_val) FROM pg_settings
      WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections',
                     'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
                     'idle_session_timeout', 'deadlock_timeout'))::text AS settings,
    (SELECT json_build_object(
        'frozen_xid_age', (SELECT max(age(datfrozenxid)) FROM pg_database),
        'freeze_max_age', current_setting('autovacuum_freeze_max_age')::bigint,
        'holders', (SELECT json_agg(h) FROM (
            SELECT 'replication-slot' AS kind, NULL::int AS session_id, s.slot_name::text AS name,
                   s.database::text AS database, NULL::bigint AS age_ms,
                   greatest(age(s.xmin), age(s.catalog_xmin)) AS xid_age
              FROM pg_replication_slots s
             WHERE s.xmin IS NOT NULL OR s.catalog_xmin IS NOT NULL
            UNION ALL
            SELECT 'prepared-transaction', NULL, p.gid, p.database::text,
                   (extract(epoch FROM (SELECT now FROM clock) - p.prepared) * 1000)::bigint,
                   age(p.transaction)
              FROM pg_prepared_xacts p
            ORDER BY xid_age DESC NULLS LAST, age_ms DESC NULLS LAST
            LIMIT 5) h)
     ))::text AS horizon,
    (SELECT ARRAY[sum(xact_commit), sum(xact_rollback), sum(deadlocks), sum(sessions),
                  sum(sessions_abandoned), sum(sessions_killed)]::bigint[]
       FROM pg_stat_database WHERE datname IS NOT NULL) AS counters,
    sh.*, se.*
FROM
    (SELECT array_agg(s.backend_type ORDER BY s.k) AS shape_type,
            array_agg(s.state ORDER BY s.k) AS shape_state,
            array_agg(r.rolname::text ORDER BY s.k) AS shape_user,
            array_agg(s.app ORDER BY s.k) AS shape_app,
            array_agg(d.datname::text ORDER BY s.k) AS shape_db,
            array_agg(s.client ORDER BY s.k) AS shape_client,
            array_agg(s.wait_event_type ORDER BY s.k) AS shape_wait_type,
            array_agg(s.wait_event ORDER BY s.k) AS shape_wait,
            array_agg(s.q ORDER BY s.k) AS shape_query,
            array_agg(r.rolsuper ORDER BY s.k) AS shape_superuser
       FROM shapes s LEFT JOIN pg_roles r ON r.oid = s.usesysid
                     LEFT JOIN pg_database d ON d.oid = s.datid) AS sh,
    (SELECT array_agg(u.pid) AS pid, array_agg(s.k) AS shape_key,
            array_agg(u.query_start) AS query_start, array_agg(u.state_change) AS state_change,
            array_agg(u.xact_start) AS xact_start, array_agg(u.backend_start) AS backend_start,
            array_agg(u.xid_age) AS xid_age, array_agg(u.blocked) AS blocked_by
       FROM shapes s,
            unnest(s.pids, s.query_starts, s.state_changes, s.xact_starts, s.backend_starts,
                   s.xid_ages, s.blocked)
                AS u(pid, query_start, state_change, xact_start, backend_start, xid_age, blocked)) AS se
