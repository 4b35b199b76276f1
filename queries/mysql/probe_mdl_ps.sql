-- spiral probe, once at connect: can performance_schema show who holds metadata locks?
-- metadata_locks is filled only while the MDL instrument is enabled (the default on MySQL
-- 8, not on MariaDB); reading it also proves SELECT on performance_schema. A row back means
-- yes; no row means the instrument is off.
SELECT 1 AS enabled
FROM performance_schema.setup_instruments AS i
WHERE i.NAME = 'wait/lock/metadata/sql/mdl' AND i.ENABLED = 'YES'
  AND (SELECT COUNT(*) FROM performance_schema.metadata_locks AS m WHERE 1 = 0) = 0
