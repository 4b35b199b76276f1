-- spiral kill (MySQL): is this thread still in the state it was selected for? Sent right
-- before the KILL, on the same connection. MySQL has no conditional KILL and no anonymous
-- compound statement (MariaDB's kill_if_mariadb.sql checks and kills in one request), so
-- one round trip remains between this check and the KILL: a session that starts a
-- statement in that window (well under a millisecond on a local network) can still be
-- ended in it. TIME counts whole seconds here, so a session just past the bound may be
-- spared (never the reverse).
-- Parameters: thread id; mode ('idle', 'idle-in-transaction', 'active', or NULL for no
-- state condition); the bound in milliseconds. No row: the thread is gone.
SELECT CASE v.kill_mode
           WHEN 'idle' THEN p.COMMAND = 'Sleep' AND p.TIME * 1000 >= v.bound_ms
           WHEN 'idle-in-transaction' THEN p.COMMAND = 'Sleep' AND p.TIME * 1000 >= v.bound_ms
                AND EXISTS (SELECT 1 FROM information_schema.INNODB_TRX t
                            WHERE t.trx_mysql_thread_id = p.ID)
           WHEN 'active' THEN p.COMMAND IN ('Query', 'Execute') AND p.TIME * 1000 >= v.bound_ms
           ELSE 1
       END AS still
FROM information_schema.PROCESSLIST p
JOIN (SELECT CAST(? AS UNSIGNED) AS victim, CAST(? AS CHAR) AS kill_mode,
             CAST(? AS UNSIGNED) AS bound_ms) AS v
  ON p.ID = v.victim
