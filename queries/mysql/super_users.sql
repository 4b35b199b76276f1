-- spiral (mysql/super_users): who is an admin, on MySQL 5.7 and MariaDB 10.3 (no
-- CONNECTION_ADMIN, no readable role privileges to go by). Read once after connecting, so
-- that admins' sessions are never offered as kill victims. It reads the grant table itself:
-- a login that may not read it gets an error, never a partial list, and then spiral treats
-- every session as possibly an admin's.
-- Rows: kind 'holder' (this account holds an admin privilege), user, account (user@host).
SELECT 'holder' AS kind, User AS user, CONCAT(User, '@', Host) AS account, NULL AS role
FROM mysql.user
WHERE Super_priv = 'Y'
