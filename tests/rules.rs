//! Every verdict: a window where it must fire, and a near miss where it must not.
//! Rules are pure functions of the window, so these tests build windows by hand.

use chrono::{DateTime, Duration, TimeZone, Utc};
use spiral::model::session::{Session, SessionKind, SessionState, WaitClass};
use spiral::model::snapshot::{
    Area, CompileGate, ConnectionLimits, DatabaseInfo, Engine, Gap, GrantHolder, GrantPool,
    Guardrails, HolderKind, Horizon, HorizonHolder, LogReuse, MemoryGrants, PlanCacheEntry, Pool,
    PoolClient, PoolServer, PoolWaiter, Pooler, PoolerStats, Snapshot, Workers, counter,
};
use spiral::model::thresholds::Thresholds;
use spiral::model::verdict::Severity;
use spiral::model::window::Window;
use spiral::rules::{Assessment, CheckState, evaluate};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 3, 0, 0).single().unwrap()
}

fn snap(engine: Engine) -> Snapshot {
    let mut s = Snapshot::empty(engine, t0());
    s.own_session_id = Some(1);
    s
}

fn client(id: i64, user: &str, host: &str, state: SessionState) -> Session {
    let mut s = Session::new(id, state);
    s.user = Some(user.into());
    s.client_host = Some(host.into());
    s.application = Some(format!("{user}-app"));
    s
}

fn idle(id: i64, user: &str, idle_secs: u64) -> Session {
    let mut s = client(id, user, "10.0.0.1", SessionState::Idle);
    s.idle_ms = Some(idle_secs * 1000);
    s
}

fn blocked(id: i64, by: i64, wait_secs: u64, sql: &str) -> Session {
    let mut s = client(id, "app", "10.0.0.2", SessionState::Active);
    s.blocked_by = vec![by];
    s.wait_class = Some(WaitClass::Lock);
    s.wait_ms = Some(wait_secs * 1000);
    s.elapsed_ms = Some(wait_secs * 1000);
    s.query = Some(sql.into());
    s
}

fn one(s: Snapshot) -> Assessment {
    evaluate(&Window::new(s), &Thresholds::default())
}

/// Two samples `secs` apart; `later` edits the second.
fn two(first: Snapshot, secs: i64, later: impl FnOnce(&mut Snapshot)) -> Assessment {
    let mut second = first.clone();
    second.taken_at = first.taken_at + Duration::seconds(secs);
    later(&mut second);
    evaluate(
        &Window::from_snapshots([first, second]).unwrap(),
        &Thresholds::default(),
    )
}

fn sev(a: &Assessment, id: &str) -> Option<Severity> {
    a.verdict(id).map(|v| v.severity)
}

// --- connection-exhaustion ------------------------------------------------------------

fn with_clients(n: i64, max: u64) -> Snapshot {
    let mut s = snap(Engine::Postgres);
    s.connections = ConnectionLimits {
        max_connections: Some(max),
        reserved: 3,
        current: None,
    };
    s.sessions = (0..n)
        .map(|i| client(100 + i, "api", "10.0.0.9", SessionState::Active))
        .collect();
    s
}

#[test]
fn connection_exhaustion_fires_near_the_usable_limit() {
    let a = one(with_clients(80, 100)); // 80 of 97 usable = 82%
    assert_eq!(sev(&a, "connection-exhaustion"), Some(Severity::Warning));
    let a = one(with_clients(95, 100)); // 98%
    assert_eq!(sev(&a, "connection-exhaustion"), Some(Severity::Critical));
    assert_eq!(
        a.verdict("connection-exhaustion").unwrap().culprits.users,
        vec!["api"]
    );
}

#[test]
fn connection_exhaustion_near_miss() {
    let a = one(with_clients(75, 100)); // 77%
    assert!(a.verdict("connection-exhaustion").is_none());
}

#[test]
fn refused_connections_make_it_critical() {
    let mut s = with_clients(70, 100);
    s.counters.insert(counter::REFUSED_CONNECTIONS.into(), 10);
    let a = two(s, 5, |l| {
        l.counters.insert(counter::REFUSED_CONNECTIONS.into(), 14);
        l.sessions
            .extend((0..10).map(|i| client(900 + i, "api", "10.0.0.9", SessionState::Active)));
    });
    assert_eq!(sev(&a, "connection-exhaustion"), Some(Severity::Critical));
}

// --- idle-connection-leak ---------------------------------------------------------------

#[test]
fn idle_leak_names_the_source() {
    // 55 of 97 usable slots held by old idle connections of one user.
    let mut s = with_clients(2, 100);
    s.sessions
        .extend((0..55).map(|i| idle(200 + i, "shipping", 1_200 + i as u64)));
    let a = one(s);
    let v = a.verdict("idle-connection-leak").expect("leak fires");
    assert!(v.severity >= Severity::Warning);
    assert_eq!(v.culprits.users, vec!["shipping"]);
    assert!(v.summary.contains("shipping"), "{}", v.summary);
    assert!(v.actions[0].contains("pg_terminate_backend") && v.actions[0].contains("'shipping'"));
}

#[test]
fn a_full_size_pool_at_rest_is_only_a_note() {
    // 30 of 97 slots idle for ten minutes from one app, not growing, far from the limit:
    // a fixed-size pool on a quiet evening.
    let mut s = with_clients(2, 100);
    s.sessions
        .extend((0..30).map(|i| idle(200 + i, "shop", 600)));
    let a = one(s);
    let v = a.verdict("idle-connection-leak").unwrap();
    assert_eq!(v.severity, Severity::Info);
    // Nothing to end yet: the kill line is offered only for when it grows.
    assert!(
        v.actions[0].starts_with("Nothing to end yet"),
        "{}",
        v.actions[0]
    );
}

#[test]
fn idle_leak_near_miss_young_or_few() {
    // Many idle connections, but recently used: a busy pool, not a leak.
    let mut s = with_clients(2, 100);
    s.sessions.extend((0..40).map(|i| idle(200 + i, "shop", 2)));
    assert!(one(s).verdict("idle-connection-leak").is_none());
    // Old, but only a handful: a reporting tool's pool.
    let mut s = with_clients(2, 100);
    s.sessions
        .extend((0..8).map(|i| idle(200 + i, "metabase", 3_600)));
    assert!(one(s).verdict("idle-connection-leak").is_none());
}

/// A connection of `user` that has been open since long before the window.
fn pooled(id: i64, user: &str, state: SessionState, idle_secs: u64) -> Session {
    let mut s = client(id, user, "10.0.0.1", state);
    s.connected_at = Some(t0() - Duration::hours(3));
    if state == SessionState::Idle {
        s.idle_ms = Some(idle_secs * 1000);
    } else {
        s.elapsed_ms = Some(50);
    }
    s
}

#[test]
fn a_pool_flipping_busy_idle_is_not_a_leak() {
    // 60 pooled connections of one app, 40 busy then 10 busy: the idle count jumps by 30,
    // but the set of connections is the same one.
    let mut s = with_clients(0, 200);
    s.sessions.extend((0..60).map(|i| {
        let st = if i < 40 {
            SessionState::Active
        } else {
            SessionState::Idle
        };
        pooled(200 + i, "shop", st, 1)
    }));
    let a = two(s, 5, |l| {
        for (i, x) in l.sessions.iter_mut().enumerate() {
            if i >= 10 {
                *x = pooled(x.id, "shop", SessionState::Idle, 2);
            }
        }
    });
    assert!(a.verdict("idle-connection-leak").is_none());
    assert!(a.worst() < Severity::Warning, "{:?}", a.verdicts);
}

#[test]
fn a_flood_of_young_connections_is_not_a_leak() {
    // After a restart 150 clients reconnect within seconds and sit idle: young, so this is
    // reconnect-storm's subject, not a leak.
    let s = with_clients(2, 300);
    let a = two(s, 5, |l| {
        l.sessions.extend((0..150).map(|i| {
            let mut x = idle(400 + i, "api", 2);
            x.connected_at = Some(t0() + Duration::seconds(3));
            x
        }))
    });
    assert!(a.verdict("idle-connection-leak").is_none());
}

