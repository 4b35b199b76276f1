//! Death spirals staged on a real PostgreSQL, diagnosed by the spiral binary.
//!
//! Runs when SPIRAL_TEST_PG_URL names a superuser connection (scripts/test.sh sets it when
//! a local server answers); skipped with a reason otherwise, and failed under
//! SPIRAL_REQUIRE_LIVE=1. Each test stages its incident with its own role and database,
//! holds the live lock (staged floods must not overlap), and cleans up in a guard that runs
//! even when an assertion fails. Staged sessions carry their own safety timeouts, so a
//! crashed test cannot leave the server locked for long.

// Each #[tokio::test] runs on its own thread with its own runtime, and the live lock must be
// held for the whole test to keep staged incidents apart: a std mutex held across awaits is
// exactly what is wanted here.
#![allow(clippy::await_holding_lock)]

mod support;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use support::{
    args, live_lock, live_url, run, run_async, run_json, severity, spiral_json, verdict,
    verdict_ids,
};

fn admin_url() -> Option<String> {
    live_url("SPIRAL_TEST_PG_URL", "PostgreSQL")
}

/// A role and a database of the test's own, dropped (with every session) on drop.
struct Stage {
    admin_url: String,
    name: String,
}

impl Stage {
    async fn new(admin_url: &str, name: &str) -> Stage {
        let stage = Stage {
            admin_url: admin_url.to_string(),
            name: format!("spiral_t_{name}"),
        };
        stage.cleanup_now().await; // leftovers of an earlier crashed run
        let mut admin = stage.admin().await;
        let n = &stage.name;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {n} LOGIN")))
            .await
            .unwrap();
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {n} OWNER {n}"
            )))
            .await
            .unwrap();
        let mut c = stage.connect(&stage.name, "setup").await;
        c.execute("CREATE TABLE t (id int PRIMARY KEY, v int)")
            .await
            .unwrap();
        c.execute("INSERT INTO t SELECT g, 0 FROM generate_series(1, 10) g")
            .await
            .unwrap();
        stage
    }

    fn options(&self) -> PgConnectOptions {
        self.admin_url
            .parse::<PgConnectOptions>()
            .unwrap()
            .disable_statement_logging()
    }

    async fn admin(&self) -> PgConnection {
        PgConnection::connect_with(&self.options()).await.unwrap()
    }

    /// A session of the stage's role in the stage's database, named `app`.
    async fn connect(&self, role: &str, app: &str) -> PgConnection {
        let opts = self
            .options()
            .username(role)
            .database(&self.name)
            .application_name(app);
        PgConnection::connect_with(&opts).await.unwrap()
    }

    /// spiral's target: the stage's database as `user`.
    fn target(&self, user: &str) -> String {
        let o = self.options();
        format!(
            "postgres://{user}@{}:{}/{}",
            o.get_host(),
            o.get_port(),
            self.name
        )
    }

    async fn cleanup_now(&self) {
        let mut admin = self.admin().await;
        let n = &self.name;
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{n}' OR usename LIKE '{n}%'"
            )))
            .await;
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {n} WITH (FORCE)"
            )))
            .await;
        for role in [n.clone(), format!("{n}_plain")] {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
                .await;
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // Runs inside the test's runtime (possibly while unwinding): clean up from a
        // thread of our own with a runtime of its own.
        let stage = Stage {
            admin_url: self.admin_url.clone(),
            name: self.name.clone(),
        };
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(stage.cleanup_now());
            std::mem::forget(stage);
        })
        .join();
    }
}

/// Waits until `sql` (a count) reaches `want`, polling for at most 20 s.
async fn wait_for(admin: &mut PgConnection, sql: &'static str, want: i64) {
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&mut *admin)
            .await
            .unwrap();
        if n >= want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("staging did not reach {want}: {sql}");
}

/// (max_connections, superuser_reserved_connections, client backends connected now).
async fn slots(admin: &mut PgConnection) -> (i64, i64, i64) {
    sqlx::query_as(
        "SELECT current_setting('max_connections')::bigint, \
                current_setting('superuser_reserved_connections')::bigint, \
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
    )
    .fetch_one(admin)
    .await
    .unwrap()
}

async fn pid(c: &mut PgConnection) -> i64 {
    let p: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(c)
        .await
        .unwrap();
    i64::from(p)
}

/// A session holding a row lock inside an idle transaction, plus `waiters` sessions queued
/// behind it. Returns (holder pid, the connections to keep alive).
async fn stage_lock_chain(stage: &Stage, waiters: usize) -> (i64, Vec<PgConnection>) {
    let mut holder = stage.connect(&stage.name, "billing-worker").await;
    holder
        .execute("SET idle_in_transaction_session_timeout = '90s'")
        .await
        .unwrap();
    holder.execute("BEGIN").await.unwrap();
    holder
        .execute("UPDATE t SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    let holder_pid = pid(&mut holder).await;
    let mut keep = vec![holder];
    for _ in 0..waiters {
        let mut c = stage.connect(&stage.name, "billing-api").await;
        c.execute("SET lock_timeout = '90s'").await.unwrap();
        tokio::spawn(async move {
            let _ = c.execute("UPDATE t SET v = v + 10 WHERE id = 1").await;
            // Keep the connection until the test's guard terminates it.
            tokio::time::sleep(Duration::from_secs(120)).await;
            drop(c);
        });
    }
    let mut admin = stage.admin().await;
    wait_for(&mut admin, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname LIKE 'spiral_t_%'", waiters as i64).await;
    keep.push(admin);
    (holder_pid, keep)
}

#[tokio::test]
async fn connection_leak_fills_the_server_then_superuser_gets_in() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "leak").await;
    let mut admin = stage.admin().await;
    let (max, reserved, in_use) = slots(&mut admin).await;
    let plain = format!("{}_plain", stage.name);
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {plain} LOGIN")))
        .await
        .unwrap();
    drop(admin);
    // Fill every ordinary slot with idle sessions of one application, as the celery job of
    // incident 001 did.
    let room = (max - reserved - in_use + 1).max(1) as usize;
    let mut leaked = Vec::new();
    for _ in 0..room {
        match PgConnection::connect_with(
            &stage
                .options()
                .username(&stage.name)
                .database(&stage.name)
                .application_name("celery-worker"),
        )
        .await
        {
            Ok(c) => leaked.push(c),
            Err(_) => break, // full
        }
    }
    assert!(
        leaked.len() > 20,
        "could open only {} connections",
        leaked.len()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // An ordinary role is refused, with the way in named.
    let target_plain = stage.target(&plain);
    let (code, _, err) =
        tokio::task::spawn_blocking(move || run(&["triage", &target_plain, "--samples", "1"]))
            .await
            .unwrap();
    assert_eq!(code, 3, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("reserved") && err.contains("only one connection"),
        "{err}"
    );

    // The superuser gets one of the reserved slots and names the culprit.
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "2",
        "--interval",
        "1s",
        "--idle-over",
        "1s",
    ]))
    .await;
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        severity(&r, "connection-exhaustion").as_deref(),
        Some("critical"),
        "{:?}",
        verdict_ids(&r)
    );
    let leak = verdict(&r, "idle-connection-leak").expect("leak verdict");
    assert_eq!(leak["culprits"]["users"], serde_json::json!([stage.name]));
    assert_eq!(
        leak["culprits"]["applications"],
        serde_json::json!(["celery-worker"])
    );
    assert!(
        leak["actions"][0]
            .as_str()
            .unwrap()
            .contains("pg_terminate_backend")
    );
    drop(leaked);
}

#[tokio::test]
async fn idle_in_transaction_lead_blocker() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "chain").await;
    let (holder, _keep) = stage_lock_chain(&stage, 4).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "-T",
        "blocked_warning_wait=1s",
        "-T",
        "idle_in_transaction_over=1s",
    ]))
    .await;
    assert!(code >= 1, "{err}");
    let chain = verdict(&r, "blocking-chain").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(chain["culprits"]["sessions"], serde_json::json!([holder]));
    assert!(
        chain["summary"]
            .as_str()
            .unwrap()
            .contains("blocking 4 sessions"),
        "{}",
        chain["summary"]
    );
    assert!(
        chain["summary"]
            .as_str()
            .unwrap()
            .contains("idle in an open transaction")
    );
    let it = verdict(&r, "idle-in-transaction").expect("idle in transaction");
    assert_eq!(it["culprits"]["sessions"][0], holder);
    assert!(
        it["actions"][0]
            .as_str()
            .unwrap()
            .contains(&format!("pg_terminate_backend({holder})"))
    );

    // The focused view draws the tree under the same lead.
    let (_, view, _) = spiral_json(args(&[
        "blocking",
        &stage.target("postgres"),
        "--samples",
        "1",
    ]))
    .await;
    assert_eq!(view["sections"][0]["key"], "lead_blockers");
    assert_eq!(view["sections"][0]["rows"][0]["lead"], holder);
    assert_eq!(view["sections"][0]["rows"][0]["blocked"], 4);
}

