//! SQL Server sampler: one tiberius connection, one batch per sample.
//!
//! The connection names itself `spiral`, bounds itself once (queries/mssql/session_setup.sql:
//! LOCK_TIMEOUT, READ UNCOMMITTED, DEADLOCK_PRIORITY LOW) and then sends the same batch on
//! every sample, so the server compiles it once. The batch returns several result sets;
//! `decode` recognises them by name and turns a missing one into a gap.
//!
//! Deadlines are spiral's own: every batch runs under `tokio::time::timeout`, and on expiry
//! spiral sends a TDS attention (`cancel_query`) so the server stops the work, then drops the
//! connection and opens a fresh one before the next sample. tiberius's own command timeout
//! is switched off: it sends no attention (the server keeps running the query) and leaves
//! the connection unusable.
//!
//! Over the dedicated admin connection (`--dac` or `admin:`), spiral finds the DAC port
//! through SQL Server Browser and sends a cheaper batch (no plan cache scan, no query text).

mod browser;
pub mod decode;

use std::time::Duration;

use futures_util::TryStreamExt as _;
use tiberius::error::Error as TdsError;
use tiberius::{AuthMethod, Client, ColumnData, Config, EncryptionLevel, QueryItem, SqlBrowser};
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use self::decode::{Batch, BatchKind, Cell, ServerError, Table};
use super::EngineError;
use crate::cli::Encrypt;
use crate::config::ConnectSettings;
use crate::model::snapshot::Snapshot;
use crate::queries::{MSSQL_PARTS, without_comment_lines};
use crate::target::{Secret, Target};

const SAMPLE: &str = include_str!("../../queries/mssql/sample.sql");
const SAMPLE_DAC: &str = include_str!("../../queries/mssql/sample_dac.sql");
const SAMPLE_LIMITED: &str = include_str!("../../queries/mssql/sample_limited.sql");
const SAMPLE_SESSIONS: &str = include_str!("../../queries/mssql/sample_sessions.sql");
const SAMPLE_DAC_SESSIONS: &str = include_str!("../../queries/mssql/sample_dac_sessions.sql");
const SESSION_SETUP: &str = include_str!("../../queries/mssql/session_setup.sql");
const PLAN_CACHE: &str = include_str!("../../queries/mssql/plan_cache.sql");
const SENT_RESET: &str = include_str!("../../queries/mssql/sent_reset.sql");

/// The plan-cache walk is re-read at most this often; in between the last reading is kept.
const PLAN_CACHE_EVERY: Duration = Duration::from_secs(60);

/// How long a cancel (attention) may take to be acknowledged before spiral gives up on the
/// connection and closes it; the server then stops the work when it sees the disconnect.
const CANCEL_WAIT: Duration = Duration::from_secs(1);
/// How long SQL Server Browser gets to name the DAC port before spiral tries 1434.
const BROWSER_WAIT: Duration = Duration::from_secs(1);
/// SQL Server's default TCP port.
const DEFAULT_PORT: u16 = 1433;

type TdsClient = Client<Compat<TcpStream>>;

const KILL_SQL: &str = include_str!("../../queries/mssql/kill.sql");
const KILL_STATUS_SQL: &str = include_str!("../../queries/mssql/kill_status.sql");

pub struct MssqlSampler {
    plan: ConnectPlan,
    /// None after a timeout or a broken connection: the next sample reconnects. Boxed:
    /// the client's buffers would make every `LiveSampler` as large as this variant.
    client: Option<Box<TdsClient>>,
    connect_timeout: Duration,
    query_timeout: Duration,
    /// Set once the full batch has failed before returning anything (error 300 and
    /// friends): from then on each sample is the limited batch, still one round trip.
    limited_by: Option<ServerError>,
    /// The last plan-cache walk (entries, stubs).
    plan_cache: Option<(Vec<crate::model::snapshot::PlanCacheEntry>, u64)>,
    /// When the plan cache was last walked or tried: failed walks are not retried sooner.
    plan_cache_tried: Option<std::time::Instant>,
    /// Why the last try failed, repeated until the next try: no reading is never "fine".
    plan_cache_failed: Option<String>,
    /// Whether the instance that answered over the DAC has been checked.
    instance_checked: bool,
    /// The query texts and client names this connection has sent (each once).
    known: decode::Known,
    /// Where the DAC sample splits its session groups (the batch's two parameters).
    cuts: crate::model::session_group::SessionCuts,
}

/// Everything needed to open (and reopen) the connection, resolved once.
struct ConnectPlan {
    /// "SQL Server db01\SHOP" / "SQL Server 10.0.0.5:1433 (DAC)": how errors name the server.
    who: String,
    host: String,
    /// None with a named instance: SQL Server Browser resolves it at connect time.
    port: Option<u16>,
    instance: Option<String>,
    database: Option<String>,
    /// The named instance the target asked for (None: the default instance), checked
    /// against the instance that answers over the DAC.
    expected_instance: Option<String>,
    user: String,
    password: Option<Secret>,
    encryption: EncryptionLevel,
    trust_cert: bool,
    hostname_in_certificate: Option<String>,
    dac: bool,
}

