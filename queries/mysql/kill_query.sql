-- spiral kill: kill_query (the id is bound as a parameter; MySQL and MariaDB both prepare it).
KILL QUERY ?