#[tokio::test]
async fn deadlock_held_open_is_a_cycle() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "deadlock").await;
    // deadlock_timeout is superuser-only: set it on the role, so the cycle lives for a minute
    // instead of the server breaking it after one second.
    let mut admin = stage.admin().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER ROLE {} SET deadlock_timeout = '60s'",
            stage.name
        )))
        .await
        .unwrap();
    let mut a = stage.connect(&stage.name, "censor").await;
    let mut b = stage.connect(&stage.name, "widget").await;
    let (pa, pb) = (pid(&mut a).await, pid(&mut b).await);
    for c in [&mut a, &mut b] {
        c.execute("SET lock_timeout = '50s'").await.unwrap();
        c.execute("BEGIN").await.unwrap();
    }
    a.execute("UPDATE t SET v = 1 WHERE id = 1").await.unwrap();
    b.execute("UPDATE t SET v = 1 WHERE id = 2").await.unwrap();
    tokio::spawn(async move {
        let _ = a.execute("UPDATE t SET v = 2 WHERE id = 2").await;
        tokio::time::sleep(Duration::from_secs(90)).await;
        drop(a);
    });
    tokio::spawn(async move {
        let _ = b.execute("UPDATE t SET v = 2 WHERE id = 1").await;
        tokio::time::sleep(Duration::from_secs(90)).await;
        drop(b);
    });
    wait_for(&mut admin, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = 'spiral_t_deadlock'", 2).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
    ]))
    .await;
    assert_eq!(code, 2, "{err}");
    let v = verdict(&r, "deadlock-cycle").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    let mut members: Vec<i64> = v["culprits"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect();
    members.sort();
    let mut want = vec![pa, pb];
    want.sort();
    assert_eq!(members, want);
}

#[tokio::test]
async fn queries_outliving_the_client_timeout() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "slow").await;
    for _ in 0..4 {
        let mut c = stage.connect(&stage.name, "widget-api").await;
        c.execute("SET statement_timeout = '40s'").await.unwrap();
        tokio::spawn(async move {
            let _ = c.execute("SELECT pg_sleep(30)").await;
            drop(c);
        });
    }
    let mut admin = stage.admin().await;
    wait_for(&mut admin, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)' AND state = 'active'", 4).await;
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "--client-timeout",
        "2s",
    ]))
    .await;
    assert_eq!(code, 1, "{err} {:?}", verdict_ids(&r));
    let v = verdict(&r, "client-timeout-exceeded").expect("client timeout");
    assert_eq!(v["severity"], "warning");
    assert_eq!(
        v["culprits"]["applications"],
        serde_json::json!(["widget-api"])
    );
    assert_eq!(v["evidence"][0]["number"], 4.0);
    // With the caller's real timeout of a minute, the same queries are fine.
    let (_, r, _) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "--client-timeout",
        "60s",
    ]))
    .await;
    assert!(verdict(&r, "client-timeout-exceeded").is_none());
}

#[tokio::test]
async fn pool_held_by_lock_waits_without_timeouts() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "pool").await;
    let mut admin = stage.admin().await;
    let guards: (String, String) = sqlx::query_as(
        "SELECT current_setting('statement_timeout'), current_setting('lock_timeout')",
    )
    .fetch_one(&mut admin)
    .await
    .unwrap();
    if guards != ("0".to_string(), "0".to_string()) {
        eprintln!("server has timeouts configured ({guards:?}); incident 004 needs none");
        return;
    }
    let (holder, _keep) = stage_lock_chain(&stage, 6).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "-T",
        "blocked_warning_wait=1s",
        "-T",
        "idle_in_transaction_over=1s",
    ]))
    .await;
    assert!(code >= 1, "{err}");
    assert_eq!(
        severity(&r, "missing-guardrails").as_deref(),
        Some("warning"),
        "{:?}",
        verdict_ids(&r)
    );
    let g = verdict(&r, "missing-guardrails").unwrap();
    assert!(g["summary"].as_str().unwrap().contains("lock_timeout"));
    assert_eq!(
        verdict(&r, "blocking-chain").unwrap()["culprits"]["sessions"],
        serde_json::json!([holder])
    );
}

#[tokio::test]
async fn long_transaction_left_open_while_others_write() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "longtx").await;
    // The forgotten transaction: one write, then nothing; its own timeout bounds it.
    let mut holder = stage.connect(&stage.name, "nightly-import").await;
    holder
        .execute("SET idle_in_transaction_session_timeout = '60s'")
        .await
        .unwrap();
    let holder_pid = pid(&mut holder).await;
    holder.execute("BEGIN").await.unwrap();
    holder
        .execute("UPDATE t SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    // Another session churns short transactions: each takes a transaction ID, so the
    // horizon held by the first falls further behind.
    let mut churn = stage.connect(&stage.name, "web").await;
    for _ in 0..300 {
        churn
            .execute("UPDATE t SET v = v + 1 WHERE id = 2")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "-T",
        "long_transaction_over=2s",
    ]))
    .await;
    assert!(code >= 1, "{err}");
    let v = verdict(&r, "long-transaction").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([holder_pid]));
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("session {holder_pid} ")),
        "{summary}"
    );
    assert!(summary.contains("app nightly-import"), "{summary}");
    let figure = |label: &str| {
        v["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["label"] == label)
            .and_then(|f| f["number"].as_f64())
            .unwrap_or_else(|| panic!("no {label} in {}", v["evidence"]))
    };
    let age = figure("oldest transaction open for");
    assert!((2.5..120.0).contains(&age), "age {age}");
    assert!(figure("transaction IDs since its snapshot") >= 300.0);
    assert!(
        v["actions"][0]
            .as_str()
            .unwrap()
            .contains(&format!("pg_terminate_backend({holder_pid})"))
    );

    // Committed, it holds nothing back any more.
    holder.execute("COMMIT").await.unwrap();
    let (_, r, _) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "-T",
        "long_transaction_over=2s",
    ]))
    .await;
    assert_eq!(r["checks"]["long-transaction"], "ok", "{}", r["verdicts"]);
}

#[tokio::test]
async fn healthy_busy_pgbench_raises_nothing() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    if std::process::Command::new("pgbench")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("pgbench is not installed (it ships with the PostgreSQL server package)");
    }
    let stage = Stage::new(&url, "bench").await;
    let o = stage.options();
    let conn = |extra: &[&str]| {
        let mut cmd = std::process::Command::new("pgbench");
        cmd.args([
            "-h",
            o.get_host(),
            "-p",
            &o.get_port().to_string(),
            "-U",
            "postgres",
        ])
        .args(extra)
        .arg(&stage.name);
        cmd
    };
    let init = conn(&["-i", "-s", "4", "-q"]).output().unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let mut load = conn(&["-c", "8", "-j", "2", "-T", "20", "-n"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "3",
        "--interval",
        "2s",
        // Even at 2 s (far below the default), pgbench's millisecond transactions are
        // not long ones.
        "-T",
        "long_transaction_over=2s",
    ]))
    .await;
    let _ = load.kill();
    let _ = load.wait();
    assert_eq!(code, 0, "{err} {}", r["verdicts"]);
    for v in r["verdicts"].as_array().unwrap() {
        assert!(v["severity"] == "info" || v["severity"] == "ok", "{v}");
    }
    assert_eq!(r["checks"]["long-transaction"], "ok");
    assert!(r["figures"]["connected_clients"].as_u64().unwrap() >= 8);
}

/// Runs `sql` on a new session of the stage in the background, keeping the session until
/// the stage's cleanup ends it.
async fn in_background(stage: &Stage, app: &str, sql: &'static str) {
    let mut c = stage.connect(&stage.name, app).await;
    c.execute("SET lock_timeout = '90s'").await.unwrap();
    tokio::spawn(async move {
        let _ = c.execute(sql).await;
        tokio::time::sleep(Duration::from_secs(120)).await;
        drop(c);
    });
}

/// A session that ran `sql` inside a transaction and now sits idle in it, holding its locks.
async fn idle_holder(stage: &Stage, app: &str, sql: &str) -> (i64, PgConnection) {
    let mut c = stage.connect(&stage.name, app).await;
    c.execute("SET idle_in_transaction_session_timeout = '90s'")
        .await
        .unwrap();
    c.execute("BEGIN").await.unwrap();
    c.execute(sqlx::AssertSqlSafe(sql.to_string()))
        .await
        .unwrap();
    let p = pid(&mut c).await;
    (p, c)
}

/// The lock queue behind DDL: a report's open transaction read `t`, a migration's ALTER
/// waits for it, and every later SELECT on `t` queues behind the ALTER. The readers'
/// verdict must blame the report (the lead), not the readers, and not call the ALTER the
/// head.
#[tokio::test]
async fn ddl_lock_queue_blames_the_lead_blocker() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "ddlq").await;
    let (holder, _h) = idle_holder(&stage, "metabase-report", "SELECT count(*) FROM t").await;
    in_background(&stage, "flyway", "ALTER TABLE t ADD COLUMN note text").await;
    let mut admin = stage.admin().await;
    wait_for(&mut admin, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname LIKE 'spiral_t_%'", 1).await;
    let alter: i64 = i64::from(
        sqlx::query_scalar::<_, i32>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'flyway' AND datname LIKE 'spiral_t_%'",
        )
        .fetch_one(&mut admin)
        .await
        .unwrap(),
    );
    for _ in 0..4 {
        in_background(&stage, "shop-api", "SELECT * FROM t").await;
    }
    wait_for(&mut admin, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname LIKE 'spiral_t_%'", 5).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "1",
        "--threshold",
        "blocked_warning_wait=1s",
    ]))
    .await;
    assert!(code >= 1, "{err} {:?}", verdict_ids(&r));
    let v =
        verdict(&r, "read-blocked-by-writers").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(
        v["culprits"]["sessions"],
        serde_json::json!([holder]),
        "{v}"
    );
    assert_eq!(
        v["culprits"]["applications"],
        serde_json::json!(["metabase-report"]),
        "{v}"
    );
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.contains(&format!("session {holder}")), "{summary}");
    assert!(!summary.contains("head"), "{summary}");
    let actions = v["actions"].to_string();
    assert!(
        actions.contains(&format!("pg_cancel_backend({alter})")),
        "{actions}"
    );
    assert_eq!(
        verdict(&r, "blocking-chain").unwrap()["culprits"]["sessions"],
        serde_json::json!([holder])
    );
}

