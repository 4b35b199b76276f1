//! PostgreSQL sampler: one plain connection (never a pool), one statement per sample.
//!
//! The session names itself `spiral`, bounds itself (statement_timeout, lock_timeout,
//! idle_in_transaction_session_timeout, read-only transactions) and reads only. All the
//! catalogue work is in the sample statement (queries/postgres/sample.sql and its parts);
//! this file maps its rows (one per shape of backend, one header) onto the engine-neutral
//! snapshot, and keeps the settings between samples.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{ConnectOptions, Connection, Row};

use super::{EngineError, classify_connect_error, timed};
use crate::config::ConnectSettings;
use crate::model::session::{Session, SessionKind, SessionState, StatementKind, WaitClass};
use crate::model::snapshot::{
    Area, ConnectionLimits, Engine, Gap, Guardrails, HolderKind, Horizon, HorizonHolder,
    ServerInfo, Snapshot, counter,
};
use crate::target::Target;

const SAMPLE: &str = include_str!("../../queries/postgres/sample.sql");
const SAMPLE_PG12: &str = include_str!("../../queries/postgres/sample_pg12.sql");
/// The sample statements as sent, composed once per process from their parts
/// (queries/postgres/parts): byte-identical on every sample, so prepared once.
static SAMPLE_SQL: LazyLock<String> =
    LazyLock::new(|| crate::queries::compose(SAMPLE, crate::queries::PG_PARTS));
static SAMPLE_PG12_SQL: LazyLock<String> =
    LazyLock::new(|| crate::queries::compose(SAMPLE_PG12, crate::queries::PG_PARTS));
const SESSION_SETUP: &str = include_str!("../../queries/postgres/session_setup.sql");
const VERSION: &str = include_str!("../../queries/postgres/version.sql");
const TERMINATE: &str = include_str!("../../queries/postgres/terminate.sql");
const CANCEL: &str = include_str!("../../queries/postgres/cancel.sql");
const TERMINATE_BATCH: &str = include_str!("../../queries/postgres/terminate_batch.sql");
/// How many holders of the xmin horizon a sample names.
const HORIZON_HOLDERS: usize = 5;
/// What pg_stat_activity.query says for a backend this role may not look into.
const HIDDEN_QUERY: &str = "<insufficient privilege>";
/// How long kept settings may go without a read even though the configuration was not
/// loaded again since (see `Settings`): a bound on trusting that signal, not the signal.
const SETTINGS_EVERY: Duration = Duration::from_secs(60);

pub struct PgSampler {
    conn: PgConnection,
    query_timeout: Duration,
    version_num: i32,
    settings: Settings,
}

/// The limits and timeouts from pg_settings, kept between samples. This session's reset
/// values change only when it loads the configuration again (a reload; a restart ends the
/// connection), which pg_conf_load_time() tells: the sample reads pg_settings only when
/// that differs from `conf_loaded`, and at least every `SETTINGS_EVERY`. Kept values go
/// into each snapshot labelled with the time they were read (`Snapshot::settings_read_at`).
#[derive(Default)]
struct Settings {
    values: BTreeMap<String, String>,
    /// pg_conf_load_time() when they were read.
    conf_loaded: Option<DateTime<Utc>>,
    /// The server's clock (the sample's taken_at) when they were read.
    read_at: Option<DateTime<Utc>>,
    /// This process's clock when they were read; None: never read.
    read: Option<Instant>,
}

impl Settings {
    /// What the sample is given as $1: the configuration load time the kept values belong
    /// to, or NULL to have them read whatever it is.
    fn known_conf(&self) -> Option<DateTime<Utc>> {
        match self.read {
            Some(at) if at.elapsed() < SETTINGS_EVERY => self.conf_loaded,
            _ => None,
        }
    }
}

pub fn options(target: &Target) -> anyhow::Result<PgConnectOptions> {
    // `credentials::complete` has already applied PGHOST, PGPORT, PGUSER, PGDATABASE,
    // PGPASSWORD and the password file, matched against the server actually used; sqlx's
    // own .pgpass lookup would run before the target is applied, so it is skipped.
    // new_without_pgpass() still reads PGSSLMODE, PGSSLROOTCERT and friends.
    let mut o = PgConnectOptions::new_without_pgpass()
        .application_name("spiral")
        .statement_cache_capacity(4);
    match target.host.as_deref() {
        Some(dir) if dir.starts_with('/') => o = o.socket(dir),
        Some(h) => o = o.host(h),
        None => {}
    }
    if let Some(p) = target.port {
        o = o.port(p);
    }
    if let Some(u) = &target.user {
        o = o.username(u);
    }
    if let Some(p) = &target.password {
        o = o.password(p.expose());
    }
    if let Some(d) = &target.database {
        o = o.database(d);
    }
    if let Some(mode) = target.option("sslmode") {
        let mode: PgSslMode = mode
            .parse()
            .map_err(|_| anyhow::anyhow!("sslmode '{mode}' is not one of disable, allow, prefer, require, verify-ca, verify-full"))?;
        o = o.ssl_mode(mode);
    }
    if let Some(root) = target.option("sslrootcert") {
        o = o.ssl_root_cert(root);
    }
    Ok(o.disable_statement_logging())
}

