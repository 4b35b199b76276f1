-- spiral (mysql/lock_waits_mysql8): who waits for whose row lock, MySQL 8.0 and later.
-- Needs performance_schema on and SELECT on performance_schema.
-- A part of the one-statement sample: spiral joins the parts it needs with UNION ALL, so
-- every part returns the same 16 columns, and this one fills id (the waiting
-- connection) and blocker_id (the connection whose transaction holds the lock).
-- data_lock_waits names performance-schema thread ids, which are not processlist ids:
-- threads maps one to the other. A blocker with no connection (a recovered XA
-- transaction, a background thread) comes back with blocker_id NULL.
SELECT 'lock_wait' AS kind,
       CAST(rt.PROCESSLIST_ID AS UNSIGNED) AS id,
       CAST(bt.PROCESSLIST_ID AS UNSIGNED) AS blocker_id,
       CAST(NULL AS CHAR) AS var_name,
       CAST(NULL AS CHAR) AS var_value,
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
FROM performance_schema.data_lock_waits AS w
JOIN performance_schema.threads AS rt ON rt.THREAD_ID = w.REQUESTING_THREAD_ID
LEFT JOIN performance_schema.threads AS bt ON bt.THREAD_ID = w.BLOCKING_THREAD_ID;