/// Two idle transactions each lead their own queue: every verdict about them ends both in
/// one action, never one at a time.
#[tokio::test]
async fn two_lead_blockers_are_ended_together() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "twolead").await;
    let (a, _a) = idle_holder(&stage, "api", "UPDATE t SET v = v + 1 WHERE id = 1").await;
    let (b, _b) = idle_holder(&stage, "api", "UPDATE t SET v = v + 1 WHERE id = 2").await;
    for _ in 0..2 {
        in_background(&stage, "api", "UPDATE t SET v = v + 10 WHERE id = 1").await;
        in_background(&stage, "api", "UPDATE t SET v = v + 10 WHERE id = 2").await;
    }
    let mut admin = stage.admin().await;
    wait_for(&mut admin, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname LIKE 'spiral_t_%'", 4).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let target = stage.target("postgres");
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &target,
        "--samples",
        "1",
        "--threshold",
        "blocked_warning_wait=1s",
        "--threshold",
        "idle_in_transaction_over=1s",
    ]))
    .await;
    assert!(code >= 1, "{err} {:?}", verdict_ids(&r));
    let (lo, hi) = (a.min(b), a.max(b));
    for id in ["blocking-chain", "idle-in-transaction"] {
        let v = verdict(&r, id).unwrap_or_else(|| panic!("{id}: {:?}", verdict_ids(&r)));
        let both: Vec<&str> = v["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_str())
            .filter(|x| x.contains(&format!("ARRAY[{lo}, {hi}]")))
            .collect();
        assert_eq!(both.len(), 1, "{id}: {}", v["actions"]);
        assert!(
            both[0].contains(&format!("spiral kill '{target}'"))
                && both[0].contains("--blocking-leaders"),
            "{id}: {}",
            both[0]
        );
    }
}

/// A healthy pool on the local server: 25 connections resting idle past `--idle-over` (a
/// quarter of the slots), 30 more flipping between short queries and idle. Neither
/// idle-connection-leak nor missing-guardrails (the server runs with no timeouts) may warn:
/// nothing accumulates and nothing is hurting.
#[tokio::test]
async fn a_pool_flipping_busy_idle_stays_quiet() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "flip").await;
    let mut admin = stage.admin().await;
    let (max, reserved, in_use) = slots(&mut admin).await;
    let usable = (max - reserved - in_use).max(0) as usize;
    if usable < 60 {
        eprintln!("only {usable} free slots; skipping");
        return;
    }
    let resting = usable / 4 + 1;
    let mut keep = Vec::new();
    for _ in 0..resting {
        keep.push(stage.connect(&stage.name, "shop-api").await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for i in 0..30u64 {
        let mut c = stage.connect(&stage.name, "shop-api").await;
        let stop = stop.clone();
        workers.push(tokio::spawn(async move {
            // A fixed pseudo-random rhythm per connection: busy 20-80 ms, idle 0-400 ms.
            let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            while !stop.load(Ordering::Relaxed) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let busy = 20 + x % 60;
                let _ = c
                    .execute(sqlx::AssertSqlSafe(format!(
                        "SELECT pg_sleep({busy} / 1000.0), count(*) FROM t"
                    )))
                    .await;
                tokio::time::sleep(Duration::from_millis((x >> 8) % 400)).await;
            }
            drop(c);
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "4",
        "--interval",
        "1s",
        "--idle-over",
        "2s",
    ]))
    .await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    assert_eq!(code, 0, "{err} {}", r["verdicts"]);
    for v in r["verdicts"].as_array().unwrap() {
        assert!(v["severity"] == "info" || v["severity"] == "ok", "{v}");
    }
    drop(keep);
}

/// pgbench -C opens a new connection for every transaction: hundreds of connections a
/// second with a steady count. That is reconnect churn (a note, titled so), not a storm,
/// and it must not make triage exit non-zero.
#[tokio::test]
async fn pgbench_reconnect_churn_is_a_note_not_a_storm() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    if std::process::Command::new("pgbench")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("pgbench is not installed (it ships with the PostgreSQL server package)");
    }
    let stage = Stage::new(&url, "churn").await;
    let o = stage.options();
    let conn = |extra: &[&str]| {
        let mut cmd = std::process::Command::new("pgbench");
        cmd.args([
            "-h",
            o.get_host(),
            "-p",
            &o.get_port().to_string(),
            "-U",
            "postgres",
        ])
        .args(extra)
        .arg(&stage.name);
        cmd
    };
    let init = conn(&["-i", "-s", "1", "-q"]).output().unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    // Select-only, one new connection per transaction, from 2 clients.
    let mut load = conn(&["-C", "-S", "-c", "2", "-j", "2", "-T", "25", "-n"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "3",
        "--interval",
        "3s",
    ]))
    .await;
    let _ = load.kill();
    let _ = load.wait();
    assert_eq!(code, 0, "{err} {}", r["verdicts"]);
    // Logins are counted from pg_stat_database.sessions, which PostgreSQL has from 14 on:
    // an older server cannot show churn, and must not call it a storm either.
    let major: u32 = r["server_version"]
        .as_str()
        .and_then(|v| {
            v.split(|c: char| !c.is_ascii_digit())
                .find(|p| !p.is_empty())
        })
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    if major < 14 {
        assert!(
            verdict(&r, "reconnect-storm").is_none_or(|v| v["severity"] == "info"),
            "{}",
            r["verdicts"]
        );
        return;
    }
    let v = verdict(&r, "reconnect-storm")
        .unwrap_or_else(|| panic!("churn not seen: {:?} {}", verdict_ids(&r), r["figures"]));
    eprintln!("{}", v["summary"]);
    assert_eq!(v["severity"], "info", "{v}");
    assert_eq!(v["title"], "Reconnect churn", "{v}");
}

#[tokio::test]
async fn role_without_pg_monitor_says_what_it_cannot_see() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "blind").await;
    let plain = format!("{}_plain", stage.name);
    let mut admin = stage.admin().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {plain} LOGIN")))
        .await
        .unwrap();
    let (_holder, _keep) = stage_lock_chain(&stage, 2).await;
    let (code, r, err) =
        spiral_json(args(&["triage", &stage.target(&plain), "--samples", "1"])).await;
    assert_eq!(code, 3, "{err} {:?}", verdict_ids(&r));
    assert_eq!(r["checks"]["blocking-chain"], "unknown");
    assert_eq!(r["checks"]["idle-connection-leak"], "unknown");
    assert!(
        r["notes"].to_string().contains("pg_monitor"),
        "{}",
        r["notes"]
    );
    let v = verdict(&r, "blocking-chain").unwrap();
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains(&format!("GRANT pg_monitor TO {plain}"))
    );
    // What could not be seen is said once, with the checks it leaves unknown; no SQL
    // Server-only check is listed on PostgreSQL.
    assert_eq!(r["checks"]["query-store-amplification"], "ok");
    let unseen = &r["unseen"][0];
    assert_eq!(unseen["what"], "other sessions");
    assert!(
        unseen["checks"].to_string().contains("blocking-chain"),
        "{unseen}"
    );
    let (code, out, _) =
        run_async(args(&["triage", &stage.target(&plain), "--samples", "1"])).await;
    assert_eq!(code, 3, "{out}");
    assert_eq!(out.matches("What spiral could not see").count(), 1, "{out}");
    let grant = format!("GRANT pg_monitor TO {plain}");
    assert_eq!(out.matches(&grant).count(), 1, "{out}");
    assert!(!out.contains("query-store-amplification"), "{out}");
    let (code, out, _) = run_async(args(&["check", &stage.target(&plain)])).await;
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("SPIRAL UNKNOWN: blocking-chain"), "{out}");
    assert!(!out.contains("query-store-amplification"), "{out}");
}

#[tokio::test]
async fn capture_then_replay_gives_the_same_verdicts() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "capture").await;
    let (_holder, _keep) = stage_lock_chain(&stage, 3).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("staged.jsonl");
    let target = stage.target("postgres");
    let file_s = file.to_str().unwrap().to_string();
    let thresholds = [
        "-T",
        "blocked_warning_wait=1s",
        "-T",
        "idle_in_transaction_over=1s",
    ];
    let mut cap = args(&[
        "capture",
        &target,
        "--samples",
        "2",
        "--interval",
        "1s",
        "-o",
        &file_s,
    ]);
    cap.extend(args(&thresholds));
    let (code, _, err) = tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = cap.iter().map(String::as_str).collect();
        run(&refs)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 3, "header and two snapshots");
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("\"spiral_capture\":1")
    );
    let mut live = args(&["triage", &target, "--samples", "2", "--interval", "1s"]);
    live.extend(args(&thresholds));
    let (live_code, live_r, _) = spiral_json(live).await;
    let mut replay = args(&["triage", "--replay", &file_s]);
    replay.extend(args(&thresholds));
    let (replay_code, replay_r, _) = spiral_json(replay).await;
    assert_eq!(verdict_ids(&live_r), verdict_ids(&replay_r));
    assert_eq!(live_code, replay_code);
    assert!(verdict_ids(&replay_r).contains(&"blocking-chain".to_string()));
}

#[tokio::test]
async fn connection_errors_are_one_line() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let o: PgConnectOptions = url.parse().unwrap();
    let missing_db = format!(
        "postgres://postgres@{}:{}/spiral_no_such_db",
        o.get_host(),
        o.get_port()
    );
    let (code, _, err) =
        tokio::task::spawn_blocking(move || run(&["triage", &missing_db, "--samples", "1"]))
            .await
            .unwrap();
    assert_eq!(code, 3);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("spiral_no_such_db"), "{err}");
    let (code, _, err) = tokio::task::spawn_blocking(|| {
        run(&[
            "triage",
            "postgres://postgres:pw@127.0.0.1:1/x",
            "--connect-timeout",
            "2s",
        ])
    })
    .await
    .unwrap();
    assert_eq!(code, 3);
    assert!(
        err.contains("cannot connect") && !err.contains("pw@"),
        "{err}"
    );
}

