-- spiral (mysql/mdl_locks_plugin): who holds table metadata locks, from MariaDB's
-- metadata_lock_info plugin (INSTALL SONAME 'metadata_lock_info'). Sent only in a sample
-- where some connection is "Waiting for table metadata lock".
-- The plugin lists granted locks only; spiral reads what each waiter wants from its
-- statement. THREAD_ID here is the processlist id.
SELECT CAST(l.THREAD_ID AS UNSIGNED) AS owner_id,
       CAST(l.TABLE_SCHEMA AS CHAR) AS lock_schema,
       CAST(l.TABLE_NAME AS CHAR) AS lock_table,
       CAST(l.LOCK_MODE AS CHAR) AS lock_mode,
       'GRANTED' AS lock_status
FROM information_schema.METADATA_LOCK_INFO AS l
WHERE l.LOCK_TYPE = 'Table metadata lock';
