-- spiral/mssql/parts/dac_sessions
-- Sessions over the dedicated admin connection, counted on the server. The DAC has one
-- scheduler and a little memory of its own, and Microsoft's DAC documentation asks for no
-- resource-intensive queries there: 5,000 session rows through a join are one. So the
-- sessions are read once into a table variable (one pass, so a session is either listed
-- or counted, never both or neither), and then:
-- * listed one by one, with the columns of parts/sessions.sql (the same decoder reads
--   them): the sessions a rule needs by identity. Blocked and blocking sessions (from the
--   requests and the waiting tasks), open transactions (they hold locks and the log),
--   connections idle at least @idle_over_ms (a leak is judged on who stays), the 20
--   longest-running user requests (the client-timeout culprits), the five biggest memory
--   grant holders, sessions rolling back, and spiral's own;
-- * counted, all the others: one row per (kind, client, status, command, wait type,
--   admin flag, request or not, running longer than @running_ms or not), with how many
--   and the shortest and longest of each age. Splitting at @running_ms and listing the
--   old idle ones means no threshold spiral compares an age against falls inside a
--   group, so counts from groups equal counts from rows.
-- @idle_over_ms and @running_ms are parameters (--idle-over, --client-timeout): the text
-- stays the same, so the server keeps one plan. Same sentinel and MARS handling as
-- parts/sessions.sql (one row per session, DATEDIFF_BIG from 1900-01-01 guarded).
BEGIN TRY
    DECLARE @s TABLE (
        session_id int NOT NULL PRIMARY KEY,
        is_user_process bit NOT NULL,
        has_request bit NOT NULL,
        status varchar(30) NULL,
        command varchar(32) NULL,
        wait_type varchar(60) NULL,
        wait_ms int NULL,
        blocked_by int NULL,
        open_transactions int NULL,
        elapsed_ms int NULL,
        idle_ms bigint NULL,
        login_time datetime NULL,
        client_key bigint NULL,
        is_sysadmin bit NOT NULL,
        requests int NULL,
        listed bit NOT NULL);
    INSERT INTO @s
    SELECT
        s.session_id,
        s.is_user_process,
        CASE WHEN r.session_id IS NULL THEN 0 ELSE 1 END,
        CAST(COALESCE(r.status, s.status) AS varchar(30)),
        CAST(r.command AS varchar(32)),
        CAST(r.wait_type AS varchar(60)),
        CAST(r.wait_time AS int),
        CAST(CASE WHEN (r.blocking_session_id > 0 AND r.blocking_session_id <> r.session_id)
                       OR r.blocking_session_id IN (-2, -3)
                  THEN r.blocking_session_id END AS int),
        CAST(COALESCE(r.open_transaction_count, s.open_transaction_count) AS int),
        CAST(r.total_elapsed_time AS int),
        CASE WHEN r.session_id IS NULL
             THEN DATEDIFF_BIG(MILLISECOND,
                               COALESCE(NULLIF(s.last_request_end_time, '19000101'),
                                        NULLIF(s.login_time, '19000101')),
                               GETDATE()) END,
        CAST(NULLIF(s.login_time, '19000101') AS datetime),
        CAST(SUBSTRING(HASHBYTES('SHA2_256', CONCAT(s.host_name, NCHAR(31), s.program_name, NCHAR(31),
                                                    s.login_name, NCHAR(31),
                                                    DB_NAME(COALESCE(r.database_id, s.database_id)))), 1, 8)
             AS bigint),
        CASE WHEN sa.sid IS NULL THEN 0 ELSE 1 END,
        CAST(r.requests AS int),
        0
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
    UPDATE @s SET listed = 1
    WHERE session_id = @@SPID
       OR blocked_by IS NOT NULL
       OR open_transactions > 0
       OR idle_ms >= @idle_over_ms
       OR status = 'rollback'
       OR command LIKE '%ROLLBACK%';
    -- Blockers, and the waiting tasks' sessions on both ends (a parallel reader's workers
    -- wait on a writer while its request names only itself).
    UPDATE x SET listed = 1
    FROM @s AS x
    JOIN (
        SELECT b.blocked_by AS id FROM @s AS b WHERE b.blocked_by > 0
        UNION
        SELECT wt.session_id FROM sys.dm_os_waiting_tasks AS wt
        WHERE wt.session_id IS NOT NULL AND wt.blocking_session_id <> wt.session_id
          AND (wt.blocking_session_id > 0 OR wt.blocking_session_id IN (-2, -3))
        UNION
        SELECT wt.blocking_session_id FROM sys.dm_os_waiting_tasks AS wt
        WHERE wt.session_id IS NOT NULL AND wt.blocking_session_id > 0
          AND wt.blocking_session_id <> wt.session_id
        UNION
        SELECT t.session_id FROM (
            SELECT TOP (20) l.session_id FROM @s AS l
            WHERE l.has_request = 1 AND l.is_user_process = 1
            ORDER BY l.elapsed_ms DESC, l.session_id) AS t
        UNION
        SELECT g.session_id FROM (
            SELECT TOP (5) mg.session_id FROM sys.dm_exec_query_memory_grants AS mg
            WHERE mg.grant_time IS NOT NULL
            ORDER BY mg.granted_memory_kb DESC) AS g
    ) AS n ON n.id = x.session_id
    OPTION (MAXDOP 1);
    SELECT
        l.session_id, l.is_user_process, l.status, l.command, l.wait_type, l.wait_ms,
        l.blocked_by, l.open_transactions, l.elapsed_ms, l.idle_ms, l.login_time,
        l.client_key, l.is_sysadmin, l.requests
    FROM @s AS l
    WHERE l.listed = 1;
    SELECT
        CAST(COUNT_BIG(*) AS bigint) AS group_count,
        g.is_user_process, g.status, g.command, g.wait_type,
        MIN(g.wait_ms) AS min_wait_ms,
        MAX(g.wait_ms) AS wait_ms,
        CAST(NULL AS int) AS blocked_by,
        CAST(0 AS int) AS open_transactions,
        MIN(g.elapsed_ms) AS min_elapsed_ms,
        MAX(g.elapsed_ms) AS elapsed_ms,
        MIN(g.idle_ms) AS min_idle_ms,
        MAX(g.idle_ms) AS idle_ms,
        CAST(NULL AS datetime) AS login_time,
        g.client_key, g.is_sysadmin
    FROM @s AS g
    WHERE g.listed = 0
    GROUP BY g.is_user_process, g.has_request, g.status, g.command, g.wait_type, g.client_key,
             g.is_sysadmin, CASE WHEN g.elapsed_ms > @running_ms THEN 1 ELSE 0 END
    OPTION (MAXDOP 1);
END TRY
BEGIN CATCH
    SELECT CAST(N'sessions' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