#[test]
fn idle_leak_from_a_growing_set_of_old_connections() {
    // 70 connections idle for 10+ minutes (35% of the slots), 12 more arrived during the
    // window and stay idle, none left: the set keeps accumulating.
    let mut s = with_clients(2, 200);
    s.sessions
        .extend((0..70).map(|i| pooled(200 + i, "celery", SessionState::Idle, 600 + i as u64)));
    let a = two(s.clone(), 10, |l| {
        for x in l.sessions.iter_mut().filter(|x| x.idle_ms.is_some()) {
            x.idle_ms = x.idle_ms.map(|ms| ms + 10_000);
        }
        l.sessions.extend((0..12).map(|i| {
            let mut x = idle(300 + i, "celery", 5);
            x.connected_at = Some(t0() + Duration::seconds(4));
            x
        }))
    });
    let v = a.verdict("idle-connection-leak").expect("growth fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(v.summary.contains("12 more arrived"), "{}", v.summary);
    // The same arrivals while as many of the source's connections close: a pool cycling its
    // connections (max lifetime), not a leak growing; still a note for the old ones.
    let a = two(s.clone(), 10, |l| {
        for x in l.sessions.iter_mut().filter(|x| x.idle_ms.is_some()) {
            x.idle_ms = x.idle_ms.map(|ms| ms + 10_000);
        }
        l.sessions.retain(|x| x.id < 200 || x.id >= 212);
        l.sessions
            .extend((0..12).map(|i| idle(300 + i, "celery", 5)))
    });
    assert_eq!(sev(&a, "idle-connection-leak"), Some(Severity::Info));
    // Ids handed out again (the old connections closed, new ones got their ids): a new
    // connect time makes them different connections, not old idle ones.
    let a = two(s, 10, |l| {
        for x in l.sessions.iter_mut().filter(|x| x.idle_ms.is_some()) {
            x.connected_at = Some(t0() + Duration::seconds(8));
            x.idle_ms = Some(1_000);
        }
    });
    assert!(a.verdict("idle-connection-leak").is_none());
}

#[test]
fn idle_leak_kill_line_runs_against_the_users_target_on_every_engine() {
    for engine in Engine::all() {
        let mut s = with_clients(2, 100);
        s.engine = engine;
        s.sessions
            .extend((0..55).map(|i| idle(200 + i, "shipping", 1_200 + i as u64)));
        let w = Window::new(s).with_target("mysql://admin@db.internal:3306/shop");
        let a = evaluate(&w, &Thresholds::default());
        let v = a.verdict("idle-connection-leak").expect("leak fires");
        assert!(
            v.actions[0].contains(
                "spiral kill 'mysql://admin@db.internal:3306/shop' --user 'shipping' --app 'shipping-app' --state idle --idle-over 300s --execute"
            ),
            "{engine}: {}",
            v.actions[0]
        );
        assert!(!v.actions[0].contains("SPIRAL_URL"), "{}", v.actions[0]);
        assert!(!v.summary.contains("1 idle connections"), "{}", v.summary);
    }
}

// --- idle-in-transaction and blocking -----------------------------------------------------

fn lock_chain(wait_secs: u64) -> Snapshot {
    let mut s = snap(Engine::Postgres);
    let mut lead = client(10, "billing", "10.0.0.5", SessionState::IdleInTransaction);
    lead.idle_ms = Some(300_000);
    lead.open_transactions = 1;
    lead.query = Some("UPDATE accounts SET balance = balance - 1 WHERE id = 7".into());
    s.sessions.push(lead);
    s.sessions.push(blocked(
        11,
        10,
        wait_secs,
        "UPDATE accounts SET balance = 0 WHERE id = 7",
    ));
    s.sessions.push(blocked(
        12,
        11,
        wait_secs / 2,
        "UPDATE accounts SET x = 1 WHERE id = 7",
    ));
    s.sessions.push(blocked(
        13,
        10,
        wait_secs,
        "SELECT * FROM accounts WHERE id = 7 FOR UPDATE",
    ));
    s
}

#[test]
fn blocking_chain_names_the_lead() {
    let a = one(lock_chain(40));
    let v = a.verdict("blocking-chain").expect("chain fires");
    assert_eq!(v.severity, Severity::Critical);
    assert_eq!(v.culprits.sessions, vec![10]);
    assert!(v.summary.contains("session 10"), "{}", v.summary);
    assert!(v.summary.contains("2 deep"), "{}", v.summary);
    let it = a.verdict("idle-in-transaction").expect("idle in tx fires");
    assert_eq!(it.severity, Severity::Critical);
    assert_eq!(it.culprits.sessions[0], 10);
}

#[test]
fn blocking_chain_near_miss_short_waits() {
    let a = one(lock_chain(2));
    assert!(a.verdict("blocking-chain").is_none());
    // Still idle in a transaction, but blocking only briefly: a warning, not critical.
    assert_eq!(sev(&a, "idle-in-transaction"), Some(Severity::Warning));
}

#[test]
fn idle_in_transaction_near_miss() {
    let mut s = snap(Engine::Postgres);
    let mut x = client(10, "app", "h", SessionState::IdleInTransaction);
    x.idle_ms = Some(3_000); // under 10 s: between two statements of one transaction
    s.sessions.push(x);
    assert!(one(s).verdict("idle-in-transaction").is_none());
}

#[test]
fn deadlock_cycle_fires_and_near_miss() {
    let mut s = snap(Engine::Mssql);
    s.sessions = vec![
        blocked(512, 182, 59, "SELECT 1"),
        blocked(182, 3453, 59, "UPDATE r SET b = 1"),
        blocked(3453, 2035, 59, "INSERT INTO r VALUES (1)"),
        blocked(2035, 512, 59, "SELECT 2"),
    ];
    let a = one(s.clone());
    let v = a.verdict("deadlock-cycle").expect("cycle fires");
    assert_eq!(v.severity, Severity::Critical);
    assert_eq!(v.culprits.sessions, vec![182, 3453, 2035, 512]);
    // Break the ring: a chain, not a cycle.
    s.sessions[3].blocked_by = vec![];
    assert!(one(s).verdict("deadlock-cycle").is_none());
}

#[test]
fn deadlocks_rising_needs_the_counter_to_move() {
    let mut s = snap(Engine::Mysql);
    s.counters.insert(counter::DEADLOCKS.into(), 40);
    let a = two(s.clone(), 10, |l| {
        l.counters.insert(counter::DEADLOCKS.into(), 43);
    });
    assert_eq!(sev(&a, "deadlocks-rising"), Some(Severity::Warning));
    let a = two(s.clone(), 10, |_| {});
    assert!(a.verdict("deadlocks-rising").is_none());
    // A restart resets the counter: not a negative number of deadlocks, and not a verdict.
    let a = two(s, 10, |l| {
        l.counters.insert(counter::DEADLOCKS.into(), 0);
    });
    assert!(a.verdict("deadlocks-rising").is_none());
}

#[test]
fn read_blocked_by_writers_fires_and_near_miss() {
    let mut s = snap(Engine::Mssql);
    let mut w = client(182, "censor", "h", SessionState::Active);
    w.query = Some("UPDATE [dbo].[Review] SET [Body] = @p0".into());
    w.database = Some("shop".into());
    s.sessions.push(w);
    for i in 0..5 {
        let mut r = blocked(600 + i, 182, 20, "SELECT TOP (5) * FROM [dbo].[Review]");
        r.database = Some("shop".into());
        s.sessions.push(r);
    }
    s.databases = vec![DatabaseInfo {
        name: "shop".into(),
        query_store: None,
        read_committed_snapshot: Some(false),
    }];
    let a = one(s.clone());
    let v = a
        .verdict("read-blocked-by-writers")
        .expect("readers behind writer");
    assert!(
        v.actions[0].contains("READ_COMMITTED_SNAPSHOT"),
        "{}",
        v.actions[0]
    );
    // Same waits, but the blocker is a reader too (e.g. both hold shared locks): no verdict.
    s.sessions[0].query = Some("SELECT 1".into());
    assert!(one(s).verdict("read-blocked-by-writers").is_none());
}

#[test]
fn ddl_lock_queue_blames_the_lead_not_the_readers_or_the_alter() {
    // A report read table t and left its transaction open; a migration's ALTER waits for
    // it; every later SELECT on t queues behind the ALTER.
    let mut s = snap(Engine::Postgres);
    let mut holder = client(10, "report", "10.0.0.8", SessionState::IdleInTransaction);
    holder.application = Some("metabase".into());
    holder.idle_ms = Some(400_000);
    holder.query = Some("SELECT count(*) FROM t".into());
    s.sessions.push(holder);
    let mut alter = blocked(11, 10, 40, "ALTER TABLE t ADD COLUMN note text");
    alter.user = Some("migrate".into());
    alter.application = Some("flyway".into());
    s.sessions.push(alter);
    for i in 0..6 {
        s.sessions
            .push(blocked(20 + i, 11, 30, "SELECT * FROM t WHERE id = $1"));
    }
    let a = one(s);
    let v = a
        .verdict("read-blocked-by-writers")
        .expect("readers queue behind the DDL");
    assert_eq!(v.culprits.sessions, vec![10]);
    assert_eq!(v.culprits.applications, vec!["metabase"]);
    assert_eq!(v.culprits.users, vec!["report"]);
    assert!(v.summary.contains("session 10"), "{}", v.summary);
    assert!(!v.summary.contains("head"), "{}", v.summary);
    let all = v.actions.join(" | ");
    assert!(!all.contains("at the head"), "{all}");
    assert!(all.contains("pg_cancel_backend(11)"), "{all}");
    assert!(all.contains("pg_terminate_backend(10)"), "{all}");
    // The same queue on MySQL (a metadata-lock pile-up, once the engine links the waiters):
    // the same lead, and the queued DDL named as such.
    let mut my = s_mysql_queue();
    my.engine = Engine::Mysql;
    let a = one(my);
    let v = a.verdict("read-blocked-by-writers").unwrap();
    assert_eq!(v.culprits.sessions, vec![10]);
    let all = v.actions.join(" | ");
    assert!(
        all.contains("metadata-lock queue") && all.contains("KILL 11;"),
        "{all}"
    );
    assert!(all.contains("KILL 10;"), "{all}");
}

/// The DDL queue of the test above, rebuilt for another engine.
fn s_mysql_queue() -> Snapshot {
    let mut s = snap(Engine::Mysql);
    let mut holder = client(10, "report", "10.0.0.8", SessionState::IdleInTransaction);
    holder.application = None;
    holder.idle_ms = Some(400_000);
    holder.open_transactions = 1;
    s.sessions.push(holder);
    s.sessions
        .push(blocked(11, 10, 40, "ALTER TABLE t ADD COLUMN note text"));
    for i in 0..6 {
        s.sessions
            .push(blocked(20 + i, 11, 30, "SELECT * FROM t WHERE id = 1"));
    }
    s
}

#[test]
fn every_verdict_about_two_leaders_ends_both_in_one_action() {
    let mut reader = spiral::capture::CaptureReader::open(std::path::Path::new(
        "captures/004-postgres-deadlocked-pool.jsonl",
    ))
    .unwrap();
    let mut snaps = Vec::new();
    while let Some(s) = reader.next_snapshot().unwrap() {
        snaps.push(s);
    }
    let w = Window::from_snapshots(snaps)
        .unwrap()
        .with_target("postgres://valtown@db/valtown");
    let a = evaluate(&w, &Thresholds::default());
    for id in ["blocking-chain", "idle-in-transaction"] {
        let v = a.verdict(id).unwrap();
        let both: Vec<&String> = v
            .actions
            .iter()
            .filter(|x| x.contains("41000") && x.contains("41001"))
            .collect();
        assert_eq!(both.len(), 1, "{id}: {:?}", v.actions);
        assert!(
            both[0].contains("unnest(ARRAY[41000, 41001])")
                && both[0].contains("spiral kill 'postgres://valtown@db/valtown'")
                && both[0].contains("--blocking-leaders"),
            "{id}: {}",
            both[0]
        );
        // No other action ends just one of them.
        assert!(
            v.actions
                .iter()
                .all(|x| !x.contains("pg_terminate_backend(4100")),
            "{id}: {:?}",
            v.actions
        );
    }
    let chain = a.verdict("blocking-chain").unwrap();
    assert!(
        chain
            .summary
            .contains("1 other lead blocker holds 9 more sessions"),
        "{}",
        chain.summary
    );
    let itx = a.verdict("idle-in-transaction").unwrap();
    assert!(
        itx.summary.contains("1 more sits idle in a transaction"),
        "{}",
        itx.summary
    );
}

// --- client-timeout-exceeded ------------------------------------------------------------

fn running(n: i64, secs: u64) -> Snapshot {
    let mut s = snap(Engine::Postgres);
    for i in 0..n {
        let mut x = client(50 + i, "widget", "10.1.0.1", SessionState::Active);
        x.elapsed_ms = Some(secs * 1000);
        s.sessions.push(x);
    }
    s
}

#[test]
fn client_timeout_exceeded_fires_and_near_miss() {
    assert_eq!(
        sev(&one(running(4, 40)), "client-timeout-exceeded"),
        Some(Severity::Warning)
    );
    assert_eq!(
        sev(&one(running(30, 40)), "client-timeout-exceeded"),
        Some(Severity::Critical)
    );
    // One long report query is a note, not a spiral.
    assert_eq!(
        sev(&one(running(1, 40)), "client-timeout-exceeded"),
        Some(Severity::Info)
    );
    assert!(
        one(running(10, 14))
            .verdict("client-timeout-exceeded")
            .is_none()
    );
}

#[test]
fn mysql_sessions_without_an_application_are_named_by_user_not_question_mark() {
    let mut s = running(4, 40);
    s.engine = Engine::Mysql;
    for x in s.sessions.iter_mut() {
        x.application = None;
    }
    s.connections.max_connections = Some(4);
    let a = one(s);
    let v = a.verdict("client-timeout-exceeded").unwrap();
    assert!(
        v.summary.contains("mostly from user widget (4)"),
        "{}",
        v.summary
    );
    assert!(v.culprits.applications.is_empty());
    let full = a.verdict("connection-exhaustion").unwrap();
    assert!(
        full.actions.iter().all(|x| !x.contains('?')),
        "{:?}",
        full.actions
    );
    assert!(full.culprits.applications.is_empty());
}

#[test]
fn client_timeout_threshold_is_the_flag() {
    let t = Thresholds {
        client_timeout: 120.0,
        ..Thresholds::default()
    };
    let a = evaluate(&Window::new(running(10, 40)), &t);
    assert!(a.verdict("client-timeout-exceeded").is_none());
}

// --- SQL Server: compile gate, Query Store, workers, plan cache -------------------------------

fn compiling(waiters: u64, compiles_per_sec: u64) -> (Snapshot, u64) {
    let mut s = snap(Engine::Mssql);
    for i in 0..waiters as i64 {
        let mut x = client(100 + i, "app", &format!("h{}", i % 7), SessionState::Active);
        x.wait_type = Some("RESOURCE_SEMAPHORE_QUERY_COMPILE".into());
        x.wait_class = Some(WaitClass::Compile);
        s.sessions.push(x);
    }
    s.compile_gate = Some(CompileGate {
        waiters,
        active: 10,
        limit: 10,
    });
    s.counters.insert(counter::COMPILATIONS.into(), 1_000_000);
    s.counters.insert(counter::BATCHES.into(), 3_000_000);
    (s, compiles_per_sec)
}

fn compile_window(waiters: u64, per_sec: u64, batches_per_sec: u64) -> Assessment {
    let (s, _) = compiling(waiters, per_sec);
    two(s, 10, |l| {
        l.counters
            .insert(counter::COMPILATIONS.into(), 1_000_000 + per_sec * 10);
        l.counters
            .insert(counter::BATCHES.into(), 3_000_000 + batches_per_sec * 10);
    })
}

#[test]
fn compile_gate_fires_and_near_miss() {
    assert_eq!(
        sev(
            &compile_window(120, 3_000, 9_000),
            "compile-gate-saturation"
        ),
        Some(Severity::Critical)
    );
    assert_eq!(
        sev(&compile_window(8, 3_000, 9_000), "compile-gate-saturation"),
        Some(Severity::Warning)
    );
    // High rate, no queue yet: a note.
    assert_eq!(
        sev(&compile_window(0, 3_000, 9_000), "compile-gate-saturation"),
        Some(Severity::Info)
    );
    // Few compilations per batch and no queue: healthy.
    assert!(
        compile_window(0, 100, 9_000)
            .verdict("compile-gate-saturation")
            .is_none()
    );
}

#[test]
fn query_store_amplification_fires_and_near_miss() {
    let (mut s, _) = compiling(60, 3_000);
    for i in 0..30 {
        let mut x = client(5_000 + i, "app", "h", SessionState::Active);
        x.wait_type = Some("QDS_STMT".into());
        x.wait_class = Some(WaitClass::QueryStore);
        s.sessions.push(x);
    }
    s.databases = vec![DatabaseInfo {
        name: "shop".into(),
        query_store: Some("read_write".into()),
        read_committed_snapshot: None,
    }];
    let a = one(s.clone());
    let v = a.verdict("query-store-amplification").expect("QDS fires");
    assert_eq!(v.severity, Severity::Critical);
    assert!(v.actions[0].contains("ALTER DATABASE [shop] SET QUERY_STORE = OFF"));
    s.sessions
        .retain(|x| x.wait_class != Some(WaitClass::QueryStore) || x.id < 5_005);
    assert!(one(s).verdict("query-store-amplification").is_none());
}

fn workers(active: u64, queued: u64, threadpool: u64) -> Snapshot {
    let mut s = snap(Engine::Mssql);
    s.workers = Some(Workers {
        max_workers: 2_400,
        active_workers: active,
        current_workers: active,
        queued_tasks: queued,
        runnable_tasks: 0,
        threadpool_waiters: threadpool,
        cpu_count: Some(64),
    });
    s
}

#[test]
fn worker_exhaustion_fires_and_tells_about_the_dac() {
    let a = one(workers(2_510, 1_817, 0));
    let v = a.verdict("worker-thread-exhaustion").expect("fires");
    assert_eq!(v.severity, Severity::Critical);
    assert!(v.actions[0].contains("--dac"), "{}", v.actions[0]);
    assert_eq!(
        sev(&one(workers(2_200, 0, 0)), "worker-thread-exhaustion"),
        Some(Severity::Warning)
    );
    // Tasks without a session waiting on THREADPOOL count too.
    assert_eq!(
        sev(&one(workers(800, 0, 12)), "worker-thread-exhaustion"),
        Some(Severity::Critical)
    );
}

#[test]
fn worker_exhaustion_near_miss() {
    assert!(
        one(workers(1_900, 0, 0))
            .verdict("worker-thread-exhaustion")
            .is_none()
    );
}

// --- memory-grant-exhaustion -----------------------------------------------------------

/// `waiting` requests queued for a grant, each waiting at most `longest_ms`, behind two big
/// holders; the cumulative grant timeouts stand at `timeouts`.
fn grants(waiting: u64, longest_ms: u64, timeouts: u64) -> Snapshot {
    let mut s = snap(Engine::Mssql);
    let mut report = client(77, "reporting", "10.0.0.7", SessionState::Active);
    report.application = Some("nightly-report".into());
    s.sessions.push(report);
    s.memory_grants = Some(MemoryGrants {
        waiters: waiting,
        holders: 12,
        longest_wait_ms: (waiting > 0).then_some(longest_ms),
        pools: vec![GrantPool {
            pool_id: 2,
            name: Some("default".into()),
            waiters: waiting,
            granted_kb: 60 << 20,
            target_kb: 61 << 20,
        }],
        largest: vec![
            GrantHolder {
                session_id: 77,
                granted_kb: 24 << 20,
                requested_kb: Some(24 << 20),
                dop: Some(8),
            },
            GrantHolder {
                session_id: 91,
                granted_kb: 9 << 20,
                requested_kb: None,
                dop: Some(1),
            },
        ],
    });
    s.counters
        .insert(counter::MEMORY_GRANT_TIMEOUTS.into(), timeouts);
    s
}

#[test]
fn memory_grant_queue_of_hundreds_is_critical_even_with_short_waits() {
    // The held-out capture: 340 queued, none waiting 15 s.
    let a = one(grants(340, 14_000, 0));
    let v = a.verdict("memory-grant-exhaustion").expect("fires");
    assert_eq!(v.severity, Severity::Critical, "{}", v.summary);
    assert!(
        v.summary.contains("340 requests are queued"),
        "{}",
        v.summary
    );
    assert!(
        v.summary
            .contains("session 77 (24,576 MB, DOP 8, nightly-report)"),
        "{}",
        v.summary
    );
    assert_eq!(v.culprits.sessions, vec![77, 91]);
    assert!(
        v.actions
            .iter()
            .any(|x| x.contains("REQUEST_MAX_MEMORY_GRANT_PERCENT"))
    );
    assert!(v.actions.iter().any(|x| x.starts_with("Do not restart")));
    let queued = v
        .evidence
        .iter()
        .find(|f| f.key == "requests_queued_for_a_grant");
    assert_eq!(queued.and_then(|f| f.number), Some(340.0));
    assert_eq!(a.worst(), Severity::Critical);
}

#[test]
fn memory_grant_warning_and_near_misses() {
    assert_eq!(
        sev(&one(grants(40, 3_000, 0)), "memory-grant-exhaustion"),
        Some(Severity::Warning)
    );
    // A short queue of a few requests is a busy server, not a spiral.
    for n in [0, 9] {
        let a = one(grants(n, 2_000, 0));
        assert!(a.verdict("memory-grant-exhaustion").is_none(), "{n}");
        assert_eq!(a.checks["memory-grant-exhaustion"], CheckState::Ok);
    }
    // The semaphores saw the queue although the grants statement counted none.
    let mut s = grants(0, 0, 0);
    if let Some(m) = s.memory_grants.as_mut() {
        m.pools[0].waiters = 150;
    }
    assert_eq!(
        sev(&one(s), "memory-grant-exhaustion"),
        Some(Severity::Critical)
    );
}

#[test]
fn memory_grant_timeouts_in_the_window_raise_it() {
    // Requests gave up with error 8645 between the samples: a warning with a short queue,
    // critical once the queue is at the warning size.
    let a = two(grants(3, 20_000, 1_000), 5, |s| {
        s.counters
            .insert(counter::MEMORY_GRANT_TIMEOUTS.into(), 1_004);
    });
    let v = a.verdict("memory-grant-exhaustion").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(v.summary.contains("4 gave up waiting"), "{}", v.summary);
    let a = two(grants(20, 20_000, 1_000), 5, |s| {
        s.counters
            .insert(counter::MEMORY_GRANT_TIMEOUTS.into(), 1_002);
    });
    assert_eq!(sev(&a, "memory-grant-exhaustion"), Some(Severity::Critical));
    // Timeouts from before the window (the counter does not move) do not count.
    let a = two(grants(3, 20_000, 1_000), 5, |_| {});
    assert!(a.verdict("memory-grant-exhaustion").is_none());
}

#[test]
fn memory_grants_unseen_is_unknown_on_sql_server_and_silent_elsewhere() {
    let mut s = snap(Engine::Mssql);
    s.gaps.push(Gap {
        area: Area::MemoryGrants,
        reason: "the sample query failed on this server (error 1222: lock timeout)".into(),
        remedy: None,
    });
    assert_eq!(
        sev(&one(s), "memory-grant-exhaustion"),
        Some(Severity::Unknown)
    );
    for engine in [Engine::Postgres, Engine::Mysql] {
        let a = one(snap(engine));
        assert_eq!(
            a.checks["memory-grant-exhaustion"],
            CheckState::Ok,
            "{engine}"
        );
    }
}

#[test]
fn plan_cache_bloat_fires_and_near_miss() {
    let mut s = snap(Engine::Mssql);
    s.plan_cache = Some(vec![PlanCacheEntry {
        object_type: "Adhoc".into(),
        plans: 50_000,
        single_use: 45_000,
        size_bytes: 4 << 30,
    }]);
    assert_eq!(
        sev(&one(s.clone()), "plan-cache-bloat"),
        Some(Severity::Info)
    );
    s.plan_cache = Some(vec![PlanCacheEntry {
        object_type: "Adhoc".into(),
        plans: 50_000,
        single_use: 30_000,
        size_bytes: 4 << 30,
    }]);
    assert!(one(s).verdict("plan-cache-bloat").is_none());
}

// --- pools, storms, guardrails ---------------------------------------------------------------

fn pooled_hosts(hosts: usize, pool: usize, busy: usize) -> Snapshot {
    let mut s = snap(Engine::Mssql);
    s.workers = Some(Workers {
        max_workers: 2_400,
        active_workers: 900,
        ..Workers::default()
    });
    let mut id = 100;
    for h in 0..hosts {
        for k in 0..pool {
            let state = if k < busy {
                SessionState::Active
            } else {
                SessionState::Idle
            };
            s.sessions
                .push(client(id, "app", &format!("10.0.1.{h}"), state));
            id += 1;
        }
    }
    s
}

#[test]
fn client_pool_saturation_fires_and_near_miss() {
    let a = one(pooled_hosts(30, 100, 100));
    let v = a
        .verdict("client-pool-saturation")
        .expect("pinned busy pools");
    assert_eq!(v.severity, Severity::Critical, "30 x 100 > 2,400 workers");
    assert!(v.summary.contains("exactly 100"), "{}", v.summary);
    assert_eq!(
        sev(&one(pooled_hosts(5, 100, 100)), "client-pool-saturation"),
        Some(Severity::Warning)
    );
    // HikariCP-style fixed pools sitting idle are healthy.
    assert!(
        one(pooled_hosts(30, 10, 2))
            .verdict("client-pool-saturation")
            .is_none()
    );
}

#[test]
fn reconnect_storm_fires_and_near_miss() {
    let mut s = with_clients(10, 1_000);
    s.counters.insert(counter::LOGINS.into(), 1_000);
    let a = two(s.clone(), 3, |l| {
        l.sessions
            .extend((0..700).map(|i| client(5_000 + i, "api", "10.9.9.9", SessionState::Active)));
        l.counters.insert(counter::LOGINS.into(), 1_700);
    });
    let v = a.verdict("reconnect-storm").expect("storm fires");
    assert!(v.summary.contains("700"), "{}", v.summary);
    let a = two(s, 3, |l| {
        l.sessions
            .extend((0..20).map(|i| client(5_000 + i, "api", "10.9.9.9", SessionState::Active)));
        l.counters.insert(counter::LOGINS.into(), 1_020);
    });
    assert!(a.verdict("reconnect-storm").is_none());
}

/// Samples 5 s apart with a steady connection count and the given logins per second
/// between each pair.
fn logins_window(mut first: Snapshot, per_sec: &[u64]) -> Assessment {
    first.counters.insert(counter::LOGINS.into(), 1_000_000);
    let mut snaps = vec![first.clone()];
    let mut logins = 1_000_000;
    for (i, r) in per_sec.iter().enumerate() {
        let mut next = first.clone();
        next.taken_at = first.taken_at + Duration::seconds(5 * (i as i64 + 1));
        logins += r * 5;
        next.counters.insert(counter::LOGINS.into(), logins);
        snaps.push(next);
    }
    evaluate(
        &Window::from_snapshots(snaps).unwrap(),
        &Thresholds::default(),
    )
}

#[test]
fn reconnect_churn_is_judged_against_what_the_server_can_take() {
    // 193 connections opened and closed per second, count steady, on 197 usable slots:
    // the whole slot table turns over every second. Churn, worth a note, not a storm.
    let a = logins_window(with_clients(60, 200), &[193, 193]);
    let v = a
        .verdict("reconnect-storm")
        .expect("churn is seen at 193/s");
    assert_eq!(v.severity, Severity::Info);
    assert_eq!(v.title, "Reconnect churn");
    assert!(v.summary.starts_with("Reconnect churn"), "{}", v.summary);
    assert!(!v.summary.contains("in a storm"), "{}", v.summary);
    // The same rate on a server with 5,000 slots is ordinary.
    assert!(
        logins_window(with_clients(60, 5_000), &[193, 193])
            .verdict("reconnect-storm")
            .is_none()
    );
    // Where the cores are known (SQL Server), per core: 100/s on 4 cores is heavy.
    let mut mssql = snap(Engine::Mssql);
    mssql.sessions = (0..40)
        .map(|i| client(100 + i, "api", "h", SessionState::Active))
        .collect();
    mssql.workers = Some(Workers {
        max_workers: 512,
        cpu_count: Some(4),
        ..Workers::default()
    });
    let a = logins_window(mssql.clone(), &[100, 100]);
    assert_eq!(sev(&a, "reconnect-storm"), Some(Severity::Info));
    mssql.workers.as_mut().unwrap().cpu_count = Some(64);
    assert!(
        logins_window(mssql, &[100, 100])
            .verdict("reconnect-storm")
            .is_none()
    );
}

#[test]
fn a_login_surge_over_what_came_before_is_a_storm() {
    // 8/s, then 300/s: something changed within the window.
    let a = logins_window(with_clients(60, 200), &[8, 300]);
    let v = a.verdict("reconnect-storm").expect("surge");
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(v.title, "Reconnect storm");
    assert!(v.summary.contains("jumped from 8 to 300"), "{}", v.summary);
}

#[test]
fn missing_guardrails_is_info_until_it_hurts() {
    let mut s = snap(Engine::Postgres);
    s.guardrails = Guardrails {
        statement_timeout_ms: Some(0),
        lock_timeout_ms: Some(0),
        idle_in_transaction_timeout_ms: Some(0),
        idle_session_timeout_ms: Some(0),
        optimize_for_ad_hoc: None,
    };
    assert_eq!(
        sev(&one(s.clone()), "missing-guardrails"),
        Some(Severity::Info)
    );
    let mut hurt = lock_chain(600);
    hurt.guardrails = s.guardrails.clone();
    assert_eq!(
        sev(&one(hurt), "missing-guardrails"),
        Some(Severity::Warning)
    );
    // Guardrails in place: nothing to say.
    s.guardrails = Guardrails {
        statement_timeout_ms: Some(30_000),
        lock_timeout_ms: Some(5_000),
        idle_in_transaction_timeout_ms: Some(60_000),
        idle_session_timeout_ms: Some(0),
        optimize_for_ad_hoc: None,
    };
    assert!(one(s).verdict("missing-guardrails").is_none());
}

#[test]
fn mysql_eight_hour_wait_timeout_alone_is_not_a_warning() {
    let mut s = snap(Engine::Mysql);
    s.guardrails.idle_session_timeout_ms = Some(28_800_000);
    s.guardrails.lock_timeout_ms = Some(50_000);
    // MySQL's defaults on a quiet server: a note that says the value, not "not set".
    let v = one(s.clone())
        .verdict("missing-guardrails")
        .cloned()
        .unwrap();
    assert_eq!(v.severity, Severity::Info);
    assert!(
        v.summary.starts_with("wait_timeout is 8h (longer than 1h)"),
        "{}",
        v.summary
    );
    assert!(!v.summary.contains("not set"), "{}", v.summary);
    // Old idle connections that idle-connection-leak calls a pool at rest: still a note.
    let mut quiet = s.clone();
    quiet.connections.max_connections = Some(200);
    quiet
        .sessions
        .extend((0..25).map(|i| idle(200 + i, "shop", 400)));
    assert_eq!(
        sev(&one(quiet.clone()), "missing-guardrails"),
        Some(Severity::Info)
    );
    // A leak that idle-connection-leak warns about: now wait_timeout is worth a word, with
    // its value, not "not set".
    quiet
        .sessions
        .extend((0..100).map(|i| idle(500 + i, "shipping", 4_000)));
    let a = one(quiet);
    assert!(sev(&a, "idle-connection-leak") >= Some(Severity::Warning));
    let v = a.verdict("missing-guardrails").cloned().expect("warns");
    assert_eq!(v.severity, Severity::Warning);
    assert!(v.summary.contains("wait_timeout is 8h"), "{}", v.summary);
    assert!(!v.summary.contains("not set"), "{}", v.summary);
    let fig = v
        .evidence
        .iter()
        .find(|f| f.label == "wait_timeout")
        .unwrap();
    assert!(fig.value.starts_with("8h"), "{}", fig.value);
}

#[test]
fn missing_guardrails_follows_the_other_rules_judgement() {
    let off = Guardrails {
        statement_timeout_ms: Some(0),
        lock_timeout_ms: Some(0),
        idle_in_transaction_timeout_ms: Some(0),
        idle_session_timeout_ms: Some(0),
        optimize_for_ad_hoc: None,
    };
    // 25 idle connections older than 5 minutes on 200 slots (13%) and one long report past
    // the client timeout: idle-connection-leak and client-timeout-exceeded call that fine or
    // a note, so missing timeouts stay a note too.
    let mut s = with_clients(0, 200);
    s.guardrails = off.clone();
    s.sessions
        .extend((0..25).map(|i| idle(200 + i, "shop", 400)));
    let mut report = client(900, "analyst", "10.0.0.7", SessionState::Active);
    report.elapsed_ms = Some(600_000);
    s.sessions.push(report);
    let a = one(s);
    assert_eq!(sev(&a, "missing-guardrails"), Some(Severity::Info));
    assert_eq!(spiral::report::exit_code(&a), 0);
    // A lock chain: the lock wait is said once, beside lock_timeout, not repeated for
    // statement_timeout's sake; each figure keeps its own setting's value.
    let mut hurt = lock_chain(600);
    hurt.guardrails = off;
    let a = one(hurt);
    let v = a.verdict("missing-guardrails").unwrap();
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(
        v.summary.matches("waited on locks").count(),
        1,
        "{}",
        v.summary
    );
    let lock = v
        .evidence
        .iter()
        .find(|f| f.label == "lock_timeout")
        .unwrap();
    assert!(
        lock.value.starts_with("not set") && lock.value.contains("locks"),
        "{}",
        lock.value
    );
    let idle_tx = v
        .evidence
        .iter()
        .find(|f| f.label == "idle_in_transaction_session_timeout")
        .unwrap();
    assert!(
        idle_tx
            .value
            .contains("1 session sits idle in an open transaction"),
        "{}",
        idle_tx.value
    );
}

// --- what spiral cannot see --------------------------------------------------------------------

#[test]
fn hidden_sessions_make_checks_unknown_not_ok() {
    let mut s = with_clients(5, 100);
    s.gaps.push(Gap {
        area: Area::OtherSessions,
        reason: "role app cannot see other users' sessions".into(),
        remedy: Some("GRANT pg_monitor TO app".into()),
    });
    let a = one(s);
    assert_eq!(a.checks["idle-connection-leak"], CheckState::Unknown);
    assert_eq!(a.checks["blocking-chain"], CheckState::Unknown);
    assert_eq!(a.checks["connection-exhaustion"], CheckState::Ok);
    let v = a.verdict("blocking-chain").unwrap();
    assert!(v.summary.contains("GRANT pg_monitor"), "{}", v.summary);
    assert_eq!(spiral::report::exit_code(&a), 3);
}

#[test]
fn rate_checks_wait_for_a_second_sample() {
    let a = one(with_clients(5, 100));
    assert_eq!(a.checks["reconnect-storm"], CheckState::Pending);
    assert_eq!(a.checks["deadlocks-rising"], CheckState::Pending);
}

#[test]
fn spirals_own_session_and_server_internals_are_never_counted() {
    let mut s = with_clients(0, 20);
    s.sessions
        .push(client(1, "spiral", "me", SessionState::Active)); // own session
    for i in 0..30 {
        let mut x = Session::new(500 + i, SessionState::Other);
        x.kind = SessionKind::System;
        s.sessions.push(x);
    }
    assert!(one(s).verdict("connection-exhaustion").is_none());
}

// --- long-transaction -----------------------------------------------------------------

fn holder(session: i64, age_secs: u64, xid_age: Option<u64>) -> HorizonHolder {
    HorizonHolder {
        kind: HolderKind::Session,
        session_id: Some(session),
        name: None,
        database: Some("shop".into()),
        age_ms: Some(age_secs * 1000),
        xid_age,
        rows_modified: None,
        log_bytes: None,
    }
}

/// A PostgreSQL server where session 300 (user etl) has had a transaction open.
fn held_horizon(age_secs: u64) -> Snapshot {
    let mut s = snap(Engine::Postgres);
    let mut etl = client(300, "etl", "10.0.0.5", SessionState::Active);
    etl.transaction_ms = Some(age_secs * 1000);
    s.sessions = vec![etl, client(301, "api", "10.0.0.6", SessionState::Active)];
    s.horizon = Some(Horizon {
        holders: vec![holder(300, age_secs, Some(40_000)), holder(301, 1, Some(2))],
        frozen_xid_age: Some(60_000_000),
        freeze_max_age: Some(200_000_000),
        ..Horizon::default()
    });
    s
}

#[test]
fn long_transaction_names_the_holder_and_its_age() {
    let a = one(held_horizon(12 * 60));
    let v = a.verdict("long-transaction").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(v.culprits.sessions, vec![300]);
    assert_eq!(v.culprits.users, vec!["etl".to_string()]);
    assert!(
        v.summary.contains("session 300") && v.summary.contains("12m"),
        "{}",
        v.summary
    );
    assert!(
        v.summary.contains("40,000 transaction IDs back"),
        "{}",
        v.summary
    );
    assert!(
        v.actions[0].contains("pg_terminate_backend(300)"),
        "{:?}",
        v.actions
    );
    // Far from wraparound: no word about it.
    assert!(!v.summary.contains("2^31"), "{}", v.summary);
}

#[test]
fn long_transaction_near_miss_a_few_seconds_is_not_long() {
    assert_eq!(sev(&one(held_horizon(20)), "long-transaction"), None);
    // Not collected at all: silent, not a guess.
    let mut s = held_horizon(20 * 60);
    s.horizon = None;
    assert_eq!(sev(&one(s), "long-transaction"), None);
    // spiral's own session never counts.
    let mut s = held_horizon(20 * 60);
    s.own_session_id = Some(300);
    assert_eq!(sev(&one(s), "long-transaction"), None);
}

#[test]
fn long_transaction_is_critical_when_very_old_or_near_wraparound() {
    assert_eq!(
        sev(&one(held_horizon(2 * 3600)), "long-transaction"),
        Some(Severity::Critical)
    );
    // A young transaction but the database is near the 2^31 stop.
    let mut s = held_horizon(1);
    s.horizon.as_mut().unwrap().frozen_xid_age = Some(1_500_000_000);
    let a = one(s);
    let v = a.verdict("long-transaction").expect("fires");
    assert_eq!(v.severity, Severity::Critical);
    assert!(v.summary.contains("2^31"), "{}", v.summary);
    // A holder behind autovacuum_freeze_max_age blocks freezing: critical.
    let mut s = held_horizon(10 * 60);
    s.horizon.as_mut().unwrap().holders[0].xid_age = Some(250_000_000);
    assert_eq!(sev(&one(s), "long-transaction"), Some(Severity::Critical));
}

#[test]
fn long_transaction_from_a_replication_slot() {
    let mut s = snap(Engine::Postgres);
    s.horizon = Some(Horizon {
        holders: vec![HorizonHolder {
            kind: HolderKind::ReplicationSlot,
            session_id: None,
            name: Some("cdc_orders".into()),
            database: Some("shop".into()),
            age_ms: None,
            xid_age: Some(120_000_000),
            rows_modified: None,
            log_bytes: None,
        }],
        ..Horizon::default()
    });
    let a = one(s.clone());
    let v = a.verdict("long-transaction").expect("fires");
    assert!(v.summary.contains("cdc_orders"), "{}", v.summary);
    assert!(v.actions[0].contains("pg_drop_replication_slot('cdc_orders')"));
    // A slot only a little behind is normal replication lag.
    s.horizon.as_mut().unwrap().holders[0].xid_age = Some(5_000);
    assert_eq!(sev(&one(s), "long-transaction"), None);
}

/// MariaDB: session 42 has written `rows` rows in a transaction open `age_secs`.
fn innodb(age_secs: u64, rows: u64, history: u64) -> Snapshot {
    let mut s = snap(Engine::Mysql);
    let mut imp = client(42, "import", "10.0.0.7", SessionState::Active);
    imp.transaction_ms = Some(age_secs * 1000);
    s.sessions = vec![imp];
    let mut h = holder(42, age_secs, None);
    h.rows_modified = Some(rows);
    s.horizon = Some(Horizon {
        holders: vec![h],
        history_list_length: Some(history),
        ..Horizon::default()
    });
    s
}

#[test]
fn long_transaction_on_innodb_shows_the_history_list_rising() {
    let a = two(innodb(30 * 60, 1_500_000, 200_000), 10, |s| {
        let h = s.horizon.as_mut().unwrap();
        h.history_list_length = Some(260_000);
        h.holders[0].age_ms = Some((30 * 60 + 10) * 1000);
    });
    let v = a.verdict("long-transaction").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(v.culprits.sessions, vec![42]);
    assert!(v.summary.contains("1,500,000 rows"), "{}", v.summary);
    assert!(
        v.summary
            .contains("history list 260,000 (+60000 over the window)"),
        "{}",
        v.summary
    );
    assert!(v.actions[0].contains("KILL 42;"), "{:?}", v.actions);
    // A history list far past the warning level is critical even with a young holder.
    assert_eq!(
        sev(&one(innodb(2, 10, 6_000_000)), "long-transaction"),
        Some(Severity::Critical)
    );
    // Near miss: short transactions and a short history list.
    assert_eq!(sev(&one(innodb(2, 10, 900)), "long-transaction"), None);
}

/// SQL Server: the log of `db` waits on ACTIVE_TRANSACTION, `used` percent full.
fn log_held(used: f64, age_secs: u64) -> Snapshot {
    let mut s = snap(Engine::Mssql);
    s.sessions = vec![client(77, "loader", "10.0.0.8", SessionState::Idle)];
    let mut h = holder(77, age_secs, None);
    h.log_bytes = Some(40_000_000_000);
    s.horizon = Some(Horizon {
        holders: vec![h],
        logs: vec![
            LogReuse {
                database: "Sales".into(),
                wait: "ACTIVE_TRANSACTION".into(),
                used_pct: Some(used),
            },
            LogReuse {
                database: "Archive".into(),
                wait: "LOG_BACKUP".into(),
                used_pct: Some(99.0),
            },
        ],
        ..Horizon::default()
    });
    s
}

#[test]
fn long_transaction_on_sql_server_reads_the_log_reuse_wait() {
    let a = one(log_held(96.0, 40 * 60));
    let v = a.verdict("long-transaction").expect("fires");
    assert_eq!(v.severity, Severity::Critical);
    assert!(v.summary.contains("Sales (96% used)"), "{}", v.summary);
    assert!(v.summary.contains("9002"), "{}", v.summary);
    assert!(
        !v.summary.contains("Archive"),
        "LOG_BACKUP is not a transaction: {}",
        v.summary
    );
    assert!(v.actions[0].contains("KILL 77;"));
    // A filling log held by a young transaction still warns.
    assert_eq!(
        sev(&one(log_held(70.0, 5)), "long-transaction"),
        Some(Severity::Warning)
    );
    // ACTIVE_TRANSACTION with a nearly empty log and a young transaction is normal.
    assert_eq!(sev(&one(log_held(10.0, 5)), "long-transaction"), None);
}

/// SQL Server under RCSI: session 91 (user reporting) reads in a snapshot transaction open
/// `age_secs`; the version store holds `store_mb` of tempdb's 8 GB of data files. Its log
/// is not held (a reader writes no log).
fn version_store_held(age_secs: u64, store_mb: u64) -> Snapshot {
    let mut s = snap(Engine::Mssql);
    s.sessions = vec![
        client(91, "reporting", "10.0.0.9", SessionState::Idle),
        client(92, "api", "10.0.0.6", SessionState::Active),
    ];
    s.horizon = Some(Horizon {
        holders: vec![holder(91, age_secs, None), holder(92, 2, None)],
        version_store_kb: Some(store_mb * 1024),
        tempdb_data_kb: Some(8 * 1024 * 1024),
        version_holders: vec![holder(92, 2, None), holder(91, age_secs, None)],
        ..Horizon::default()
    });
    s
}

#[test]
fn long_transaction_names_the_session_holding_the_version_store() {
    // 20 minutes open, 1.5 GB of versions (18% of tempdb), growing by 512 MB.
    let a = two(version_store_held(20 * 60, 1_024), 60, |s| {
        s.horizon = version_store_held(20 * 60 + 60, 1_536).horizon;
    });
    let v = a.verdict("long-transaction").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert_eq!(v.culprits.sessions, vec![91]);
    assert!(
        v.summary.contains("session 91 (user reporting")
            && v.summary.contains("the version store in tempdb (1,536 MB, 19% of its data files, +512 MB over the window)")
            && v.summary.contains("cannot be cleaned past session 91's row-versioning transaction (open 21m)"),
        "{}",
        v.summary
    );
    assert!(v.actions[0].contains("KILL 91;"), "{:?}", v.actions);
    assert!(
        v.actions
            .iter()
            .any(|a| a.contains("3958") && a.contains("session 91")),
        "{:?}",
        v.actions
    );
    let figure = |label: &str| {
        v.evidence
            .iter()
            .find(|f| f.label == label)
            .map(|f| f.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(figure("version store in tempdb"), "1,536 MB");
    assert_eq!(figure("version store change over the window"), "+512 MB");
    // Half of tempdb held by versions is critical, however young the holder.
    assert_eq!(
        sev(&one(version_store_held(90, 4_200)), "long-transaction"),
        Some(Severity::Critical)
    );
    // Near misses: a young reader and a small store is normal RCSI; so is a big store
    // with nobody holding it (cleanup will catch up).
    assert_eq!(
        sev(&one(version_store_held(90, 600)), "long-transaction"),
        None
    );
    let mut nobody = version_store_held(90, 2_000);
    if let Some(h) = nobody.horizon.as_mut() {
        h.version_holders.clear();
        h.holders.truncate(1);
        h.holders[0].age_ms = Some(2_000);
    }
    assert_eq!(sev(&one(nobody), "long-transaction"), None);
    // An old holder with the version store unread still warns, without version words.
    let mut unread = version_store_held(20 * 60, 0);
    if let Some(h) = unread.horizon.as_mut() {
        h.version_store_kb = None;
        h.tempdb_data_kb = None;
        h.version_holders.clear();
    }
    let a = one(unread);
    let v = a.verdict("long-transaction").expect("fires");
    assert!(
        !v.summary.contains("version store in tempdb"),
        "{}",
        v.summary
    );
}

// --- pool-exhaustion ------------------------------------------------------------------

fn pool(waiting: u64, maxwait_ms: u64, sv_active: u64, sv_idle: u64) -> Pool {
    Pool {
        database: "shop".into(),
        user: "app".into(),
        cl_active: sv_active,
        cl_waiting: waiting,
        sv_active,
        sv_idle,
        sv_used: 0,
        maxwait_ms,
        pool_size: Some(20),
        pool_mode: Some("transaction".into()),
        waiting: (0..waiting.min(5))
            .map(|i| PoolWaiter {
                addr: Some(format!("10.0.1.{i}")),
                application: Some("checkout".into()),
                wait_ms: maxwait_ms.saturating_sub(i * 100),
            })
            .collect(),
    }
}

fn at_pooler(pools: Vec<Pool>) -> Snapshot {
    let mut s = Snapshot::empty(Engine::Postgres, t0());
    // As the console sampler marks its snapshots: no database behind them.
    s.server.flavor = Some("pgbouncer".into());
    s.pooler = Some(Pooler {
        pools,
        query_wait_timeout_ms: Some(120_000),
        server_idle_timeout_ms: Some(600_000),
        max_client_conn: Some(1000),
        idle_transaction_timeout_ms: Some(60_000),
        ..Pooler::default()
    });
    s
}

/// A database sampled with its pooler (`--pooler`): backend 4242 comes from the pooler's
/// address and sits idle in a transaction; SHOW SERVERS lends it to a checkout client.
fn database_with_pooler(pools: Vec<Pool>, idle_ms: u64) -> Snapshot {
    let mut s = snap(Engine::Postgres);
    s.guardrails = Guardrails {
        statement_timeout_ms: Some(30_000),
        lock_timeout_ms: Some(10_000),
        idle_in_transaction_timeout_ms: Some(600_000),
        idle_session_timeout_ms: Some(0),
        ..Guardrails::default()
    };
    s.connections = ConnectionLimits {
        max_connections: Some(100),
        reserved: 3,
        current: Some(3),
    };
    let mut holder = Session::new(4242, SessionState::IdleInTransaction);
    holder.user = Some("app".into());
    holder.client_host = Some("10.0.0.5".into());
    holder.idle_ms = Some(idle_ms);
    holder.transaction_ms = Some(idle_ms + 100);
    holder.open_transactions = 1;
    // Another session idle in a transaction, straight from an application host.
    let mut direct = Session::new(77, SessionState::IdleInTransaction);
    direct.client_host = Some("10.0.9.9".into());
    direct.idle_ms = Some(idle_ms);
    s.sessions = vec![holder, direct];
    let mut at = at_pooler(pools).pooler.unwrap();
    at.idle_transaction_timeout_ms = Some(0);
    at.servers = vec![
        PoolServer {
            database: "shop".into(),
            user: "app".into(),
            backend_pid: Some(4242),
            local_addr: Some("10.0.0.5".into()),
            local_port: Some(40112),
            client: Some(PoolClient {
                addr: Some("10.0.7.21".into()),
                port: Some(51234),
                application: Some("checkout".into()),
                idle_secs: Some(idle_ms / 1000),
            }),
        },
        // Pid 77 is the direct session's; this server's backend is another (a pid
        // reused between the two reads must not pin the direct session on the pooler).
        PoolServer {
            database: "shop".into(),
            user: "app".into(),
            backend_pid: Some(77),
            local_addr: Some("10.0.0.5".into()),
            ..PoolServer::default()
        },
    ];
    s.pooler = Some(at);
    s
}

#[test]
fn pooler_beside_a_database_names_the_client_holding_a_transaction() {
    let a = one(database_with_pooler(vec![pool(0, 0, 20, 0)], 45_000));
    // Both sides' rules ran: the database's and the pooler's.
    assert!(
        a.checks.contains_key("idle-in-transaction"),
        "{:?}",
        a.checks
    );
    assert!(a.checks.contains_key("pool-exhaustion"));
    let v = a.verdict("pooler-held-transaction").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary.contains("Backend 4242 (shop/app)")
            && v.summary.contains("client 10.0.7.21:51234 (checkout)"),
        "{}",
        v.summary
    );
    assert_eq!(v.culprits.sessions, vec![4242]);
    assert_eq!(v.culprits.hosts, vec!["10.0.7.21".to_string()]);
    assert_eq!(v.culprits.applications, vec!["checkout".to_string()]);
    // idle_transaction_timeout off, and a holder found: the guardrail warns.
    let g = a.verdict("pooler-missing-guardrails").expect("fires");
    assert_eq!(g.severity, Severity::Warning);
    assert!(
        g.summary.contains("idle_transaction_timeout"),
        "{}",
        g.summary
    );
    assert!(g.summary.contains("holds backend 4242"), "{}", g.summary);

    // The same holder while its pool queues: critical, and pool-exhaustion says the
    // database is the cause and not to grow the pool.
    let a = one(database_with_pooler(vec![pool(30, 5_000, 20, 0)], 45_000));
    assert_eq!(sev(&a, "pooler-held-transaction"), Some(Severity::Critical));
    let p = a.verdict("pool-exhaustion").unwrap();
    assert!(
        p.actions[0].contains("The database is the cause here")
            && p.actions[0].contains("backend 4242"),
        "{:?}",
        p.actions
    );
    assert_eq!(p.culprits.sessions, vec![4242]);
}

#[test]
fn pool_exhaustion_blames_a_slow_database_behind_the_pool() {
    let mut s = database_with_pooler(vec![pool(30, 5_000, 20, 0)], 45_000);
    let mut slow = Session::new(5000, SessionState::Active);
    slow.client_host = Some("10.0.0.5".into());
    slow.elapsed_ms = Some(9_000);
    slow.blocked_by = vec![4242];
    slow.wait_class = Some(WaitClass::Lock);
    s.sessions.push(slow);
    s.pooler.as_mut().unwrap().servers.push(PoolServer {
        database: "shop".into(),
        user: "app".into(),
        backend_pid: Some(5000),
        local_addr: Some("10.0.0.5".into()),
        ..PoolServer::default()
    });
    let a = one(s);
    let p = a.verdict("pool-exhaustion").unwrap();
    let slow = p
        .actions
        .iter()
        .find(|x| x.contains("The database is slow here"))
        .unwrap_or_else(|| panic!("{:?}", p.actions));
    assert!(
        slow.contains("1 of this pool's server connections")
            && slow.contains("1 of them waiting on locks")
            && slow.contains("backend 5000"),
        "{slow}"
    );
    // Actions are sentences, not wrapped source text.
    assert!(
        p.actions.iter().all(|x| !x.contains("  ")),
        "{:?}",
        p.actions
    );
}

#[test]
fn pooler_held_transaction_near_miss() {
    // Idle in a transaction for less than the threshold: nothing to name.
    let a = one(database_with_pooler(vec![pool(0, 0, 20, 0)], 2_000));
    assert_eq!(sev(&a, "pooler-held-transaction"), None);
    assert_eq!(a.checks["pooler-held-transaction"], CheckState::Ok);
    // idle_transaction_timeout off with no holder and no queue: only a note.
    assert_eq!(sev(&a, "pooler-missing-guardrails"), Some(Severity::Info));
    // The console alone cannot match anything: the rule does not run there.
    let c = one(at_pooler(vec![pool(0, 0, 20, 0)]));
    assert!(!c.checks.contains_key("pooler-held-transaction"));
    assert!(c.checks.contains_key("pooler-missing-guardrails"));
}

/// --pooler, and the console stops answering after the first sample: the database's
/// sample stands (its rules judge it as usual), the pooler's rules say unknown with the
/// gap's reason, and a window with nothing worse is never OK (exit 3, the one policy for
/// what could not be seen).
#[test]
fn a_pooler_that_stopped_answering_is_unknown_not_ok() {
    let lost = |s: &mut Snapshot| {
        s.pooler = None;
        s.gaps.push(Gap {
            area: Area::Pooler,
            reason: "PgBouncer at pgbouncer://admin@10.0.0.5:6432/pgbouncer stopped answering at sample 2 (connection reset)".into(),
            remedy: Some("check that PgBouncer runs".into()),
        });
    };
    // The database has a session idle in a transaction for 45 s: its verdict still comes.
    let a = two(
        database_with_pooler(vec![pool(0, 0, 20, 0)], 45_000),
        5,
        lost,
    );
    assert_eq!(sev(&a, "idle-in-transaction"), Some(Severity::Warning));
    for id in [
        "pool-exhaustion",
        "pooler-held-transaction",
        "pooler-missing-guardrails",
    ] {
        assert_eq!(a.checks[id], CheckState::Unknown, "{id}");
        let v = a.verdict(id).unwrap();
        assert!(
            v.summary.contains("stopped answering at sample 2"),
            "{}",
            v.summary
        );
    }
    assert_eq!(spiral::report::exit_code(&a), 1);
    // A calm database: the unknown pooler decides the exit code.
    let mut calm = database_with_pooler(vec![pool(0, 0, 20, 0)], 45_000);
    calm.sessions.clear();
    calm.counters.insert(counter::DEADLOCKS.into(), 0);
    let a = two(calm.clone(), 5, lost);
    let unknown: Vec<&str> = a
        .verdicts
        .iter()
        .filter(|v| v.severity == Severity::Unknown)
        .map(|v| v.id)
        .collect();
    assert_eq!(
        unknown,
        [
            "pool-exhaustion",
            "pooler-held-transaction",
            "pooler-missing-guardrails"
        ]
    );
    assert_eq!(a.worst(), Severity::Unknown, "{:?}", a.verdicts);
    assert_eq!(spiral::report::exit_code(&a), 3);
    // The same window with the pooler seen has only the guardrail note: exit 0.
    let seen = two(calm, 5, |_| {});
    assert_eq!(spiral::report::exit_code(&seen), 0, "{:?}", seen.verdicts);
}

/// max_client_conn: clients refused at the pooler's door, whatever the pools do.
#[test]
fn pool_exhaustion_says_when_clients_near_max_client_conn() {
    let with_clients = |used: u64, pools: Vec<Pool>| {
        let mut s = at_pooler(pools);
        let p = s.pooler.as_mut().unwrap();
        p.max_client_conn = Some(100);
        p.lists.insert("used_clients".into(), used);
        s
    };
    // 92 of 100 (spiral's own among them), no pool queueing: a warning about the door.
    let a = one(with_clients(92, vec![pool(0, 0, 5, 15)]));
    let v = a.verdict("pool-exhaustion").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary
            .contains("PgBouncer holds 91 client connections of max_client_conn 100")
            && v.summary.contains("8 more and new clients are refused")
            && v.summary
                .contains("no more connections allowed (max_client_conn)"),
        "{}",
        v.summary
    );
    assert!(v.actions[0].contains("SHOW CLIENTS"), "{:?}", v.actions);
    // All taken: clients are refused now.
    let v = one(with_clients(100, vec![pool(0, 0, 5, 15)]))
        .verdict("pool-exhaustion")
        .cloned()
        .unwrap();
    assert_eq!(v.severity, Severity::Critical);
    assert!(
        v.summary.contains("all 100 of max_client_conn are taken"),
        "{}",
        v.summary
    );
    // With a pool queueing as well, both are said, and max_client_conn is not "never raise".
    let v = one(with_clients(95, vec![pool(40, 3_000, 20, 0)]))
        .verdict("pool-exhaustion")
        .cloned()
        .unwrap();
    assert!(
        v.summary.contains("40 clients wait") && v.summary.contains("94 client connections"),
        "{}",
        v.summary
    );
    assert!(
        !v.actions
            .iter()
            .any(|a| a.starts_with("Do not raise max_client_conn")),
        "{:?}",
        v.actions
    );
    // Near miss: 89 of 100 says nothing; without SHOW LISTS the pools' clients count.
    assert_eq!(
        sev(
            &one(with_clients(89, vec![pool(0, 0, 5, 15)])),
            "pool-exhaustion"
        ),
        None
    );
    let mut no_lists = with_clients(0, vec![pool(0, 0, 95, 0)]);
    no_lists.pooler.as_mut().unwrap().lists.clear();
    let v = one(no_lists).verdict("pool-exhaustion").cloned().unwrap();
    assert!(
        v.summary.contains("holds 95 client connections"),
        "{}",
        v.summary
    );
}

#[test]
fn pooler_guardrails_info_on_a_quiet_pool_warning_when_exhausted() {
    let mut s = at_pooler(vec![pool(0, 0, 5, 15)]);
    s.pooler.as_mut().unwrap().query_wait_timeout_ms = Some(0);
    s.pooler.as_mut().unwrap().server_idle_timeout_ms = Some(0);
    let a = one(s.clone());
    let g = a.verdict("pooler-missing-guardrails").unwrap();
    assert_eq!(g.severity, Severity::Info);
    assert!(
        g.summary.contains("query_wait_timeout") && g.summary.contains("server_idle_timeout"),
        "{}",
        g.summary
    );
    assert_eq!(a.worst(), Severity::Ok.max(Severity::Info));
    s.pooler.as_mut().unwrap().pools = vec![pool(40, 3_000, 20, 0)];
    let g = one(s)
        .verdict("pooler-missing-guardrails")
        .cloned()
        .unwrap();
    assert_eq!(g.severity, Severity::Warning);
    assert!(g.summary.contains("40 clients waiting"), "{}", g.summary);
}

#[test]
fn pool_exhaustion_average_wait_from_the_stats_diffed() {
    let stats = |xacts: u64, wait_us: u64| PoolerStats {
        database: "shop".into(),
        xact_count: Some(xacts),
        query_count: Some(xacts * 2),
        wait_time_us: Some(wait_us),
        server_assignments: None,
    };
    let mut first = at_pooler(vec![pool(40, 2_000, 20, 0)]);
    first.pooler.as_mut().unwrap().stats = vec![stats(10_000, 50_000_000)];
    // 500 transactions and 400 s of waiting more: 800 ms each on average.
    let a = two(first.clone(), 5, |s| {
        s.pooler.as_mut().unwrap().pools[0] = pool(60, 3_000, 20, 0);
        s.pooler.as_mut().unwrap().stats = vec![stats(10_500, 450_000_000)];
    });
    let v = a.verdict("pool-exhaustion").unwrap();
    assert!(
        v.summary.contains("waited 800ms on average"),
        "{}",
        v.summary
    );
    assert!(
        v.evidence
            .iter()
            .any(|f| f.key == "average_wait_over_the_window" && f.number == Some(0.8))
    );
    // 1.23's assignment counter is the better denominator when there.
    let mut f2 = first.clone();
    f2.pooler.as_mut().unwrap().stats[0].server_assignments = Some(1_000);
    let a = two(f2, 5, |s| {
        s.pooler.as_mut().unwrap().pools[0] = pool(60, 3_000, 20, 0);
        let mut st = stats(10_500, 450_000_000);
        st.server_assignments = Some(1_200);
        s.pooler.as_mut().unwrap().stats = vec![st];
    });
    assert!(
        a.verdict("pool-exhaustion")
            .unwrap()
            .summary
            .contains("2s on average"),
        "{}",
        a.verdict("pool-exhaustion").unwrap().summary
    );
    // Before 1.8 there is no wait counter, and a reset counter gives nothing: no average.
    let mut old = first.clone();
    old.pooler.as_mut().unwrap().stats[0].wait_time_us = None;
    let a = two(old, 5, |s| {
        s.pooler.as_mut().unwrap().pools[0] = pool(60, 3_000, 20, 0);
        s.pooler.as_mut().unwrap().stats = vec![stats(10_500, 450_000_000)];
    });
    assert!(
        !a.verdict("pool-exhaustion")
            .unwrap()
            .summary
            .contains("on average")
    );
    let a = two(first, 5, |s| {
        s.pooler.as_mut().unwrap().pools[0] = pool(60, 3_000, 20, 0);
        s.pooler.as_mut().unwrap().stats = vec![stats(20, 1_000)];
    });
    assert!(
        !a.verdict("pool-exhaustion")
            .unwrap()
            .summary
            .contains("on average")
    );
}

#[test]
fn pool_exhaustion_names_the_pool_and_the_longest_waits() {
    let a = two(at_pooler(vec![pool(40, 2_000, 20, 0)]), 5, |s| {
        s.pooler.as_mut().unwrap().pools[0] = pool(140, 7_000, 20, 0);
    });
    let v = a.verdict("pool-exhaustion").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary.contains("Pool shop/app: 140 clients wait") && v.summary.contains("7s"),
        "{}",
        v.summary
    );
    assert!(v.summary.contains("waiting 40 -> 140"), "{}", v.summary);
    assert_eq!(v.culprits.users, vec!["app".to_string()]);
    assert_eq!(v.culprits.applications, vec!["checkout".to_string()]);
    assert!(v.actions[0].contains("database first"));
    assert!(
        v.actions
            .iter()
            .any(|x| x.contains("Do not raise max_client_conn"))
    );
    // Database rules do not run on a pooler's snapshot (they would see nothing).
    assert_eq!(
        a.checks.keys().copied().collect::<Vec<_>>(),
        vec!["pool-exhaustion", "pooler-missing-guardrails"]
    );
}

