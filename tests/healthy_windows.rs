//! Healthy servers over many generated windows: no verdict may rise to a warning.
//!
//! One window is a single roll of the dice: a pool whose connections flip between busy and
//! idle can look like "idle connections grew by 30" in one pair of samples and not in the
//! next. So these tests draw hundreds of windows from a small deterministic generator
//! (a seeded PRNG written here, no dependency) and require exit 0 in every one of them:
//! - pooled connections flipping busy/idle with short queries and one long report, on each
//!   engine, with and without server-side timeouts, with and without connect times;
//! - the bundled healthy PostgreSQL capture and the stabilized SQL Server capture of
//!   incident 000, their (stable) connection sets re-dealt between busy and idle.
//!
//! A control runs the same generator with a real leak mixed in, so the test can tell a
//! silenced rule from a quiet server.

use chrono::{DateTime, Duration, TimeZone, Utc};
use spiral::capture::CaptureReader;
use spiral::model::session::{Session, SessionState, WaitClass};
use spiral::model::snapshot::{ConnectionLimits, Engine, Guardrails, Snapshot, Workers, counter};
use spiral::model::thresholds::Thresholds;
use spiral::model::verdict::Severity;
use spiral::model::window::Window;
use spiral::rules::{Assessment, evaluate};

/// SplitMix64: tiny, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    /// True with probability p.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).single().unwrap()
}

const WINDOWS: u64 = 120;

/// One pooled connection as the generator sees it across samples.
struct Conn {
    id: i64,
    user: String,
    /// MySQL reports no application name.
    app: Option<String>,
    host: String,
    connected_at: Option<DateTime<Utc>>,
    /// A cold connection sits at the bottom of a LIFO pool: idle for minutes on end.
    cold_since_ms: Option<u64>,
}

const SHORT_QUERIES: &[&str] = &[
    "SELECT id, total FROM orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT 20",
    "UPDATE carts SET updated_at = now() WHERE id = $1",
    "INSERT INTO events (kind, payload) VALUES ($1, $2)",
    "SELECT name, price FROM products WHERE id = ANY($1)",
];

/// The session a connection shows in one sample: busy with a short query, or idle for a
/// moment since its last one (cold ones idle since long before the window).
fn deal(rng: &mut Rng, c: &Conn, busy_share: f64, elapsed_in_window_ms: u64) -> Session {
    let busy = c.cold_since_ms.is_none() && rng.chance(busy_share);
    let mut s = Session::new(
        c.id,
        if busy {
            SessionState::Active
        } else {
            SessionState::Idle
        },
    );
    s.user = Some(c.user.clone());
    s.application = c.app.clone();
    s.client_host = Some(c.host.clone());
    s.database = Some("shop".into());
    s.connected_at = c.connected_at;
    if busy {
        s.elapsed_ms = Some(rng.range(1, 400));
        s.query = Some(SHORT_QUERIES[rng.range(0, 3) as usize].into());
        if rng.chance(0.1) {
            s.wait_class = Some(WaitClass::Io);
        }
    } else {
        s.wait_class = Some(WaitClass::Client);
        s.idle_ms = Some(match c.cold_since_ms {
            Some(since) => since + elapsed_in_window_ms,
            None => rng.range(0, 4_000),
        });
    }
    s
}

