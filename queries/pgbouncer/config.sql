-- spiral (pgbouncer/config): the settings that bound waits and idle servers
-- (query_wait_timeout, server_idle_timeout, max_client_conn, default_pool_size).
SHOW CONFIG
