-- spiral kill (MariaDB 10.6 and later): end a batch of threads (or their running
-- statements) in one request, each only if it is still in the state it was selected for.
-- Parameters: the thread ids as a JSON array of numbers; mode ('idle',
-- 'idle-in-transaction', 'active', or NULL for no state condition); the bound in
-- milliseconds; how ('connection', 'query', 'rds', 'rds-query').
-- The processlist is read once for the whole batch (every read of it walks all threads:
-- once per victim made a kill of 2,000 idle threads 40-60 times slower than plain KILLs),
-- matched to the ids with JSON_TABLE (10.6+; older MariaDB gets kill_if_mariadb.sql once
-- per victim). The IN form on purpose: the server materializes the ids once with a key and
-- probes it per thread (25 ms for 2,000 of 2,000 threads), where a join scanned the whole
-- list for every thread (0.5-0.9 s). Each held victim is killed right after, inside this
-- same request: no round trip separates its check from its KILL, only the kills before it
-- in the batch (2,000 KILLs took 0.2-0.3 s here, so a batch of 100 ms of --rate waits
-- a few ms at most; a thread that starts a statement in that gap can still be ended).
-- MariaDB thread ids are not reused while the server runs (they only grow, up to 2^32
-- before any wrap), so the id alone names the connection that was selected.
-- Returns one row: the ids killed, the ids found no longer in their state (spared), and
-- the ids whose KILL the server refused with the first refusal's message, each list
-- comma separated. An id in none of them was gone (not in the processlist, or ended
-- between the read and its KILL).
BEGIN NOT ATOMIC
    DECLARE victims LONGTEXT DEFAULT ?;
    DECLARE kill_mode VARCHAR(32) DEFAULT ?;
    DECLARE bound_ms BIGINT UNSIGNED DEFAULT ?;
    DECLARE how VARCHAR(16) DEFAULT ?;
    DECLARE victim BIGINT UNSIGNED;
    DECLARE held INT;
    DECLARE done INT DEFAULT 0;
    DECLARE gone INT DEFAULT 0;
    DECLARE refused INT DEFAULT 0;
    DECLARE why TEXT DEFAULT NULL;
    DECLARE killed_ids LONGTEXT DEFAULT '';
    DECLARE spared_ids LONGTEXT DEFAULT '';
    DECLARE failed_ids LONGTEXT DEFAULT '';
    DECLARE found CURSOR FOR
        SELECT p.ID,
               CASE kill_mode
                   WHEN 'idle' THEN p.COMMAND = 'Sleep' AND p.TIME_MS >= bound_ms
                   WHEN 'idle-in-transaction' THEN p.COMMAND = 'Sleep'
                        AND p.TIME_MS >= bound_ms
                        AND EXISTS (SELECT 1 FROM information_schema.INNODB_TRX AS t
                                    WHERE t.trx_mysql_thread_id = p.ID)
                   WHEN 'active' THEN p.COMMAND IN ('Query', 'Execute')
                        AND p.TIME_MS >= bound_ms
                   ELSE 1
               END
        FROM information_schema.PROCESSLIST AS p
        WHERE p.ID IN (SELECT v.id
                       FROM JSON_TABLE(victims, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS v);
    -- Only the end of the rows is handled here: any other error (the read refused, say)
    -- ends the whole statement, and the client reports the batch as failed.
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;
    OPEN found;
    each_victim: LOOP
        FETCH found INTO victim, held;
        IF done = 1 THEN
            LEAVE each_victim;
        END IF;
        IF held = 1 THEN
            SET gone = 0, refused = 0;
            -- The KILL's own errors are handled in this block only: one refusal (another
            -- user's thread without the privilege, say) is noted and the batch goes on.
            BEGIN
                -- 1094: unknown thread: it ended after the read.
                DECLARE CONTINUE HANDLER FOR 1094 SET gone = 1;
                DECLARE CONTINUE HANDLER FOR SQLEXCEPTION
                BEGIN
                    SET refused = 1;
                    IF why IS NULL THEN
                        GET DIAGNOSTICS CONDITION 1 why = MESSAGE_TEXT;
                    END IF;
                END;
                CASE how
                    WHEN 'query' THEN KILL QUERY victim;
                    WHEN 'rds' THEN CALL mysql.rds_kill(victim);
                    WHEN 'rds-query' THEN CALL mysql.rds_kill_query(victim);
                    ELSE KILL CONNECTION victim;
                END CASE;
            END;
            IF refused = 1 THEN
                SET failed_ids = CONCAT(failed_ids, ',', victim);
            ELSEIF gone = 0 THEN
                SET killed_ids = CONCAT(killed_ids, ',', victim);
            END IF;
        ELSE
            SET spared_ids = CONCAT(spared_ids, ',', victim);
        END IF;
    END LOOP;
    CLOSE found;
    SELECT SUBSTRING(killed_ids, 2) AS killed,
           SUBSTRING(spared_ids, 2) AS spared,
           SUBSTRING(failed_ids, 2) AS failed,
           why AS refusal;
END
