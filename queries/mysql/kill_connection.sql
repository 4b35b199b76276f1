-- spiral kill: kill_connection (the id is bound as a parameter; MySQL and MariaDB both prepare it).
KILL CONNECTION ?
