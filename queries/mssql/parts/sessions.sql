-- spiral/mssql/parts/sessions
-- Sessions and their requests, one row per session. Statements that read many rows run
-- inside TRY/CATCH: an error after some rows were sent (535, 1222) then ends with a small
-- "failed_set" row naming the statement, and spiral marks that area partial instead of
-- keeping a silently shorter list.
-- * MARS: a session may have several requests; the row shows the blocked one, else the
--   longest running, and `requests` says how many there are.
-- * Blockers -2 (orphaned distributed transaction) and -3 (deferred recovery) are kept: the
--   waiters are stuck on them. -4/-5 (latch owner unknown) and the session itself (a
--   parallel request waiting on its own threads) are not a lock chain.
-- * 1900-01-01 is the time of a session that never ran a request (last_request_end_time) or
--   is still logging in (login_time): it means "no time", and idle time then counts from the
--   login. DATEDIFF_BIG, because DATEDIFF returns int and overflows (error 535) past 24 days
--   in milliseconds and past 68 years in seconds.
-- * No query text here: text_key names the statement (8 bytes of a hash of sql_handle and
--   offset) and a later statement sends each distinct text once.
-- * status, command and wait_type are ASCII names (SQL Server's own): sent as varchar, one
--   byte a character instead of two; with 5,000 sessions that is a quarter of the sample.
-- * No host, program, login or database names either: 5,000 connections come from a few
--   hundred such combinations. client_key names the combination (8 bytes of a hash) and
--   the next statement sends each once.
-- The sysadmin flag comes from the role catalog (members of a Windows group in sysadmin are
-- not seen) because IS_SRVROLEMEMBER per row may ask the domain about every login.
BEGIN TRY
    SELECT
        CAST(s.session_id AS int) AS session_id,
        CAST(s.is_user_process AS bit) AS is_user_process,
        CAST(COALESCE(r.status, s.status) AS varchar(30)) AS status,
        CAST(r.command AS varchar(32)) AS command,
        CAST(r.wait_type AS varchar(60)) AS wait_type,
        CAST(r.wait_time AS int) AS wait_ms,
        CAST(CASE WHEN (r.blocking_session_id > 0 AND r.blocking_session_id <> r.session_id)
                       OR r.blocking_session_id IN (-2, -3)
                  THEN r.blocking_session_id END AS int) AS blocked_by,
        CAST(COALESCE(r.open_transaction_count, s.open_transaction_count) AS int) AS open_transactions,
        CAST(r.total_elapsed_time AS int) AS elapsed_ms,
        CAST(CASE WHEN r.session_id IS NULL
                  THEN DATEDIFF_BIG(MILLISECOND,
                                    COALESCE(NULLIF(s.last_request_end_time, '19000101'),
                                             NULLIF(s.login_time, '19000101')),
                                    GETDATE()) END AS bigint) AS idle_ms,
        CAST(NULLIF(s.login_time, '19000101') AS datetime) AS login_time,
        CAST(SUBSTRING(HASHBYTES('SHA2_256', CONCAT(s.host_name, NCHAR(31), s.program_name, NCHAR(31),
                                                    s.login_name, NCHAR(31),
                                                    DB_NAME(COALESCE(r.database_id, s.database_id)))), 1, 8)
             AS bigint) AS client_key,
        CAST(CASE WHEN sa.sid IS NULL THEN 0 ELSE 1 END AS bit) AS is_sysadmin,
        CAST(r.requests AS int) AS requests,
        CAST(SUBSTRING(HASHBYTES('SHA2_256', r.sql_handle + CAST(r.statement_start_offset AS binary(4))), 1, 8)
             AS bigint) AS text_key
    FROM sys.dm_exec_sessions AS s
    LEFT JOIN (
        SELECT q.*,
               COUNT(*) OVER (PARTITION BY q.session_id) AS requests,
               ROW_NUMBER() OVER (
                   PARTITION BY q.session_id
                   ORDER BY CASE WHEN (q.blocking_session_id > 0 AND q.blocking_session_id <> q.session_id)
                                      OR q.blocking_session_id IN (-2, -3) THEN 0 ELSE 1 END,
                            q.total_elapsed_time DESC, q.request_id) AS pick
        FROM sys.dm_exec_requests AS q
    ) AS r ON r.session_id = s.session_id AND r.pick = 1
    LEFT JOIN (
        SELECT DISTINCT p.sid
        FROM sys.server_role_members AS rm
        JOIN sys.server_principals AS p ON p.principal_id = rm.member_principal_id
        WHERE rm.role_principal_id = 3 -- sysadmin
    ) AS sa ON sa.sid = s.security_id
    WHERE s.is_user_process = 1 OR r.session_id IS NOT NULL
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'sessions' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
