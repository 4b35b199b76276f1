-- spiral (pgbouncer/stats): per database, cumulative counters since PgBouncer started
-- (total_xact_count, total_query_count, total_wait_time in microseconds since 1.8,
-- total_server_assignment_count since 1.23); spiral diffs them over its window and reads
-- them by column name, so older and newer column sets both work.
SHOW STATS
