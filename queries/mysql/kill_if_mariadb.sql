-- spiral kill (MariaDB): end one thread, or its running statement, only if it is still in
-- the state it was selected for, checked by the server in the same statement that kills:
-- the client-side re-check may be half a second old, and an idle session that has started
-- a statement since must not be ended in the middle of it. MySQL's KILL cannot be made
-- conditional, but MariaDB runs this anonymous compound statement as one request, so no
-- round trip separates the check from the KILL (only the few microseconds between the
-- two inside the server remain).
-- Parameters: thread id; mode ('idle', 'idle-in-transaction', 'active', or NULL for no
-- state condition); the bound in milliseconds; how ('connection', 'query', 'rds',
-- 'rds-query'). Returns still: NULL when the thread is gone, 0 when its state no longer
-- holds (nothing was killed), 1 when it was killed.
BEGIN NOT ATOMIC
    DECLARE victim BIGINT UNSIGNED DEFAULT ?;
    DECLARE kill_mode VARCHAR(32) DEFAULT ?;
    DECLARE bound_ms BIGINT UNSIGNED DEFAULT ?;
    DECLARE how VARCHAR(16) DEFAULT ?;
    DECLARE still INT DEFAULT NULL;
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET still = NULL;
    SELECT CASE kill_mode
               WHEN 'idle' THEN p.COMMAND = 'Sleep' AND p.TIME_MS >= bound_ms
               WHEN 'idle-in-transaction' THEN p.COMMAND = 'Sleep' AND p.TIME_MS >= bound_ms
                    AND EXISTS (SELECT 1 FROM information_schema.INNODB_TRX t
                                WHERE t.trx_mysql_thread_id = victim)
               WHEN 'active' THEN p.COMMAND IN ('Query', 'Execute') AND p.TIME_MS >= bound_ms
               ELSE 1
           END
    INTO still
    FROM information_schema.PROCESSLIST p
    WHERE p.ID = victim;
    IF still = 1 THEN
        CASE how
            WHEN 'query' THEN KILL QUERY victim;
            WHEN 'rds' THEN CALL mysql.rds_kill(victim);
            WHEN 'rds-query' THEN CALL mysql.rds_kill_query(victim);
            ELSE KILL CONNECTION victim;
        END CASE;
    END IF;
    SELECT still;
END
