//! The engine-neutral snapshot: everything spiral knows about a server at one instant.
//!
//! Engines fill a `Snapshot` from their own catalogues (pg_stat_activity, the processlist,
//! the DMVs) and never look at it again; rules read only this model. That is the seam that
//! lets a capture taken on one machine be triaged on another, and lets every rule be tested
//! with no database at all.
//!
//! Two conventions run through the model:
//! - `Option::None` means "not collected" (the engine has no such thing, or it could not be
//!   read), never "zero". A rule that needs a missing figure stays silent or says unknown.
//! - Cumulative counters are kept raw (`counters`) and only the window turns them into
//!   rates, so a restart between samples (a counter going backwards) is noticed in one place.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::session::Session;
use crate::model::session_group::SessionGroup;

/// The database engines spiral can sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    Mysql,
    Mssql,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mysql => "mysql",
            Engine::Mssql => "mssql",
        }
    }

    /// How an engineer would name the product in a sentence.
    pub fn product(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mysql => "MySQL/MariaDB",
            Engine::Mssql => "SQL Server",
        }
    }

    pub fn all() -> [Engine; 3] {
        [Engine::Postgres, Engine::Mysql, Engine::Mssql]
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Engine::Postgres),
            "mysql" | "mariadb" => Ok(Engine::Mysql),
            "mssql" | "sqlserver" | "sql-server" => Ok(Engine::Mssql),
            other => Err(format!(
                "unknown engine '{other}' (expected postgres, mysql or mssql)"
            )),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which server answered: the version string as the server gave it, and the flavour where
/// it changes what spiral may do (MariaDB vs MySQL, RDS, Azure SQL Database).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    /// e.g. "mariadb", "mysql", "rds", "azure-sql-database"; free text, informational.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    /// True when the server is a managed service whose KILL goes through a procedure
    /// (`CALL mysql.rds_kill`): the first actions print that form.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub managed_kill: bool,
}

/// Connection slots: how many exist and how many ordinary clients may use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionLimits {
    /// The server's configured limit (max_connections; SQL Server's user connections when
    /// set, otherwise None because 32,767 is not a useful ceiling).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u64>,
    /// Slots held back for superusers/admins (superuser_reserved_connections +
    /// reserved_connections; MySQL's one extra SUPER slot is outside max_connections, so 0).
    #[serde(default)]
    pub reserved: u64,
    /// Connected clients as the server counts them (Threads_connected, numbackends, User
    /// Connections). When None, rules count client sessions instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
}

impl ConnectionLimits {
    /// Slots ordinary application users can fill before they are refused.
    pub fn usable(&self) -> Option<u64> {
        self.max_connections
            .map(|max| max.saturating_sub(self.reserved))
            .filter(|&u| u > 0)
    }
}

/// Worker threads and the queue in front of them (SQL Server's schedulers). Engines that
/// give each connection its own process or thread leave this None.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Workers {
    pub max_workers: u64,
    pub active_workers: u64,
    #[serde(default)]
    pub current_workers: u64,
    /// Tasks waiting for a worker (SUM(work_queue_count)).
    pub queued_tasks: u64,
    /// Tasks ready to run waiting for CPU.
    #[serde(default)]
    pub runnable_tasks: u64,
    /// Tasks waiting on THREADPOOL, including those that have no session yet (logins
    /// waiting for a worker are invisible in the request DMVs).
    #[serde(default)]
    pub threadpool_waiters: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<u64>,
}

/// The compile gate (SQL Server's optimizer memory gateways, summed over pools).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompileGate {
    pub waiters: u64,
    pub active: u64,
    pub limit: u64,
}

/// One row of the plan-cache summary.
/// Query memory grants (SQL Server: sys.dm_exec_query_memory_grants and
/// sys.dm_exec_query_resource_semaphores). A request that needs workspace memory for a sort
/// or a hash waits on RESOURCE_SEMAPHORE until its grant is given; when big grants hold the
/// workspace, hundreds queue even if each waits only seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryGrants {
    /// Requests queued for a grant (grant_time IS NULL) at the instant of the sample.
    pub waiters: u64,
    /// Requests holding a grant.
    pub holders: u64,
    /// The longest current wait for a grant, when anyone waits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_wait_ms: Option<u64>,
    /// Per resource pool (the regular and the small-query semaphore summed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<GrantPool>,
    /// The biggest grants held, largest first (a few at most).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub largest: Vec<GrantHolder>,
}