#[test]
fn pool_exhaustion_critical_near_the_wait_timeout_or_long() {
    assert_eq!(
        sev(
            &one(at_pooler(vec![pool(10, 12_000, 20, 0)])),
            "pool-exhaustion"
        ),
        Some(Severity::Critical)
    );
    let mut s = at_pooler(vec![pool(10, 4_000, 20, 0)]);
    s.pooler.as_mut().unwrap().query_wait_timeout_ms = Some(5_000);
    assert_eq!(sev(&one(s), "pool-exhaustion"), Some(Severity::Critical));
    // Waiting forever is named.
    let mut s = at_pooler(vec![pool(10, 4_000, 20, 0)]);
    s.pooler.as_mut().unwrap().query_wait_timeout_ms = Some(0);
    let a = one(s);
    let v = a.verdict("pool-exhaustion").unwrap();
    assert!(
        v.actions
            .iter()
            .any(|x| x.contains("query_wait_timeout is 0"))
    );
}

#[test]
fn pool_exhaustion_near_miss() {
    // A momentary queue is what a pool is for.
    assert_eq!(
        sev(
            &one(at_pooler(vec![pool(3, 200, 20, 0)])),
            "pool-exhaustion"
        ),
        None
    );
    // Clients wait but a server sits idle: not exhaustion (a pause, a login in progress).
    assert_eq!(
        sev(
            &one(at_pooler(vec![pool(3, 5_000, 19, 1)])),
            "pool-exhaustion"
        ),
        None
    );
    // Busy and full, nobody waiting.
    assert_eq!(
        sev(&one(at_pooler(vec![pool(0, 0, 20, 0)])), "pool-exhaustion"),
        None
    );
    // A database snapshot never runs the pooler rule.
    assert!(
        !one(snap(Engine::Postgres))
            .checks
            .contains_key("pool-exhaustion")
    );
}

