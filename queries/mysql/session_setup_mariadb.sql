-- spiral (mysql/session_setup_mariadb): bound spiral's own session so that it can never
-- add to the spiral it is diagnosing. The ? is the query timeout in seconds (MariaDB's
-- max_statement_time takes fractions). lock_wait_timeout bounds metadata locks (1 year by
-- default), innodb_lock_wait_timeout bounds row locks. spiral takes neither on purpose.
-- Sent once after connecting, and `SET SESSION TRANSACTION READ ONLY` follows it.
SET SESSION max_statement_time = ?,
            lock_wait_timeout = 2,
            innodb_lock_wait_timeout = 2;
