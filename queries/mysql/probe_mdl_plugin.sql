-- spiral probe, once at connect (MariaDB): is the metadata_lock_info plugin loaded and
-- readable? Without it the table does not exist and the server refuses the probe.
SELECT COUNT(*) FROM information_schema.METADATA_LOCK_INFO WHERE 1 = 0
