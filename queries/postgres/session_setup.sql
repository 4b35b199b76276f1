-- spiral: bound this session so that it can never add to the spiral it is diagnosing.
-- Sent once after connecting; spiral only ever reads.
SELECT set_config('statement_timeout', $1, false),
       set_config('lock_timeout', '1000', false),
       set_config('idle_in_transaction_session_timeout', '10000', false),
       set_config('default_transaction_read_only', 'on', false)