/// One wait type's completed waits since the server started (SQL Server
/// sys.dm_os_wait_stats, MySQL/MariaDB performance_schema's
/// events_waits_summary_global_by_event_name): cumulative, diffed by the window like the
/// counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct WaitStat {
    pub wait_ms: u64,
    #[serde(default)]
    pub signal_ms: u64,
    #[serde(default)]
    pub tasks: u64,
}

/// SQL Server: parallel requests at the instant of the sample (requests with more than one
/// task in sys.dm_os_tasks: each task holds a worker) and the server's parallelism settings.
/// Read to say whether parallel queries are what took the worker threads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Parallelism {
    /// Requests running with more than one task.
    pub parallel_requests: u64,
    /// Tasks (hence workers) those requests hold together.
    pub parallel_tasks: u64,
    /// The most tasks any one request holds.
    pub max_request_tasks: u64,
    /// sys.configurations 'max degree of parallelism' (0 = all schedulers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxdop: Option<u64>,
    /// sys.configurations 'cost threshold for parallelism' (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_threshold: Option<u64>,
}

/// SQL Server: tasks waiting on a page latch (PAGELATCH_*) in tempdb, one entry per page
/// (sys.dm_os_waiting_tasks.resource_description, "2:file:page").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PageLatchWait {
    pub resource: String,
    pub waiters: u64,
    #[serde(default)]
    pub longest_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrantPool {
    pub pool_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// waiter_count of the pool's semaphores.
    pub waiters: u64,
    pub granted_kb: u64,
    pub target_kb: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GrantHolder {
    pub session_id: i64,
    pub granted_kb: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_kb: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dop: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanCacheEntry {
    /// Adhoc, Prepared, Proc, ...
    pub object_type: String,
    pub plans: u64,
    /// Compiled plans used once (SQL Server: stubs not included).
    pub single_use: u64,
    pub size_bytes: u64,
}

/// Per-database settings that rules care about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    pub name: String,
    /// Query Store actual state: "off", "read_only", "read_write", ... (SQL Server only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_store: Option<String>,
    /// Read Committed Snapshot on (SQL Server); PostgreSQL readers never wait for writers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_committed_snapshot: Option<bool>,
}

impl DatabaseInfo {
    pub fn query_store_writes(&self) -> bool {
        matches!(self.query_store.as_deref(), Some("read_write"))
    }
}

/// The guardrails an engine offers against work that never ends. `Some(0)` means "set to
/// zero, i.e. disabled"; `None` means the engine has no such setting or it was not read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Guardrails {
    /// statement_timeout / max_execution_time / max_statement_time, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement_timeout_ms: Option<u64>,
    /// lock_timeout / innodb_lock_wait_timeout, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_timeout_ms: Option<u64>,
    /// idle_in_transaction_session_timeout / idle_transaction_timeout, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_in_transaction_timeout_ms: Option<u64>,
    /// idle_session_timeout / wait_timeout, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_session_timeout_ms: Option<u64>,
    /// SQL Server 'optimize for ad hoc workloads'.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optimize_for_ad_hoc: Option<bool>,
}

/// Parts of a snapshot that could be missing for a reason the engineer should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Area {
    /// Other users' sessions or their query text (pg_read_all_stats, PROCESS, VIEW SERVER STATE).
    OtherSessions,
    /// Lock waits and blockers.
    Locks,
    /// Worker threads and schedulers.
    Workers,
    /// Compile counters and the compile gate.
    Compiles,
    PlanCache,
    Counters,
    Settings,
    /// The text of running statements (SQL Server reads it in a step of its own).
    QueryText,
    /// Queries waiting for and holding workspace memory (SQL Server memory grants).
    MemoryGrants,
    /// Completed waits since startup (SQL Server wait statistics).
    WaitStats,
    /// Tasks waiting on page latches (SQL Server tempdb allocation pages).
    Latches,
    /// The connection pooler asked for beside the database (`--pooler`): its console
    /// stopped answering, while the database's own sample stands.
    Pooler,
}

