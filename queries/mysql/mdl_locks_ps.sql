-- spiral (mysql/mdl_locks_ps): who holds and who waits for table metadata locks, from
-- performance_schema.metadata_locks (MySQL 8; MariaDB with performance_schema on and the
-- MDL instrument enabled). Sent only in a sample where some connection is "Waiting for
-- table metadata lock", so a quiet server never pays for it.
-- One row per lock: granted ones are held, pending ones are waited for. OWNER_THREAD_ID is
-- a performance-schema thread id: threads maps it to the processlist id.
SELECT CAST(t.PROCESSLIST_ID AS UNSIGNED) AS owner_id,
       CAST(m.OBJECT_SCHEMA AS CHAR) AS lock_schema,
       CAST(m.OBJECT_NAME AS CHAR) AS lock_table,
       CAST(m.LOCK_TYPE AS CHAR) AS lock_mode,
       CAST(m.LOCK_STATUS AS CHAR) AS lock_status
FROM performance_schema.metadata_locks AS m
JOIN performance_schema.threads AS t ON t.THREAD_ID = m.OWNER_THREAD_ID
WHERE m.OBJECT_TYPE = 'TABLE' AND t.PROCESSLIST_ID IS NOT NULL;
