//! SQL Server result sets turned into the engine-neutral snapshot.
//!
//! `mssql.rs` copies every tiberius row into a `Table` of plain `Cell`s as it arrives, and
//! everything here works on those tables. That keeps the mapping testable for every server
//! version without a server, and it keeps one rule: no value from the server is ever
//! unwrapped. A missing result set, a missing column or a cell of an unexpected type
//! becomes a `Gap` in the snapshot (spiral says what it could not see), never a panic and
//! never a silent zero.
//!
//! Result sets are recognised by the name of their first column, not by position: a
//! statement of the batch that fails (error 300 for a missing grant, 1222 for a lock
//! timeout) removes only its own result set, and the others must still be read correctly.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};

use crate::model::session::{Session, SessionKind, SessionState, StatementKind, WaitClass};
use crate::model::session_group::{AgeSpan, SessionGroup};
use crate::model::snapshot::{
    Area, CompileGate, DatabaseInfo, Engine, Gap, GrantHolder, GrantPool, HolderKind, Horizon,
    HorizonHolder, LogReuse, MemoryGrants, PlanCacheEntry, ServerInfo, Snapshot, WaitStat, Workers,
    counter,
};
use crate::model::snapshot::{PageLatchWait, Parallelism};

/// One value as the server sent it, already detached from the driver's types.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    /// tinyint, smallint, int and bigint alike: widening is lossless.
    Int(i64),
    Float(f64),
    Bit(bool),
    Text(String),
    Time(NaiveDateTime),
    /// A type spiral never asks for (binary, guid, ...); named, for the error message.
    Other(String),
}

impl Cell {
    fn type_name(&self) -> &str {
        match self {
            Cell::Null => "NULL",
            Cell::Int(_) => "an integer",
            Cell::Float(_) => "a float",
            Cell::Bit(_) => "a bit",
            Cell::Text(_) => "text",
            Cell::Time(_) => "a datetime",
            Cell::Other(name) => name,
        }
    }
}

/// One result set: column names and rows of cells, in column order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(columns: &[&str], rows: Vec<Vec<Cell>>) -> Table {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    fn first_column(&self) -> Option<&str> {
        self.columns.first().map(String::as_str)
    }

    fn rows(&self) -> impl Iterator<Item = RowView<'_>> {
        self.rows
            .iter()
            .map(move |cells| RowView { table: self, cells })
    }
}

/// An error the server reported inside a batch (tiberius reports the first one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    pub code: u32,
    pub message: String,
}

impl ServerError {
    /// 300 "VIEW SERVER STATE permission was denied", 297 "The user does not have
    /// permission to perform this action", 229 "The SELECT permission was denied".
    pub fn is_permission(&self) -> bool {
        matches!(self.code, 229 | 297 | 300)
    }

    /// One line, bounded: server messages can be long and this one ends up in a note.
    pub fn describe(&self) -> String {
        let text: String = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(240)
            .collect();
        format!("error {}: {}", self.code, text.trim_end_matches('.'))
    }
}

/// Everything one batch returned: the result sets that arrived and the first error.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    pub tables: Vec<Table>,
    pub error: Option<ServerError>,
}

impl Batch {
    fn table(&self, set: Set) -> Option<&Table> {
        self.tables
            .iter()
            .find(|t| t.first_column() == Some(set.first_column()))
    }

    pub fn has_facts(&self) -> bool {
        self.table(Set::Facts).is_some()
    }

    /// The statement errors the batch caught itself: each CATCH block sends one
    /// `failed_set` row naming its statement (see queries/mssql/sample.sql). Rows of that
    /// statement may have arrived before the error, so the set is then partial.
    fn caught(&self, set: Set) -> Option<ServerError> {
        let name = set.failure_name()?;
        self.tables
            .iter()
            .filter(|t| t.first_column() == Some(FAILED_SET))
            .flat_map(|t| t.rows())
            .find(|r| r.text(FAILED_SET).ok().flatten().as_deref() == Some(name))
            .map(|r| ServerError {
                code: r
                    .int("error_number")
                    .ok()
                    .flatten()
                    .and_then(|c| u32::try_from(c).ok())
                    .unwrap_or(0),
                message: r.text("error_message").ok().flatten().unwrap_or_default(),
            })
    }

    /// Which instance answered: (@@SERVERNAME, SERVERPROPERTY('InstanceName')), the latter
    /// None for a default instance. None when the facts did not say.
    pub fn answered_by(&self) -> Option<(Option<String>, Option<String>)> {
        let t = self.table(Set::Facts)?;
        let r = t.rows().next()?;
        let server = r.text("server_name").ok()?;
        let instance = r.text("instance_name").ok()?;
        Some((server, instance))
    }

    /// The plan cache's size from the memory cache counters: (entries, bytes).
    pub fn cache_size(&self) -> Option<(u64, u64)> {
        let r = self.table(Set::CacheSize)?.rows().next()?;
        Some((
            r.count("cache_entries").ok()??,
            r.count("cache_bytes").ok()??,
        ))
    }
}

/// The first column of the row a CATCH block sends for a failed statement.
const FAILED_SET: &str = "failed_set";

/// Which of the bundled batches produced a `Batch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchKind {
    /// queries/mssql/sample.sql (the plan cache is queries/mssql/plan_cache.sql, read
    /// apart and attached by the sampler).
    Full,
    /// queries/mssql/sample_dac.sql: no query text, no plan cache, no Query Store options.
    Dac,
    /// queries/mssql/sample_limited.sql: only what any login may read.
    Limited,
    /// queries/mssql/sample_sessions.sql: sessions only, for kill's re-checks.
    Sessions,
    /// queries/mssql/sample_dac_sessions.sql: every session, no text, for kill over the DAC.
    DacSessions,
}

impl BatchKind {
    fn sets(self) -> &'static [Set] {
        match self {
            BatchKind::Full => &[
                Set::Facts,
                Set::Config,
                Set::Sessions,
                Set::Clients,
                Set::TaskBlockers,
                Set::QueryText,
                Set::Orphans,
                Set::Workers,
                Set::Gateways,
                Set::GrantPools,
                Set::Grants,
                Set::WaitStats,
                Set::Parallelism,
                Set::TempdbLatches,
                Set::Counters,
                Set::CacheSize,
                Set::Databases,
                Set::QueryStore,
                Set::LogReuse,
                Set::Transactions,
                Set::VersionHolders,
            ],
            BatchKind::Dac => &[
                Set::Facts,
                Set::Config,
                Set::Sessions,
                Set::SessionGroups,
                Set::Clients,
                Set::TaskBlockers,
                Set::Workers,
                Set::Gateways,
                Set::GrantPools,
                Set::Grants,
                Set::Parallelism,
                Set::TempdbLatches,
                Set::Counters,
                Set::Databases,
                Set::LogReuse,
                Set::Transactions,
                Set::VersionHolders,
            ],
            BatchKind::Limited => &[Set::Facts, Set::Config, Set::Databases],
            BatchKind::Sessions => &[
                Set::Facts,
                Set::Sessions,
                Set::Clients,
                Set::TaskBlockers,
                Set::QueryText,
            ],
            BatchKind::DacSessions => &[Set::Facts, Set::Sessions, Set::Clients, Set::TaskBlockers],
        }
    }
}

/// The result sets of the sample batches, each named by its first column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Set {
    Facts,
    Config,
    Sessions,
    /// Sessions counted on the server (the DAC sample): see model::session_group.
    SessionGroups,
    Clients,
    TaskBlockers,
    QueryText,
    Orphans,
    Workers,
    Gateways,
    GrantPools,
    Grants,
    WaitStats,
    Counters,
    CacheSize,
    PlanCache,
    Databases,
    QueryStore,
    Parallelism,
    TempdbLatches,
    LogReuse,
    Transactions,
    VersionHolders,
}

impl Set {
    /// In the order they are applied: sessions before the sets that refine them.
    const ALL: [Set; 23] = [
        Set::Facts,
        Set::Config,
        Set::Sessions,
        Set::SessionGroups,
        Set::Clients,
        Set::TaskBlockers,
        Set::QueryText,
        Set::Orphans,
        Set::Workers,
        Set::Gateways,
        Set::GrantPools,
        Set::Grants,
        Set::WaitStats,
        Set::Counters,
        Set::CacheSize,
        Set::PlanCache,
        Set::Databases,
        Set::QueryStore,
        Set::Parallelism,
        Set::TempdbLatches,
        Set::LogReuse,
        Set::Transactions,
        Set::VersionHolders,
    ];

