-- spiral/mssql/sent_reset
-- Forgets which query texts and client combinations this connection has sent, so the next
-- sample sends them all again. spiral sends it only when a session row keeps naming a key
-- it never received (a result set lost on the way): its text is shown as unknown until
-- then, never guessed. A fixed text, like every batch spiral sends.
IF OBJECT_ID(N'tempdb..#spiral_sent') IS NOT NULL DELETE FROM #spiral_sent;
