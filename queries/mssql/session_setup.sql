-- spiral/mssql/session_setup
-- Sent once per connection, before the first sample. spiral only reads, and on a server
-- that is already dying it must never become one more thing to wait for:
-- * NOCOUNT: no row-count messages, fewer tokens on the wire.
-- * LOCK_TIMEOUT 1000: a catalog read stuck behind an ALTER DATABASE (incident 000) gives
--   up after one second with error 1222 instead of queueing forever.
-- * READ UNCOMMITTED: the DMVs and catalog views are read without shared locks.
-- * DEADLOCK_PRIORITY LOW: if spiral is ever part of a deadlock, it is the victim.
-- * IMPLICIT_TRANSACTIONS OFF: no statement opens a transaction that could stay open.
-- * TEXTSIZE: caps LOB text the server sends back (query text is cut to 500 characters).
-- * #spiral_sent: the keys of the query texts (kind 1) and client combinations (kind 2)
--   this connection has already sent, so each travels once per connection rather than once
--   per sample (queries/mssql/parts/query_text.sql, clients.sql). It ends with the
--   connection: after a reconnect everything is sent again.
SET NOCOUNT ON;
SET LOCK_TIMEOUT 1000;
SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
SET DEADLOCK_PRIORITY LOW;
SET IMPLICIT_TRANSACTIONS OFF;
SET TEXTSIZE 8192;
CREATE TABLE #spiral_sent (kind tinyint NOT NULL, k bigint NOT NULL, PRIMARY KEY (kind, k));