pub async fn connect(target: &Target, settings: &ConnectSettings) -> anyhow::Result<PgSampler> {
    let opts = options(target)?;
    let who = match opts.get_socket() {
        Some(dir) => format!(
            "{}@{} (socket)",
            opts.get_username(),
            crate::sanitize::clean(&dir.display().to_string())
        ),
        None if opts.get_host().contains(':') => format!(
            "{}@[{}]:{}",
            opts.get_username(),
            opts.get_host(),
            opts.get_port()
        ),
        None => format!(
            "{}@{}:{}",
            opts.get_username(),
            opts.get_host(),
            opts.get_port()
        ),
    };
    let mut conn =
        match tokio::time::timeout(settings.connect_timeout, PgConnection::connect_with(&opts))
            .await
        {
            Err(_) => {
                return Err(EngineError::Unreachable(format!(
                    "{who} did not answer within {}s{}",
                    settings.connect_timeout.as_secs_f64(),
                    super::other_engine_hint(Engine::Postgres, opts.get_port())
                ))
                .into());
            }
            Ok(Err(e)) => {
                return Err(
                    classify_pg(e, &who, opts.get_username(), opts.get_port(), target).into(),
                );
            }
            Ok(Ok(c)) => c,
        };
    let timeout_ms = settings.query_timeout.as_millis().to_string();
    timed(
        settings.query_timeout,
        sqlx::query(SESSION_SETUP)
            .bind(timeout_ms)
            .execute(&mut conn),
    )
    .await
    .context("setting spiral's own session limits")?;
    let version_num: i32 = timed(
        settings.query_timeout,
        sqlx::query_scalar(VERSION).fetch_one(&mut conn),
    )
    .await
    .context("reading the server version")?;
    Ok(PgSampler {
        conn,
        query_timeout: settings.query_timeout,
        version_num,
        settings: Settings::default(),
    })
}

/// Turns sqlx's connect errors into the one-line explanations an engineer needs: what
/// happened and what to do, never the driver's source locations.
fn classify_pg(e: sqlx::Error, who: &str, user: &str, port: u16, target: &Target) -> EngineError {
    let password_from = target.password_from.as_deref().unwrap_or("none");
    if let sqlx::Error::Database(db) = &e {
        let code = db.code().map(|c| c.to_string()).unwrap_or_default();
        let msg = db.message().to_string();
        return match code.as_str() {
            // With password authentication the server says "password authentication
            // failed" for a missing role too, on purpose: both are named.
            "28P01" => EngineError::Auth(format!(
                "{who}: {msg}. Password used: {password_from}. Check the password, and that role {user} exists"
            )),
            // The same SQLSTATE for a role's or a database's CONNECTION LIMIT: spiral's
            // account is at its limit, the server is not full. Told apart by the message
            // (English; a server with translated messages reads as full).
            "53300"
                if msg.starts_with("too many connections for role")
                    || msg.starts_with("too many connections for database") =>
            {
                EngineError::LimitReached(format!(
                    "{who}: {msg}: the CONNECTION LIMIT of the role or database is reached, not the server's; connect as another role, spiral needs only one connection"
                ))
            }
            "28000" if msg.contains("does not exist") => EngineError::Auth(format!(
                "{who}: role {user} does not exist on this server: connect as an existing role (the user in the target, or PGUSER)"
            )),
            "28000" if msg.contains("pg_hba") => EngineError::Auth(format!(
                "{who}: {msg}: the server's pg_hba.conf does not let {user} in from here (a DBA adds a line, or connect from an allowed host)"
            )),
            "28000" => EngineError::Auth(format!("{who}: {msg} (SQLSTATE 28000)")),
            "53300" => EngineError::ServerFull(format!(
                "{who}: the server is full ({msg}). Superusers (and on 16+ members of pg_use_reserved_connections) have reserved slots: connect as one; spiral needs only one connection"
            )),
            "3D000" => EngineError::Other(format!(
                "{who}: {msg}: name an existing database in the target (or PGDATABASE)"
            )),
            _ => EngineError::Other(format!("{who}: {msg} (SQLSTATE {code})")),
        };
    }
    if matches!(e, sqlx::Error::Protocol(_) | sqlx::Error::Decode(_)) {
        // Something answered, in another protocol (MySQL greets first, with its version).
        return EngineError::Unreachable(format!(
            "{who} answered, but not in PostgreSQL's protocol: is this a PostgreSQL server?{}",
            super::other_engine_hint(Engine::Postgres, port)
        ));
    }
    classify_connect_error(e, who)
}

