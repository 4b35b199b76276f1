-- spiral (mysql/deadlocks_mysql): InnoDB's deadlock count, MySQL (which has no
-- Innodb_deadlocks status variable). Needs PROCESS. A disabled counter would read as
-- "no deadlocks", so it is only taken when enabled (it is by default).
-- A part of the one-statement sample: spiral joins the parts it needs with UNION ALL, so
-- every part returns the same 16 columns, and this one fills var_name and var_value.
-- The same scan also takes the InnoDB history list length (undo not yet purged, the sign
-- of a long transaction), which MySQL has no status variable for either. It is a gauge.
SELECT 'status' AS kind,
       CAST(NULL AS UNSIGNED) AS id,
       CAST(NULL AS UNSIGNED) AS blocker_id,
       CASE m.NAME WHEN 'lock_deadlocks' THEN 'innodb_deadlocks'
                   ELSE 'innodb_history_list_length' END AS var_name,
       CAST(m.COUNT AS CHAR) AS var_value,
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
FROM information_schema.INNODB_METRICS AS m
WHERE m.NAME IN ('lock_deadlocks', 'trx_rseg_history_len') AND m.STATUS = 'enabled';
