//! The bundled captures in captures/, built from the figures in the postmortems
//! (../shared/incidents). `cargo run --example build_captures` writes them; the
//! `bundled_captures_are_current` test fails when a committed file differs from what this
//! code builds, so the files cannot drift from their documented origin.
//!
//! Where a postmortem's figures were taken at different moments and cannot all hold in one
//! instant, the capture spreads them over its samples; each capture's header note says so.
#![allow(dead_code)]

use chrono::{DateTime, Duration, TimeZone, Utc};
use spiral::capture::Header;
use spiral::model::session::{Session, SessionKind, SessionState, WaitClass};
use spiral::model::snapshot::{
    CompileGate, ConnectionLimits, DatabaseInfo, Engine, GrantHolder, GrantPool, Guardrails,
    HolderKind, Horizon, HorizonHolder, LogReuse, MemoryGrants, PlanCacheEntry, Pool, PoolClient,
    PoolServer, PoolWaiter, Pooler, PoolerStats, ServerInfo, Snapshot, WaitStat, Workers, counter,
};

pub struct Bundled {
    pub file: &'static str,
    pub header: Header,
    pub snapshots: Vec<Snapshot>,
}

impl Bundled {
    /// The JSON Lines text of the capture.
    pub fn to_jsonl(&self) -> String {
        let mut out = serde_json::to_string(&self.header).expect("header serializes");
        out.push('\n');
        for s in &self.snapshots {
            out.push_str(&serde_json::to_string(s).expect("snapshot serializes"));
            out.push('\n');
        }
        out
    }
}

pub fn all() -> Vec<Bundled> {
    vec![
        sqlserver_sunday_spiral(),
        sqlserver_stabilized(),
        sqlserver_orphaned_dtc(),
        sqlserver_memory_grant_queue(),
        sqlserver_log_write_pressure(),
        sqlserver_tempdb_contention(),
        sqlserver_runnable_queue(),
        postgres_connection_leak(),
        mysql_shipping_sleepers(),
        postgres_deadlocked_pool(),
        postgres_healthy_busy(),
        sqlserver_long_import(),
        sqlserver_version_store(),
        pgbouncer_pool_exhausted(),
        pgbouncer_beside_postgres_held(),
    ]
}

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("valid time")
}

fn header(engine: Engine, target: &str, started: DateTime<Utc>, note: &str) -> Header {
    let mut h = Header::new(engine, target, started);
    // Fixed so the files do not change with every release.
    h.spiral_version = "0.1.0".to_string();
    h.note = Some(note.to_string());
    h
}

/// A small deterministic sequence, so generated sessions vary without randomness.
struct Seq(u64);
impl Seq {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n.max(1)
    }
}

fn session(id: i64, user: &str, host: &str, app: &str, db: &str, state: SessionState) -> Session {
    let mut s = Session::new(id, state);
    s.user = Some(user.into());
    s.client_host = Some(host.into());
    s.application = Some(app.into());
    s.database = Some(db.into());
    s
}

fn waiting(
    mut s: Session,
    wait: &str,
    class: WaitClass,
    wait_ms: u64,
    elapsed_ms: u64,
    sql: &str,
) -> Session {
    s.raw_state = Some("suspended".into());
    s.wait_type = Some(wait.into());
    s.wait_class = Some(class);
    s.wait_ms = Some(wait_ms);
    s.elapsed_ms = Some(elapsed_ms);
    s.query = Some(sql.into());
    s
}

// ---------------------------------------------------------------------------------------
// Incident 000: the SQL Server Sunday spiral.

const WIDGET_SELECT: &str =
    "SELECT TOP (5) [r].[Id], [r].[Body] FROM [dbo].[Review] AS [r] WHERE [r].[ShopId] = @p0";
const CENSOR_UPDATE: &str = "UPDATE [dbo].[Review] SET [Body] = @p0 WHERE [Id] = @p1";
const DB000: &str = "shopry_shopifyproductaddons";

fn sunday_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version: "16.0.4135.4 (SQL Server 2022 Standard)".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(9_999);
    // 49 ECS task hosts pinned at their pool maximum of 100, and 82 other hosts (consumers,
    // cron, admin tools) with a few connections each: 5,049 connections from 131 hosts.
    let mut hosts: Vec<(String, &str, u64)> = (0..49)
        .map(|i| {
            (
                format!("ip-10-0-{}-{}", 10 + i / 20, 11 + i),
                "app-backend-api",
                100,
            )
        })
        .collect();
    for i in 0..82u64 {
        let app = if i < 8 {
            "app-backend-cron-review-censor"
        } else {
            "app-backend-consumer"
        };
        hosts.push((
            format!("ip-10-1-{}-{}", i / 30, 20 + i),
            app,
            if i < 67 { 2 } else { 1 },
        ));
    }
    // The postmortem's "QDS_STMT 3342,574 sessions stuck" reads as 334 QDS_STMT waiters
    // followed by "2,574 sessions stuck waiting to compile" (its worker figure runs together
    // the same way: "25101,817" is 2,510 active workers and 1,817 queued tasks).
    let (compile_waiters, qds_waiters) = (2_574u64, 334u64);
    let mut seq = Seq(sample + 7);
    let mut id = 51i64;
    let mut compile_left = compile_waiters;
    let mut qds_left = qds_waiters;
    for (host, app, n) in &hosts {
        for _ in 0..*n {
            let mut s = session(id, "app_backend", host, app, DB000, SessionState::Active);
            s.command = Some("SELECT".into());
            s = if *app == "app-backend-api" && compile_left > 0 {
                compile_left -= 1;
                waiting(
                    s,
                    "RESOURCE_SEMAPHORE_QUERY_COMPILE",
                    WaitClass::Compile,
                    2_000 + seq.next(20_000),
                    20_000 + seq.next(40_000),
                    WIDGET_SELECT,
                )
            } else if *app == "app-backend-api" && qds_left > 0 {
                qds_left -= 1;
                waiting(
                    s,
                    "QDS_STMT",
                    WaitClass::QueryStore,
                    500 + seq.next(9_000),
                    16_000 + seq.next(40_000),
                    WIDGET_SELECT,
                )
            } else if *app == "app-backend-api" {
                let mut s = waiting(
                    s,
                    "SOS_SCHEDULER_YIELD",
                    WaitClass::Cpu,
                    0,
                    30_000 + seq.next(29_000),
                    WIDGET_SELECT,
                );
                s.raw_state = Some("runnable".into());
                s
            } else {
                let mut s = s;
                s.state = SessionState::Idle;
                s.raw_state = Some("sleeping".into());
                s.command = None;
                s.idle_ms = Some(seq.next(3_000));
                s
            };
            snap.sessions.push(s);
            id += 1;
        }
    }
    // The lock chain the team found, closing into a cycle: 512 -> 182 -> 3453 -> 2035 -> 512,
    // with widget SELECTs queued on shared locks behind it.
    let chain = [
        (512i64, 182i64, "MERGE"),
        (182, 3453, "UPDATE"),
        (3453, 2035, "INSERT"),
        (2035, 512, "SELECT"),
    ];
    for (sid, by, cmd) in chain {
        if let Some(s) = snap.sessions.iter_mut().find(|s| s.id == sid) {
            let sql = if cmd == "UPDATE" {
                CENSOR_UPDATE
            } else {
                WIDGET_SELECT
            };
            *s = waiting(
                s.clone(),
                if cmd == "SELECT" {
                    "LCK_M_S"
                } else {
                    "LCK_M_IX"
                },
                WaitClass::Lock,
                59_000,
                59_400,
                sql,
            );
            s.command = Some(cmd.into());
            s.blocked_by = vec![by];
            s.open_transactions = 1;
        }
    }
    for sid in 600..640i64 {
        if let Some(s) = snap.sessions.iter_mut().find(|s| s.id == sid) {
            *s = waiting(
                s.clone(),
                "LCK_M_S",
                WaitClass::Lock,
                20_000 + (sid as u64 % 39) * 1_000,
                59_000,
                WIDGET_SELECT,
            );
            // Widget reads queued on shared locks behind the censor's UPDATE.
            s.blocked_by = vec![182];
        }
    }
    snap.connections = ConnectionLimits {
        max_connections: None,
        reserved: 0,
        current: Some(snap.sessions.len() as u64 + 1),
    };
    snap.workers = Some(Workers {
        max_workers: 2_400,
        active_workers: 2_510,
        current_workers: 2_560,
        queued_tasks: 1_817,
        runnable_tasks: 64,
        threadpool_waiters: 212,
        cpu_count: Some(64),
    });
    snap.compile_gate = Some(CompileGate {
        waiters: compile_waiters,
        active: 321,
        limit: 321,
    });
    // 2,200-4,600 compilations/s, one batch in three compiled.
    let secs = sample * 10;
    snap.counters
        .insert(counter::COMPILATIONS.into(), 918_000_000 + secs * 3_400);
    snap.counters
        .insert(counter::RECOMPILATIONS.into(), 4_100_000 + secs * 40);
    snap.counters
        .insert(counter::BATCHES.into(), 2_700_000_000 + secs * 10_200);
    snap.counters
        .insert(counter::LOGINS.into(), 61_000_000 + secs * 90);
    snap.counters.insert(counter::DEADLOCKS.into(), 1_204);
    snap.plan_cache = Some(vec![
        PlanCacheEntry {
            object_type: "Prepared".into(),
            plans: 118_400,
            single_use: 104_900,
            size_bytes: 9_820_000_000,
        },
        PlanCacheEntry {
            object_type: "Adhoc".into(),
            plans: 41_200,
            single_use: 38_700,
            size_bytes: 2_100_000_000,
        },
        PlanCacheEntry {
            object_type: "Proc".into(),
            plans: 812,
            single_use: 40,
            size_bytes: 310_000_000,
        },
    ]);
    snap.guardrails = Guardrails {
        optimize_for_ad_hoc: Some(false),
        ..Guardrails::default()
    };
    snap.databases = vec![
        DatabaseInfo {
            name: DB000.into(),
            query_store: Some("read_write".into()),
            read_committed_snapshot: Some(false),
        },
        DatabaseInfo {
            name: "master".into(),
            query_store: Some("off".into()),
            read_committed_snapshot: Some(false),
        },
    ];
    snap
}

