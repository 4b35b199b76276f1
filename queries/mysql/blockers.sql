-- spiral (mysql/blockers): who waits for whose row lock, MariaDB and MySQL 5.7
-- (on MySQL 8 use sys.innodb_lock_waits instead). Needs PROCESS.
-- A blocker whose statement is empty is a connection sleeping inside an open transaction.
SELECT r.trx_mysql_thread_id AS waiting_id,
       TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS waiting_seconds,
       LEFT(r.trx_query, 60) AS waiting_statement,
       b.trx_mysql_thread_id AS blocking_id,
       TIMESTAMPDIFF(SECOND, b.trx_started, NOW()) AS blocker_transaction_seconds,
       LEFT(b.trx_query, 60) AS blocking_statement
FROM information_schema.INNODB_LOCK_WAITS AS w
JOIN information_schema.INNODB_TRX AS r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX AS b ON b.trx_id = w.blocking_trx_id
ORDER BY waiting_seconds DESC;
