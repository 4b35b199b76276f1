-- spiral (mysql/admins_mariadb): who is an admin on MariaDB 10.4 and later, read once after
-- connecting, so that admins' sessions are never offered as kill victims. An admin holds
-- SUPER or CONNECTION ADMIN globally, directly, through ALL PRIVILEGES ON *.* (which
-- includes both), or through a role (roles may be granted to roles). mysql.global_priv
-- keeps the global privileges as a bit mask: SUPER is bit 15 (32768), CONNECTION ADMIN bit
-- 32 (4294967296); these bits are the table's on-disk format and do not move between
-- versions. It reads the grant tables themselves: a login that may not read them gets an
-- error, never a partial list (information_schema.USER_PRIVILEGES would quietly show only
-- its own grants), and then spiral treats every session as possibly an admin's.
-- Rows: kind 'holder' (this account or role holds an admin privilege) or 'member' (this
-- account or role was granted `role`); account and role as user@host (roles have no host).
SELECT 'holder' AS kind, User AS user, CONCAT(User, '@', Host) AS account, NULL AS role
FROM mysql.global_priv
WHERE CAST(JSON_VALUE(Priv, '$.access') AS UNSIGNED) & (32768 | 4294967296) <> 0
UNION ALL
SELECT 'member', User, CONCAT(User, '@', Host), CONCAT(Role, '@')
FROM mysql.roles_mapping
