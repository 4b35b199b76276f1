-- spiral (mysql/mdl_texts_mariadb): the statements SHOW PROCESSLIST cut, MariaDB.
-- Read only in a sample where someone waits for a table metadata lock, and only when the
-- holders are not read from performance_schema: then the tables each waiter and each
-- running statement names come from their text, and SHOW PROCESSLIST (the sample's
-- processlist, see processlist_show.sql) cuts every text at 100 bytes, often before the
-- FROM of an ORM's long select list. Only the texts it cut come back, at most 500
-- characters each, as in processlist_mariadb.sql. This reads information_schema's
-- processlist, the costlier one (1.6-2.3x SHOW PROCESSLIST), so it waits for a pile-up.
-- The text stays bytes, decoded lossily (see processlist_mariadb.sql).
SELECT CAST(p.ID AS UNSIGNED) AS id,
       LEFT(p.INFO, 500) AS query_text
FROM information_schema.PROCESSLIST AS p
WHERE p.COMMAND <> 'Sleep' AND LENGTH(p.INFO) > 100;