/// Opens `n` idle sessions of the stage's role named `app`.
async fn idle_sessions(stage: &Stage, n: usize, app: &str) -> Vec<PgConnection> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(stage.connect(&stage.name, app).await);
    }
    out
}

#[tokio::test]
async fn stalk_fires_on_a_pile_up_and_stays_idle_when_quiet() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "stalk").await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap().to_string();
    // Quiet: armed, polling, nothing captured.
    let (code, stdout, stderr) = run_async(args(&[
        "stalk",
        &stage.target("postgres"),
        "--when",
        "connection-exhaustion:warning",
        "--when",
        "blocked>3",
        "--interval",
        "1s",
        "--for",
        "3s",
        "-o",
        &out,
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty() && stderr.contains("armed on"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    // A pile-up of idle connections past 80% of the usable slots.
    let mut admin = stage.admin().await;
    let (max, _, in_use) = slots(&mut admin).await;
    drop(admin);
    let want = ((max - 3) as f64 * 0.85) as i64 - in_use;
    let _pile = idle_sessions(&stage, want.max(1) as usize, "pile-up").await;
    let (code, stdout, stderr) = run_async(args(&[
        "stalk",
        &stage.target("postgres"),
        "--when",
        "connection-exhaustion:warning",
        "--cycles",
        "2",
        "--interval",
        "1s",
        "--samples",
        "2",
        "--capture-interval",
        "1s",
        "--max-captures",
        "1",
        "-o",
        &out,
    ]))
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("condition holds: connection-exhaustion is"),
        "{stderr}"
    );
    let file = stdout.trim().to_string();
    assert!(file.ends_with(".jsonl"), "{stdout}");
    let (code, r, _) = spiral_json(args(&["triage", "--replay", &file])).await;
    assert!(code >= 1);
    assert!(
        verdict(&r, "connection-exhaustion").is_some(),
        "{:?}",
        verdict_ids(&r)
    );
}

/// The watch screen lists `holder` as a lead blocker of three sessions.
/// The LEAD BLOCKERS panel has a row for `holder` whose "blocks" column says 3.
fn leads(screen: &str, holder: i64) -> bool {
    screen
        .lines()
        .skip_while(|l| !l.contains("LEAD BLOCKERS"))
        .any(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            cells.first() == Some(&holder.to_string().as_str()) && cells.get(1) == Some(&"3")
        })
}

#[tokio::test]
async fn watch_renders_a_staged_blocking_chain_in_a_terminal() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        panic!("tmux is missing: the terminal test of watch cannot run");
    }
    let stage = Stage::new(&url, "watch").await;
    let (holder, _keep) = stage_lock_chain(&stage, 3).await;
    let session = format!("spiral-live-watch-{}", std::process::id());
    let cmd = format!(
        "{} watch {} --interval 1s",
        env!("CARGO_BIN_EXE_spiral"),
        stage.target("postgres")
    );
    let tmux = |a: &[&str]| {
        let out = std::process::Command::new("tmux").args(a).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "140",
        "-y",
        "40",
        &cmd,
    ]);
    let mut screen = String::new();
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        screen = tmux(&["capture-pane", "-t", &session, "-p"]);
        if leads(&screen, holder) {
            break;
        }
    }
    tmux(&["send-keys", "-t", &session, "q"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let still = std::process::Command::new("tmux")
        .args(["has-session", "-t", &session])
        .output()
        .unwrap()
        .status
        .success();
    if still {
        tmux(&["kill-session", "-t", &session]);
    }
    assert!(leads(&screen, holder), "{screen}");
    assert!(screen.contains("LEAD BLOCKERS"), "{screen}");
    assert!(!still, "watch did not quit on q");
}

#[tokio::test]
async fn check_line_for_a_staged_incident_and_a_dead_server() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "check").await;
    let (_holder, _keep) = stage_lock_chain(&stage, 4).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (code, out, _) = run_async(args(&[
        "check",
        &stage.target("postgres"),
        "--samples",
        "1",
        "-T",
        "blocked_warning_wait=1s",
        "-T",
        "blocked_critical_wait=1s",
        "-T",
        "idle_in_transaction_over=1s",
    ]))
    .await;
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("SPIRAL CRITICAL: blocking-chain"), "{out}");
    assert!(out.contains("'blocked'=4;"), "{out}");
    // Nothing listening: UNKNOWN, at once.
    let (code, out, _) = run_async(args(&[
        "check",
        "postgres://postgres@127.0.0.1:1/x",
        "--timeout",
        "5s",
    ]))
    .await;
    assert_eq!(code, 3);
    assert!(out.starts_with("SPIRAL UNKNOWN:"), "{out}");
    // A server that accepts and never answers: UNKNOWN when --timeout runs out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let conn = listener.accept();
        std::thread::sleep(Duration::from_secs(6));
        drop(conn);
    });
    let target = format!("postgres://postgres@127.0.0.1:{port}/x");
    let (code, out, _) = run_async(args(&[
        "check",
        &target,
        "--timeout",
        "2s",
        "--connect-timeout",
        "10s",
    ]))
    .await;
    assert_eq!(code, 3, "{out}");
    assert!(
        out.starts_with("SPIRAL UNKNOWN: no assessment of") && out.contains("within 2s"),
        "{out}"
    );
    let _ = hold.join();
}

async fn count_sessions(admin: &mut PgConnection, user: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = $1")
        .bind(user)
        .fetch_one(admin)
        .await
        .unwrap()
}

