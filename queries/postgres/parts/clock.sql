-- spiral/postgres/parts/clock
-- The server's clock, read once per sample: the first time the header row needs it, which
-- is after the backends were read (their ages are never negative).
WITH clock AS MATERIALIZED (SELECT clock_timestamp() AS now),