    fn first_column(self) -> &'static str {
        match self {
            Set::Facts => "product_version",
            Set::Config => "config_name",
            Set::Sessions => "session_id",
            Set::SessionGroups => "group_count",
            Set::Clients => "client_key",
            Set::TaskBlockers => "task_session_id",
            Set::QueryText => "text_key",
            Set::Orphans => "orphaned_uow",
            Set::Workers => "queued_tasks",
            Set::Gateways => "gateway_waiters",
            Set::GrantPools => "grant_pool_id",
            Set::Grants => "grant_waiters",
            Set::WaitStats => "stat_wait_type",
            Set::Counters => "counter_object",
            Set::CacheSize => "cache_entries",
            Set::PlanCache => "plan_objtype",
            Set::Databases => "database_name",
            Set::QueryStore => "qs_database",
            Set::Parallelism => "parallel_requests",
            Set::TempdbLatches => "latch_resource",
            Set::LogReuse => "log_database",
            Set::Transactions => "trx_session_id",
            Set::VersionHolders => "vs_session_id",
        }
    }

    /// The name the statement's CATCH block gives in `failed_set`.
    fn failure_name(self) -> Option<&'static str> {
        Some(match self {
            Set::Sessions => "sessions",
            Set::SessionGroups => "session_groups",
            Set::Clients => "clients",
            Set::TaskBlockers => "task_blockers",
            Set::QueryText => "query_text",
            Set::Orphans => "orphaned_uow",
            Set::CacheSize => "cache_size",
            Set::Workers => "workers",
            Set::GrantPools => "grant_pools",
            Set::Grants => "memory_grants",
            Set::WaitStats => "wait_stats",
            Set::PlanCache => "plan_cache",
            Set::QueryStore => "query_store",
            Set::Parallelism => "parallelism",
            Set::TempdbLatches => "tempdb_latches",
            Set::LogReuse => "log_reuse",
            Set::Transactions => "transactions",
            Set::VersionHolders => "version_store",
            _ => return None,
        })
    }

    /// Sets that are legitimately absent: no request has text, nothing waits on an
    /// orphaned transaction, no database has Query Store on, no task is blocked. Only a
    /// caught error makes their absence a gap.
    fn optional(self) -> bool {
        matches!(
            self,
            Set::Clients
                | Set::SessionGroups
                | Set::TaskBlockers
                | Set::QueryText
                | Set::Orphans
                | Set::QueryStore
                | Set::CacheSize
                | Set::WaitStats
                | Set::Parallelism
                | Set::TempdbLatches
                | Set::LogReuse
                | Set::Transactions
                | Set::VersionHolders
        )
    }

    fn what(self) -> &'static str {
        match self {
            Set::Facts => "server facts",
            Set::Config => "server configuration",
            Set::Sessions => "sessions and requests",
            Set::SessionGroups => "sessions counted in groups",
            Set::Clients => "client names (host, program, login, database)",
            Set::TaskBlockers => "the blockers of waiting tasks (parallel requests)",
            Set::QueryText => "query text",
            Set::Orphans => "orphaned distributed transactions",
            Set::Workers => "schedulers and worker threads",
            Set::Gateways => "compile gateways",
            Set::GrantPools => "memory-grant semaphores",
            Set::Grants => "memory grants",
            Set::WaitStats => "wait statistics",
            Set::Counters => "performance counters",
            Set::CacheSize => "the plan cache's size",
            Set::PlanCache => "the plan cache",
            Set::Databases => "database settings",
            Set::QueryStore => "Query Store states",
            Set::Parallelism => "parallel requests and parallelism settings",
            Set::TempdbLatches => "tempdb page-latch waits",
            Set::LogReuse => "transaction log reuse",
            Set::Transactions => "open transactions",
            Set::VersionHolders => "row-versioning transactions (version store)",
        }
    }

    /// What the snapshot cannot show when this result set is missing or partial.
    fn areas(self) -> &'static [Area] {
        match self {
            Set::Facts | Set::Config | Set::Databases | Set::QueryStore => &[Area::Settings],
            Set::Sessions => &[Area::OtherSessions, Area::Locks],
            Set::SessionGroups => &[Area::OtherSessions],
            Set::Clients => &[Area::OtherSessions],
            Set::TaskBlockers => &[Area::Locks],
            Set::QueryText => &[Area::QueryText],
            // The KILL for an orphaned transaction then names the lookup instead of the UOW.
            Set::Orphans | Set::CacheSize => &[],
            // long-transaction reads the horizon only when it is there: a failed read
            // shows as a gap naming it.
            Set::LogReuse | Set::Transactions | Set::VersionHolders => &[],
            Set::Workers => &[Area::Workers],
            Set::Gateways => &[Area::Compiles],
            Set::GrantPools | Set::Grants => &[Area::MemoryGrants],
            Set::WaitStats => &[Area::WaitStats],
            Set::Counters => &[Area::Counters, Area::Compiles],
            Set::PlanCache => &[Area::PlanCache],
            // Evidence for worker exhaustion only: its loss hides the cause, not the verdict.
            Set::Parallelism => &[],
            Set::TempdbLatches => &[Area::Latches],
        }
    }

    /// Server-level DMVs that Azure SQL Database refuses on its smaller tiers (Basic, S0,
    /// S1, elastic pools) unless the login is in ##MS_ServerStateReader##.
    fn needs_server_state_reader_on_azure(self) -> bool {
        matches!(self, Set::Workers | Set::TaskBlockers)
    }
}

/// A row with typed, named access. Every accessor says which column was wrong.
struct RowView<'a> {
    table: &'a Table,
    cells: &'a [Cell],
}

impl RowView<'_> {
    fn has(&self, name: &str) -> bool {
        self.table
            .columns
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    }

    fn cell(&self, name: &str) -> Result<&Cell, String> {
        let idx = self
            .table
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
            .ok_or_else(|| format!("column {name} is missing"))?;
        self.cells
            .get(idx)
            .ok_or_else(|| format!("column {name} has no value"))
    }

    fn int(&self, name: &str) -> Result<Option<i64>, String> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            Cell::Int(v) => Ok(Some(*v)),
            other => Err(format!(
                "column {name} is {}, expected an integer",
                other.type_name()
            )),
        }
    }

    /// A count or size: negative values (which no DMV should report) read as unknown.
    fn count(&self, name: &str) -> Result<Option<u64>, String> {
        Ok(self.int(name)?.and_then(|v| u64::try_from(v).ok()))
    }

    /// Text, trimmed: nchar columns arrive space padded. Empty text reads as NULL.
    fn text(&self, name: &str) -> Result<Option<String>, String> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            Cell::Text(t) => {
                let t = t.trim();
                Ok((!t.is_empty()).then(|| t.to_string()))
            }
            other => Err(format!(
                "column {name} is {}, expected text",
                other.type_name()
            )),
        }
    }

    /// A float (a share, a ratio); integers are accepted as they are.
    fn float(&self, name: &str) -> Result<Option<f64>, String> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            Cell::Float(v) => Ok(Some(*v)),
            Cell::Int(v) => Ok(Some(*v as f64)),
            other => Err(format!(
                "column {name} is {}, expected a number",
                other.type_name()
            )),
        }
    }

    fn bit(&self, name: &str) -> Result<Option<bool>, String> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            Cell::Bit(b) => Ok(Some(*b)),
            Cell::Int(v) => Ok(Some(*v != 0)),
            other => Err(format!(
                "column {name} is {}, expected a bit",
                other.type_name()
            )),
        }
    }

    fn time(&self, name: &str) -> Result<Option<NaiveDateTime>, String> {
        match self.cell(name)? {
            Cell::Null => Ok(None),
            Cell::Time(t) => Ok(Some(*t)),
            other => Err(format!(
                "column {name} is {}, expected a datetime",
                other.type_name()
            )),
        }
    }
}

/// Engine editions (SERVERPROPERTY('EngineEdition')) that change what spiral can read.
const EDITION_AZURE_SQL_DATABASE: i64 = 5;
const EDITION_AZURE_SQL_MANAGED_INSTANCE: i64 = 8;

/// The first result set: who answered, when, and as whom.
#[derive(Debug, Clone)]
struct Facts {
    product_version: Option<String>,
    version_text: Option<String>,
    edition: Option<String>,
    engine_edition: Option<i64>,
    own_session_id: i64,
    login: Option<String>,
    taken_at: DateTime<Utc>,
    /// Minutes the server's local clock is ahead of UTC (login_time is local).
    utc_offset_min: i64,
    /// Whether this login may see other sessions (VIEW SERVER STATE and friends).
    sees_all: Option<bool>,
}

impl Facts {
    fn decode(t: &Table) -> Result<Facts, String> {
        let row = t
            .rows()
            .next()
            .ok_or_else(|| "the server facts came back empty".to_string())?;
        let taken_at = row
            .time("taken_at_utc")?
            .ok_or_else(|| "the server did not say what time it is".to_string())?;
        Ok(Facts {
            product_version: row.text("product_version")?,
            version_text: row.text("version_text")?,
            edition: row.text("edition")?,
            engine_edition: row.int("engine_edition")?,
            own_session_id: row
                .int("own_session_id")?
                .ok_or_else(|| "the server did not give spiral's own session id".to_string())?,
            login: row.text("login_name")?,
            taken_at: taken_at.and_utc(),
            utc_offset_min: row.int("utc_offset_min")?.unwrap_or(0),
            sees_all: row.int("sees_all")?.map(|v| v == 1),
        })
    }

    fn is_azure_sql_database(&self) -> bool {
        self.engine_edition == Some(EDITION_AZURE_SQL_DATABASE)
    }

    /// 13 for 2016, 14 for 2017, 15 for 2019, 16 for 2022, ...
    fn major_version(&self) -> Option<u32> {
        self.product_version
            .as_deref()?
            .split('.')
            .next()?
            .parse()
            .ok()
    }

    /// "Microsoft SQL Server 2019 (RTM-CU18) (KB5017593) - 15.0.4261.1 (X64), Developer
    /// Edition (64-bit)": the first line of @@VERSION names the product and build, the
    /// rest of it is build dates and the host OS.
    fn version_string(&self) -> String {
        let head = self
            .version_text
            .as_deref()
            .and_then(|v| v.lines().map(str::trim).find(|l| !l.is_empty()))
            .map(str::to_string)
            .or_else(|| {
                self.product_version
                    .as_ref()
                    .map(|v| format!("SQL Server {v}"))
            })
            .unwrap_or_else(|| "SQL Server (version unknown)".to_string());
        match &self.edition {
            Some(e) => format!("{head}, {e}"),
            None => head,
        }
    }

    fn flavor(&self) -> Option<String> {
        match self.engine_edition {
            Some(EDITION_AZURE_SQL_DATABASE) => Some("azure-sql-database".into()),
            Some(EDITION_AZURE_SQL_MANAGED_INSTANCE) => Some("azure-sql-managed-instance".into()),
            _ => None,
        }
    }

    fn login_or_placeholder(&self) -> &str {
        self.login.as_deref().unwrap_or("<login>")
    }

    /// The permission that lets this login read server state, as this server names it.
    fn permission(&self) -> &'static str {
        if self.is_azure_sql_database() {
            "VIEW DATABASE STATE"
        } else if self.major_version().is_some_and(|v| v >= 16) {
            "VIEW SERVER PERFORMANCE STATE"
        } else {
            "VIEW SERVER STATE"
        }
    }

    /// The statement that would close a permission gap. SQL Server 2022 split VIEW SERVER
    /// STATE; its performance half is the narrower grant that covers every DMV spiral reads.
    fn grant(&self) -> String {
        let who = bracket(self.login_or_placeholder());
        if self.is_azure_sql_database() {
            format!("GRANT VIEW DATABASE STATE TO {who}; (in the database, Azure SQL Database)")
        } else if self.major_version().is_some_and(|v| v >= 16) {
            format!(
                "GRANT VIEW SERVER PERFORMANCE STATE TO {who}; (SQL Server 2022+; VIEW SERVER STATE also covers it)"
            )
        } else {
            format!("GRANT VIEW SERVER STATE TO {who};")
        }
    }

    /// login_time is in the server's local time; taken_at is already UTC.
    fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        (local - TimeDelta::minutes(self.utc_offset_min)).and_utc()
    }
}