#[tokio::test]
async fn kill_ends_exactly_the_idle_shipping_sessions() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "kill").await;
    let shipping = format!("{}_plain", stage.name);
    let mut admin = stage.admin().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {shipping} LOGIN")))
        .await
        .unwrap();
    let mut victims = Vec::new();
    for _ in 0..40 {
        let mut c = stage.connect(&shipping, "shipping").await;
        c.execute("SELECT 1").await.unwrap();
        victims.push(c);
    }
    // Bystanders: another user's idle sessions, an active query, and an admin session.
    let _others = idle_sessions(&stage, 5, "cart").await;
    let mut busy = stage.connect(&stage.name, "report").await;
    busy.execute("SET statement_timeout = '60s'").await.unwrap();
    tokio::spawn(async move {
        let _ = busy.execute("SELECT pg_sleep(20)").await;
    });
    let _admin_idle = stage.admin().await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let target = stage.target("postgres");

    // A dry run ends nothing and shows the statements.
    let (code, plan, err) = spiral_json(args(&[
        "kill",
        &target,
        "--user",
        &shipping,
        "--idle-over",
        "2s",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(plan["executed"], false);
    assert_eq!(plan["actions"].as_array().unwrap().len(), 40);
    assert!(
        plan["actions"][0]["statement"]
            .as_str()
            .unwrap()
            .starts_with("SELECT pg_terminate_backend(")
    );
    assert_eq!(count_sessions(&mut admin, &shipping).await, 40);

    // The exclusions hold even when the filter matches every query.
    let (_, plan, _) = spiral_json(args(&["kill", &target, "--match-sql", ".*"])).await;
    let ids: Vec<i64> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    let spared = plan["spared"].to_string();
    assert!(spared.contains("spiral's own session"), "{spared}");
    assert!(spared.contains("an admin session"), "{spared}");
    let admin_pid = pid(&mut admin).await;
    assert!(!ids.contains(&admin_pid));

    // Without a terminal, --execute needs --yes.
    let (code, _, err) = run_async(args(&[
        "kill",
        &target,
        "--user",
        &shipping,
        "--idle-over",
        "2s",
        "--execute",
    ]))
    .await;
    assert_eq!(code, 3);
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(count_sessions(&mut admin, &shipping).await, 40);

    // The real thing, logged.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kill.log");
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &target,
        "--user",
        &shipping,
        "--idle-over",
        "2s",
        "--execute",
        "--yes",
        "--log",
        log.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let killed = r["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["outcome"] == "killed")
        .count();
    assert_eq!(killed, 40, "{}", r["actions"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count_sessions(&mut admin, &shipping).await, 0);
    assert_eq!(
        count_sessions(&mut admin, &stage.name).await,
        6,
        "cart sessions and the report query survive"
    );
    // Each kill is on record twice: the intent before the statement, the outcome after.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged.lines().filter(|l| l.contains("\"intent\"")).count(),
        40
    );
    assert_eq!(
        logged.lines().filter(|l| l.contains("\"action\"")).count(),
        40
    );
    assert!(
        r["refill"]["message"]
            .as_str()
            .unwrap()
            .contains("no new sessions"),
        "{}",
        r["refill"]
    );
    drop(victims);
}

#[tokio::test]
async fn kill_reports_vanished_victims_and_spares_replaced_ones() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "vanish").await;
    let mut conns = idle_sessions(&stage, 4, "leaky").await;
    let mut last = conns.pop().unwrap();
    let last_pid = pid(&mut last).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let target = stage.target("postgres");
    // One kill a second: the youngest victim goes last, and vanishes while spiral works.
    let run = tokio::task::spawn_blocking(move || {
        run_json(&[
            "kill",
            &target,
            "--app",
            "leaky",
            "--idle-over",
            "1s",
            "--execute",
            "--yes",
            "--rate",
            "1/s",
        ])
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    drop(last);
    let (code, r, err) = run.await.unwrap();
    assert_eq!(code, 0, "{err}");
    let outcome = |id: i64| {
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .map(|a| a["outcome"].clone())
    };
    assert_eq!(
        outcome(last_pid),
        Some(serde_json::json!("gone")),
        "{}",
        r["actions"]
    );
    assert_eq!(
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "killed")
            .count(),
        3
    );

    // A pid that now belongs to another connection (a different backend_start) is spared
    // by the statement itself.
    let mut fresh = stage.connect(&stage.name, "leaky").await;
    let fresh_pid = pid(&mut fresh).await;
    let mut sampler = spiral::engine::connect(
        &spiral::target::Target::parse(&stage.target("postgres")).unwrap(),
        &connect_settings(),
    )
    .await
    .unwrap();
    let stale = chrono::Utc::now() - chrono::Duration::hours(1);
    let outcome = sampler
        .kill(
            spiral::model::kill::KillTarget {
                id: fresh_pid,
                connected_at: Some(stale),
                still: spiral::model::kill::Still::Any,
            },
            false,
            false,
        )
        .await
        .unwrap();
    assert_eq!(outcome, spiral::model::kill::Outcome::Gone);
    fresh
        .execute("SELECT 1")
        .await
        .expect("the replacement connection survived");
    sampler.close().await;
}

fn action_ids(plan: &serde_json::Value) -> Vec<i64> {
    plan["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
        .unwrap_or_default()
}

fn connect_settings() -> spiral::config::ConnectSettings {
    spiral::config::ConnectSettings {
        session_cuts: Default::default(),
        connect_timeout: Duration::from_secs(5),
        query_timeout: Duration::from_secs(5),
        dac: false,
        encrypt: None,
        trust_server_certificate: false,
        password_stdin: false,
    }
}

/// The natural "may end sessions" role: pg_signal_backend, but not pg_read_all_stats.
/// PostgreSQL then hides other users' backend_type, backend_start, state and query, and
/// spiral must plan no kill it cannot judge: no server process, no placeholder matched by
/// --match-sql, no --ignore-sql failing open; the plan names the GRANT.
#[tokio::test]
async fn kill_as_a_signal_only_role_plans_nothing_it_cannot_see() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "lpkill").await;
    let killer = format!("{}_plain", stage.name);
    let mut admin = stage.admin().await;
    for sql in [
        format!("CREATE ROLE {killer} LOGIN"),
        format!("GRANT pg_signal_backend TO {killer}"),
    ] {
        admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    // Another role's idle sessions; one of them last ran a migration.
    let mut workers = idle_sessions(&stage, 2, "worker").await;
    let mut worker_pids = Vec::new();
    for c in workers.iter_mut() {
        worker_pids.push(pid(c).await);
    }
    let mut migration = stage.connect(&stage.name, "deploy").await;
    let migration_pid = pid(&mut migration).await;
    migration
        .execute("SELECT 1 AS migration_step")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let target = stage.target(&killer);
    let server_pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE usename IS NULL OR datname IS NULL",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!server_pids.is_empty(), "the checkpointer and friends");

    // Matching everything plans nothing: every other backend is hidden from this role.
    let (code, plan, err) = spiral_json(args(&["kill", &target, "--match-sql", ".*"])).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_ids(&plan), Vec::<i64>::new(), "{}", plan["actions"]);
    let unseen = plan["unseen"].to_string();
    assert!(unseen.contains("pg_read_all_stats"), "{unseen}");
    // The placeholder is not a query.
    let (_, plan, _) = spiral_json(args(&["kill", &target, "--match-sql", "insufficient"])).await;
    assert_eq!(action_ids(&plan), Vec::<i64>::new(), "{}", plan["actions"]);
    // --ignore-sql that cannot read the query fails closed, and the plan says how many
    // sessions were left alone and what would let spiral judge them.
    let (code, plan, err) = spiral_json(args(&[
        "kill",
        &target,
        "--user",
        &stage.name,
        "--ignore-sql",
        "migration",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_ids(&plan), Vec::<i64>::new(), "{}", plan["actions"]);
    assert!(
        plan["unseen"][0]["sessions"].as_u64().unwrap() >= 3,
        "{}",
        plan["unseen"]
    );
    assert!(
        plan["unseen"][0]["remedy"]
            .as_str()
            .unwrap()
            .contains(&format!("GRANT pg_monitor TO {killer}")),
        "{}",
        plan["unseen"]
    );
    let (_, text, _) = run_async(args(&[
        "kill",
        &target,
        "--user",
        &stage.name,
        "--idle-over",
        "1s",
    ]))
    .await;
    assert!(
        text.contains("Left alone, not judged") && text.contains("pg_read_all_stats"),
        "{text}"
    );
    // Executing ends nothing.
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &target,
        "--user",
        &stage.name,
        "--idle-over",
        "1s",
        "--execute",
        "--yes",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_ids(&r), Vec::<i64>::new(), "{}", r["actions"]);
    assert_eq!(count_sessions(&mut admin, &stage.name).await, 3);

    // With the grant the plan names, the same role judges and ends them; the migration
    // is spared by --ignore-sql.
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "GRANT pg_read_all_stats TO {killer}"
        )))
        .await
        .unwrap();
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &target,
        "--user",
        &stage.name,
        "--idle-over",
        "1s",
        "--ignore-sql",
        "migration",
        "--execute",
        "--yes",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let mut ended = action_ids(&r);
    ended.sort_unstable();
    worker_pids.sort_unstable();
    assert_eq!(ended, worker_pids, "{}", r["actions"]);
    assert!(
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "killed"),
        "{}",
        r["actions"]
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let alive: Vec<i32> = sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE usename = $1")
        .bind(&stage.name)
        .fetch_all(&mut admin)
        .await
        .unwrap();
    assert_eq!(alive, vec![migration_pid as i32]);
    // The role membership goes with the role when the stage drops it.
    drop(workers);
}

/// The kill statement checks the state itself: a session chosen as idle that has started
/// a statement by the time the statement runs is not ended (staged deterministically by
/// sending the idle-guarded terminate at a session that is running a statement).
#[tokio::test]
async fn kill_statement_spares_a_session_that_is_no_longer_idle() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "midstmt").await;
    let mut busy = stage.connect(&stage.name, "worker").await;
    let busy_pid = pid(&mut busy).await;
    let running = tokio::spawn(async move { busy.execute("SELECT pg_sleep(4)").await.map(|_| ()) });
    let mut idle = stage.connect(&stage.name, "worker").await;
    let idle_pid = pid(&mut idle).await;
    let mut admin = stage.admin().await;
    wait_for(
        &mut admin,
        "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(4)' AND state = 'active'",
        1,
    )
    .await;
    let mut sampler = spiral::engine::connect(
        &spiral::target::Target::parse(&stage.target("postgres")).unwrap(),
        &connect_settings(),
    )
    .await
    .unwrap();
    let snap = sampler.sample().await.unwrap();
    let started = |id: i64| {
        snap.sessions
            .iter()
            .find(|s| s.id == id)
            .and_then(|s| s.connected_at)
    };
    let idle_guard = spiral::model::kill::Still::Idle {
        for_ms: 0,
        in_transaction: false,
    };
    let kill = |id: i64, still: spiral::model::kill::Still| spiral::model::kill::KillTarget {
        id,
        connected_at: started(id),
        still,
    };
    // Chosen as idle, running a statement now: spared by the server, and it goes on.
    let outcome = sampler
        .kill(kill(busy_pid, idle_guard), false, false)
        .await
        .unwrap();
    assert_eq!(outcome, spiral::model::kill::Outcome::Spared);
    // Idle, but not yet for as long as the filter asked: spared too.
    let outcome = sampler
        .kill(
            kill(
                idle_pid,
                spiral::model::kill::Still::Idle {
                    for_ms: 3_600_000,
                    in_transaction: false,
                },
            ),
            false,
            false,
        )
        .await
        .unwrap();
    assert_eq!(outcome, spiral::model::kill::Outcome::Spared);
    // No start time: refused, never sent against a bare pid.
    assert!(
        sampler
            .kill(
                spiral::model::kill::KillTarget {
                    id: idle_pid,
                    connected_at: None,
                    still: idle_guard,
                },
                false,
                false
            )
            .await
            .is_err()
    );
    // Still idle: ended.
    let outcome = sampler
        .kill(kill(idle_pid, idle_guard), false, false)
        .await
        .unwrap();
    assert_eq!(outcome, spiral::model::kill::Outcome::Killed);
    sampler.close().await;
    running
        .await
        .unwrap()
        .expect("the running statement was not interrupted");
    assert!(
        idle.execute("SELECT 1").await.is_err(),
        "the idle one ended"
    );
}

/// With --log, a kill is on record before it is made: a log that cannot be written
/// (a full disk) means nothing is killed, with a one-line reason and a non-zero exit.
#[tokio::test]
async fn kill_refuses_when_the_log_cannot_be_written() {
    let Some(url) = admin_url() else { return };
    if !std::path::Path::new("/dev/full").exists() {
        return;
    }
    let _lock = live_lock();
    let stage = Stage::new(&url, "fulllog").await;
    let _victims = idle_sessions(&stage, 3, "leaky").await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let mut admin = stage.admin().await;
    let (code, out, err) = run_async(args(&[
        "kill",
        &stage.target("postgres"),
        "--app",
        "leaky",
        "--idle-over",
        "1s",
        "--execute",
        "--yes",
        "--log",
        "/dev/full",
    ]))
    .await;
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("/dev/full") && err.contains("nothing was killed"),
        "{err}"
    );
    assert_eq!(count_sessions(&mut admin, &stage.name).await, 3);
}

