-- spiral: bound this session so that it can never add to the spiral it is diagnosing.
-- Sent once after connecting; spiral only ever reads.
-- plan_cache_mode (12+): the sample takes one parameter, and PostgreSQL would otherwise plan
-- it afresh for each of its first five runs before settling on the one plan it reuses.
SELECT set_config('statement_timeout', $1, false),
       set_config('lock_timeout', '1000', false),
       set_config('idle_in_transaction_session_timeout', '10000', false),
       set_config('default_transaction_read_only', 'on', false),
       CASE WHEN current_setting('server_version_num')::int >= 120000
            THEN set_config('plan_cache_mode', 'force_generic_plan', false) END
