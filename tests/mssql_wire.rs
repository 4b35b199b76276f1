//! The SQL Server engine end to end: the real spiral binary, with the real tiberius client
//! inside it, against a wire-level TDS server (tests/support/tds_server.rs) that answers
//! spiral's batches with recorded result sets. No SQL Server can run where these tests run;
//! the TDS server speaks just enough of the protocol for the client not to know.
//!
//! The server only does unencrypted TDS, so every run passes `--encrypt off`. Nothing here
//! asserts on wall-clock time: round trips and bytes come from the server's counters.

#[allow(dead_code)]
#[path = "support/tds_server.rs"]
mod tds_server;

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{NaiveDateTime, TimeDelta, Utc};
use support::{decode, run, run_json, severity, spiral, verdict_ids};
use tds_server::{
    Behaviour, ColType, Column, Login, Reply, ResultSet, StatsSnapshot, TdsServer, Value, col,
    start_browser_responder,
};

const PASSWORD: &str = "Sup3r-s3cret!pw";

/// The first line of each bundled batch names it (queries/mssql/*.sql).
fn batch_name(sql: &str) -> &str {
    sql.lines()
        .next()
        .and_then(|l| l.strip_prefix("-- spiral/mssql/"))
        .unwrap_or("")
        .trim()
}

fn target(server: &TdsServer) -> String {
    format!(
        "Server=tcp:127.0.0.1,{};User Id=spiral;Password={PASSWORD};Database=master",
        server.port()
    )
}

// ---------------------------------------------------------------------------
// Result sets, column for column as queries/mssql/sample.sql returns them
// ---------------------------------------------------------------------------

fn text(s: &str) -> Value {
    Value::text(s)
}
fn opt_text(s: Option<&str>) -> Value {
    Value::NVarChar(s.map(str::to_string))
}
fn int(v: i32) -> Value {
    Value::Int(Some(v))
}
fn big(v: i64) -> Value {
    Value::BigInt(Some(v))
}
fn bit(v: bool) -> Value {
    Value::Bit(Some(v))
}
fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

fn facts(version: &str, version_text: &str, sees_all: i32) -> ResultSet {
    facts_of(version, version_text, sees_all, 3, None)
}

/// The facts row; `engine_edition` 5 is Azure SQL Database; `instance` None is a default
/// instance (SERVERPROPERTY('InstanceName') is NULL there).
fn facts_of(
    version: &str,
    version_text: &str,
    sees_all: i32,
    engine_edition: i32,
    instance: Option<&str>,
) -> ResultSet {
    ResultSet::new(
        vec![
            col("product_version", ColType::NVarChar),
            col("version_text", ColType::NVarChar),
            col("edition", ColType::NVarChar),
            col("engine_edition", ColType::Int),
            col("own_session_id", ColType::Int),
            col("login_name", ColType::NVarChar),
            col("taken_at_utc", ColType::DateTime),
            col("utc_offset_min", ColType::Int),
            col("sees_all", ColType::Int),
            col("server_name", ColType::NVarChar),
            col("instance_name", ColType::NVarChar),
        ],
        vec![vec![
            text(version),
            text(version_text),
            text("Enterprise Edition: Core-based Licensing (64-bit)"),
            int(engine_edition),
            int(OWN_SESSION),
            text("spiral"),
            Value::DateTime(Some(now())),
            int(0),
            int(sees_all),
            text(&match instance {
                Some(i) => format!("DB01\\{i}"),
                None => "DB01".to_string(),
            }),
            opt_text(instance),
        ]],
    )
}

const SQL_2019: &str = "15.0.4261.1";
const SQL_2019_TEXT: &str = "Microsoft SQL Server 2019 (RTM-CU18) (KB5017593) - 15.0.4261.1 (X64) \n\tSep 12 2022 15:07:06 \n\tCopyright (C) 2019 Microsoft Corporation\n\tEnterprise Edition: Core-based Licensing (64-bit) on Windows Server 2019 Datacenter 10.0 <X64> (Build 17763: ) (Hypervisor)\n";

fn config(adhoc: bool) -> ResultSet {
    let row = |name: &str, v: i64| vec![text(name), big(v)];
    ResultSet::new(
        vec![
            col("config_name", ColType::NVarChar),
            col("config_value", ColType::BigInt),
        ],
        vec![
            row("max worker threads", 0),
            row("optimize for ad hoc workloads", i64::from(adhoc)),
            row("user connections", 0),
        ],
    )
}