/// A SQL Server identifier in brackets, with `]` doubled.
fn bracket(name: &str) -> String {
    format!("[{}]", name.replace(']', "]]"))
}

/// Gaps, one per area: the first reason found for an area is the one reported.
#[derive(Default)]
struct Gaps(Vec<Gap>);

impl Gaps {
    /// Adds the reason to the area's gap, or starts one: both reasons are worth hearing.
    fn add_or_extend(&mut self, area: Area, reason: &str, remedy: Option<&str>) {
        match self.0.iter_mut().find(|g| g.area == area) {
            Some(g) => {
                g.reason.push_str("; also, ");
                g.reason.push_str(reason);
            }
            None => self.add(&[area], reason, remedy),
        }
    }

    fn add(&mut self, areas: &[Area], reason: &str, remedy: Option<&str>) {
        for &area in areas {
            if !self.0.iter().any(|g| g.area == area) {
                self.0.push(Gap {
                    area,
                    reason: reason.to_string(),
                    remedy: remedy.map(str::to_string),
                });
            }
        }
    }
}

/// Why a result set is absent, worded for the report ("Could not see X: <reason>").
fn missing_reason(
    facts: &Facts,
    set: Set,
    error: Option<&ServerError>,
) -> (String, Option<String>) {
    match error {
        Some(e)
            if e.is_permission()
                && facts.is_azure_sql_database()
                && set.needs_server_state_reader_on_azure() =>
        {
            (
                format!(
                    "login {} may not read {} ({}): on Azure SQL Database's smaller tiers \
                     (Basic, S0, S1, elastic pools) VIEW DATABASE STATE does not cover these \
                     server-level DMVs",
                    facts.login_or_placeholder(),
                    set.what(),
                    e.describe()
                ),
                Some(format!(
                    "ALTER SERVER ROLE ##MS_ServerStateReader## ADD MEMBER {}; (in master)",
                    bracket(facts.login_or_placeholder())
                )),
            )
        }
        Some(e) if e.is_permission() => (
            format!(
                "login {} lacks {} ({})",
                facts.login_or_placeholder(),
                facts.permission(),
                e.describe()
            ),
            Some(facts.grant()),
        ),
        Some(e) => (
            format!("the sample query failed on this server ({})", e.describe()),
            None,
        ),
        None => ("the sample returned no result set for it".to_string(), None),
    }
}

/// Builds a snapshot from one batch. `limited_by` is the error that made spiral fall back
/// to the limited batch (it explains every result set that batch does not read). Fails
/// only when the server facts themselves are missing: without a clock and a session id
/// there is no snapshot to speak of. The plan cache is not part of the full batch: the
/// sampler reads it apart (`decode_plan_cache`) and attaches it or a gap.
pub fn decode(
    batch: &Batch,
    kind: BatchKind,
    limited_by: Option<&ServerError>,
) -> Result<Snapshot, String> {
    decode_known(batch, kind, limited_by, &mut Known::default())
}

/// What the server has already sent on this connection: query texts and client names
/// travel once per connection (queries/mssql/parts/query_text.sql, clients.sql), so the
/// sampler keeps them from one sample to the next and each sample's rows name them by key.
#[derive(Debug, Default)]
pub struct Known {
    /// None: the server sent the key without a text (an encrypted module); shown unknown.
    texts: BTreeMap<i64, Option<String>>,
    clients: BTreeMap<i64, Client>,
    /// Keys (1 text, 2 client) that session rows of the last sample named and nobody sent.
    missing: BTreeSet<(u8, i64)>,
    /// A key stayed missing over two samples: the server recorded it as sent but spiral
    /// never received it (a lost result set). The sampler then sends the fixed reset batch
    /// (queries/mssql/sent_reset.sql) before its next sample, and everything comes again.
    pub reset_due: bool,
}

/// More keys than any sane server has distinct statements and clients in a window: past
/// it the map is dropped and rebuilt through a reset, so a long `watch` stays bounded.
const KNOWN_MAX: usize = 50_000;

impl Known {
    /// After a reset (or on a fresh connection) nothing is pending any more.
    pub fn reset_done(&mut self) {
        self.reset_due = false;
        self.missing.clear();
    }
}

/// `decode`, with the texts and client names earlier samples of this connection sent.
pub fn decode_known(
    batch: &Batch,
    kind: BatchKind,
    limited_by: Option<&ServerError>,
    known: &mut Known,
) -> Result<Snapshot, String> {
    let facts_table = batch.table(Set::Facts).ok_or_else(|| match &batch.error {
        Some(e) => format!("the sample failed ({})", e.describe()),
        None => "the sample returned no server facts".to_string(),
    })?;
    let facts = Facts::decode(facts_table).map_err(|e| format!("reading the server facts: {e}"))?;
    let mut snap = Snapshot::empty(Engine::Mssql, facts.taken_at);
    snap.server = ServerInfo {
        version: facts.version_string(),
        flavor: facts.flavor(),
        managed_kill: false,
    };
    snap.own_session_id = Some(facts.own_session_id);
    let mut gaps = Gaps::default();
    let mut text_keys: Vec<Option<i64>> = Vec::new();
    let mut client_keys: Vec<Option<i64>> = Vec::new();
    let mut group_keys: Vec<Option<i64>> = Vec::new();
    let mut all_arrived = true;

    for &set in Set::ALL.iter().filter(|s| **s != Set::Facts) {
        if set == Set::PlanCache && kind == BatchKind::Full {
            continue; // read apart, see decode_plan_cache
        }
        if !kind.sets().contains(&set) {
            if set.optional() && set != Set::QueryText {
                continue;
            }
            let (reason, remedy) = match kind {
                BatchKind::Sessions | BatchKind::DacSessions => (
                    format!(
                        "{} is not read by the sessions-only sample (kill's re-checks)",
                        set.what()
                    ),
                    None,
                ),
                BatchKind::Dac => (
                    format!(
                        "{} is not read over the dedicated admin connection (too expensive there)",
                        set.what()
                    ),
                    Some(
                        "sample again without --dac once the server answers normal connections"
                            .to_string(),
                    ),
                ),
                _ => missing_reason(&facts, set, limited_by.or(batch.error.as_ref())),
            };
            gaps.add(set.areas(), &reason, remedy.as_deref());
            continue;
        }
        let caught = batch.caught(set);
        let Some(table) = batch.table(set) else {
            if caught.is_some() || !set.optional() {
                all_arrived &= set.optional();
                let (reason, remedy) =
                    missing_reason(&facts, set, caught.as_ref().or(batch.error.as_ref()));
                gaps.add(set.areas(), &reason, remedy.as_deref());
            }
            continue;
        };
        if let Some(e) = &caught {
            // Rows arrived, then the statement failed: what arrived is kept for what it
            // shows, but the area is partial and every check on it is unknown.
            gaps.add(
                set.areas(),
                &format!(
                    "{} is partial: the statement failed after {} ({})",
                    set.what(),
                    crate::format::plural(table.rows.len() as u64, "row"),
                    e.describe()
                ),
                None,
            );
        }
        let applied = match set {
            Set::QueryText => collect_texts(table, &mut known.texts),
            Set::Sessions => {
                apply_sessions(table, &facts, &mut snap, &mut text_keys, &mut client_keys)
            }
            Set::SessionGroups => apply_groups(table, &facts, &mut snap, &mut group_keys),
            Set::Clients => collect_clients(table, &mut known.clients),
            _ => apply(set, table, &mut snap),
        };
        if let Err(e) = applied {
            gaps.add(
                set.areas(),
                &format!("could not decode {} ({e})", set.what()),
                None,
            );
        }
    }
    attach_texts(&mut snap, &text_keys, &known.texts);
    let mut unnamed = attach_clients(&mut snap, &client_keys, &known.clients);
    unnamed += attach_group_clients(&mut snap, &group_keys, &known.clients);
    client_keys.extend(group_keys);
    note_missing(known, kind, &text_keys, &client_keys);
    // A combination that appeared between the two statements leaves one session unnamed;
    // no combination at all (the statement failed, or never ran) leaves every one.
    let no_names = known.clients.is_empty();
    if known.texts.len() + known.clients.len() > KNOWN_MAX {
        *known = Known {
            reset_due: true,
            ..Known::default()
        };
    }
    if no_names && unnamed > 0 {
        gaps.add(
            Set::Clients.areas(),
            &format!(
                "{} arrived without client names (host, program, login, database)",
                crate::format::plural(unnamed as u64, "session")
            ),
            None,
        );
    }

    // An error the batch did not catch, while every statement's result set arrived: it
    // interrupted one of them after its rows had started, and tiberius does not say which.
    // The session list is the one that could be cut short without a trace.
    if let Some(e) = &batch.error
        && all_arrived
        && !e.is_permission()
        && kind != BatchKind::Limited
        && batch.table(Set::Sessions).is_some()
    {
        gaps.add(
            Set::Sessions.areas(),
            &format!(
                "sessions and requests may be partial: the server reported an error during the \
                 sample ({})",
                e.describe()
            ),
            None,
        );
    }

    if facts.is_azure_sql_database() {
        azure_limits(&facts, &mut snap, &mut gaps);
    }

    // A login without the grant is not refused the session DMVs: it sees its own session
    // only. Say so instead of reporting a server with no other clients.
    if batch.table(Set::Sessions).is_some() && !gaps.0.iter().any(|g| g.area == Area::OtherSessions)
    {
        let others = snap
            .sessions
            .iter()
            .filter(|s| s.kind.is_client() && s.id != facts.own_session_id)
            .count();
        let counted_more = snap.connections.current.is_some_and(|c| c > 1);
        // The permission check is the evidence; the session count only stands in for it
        // when the server could not say (HAS_PERMS_BY_NAME returns NULL on some editions).
        let blind = match facts.sees_all {
            Some(sees) => !sees,
            None => others == 0 && counted_more,
        };
        if blind {
            gaps.add(
                &[Area::OtherSessions],
                &format!(
                    "login {} sees only its own session ({} is not granted)",
                    facts.login_or_placeholder(),
                    facts.permission()
                ),
                Some(&facts.grant()),
            );
        }
    }
    snap.gaps = gaps.0;
    Ok(snap)
}

