//! A wire-level TDS (Tabular Data Stream, the SQL Server protocol) test server.
//!
//! No SQL Server can run where these tests run, so this module speaks just
//! enough of MS-TDS to let a *real* client (tiberius 0.13, or a CLI built on
//! it, running in this process or as a separate process) log in and receive
//! recorded result sets. It depends only on `std`, `tokio` and `chrono`, so the
//! file can be dropped into any crate as `tests/support/tds_server.rs`.
//!
//! What is implemented (MS-TDS section numbers in brackets):
//!
//! * PRELOGIN [2.2.6.5]: we answer with `ENCRYPTION = ENCRYPT_NOT_SUP`. This is
//!   the one setting under which neither the login record nor the data is
//!   wrapped in TLS, so the server needs no certificate and no TLS stack. The
//!   client must therefore be configured with `EncryptionLevel::NotSupported`
//!   (`encrypt=DANGER_PLAINTEXT` in an ADO string; when tiberius is built with
//!   a TLS backend, `encrypt=false` means `Off`, i.e. "TLS for the login
//!   only"): tiberius fails the connect for `On`/`Required`, and for `Off` it
//!   goes on to start a TLS handshake that this server cannot answer (we
//!   close the connection and print a hint on stderr).
//! * LOGIN7 [2.2.6.4]: parsed for user, password, app name, host, server and
//!   database names, requested packet size and TDS version; answered either by
//!   the LOGINACK sequence a real server sends (ENVCHANGEs, INFOs, LOGINACK,
//!   DONE) or by ERROR 18456 + DONE(error), after which the connection closes.
//! * SQL BATCH [2.2.6.7]: the ALL_HEADERS block is skipped, the UTF-16LE text
//!   decoded and handed to [`Behaviour::respond`].
//! * RPC [2.2.6.6]: `client.query(sql, params)` / `client.execute` in tiberius
//!   are RPC calls of `sp_executesql`, not SQL batches. We extract the first
//!   (statement) parameter and hand *that* text to the same callback, and
//!   answer with DONEINPROC / RETURNSTATUS / DONEPROC like a real server.
//! * ATTENTION [2.2.1.6]: always acknowledged with `DONE` carrying `DONE_ATTN`.
//! * A batch whose statements partly fail ([`Reply::Statements`]): a statement may end
//!   with ERROR + DONE(error) before any row, or after some of its rows, as a run-time
//!   error (535, 1222) does on a real server.
//! * Responses are split into packets of the negotiated packet size with the
//!   end-of-message status bit on the last one [2.2.3.1]; see [`Conn::send`].

use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime, Timelike};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

// ---------------------------------------------------------------------------
// Public data model
// ---------------------------------------------------------------------------

/// The SQL type of a result-set column, which fixes its TYPE_INFO on the wire.
///
/// All columns are sent as the *nullable* ("N") variants of their types, as a
/// real server does for expressions and nullable table columns, so every
/// column may carry NULLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    /// `int`: INTN (0x26) length 4. tiberius decodes it as `i32`.
    Int,
    /// `smallint`: INTN length 2. tiberius decodes it as `i16` (and `i32`).
    SmallInt,
    /// `bigint`: INTN length 8. tiberius decodes it as `i64`.
    BigInt,
    /// `tinyint`: INTN length 1. tiberius decodes it as `u8`.
    TinyInt,
    /// `bit`: BITN (0x68) length 1.
    Bit,
    /// `float`: FLTN (0x6D) length 8, i.e. `float(53)`, decoded as `f64`.
    Float,
    /// `nvarchar(4000)`: NVARCHAR (0xE7); becomes `nvarchar(max)` (sent as
    /// PLP) when a value in the result set is longer than 4000 UTF-16 units.
    NVarChar,
    /// `nchar(n)`: NCHAR (0xEF) of `n` characters (1..=4000); values are space
    /// padded (or cut) to exactly `n` UTF-16 units, as SQL Server stores them.
    NChar(u16),
    /// `varchar(8000)`: BIGVARCHAR (0xA7) in the Windows-1252 code page of
    /// `SQL_Latin1_General_CP1_CI_AS`; characters outside it become `?`, like
    /// on a real server. Becomes `varchar(max)` beyond 8000 bytes.
    VarChar,
    /// `datetime`: DATETIMEN (0x6F) length 8, 1/300 s precision.
    DateTime,
}

/// One cell. `None` inside a typed variant and [`Value::Null`] are both NULL.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An untyped NULL, allowed in a column of any type.
    Null,
    Int(Option<i32>),
    SmallInt(Option<i16>),
    BigInt(Option<i64>),
    TinyInt(Option<u8>),
    Bit(Option<bool>),
    Float(Option<f64>),
    NVarChar(Option<String>),
    /// Declared length in characters; the value is space padded to it.
    NChar(Option<String>, u16),
    VarChar(Option<String>),
    DateTime(Option<NaiveDateTime>),
}

impl Value {
    /// The column type this value implies, `None` for [`Value::Null`].
    pub fn col_type(&self) -> Option<ColType> {
        Some(match self {
            Value::Null => return None,
            Value::Int(_) => ColType::Int,
            Value::SmallInt(_) => ColType::SmallInt,
            Value::BigInt(_) => ColType::BigInt,
            Value::TinyInt(_) => ColType::TinyInt,
            Value::Bit(_) => ColType::Bit,
            Value::Float(_) => ColType::Float,
            Value::NVarChar(_) => ColType::NVarChar,
            Value::NChar(_, n) => ColType::NChar(*n),
            Value::VarChar(_) => ColType::VarChar,
            Value::DateTime(_) => ColType::DateTime,
        })
    }

    /// Shorthand for a non-NULL `nvarchar` value.
    pub fn text(s: &str) -> Value {
        Value::NVarChar(Some(s.to_string()))
    }

    fn is_null(&self) -> bool {
        matches!(
            self,
            Value::Null
                | Value::Int(None)
                | Value::SmallInt(None)
                | Value::BigInt(None)
                | Value::TinyInt(None)
                | Value::Bit(None)
                | Value::Float(None)
                | Value::NVarChar(None)
                | Value::NChar(None, _)
                | Value::VarChar(None)
                | Value::DateTime(None)
        )
    }
}

/// A result-set column: its name and SQL type.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub value_type: ColType,
}

/// Shorthand for [`Column`].
pub fn col(name: &str, ty: ColType) -> Column {
    Column {
        name: name.to_string(),
        value_type: ty,
    }
}

/// One result set: the columns and the rows (each row has one value per
/// column). A value must fit its column: any NULL fits any column, integers
/// fit any integer column whose range holds them, and the string variants are
/// interchangeable (the column decides the wire encoding). Anything else is
/// reported to the client as server error 50000 naming the bad cell.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

impl ResultSet {
    pub fn new(columns: Vec<Column>, rows: Vec<Vec<Value>>) -> ResultSet {
        ResultSet { columns, rows }
    }

    /// Builds a result set whose column types are taken from the first row in
    /// which the column holds a typed value (a typed NULL such as
    /// `Value::Int(None)` counts); a column of only `Value::Null` becomes
    /// `nvarchar`.
    pub fn infer(names: &[&str], rows: Vec<Vec<Value>>) -> ResultSet {
        let columns = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let ty = rows
                    .iter()
                    .find_map(|r| r.get(i).and_then(Value::col_type))
                    .unwrap_or(ColType::NVarChar);
                col(name, ty)
            })
            .collect();
        ResultSet { columns, rows }
    }
}