/// One row of the sessions result set.
#[derive(Clone)]
struct S {
    id: i32,
    user_process: bool,
    status: &'static str,
    command: Option<&'static str>,
    wait: Option<(&'static str, i32)>,
    blocked_by: Option<i32>,
    open_tran: i32,
    elapsed_ms: Option<i32>,
    idle_ms: Option<i64>,
    host: String,
    app: &'static str,
    login: &'static str,
    text: Option<&'static str>,
    /// Requests of the session (MARS: more than one).
    requests: i32,
}

impl S {
    fn sleeping(id: i32, host: &str, app: &'static str, login: &'static str, idle_ms: i64) -> S {
        S {
            id,
            user_process: true,
            status: "sleeping",
            command: None,
            wait: None,
            blocked_by: None,
            open_tran: 0,
            elapsed_ms: None,
            idle_ms: Some(idle_ms),
            host: host.to_string(),
            app,
            login,
            text: None,
            requests: 1,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn active(
        id: i32,
        host: &str,
        app: &'static str,
        login: &'static str,
        status: &'static str,
        command: &'static str,
        wait: Option<(&'static str, i32)>,
        elapsed_ms: i32,
        text: &'static str,
    ) -> S {
        S {
            id,
            user_process: true,
            status,
            command: Some(command),
            wait,
            blocked_by: None,
            open_tran: 0,
            elapsed_ms: Some(elapsed_ms),
            idle_ms: None,
            host: host.to_string(),
            app,
            login,
            text: Some(text),
            requests: 1,
        }
    }
}

const OWN_SESSION: i32 = 55;

fn session_columns() -> Vec<Column> {
    vec![
        col("session_id", ColType::Int),
        col("is_user_process", ColType::Bit),
        col("status", ColType::VarChar),
        col("command", ColType::VarChar),
        col("wait_type", ColType::VarChar),
        col("wait_ms", ColType::Int),
        col("blocked_by", ColType::Int),
        col("open_transactions", ColType::Int),
        col("elapsed_ms", ColType::Int),
        col("idle_ms", ColType::BigInt),
        col("login_time", ColType::DateTime),
        col("client_key", ColType::BigInt),
        col("is_sysadmin", ColType::Bit),
        col("requests", ColType::Int),
        col("text_key", ColType::BigInt),
    ]
}

/// The database every recorded session is in.
const DATABASE: &str = "shopry_shopifyproductaddons";

/// The key the batch gives a client combination (host, program, login, database).
fn client_key(s: &S) -> i64 {
    text_key(&format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{DATABASE}",
        s.host, s.app, s.login
    ))
}

/// The client-names result set: each combination once.
fn clients(rows: &[S]) -> ResultSet {
    let mut seen = std::collections::BTreeSet::new();
    let rows = rows
        .iter()
        .filter(|s| seen.insert(client_key(s)))
        .map(|s| {
            vec![
                big(client_key(s)),
                text(&s.host),
                text(s.app),
                text(s.login),
                text(DATABASE),
            ]
        })
        .collect();
    ResultSet::new(
        vec![
            col("client_key", ColType::BigInt),
            col("host_name", ColType::NVarChar),
            col("program_name", ColType::NVarChar),
            col("session_login", ColType::NVarChar),
            col("session_database", ColType::NVarChar),
        ],
        rows,
    )
}

/// The key the batch gives a statement's text (a hash of sql_handle and offset there).
fn text_key(sql: &str) -> i64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sql.hash(&mut h);
    h.finish() as i64
}

/// The query-text result set: each distinct text of the sessions once.
fn texts(rows: &[S]) -> ResultSet {
    let mut seen = std::collections::BTreeSet::new();
    let rows = rows
        .iter()
        .filter_map(|s| s.text)
        .filter(|t| seen.insert(*t))
        .map(|t| vec![big(text_key(t)), text(t)])
        .collect();
    ResultSet::new(
        vec![
            col("text_key", ColType::BigInt),
            col("query_text", ColType::NVarChar),
        ],
        rows,
    )
}

/// The row a CATCH block of the batch sends for a statement that failed.
fn failed_set(set: &str, number: i32, message: &str) -> ResultSet {
    ResultSet::new(
        vec![
            col("failed_set", ColType::NVarChar),
            col("error_number", ColType::Int),
            col("error_message", ColType::NVarChar),
        ],
        vec![vec![text(set), int(number), text(message)]],
    )
}

/// The sessions result set: one row per session, each statement named by its text key.
fn sessions(rows: &[S]) -> ResultSet {
    // A fixed login time, as a real server reports for a connection that stays open: kill's
    // re-check compares it between samples.
    static LOGIN: std::sync::OnceLock<NaiveDateTime> = std::sync::OnceLock::new();
    let login_time = *LOGIN.get_or_init(|| now() - TimeDelta::hours(3));
    let rows = rows
        .iter()
        .map(|s| {
            vec![
                int(s.id),
                bit(s.user_process),
                text(s.status),
                opt_text(s.command),
                opt_text(s.wait.map(|w| w.0)),
                Value::Int(s.wait.map(|w| w.1)),
                Value::Int(s.blocked_by),
                int(s.open_tran),
                Value::Int(s.elapsed_ms),
                Value::BigInt(s.idle_ms),
                Value::DateTime(Some(login_time)),
                big(client_key(s)),
                bit(s.login == "sa"),
                Value::Int(s.command.map(|_| s.requests)),
                Value::BigInt(s.text.map(text_key)),
            ]
        })
        .collect();
    ResultSet::new(session_columns(), rows)
}

/// What the DAC sample's sessions statement (queries/mssql/parts/dac_sessions.sql)
/// returns for these rows, done as its T-SQL does it: the sessions a rule needs by identity
/// listed (same columns as `sessions`, without text keys: no text over the DAC), every
/// other one counted in a group. `idle_over_ms` and `running_ms` are the batch's two
/// parameters; the test server cannot read them, so they are spiral's defaults.
fn dac_sessions(
    rows: &[S],
    task_blockers: &[(i32, i32, &str, i32)],
    idle_over_ms: i64,
    running_ms: i32,
) -> (ResultSet, ResultSet) {
    use std::collections::{BTreeMap, BTreeSet};
    let mut listed: BTreeSet<i32> = BTreeSet::new();
    for s in rows {
        let rolling_back = s.status == "rollback"
            || s.command
                .is_some_and(|c| c.to_ascii_uppercase().contains("ROLLBACK"));
        if s.id == OWN_SESSION
            || s.blocked_by.is_some()
            || s.open_tran > 0
            || s.idle_ms.is_some_and(|i| i >= idle_over_ms)
            || rolling_back
        {
            listed.insert(s.id);
        }
        if let Some(b) = s.blocked_by.filter(|b| *b > 0) {
            listed.insert(b);
        }
    }
    for &(waiter, by, _, _) in task_blockers {
        listed.insert(waiter);
        if by > 0 {
            listed.insert(by);
        }
    }
    let mut longest: Vec<&S> = rows
        .iter()
        .filter(|s| s.user_process && s.command.is_some())
        .collect();
    longest.sort_by(|a, b| b.elapsed_ms.cmp(&a.elapsed_ms).then(a.id.cmp(&b.id)));
    listed.extend(longest.iter().take(20).map(|s| s.id));
    let listed_rows: Vec<S> = rows
        .iter()
        .filter(|s| listed.contains(&s.id))
        .cloned()
        .collect();
    let mut sessions_set = sessions(&listed_rows);
    sessions_set.columns.pop();
    for r in &mut sessions_set.rows {
        r.pop();
    }
    type Key = (
        bool,
        bool,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
        i64,
        bool,
        bool,
    );
    #[derive(Default)]
    struct Ages {
        n: i64,
        wait: Option<(i32, i32)>,
        elapsed: Option<(i32, i32)>,
        idle: Option<(i64, i64)>,
    }
    fn widen<T: Ord + Copy>(span: &mut Option<(T, T)>, v: Option<T>) {
        if let Some(v) = v {
            *span = Some(match *span {
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
                None => (v, v),
            });
        }
    }
    let mut groups: BTreeMap<Key, Ages> = BTreeMap::new();
    for s in rows.iter().filter(|s| !listed.contains(&s.id)) {
        let key = (
            s.user_process,
            s.command.is_some(),
            s.status,
            s.command,
            s.wait.map(|w| w.0),
            client_key(s),
            s.login == "sa",
            s.elapsed_ms.is_some_and(|e| e > running_ms),
        );
        let a = groups.entry(key).or_default();
        a.n += 1;
        widen(&mut a.wait, s.wait.map(|w| w.1));
        widen(&mut a.elapsed, s.elapsed_ms);
        widen(&mut a.idle, s.idle_ms);
    }
    let group_rows = groups
        .into_iter()
        .map(|((user, _, status, command, wait, key, sa, _), a)| {
            vec![
                big(a.n),
                bit(user),
                text(status),
                opt_text(command),
                opt_text(wait),
                Value::Int(a.wait.map(|w| w.0)),
                Value::Int(a.wait.map(|w| w.1)),
                Value::Int(None),
                int(0),
                Value::Int(a.elapsed.map(|e| e.0)),
                Value::Int(a.elapsed.map(|e| e.1)),
                Value::BigInt(a.idle.map(|i| i.0)),
                Value::BigInt(a.idle.map(|i| i.1)),
                Value::DateTime(None),
                big(key),
                bit(sa),
            ]
        })
        .collect();
    let group_set = ResultSet::new(
        vec![
            col("group_count", ColType::BigInt),
            col("is_user_process", ColType::Bit),
            col("status", ColType::VarChar),
            col("command", ColType::VarChar),
            col("wait_type", ColType::VarChar),
            col("min_wait_ms", ColType::Int),
            col("wait_ms", ColType::Int),
            col("blocked_by", ColType::Int),
            col("open_transactions", ColType::Int),
            col("min_elapsed_ms", ColType::Int),
            col("elapsed_ms", ColType::Int),
            col("min_idle_ms", ColType::BigInt),
            col("idle_ms", ColType::BigInt),
            col("login_time", ColType::DateTime),
            col("client_key", ColType::BigInt),
            col("is_sysadmin", ColType::Bit),
        ],
        group_rows,
    );
    (sessions_set, group_set)
}

#[derive(Clone, Copy)]
struct WorkerFigures {
    queued: i64,
    active: i64,
    current: i64,
    runnable: i64,
    threadpool: i64,
    max: i32,
    cpus: i32,
}

fn workers(w: WorkerFigures) -> ResultSet {
    ResultSet::new(
        vec![
            col("queued_tasks", ColType::BigInt),
            col("active_workers", ColType::BigInt),
            col("current_workers", ColType::BigInt),
            col("runnable_tasks", ColType::BigInt),
            col("threadpool_waiters", ColType::BigInt),
            col("max_workers", ColType::Int),
            col("cpu_count", ColType::Int),
        ],
        vec![vec![
            big(w.queued),
            big(w.active),
            big(w.current),
            big(w.runnable),
            big(w.threadpool),
            int(w.max),
            int(w.cpus),
        ]],
    )
}

fn gateways(waiters: i64, active: i64, limit: i64) -> ResultSet {
    ResultSet::new(
        vec![
            col("gateway_waiters", ColType::BigInt),
            col("gateway_active", ColType::BigInt),
            col("gateway_limit", ColType::BigInt),
        ],
        vec![vec![big(waiters), big(active), big(limit)]],
    )
}

/// Memory grants as the two grant statements return them.
#[derive(Clone, Default)]
struct GrantFigures {
    /// (pool_id, pool name, waiter_count, timeout_error_count, granted kb, target kb), one
    /// per resource semaphore: the regular and the small-query one of each pool.
    semaphores: Vec<(i32, &'static str, i64, i64, i64, i64)>,
    waiters: i64,
    holders: i64,
    longest_wait_ms: Option<i64>,
    /// (session_id, granted kb, requested kb, dop), biggest first.
    largest: Vec<(i32, i64, i64, i32)>,
}

fn grant_pools(g: &GrantFigures) -> ResultSet {
    ResultSet::new(
        vec![
            col("grant_pool_id", ColType::Int),
            col("grant_pool_name", ColType::NVarChar),
            col("pool_grant_waiters", ColType::BigInt),
            col("pool_grant_timeouts", ColType::BigInt),
            col("pool_granted_kb", ColType::BigInt),
            col("pool_target_kb", ColType::BigInt),
        ],
        g.semaphores
            .iter()
            .map(|&(id, name, waiters, timeouts, granted, target)| {
                vec![
                    int(id),
                    text(name),
                    big(waiters),
                    big(timeouts),
                    big(granted),
                    big(target),
                ]
            })
            .collect(),
    )
}

/// The counts on every row, one row per big holder (LEFT JOIN: one row with NULL holder
/// columns when nobody holds a grant).
fn memory_grants(g: &GrantFigures) -> ResultSet {
    let counts = || {
        vec![
            big(g.waiters),
            big(g.holders),
            Value::BigInt(g.longest_wait_ms),
        ]
    };
    let mut rows: Vec<Vec<Value>> = g
        .largest
        .iter()
        .map(|&(id, granted, requested, dop)| {
            let mut r = counts();
            r.extend([int(id), big(granted), big(requested), int(dop)]);
            r
        })
        .collect();
    if rows.is_empty() {
        let mut r = counts();
        r.extend([
            Value::Int(None),
            Value::BigInt(None),
            Value::BigInt(None),
            Value::Int(None),
        ]);
        rows.push(r);
    }
    ResultSet::new(
        vec![
            col("grant_waiters", ColType::BigInt),
            col("grant_holders", ColType::BigInt),
            col("longest_grant_wait_ms", ColType::BigInt),
            col("holder_session_id", ColType::Int),
            col("holder_granted_kb", ColType::BigInt),
            col("holder_requested_kb", ColType::BigInt),
            col("holder_dop", ColType::Int),
        ],
        rows,
    )
}

/// A server with nothing queued for memory: pools default (2) and internal (1), a few
/// small grants.
fn calm_grants() -> GrantFigures {
    GrantFigures {
        semaphores: vec![
            (1, "internal", 0, 0, 0, 1_200_000),
            (1, "internal", 0, 0, 0, 60_000),
            (2, "default", 0, 14, 310_000, 48_000_000),
            (2, "default", 0, 0, 1_800, 2_400_000),
        ],
        waiters: 0,
        holders: 3,
        longest_wait_ms: None,
        largest: vec![(214, 250_000, 250_000, 1), (203, 60_000, 60_000, 1)],
    }
}

/// Completed waits since startup at `secs` into the run: (wait type, ms, signal ms, tasks).
type WaitStatRows = fn(f64) -> Vec<(&'static str, i64, i64, i64)>;

fn wait_stats(rows: &[(&str, i64, i64, i64)]) -> ResultSet {
    ResultSet::new(
        vec![
            col("stat_wait_type", ColType::NVarChar),
            col("stat_wait_ms", ColType::BigInt),
            col("stat_signal_ms", ColType::BigInt),
            col("stat_tasks", ColType::BigInt),
        ],
        rows.iter()
            .map(|&(w, ms, signal, tasks)| vec![text(w), big(ms), big(signal), big(tasks)])
            .collect(),
    )
}

/// A calm server: network and I/O waits grow, nothing poisonous.
fn calm_waits(secs: f64) -> Vec<(&'static str, i64, i64, i64)> {
    vec![
        (
            "ASYNC_NETWORK_IO",
            grow(9_000_000, 200.0, secs),
            40_000,
            grow(800_000, 20.0, secs),
        ),
        (
            "PAGEIOLATCH_SH",
            grow(4_000_000, 80.0, secs),
            9_000,
            grow(300_000, 9.0, secs),
        ),
        ("THREADPOOL", 12, 0, 3),
    ]
}

/// Incident 000: the compile gate and the worker pool accrue thousands of ms per second.
fn incident_waits(secs: f64) -> Vec<(&'static str, i64, i64, i64)> {
    vec![
        (
            "RESOURCE_SEMAPHORE_QUERY_COMPILE",
            grow(900_000_000, 2_500_000.0, secs),
            0,
            grow(5_000_000, 300.0, secs),
        ),
        (
            "THREADPOOL",
            grow(40_000_000, 180_000.0, secs),
            0,
            grow(900_000, 60.0, secs),
        ),
        (
            "QDS_STMT",
            grow(300_000_000, 900_000.0, secs),
            0,
            grow(2_000_000, 200.0, secs),
        ),
        (
            "ASYNC_NETWORK_IO",
            grow(9_000_000, 200.0, secs),
            40_000,
            grow(800_000, 20.0, secs),
        ),
    ]
}

/// Counter values for one sample.
struct CounterValues {
    compilations: i64,
    recompilations: i64,
    batches: i64,
    logins: i64,
    user_connections: i64,
    deadlocks: i64,
    optimizations: i64,
}

/// Performance counters as a named instance has them, and as nchar(128): space padded,
/// like the real DMV, in case the RTRIM in the batch is ever lost.
fn counters(prefix: &str, v: &CounterValues) -> ResultSet {
    let nchar = |s: &str| Value::NChar(Some(s.to_string()), 128);
    let row = |object: &str, name: &str, instance: &str, value: i64| {
        vec![
            nchar(&format!("{prefix}:{object}")),
            nchar(name),
            nchar(instance),
            big(value),
        ]
    };
    ResultSet::new(
        vec![
            col("counter_object", ColType::NChar(128)),
            col("counter_name", ColType::NChar(128)),
            col("counter_instance", ColType::NChar(128)),
            col("counter_value", ColType::BigInt),
        ],
        vec![
            row("SQL Statistics", "SQL Compilations/sec", "", v.compilations),
            row(
                "SQL Statistics",
                "SQL Re-Compilations/sec",
                "",
                v.recompilations,
            ),
            row("SQL Statistics", "Batch Requests/sec", "", v.batches),
            row("General Statistics", "Logins/sec", "", v.logins),
            row(
                "General Statistics",
                "User Connections",
                "",
                v.user_connections,
            ),
            row("Locks", "Number of Deadlocks/sec", "_Total", v.deadlocks),
            vec![
                nchar("optimizer"),
                nchar("optimizations"),
                nchar(""),
                big(v.optimizations),
            ],
        ],
    )
}

/// The plan-cache batch's rows: (objtype, plans, single-use plans, bytes, stubs).
fn plan_cache(rows: &[(&str, i64, i64, i64, i64)]) -> ResultSet {
    ResultSet::new(
        vec![
            col("plan_objtype", ColType::NVarChar),
            col("plans", ColType::BigInt),
            col("single_use_plans", ColType::BigInt),
            col("size_bytes", ColType::BigInt),
            col("stubs", ColType::BigInt),
            col("stub_bytes", ColType::BigInt),
        ],
        rows.iter()
            .map(|(t, plans, single, bytes, stubs)| {
                vec![
                    text(t),
                    big(*plans),
                    big(*single),
                    big(*bytes),
                    big(*stubs),
                    big(*stubs * 400),
                ]
            })
            .collect(),
    )
}

fn cache_size(rows: &[(&str, i64, i64, i64, i64)]) -> ResultSet {
    let entries: i64 = rows.iter().map(|r| r.1 + r.4).sum();
    let bytes: i64 = rows.iter().map(|r| r.3 + r.4 * 400).sum();
    ResultSet::new(
        vec![
            col("cache_entries", ColType::BigInt),
            col("cache_bytes", ColType::BigInt),
        ],
        vec![vec![big(entries), big(bytes)]],
    )
}

/// Waiting tasks blocked by another session: (session, blocker, wait type, wait ms).
fn task_blockers(rows: &[(i32, i32, &str, i32)]) -> ResultSet {
    ResultSet::new(
        vec![
            col("task_session_id", ColType::Int),
            col("task_blocked_by", ColType::Int),
            col("task_wait_type", ColType::NVarChar),
            col("task_wait_ms", ColType::Int),
        ],
        rows.iter()
            .map(|(id, by, w, ms)| vec![int(*id), int(*by), text(w), int(*ms)])
            .collect(),
    )
}

fn query_store(rows: &[(&str, &str, &str)]) -> ResultSet {
    ResultSet::new(
        vec![
            col("qs_database", ColType::NVarChar),
            col("qs_actual_state", ColType::NVarChar),
            col("qs_capture_mode", ColType::NVarChar),
        ],
        rows.iter()
            .map(|(db, state, mode)| vec![text(db), text(state), text(mode)])
            .collect(),
    )
}

fn databases(rows: &[(&str, bool, bool)]) -> ResultSet {
    ResultSet::new(
        vec![
            col("database_name", ColType::NVarChar),
            col("query_store_on", ColType::Bit),
            col("read_committed_snapshot_on", ColType::Bit),
            col("database_state", ColType::NVarChar),
        ],
        rows.iter()
            .map(|(name, qs, rcsi)| vec![text(name), bit(*qs), bit(*rcsi), text("ONLINE")])
            .collect(),
    )
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

/// Counters that grow with real time since the first sample, so that the rates spiral
/// computes from two samples (with the server's clock in taken_at) match the incident's.
struct Clock(Mutex<Option<Instant>>);

impl Clock {
    fn new() -> Clock {
        Clock(Mutex::new(None))
    }

    fn seconds(&self) -> f64 {
        let mut start = self.0.lock().unwrap_or_else(|p| p.into_inner());
        start
            .get_or_insert_with(Instant::now)
            .elapsed()
            .as_secs_f64()
    }
}

fn grow(base: i64, per_sec: f64, secs: f64) -> i64 {
    base + (per_sec * secs) as i64
}

/// Incident 000 at its worst, on one Sunday morning: 5,049 client connections, 45 API
/// tasks pinned at exactly 100 connections each, 2,574 sessions queued at the compile
/// gate and 334 on QDS_STMT (the incident's "QDS_STMT 334" line; "3342,574" in its text
/// runs it into the next sentence's "2,574"), the lock cycle 512 -> 182 -> 3453 -> 2035
/// -> 512, 1,817 tasks queued for a worker with 2,510 active of 2,400, ~3,000
/// compilations/s, Query Store on, RCSI off.
fn incident_sessions() -> Vec<S> {
    const WIDGET: &str = "SELECT TOP (5) [r].[Id], [r].[Body], [r].[Rating] FROM [dbo].[Review] AS [r] WHERE [r].[ProductId] = @__productId_0 AND [r].[ShopId] = @__sId_1 ORDER BY [r].[CreatedAt] DESC";
    const API: &str = "app-backend-api";
    const API_LOGIN: &str = "shopry_app";
    let special = [182, 512, 2035, 3453, OWN_SESSION];
    let mut next_id = 60;
    let mut id = || {
        while special.contains(&next_id) {
            next_id += 1;
        }
        next_id += 1;
        next_id - 1
    };
    let mut rows = Vec::new();
    // 45 ECS tasks x 100 pooled connections.
    let api_hosts: Vec<String> = (0..45)
        .map(|h| format!("ip-10-0-{}-{}", 10 + h / 20, 20 + h))
        .collect();
    // Each call takes the next of the 4,500 pool slots, 100 per host in order.
    let mut slot = 0usize;
    let api_host = |slot: &mut usize| {
        let h = api_hosts[*slot / 100].clone();
        *slot += 1;
        h
    };
    for n in 0..2574 {
        let elapsed = 20_000 + (n % 40) * 1_000;
        rows.push(S::active(
            id(),
            &api_host(&mut slot),
            API,
            API_LOGIN,
            "suspended",
            "SELECT",
            Some(("RESOURCE_SEMAPHORE_QUERY_COMPILE", elapsed - 2_000)),
            elapsed,
            WIDGET,
        ));
    }
    for n in 0..334 {
        rows.push(S::active(
            id(),
            &api_host(&mut slot),
            API,
            API_LOGIN,
            "suspended",
            "SELECT",
            Some(("QDS_STMT", 1_500 + n)),
            18_000 + n,
            WIDGET,
        ));
    }
    // The lock cycle, with 40 widget readers queued behind the censor's UPDATE.
    let chain: [(i32, &'static str, &'static str, i32, &'static str); 4] = [
        (
            512,
            "MERGE",
            "LCK_M_U",
            182,
            "MERGE [dbo].[WidgetCache] AS [t] USING (SELECT @p0 AS [ProductId]) AS [s] ON [t].[ProductId] = [s].[ProductId] WHEN MATCHED THEN UPDATE SET [Payload] = @p1;",
        ),
        (
            182,
            "UPDATE",
            "LCK_M_U",
            3453,
            "UPDATE [dbo].[Review] SET [Body] = @p0 WHERE [Id] = @p1",
        ),
        (
            3453,
            "INSERT",
            "LCK_M_IX",
            2035,
            "INSERT INTO [dbo].[ReviewAudit] ([ReviewId], [Action]) VALUES (@p0, @p1)",
        ),
        (2035, "SELECT", "LCK_M_S", 512, WIDGET),
    ];
    for (sid, command, wait, by, sql) in chain {
        let mut s = S::active(
            sid,
            &api_host(&mut slot),
            API,
            API_LOGIN,
            "suspended",
            command,
            Some((wait, 59_000)),
            59_400,
            sql,
        );
        s.blocked_by = Some(by);
        s.open_tran = 1;
        rows.push(s);
    }
    for n in 0..40 {
        let mut s = S::active(
            id(),
            &api_host(&mut slot),
            API,
            API_LOGIN,
            "suspended",
            "SELECT",
            Some(("LCK_M_S", 30_000 + n * 500)),
            31_000 + n * 500,
            WIDGET,
        );
        s.blocked_by = Some(182);
        rows.push(s);
    }
    // Busy but not stuck: parallel waits, disk reads, CPU.
    for n in 0..900 {
        let (status, wait) = match n % 3 {
            0 => ("suspended", Some(("CXCONSUMER", 400))),
            1 => ("suspended", Some(("PAGEIOLATCH_SH", 12))),
            _ => ("runnable", None),
        };
        rows.push(S::active(
            id(),
            &api_host(&mut slot),
            API,
            API_LOGIN,
            status,
            "SELECT",
            wait,
            2_000 + n,
            WIDGET,
        ));
    }
    // The rest of each API pool: connections between requests.
    while slot < 4_500 {
        let n = slot as i64;
        rows.push(S::sleeping(
            id(),
            &api_host(&mut slot),
            API,
            API_LOGIN,
            1_000 + n % 20_000,
        ));
    }
    // 549 connections from 86 other hosts (k8s consumers, cron, webhooks), 6 or 7 each.
    let consumers = [
        ("app-backend-cron-review-censor", "censor"),
        ("app-backend-cron-shopify-webhooks", "webhooks"),
        ("app-backend-worker", "worker"),
    ];
    let mut left = 549;
    for h in 0..86 {
        let per_host = if h < 33 { 7 } else { 6 };
        let (app, login) = consumers[h % consumers.len()];
        let host = format!("k8s-node-{h:02}");
        for k in 0..per_host {
            if left == 0 {
                break;
            }
            left -= 1;
            if k == 0 && app.contains("censor") {
                rows.push(S::active(
                    id(),
                    &host,
                    "app-backend-cron-review-censor",
                    "censor",
                    "running",
                    "UPDATE",
                    None,
                    800,
                    "UPDATE [dbo].[Review] SET [Body] = @p0 WHERE [Id] = @p1",
                ));
            } else {
                rows.push(S::sleeping(id(), &host, app, login, 2_000 + k * 1_000));
            }
        }
    }
    // Background sessions (lazy writer, checkpoint...): not clients.
    for n in 0..12 {
        let mut s = S::active(
            2 + n,
            "",
            "",
            "sa",
            "background",
            "LAZY WRITER",
            Some(("LAZYWRITER_SLEEP", 100)),
            9_000_000,
            "",
        );
        s.user_process = false;
        s.text = None;
        rows.push(s);
    }
    // spiral itself.
    rows.push(S::active(
        OWN_SESSION,
        "oncall-laptop",
        "spiral",
        "spiral",
        "running",
        "SELECT",
        None,
        3,
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))",
    ));
    rows
}

/// Recorded answers for one server: `respond` picks the reply by batch name.
struct Recorded {
    sessions: Vec<S>,
    /// Waiting tasks blocked by another session (parallel workers).
    task_blockers: Vec<(i32, i32, &'static str, i32)>,
    /// UOWs of orphaned distributed transactions (read only when something waits on -2).
    orphans: Vec<&'static str>,
    workers: WorkerFigures,
    gateways: (i64, i64, i64),
    grants: GrantFigures,
    waits: WaitStatRows,
    counters: fn(f64) -> CounterValues,
    plan_cache: Vec<(&'static str, i64, i64, i64, i64)>,
    databases: Vec<(&'static str, bool, bool)>,
    query_store: Vec<(&'static str, &'static str, &'static str)>,
    adhoc: bool,
    clock: Clock,
    /// The server's #spiral_sent: text and client keys this connection has sent. Emptied
    /// by session setup (a new connection) and by the reset batch.
    sent: Mutex<std::collections::BTreeSet<i64>>,
    /// Samples whose new texts and client names are recorded as sent but never arrive (a
    /// lost result set), counted down.
    lose_names: AtomicU64,
    /// Every batch name, in order.
    batches: Mutex<Vec<String>>,
    /// Answer the DAC sample as before sessions were counted on the server: every session
    /// listed (the baseline the aggregated answer is compared with).
    dac_lists_all: bool,
    samples: AtomicU64,
    kills: AtomicU64,
}

impl Recorded {
    /// Like the server's `NOT EXISTS (... #spiral_sent ...)`: only rows whose key was not
    /// sent before on this connection, then recorded as sent.
    fn unsent(&self, set: ResultSet) -> ResultSet {
        let mut sent = self.sent.lock().unwrap();
        let rows: Vec<Vec<Value>> = set
            .rows
            .into_iter()
            .filter(|r| match r.first() {
                Some(Value::BigInt(Some(k))) => sent.insert(*k),
                _ => true,
            })
            .collect();
        let lost = self
            .lose_names
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        ResultSet::new(set.columns, if lost { Vec::new() } else { rows })
    }

    /// The result sets of one sample, in the batch's order.
    fn sets(&self, full: bool) -> Vec<ResultSet> {
        self.samples.fetch_add(1, Ordering::SeqCst);
        let secs = self.clock.seconds();
        let mut sets = vec![facts(SQL_2019, SQL_2019_TEXT, 1), config(self.adhoc)];
        if full || self.dac_lists_all {
            sets.push(sessions(&self.sessions));
        } else {
            // spiral's defaults: --idle-over 5m, --client-timeout 15s.
            let (listed, groups) =
                dac_sessions(&self.sessions, &self.task_blockers, 300_000, 15_000);
            sets.push(listed);
            sets.push(groups);
        }
        sets.push(self.unsent(clients(&self.sessions)));
        if !self.task_blockers.is_empty() {
            sets.push(task_blockers(&self.task_blockers));
        }
        if full {
            sets.push(self.unsent(texts(&self.sessions)));
            if !self.orphans.is_empty() {
                sets.push(ResultSet::new(
                    vec![col("orphaned_uow", ColType::NVarChar)],
                    self.orphans.iter().map(|u| vec![text(u)]).collect(),
                ));
            }
        }
        sets.push(workers(self.workers));
        sets.push(gateways(self.gateways.0, self.gateways.1, self.gateways.2));
        sets.push(grant_pools(&self.grants));
        sets.push(memory_grants(&self.grants));
        if full {
            sets.push(wait_stats(&(self.waits)(secs)));
        }
        sets.push(counters("MSSQL$SHOP", &(self.counters)(secs)));
        if full {
            sets.push(cache_size(&self.plan_cache));
        }
        sets.push(databases(&self.databases));
        if full && !self.query_store.is_empty() {
            sets.push(query_store(&self.query_store));
        }
        sets
    }

    fn respond(&self, sql: &str) -> Reply {
        self.batches
            .lock()
            .unwrap()
            .push(batch_name(sql).to_string());
        match batch_name(sql) {
            "session_setup" | "sent_reset" => {
                self.sent.lock().unwrap().clear();
                Reply::Rows(vec![])
            }
            "kill" => {
                self.kills.fetch_add(1, Ordering::SeqCst);
                Reply::Rows(vec![ResultSet::new(
                    vec![col("killed", ColType::Int)],
                    vec![vec![int(1)]],
                )])
            }
            "sample" => Reply::Rows(self.sets(true)),
            "sample_sessions" => Reply::Rows(vec![
                facts(SQL_2019, SQL_2019_TEXT, 1),
                sessions(&self.sessions),
                self.unsent(clients(&self.sessions)),
                self.unsent(texts(&self.sessions)),
            ]),
            "sample_dac" => Reply::Rows(self.sets(false)),
            "sample_dac_sessions" => {
                let mut listed = sessions(&self.sessions);
                listed.columns.pop();
                for r in &mut listed.rows {
                    r.pop();
                }
                Reply::Rows(vec![
                    facts(SQL_2019, SQL_2019_TEXT, 1),
                    listed,
                    self.unsent(clients(&self.sessions)),
                ])
            }
            "plan_cache" => Reply::Rows(vec![plan_cache(&self.plan_cache)]),
            other => Reply::Error {
                number: 50000,
                class: 16,
                message: format!("test server: unexpected batch '{other}'"),
            },
        }
    }
}

fn incident() -> Recorded {
    Recorded {
        sessions: incident_sessions(),
        workers: WorkerFigures {
            queued: 1_817,
            active: 2_510,
            current: 2_600,
            runnable: 64,
            threadpool: 1_817,
            max: 2_400,
            cpus: 64,
        },
        // Small gateway 4 x 64 schedulers, medium 64, big 1.
        gateways: (2_574, 321, 321),
        grants: calm_grants(),
        waits: incident_waits,
        counters: |secs| CounterValues {
            compilations: grow(812_000_000, 3_000.0, secs),
            recompilations: grow(1_200_000, 40.0, secs),
            batches: grow(2_400_000_000, 9_000.0, secs),
            logins: grow(77_000_000, 15.0, secs),
            user_connections: 5_050,
            deadlocks: grow(4_100, 2.0, secs),
            optimizations: grow(900_000_000, 3_100.0, secs),
        },
        plan_cache: vec![
            ("Adhoc", 162_000, 150_000, 11_000_000_000, 0),
            ("Prepared", 48_000, 31_000, 4_000_000_000, 0),
            ("Proc", 2_100, 90, 1_000_000_000, 0),
        ],
        databases: vec![
            ("master", false, false),
            ("tempdb", false, false),
            ("model", false, false),
            ("msdb", false, false),
            ("shopry_shopifyproductaddons", true, false),
            ("shopry_reporting", false, true),
        ],
        query_store: vec![("shopry_shopifyproductaddons", "READ_WRITE", "ALL")],
        task_blockers: Vec::new(),
        orphans: Vec::new(),
        adhoc: false,
        clock: Clock::new(),
        samples: AtomicU64::new(0),
        kills: AtomicU64::new(0),
        sent: Mutex::default(),
        lose_names: AtomicU64::new(0),
        batches: Mutex::default(),
        dac_lists_all: false,
    }
}

/// A healthy server: a few busy requests, pools well below any ceiling, nothing queued.
fn healthy() -> Recorded {
    let mut sessions = Vec::new();
    for h in 0..5 {
        let host = format!("ip-10-0-1-{h}");
        for k in 0..5 {
            sessions.push(S::sleeping(
                100 + h * 10 + k,
                &host,
                "app-backend-api",
                "shopry_app",
                500 + i64::from(k) * 700,
            ));
        }
    }
    for n in 0..4 {
        sessions.push(S::active(
            200 + n,
            "ip-10-0-1-0",
            "app-backend-api",
            "shopry_app",
            "running",
            "SELECT",
            None,
            5 + n * 40,
            "SELECT TOP (5) [r].[Id] FROM [dbo].[Review] AS [r] WHERE [r].[ProductId] = @p0",
        ));
    }
    sessions.push(S::active(
        OWN_SESSION,
        "oncall-laptop",
        "spiral",
        "spiral",
        "running",
        "SELECT",
        None,
        3,
        "SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128))",
    ));
    Recorded {
        sessions,
        workers: WorkerFigures {
            queued: 0,
            active: 90,
            current: 160,
            runnable: 1,
            threadpool: 0,
            max: 2_400,
            cpus: 64,
        },
        gateways: (0, 2, 321),
        grants: calm_grants(),
        waits: calm_waits,
        counters: |secs| CounterValues {
            compilations: grow(1_000_000, 4.0, secs),
            recompilations: grow(20_000, 0.0, secs),
            batches: grow(90_000_000, 600.0, secs),
            logins: grow(50_000, 0.0, secs),
            user_connections: 30,
            deadlocks: 3,
            optimizations: grow(1_100_000, 4.0, secs),
        },
        plan_cache: vec![
            ("Adhoc", 300, 120, 40_000_000, 2_000),
            ("Prepared", 400, 20, 90_000_000, 0),
        ],
        databases: vec![
            ("master", false, false),
            ("shopry_shopifyproductaddons", false, true),
        ],
        query_store: Vec::new(),
        task_blockers: Vec::new(),
        orphans: Vec::new(),
        adhoc: true,
        clock: Clock::new(),
        samples: AtomicU64::new(0),
        kills: AtomicU64::new(0),
        sent: Mutex::default(),
        lose_names: AtomicU64::new(0),
        batches: Mutex::default(),
        dac_lists_all: false,
    }
}

fn serve(recorded: Recorded) -> TdsServer {
    let recorded = Arc::new(recorded);
    TdsServer::start(Behaviour::accept(move |sql| recorded.respond(sql)))
}

fn triage_json(server: &TdsServer, samples: &str) -> (i32, serde_json::Value, String) {
    let conn = target(server);
    run_json(&[
        "triage",
        &conn,
        "--encrypt",
        "off",
        "--samples",
        samples,
        "--interval",
        "1s",
    ])
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn incident_000_is_diagnosed_end_to_end() {
    let server = serve(incident());
    let (code, report, stderr) = triage_json(&server, "2");
    let ids = verdict_ids(&report);
    eprintln!("incident 000 verdicts: {ids:?}");
    for id in [
        "compile-gate-saturation",
        "query-store-amplification",
        "worker-thread-exhaustion",
        "deadlock-cycle",
        "client-pool-saturation",
    ] {
        assert_eq!(
            severity(&report, id).as_deref(),
            Some("critical"),
            "{id} in {ids:?}\nstderr: {stderr}"
        );
    }
    // The rest of the story is told too.
    for id in ["client-timeout-exceeded", "read-blocked-by-writers"] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    // The plan cache is not walked while the compile gate queues: the check is unknown,
    // and the note says why, with the size from the memory cache counters.
    assert_eq!(
        severity(&report, "plan-cache-bloat").as_deref(),
        Some("unknown")
    );
    // Query Store: named where the waiters are, with its real state and capture mode.
    let qds = report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["id"] == "query-store-amplification")
        .map(|v| v["summary"].to_string())
        .unwrap_or_default();
    assert!(
        qds.contains("in shopry_shopifyproductaddons")
            && qds.contains("read-write")
            && qds.contains("capture mode ALL"),
        "{qds}"
    );
    assert_eq!(code, 2, "stderr: {stderr}");
    assert_eq!(report["engine"], "mssql");
    assert_eq!(report["exit_code"], 2);
    assert!(
        report["server_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("Microsoft SQL Server 2019")),
        "{}",
        report["server_version"]
    );
    let figures = &report["figures"];
    assert_eq!(figures["queued_tasks"], 1817);
    assert_eq!(figures["max_workers"], 2400);
    assert_eq!(
        figures["connected_clients"], 5049,
        "User Connections minus spiral"
    );
    let cps = figures["compilations_per_sec"].as_f64().unwrap_or(0.0);
    assert!(cps > 1_000.0, "compilations/s {cps}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("compile gate queues") && notes.contains("memory cache counters"),
        "{notes}"
    );
    // The plan cache's gap, and the poison waits that accrued between the two samples.
    assert!(
        report["notes"].as_array().is_some_and(|n| n.len() == 2),
        "{notes}"
    );
    assert!(
        notes.contains("Poison waits accrued")
            && notes.contains("RESOURCE_SEMAPHORE_QUERY_COMPILE")
            && notes.contains("THREADPOOL"),
        "{notes}"
    );
    let stats = server.stats.snapshot();
    assert_eq!((stats.logins, stats.batches, stats.rpcs), (1, 3, 0));
    assert_eq!(stats.attentions, 0);
    let log = server.stats.sql_log();
    let names: Vec<&str> = log.iter().map(|s| batch_name(s)).collect();
    assert_eq!(names, ["session_setup", "sample", "sample"]);
    assert_eq!(log[1], log[2], "the same text every sample: compiled once");
    let login = &server.stats.login_infos()[0];
    assert_eq!(login.app_name, "spiral");
    assert_eq!(login.database, "master");
}

#[test]
fn healthy_server_exits_zero() {
    let server = serve(healthy());
    let (code, report, stderr) = triage_json(&server, "2");
    let bad: Vec<(String, String)> = report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            let sev = v["severity"].as_str()?;
            matches!(sev, "warning" | "critical" | "unknown")
                .then(|| (v["id"].as_str().unwrap_or("?").to_string(), sev.to_string()))
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}\nstderr: {stderr}");
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(report["status"], "ok");
}

/// Round trips and bytes per sample, from the server's own counters: the difference
/// between a one-sample and a two-sample run is exactly one sample.
#[test]
fn round_trips_and_bytes_per_sample() {
    fn measure(make: fn() -> Recorded, samples: &str) -> StatsSnapshot {
        let server = serve(make());
        let (code, _, stderr) = triage_json(&server, samples);
        assert!(matches!(code, 0..=2), "exit {code}: {stderr}");
        server.stats.snapshot()
    }
    for (name, make) in [
        ("incident 000", incident as fn() -> Recorded),
        ("healthy", healthy),
    ] {
        let one = measure(make, "1");
        let two = measure(make, "2");
        let three = measure(make, "3");
        // Texts and client names travel once per connection: the first sample (with connect
        // and setup) carries them, later samples only keys.
        eprintln!(
            "{name}: first sample with connect and setup: {} bytes received; second sample: {} \
             bytes; third sample: {} bytes",
            one.bytes_out,
            two.bytes_out - one.bytes_out,
            three.bytes_out - two.bytes_out
        );
        let round_trips = (two.batches + two.rpcs) - (one.batches + one.rpcs);
        let bytes_in = two.bytes_in - one.bytes_in;
        let bytes_out = two.bytes_out - one.bytes_out;
        eprintln!(
            "{name}: per sample {round_trips} round trip(s), {bytes_in} bytes sent by spiral, \
             {bytes_out} bytes received; connect + session setup: {} round trip(s), {} bytes \
             sent, {} bytes received",
            one.batches + one.rpcs - 1,
            one.bytes_in - bytes_in,
            one.bytes_out - bytes_out
        );
        assert_eq!(round_trips, 1, "{name}: one batch per sample");
        assert_eq!((two.rpcs, two.attentions), (0, 0));
        assert_eq!(two.logins, 1, "{name}: one connection for the whole run");
        // Time to the first verdict, for the report (printed, never asserted): the table
        // format prints its first look after the first sample.
        let server = serve(make());
        let start = Instant::now();
        let mut child = spiral()
            .args([
                "triage",
                &target(&server),
                "--encrypt",
                "off",
                "--samples",
                "2",
                "--interval",
                "2s",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        if let Some(out) = child.stdout.take() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(out).read_line(&mut first);
        }
        let elapsed = start.elapsed();
        let _ = child.kill();
        let _ = child.wait();
        eprintln!("{name}: first verdict after {elapsed:?} ({})", first.trim());
        // kill's sessions-only read (a dry run: connect, session setup, one read).
        let server = serve(make());
        let (code, _, err) = run_json(&[
            "kill",
            &target(&server),
            "--encrypt",
            "off",
            "--user",
            "nobody",
        ]);
        assert_eq!(code, 0, "{err}");
        let k = server.stats.snapshot();
        assert_eq!(
            k.batches, 2,
            "{name}: session setup, then the sessions-only read"
        );
        eprintln!(
            "{name}: kill's sessions-only read: {} bytes received (with connect and setup)",
            k.bytes_out
        );
    }
}

#[test]
fn dac_is_found_through_sql_browser_and_gets_the_cheap_batch() {
    let recorded = Arc::new(incident());
    let server = {
        let r = recorded.clone();
        TdsServer::start(Behaviour::accept(move |sql| r.respond(sql)))
    };
    // The Browser knows the default instance's DAC port: the test server's.
    let (browser, guard) = start_browser_responder("MSSQLSERVER", server.port(), 1);
    let conn = format!("Server=admin:127.0.0.1;User Id=sa;Password={PASSWORD}");
    let out = spiral()
        .env("SPIRAL_SQL_BROWSER_PORT", browser.port().to_string())
        .args([
            "--format",
            "json",
            "triage",
            &conn,
            "--dac",
            "--encrypt",
            "off",
            "--samples",
            "1",
        ])
        .output()
        .expect("spiral runs");
    let (code, stdout, stderr) = decode(out);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    assert_eq!(guard.requests(), 1, "one Browser request for the DAC port");
    let stats = server.stats.snapshot();
    assert_eq!(stats.logins, 1, "connected to the DAC port");
    assert_eq!(server.stats.login_infos()[0].user, "sa");
    let names: Vec<String> = server
        .stats
        .sql_log()
        .iter()
        .map(|s| batch_name(s).to_string())
        .collect();
    assert_eq!(names, ["session_setup", "sample_dac"]);
    assert!(
        server
            .stats
            .sql_log()
            .iter()
            .all(|s| !s.contains("FROM sys.dm_exec_cached_plans")
                && !s.contains("OUTER APPLY sys.dm_exec_sql_text")),
        "no plan cache scan and no query text over the DAC"
    );
    assert_eq!(
        severity(&report, "worker-thread-exhaustion").as_deref(),
        Some("critical")
    );
    assert_eq!(
        severity(&report, "plan-cache-bloat").as_deref(),
        Some("unknown")
    );
    assert!(
        report["target"]
            .as_str()
            .is_some_and(|t| t.contains("admin:"))
    );
    assert_eq!(code, 2, "stderr: {stderr}");
}

#[test]
fn named_instance_is_found_through_sql_browser() {
    let server = serve(healthy());
    let (browser, guard) = start_browser_responder("SHOP", 1, server.port());
    // No --encrypt: the connection string's own Encrypt= decides (no TLS at all here).
    let conn = format!(
        "Server=127.0.0.1\\SHOP;User Id=spiral;Password={PASSWORD};Encrypt=DANGER_PLAINTEXT"
    );
    let out = spiral()
        .env("SPIRAL_SQL_BROWSER_PORT", browser.port().to_string())
        .args(["--format", "json", "triage", &conn, "--samples", "1"])
        .output()
        .expect("spiral runs");
    let (code, stdout, stderr) = decode(out);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(guard.requests(), 1);
    let login = &server.stats.login_infos()[0];
    assert_eq!(login.app_name, "spiral");
    // A healthy server: the plan cache is walked once, in its own batch.
    let names: Vec<String> = server
        .stats
        .sql_log()
        .iter()
        .map(|s| batch_name(s).to_string())
        .collect();
    assert_eq!(names, ["session_setup", "sample", "plan_cache"]);
}

#[test]
fn encryption_mismatches_suggest_encrypt_off() {
    let server = serve(healthy());
    // --encrypt on against a server without TLS; then Encrypt=false, which still
    // encrypts the login and so starts a TLS handshake the server cannot answer.
    let required = target(&server);
    let login_only = format!("{};Encrypt=false", target(&server));
    for args in [
        vec![
            "triage",
            required.as_str(),
            "--encrypt",
            "on",
            "--samples",
            "1",
        ],
        vec!["triage", login_only.as_str(), "--samples", "1"],
    ] {
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, 3, "{stdout}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--encrypt off"), "{stderr}");
        assert!(!stderr.contains(PASSWORD));
    }
    assert_eq!(server.stats.snapshot().batches, 0);
}

#[test]
fn dac_already_in_use_is_one_line() {
    let server = TdsServer::start(Behaviour::new(
        Login::Reject {
            number: 17810,
            message: "Could not connect because the maximum number of '1' dedicated \
                      administrator connections already exists. Before a new connection can \
                      be made, the existing dedicated administrator connection must be \
                      dropped, either by logging off or ending the process. [CLIENT: 127.0.0.1]"
                .into(),
        },
        |_| Reply::Rows(vec![]),
    ));
    let conn = format!(
        "Server=admin:127.0.0.1,{};User Id=sa;Password={PASSWORD}",
        server.port()
    );
    let (code, stdout, stderr) = run(&["triage", &conn, "--encrypt", "off", "--samples", "1"]);
    assert_eq!(code, 3);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("DAC already in use (only one per instance)"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD));
}

#[test]
fn dac_port_refusing_names_remote_admin_connections() {
    // A port nothing listens on: what a remote client meets when the DAC is local only.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let conn = format!("Server=admin:127.0.0.1,{port};User Id=sa;Password={PASSWORD}");
    let (code, _, stderr) = run(&["triage", &conn, "--encrypt", "off", "--samples", "1"]);
    assert_eq!(code, 3);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("sp_configure 'remote admin connections', 1"),
        "{stderr}"
    );
}

#[test]
fn a_hung_sample_times_out_cancels_and_exits_3() {
    let server = TdsServer::start(Behaviour::accept(|sql| match batch_name(sql) {
        "session_setup" => Reply::Rows(vec![]),
        _ => Reply::Hang,
    }));
    let conn = target(&server);
    let (code, stdout, stderr) = run(&[
        "triage",
        &conn,
        "--encrypt",
        "off",
        "--samples",
        "1",
        "--query-timeout",
        "1s",
    ]);
    assert_eq!(code, 3, "stdout: {stdout}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("timed out after 1s"), "{stderr}");
    let stats = server.stats.snapshot();
    assert_eq!(stats.attentions, 1, "the server was told to stop the work");
    assert_eq!(stats.batches, 2);
}

#[test]
fn login_failure_is_one_line_without_the_password() {
    let server = TdsServer::start(Behaviour::new(Login::failed(), |_| Reply::Rows(vec![])));
    let conn = target(&server);
    let (code, stdout, stderr) = run(&["triage", &conn, "--encrypt", "off", "--samples", "1"]);
    assert_eq!(code, 3);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("login failed"), "{stderr}");
    assert!(
        stderr.contains("Login failed for user 'spiral'"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD) && !stdout.contains(PASSWORD));
    assert_eq!(server.stats.login_infos()[0].password, PASSWORD);
    assert_eq!(server.stats.snapshot().batches, 0);
}

#[test]
fn missing_view_server_state_is_reported_not_called_healthy() {
    let samples = Arc::new(AtomicU64::new(0));
    let seen = samples.clone();
    let server = TdsServer::start(Behaviour::accept(move |sql| match batch_name(sql) {
        "session_setup" => Reply::Rows(vec![]),
        "sample" => Reply::Error {
            number: 300,
            class: 14,
            message: "VIEW SERVER STATE permission was denied on object 'server', database \
                      'master'."
                .into(),
        },
        "sample_limited" => {
            seen.fetch_add(1, Ordering::SeqCst);
            Reply::Rows(vec![
                facts(SQL_2019, SQL_2019_TEXT, 0),
                config(false),
                databases(&[("master", false, false), ("shop", true, false)]),
            ])
        }
        _ => Reply::Rows(vec![]),
    }));
    let (code, report, stderr) = triage_json(&server, "2");
    let unknown: Vec<&str> = report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["severity"] == "unknown")
        .filter_map(|v| v["id"].as_str())
        .collect();
    for id in [
        "compile-gate-saturation",
        "worker-thread-exhaustion",
        "blocking-chain",
        "plan-cache-bloat",
    ] {
        assert!(unknown.contains(&id), "{id} not unknown: {unknown:?}");
    }
    let notes = report["notes"].to_string();
    assert!(notes.contains("VIEW SERVER STATE"), "{notes}");
    assert!(
        notes.contains("GRANT VIEW SERVER STATE TO [spiral];"),
        "{notes}"
    );
    assert_eq!(
        code, 3,
        "nothing wrong was seen, but not everything could be: {stderr}"
    );
    // One failed full batch, then the limited batch alone: one round trip per sample.
    let names: Vec<String> = server
        .stats
        .sql_log()
        .iter()
        .map(|s| batch_name(s).to_string())
        .collect();
    assert_eq!(
        names,
        [
            "session_setup",
            "sample",
            "sample_limited",
            "sample_limited"
        ]
    );
    assert_eq!(samples.load(Ordering::SeqCst), 2);
}

#[test]
fn strict_encryption_and_windows_auth_are_refused_before_connecting() {
    let (code, _, stderr) = run(&[
        "triage",
        "Server=127.0.0.1,1;User Id=sa;Password=x",
        "--encrypt",
        "strict",
        "--samples",
        "1",
    ]);
    assert_eq!(code, 3);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("strict") && stderr.contains("TDS 8"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&[
        "triage",
        "Server=127.0.0.1,1;Integrated Security=true",
        "--samples",
        "1",
    ]);
    assert_eq!(code, 3);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Windows/Kerberos"), "{stderr}");
}

/// Against a real SQL Server when SPIRAL_TEST_MSSQL_URL names one (a sysadmin or a login
/// with VIEW SERVER STATE). Skipped otherwise, also under SPIRAL_REQUIRE_LIVE=1: no SQL
/// Server can run where the suite runs, so requiring one would fail every run.
#[test]
fn live_sql_server_when_configured() {
    let Some(url) = std::env::var("SPIRAL_TEST_MSSQL_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: live SQL Server test: set SPIRAL_TEST_MSSQL_URL to run it"
        );
        return;
    };
    let (code, report, stderr) = run_json(&["triage", &url, "--samples", "2", "--interval", "1s"]);
    assert!(matches!(code, 0..=3), "exit {code}: {stderr}");
    assert_eq!(report["engine"], "mssql", "stderr: {stderr}");
    assert_eq!(report["window"]["samples"], 2);
    assert!(
        report["server_version"]
            .as_str()
            .is_some_and(|v| v.contains("SQL")),
        "{}",
        report["server_version"]
    );
}

#[test]
fn kill_ends_sessions_through_the_checked_batch() {
    let recorded = Arc::new(healthy());
    let r2 = Arc::clone(&recorded);
    let server = TdsServer::start(Behaviour::accept(move |sql| r2.respond(sql)));
    let conn = target(&server);
    // A dry run sends no kill.
    let (code, plan, err) = run_json(&[
        "kill",
        &conn,
        "--encrypt",
        "off",
        "--user",
        "shopry_app",
        "--idle-over",
        "0s",
    ]);
    assert_eq!(code, 0, "{err}");
    let planned = plan["actions"].as_array().unwrap().len();
    assert!(planned >= 20, "{}", plan["actions"]);
    assert!(
        plan["actions"][0]["statement"]
            .as_str()
            .unwrap()
            .starts_with("KILL ")
    );
    assert_eq!(recorded.kills.load(Ordering::SeqCst), 0);
    // --query-only is refused: SQL Server cannot cancel another session's statement.
    let (code, _, err) = run(&[
        "kill",
        &conn,
        "--encrypt",
        "off",
        "--user",
        "shopry_app",
        "--idle-over",
        "0s",
        "--query-only",
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("cannot cancel"), "{err}");
    let (code, r, err) = run_json(&[
        "kill",
        &conn,
        "--encrypt",
        "off",
        "--user",
        "shopry_app",
        "--idle-over",
        "0s",
        "--execute",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    let killed = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["outcome"] == "killed")
        .count();
    assert_eq!(killed, planned, "{}", r["actions"][0]);
    assert_eq!(recorded.kills.load(Ordering::SeqCst) as usize, planned);
    let log = server.stats.sql_log();
    assert!(
        log.iter()
            .any(|sql| sql.contains("login_time") && sql.contains("EXEC (@kill)"))
    );
    // The batch that sends the KILL re-checks the state the session was chosen for (idle
    // since the bound, no request) and matches the login time to datetime's precision, not
    // within seconds: a reused id in a reconnect storm must read as another connection.
    let kill = log
        .iter()
        .find(|sql| sql.contains("EXEC (@kill)"))
        .expect("the kill batch");
    assert!(
        kill.contains("@mode IN (N'idle', N'idle-in-transaction')")
            && kill.contains("NOT EXISTS (SELECT 1 FROM sys.dm_exec_requests")
            && kill.contains("@seen)) <= 10")
            && !kill.contains("< 2000"),
        "{kill}"
    );
    // kill reads only the sessions: never the full sample, never the plan cache.
    let names: std::collections::BTreeSet<&str> = log.iter().map(|s| batch_name(s)).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["kill", "sample_sessions", "session_setup"]
    );
}

// ---------------------------------------------------------------------------
// What a real server does that the recorded happy path does not (review 2026-11-30)
// ---------------------------------------------------------------------------

/// A server whose sample reply is the recorded one reworked by `edit`: each result set
/// becomes a statement that `edit` may cut short or fail.
fn serve_edited(
    recorded: Recorded,
    edit: impl Fn(Vec<ResultSet>) -> Vec<tds_server::Statement> + Send + Sync + 'static,
) -> TdsServer {
    let recorded = Arc::new(recorded);
    TdsServer::start(Behaviour::accept(move |sql| match batch_name(sql) {
        "sample" => Reply::Statements(edit(recorded.sets(true))),
        _ => recorded.respond(sql),
    }))
}

fn is_set(set: &ResultSet, first_column: &str) -> bool {
    set.columns.first().is_some_and(|c| c.name == first_column)
}

/// One sample recorded with `spiral capture`: the snapshot as spiral built it.
fn captured(server: &TdsServer, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let dir = std::env::temp_dir().join(format!(
        "spiral-mssql-wire-{}-{}",
        std::process::id(),
        server.port()
    ));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("capture.jsonl");
    let conn = target(server);
    let mut args = vec![
        "capture",
        conn.as_str(),
        "--encrypt",
        "off",
        "--samples",
        "1",
        "-o",
    ];
    let path = file.to_string_lossy().to_string();
    args.push(&path);
    args.extend_from_slice(extra);
    let (code, _, stderr) = run(&args);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let snap = text
        .lines()
        .nth(1)
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (code, snap, stderr)
}

fn session_json(snap: &serde_json::Value, id: i64) -> Option<&serde_json::Value> {
    snap["sessions"]
        .as_array()?
        .iter()
        .find(|s| s["id"].as_i64() == Some(id))
}

fn unknown_ids(report: &serde_json::Value) -> Vec<String> {
    report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["severity"] == "unknown")
        .filter_map(|v| v["id"].as_str().map(str::to_string))
        .collect()
}

const ERROR_535: &str = "The datediff function resulted in an overflow. The number of dateparts \
                         separating two date/time instances is too large. Try to use datediff \
                         with a less precise datepart.";

#[test]
fn error_535_after_some_session_rows_marks_sessions_partial() {
    // The raw form: rows of the sessions statement, then ERROR 535 mid-result, then the
    // rest of the batch (what any statement without TRY/CATCH would do).
    let server = serve_edited(incident(), |sets| {
        sets.into_iter()
            .map(|set| {
                if is_set(&set, "session_id") {
                    let mut cut = set.clone();
                    cut.rows.truncate(1_000);
                    tds_server::Statement::RowsThenError {
                        set: cut,
                        number: 535,
                        class: 16,
                        message: ERROR_535.into(),
                    }
                } else {
                    tds_server::Statement::Rows(set)
                }
            })
            .collect()
    });
    let (code, report, stderr) = triage_json(&server, "1");
    let unknown = unknown_ids(&report);
    for id in [
        "blocking-chain",
        "idle-connection-leak",
        "idle-in-transaction",
    ] {
        assert!(
            unknown.iter().any(|u| u == id),
            "{id} not unknown: {unknown:?}"
        );
    }
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("partial") && notes.contains("error 535"),
        "{notes}"
    );
    // What does not depend on the session list is still diagnosed.
    assert_eq!(
        severity(&report, "worker-thread-exhaustion").as_deref(),
        Some("critical"),
        "{stderr}"
    );
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn a_statement_caught_after_some_rows_is_partial_not_shorter() {
    // The batch's own form: the sessions statement's CATCH sends a failed_set row after the
    // rows that made it out.
    let server = serve_edited(incident(), |sets| {
        let mut out = Vec::new();
        for set in sets {
            if is_set(&set, "session_id") {
                let mut cut = set.clone();
                cut.rows.truncate(1_000);
                out.push(tds_server::Statement::Rows(cut));
                out.push(tds_server::Statement::Rows(failed_set(
                    "sessions", 535, ERROR_535,
                )));
            } else {
                out.push(tds_server::Statement::Rows(set));
            }
        }
        out
    });
    let (_, snap, stderr) = captured(&server, &[]);
    let gaps = snap["gaps"].to_string();
    assert!(
        gaps.contains("sessions and requests is partial")
            && gaps.contains("1,000 rows")
            && gaps.contains("error 535"),
        "{gaps}\n{stderr}"
    );
    for area in ["other-sessions", "locks"] {
        assert!(gaps.contains(area), "{area}: {gaps}");
    }
    let (_, report, _) = triage_json(&server, "1");
    assert!(
        unknown_ids(&report).iter().any(|u| u == "blocking-chain"),
        "{}",
        report["verdicts"]
    );
}

#[test]
fn a_lock_timeout_on_query_text_loses_only_the_text() {
    let server = serve_edited(incident(), |sets| {
        sets.into_iter()
            .map(|set| {
                tds_server::Statement::Rows(if is_set(&set, "text_key") {
                    failed_set("query_text", 1222, "Lock request time out period exceeded.")
                } else {
                    set
                })
            })
            .collect()
    });
    let (code, report, stderr) = triage_json(&server, "1");
    assert_eq!(code, 2, "{stderr}");
    for id in [
        "compile-gate-saturation",
        "deadlock-cycle",
        "client-pool-saturation",
    ] {
        assert_eq!(
            severity(&report, id).as_deref(),
            Some("critical"),
            "{id}: sessions must be whole"
        );
    }
    // Only the plan cache is unknown (not walked while the compile gate queues).
    assert_eq!(unknown_ids(&report), ["plan-cache-bloat"]);
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("query text") && notes.contains("error 1222"),
        "{notes}"
    );
    // The text is what would have been shipped 5,000 times: now it is not there at all,
    // and the sessions still arrived in full.
    let (_, snap, _) = captured(&server, &[]);
    assert!(snap["sessions"].as_array().is_some_and(|s| s.len() > 5_000));
    assert!(session_json(&snap, 512).is_some_and(|s| s["query"].is_null()));
}

#[test]
fn query_text_arrives_once_per_statement_and_is_attached() {
    let server = serve(incident());
    let (_, snap, stderr) = captured(&server, &[]);
    let s = session_json(&snap, 512).unwrap_or_else(|| panic!("512: {stderr}"));
    assert!(
        s["query"]
            .as_str()
            .is_some_and(|q| q.starts_with("MERGE [dbo].[WidgetCache]")),
        "{s}"
    );
    assert_eq!(s["statement"], "write");
    // Client names arrive once per combination and are attached to every session.
    assert_eq!(s["user"], "shopry_app");
    assert_eq!(s["application"], "app-backend-api");
    assert_eq!(s["database"], "shopry_shopifyproductaddons");
    assert!(
        s["client_host"]
            .as_str()
            .is_some_and(|h| h.starts_with("ip-10-0-"))
    );
    let with_text = snap["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["query"].is_string())
        .count();
    assert!(with_text > 3_800, "{with_text}");
}

/// Sessions waiting on locks that no session holds: an orphaned DTC transaction.
fn orphaned_dtc() -> Recorded {
    let mut r = healthy();
    for n in 0..6 {
        let mut s = S::active(
            300 + n,
            "ip-10-0-1-3",
            "app-backend-api",
            "shopry_app",
            "suspended",
            "UPDATE",
            Some(("LCK_M_X", 95_000 + n * 1_000)),
            96_000 + n * 1_000,
            "UPDATE [dbo].[Order] SET [State] = @p0 WHERE [Id] = @p1",
        );
        s.blocked_by = Some(-2);
        r.sessions.push(s);
    }
    r.orphans = vec!["8F2C4C1E-1D4B-4C43-9D3A-0E5B7F1A2B3C"];
    r
}

#[test]
fn orphaned_distributed_transaction_is_named_and_ended_by_its_uow() {
    let server = serve(orphaned_dtc());
    let (_, snap, stderr) = captured(&server, &[]);
    let s = session_json(&snap, 300).unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(s["blocked_by"], serde_json::json!([-2]));
    assert_eq!(
        snap["orphaned_transactions"],
        serde_json::json!(["8F2C4C1E-1D4B-4C43-9D3A-0E5B7F1A2B3C"])
    );
    let (code, report, stderr) = triage_json(&server, "1");
    let v = support::verdict(&report, "blocking-chain")
        .unwrap_or_else(|| panic!("{}\n{stderr}", report["verdicts"]));
    assert_eq!(v["severity"], "critical");
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("an orphaned distributed transaction"),
        "{summary}"
    );
    let all = report.to_string();
    assert!(
        all.contains("KILL '8F2C4C1E-1D4B-4C43-9D3A-0E5B7F1A2B3C';"),
        "{}",
        v["actions"]
    );
    assert!(!all.contains("KILL -2"), "{all}");
    assert_eq!(code, 2);
}

#[test]
fn parallel_reader_behind_a_writer_counts_as_blocked() {
    let mut r = healthy();
    // The writer: idle in its open transaction, holding the lock.
    let mut writer = S::sleeping(400, "ip-10-0-1-4", "app-backend-api", "shopry_app", 120_000);
    writer.open_tran = 1;
    r.sessions.push(writer);
    // The reader: a parallel SELECT. Its coordinator waits on CXCONSUMER and names no
    // other blocker (the batch drops "blocked by itself"); its workers wait on LCK_M_S.
    let reader = S::active(
        401,
        "ip-10-0-1-4",
        "app-backend-api",
        "shopry_app",
        "suspended",
        "SELECT",
        Some(("CXCONSUMER", 61_000)),
        61_500,
        "SELECT COUNT(*) FROM [dbo].[Review] WHERE [ShopId] = @p0",
    );
    r.sessions.push(reader);
    r.task_blockers = vec![(401, 400, "LCK_M_S", 61_000)];
    let server = serve(r);
    let (_, snap, stderr) = captured(&server, &[]);
    let s = session_json(&snap, 401).unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(s["blocked_by"], serde_json::json!([400]), "{s}");
    assert_eq!(s["wait_type"], "LCK_M_S");
    let (code, report, _) = triage_json(&server, "1");
    let v = support::verdict(&report, "blocking-chain").expect("blocking-chain");
    assert!(
        v["summary"].as_str().is_some_and(|t| t.contains("400")),
        "{}",
        v["summary"]
    );
    assert!(matches!(code, 1 | 2));
}

#[test]
fn a_mars_session_is_one_session() {
    // Should a server ever send two rows for one session (several MARS requests, as the
    // old join did), the session is still counted once: the blocked request is kept.
    let mut r = healthy();
    let mut first = S::active(
        500,
        "ip-10-0-1-0",
        "app-backend-api",
        "shopry_app",
        "running",
        "SELECT",
        None,
        30,
        "SELECT 1",
    );
    first.requests = 2;
    let mut second = first.clone();
    second.status = "suspended";
    second.wait = Some(("LCK_M_S", 20_000));
    second.blocked_by = Some(100);
    r.sessions.push(first);
    r.sessions.push(second);
    let server = serve(r);
    let (_, snap, stderr) = captured(&server, &[]);
    let rows: Vec<&serde_json::Value> = snap["sessions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["id"] == 500)
        .collect();
    assert_eq!(rows.len(), 1, "{stderr}");
    assert_eq!(rows[0]["blocked_by"], serde_json::json!([100]));
}

#[test]
fn azure_sql_database_restricted_dmvs_name_the_server_state_reader_role() {
    let recorded = Arc::new(healthy());
    let server = TdsServer::start(Behaviour::accept(move |sql| match batch_name(sql) {
        "sample" => {
            let refused = "The user does not have permission to perform this action.";
            let mut sets = recorded.sets(true);
            sets[0] = facts_of(
                "12.0.2000.8",
                "Microsoft SQL Azure (RTM) - 12.0.2000.8",
                1,
                5,
                None,
            );
            // sys.dm_exec_requests shows only spiral's own connection: everyone else
            // looks idle.
            if let Some(sessions) = sets.iter_mut().find(|s| is_set(s, "session_id")) {
                for row in sessions.rows.iter_mut() {
                    if row[0] != int(OWN_SESSION) {
                        row[2] = text("sleeping");
                        for c in [3, 4, 5, 6, 8, 13, 14] {
                            row[c] = Value::Null;
                        }
                        row[9] = big(1_000);
                    }
                }
            }
            for set in sets.iter_mut() {
                if is_set(set, "queued_tasks") {
                    *set = failed_set("workers", 297, refused);
                }
            }
            sets.insert(3, failed_set("task_blockers", 297, refused));
            Reply::Rows(sets)
        }
        _ => recorded.respond(sql),
    }));
    let (code, report, stderr) = triage_json(&server, "1");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("ALTER SERVER ROLE ##MS_ServerStateReader## ADD MEMBER [spiral];"),
        "{notes}\n{stderr}"
    );
    assert!(
        notes.contains("sys.dm_exec_requests may show only spiral's own connection"),
        "{notes}"
    );
    let unknown = unknown_ids(&report);
    for id in ["worker-thread-exhaustion", "blocking-chain"] {
        assert!(unknown.iter().any(|u| u == id), "{id}: {unknown:?}");
    }
    assert_eq!(report["figures"]["max_workers"], serde_json::Value::Null);
    assert_eq!(code, 3, "nothing wrong seen, but not everything could be");
}

#[test]
fn azure_workers_are_not_judged_against_the_host() {
    let recorded = Arc::new(incident());
    let server = TdsServer::start(Behaviour::accept(move |sql| match batch_name(sql) {
        "sample" => {
            let mut sets = recorded.sets(true);
            sets[0] = facts_of("12.0.2000.8", "Microsoft SQL Azure (RTM)", 1, 5, None);
            Reply::Rows(sets)
        }
        _ => recorded.respond(sql),
    }));
    let (_, report, _) = triage_json(&server, "1");
    assert_eq!(
        severity(&report, "worker-thread-exhaustion").as_deref(),
        Some("unknown")
    );
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("service objective") && notes.contains("sys.dm_db_resource_stats"),
        "{notes}"
    );
}

#[test]
fn plan_cache_stubs_are_not_single_use_plans() {
    // 'optimize for ad hoc workloads' on: every one-off shape leaves a stub, not a plan.
    let mut r = healthy();
    r.plan_cache = vec![
        ("Adhoc", 4_000, 900, 600_000_000, 60_000),
        ("Prepared", 3_000, 200, 900_000_000, 0),
    ];
    let server = serve(r);
    let (_, report, stderr) = triage_json(&server, "2");
    assert!(
        support::verdict(&report, "plan-cache-bloat").is_none(),
        "{}\n{stderr}",
        report["verdicts"]
    );
    let (_, snap, _) = captured(&server, &[]);
    assert_eq!(snap["plan_cache_stubs"], 60_000);
    // Two samples, one walk of the plan cache.
    let walks = server
        .stats
        .sql_log()
        .iter()
        .filter(|s| batch_name(s) == "plan_cache")
        .count();
    assert_eq!(walks, 2, "one per run: triage, then capture");
}

#[test]
fn a_kill_that_waits_for_its_rollback_is_not_a_failure() {
    let recorded = Arc::new(healthy());
    let r2 = recorded.clone();
    let server = TdsServer::start(Behaviour::accept(move |sql| match batch_name(sql) {
        // KILL blocks while the session rolls back a long transaction.
        "kill" => Reply::Hang,
        "kill_status" => Reply::Rows(vec![ResultSet::new(
            vec![col("kill_state", ColType::Int)],
            vec![vec![int(1)]],
        )]),
        _ => r2.respond(sql),
    }));
    let conn = target(&server);
    let (code, r, err) = run_json(&[
        "kill",
        &conn,
        "--encrypt",
        "off",
        "--user",
        "shopry_app",
        "--idle-over",
        "3s",
        "--max",
        "1",
        "--execute",
        "--yes",
        "--query-timeout",
        "1s",
    ]);
    let outcomes: Vec<&str> = r["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["killed"], "{err}");
    assert_eq!(code, 0, "{err}");
    let stats = server.stats.snapshot();
    assert!(stats.attentions >= 1, "the hung KILL was cancelled");
    assert!(
        server
            .stats
            .sql_log()
            .iter()
            .any(|s| batch_name(s) == "kill_status")
    );
}

#[test]
fn dac_checks_which_instance_answered_and_connects_to_master() {
    let server = serve(healthy()); // answers as the default instance
    let (browser, guard) = start_browser_responder("SHOP", server.port(), 1);
    let conn = format!(
        "Server=127.0.0.1\\SHOP;User Id=sa;Password={PASSWORD};Database=shopry_shopifyproductaddons"
    );
    let out = spiral()
        .env("SPIRAL_SQL_BROWSER_PORT", browser.port().to_string())
        .args([
            "triage",
            &conn,
            "--dac",
            "--encrypt",
            "off",
            "--samples",
            "1",
        ])
        .output()
        .expect("spiral runs");
    let (code, _, stderr) = decode(out);
    assert_eq!(guard.requests(), 1);
    assert_eq!(code, 3, "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("answered by DB01 (instance MSSQLSERVER), not instance SHOP"),
        "{stderr}"
    );
    assert_eq!(server.stats.login_infos()[0].database, "master");
}

#[test]
fn dac_on_a_named_instance_never_falls_back_to_1434() {
    // No Browser answers (a port where nothing listens).
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = silent.local_addr().expect("addr").port();
    let out = spiral()
        .env("SPIRAL_SQL_BROWSER_PORT", port.to_string())
        .args([
            "triage",
            &format!("Server=127.0.0.1\\SHOP;User Id=sa;Password={PASSWORD}"),
            "--dac",
            "--encrypt",
            "off",
            "--samples",
            "1",
        ])
        .output()
        .expect("spiral runs");
    let (code, _, stderr) = decode(out);
    assert_eq!(code, 3);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("admin:127.0.0.1,PORT"), "{stderr}");
}

#[test]
fn dac_is_refused_for_postgres_and_mysql() {
    for url in ["postgres://u@127.0.0.1:1/db", "mysql://u@127.0.0.1:1/db"] {
        let (code, _, stderr) = run(&["triage", url, "--dac", "--samples", "1"]);
        assert_eq!(code, 3, "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("--dac is SQL Server's"), "{stderr}");
    }
}

#[test]
fn bundled_orphaned_dtc_capture_names_the_transaction_and_its_kill() {
    let (code, r, err) = run_json(&[
        "triage",
        "--replay",
        "captures/sqlserver-orphaned-dtc.jsonl",
    ]);
    assert_eq!(code, 2, "{err}");
    let v = support::verdict(&r, "blocking-chain").unwrap_or_else(|| panic!("{}", r["verdicts"]));
    assert_eq!(v["severity"], "critical");
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.starts_with("an orphaned distributed transaction (blocking session -2) leads a chain blocking 18 sessions, 2 deep"),
        "{summary}"
    );
    let actions = v["actions"].to_string();
    assert!(
        actions.contains("KILL 'D5F1E6A2-6C1B-4E0B-9C3F-2B7A41C09E55';"),
        "{actions}"
    );
    assert!(!r.to_string().contains("KILL -2"));
    // The table view says it in words too.
    let (_, table, _) = run(&[
        "triage",
        "--replay",
        "captures/sqlserver-orphaned-dtc.jsonl",
    ]);
    assert!(
        table.contains("orphaned distributed transaction"),
        "{table}"
    );
    let (_, view, _) = run(&[
        "blocking",
        "--replay",
        "captures/sqlserver-orphaned-dtc.jsonl",
    ]);
    assert!(view.contains("orphaned DTC"), "{view}");
}

#[test]
fn a_failed_plan_cache_walk_costs_only_the_plan_cache() {
    let recorded = Arc::new(healthy());
    let server = TdsServer::start(Behaviour::accept(move |sql| match batch_name(sql) {
        "plan_cache" => Reply::Error {
            number: 1222,
            class: 16,
            message: "Lock request time out period exceeded.".into(),
        },
        _ => recorded.respond(sql),
    }));
    let (code, report, stderr) = triage_json(&server, "2");
    assert_eq!(unknown_ids(&report), ["plan-cache-bloat"], "{stderr}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("the plan cache was not read") && notes.contains("error 1222"),
        "{notes}"
    );
    assert_eq!(code, 3, "{stderr}");
    // Tried once, not again on the next sample.
    let walks = server
        .stats
        .sql_log()
        .iter()
        .filter(|s| batch_name(s) == "plan_cache")
        .count();
    assert_eq!(walks, 1);
}

#[test]
fn printed_sql_server_statements_never_take_the_1900_sentinel_or_a_negative_id() {
    use spiral::actions::{kill_idle_sessions, terminate};
    use spiral::model::snapshot::{Engine, Snapshot};
    let mut snap = Snapshot::empty(Engine::Mssql, Utc::now());
    // A session that never ran a request has last_request_end_time 1900-01-01: it must
    // not look 124 years idle to the printed KILL.
    let kill = kill_idle_sessions(&snap, None, "shopry_app", Some("app-backend-api"), 300);
    assert!(
        kill.contains(
            "COALESCE(NULLIF(last_request_end_time, '19000101'), NULLIF(login_time, '19000101'), GETDATE()) < DATEADD(second, -300, GETDATE())"
        ),
        "{kill}"
    );
    assert_eq!(
        terminate(&snap, -2),
        "KILL '<UOW>'; with the UOW from: SELECT DISTINCT request_owner_guid FROM sys.dm_tran_locks WHERE request_session_id = -2;"
    );
    snap.orphaned_transactions = vec!["A".into(), "B'".into()];
    assert_eq!(terminate(&snap, -2), "KILL 'A'; KILL 'B''';");
    assert!(terminate(&snap, -3).starts_with("nothing to KILL"));
    assert_eq!(terminate(&snap, 77), "KILL 77;");
}

/// The held-out case of the review: 340 requests queued for a memory grant, none waiting
/// 15 s, behind a reporting query holding 24 GB at DOP 8; 6 requests gave up (error 8645)
/// before the window and 3 more during it.
fn grant_queue() -> Recorded {
    let mut r = healthy();
    r.sessions.push(S::active(
        77,
        "ip-10-0-9-1",
        "nightly-report",
        "shopry_app",
        "running",
        "SELECT",
        None,
        95_000,
        "SELECT [o].[ShopId], SUM([o].[Total]) FROM [dbo].[Order] AS [o] GROUP BY [o].[ShopId] ORDER BY 2 DESC",
    ));
    r.grants = GrantFigures {
        semaphores: vec![
            (1, "internal", 0, 0, 0, 1_200_000),
            (1, "internal", 0, 0, 0, 60_000),
            (2, "default", 336, 6, 47_900_000, 48_000_000),
            (2, "default", 4, 0, 2_390_000, 2_400_000),
        ],
        waiters: 340,
        holders: 41,
        longest_wait_ms: Some(14_200),
        largest: vec![
            (77, 25_165_824, 25_165_824, 8),
            (131, 4_194_304, 6_291_456, 4),
            (214, 2_097_152, 2_097_152, 1),
        ],
    };
    // 340 requests waiting all along: about 340,000 ms of RESOURCE_SEMAPHORE per second.
    r.waits = |secs| {
        let mut w = calm_waits(secs);
        w.push((
            "RESOURCE_SEMAPHORE",
            grow(70_000_000, 340_000.0, secs),
            0,
            grow(90_000, 30.0, secs),
        ));
        w
    };
    r
}

#[test]
fn memory_grant_queue_is_critical_through_the_wire() {
    let server = serve(grant_queue());
    let (code, report, stderr) = triage_json(&server, "2");
    assert_eq!(
        severity(&report, "memory-grant-exhaustion").as_deref(),
        Some("critical"),
        "{}\n{stderr}",
        report["verdicts"]
    );
    let v = report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["id"] == "memory-grant-exhaustion")
        .cloned()
        .unwrap_or_default();
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("340 requests are queued")
            && summary.contains("session 77 (24,576 MB, DOP 8, nightly-report)"),
        "{summary}"
    );
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([77, 131, 214]));
    let pool = v["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["key"] == "pool_default")
        .map(|f| f["value"].to_string())
        .unwrap_or_default();
    assert!(
        pool.contains("340 waiting"),
        "both semaphores summed: {pool}"
    );
    assert_eq!(code, 2, "{stderr}");
    // The recorded rows answer the statements spiral sent: every column they carry is named
    // in the batch, and both statements are inside TRY/CATCH.
    let log = server.stats.sql_log();
    let sample = log
        .iter()
        .find(|s| batch_name(s) == "sample")
        .cloned()
        .unwrap_or_default();
    let grants = grant_queue().grants;
    for set in [grant_pools(&grants), memory_grants(&grants)] {
        for c in &set.columns {
            assert!(
                sample.contains(&format!("AS {}", c.name)),
                "{} not in the batch",
                c.name
            );
        }
    }
    for caught in ["N'grant_pools'", "N'memory_grants'"] {
        assert!(sample.contains(caught), "{caught}");
    }
    assert!(sample.contains("FROM sys.dm_exec_query_resource_semaphores AS rs"));
    assert!(sample.contains("WHERE mg.grant_time IS NOT NULL"));
    for c in &wait_stats(&[]).columns {
        assert!(
            sample.contains(&format!("AS {}", c.name)),
            "{} not in the batch",
            c.name
        );
    }
    // The waits accrued between the samples: RESOURCE_SEMAPHORE is a poison wait, flagged in
    // a note; the grant verdict carries it as evidence.
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("Poison waits accrued") && notes.contains("RESOURCE_SEMAPHORE"),
        "{notes}"
    );
    assert!(
        !notes.contains("THREADPOOL"),
        "12 ms since startup is not accrual: {notes}"
    );
    let top = &report["waits_accrued"][0];
    assert_eq!(
        (&top["wait_type"], &top["class"], &top["poison"]),
        (
            &serde_json::json!("RESOURCE_SEMAPHORE"),
            &serde_json::json!("memory"),
            &serde_json::json!(true)
        ),
        "{}",
        report["waits_accrued"]
    );
    let accrued = v["evidence"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["key"] == "resource_semaphore_waits_accrued")
        .and_then(|f| f["number"].as_f64())
        .unwrap_or(0.0);
    assert!(
        accrued > 100.0,
        "seconds of RESOURCE_SEMAPHORE accrued: {accrued}"
    );
}

