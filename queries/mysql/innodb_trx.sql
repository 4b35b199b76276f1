-- spiral (mysql/innodb_trx): open InnoDB transactions, MariaDB and MySQL. Needs PROCESS.
-- A part of the one-statement sample: spiral joins the parts it needs with UNION ALL, so
-- every part returns the same 16 columns, and this one fills id (the processlist id owning
-- the transaction), trx_state, trx_ms and wait_ms, and var_value with trx_rows_modified
-- (what a rollback would have to undo: the column is otherwise unused by 'trx' rows).
-- A 'Sleep' connection with a row here sits idle inside an open transaction, holding its
-- locks. Ages are computed against the server's own clock (same time zone on both sides).
-- trx_wait_started is set only while the transaction waits for a row lock. Both columns
-- have whole seconds only, so ages here can run up to a second long.
SELECT 'trx' AS kind,
       CAST(t.trx_mysql_thread_id AS UNSIGNED) AS id,
       CAST(NULL AS UNSIGNED) AS blocker_id,
       CAST(NULL AS CHAR) AS var_name,
       CAST(t.trx_rows_modified AS CHAR) AS var_value,
       CAST(NULL AS CHAR) AS user_name,
       CAST(NULL AS CHAR) AS client_host,
       CAST(NULL AS CHAR) AS db_name,
       CAST(NULL AS CHAR) AS command,
       CAST(NULL AS CHAR) AS state,
       CAST(NULL AS SIGNED) AS time_s,
       CAST(NULL AS UNSIGNED) AS time_ms,
       CAST(NULL AS CHAR) AS query_text,
       CAST(t.trx_state AS CHAR) AS trx_state,
       CAST(GREATEST(TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)), 0) DIV 1000 AS UNSIGNED) AS trx_ms,
       CAST(GREATEST(TIMESTAMPDIFF(MICROSECOND, t.trx_wait_started, NOW(6)), 0) DIV 1000 AS UNSIGNED) AS wait_ms
FROM information_schema.INNODB_TRX AS t;
