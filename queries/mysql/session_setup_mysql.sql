-- spiral (mysql/session_setup_mysql): bound spiral's own session so that it can never
-- add to the spiral it is diagnosing. The ? is the query timeout in milliseconds (MySQL's
-- max_execution_time applies to SELECT, which is all spiral sends). lock_wait_timeout
-- bounds metadata locks (1 year by default), innodb_lock_wait_timeout bounds row locks.
-- Sent once after connecting, and `SET SESSION TRANSACTION READ ONLY` follows it.
SET SESSION max_execution_time = ?,
            lock_wait_timeout = 2,
            innodb_lock_wait_timeout = 2;