#[test]
fn waits_view_shows_waits_diffed_over_the_window() {
    let server = serve(grant_queue());
    let (code, view, stderr) = run_json(&[
        "waits",
        &target(&server),
        "--encrypt",
        "off",
        "--samples",
        "2",
        "--interval",
        "1s",
    ]);
    assert!(matches!(code, 0..=2), "{stderr}");
    let section = view["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["key"] == "waits_accrued")
        .cloned()
        .unwrap_or_default();
    let rows = section["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        rows.first().map(|r| r["wait"].clone()),
        Some(serde_json::json!("RESOURCE_SEMAPHORE")),
        "{section}"
    );
    assert_eq!(rows[0]["class"], "memory");
    assert_eq!(rows[0]["poison"], "POISON");
    let per_sec = rows[0]["ms_per_sec"].as_f64().unwrap_or(0.0);
    assert!((200_000.0..500_000.0).contains(&per_sec), "{per_sec}");
    // A wait that did not move over the window is not listed.
    assert!(!rows.iter().any(|r| r["wait"] == "THREADPOOL"), "{section}");
    assert!(
        rows.iter()
            .any(|r| r["wait"] == "ASYNC_NETWORK_IO" && r["poison"] == "")
    );
}

#[test]
fn a_failed_grant_statement_loses_only_memory_grants() {
    // Both grant statements fail (a lock timeout, a refused DMV): the check is unknown,
    // the note names the area, and the rest of the sample is still diagnosed.
    let server = serve_edited(healthy(), |sets| {
        let mut out = Vec::new();
        for set in sets {
            if is_set(&set, "grant_pool_id") {
                out.push(tds_server::Statement::Rows(failed_set(
                    "grant_pools",
                    1222,
                    "Lock request time out period exceeded.",
                )));
            } else if is_set(&set, "grant_waiters") {
                out.push(tds_server::Statement::Rows(failed_set(
                    "memory_grants",
                    1222,
                    "Lock request time out period exceeded.",
                )));
            } else {
                out.push(tds_server::Statement::Rows(set));
            }
        }
        out
    });
    let (code, report, stderr) = triage_json(&server, "1");
    assert_eq!(
        unknown_ids(&report),
        ["memory-grant-exhaustion"],
        "{stderr}"
    );
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("memory grants") && notes.contains("error 1222"),
        "{notes}"
    );
    assert_eq!(code, 3, "{stderr}");
    // A caught error after the grant rows arrived keeps them, marked partial.
    let server = serve_edited(grant_queue(), |sets| {
        let mut out = Vec::new();
        for set in sets {
            let grants = is_set(&set, "grant_waiters");
            out.push(tds_server::Statement::Rows(set));
            if grants {
                out.push(tds_server::Statement::Rows(failed_set(
                    "memory_grants",
                    1222,
                    "Lock request time out period exceeded.",
                )));
            }
        }
        out
    });
    let (_, snap, _) = captured(&server, &[]);
    assert_eq!(snap["memory_grants"]["waiters"], 340);
    let gaps = snap["gaps"].to_string();
    assert!(
        gaps.contains("memory-grants") && gaps.contains("memory grants is partial"),
        "{gaps}"
    );
}