/// Azure SQL Database is one database on a shared host, and some host-wide figures mean
/// nothing for it.
fn azure_limits(facts: &Facts, snap: &mut Snapshot, gaps: &mut Gaps) {
    // dm_os_sys_info describes the host: the database's own worker limit comes from its
    // service objective (error 10928 when reached), so exhaustion cannot be judged here.
    if snap.workers.take().is_some() {
        gaps.add(
            &[Area::Workers],
            "on Azure SQL Database the worker limit is the service objective's, not the host's \
             max_workers_count (requests fail with error 10928 when it is reached)",
            Some(
                "SELECT TOP (10) end_time, max_worker_percent, max_session_percent FROM \
                 sys.dm_db_resource_stats ORDER BY end_time DESC;",
            ),
        );
    }
    // Microsoft's documentation has said sys.dm_exec_requests is limited to the current
    // connection there. With no other session showing a request, "nothing is blocked" and
    // "cannot see requests" look the same: the request-based checks are unknown.
    let others_with_requests = snap
        .client_sessions()
        .any(|s| s.id != facts.own_session_id && s.state == SessionState::Active);
    let others_connected = snap.client_sessions().any(|s| s.id != facts.own_session_id);
    if others_connected && !others_with_requests {
        gaps.add_or_extend(
            Area::Locks,
            "on Azure SQL Database sys.dm_exec_requests may show only spiral's own connection, \
             and no other session shows a request: lock waits and blockers cannot be told \
             from nothing running",
            None,
        );
    }
}

/// The plan-cache batch (queries/mssql/plan_cache.sql): the entries and the stub count, or
/// why they could not be read.
pub fn decode_plan_cache(batch: &Batch) -> Result<(Vec<PlanCacheEntry>, u64), String> {
    if let Some(e) = batch.caught(Set::PlanCache).or_else(|| batch.error.clone()) {
        return Err(e.describe());
    }
    let Some(t) = batch.table(Set::PlanCache) else {
        return Err("the plan cache query returned nothing".to_string());
    };
    let mut entries = Vec::new();
    let mut stubs = 0;
    for r in t.rows() {
        entries.push(PlanCacheEntry {
            object_type: r.text("plan_objtype")?.unwrap_or_else(|| "?".into()),
            plans: r.count("plans")?.unwrap_or(0),
            single_use: r.count("single_use_plans")?.unwrap_or(0),
            size_bytes: r.count("size_bytes")?.unwrap_or(0),
        });
        if r.has("stubs") {
            stubs += r.count("stubs")?.unwrap_or(0);
        }
    }
    Ok((entries, stubs))
}

/// Who a session is: sent once per combination, named by `client_key` in the session rows.
#[derive(Debug, Clone, Default)]
struct Client {
    host: Option<String>,
    program: Option<String>,
    login: Option<String>,
    database: Option<String>,
}

fn collect_clients(t: &Table, clients: &mut BTreeMap<i64, Client>) -> Result<(), String> {
    for r in t.rows() {
        let Some(key) = r.int("client_key")? else {
            continue;
        };
        clients.insert(
            key,
            Client {
                host: r.text("host_name")?,
                program: r.text("program_name")?,
                login: r.text("session_login")?,
                database: r.text("session_database")?,
            },
        );
    }
    Ok(())
}

/// Names each session's client; returns how many keys found no combination.
fn attach_clients(
    snap: &mut Snapshot,
    keys: &[Option<i64>],
    clients: &BTreeMap<i64, Client>,
) -> usize {
    name_clients(snap.sessions.iter_mut(), keys, clients)
}

/// `attach_clients` for the groups' shared attributes.
fn attach_group_clients(
    snap: &mut Snapshot,
    keys: &[Option<i64>],
    clients: &BTreeMap<i64, Client>,
) -> usize {
    name_clients(
        snap.session_groups.iter_mut().map(|g| &mut g.like),
        keys,
        clients,
    )
}

fn name_clients<'s>(
    sessions: impl Iterator<Item = &'s mut Session>,
    keys: &[Option<i64>],
    clients: &BTreeMap<i64, Client>,
) -> usize {
    let mut unnamed = 0;
    for (s, key) in sessions.zip(keys) {
        let Some(key) = key else { continue };
        match clients.get(key) {
            Some(c) => {
                s.client_host = c.host.clone();
                s.application = c.program.clone();
                s.user = c.login.clone();
                s.database = c.database.clone();
            }
            None => unnamed += 1,
        }
    }
    unnamed
}

/// Sessions the DAC sample counted on the server: one row per group, with what its
/// members share (the same columns as a session row, so `to_session` reads them) and
/// the shortest and longest of each age.
fn apply_groups(
    t: &Table,
    facts: &Facts,
    snap: &mut Snapshot,
    client_keys: &mut Vec<Option<i64>>,
) -> Result<(), String> {
    client_keys.clear();
    for r in t.rows() {
        let count = r.count("group_count")?.unwrap_or(0);
        if count == 0 {
            continue;
        }
        let like = session_like(&r, 0, facts)?;
        let span = |min: &str, max: &str| -> Result<Option<AgeSpan>, String> {
            Ok(match (r.int(min)?, r.int(max)?) {
                (Some(a), Some(b)) => Some(AgeSpan {
                    min: a.max(0) as u64,
                    max: b.max(0) as u64,
                }),
                _ => None,
            })
        };
        let mut g = SessionGroup::new(count, like.clone());
        // Ages only where the member state has them, as for a listed session.
        if like.elapsed_ms.is_some() {
            g.elapsed_ms = span("min_elapsed_ms", "elapsed_ms")?;
        }
        if like.idle_ms.is_some() {
            g.idle_ms = span("min_idle_ms", "idle_ms")?;
        }
        if like.wait_ms.is_some() {
            g.wait_ms = span("min_wait_ms", "wait_ms")?;
        }
        snap.session_groups.push(g);
        client_keys.push(r.int("client_key")?);
    }
    Ok(())
}

fn collect_texts(t: &Table, texts: &mut BTreeMap<i64, Option<String>>) -> Result<(), String> {
    for r in t.rows() {
        if let Some(key) = r.int("text_key")? {
            texts.insert(key, r.text("query_text")?);
        }
    }
    Ok(())
}

/// Records the keys session rows named that no sample has explained. One that is still
/// unexplained a sample later was lost rather than late (a statement that ended between
/// the sessions and the text statements is not named again, or is sent with the next
/// sample): the server thinks it sent it, so spiral asks for a reset.
fn note_missing(
    known: &mut Known,
    kind: BatchKind,
    texts: &[Option<i64>],
    clients: &[Option<i64>],
) {
    let mut missing = BTreeSet::new();
    if kind.sets().contains(&Set::QueryText) {
        for k in texts.iter().flatten() {
            if !known.texts.contains_key(k) {
                missing.insert((1, *k));
            }
        }
    }
    if kind.sets().contains(&Set::Clients) {
        for k in clients.iter().flatten() {
            if !known.clients.contains_key(k) {
                missing.insert((2, *k));
            }
        }
    }
    if missing.intersection(&known.missing).next().is_some() {
        known.reset_due = true;
    }
    known.missing = missing;
}

/// Query text arrives once per distinct statement; each session names its own by key.
fn attach_texts(snap: &mut Snapshot, keys: &[Option<i64>], texts: &BTreeMap<i64, Option<String>>) {
    for (s, key) in snap.sessions.iter_mut().zip(keys) {
        if s.query.is_some() {
            continue;
        }
        if let Some(text) = key.and_then(|k| texts.get(&k)).and_then(Option::as_ref) {
            s.query = Some(text.clone());
            if s.statement.is_none() {
                s.statement = StatementKind::of_sql(skip_parameter_list(text));
            }
        }
    }
}

fn apply(set: Set, t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    match set {
        // Facts are read first; query text and sessions are applied in `decode`; the plan
        // cache comes from its own batch.
        Set::Facts
        | Set::QueryText
        | Set::Sessions
        | Set::SessionGroups
        | Set::Clients
        | Set::PlanCache => Ok(()),
        Set::Config => apply_config(t, snap),
        Set::TaskBlockers => apply_task_blockers(t, snap),
        Set::Orphans => {
            for r in t.rows() {
                if let Some(uow) = r.text("orphaned_uow")? {
                    snap.orphaned_transactions.push(uow);
                }
            }
            Ok(())
        }
        Set::Workers => apply_workers(t, snap),
        Set::Gateways => apply_gateways(t, snap),
        Set::GrantPools => apply_grant_pools(t, snap),
        Set::Grants => apply_grants(t, snap),
        Set::WaitStats => {
            let mut stats = BTreeMap::new();
            for r in t.rows() {
                let Some(name) = r.text("stat_wait_type")? else {
                    continue;
                };
                stats.insert(
                    name,
                    WaitStat {
                        wait_ms: r.count("stat_wait_ms")?.unwrap_or(0),
                        signal_ms: r.count("stat_signal_ms")?.unwrap_or(0),
                        tasks: r.count("stat_tasks")?.unwrap_or(0),
                    },
                );
            }
            snap.wait_stats = Some(stats);
            Ok(())
        }
        Set::Counters => apply_counters(t, snap),
        Set::Parallelism => apply_parallelism(t, snap),
        Set::TempdbLatches => apply_tempdb_latches(t, snap),
        Set::CacheSize => Ok(()),
        Set::LogReuse => {
            let horizon = snap.horizon.get_or_insert_with(Horizon::default);
            for r in t.rows() {
                let (Some(database), Some(wait)) =
                    (r.text("log_database")?, r.text("log_reuse_wait")?)
                else {
                    continue;
                };
                horizon.logs.push(LogReuse {
                    database,
                    wait,
                    used_pct: r.float("log_used_pct")?,
                });
            }
            Ok(())
        }
        Set::Transactions => {
            let horizon = snap.horizon.get_or_insert_with(Horizon::default);
            for r in t.rows() {
                let Some(id) = r.int("trx_session_id")? else {
                    continue;
                };
                horizon.holders.push(HorizonHolder {
                    kind: HolderKind::Session,
                    session_id: Some(id),
                    name: None,
                    database: r.text("trx_database")?,
                    age_ms: r.count("trx_age_ms")?,
                    xid_age: None,
                    rows_modified: None,
                    log_bytes: r.count("trx_log_bytes")?,
                });
            }
            Ok(())
        }
        Set::VersionHolders => {
            let horizon = snap.horizon.get_or_insert_with(Horizon::default);
            for r in t.rows() {
                let Some(id) = r.int("vs_session_id")? else {
                    continue;
                };
                horizon.version_holders.push(HorizonHolder {
                    kind: HolderKind::Session,
                    session_id: Some(id),
                    name: None,
                    database: None,
                    age_ms: r.count("vs_age_ms")?,
                    xid_age: None,
                    rows_modified: None,
                    log_bytes: None,
                });
            }
            Ok(())
        }
        Set::Databases => {
            let mut dbs = Vec::new();
            for r in t.rows() {
                let Some(name) = r.text("database_name")? else {
                    continue;
                };
                // is_query_store_on means "enabled", not "writing": the real state comes
                // from the Query Store set, and until then it is only "on".
                dbs.push(DatabaseInfo {
                    name,
                    query_store: r
                        .bit("query_store_on")?
                        .map(|on| if on { "on" } else { "off" }.to_string()),
                    read_committed_snapshot: r.bit("read_committed_snapshot_on")?,
                });
            }
            snap.databases = dbs;
            Ok(())
        }
        Set::QueryStore => {
            for r in t.rows() {
                let Some(name) = r.text("qs_database")? else {
                    continue;
                };
                let state = r.text("qs_actual_state")?.map(|s| s.to_ascii_lowercase());
                if let Some(db) = snap.databases.iter_mut().find(|d| d.name == name) {
                    db.query_store = state.or(db.query_store.take());
                }
                if let Some(mode) = r.text("qs_capture_mode")? {
                    snap.query_store_capture
                        .insert(name, mode.to_ascii_lowercase());
                }
            }
            Ok(())
        }
    }
}

