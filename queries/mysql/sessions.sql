-- spiral (mysql/sessions): every connection, for a person to read in the mysql client.
-- Longest in its current state first. Needs PROCESS to see other users' connections.
SELECT ID AS id,
       USER AS user,
       HOST AS client,
       DB AS db,
       COMMAND AS command,
       TIME AS seconds_in_state,
       STATE AS state,
       LEFT(REPLACE(REPLACE(INFO, '\n', ' '), '\r', ' '), 80) AS statement
FROM information_schema.PROCESSLIST
WHERE ID <> CONNECTION_ID()
ORDER BY TIME DESC
LIMIT 50;