/// What the server answers to one SQL batch (or `sp_executesql` RPC).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Zero or more result sets. Each ends with a DONE carrying its row count
    /// and, except the last, `DONE_MORE`. An empty vector is a plain DONE,
    /// which is what `SET ...;` and other statements without rows get.
    Rows(Vec<ResultSet>),
    /// An ERROR token (e.g. 297 / 300 "VIEW SERVER STATE permission was
    /// denied", class 14/16) then DONE with the error bit.
    Error {
        number: u32,
        class: u8,
        message: String,
    },
    /// Never answer until the client sends an ATTENTION, then answer with a
    /// DONE carrying `DONE_ATTN`.
    Hang,
    /// Wait, then send the inner reply; an ATTENTION arriving meanwhile cancels
    /// it exactly like [`Reply::Hang`]. For "slow query" scenarios.
    Delayed(Duration, Box<Reply>),
    /// Close the TCP connection without answering (a dying server/network).
    Disconnect,
    /// A batch of several statements, answered in order, where some fail: what a real
    /// server sends when a statement errors after others succeeded, or after some of its
    /// own rows were already sent (error 535 or 1222 mid-result).
    Statements(Vec<Statement>),
}

/// One statement's answer inside [`Reply::Statements`].
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// A result set, ended by a DONE with its row count.
    Rows(ResultSet),
    /// The statement failed before any row: ERROR, then DONE with the error bit.
    Error {
        number: u32,
        class: u8,
        message: String,
    },
    /// COLMETADATA and the rows given, then ERROR and a DONE with the error bit and no
    /// row count: a run-time error after part of the result had streamed.
    RowsThenError {
        set: ResultSet,
        number: u32,
        class: u8,
        message: String,
    },
}

/// How LOGIN7 is answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Login {
    Accept,
    /// ERROR `number` with `message` (where `{user}` is replaced by the login
    /// name the client sent), class 14, then DONE with the error bit; the
    /// server then closes the connection, as SQL Server does.
    Reject {
        number: u32,
        message: String,
    },
}

impl Login {
    /// SQL Server's own answer to a bad password: error 18456
    /// "Login failed for user '<name>'.".
    pub fn failed() -> Login {
        Login::Reject {
            number: 18456,
            message: "Login failed for user '{user}'.".to_string(),
        }
    }
}

/// The server's script: how to answer logins and batches.
pub struct Behaviour {
    pub login: Login,
    /// Called with the SQL text of every batch (decoded from UTF-16LE), or the
    /// statement text of an `sp_executesql` RPC. Runs on the server's runtime,
    /// so it must not block: use [`Reply::Delayed`] to simulate slowness.
    pub respond: Box<dyn Fn(&str) -> Reply + Send + Sync>,
}