impl ConnectPlan {
    fn config(&self, connect_timeout: Duration) -> Config {
        let mut c = Config::new();
        c.host(&self.host);
        if let Some(instance) = &self.instance {
            c.instance_name(instance);
            // tiberius sends its Browser request to the configured port.
            c.port(self.port.unwrap_or_else(browser::browser_port));
        } else {
            c.port(self.port.unwrap_or(DEFAULT_PORT));
        }
        if let Some(db) = &self.database {
            c.database(db);
        }
        c.application_name("spiral");
        c.authentication(AuthMethod::sql_server(
            &self.user,
            self.password.as_ref().map_or("", Secret::expose),
        ));
        c.encryption(self.encryption);
        if self.trust_cert {
            c.trust_cert();
        }
        if let Some(h) = &self.hostname_in_certificate {
            c.hostname_in_certificate(h);
        }
        c.handshake_timeout(Some(connect_timeout));
        // Off: on expiry it sends no attention and poisons the connection (see the module
        // documentation); spiral's own deadline and cancel do the job.
        c.command_timeout(None);
        c
    }

    fn uses_tls(&self) -> bool {
        self.encryption != EncryptionLevel::NotSupported
    }
}

/// The encryption level for a target: `--encrypt` wins, then the connection string's
/// `Encrypt=`, then Required (the ADO.NET default since Microsoft.Data.SqlClient 4).
pub fn encryption_level(
    flag: Option<Encrypt>,
    option: Option<&str>,
) -> Result<EncryptionLevel, EngineError> {
    let strict = || {
        EngineError::Other(
            "--encrypt strict (TDS 8.0) is not available in this build of spiral (its SQL Server \
             driver is built without TDS 8 support); use --encrypt on"
                .to_string(),
        )
    };
    match flag {
        Some(Encrypt::Off) => return Ok(EncryptionLevel::NotSupported),
        Some(Encrypt::On) => return Ok(EncryptionLevel::Required),
        Some(Encrypt::Strict) => return Err(strict()),
        None => {}
    }
    let Some(value) = option else {
        return Ok(EncryptionLevel::Required);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "mandatory" | "required" => Ok(EncryptionLevel::Required),
        // ADO.NET's false/optional still encrypts the login packet; with no TLS at all
        // (old servers, test servers) the string says DANGER_PLAINTEXT or --encrypt off.
        "false" | "no" | "optional" => Ok(EncryptionLevel::Off),
        "danger_plaintext" => Ok(EncryptionLevel::NotSupported),
        "strict" => Err(strict()),
        _ => Err(EngineError::Other(format!(
            "Encrypt={} is not one of true, false, strict, mandatory, optional, DANGER_PLAINTEXT",
            crate::sanitize::clean(&value.chars().take(30).collect::<String>())
        ))),
    }
}

fn option_true(target: &Target, key: &str) -> bool {
    target.option(key).is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "yes" | "sspi" | "1"
        )
    })
}

fn who(host: &str, instance: Option<&str>, port: Option<u16>, dac: bool) -> String {
    let mut w = format!("SQL Server {host}");
    if let Some(i) = instance {
        w.push('\\');
        w.push_str(i);
    }
    if let Some(p) = port {
        w.push_str(&format!(":{p}"));
    }
    if dac {
        w.push_str(" (DAC)");
    }
    w
}

async fn plan(target: &Target, settings: &ConnectSettings) -> Result<ConnectPlan, EngineError> {
    let host = target
        .host
        .clone()
        .unwrap_or_else(|| "localhost".to_string());
    let dac = target.dac || settings.dac;
    let named = who(&host, target.instance.as_deref(), target.port, dac);
    let integrated =
        option_true(target, "integratedsecurity") || option_true(target, "trustedconnection");
    let user = match &target.user {
        Some(u) if !integrated => u.clone(),
        _ => {
            return Err(EngineError::Auth(format!(
                "{named}: Windows/Kerberos (integrated) authentication is not supported in this \
                 build of spiral; give a SQL login and its password in the target (or the \
                 password in SQLCMDPASSWORD)"
            )));
        }
    };
    let encryption = encryption_level(settings.encrypt, target.option("encrypt"))?;
    let trust_cert =
        settings.trust_server_certificate || option_true(target, "trustservercertificate");
    let (port, instance) = if dac {
        // tiberius knows nothing of 'admin:': the DAC is a plain TDS listener on its own
        // port. A port written after 'admin:' is that port; a port given with --dac is the
        // normal listener's, so SQL Server Browser is asked for the instance's DAC port.
        // Only the default instance may fall back to 1434: another instance's DAC listens
        // on a dynamic port, and 1434 would reach the wrong instance's DAC.
        let port = match target.port {
            Some(p) if target.dac => p,
            _ => match browser::dac_port(&host, target.instance.as_deref(), BROWSER_WAIT).await {
                Some(p) => p,
                None if target.instance.is_none() => browser::DEFAULT_PORT,
                None => {
                    return Err(EngineError::Unreachable(format!(
                        "{named}: SQL Server Browser did not name the DAC port of instance {} \
                        (UDP 1434 unanswered), and 1434 belongs to another instance's DAC; give \
                        the port as admin:{host},PORT (the error log says 'Dedicated admin \
                        connection support was established for listening remotely on port N')",
                        crate::sanitize::clean(target.instance.as_deref().unwrap_or(""))
                    )));
                }
            },
        };
        (Some(port), None)
    } else if target.port.is_some() {
        // An explicit port wins over the instance name, as in every SQL Server client.
        (target.port, None)
    } else {
        (None, target.instance.clone())
    };
    Ok(ConnectPlan {
        who: who(
            &host,
            target.instance.as_deref().filter(|_| port.is_none() || dac),
            port,
            dac,
        ),
        host,
        port,
        instance,
        // The DAC connects to master, "guaranteed to be available": the application
        // database may be the one still recovering (incident 000), and a failed open is
        // error 4060 on the only admin connection there is.
        database: if dac {
            Some("master".to_string())
        } else {
            target.database.clone()
        },
        expected_instance: target.instance.clone(),
        user,
        password: target.password.clone(),
        encryption,
        trust_cert,
        hostname_in_certificate: target.option("hostnameincertificate").map(str::to_string),
        dac,
    })
}

