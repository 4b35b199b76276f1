-- spiral kill: rds_kill (the id is bound as a parameter; MySQL and MariaDB both prepare it).
CALL mysql.rds_kill(?)