// --- issue 11: log-write-pressure, tempdb-allocation-contention, cpu-pressure, and the
// --- cause of worker exhaustion ---------------------------------------------------------

/// Cumulative wait statistics: (type, wait ms, signal ms, tasks).
fn with_waits(mut s: Snapshot, waits: &[(&str, u64, u64, u64)]) -> Snapshot {
    s.wait_stats = Some(
        waits
            .iter()
            .map(|&(w, ms, signal, tasks)| {
                (
                    w.to_string(),
                    spiral::model::snapshot::WaitStat {
                        wait_ms: ms,
                        signal_ms: signal,
                        tasks,
                    },
                )
            })
            .collect(),
    );
    s
}

/// Two samples 10 s apart whose wait statistics grew by `grow` (type, ms, signal, tasks).
fn waits_window(base: Snapshot, grow: &[(&str, u64, u64, u64)]) -> Assessment {
    let start: Vec<(&str, u64, u64, u64)> = grow
        .iter()
        .map(|&(w, _, _, _)| (w, 1_000_000, 10_000, 50_000))
        .collect();
    let end: Vec<(&str, u64, u64, u64)> = grow
        .iter()
        .map(|&(w, ms, sig, n)| (w, 1_000_000 + ms, 10_000 + sig, 50_000 + n))
        .collect();
    let first = with_waits(base, &start);
    let last = with_waits(first.clone(), &end);
    two(first, 10, |s| s.wait_stats = last.wait_stats)
}

