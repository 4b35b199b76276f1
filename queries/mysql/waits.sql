-- spiral (mysql/waits): what busy connections are doing now, most common state first.
-- Sleeping connections are left out: waiting for the client is not a wait.
SELECT COMMAND AS command,
       COALESCE(NULLIF(STATE, ''), '(none)') AS state,
       COUNT(*) AS connections,
       MAX(TIME) AS longest_seconds
FROM information_schema.PROCESSLIST
WHERE COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID')
  AND ID <> CONNECTION_ID()
GROUP BY COMMAND, STATE
ORDER BY connections DESC;
