-- spiral/postgres/parts/rows
-- The rows spiral reads: one per shape, the role and database named once per shape, then
-- the header row (the only one with taken_at) with what is read once per sample. The
-- header comes last so that the clock is read after the backends.
SELECT s.backend_type, s.state, r.rolname::text AS usr, s.application_name AS app,
       d.datname::text AS db, coalesce(s.client_hostname, host(s.client_addr)) AS client,
       s.wait_event_type, s.wait_event, nullif(left(s.query, 500), '') AS query,
       r.rolsuper AS superuser, s.pids, s.state_changes, s.backend_starts, s.query_starts,
       s.xact_starts, s.xid_ages, s.blocked,
       NULL::int AS version_num, NULL::text AS version, NULL::timestamptz AS taken_at,
       NULL::int AS own_pid, NULL::bool AS sees_all, NULL::text AS me,
       NULL::timestamptz AS conf_loaded, NULL::text AS settings, NULL::text AS horizon,
       NULL::bigint[] AS counters
  FROM shapes s LEFT JOIN pg_roles r ON r.oid = s.usesysid
                LEFT JOIN pg_database d ON d.oid = s.datid
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL,
       current_setting('server_version_num')::int,
       current_setting('server_version'),
       (SELECT now FROM clock),
       pg_backend_pid(),
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
           OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),
       current_user::text,
       pg_conf_load_time(),
       -- Read only when the configuration was loaded since spiral last read it ($1).
       CASE WHEN pg_conf_load_time() IS DISTINCT FROM $1::timestamptz THEN
           (SELECT json_object_agg(name, reset_val) FROM pg_settings
             WHERE name IN ('max_connections', 'superuser_reserved_connections',
                            'reserved_connections', 'statement_timeout', 'lock_timeout',
                            'idle_in_transaction_session_timeout', 'idle_session_timeout',
                            'deadlock_timeout'))::text
       END,
       -- Who holds the xmin horizon back besides sessions (spiral picks those from the
       -- xid ages): replication slots and prepared transactions, and the oldest
       -- datfrozenxid. Rare and few, so one small JSON document.
       (SELECT json_build_object(
           'frozen_xid_age', (SELECT max(age(datfrozenxid)) FROM pg_database),
           'freeze_max_age', current_setting('autovacuum_freeze_max_age')::bigint,
           'holders', (SELECT json_agg(h) FROM (
               SELECT 'replication-slot' AS kind, NULL::int AS session_id,
                      sl.slot_name::text AS name, sl.database::text AS database,
                      NULL::bigint AS age_ms,
                      greatest(age(sl.xmin), age(sl.catalog_xmin)) AS xid_age
                 FROM pg_replication_slots sl
                WHERE sl.xmin IS NOT NULL OR sl.catalog_xmin IS NOT NULL
               UNION ALL
               SELECT 'prepared-transaction', NULL, p.gid, p.database::text,
                      (extract(epoch FROM (SELECT now FROM clock) - p.prepared) * 1000)::bigint,
                      age(p.transaction)
                 FROM pg_prepared_xacts p
               ORDER BY xid_age DESC NULLS LAST, age_ms DESC NULLS LAST
               LIMIT 5) h)))::text,
       (SELECT counters FROM counters)