/// `spiral waits` shows how long a sleeping statement has waited, not "0ms": PostgreSQL
/// gives no start time for a non-lock wait, and the statement's age bounds it.
#[tokio::test]
async fn waits_show_the_age_of_a_sleep() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "sleepwait").await;
    let mut c = stage.connect(&stage.name, "sleeper").await;
    let sleeper = tokio::spawn(async move {
        let _ = c.execute("SELECT pg_sleep(6)").await;
        c
    });
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (code, r, err) = spiral_json(args(&[
        "waits",
        &stage.target("postgres"),
        "--samples",
        "1",
    ]))
    .await;
    assert!(code != 3, "{err}");
    let rows = r["sections"][0]["rows"].as_array().unwrap().clone();
    let sleep = rows
        .iter()
        .find(|x| x["wait"] == "Timeout:PgSleep")
        .unwrap_or_else(|| panic!("no PgSleep wait in {rows:?}"));
    assert!(sleep["longest_ms"].as_u64().unwrap() >= 2_000, "{sleep}");
    let _ = sleeper.await;
}

/// On a terminal, `kill --execute` shows the plan (ids, users, ages, statements) above the
/// question; anything but "yes" kills nothing.
#[tokio::test]
async fn kill_shows_the_plan_above_the_prompt() {
    let Some(url) = admin_url() else { return };
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
        return;
    }
    let _lock = live_lock();
    let stage = Stage::new(&url, "killplan").await;
    let mut a = stage.connect(&stage.name, "leaky").await;
    let mut b = stage.connect(&stage.name, "leaky").await;
    let pid = |row: sqlx::postgres::PgRow| -> i32 { sqlx::Row::get(&row, 0) };
    let pa = pid(a.fetch_one("SELECT pg_backend_pid()").await.unwrap());
    let pb = pid(b.fetch_one("SELECT pg_backend_pid()").await.unwrap());
    let socket = format!("spiral-kill-{}", std::process::id());
    let tmux = |list: &[&str]| -> String {
        let out = std::process::Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(list)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let cmd = format!(
        "env LANG=C.UTF-8 {} kill {} --app leaky --execute; sleep 30",
        env!("CARGO_BIN_EXE_spiral"),
        stage.target("postgres")
    );
    tmux(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "-s",
        "k",
        &cmd,
    ]);
    let wait_for = |want: &str| -> String {
        for _ in 0..100 {
            let s = tmux(&["capture-pane", "-p", "-t", "k"]);
            if s.contains(want) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let s = tmux(&["capture-pane", "-p", "-t", "k"]);
        tmux(&["kill-server"]);
        panic!("never showed {want:?}:\n{s}");
    };
    let screen = wait_for("Type yes to go on");
    let plan = screen.find("Would end 2 sessions").expect("the plan");
    let prompt = screen.find("End 2 sessions on").expect("the question");
    assert!(plan < prompt, "{screen}");
    for p in [pa, pb] {
        assert!(
            screen.contains(&format!("pg_terminate_backend({p})")),
            "{screen}"
        );
    }
    assert!(screen.contains(&stage.name), "the user column: {screen}");
    tmux(&["send-keys", "-t", "k", "no", "Enter"]);
    let screen = wait_for("nothing was killed");
    tmux(&["kill-server"]);
    assert!(screen.contains("not confirmed"), "{screen}");
    a.execute("SELECT 1")
        .await
        .expect("first session untouched");
    b.execute("SELECT 1")
        .await
        .expect("second session untouched");
}

#[tokio::test]
async fn kill_every_holds_a_refilling_leak_down() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "loop").await;
    let leak = format!("{}_plain", stage.name);
    let mut admin = stage.admin().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {leak} LOGIN")))
        .await
        .unwrap();
    // Bystanders: the stage owner's idle sessions.
    let mut bystanders = idle_sessions(&stage, 3, "cart").await;
    let mut bystander_pids = Vec::new();
    for c in &mut bystanders {
        bystander_pids.push(pid(c).await);
    }
    // The leaking client: keeps 4 idle sessions of its own open, reopening the ones killed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        let opts = stage
            .options()
            .username(&leak)
            .database(&stage.name)
            .application_name("shipping");
        let admin_opts = stage.options();
        let leak = leak.clone();
        tokio::spawn(async move {
            let mut admin = PgConnection::connect_with(&admin_opts).await.unwrap();
            let mut held = Vec::new();
            let mut opened = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let n: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE usename = $1")
                        .bind(&leak)
                        .fetch_one(&mut admin)
                        .await
                        .unwrap();
                for _ in n..4 {
                    if let Ok(c) = PgConnection::connect_with(&opts).await {
                        held.push(c);
                        opened += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            opened
        })
    };
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &stage.target("postgres"),
        "--user",
        &leak,
        "--idle-over",
        "1s",
        "--execute",
        "--yes",
        "--every",
        "5s",
        "--for",
        "12s",
        "--until-quiet",
        "2",
    ]))
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let opened = client.await.unwrap();
    assert_eq!(code, 0, "{err} {r}");
    let rep = &r["repeat"];
    // The leak refills every round, so --until-quiet never triggers and time ends it.
    assert_eq!(rep["ended"], "time", "{rep}");
    let rounds = rep["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3, "{rep}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("round ")).count(),
        3,
        "{err}"
    );
    assert!(rounds[0]["killed"].as_u64().unwrap() >= 4, "{rep}");
    let mut killed = 0;
    for (i, round) in rounds.iter().enumerate() {
        let n = |k: &str| round[k].as_u64().unwrap();
        assert!(n("killed") >= 1, "round {i}: {round}");
        assert_eq!(n("killed") + n("gone"), n("selected"), "round {i}: {round}");
        assert_eq!(n("failed"), 0);
        killed += n("killed");
    }
    assert!(killed <= opened, "killed {killed} of {opened} opened");
    for a in r["actions"].as_array().unwrap() {
        assert_eq!(a["user"], leak.as_str(), "{a}");
        assert!(!bystander_pids.contains(&a["id"].as_i64().unwrap()), "{a}");
    }
    let alive: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM pg_stat_activity WHERE pid IN ({})",
        bystander_pids
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(alive, 3, "the bystanders' idle sessions survive");
    drop(bystanders);
}

#[tokio::test]
async fn kill_every_ends_when_rounds_stay_quiet() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "quiet").await;
    let leak = format!("{}_plain", stage.name);
    let mut admin = stage.admin().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!("CREATE ROLE {leak} LOGIN")))
        .await
        .unwrap();
    let mut once = Vec::new();
    for _ in 0..3 {
        once.push(stage.connect(&leak, "shipping").await);
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    // Nobody reopens: the first round ends three, the next two find nothing, and the loop
    // stops long before its 10 minutes.
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &stage.target("postgres"),
        "--user",
        &leak,
        "--idle-over",
        "1s",
        "--execute",
        "--yes",
        "--every",
        "5s",
        "--for",
        "10m",
        "--until-quiet",
        "2",
    ]))
    .await;
    assert_eq!(code, 0, "{err} {r}");
    let rep = &r["repeat"];
    assert_eq!(rep["ended"], "quiet", "{rep}");
    let killed: Vec<u64> = rep["rounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["killed"].as_u64().unwrap())
        .collect();
    assert_eq!(killed, vec![3, 0, 0], "{rep}");
    drop(once);
}

/// A PgBouncer of the test's own: its own port and config in a temp dir, in front of the
/// local PostgreSQL, stopped (by the pid it wrote) when the guard drops.
struct Bouncer {
    port: u16,
    dir: tempfile::TempDir,
}

impl Bouncer {
    fn start(pg: &PgConnectOptions, pool_size: u32) -> Bouncer {
        Bouncer::start_in_mode(pg, pool_size, "session")
    }

    fn start_in_mode(pg: &PgConnectOptions, pool_size: u32, pool_mode: &str) -> Bouncer {
        Bouncer::start_with(pg, pool_size, pool_mode, 50)
    }

