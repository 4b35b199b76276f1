-- spiral (mysql/lock_waits_innodb): who waits for whose row lock, MariaDB and MySQL 5.7
-- (information_schema.INNODB_LOCK_WAITS, which MySQL 8 removed). Needs PROCESS.
-- A part of the one-statement sample: spiral joins the parts it needs with UNION ALL, so
-- every part returns the same 16 columns, and this one fills id (the waiting
-- connection) and blocker_id (the connection whose transaction holds the lock). One
-- row per pair of locks: a waiter can have several blockers, and spiral removes repeats.
SELECT 'lock_wait' AS kind,
       CAST(r.trx_mysql_thread_id AS UNSIGNED) AS id,
       CAST(b.trx_mysql_thread_id AS UNSIGNED) AS blocker_id,
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
FROM information_schema.INNODB_LOCK_WAITS AS w
JOIN information_schema.INNODB_TRX AS r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX AS b ON b.trx_id = w.blocking_trx_id;