/// A healthy pooled server on `engine`: hosts with fixed pools flipping busy/idle, short
/// queries, one long report query, a trickle of logins.
fn pooled_window(rng: &mut Rng, engine: Engine, leak: bool) -> Window {
    let hosts = rng.range(3, 12);
    let pool = rng.range(5, 25);
    let total = hosts * pool;
    // A server sized for its pools: they fill at most 60% of the usable slots.
    let max = (total * 100 / rng.range(20, 60)).max(100) + 3;
    let busy_share = rng.range(5, 60) as f64 / 100.0;
    let cold_share = rng.range(0, 40) as f64 / 100.0;
    let with_connect_times = engine != Engine::Mysql || rng.chance(0.5);
    let samples = rng.range(2, 6);
    let interval = rng.range(1, 10) as i64;
    let mut conns: Vec<Conn> = Vec::new();
    for h in 0..hosts {
        for p in 0..pool {
            let id = 1_000 + (h * 100 + p) as i64;
            conns.push(Conn {
                id,
                user: "shop".into(),
                app: (engine != Engine::Mysql).then(|| {
                    if h % 2 == 0 {
                        "shop-api"
                    } else {
                        "shop-worker"
                    }
                    .to_string()
                }),
                host: format!("10.8.1.{}", 10 + h),
                connected_at: with_connect_times
                    .then(|| t0() - Duration::seconds(rng.range(600, 86_400) as i64)),
                cold_since_ms: rng.chance(cold_share).then(|| rng.range(30_000, 1_800_000)),
            });
        }
    }
    let report_started = rng.range(20, 1_200) * 1000;
    let guardrails = match (engine, rng.chance(0.5)) {
        (Engine::Postgres, true) => Guardrails {
            statement_timeout_ms: Some(0),
            lock_timeout_ms: Some(0),
            idle_in_transaction_timeout_ms: Some(0),
            idle_session_timeout_ms: Some(0),
            optimize_for_ad_hoc: None,
        },
        (Engine::Postgres, false) => Guardrails {
            statement_timeout_ms: Some(30_000),
            lock_timeout_ms: Some(10_000),
            idle_in_transaction_timeout_ms: Some(60_000),
            idle_session_timeout_ms: Some(0),
            optimize_for_ad_hoc: None,
        },
        // MySQL's defaults: no statement limit, 50 s lock waits, 8 h wait_timeout.
        (Engine::Mysql, _) => Guardrails {
            statement_timeout_ms: Some(0),
            lock_timeout_ms: Some(50_000),
            idle_in_transaction_timeout_ms: Some(0),
            idle_session_timeout_ms: Some(28_800_000),
            optimize_for_ad_hoc: None,
        },
        (Engine::Mssql, _) => Guardrails::default(),
    };
    let logins_per_sec = rng.range(0, 20);
    let mut snaps = Vec::new();
    for k in 0..samples {
        let elapsed = (k as i64 * interval * 1000) as u64;
        let mut s = Snapshot::empty(engine, t0() + Duration::milliseconds(elapsed as i64));
        s.own_session_id = Some(1);
        s.guardrails = guardrails.clone();
        s.connections = match engine {
            Engine::Mssql => ConnectionLimits::default(),
            _ => ConnectionLimits {
                max_connections: Some(max),
                reserved: if engine == Engine::Postgres { 3 } else { 0 },
                current: None,
            },
        };
        if engine == Engine::Mssql {
            s.workers = Some(Workers {
                max_workers: 2_400,
                active_workers: 40,
                current_workers: 300,
                cpu_count: Some(32),
                ..Workers::default()
            });
        }
        s.counters.insert(
            counter::LOGINS.into(),
            50_000 + logins_per_sec * elapsed / 1000,
        );
        s.counters.insert(counter::DEADLOCKS.into(), 7);
        for c in &conns {
            s.sessions.push(deal(rng, c, busy_share, elapsed));
        }
        let mut report = Session::new(9_000, SessionState::Active);
        report.user = Some("analyst".into());
        report.application = Some("metabase".into());
        report.client_host = Some("10.9.0.2".into());
        report.elapsed_ms = Some(report_started + elapsed);
        report.query =
            Some("SELECT date_trunc('day', created_at), sum(total) FROM orders GROUP BY 1".into());
        s.sessions.push(report);
        if leak {
            // A job that opens a connection per item and never closes it: connections idle
            // for 10-30 minutes holding over half the usable slots (120 where there is no
            // known limit), two more every sample.
            let base = match engine {
                Engine::Mssql => 120,
                _ => (max as i64 * 52 / 100).max(40),
            };
            let n = base + 2 * k as i64;
            for i in 0..n {
                let mut x = Session::new(50_000 + i, SessionState::Idle);
                x.user = Some("etl".into());
                x.application = Some("etl-job".into());
                x.client_host = Some("10.7.0.1".into());
                let age = 1_800 - (i % 40) * 30;
                x.connected_at = Some(t0() - Duration::seconds(age));
                x.idle_ms = Some((age * 1000) as u64 + elapsed);
                s.sessions.push(x);
            }
        }
        snaps.push(s);
    }
    Window::from_snapshots(snaps).unwrap()
}

/// Windows drawn from a bundled capture: one of its snapshots as the template, its client
/// sessions (a stable set: same ids, same connect times) re-dealt between busy and idle in
/// every sample, its counters advanced at the capture's own rates.
fn capture_window(rng: &mut Rng, templates: &[Snapshot]) -> Window {
    let template = &templates[rng.range(0, templates.len() as u64 - 1) as usize];
    let samples = rng.range(2, 6);
    let interval = rng.range(1, 10) as i64;
    let flip = rng.range(30, 100) as f64 / 100.0;
    let busy_share = {
        let clients: Vec<&Session> = template.client_sessions().collect();
        let busy = clients
            .iter()
            .filter(|s| s.state == SessionState::Active)
            .count();
        busy as f64 / clients.len().max(1) as f64
    };
    let busy_queries: Vec<String> = template
        .client_sessions()
        .filter(|s| s.state == SessionState::Active)
        .filter_map(|s| s.query.clone())
        .collect();
    let span = (templates.last().unwrap().taken_at - templates[0].taken_at)
        .num_milliseconds()
        .max(1) as f64
        / 1000.0;
    let mut snaps = Vec::new();
    for k in 0..samples {
        let elapsed = k as i64 * interval * 1000;
        let mut s = template.clone();
        s.taken_at = template.taken_at + Duration::milliseconds(elapsed);
        for (name, value) in s.counters.iter_mut() {
            let first = templates[0].counter(name).unwrap_or(*value);
            let last = templates.last().unwrap().counter(name).unwrap_or(*value);
            let per_sec = last.saturating_sub(first) as f64 / span;
            *value += (per_sec * elapsed as f64 / 1000.0) as u64;
        }
        {
            // Load comes in bursts: from one sample to the next, anywhere from half to
            // two and a half times the template's busy share.
            let busy_now = (busy_share * rng.range(50, 250) as f64 / 100.0).min(0.9);
            let own = s.own_session_id;
            for x in s.sessions.iter_mut() {
                // Only plain pooled clients flip: blocked or in-transaction ones keep their
                // state, as do server internals and spiral itself.
                if !x.kind.is_client()
                    || Some(x.id) == own
                    || x.is_blocked()
                    || !matches!(x.state, SessionState::Active | SessionState::Idle)
                    || !rng.chance(flip)
                {
                    continue;
                }
                if rng.chance(busy_now) && !busy_queries.is_empty() {
                    x.state = SessionState::Active;
                    x.raw_state = None;
                    x.idle_ms = None;
                    x.elapsed_ms = Some(rng.range(1, 400));
                    x.query = Some(
                        busy_queries[rng.range(0, busy_queries.len() as u64 - 1) as usize].clone(),
                    );
                } else {
                    x.state = SessionState::Idle;
                    x.raw_state = None;
                    x.elapsed_ms = None;
                    x.wait_type = None;
                    x.wait_class = Some(WaitClass::Client);
                    x.idle_ms = Some(rng.range(0, 4_000));
                }
            }
        }
        snaps.push(s);
    }
    Window::from_snapshots(snaps).unwrap()
}