/// Something spiral could not see, why, and what would fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub area: Area,
    pub reason: String,
    /// The grant or setting that would close the gap, e.g. "GRANT pg_read_all_stats TO app".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

/// What keeps a holder of the cleanup horizon in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HolderKind {
    /// A client session's open transaction or snapshot.
    Session,
    /// A PostgreSQL replication slot (xmin / catalog_xmin): no session, it survives restarts.
    ReplicationSlot,
    /// A two-phase transaction prepared and never committed (PREPARE TRANSACTION).
    PreparedTransaction,
}

/// One thing that holds back cleanup of old row versions: a transaction, a slot, a
/// prepared transaction. Figures the engine does not give are None.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonHolder {
    pub kind: HolderKind,
    /// The session owning it (pid, processlist id, session_id), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
    /// The slot name or the prepared transaction's gid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// How long its transaction has been open (or since it was prepared), in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_ms: Option<u64>,
    /// PostgreSQL: transaction IDs consumed since its xmin/xid, i.e. how far it holds the
    /// horizon back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xid_age: Option<u64>,
    /// Rows it has written so far (InnoDB trx_rows_modified; SQL Server log bytes are not rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_modified: Option<u64>,
    /// SQL Server: log bytes its transaction has used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_bytes: Option<u64>,
}

/// A database whose transaction log cannot be truncated (SQL Server).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogReuse {
    pub database: String,
    /// sys.databases.log_reuse_wait_desc, e.g. "ACTIVE_TRANSACTION", "LOG_BACKUP".
    pub wait: String,
    /// Share of the log in use, when it was read (sys.dm_db_log_space_usage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_pct: Option<f64>,
}

/// The cleanup horizon: what old row versions (PostgreSQL dead tuples, InnoDB undo, the SQL
/// Server log) cannot be cleaned because a transaction might still need them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Horizon {
    /// The oldest holders, oldest first (a handful, not every transaction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<HorizonHolder>,
    /// PostgreSQL: the largest age(datfrozenxid) of any database, in transaction IDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_xid_age: Option<u64>,
    /// PostgreSQL: autovacuum_freeze_max_age, the age at which anti-wraparound vacuum starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_max_age: Option<u64>,
    /// InnoDB history list length: undo records not yet purged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_list_length: Option<u64>,
    /// SQL Server: databases whose log waits for something before it can be reused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<LogReuse>,
    /// SQL Server: the row version store in tempdb (RCSI, snapshot isolation), in KB
    /// (the Transactions object's 'Version Store Size (KB)').
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_store_kb: Option<u64>,
    /// SQL Server: tempdb's data files, in KB, to say what share the versions hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempdb_data_kb: Option<u64>,
    /// SQL Server: the row-versioning transactions open longest, oldest first
    /// (sys.dm_tran_active_snapshot_database_transactions): the version store cannot be
    /// cleaned past the oldest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub version_holders: Vec<HorizonHolder>,
}

impl Horizon {
    /// The version store's share of tempdb's data files, when both were read.
    pub fn version_store_pct(&self) -> Option<f64> {
        match (self.version_store_kb, self.tempdb_data_kb) {
            (Some(v), Some(t)) if t > 0 => Some(v as f64 * 100.0 / t as f64),
            _ => None,
        }
    }
}

/// A client waiting inside a connection pooler for a server connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoolWaiter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    pub wait_ms: u64,
}

/// One database/user pool of a connection pooler (PgBouncer's SHOW POOLS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pool {
    pub database: String,
    pub user: String,
    /// Clients linked to a server connection (or idle, in session mode, holding none).
    pub cl_active: u64,
    /// Clients waiting for a server connection.
    pub cl_waiting: u64,
    pub sv_active: u64,
    pub sv_idle: u64,
    pub sv_used: u64,
    /// How long the oldest waiting client has waited, in milliseconds.
    pub maxwait_ms: u64,
    /// The pool's ceiling (pool_size of its database, default_pool_size otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_mode: Option<String>,
    /// The longest-waiting clients, longest first (a few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<PoolWaiter>,
}