// ---------------------------------------------------------------------------
// Issue 11: parallel requests, tempdb page latches, log writes, the runnable queue
// ---------------------------------------------------------------------------

/// The parallel-requests statement's one row: (requests, tasks, most tasks per request,
/// MAXDOP, cost threshold).
fn parallelism(p: (i64, i64, i64, i64, i64)) -> ResultSet {
    ResultSet::new(
        vec![
            col("parallel_requests", ColType::BigInt),
            col("parallel_tasks", ColType::BigInt),
            col("max_request_tasks", ColType::BigInt),
            col("maxdop_setting", ColType::BigInt),
            col("cost_threshold_setting", ColType::BigInt),
        ],
        vec![vec![big(p.0), big(p.1), big(p.2), big(p.3), big(p.4)]],
    )
}

/// tempdb page-latch waits by page: (resource, waiters, longest ms).
fn tempdb_latches(rows: &[(&str, i64, i64)]) -> ResultSet {
    ResultSet::new(
        vec![
            col("latch_resource", ColType::NVarChar),
            col("latch_waiters", ColType::BigInt),
            col("latch_longest_ms", ColType::BigInt),
        ],
        rows.iter()
            .map(|&(r, n, ms)| vec![text(r), big(n), big(ms)])
            .collect(),
    )
}

