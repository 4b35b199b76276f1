-- spiral: one PostgreSQL sample in one round trip (PostgreSQL 12 and 13: pg_stat_database
-- has no session counters before 14). Otherwise the same as sample.sql.
-- Returns one row. The sessions travel as parallel arrays (one element per backend, decoded
-- by position), never as one JSON object per backend: building and growing that text was
-- half of this statement's time. What many backends share travels once:
--   shape_*  the distinct (backend type, state, user, application, database, client, wait)
--            combinations; a pool's thousand idle connections are one shape.
--   text_*   the distinct statement texts (first 500 characters); a pool's idle
--            connections mostly last ran the same few statements.
-- Each backend then carries only its pid, its shape and text keys (1-based positions in
-- those arrays) and its four timestamps; durations are worked out by spiral against
-- taken_at, which is read once here from the server's clock.
-- pg_stat_activity is read once into `a` (a shared-memory scan; every later reference in
-- the statement sees the same backend snapshot), and pg_blocking_pids (which takes the
-- lock manager's partition locks) runs only for backends waiting on a Lock.
-- horizon: the few oldest holders of the xmin horizon (sessions, replication slots,
-- prepared transactions) and the oldest datfrozenxid.
-- counters: pg_stat_database summed over databases, only the columns spiral reads
-- (numbackends, which walks every backend once per database, is left out).
WITH clock AS MATERIALIZED (SELECT clock_timestamp() AS now),
a AS MATERIALIZED (
    SELECT pid, backend_type, state, usesysid, usename::text AS usr, application_name AS app,
           datname::text AS db, coalesce(client_hostname, host(client_addr)) AS client,
           wait_event_type, wait_event,
           -- An idle backend's statement start is never read: only its state change is.
           CASE WHEN state IS DISTINCT FROM 'idle' THEN query_start END AS query_start,
           state_change, xact_start, backend_start, backend_xmin, backend_xid,
           nullif(left(query, 500), '') AS q,
           CASE WHEN wait_event_type = 'Lock' THEN pg_blocking_pids(pid) END AS blocked_by
      FROM pg_stat_activity),
shapes AS MATERIALIZED (
    SELECT (row_number() OVER ())::int AS k, backend_type, state, usesysid, usr, app, db,
           client, wait_event_type, wait_event, array_agg(pid) AS pids
      FROM a
     GROUP BY backend_type, state, usesysid, usr, app, db, client, wait_event_type, wait_event),
texts AS MATERIALIZED (
    SELECT (row_number() OVER ())::int AS k, q, array_agg(pid) AS pids
      FROM a WHERE q IS NOT NULL GROUP BY q)
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
            SELECT 'session' AS kind, a.pid AS session_id, NULL::text AS name,
                   a.db AS database,
                   (extract(epoch FROM (SELECT now FROM clock) - a.xact_start) * 1000)::bigint AS age_ms,
                   greatest(age(a.backend_xmin), age(a.backend_xid)) AS xid_age
              FROM a
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
                   (extract(epoch FROM (SELECT now FROM clock) - p.prepared) * 1000)::bigint,
                   age(p.transaction)
              FROM pg_prepared_xacts p
            ORDER BY xid_age DESC NULLS LAST, age_ms DESC NULLS LAST
            LIMIT 5) h)
     ))::text AS horizon,
    (SELECT ARRAY[sum(xact_commit), sum(xact_rollback), sum(deadlocks), NULL, NULL, NULL]::bigint[]
       FROM pg_stat_database WHERE datname IS NOT NULL) AS counters,
    sh.*, tx.*, se.*,
    (SELECT array_agg(a.pid) FROM a, unnest(a.blocked_by) AS b) AS blocked_pid,
    (SELECT array_agg(b) FROM a, unnest(a.blocked_by) AS b) AS blocked_by
FROM
    (SELECT array_agg(s.backend_type ORDER BY s.k) AS shape_type,
            array_agg(s.state ORDER BY s.k) AS shape_state,
            array_agg(s.usr ORDER BY s.k) AS shape_user,
            array_agg(s.app ORDER BY s.k) AS shape_app,
            array_agg(s.db ORDER BY s.k) AS shape_db,
            array_agg(s.client ORDER BY s.k) AS shape_client,
            array_agg(s.wait_event_type ORDER BY s.k) AS shape_wait_type,
            array_agg(s.wait_event ORDER BY s.k) AS shape_wait,
            array_agg(r.rolsuper ORDER BY s.k) AS shape_superuser
       FROM shapes s LEFT JOIN pg_roles r ON r.oid = s.usesysid) AS sh,
    (SELECT array_agg(q ORDER BY k) AS texts FROM texts) AS tx,
    (SELECT array_agg(a.pid) AS pid, array_agg(sk.k) AS shape_key, array_agg(tk.k) AS text_key,
            array_agg(a.query_start) AS query_start, array_agg(a.state_change) AS state_change,
            array_agg(a.xact_start) AS xact_start, array_agg(a.backend_start) AS backend_start
       FROM a
       JOIN (SELECT unnest(pids) AS pid, k FROM shapes) AS sk ON sk.pid = a.pid
       LEFT JOIN (SELECT unnest(pids) AS pid, k FROM texts) AS tk ON tk.pid = a.pid) AS se
