-- spiral (mysql/super_users): user names holding SUPER, read once after connecting, so
-- that their sessions are never offered as kill victims. A user who cannot read the
-- grant tables sees only its own grants here, and root and rdsadmin are admins regardless.
SELECT DISTINCT CAST(GRANTEE AS CHAR) AS grantee
FROM information_schema.USER_PRIVILEGES
WHERE PRIVILEGE_TYPE = 'SUPER';