fn sqlserver_sunday_spiral() -> Bundled {
    let t0 = at(2024, 11, 17, 9, 41, 0);
    Bundled {
        file: "captures/000-sqlserver-sunday-spiral.jsonl",
        header: header(
            Engine::Mssql,
            "mssql://app_backend@sql-prod-01:1433/shopry_shopifyproductaddons",
            t0,
            "Incident 000 at its worst: 5,049 connections from 131 hosts (49 pinned at 100), 1,817 tasks queued, 2,510 active of 2,400 workers, 3,400 compilations/s (one batch in three), Query Store read-write, the 512->182->3453->2035 lock cycle. 2,574 sessions at the compile gate and 334 on QDS_STMT (the postmortem's run-together \"QDS_STMT 3342,574\").",
        ),
        snapshots: vec![
            sunday_sample(t0, 0),
            sunday_sample(t0 + Duration::seconds(10), 1),
        ],
    }
}

fn stabilized_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version: "16.0.4135.4 (SQL Server 2022 Standard)".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(9_999);
    let mut seq = Seq(40 + sample);
    let mut id = 51i64;
    // 20 ECS tasks with pools that are mostly idle, and the healthy waits the team saw.
    let waits: [(&str, WaitClass, u64); 4] = [
        ("ASYNC_NETWORK_IO", WaitClass::Network, 13),
        ("PAGEIOLATCH_SH", WaitClass::Io, 7),
        ("CXCONSUMER", WaitClass::Other, 5),
        ("LCK_M_IX", WaitClass::Lock, 4),
    ];
    let mut busy: Vec<(&str, WaitClass)> = Vec::new();
    for (w, c, n) in waits {
        for _ in 0..n {
            busy.push((w, c));
        }
    }
    for h in 0..20 {
        let host = format!("ip-10-0-20-{}", 30 + h);
        let n = 24 + seq.next(12);
        for k in 0..n {
            let mut s = session(
                id,
                "app_backend",
                &host,
                "app-backend-api",
                DB000,
                SessionState::Idle,
            );
            s.raw_state = Some("sleeping".into());
            s.idle_ms = Some(seq.next(4_000));
            if k < 3
                && let Some((w, c)) = busy.pop()
            {
                s.state = SessionState::Active;
                s.idle_ms = None;
                s = waiting(
                    s,
                    w,
                    c,
                    5 + seq.next(300),
                    40 + seq.next(900),
                    WIDGET_SELECT,
                );
            }
            snap.sessions.push(s);
            id += 1;
        }
    }
    // The short LCK_M_IX waits are behind one quick censor update.
    let blocker = 60i64;
    for s in snap
        .sessions
        .iter_mut()
        .filter(|s| s.wait_type.as_deref() == Some("LCK_M_IX"))
    {
        s.blocked_by = vec![blocker];
        s.statement = Some(spiral::model::session::StatementKind::Write);
    }
    snap.connections = ConnectionLimits {
        max_connections: None,
        reserved: 0,
        current: Some(snap.sessions.len() as u64 + 1),
    };
    snap.workers = Some(Workers {
        max_workers: 3_000,
        active_workers: 310 + seq.next(40),
        current_workers: 520,
        queued_tasks: 0,
        runnable_tasks: 9,
        threadpool_waiters: 0,
        cpu_count: Some(64),
    });
    snap.compile_gate = Some(CompileGate {
        waiters: 0,
        active: 6,
        limit: 321,
    });
    let secs = sample * 5;
    snap.counters
        .insert(counter::COMPILATIONS.into(), 918_100_000 + secs * 140);
    snap.counters
        .insert(counter::RECOMPILATIONS.into(), 4_110_000 + secs * 3);
    snap.counters
        .insert(counter::BATCHES.into(), 2_710_000_000 + secs * 6_800);
    snap.counters
        .insert(counter::LOGINS.into(), 61_100_000 + secs * 4);
    snap.counters.insert(counter::DEADLOCKS.into(), 1_204);
    snap.plan_cache = Some(vec![
        PlanCacheEntry {
            object_type: "Prepared".into(),
            plans: 9_800,
            single_use: 3_100,
            size_bytes: 820_000_000,
        },
        PlanCacheEntry {
            object_type: "Adhoc".into(),
            plans: 2_400,
            single_use: 1_900,
            size_bytes: 90_000_000,
        },
        PlanCacheEntry {
            object_type: "Proc".into(),
            plans: 790,
            single_use: 30,
            size_bytes: 300_000_000,
        },
    ]);
    snap.guardrails = Guardrails {
        optimize_for_ad_hoc: Some(false),
        ..Guardrails::default()
    };
    snap.databases = vec![DatabaseInfo {
        name: DB000.into(),
        query_store: Some("off".into()),
        read_committed_snapshot: Some(false),
    }];
    snap
}