    fn start_with(
        pg: &PgConnectOptions,
        pool_size: u32,
        pool_mode: &str,
        max_client_conn: u32,
    ) -> Bouncer {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let config = format!(
            "[databases]\nspiral_pgb = host={} port={} dbname={}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {d}/users.txt\nadmin_users = postgres\n\
             pool_mode = {pool_mode}\ndefault_pool_size = {pool_size}\nmax_client_conn = {max_client_conn}\n\
             ignore_startup_parameters = extra_float_digits\n\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n",
            pg.get_host(),
            pg.get_port(),
            pg.get_database().unwrap_or("postgres"),
        );
        std::fs::write(dir.path().join("pgbouncer.ini"), config).unwrap();
        std::fs::write(dir.path().join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        // PgBouncer refuses to run as root: hand it the directory and run it as postgres.
        let root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let ini = dir.path().join("pgbouncer.ini");
        let status = if root {
            std::process::Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            std::process::Command::new("runuser")
                .args(["-u", "postgres", "--", "pgbouncer", "-d"])
                .arg(&ini)
                .status()
        } else {
            std::process::Command::new("pgbouncer")
                .arg("-d")
                .arg(&ini)
                .status()
        }
        .expect("pgbouncer is installed (apt-get install pgbouncer; .ci/run does)");
        assert!(status.success(), "pgbouncer did not start");
        let b = Bouncer { port, dir };
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return b;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("pgbouncer did not listen on {port}");
    }

    fn console(&self) -> String {
        format!("pgbouncer://postgres@127.0.0.1:{}/pgbouncer", self.port)
    }

    /// `spiral triage` of the console, `samples` one second apart.
    fn triage(&self, samples: &str) -> Vec<String> {
        args(&[
            "triage",
            &self.console(),
            "--samples",
            samples,
            "--interval",
            "1s",
        ])
    }

    /// Sends `signal` to the pooler's process; after KILL the pid file is removed so the
    /// guard never signals a pid the system may have handed to another process.
    fn signal(&self, signal: &str) {
        let file = self.dir.path().join("pgbouncer.pid");
        let pid = std::fs::read_to_string(&file).unwrap();
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), pid.trim()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} {pid}");
        if signal == "KILL" {
            std::fs::remove_file(&file).unwrap();
        }
    }

    /// pgbench through the pooler for `secs`, two clients (the pool's size in these
    /// tests) running SELECT 1: busy, and never a queue.
    fn pgbench(&self, dir: &std::path::Path, secs: u32) -> std::process::Child {
        let script = dir.join("select.sql");
        std::fs::write(&script, "SELECT 1;\n").unwrap();
        std::process::Command::new("pgbench")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U"])
            .args([
                "postgres",
                "-n",
                "-c",
                "2",
                "-j",
                "1",
                "-T",
                &secs.to_string(),
            ])
            .arg("-f")
            .arg(&script)
            .arg("spiral_pgb")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn client(&self) -> PgConnectOptions {
        PgConnectOptions::new()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .database("spiral_pgb")
            .application_name("checkout")
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let pid =
            std::fs::read_to_string(self.dir.path().join("pgbouncer.pid")).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<u32>() {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    }
}

#[tokio::test]
async fn pgbouncer_pool_exhaustion_and_a_healthy_pool() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let pg: PgConnectOptions = url.parse().unwrap();
    let bouncer = Bouncer::start(&pg, 2);
    // Five clients for a pool of two: two run, three wait inside the pooler.
    let mut sleepers = Vec::new();
    for _ in 0..5 {
        let opts = bouncer.client();
        sleepers.push(tokio::spawn(async move {
            let mut c = PgConnection::connect_with(&opts).await.unwrap();
            sqlx::raw_sql("SELECT pg_sleep(6)")
                .execute(&mut c)
                .await
                .unwrap();
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (code, r, err) = spiral_json(bouncer.triage("2")).await;
    assert_eq!(code, 1, "{err} {}", r["verdicts"]);
    let v = verdict(&r, "pool-exhaustion").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("Pool spiral_pgb/postgres: 3 clients wait"),
        "{summary}"
    );
    assert!(summary.contains("pool_size 2"), "{summary}");
    assert_eq!(v["culprits"]["users"], serde_json::json!(["postgres"]));
    assert_eq!(r["target"], bouncer.console());
    // The clients finish; the queue drains.
    for s in sleepers {
        s.await.unwrap();
    }

    // A busy but healthy pool: pgbench with as many clients as servers.
    let dir = tempfile::tempdir().unwrap();
    let load = bouncer.pgbench(dir.path(), 8);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, r, err) = spiral_json(bouncer.triage("3")).await;
    let bench = load.wait_with_output().unwrap();
    assert!(
        bench.status.success(),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    assert_eq!(code, 0, "{err} {}", r["verdicts"]);
    assert_eq!(r["checks"]["pool-exhaustion"], "ok");
}

/// The section of a view's JSON with this key (Null when absent).
fn section(view: &serde_json::Value, key: &str) -> serde_json::Value {
    view["sections"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["key"] == key)
        .cloned()
        .unwrap_or_default()
}

/// PostgreSQL keeps no cumulative wait statistics: `spiral waits` and triage's JSON show
/// the lock wait seen in every sample, tallied over the window and said to be sampled.
#[tokio::test]
async fn lock_waits_are_sampled_over_the_window() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "sampledwaits").await;
    // Two sessions: a holder idle in its transaction and one writer queued behind it.
    let (_holder, _keep) = stage_lock_chain(&stage, 1).await;
    let (code, view, err) = spiral_json(args(&[
        "waits",
        &stage.target("postgres"),
        "--samples",
        "3",
        "--interval",
        "1s",
    ]))
    .await;
    assert!(code != 3, "{err}");
    let accrued = section(&view, "waits_accrued");
    let rows = accrued["rows"].as_array().cloned().unwrap_or_default();
    let lock = rows
        .iter()
        .find(|r| r["wait"].as_str().is_some_and(|w| w.starts_with("Lock:")))
        .unwrap_or_else(|| panic!("no Lock wait sampled: {accrued}"));
    assert_eq!(
        (&lock["class"], &lock["source"], &lock["poison"]),
        (
            &serde_json::json!("lock"),
            &serde_json::json!("sampled"),
            &serde_json::json!("")
        ),
        "{lock}"
    );
    // One session waited throughout: seen in all 3 samples, about 1,000 ms per second.
    assert_eq!(lock["waits"], 3, "{lock}");
    let per_sec = lock["ms_per_sec"].as_f64().unwrap_or(0.0);
    assert!((900.0..=1_100.0).contains(&per_sec), "{lock}");
    // The idle holder waits for its client, not on the server: not counted.
    assert!(
        !rows.iter().any(|r| r["wait"] == "Client:ClientRead"),
        "{accrued}"
    );
    let heading = accrued["heading"].as_str().unwrap_or_default();
    let note = accrued["note"].as_str().unwrap_or_default();
    assert!(heading.contains("not measured"), "{heading}");
    assert!(
        note.contains("sampled, not measured")
            && note.contains("PostgreSQL keeps no cumulative wait statistics")
            && note.contains("3 samples of pg_stat_activity"),
        "{note}"
    );

    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target("postgres"),
        "--samples",
        "2",
        "--interval",
        "1s",
    ]))
    .await;
    assert!(code != 3, "{err}");
    assert_eq!(
        r["waits_source"]["source"], "sampled",
        "{}",
        r["waits_source"]
    );
    assert_eq!(r["waits_source"]["from"], "pg_stat_activity");
    let top = r["waits_accrued"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["class"] == "lock")
        .cloned()
        .unwrap_or_else(|| panic!("{}", r["waits_accrued"]));
    assert_eq!(top["source"], "sampled");
    assert!(top["wait_type"].as_str().unwrap_or("").starts_with("Lock:"));
    assert!(top["wait_ms"].as_u64().unwrap_or(0) >= 500, "{top}");
}

