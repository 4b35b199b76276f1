-- spiral/mssql/parts/dac_cuts
-- The ages at which the DAC sample splits its session groups (parts/dac_sessions.sql),
-- sent as parameters of the batch (sp_executesql): @P1 is --idle-over and @P2 is
-- --client-timeout, in milliseconds.
DECLARE @idle_over_ms bigint = @P1, @running_ms bigint = @P2;
