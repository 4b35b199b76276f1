-- spiral (mysql/variables_mariadb): limits and timeouts, MariaDB 10.3 and later.
-- Read at connect and then only every few minutes (VARIABLES_EVERY in
-- src/engine/mysql/sample.rs), as its own statement; spiral adds the rows it kept to each
-- sample. It returns the sample's 16 columns, and fills var_name and var_value.
-- GLOBAL values on purpose: spiral's own session has just lowered its session values.
-- max_statement_time is in seconds (fractions allowed), the other timeouts in seconds.
-- The server's clock (utc_now) is in every sample instead: see clock.sql.
SELECT 'var' AS kind,
       CAST(NULL AS UNSIGNED) AS id,
       CAST(NULL AS UNSIGNED) AS blocker_id,
       v.var_name AS var_name,
       v.var_value AS var_value,
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
FROM (
          SELECT 'max_connections' AS var_name, CAST(@@GLOBAL.max_connections AS CHAR) AS var_value
    UNION ALL SELECT 'wait_timeout', CAST(@@GLOBAL.wait_timeout AS CHAR)
    UNION ALL SELECT 'max_statement_time', CAST(@@GLOBAL.max_statement_time AS CHAR)
    UNION ALL SELECT 'innodb_lock_wait_timeout', CAST(@@GLOBAL.innodb_lock_wait_timeout AS CHAR)
    UNION ALL SELECT 'idle_transaction_timeout', CAST(@@GLOBAL.idle_transaction_timeout AS CHAR)
    UNION ALL SELECT 'idle_write_transaction_timeout', CAST(@@GLOBAL.idle_write_transaction_timeout AS CHAR)
) AS v;