/// What a connection pooler in front of the database sees.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pooler {
    pub pools: Vec<Pool>,
    /// query_wait_timeout in milliseconds (0 = waits forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_wait_timeout_ms: Option<u64>,
    /// server_idle_timeout in milliseconds (0 = never closes idle servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_idle_timeout_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_client_conn: Option<u64>,
    /// idle_transaction_timeout in milliseconds (0 = a client may sit in a transaction,
    /// holding its server connection, forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_transaction_timeout_ms: Option<u64>,
    /// SHOW STATS: cumulative counters per database, diffed over the window by the rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stats: Vec<PoolerStats>,
    /// SHOW SERVERS: the server connections linked to a client, with that client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub servers: Vec<PoolServer>,
    /// SHOW LISTS: PgBouncer's internal lists by name (used_clients, free_servers, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lists: BTreeMap<String, u64>,
}

/// One database's cumulative counters from PgBouncer's SHOW STATS. The column set differs
/// between versions, so each counter is optional (total_wait_time exists since 1.8,
/// total_server_assignment_count since 1.23).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolerStats {
    pub database: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xact_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_count: Option<u64>,
    /// Microseconds clients spent waiting for a server connection, summed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_time_us: Option<u64>,
    /// Times a server connection was handed to a client (1.23+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_assignments: Option<u64>,
}

/// A server connection of the pooler that a client holds (SHOW SERVERS, state active),
/// with the client it is linked to (SHOW CLIENTS, by the link pointer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolServer {
    pub database: String,
    pub user: String,
    /// The backend's process id on the database (remote_pid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_pid: Option<i64>,
    /// The pooler's own end of the connection as the database sees it (client_addr,
    /// client_port in pg_stat_activity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<PoolClient>,
}

/// The application's connection to the pooler.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolClient {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// Seconds since the client's last request (request_time), at the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_secs: Option<u64>,
}

/// One sample of one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub engine: Engine,
    pub server: ServerInfo,
    pub taken_at: DateTime<Utc>,
    /// spiral's own session, so no rule ever counts or blames it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_session_id: Option<i64>,
    pub sessions: Vec<Session>,
    /// Sessions the server counted instead of listing (SQL Server over the DAC): what
    /// they share and how many. Never individual sessions, never kill victims. Empty in a
    /// full sample and in captures taken before groups existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub session_groups: Vec<SessionGroup>,
    #[serde(default)]
    pub connections: ConnectionLimits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Workers>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compile_gate: Option<CompileGate>,
    /// SQL Server only; None elsewhere and in captures taken before it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_grants: Option<MemoryGrants>,
    /// Cumulative completed waits by wait type (SQL Server; MySQL/MariaDB when
    /// performance_schema is ON); None where not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_stats: Option<BTreeMap<String, WaitStat>>,
    /// SQL Server: parallel requests and the parallelism settings; None where not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<Parallelism>,
    /// SQL Server: page-latch waits on tempdb pages at the instant of the sample, by page;
    /// None where not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tempdb_latches: Option<Vec<PageLatchWait>>,
    /// Cumulative counters by well-known name (see `counter`); diffed by the window.
    #[serde(default)]
    pub counters: BTreeMap<String, u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_cache: Option<Vec<PlanCacheEntry>>,
    /// SQL Server 'Compiled Plan Stub' entries, counted apart from the plans above: what
    /// 'optimize for ad hoc workloads' keeps of a first run instead of its plan (the remedy
    /// working, not bloat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_cache_stubs: Option<u64>,
    #[serde(default)]
    pub guardrails: Guardrails,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<DatabaseInfo>,
    /// SQL Server Query Store capture mode by database ("all", "auto", "none", "custom").
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_store_capture: BTreeMap<String, String>,
    /// SQL Server: the units of work (UOW) of orphaned distributed transactions that hold
    /// locks others wait on (blocker -2). `KILL '<UOW>'` ends one; there is no session id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphaned_transactions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gaps: Vec<Gap>,
    /// What holds back cleanup; None when the engine did not collect it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub horizon: Option<Horizon>,
    /// A connection pooler's pools (the target is a PgBouncer admin console).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pooler: Option<Pooler>,
    /// When the server's clock read the settings behind `connections` and `guardrails`
    /// (PostgreSQL): this sample's taken_at when it read them, earlier when they were kept
    /// from an earlier sample because the configuration was not loaded again since. None
    /// where the engine does not say (read with the sample, or not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings_read_at: Option<DateTime<Utc>>,
}