#[derive(Debug, Deserialize)]
struct PgSession {
    pid: i64,
    backend_type: Option<String>,
    state: Option<String>,
    user: Option<String>,
    app: Option<String>,
    db: Option<String>,
    client: Option<String>,
    wait_event_type: Option<String>,
    wait_event: Option<String>,
    query_ms: Option<i64>,
    state_ms: Option<i64>,
    xact_ms: Option<i64>,
    backend_start: Option<DateTime<Utc>>,
    query: Option<String>,
    superuser: Option<bool>,
    blocked_by: Option<Vec<i64>>,
    /// The age of the oldest transaction id or snapshot it holds.
    #[serde(default)]
    xid_age: Option<i64>,
}

/// The `horizon` column: who holds the xmin horizon back (queries/postgres/sample.sql).
#[derive(Debug, Deserialize)]
struct PgHorizon {
    frozen_xid_age: Option<i64>,
    freeze_max_age: Option<i64>,
    holders: Option<Vec<PgHolder>>,
}

#[derive(Debug, Deserialize)]
struct PgHolder {
    kind: HolderKind,
    session_id: Option<i64>,
    name: Option<String>,
    database: Option<String>,
    age_ms: Option<i64>,
    xid_age: Option<i64>,
}

fn to_horizon(h: PgHorizon) -> Horizon {
    let non_negative = |v: Option<i64>| v.map(|x| x.max(0) as u64);
    Horizon {
        holders: h
            .holders
            .unwrap_or_default()
            .into_iter()
            .map(|x| HorizonHolder {
                kind: x.kind,
                session_id: x.session_id,
                name: x.name,
                database: x.database,
                age_ms: non_negative(x.age_ms),
                xid_age: non_negative(x.xid_age),
                rows_modified: None,
                log_bytes: None,
            })
            .collect(),
        frozen_xid_age: non_negative(h.frozen_xid_age),
        freeze_max_age: non_negative(h.freeze_max_age),
        history_list_length: None,
        ..Horizon::default()
    }
}