fn apply_sessions(
    t: &Table,
    facts: &Facts,
    snap: &mut Snapshot,
    keys: &mut Vec<Option<i64>>,
    client_keys: &mut Vec<Option<i64>>,
) -> Result<(), String> {
    let mut sessions: Vec<Session> = Vec::with_capacity(t.rows.len());
    let mut at: std::collections::HashMap<i64, usize> = std::collections::HashMap::new();
    keys.clear();
    client_keys.clear();
    for r in t.rows() {
        let s = to_session(&r, facts)?;
        let key = if r.has("text_key") {
            r.int("text_key")?
        } else {
            None
        };
        let client = if r.has("client_key") {
            r.int("client_key")?
        } else {
            None
        };
        // One session, one row: a session with several MARS requests is one connection.
        // The batch already picks one request per session; should two rows come anyway,
        // the blocked one is kept, else the first.
        match at.get(&s.id) {
            Some(&i) => {
                if sessions[i].blocked_by.is_empty() && !s.blocked_by.is_empty() {
                    sessions[i] = s;
                    keys[i] = key;
                    client_keys[i] = client;
                }
            }
            None => {
                at.insert(s.id, sessions.len());
                sessions.push(s);
                keys.push(key);
                client_keys.push(client);
            }
        }
    }
    snap.sessions = sessions;
    Ok(())
}

/// A parallel request's coordinator waits on its own threads (CXPACKET/CXCONSUMER); the
/// threads' own waits say who really holds it up. Used only where the request itself
/// names no blocker, so a serial request's own answer always wins.
fn apply_task_blockers(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    for r in t.rows() {
        let (Some(id), Some(by)) = (r.int("task_session_id")?, r.int("task_blocked_by")?) else {
            continue;
        };
        if !is_blocker(by, id) {
            continue;
        }
        let Some(s) = snap.sessions.iter_mut().find(|s| s.id == id) else {
            continue;
        };
        if !s.blocked_by.is_empty() {
            continue;
        }
        s.blocked_by = vec![by];
        if let Some(w) = r.text("task_wait_type")? {
            s.wait_class = Some(wait_class(&w));
            s.wait_type = Some(w);
        }
        if let Some(ms) = r.int("task_wait_ms")? {
            s.wait_ms = Some(ms.max(0) as u64);
        }
    }
    Ok(())
}

/// A blocking id that is a lock chain: another session, or -2 (an orphaned distributed
/// transaction) / -3 (a transaction in deferred recovery), which hold locks with no
/// session. -4/-5 (latch owner unknown) and the session itself (a parallel request waiting
/// on its own threads) are not.
fn is_blocker(by: i64, id: i64) -> bool {
    (by > 0 && by != id)
        || by == crate::model::blocking::ORPHANED_DTC
        || by == crate::model::blocking::DEFERRED_RECOVERY
}

fn apply_config(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let mut values: BTreeMap<String, i64> = BTreeMap::new();
    for r in t.rows() {
        if let (Some(name), Some(value)) = (r.text("config_name")?, r.int("config_value")?) {
            values.insert(name.to_ascii_lowercase(), value);
        }
    }
    // 'user connections' = 0 means "as many as the server allows" (32,767): no useful ceiling.
    snap.connections.max_connections = values
        .get("user connections")
        .and_then(|&v| u64::try_from(v).ok())
        .filter(|&v| v > 0);
    snap.guardrails.optimize_for_ad_hoc =
        values.get("optimize for ad hoc workloads").map(|&v| v != 0);
    Ok(())
}

fn apply_workers(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let Some(r) = t.rows().next() else {
        return Err("no row".into());
    };
    // Sums over no visible scheduler come back NULL: that is "could not see", not zero.
    let max_workers = r
        .count("max_workers")?
        .ok_or_else(|| "max_workers is NULL".to_string())?;
    let active_workers = r
        .count("active_workers")?
        .ok_or_else(|| "no visible online scheduler".to_string())?;
    snap.workers = Some(Workers {
        max_workers,
        active_workers,
        current_workers: r.count("current_workers")?.unwrap_or(0),
        queued_tasks: r.count("queued_tasks")?.unwrap_or(0),
        runnable_tasks: r.count("runnable_tasks")?.unwrap_or(0),
        threadpool_waiters: r.count("threadpool_waiters")?.unwrap_or(0),
        cpu_count: r.count("cpu_count")?,
    });
    Ok(())
}

fn apply_gateways(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let Some(r) = t.rows().next() else {
        return Ok(());
    };
    // No gateway rows at all (SUMs are NULL): the server has no compile gate to report.
    if let Some(waiters) = r.count("gateway_waiters")? {
        snap.compile_gate = Some(CompileGate {
            waiters,
            active: r.count("gateway_active")?.unwrap_or(0),
            limit: r.count("gateway_limit")?.unwrap_or(0),
        });
    }
    Ok(())
}

/// One row per resource semaphore (two per pool): summed per pool. The timeouts are
/// cumulative and go to the counters, which the window diffs.
fn apply_grant_pools(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let mut pools: Vec<GrantPool> = Vec::new();
    let mut timeouts: Option<u64> = None;
    for r in t.rows() {
        let Some(pool_id) = r.int("grant_pool_id")? else {
            continue;
        };
        let at = match pools.iter().position(|p| p.pool_id == pool_id) {
            Some(at) => at,
            None => {
                pools.push(GrantPool {
                    pool_id,
                    name: r.text("grant_pool_name")?,
                    ..GrantPool::default()
                });
                pools.len() - 1
            }
        };
        let pool = &mut pools[at];
        pool.waiters += r.count("pool_grant_waiters")?.unwrap_or(0);
        pool.granted_kb += r.count("pool_granted_kb")?.unwrap_or(0);
        pool.target_kb += r.count("pool_target_kb")?.unwrap_or(0);
        if let Some(n) = r.count("pool_grant_timeouts")? {
            *timeouts.get_or_insert(0) += n;
        }
    }
    if let Some(n) = timeouts {
        snap.counters
            .insert(counter::MEMORY_GRANT_TIMEOUTS.to_string(), n);
    }
    snap.memory_grants
        .get_or_insert_with(MemoryGrants::default)
        .pools = pools;
    Ok(())
}

/// The counts repeat on every row (one per big holder, or one with no holder at all).
fn apply_grants(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let mut rows = t.rows().peekable();
    let Some(first) = rows.peek() else {
        return Err("no row".into());
    };
    let waiters = first.count("grant_waiters")?.unwrap_or(0);
    let holders = first.count("grant_holders")?.unwrap_or(0);
    let longest_wait_ms = first.count("longest_grant_wait_ms")?;
    let mut largest = Vec::new();
    for r in rows {
        let (Some(session_id), Some(granted_kb)) =
            (r.int("holder_session_id")?, r.count("holder_granted_kb")?)
        else {
            continue;
        };
        largest.push(GrantHolder {
            session_id,
            granted_kb,
            requested_kb: r.count("holder_requested_kb")?,
            dop: r.count("holder_dop")?,
        });
    }
    let m = snap.memory_grants.get_or_insert_with(MemoryGrants::default);
    m.waiters = waiters;
    m.holders = holders;
    m.longest_wait_ms = longest_wait_ms;
    m.largest = largest;
    Ok(())
}

/// One row: the parallel requests' counts (0 and NULL sums when none runs) and the settings.
fn apply_parallelism(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let Some(r) = t.rows().next() else {
        return Err("no row".into());
    };
    snap.parallelism = Some(Parallelism {
        parallel_requests: r.count("parallel_requests")?.unwrap_or(0),
        parallel_tasks: r.count("parallel_tasks")?.unwrap_or(0),
        max_request_tasks: r.count("max_request_tasks")?.unwrap_or(0),
        maxdop: r.count("maxdop_setting")?,
        cost_threshold: r.count("cost_threshold_setting")?,
    });
    Ok(())
}

/// One row per tempdb page with latch waiters (none: nobody waits).
fn apply_tempdb_latches(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let mut waits = Vec::new();
    for r in t.rows() {
        let Some(resource) = r.text("latch_resource")? else {
            continue;
        };
        waits.push(PageLatchWait {
            resource,
            waiters: r.count("latch_waiters")?.unwrap_or(0),
            longest_ms: r.count("latch_longest_ms")?.unwrap_or(0),
        });
    }
    snap.tempdb_latches = Some(waits);
    Ok(())
}

