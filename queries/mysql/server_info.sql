-- spiral (mysql/server_info): who answered, read once after connecting.
-- VERSION() says MariaDB where @@version_comment may not (Debian builds say "Debian 12").
-- rds_kill: Amazon RDS/Aurora refuse KILL on other users' threads and offer the
-- mysql.rds_kill procedure instead. ROUTINES lists it only when this user may call it.
SELECT VERSION() AS version,
       CAST(@@version_comment AS CHAR) AS version_comment,
       CAST(CONNECTION_ID() AS UNSIGNED) AS own_id,
       CAST(CURRENT_USER() AS CHAR) AS account,
       CAST(@@GLOBAL.performance_schema AS UNSIGNED) AS performance_schema,
       (SELECT COUNT(*) FROM information_schema.ROUTINES
         WHERE ROUTINE_SCHEMA = 'mysql' AND ROUTINE_NAME = 'rds_kill') AS rds_kill;
