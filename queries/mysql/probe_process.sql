-- spiral probe, once at connect: can this user read other sessions' transactions (PROCESS)?
-- INNODB_TRX checks PROCESS when it is filled, so the probe really reads it.
SELECT COUNT(*) FROM information_schema.INNODB_TRX