#[test]
fn log_write_pressure_from_slow_commits_and_near_misses() {
    // 45 s of WRITELOG over 10 s in 900 waits: 4.5 s per second, 50 ms each.
    let a = waits_window(snap(Engine::Mssql), &[("WRITELOG", 45_000, 100, 900)]);
    let v = a.verdict("log-write-pressure").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary.contains("WRITELOG 4,500 ms per second") && v.summary.contains("local log flush"),
        "{}",
        v.summary
    );
    // 150 ms per commit: sp_BlitzFirst's slow-log-write bar, critical.
    let a = waits_window(snap(Engine::Mssql), &[("WRITELOG", 45_000, 100, 300)]);
    assert_eq!(sev(&a, "log-write-pressure"), Some(Severity::Critical));
    // Near miss: many fast commits (20,000 at 1 ms = 2 s per second) are a healthy log.
    let a = waits_window(snap(Engine::Mssql), &[("WRITELOG", 20_000, 100, 20_000)]);
    assert!(a.verdict("log-write-pressure").is_none());
    assert_eq!(a.checks["log-write-pressure"], CheckState::Ok);
    // Near miss: slow but rare (one 300 ms commit in the window).
    let a = waits_window(snap(Engine::Mssql), &[("WRITELOG", 300, 0, 1)]);
    assert!(a.verdict("log-write-pressure").is_none());
}