/// The sample with the two issue-11 result sets after the memory grants, where the batch
/// sends them (`latches` None: that statement's CATCH answers instead).
fn serve_with_issue11(
    recorded: Recorded,
    par: (i64, i64, i64, i64, i64),
    latches: Option<Vec<(&'static str, i64, i64)>>,
) -> TdsServer {
    serve_edited(recorded, move |sets| {
        let mut out = Vec::new();
        for set in sets {
            let after = is_set(&set, "grant_waiters");
            out.push(tds_server::Statement::Rows(set));
            if after {
                out.push(tds_server::Statement::Rows(parallelism(par)));
                out.push(tds_server::Statement::Rows(match &latches {
                    Some(rows) => tempdb_latches(rows),
                    None => failed_set(
                        "tempdb_latches",
                        297,
                        "The user does not have permission to perform this action.",
                    ),
                }));
            }
        }
        out
    })
}

fn verdict_of(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["verdicts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["id"] == id)
        .cloned()
        .unwrap_or_default()
}

#[test]
fn tempdb_allocation_contention_through_the_wire() {
    let server = serve_with_issue11(
        healthy(),
        (0, 0, 0, 8, 50),
        Some(vec![
            ("2:1:1", 90, 2_300),
            ("2:3:1", 25, 800),
            ("2:1:3", 9, 300),
            ("2:1:116", 40, 9_000),
        ]),
    );
    let (code, report, stderr) = triage_json(&server, "2");
    let v = verdict_of(&report, "tempdb-allocation-contention");
    assert_eq!(
        v["severity"], "critical",
        "{}\n{stderr}",
        report["verdicts"]
    );
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.starts_with("124 tasks") && summary.contains("PFS 2:1:1 (90)"),
        "{summary}"
    );
    assert_eq!(code, 2, "{stderr}");
    // The recorded rows answer the statements spiral sent: every column is named in the
    // batch, both statements are caught, and the latch filter is the one described.
    let log = server.stats.sql_log();
    let sample = log
        .iter()
        .find(|s| batch_name(s) == "sample")
        .cloned()
        .unwrap_or_default();
    for set in [parallelism((0, 0, 0, 0, 0)), tempdb_latches(&[])] {
        for c in &set.columns {
            assert!(
                sample.contains(&format!("AS {}", c.name)),
                "{} not in the batch",
                c.name
            );
        }
    }
    for caught in ["N'parallelism'", "N'tempdb_latches'"] {
        assert!(sample.contains(caught), "{caught}");
    }
    assert!(sample.contains("WHERE wt.wait_type LIKE N'PAGELATCH[_]%'"));
    assert!(sample.contains("AND wt.resource_description LIKE N'2:%'"));
    assert!(sample.contains("FROM sys.dm_os_tasks AS t"));
    assert!(sample.contains("N''max degree of parallelism''"));
}

#[test]
fn a_refused_latch_statement_makes_only_tempdb_unknown() {
    let server = serve_with_issue11(healthy(), (0, 0, 0, 8, 50), None);
    let (code, report, stderr) = triage_json(&server, "1");
    assert_eq!(
        unknown_ids(&report),
        ["tempdb-allocation-contention"],
        "{stderr}"
    );
    assert!(
        report["notes"].to_string().contains("page-latch waits"),
        "{}",
        report["notes"]
    );
    assert_eq!(code, 3, "{stderr}");
    // Nobody waiting on a tempdb latch (an empty set) is healthy.
    let server = serve_with_issue11(healthy(), (0, 0, 0, 8, 50), Some(Vec::new()));
    let (code, report, stderr) = triage_json(&server, "2");
    assert_eq!(
        report["checks"]["tempdb-allocation-contention"], "ok",
        "{stderr}"
    );
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn worker_exhaustion_from_parallel_queries_through_the_wire() {
    let mut r = healthy();
    r.workers = WorkerFigures {
        queued: 240,
        active: 2_400,
        current: 2_400,
        runnable: 10,
        threadpool: 60,
        max: 2_400,
        cpus: 64,
    };
    let server = serve_with_issue11(r, (70, 2_100, 65, 0, 5), Some(Vec::new()));
    let (code, report, stderr) = triage_json(&server, "2");
    let v = verdict_of(&report, "worker-thread-exhaustion");
    assert_eq!(v["severity"], "critical", "{stderr}");
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("Parallel queries hold 2,100 of the active workers: 70 requests with up to 65 tasks each (MAXDOP 0, cost threshold 5)"),
        "{summary}"
    );
    let actions = v["actions"].to_string();
    assert!(
        actions.contains("(now 0: every scheduler)") && actions.contains("(now 5)"),
        "{actions}"
    );
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn log_writes_and_the_runnable_queue_through_the_wire() {
    let mut r = healthy();
    r.workers.runnable = 80;
    // Slow commits (about 40 ms each, 4 s per second) on a synchronous replica, and most
    // of the wait time spent waiting for a CPU.
    r.waits = |secs| {
        let mut w = calm_waits(secs);
        w.push((
            "WRITELOG",
            grow(9_000_000, 400.0, secs),
            2_000,
            grow(7_000_000, 200.0, secs),
        ));
        w.push((
            "HADR_SYNC_COMMIT",
            grow(4_000_000, 4_000.0, secs),
            1_000,
            grow(900_000, 100.0, secs),
        ));
        w.push((
            "SOS_SCHEDULER_YIELD",
            grow(1_000_000, 60_000.0, secs),
            grow(990_000, 59_500.0, secs),
            grow(800_000, 20_000.0, secs),
        ));
        w
    };
    let server = serve_with_issue11(r, (3, 24, 8, 8, 50), Some(Vec::new()));
    let (code, report, stderr) = triage_json(&server, "2");
    let log = verdict_of(&report, "log-write-pressure");
    assert_eq!(
        log["severity"], "warning",
        "{}\n{stderr}",
        report["verdicts"]
    );
    let summary = log["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("HADR_SYNC_COMMIT")
            && summary.contains("synchronous availability-group secondary"),
        "{summary}"
    );
    let cpu = verdict_of(&report, "cpu-pressure");
    assert_eq!(cpu["severity"], "warning", "{}", report["verdicts"]);
    let summary = cpu["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("80 tasks sit in the schedulers' runnable queues"),
        "{summary}"
    );
    assert_eq!(code, 1, "{stderr}");
}

/// Runs `spiral capture` for `samples` samples and returns every snapshot it wrote.
fn captured_all(server: &TdsServer, samples: &str) -> Vec<serde_json::Value> {
    let dir = std::env::temp_dir().join(format!(
        "spiral-mssql-wire-all-{}-{}",
        std::process::id(),
        server.port()
    ));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("capture.jsonl");
    let conn = target(server);
    let path = file.to_string_lossy().to_string();
    let (code, _, stderr) = run(&[
        "capture",
        conn.as_str(),
        "--encrypt",
        "off",
        "--samples",
        samples,
        "--interval",
        "1s",
        "-o",
        &path,
    ]);
    assert!(matches!(code, 0..=2), "exit {code}: {stderr}");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The MERGE at the head of incident 000's lock cycle, for checking what text a row shows.
const CENSOR_SESSION: i64 = 512;

#[test]
fn texts_and_client_names_travel_once_per_connection() {
    let recorded = Arc::new(incident());
    let r = recorded.clone();
    let server = TdsServer::start(Behaviour::accept(move |sql| r.respond(sql)));
    let snaps = captured_all(&server, "3");
    assert_eq!(snaps.len(), 3);
    // The server sent each text and client once (its #spiral_sent), yet every sample shows
    // them: spiral keeps what the connection sent.
    for snap in &snaps {
        let s = session_json(snap, CENSOR_SESSION).expect("the censor's session");
        assert!(
            s["query"]
                .as_str()
                .is_some_and(|q| q.starts_with("MERGE [dbo].[WidgetCache]")),
            "{s}"
        );
        assert_eq!(s["application"], "app-backend-api");
    }
    // One text per statement was sent, over all three samples.
    let distinct: std::collections::BTreeSet<&str> =
        recorded.sessions.iter().filter_map(|s| s.text).collect();
    let clients: std::collections::BTreeSet<i64> =
        recorded.sessions.iter().map(client_key).collect();
    assert_eq!(
        recorded.sent.lock().unwrap().len(),
        distinct.len() + clients.len()
    );
    // The batch text never changed, and nothing but the samples ran.
    let batches = recorded.batches.lock().unwrap().clone();
    assert_eq!(batches, ["session_setup", "sample", "sample", "sample"]);
}

#[test]
fn a_lost_text_set_shows_unknown_text_then_is_sent_again_after_a_reset() {
    let recorded = Arc::new(incident());
    // The first sample's clients and texts are recorded as sent but never arrive.
    recorded.lose_names.store(2, Ordering::SeqCst);
    let r = recorded.clone();
    let server = TdsServer::start(Behaviour::accept(move |sql| r.respond(sql)));
    let snaps = captured_all(&server, "4");
    assert_eq!(snaps.len(), 4);
    // While spiral lacks them, the text is unknown, never another statement's text.
    for snap in &snaps[..2] {
        let s = session_json(snap, CENSOR_SESSION).expect("the censor's session");
        assert!(s["query"].is_null(), "{s}");
        assert!(s["application"].is_null(), "{s}");
    }
    // Missing two samples running: the fixed reset batch, then everything comes again.
    let s = session_json(&snaps[3], CENSOR_SESSION).expect("the censor's session");
    assert!(
        s["query"]
            .as_str()
            .is_some_and(|q| q.starts_with("MERGE [dbo].[WidgetCache]")),
        "{s}"
    );
    assert_eq!(s["application"], "app-backend-api");
    let batches = recorded.batches.lock().unwrap().clone();
    assert_eq!(
        batches,
        [
            "session_setup",
            "sample",
            "sample",
            "sent_reset",
            "sample",
            "sample"
        ]
    );
}

/// Incident 003's shape on SQL Server: an import's transaction open for two hours, the log
/// of its database 93% used and waiting on ACTIVE_TRANSACTION.
fn long_import() -> impl Fn(Vec<ResultSet>) -> Vec<tds_server::Statement> + Send + Sync {
    |sets| {
        let mut out: Vec<tds_server::Statement> =
            sets.into_iter().map(tds_server::Statement::Rows).collect();
        out.push(tds_server::Statement::Rows(ResultSet::new(
            vec![
                col("log_database", ColType::NVarChar),
                col("log_reuse_wait", ColType::VarChar),
                col("log_used_pct", ColType::Float),
            ],
            vec![
                vec![
                    text(DATABASE),
                    Value::VarChar(Some("ACTIVE_TRANSACTION".into())),
                    Value::Float(Some(93.5)),
                ],
                vec![
                    text("shopry_reporting"),
                    Value::VarChar(Some("LOG_BACKUP".into())),
                    Value::Float(Some(12.0)),
                ],
            ],
        )));
        out.push(tds_server::Statement::Rows(ResultSet::new(
            vec![
                col("trx_session_id", ColType::Int),
                col("trx_database", ColType::NVarChar),
                col("trx_age_ms", ColType::BigInt),
                col("trx_log_bytes", ColType::BigInt),
            ],
            vec![
                vec![
                    int(104),
                    text(DATABASE),
                    big(7_200_000),
                    big(38_000_000_000),
                ],
                vec![int(201), text(DATABASE), big(45), big(1_024)],
            ],
        )));
        out
    }
}

#[test]
fn long_transaction_holding_the_log_is_named_with_its_age_and_log_bytes() {
    sample_reads(&[
        "log_reuse_wait_desc",
        "Log File(s) Used Size (KB)",
        "sys.dm_tran_session_transactions",
        "database_transaction_log_bytes_used",
    ]);
    let server = serve_edited(healthy(), long_import());
    let (_, snap, stderr) = captured(&server, &[]);
    let h = &snap["horizon"];
    assert_eq!(h["holders"][0]["session_id"], 104, "{h}\n{stderr}");
    assert_eq!(h["holders"][0]["age_ms"], 7_200_000);
    assert_eq!(h["holders"][0]["log_bytes"], 38_000_000_000_u64);
    assert_eq!(h["logs"][0]["wait"], "ACTIVE_TRANSACTION");
    assert_eq!(h["logs"][0]["used_pct"], 93.5);
    let (code, report, stderr) = triage_json(&server, "2");
    let v = support::verdict(&report, "long-transaction")
        .unwrap_or_else(|| panic!("{:?}\n{stderr}", verdict_ids(&report)));
    assert_eq!(v["severity"], "critical", "{v}");
    assert_eq!(code, 2);
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(summary.contains("104"), "{summary}");
    assert!(
        summary.contains("ACTIVE_TRANSACTION") && summary.contains("9002"),
        "{summary}"
    );
    assert!(v.to_string().contains("38,000,000,000"), "{v}");
}

/// Under RCSI: session 112 has read in a snapshot transaction for 40 minutes while writers
/// churn, so the version store grows by 256 MB a sample and holds a fifth of tempdb's
/// 16 GB of data files and more. No log waits on it (a reader writes no log).
fn version_store_held() -> impl Fn(Vec<ResultSet>) -> Vec<tds_server::Statement> + Send + Sync {
    let asked = AtomicU64::new(0);
    move |sets| {
        let n = asked.fetch_add(1, Ordering::SeqCst) as i64;
        let nchar = |v: &str| Value::NChar(Some(v.to_string()), 128);
        let mut out = Vec::new();
        for mut set in sets {
            if set
                .columns
                .first()
                .is_some_and(|c| c.name == "counter_object")
            {
                set.rows.push(vec![
                    nchar("SQLServer:Transactions"),
                    nchar("Version Store Size (KB)"),
                    nchar(""),
                    big((3_500 + 256 * n) * 1024),
                ]);
                set.rows.push(vec![
                    nchar("SQLServer:Databases"),
                    nchar("Data File(s) Size (KB)"),
                    nchar("tempdb"),
                    big(16 * 1024 * 1024),
                ]);
            }
            out.push(tds_server::Statement::Rows(set));
        }
        out.push(tds_server::Statement::Rows(ResultSet::new(
            vec![
                col("trx_session_id", ColType::Int),
                col("trx_database", ColType::NVarChar),
                col("trx_age_ms", ColType::BigInt),
                col("trx_log_bytes", ColType::BigInt),
            ],
            vec![vec![
                int(112),
                text(DATABASE),
                big(2_400_000 + 1_000 * n),
                big(0),
            ]],
        )));
        out.push(tds_server::Statement::Rows(ResultSet::new(
            vec![
                col("vs_session_id", ColType::Int),
                col("vs_age_ms", ColType::BigInt),
                col("vs_is_snapshot", ColType::Bit),
            ],
            vec![
                vec![int(112), big(2_400_000 + 1_000 * n), bit(true)],
                vec![int(131), big(3_000), bit(false)],
            ],
        )));
        out
    }
}

#[test]
fn long_transaction_names_the_session_holding_the_version_store() {
    sample_reads(&[
        "Version Store Size (KB)",
        "Data File(s) Size (KB)",
        "sys.dm_tran_active_snapshot_database_transactions",
        "elapsed_time_seconds",
    ]);
    let server = serve_edited(healthy(), version_store_held());
    let (_, snap, stderr) = captured(&server, &[]);
    let h = &snap["horizon"];
    assert_eq!(h["version_store_kb"], 3_500 * 1024, "{h}\n{stderr}");
    assert_eq!(h["tempdb_data_kb"], 16 * 1024 * 1024, "{h}");
    assert_eq!(h["version_holders"][0]["session_id"], 112, "{h}");
    assert_eq!(h["version_holders"][0]["age_ms"], 2_400_000, "{h}");
    let (code, report, stderr) = triage_json(&server, "2");
    let v = support::verdict(&report, "long-transaction")
        .unwrap_or_else(|| panic!("{:?}\n{stderr}", verdict_ids(&report)));
    assert_eq!(v["severity"], "warning", "{v}");
    assert_eq!(code, 1, "{:?}", verdict_ids(&report));
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("session 112") && summary.contains("open for 40m"),
        "{summary}"
    );
    assert!(
        summary.contains(
            "the version store in tempdb (4,012 MB, 24% of its data files, +256 MB over the window)"
        ) && summary.contains("cannot be cleaned past session 112's row-versioning transaction"),
        "{summary}"
    );
    assert!(!summary.contains("9002"), "no log is held: {summary}");
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([112]));
}

/// The sample batch as sent asks for each of these (a DMV, a column, a counter name).
fn sample_reads(needles: &[&str]) {
    let sample = wire_sample_text();
    for needle in needles {
        assert!(sample.contains(needle), "{needle}");
    }
}

/// The sample batch as the binary sends it, rebuilt from the part files the same way.
fn wire_sample_text() -> String {
    let parts = include_str!("../queries/mssql/sample.sql")
        .lines()
        .find_map(|l| l.strip_prefix("-- parts:"))
        .unwrap_or("")
        .to_string();
    let mut out = String::new();
    for name in parts.split(',').map(str::trim) {
        let path = format!(
            "{}/queries/mssql/parts/{name}.sql",
            env!("CARGO_MANIFEST_DIR")
        );
        out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
    }
    out
}

// ---------------------------------------------------------------------------
// The DAC sample counts sessions on the server (issue 10, review finding #18)
// ---------------------------------------------------------------------------

/// The dedicated admin connection at the test server's own port (`admin:` with a port
/// needs no SQL Browser).
fn dac_target(server: &TdsServer) -> String {
    format!(
        "Server=admin:127.0.0.1,{};User Id=sa;Password={PASSWORD}",
        server.port()
    )
}

/// A triage over the DAC of incident 000, the server listing every session (`lists_all`,
/// as before) or counting them: exit code, report, stderr and the server's counters.
fn dac_triage(
    lists_all: bool,
    samples: &str,
    extra: &[&str],
) -> (i32, serde_json::Value, String, StatsSnapshot) {
    let mut recorded = incident();
    recorded.dac_lists_all = lists_all;
    let server = serve(recorded);
    let conn = dac_target(&server);
    let mut args = vec![
        "triage",
        conn.as_str(),
        "--encrypt",
        "off",
        "--samples",
        samples,
        "--interval",
        "1s",
    ];
    args.extend_from_slice(extra);
    let (code, report, stderr) = run_json(&args);
    (code, report, stderr, server.stats.snapshot())
}

/// Verdicts as the engineer reads them: id, severity, summary, figures, culprits,
/// actions. Rates are masked: the recorded counters grow with the wall clock, so two runs
/// never see quite the same seconds between samples.
fn verdict_bodies(report: &serde_json::Value) -> Vec<serde_json::Value> {
    fn mask_rates(text: &str) -> String {
        let words: Vec<&str> = text.split(' ').collect();
        let numeric = |w: &str| w.starts_with(|c: char| c.is_ascii_digit());
        (0..words.len())
            .map(|i| {
                let w = words[i];
                let next_is_rate = words.get(i + 1).is_some_and(|n| n.contains("/s"));
                if numeric(w) && (w.contains("/s") || next_is_rate) {
                    "#".to_string()
                } else {
                    w.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
    fn mask(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::String(t) => serde_json::Value::String(mask_rates(t)),
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(mask).collect()),
            serde_json::Value::Object(o) => {
                let rate = o
                    .get("value")
                    .and_then(|x| x.as_str())
                    .is_some_and(|x| x.contains("/s"));
                serde_json::Value::Object(
                    o.iter()
                        .filter(|(k, _)| !(rate && k.as_str() == "number"))
                        .map(|(k, x)| (k.clone(), mask(x)))
                        .collect(),
                )
            }
            other => other.clone(),
        }
    }
    report["verdicts"]
        .as_array()
        .map(|a| a.iter().map(mask).collect())
        .unwrap_or_default()
}

#[test]
fn dac_sample_counts_sessions_on_the_server_with_the_same_verdicts() {
    let (code_all, all, err_all, all_two) = dac_triage(true, "2", &[]);
    let (code, grouped, err, grouped_two) = dac_triage(false, "2", &[]);
    assert_eq!(code_all, 2, "{err_all}");
    assert_eq!(code, code_all, "{err}");
    let (a, g) = (verdict_bodies(&all), verdict_bodies(&grouped));
    let ids: Vec<String> = verdict_ids(&grouped);
    for (x, y) in a.iter().zip(&g) {
        // Deadlocks are counted from a counter that grows with the wall clock: how many
        // fall between the two samples varies from run to run, not with the sessions.
        let clocked = |v: &serde_json::Value| {
            v["evidence"].as_array().into_iter().flatten().any(|e| {
                e["value"] == "#" || e["key"].as_str().is_some_and(|k| k.contains("deadlock"))
            })
        };
        if clocked(x) {
            // Counters grow with the wall clock: compare what the sessions decide.
            let steady = |v: &serde_json::Value| -> Vec<serde_json::Value> {
                v["evidence"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| {
                        e["value"] != "#"
                            && e["key"].as_str().is_some_and(|k| {
                                !k.contains("deadlock") && !k.contains("per_batch")
                            })
                    })
                    .cloned()
                    .collect()
            };
            assert_eq!(
                (&x["id"], &x["severity"], &x["culprits"], steady(x)),
                (&y["id"], &y["severity"], &y["culprits"], steady(y))
            );
            continue;
        }
        assert_eq!(
            x, y,
            "a verdict differs between listed and counted sessions"
        );
    }
    assert_eq!(a.len(), g.len(), "{:?} against {ids:?}", verdict_ids(&all));
    let steady = |r: &serde_json::Value| -> Vec<(String, serde_json::Value)> {
        r["figures"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !k.ends_with("_per_sec"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(steady(&all), steady(&grouped));
    assert_eq!(all["status"], grouped["status"]);
    // The story of incident 000 is told over the DAC as from the full sample.
    for id in [
        "compile-gate-saturation",
        "worker-thread-exhaustion",
        "deadlock-cycle",
        "client-pool-saturation",
    ] {
        assert_eq!(
            severity(&grouped, id).as_deref(),
            Some("critical"),
            "{id} in {ids:?}"
        );
    }
    for id in ["client-timeout-exceeded", "read-blocked-by-writers"] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    let full = serve(incident());
    let (full_code, full_report, _) = triage_json(&full, "2");
    assert_eq!(full_code, code);
    for id in [
        "compile-gate-saturation",
        "worker-thread-exhaustion",
        "deadlock-cycle",
        "client-pool-saturation",
        "client-timeout-exceeded",
        "read-blocked-by-writers",
    ] {
        let (f, d) = (verdict_of(&full_report, id), verdict_of(&grouped, id));
        assert_eq!(f["severity"], d["severity"], "{id}");
        assert_eq!(f["culprits"], d["culprits"], "{id}");
    }
    // Bytes received per DAC sample: a two-sample run less a one-sample run.
    let (_, _, _, all_one) = dac_triage(true, "1", &[]);
    let (_, _, _, grouped_one) = dac_triage(false, "1", &[]);
    let before = all_two.bytes_out - all_one.bytes_out;
    let after = grouped_two.bytes_out - grouped_one.bytes_out;
    eprintln!(
        "incident 000 over the DAC: per sample {before} bytes received with every session \
         listed, {after} with sessions counted on the server; first sample with connect and \
         setup {} and {}; sent by spiral per sample {} and {}",
        all_one.bytes_out,
        grouped_one.bytes_out,
        all_two.bytes_in - all_one.bytes_in,
        grouped_two.bytes_in - grouped_one.bytes_in
    );
    assert!(after * 5 < before, "{after} against {before}");
    assert_eq!(
        grouped_two.rpcs - grouped_one.rpcs,
        1,
        "one round trip per sample"
    );
}

#[test]
fn a_dac_capture_keeps_the_groups_and_replays_to_the_same_verdicts() {
    let server = serve(incident());
    let dir = std::env::temp_dir().join(format!(
        "spiral-mssql-dac-{}-{}",
        std::process::id(),
        server.port()
    ));
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("dac.jsonl");
    let path = file.to_string_lossy().to_string();
    let conn = dac_target(&server);
    let (code, _, stderr) = run(&[
        "capture",
        &conn,
        "--encrypt",
        "off",
        "--samples",
        "2",
        "--interval",
        "1s",
        "-o",
        &path,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let snap: serde_json::Value = text
        .lines()
        .nth(1)
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let groups = snap["session_groups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let counted: u64 = groups.iter().filter_map(|g| g["count"].as_u64()).sum();
    let listed = snap["sessions"].as_array().map_or(0, Vec::len) as u64;
    assert!(!groups.is_empty() && listed < 100, "{listed} listed");
    assert_eq!(
        counted + listed,
        incident_sessions().len() as u64,
        "every session listed or counted, none twice"
    );
    assert!(
        groups.iter().all(|g| g["like"]["id"] == 0),
        "a group names no session"
    );
    let (live_code, live, _, _) = dac_triage(false, "2", &[]);
    let (replay_code, replayed, err) = run_json(&["triage", "--replay", &path]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(replay_code, live_code, "{err}");
    assert_eq!(verdict_ids(&replayed), verdict_ids(&live));
    for id in verdict_ids(&live) {
        assert_eq!(
            verdict_of(&replayed, &id)["severity"],
            verdict_of(&live, &id)["severity"],
            "{id}"
        );
    }
}

#[test]
fn kill_over_the_dac_chooses_from_every_session_never_a_group() {
    let recorded = Arc::new(incident());
    let server = {
        let r = recorded.clone();
        TdsServer::start(Behaviour::accept(move |sql| r.respond(sql)))
    };
    let conn = dac_target(&server);
    // A dry run: it lists what it would end.
    let (code, report, err) = run_json(&[
        "kill",
        &conn,
        "--encrypt",
        "off",
        "--user",
        "censor",
        "--idle-over",
        "0s",
    ]);
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = server
        .stats
        .sql_log()
        .iter()
        .map(|s| batch_name(s).to_string())
        .collect();
    assert_eq!(names, ["session_setup", "sample_dac_sessions"]);
    assert!(
        server
            .stats
            .sql_log()
            .iter()
            .all(|s| !s.contains("sys.dm_exec_sql_text")),
        "no query text over the DAC"
    );
    // The censor's sleeping connections are young, so the DAC sample would have counted
    // them in groups: kill still sees each one by id.
    let expected = incident_sessions()
        .iter()
        .filter(|s| s.login == "censor" && s.status == "sleeping")
        .count();
    assert!(expected > 0);
    let planned = report["actions"].as_array().map_or(0, Vec::len);
    assert_eq!(planned, expected, "{}", report["actions"]);
}

#[test]
fn views_over_the_dac_count_grouped_sessions_as_listed_ones() {
    // connections, waits, compiles and workers: the same tables from sessions counted on
    // the server as from every session listed.
    for view in ["connections", "waits", "compiles", "workers"] {
        let mut out = Vec::new();
        for lists_all in [true, false] {
            let mut recorded = incident();
            recorded.dac_lists_all = lists_all;
            let server = serve(recorded);
            let conn = dac_target(&server);
            let (code, report, err) =
                run_json(&[view, &conn, "--encrypt", "off", "--samples", "1"]);
            assert!(matches!(code, 0..=2), "{view}: {err}");
            let seen = (
                code,
                report["sections"].clone(),
                report["verdicts"].clone(),
                report["status"].clone(),
            );
            out.push(seen);
        }
        assert!(out[0] == out[1], "{view}: the tables differ");
        assert!(out[0].1.as_array().is_some_and(|a| !a.is_empty()), "{view}");
    }
}
