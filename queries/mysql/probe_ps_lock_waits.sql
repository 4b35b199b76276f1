-- spiral probe, once at connect (MySQL 8): are data_lock_waits and threads readable?
SELECT COUNT(*) FROM performance_schema.data_lock_waits AS w
JOIN performance_schema.threads AS t ON t.THREAD_ID = w.REQUESTING_THREAD_ID
