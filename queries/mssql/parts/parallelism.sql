-- spiral/mssql/parts/parallelism
-- Requests running in parallel, from the tasks each holds
-- (sys.dm_os_tasks: one row per task, and each task holds a worker): when workers run out,
-- this says whether parallel queries took them. sys.dm_exec_requests shows only a parallel
-- request's coordinator, and its dop/parallel_worker_count columns are missing on older
-- builds; the task count is there on every version. With the parallelism settings that
-- decide it. Inside EXEC, like the other sys.configurations read, and in TRY/CATCH: an
-- error loses only these figures.
BEGIN TRY
    EXEC (N'SELECT
    CAST(COUNT_BIG(*) AS bigint) AS parallel_requests,
    CAST(SUM(p.tasks) AS bigint) AS parallel_tasks,
    CAST(MAX(p.tasks) AS bigint) AS max_request_tasks,
    (SELECT CAST(c.value_in_use AS bigint) FROM sys.configurations AS c
     WHERE c.name = N''max degree of parallelism'') AS maxdop_setting,
    (SELECT CAST(c.value_in_use AS bigint) FROM sys.configurations AS c
     WHERE c.name = N''cost threshold for parallelism'') AS cost_threshold_setting
FROM (
    SELECT t.session_id, t.request_id, COUNT_BIG(*) AS tasks
    FROM sys.dm_os_tasks AS t
    WHERE t.session_id IS NOT NULL
    GROUP BY t.session_id, t.request_id
    HAVING COUNT_BIG(*) > 1
) AS p
OPTION (MAXDOP 1);');
END TRY
BEGIN CATCH
    SELECT CAST(N'parallelism' AS nvarchar(30)) AS failed_set,
           CAST(ERROR_NUMBER() AS int) AS error_number,
           CAST(ERROR_MESSAGE() AS nvarchar(400)) AS error_message;
END CATCH;
