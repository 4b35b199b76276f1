-- spiral kill: rds_kill_query (the id is bound as a parameter; MySQL and MariaDB both prepare it).
CALL mysql.rds_kill_query(?)
