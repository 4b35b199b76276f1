-- spiral/postgres/parts/counters_pg12
-- counters.sql for PostgreSQL 12 and 13: the session counters arrived in 14, and are NULL
-- here (not read, not zero).
counters AS (
    SELECT ARRAY[sum(xact_commit), sum(xact_rollback), sum(deadlocks), NULL, NULL, NULL]::bigint[]
               AS counters
      FROM pg_stat_database WHERE datname IS NOT NULL)