/// Performance counters by (object, counter). The object keeps only what follows the
/// instance prefix ('SQLServer:' or 'MSSQL$NAME:'), so named instances read the same.
fn apply_counters(t: &Table, snap: &mut Snapshot) -> Result<(), String> {
    let mut optimizations = None;
    for r in t.rows() {
        let object = r.text("counter_object")?.unwrap_or_default();
        let name = r.text("counter_name")?.unwrap_or_default();
        let instance = r.text("counter_instance")?.unwrap_or_default();
        let Some(value) = r.count("counter_value")? else {
            continue;
        };
        let object = object.rsplit(':').next().unwrap_or("").trim();
        let key = match (object, name.as_str()) {
            ("SQL Statistics", "SQL Compilations/sec") => counter::COMPILATIONS,
            ("SQL Statistics", "SQL Re-Compilations/sec") => counter::RECOMPILATIONS,
            ("SQL Statistics", "Batch Requests/sec") => counter::BATCHES,
            ("General Statistics", "Logins/sec") => counter::LOGINS,
            ("General Statistics", "User Connections") => {
                // A gauge, not a counter: the server's own count of connected clients.
                snap.connections.current = Some(value);
                continue;
            }
            ("Locks", "Number of Deadlocks/sec") if instance == "_Total" => counter::DEADLOCKS,
            // Gauges of the version store and of tempdb, for long-transaction.
            ("Transactions", "Version Store Size (KB)") => {
                snap.horizon
                    .get_or_insert_with(Horizon::default)
                    .version_store_kb = Some(value);
                continue;
            }
            ("Databases", "Data File(s) Size (KB)") if instance == "tempdb" => {
                snap.horizon
                    .get_or_insert_with(Horizon::default)
                    .tempdb_data_kb = Some(value);
                continue;
            }
            ("optimizer", "optimizations") => {
                optimizations = Some(value);
                continue;
            }
            _ => continue,
        };
        snap.counters.entry(key.to_string()).or_insert(value);
    }
    // 'optimizations' (sys.dm_exec_query_optimizer_info) counts the same compilations; it
    // stands in when the performance counters are missing (disabled counters happen).
    if let Some(o) = optimizations {
        snap.counters
            .entry(counter::COMPILATIONS.to_string())
            .or_insert(o);
    }
    Ok(())
}

/// The family of a SQL Server wait type: the model owns the classification (the diffed
/// wait statistics classify too); the decoder uses it under its old name.
pub use crate::model::wait_class::sqlserver as wait_class;

/// What a request's command says about the statement, when it says anything: EXECUTE,
/// COND WITH QUERY and friends do not, and then the text decides.
fn statement_of_command(command: &str) -> Option<StatementKind> {
    let first = command.split_whitespace().next()?.to_ascii_uppercase();
    match first.as_str() {
        "SELECT" => Some(StatementKind::Read),
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "BULK" => Some(StatementKind::Write),
        "ALTER" | "CREATE" | "DROP" | "TRUNCATE" => Some(StatementKind::Ddl),
        _ => None,
    }
}

/// The text of an sp_executesql call starts with its parameter declarations,
/// "(@p0 int,@p1 nvarchar(4000))UPDATE ...", which hide the statement's first keyword.
fn skip_parameter_list(text: &str) -> &str {
    let t = text.trim_start();
    if !t.starts_with("(@") {
        return text;
    }
    let mut depth = 0usize;
    for (i, c) in t.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return &t[i + 1..];
                }
            }
            _ => {}
        }
    }
    text
}

fn to_session(r: &RowView, facts: &Facts) -> Result<Session, String> {
    let id = r
        .int("session_id")?
        .ok_or_else(|| "session_id is NULL".to_string())?;
    session_like(r, id, facts)
}

