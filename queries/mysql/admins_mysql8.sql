-- spiral (mysql/admins_mysql8): who is an admin on MySQL 8, read once after connecting, so
-- that admins' sessions are never offered as kill victims. An admin holds SUPER (also part
-- of ALL PRIVILEGES ON *.*), CONNECTION_ADMIN or SYSTEM_USER, directly or through a role
-- (roles may be granted to roles). It reads the grant tables themselves: a login that may
-- not read them gets an error, never a partial list, and then spiral treats every session
-- as possibly an admin's. Roles named in mandatory_roles are not read.
-- Rows: kind 'holder' (this account or role holds an admin privilege) or 'member' (this
-- account or role was granted `role`); account and role as user@host.
SELECT 'holder' AS kind, User AS user, CONCAT(User, '@', Host) AS account, NULL AS role
FROM mysql.user
WHERE Super_priv = 'Y'
UNION ALL
SELECT 'holder', USER, CONCAT(USER, '@', HOST), NULL
FROM mysql.global_grants
WHERE PRIV IN ('CONNECTION_ADMIN', 'SYSTEM_USER')
UNION ALL
SELECT 'member', TO_USER, CONCAT(TO_USER, '@', TO_HOST), CONCAT(FROM_USER, '@', FROM_HOST)
FROM mysql.role_edges
