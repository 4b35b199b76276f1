-- spiral (mysql/clock): the server's clock, MariaDB and MySQL, taken in every sample so that
-- every duration in a sample uses one clock (the variables are read far less often: see
-- VARIABLES_EVERY in src/engine/mysql/sample.rs).
-- A part of the one-statement sample: spiral joins the parts it needs with UNION ALL, so
-- every part returns the same 16 columns, and this one fills var_name and var_value.
SELECT 'var' AS kind,
       CAST(NULL AS UNSIGNED) AS id,
       CAST(NULL AS UNSIGNED) AS blocker_id,
       CAST('utc_now' AS CHAR) AS var_name,
       CAST(DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%d %H:%i:%s.%f') AS CHAR) AS var_value,
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
FROM DUAL;