/// `--pooler` beside the PostgreSQL target, in transaction pooling: a client that opened a
/// transaction and went quiet is named (address, port, application) by matching the
/// database's idle-in-transaction backend to SHOW SERVERS and SHOW CLIENTS; with the pool
/// then exhausted behind it, pool-exhaustion says the database side is the cause; and a
/// busy healthy pool through the same pooler stays at exit 0.
#[tokio::test]
async fn pgbouncer_beside_postgres_names_the_holder_and_stays_quiet_when_healthy() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let pg: PgConnectOptions = url.parse().unwrap();
    let bouncer = Bouncer::start_in_mode(&pg, 2, "transaction");
    let triage = |samples: &str| {
        vec![
            "triage".to_string(),
            url.clone(),
            "--pooler".into(),
            bouncer.console(),
            "--samples".into(),
            samples.to_string(),
            "--interval".into(),
            "1s".into(),
            // The holder need not sit for the default 10 s in a test.
            "-T".into(),
            "idle_in_transaction_over=1".into(),
        ]
    };

    // A client opens a transaction through the pooler and goes quiet.
    let mut holder = PgConnection::connect_with(&bouncer.client().application_name("holder"))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut holder).await.unwrap();
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (code, r, err) = spiral_json(triage("2")).await;
    assert_eq!(code, 1, "{err} {}", r["verdicts"]);
    let v = verdict(&r, "pooler-held-transaction")
        .unwrap_or_else(|| panic!("{:?} {err}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("Backend {backend} (spiral_pgb/postgres)"))
            && summary.contains("held through PgBouncer by client 127.0.0.1:")
            && summary.contains("(holder)"),
        "{summary}"
    );
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([backend]));
    assert_eq!(v["culprits"]["applications"], serde_json::json!(["holder"]));
    // The pool has a free server: no exhaustion, and the target printed is the database's.
    assert_eq!(r["checks"]["pool-exhaustion"], "ok");
    assert!(
        r["target"].as_str().unwrap().starts_with("postgres://"),
        "{}",
        r["target"]
    );

    // One more client runs a long statement; three more queue behind the two taken servers.
    let mut busy = Vec::new();
    for (i, sql) in ["SELECT pg_sleep(5)", "SELECT 1", "SELECT 1", "SELECT 1"]
        .into_iter()
        .enumerate()
    {
        let opts = bouncer.client().application_name(&format!("queued-{i}"));
        busy.push(tokio::spawn(async move {
            let mut c = PgConnection::connect_with(&opts).await.unwrap();
            sqlx::raw_sql(sql).execute(&mut c).await.unwrap();
        }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (code, r, err) = spiral_json(triage("2")).await;
    assert_eq!(code, 2, "{err} {}", r["verdicts"]);
    let held = verdict(&r, "pooler-held-transaction").unwrap();
    assert_eq!(held["severity"], "critical", "{held}");
    let p = verdict(&r, "pool-exhaustion").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    let summary = p["summary"].as_str().unwrap();
    assert!(
        summary.contains("Pool spiral_pgb/postgres: 3 clients wait"),
        "{summary}"
    );
    assert_eq!(p["culprits"]["sessions"], serde_json::json!([backend]));
    assert_eq!(p["culprits"]["users"], serde_json::json!(["postgres"]));
    let first = p["actions"][0].as_str().unwrap();
    assert!(
        first.contains("The database is the cause here") && first.contains(&backend.to_string()),
        "{first}"
    );
    let longest = p["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "longest_waiting_clients")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(longest.contains("(queued-1)"), "{longest}");
    // The database side's own rules ran in the same window.
    assert!(
        verdict(&r, "idle-in-transaction").is_some(),
        "{:?}",
        verdict_ids(&r)
    );
    // The holder commits: the queue drains.
    sqlx::raw_sql("COMMIT").execute(&mut holder).await.unwrap();
    holder.close().await.unwrap();
    for b in busy {
        b.await.unwrap();
    }

    // A busy but healthy pool through the same pooler: pgbench, as many clients as servers.
    let dir = tempfile::tempdir().unwrap();
    let load = bouncer.pgbench(dir.path(), 7);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, r, err) = spiral_json(triage("3")).await;
    let bench = load.wait_with_output().unwrap();
    assert!(
        bench.status.success(),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    assert_eq!(code, 0, "{err} {}", r["verdicts"]);
    assert_eq!(r["checks"]["pool-exhaustion"], "ok");
    assert_eq!(r["checks"]["pooler-held-transaction"], "ok");

    // What the console gave, as a capture holds it: SHOW STATS' NUMERIC counters read by
    // name (pgbench's transactions are in them), SHOW LISTS, SHOW CONFIG's timeouts.
    let file = dir.path().join("pooler.jsonl");
    let (code, _, err) = run_async(vec![
        "capture".into(),
        bouncer.console(),
        "--samples".into(),
        "1".into(),
        "-o".into(),
        file.display().to_string(),
    ])
    .await;
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    let snap: serde_json::Value =
        serde_json::from_str(text.lines().nth(1).expect("a snapshot line")).unwrap();
    let pooler = &snap["pooler"];
    let stats = &pooler["stats"][0];
    assert_eq!(stats["database"], "spiral_pgb", "{pooler}");
    assert!(stats["xact_count"].as_u64().unwrap() > 100, "{stats}");
    assert!(stats["wait_time_us"].as_u64().is_some(), "{stats}");
    assert!(
        pooler["lists"]["used_servers"].as_u64().is_some(),
        "{pooler}"
    );
    assert_eq!(pooler["idle_transaction_timeout_ms"], 0, "{pooler}");
}

/// Waits until the spiral run started after `since` has taken its first database sample
/// (its session shows the sample statement, which is sent without its comments, so it is
/// known by what it reads), then gives the pooler's read that follows it
/// a moment to finish.
async fn first_sample_taken(admin: &mut PgConnection, since: chrono::DateTime<chrono::Utc>) {
    for _ in 0..300 {
        let seen: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'spiral' \
             AND backend_start >= $1 AND query LIKE '%pg_stat_get_activity%'",
        )
        .bind(since)
        .fetch_one(&mut *admin)
        .await
        .unwrap();
        if seen > 0 {
            tokio::time::sleep(Duration::from_millis(1_000)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("spiral never took its first sample");
}

/// `--pooler`, and the pooler dies or freezes after the first sample of a three-sample
/// triage: the database's verdicts still come out, the pooler's checks are unknown with
/// the gap named in one note, and the exit code is never OK for it (3 when the database is
/// healthy, the database's own warning when it is not). A frozen pooler costs one query
/// timeout and is not asked again.
#[tokio::test]
async fn pgbouncer_that_dies_mid_run_is_a_named_gap_beside_the_database() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let pg: PgConnectOptions = url.parse().unwrap();
    let mut admin = PgConnection::connect_with(&pg).await.unwrap();
    let triage = |console: String| {
        vec![
            "triage".to_string(),
            url.clone(),
            "--pooler".into(),
            console,
            "--samples".into(),
            "3".into(),
            "--interval".into(),
            "3s".into(),
            "--query-timeout".into(),
            "2s".into(),
            "-T".into(),
            "idle_in_transaction_over=1".into(),
        ]
    };
    let pooler_checks = [
        "pool-exhaustion",
        "pooler-held-transaction",
        "pooler-missing-guardrails",
    ];
    let gap_note = |r: &serde_json::Value, console: &str| -> String {
        let notes: Vec<&str> = r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n.as_str())
            .filter(|n| n.starts_with("Could not see the connection pooler"))
            .collect();
        assert_eq!(notes.len(), 1, "{}", r["notes"]);
        assert!(
            notes[0].starts_with(&format!(
                "Could not see the connection pooler: PgBouncer at {console} stopped answering at sample 2 ("
            )),
            "{}",
            notes[0]
        );
        let unseen = r["unseen"].as_array().unwrap();
        let u = unseen
            .iter()
            .find(|u| u["what"] == "the connection pooler")
            .unwrap_or_else(|| panic!("{}", r["unseen"]));
        assert_eq!(u["checks"].as_array().unwrap().len(), 3, "{u}");
        notes[0].to_string()
    };

    // The pooler process is killed after the first sample; the database is healthy.
    let bouncer = Bouncer::start_in_mode(&pg, 2, "transaction");
    let since = chrono::Utc::now();
    let run = tokio::spawn(spiral_json(triage(bouncer.console())));
    first_sample_taken(&mut admin, since).await;
    bouncer.signal("KILL");
    let (code, r, err) = run.await.unwrap();
    assert_eq!(code, 3, "{err} {}", r["verdicts"]);
    assert_eq!(r["window"]["samples"], 3, "{}", r["window"]);
    for id in pooler_checks {
        assert_eq!(r["checks"][id], "unknown", "{id}: {}", r["checks"]);
    }
    for id in [
        "connection-exhaustion",
        "idle-in-transaction",
        "blocking-chain",
    ] {
        assert_eq!(r["checks"][id], "ok", "{id}: {}", r["checks"]);
    }
    gap_note(&r, &bouncer.console());
    drop(bouncer);

    // The pooler freezes (SIGSTOP) after the first sample, and a session holds a
    // transaction open on the database itself: its verdict comes out beside the gap.
    let bouncer = Bouncer::start_in_mode(&pg, 2, "transaction");
    let mut holder = PgConnection::connect_with(&pg.clone().application_name("direct-holder"))
        .await
        .unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut holder).await.unwrap();
    let holder_pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();
    let since = chrono::Utc::now();
    let run = tokio::spawn(spiral_json(triage(bouncer.console())));
    first_sample_taken(&mut admin, since).await;
    bouncer.signal("STOP");
    let (code, r, err) = run.await.unwrap();
    bouncer.signal("KILL");
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut holder)
        .await
        .unwrap();
    assert_eq!(code, 1, "{err} {}", r["verdicts"]);
    let v = verdict(&r, "idle-in-transaction").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(
        v["culprits"]["sessions"],
        serde_json::json!([holder_pid]),
        "{v}"
    );
    for id in pooler_checks {
        assert_eq!(r["checks"][id], "unknown", "{id}: {}", r["checks"]);
    }
    let note = gap_note(&r, &bouncer.console());
    assert!(note.contains("no answer within 2s"), "{note}");
    assert!(!note.contains("asked to stop"), "{note}");
}

/// max_client_conn at the pooler's door: clients holding nine of ten client slots (spiral's
/// console connection among them) warn, ten of ten is critical, and a client past the limit
/// is refused with the message the verdict quotes.
#[tokio::test]
async fn pgbouncer_clients_near_max_client_conn() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let pg: PgConnectOptions = url.parse().unwrap();
    // Transaction pooling: idle clients hold no server connection, so no pool queues.
    let bouncer = Bouncer::start_with(&pg, 2, "transaction", 10);
    let mut clients = Vec::new();
    for i in 0..8 {
        let opts = bouncer.client().application_name(&format!("holder-{i}"));
        clients.push(PgConnection::connect_with(&opts).await.unwrap());
    }
    let (code, r, err) = spiral_json(bouncer.triage("2")).await;
    assert_eq!(code, 1, "{err} {}", r["verdicts"]);
    let v = verdict(&r, "pool-exhaustion").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning", "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("PgBouncer holds 8 client connections of max_client_conn 10")
            && summary.contains("1 more and new clients are refused"),
        "{summary}"
    );

    clients.push(PgConnection::connect_with(&bouncer.client()).await.unwrap());
    let (code, r, err) = spiral_json(bouncer.triage("2")).await;
    assert_eq!(code, 2, "{err} {}", r["verdicts"]);
    let v = verdict(&r, "pool-exhaustion").unwrap();
    assert_eq!(v["severity"], "critical", "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("all 10 of max_client_conn are taken"),
        "{summary}"
    );

    // The refusal the verdict quotes: the tenth slot is spiral's when it samples; with
    // spiral gone a tenth client gets in, and the eleventh is turned away.
    clients.push(PgConnection::connect_with(&bouncer.client()).await.unwrap());
    let refused = PgConnection::connect_with(&bouncer.client())
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        refused.contains("no more connections allowed (max_client_conn)"),
        "{refused}"
    );
    for c in clients {
        let _ = c.close().await;
    }
}

/// pg_settings is read with the first sample and then kept, labelled with the time it was
/// read, until this session loads the configuration again (a reload): the statement reads
/// it again by itself then, in the same round trip.
#[tokio::test]
async fn settings_are_kept_until_the_configuration_is_loaded_again() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let target = spiral::target::Target::parse(&url).unwrap();
    let mut sampler = spiral::engine::connect(&target, &connect_settings())
        .await
        .unwrap();
    let first = sampler.sample().await.unwrap();
    assert_eq!(first.settings_read_at, Some(first.taken_at));
    assert!(first.connections.max_connections.is_some());
    let second = sampler.sample().await.unwrap();
    assert!(second.taken_at > first.taken_at);
    assert_eq!(second.settings_read_at, Some(first.taken_at));
    assert_eq!(second.connections, first.connections);
    assert_eq!(second.guardrails, first.guardrails);
    // A reload (nothing in the configuration changes): once spiral's backend has loaded
    // it, the next sample reads pg_settings again.
    let mut admin = PgConnection::connect(&url).await.unwrap();
    admin.execute("SELECT pg_reload_conf()").await.unwrap();
    let mut reread = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let s = sampler.sample().await.unwrap();
        if s.settings_read_at == Some(s.taken_at) {
            reread = Some(s);
            break;
        }
        assert_eq!(s.settings_read_at, Some(first.taken_at));
    }
    let reread = reread.expect("pg_settings read again after the reload");
    assert_eq!(reread.connections, first.connections);
    assert_eq!(reread.guardrails, first.guardrails);
    sampler.close().await;
}
