//! The bundled SQL, embedded in the binary: `spiral queries` prints it so an engineer can
//! paste it into psql, mysql or sqlcmd when spiral itself cannot run (no binary on the
//! bastion, a jump host with only the vendor client).

use crate::model::snapshot::Engine;

pub struct Query {
    pub engine: Engine,
    pub name: &'static str,
    /// One line for the listing.
    pub purpose: &'static str,
    /// Written for a person at a client prompt (readable columns, a row per session),
    /// rather than one of the statements spiral itself sends.
    pub for_people: bool,
    pub sql: &'static str,
}

pub const QUERIES: &[Query] = &[
    Query {
        engine: Engine::Postgres,
        name: "sessions",
        purpose: "every client session: user, client, state, age, statement",
        for_people: true,
        sql: include_str!("../queries/postgres/sessions.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "blockers",
        purpose: "who blocks whom, and whether the blocker leads the chain",
        for_people: true,
        sql: include_str!("../queries/postgres/blockers.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "waits",
        purpose: "what busy sessions wait on now, most common first",
        for_people: true,
        sql: include_str!("../queries/postgres/waits.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "sessions",
        purpose: "every client session: user, client, state, age, statement",
        for_people: true,
        sql: include_str!("../queries/mysql/sessions.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "blockers",
        purpose: "who blocks whom, and whether the blocker leads the chain",
        for_people: true,
        sql: include_str!("../queries/mysql/blockers.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "waits",
        purpose: "what busy sessions wait on now, most common first",
        for_people: true,
        sql: include_str!("../queries/mysql/waits.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sessions",
        purpose: "every client session: user, client, state, age, statement",
        for_people: true,
        sql: include_str!("../queries/mssql/sessions.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "blockers",
        purpose: "who blocks whom, and whether the blocker leads the chain",
        for_people: true,
        sql: include_str!("../queries/mssql/blockers.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "waits",
        purpose: "what busy sessions wait on now, most common first",
        for_people: true,
        sql: include_str!("../queries/mssql/waits.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "version",
        purpose: "the server's version, to pick the sample statement",
        for_people: false,
        sql: include_str!("../queries/postgres/version.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "read_only",
        purpose: "whether the server is a read-only replica",
        for_people: false,
        sql: include_str!("../queries/mysql/read_only.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_process",
        purpose: "whether this user may see other connections (PROCESS)",
        for_people: false,
        sql: include_str!("../queries/mysql/probe_process.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_ps_processlist",
        purpose: "whether performance_schema.processlist is readable (MySQL 8)",
        for_people: false,
        sql: include_str!("../queries/mysql/probe_ps_processlist.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_ps_lock_waits",
        purpose: "whether performance_schema.data_lock_waits is readable (MySQL 8)",
        for_people: false,
        sql: include_str!("../queries/mysql/probe_ps_lock_waits.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "sample",
        purpose: "the sample spiral takes: a row per shape of session, pids and times as arrays (PostgreSQL 14+)",
        for_people: false,
        sql: include_str!("../queries/postgres/sample.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "sample_pg12",
        purpose: "the same sample for PostgreSQL 12 and 13",
        for_people: false,
        sql: include_str!("../queries/postgres/sample_pg12.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "terminate",
        purpose: "ends one session, checking it is still the same connection",
        for_people: false,
        sql: include_str!("../queries/postgres/terminate.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "terminate_batch",
        purpose: "ends a batch of sessions, re-checking each is still the same connection",
        for_people: false,
        sql: include_str!("../queries/postgres/terminate_batch.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "cancel",
        purpose: "cancels one statement, checking it is still the same connection",
        for_people: false,
        sql: include_str!("../queries/postgres/cancel.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "session_setup",
        purpose: "spiral's own session limits (statement and lock timeouts) and plan caching",
        for_people: false,
        sql: include_str!("../queries/postgres/session_setup.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_connection",
        purpose: "ends one connection",
        for_people: false,
        sql: include_str!("../queries/mysql/kill_connection.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_query",
        purpose: "cancels one connection's statement",
        for_people: false,
        sql: include_str!("../queries/mysql/kill_query.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "rds_kill",
        purpose: "ends one connection on RDS",
        for_people: false,
        sql: include_str!("../queries/mysql/rds_kill.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "rds_kill_query",
        purpose: "cancels one connection's statement on RDS",
        for_people: false,
        sql: include_str!("../queries/mysql/rds_kill_query.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "server_info",
        purpose: "version, flavour and this connection's id",
        for_people: false,
        sql: include_str!("../queries/mysql/server_info.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "session_setup_mariadb",
        purpose: "spiral's own session limits, MariaDB",
        for_people: false,
        sql: include_str!("../queries/mysql/session_setup_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "session_setup_mysql",
        purpose: "spiral's own session limits, MySQL",
        for_people: false,
        sql: include_str!("../queries/mysql/session_setup_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "super_users",
        purpose: "which users are admins (never killed without --include-admins)",
        for_people: false,
        sql: include_str!("../queries/mysql/super_users.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "admins_mariadb",
        purpose: "which users are admins through SUPER, CONNECTION ADMIN or a role (MariaDB 10.4+)",
        for_people: false,
        sql: include_str!("../queries/mysql/admins_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "admins_mysql8",
        purpose: "which users are admins through SUPER, CONNECTION_ADMIN, SYSTEM_USER or a role (MySQL 8)",
        for_people: false,
        sql: include_str!("../queries/mysql/admins_mysql8.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_if_mariadb",
        purpose: "ends a thread only if it is still the one selected and still in its state (MariaDB)",
        for_people: false,
        sql: include_str!("../queries/mysql/kill_if_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_check_mysql",
        purpose: "re-checks a thread's identity and state just before KILL (MySQL)",
        for_people: false,
        sql: include_str!("../queries/mysql/kill_check_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "clock",
        purpose: "part of the sample: the server's clock",
        for_people: false,
        sql: include_str!("../queries/mysql/clock.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "variables_mariadb",
        purpose: "settings, MariaDB (at connect and every minute)",
        for_people: false,
        sql: include_str!("../queries/mysql/variables_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "variables_mysql",
        purpose: "settings, MySQL (at connect and every minute)",
        for_people: false,
        sql: include_str!("../queries/mysql/variables_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "status_mariadb",
        purpose: "part of the sample: counters, MariaDB",
        for_people: false,
        sql: include_str!("../queries/mysql/status_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "status_mysql",
        purpose: "part of the sample: counters, MySQL",
        for_people: false,
        sql: include_str!("../queries/mysql/status_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "deadlocks_mysql",
        purpose: "part of the sample: the deadlock counter, MySQL 8",
        for_people: false,
        sql: include_str!("../queries/mysql/deadlocks_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_mariadb",
        purpose: "part of kill's read of the sessions: connections, MariaDB",
        for_people: false,
        sql: include_str!("../queries/mysql/processlist_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_show",
        purpose: "the sample's first statement: connections, MariaDB",
        for_people: false,
        sql: include_str!("../queries/mysql/processlist_show.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "mdl_texts_mariadb",
        purpose: "statements cut by SHOW PROCESSLIST, read while someone waits for a metadata lock, MariaDB",
        for_people: false,
        sql: include_str!("../queries/mysql/mdl_texts_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_mysql",
        purpose: "part of the sample: connections, MySQL 5.7",
        for_people: false,
        sql: include_str!("../queries/mysql/processlist_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_mysql8",
        purpose: "part of the sample: connections, MySQL 8",
        for_people: false,
        sql: include_str!("../queries/mysql/processlist_mysql8.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "innodb_trx",
        purpose: "part of the sample: open InnoDB transactions",
        for_people: false,
        sql: include_str!("../queries/mysql/innodb_trx.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "lock_waits_innodb",
        purpose: "part of the sample: row-lock waits, MariaDB and MySQL 5.7",
        for_people: false,
        sql: include_str!("../queries/mysql/lock_waits_innodb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "lock_waits_mysql8",
        purpose: "part of the sample: row-lock waits, MySQL 8",
        for_people: false,
        sql: include_str!("../queries/mysql/lock_waits_mysql8.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_mdl_ps",
        purpose: "whether performance_schema records metadata locks",
        for_people: false,
        sql: include_str!("../queries/mysql/probe_mdl_ps.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_mdl_plugin",
        purpose: "whether MariaDB's metadata_lock_info plugin is loaded",
        for_people: false,
        sql: include_str!("../queries/mysql/probe_mdl_plugin.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "mdl_locks_ps",
        purpose: "metadata locks held and waited for (performance_schema)",
        for_people: false,
        sql: include_str!("../queries/mysql/mdl_locks_ps.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_wait_summary",
        purpose: "whether performance_schema's wait summary is readable",
        for_people: false,
        sql: include_str!("../queries/mysql/probe_wait_summary.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "wait_summary",
        purpose: "completed waits by event since startup (performance_schema ON)",
        for_people: false,
        sql: include_str!("../queries/mysql/wait_summary.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "mdl_locks_plugin",
        purpose: "metadata locks held (MariaDB's METADATA_LOCK_INFO)",
        for_people: false,
        sql: include_str!("../queries/mysql/mdl_locks_plugin.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "kill",
        purpose: "ends one session, checking it is still the same login",
        for_people: false,
        sql: include_str!("../queries/mssql/kill.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "kill_status",
        purpose: "after a KILL that timed out: is the session gone or rolling back",
        for_people: false,
        sql: include_str!("../queries/mssql/kill_status.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "plan_cache",
        purpose: "the plan cache by object type, stubs apart (at most once a minute)",
        for_people: false,
        sql: include_str!("../queries/mssql/plan_cache.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample",
        purpose: "the one batch spiral sends per sample (several result sets)",
        for_people: false,
        sql: include_str!("../queries/mssql/sample.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_dac",
        purpose: "the smaller batch sent on the dedicated admin connection",
        for_people: false,
        sql: include_str!("../queries/mssql/sample_dac.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_dac_sessions",
        purpose: "every session over the dedicated admin connection, for kill",
        for_people: false,
        sql: include_str!("../queries/mssql/sample_dac_sessions.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_limited",
        purpose: "the batch for a login without VIEW SERVER STATE",
        for_people: false,
        sql: include_str!("../queries/mssql/sample_limited.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_sessions",
        purpose: "the sessions alone, for kill's choice and re-checks",
        for_people: false,
        sql: include_str!("../queries/mssql/sample_sessions.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sent_reset",
        purpose: "forgets which texts and clients were sent, after a lost result set",
        for_people: false,
        sql: include_str!("../queries/mssql/sent_reset.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "session_setup",
        purpose: "spiral's own session settings (lock timeout, no count)",
        for_people: false,
        sql: include_str!("../queries/mssql/session_setup.sql"),
    },
];

/// The parts PostgreSQL's sample statements are composed of (queries/postgres/parts): the
/// sample files name them on a `-- parts:` line (see `compose`).
pub const PG_PARTS: &[Query] = &[
    Query {
        engine: Engine::Postgres,
        name: "part_clock",
        purpose: "sample part: the server's clock, read once after the backends",
        for_people: false,
        sql: include_str!("../queries/postgres/parts/clock.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "part_shapes",
        purpose: "sample part: backends grouped by shape, pids and times as arrays",
        for_people: false,
        sql: include_str!("../queries/postgres/parts/shapes.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "part_counters",
        purpose: "sample part: commits, rollbacks, deadlocks and session counters (14+)",
        for_people: false,
        sql: include_str!("../queries/postgres/parts/counters.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "part_counters_pg12",
        purpose: "sample part: commits, rollbacks and deadlocks (12 and 13)",
        for_people: false,
        sql: include_str!("../queries/postgres/parts/counters_pg12.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "part_rows",
        purpose: "sample part: a row per shape and the header row (settings, horizon, counters)",
        for_people: false,
        sql: include_str!("../queries/postgres/parts/rows.sql"),
    },
];

/// The statements SQL Server batches are composed of (queries/mssql/parts): each batch file
/// names its parts on a `-- parts:` line, and the sampler joins them once at startup. Kept
/// apart from `QUERIES` so the sampler can look a part up by name; `spiral queries` lists both.
pub const MSSQL_PARTS: &[Query] = &[
    Query {
        engine: Engine::Mssql,
        name: "part_facts",
        purpose: "sample part: version, edition, this session, clock, whether other sessions are visible",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/facts.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_config",
        purpose: "sample part: max worker threads, optimize for ad hoc workloads, user connections",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/config.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_sessions",
        purpose: "sample part: one row per session, names and text by key",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/sessions.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_dac_cuts",
        purpose: "sample part: the ages the DAC sample splits its session groups at (parameters)",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/dac_cuts.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_dac_sessions",
        purpose: "sample part: sessions over the DAC, listed where needed by identity, counted otherwise",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/dac_sessions.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_clients",
        purpose: "sample part: each host/program/login/database combination once",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/clients.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_task_blockers",
        purpose: "sample part: the real blocker of waiting tasks (parallel workers)",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/task_blockers.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_query_text",
        purpose: "sample part: each statement's text once, under a 5 ms lock timeout",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/query_text.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_orphaned_uow",
        purpose: "sample part: the unit of work of an orphaned distributed transaction",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/orphaned_uow.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_workers",
        purpose: "sample part: worker threads, queued tasks, THREADPOOL waiters",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/workers.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_compile_gate",
        purpose: "sample part: the compile gate (RESOURCE_SEMAPHORE_QUERY_COMPILE)",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/compile_gate.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_grant_pools",
        purpose: "sample part: memory grant semaphores per resource pool",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/grant_pools.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_memory_grants",
        purpose: "sample part: grants queued and held, the biggest holders",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/memory_grants.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_wait_stats",
        purpose: "sample part: completed waits since startup, diffed between samples",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/wait_stats.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_parallelism",
        purpose: "sample part: requests running in parallel (tasks per request), MAXDOP and cost threshold",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/parallelism.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_tempdb_latches",
        purpose: "sample part: tasks waiting on tempdb page latches, by page",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/tempdb_latches.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_counters",
        purpose: "sample part: compilations, batches, logins, connections, deadlocks",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/counters.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_cache_size",
        purpose: "sample part: the plan cache size from the memory cache counters",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/cache_size.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_databases",
        purpose: "sample part: databases, Query Store on, read committed snapshot",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/databases.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_query_store",
        purpose: "sample part: Query Store actual state and capture mode per database",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/query_store.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "part_horizon",
        purpose: "sample part: logs waiting to be reused, the oldest open transactions",
        for_people: false,
        sql: include_str!("../queries/mssql/parts/horizon.sql"),
    },
];

pub const QUERIES_SCHEMA: &str = "spiral.queries/v1";

/// `spiral queries [--engine E] [NAME]`: a listing grouped by engine, one query's SQL, or
/// the same as JSON.
pub fn render(
    engine: Option<&str>,
    name: Option<&str>,
    format: crate::cli::Format,
) -> anyhow::Result<String> {
    let engine: Option<Engine> = engine
        .map(str::parse)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    // "postgres/sample" names both at once.
    let (engine, name) = match name.and_then(|n| n.split_once('/')) {
        Some((e, n)) => (Some(e.parse().map_err(anyhow::Error::msg)?), Some(n)),
        // `spiral queries mysql`: an engine given where a name was expected.
        None if engine.is_none() && name.is_some_and(|n| n.parse::<Engine>().is_ok()) => {
            (name.and_then(|n| n.parse().ok()), None)
        }
        None => (engine, name),
    };
    let mut selected: Vec<&Query> = QUERIES
        .iter()
        .chain(PG_PARTS)
        .chain(MSSQL_PARTS)
        .filter(|q| engine.is_none_or(|e| q.engine == e))
        .filter(|q| name.is_none_or(|n| q.name == n))
        .collect();
    if selected.is_empty() {
        anyhow::bail!(
            "no bundled query {} (run `spiral queries` for the list)",
            crate::sanitize::clean(name.unwrap_or("for that engine"))
        );
    }
    // By engine, the statements for people first: that is what a person pastes.
    selected.sort_by_key(|q| (engine_order(q.engine), !q.for_people));
    if format == crate::cli::Format::Json {
        let list: Vec<serde_json::Value> = selected
            .iter()
            .map(|q| {
                serde_json::json!({
                    "engine": q.engine.name(),
                    "name": q.name,
                    "purpose": q.purpose,
                    "for_people": q.for_people,
                    "client": client(q.engine),
                    "sql": q.sql,
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(
            &serde_json::json!({ "schema": QUERIES_SCHEMA, "queries": list }),
        )?);
    }
    let mut out = String::new();
    if name.is_none() {
        // A listing: names only, so the screen is not flooded with SQL.
        let width = selected.iter().map(|q| q.name.len()).max().unwrap_or(0);
        let mut last: Option<(Engine, bool)> = None;
        for q in &selected {
            if last.map(|(e, _)| e) != Some(q.engine) {
                out.push_str(&format!(
                    "{}{} (paste into {}; `spiral queries {}/NAME` prints one)\n",
                    if last.is_some() { "\n" } else { "" },
                    q.engine.product(),
                    client(q.engine),
                    q.engine.name()
                ));
            }
            if last != Some((q.engine, q.for_people)) {
                out.push_str(if q.for_people {
                    "  To read by hand:\n"
                } else {
                    "  What spiral sends:\n"
                });
            }
            last = Some((q.engine, q.for_people));
            let hang = " ".repeat(4 + width + 2);
            let purpose = crate::format::wrap(q.purpose, crate::format::width(), &hang);
            out.push_str(&format!(
                "    {:<width$}  {}\n",
                q.name,
                purpose.trim_start()
            ));
        }
    } else {
        for q in &selected {
            out.push_str(&format!(
                "-- {}/{}: {}\n{}\n",
                q.engine.name(),
                q.name,
                q.purpose,
                q.sql.trim_end()
            ));
        }
    }
    Ok(out)
}

fn engine_order(e: Engine) -> u8 {
    match e {
        Engine::Postgres => 0,
        Engine::Mysql => 1,
        Engine::Mssql => 2,
    }
}

/// The vendor client a person would paste into.
fn client(e: Engine) -> &'static str {
    match e {
        Engine::Postgres => "psql",
        Engine::Mysql => "mysql",
        Engine::Mssql => "sqlcmd or SSMS",
    }
}

/// The part names a composed statement's file lists on its `-- parts:` line, in order.
pub fn part_names(batch: &str) -> Vec<&str> {
    batch
        .lines()
        .find_map(|l| l.strip_prefix("-- parts:"))
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The bundled SQL of one part (`part_NAME` in `parts`).
pub fn part(parts: &[Query], name: &str) -> Option<&'static str> {
    parts
        .iter()
        .find(|q| q.name.strip_prefix("part_") == Some(name))
        .map(|q| q.sql)
}

/// One statement (or batch) as sent: its file's first line (its name, for the server's
/// traces and statistics), then each part it lists without comments. The text several
/// statements share lives in one file each, so they cannot drift apart; callers build
/// the text once, so it is byte-identical on every sample. A name with no part file is
/// caught by the engines' tests, never reached at run time.
pub fn compose(batch: &str, parts: &[Query]) -> String {
    let mut out: Vec<String> = batch
        .lines()
        .next()
        .map(str::to_string)
        .into_iter()
        .collect();
    for name in part_names(batch) {
        if let Some(sql) = part(parts, name) {
            // Each part's own first line is a comment too: nothing of it is lost to the
            // server but the name.
            let body = without_comment_lines(sql);
            out.extend(body.lines().skip(1).map(str::to_string));
        }
    }
    out.join("\n")
}

/// The bundled SQL without its comment-only and blank lines: the comments are for people
/// reading the files (and `spiral queries`), and would otherwise be much of every
/// sample's bytes. The first line stays: it names the statement ("-- spiral/mssql/sample"),
/// so a DBA can tell spiral's statement apart in a trace or in the server's statistics.
pub fn without_comment_lines(sql: &str) -> String {
    let mut lines = sql.lines();
    let mut out: Vec<&str> = lines.next().into_iter().collect();
    // Indentation goes too: it travels on every sample, and the server does not need it.
    out.extend(
        lines
            .map(str::trim_start)
            .filter(|t| !t.is_empty() && !t.starts_with("--")),
    );
    out.join("\n")
}