/// A session from a session row, or a group's shared attributes from a group row.
fn session_like(r: &RowView, id: i64, facts: &Facts) -> Result<Session, String> {
    let status = r.text("status")?;
    let command = r.text("command")?;
    let wait_type = r.text("wait_type")?;
    let elapsed = r.int("elapsed_ms")?;
    let open_transactions = r.int("open_transactions")?.unwrap_or(0).max(0);
    // Request columns are NULL for a session with no request: it is between batches.
    let has_request = elapsed.is_some() || command.is_some();
    let raw = status.as_deref().unwrap_or("").to_ascii_lowercase();
    let state = match raw.as_str() {
        "running" | "runnable" | "suspended" | "rollback" | "background" | "pending"
        | "spinloop"
            if has_request =>
        {
            SessionState::Active
        }
        // dormant: reset by a client pool and waiting to be reused.
        "sleeping" | "dormant" if open_transactions > 0 => SessionState::IdleInTransaction,
        "sleeping" | "dormant" => SessionState::Idle,
        "running" => SessionState::Active,
        _ => SessionState::Other,
    };
    let mut s = Session::new(id, state);
    if r.bit("is_user_process")? == Some(false) {
        s.kind = SessionKind::System;
    }
    s.wait_class = match &wait_type {
        Some(w) => Some(wait_class(w)),
        // Running (or runnable: waiting for its turn on a CPU) with no wait: on CPU.
        None if state == SessionState::Active && matches!(raw.as_str(), "running" | "runnable") => {
            Some(WaitClass::Cpu)
        }
        None => None,
    };
    let wait_ms = r.int("wait_ms")?;
    s.wait_ms = wait_type.as_ref().and(wait_ms).map(|v| v.max(0) as u64);
    s.wait_type = wait_type;
    if let Some(b) = r.int("blocked_by")?.filter(|&b| is_blocker(b, id)) {
        s.blocked_by = vec![b];
    }
    match state {
        SessionState::Active => s.elapsed_ms = elapsed.map(|v| v.max(0) as u64),
        SessionState::Idle | SessionState::IdleInTransaction => {
            s.idle_ms = r.int("idle_ms")?.map(|v| v.max(0) as u64)
        }
        SessionState::Other => {}
    }
    s.open_transactions = u32::try_from(open_transactions).unwrap_or(u32::MAX);
    s.rolling_back = raw == "rollback"
        || command
            .as_deref()
            .is_some_and(|c| c.to_ascii_uppercase().contains("ROLLBACK"));
    // Older recordings carry the text in the row; the sample now sends it keyed, once.
    s.query = if r.has("sql_text") {
        r.text("sql_text")?
    } else {
        None
    };
    s.statement = command
        .as_deref()
        .and_then(statement_of_command)
        .or_else(|| {
            s.query
                .as_deref()
                .map(skip_parameter_list)
                .and_then(StatementKind::of_sql)
        });
    s.command = command;
    s.raw_state = status;
    // Older recordings name the client in the row; the sample now sends it keyed, once.
    if r.has("host_name") {
        s.user = r.text("session_login")?;
        s.client_host = r.text("host_name")?;
        s.application = r.text("program_name")?;
        s.database = r.text("session_database")?;
    }
    s.connected_at = r.time("login_time")?.map(|t| facts.to_utc(t));
    s.is_admin = r.bit("is_sysadmin")?.unwrap_or(false);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
    fn i(v: i64) -> Cell {
        Cell::Int(v)
    }
    fn when(h: u32, m: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 11, 17)
            .and_then(|d| d.and_hms_opt(h, m, s))
            .expect("valid test date")
    }

    const FACT_COLUMNS: &[&str] = &[
        "product_version",
        "version_text",
        "edition",
        "engine_edition",
        "own_session_id",
        "login_name",
        "taken_at_utc",
        "utc_offset_min",
        "sees_all",
    ];

    fn facts(version: &str, text: &str, engine_edition: i64, sees_all: i64) -> Table {
        Table::new(
            FACT_COLUMNS,
            vec![vec![
                t(version),
                t(text),
                t("Enterprise Edition: Core-based Licensing (64-bit)"),
                i(engine_edition),
                i(61),
                t("spiral"),
                Cell::Time(when(9, 30, 0)),
                i(-300),
                i(sees_all),
            ]],
        )
    }

    const SESSION_COLUMNS: &[&str] = &[
        "session_id",
        "is_user_process",
        "status",
        "command",
        "wait_type",
        "wait_ms",
        "blocked_by",
        "open_transactions",
        "elapsed_ms",
        "idle_ms",
        "login_time",
        "host_name",
        "program_name",
        "session_login",
        "session_database",
        "is_sysadmin",
        "sql_text",
    ];

    #[allow(clippy::too_many_arguments)]
    fn session(
        id: i64,
        status: &str,
        command: Option<&str>,
        wait: Option<(&str, i64)>,
        blocked_by: Option<i64>,
        open_tran: i64,
        elapsed: Option<i64>,
        idle: Option<i64>,
        text: Option<&str>,
    ) -> Vec<Cell> {
        let opt = |v: Option<&str>| v.map_or(Cell::Null, t);
        vec![
            i(id),
            Cell::Bit(true),
            t(status),
            opt(command),
            wait.map_or(Cell::Null, |(w, _)| t(w)),
            wait.map_or(Cell::Null, |(_, ms)| i(ms)),
            blocked_by.map_or(Cell::Null, i),
            i(open_tran),
            elapsed.map_or(Cell::Null, i),
            idle.map_or(Cell::Null, i),
            Cell::Time(when(4, 0, 0)),
            t("ip-10-0-3-7"),
            t("app-backend-api"),
            t("shopry"),
            t("shopry_shopifyproductaddons"),
            Cell::Bit(false),
            opt(text),
        ]
    }

    fn own(id: i64) -> Vec<Cell> {
        session(
            id,
            "running",
            Some("SELECT"),
            None,
            None,
            0,
            Some(3),
            None,
            Some("SELECT CAST(SERVERPROPERTY"),
        )
    }

    fn workers() -> Table {
        Table::new(
            &[
                "queued_tasks",
                "active_workers",
                "current_workers",
                "runnable_tasks",
                "threadpool_waiters",
                "max_workers",
                "cpu_count",
            ],
            vec![vec![
                i(1817),
                i(2510),
                i(2600),
                i(40),
                i(1200),
                i(2400),
                i(64),
            ]],
        )
    }

    fn gateways() -> Table {
        Table::new(
            &["gateway_waiters", "gateway_active", "gateway_limit"],
            vec![vec![i(2574), i(321), i(321)]],
        )
    }

    /// Two pools with two semaphores each; 340 requests queued behind one 24 GB grant.
    fn grant_pools() -> Table {
        let row = |id: i64, name: &str, waiters: i64, timeouts: i64, granted: i64, target: i64| {
            vec![
                i(id),
                t(name),
                i(waiters),
                i(timeouts),
                i(granted),
                i(target),
            ]
        };
        Table::new(
            &[
                "grant_pool_id",
                "grant_pool_name",
                "pool_grant_waiters",
                "pool_grant_timeouts",
                "pool_granted_kb",
                "pool_target_kb",
            ],
            vec![
                row(1, "internal", 0, 0, 0, 1_200_000),
                row(1, "internal", 0, 0, 0, 60_000),
                row(2, "default", 336, 6, 47_900_000, 48_000_000),
                row(2, "default", 4, 1, 2_390_000, 2_400_000),
            ],
        )
    }

    fn memory_grants() -> Table {
        Table::new(
            &[
                "grant_waiters",
                "grant_holders",
                "longest_grant_wait_ms",
                "holder_session_id",
                "holder_granted_kb",
                "holder_requested_kb",
                "holder_dop",
            ],
            vec![
                vec![
                    i(340),
                    i(41),
                    i(14_200),
                    i(77),
                    i(25_165_824),
                    i(25_165_824),
                    i(8),
                ],
                vec![
                    i(340),
                    i(41),
                    i(14_200),
                    i(131),
                    i(4_194_304),
                    Cell::Null,
                    Cell::Null,
                ],
            ],
        )
    }

    /// Counters as a named instance returns them when RTRIM was forgotten: object, counter
    /// and instance names are nchar(128), space padded.
    fn counters(prefix: &str, compilations: i64) -> Table {
        let pad = |s: &str| Cell::Text(format!("{s:<128}"));
        let row = |obj: &str, name: &str, inst: &str, v: i64| {
            vec![pad(&format!("{prefix}:{obj}")), pad(name), pad(inst), i(v)]
        };
        Table::new(
            &[
                "counter_object",
                "counter_name",
                "counter_instance",
                "counter_value",
            ],
            vec![
                row("SQL Statistics", "SQL Compilations/sec", "", compilations),
                row("SQL Statistics", "SQL Re-Compilations/sec", "", 1_000),
                row("SQL Statistics", "Batch Requests/sec", "", 9_000_000),
                row("General Statistics", "Logins/sec", "", 77_000),
                row("General Statistics", "User Connections", "", 5_050),
                row("Locks", "Number of Deadlocks/sec", "_Total", 12),
                vec![t("optimizer"), t("optimizations"), t(""), i(123)],
            ],
        )
    }

    fn config(user_connections: i64, adhoc: i64) -> Table {
        Table::new(
            &["config_name", "config_value"],
            vec![
                vec![t("max worker threads"), i(0)],
                vec![t("optimize for ad hoc workloads"), i(adhoc)],
                vec![t("user connections"), i(user_connections)],
            ],
        )
    }

    fn databases() -> Table {
        Table::new(
            &[
                "database_name",
                "query_store_on",
                "read_committed_snapshot_on",
                "database_state",
            ],
            vec![
                vec![t("master"), Cell::Bit(false), Cell::Bit(false), t("ONLINE")],
                vec![
                    t("shopry_shopifyproductaddons"),
                    Cell::Bit(true),
                    Cell::Bit(false),
                    t("ONLINE"),
                ],
            ],
        )
    }

    fn plan_cache() -> Table {
        Table::new(
            &["plan_objtype", "plans", "single_use_plans", "size_bytes"],
            vec![
                vec![t("Adhoc"), i(150_000), i(140_000), i(9_000_000_000)],
                vec![t("Prepared"), i(60_000), i(45_000), i(4_000_000_000)],
            ],
        )
    }

    fn full_batch(facts: Table, sessions: Vec<Vec<Cell>>) -> Batch {
        Batch {
            tables: vec![
                facts,
                config(0, 0),
                Table::new(SESSION_COLUMNS, sessions),
                workers(),
                gateways(),
                counters("SQLServer", 812_345_678),
                databases(),
                query_store(),
                grant_pools(),
                memory_grants(),
            ],
            error: None,
        }
    }

    fn query_store() -> Table {
        Table::new(
            &["qs_database", "qs_actual_state", "qs_capture_mode"],
            vec![vec![
                t("shopry_shopifyproductaddons"),
                t("READ_WRITE"),
                t("ALL"),
            ]],
        )
    }

    #[test]
    fn sql_server_2019_incident_rows() {
        let sessions = vec![
            own(61),
            session(
                512,
                "suspended",
                Some("MERGE"),
                Some(("LCK_M_U", 59_000)),
                Some(182),
                1,
                Some(59_500),
                None,
                Some("MERGE [dbo].[Widget] ..."),
            ),
            session(
                700,
                "suspended",
                Some("SELECT"),
                Some(("RESOURCE_SEMAPHORE_QUERY_COMPILE", 20_000)),
                None,
                0,
                Some(21_000),
                None,
                Some("SELECT TOP (5) [r].[Id] FROM [dbo].[Review]"),
            ),
            session(
                701,
                "suspended",
                Some("SELECT"),
                Some(("QDS_STMT", 3_000)),
                None,
                0,
                Some(4_000),
                None,
                None,
            ),
            session(
                800,
                "sleeping",
                None,
                None,
                None,
                2,
                None,
                Some(42_000),
                None,
            ),
            session(
                801,
                "sleeping",
                None,
                None,
                None,
                0,
                None,
                Some(900_000),
                None,
            ),
            session(
                802,
                "runnable",
                Some("EXECUTE"),
                None,
                Some(-4),
                0,
                Some(10),
                None,
                Some("(@p0 int)UPDATE [dbo].[Review] SET [Body] = @p0"),
            ),
            session(
                803,
                "suspended",
                Some("KILLED/ROLLBACK"),
                Some(("LCK_M_X", 10)),
                Some(803),
                1,
                Some(50),
                None,
                None,
            ),
        ];
        let batch = full_batch(
            facts(
                "15.0.4261.1",
                "Microsoft SQL Server 2019 (RTM-CU18) (KB5017593) - 15.0.4261.1 (X64) \n\tSep 12 2022 15:07:06 \n\tCopyright (C) 2019 Microsoft Corporation\n",
                3,
                1,
            ),
            sessions,
        );
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        assert!(snap.gaps.is_empty(), "{:?}", snap.gaps);
        assert_eq!(
            snap.server.version,
            "Microsoft SQL Server 2019 (RTM-CU18) (KB5017593) - 15.0.4261.1 (X64), Enterprise Edition: Core-based Licensing (64-bit)"
        );
        assert_eq!(snap.server.flavor, None);
        assert_eq!(snap.own_session_id, Some(61));
        assert_eq!(snap.taken_at, when(9, 30, 0).and_utc());
        let by_id = |id: i64| snap.sessions.iter().find(|s| s.id == id).expect("session");

        let s = by_id(512);
        assert_eq!(s.state, SessionState::Active);
        assert_eq!(s.wait_class, Some(WaitClass::Lock));
        assert_eq!(s.wait_ms, Some(59_000));
        assert_eq!(s.blocked_by, vec![182]);
        assert_eq!(s.statement, Some(StatementKind::Write));
        assert_eq!(s.elapsed_ms, Some(59_500));
        // login_time 04:00 local at UTC-5 is 09:00 UTC.
        assert_eq!(s.connected_at, Some(when(9, 0, 0).and_utc()));

        assert_eq!(by_id(700).wait_class, Some(WaitClass::Compile));
        assert_eq!(by_id(700).statement, Some(StatementKind::Read));
        assert_eq!(by_id(701).wait_class, Some(WaitClass::QueryStore));
        let idle_tx = by_id(800);
        assert_eq!(idle_tx.state, SessionState::IdleInTransaction);
        assert_eq!((idle_tx.idle_ms, idle_tx.elapsed_ms), (Some(42_000), None));
        assert_eq!(idle_tx.open_transactions, 2);
        assert_eq!(by_id(801).state, SessionState::Idle);
        // -4 (latch owner unknown) is not a session; EXECUTE falls back to the text.
        let upd = by_id(802);
        assert!(upd.blocked_by.is_empty());
        assert_eq!(upd.wait_class, Some(WaitClass::Cpu));
        assert_eq!(upd.statement, Some(StatementKind::Write));
        // Blocked by itself (parallel threads): no chain; KILLED/ROLLBACK is rolling back.
        let killed = by_id(803);
        assert!(killed.blocked_by.is_empty());
        assert!(killed.rolling_back);

        // Memory grants: the two semaphores of a pool are summed, the timeouts go to the
        // counters (cumulative), the holders keep their order and a NULL stays unknown.
        let m = snap.memory_grants.as_ref().expect("memory grants");
        assert_eq!(
            (m.waiters, m.holders, m.longest_wait_ms),
            (340, 41, Some(14_200))
        );
        let pools: Vec<(i64, Option<&str>, u64, u64)> = m
            .pools
            .iter()
            .map(|p| (p.pool_id, p.name.as_deref(), p.waiters, p.granted_kb))
            .collect();
        assert_eq!(
            pools,
            [
                (1, Some("internal"), 0, 0),
                (2, Some("default"), 340, 50_290_000)
            ]
        );
        assert_eq!(snap.counter(counter::MEMORY_GRANT_TIMEOUTS), Some(7));
        assert_eq!(
            m.largest
                .iter()
                .map(|h| (h.session_id, h.dop))
                .collect::<Vec<_>>(),
            [(77, Some(8)), (131, None)]
        );
        let w = snap.workers.as_ref().expect("workers");
        assert_eq!(
            (
                w.max_workers,
                w.active_workers,
                w.queued_tasks,
                w.threadpool_waiters
            ),
            (2400, 2510, 1817, 1200)
        );
        assert_eq!(w.cpu_count, Some(64));
        let g = snap.compile_gate.as_ref().expect("gate");
        assert_eq!((g.waiters, g.active, g.limit), (2574, 321, 321));
        assert_eq!(snap.counter(counter::COMPILATIONS), Some(812_345_678));
        assert_eq!(snap.counter(counter::BATCHES), Some(9_000_000));
        assert_eq!(snap.counter(counter::LOGINS), Some(77_000));
        assert_eq!(snap.counter(counter::DEADLOCKS), Some(12));
        assert_eq!(snap.counter(counter::RECOMPILATIONS), Some(1_000));
        assert_eq!(snap.connections.current, Some(5_050));
        assert_eq!(snap.connections.max_connections, None, "0 means no limit");
        assert_eq!(snap.guardrails.optimize_for_ad_hoc, Some(false));
        let qs = snap
            .databases
            .iter()
            .find(|d| d.name == "shopry_shopifyproductaddons")
            .expect("db");
        assert!(qs.query_store_writes());
        assert_eq!(qs.read_committed_snapshot, Some(false));
        assert_eq!(
            snap.query_store_capture
                .get("shopry_shopifyproductaddons")
                .map(String::as_str),
            Some("all")
        );
        let master = snap.databases.iter().find(|d| d.name == "master");
        assert_eq!(master.and_then(|d| d.query_store.as_deref()), Some("off"));
        assert!(snap.plan_cache.is_none(), "read apart by the sampler");
        let (cache, stubs) = decode_plan_cache(&Batch {
            tables: vec![plan_cache()],
            error: None,
        })
        .expect("plan cache");
        assert_eq!(cache.len(), 2);
        assert_eq!(cache[0].single_use, 140_000);
        assert_eq!(stubs, 0);
    }

    #[test]
    fn named_instance_counters_with_padded_names() {
        let mut batch = full_batch(
            facts("16.0.4135.4", "Microsoft SQL Server 2022 (RTM-CU15)", 3, 1),
            vec![own(61)],
        );
        batch.tables[5] = counters("MSSQL$SHOP", 42);
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        assert_eq!(snap.counter(counter::COMPILATIONS), Some(42));
        assert_eq!(snap.counter(counter::DEADLOCKS), Some(12));
        assert_eq!(snap.connections.current, Some(5_050));
    }

    #[test]
    fn optimizations_stand_in_for_missing_compilation_counter() {
        let mut batch = full_batch(facts("15.0.2000.5", "", 3, 1), vec![own(61)]);
        batch.tables[5]
            .rows
            .retain(|r| !matches!(&r[1], Cell::Text(n) if n.trim() == "SQL Compilations/sec"));
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        assert_eq!(snap.counter(counter::COMPILATIONS), Some(123));
    }

    #[test]
    fn sql_server_2016_permission_denied_names_view_server_state() {
        // 2016 has the memory gateways but no VIEW SERVER PERFORMANCE STATE.
        let batch = Batch {
            tables: vec![
                facts("13.0.6300.2", "Microsoft SQL Server 2016 (SP3)", 3, 0),
                config(0, 1),
                databases(),
            ],
            error: Some(ServerError {
                code: 300,
                message:
                    "VIEW SERVER STATE permission was denied on object 'server', database 'master'."
                        .into(),
            }),
        };
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        for area in [
            Area::OtherSessions,
            Area::Locks,
            Area::Workers,
            Area::Compiles,
            Area::Counters,
        ] {
            let g = snap.gap(area).unwrap_or_else(|| panic!("gap for {area:?}"));
            assert!(g.reason.contains("VIEW SERVER STATE"), "{}", g.reason);
            assert!(g.reason.contains("error 300"), "{}", g.reason);
            assert_eq!(
                g.remedy.as_deref(),
                Some("GRANT VIEW SERVER STATE TO [spiral];")
            );
        }
        assert!(snap.gap(Area::Settings).is_none());
        assert_eq!(snap.guardrails.optimize_for_ad_hoc, Some(true));
        assert!(snap.workers.is_none() && snap.sessions.is_empty());
    }

    #[test]
    fn sql_server_2022_remedy_is_view_server_performance_state() {
        let limited_by = ServerError {
            code: 297,
            message: "The user does not have permission to perform this action.".into(),
        };
        let batch = Batch {
            tables: vec![
                facts("16.0.1000.6", "Microsoft SQL Server 2022 (RTM)", 3, 0),
                config(500, 0),
                databases(),
            ],
            error: None,
        };
        let snap = decode(&batch, BatchKind::Limited, Some(&limited_by)).expect("decodes");
        let g = snap.gap(Area::Workers).expect("workers gap");
        assert!(
            g.reason.contains("VIEW SERVER PERFORMANCE STATE"),
            "{}",
            g.reason
        );
        assert!(
            g.remedy
                .as_deref()
                .is_some_and(|r| r.starts_with("GRANT VIEW SERVER PERFORMANCE STATE TO [spiral];"))
        );
        assert_eq!(snap.connections.max_connections, Some(500));
    }

    #[test]
    fn azure_sql_database_sees_only_its_own_session() {
        let mut batch = full_batch(
            facts(
                "12.0.2000.8",
                "Microsoft SQL Azure (RTM) - 12.0.2000.8 \n\tOct  1 2024 11:51:10",
                EDITION_AZURE_SQL_DATABASE,
                0,
            ),
            vec![own(61)],
        );
        // Azure SQL Database refuses the server-level plan cache and schedulers.
        batch.tables.retain(|t| {
            !matches!(
                t.first_column(),
                Some("plan_objtype") | Some("queued_tasks")
            )
        });
        batch.error = Some(ServerError {
            code: 297,
            message: "The user does not have permission to perform this action.".into(),
        });
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        assert_eq!(snap.server.flavor.as_deref(), Some("azure-sql-database"));
        let g = snap.gap(Area::OtherSessions).expect("other sessions gap");
        assert!(g.reason.contains("only its own session"), "{}", g.reason);
        assert!(
            g.remedy
                .as_deref()
                .is_some_and(|r| r.contains("VIEW DATABASE STATE")),
            "{g:?}"
        );
        // Schedulers need ##MS_ServerStateReader## there; VIEW DATABASE STATE is not enough.
        let w = snap.gap(Area::Workers).expect("workers gap");
        assert!(
            w.remedy
                .as_deref()
                .is_some_and(|r| r.contains("##MS_ServerStateReader##")),
            "{w:?}"
        );
        assert!(snap.compile_gate.is_some(), "what could be read is kept");
    }

    #[test]
    fn only_own_session_visible_while_server_counts_more_is_a_gap() {
        // sees_all unknown (NULL): the session list itself gives the blindness away.
        let mut f = facts("15.0.2000.5", "", 3, 0);
        f.rows[0][8] = Cell::Null;
        let snap = decode(&full_batch(f, vec![own(61)]), BatchKind::Full, None).expect("decodes");
        assert!(snap.gap(Area::OtherSessions).is_some());
    }

    #[test]
    fn dac_batch_reports_the_skipped_plan_cache() {
        let mut batch = full_batch(facts("15.0.2000.5", "", 3, 1), vec![own(61)]);
        batch
            .tables
            .retain(|t| t.first_column() != Some("plan_objtype"));
        let snap = decode(&batch, BatchKind::Dac, None).expect("decodes");
        let g = snap.gap(Area::PlanCache).expect("plan cache gap");
        assert!(
            g.reason.contains("dedicated admin connection"),
            "{}",
            g.reason
        );
        assert!(snap.gap(Area::QueryText).is_some(), "no text over the DAC");
        assert_eq!(snap.gaps.len(), 2, "{:?}", snap.gaps);
    }

    #[test]
    fn a_cell_of_the_wrong_type_is_a_gap_not_a_panic() {
        let mut batch = full_batch(facts("15.0.2000.5", "", 3, 1), vec![own(61)]);
        batch.tables[3].rows[0][0] = t("lots");
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        let g = snap.gap(Area::Workers).expect("gap");
        assert!(g.reason.contains("queued_tasks"), "{}", g.reason);
        assert!(snap.workers.is_none());
    }

    #[test]
    fn missing_facts_is_an_error_naming_the_server_error() {
        let batch = Batch {
            tables: Vec::new(),
            error: Some(ServerError {
                code: 208,
                message: "Invalid object name 'sys.dm_exec_query_optimizer_memory_gateways'."
                    .into(),
            }),
        };
        let e = decode(&batch, BatchKind::Full, None).expect_err("no facts");
        assert!(e.contains("error 208"), "{e}");
    }

    #[test]
    fn negative_blockers_kept_only_for_locks_and_tasks_refine_only_the_unblocked() {
        let row = |id: i64, by: Option<i64>, wait: &str| {
            session(
                id,
                "suspended",
                Some("SELECT"),
                Some((wait, 30_000)),
                by,
                0,
                Some(31_000),
                None,
                None,
            )
        };
        let mut batch = full_batch(
            facts("15.0.2000.5", "", 3, 1),
            vec![
                own(61),
                row(900, Some(-2), "LCK_M_X"),
                row(901, Some(-3), "LCK_M_S"),
                row(902, Some(-5), "PAGELATCH_EX"),
                row(903, None, "CXCONSUMER"),
                row(904, Some(900), "LCK_M_S"),
            ],
        );
        batch.tables.push(Table::new(
            &[
                "task_session_id",
                "task_blocked_by",
                "task_wait_type",
                "task_wait_ms",
            ],
            vec![
                // A parallel request's workers wait on session 700's lock.
                vec![i(903), i(700), t("LCK_M_S"), i(29_000)],
                // A request that names its own blocker keeps it.
                vec![i(904), i(701), t("LCK_M_S"), i(1_000)],
                // Latch states are not a lock chain, from tasks either.
                vec![i(902), i(-4), t("PAGELATCH_EX"), i(1_000)],
            ],
        ));
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        let by = |id: i64| {
            snap.sessions
                .iter()
                .find(|s| s.id == id)
                .map(|s| (s.blocked_by.clone(), s.wait_type.clone()))
                .expect("session")
        };
        assert_eq!(by(900).0, vec![-2]);
        assert_eq!(by(901).0, vec![-3]);
        assert!(by(902).0.is_empty());
        assert_eq!(by(903), (vec![700], Some("LCK_M_S".to_string())));
        assert_eq!(by(904).0, vec![900]);
    }

    #[test]
    fn an_uncaught_error_marks_sessions_partial_only_when_it_hit_an_arrived_set() {
        let e535 = ServerError {
            code: 535,
            message: "The datediff function resulted in an overflow.".into(),
        };
        // Every set arrived, and yet the server reported an error: one of them was cut.
        let mut batch = full_batch(facts("15.0.2000.5", "", 3, 1), vec![own(61)]);
        batch.error = Some(e535.clone());
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        let g = snap.gap(Area::OtherSessions).expect("partial");
        assert!(g.reason.contains("may be partial") && g.reason.contains("535"));
        assert!(snap.gap(Area::Locks).is_some());
        // The error explains a set that is missing instead: the sessions are whole.
        let mut batch = full_batch(facts("15.0.2000.5", "", 3, 1), vec![own(61)]);
        batch
            .tables
            .retain(|t| t.first_column() != Some("gateway_waiters"));
        batch.error = Some(e535);
        let snap = decode(&batch, BatchKind::Full, None).expect("decodes");
        assert!(snap.gap(Area::OtherSessions).is_none(), "{:?}", snap.gaps);
        assert!(snap.gap(Area::Compiles).is_some());
    }

    #[test]
    fn bracketed_logins_double_the_closing_bracket() {
        assert_eq!(bracket("DOMAIN\\svc]x"), "[DOMAIN\\svc]]x]");
    }
}
