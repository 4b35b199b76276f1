-- spiral (mysql/processlist_mariadb): every connection and what it runs, MariaDB, for kill.
-- A part of kill's read of the sessions (not of the sample, which sends
-- processlist_show.sql: see there why): kill chooses on up to 500 characters of text and
-- ages to the millisecond, and reads rarely. spiral joins the parts it needs with UNION
-- ALL, so every part returns the same 16 columns, and this one fills the session columns.
-- Without PROCESS a user sees only its own threads here (spiral reports that gap).
-- ID is signed on MariaDB and unsigned on MySQL: the CAST gives both one type. Text
-- columns may come back as VARBINARY on MySQL 8: CAST(... AS CHAR) makes them text. The
-- query text is left as bytes on purpose: it can hold anything a client sent, and a
-- conversion would cut it at the first invalid byte: spiral decodes it lossily.
-- MariaDB's TIME_MS gives idle and running ages to the millisecond. A sleeping thread has
-- no statement: its INFO is not even looked at (most rows in a connection pile-up).
SELECT 'session' AS kind,
       CAST(p.ID AS UNSIGNED) AS id,
       CAST(NULL AS UNSIGNED) AS blocker_id,
       CAST(NULL AS CHAR) AS var_name,
       CAST(NULL AS CHAR) AS var_value,
       CAST(p.USER AS CHAR) AS user_name,
       CAST(p.HOST AS CHAR) AS client_host,
       CAST(p.DB AS CHAR) AS db_name,
       CAST(p.COMMAND AS CHAR) AS command,
       CAST(p.STATE AS CHAR) AS state,
       CAST(p.TIME AS SIGNED) AS time_s,
       CAST(p.TIME_MS AS UNSIGNED) AS time_ms,
       CASE WHEN p.COMMAND = 'Sleep' THEN NULL ELSE LEFT(p.INFO, 500) END AS query_text,
       CAST(NULL AS CHAR) AS trx_state,
       CAST(NULL AS UNSIGNED) AS trx_ms,
       CAST(NULL AS UNSIGNED) AS wait_ms
FROM information_schema.PROCESSLIST AS p;
