-- spiral (pgbouncer/servers): server connections with the backend's pid (remote_pid), the
-- pooler's own address and port as the database sees them (local_addr, local_port) and
-- the client each one is lent to (link = that client's ptr in SHOW CLIENTS).
SHOW SERVERS