impl PgSampler {
    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        // sample.sql sums pg_stat_database's session counters, which appeared in 14; 12 and
        // 13 take the variant without them (CI runs the live suite on every major).
        let sql: &'static str = if self.version_num >= 140000 {
            &SAMPLE_SQL
        } else {
            &SAMPLE_PG12_SQL
        };
        let known_conf = self.settings.known_conf();
        let rows = timed(
            self.query_timeout,
            sqlx::query(sql).bind(known_conf).fetch_all(&mut self.conn),
        )
        .await
        .context("sampling pg_stat_activity")?;
        let (header, shape_rows) = split_header(&rows)?;
        let text = |name: &str| -> anyhow::Result<Option<String>> {
            header
                .try_get::<Option<String>, _>(name)
                .with_context(|| format!("decoding column {name}"))
        };
        let taken_at: DateTime<Utc> = header.try_get("taken_at")?;
        let conf_loaded: Option<DateTime<Utc>> = header.try_get("conf_loaded")?;
        // The statement read pg_settings when it was asked to (NULL) or when the
        // configuration was loaded since; otherwise the kept values still hold.
        if known_conf.is_none() || conf_loaded != known_conf {
            self.settings = Settings {
                values: parse_json(text("settings")?, "settings")?.unwrap_or_default(),
                conf_loaded,
                read_at: Some(taken_at),
                read: Some(Instant::now()),
            };
        }
        let counters: Vec<Option<i64>> = array(header, "counters")?;
        let mut horizon: Option<PgHorizon> = parse_json(text("horizon")?, "horizon")?;
        let mut sessions = Vec::new();
        for row in shape_rows {
            decode_shape(row, taken_at, &mut sessions)?;
        }
        let sees_all: Option<bool> = header.try_get("sees_all")?;
        let me: String = header.try_get("me")?;
        let own_pid: i32 = header.try_get("own_pid")?;
        let version: String = header.try_get("version")?;
        let settings = &self.settings.values;

        let mut snap = Snapshot::empty(Engine::Postgres, taken_at);
        snap.server = ServerInfo {
            version,
            flavor: None,
            managed_kill: false,
        };
        snap.own_session_id = Some(i64::from(own_pid));
        snap.settings_read_at = self.settings.read_at;
        let setting = |name: &str| settings.get(name).and_then(|v| v.parse::<u64>().ok());
        snap.connections = ConnectionLimits {
            max_connections: setting("max_connections"),
            reserved: setting("superuser_reserved_connections").unwrap_or(0)
                + setting("reserved_connections").unwrap_or(0),
            current: None,
        };
        // pg_settings gives these in milliseconds already.
        snap.guardrails = Guardrails {
            statement_timeout_ms: setting("statement_timeout"),
            lock_timeout_ms: setting("lock_timeout"),
            idle_in_transaction_timeout_ms: setting("idle_in_transaction_session_timeout"),
            idle_session_timeout_ms: setting("idle_session_timeout"),
            optimize_for_ad_hoc: None,
        };
        snap.counters = counter_map(&counters);
        if let Some(h) = horizon.as_mut() {
            let others = h.holders.take().unwrap_or_default();
            h.holders = Some(horizon_holders(&sessions, i64::from(own_pid), others));
        }
        snap.sessions = sessions.into_iter().map(to_session).collect();
        snap.horizon = horizon.map(to_horizon);
        if sees_all != Some(true) {
            snap.gaps.push(Gap {
                area: Area::OtherSessions,
                reason: format!(
                    "role {me} cannot see other users' session state, waits or queries"
                ),
                remedy: Some(format!("GRANT pg_monitor TO {me}; (or pg_read_all_stats)")),
            });
        }
        Ok(snap)
    }

    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.conn.close()).await;
    }

    /// Ends (or cancels) one backend if it is still the connection that was selected and
    /// still in the state it was selected for: both checked by the server in the statement
    /// that sends the signal (queries/postgres/terminate.sql).
    pub async fn kill(
        &mut self,
        target: crate::model::kill::KillTarget,
        query_only: bool,
    ) -> anyhow::Result<crate::model::kill::Outcome> {
        use crate::model::kill::Outcome;
        let Ok(pid) = i32::try_from(target.id) else {
            return Ok(Outcome::Gone);
        };
        // pids are reused at once: without the start time the pid names no one in particular.
        let Some(started) = target.connected_at else {
            anyhow::bail!(
                "backend {pid}: its start time is unknown, so spiral cannot make sure it is the session that was selected"
            );
        };
        let sql = if query_only { CANCEL } else { TERMINATE };
        let for_ms = i64::try_from(target.still.for_ms()).unwrap_or(i64::MAX);
        let row: Option<(Option<bool>, bool)> = timed(
            self.query_timeout,
            sqlx::query_as(sql)
                .bind(pid)
                .bind(started)
                .bind(target.still.mode())
                .bind(for_ms)
                .fetch_optional(&mut self.conn),
        )
        .await?;
        Ok(match row {
            None => Outcome::Gone,
            Some((_, false)) => Outcome::Spared,
            Some((Some(true), true)) => Outcome::Killed,
            Some(_) => Outcome::Failed,
        })
    }
}

