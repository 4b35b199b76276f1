-- spiral (pgbouncer/pools): per database/user pool, clients active and waiting, server
-- connections active/idle/used, and maxwait (the oldest waiting client). Admin console,
-- simple query protocol only; answered from PgBouncer's memory, no database is touched.
SHOW POOLS