fn read_capture(path: &str) -> Vec<Snapshot> {
    let mut reader = CaptureReader::open(std::path::Path::new(path)).expect(path);
    let mut out = Vec::new();
    while let Some(s) = reader.next_snapshot().expect(path) {
        out.push(s);
    }
    assert!(!out.is_empty(), "{path} has snapshots");
    out
}

/// Windows whose worst verdict is a warning or worse, with what fired, for the message.
fn false_alarms(name: &str, mut window: impl FnMut(u64) -> Window) -> Vec<String> {
    let t = Thresholds::default();
    let mut alarms = Vec::new();
    for seed in 0..WINDOWS {
        let a: Assessment = evaluate(&window(seed), &t);
        let loud: Vec<String> = a
            .verdicts
            .iter()
            .filter(|v| v.severity >= Severity::Unknown)
            .map(|v| format!("{} {}", v.id, v.severity.label()))
            .collect();
        if spiral::report::exit_code(&a) != 0 || !loud.is_empty() {
            alarms.push(format!("{name} seed {seed}: {}", loud.join(", ")));
        }
    }
    eprintln!("{name}: {} of {WINDOWS} windows warned", alarms.len());
    alarms
}

fn assert_quiet(alarms: Vec<String>) {
    assert!(
        alarms.is_empty(),
        "{} false alarms, e.g.:\n{}",
        alarms.len(),
        alarms
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn pooled_postgres_flipping_busy_idle_stays_quiet() {
    assert_quiet(false_alarms("pooled postgres", |seed| {
        pooled_window(&mut Rng(seed), Engine::Postgres, false)
    }));
}

#[test]
fn pooled_mysql_flipping_busy_idle_stays_quiet() {
    assert_quiet(false_alarms("pooled mysql", |seed| {
        pooled_window(&mut Rng(1_000 + seed), Engine::Mysql, false)
    }));
}

#[test]
fn pooled_sqlserver_flipping_busy_idle_stays_quiet() {
    assert_quiet(false_alarms("pooled sqlserver", |seed| {
        pooled_window(&mut Rng(2_000 + seed), Engine::Mssql, false)
    }));
}

#[test]
fn healthy_busy_postgres_capture_stays_quiet_in_every_window() {
    let templates = read_capture("captures/healthy-busy-postgres.jsonl");
    assert_quiet(false_alarms("healthy-busy-postgres", |seed| {
        capture_window(&mut Rng(3_000 + seed), &templates)
    }));
}

#[test]
fn stabilized_sqlserver_capture_stays_quiet_in_every_window() {
    let templates = read_capture("captures/000-sqlserver-stabilized.jsonl");
    assert_quiet(false_alarms("000-sqlserver-stabilized", |seed| {
        capture_window(&mut Rng(4_000 + seed), &templates)
    }));
}

/// The control: the same healthy pools with a real leak beside them must warn every time,
/// and name the leaking source, not the healthy pools.
#[test]
fn a_real_leak_beside_the_healthy_pools_is_still_caught() {
    let t = Thresholds::default();
    for (i, engine) in Engine::all().into_iter().enumerate() {
        for seed in 0..WINDOWS {
            let w = pooled_window(&mut Rng(5_000 + 1_000 * i as u64 + seed), engine, true);
            let a = evaluate(&w, &t);
            let v = a
                .verdict("idle-connection-leak")
                .unwrap_or_else(|| panic!("{engine} seed {seed}: leak missed"));
            assert!(
                v.severity >= Severity::Warning,
                "{engine} seed {seed}: {:?} {}",
                v.severity,
                v.summary
            );
            assert_eq!(v.culprits.users, vec!["etl"], "{engine} seed {seed}");
        }
    }
}