impl PgSampler {
    /// Ends a batch of backends with one statement that re-verifies each of them on the
    /// server (pid, start time and the state it was chosen for) before signalling it
    /// (queries/postgres/terminate_batch.sql). One outcome per target, in order; a target
    /// without a start time is refused on its own. All targets carry the same condition.
    pub async fn terminate_batch(
        &mut self,
        targets: &[crate::model::kill::KillTarget],
    ) -> anyhow::Result<Vec<anyhow::Result<crate::model::kill::Outcome>>> {
        use crate::model::kill::Outcome;
        let Some(first) = targets.first() else {
            return Ok(Vec::new());
        };
        let still = first.still;
        if targets.iter().any(|t| t.still != still) {
            anyhow::bail!("a kill batch mixes conditions: each batch must share one");
        }
        let mut pids = Vec::with_capacity(targets.len());
        let mut starts = Vec::with_capacity(targets.len());
        for t in targets {
            if let (Ok(pid), Some(started)) = (i32::try_from(t.id), t.connected_at) {
                pids.push(pid);
                starts.push(started);
            }
        }
        let for_ms = i64::try_from(still.for_ms()).unwrap_or(i64::MAX);
        let rows: Vec<(i32, bool, bool, Option<bool>)> = timed(
            self.query_timeout,
            sqlx::query_as(TERMINATE_BATCH)
                .bind(&pids)
                .bind(&starts)
                .bind(still.mode())
                .bind(for_ms)
                .fetch_all(&mut self.conn),
        )
        .await?;
        let done: std::collections::HashMap<i32, (bool, bool, Option<bool>)> = rows
            .into_iter()
            .map(|(pid, present, held, signalled)| (pid, (present, held, signalled)))
            .collect();
        Ok(targets
            .iter()
            .map(|t| {
                let Ok(pid) = i32::try_from(t.id) else {
                    return Ok(Outcome::Gone);
                };
                if t.connected_at.is_none() {
                    anyhow::bail!(
                        "backend {pid}: its start time is unknown, so spiral cannot make sure it is the session that was selected"
                    );
                }
                Ok(match done.get(&pid) {
                    None | Some((false, _, _)) => Outcome::Gone,
                    Some((true, false, _)) => Outcome::Spared,
                    Some((true, true, Some(true))) => Outcome::Killed,
                    Some(_) => Outcome::Failed,
                })
            })
            .collect())
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    text: Option<String>,
    what: &str,
) -> anyhow::Result<Option<T>> {
    text.map(|t| serde_json::from_str(&t).with_context(|| format!("decoding {what}")))
        .transpose()
}

/// The `counters` column: pg_stat_database summed over databases, in this order. The
/// session counters arrived in 14 and are NULL before (then simply not reported).
fn counter_map(sums: &[Option<i64>]) -> BTreeMap<String, u64> {
    let names = [
        counter::COMMITS,
        counter::ROLLBACKS,
        counter::DEADLOCKS,
        counter::LOGINS,
        counter::SESSIONS_ABANDONED,
        counter::SESSIONS_KILLED,
    ];
    let mut out: BTreeMap<String, u64> = names
        .iter()
        .zip(sums)
        .filter_map(|(name, v)| Some((name.to_string(), u64::try_from((*v)?).ok()?)))
        .collect();
    if let (Some(c), Some(r)) = (out.get(counter::COMMITS), out.get(counter::ROLLBACKS)) {
        let batches = c + r;
        out.insert(counter::BATCHES.to_string(), batches);
    }
    out
}

/// One array column of the sample; NULL (array_agg over no rows) is an empty list.
fn array<T>(row: &sqlx::postgres::PgRow, name: &str) -> anyhow::Result<Vec<T>>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + sqlx::postgres::PgHasArrayType,
{
    row.try_get::<Option<Vec<T>>, _>(name)
        .with_context(|| format!("decoding column {name}"))
        .map(Option::unwrap_or_default)
}

/// Milliseconds from `at` to the sample's clock reading, rounded as the server would.
fn ms_before(taken_at: DateTime<Utc>, at: Option<DateTime<Utc>>) -> Option<i64> {
    let us = (taken_at - at?).num_microseconds()?;
    Some((us + 500).div_euclid(1000))
}

/// The sample's header row (the only one with taken_at: queries/postgres/parts/rows.sql)
/// and its shape rows. Anything but exactly one header is a broken sample.
fn split_header(
    rows: &[sqlx::postgres::PgRow],
) -> anyhow::Result<(&sqlx::postgres::PgRow, Vec<&sqlx::postgres::PgRow>)> {
    let mut header = None;
    let mut shapes = Vec::with_capacity(rows.len());
    for row in rows {
        let taken_at: Option<DateTime<Utc>> = row
            .try_get("taken_at")
            .context("decoding column taken_at")?;
        match (taken_at, header) {
            (None, _) => shapes.push(row),
            (Some(_), None) => header = Some(row),
            (Some(_), Some(_)) => anyhow::bail!("decoding the sample: two header rows"),
        }
    }
    let header = header.context("decoding the sample: no header row")?;
    Ok((header, shapes))
}

/// One array of a shape row that is read only for some shapes (an idle shape's statement
/// and transaction starts, a Lock-waiting shape's blockers): NULL stands for NULL at
/// every backend of the shape; otherwise one element per backend.
fn per_backend<T>(
    row: &sqlx::postgres::PgRow,
    name: &str,
    n: usize,
) -> anyhow::Result<Vec<Option<T>>>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    Option<T>: sqlx::postgres::PgHasArrayType,
    Vec<Option<T>>: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    let v: Option<Vec<Option<T>>> = row
        .try_get(name)
        .with_context(|| format!("decoding column {name}"))?;
    match v {
        None => Ok(std::iter::repeat_with(|| None).take(n).collect()),
        Some(v) if v.len() == n => Ok(v),
        Some(_) => anyhow::bail!("decoding the sessions: the sample's arrays differ in length"),
    }
}