/// Well-known counter names. Engines map their own counters onto these so that rules can
/// speak of "compilations" whatever the server called them.
pub mod counter {
    /// Query compilations (SQL Compilations/sec; 'optimizations').
    pub const COMPILATIONS: &str = "compilations";
    pub const RECOMPILATIONS: &str = "recompilations";
    /// Client requests: Batch Requests/sec, Questions (MySQL), Queries (MariaDB), transactions.
    pub const BATCHES: &str = "batches";
    /// New connections accepted (Logins/sec, Connections, sessions).
    pub const LOGINS: &str = "logins";
    /// Connection attempts refused because the server was full.
    pub const REFUSED_CONNECTIONS: &str = "refused_connections";
    pub const ABORTED_CONNECTS: &str = "aborted_connects";
    pub const DEADLOCKS: &str = "deadlocks";
    pub const COMMITS: &str = "commits";
    pub const ROLLBACKS: &str = "rollbacks";
    pub const ROW_LOCK_WAITS: &str = "row_lock_waits";
    pub const ROW_LOCK_TIME_MS: &str = "row_lock_time_ms";
    /// PostgreSQL 14+: sessions that ended because the client vanished.
    pub const SESSIONS_ABANDONED: &str = "sessions_abandoned";
    pub const SESSIONS_KILLED: &str = "sessions_killed";
    /// SQL Server: grant requests that gave up (error 8645), timeout_error_count summed
    /// over the resource semaphores.
    pub const MEMORY_GRANT_TIMEOUTS: &str = "memory_grant_timeouts";
}

impl Snapshot {
    /// A snapshot with no sessions, for engines to fill and tests to build on.
    pub fn empty(engine: Engine, taken_at: DateTime<Utc>) -> Snapshot {
        Snapshot {
            engine,
            server: ServerInfo::default(),
            taken_at,
            own_session_id: None,
            sessions: Vec::new(),
            session_groups: Vec::new(),
            connections: ConnectionLimits::default(),
            workers: None,
            compile_gate: None,
            memory_grants: None,
            wait_stats: None,
            parallelism: None,
            tempdb_latches: None,
            counters: BTreeMap::new(),
            plan_cache: None,
            plan_cache_stubs: None,
            guardrails: Guardrails::default(),
            databases: Vec::new(),
            query_store_capture: BTreeMap::new(),
            orphaned_transactions: Vec::new(),
            gaps: Vec::new(),
            horizon: None,
            pooler: None,
            settings_read_at: None,
        }
    }

    /// Sessions opened by clients, without spiral's own and without server internals.
    pub fn client_sessions(&self) -> impl Iterator<Item = &Session> {
        let own = self.own_session_id;
        self.sessions
            .iter()
            .filter(move |s| s.kind.is_client() && Some(s.id) != own)
    }

    /// Groups of client sessions (see `session_groups`).
    pub fn client_groups(&self) -> impl Iterator<Item = &SessionGroup> {
        self.session_groups
            .iter()
            .filter(|g| g.like.kind.is_client())
    }

    /// Every client session with a weight: listed sessions count 1, a group counts its
    /// members (through its shared attributes). Rules count with this, so a count is the
    /// same whether the sampler listed the sessions or grouped them.
    pub fn client_tally(&self) -> impl Iterator<Item = (&Session, u64)> {
        self.client_sessions()
            .map(|s| (s, 1))
            .chain(self.client_groups().map(|g| (&g.like, g.count)))
    }

    /// Client sessions, listed or grouped.
    pub fn client_count(&self) -> u64 {
        self.client_tally().map(|(_, n)| n).sum()
    }

    /// Every session, listed or grouped, with its weight, clients or not.
    pub fn all_tally(&self) -> impl Iterator<Item = (&Session, u64)> {
        self.sessions
            .iter()
            .map(|s| (s, 1))
            .chain(self.session_groups.iter().map(|g| (&g.like, g.count)))
    }

    /// Connected clients: the server's own count when it gives one, else the sessions seen.
    /// spiral's own connection is counted by the server, so it is taken back out.
    pub fn connected_clients(&self) -> u64 {
        match self.connections.current {
            Some(n) => n.saturating_sub(u64::from(self.own_session_id.is_some())),
            None => self.client_count(),
        }
    }

