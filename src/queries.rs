//! The bundled SQL, embedded in the binary: `spiral queries` prints it so an engineer can
//! paste it into psql, mysql or sqlcmd when spiral itself cannot run (no binary on the
//! bastion, a jump host with only the vendor client).

use crate::snapshot::Engine;

pub struct Query {
    pub engine: Engine,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const QUERIES: &[Query] = &[
    Query {
        engine: Engine::Postgres,
        name: "version",
        sql: include_str!("../queries/postgres/version.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "read_only",
        sql: include_str!("../queries/mysql/read_only.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_process",
        sql: include_str!("../queries/mysql/probe_process.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_ps_processlist",
        sql: include_str!("../queries/mysql/probe_ps_processlist.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_ps_lock_waits",
        sql: include_str!("../queries/mysql/probe_ps_lock_waits.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "sample",
        sql: include_str!("../queries/postgres/sample.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "sample_pg12",
        sql: include_str!("../queries/postgres/sample_pg12.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "terminate",
        sql: include_str!("../queries/postgres/terminate.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "cancel",
        sql: include_str!("../queries/postgres/cancel.sql"),
    },
    Query {
        engine: Engine::Postgres,
        name: "session_setup",
        sql: include_str!("../queries/postgres/session_setup.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_connection",
        sql: include_str!("../queries/mysql/kill_connection.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_query",
        sql: include_str!("../queries/mysql/kill_query.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "rds_kill",
        sql: include_str!("../queries/mysql/rds_kill.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "rds_kill_query",
        sql: include_str!("../queries/mysql/rds_kill_query.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "server_info",
        sql: include_str!("../queries/mysql/server_info.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "session_setup_mariadb",
        sql: include_str!("../queries/mysql/session_setup_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "session_setup_mysql",
        sql: include_str!("../queries/mysql/session_setup_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "super_users",
        sql: include_str!("../queries/mysql/super_users.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "admins_mariadb",
        sql: include_str!("../queries/mysql/admins_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "admins_mysql8",
        sql: include_str!("../queries/mysql/admins_mysql8.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_if_mariadb",
        sql: include_str!("../queries/mysql/kill_if_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "kill_check_mysql",
        sql: include_str!("../queries/mysql/kill_check_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "variables_mariadb",
        sql: include_str!("../queries/mysql/variables_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "variables_mysql",
        sql: include_str!("../queries/mysql/variables_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "status_mariadb",
        sql: include_str!("../queries/mysql/status_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "status_mysql",
        sql: include_str!("../queries/mysql/status_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "deadlocks_mysql",
        sql: include_str!("../queries/mysql/deadlocks_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_mariadb",
        sql: include_str!("../queries/mysql/processlist_mariadb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_mysql",
        sql: include_str!("../queries/mysql/processlist_mysql.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "processlist_mysql8",
        sql: include_str!("../queries/mysql/processlist_mysql8.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "innodb_trx",
        sql: include_str!("../queries/mysql/innodb_trx.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "lock_waits_innodb",
        sql: include_str!("../queries/mysql/lock_waits_innodb.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "lock_waits_mysql8",
        sql: include_str!("../queries/mysql/lock_waits_mysql8.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_mdl_ps",
        sql: include_str!("../queries/mysql/probe_mdl_ps.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "probe_mdl_plugin",
        sql: include_str!("../queries/mysql/probe_mdl_plugin.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "mdl_locks_ps",
        sql: include_str!("../queries/mysql/mdl_locks_ps.sql"),
    },
    Query {
        engine: Engine::Mysql,
        name: "mdl_locks_plugin",
        sql: include_str!("../queries/mysql/mdl_locks_plugin.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "kill",
        sql: include_str!("../queries/mssql/kill.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "kill_status",
        sql: include_str!("../queries/mssql/kill_status.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "plan_cache",
        sql: include_str!("../queries/mssql/plan_cache.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample",
        sql: include_str!("../queries/mssql/sample.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_dac",
        sql: include_str!("../queries/mssql/sample_dac.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_limited",
        sql: include_str!("../queries/mssql/sample_limited.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "sample_sessions",
        sql: include_str!("../queries/mssql/sample_sessions.sql"),
    },
    Query {
        engine: Engine::Mssql,
        name: "session_setup",
        sql: include_str!("../queries/mssql/session_setup.sql"),
    },
];

pub fn print(engine: Option<&str>, name: Option<&str>) -> anyhow::Result<u8> {
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
    let selected: Vec<&Query> = QUERIES
        .iter()
        .filter(|q| engine.is_none_or(|e| q.engine == e))
        .filter(|q| name.is_none_or(|n| q.name == n))
        .collect();
    if selected.is_empty() {
        anyhow::bail!(
            "no bundled query {} (run `spiral queries` for the list)",
            crate::sanitize::clean(name.unwrap_or("for that engine"))
        );
    }
    let mut out = String::new();
    if name.is_none() {
        // A listing: names only, so the screen is not flooded with SQL.
        out.push_str("Bundled queries (spiral queries ENGINE/NAME prints one):\n");
        for q in &selected {
            out.push_str(&format!("  {}/{}\n", q.engine, q.name));
        }
    } else {
        for q in &selected {
            out.push_str(&format!(
                "-- {}/{}\n{}\n",
                q.engine,
                q.name,
                q.sql.trim_end()
            ));
        }
    }
    print!("{out}");
    Ok(0)
}
