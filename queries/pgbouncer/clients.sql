-- spiral (pgbouncer/clients): client connections with their state and, for waiting ones,
-- how long they have waited (wait, wait_us); spiral keeps only the longest-waiting few.
SHOW CLIENTS