    pub fn gap(&self, area: Area) -> Option<&Gap> {
        self.gaps.iter().find(|g| g.area == area)
    }

    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }

    /// Strip terminal control characters from every string the server gave us. Called once
    /// where snapshots enter spiral (live sampling and replay), so that no renderer, capture
    /// or Slack payload can carry an escape sequence planted in a query string.
    pub fn sanitize(&mut self) {
        use crate::sanitize::clean_in_place as c;
        c(&mut self.server.version);
        for text in self.server.flavor.iter_mut() {
            c(text);
        }
        for s in &mut self.sessions {
            s.sanitize();
        }
        for g in &mut self.session_groups {
            g.like.sanitize();
        }
        for p in self.plan_cache.iter_mut().flatten() {
            c(&mut p.object_type);
        }
        for p in self
            .memory_grants
            .iter_mut()
            .flat_map(|m| m.pools.iter_mut())
        {
            for n in p.name.iter_mut() {
                c(n);
            }
        }
        for l in self.tempdb_latches.iter_mut().flatten() {
            c(&mut l.resource);
        }
        for d in &mut self.databases {
            c(&mut d.name);
            for q in d.query_store.iter_mut() {
                c(q);
            }
        }
        for u in &mut self.orphaned_transactions {
            c(u);
        }
        self.query_store_capture = std::mem::take(&mut self.query_store_capture)
            .into_iter()
            .map(|(mut db, mut mode)| {
                c(&mut db);
                c(&mut mode);
                (db, mode)
            })
            .collect();
        for h in self.horizon.iter_mut() {
            for holder in h.holders.iter_mut().chain(h.version_holders.iter_mut()) {
                for t in holder.name.iter_mut().chain(holder.database.iter_mut()) {
                    c(t);
                }
            }
            for l in &mut h.logs {
                c(&mut l.database);
                c(&mut l.wait);
            }
        }
        for p in self.pooler.iter_mut().flat_map(|p| p.pools.iter_mut()) {
            c(&mut p.database);
            c(&mut p.user);
            for w in &mut p.waiting {
                for t in w.addr.iter_mut().chain(w.application.iter_mut()) {
                    c(t);
                }
            }
        }
        for p in self.pooler.iter_mut() {
            for st in &mut p.stats {
                c(&mut st.database);
            }
            for sv in &mut p.servers {
                c(&mut sv.database);
                c(&mut sv.user);
                for t in sv.local_addr.iter_mut() {
                    c(t);
                }
                for cl in sv.client.iter_mut() {
                    for t in cl.addr.iter_mut().chain(cl.application.iter_mut()) {
                        c(t);
                    }
                }
            }
        }
        // Map keys are names too: spiral's own on a live server, but a capture file can say
        // anything, and `spiral waits` prints wait names as they are.
        clean_keys(&mut self.counters);
        if let Some(w) = self.wait_stats.as_mut() {
            clean_keys(w);
        }
        for p in self.pooler.iter_mut() {
            clean_keys(&mut p.lists);
        }
        for g in &mut self.gaps {
            c(&mut g.reason);
            for r in g.remedy.iter_mut() {
                c(r);
            }
        }
    }
}

/// Cleans a map's keys, rebuilding it only when one needs it (two keys that clean to the
/// same name keep the later value).
fn clean_keys<V>(map: &mut BTreeMap<String, V>) {
    if map.keys().any(|k| crate::sanitize::needs_cleaning(k)) {
        *map = std::mem::take(map)
            .into_iter()
            .map(|(k, v)| (crate::sanitize::clean(&k), v))
            .collect();
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;

    #[test]
    fn names_used_as_keys_are_cleaned_like_any_other_text() {
        let mut s = Snapshot::empty(Engine::Mysql, Utc::now());
        s.counters.insert("dead\u{1b}[2Jlocks".into(), 3);
        s.wait_stats = Some(BTreeMap::from([(
            "wait/io/\u{1b}]0;pwned\u{7}file".to_string(),
            WaitStat::default(),
        )]));
        s.sanitize();
        assert_eq!(s.counters.keys().collect::<Vec<_>>(), ["deadlocks"]);
        let waits = s.wait_stats.unwrap_or_default();
        assert_eq!(waits.keys().collect::<Vec<_>>(), ["wait/io/file"]);
    }
}
