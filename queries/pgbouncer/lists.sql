-- spiral (pgbouncer/lists): sizes of PgBouncer's internal lists (used_clients,
-- free_servers, login_clients, ...): one row each, a dozen rows.
SHOW LISTS
