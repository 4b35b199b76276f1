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
        name: "session_setup",
        sql: include_str!("../queries/postgres/session_setup.sql"),
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