impl Behaviour {
    pub fn new(login: Login, respond: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Behaviour {
        Behaviour {
            login,
            respond: Box::new(respond),
        }
    }

    /// Accept every login and answer batches with `respond`.
    pub fn accept(respond: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Behaviour {
        Behaviour::new(Login::Accept, respond)
    }
}

/// What the server read from one LOGIN7 record.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LoginInfo {
    pub user: String,
    /// De-obfuscated (LOGIN7 only nibble-swaps and XORs it).
    pub password: String,
    pub app_name: String,
    pub host_name: String,
    pub server_name: String,
    /// The requested database, empty when the client named none.
    pub database: String,
    /// The packet size the client asked for (0 = server default).
    pub packet_size: u32,
    /// The TDS version the client asked for, e.g. `0x74000004` for 7.4.
    pub tds_version: u32,
}

/// Live counters, shared with the server thread.
#[derive(Debug, Default)]
pub struct Stats {
    /// Accepted TCP connections.
    pub connections: AtomicU64,
    /// LOGIN7 records received (accepted or not).
    pub logins: AtomicU64,
    /// LOGIN7 records answered with [`Login::Reject`].
    pub logins_rejected: AtomicU64,
    /// SQL BATCH messages received.
    pub batches: AtomicU64,
    /// RPC messages received (tiberius `query`/`execute`).
    pub rpcs: AtomicU64,
    /// ATTENTION messages received.
    pub attentions: AtomicU64,
    /// Bytes read from / written to clients, TDS packet headers included.
    pub bytes_in: AtomicU64,
    pub bytes_out: AtomicU64,
    login_log: Mutex<Vec<LoginInfo>>,
    sql_log: Mutex<Vec<String>>,
}

/// A plain copy of [`Stats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    pub connections: u64,
    pub logins: u64,
    pub logins_rejected: u64,
    pub batches: u64,
    pub rpcs: u64,
    pub attentions: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::SeqCst);
        StatsSnapshot {
            connections: get(&self.connections),
            logins: get(&self.logins),
            logins_rejected: get(&self.logins_rejected),
            batches: get(&self.batches),
            rpcs: get(&self.rpcs),
            attentions: get(&self.attentions),
            bytes_in: get(&self.bytes_in),
            bytes_out: get(&self.bytes_out),
        }
    }

    /// Every LOGIN7 received, oldest first.
    pub fn login_infos(&self) -> Vec<LoginInfo> {
        lock(&self.login_log).clone()
    }

    /// The SQL text of every batch / RPC statement received, oldest first.
    pub fn sql_log(&self) -> Vec<String> {
        lock(&self.sql_log).clone()
    }

    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::SeqCst);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking test thread must not make the server unusable for others.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Returns true when `sql` consists only of `SET ...` statements (separated by
/// `;` or newlines), which a real server answers with a plain DONE. Handy in a
/// `respond` callback: `if is_only_set_statements(sql) { return Reply::Rows(vec![]) }`.
pub fn is_only_set_statements(sql: &str) -> bool {
    let mut any = false;
    for stmt in sql
        .split([';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let upper = stmt.to_ascii_uppercase();
        if !(upper.starts_with("SET ") || upper.starts_with("SET\t")) {
            return false;
        }
        any = true;
    }
    any
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A running test server. It listens on `127.0.0.1:<ephemeral>` and serves
/// from its own thread with its own tokio runtime, so it works from plain
/// `#[test]` functions, from any async runtime, and for clients in other
/// processes. Dropping it stops the runtime, closing every connection.
pub struct TdsServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    behaviour: Behaviour,
    stats: Arc<Stats>,
    next_spid: AtomicU16,
}

impl TdsServer {
    pub fn start(behaviour: Behaviour) -> TdsServer {
        // Bind synchronously so `addr` is valid (and connectable) on return.
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").expect("tds_server: bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("tds_server: set_nonblocking");
        let addr = listener.local_addr().expect("tds_server: local_addr");
        let stats = Arc::new(Stats::default());
        let shared = Arc::new(Shared {
            behaviour,
            stats: stats.clone(),
            next_spid: AtomicU16::new(51),
        });
        let (tx, rx) = oneshot::channel::<()>();

        let thread = std::thread::Builder::new()
            .name(format!("tds-server-{}", addr.port()))
            .spawn(move || {
                // Two workers, so a busy connection (a big reply, a slow
                // `respond` callback) does not stall the others.
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("tds-server-worker")
                    .enable_all()
                    .build()
                    .expect("tds_server: build runtime");
                rt.block_on(async move {
                    let listener =
                        TcpListener::from_std(listener).expect("tds_server: tokio listener");
                    tokio::select! {
                        _ = rx => {}
                        _ = accept_loop(listener, shared) => {}
                    }
                });
                // Dropping the runtime cancels every connection task, which
                // drops (closes) their sockets.
                rt.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("tds_server: spawn thread");

        TdsServer {
            addr,
            stats,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for TdsServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((sock, _)) => {
                Stats::bump(&shared.stats.connections, 1);
                let _ = sock.set_nodelay(true);
                let shared = shared.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve_connection(sock, shared).await {
                        // Clients hanging up mid-reply are normal in tests.
                        if e.kind() != io::ErrorKind::BrokenPipe
                            && e.kind() != io::ErrorKind::ConnectionReset
                        {
                            eprintln!("tds_server: connection error: {e}");
                        }
                    }
                });
            }
            Err(e) => {
                eprintln!("tds_server: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Packet layer
// ---------------------------------------------------------------------------

// Packet types [2.2.3.1.1].
const PT_SQL_BATCH: u8 = 0x01;
const PT_RPC: u8 = 0x03;
const PT_REPLY: u8 = 0x04;
const PT_ATTENTION: u8 = 0x06;
const PT_LOGIN7: u8 = 0x10;
const PT_PRELOGIN: u8 = 0x12;
// Packet status bits [2.2.3.1.2].
const ST_EOM: u8 = 0x01;
const ST_IGNORE: u8 = 0x02;

const HEADER_LEN: usize = 8;
/// The packet size every TDS conversation starts with, and the default a
/// LOGIN7 asking for "0" (server default) gets.
const DEFAULT_PACKET_SIZE: usize = 4096;

/// One client message, reassembled from its packets.
struct Message {
    ty: u8,
    payload: Vec<u8>,
}

/// Reads packets and forwards whole messages. It runs as its own task so the
/// connection logic can wait for "an ATTENTION or a timer" with `select!` on a
/// channel, which (unlike a half-read socket) is cancel-safe.
async fn read_messages(
    mut rd: OwnedReadHalf,
    tx: mpsc::UnboundedSender<Message>,
    stats: Arc<Stats>,
) {
    let mut partial: Option<Message> = None;
    loop {
        let mut header = [0u8; HEADER_LEN];
        if rd.read_exact(&mut header).await.is_err() {
            return; // EOF or reset: dropping `tx` tells the connection
        }
        let len = u16::from_be_bytes([header[2], header[3]]) as usize;
        if len < HEADER_LEN {
            eprintln!("tds_server: malformed packet length {len}, closing");
            return;
        }
        let mut body = vec![0u8; len - HEADER_LEN];
        if rd.read_exact(&mut body).await.is_err() {
            return;
        }
        Stats::bump(&stats.bytes_in, len as u64);
        let (ty, status) = (header[0], header[1]);

        // An ATTENTION is a lone header-only packet; it can arrive while the
        // client is anywhere, so deliver it at once without touching any
        // partially assembled message.
        if ty == PT_ATTENTION {
            if tx.send(Message { ty, payload: body }).is_err() {
                return;
            }
            continue;
        }
        let msg = partial.get_or_insert_with(|| Message {
            ty,
            payload: Vec::new(),
        });
        msg.payload.extend_from_slice(&body);
        if status & ST_EOM != 0 {
            let msg = partial.take().expect("message in progress");
            // EOM|IGNORE: the client abandoned the message it was sending.
            if status & ST_IGNORE != 0 {
                continue;
            }
            if tx.send(msg).is_err() {
                return;
            }
        }
    }
}

enum Flow {
    Continue,
    Close,
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Phase {
    PreLogin,
    Login,
    LoggedIn,
}

struct Conn {
    wr: OwnedWriteHalf,
    rx: mpsc::UnboundedReceiver<Message>,
    shared: Arc<Shared>,
    spid: u16,
    packet_size: usize,
    tds_version: u32,
    /// A request that arrived while we were hanging (a protocol violation by
    /// the client); it is served next.
    pending: Option<Message>,
}

async fn serve_connection(sock: TcpStream, shared: Arc<Shared>) -> io::Result<()> {
    let (rd, wr) = sock.into_split();
    let (tx, rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_messages(rd, tx, shared.stats.clone()));
    let spid = shared.next_spid.fetch_add(1, Ordering::SeqCst);
    let mut conn = Conn {
        wr,
        rx,
        shared,
        spid,
        packet_size: DEFAULT_PACKET_SIZE,
        tds_version: TDS_7_4,
        pending: None,
    };
    let result = conn.run().await;
    reader.abort();
    let _ = conn.wr.shutdown().await;
    result
}

impl Conn {
    async fn run(&mut self) -> io::Result<()> {
        let mut phase = Phase::PreLogin;
        loop {
            let msg = match self.pending.take() {
                Some(m) => m,
                None => match self.rx.recv().await {
                    Some(m) => m,
                    None => return Ok(()), // client went away
                },
            };
            let flow = match (msg.ty, phase) {
                (PT_PRELOGIN, Phase::PreLogin) => {
                    self.prelogin(&msg.payload).await?;
                    phase = Phase::Login;
                    Flow::Continue
                }
                (PT_PRELOGIN, _) => {
                    // After our NOT_SUP answer the only reason for a second
                    // PRELOGIN is a TLS handshake wrapped in PRELOGIN packets.
                    eprintln!(
                        "tds_server: client started a TLS handshake; this server only \
                         supports unencrypted connections: configure the client with \
                         EncryptionLevel::NotSupported (ADO: encrypt=DANGER_PLAINTEXT; with a TLS \
                         backend compiled in, encrypt=false means TLS for the login)"
                    );
                    Flow::Close
                }
                // Some clients skip PRELOGIN; accept LOGIN7 directly.
                (PT_LOGIN7, Phase::PreLogin | Phase::Login) => {
                    let flow = self.login(&msg.payload).await?;
                    phase = Phase::LoggedIn;
                    flow
                }
                (PT_ATTENTION, _) => self.attention().await?,
                (PT_SQL_BATCH, Phase::LoggedIn) => {
                    Stats::bump(&self.shared.stats.batches, 1);
                    let sql = decode_batch(&msg.payload);
                    self.request(sql, false).await?
                }
                (PT_RPC, Phase::LoggedIn) => {
                    Stats::bump(&self.shared.stats.rpcs, 1);
                    let sql = decode_rpc(&msg.payload);
                    self.request(sql, true).await?
                }
                (ty, _) => {
                    let text = format!("tds_server: unsupported TDS message type 0x{ty:02X}");
                    eprintln!("{text}");
                    let mut out = Vec::new();
                    put_message_token(&mut out, TOKEN_ERROR, 50000, 16, &text);
                    put_done(&mut out, TOKEN_DONE, DONE_ERROR, 0, 0);
                    self.send(PT_REPLY, &out).await?;
                    Flow::Continue
                }
            };
            if let Flow::Close = flow {
                return Ok(());
            }
        }
    }

    /// Writes one server message, split into packets.
    ///
    /// TDS frames everything in packets of at most the negotiated packet size
    /// (8-byte header included), and every packet but the last of a message
    /// must be *exactly* that size, the last one carrying the EOM status bit.
    /// Clients read a response packet by packet, and tokens may (and here do)
    /// span packet boundaries, so a server that ignored the size would break
    /// clients whose buffers follow the negotiated value. Splitting here also
    /// exercises the client's reassembly on every multi-packet result set.
    async fn send(&mut self, ty: u8, payload: &[u8]) -> io::Result<()> {
        let chunk = self.packet_size - HEADER_LEN;
        let count = payload.len().div_ceil(chunk).max(1);
        let mut out = Vec::with_capacity(payload.len() + count * HEADER_LEN);
        for i in 0..count {
            let part =
                &payload[(i * chunk).min(payload.len())..((i + 1) * chunk).min(payload.len())];
            let status = if i + 1 == count { ST_EOM } else { 0 };
            out.push(ty);
            out.push(status);
            out.extend_from_slice(&((part.len() + HEADER_LEN) as u16).to_be_bytes());
            out.extend_from_slice(&self.spid.to_be_bytes());
            // Packet ids count from 1 within a message, modulo 256.
            out.push(((i + 1) % 256) as u8);
            out.push(0); // window, unused
            out.extend_from_slice(part);
        }
        self.wr.write_all(&out).await?;
        self.wr.flush().await?;
        Stats::bump(&self.shared.stats.bytes_out, out.len() as u64);
        Ok(())
    }

    async fn prelogin(&mut self, payload: &[u8]) -> io::Result<()> {
        let opts = parse_prelogin(payload);
        // ENCRYPT_ON (0x01) / ENCRYPT_REQ (0x03): the client insists on TLS.
        let wanted = opts.get(&PL_ENCRYPTION).and_then(|v| v.first().copied());
        if matches!(wanted, Some(0x01 | 0x03)) {
            eprintln!(
                "tds_server: client requires encryption (PRELOGIN ENCRYPTION={wanted:?}); \
                 this server answers ENCRYPT_NOT_SUP, so the client will refuse to go on. \
                 Use EncryptionLevel::NotSupported (ADO: encrypt=DANGER_PLAINTEXT)."
            );
        }
        // Option table then data, offsets relative to the payload start.
        // VERSION: 15.0.2000 (SQL Server 2019), sub-build 0.
        // ENCRYPTION: ENCRYPT_NOT_SUP (0x02): no TLS at all, see the module doc.
        // INSTOPT: 0x00 = "the instance you named is this one" (tiberius sends
        //   the instance name of a named-instance connect and checks this).
        // THREADID: empty, as a server sends it (tiberius debug-asserts 0).
        // MARS: 0, MARS is off.
        let options: [(u8, Vec<u8>); 5] = [
            (PL_VERSION, vec![15, 0, 0x07, 0xD0, 0, 0]),
            (PL_ENCRYPTION, vec![ENCRYPT_NOT_SUP]),
            (PL_INSTOPT, vec![0]),
            (PL_THREADID, vec![]),
            (PL_MARS, vec![0]),
        ];
        let mut out = Vec::new();
        let mut offset = options.len() * 5 + 1;
        for (token, data) in &options {
            out.push(*token);
            out.extend_from_slice(&(offset as u16).to_be_bytes());
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            offset += data.len();
        }
        out.push(PL_TERMINATOR);
        for (_, data) in &options {
            out.extend_from_slice(data);
        }
        self.send(PT_REPLY, &out).await
    }

    async fn login(&mut self, payload: &[u8]) -> io::Result<Flow> {
        let stats = &self.shared.stats;
        Stats::bump(&stats.logins, 1);
        let info = parse_login7(payload);
        lock(&stats.login_log).push(info.clone());

        // Answer with the version the client asked for when it is one we can
        // speak (7.2, 7.3A, 7.3B, 7.4), else 7.4. From 7.2 on DONE row counts
        // are 8 bytes and ERROR line numbers 4, which is what we encode.
        self.tds_version = match info.tds_version {
            v @ (TDS_7_2 | TDS_7_3A | TDS_7_3B | TDS_7_4) => v,
            _ => TDS_7_4,
        };

        let mut out = Vec::new();
        match &self.shared.behaviour.login {
            Login::Reject { number, message } => {
                Stats::bump(&stats.logins_rejected, 1);
                let message = message.replace("{user}", &info.user);
                put_message_token(&mut out, TOKEN_ERROR, *number, 14, &message);
                put_done(&mut out, TOKEN_DONE, DONE_ERROR, 0, 0);
                self.send(PT_REPLY, &out).await?;
                // SQL Server drops the connection after a failed login.
                return Ok(Flow::Close);
            }
            Login::Accept => {}
        }

        let database = if info.database.is_empty() {
            "master".to_string()
        } else {
            info.database.clone()
        };
        let negotiated = match info.packet_size {
            0 => DEFAULT_PACKET_SIZE,
            n => (n as usize).clamp(512, 32767),
        };
        // The same token sequence SQL Server sends. tiberius only *needs*
        // LOGINACK (for the TDS version) and the final DONE; the PACKETSIZE
        // ENVCHANGE sets the size it splits its own requests with, and it
        // parses *both* the new and the old value as numbers, so the old value
        // must be a number too (an empty string fails the login).
        put_env_string(&mut out, ENV_DATABASE, &database, "master");
        put_message_token(
            &mut out,
            TOKEN_INFO,
            5701,
            0,
            &format!("Changed database context to '{database}'."),
        );
        put_env_collation(&mut out);
        put_env_string(&mut out, ENV_LANGUAGE, "us_english", "");
        put_message_token(
            &mut out,
            TOKEN_INFO,
            5703,
            0,
            "Changed language setting to us_english.",
        );
        put_login_ack(&mut out, self.tds_version);
        put_env_string(
            &mut out,
            ENV_PACKET_SIZE,
            &negotiated.to_string(),
            &DEFAULT_PACKET_SIZE.to_string(),
        );
        put_done(&mut out, TOKEN_DONE, 0, 0, 0);
        self.send(PT_REPLY, &out).await?;
        // Everything after the login response uses the negotiated size.
        self.packet_size = negotiated;
        Ok(Flow::Continue)
    }

    async fn attention(&mut self) -> io::Result<Flow> {
        // Count before answering, so a client that sees the acknowledgement
        // also sees the counter.
        Stats::bump(&self.shared.stats.attentions, 1);
        let mut out = Vec::new();
        put_done(&mut out, TOKEN_DONE, DONE_ATTN, 0, 0);
        self.send(PT_REPLY, &out).await?;
        Ok(Flow::Continue)
    }

    async fn request(&mut self, sql: String, rpc: bool) -> io::Result<Flow> {
        lock(&self.shared.stats.sql_log).push(sql.clone());
        let respond = &self.shared.behaviour.respond;
        let reply = match catch_unwind(AssertUnwindSafe(|| respond(&sql))) {
            Ok(reply) => reply,
            Err(_) => Reply::Error {
                number: 50000,
                class: 16,
                message: "tds_server: the respond callback panicked".to_string(),
            },
        };
        self.reply(reply, rpc).await
    }

    /// Waits for the client's ATTENTION and acknowledges it; a disconnect
    /// closes the connection.
    async fn wait_for_attention(&mut self) -> io::Result<Flow> {
        match self.rx.recv().await {
            None => Ok(Flow::Close),
            Some(m) if m.ty == PT_ATTENTION => self.attention().await,
            Some(other) => {
                eprintln!(
                    "tds_server: got message type 0x{:02X} while a request was pending \
                     (no ATTENTION); serving it",
                    other.ty
                );
                self.pending = Some(other);
                Ok(Flow::Continue)
            }
        }
    }

    async fn reply(&mut self, reply: Reply, rpc: bool) -> io::Result<Flow> {
        match reply {
            Reply::Hang => self.wait_for_attention().await,
            Reply::Delayed(delay, inner) => {
                tokio::select! {
                    _ = tokio::time::sleep(delay) => Box::pin(self.reply(*inner, rpc)).await,
                    msg = self.rx.recv() => {
                        match msg {
                            None => Ok(Flow::Close),
                            Some(m) if m.ty == PT_ATTENTION => self.attention().await,
                            Some(other) => {
                                self.pending = Some(other);
                                Ok(Flow::Continue)
                            }
                        }
                    }
                }
            }
            Reply::Disconnect => Ok(Flow::Close),
            Reply::Error {
                number,
                class,
                message,
            } => {
                let mut out = Vec::new();
                put_message_token(&mut out, TOKEN_ERROR, number, class, &message);
                finish(&mut out, rpc, DONE_ERROR, 0);
                self.send(PT_REPLY, &out).await?;
                Ok(Flow::Continue)
            }
            Reply::Statements(statements) => {
                let out = match encode_statements(&statements, rpc) {
                    Ok(out) => out,
                    Err(text) => {
                        let text = format!("tds_server: bad reply: {text}");
                        eprintln!("{text}");
                        let mut out = Vec::new();
                        put_message_token(&mut out, TOKEN_ERROR, 50000, 16, &text);
                        finish(&mut out, rpc, DONE_ERROR, 0);
                        out
                    }
                };
                self.send(PT_REPLY, &out).await?;
                Ok(Flow::Continue)
            }
            Reply::Rows(sets) => {
                let out = match encode_result_sets(&sets, rpc) {
                    Ok(out) => out,
                    Err(text) => {
                        // A mistake in the test's recorded data: tell the
                        // client in a way that shows up in its error message.
                        let text = format!("tds_server: bad reply: {text}");
                        eprintln!("{text}");
                        let mut out = Vec::new();
                        put_message_token(&mut out, TOKEN_ERROR, 50000, 16, &text);
                        finish(&mut out, rpc, DONE_ERROR, 0);
                        out
                    }
                };
                self.send(PT_REPLY, &out).await?;
                Ok(Flow::Continue)
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Request decoding
// ---------------------------------------------------------------------------

// PRELOGIN option tokens [2.2.6.5].
const PL_VERSION: u8 = 0x00;
const PL_ENCRYPTION: u8 = 0x01;
const PL_INSTOPT: u8 = 0x02;
const PL_THREADID: u8 = 0x03;
const PL_MARS: u8 = 0x04;
const PL_TERMINATOR: u8 = 0xFF;
const ENCRYPT_NOT_SUP: u8 = 0x02;

// TDS versions as sent in LOGIN7 / LOGINACK.
const TDS_7_2: u32 = 0x7209_0002;
const TDS_7_3A: u32 = 0x730A_0003;
const TDS_7_3B: u32 = 0x730B_0003;
const TDS_7_4: u32 = 0x7400_0004;

fn parse_prelogin(p: &[u8]) -> std::collections::HashMap<u8, Vec<u8>> {
    let mut opts = std::collections::HashMap::new();
    let mut pos = 0;
    while pos + 5 <= p.len() && p[pos] != PL_TERMINATOR {
        let off = u16::from_be_bytes([p[pos + 1], p[pos + 2]]) as usize;
        let len = u16::from_be_bytes([p[pos + 3], p[pos + 4]]) as usize;
        if let Some(data) = p.get(off..off + len) {
            opts.insert(p[pos], data.to_vec());
        }
        pos += 5;
    }
    opts
}

fn u16_le(p: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*p.get(at)?, *p.get(at + 1)?]))
}

fn u32_le(p: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(p.get(at..at + 4)?.try_into().ok()?))
}

fn utf16le(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// LOGIN7 [2.2.6.4]: a 36-byte fixed part, then (offset, length-in-chars)
/// pairs pointing at UTF-16LE strings later in the record.
fn parse_login7(p: &[u8]) -> LoginInfo {
    let field = |at: usize| -> Vec<u8> {
        let (Some(off), Some(chars)) = (u16_le(p, at), u16_le(p, at + 2)) else {
            return Vec::new();
        };
        let (off, len) = (off as usize, chars as usize * 2);
        p.get(off..off + len)
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    };
    // The password is obfuscated by swapping the nibbles of every byte and
    // XORing with 0xA5; undo it in the reverse order.
    let password: Vec<u8> = field(44)
        .into_iter()
        .map(|b| (b ^ 0xA5).rotate_left(4))
        .collect();
    LoginInfo {
        tds_version: u32_le(p, 4).unwrap_or(0),
        packet_size: u32_le(p, 8).unwrap_or(0),
        host_name: utf16le(&field(36)),
        user: utf16le(&field(40)),
        password: utf16le(&password),
        app_name: utf16le(&field(48)),
        server_name: utf16le(&field(52)),
        database: utf16le(&field(68)),
    }
}

/// Skips the ALL_HEADERS block [2.2.5.3] that starts SQL BATCH and RPC
/// payloads from TDS 7.2 on; its first DWORD is its own total length.
fn skip_all_headers(p: &[u8]) -> &[u8] {
    match u32_le(p, 0) {
        Some(total) if total >= 4 && (total as usize) <= p.len() => &p[total as usize..],
        _ => p,
    }
}

fn decode_batch(p: &[u8]) -> String {
    utf16le(skip_all_headers(p))
}

/// RPC [2.2.6.6]: ProcName (US_VARCHAR, or 0xFFFF + a well-known ProcID such
/// as 10 = sp_executesql), option flags, then parameters. The first parameter
/// of `sp_executesql` is the statement as NVARCHAR (PLP when it is long).
/// Returns that text, or `EXEC <proc>` when it cannot be found.
fn decode_rpc(p: &[u8]) -> String {
    let p = skip_all_headers(p);
    let mut pos = 0;
    let Some(name_len) = u16_le(p, pos) else {
        return "EXEC ?".to_string();
    };
    pos += 2;
    let proc_name = if name_len == 0xFFFF {
        let id = u16_le(p, pos).unwrap_or(0);
        pos += 2;
        match id {
            10 => "sp_executesql".to_string(),
            13 => "sp_prepexec".to_string(),
            other => format!("proc#{other}"),
        }
    } else {
        let end = pos + name_len as usize * 2;
        let name = p.get(pos..end).map(utf16le).unwrap_or_default();
        pos = end;
        name
    };
    pos += 2; // option flags
    first_string_param(p, pos).unwrap_or_else(|| format!("EXEC {proc_name}"))
}

fn first_string_param(p: &[u8], mut pos: usize) -> Option<String> {
    let name_chars = *p.get(pos)? as usize;
    pos += 1 + name_chars * 2 + 1; // name, status flags
    let ty = *p.get(pos)?;
    pos += 1;
    if ty != TY_NVARCHAR && ty != TY_NCHAR {
        return None;
    }
    let max_len = u16_le(p, pos)?;
    pos += 2 + 5; // max length, collation
    if max_len != 0xFFFF {
        let len = u16_le(p, pos)?;
        pos += 2;
        if len == 0xFFFF {
            return None; // NULL
        }
        return p.get(pos..pos + len as usize).map(utf16le);
    }
    // PLP: total length (or "unknown"), then chunks until a zero-length one.
    let total = u64::from_le_bytes(p.get(pos..pos + 8)?.try_into().ok()?);
    pos += 8;
    if total == u64::MAX {
        return None;
    }
    let mut bytes = Vec::new();
    loop {
        let chunk = u32_le(p, pos)? as usize;
        pos += 4;
        if chunk == 0 {
            break;
        }
        bytes.extend_from_slice(p.get(pos..pos + chunk)?);
        pos += chunk;
    }
    Some(utf16le(&bytes))
}

// ---------------------------------------------------------------------------
// Token encoding
// ---------------------------------------------------------------------------

const TOKEN_COLMETADATA: u8 = 0x81;
const TOKEN_ROW: u8 = 0xD1;
const TOKEN_RETURNSTATUS: u8 = 0x79;
const TOKEN_ERROR: u8 = 0xAA;
const TOKEN_INFO: u8 = 0xAB;
const TOKEN_LOGINACK: u8 = 0xAD;
const TOKEN_ENVCHANGE: u8 = 0xE3;
const TOKEN_DONE: u8 = 0xFD;
const TOKEN_DONEPROC: u8 = 0xFE;
const TOKEN_DONEINPROC: u8 = 0xFF;

// DONE status bits [2.2.7.6].
const DONE_MORE: u16 = 0x0001;
const DONE_ERROR: u16 = 0x0002;
const DONE_COUNT: u16 = 0x0010;
const DONE_ATTN: u16 = 0x0020;
/// DONE CurCmd for a SELECT.
const CMD_SELECT: u16 = 0xC1;

// ENVCHANGE types [2.2.7.9].
const ENV_DATABASE: u8 = 1;
const ENV_LANGUAGE: u8 = 2;
const ENV_PACKET_SIZE: u8 = 4;
const ENV_COLLATION: u8 = 7;

// TYPE_INFO type bytes [2.2.5.4].
const TY_INTN: u8 = 0x26;
const TY_BITN: u8 = 0x68;
const TY_FLTN: u8 = 0x6D;
const TY_DATETIMEN: u8 = 0x6F;
const TY_BIGVARCHAR: u8 = 0xA7;
const TY_NVARCHAR: u8 = 0xE7;
const TY_NCHAR: u8 = 0xEF;

/// SQL_Latin1_General_CP1_CI_AS: LCID 0x0409 with the ignore-case/kana/width
/// flags, sort id 52. tiberius maps sort id 52 to Windows-1252 for varchar.
const COLLATION: [u8; 5] = [0x09, 0x04, 0xD0, 0x00, 0x34];
/// SQL Server's name in ERROR/INFO tokens.
const SERVER_NAME: &str = "TDSTEST";

fn put_us_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(u16::MAX as usize).collect();
    out.extend_from_slice(&(units.len() as u16).to_le_bytes());
    units
        .iter()
        .for_each(|u| out.extend_from_slice(&u.to_le_bytes()));
}

fn put_b_varchar(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().take(u8::MAX as usize).collect();
    out.push(units.len() as u8);
    units
        .iter()
        .for_each(|u| out.extend_from_slice(&u.to_le_bytes()));
}

/// Writes `token` followed by a u16 length placeholder; `end_len` patches it.
fn begin_len(out: &mut Vec<u8>, token: u8) -> usize {
    out.push(token);
    out.extend_from_slice(&[0, 0]);
    out.len()
}

fn end_len(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u16;
    out[start - 2..start].copy_from_slice(&len.to_le_bytes());
}

/// ERROR / INFO [2.2.7.10, 2.2.7.13]: number, state, class, message, server
/// name, procedure name, line number (4 bytes from TDS 7.2 on).
fn put_message_token(out: &mut Vec<u8>, token: u8, number: u32, class: u8, message: &str) {
    let start = begin_len(out, token);
    out.extend_from_slice(&number.to_le_bytes());
    out.push(1); // state
    out.push(class);
    put_us_varchar(out, message);
    put_b_varchar(out, SERVER_NAME);
    put_b_varchar(out, ""); // procedure
    out.extend_from_slice(&1u32.to_le_bytes()); // line
    end_len(out, start);
}

/// DONE / DONEPROC / DONEINPROC [2.2.7.6-8]: status, current command, and an
/// 8-byte row count (TDS 7.2+), valid when DONE_COUNT is set.
fn put_done(out: &mut Vec<u8>, token: u8, status: u16, cur_cmd: u16, rows: u64) {
    out.push(token);
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&cur_cmd.to_le_bytes());
    out.extend_from_slice(&rows.to_le_bytes());
}

/// The end of a reply: a DONE for a batch; RETURNSTATUS + DONEPROC for an RPC.
fn finish(out: &mut Vec<u8>, rpc: bool, status: u16, rows: u64) {
    if rpc {
        out.push(TOKEN_RETURNSTATUS);
        out.extend_from_slice(&0i32.to_le_bytes());
        put_done(out, TOKEN_DONEPROC, status, 0, rows);
    } else {
        put_done(out, TOKEN_DONE, status, 0, rows);
    }
}

fn put_env_string(out: &mut Vec<u8>, ty: u8, new: &str, old: &str) {
    let start = begin_len(out, TOKEN_ENVCHANGE);
    out.push(ty);
    put_b_varchar(out, new);
    put_b_varchar(out, old);
    end_len(out, start);
}

fn put_env_collation(out: &mut Vec<u8>) {
    let start = begin_len(out, TOKEN_ENVCHANGE);
    out.push(ENV_COLLATION);
    out.push(COLLATION.len() as u8);
    out.extend_from_slice(&COLLATION);
    out.push(0); // old value: empty
    end_len(out, start);
}

/// LOGINACK [2.2.7.14]: interface (1 = T-SQL), TDS version (big-endian, unlike
/// everything else), program name, program version 15.0.2000.
fn put_login_ack(out: &mut Vec<u8>, tds_version: u32) {
    let start = begin_len(out, TOKEN_LOGINACK);
    out.push(1);
    out.extend_from_slice(&tds_version.to_be_bytes());
    put_b_varchar(out, "Microsoft SQL Server");
    out.extend_from_slice(&[15, 0, 0x07, 0xD0]);
    end_len(out, start);
}

/// How a column is laid out on the wire for one particular result set.
#[derive(Clone, Copy)]
enum Wire {
    IntN(u8),
    BitN,
    FltN,
    NVarChar { max: bool },
    NChar(u16),
    VarChar { max: bool },
    DateTimeN,
}

fn encode_result_sets(sets: &[ResultSet], rpc: bool) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    if sets.is_empty() {
        finish(&mut out, rpc, 0, 0);
        return Ok(out);
    }
    for (i, set) in sets.iter().enumerate() {
        let wires = plan_columns(set).map_err(|e| format!("result set {i}: {e}"))?;
        put_colmetadata(&mut out, &set.columns, &wires);
        for (r, row) in set.rows.iter().enumerate() {
            if row.len() != set.columns.len() {
                return Err(format!(
                    "result set {i} row {r}: {} values for {} columns",
                    row.len(),
                    set.columns.len()
                ));
            }
            out.push(TOKEN_ROW);
            for (c, value) in row.iter().enumerate() {
                put_value(&mut out, wires[c], value).map_err(|e| {
                    format!(
                        "result set {i} row {r} column '{}' ({:?}): {e}",
                        set.columns[c].name, set.columns[c].value_type
                    )
                })?;
            }
        }
        // Every result set ends with its own done token carrying the row
        // count; DONE_MORE says another result set (or the final done)
        // follows. In an RPC these are DONEINPROC and the procedure's end is
        // RETURNSTATUS + DONEPROC.
        let last = i + 1 == sets.len();
        let rows = set.rows.len() as u64;
        if rpc {
            put_done(
                &mut out,
                TOKEN_DONEINPROC,
                DONE_COUNT | DONE_MORE,
                CMD_SELECT,
                rows,
            );
        } else {
            let more = if last { 0 } else { DONE_MORE };
            put_done(&mut out, TOKEN_DONE, DONE_COUNT | more, CMD_SELECT, rows);
        }
    }
    if rpc {
        finish(&mut out, true, 0, 0);
    }
    Ok(out)
}

/// Several statements in one batch reply (SQL BATCH only: each statement ends with a
/// DONE, `DONE_MORE` on all but the last; a failed one carries `DONE_ERROR`).
fn encode_statements(statements: &[Statement], rpc: bool) -> Result<Vec<u8>, String> {
    if rpc {
        return Err("Reply::Statements is for SQL batches, not RPC".to_string());
    }
    let mut out = Vec::new();
    if statements.is_empty() {
        finish(&mut out, false, 0, 0);
        return Ok(out);
    }
    for (i, statement) in statements.iter().enumerate() {
        let more = if i + 1 == statements.len() {
            0
        } else {
            DONE_MORE
        };
        match statement {
            Statement::Rows(set) => {
                put_result_set(&mut out, i, set)?;
                put_done(
                    &mut out,
                    TOKEN_DONE,
                    DONE_COUNT | more,
                    CMD_SELECT,
                    set.rows.len() as u64,
                );
            }
            Statement::Error {
                number,
                class,
                message,
            } => {
                put_message_token(&mut out, TOKEN_ERROR, *number, *class, message);
                put_done(&mut out, TOKEN_DONE, DONE_ERROR | more, CMD_SELECT, 0);
            }
            Statement::RowsThenError {
                set,
                number,
                class,
                message,
            } => {
                put_result_set(&mut out, i, set)?;
                put_message_token(&mut out, TOKEN_ERROR, *number, *class, message);
                put_done(&mut out, TOKEN_DONE, DONE_ERROR | more, CMD_SELECT, 0);
            }
        }
    }
    Ok(out)
}

/// COLMETADATA and the ROW tokens of one result set, without its DONE.
fn put_result_set(out: &mut Vec<u8>, i: usize, set: &ResultSet) -> Result<(), String> {
    let wires = plan_columns(set).map_err(|e| format!("result set {i}: {e}"))?;
    put_colmetadata(out, &set.columns, &wires);
    for (r, row) in set.rows.iter().enumerate() {
        if row.len() != set.columns.len() {
            return Err(format!(
                "result set {i} row {r}: {} values for {} columns",
                row.len(),
                set.columns.len()
            ));
        }
        out.push(TOKEN_ROW);
        for (c, value) in row.iter().enumerate() {
            put_value(out, wires[c], value).map_err(|e| {
                format!(
                    "result set {i} row {r} column '{}' ({:?}): {e}",
                    set.columns[c].name, set.columns[c].value_type
                )
            })?;
        }
    }
    Ok(())
}

fn plan_columns(set: &ResultSet) -> Result<Vec<Wire>, String> {
    set.columns
        .iter()
        .enumerate()
        .map(|(c, column)| {
            let values = set.rows.iter().filter_map(|r| r.get(c));
            Ok(match column.value_type {
                ColType::TinyInt => Wire::IntN(1),
                ColType::SmallInt => Wire::IntN(2),
                ColType::Int => Wire::IntN(4),
                ColType::BigInt => Wire::IntN(8),
                ColType::Bit => Wire::BitN,
                ColType::Float => Wire::FltN,
                ColType::DateTime => Wire::DateTimeN,
                ColType::NChar(n) if (1..=4000).contains(&n) => Wire::NChar(n),
                ColType::NChar(n) => {
                    return Err(format!(
                        "column '{}': nchar({n}) must be 1..=4000",
                        column.name
                    ));
                }
                ColType::NVarChar => Wire::NVarChar {
                    max: values
                        .filter_map(string_of)
                        .any(|s| s.encode_utf16().count() > 4000),
                },
                ColType::VarChar => Wire::VarChar {
                    max: values
                        .filter_map(string_of)
                        .any(|s| to_cp1252(s).len() > 8000),
                },
            })
        })
        .collect()
}

fn string_of(v: &Value) -> Option<&str> {
    match v {
        Value::NVarChar(Some(s)) | Value::NChar(Some(s), _) | Value::VarChar(Some(s)) => Some(s),
        _ => None,
    }
}

/// COLMETADATA [2.2.7.4]: column count, then per column UserType (4 bytes),
/// Flags (0x0001 = nullable), TYPE_INFO, and the name as B_VARCHAR.
fn put_colmetadata(out: &mut Vec<u8>, columns: &[Column], wires: &[Wire]) {
    out.push(TOKEN_COLMETADATA);
    out.extend_from_slice(&(columns.len() as u16).to_le_bytes());
    for (column, wire) in columns.iter().zip(wires) {
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0x0001u16.to_le_bytes());
        match *wire {
            Wire::IntN(len) => out.extend_from_slice(&[TY_INTN, len]),
            Wire::BitN => out.extend_from_slice(&[TY_BITN, 1]),
            Wire::FltN => out.extend_from_slice(&[TY_FLTN, 8]),
            Wire::DateTimeN => out.extend_from_slice(&[TY_DATETIMEN, 8]),
            // Character types: max length in *bytes* (0xFFFF = MAX), then the
            // 5-byte collation.
            Wire::NVarChar { max } => {
                out.push(TY_NVARCHAR);
                out.extend_from_slice(&(if max { 0xFFFF } else { 8000u16 }).to_le_bytes());
                out.extend_from_slice(&COLLATION);
            }
            Wire::NChar(n) => {
                out.push(TY_NCHAR);
                out.extend_from_slice(&(n * 2).to_le_bytes());
                out.extend_from_slice(&COLLATION);
            }
            Wire::VarChar { max } => {
                out.push(TY_BIGVARCHAR);
                out.extend_from_slice(&(if max { 0xFFFF } else { 8000u16 }).to_le_bytes());
                out.extend_from_slice(&COLLATION);
            }
        }
        put_b_varchar(out, &column.name);
    }
}

fn int_of(v: &Value) -> Option<i64> {
    match *v {
        Value::Int(Some(x)) => Some(x.into()),
        Value::SmallInt(Some(x)) => Some(x.into()),
        Value::BigInt(Some(x)) => Some(x),
        Value::TinyInt(Some(x)) => Some(x.into()),
        _ => None,
    }
}

/// One ROW cell. Nullable fixed-size types are length-prefixed by a byte (0 =
/// NULL); non-MAX character types by a u16 byte count (0xFFFF = NULL); MAX
/// types use PLP (see [`put_plp`]).
fn put_value(out: &mut Vec<u8>, wire: Wire, value: &Value) -> Result<(), String> {
    if value.is_null() {
        match wire {
            Wire::IntN(_) | Wire::BitN | Wire::FltN | Wire::DateTimeN => out.push(0),
            Wire::NVarChar { max: true } | Wire::VarChar { max: true } => {
                out.extend_from_slice(&u64::MAX.to_le_bytes())
            }
            Wire::NVarChar { .. } | Wire::NChar(_) | Wire::VarChar { .. } => {
                out.extend_from_slice(&0xFFFFu16.to_le_bytes())
            }
        }
        return Ok(());
    }
    let mismatch = || Err(format!("value {value:?} does not fit this column"));
    match wire {
        Wire::IntN(len) => {
            let Some(x) = int_of(value) else {
                return mismatch();
            };
            out.push(len);
            match len {
                1 => out.push(u8::try_from(x).map_err(|_| format!("{x} out of tinyint range"))?),
                2 => out.extend_from_slice(
                    &i16::try_from(x)
                        .map_err(|_| format!("{x} out of smallint range"))?
                        .to_le_bytes(),
                ),
                4 => out.extend_from_slice(
                    &i32::try_from(x)
                        .map_err(|_| format!("{x} out of int range"))?
                        .to_le_bytes(),
                ),
                _ => out.extend_from_slice(&x.to_le_bytes()),
            }
        }
        Wire::BitN => {
            let Value::Bit(Some(b)) = value else {
                return mismatch();
            };
            out.extend_from_slice(&[1, *b as u8]);
        }
        Wire::FltN => {
            let Value::Float(Some(f)) = value else {
                return mismatch();
            };
            out.push(8);
            out.extend_from_slice(&f.to_le_bytes());
        }
        Wire::DateTimeN => {
            let Value::DateTime(Some(dt)) = value else {
                return mismatch();
            };
            let (days, ticks) = datetime_parts(*dt)?;
            out.push(8);
            out.extend_from_slice(&days.to_le_bytes());
            out.extend_from_slice(&ticks.to_le_bytes());
        }
        Wire::NVarChar { max } => {
            let Some(s) = string_of(value) else {
                return mismatch();
            };
            let bytes = utf16_bytes(s.encode_utf16());
            if max {
                put_plp(out, &bytes);
            } else {
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
        }
        Wire::NChar(n) => {
            let Some(s) = string_of(value) else {
                return mismatch();
            };
            let bytes = utf16_bytes(pad_utf16(s, n as usize).into_iter());
            out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            out.extend_from_slice(&bytes);
        }
        Wire::VarChar { max } => {
            let Some(s) = string_of(value) else {
                return mismatch();
            };
            let bytes = to_cp1252(s);
            if max {
                put_plp(out, &bytes);
            } else {
                out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
        }
    }
    Ok(())
}

/// PLP (partially length-prefixed) value [2.2.5.2.3]: the total length, the
/// data as one chunk (u32 length + bytes), then a zero-length terminator chunk.
fn put_plp(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    if !bytes.is_empty() {
        out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
}

fn utf16_bytes(units: impl Iterator<Item = u16>) -> Vec<u8> {
    units.flat_map(u16::to_le_bytes).collect()
}

/// `nchar(n)` holds exactly `n` UTF-16 units: pad with spaces, or cut (never
/// in the middle of a surrogate pair).
fn pad_utf16(s: &str, n: usize) -> Vec<u16> {
    let mut units: Vec<u16> = s.encode_utf16().collect();
    if units.len() > n {
        units.truncate(n);
        if units.last().is_some_and(|u| (0xD800..0xDC00).contains(u)) {
            units.pop();
        }
    }
    units.resize(n, u16::from(b' '));
    units
}

/// `datetime` [2.2.5.5.1.8]: days since 1900-01-01 (i32) and 1/300 s ticks
/// since midnight (u32), rounded to the nearest tick like SQL Server does.
fn datetime_parts(dt: NaiveDateTime) -> Result<(i32, u32), String> {
    const TICKS_PER_DAY: u64 = 300 * 86_400;
    let base = NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date");
    let mut days = (dt.date() - base).num_days();
    let time = dt.time();
    // A leap second shows up as nanosecond >= 1e9; fold it into the second.
    let nanos = u64::from(time.num_seconds_from_midnight()) * 1_000_000_000
        + u64::from(time.nanosecond().min(999_999_999));
    let mut ticks = (nanos * 300 + 500_000_000) / 1_000_000_000;
    if ticks >= TICKS_PER_DAY {
        ticks -= TICKS_PER_DAY;
        days += 1;
    }
    // datetime covers 1753-01-01 ..= 9999-12-31.
    if !(-53_690..=2_958_463).contains(&days) {
        return Err(format!("{dt} is outside the datetime range 1753..9999"));
    }
    Ok((days as i32, ticks as u32))
}

/// Windows-1252 bytes 0x80..=0x9F (0 = unassigned); everything else in
/// 0x00..=0xFF is the same code point as Latin-1.
const CP1252_HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// Encodes for the varchar collation; unmappable characters become `?`.
fn to_cp1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|ch| {
            let cp = ch as u32;
            if cp < 0x80 || (0xA0..=0xFF).contains(&cp) {
                return cp as u8;
            }
            if let Some(i) = CP1252_HIGH
                .iter()
                .position(|&u| u != 0 && u32::from(u) == cp)
            {
                return 0x80 + i as u8;
            }
            // The five unassigned bytes decode to the same C1 code points.
            if matches!(cp, 0x81 | 0x8D | 0x8F | 0x90 | 0x9D) {
                return cp as u8;
            }
            b'?'
        })
        .collect()
}

// ---------------------------------------------------------------------------
// SQL Server Browser (MS-SQLR) responder
// ---------------------------------------------------------------------------

/// Keeps the browser responder running; dropping it stops it.
pub struct BrowserGuard {
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl BrowserGuard {
    /// How many requests it has answered.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for BrowserGuard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// MS-SQLR request codes [2.2].
const SSRP_CLNT_BCAST_EX: u8 = 0x02;
const SSRP_CLNT_UCAST_EX: u8 = 0x03;
const SSRP_CLNT_UCAST_INST: u8 = 0x04;
const SSRP_CLNT_UCAST_DAC: u8 = 0x0F;
const SSRP_SVR_RESP: u8 = 0x05;

/// A UDP SQL Server Browser on `127.0.0.1:<ephemeral>` that knows one instance
/// called `instance` (matched case-insensitively):
///
/// * DAC request `0x0F 0x01 <instance> 0x00` is answered `0x05, 0x06 0x00,
///   0x01, <dac_port u16 LE>`;
/// * instance request `0x04 <instance>` (what tiberius' `connect_named`
///   sends) and the enumeration requests 0x02/0x03 are answered `0x05, <u16 LE
///   size>, "ServerName;LOCALHOST;InstanceName;<instance>;IsClustered;No;
///   Version;15.0.2000.5;tcp;<tcp_port>;;"`.
///
/// Requests for other instances get no answer, exactly like the real browser,
/// so clients time out. tiberius sends its browser request to the port of the
/// configured address (`Config::port`, default 1434), so pointing the client's
/// port at the returned address redirects it here.
pub fn start_browser_responder(
    instance: &str,
    dac_port: u16,
    tcp_port: u16,
) -> (SocketAddr, BrowserGuard) {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("tds_server: bind udp");
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("tds_server: udp timeout");
    let addr = socket.local_addr().expect("tds_server: udp addr");
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let instance = instance.to_string();
    let info = format!(
        "ServerName;LOCALHOST;InstanceName;{instance};IsClustered;No;Version;15.0.2000.5;tcp;{tcp_port};;"
    );
    let (stop2, requests2) = (stop.clone(), requests.clone());
    let thread = std::thread::Builder::new()
        .name("tds-browser".to_string())
        .spawn(move || {
            let mut buf = [0u8; 1024];
            while !stop2.load(Ordering::SeqCst) {
                let (n, peer) = match socket.recv_from(&mut buf) {
                    Ok(x) => x,
                    Err(_) => continue, // timeout: re-check the stop flag
                };
                let req = &buf[..n];
                let name_matches = |name: &[u8]| {
                    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                    String::from_utf8_lossy(&name[..end]).eq_ignore_ascii_case(&instance)
                };
                let ssrp_text = |text: &str| {
                    let mut r = vec![SSRP_SVR_RESP];
                    r.extend_from_slice(&(text.len() as u16).to_le_bytes());
                    r.extend_from_slice(text.as_bytes());
                    r
                };
                let reply = match req.first() {
                    Some(&SSRP_CLNT_UCAST_DAC) if n >= 2 && name_matches(&req[2..]) => {
                        // SVR_RESP, RESP_SIZE = 6 (the whole reply), protocol
                        // version 1, then the DAC port.
                        let mut r = vec![SSRP_SVR_RESP];
                        r.extend_from_slice(&6u16.to_le_bytes());
                        r.push(0x01);
                        r.extend_from_slice(&dac_port.to_le_bytes());
                        r
                    }
                    Some(&SSRP_CLNT_UCAST_INST) if name_matches(&req[1..]) => ssrp_text(&info),
                    Some(&(SSRP_CLNT_BCAST_EX | SSRP_CLNT_UCAST_EX)) => ssrp_text(&info),
                    _ => continue,
                };
                requests2.fetch_add(1, Ordering::SeqCst);
                let _ = socket.send_to(&reply, peer);
            }
        })
        .expect("tds_server: spawn browser thread");
    (
        addr,
        BrowserGuard {
            stop,
            requests,
            thread: Some(thread),
        },
    )
}