/// The sessions of one shape row (queries/postgres/parts/shapes.sql): what its backends
/// share, then per backend, in the same order in every array, its pid, its timestamps,
/// the age of the oldest transaction id it holds, and whom it waits for (Lock waits only).
fn decode_shape(
    row: &sqlx::postgres::PgRow,
    taken_at: DateTime<Utc>,
    out: &mut Vec<PgSession>,
) -> anyhow::Result<()> {
    let text = |name: &str| -> anyhow::Result<Option<String>> {
        row.try_get::<Option<String>, _>(name)
            .with_context(|| format!("decoding column {name}"))
    };
    let backend_type = text("backend_type")?;
    let state = text("state")?;
    let user = text("usr")?;
    let app = text("app")?;
    let db = text("db")?;
    let client = text("client")?;
    let wait_event_type = text("wait_event_type")?;
    let wait_event = text("wait_event")?;
    let query = text("query")?;
    let superuser: Option<bool> = row.try_get("superuser")?;
    let pids: Vec<i32> = array(row, "pids")?;
    let n = pids.len();
    let state_change: Vec<Option<DateTime<Utc>>> = per_backend(row, "state_changes", n)?;
    let backend_start: Vec<Option<DateTime<Utc>>> = per_backend(row, "backend_starts", n)?;
    let query_start: Vec<Option<DateTime<Utc>>> = per_backend(row, "query_starts", n)?;
    let xact_start: Vec<Option<DateTime<Utc>>> = per_backend(row, "xact_starts", n)?;
    let xid_age: Vec<Option<i32>> = per_backend(row, "xid_ages", n)?;
    let blocked_by: Vec<Option<String>> = per_backend(row, "blocked", n)?;
    for i in 0..n {
        out.push(PgSession {
            pid: i64::from(pids[i]),
            backend_type: backend_type.clone(),
            state: state.clone(),
            user: user.clone(),
            app: app.clone(),
            db: db.clone(),
            client: client.clone(),
            wait_event_type: wait_event_type.clone(),
            wait_event: wait_event.clone(),
            query_ms: ms_before(taken_at, query_start[i]),
            state_ms: ms_before(taken_at, state_change[i]),
            xact_ms: ms_before(taken_at, xact_start[i]),
            backend_start: backend_start[i],
            query: query.clone(),
            superuser,
            blocked_by: blocked_by[i].as_deref().map(pid_list).transpose()?,
            xid_age: xid_age[i].map(i64::from),
        });
    }
    Ok(())
}

/// pg_blocking_pids() as text: `{4242,4243}`.
fn pid_list(text: &str) -> anyhow::Result<Vec<i64>> {
    let inner = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .with_context(|| "decoding the sessions: a blocker list that is not an array")?;
    inner
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.trim()
                .parse::<i64>()
                .with_context(|| "decoding the sessions: a blocker pid that is not a number")
        })
        .collect()
}

/// The few oldest holders of the xmin horizon: the sessions that hold a transaction id or
/// snapshot (client backends and walsenders other than spiral's own), merged with the
/// replication slots and prepared transactions the sample named, oldest first.
fn horizon_holders(
    sessions: &[PgSession],
    own_pid: i64,
    mut others: Vec<PgHolder>,
) -> Vec<PgHolder> {
    others.extend(
        sessions
            .iter()
            .filter(|s| s.xid_age.is_some() && s.pid != own_pid)
            .filter(|s| {
                matches!(
                    s.backend_type.as_deref(),
                    Some("client backend" | "walsender")
                )
            })
            .map(|s| PgHolder {
                kind: HolderKind::Session,
                session_id: Some(s.pid),
                name: None,
                database: s.db.clone(),
                age_ms: s.xact_ms,
                xid_age: s.xid_age,
            }),
    );
    // Largest first, unknown last, as ORDER BY ... DESC NULLS LAST would.
    others.sort_by(|a, b| {
        b.xid_age
            .cmp(&a.xid_age)
            .then_with(|| b.age_ms.cmp(&a.age_ms))
    });
    others.truncate(HORIZON_HOLDERS);
    others
}

fn ms(v: Option<i64>) -> Option<u64> {
    v.map(|x| x.max(0) as u64)
}