#[test]
fn log_write_pressure_names_the_synchronous_replica_when_it_dominates() {
    let a = waits_window(
        snap(Engine::Mssql),
        &[
            ("WRITELOG", 2_000, 0, 1_000),
            ("HADR_SYNC_COMMIT", 30_000, 0, 1_000),
        ],
    );
    let v = a.verdict("log-write-pressure").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary
            .contains("synchronous availability-group secondary"),
        "{}",
        v.summary
    );
    assert!(v.actions[0].contains("sys.dm_hadr_database_replica_states"));
    assert!(v.actions[1].contains("ASYNCHRONOUS_COMMIT"));
    // Without wait statistics on a one-sample window it waits for the second sample.
    assert_eq!(
        one(snap(Engine::Mssql)).checks["log-write-pressure"],
        CheckState::Pending
    );
}

fn tempdb(waits: &[(&str, u64, u64)]) -> Snapshot {
    let mut s = snap(Engine::Mssql);
    s.tempdb_latches = Some(
        waits
            .iter()
            .map(|&(r, n, ms)| spiral::model::snapshot::PageLatchWait {
                resource: r.into(),
                waiters: n,
                longest_ms: ms,
            })
            .collect(),
    );
    s
}

#[test]
fn tempdb_allocation_contention_fires_on_bitmap_pages_only() {
    let a = one(tempdb(&[
        ("2:1:1", 70, 1_500),
        ("2:3:1", 38, 900),
        ("2:1:3", 12, 400),
        ("2:1:116", 30, 8_000),
    ]));
    let v = a.verdict("tempdb-allocation-contention").expect("fires");
    assert_eq!(v.severity, Severity::Critical);
    assert!(
        v.summary.starts_with("120 tasks")
            && v.summary.contains("PFS 2:1:1 (70)")
            && v.summary.contains("SGAM 2:1:3 (12)")
            && v.summary.contains("the longest 1s"),
        "{}",
        v.summary
    );
    assert!(v.actions[0].contains("ADD FILE"));
    assert_eq!(
        sev(
            &one(tempdb(&[("2:1:2", 10, 100)])),
            "tempdb-allocation-contention"
        ),
        Some(Severity::Warning)
    );
    // Near misses: a few waiters; many waiters on a non-allocation tempdb page or on a hot
    // page of a user database.
    for s in [
        tempdb(&[("2:1:1", 9, 100)]),
        tempdb(&[("2:1:116", 400, 100)]),
        tempdb(&[("7:1:1", 400, 100)]),
        tempdb(&[]),
    ] {
        let a = one(s);
        assert!(a.verdict("tempdb-allocation-contention").is_none());
        assert_eq!(a.checks["tempdb-allocation-contention"], CheckState::Ok);
    }
}