fn sqlserver_stabilized() -> Bundled {
    let t0 = at(2024, 11, 17, 21, 30, 0);
    Bundled {
        file: "captures/000-sqlserver-stabilized.jsonl",
        header: header(
            Engine::Mssql,
            "mssql://app_backend@sql-prod-01:1433/shopry_shopifyproductaddons",
            t0,
            "Incident 000 after stabilization: Query Store off, 20 tasks, busy CPU doing real work; waits ASYNC_NETWORK_IO 13, PAGEIOLATCH_SH 7, CXCONSUMER 5, LCK_M_IX 4. Must raise no warning.",
        ),
        snapshots: (0..3)
            .map(|i| stabilized_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// SQL Server: a lock chain whose head is no session at all, but an orphaned distributed
// transaction (blocking_session_id -2). Built from the documented behaviour (KILL doc,
// sys.dm_exec_requests doc), not from a postmortem: the review of 2026-11-30 found spiral
// dropped these waiters and would have printed `KILL -2`.

const DTC_UOW: &str = "D5F1E6A2-6C1B-4E0B-9C3F-2B7A41C09E55";
const ORDER_UPDATE: &str = "UPDATE [dbo].[Order] SET [State] = @p0 WHERE [Id] = @p1";
const ORDER_SELECT: &str =
    "SELECT [o].[Id], [o].[State] FROM [dbo].[Order] AS [o] WHERE [o].[ShopId] = @p0";

fn orphaned_dtc_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version: "Microsoft SQL Server 2019 (RTM-CU22) - 15.0.4322.2 (X64), Enterprise Edition: Core-based Licensing (64-bit)".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(58);
    let secs = sample * 10;
    let mut seq = Seq(7);
    let mut sessions = Vec::new();
    // The pool: 40 connections from 4 hosts, most between requests.
    for n in 0..40i64 {
        let host = format!("ip-10-0-2-{}", n % 4);
        let mut s = session(
            100 + n,
            "orders_app",
            &host,
            "orders-api",
            "orders",
            SessionState::Idle,
        );
        s.raw_state = Some("sleeping".into());
        s.idle_ms = Some(200 + seq.next(3_000));
        sessions.push(s);
    }
    // 12 writers on the rows the orphaned transaction still holds: waiting on -2.
    for n in 0..12i64 {
        let host = format!("ip-10-0-2-{}", n % 4);
        let wait = 150_000 + (n as u64) * 4_000 + secs * 1_000;
        let mut s = waiting(
            session(
                200 + n,
                "orders_app",
                &host,
                "orders-api",
                "orders",
                SessionState::Active,
            ),
            if n % 3 == 0 { "LCK_M_U" } else { "LCK_M_X" },
            WaitClass::Lock,
            wait,
            wait + 300,
            ORDER_UPDATE,
        );
        s.command = Some("UPDATE".into());
        s.blocked_by = vec![-2];
        s.open_transactions = 1;
        sessions.push(s);
    }
    // Readers queued behind the first writer (RCSI is off).
    for n in 0..6i64 {
        let wait = 40_000 + (n as u64) * 2_000 + secs * 1_000;
        let mut s = waiting(
            session(
                300 + n,
                "reports",
                "k8s-node-03",
                "orders-reports",
                "orders",
                SessionState::Active,
            ),
            "LCK_M_S",
            WaitClass::Lock,
            wait,
            wait + 100,
            ORDER_SELECT,
        );
        s.command = Some("SELECT".into());
        s.blocked_by = vec![200];
        sessions.push(s);
    }
    let mut own = session(
        58,
        "spiral",
        "oncall-laptop",
        "spiral",
        "master",
        SessionState::Active,
    );
    own.elapsed_ms = Some(4);
    sessions.push(own);
    snap.sessions = sessions;
    snap.connections = ConnectionLimits {
        max_connections: None,
        reserved: 0,
        current: Some(59),
    };
    snap.workers = Some(Workers {
        max_workers: 704,
        active_workers: 38,
        current_workers: 90,
        queued_tasks: 0,
        runnable_tasks: 1,
        threadpool_waiters: 0,
        cpu_count: Some(16),
    });
    snap.compile_gate = Some(CompileGate {
        waiters: 0,
        active: 1,
        limit: 64,
    });
    snap.counters
        .insert(counter::COMPILATIONS.into(), 4_100_000 + secs * 3);
    snap.counters
        .insert(counter::BATCHES.into(), 310_000_000 + secs * 400);
    snap.counters.insert(counter::LOGINS.into(), 90_000);
    snap.counters.insert(counter::DEADLOCKS.into(), 17);
    snap.guardrails = Guardrails {
        optimize_for_ad_hoc: Some(true),
        ..Guardrails::default()
    };
    snap.databases = vec![DatabaseInfo {
        name: "orders".into(),
        query_store: Some("read_write".into()),
        read_committed_snapshot: Some(false),
    }];
    snap.query_store_capture
        .insert("orders".into(), "auto".into());
    snap.orphaned_transactions = vec![DTC_UOW.into()];
    snap
}

fn sqlserver_orphaned_dtc() -> Bundled {
    let t0 = at(2026, 11, 30, 3, 12, 0);
    Bundled {
        file: "captures/sqlserver-orphaned-dtc.jsonl",
        header: header(
            Engine::Mssql,
            "mssql://orders_app@sql-orders-01:1433/orders",
            t0,
            "A lock chain headed by an orphaned distributed transaction (blocking session -2): 12 writers wait on it for 2.5 min and more, 6 readers wait behind the first writer; the UOW comes from sys.dm_tran_locks.request_owner_guid. Built from the documented behaviour, not a postmortem.",
        ),
        snapshots: vec![
            orphaned_dtc_sample(t0, 0),
            orphaned_dtc_sample(t0 + Duration::seconds(10), 1),
        ],
    }
}

// ---------------------------------------------------------------------------------------
// SQL Server: requests queued for memory grants (RESOURCE_SEMAPHORE). The held-out case of
// the review of 2026-11-30: 340 requests queued, each waiting under 15 s, behind a few
// reports holding most of the workspace. Built from the documented DMVs, not a postmortem.

const REPORT_SELECT: &str = "SELECT [o].[ShopId], SUM([o].[Total]) FROM [dbo].[Order] AS [o] GROUP BY [o].[ShopId] ORDER BY 2 DESC";
const CART_SELECT: &str = "SELECT [l].[Sku], [l].[Qty] FROM [dbo].[CartLine] AS [l] WHERE [l].[CartId] = @p0 ORDER BY [l].[Added]";

fn grant_queue_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version: "Microsoft SQL Server 2019 (RTM-CU22) - 15.0.4322.2 (X64), Enterprise Edition: Core-based Licensing (64-bit)".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(58);
    let mut seq = Seq(11 + sample);
    // 12 web hosts with pools of different sizes; most of their requests wait for a grant.
    let mut id = 100i64;
    let mut queued = 0u64;
    for h in 0..12 {
        let host = format!("ip-10-0-4-{}", 10 + h);
        let n = 30 + h * 2;
        for _ in 0..n {
            let mut s = session(
                id,
                "shop_app",
                &host,
                "shop-web",
                "shop",
                SessionState::Idle,
            );
            s.raw_state = Some("sleeping".into());
            s.idle_ms = Some(seq.next(3_000));
            if queued < 340 {
                s.state = SessionState::Active;
                s.idle_ms = None;
                s.statement = Some(spiral::model::session::StatementKind::Read);
                let wait = 200 + seq.next(14_500);
                s = waiting(
                    s,
                    "RESOURCE_SEMAPHORE",
                    WaitClass::Memory,
                    wait,
                    wait + 40,
                    CART_SELECT,
                );
                queued += 1;
            }
            snap.sessions.push(s);
            id += 1;
        }
    }
    // Three reports holding most of the workspace, running (not waiting).
    for (n, sid) in [5077i64, 5131, 5214].into_iter().enumerate() {
        let mut s = session(
            sid,
            "reporting",
            "ip-10-0-9-1",
            "nightly-report",
            "shop",
            SessionState::Active,
        );
        s.raw_state = Some("running".into());
        s.statement = Some(spiral::model::session::StatementKind::Read);
        s.elapsed_ms = Some(4_000 - n as u64 * 1_000 + sample * 500);
        s.query = Some(REPORT_SELECT.into());
        snap.sessions.push(s);
    }
    snap.connections = ConnectionLimits {
        max_connections: None,
        reserved: 0,
        current: Some(snap.sessions.len() as u64 + 1),
    };
    snap.workers = Some(Workers {
        max_workers: 2_400,
        active_workers: 520,
        current_workers: 700,
        queued_tasks: 0,
        runnable_tasks: 3,
        threadpool_waiters: 0,
        cpu_count: Some(64),
    });
    snap.compile_gate = Some(CompileGate {
        waiters: 0,
        active: 4,
        limit: 321,
    });
    snap.memory_grants = Some(MemoryGrants {
        waiters: 340,
        holders: 41,
        longest_wait_ms: Some(14_200),
        pools: vec![
            GrantPool {
                pool_id: 1,
                name: Some("internal".into()),
                waiters: 0,
                granted_kb: 0,
                target_kb: 1_260_000,
            },
            GrantPool {
                pool_id: 2,
                name: Some("default".into()),
                waiters: 340,
                granted_kb: 50_290_000,
                target_kb: 50_400_000,
            },
        ],
        largest: vec![
            GrantHolder {
                session_id: 5077,
                granted_kb: 25_165_824,
                requested_kb: Some(25_165_824),
                dop: Some(8),
            },
            GrantHolder {
                session_id: 5131,
                granted_kb: 12_582_912,
                requested_kb: Some(12_582_912),
                dop: Some(8),
            },
            GrantHolder {
                session_id: 5214,
                granted_kb: 8_388_608,
                requested_kb: Some(8_388_608),
                dop: Some(4),
            },
        ],
    });
    let secs = sample * 10;
    snap.counters
        .insert(counter::COMPILATIONS.into(), 50_100_000 + secs * 12);
    snap.counters
        .insert(counter::RECOMPILATIONS.into(), 210_000 + secs);
    snap.counters
        .insert(counter::BATCHES.into(), 900_000_000 + secs * 400);
    snap.counters
        .insert(counter::LOGINS.into(), 3_100_000 + secs);
    snap.counters.insert(counter::DEADLOCKS.into(), 88);
    snap.counters
        .insert(counter::MEMORY_GRANT_TIMEOUTS.into(), 6 + sample * 3);
    // Completed waits since startup: 340 requests on RESOURCE_SEMAPHORE all along is about
    // 340 s of wait per second; the rest is a normal day's network and read waits.
    let wait = |ms: u64, tasks: u64| WaitStat {
        wait_ms: ms,
        signal_ms: 0,
        tasks,
    };
    snap.wait_stats = Some(
        [
            (
                "RESOURCE_SEMAPHORE",
                wait(70_000_000 + secs * 340_000, 90_000 + secs * 30),
            ),
            (
                "ASYNC_NETWORK_IO",
                wait(9_000_000 + secs * 200, 800_000 + secs * 20),
            ),
            (
                "PAGEIOLATCH_SH",
                wait(4_000_000 + secs * 900, 300_000 + secs * 40),
            ),
            ("THREADPOOL", wait(12, 3)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    );
    snap.guardrails = Guardrails {
        optimize_for_ad_hoc: Some(true),
        ..Guardrails::default()
    };
    snap.databases = vec![DatabaseInfo {
        name: "shop".into(),
        query_store: Some("off".into()),
        read_committed_snapshot: Some(true),
    }];
    snap
}

fn sqlserver_memory_grant_queue() -> Bundled {
    let t0 = at(2026, 11, 30, 2, 40, 0);
    Bundled {
        file: "captures/sqlserver-memory-grant-queue.jsonl",
        header: header(
            Engine::Mssql,
            "mssql://shop_app@sql-shop-01:1433/shop",
            t0,
            "340 requests queued for memory grants (RESOURCE_SEMAPHORE), each waiting under 15 s, behind three nightly reports holding 44 GB of a 48 GB workspace at DOP 8/8/4; 3 grant timeouts (error 8645) between the samples. Built from the documented DMVs (the held-out case of the 2026-11-30 review), not a postmortem.",
        ),
        snapshots: vec![
            grant_queue_sample(t0, 0),
            grant_queue_sample(t0 + Duration::seconds(10), 1),
        ],
    }
}

// ---------------------------------------------------------------------------------------
// Incident 001: a celery job leaking PostgreSQL connections on a limit of 85.

fn leak_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Postgres, t);
    snap.server = ServerInfo {
        version: "15.4".into(),
        flavor: Some("rds".into()),
        managed_kill: false,
    };
    snap.own_session_id = Some(31_000);
    snap.connections = ConnectionLimits {
        max_connections: Some(85),
        reserved: 3,
        current: None,
    };
    // The leak started at 03:00; by 03:11 it holds nearly every slot, a few more each sample.
    let leaked = 74 + sample * 2;
    let started = at(2024, 3, 12, 3, 0, 0);
    let since_start = (t - started).num_milliseconds() as u64;
    let mut id = 20_000i64;
    for k in 0..leaked {
        let host = format!("10.0.7.{}", 21 + k % 4);
        let mut s = session(id, "app", &host, "celery-worker", "app", SessionState::Idle);
        s.raw_state = Some("idle".into());
        // Each leaked connection arrived once, at a fixed time (spread over the 11 minutes
        // before the capture, then two per sample), and has sat idle since: the same
        // connection keeps its connect time from one sample to the next.
        let arrived_ms = if k < 74 {
            k * 660_000 / 78
        } else {
            661_000 + (k - 74) * 2_500
        };
        s.idle_ms = Some(since_start.saturating_sub(arrived_ms));
        s.wait_type = Some("Client:ClientRead".into());
        s.wait_class = Some(WaitClass::Client);
        s.query = Some("SELECT items.id, items.payload FROM items WHERE items.id = $1".into());
        s.connected_at = Some(started + Duration::milliseconds(arrived_ms as i64));
        snap.sessions.push(s);
        id += 1;
    }
    for k in 0..4 {
        let mut s = session(
            id,
            "api",
            &format!("10.0.3.{}", 5 + k),
            "api",
            "app",
            SessionState::Active,
        );
        s.raw_state = Some("active".into());
        s.elapsed_ms = Some(40 + k * 30);
        s.query = Some("SELECT * FROM dashboards WHERE account_id = $1".into());
        snap.sessions.push(s);
        id += 1;
    }
    for name in [
        "autovacuum launcher",
        "logical replication launcher",
        "checkpointer",
    ] {
        let mut s = Session::new(id, SessionState::Other);
        s.kind = SessionKind::System;
        s.command = Some(name.into());
        snap.sessions.push(s);
        id += 1;
    }
    snap.guardrails = Guardrails {
        statement_timeout_ms: Some(0),
        lock_timeout_ms: Some(0),
        idle_in_transaction_timeout_ms: Some(0),
        idle_session_timeout_ms: Some(0),
        optimize_for_ad_hoc: None,
    };
    let secs = sample * 5;
    snap.counters
        .insert(counter::COMMITS.into(), 8_200_000 + secs * 90);
    snap.counters.insert(counter::ROLLBACKS.into(), 1_200);
    snap.counters
        .insert(counter::BATCHES.into(), 8_201_200 + secs * 90);
    snap.counters.insert(counter::DEADLOCKS.into(), 3);
    snap.counters
        .insert(counter::LOGINS.into(), 402_000 + sample * 2);
    snap
}

fn postgres_connection_leak() -> Bundled {
    let t0 = at(2024, 3, 12, 3, 11, 0);
    Bundled {
        file: "captures/001-postgres-connection-leak.jsonl",
        header: header(
            Engine::Postgres,
            "postgres://app@app-db.internal:5432/app",
            t0,
            "Incident 001 at 03:11: a celery job opens a session per item and never closes it; db.t3.micro with max_connections 85.",
        ),
        snapshots: (0..3)
            .map(|i| leak_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Incident 002: MySQL on RDS, user 'shipping' holding sleeping connections.

fn shipping_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mysql, t);
    snap.server = ServerInfo {
        version: "5.7.44-log".into(),
        flavor: Some("rds".into()),
        managed_kill: true,
    };
    snap.own_session_id = Some(90_001);
    let mut seq = Seq(200 + sample);
    let mut id = 1_000i64;
    for k in 0..148u64 {
        let mut s = session(
            id,
            "shipping",
            &format!("10.20.4.{}", 10 + k % 6),
            "",
            "cities",
            SessionState::Idle,
        );
        s.application = None;
        s.raw_state = Some("Sleep".into());
        s.command = Some("Sleep".into());
        s.idle_ms = Some((1_000 + seq.next(2_600) + sample * 5) * 1_000);
        snap.sessions.push(s);
        id += 1;
    }
    for (user, n) in [("cart", 2u64), ("ratings", 1)] {
        for _ in 0..n {
            let mut s = session(id, user, "10.20.5.7", "", "cities", SessionState::Active);
            s.application = None;
            s.command = Some("Query".into());
            s.elapsed_ms = Some(seq.next(400));
            s.query = Some("SELECT * FROM cart WHERE id = ?".into());
            snap.sessions.push(s);
            id += 1;
        }
    }
    let mut admin = session(id, "rdsadmin", "localhost", "", "mysql", SessionState::Idle);
    admin.application = None;
    admin.command = Some("Sleep".into());
    admin.idle_ms = Some(2_000);
    admin.is_admin = true;
    snap.sessions.push(admin);
    let mut ev = Session::new(5, SessionState::Other);
    ev.kind = SessionKind::System;
    ev.user = Some("event_scheduler".into());
    ev.command = Some("Daemon".into());
    snap.sessions.push(ev);
    // 151 slots in use with max_connections 150: the extra SUPER slot is taken too.
    snap.connections = ConnectionLimits {
        max_connections: Some(150),
        reserved: 0,
        current: Some(153),
    };
    snap.guardrails = Guardrails {
        statement_timeout_ms: Some(0),
        lock_timeout_ms: Some(50_000),
        idle_in_transaction_timeout_ms: None,
        idle_session_timeout_ms: Some(28_800_000),
        optimize_for_ad_hoc: None,
    };
    let secs = sample * 5;
    snap.counters
        .insert(counter::LOGINS.into(), 2_400_100 + secs * 6);
    snap.counters
        .insert(counter::REFUSED_CONNECTIONS.into(), 19_400 + secs * 6);
    snap.counters
        .insert(counter::ABORTED_CONNECTS.into(), 21_000 + secs * 6);
    snap.counters
        .insert(counter::BATCHES.into(), 90_000_000 + secs * 40);
    snap.counters.insert(counter::DEADLOCKS.into(), 0);
    snap
}

fn mysql_shipping_sleepers() -> Bundled {
    let t0 = at(2023, 6, 8, 3, 20, 0);
    Bundled {
        file: "captures/002-mysql-shipping-sleepers.jsonl",
        header: header(
            Engine::Mysql,
            "mysql://admin@robotshop-mysql.rds.amazonaws.com:3306/cities",
            t0,
            "Incident 002: user 'shipping' holds 148 Sleep connections idle over 1,000 s on an RDS MySQL 5.7 with max_connections 150; new connections are refused.",
        ),
        snapshots: (0..3)
            .map(|i| shipping_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Incident 004: a pool held for hours by deadlocked queries with no timeouts.

fn pool_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Postgres, t);
    snap.server = ServerInfo {
        version: "16.2".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(77_000);
    snap.connections = ConnectionLimits {
        max_connections: Some(200),
        reserved: 3,
        current: None,
    };
    let since = (t - at(2024, 12, 31, 0, 15, 0)).num_milliseconds() as u64;
    let mut id = 41_000i64;
    // The two sessions that deadlocked in the application: each holds row locks inside an
    // open transaction and waits for something that will never come.
    let edit = "UPDATE vals SET code = $1, version = version + 1 WHERE id = $2";
    for k in 0..2 {
        let mut s = session(
            id,
            "valtown",
            "10.4.0.17",
            "valtown-api",
            "valtown",
            SessionState::IdleInTransaction,
        );
        s.raw_state = Some("idle in transaction".into());
        s.idle_ms = Some(since - 1_200 + k * 300);
        s.transaction_ms = Some(since);
        s.open_transactions = 1;
        s.query = Some(edit.into());
        s.wait_type = Some("Client:ClientRead".into());
        s.wait_class = Some(WaitClass::Client);
        snap.sessions.push(s);
        id += 1;
    }
    // The rest of that host's pool: 18 connections stuck behind them for hours.
    for k in 0..18u64 {
        let mut s = session(
            id,
            "valtown",
            "10.4.0.17",
            "valtown-api",
            "valtown",
            SessionState::Active,
        );
        s.raw_state = Some("active".into());
        s.wait_type = Some("Lock:transactionid".into());
        s.wait_class = Some(WaitClass::Lock);
        let ms = since - 60_000 - k * 900_000;
        s.wait_ms = Some(ms);
        s.elapsed_ms = Some(ms);
        s.open_transactions = 1;
        s.query = Some(edit.into());
        s.blocked_by = vec![41_000 + (k % 2) as i64];
        snap.sessions.push(s);
        id += 1;
    }
    // Healthy hosts keep serving.
    for h in 0..3 {
        for k in 0..8u64 {
            let host = format!("10.4.0.{}", 30 + h);
            let mut s = session(
                id,
                "valtown",
                &host,
                "valtown-api",
                "valtown",
                SessionState::Idle,
            );
            s.raw_state = Some("idle".into());
            s.idle_ms = Some(200 + k * 700 + sample * 100);
            snap.sessions.push(s);
            id += 1;
        }
    }
    snap.guardrails = Guardrails {
        statement_timeout_ms: Some(0),
        lock_timeout_ms: Some(0),
        idle_in_transaction_timeout_ms: Some(0),
        idle_session_timeout_ms: Some(0),
        optimize_for_ad_hoc: None,
    };
    let secs = sample * 5;
    snap.counters
        .insert(counter::COMMITS.into(), 51_000_000 + secs * 300);
    snap.counters.insert(counter::ROLLBACKS.into(), 90_000);
    snap.counters
        .insert(counter::BATCHES.into(), 51_090_000 + secs * 300);
    snap.counters.insert(counter::DEADLOCKS.into(), 17);
    snap.counters.insert(counter::LOGINS.into(), 880_000);
    snap
}

fn postgres_deadlocked_pool() -> Bundled {
    let t0 = at(2024, 12, 31, 6, 55, 0);
    Bundled {
        file: "captures/004-postgres-deadlocked-pool.jsonl",
        header: header(
            Engine::Postgres,
            "postgres://valtown@valtown-db.internal:5432/valtown",
            t0,
            "Incident 004 at 06:55: since 00:15 two sessions deadlocked in the application hold row locks idle in transaction, and one host's 18 other pool connections wait behind them; no statement, lock or idle timeouts.",
        ),
        snapshots: (0..3)
            .map(|i| pool_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// A healthy, busy PostgreSQL: the capture that must raise no warning.

fn healthy_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Postgres, t);
    snap.server = ServerInfo {
        version: "16.4".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(5_000);
    snap.connections = ConnectionLimits {
        max_connections: Some(200),
        reserved: 3,
        current: None,
    };
    let mut seq = Seq(900 + sample);
    let mut id = 6_000i64;
    // Eight application hosts with fixed-size pools of 10 (HikariCP's default), a quarter of
    // the connections busy with short queries at any instant.
    for h in 0..8 {
        let host = format!("10.8.1.{}", 40 + h);
        for k in 0..10 {
            let busy = k < 2 + (h % 2);
            let mut s = session(
                id,
                "shop",
                &host,
                "shop-api",
                "shop",
                if busy {
                    SessionState::Active
                } else {
                    SessionState::Idle
                },
            );
            if busy {
                s.raw_state = Some("active".into());
                s.elapsed_ms = Some(3 + seq.next(180));
                s.query = Some("SELECT o.id, o.total FROM orders o WHERE o.customer_id = $1 ORDER BY o.created_at DESC LIMIT 20".into());
            } else {
                s.raw_state = Some("idle".into());
                s.idle_ms = Some(seq.next(3_000));
                s.wait_type = Some("Client:ClientRead".into());
                s.wait_class = Some(WaitClass::Client);
            }
            snap.sessions.push(s);
            id += 1;
        }
    }
    // A reporting tool with two connections idle for a few minutes, and one brief row-lock
    // wait between two order updates.
    for k in 0..2 {
        let mut s = session(
            id,
            "metabase",
            "10.8.2.5",
            "Metabase",
            "shop",
            SessionState::Idle,
        );
        s.idle_ms = Some(120_000 + k * 40_000);
        snap.sessions.push(s);
        id += 1;
    }
    let mut w = session(
        id,
        "shop",
        "10.8.1.40",
        "shop-api",
        "shop",
        SessionState::Active,
    );
    w.wait_type = Some("Lock:transactionid".into());
    w.wait_class = Some(WaitClass::Lock);
    w.wait_ms = Some(40);
    w.elapsed_ms = Some(40);
    w.blocked_by = vec![6_000];
    w.query = Some("UPDATE orders SET status = 'paid' WHERE id = $1".into());
    snap.sessions.push(w);
    snap.guardrails = Guardrails {
        statement_timeout_ms: Some(30_000),
        lock_timeout_ms: Some(10_000),
        idle_in_transaction_timeout_ms: Some(60_000),
        idle_session_timeout_ms: Some(0),
        optimize_for_ad_hoc: None,
    };
    let secs = sample * 5;
    snap.counters
        .insert(counter::COMMITS.into(), 310_000_000 + secs * 2_400);
    snap.counters
        .insert(counter::ROLLBACKS.into(), 40_000 + secs * 2);
    snap.counters
        .insert(counter::BATCHES.into(), 310_040_000 + secs * 2_402);
    snap.counters.insert(counter::DEADLOCKS.into(), 2);
    snap.counters
        .insert(counter::LOGINS.into(), 1_900_000 + secs);
    snap
}

fn postgres_healthy_busy() -> Bundled {
    let t0 = at(2025, 2, 4, 14, 0, 0);
    Bundled {
        file: "captures/healthy-busy-postgres.jsonl",
        header: header(
            Engine::Postgres,
            "postgres://shop@shop-db.internal:5432/shop",
            t0,
            "A healthy, busy server: 2,400 transactions/s, 8 hosts with fixed pools of 10, short queries, guardrails set. Must raise no warning.",
        ),
        snapshots: (0..3)
            .map(|i| healthy_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// Incident 003: a 1.5-million-row import into 30+ tables, seen from the database.

const DB003: &str = "FinCalc";

fn import_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version: "12.0.2000.8 (Azure SQL Database)".into(),
        flavor: Some("azure-sql-database".into()),
        managed_kill: false,
    };
    snap.own_session_id = Some(9_998);
    let secs = sample * 5;
    // The import: one transaction around the whole file, inserting row by row.
    let open_ms = (3 * 3_600 + 10 * 60 + secs) * 1_000;
    let mut import = session(
        87,
        "import_svc",
        "10.1.4.20",
        "import-service",
        DB003,
        SessionState::Active,
    );
    import.raw_state = Some("running".into());
    import.elapsed_ms = Some(40);
    import.transaction_ms = Some(open_ms);
    import.open_transactions = 1;
    import.query =
        Some("INSERT INTO [dbo].[LedgerLine] ([ParentId], [Amount]) VALUES (@p0, @p1)".into());
    snap.sessions.push(import);
    // The calculation API keeps working, slower as the log and version store grow.
    let mut seq = Seq(300 + sample);
    for k in 0..12i64 {
        let state = if k % 3 == 0 {
            SessionState::Active
        } else {
            SessionState::Idle
        };
        let mut s = session(
            120 + k,
            "calc_api",
            &format!("10.1.5.{}", 10 + k % 4),
            "calc-api",
            DB003,
            state,
        );
        if state == SessionState::Active {
            s.elapsed_ms = Some(200 + seq.next(900));
            s.query =
                Some("SELECT [Id], [Amount] FROM [dbo].[LedgerLine] WHERE [ParentId] = @p0".into());
        } else {
            s.idle_ms = Some(1_000 + seq.next(20_000));
        }
        snap.sessions.push(s);
    }
    snap.horizon = Some(Horizon {
        holders: vec![HorizonHolder {
            kind: HolderKind::Session,
            session_id: Some(87),
            name: None,
            database: Some(DB003.into()),
            age_ms: Some(open_ms),
            xid_age: None,
            rows_modified: None,
            log_bytes: Some(38_000_000_000 + sample * 90_000_000),
        }],
        logs: vec![LogReuse {
            database: DB003.into(),
            wait: "ACTIVE_TRANSACTION".into(),
            used_pct: Some(71.0 + sample as f64 * 0.8),
        }],
        ..Horizon::default()
    });
    snap.counters
        .insert(counter::BATCHES.into(), 5_200_000 + secs * 120);
    snap.counters.insert(counter::DEADLOCKS.into(), 0);
    snap.counters
        .insert(counter::LOGINS.into(), 81_000 + sample);
    snap.databases = vec![DatabaseInfo {
        name: DB003.into(),
        query_store: Some("read_write".into()),
        read_committed_snapshot: Some(true),
    }];
    snap
}

fn sqlserver_long_import() -> Bundled {
    let t0 = at(2024, 5, 21, 14, 40, 0);
    Bundled {
        file: "captures/003-sqlserver-long-import.jsonl",
        header: header(
            Engine::Mssql,
            "mssql://ops@calc-sql.database.windows.net:1433/FinCalc",
            t0,
            "Incident 003's import (1.5 million rows into 30+ tables) as the database sees it when one transaction wraps it: open 3h10m, the log held at ACTIVE_TRANSACTION and 71-73% used. The postmortem gives no database figures; these are illustrative.",
        ),
        snapshots: (0..3)
            .map(|i| import_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// The version store under RCSI: a report left its snapshot transaction open.

const ORDERS: &str = "Orders";

fn version_store_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version: "15.0.4355.3".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(61);
    let secs = sample * 10;
    // A month-end report began a transaction, read under RCSI and went quiet: every row
    // version made since must stay in tempdb.
    let open_ms = (52 * 60 + secs) * 1_000;
    let mut report = session(
        214,
        "reporting",
        "10.2.0.40",
        "month-end-report",
        ORDERS,
        SessionState::IdleInTransaction,
    );
    report.raw_state = Some("sleeping".into());
    report.open_transactions = 1;
    report.transaction_ms = Some(open_ms);
    report.idle_ms = Some(open_ms - 4_000);
    snap.sessions.push(report);
    // The order API keeps updating rows: each update leaves a version behind.
    let mut seq = Seq(700 + sample);
    for k in 0..16i64 {
        let state = if k % 4 == 0 {
            SessionState::Active
        } else {
            SessionState::Idle
        };
        let mut s = session(
            300 + k,
            "orders_api",
            &format!("10.2.1.{}", 10 + k % 4),
            "orders-api",
            ORDERS,
            state,
        );
        if state == SessionState::Active {
            s.elapsed_ms = Some(5 + seq.next(60));
            s.query = Some("UPDATE [dbo].[OrderLine] SET [Status] = @p0 WHERE [Id] = @p1".into());
        } else {
            s.idle_ms = Some(500 + seq.next(9_000));
        }
        snap.sessions.push(s);
    }
    let holder = |id: i64, age_ms: u64| HorizonHolder {
        kind: HolderKind::Session,
        session_id: Some(id),
        name: None,
        database: None,
        age_ms: Some(age_ms),
        xid_age: None,
        rows_modified: None,
        log_bytes: None,
    };
    let mut report_trx = holder(214, open_ms);
    report_trx.database = Some(ORDERS.into());
    report_trx.log_bytes = Some(0);
    snap.horizon = Some(Horizon {
        holders: vec![report_trx],
        // About 15 MB of versions a second, none freed: 6.1 GB of 20 GB, and rising.
        version_store_kb: Some(6_100 * 1_024 + secs * 15 * 1_024),
        tempdb_data_kb: Some(20 * 1_024 * 1_024),
        version_holders: vec![holder(214, open_ms), holder(300, 40 + seq.next(30))],
        ..Horizon::default()
    });
    snap.counters
        .insert(counter::BATCHES.into(), 9_400_000 + secs * 850);
    snap.counters.insert(counter::DEADLOCKS.into(), 12);
    snap.counters
        .insert(counter::LOGINS.into(), 120_000 + sample);
    snap.databases = vec![DatabaseInfo {
        name: ORDERS.into(),
        query_store: Some("read_write".into()),
        read_committed_snapshot: Some(true),
    }];
    snap
}

fn sqlserver_version_store() -> Bundled {
    let t0 = at(2026, 11, 30, 23, 50, 0);
    Bundled {
        file: "captures/sqlserver-version-store.jsonl",
        header: header(
            Engine::Mssql,
            "mssql://ops@orders-sql:1433/Orders",
            t0,
            "A database under read committed snapshot: a report's transaction left open for 52 minutes keeps every row version the order API makes in tempdb (6.1 GB of 20 GB, 15 MB more a second). Built from the documented counters and DMVs; figures illustrative.",
        ),
        snapshots: (0..3)
            .map(|i| version_store_sample(t0 + Duration::seconds(10 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// After incident 001: PgBouncer in front of the database, its pool exhausted.

fn pooler_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Postgres, t);
    snap.server = ServerInfo {
        version: "PgBouncer".into(),
        flavor: Some("pgbouncer".into()),
        managed_kill: false,
    };
    let waiting = 60 + sample * 25;
    let maxwait_ms = 4_000 + sample * 5_000;
    let mut seq = Seq(500 + sample);
    let mut waiters: Vec<PoolWaiter> = (0..5)
        .map(|i| PoolWaiter {
            addr: Some(format!("10.0.3.{}", 7 + i)),
            application: Some("celery-worker".into()),
            wait_ms: maxwait_ms - i * 300 - seq.next(200),
        })
        .collect();
    waiters.sort_by_key(|x| std::cmp::Reverse(x.wait_ms));
    snap.pooler = Some(Pooler {
        pools: vec![
            Pool {
                database: "app".into(),
                user: "app".into(),
                cl_active: 20,
                cl_waiting: waiting,
                sv_active: 20,
                sv_idle: 0,
                sv_used: 0,
                maxwait_ms,
                pool_size: Some(20),
                pool_mode: Some("transaction".into()),
                waiting: waiters,
            },
            Pool {
                database: "app".into(),
                user: "reporting".into(),
                cl_active: 2,
                cl_waiting: 0,
                sv_active: 1,
                sv_idle: 1,
                sv_used: 0,
                maxwait_ms: 0,
                pool_size: Some(5),
                pool_mode: Some("transaction".into()),
                waiting: Vec::new(),
            },
        ],
        query_wait_timeout_ms: Some(0),
        server_idle_timeout_ms: Some(600_000),
        max_client_conn: Some(1_000),
        idle_transaction_timeout_ms: Some(0),
        // PgBouncer 1.18's counters: about 300 transactions a second, while some 85
        // clients wait at any moment (85 client-seconds of waiting accrue per second).
        stats: vec![PoolerStats {
            database: "app".into(),
            xact_count: Some(4_210_000 + sample * 1_500),
            query_count: Some(9_870_000 + sample * 3_600),
            wait_time_us: Some(912_000_000_000 + sample * 425_000_000),
            server_assignments: None,
        }],
        servers: Vec::new(),
        lists: [
            ("used_clients", 22 + waiting),
            ("used_servers", 22),
            ("free_servers", 28),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    });
    snap
}

fn pgbouncer_pool_exhausted() -> Bundled {
    let t0 = at(2024, 3, 19, 3, 5, 0);
    Bundled {
        file: "captures/001-pgbouncer-pool-exhausted.jsonl",
        header: header(
            Engine::Postgres,
            "pgbouncer://admin@pgbouncer.internal:6432/pgbouncer",
            t0,
            "After incident 001 the team put PgBouncer in front of the database; this is what its console shows when the celery workers outrun a pool of 20 (figures illustrative, not from the postmortem): 60 to 110 clients waiting, longest wait 4 s to 14 s, query_wait_timeout 0.",
        ),
        snapshots: (0..3)
            .map(|i| pooler_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------
// SQL Server: the spirals the 2026-11-30 review found the reference tools see and spiral did
// not (issue 11): commits waiting on a slow log, tempdb's allocation pages contended, a
// runnable queue. Built from the documented DMVs (sys.dm_os_wait_stats,
// sys.dm_os_waiting_tasks, sys.dm_os_schedulers), not postmortems; one order service on
// a 16-CPU SQL Server 2019 in each.

const ORDER_INSERT: &str =
    "INSERT INTO [dbo].[OrderLine] ([OrderId], [Sku], [Qty]) VALUES (@p0, @p1, @p2)";
const ORDER_REPORT: &str = "SELECT [o].[Region], SUM([o].[Total]) FROM [dbo].[Order] AS [o] WHERE [o].[Created] >= @p0 GROUP BY [o].[Region]";
const TEMP_PROC: &str = "EXEC [dbo].[usp_PriceBasket] @BasketId = @p0";

#[derive(Clone, Copy, PartialEq)]
enum Issue11 {
    LogWrites,
    Tempdb,
    RunnableQueue,
}

/// The cumulative waits of a server up for a week, plus what accrued in `sample` windows of
/// 10 s for the case at hand.
fn issue11_waits(case: Issue11, sample: u64) -> std::collections::BTreeMap<String, WaitStat> {
    let mut w: std::collections::BTreeMap<String, WaitStat> = [
        ("WRITELOG", 9_200_000, 41_000, 7_100_000),
        ("HADR_SYNC_COMMIT", 0, 0, 0),
        ("PAGEIOLATCH_SH", 4_100_000, 12_000, 900_000),
        ("PAGELATCH_UP", 310_000, 9_000, 120_000),
        ("PAGELATCH_EX", 220_000, 8_000, 95_000),
        ("LCK_M_X", 650_000, 2_000, 4_100),
        ("SOS_SCHEDULER_YIELD", 1_900_000, 1_880_000, 6_300_000),
        ("CXPACKET", 2_400_000, 90_000, 700_000),
        ("CXCONSUMER", 1_100_000, 30_000, 650_000),
        ("ASYNC_NETWORK_IO", 800_000, 20_000, 310_000),
    ]
    .into_iter()
    .map(|(k, ms, sig, n)| {
        (
            k.to_string(),
            WaitStat {
                wait_ms: ms,
                signal_ms: sig,
                tasks: n,
            },
        )
    })
    .collect();
    let mut grow = |k: &str, ms: u64, sig: u64, n: u64| {
        if let Some(x) = w.get_mut(k) {
            x.wait_ms += ms * sample;
            x.signal_ms += sig * sample;
            x.tasks += n * sample;
        }
    };
    // Every case has the same healthy background in each 10 s.
    grow("WRITELOG", 900, 20, 600);
    grow("PAGEIOLATCH_SH", 400, 5, 90);
    grow("ASYNC_NETWORK_IO", 300, 10, 80);
    match case {
        // 1,150 commits in 10 s at 48 ms each: 5.5 s of commit waits per second.
        Issue11::LogWrites => grow("WRITELOG", 55_000, 300, 1_150),
        Issue11::Tempdb => {
            grow("PAGELATCH_UP", 38_000, 1_200, 9_000);
            grow("PAGELATCH_EX", 9_000, 400, 2_100);
        }
        Issue11::RunnableQueue => {
            grow("SOS_SCHEDULER_YIELD", 95_000, 94_000, 230_000);
            grow("CXPACKET", 21_000, 4_000, 3_000);
        }
    }
    w
}

fn issue11_sample(case: Issue11, t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Mssql, t);
    snap.server = ServerInfo {
        version:
            "Microsoft SQL Server 2019 (RTM-CU25) - 15.0.4355.3 (X64), Standard Edition (64-bit)"
                .into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(61);
    let mut seq = Seq(31 + sample);
    // Five application hosts with pools of unequal size; some requests run, most sleep.
    let mut id = 70i64;
    let mut busy = 0u64;
    for h in 0..5u64 {
        let host = format!("ip-10-0-7-{}", 20 + h);
        for n in 0..(11 + h * 3) {
            let mut s = session(
                id,
                "orders",
                &host,
                "orders-api",
                "orders",
                SessionState::Idle,
            );
            s.raw_state = Some("sleeping".into());
            s.idle_ms = Some(seq.next(4_000));
            let active = match case {
                Issue11::LogWrites => n < 6,
                Issue11::Tempdb => n < 8,
                Issue11::RunnableQueue => n < 9,
            };
            if active {
                s.state = SessionState::Active;
                s.idle_ms = None;
                let elapsed = 30 + seq.next(900);
                s = match case {
                    Issue11::LogWrites if n < 5 => waiting(
                        s,
                        "WRITELOG",
                        WaitClass::Io,
                        seq.next(60),
                        elapsed,
                        ORDER_INSERT,
                    ),
                    Issue11::Tempdb if n < 7 => waiting(
                        s,
                        if n % 3 == 0 {
                            "PAGELATCH_EX"
                        } else {
                            "PAGELATCH_UP"
                        },
                        WaitClass::Latch,
                        seq.next(1_400),
                        elapsed + 1_400,
                        TEMP_PROC,
                    ),
                    // Four requests in nine are runnable: waiting for a CPU, no wait type.
                    Issue11::RunnableQueue if n < 4 => {
                        let mut s = s;
                        s.raw_state = Some("runnable".into());
                        s.wait_class = Some(WaitClass::Cpu);
                        s.elapsed_ms = Some(elapsed + 2_000);
                        s.query = Some(ORDER_REPORT.into());
                        s
                    }
                    _ => {
                        let mut s = s;
                        s.raw_state = Some("running".into());
                        s.wait_class = Some(WaitClass::Cpu);
                        s.elapsed_ms = Some(elapsed);
                        s.query = Some(ORDER_REPORT.into());
                        s
                    }
                };
                busy += 1;
            }
            snap.sessions.push(s);
            id += 1;
        }
    }
    snap.connections = ConnectionLimits {
        max_connections: None,
        reserved: 0,
        current: Some(snap.sessions.len() as u64 + 1),
    };
    let runnable_tasks = match case {
        Issue11::RunnableQueue => 38 + sample,
        _ => 2,
    };
    snap.workers = Some(Workers {
        max_workers: 576,
        active_workers: 60 + busy,
        current_workers: 140,
        queued_tasks: 0,
        runnable_tasks,
        threadpool_waiters: 0,
        cpu_count: Some(16),
    });
    snap.compile_gate = Some(CompileGate {
        waiters: 0,
        active: 1,
        limit: 80,
    });
    snap.wait_stats = Some(issue11_waits(case, sample));
    snap.parallelism = Some(spiral::model::snapshot::Parallelism {
        parallel_requests: if case == Issue11::RunnableQueue { 6 } else { 0 },
        parallel_tasks: if case == Issue11::RunnableQueue {
            54
        } else {
            0
        },
        max_request_tasks: if case == Issue11::RunnableQueue { 9 } else { 0 },
        maxdop: Some(8),
        cost_threshold: Some(50),
    });
    let latch = |r: &str, n: u64, ms: u64| spiral::model::snapshot::PageLatchWait {
        resource: r.into(),
        waiters: n,
        longest_ms: ms,
    };
    snap.tempdb_latches = Some(match case {
        // A basket-pricing procedure creating a temp table per call, tempdb with 2 files of
        // unequal size: the PFS pages of both files and an SGAM page queue.
        Issue11::Tempdb => vec![
            latch("2:1:1", 88 + sample * 4, 1_450),
            latch("2:2:1", 31, 980),
            latch("2:1:3", 12, 610),
            latch("2:1:116", 4, 90),
        ],
        _ => Vec::new(),
    });
    snap.counters = [
        (counter::BATCHES, 40_000_000 + sample * 21_000),
        (counter::COMPILATIONS, 900_000 + sample * 300),
        (counter::LOGINS, 80_000 + sample * 2),
        (counter::DEADLOCKS, 12),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    snap.guardrails = Guardrails {
        optimize_for_ad_hoc: Some(true),
        ..Guardrails::default()
    };
    snap.databases = vec![DatabaseInfo {
        name: "orders".into(),
        query_store: Some("off".into()),
        read_committed_snapshot: Some(true),
    }];
    snap
}

fn issue11_capture(case: Issue11, file: &'static str, note: &str) -> Bundled {
    let t0 = at(2026, 11, 30, 4, 10, 0);
    Bundled {
        file,
        header: header(
            Engine::Mssql,
            "mssql://orders@sql-orders-01:1433/orders",
            t0,
            note,
        ),
        snapshots: (0..3)
            .map(|i| issue11_sample(case, t0 + Duration::seconds(10 * i as i64), i))
            .collect(),
    }
}

fn sqlserver_log_write_pressure() -> Bundled {
    issue11_capture(
        Issue11::LogWrites,
        "captures/sqlserver-log-write-pressure.jsonl",
        "Commits waiting on a slow log volume: WRITELOG accrues 5.6 s per second at 32 ms per wait over the window (the healthy background is 1.5 ms). Built from the documented DMVs (the 2026-11-30 review's coverage table), not a postmortem.",
    )
}

fn sqlserver_tempdb_contention() -> Bundled {
    issue11_capture(
        Issue11::Tempdb,
        "captures/sqlserver-tempdb-contention.jsonl",
        "tempdb allocation contention: 131-139 tasks wait on PFS and SGAM page latches (2:1:1, 2:2:1, 2:1:3) from a procedure creating a temp table per call, tempdb with two data files. Built from the documented DMVs (the 2026-11-30 review's coverage table), not a postmortem.",
    )
}

fn sqlserver_runnable_queue() -> Bundled {
    issue11_capture(
        Issue11::RunnableQueue,
        "captures/sqlserver-runnable-queue.jsonl",
        "A runnable queue: 20 of 45 requests runnable, 38-40 tasks in the runnable queues of 16 schedulers, signal waits most of the wait time. Built from the documented DMVs (the 2026-11-30 review's coverage table), not a postmortem.",
    )
}

// The same fleet triaged with --pooler: the database and PgBouncer in one window. Two
// celery-beat clients opened transactions through transaction pooling and went quiet; the
// database sees two backends from the pooler's address idle in a transaction, the pooler
// a queue. Figures illustrative.

fn beside_sample(t: DateTime<Utc>, sample: u64) -> Snapshot {
    let mut snap = Snapshot::empty(Engine::Postgres, t);
    snap.server = ServerInfo {
        version: "16.4".into(),
        flavor: None,
        managed_kill: false,
    };
    snap.own_session_id = Some(9_000);
    snap.connections = ConnectionLimits {
        max_connections: Some(100),
        reserved: 3,
        current: Some(24),
    };
    snap.guardrails = Guardrails {
        statement_timeout_ms: Some(30_000),
        lock_timeout_ms: Some(10_000),
        idle_in_transaction_timeout_ms: Some(0),
        idle_session_timeout_ms: Some(0),
        ..Guardrails::default()
    };
    let mut seq = Seq(700 + sample);
    let pooler_addr = "10.0.0.5";
    let mut servers = Vec::new();
    for k in 0..20i64 {
        let pid = 41_000 + k;
        let held = k < 2;
        let mut s = session(
            pid,
            "app",
            pooler_addr,
            "celery-worker",
            "app",
            if held {
                SessionState::IdleInTransaction
            } else {
                SessionState::Active
            },
        );
        let client = if held {
            s.raw_state = Some("idle in transaction".into());
            s.idle_ms = Some(250_000 + sample * 5_000 + k as u64 * 40_000);
            s.transaction_ms = s.idle_ms.map(|ms| ms + 120);
            s.open_transactions = 1;
            s.application = Some("celery-beat".into());
            s.query = Some("UPDATE schedule SET last_run_at = $1 WHERE id = $2".into());
            PoolClient {
                addr: Some(format!("10.0.3.{}", 21 + k)),
                port: Some(48_812 + k as u16),
                application: Some("celery-beat".into()),
                idle_secs: s.idle_ms.map(|ms| ms / 1000),
            }
        } else {
            s.raw_state = Some("active".into());
            s.elapsed_ms = Some(20 + seq.next(400));
            s.query = Some("SELECT id, payload FROM tasks WHERE queue = $1 LIMIT 10".into());
            PoolClient {
                addr: Some(format!("10.0.3.{}", 40 + k % 6)),
                port: Some(50_000 + k as u16),
                application: Some("celery-worker".into()),
                idle_secs: Some(0),
            }
        };
        snap.sessions.push(s);
        servers.push(PoolServer {
            database: "app".into(),
            user: "app".into(),
            backend_pid: Some(pid),
            local_addr: Some(pooler_addr.into()),
            local_port: Some(39_000 + k as u16),
            client: Some(client),
        });
    }
    snap.counters.insert(counter::DEADLOCKS.into(), 12);
    snap.counters
        .insert(counter::COMMITS.into(), 1_830_000 + sample * 1_200);
    snap.counters.insert(counter::LOGINS.into(), 40_210);
    let waiting = 40 + sample * 20;
    let maxwait_ms = 3_000 + sample * 2_500;
    let mut waiters: Vec<PoolWaiter> = (0..5)
        .map(|i| PoolWaiter {
            addr: Some(format!("10.0.3.{}", 50 + i)),
            application: Some("celery-worker".into()),
            wait_ms: maxwait_ms - i * 250 - seq.next(150),
        })
        .collect();
    waiters.sort_by_key(|x| std::cmp::Reverse(x.wait_ms));
    snap.pooler = Some(Pooler {
        pools: vec![Pool {
            database: "app".into(),
            user: "app".into(),
            cl_active: 20,
            cl_waiting: waiting,
            sv_active: 20,
            sv_idle: 0,
            sv_used: 0,
            maxwait_ms,
            pool_size: Some(20),
            pool_mode: Some("transaction".into()),
            waiting: waiters,
        }],
        query_wait_timeout_ms: Some(120_000),
        server_idle_timeout_ms: Some(600_000),
        max_client_conn: Some(1_000),
        idle_transaction_timeout_ms: Some(0),
        stats: vec![PoolerStats {
            database: "app".into(),
            xact_count: Some(1_830_000 + sample * 1_200),
            query_count: Some(3_660_000 + sample * 2_400),
            wait_time_us: Some(402_000_000_000 + sample * 300_000_000),
            server_assignments: None,
        }],
        servers,
        lists: [("used_clients", 20 + waiting), ("used_servers", 20)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    });
    snap
}

fn pgbouncer_beside_postgres_held() -> Bundled {
    let t0 = at(2024, 3, 26, 14, 20, 0);
    Bundled {
        file: "captures/001-pgbouncer-beside-postgres-held.jsonl",
        header: header(
            Engine::Postgres,
            "postgres://app@db.internal:5432/app",
            t0,
            "The incident 001 fleet triaged with --pooler (the database and PgBouncer in one window): two celery-beat clients hold server connections idle in a transaction through transaction pooling while 40 to 80 clients queue for a pool of 20 (figures illustrative, not from the postmortem).",
        ),
        snapshots: (0..3)
            .map(|i| beside_sample(t0 + Duration::seconds(5 * i as i64), i))
            .collect(),
    }
}
