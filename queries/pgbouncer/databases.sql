-- spiral (pgbouncer/databases): each database's pool_size, reserve_pool and
-- max_connections, the ceilings the pools fill up to.
SHOW DATABASES