#[test]
fn tempdb_latches_unseen_is_unknown_on_sql_server() {
    let mut s = snap(Engine::Mssql);
    s.gaps.push(Gap {
        area: Area::Latches,
        reason: "error 297".into(),
        remedy: None,
    });
    assert_eq!(
        one(s).checks["tempdb-allocation-contention"],
        CheckState::Unknown
    );
}

/// `active` requests of which `runnable` wait for a CPU; `queue` runnable tasks on 16 CPUs.
fn cpu(active: i64, runnable: i64, queue: u64) -> Snapshot {
    let mut s = workers(300, 0, 0);
    if let Some(w) = s.workers.as_mut() {
        w.runnable_tasks = queue;
        w.cpu_count = Some(16);
    }
    for id in 0..active {
        let mut x = client(100 + id, "app", "10.0.0.9", SessionState::Active);
        x.elapsed_ms = Some(200);
        x.raw_state = Some(
            if id < runnable {
                "runnable"
            } else {
                "suspended"
            }
            .into(),
        );
        s.sessions.push(x);
    }
    s
}

#[test]
fn cpu_pressure_from_runnable_requests_and_near_misses() {
    let a = two(cpu(40, 12, 4), 10, |_| {});
    let v = a.verdict("cpu-pressure").expect("fires");
    assert_eq!(v.severity, Severity::Warning);
    assert!(
        v.summary.starts_with("12 of 40 requests are runnable"),
        "{}",
        v.summary
    );
    // Near misses: 20% exactly; only 8 requests (sp_PressureDetector's floor); a burst in
    // the last sample only.
    assert!(
        two(cpu(40, 8, 4), 10, |_| {})
            .verdict("cpu-pressure")
            .is_none()
    );
    assert!(
        two(cpu(8, 6, 4), 10, |_| {})
            .verdict("cpu-pressure")
            .is_none()
    );
    assert!(
        two(cpu(40, 2, 4), 10, |s| *s = cpu(40, 30, 4))
            .verdict("cpu-pressure")
            .is_none()
    );
}

#[test]
fn cpu_pressure_from_the_schedulers_queue_needs_signal_waits() {
    // 32 runnable tasks on 16 CPUs, few runnable requests (parallel tasks queue too).
    let base = cpu(40, 2, 32);
    let a = waits_window(
        base.clone(),
        &[("SOS_SCHEDULER_YIELD", 40_000, 38_000, 9_000)],
    );
    let v = a.verdict("cpu-pressure").expect("fires");
    assert!(v.summary.contains("95% of the wait time"), "{}", v.summary);
    // Near miss: the same queue while signal waits are a small share.
    let a = waits_window(base, &[("LCK_M_X", 90_000, 1_000, 100)]);
    assert!(a.verdict("cpu-pressure").is_none());
    // Silent while tasks queue for workers: worker-thread-exhaustion speaks.
    let mut s = cpu(40, 30, 32);
    if let Some(w) = s.workers.as_mut() {
        w.queued_tasks = 50;
    }
    let a = two(s, 10, |_| {});
    assert!(a.verdict("cpu-pressure").is_none());
    assert!(a.verdict("worker-thread-exhaustion").is_some());
}