fn to_session(p: PgSession) -> Session {
    let state = match p.state.as_deref() {
        Some("active") | Some("fastpath function call") => SessionState::Active,
        Some("idle") => SessionState::Idle,
        Some(s) if s.starts_with("idle in transaction") => SessionState::IdleInTransaction,
        _ => SessionState::Other,
    };
    // Without pg_read_all_stats, PostgreSQL shows other users' backends with only pid,
    // user, database and application: backend_type, backend_start, state and times are
    // NULL and the query is a placeholder. Those are unknown, not empty.
    let hidden = p.backend_type.is_none() || p.query.as_deref() == Some(HIDDEN_QUERY);
    let kind = match p.backend_type.as_deref() {
        Some("client backend") => SessionKind::Client,
        Some("walsender") => SessionKind::Replication,
        Some(_) => SessionKind::System,
        // Recognised by what is visible: every client backend has a user and a database.
        None if p.user.is_none() || p.db.is_none() => SessionKind::System,
        None => SessionKind::Client,
    };
    let wait_class = match (p.wait_event_type.as_deref(), p.wait_event.as_deref()) {
        (Some("Lock"), _) => Some(WaitClass::Lock),
        (Some("LWLock"), _) | (Some("BufferPin"), _) => Some(WaitClass::Latch),
        (Some("IO"), _) => Some(WaitClass::Io),
        (Some("Client"), Some("ClientWrite")) => Some(WaitClass::Network),
        (Some("Client"), _) => Some(WaitClass::Client),
        (Some(_), _) => Some(WaitClass::Other),
        (None, _) if state == SessionState::Active => Some(WaitClass::Cpu),
        _ => None,
    };
    let wait_type = match (&p.wait_event_type, &p.wait_event) {
        (Some(t), Some(e)) => Some(format!("{t}:{e}")),
        (Some(t), None) => Some(t.clone()),
        _ => None,
    };
    let mut s = Session::new(p.pid, state);
    s.kind = kind;
    s.user = p.user;
    s.client_host = p.client;
    s.application = p.app.filter(|a| !a.is_empty());
    s.database = p.db;
    s.raw_state = p.state;
    s.command = p.backend_type.filter(|b| b != "client backend");
    s.wait_class = wait_class;
    s.wait_type = wait_type;
    // PostgreSQL does not say when a wait began: for a lock wait, the statement's age is
    // the best bound we have (a statement blocked at once waits for all of it).
    s.wait_ms = if wait_class == Some(WaitClass::Lock) {
        ms(p.query_ms)
    } else {
        None
    };
    s.blocked_by = p.blocked_by.unwrap_or_default();
    match state {
        SessionState::Active => s.elapsed_ms = ms(p.query_ms),
        SessionState::Idle | SessionState::IdleInTransaction => s.idle_ms = ms(p.state_ms),
        SessionState::Other => {}
    }
    s.transaction_ms = ms(p.xact_ms);
    s.open_transactions = u32::from(p.xact_ms.is_some());
    let query = p.query.filter(|q| !q.is_empty() && !hidden);
    s.statement = query.as_deref().and_then(StatementKind::of_sql);
    s.query = query;
    s.activity_hidden = hidden;
    s.connected_at = p.backend_start;
    s.is_admin = p.superuser.unwrap_or(false);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows as a role with pg_signal_backend but not pg_read_all_stats reads them.
    fn hidden_row(pid: i64, user: Option<&str>, db: Option<&str>) -> PgSession {
        serde_json::from_value(serde_json::json!({
            "pid": pid, "backend_type": null, "state": null, "user": user, "app": "",
            "db": db, "query": "<insufficient privilege>", "backend_start": null,
            "superuser": false,
        }))
        .unwrap()
    }

    #[test]
    fn both_samples_are_the_same_statement_but_for_the_counters() {
        use crate::queries::{PG_PARTS, part, part_names};
        for (name, file) in [("sample", SAMPLE), ("sample_pg12", SAMPLE_PG12)] {
            assert!(file.starts_with(&format!("-- spiral/postgres/{name}\n")));
            for p in part_names(file) {
                assert!(part(PG_PARTS, p).is_some(), "{name}: no part {p}");
            }
        }
        // Every part file is used by a sample.
        for q in PG_PARTS {
            let p = q.name.trim_start_matches("part_");
            assert!(
                part_names(SAMPLE).contains(&p) || part_names(SAMPLE_PG12).contains(&p),
                "{p} unused"
            );
        }
        let swap = |names: Vec<&str>| -> Vec<String> {
            names
                .into_iter()
                .map(|n| n.trim_end_matches("_pg12").to_string())
                .collect()
        };
        assert_eq!(swap(part_names(SAMPLE)), swap(part_names(SAMPLE_PG12)));
        let (new, old) = (SAMPLE_SQL.as_str(), SAMPLE_PG12_SQL.as_str());
        assert!(new.contains("sum(sessions)"), "{new}");
        assert!(!old.contains("sessions_killed"), "{old}");
        // The wire text: the name line, then statement lines only.
        assert!(new.starts_with("-- spiral/postgres/sample\n"));
        assert_eq!(new.matches("\n--").count(), 0, "{new}");
        assert_eq!(new.matches("$1").count(), 1);
    }

    #[test]
    fn kept_settings_are_trusted_for_a_minute_at_most() {
        let mut s = Settings::default();
        // Never read: the sample reads them.
        assert_eq!(s.known_conf(), None);
        let loaded = DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        s.conf_loaded = Some(loaded);
        s.read = Some(Instant::now());
        assert_eq!(s.known_conf(), Some(loaded));
        // Read longer ago than SETTINGS_EVERY: read again, whatever the server says.
        if let Some(old) = Instant::now().checked_sub(SETTINGS_EVERY) {
            s.read = Some(old);
            assert_eq!(s.known_conf(), None);
        }
    }

    #[test]
    fn hidden_backends_are_unknown_not_empty() {
        // The checkpointer: no user, no database, no backend_type shown.
        let s = to_session(hidden_row(2210, None, None));
        assert_eq!(s.kind, SessionKind::System);
        assert!(s.activity_hidden);
        // The logical replication launcher: a user but no database.
        assert_eq!(
            to_session(hidden_row(2214, Some("postgres"), None)).kind,
            SessionKind::System
        );
        // Another role's client: the placeholder is not its query.
        let s = to_session(hidden_row(300, Some("app"), Some("shop")));
        assert_eq!(s.kind, SessionKind::Client);
        assert!(s.activity_hidden);
        assert_eq!(s.query, None);
        assert_eq!(s.statement, None);
        assert_eq!(s.connected_at, None);
        // A row the role may read is not hidden.
        let visible: PgSession = serde_json::from_value(serde_json::json!({
            "pid": 301, "backend_type": "client backend", "state": "idle", "user": "app",
            "db": "shop", "query": "SELECT 1", "state_ms": 5000,
            "backend_start": "2026-11-30T10:00:00Z",
        }))
        .unwrap();
        let s = to_session(visible);
        assert!(!s.activity_hidden);
        assert_eq!(s.idle_ms, Some(5000));
        assert_eq!(s.query.as_deref(), Some("SELECT 1"));
    }

    #[test]
    fn horizon_holders_decode_from_the_sample() {
        let h: PgHorizon = serde_json::from_value(serde_json::json!({
            "frozen_xid_age": 27044, "freeze_max_age": 200000000,
            "holders": [
                {"kind": "session", "session_id": 4242, "name": null, "database": "shop",
                 "age_ms": 725000, "xid_age": 40000},
                {"kind": "replication-slot", "session_id": null, "name": "cdc", "database": null,
                 "age_ms": null, "xid_age": 12},
                {"kind": "prepared-transaction", "session_id": null, "name": "tx1",
                 "database": "shop", "age_ms": -3, "xid_age": 5}
            ]
        }))
        .unwrap();
        let h = to_horizon(h);
        assert_eq!(h.frozen_xid_age, Some(27_044));
        assert_eq!(h.freeze_max_age, Some(200_000_000));
        assert_eq!(h.holders.len(), 3);
        assert_eq!(h.holders[0].session_id, Some(4242));
        assert_eq!(h.holders[0].xid_age, Some(40_000));
        assert_eq!(h.holders[1].kind, HolderKind::ReplicationSlot);
        assert_eq!(h.holders[1].name.as_deref(), Some("cdc"));
        // A clock step never makes a negative age.
        assert_eq!(h.holders[2].age_ms, Some(0));
        // No holders at all is an empty list, not a failure.
        let none: PgHorizon =
            serde_json::from_value(serde_json::json!({"frozen_xid_age": 5, "holders": null}))
                .unwrap();
        assert!(to_horizon(none).holders.is_empty());
    }

    #[test]
    fn blocker_lists_and_counters_decode() {
        assert_eq!(pid_list("{4242,4243}").unwrap(), vec![4242, 4243]);
        assert!(pid_list("{}").unwrap().is_empty());
        assert!(pid_list("4242").is_err());
        assert!(pid_list("{a}").is_err());
        // Before 14 the session counters are NULL: not reported, not zero.
        let c = counter_map(&[Some(10), Some(2), Some(0), None, None, None]);
        assert_eq!(c.get(counter::COMMITS), Some(&10));
        assert_eq!(c.get(counter::BATCHES), Some(&12));
        assert_eq!(c.get(counter::LOGINS), None);
    }

    #[test]
    fn horizon_sessions_merge_with_slots_oldest_first() {
        let session = |pid: i64, kind: &str, xid_age: Option<i64>| -> PgSession {
            serde_json::from_value(serde_json::json!({
                "pid": pid, "backend_type": kind, "db": "shop", "xact_ms": 1000,
                "xid_age": xid_age,
            }))
            .unwrap()
        };
        let sessions = vec![
            session(1, "client backend", Some(50)),
            session(2, "client backend", None),
            session(3, "autovacuum worker", Some(900)),
            session(4, "client backend", Some(7)),
            session(99, "client backend", Some(5000)),
        ];
        let slot = PgHolder {
            kind: HolderKind::ReplicationSlot,
            session_id: None,
            name: Some("cdc".into()),
            database: None,
            age_ms: None,
            xid_age: Some(20),
        };
        let h = horizon_holders(&sessions, 99, vec![slot]);
        // spiral's own backend, the one holding nothing and the autovacuum worker are left out.
        let ids: Vec<(Option<i64>, Option<i64>)> =
            h.iter().map(|x| (x.session_id, x.xid_age)).collect();
        assert_eq!(
            ids,
            vec![(Some(1), Some(50)), (None, Some(20)), (Some(4), Some(7))]
        );
        assert_eq!(h[0].database.as_deref(), Some("shop"));
    }
}
