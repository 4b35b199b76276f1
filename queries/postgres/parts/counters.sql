-- spiral/postgres/parts/counters
-- pg_stat_database summed over databases, only the columns spiral reads (numbackends,
-- which walks every backend once per database, is left out). PostgreSQL 14 and later.
counters AS (
    SELECT ARRAY[sum(xact_commit), sum(xact_rollback), sum(deadlocks), sum(sessions),
                 sum(sessions_abandoned), sum(sessions_killed)]::bigint[] AS counters
      FROM pg_stat_database WHERE datname IS NOT NULL)
