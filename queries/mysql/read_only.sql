-- spiral: make this session read-only. Its own statement: it cannot share a SET with
-- variable assignments, and transaction_read_only / tx_read_only are spelled differently
-- across versions.
SET SESSION TRANSACTION READ ONLY