pub async fn connect(target: &Target, settings: &ConnectSettings) -> anyhow::Result<MssqlSampler> {
    let plan = plan(target, settings).await?;
    let client = open(&plan, settings.connect_timeout, settings.query_timeout).await?;
    Ok(MssqlSampler {
        plan,
        client: Some(Box::new(client)),
        connect_timeout: settings.connect_timeout,
        query_timeout: settings.query_timeout,
        limited_by: None,
        plan_cache: None,
        plan_cache_tried: None,
        plan_cache_failed: None,
        instance_checked: false,
        known: decode::Known::default(),
        cuts: settings.session_cuts,
    })
}

/// Where a connect attempt failed: reaching the port, or the TDS login on top of it.
enum Failure {
    Tcp(TdsError),
    Handshake(TdsError),
}

async fn open(
    plan: &ConnectPlan,
    connect_timeout: Duration,
    query_timeout: Duration,
) -> Result<TdsClient, EngineError> {
    let config = plan.config(connect_timeout);
    let attempt = async {
        let tcp = if plan.instance.is_some() {
            TcpStream::connect_named(&config)
                .await
                .map_err(Failure::Tcp)?
        } else {
            let port = plan.port.unwrap_or(DEFAULT_PORT);
            TcpStream::connect((plan.host.as_str(), port))
                .await
                .map_err(|e| Failure::Tcp(e.into()))?
        };
        // Small request/response exchanges: do not wait to fill a segment.
        let _ = tcp.set_nodelay(true);
        Client::connect(config, tcp.compat_write())
            .await
            .map_err(Failure::Handshake)
    };
    let mut client = match tokio::time::timeout(connect_timeout, attempt).await {
        Err(_) => return Err(connect_timed_out(plan, connect_timeout)),
        Ok(Err(f)) => return Err(classify_connect(plan, f)),
        Ok(Ok(c)) => c,
    };
    match run_batch(&mut client, &wire().setup, &[], query_timeout).await {
        Ok(Batch { error: None, .. }) => Ok(client),
        Ok(Batch { error: Some(e), .. }) => Err(EngineError::Other(format!(
            "{}: setting up spiral's session failed ({})",
            plan.who,
            e.describe()
        ))),
        Err(RunError::Timeout { .. }) => Err(EngineError::Timeout(query_timeout.as_secs_f64())),
        Err(RunError::Broken(e)) => Err(EngineError::Unreachable(format!(
            "{}: the connection failed while setting up the session ({})",
            plan.who,
            one_line(&e.to_string())
        ))),
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The DAC accepts remote connections only when 'remote admin connections' is on;
/// otherwise it listens on the loopback address alone and a remote client is refused or
/// ignored, which looks exactly like a dead server.
fn remote_admin_hint(plan: &ConnectPlan) -> String {
    format!(
        "the dedicated admin connection on port {} did not accept the connection: remote admin \
         connections are probably disabled, and then the DAC is only reachable from the server \
         itself (sqlcmd -A there). Enable it ahead of the next incident: EXEC sp_configure \
         'remote admin connections', 1; RECONFIGURE;",
        plan.port.unwrap_or(browser::DEFAULT_PORT)
    )
}

fn connect_timed_out(plan: &ConnectPlan, limit: Duration) -> EngineError {
    let secs = limit.as_secs_f64();
    if plan.dac {
        EngineError::Unreachable(format!(
            "{}: no answer within {secs}s; {}",
            plan.who,
            remote_admin_hint(plan)
        ))
    } else {
        EngineError::Unreachable(format!(
            "{}: no answer within {secs}s (a server out of worker threads cannot serve logins: \
             try the dedicated admin connection, --dac)",
            plan.who
        ))
    }
}

fn classify_connect(plan: &ConnectPlan, failure: Failure) -> EngineError {
    let (tcp_stage, e) = match failure {
        Failure::Tcp(e) => (true, e),
        Failure::Handshake(e) => (false, e),
    };
    let who = &plan.who;
    match &e {
        TdsError::Server(t) => login_refused(plan, t.code(), t.message()),
        TdsError::Tls(msg) => EngineError::Unreachable(format!(
            "{who}: TLS handshake failed ({}). An older server may not speak the TLS spiral \
             requires: try --encrypt off (no encryption) or, for a self-signed certificate, \
             --trust-server-certificate",
            one_line(msg)
        )),
        TdsError::Protocol(msg) if msg.contains("encryption") => EngineError::Unreachable(format!(
            "{who}: the server does not offer the encryption asked for ({}); --encrypt off \
             samples it without TLS",
            one_line(msg)
        )),
        TdsError::Io { message, .. } if tcp_stage && plan.dac => EngineError::Unreachable(format!(
            "{who}: cannot connect ({}); {}",
            one_line(message),
            remote_admin_hint(plan)
        )),
        TdsError::Io { message, .. } if tcp_stage => {
            EngineError::Unreachable(format!("{who}: cannot connect ({})", one_line(message)))
        }
        TdsError::Io { message, .. } if plan.uses_tls() => EngineError::Unreachable(format!(
            "{who}: the connection broke during the login handshake ({}); if this is an old \
             server, its TLS may be the problem: try --encrypt off or --trust-server-certificate",
            one_line(message)
        )),
        other => EngineError::Unreachable(format!(
            "{who}: cannot connect ({})",
            one_line(&other.to_string())
        )),
    }
}

/// The server answered the login with an error. Never echoes the password: only the
/// server's message, which names the login at most.
fn login_refused(plan: &ConnectPlan, code: u32, message: &str) -> EngineError {
    login_error(&plan.who, plan.dac, &plan.user, code, message)
}

fn login_error(who: &str, dac: bool, user: &str, code: u32, message: &str) -> EngineError {
    let msg = one_line(message);
    match code {
        17810 => EngineError::LimitReached(format!(
            "{who}: DAC already in use (only one per instance): someone (maybe another spiral) \
             holds it (error 17810). Find it from a normal connection: SELECT s.session_id, \
             s.login_name, s.host_name FROM sys.dm_exec_sessions s JOIN sys.endpoints e ON \
             e.endpoint_id = s.endpoint_id WHERE e.name = 'Dedicated Admin Connection';"
        )),
        18456 if dac => EngineError::Auth(format!(
            "{who}: login failed on the dedicated admin connection (error 18456: {msg}); the DAC \
             admits only members of sysadmin: check that {user} is one and that the password is \
             right"
        )),
        18456 => EngineError::Auth(format!(
            "{who}: login failed (error 18456: {msg}); check the login and the password \
             (the target, SQLCMDPASSWORD or --password-stdin)"
        )),
        18452 => EngineError::Auth(format!(
            "{who}: the server accepts only Windows logins (error 18452: {msg}), which this \
             build of spiral cannot use"
        )),
        17809 => EngineError::ServerFull(format!(
            "{who}: the server has reached its 'user connections' limit (error 17809: {msg}); \
             the dedicated admin connection is kept for this: spiral triage --dac ..."
        )),
        4060 => EngineError::Other(format!(
            "{who}: cannot open the database named in the target (error 4060: {msg}); drop it \
             from the target to connect to the login's default database"
        )),
        _ => EngineError::Other(format!(
            "{who}: the server refused the login (error {code}: {msg})"
        )),
    }
}

/// A batch that did not complete: the deadline passed, or the connection itself failed.
enum RunError {
    Timeout { cancelled: bool },
    Broken(TdsError),
}

/// Sends one batch and collects every result set, under a deadline. Server errors inside
/// the batch are part of the outcome (`Batch::error`), with whatever result sets arrived.
async fn run_batch(
    client: &mut TdsClient,
    sql: &'static str,
    params: &[i64],
    limit: Duration,
) -> Result<Batch, RunError> {
    match tokio::time::timeout(limit, read_batch(client, sql, params)).await {
        Ok(result) => result.map_err(RunError::Broken),
        Err(_) => {
            // The dropped future released the client; tell the server to stop the work.
            let cancelled = matches!(
                tokio::time::timeout(CANCEL_WAIT, client.cancel_query()).await,
                Ok(Ok(()))
            );
            Err(RunError::Timeout { cancelled })
        }
    }
}

/// A batch with parameters goes as sp_executesql (@P1, @P2, ...): the text stays the
/// same, so the server keeps one plan whatever the values.
async fn read_batch(
    client: &mut TdsClient,
    sql: &'static str,
    params: &[i64],
) -> Result<Batch, TdsError> {
    let mut batch = Batch::default();
    let sent = if params.is_empty() {
        client.simple_query(sql).await
    } else {
        let values: Vec<&dyn tiberius::ToSql> =
            params.iter().map(|p| p as &dyn tiberius::ToSql).collect();
        client.query(sql, &values).await
    };
    let mut stream = match sent {
        Ok(s) => s,
        // The whole batch failed before its first result set (a compile error, or every
        // statement refused); the response has been read to its end.
        Err(TdsError::Server(e)) => {
            batch.error = Some(ServerError {
                code: e.code(),
                message: e.message().to_string(),
            });
            return Ok(batch);
        }
        Err(e) => return Err(e),
    };
    loop {
        match stream.try_next().await {
            Ok(Some(QueryItem::Metadata(meta))) => batch.tables.push(Table {
                columns: meta
                    .columns()
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect(),
                rows: Vec::new(),
            }),
            Ok(Some(QueryItem::Row(row))) => {
                let cells = cells(&row);
                match batch.tables.last_mut() {
                    Some(t) => t.rows.push(cells),
                    None => {
                        return Err(TdsError::Protocol(
                            "a row arrived before its columns".into(),
                        ));
                    }
                }
            }
            Ok(None) => break,
            // tiberius reports a statement's error once the whole response has been read,
            // after every result set that did arrive: keep them.
            Err(TdsError::Server(e)) => {
                batch.error = Some(ServerError {
                    code: e.code(),
                    message: e.message().to_string(),
                });
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(batch)
}

/// Copies a tiberius row into plain cells, without `get()` (which panics on a type
/// mismatch): integers of every width become `Cell::Int`, datetimes go through `try_get`.
fn cells(row: &tiberius::Row) -> Vec<Cell> {
    row.cells()
        .enumerate()
        .map(|(idx, (_, data))| match data {
            ColumnData::U8(v) => v.map_or(Cell::Null, |x| Cell::Int(i64::from(x))),
            ColumnData::I16(v) => v.map_or(Cell::Null, |x| Cell::Int(i64::from(x))),
            ColumnData::I32(v) => v.map_or(Cell::Null, |x| Cell::Int(i64::from(x))),
            ColumnData::I64(v) => v.map_or(Cell::Null, Cell::Int),
            ColumnData::F32(v) => v.map_or(Cell::Null, |x| Cell::Float(f64::from(x))),
            ColumnData::F64(v) => v.map_or(Cell::Null, Cell::Float),
            ColumnData::Bit(v) => v.map_or(Cell::Null, Cell::Bit),
            ColumnData::String(v) => v.as_ref().map_or(Cell::Null, |s| Cell::Text(s.to_string())),
            ColumnData::Numeric(v) => v.map_or(Cell::Null, |n| Cell::Float(f64::from(n))),
            ColumnData::DateTime(_) | ColumnData::SmallDateTime(_) | ColumnData::DateTime2(_) => {
                match row.try_get::<chrono::NaiveDateTime, usize>(idx) {
                    Ok(Some(t)) => Cell::Time(t),
                    Ok(None) => Cell::Null,
                    Err(e) => Cell::Other(format!("an unreadable datetime ({e})")),
                }
            }
            _ => Cell::Other("a type spiral does not read".to_string()),
        })
        .collect()
}

impl MssqlSampler {
    pub async fn sample(&mut self) -> anyhow::Result<Snapshot> {
        if self.client.is_none() {
            let client = open(&self.plan, self.connect_timeout, self.query_timeout).await?;
            self.client = Some(Box::new(client));
        }
        let kind = match (&self.limited_by, self.plan.dac) {
            (Some(_), _) => BatchKind::Limited,
            (None, true) => BatchKind::Dac,
            (None, false) => BatchKind::Full,
        };
        self.reset_sent_if_due().await?;
        let cuts = [self.cuts.idle_ms, self.cuts.running_ms]
            .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
        let params: &[i64] = if kind == BatchKind::Dac { &cuts } else { &[] };
        let batch = self.run_with(sql_of(kind), params).await?;
        if kind != BatchKind::Limited && !batch.has_facts() {
            // Nothing came back, not even the facts that need no permission: the batch
            // failed as a whole (a missing grant refused at once, or a statement this
            // server cannot compile). Fall back to what any login may read, and stay
            // there, so every later sample is again a single round trip.
            let cause = batch.error.clone().unwrap_or_else(|| ServerError {
                code: 0,
                message: "the sample returned no result sets".to_string(),
            });
            let limited = self.run(sql_of(BatchKind::Limited)).await?;
            let snap = decode::decode(&limited, BatchKind::Limited, Some(&cause))
                .map_err(|e| self.failed(&e))?;
            // Only a missing grant is permanent; a compile timeout or memory error during a
            // compile storm is not, and the next sample tries the full batch again.
            if cause.is_permission() {
                self.limited_by = Some(cause);
            }
            return Ok(snap);
        }
        if self.plan.dac && !self.instance_checked {
            self.check_instance(&batch)?;
            self.instance_checked = true;
        }
        let mut snap =
            decode::decode_known(&batch, kind, self.limited_by.as_ref(), &mut self.known)
                .map_err(|e| self.failed(&e))?;
        if kind == BatchKind::Full {
            self.plan_cache_into(&mut snap, batch.cache_size()).await;
        }
        Ok(snap)
    }

    /// Over the DAC, the port may belong to another instance on the same host (only one
    /// instance can own 1434): the facts say which one answered.
    fn check_instance(&mut self, batch: &Batch) -> anyhow::Result<()> {
        let Some((server, answered)) = batch.answered_by() else {
            return Ok(());
        };
        let wanted = self.plan.expected_instance.as_deref();
        let same = match (wanted, answered.as_deref()) {
            (None, None) => true,
            (None, Some(a)) => a.eq_ignore_ascii_case(browser::DEFAULT_INSTANCE),
            (Some(w), Some(a)) => w.eq_ignore_ascii_case(a),
            (Some(w), None) => w.eq_ignore_ascii_case(browser::DEFAULT_INSTANCE),
        };
        if same {
            return Ok(());
        }
        self.client = None;
        Err(EngineError::Other(format!(
            "{}: the dedicated admin connection on port {} was answered by {} (instance {}), not \
            instance {}: give that instance's DAC port as admin:{},PORT",
            self.plan.who,
            self.plan.port.unwrap_or(browser::DEFAULT_PORT),
            crate::sanitize::clean(server.as_deref().unwrap_or("?")),
            crate::sanitize::clean(answered.as_deref().unwrap_or(browser::DEFAULT_INSTANCE)),
            crate::sanitize::clean(wanted.unwrap_or(browser::DEFAULT_INSTANCE)),
            self.plan.host
        ))
        .into())
    }

    /// The plan-cache walk is the costly read of a sample: at most once a minute, and not
    /// while the compile gate queues or tasks wait for a worker (it would queue with them).
    /// Otherwise the last walk is kept, or a gap says why there is none, with the cache's
    /// size from the memory cache counters.
    async fn plan_cache_into(&mut self, snap: &mut Snapshot, size: Option<(u64, u64)>) {
        let gate = snap.compile_gate.as_ref().map_or(0, |g| g.waiters);
        let starved = snap
            .workers
            .as_ref()
            .map_or(0, |w| w.queued_tasks + w.threadpool_waiters);
        let stale = self
            .plan_cache_tried
            .is_none_or(|at| at.elapsed() >= PLAN_CACHE_EVERY);
        let why_not = if gate > 0 {
            Some(format!(
                "not walked while the compile gate queues ({}): reading every cached plan \
                would wait with them",
                crate::format::plural(gate, "waiter")
            ))
        } else if starved > 0 {
            Some(format!(
                "not walked while {} wait for a worker thread",
                crate::format::plural(starved, "task")
            ))
        } else if stale {
            self.plan_cache_tried = Some(std::time::Instant::now());
            // The sample itself is already in hand: a walk that fails or times out costs
            // only the plan cache (and, after a timeout, a fresh connection next time).
            let failed = match self.run(&wire().plan_cache).await {
                Ok(batch) => match decode::decode_plan_cache(&batch) {
                    Ok(read) => {
                        self.plan_cache = Some(read);
                        None
                    }
                    Err(e) => Some(format!("not read: the query failed ({e})")),
                },
                Err(e) => Some(format!("not read ({})", one_line(&e.to_string()))),
            };
            self.plan_cache_failed = failed;
            self.plan_cache_failed.clone()
        } else {
            self.plan_cache_failed.clone()
        };
        if let Some((entries, stubs)) = &self.plan_cache {
            snap.plan_cache = Some(entries.clone());
            snap.plan_cache_stubs = Some(*stubs);
        } else if let Some(why) = why_not {
            let sized = size.map_or(String::new(), |(entries, bytes)| {
                format!(
                    "; the memory cache counters put it at {} entries, {} MB",
                    crate::format::thousands(entries),
                    crate::format::thousands(bytes / (1024 * 1024))
                )
            });
            snap.gaps.push(crate::model::snapshot::Gap {
                area: crate::model::snapshot::Area::PlanCache,
                reason: format!("the plan cache was {why}{sized}"),
                remedy: None,
            });
        }
    }

    /// The sessions alone (queries/mssql/sample_sessions.sql): what kill needs to choose
    /// and re-check its victims, at a fraction of a full sample. Over the DAC, every
    /// session without query text (sample_dac_sessions.sql): the DAC sample counts most
    /// sessions in groups, and kill must choose from sessions it can name. After a missing
    /// grant, the limited sample spiral would send anyway.
    pub async fn sample_sessions(&mut self) -> anyhow::Result<Snapshot> {
        if self.limited_by.is_some() {
            return self.sample().await;
        }
        if self.client.is_none() {
            let client = open(&self.plan, self.connect_timeout, self.query_timeout).await?;
            self.client = Some(Box::new(client));
        }
        self.reset_sent_if_due().await?;
        let kind = if self.plan.dac {
            BatchKind::DacSessions
        } else {
            BatchKind::Sessions
        };
        let batch = self.run(sql_of(kind)).await?;
        if self.plan.dac && !self.instance_checked {
            self.check_instance(&batch)?;
            self.instance_checked = true;
        }
        decode::decode_known(&batch, kind, None, &mut self.known).map_err(|e| self.failed(&e))
    }

    /// A session row kept naming a text or client the server had recorded as sent but
    /// spiral never received: forget what was sent (a fixed batch, one extra round trip,
    /// only then) so the next sample brings it all again.
    async fn reset_sent_if_due(&mut self) -> anyhow::Result<()> {
        if self.known.reset_due {
            self.run(&wire().sent_reset).await?;
            self.known.reset_done();
        }
        Ok(())
    }

    fn failed(&self, why: &str) -> anyhow::Error {
        EngineError::Other(format!("{}: {why}", self.plan.who)).into()
    }

    async fn run(&mut self, sql: &'static str) -> anyhow::Result<Batch> {
        self.run_with(sql, &[]).await
    }

    async fn run_with(&mut self, sql: &'static str, params: &[i64]) -> anyhow::Result<Batch> {
        let Some(client) = self.client.as_mut() else {
            return Err(EngineError::Other(format!("{}: not connected", self.plan.who)).into());
        };
        match run_batch(client, sql, params, self.query_timeout).await {
            Ok(batch) => Ok(batch),
            Err(RunError::Timeout { cancelled }) => {
                // Reconnect before the next sample even when the attention was
                // acknowledged: the abandoned response may have left a partly read packet,
                // and a fresh connection is the only state spiral can trust.
                self.client = None;
                let err =
                    anyhow::Error::from(EngineError::Timeout(self.query_timeout.as_secs_f64()));
                Err(if cancelled {
                    err
                } else {
                    err.context(
                        "the server did not acknowledge the cancel within 1s and spiral closed \
                         its connection",
                    )
                })
            }
            Err(RunError::Broken(e)) => {
                self.client = None;
                Err(EngineError::Unreachable(format!(
                    "{}: the connection failed while sampling ({})",
                    self.plan.who,
                    one_line(&e.to_string())
                ))
                .into())
            }
        }
    }

    /// Ends one session if it is still the connection that was selected (the check and the
    /// KILL run in one batch on the server). SQL Server cannot cancel another session's
    /// statement, so `kill::statement` refuses --query-only before this is reached.
    pub async fn kill(
        &mut self,
        target: crate::model::kill::KillTarget,
    ) -> anyhow::Result<crate::model::kill::Outcome> {
        let (id, connected_at) = (target.id, target.connected_at);
        // The state the session was chosen for is checked by the batch that sends the KILL.
        let mode: Option<&str> = target.still.mode();
        let for_ms = i64::try_from(target.still.for_ms()).unwrap_or(i64::MAX);
        use crate::model::kill::Outcome;
        let Ok(id) = i32::try_from(id) else {
            return Ok(Outcome::Gone);
        };
        if self.client.is_none() {
            let client = open(&self.plan, self.connect_timeout, self.query_timeout).await?;
            self.client = Some(Box::new(client));
        }
        let Some(client) = self.client.as_mut() else {
            return Err(self.failed("not connected"));
        };
        let seen: Option<chrono::NaiveDateTime> = connected_at.map(|t| t.naive_utc());
        let work = async {
            let stream = client
                .query(KILL_SQL, &[&id, &seen, &mode, &for_ms])
                .await?;
            let row = stream.into_row().await?;
            Ok::<_, TdsError>(row.and_then(|r| r.try_get::<i32, _>(0).ok().flatten()))
        };
        match tokio::time::timeout(self.query_timeout, work).await {
            Ok(Ok(Some(1))) => Ok(Outcome::Killed),
            Ok(Ok(Some(2))) => Ok(Outcome::Spared),
            Ok(Ok(_)) => Ok(Outcome::Gone),
            Ok(Err(e)) => {
                // A server error leaves the connection usable; anything else does not.
                if !matches!(e, TdsError::Server(_)) {
                    self.client = None;
                }
                Err(self.failed(&format!("KILL {id} failed: {}", one_line(&e.to_string()))))
            }
            Err(_) => {
                // KILL waits for the rollback of a long transaction, so a timeout is not a
                // failure: stop waiting, start afresh, and read where the session is now.
                if let Some(client) = self.client.as_mut() {
                    let _ = tokio::time::timeout(CANCEL_WAIT, client.cancel_query()).await;
                }
                self.client = None;
                match self.kill_status(id, seen).await {
                    Ok(0 | 1) => Ok(Outcome::Killed),
                    Ok(_) => Err(self.failed(&format!(
                        "KILL {id} did not return within {}s and the session is still there, \
                        not rolling back",
                        self.query_timeout.as_secs_f64()
                    ))),
                    Err(_) => Err(EngineError::Timeout(self.query_timeout.as_secs_f64()).into()),
                }
            }
        }
    }

    /// Where a session stands after a KILL that timed out: 0 gone, 1 rolling back, 2 still
    /// there (queries/mssql/kill_status.sql), on a fresh connection.
    async fn kill_status(
        &mut self,
        id: i32,
        seen: Option<chrono::NaiveDateTime>,
    ) -> anyhow::Result<i32> {
        let client = open(&self.plan, self.connect_timeout, self.query_timeout).await?;
        let client = self.client.insert(Box::new(client));
        let work = async {
            let stream = client.query(KILL_STATUS_SQL, &[&id, &seen]).await?;
            let row = stream.into_row().await?;
            Ok::<_, TdsError>(row.and_then(|r| r.try_get::<i32, _>(0).ok().flatten()))
        };
        match tokio::time::timeout(self.query_timeout, work).await {
            Ok(Ok(Some(state))) => Ok(state),
            Ok(Ok(None)) => Err(self.failed("the kill status came back empty")),
            Ok(Err(e)) => {
                self.client = None;
                Err(self.failed(&one_line(&e.to_string())))
            }
            Err(_) => {
                self.client = None;
                Err(EngineError::Timeout(self.query_timeout.as_secs_f64()).into())
            }
        }
    }

    pub async fn close(self) {
        if let Some(client) = self.client {
            // Closing promptly matters on the DAC: there is only one per instance.
            let _ = tokio::time::timeout(CANCEL_WAIT, client.close()).await;
        }
    }
}

fn sql_of(kind: BatchKind) -> &'static str {
    let w = wire();
    match kind {
        BatchKind::Full => &w.sample,
        BatchKind::Dac => &w.dac,
        BatchKind::Limited => &w.limited,
        BatchKind::Sessions => &w.sessions,
        BatchKind::DacSessions => &w.dac_sessions,
    }
}

/// The batches as sent: computed once, so every sample sends byte-identical text (one
/// cached plan on the server).
struct WireText {
    sample: String,
    plan_cache: String,
    dac: String,
    limited: String,
    sessions: String,
    dac_sessions: String,
    setup: String,
    sent_reset: String,
}

fn wire() -> &'static WireText {
    static WIRE: std::sync::OnceLock<WireText> = std::sync::OnceLock::new();
    WIRE.get_or_init(|| WireText {
        sample: compose(SAMPLE),
        plan_cache: without_comment_lines(PLAN_CACHE),
        dac: compose(SAMPLE_DAC),
        limited: compose(SAMPLE_LIMITED),
        sessions: compose(SAMPLE_SESSIONS),
        dac_sessions: compose(SAMPLE_DAC_SESSIONS),
        setup: without_comment_lines(SESSION_SETUP),
        sent_reset: without_comment_lines(SENT_RESET),
    })
}

/// One batch as sent (`crate::queries::compose`): SQL Server's batches are built from the
/// parts in queries/mssql/parts.
fn compose(batch: &str) -> String {
    crate::queries::compose(batch, MSSQL_PARTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::part_names;

    /// The bundled SQL of one part (queries/mssql/parts/NAME.sql).
    fn part(name: &str) -> Option<&'static str> {
        crate::queries::part(MSSQL_PARTS, name)
    }

    #[test]
    fn encryption_from_flag_then_option_then_required() {
        use EncryptionLevel::*;
        assert_eq!(
            encryption_level(Some(Encrypt::Off), Some("true")).ok(),
            Some(NotSupported)
        );
        assert_eq!(
            encryption_level(Some(Encrypt::On), Some("false")).ok(),
            Some(Required)
        );
        assert_eq!(encryption_level(None, None).ok(), Some(Required));
        for (text, level) in [
            ("True", Required),
            ("yes", Required),
            ("Mandatory", Required),
            ("false", Off),
            ("no", Off),
            ("Optional", Off),
            ("DANGER_PLAINTEXT", NotSupported),
        ] {
            assert_eq!(
                encryption_level(None, Some(text)).ok(),
                Some(level),
                "{text}"
            );
        }
        let strict = encryption_level(Some(Encrypt::Strict), None)
            .expect_err("strict is refused")
            .to_string();
        assert!(
            strict.contains("TDS 8") && !strict.contains('\n'),
            "{strict}"
        );
        assert!(encryption_level(None, Some("strict")).is_err());
        assert!(encryption_level(None, Some("sometimes")).is_err());
    }

    #[test]
    fn login_errors_are_one_line_and_name_the_way_out() {
        let e = login_error("SQL Server db:1434 (DAC)", true, "sa", 17810, "Could not connect because the maximum number of '1' dedicated administrator connections already exists.").to_string();
        assert!(
            e.contains("DAC already in use (only one per instance)"),
            "{e}"
        );
        assert!(matches!(
            login_error("x", true, "sa", 17810, "m"),
            EngineError::LimitReached(_)
        ));
        let e = login_error("x", true, "ops", 18456, "Login failed for user 'ops'.").to_string();
        assert!(e.contains("sysadmin") && e.contains("18456"), "{e}");
        let e = login_error("x", false, "app", 18456, "Login failed for user 'app'.");
        assert!(matches!(e, EngineError::Auth(_)));
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn wire_text_keeps_the_name_and_every_statement_line() {
        let w = sql_of(BatchKind::Full);
        assert!(w.starts_with("-- spiral/mssql/sample\n"));
        assert_eq!(w.matches("\n--").count(), 0, "{w}");
        let mut full = 0;
        for name in part_names(SAMPLE) {
            let sql = part(name).unwrap_or_else(|| panic!("{name}"));
            full += sql.len();
            for line in sql.lines() {
                let t = line.trim_start();
                if !t.is_empty() && !t.starts_with("--") {
                    assert!(w.contains(t), "{line}");
                }
            }
        }
        assert!(w.len() < full * 3 / 4);
        // Built once: the same text, at the same address, on every sample.
        assert!(std::ptr::eq(
            sql_of(BatchKind::Full),
            sql_of(BatchKind::Full)
        ));
        assert_eq!(compose(SAMPLE), sql_of(BatchKind::Full));
    }

    #[test]
    fn every_batch_names_existing_parts() {
        for (batch, sql) in [
            ("sample", SAMPLE),
            ("sample_dac", SAMPLE_DAC),
            ("sample_limited", SAMPLE_LIMITED),
            ("sample_sessions", SAMPLE_SESSIONS),
            ("sample_dac_sessions", SAMPLE_DAC_SESSIONS),
        ] {
            let names = part_names(sql);
            assert!(
                names.first() == Some(&"facts"),
                "{batch}: the facts come first"
            );
            for name in names {
                assert!(part(name).is_some(), "{batch}: no part {name}");
            }
            assert!(sql.starts_with(&format!("-- spiral/mssql/{batch}\n")));
        }
        // Every part file is used by some batch.
        for q in crate::queries::MSSQL_PARTS {
            let name = q.name.trim_start_matches("part_");
            // The DAC's own session statement and its parameters are the DAC batch's.
            let used_by = [SAMPLE, SAMPLE_DAC];
            assert!(
                used_by.iter().any(|b| part_names(b).contains(&name)),
                "{name} unused"
            );
        }
        let used = |sql: &str, what: &str| compose(sql).contains(what);
        assert!(!used(SAMPLE_SESSIONS, "dm_os_schedulers"));
        assert!(!used(SAMPLE_DAC, "sys.dm_exec_sql_text"));
        assert!(!used(SAMPLE_DAC, "sys.dm_exec_cached_plans"));
        assert!(!used(SAMPLE_DAC_SESSIONS, "sys.dm_exec_sql_text"));
        // Over the DAC the sessions are counted on the server, split at the parameters.
        assert!(used(
            SAMPLE_DAC,
            "@idle_over_ms bigint = @P1, @running_ms bigint = @P2"
        ));
        assert!(!part_names(SAMPLE_DAC).contains(&"sessions"));
        assert!(!used(SAMPLE, "sys.dm_exec_cached_plans"), "read apart");
        assert!(PLAN_CACHE.contains("FROM sys.dm_exec_cached_plans"));
    }

    #[test]
    fn no_datediff_that_can_overflow_on_the_1900_sentinel() {
        // DATEDIFF returns int: 535 past 24 days in ms, past 68 years in seconds, and a
        // never-run session's last_request_end_time is 1900-01-01. Only DATEDIFF_BIG, or
        // DATEDIFF over the small clock offset, may appear.
        let (sample, dac) = (compose(SAMPLE), compose(SAMPLE_DAC));
        for (name, sql) in [
            ("sample", sample.as_str()),
            ("sample_dac", dac.as_str()),
            ("kill", KILL_SQL),
            ("kill_status", KILL_STATUS_SQL),
        ] {
            for line in sql.lines().filter(|l| !l.trim_start().starts_with("--")) {
                if line.contains("DATEDIFF(") {
                    assert!(
                        line.contains("SYSUTCDATETIME(), SYSDATETIME()"),
                        "{name}: {line}"
                    );
                }
            }
            if sql.contains("last_request_end_time") {
                assert!(
                    sql.contains("NULLIF(s.last_request_end_time, '19000101')"),
                    "{name}"
                );
            }
        }
    }
}
