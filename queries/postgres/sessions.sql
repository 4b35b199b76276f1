-- spiral (postgres/sessions): every client session, for a person to read in psql.
-- Oldest state first: leaks and forgotten transactions come to the top.
-- Needs pg_monitor (or pg_read_all_stats) to see other users' statements.
SELECT pid,
       usename AS "user",
       application_name AS app,
       coalesce(client_hostname, host(client_addr), 'local') AS client,
       datname AS db,
       state,
       date_trunc('second', now() - state_change) AS in_state_for,
       date_trunc('second', now() - xact_start) AS transaction_age,
       wait_event_type || ':' || wait_event AS waiting_on,
       left(regexp_replace(query, '\s+', ' ', 'g'), 80) AS statement
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND pid <> pg_backend_pid()
ORDER BY state_change NULLS LAST
LIMIT 50;
