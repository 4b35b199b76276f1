-- spiral (mysql/status_mariadb): connection and lock counters, MariaDB.
-- A part of the one-request sample: spiral joins the parts it needs with UNION ALL, so
-- every part returns the same 16 columns, and this one fills var_name and var_value.
-- SESSION_STATUS on purpose, not GLOBAL_STATUS: every counter here exists only globally,
-- and for those MariaDB shows the global value in the session view too ("Some status
-- variables have only a global value. For these, you get the same value for both GLOBAL
-- and SESSION", SHOW STATUS in the MariaDB manual). Any read of GLOBAL_STATUS sums the
-- per-connection counters of every thread, whatever names are asked for: 0.5-1.3x the
-- cost of SHOW FULL PROCESSLIST itself at 1,000-2,000 connections, against under 0.1x here
-- (scripts/bench-mysql.py). That is also why statements are counted by Queries (a global
-- id every statement takes, spiral's own included) rather than by Questions, which is
-- per connection and needs that sum. Com_commit and Com_rollback are left out for the
-- same reason.
-- Threads_connected is a gauge, the rest are cumulative and spiral diffs them between
-- samples. Innodb_deadlocks exists from MariaDB 10.5 (older servers simply lack the row).
-- Innodb_history_list_length (a gauge, undo not yet purged, the sign of a long
-- transaction) is MariaDB's own. Readable without any privilege.
SELECT 'status' AS kind,
       CAST(NULL AS UNSIGNED) AS id,
       CAST(NULL AS UNSIGNED) AS blocker_id,
       CAST(LOWER(s.VARIABLE_NAME) AS CHAR) AS var_name,
       CAST(s.VARIABLE_VALUE AS CHAR) AS var_value,
       CAST(NULL AS CHAR) AS user_name,
       CAST(NULL AS CHAR) AS client_host,
       CAST(NULL AS CHAR) AS db_name,
       CAST(NULL AS CHAR) AS command,
       CAST(NULL AS CHAR) AS state,
       CAST(NULL AS SIGNED) AS time_s,
       CAST(NULL AS UNSIGNED) AS time_ms,
       CAST(NULL AS CHAR) AS query_text,
       CAST(NULL AS CHAR) AS trx_state,
       CAST(NULL AS UNSIGNED) AS trx_ms,
       CAST(NULL AS UNSIGNED) AS wait_ms
FROM information_schema.SESSION_STATUS AS s
WHERE s.VARIABLE_NAME IN ('Threads_connected', 'Connections', 'Aborted_connects',
                          'Connection_errors_max_connections', 'Queries',
                          'Innodb_row_lock_waits', 'Innodb_row_lock_time',
                          'Innodb_row_lock_current_waits', 'Innodb_deadlocks',
                          'Innodb_history_list_length');
