-- spiral: one PostgreSQL sample in one round trip (PostgreSQL 13 and later).
-- Returns one row; the lists are JSON so that a single prepared statement carries them.
-- Cheap by design: pg_stat_activity is a shared-memory scan, and pg_blocking_pids (which
-- takes the lock manager's partition locks) runs only for backends waiting on a Lock.
-- Durations are computed here, against the server's clock, in milliseconds.
-- horizon: the few oldest holders of the xmin horizon (sessions, replication slots,
-- prepared transactions) and the oldest datfrozenxid; all three views are small and in
-- shared memory or tiny catalogs, so this adds one aggregate, not a round trip.
SELECT
    current_setting('server_version_num')::int AS version_num,
    current_setting('server_version') AS version,
    clock_timestamp() AS taken_at,
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
            SELECT 'session' AS kind, a.pid AS session_id, NULL::text AS name,
                   a.datname AS database,
                   (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint AS age_ms,
                   greatest(age(a.backend_xmin), age(a.backend_xid)) AS xid_age
              FROM pg_stat_activity a
             WHERE (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL)
               AND a.pid <> pg_backend_pid()
               AND a.backend_type IN ('client backend', 'walsender')
            UNION ALL
            SELECT 'replication-slot', NULL, s.slot_name::text, s.database::text, NULL,
                   greatest(age(s.xmin), age(s.catalog_xmin))
              FROM pg_replication_slots s
             WHERE s.xmin IS NOT NULL OR s.catalog_xmin IS NOT NULL
            UNION ALL
            SELECT 'prepared-transaction', NULL, p.gid, p.database::text,
                   (extract(epoch FROM clock_timestamp() - p.prepared) * 1000)::bigint,
                   age(p.transaction)
              FROM pg_prepared_xacts p
            ORDER BY xid_age DESC NULLS LAST, age_ms DESC NULLS LAST
            LIMIT 5) h)
     ))::text AS horizon,
    (SELECT json_agg(d)::text FROM pg_stat_database d WHERE d.datname IS NOT NULL) AS db_stats,
    (SELECT json_agg(json_build_object(
        'pid', a.pid,
        'backend_type', a.backend_type,
        'state', a.state,
        'user', a.usename,
        'app', a.application_name,
        'db', a.datname,
        'client', coalesce(a.client_hostname, host(a.client_addr)),
        'wait_event_type', a.wait_event_type,
        'wait_event', a.wait_event,
        'query_ms', (extract(epoch FROM clock_timestamp() - a.query_start) * 1000)::bigint,
        'state_ms', (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::bigint,
        'xact_ms', (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::bigint,
        'backend_start', a.backend_start,
        'query', left(a.query, 500),
        'leader_pid', a.leader_pid,
        'superuser', r.rolsuper,
        'blocked_by', CASE WHEN a.wait_event_type = 'Lock' THEN pg_blocking_pids(a.pid) END
     ))::text
     FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid) AS sessions