#[test]
fn worker_exhaustion_says_parallel_queries_took_the_workers() {
    let mut s = workers(2_400, 300, 40);
    s.parallelism = Some(spiral::model::snapshot::Parallelism {
        parallel_requests: 60,
        parallel_tasks: 1_900,
        max_request_tasks: 65,
        maxdop: Some(0),
        cost_threshold: Some(5),
    });
    let v = one(s.clone())
        .verdict("worker-thread-exhaustion")
        .cloned()
        .expect("fires");
    assert!(
        v.summary
            .contains("Parallel queries hold 1,900 of the active workers: 60 requests with up to 65 tasks each (MAXDOP 0, cost threshold 5)"),
        "{}",
        v.summary
    );
    assert!(v.actions[0].contains("--dac"));
    assert!(
        v.actions[1].contains("'max degree of parallelism' (now 0: every scheduler)")
            && v.actions[1].contains("'cost threshold for parallelism' (now 5)"),
        "{}",
        v.actions[1]
    );
    // Near miss: a few parallel queries beside a serial pile-up are not the cause.
    if let Some(p) = s.parallelism.as_mut() {
        p.parallel_requests = 2;
        p.parallel_tasks = 17;
    }
    let v = one(s)
        .verdict("worker-thread-exhaustion")
        .cloned()
        .expect("fires");
    assert!(!v.summary.contains("Parallel queries"), "{}", v.summary);
    assert!(!v.actions.iter().any(|a| a.contains("max degree")));
}

// --- sessions counted in groups (SQL Server over the DAC) ------------------------------

/// The same window judged twice: from its sessions listed, and from them counted in
/// groups as the DAC sample counts them on the server (`session_group::aggregate`, split
/// at the default thresholds). Every verdict, summary, figure and culprit must agree.
fn same_from_groups(snapshots: Vec<Snapshot>) -> Assessment {
    use spiral::model::session_group::{SessionCuts, aggregate};
    let grouped: Vec<Snapshot> = snapshots
        .iter()
        .map(|s| aggregate(s, SessionCuts::default()))
        .collect();
    assert!(
        grouped.iter().any(|s| !s.session_groups.is_empty()),
        "the window has sessions to count"
    );
    let t = Thresholds::default();
    let full = evaluate(&Window::from_snapshots(snapshots).unwrap(), &t);
    let counted = evaluate(&Window::from_snapshots(grouped).unwrap(), &t);
    assert_eq!(full.checks, counted.checks);
    assert_eq!(full.verdicts.len(), counted.verdicts.len());
    for (f, c) in full.verdicts.iter().zip(&counted.verdicts) {
        assert_eq!(
            (f.id, f.severity, &f.summary, &f.actions, &f.culprits),
            (c.id, c.severity, &c.summary, &c.actions, &c.culprits)
        );
        // A figure may say what connections without ids leave open (who arrived or left
        // of a source partly counted in groups); every other figure is the same.
        let told = |v: &spiral::model::verdict::Verdict| -> Vec<(String, String)> {
            v.evidence
                .iter()
                .filter(|e| !e.value.contains("counted in groups have no ids"))
                .map(|e| (e.key.clone(), e.value.clone()))
                .collect()
        };
        let (tf, tc) = (told(f), told(c));
        assert!(tc.iter().all(|x| tf.contains(x)), "{tf:?} against {tc:?}");
        assert!(tf.len() - tc.len() <= 2, "{tf:?} against {tc:?}");
    }
    full
}

fn later(first: &Snapshot, secs: i64, edit: impl FnOnce(&mut Snapshot)) -> Vec<Snapshot> {
    let mut second = first.clone();
    second.taken_at = first.taken_at + Duration::seconds(secs);
    edit(&mut second);
    vec![first.clone(), second]
}

#[test]
fn counted_sessions_give_the_verdicts_of_listed_ones() {
    // Connection exhaustion and client-pool saturation: counts per user, app and host.
    let mut s = with_clients(0, 800);
    for h in 0..12 {
        for k in 0..60 {
            let st = if k < 55 {
                SessionState::Active
            } else {
                SessionState::Idle
            };
            let mut x = client(1_000 + h * 100 + k, "api", &format!("10.2.0.{h}"), st);
            x.elapsed_ms = (st == SessionState::Active).then_some(2_000 + k as u64 * 10);
            x.idle_ms = (st == SessionState::Idle).then_some(3_000);
            s.sessions.push(x);
        }
    }
    let a = same_from_groups(later(&s, 10, |_| {}));
    assert!(a.verdict("connection-exhaustion").is_some());
    assert!(a.verdict("client-pool-saturation").is_some());

    // The compile gate and Query Store: waiters counted by wait class and database.
    let (mut s, _) = compiling(120, 3_000);
    for x in s.sessions.iter_mut() {
        x.elapsed_ms = Some(20_000 + (x.id as u64 % 40) * 1_000);
        x.database = Some("shop".into());
    }
    for i in 0..30 {
        let mut x = client(900 + i, "app", "h1", SessionState::Active);
        x.wait_type = Some("QDS_STMT".into());
        x.wait_class = Some(WaitClass::QueryStore);
        x.elapsed_ms = Some(18_000);
        x.database = Some("shop".into());
        s.sessions.push(x);
    }
    s.databases = vec![DatabaseInfo {
        name: "shop".into(),
        query_store: Some("read_write".into()),
        read_committed_snapshot: Some(false),
    }];
    let a = same_from_groups(later(&s, 10, |l| {
        l.counters.insert(counter::COMPILATIONS.into(), 1_030_000);
        l.counters.insert(counter::BATCHES.into(), 3_090_000);
    }));
    assert_eq!(sev(&a, "compile-gate-saturation"), Some(Severity::Critical));
    // Requests past the client's timeout, their count and the 20 longest by id, and the
    // runnable queue.
    assert_eq!(sev(&a, "client-timeout-exceeded"), Some(Severity::Critical));
    assert_eq!(
        a.verdict("client-timeout-exceeded")
            .unwrap()
            .culprits
            .sessions
            .len(),
        20
    );

    // Worker exhaustion, THREADPOOL waiters counted among all sessions.
    let mut s = workers(2_400, 300, 40);
    for i in 0..50 {
        let mut x = client(3_000 + i, "app", "h2", SessionState::Active);
        x.wait_type = Some("THREADPOOL".into());
        x.wait_class = Some(WaitClass::Threadpool);
        x.elapsed_ms = Some(1_000);
        s.sessions.push(x);
    }
    let a = same_from_groups(vec![s]);
    assert_eq!(
        sev(&a, "worker-thread-exhaustion"),
        Some(Severity::Critical)
    );

    // Blocking: the chain's sessions stay listed, whatever else is counted.
    let mut s = lock_chain(120);
    s.sessions
        .extend((0..40).map(|i| idle(500 + i, "shop", 30)));
    let a = same_from_groups(vec![s]);
    assert!(a.verdict("blocking-chain").is_some());
}

#[test]
fn counted_idle_connections_give_the_leak_verdicts_of_listed_ones() {
    // Old idle connections (listed: past --idle-over) and young ones (counted).
    let mut s = with_clients(2, 200);
    s.sessions
        .extend((0..70).map(|i| pooled(200 + i, "celery", SessionState::Idle, 600 + i as u64)));
    s.sessions
        .extend((0..30).map(|i| pooled(400 + i, "celery", SessionState::Idle, 4)));
    let a = same_from_groups(later(&s, 10, |l| {
        for x in l.sessions.iter_mut().filter(|x| x.idle_ms.is_some()) {
            x.idle_ms = x.idle_ms.map(|ms| ms + 10_000);
        }
    }));
    assert!(a.verdict("idle-connection-leak").is_some());
    // Young only: no leak either way.
    let mut s = with_clients(2, 200);
    s.sessions
        .extend((0..150).map(|i| pooled(200 + i, "shop", SessionState::Idle, 2)));
    let a = same_from_groups(later(&s, 10, |_| {}));
    assert!(a.verdict("idle-connection-leak").is_none());
    // A full-size pool at rest, with a few young connections beside it: a note both ways.
    let mut s = with_clients(2, 100);
    s.sessions
        .extend((0..30).map(|i| idle(200 + i, "shop", 600)));
    s.sessions.extend((0..5).map(|i| idle(300 + i, "shop", 3)));
    let a = same_from_groups(vec![s]);
    assert_eq!(sev(&a, "idle-connection-leak"), Some(Severity::Info));
}

#[test]
fn a_growth_hidden_in_groups_is_said_unknown_not_guessed() {
    // 70 old idle connections held, and 12 young ones that arrived during the window: from
    // listed sessions the set grows (a warning). Counted in groups, the young ones have no
    // ids, so whether they arrived cannot be told: the verdict stays a note that says so,
    // never a false alarm, and never silent.
    use spiral::model::session_group::{SessionCuts, aggregate};
    let mut s = with_clients(2, 200);
    s.sessions
        .extend((0..70).map(|i| pooled(200 + i, "celery", SessionState::Idle, 600 + i as u64)));
    let window = later(&s, 10, |l| {
        for x in l.sessions.iter_mut().filter(|x| x.idle_ms.is_some()) {
            x.idle_ms = x.idle_ms.map(|ms| ms + 10_000);
        }
        l.sessions.extend((0..12).map(|i| {
            let mut x = idle(300 + i, "celery", 5);
            x.connected_at = Some(t0() + Duration::seconds(4));
            x
        }))
    });
    let t = Thresholds::default();
    let full = evaluate(&Window::from_snapshots(window.clone()).unwrap(), &t);
    assert_eq!(sev(&full, "idle-connection-leak"), Some(Severity::Warning));
    let grouped: Vec<Snapshot> = window
        .iter()
        .map(|x| aggregate(x, SessionCuts::default()))
        .collect();
    let counted = evaluate(&Window::from_snapshots(grouped).unwrap(), &t);
    let v = counted
        .verdict("idle-connection-leak")
        .expect("still reported");
    assert_eq!(v.severity, Severity::Info);
    assert!(v.summary.contains("cannot be told"), "{}", v.summary);
}

#[test]
fn a_capture_counted_at_other_thresholds_is_unknown_not_guessed() {
    // Requests counted in groups split at 15 s, judged with --client-timeout 30s: a group
    // spanning 20-40 s cannot say how many are past 30 s.
    use spiral::model::session_group::{SessionCuts, aggregate};
    let mut s = running(30, 20);
    for (i, x) in s.sessions.iter_mut().enumerate() {
        x.elapsed_ms = Some(20_000 + i as u64 * 1_000);
    }
    let counted = aggregate(&s, SessionCuts::default());
    let t = Thresholds {
        client_timeout: 60.0,
        ..Thresholds::default()
    };
    // Past every member: exact (the 20 longest are listed, the rest counted as younger).
    let a = evaluate(&Window::new(counted.clone()), &t);
    assert!(a.verdict("client-timeout-exceeded").is_none());
    let t = Thresholds {
        client_timeout: 22.0,
        ..Thresholds::default()
    };
    let a = evaluate(&Window::new(counted), &t);
    assert_eq!(sev(&a, "client-timeout-exceeded"), Some(Severity::Unknown));
}

#[test]
fn a_group_is_never_a_kill_victim() {
    use spiral::model::session_group::{SessionCuts, aggregate};
    let mut s = with_clients(0, 100);
    s.sessions
        .extend((0..40).map(|i| idle(200 + i, "shop", 30)));
    let counted = aggregate(&s, SessionCuts::default());
    assert!(
        counted.sessions.is_empty(),
        "every young idle one is counted"
    );
    assert_eq!(counted.session_groups.len(), 1);
    assert_eq!(counted.session_groups[0].count, 40);
    assert_eq!(counted.session_groups[0].like.id, 0);
}
