//! Death spirals staged on a real MariaDB (or MySQL), diagnosed by the spiral binary.
//!
//! Runs when SPIRAL_TEST_MYSQL_URL names a root connection (scripts/test.sh sets it when a
//! local server answers); skipped with a reason otherwise, failed under
//! SPIRAL_REQUIRE_LIVE=1. Each test uses its own users and database, holds the live lock,
//! and restores what it changed (max_connections included) in a guard that runs even when
//! an assertion fails. Staged sessions carry their own lock-wait limits.

// Each #[tokio::test] runs on its own thread with its own runtime, and the live lock must be
// held for the whole test to keep staged incidents apart: a std mutex held across awaits is
// exactly what is wanted here.
#![allow(clippy::await_holding_lock)]

mod support;

use std::time::Duration;

use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::{ConnectOptions, Connection, Executor};
use support::{
    args, live_lock, live_url, run_async, run_json, severity, spiral_json, verdict, verdict_ids,
};

/// The max_connections the incident-002 test lowers the server to; a leftover of this value
/// from a crashed run is put back to MariaDB's default.
const LOWERED: u64 = 40;

fn admin_url() -> Option<String> {
    live_url("SPIRAL_TEST_MYSQL_URL", "MariaDB/MySQL")
}

struct Stage {
    admin_url: String,
    name: String,
    restore_max: Option<u64>,
    /// The metadata_lock_info plugin was installed by this test: uninstall it afterwards.
    uninstall_plugin: bool,
}

impl Stage {
    async fn new(admin_url: &str, name: &str) -> Stage {
        let mut stage = Stage {
            admin_url: admin_url.to_string(),
            name: format!("spiral_t_{name}"),
            restore_max: None,
            uninstall_plugin: false,
        };
        stage.cleanup_now().await;
        let mut admin = stage.admin().await;
        let n = stage.name.clone();
        let max: u64 = sqlx::query_scalar("SELECT @@GLOBAL.max_connections")
            .fetch_one(&mut admin)
            .await
            .unwrap();
        if max == LOWERED {
            admin
                .execute("SET GLOBAL max_connections = 151")
                .await
                .unwrap();
        }
        for sql in [
            format!("CREATE DATABASE {n}"),
            format!("CREATE USER '{n}'@'%'"),
            format!("CREATE USER '{n}_plain'@'%'"),
            format!("GRANT ALL ON {n}.* TO '{n}'@'%'"),
            format!("GRANT ALL ON {n}.* TO '{n}_plain'@'%'"),
            format!("CREATE TABLE {n}.t (id int PRIMARY KEY, v int) ENGINE=InnoDB"),
            format!("INSERT INTO {n}.t VALUES (1,0),(2,0),(3,0),(4,0)"),
        ] {
            admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
        }
        stage.restore_max = None;
        stage
    }

    fn options(&self) -> MySqlConnectOptions {
        self.admin_url
            .parse::<MySqlConnectOptions>()
            .unwrap()
            .disable_statement_logging()
    }

    async fn admin(&self) -> MySqlConnection {
        MySqlConnection::connect_with(&self.options())
            .await
            .unwrap()
    }

    async fn try_connect(&self, user: &str) -> Result<MySqlConnection, sqlx::Error> {
        let opts = self.options().username(user).database(&self.name);
        MySqlConnection::connect_with(&opts).await
    }

    async fn connect(&self, user: &str) -> MySqlConnection {
        let mut c = self.try_connect(user).await.unwrap();
        c.execute("SET SESSION innodb_lock_wait_timeout = 60")
            .await
            .unwrap();
        c
    }

    fn target(&self) -> String {
        let o = self.options();
        format!(
            "mysql://root@{}:{}/{}",
            o.get_host(),
            o.get_port(),
            self.name
        )
    }

    fn target_as(&self, user: &str) -> String {
        let o = self.options();
        format!(
            "mysql://{user}@{}:{}/{}",
            o.get_host(),
            o.get_port(),
            self.name
        )
    }

    async fn cleanup_now(&self) {
        let Ok(mut admin) = MySqlConnection::connect_with(&self.options()).await else {
            return;
        };
        let n = &self.name;
        let ids: Vec<u64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(ID AS UNSIGNED) FROM information_schema.PROCESSLIST WHERE USER LIKE '{n}%' OR DB = '{n}'"
        )))
        .fetch_all(&mut admin)
        .await
        .unwrap_or_default();
        let me: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
            .fetch_one(&mut admin)
            .await
            .unwrap_or(0);
        for id in ids.into_iter().filter(|i| *i != me) {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!("KILL {id}")))
                .await;
        }
        if self.uninstall_plugin {
            let _ = admin.execute("UNINSTALL SONAME 'metadata_lock_info'").await;
        }
        if let Some(max) = self.restore_max {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "SET GLOBAL max_connections = {max}"
                )))
                .await;
        }
        for sql in [
            format!("DROP DATABASE IF EXISTS {n}"),
            format!("DROP USER IF EXISTS '{n}'@'%'"),
            format!("DROP USER IF EXISTS '{n}_plain'@'%'"),
        ] {
            let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
        }
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        let stage = Stage {
            admin_url: self.admin_url.clone(),
            name: self.name.clone(),
            restore_max: self.restore_max,
            uninstall_plugin: self.uninstall_plugin,
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

async fn thread_id(c: &mut MySqlConnection) -> i64 {
    let id: u64 = sqlx::query_scalar("SELECT CONNECTION_ID()")
        .fetch_one(c)
        .await
        .unwrap();
    id as i64
}

async fn wait_for(admin: &mut MySqlConnection, sql: String, want: i64) {
    for _ in 0..200 {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
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

/// A transaction holding a row lock while its session sleeps, with `waiters` queued.
async fn stage_lock_chain(stage: &Stage, waiters: usize) -> (i64, Vec<MySqlConnection>) {
    let mut holder = stage.connect(&stage.name).await;
    holder.execute("BEGIN").await.unwrap();
    holder
        .execute("UPDATE t SET v = v + 1 WHERE id = 1")
        .await
        .unwrap();
    let holder_id = thread_id(&mut holder).await;
    for _ in 0..waiters {
        let mut c = stage.connect(&stage.name).await;
        tokio::spawn(async move {
            let _ = c.execute("UPDATE t SET v = v + 10 WHERE id = 1").await;
            tokio::time::sleep(Duration::from_secs(90)).await;
            drop(c);
        });
    }
    let mut admin = stage.admin().await;
    wait_for(
        &mut admin,
        format!("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id IN (SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{}')", stage.name),
        waiters as i64,
    )
    .await;
    (holder_id, vec![holder, admin])
}

#[tokio::test]
async fn incident_002_shipping_fills_the_server() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let mut stage = Stage::new(&url, "shipping").await;
    let mut admin = stage.admin().await;
    let max: u64 = sqlx::query_scalar("SELECT @@GLOBAL.max_connections")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    stage.restore_max = Some(max);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SET GLOBAL max_connections = {LOWERED}"
        )))
        .await
        .unwrap();
    drop(admin);
    let mut sleepers = Vec::new();
    for _ in 0..LOWERED + 5 {
        match stage.try_connect(&stage.name).await {
            Ok(c) => sleepers.push(c),
            Err(_) => break, // "Too many connections": the server is full
        }
    }
    assert!(
        sleepers.len() as u64 >= LOWERED - 5,
        "only {} connections",
        sleepers.len()
    );
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    // An ordinary user gets the one-line explanation of the way in.
    let (code, _, err) = run_async(args(&[
        "triage",
        &stage.target_as(&format!("{}_plain", stage.name)),
        "--samples",
        "1",
    ]))
    .await;
    assert_eq!(code, 3, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("SUPER") && (err.contains("extra_port") || err.contains("admin_port")),
        "{err}"
    );
    // root takes the extra SUPER slot and names the culprit.
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target(),
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
    let action = leak["actions"][0].as_str().unwrap();
    assert!(
        action.contains(&format!("USER = '{}'", stage.name)) && action.contains("KILL"),
        "{action}"
    );
    drop(sleepers);
}

#[tokio::test]
async fn sleeping_transaction_blocks_a_queue() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "chain").await;
    let (holder, _keep) = stage_lock_chain(&stage, 3).await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target(),
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
    let it = verdict(&r, "idle-in-transaction").expect("idle in transaction");
    assert_eq!(it["culprits"]["sessions"][0], holder);
    assert!(
        it["actions"][0]
            .as_str()
            .unwrap()
            .contains(&format!("KILL {holder};"))
    );
}

#[tokio::test]
async fn deadlocks_rising_between_samples() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "deadlock").await;
    let target = stage.target();
    let run = tokio::task::spawn_blocking(move || {
        run_json(&["triage", &target, "--samples", "2", "--interval", "4s"])
    });
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    // A real deadlock: InnoDB picks a victim at once and counts it.
    let mut a = stage.connect(&stage.name).await;
    let mut b = stage.connect(&stage.name).await;
    a.execute("BEGIN").await.unwrap();
    b.execute("BEGIN").await.unwrap();
    a.execute("UPDATE t SET v = 1 WHERE id = 1").await.unwrap();
    b.execute("UPDATE t SET v = 1 WHERE id = 2").await.unwrap();
    let first = tokio::spawn(async move {
        let r = a.execute("UPDATE t SET v = 2 WHERE id = 2").await;
        let _ = a.execute("ROLLBACK").await;
        r.is_err()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = b.execute("UPDATE t SET v = 2 WHERE id = 1").await.is_err();
    let _ = b.execute("ROLLBACK").await;
    let first = first.await.unwrap();
    assert!(
        first || second,
        "one of the two must have been the deadlock victim"
    );
    let (_, r, err) = run.await.unwrap();
    let v =
        verdict(&r, "deadlocks-rising").unwrap_or_else(|| panic!("{err} {:?}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning");
    assert!(
        v["summary"].as_str().unwrap().contains("1 deadlock"),
        "{}",
        v["summary"]
    );
}

#[tokio::test]
async fn sleeps_outliving_the_client_timeout() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "slow").await;
    for _ in 0..4 {
        let mut c = stage.connect(&stage.name).await;
        tokio::spawn(async move {
            let _ = c.execute("SELECT SLEEP(25)").await;
            drop(c);
        });
    }
    let mut admin = stage.admin().await;
    wait_for(&mut admin, format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO = 'SELECT SLEEP(25)' AND DB = '{}'", stage.name), 4).await;
    // Past --client-timeout 2s by more than a second: the sample's SHOW PROCESSLIST gives
    // whole seconds, rounded down.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target(),
        "--samples",
        "1",
        "--client-timeout",
        "2s",
    ]))
    .await;
    assert!(code >= 1, "{err}");
    let v =
        verdict(&r, "client-timeout-exceeded").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["culprits"]["users"], serde_json::json!([stage.name]));
}

#[tokio::test]
async fn default_timeouts_are_missing_guardrails() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "guard").await;
    let mut admin = stage.admin().await;
    let (wait, limit): (u64, f64) =
        sqlx::query_as("SELECT @@GLOBAL.wait_timeout, CAST(@@GLOBAL.max_statement_time AS DOUBLE)")
            .fetch_one(&mut admin)
            .await
            .unwrap_or((0, 1.0));
    if wait < 3600 || limit != 0.0 {
        eprintln!(
            "server has non-default timeouts (wait_timeout {wait}, max_statement_time {limit}); skipping"
        );
        return;
    }
    let (_, r, _) = spiral_json(args(&["triage", &stage.target(), "--samples", "1"])).await;
    let v = verdict(&r, "missing-guardrails").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("wait_timeout") && summary.contains("8h"),
        "{summary}"
    );
    assert!(summary.contains("max_statement_time"), "{summary}");
}

#[tokio::test]
async fn long_transaction_left_open_while_others_write() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "longtx").await;
    let n = stage.name.clone();
    // The forgotten import: writes rows, then waits; its own timeout bounds it.
    let mut holder = stage.connect(&n).await;
    holder
        .execute("SET SESSION idle_transaction_timeout = 60")
        .await
        .unwrap();
    let holder_id = thread_id(&mut holder).await;
    holder.execute("BEGIN").await.unwrap();
    // One row per statement: on a four-row table an IN list may scan and lock them all.
    for id in [1, 3, 4] {
        holder
            .execute(sqlx::AssertSqlSafe(format!(
                "UPDATE t SET v = v + 1 WHERE id = {id}"
            )))
            .await
            .unwrap();
    }
    // Another session churns committed updates: purge must keep their undo for the
    // holder's read view, so the history list grows.
    let mut churn = stage.connect(&n).await;
    for _ in 0..300 {
        churn
            .execute("UPDATE t SET v = v + 1 WHERE id = 2")
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target(),
        "--samples",
        "1",
        "-T",
        "long_transaction_over=2s",
    ]))
    .await;
    assert!(code >= 1, "{err}");
    let v = verdict(&r, "long-transaction").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([holder_id]));
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("session {holder_id} ")),
        "{summary}"
    );
    assert!(summary.contains("has modified 3 rows"), "{summary}");
    assert!(summary.contains("history list"), "{summary}");
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
    assert!((2.0..120.0).contains(&age), "age {age}");
    assert!(figure("InnoDB history list length") >= 1.0);
    assert!(
        v["actions"][0]
            .as_str()
            .unwrap()
            .contains(&format!("KILL {holder_id};"))
    );

    holder.execute("COMMIT").await.unwrap();
    // information_schema.INNODB_TRX is a copy InnoDB refreshes lazily: give it a moment.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (_, r, _) = spiral_json(args(&[
        "triage",
        &stage.target(),
        "--samples",
        "1",
        "-T",
        "long_transaction_over=2s",
    ]))
    .await;
    assert_eq!(r["checks"]["long-transaction"], "ok", "{}", r["verdicts"]);
}

#[tokio::test]
async fn healthy_busy_mysqlslap_raises_nothing() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "slap").await;
    let o = stage.options();
    let schema = format!("{}_load", stage.name);
    let mut load = std::process::Command::new("mysqlslap")
        .args([
            "-h",
            o.get_host(),
            "-P",
            &o.get_port().to_string(),
            "-u",
            "root",
            "--protocol=tcp",
        ])
        .args([
            "--concurrency=8",
            "--iterations=40",
            "--number-of-queries=2000",
            "--auto-generate-sql",
            "--auto-generate-sql-load-type=mixed",
        ])
        .arg(format!("--create-schema={schema}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("mysqlslap runs (it ships with the MariaDB client)");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target(),
        "--samples",
        "3",
        "--interval",
        "2s",
        // Even at 2 s (far below the default), mysqlslap's short transactions are not
        // long ones.
        "-T",
        "long_transaction_over=2s",
    ]))
    .await;
    let _ = load.kill();
    let _ = load.wait();
    assert_eq!(r["checks"]["long-transaction"], "ok", "{}", r["verdicts"]);
    let mut admin = stage.admin().await;
    let _ = admin
        .execute(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {schema}"
        )))
        .await;
    assert_eq!(code, 0, "{err} {}", r["verdicts"]);
    for v in r["verdicts"].as_array().unwrap() {
        assert!(v["severity"] == "info", "{v}");
    }
}

#[tokio::test]
async fn hostile_query_text_is_sampled_and_shown_safely() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "hostile").await;
    let o = stage.options();
    // Raw bytes that are not UTF-8, and terminal escapes, in a running statement's text.
    let mut sql: Vec<u8> = b"SELECT SLEEP(20) /* \xc3\x28\xff ".to_vec();
    sql.extend_from_slice(b"\x1b[31mred\x1b[0m \x1b]0;owned\x07 */;\n");
    let mut client = std::process::Command::new("mariadb")
        .args([
            "-h",
            o.get_host(),
            "-P",
            &o.get_port().to_string(),
            "-u",
            "root",
            "--protocol=tcp",
            "--binary-mode",
            "--comments",
            &stage.name,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the mariadb client runs");
    {
        use std::io::Write;
        let mut stdin = client.stdin.take().unwrap();
        stdin.write_all(&sql).unwrap();
    }
    let mut admin = stage.admin().await;
    wait_for(
        &mut admin,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT SLEEP(20)%'"
            .to_string(),
        1,
    )
    .await;
    // Older than --client-timeout 1s by more than the second SHOW PROCESSLIST rounds away.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    for format in ["table", "json", "markdown", "slack"] {
        let (code, out, err) = run_async(args(&[
            "connections",
            &stage.target(),
            "--samples",
            "1",
            "--format",
            format,
        ]))
        .await;
        assert_ne!(code, 3, "{err}");
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}'),
            "{format}: {out}"
        );
    }
    let (_, out, _) = run_async(args(&[
        "blocking",
        &stage.target(),
        "--samples",
        "1",
        "--format",
        "json",
        "-T",
        "blocked_warning_wait=0s",
    ]))
    .await;
    assert!(!out.contains("owned"), "{out}");
    let (code, r, _) = spiral_json(args(&[
        "triage",
        &stage.target(),
        "--samples",
        "1",
        "--client-timeout",
        "1s",
        "-T",
        "client_timeout_min_requests=1",
    ]))
    .await;
    assert!(code <= 2);
    let v =
        verdict(&r, "client-timeout-exceeded").unwrap_or_else(|| panic!("{:?}", verdict_ids(&r)));
    let text = v.to_string();
    assert!(
        text.contains("red") && !text.contains("\\u001b") && !text.contains("owned"),
        "{text}"
    );
    let _ = client.kill();
    let _ = client.wait();
}

#[tokio::test]
async fn capture_then_replay_gives_the_same_verdicts() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "capture").await;
    let (_holder, _keep) = stage_lock_chain(&stage, 2).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir
        .path()
        .join("staged.jsonl")
        .to_str()
        .unwrap()
        .to_string();
    let t = [
        "-T",
        "blocked_warning_wait=1s",
        "-T",
        "idle_in_transaction_over=1s",
    ];
    let mut cap = args(&[
        "capture",
        &stage.target(),
        "--samples",
        "2",
        "--interval",
        "1s",
        "-o",
        &file,
    ]);
    cap.extend(args(&t));
    let (code, _, err) = run_async(cap).await;
    assert_eq!(code, 0, "{err}");
    let mut live = args(&[
        "triage",
        &stage.target(),
        "--samples",
        "2",
        "--interval",
        "1s",
    ]);
    live.extend(args(&t));
    let (live_code, live_r, _) = spiral_json(live).await;
    let mut replay = args(&["triage", "--replay", &file]);
    replay.extend(args(&t));
    let (replay_code, replay_r, _) = spiral_json(replay).await;
    assert_eq!(verdict_ids(&live_r), verdict_ids(&replay_r));
    assert_eq!(live_code, replay_code);
    assert!(verdict_ids(&replay_r).contains(&"blocking-chain".to_string()));
}

#[tokio::test]
async fn without_process_privilege_checks_are_unknown() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "blind").await;
    let _others = stage.connect(&stage.name).await;
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target_as(&format!("{}_plain", stage.name)),
        "--samples",
        "1",
    ]))
    .await;
    assert_eq!(code, 3, "{err} {:?}", verdict_ids(&r));
    assert_eq!(r["checks"]["idle-connection-leak"], "unknown");
    assert!(
        r["notes"].to_string().contains("GRANT PROCESS"),
        "{}",
        r["notes"]
    );
    // For a person: what could not be seen, once, with the GRANT; no SQL Server check.
    let (code, out, _) = run_async(args(&[
        "triage",
        &stage.target_as(&format!("{}_plain", stage.name)),
        "--samples",
        "1",
    ]))
    .await;
    assert_eq!(code, 3, "{out}");
    assert_eq!(out.matches("What spiral could not see").count(), 1, "{out}");
    assert_eq!(out.matches("GRANT PROCESS").count(), 1, "{out}");
    assert!(!out.contains("query-store-amplification"), "{out}");
}

#[tokio::test]
async fn kill_ends_exactly_the_idle_shipping_sessions() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "kill").await;
    let shipping = stage.name.clone();
    let mut victims = Vec::new();
    for _ in 0..40 {
        victims.push(stage.connect(&shipping).await);
    }
    let plain = format!("{}_plain", stage.name);
    let mut bystanders = Vec::new();
    for _ in 0..5 {
        bystanders.push(stage.connect(&plain).await);
    }
    let mut busy = stage.connect(&plain).await;
    tokio::spawn(async move {
        let _ = busy.execute("SELECT SLEEP(20)").await;
    });
    let _root_idle = stage.admin().await;
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let target = stage.target();
    let count = |user: String| {
        let url = url.clone();
        async move {
            let mut admin =
                MySqlConnection::connect_with(&url.parse::<MySqlConnectOptions>().unwrap())
                    .await
                    .unwrap();
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
            )
            .bind(user)
            .fetch_one(&mut admin)
            .await
            .unwrap();
            n
        }
    };
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
    assert_eq!(plan["actions"].as_array().unwrap().len(), 40);
    assert!(
        plan["actions"][0]["statement"]
            .as_str()
            .unwrap()
            .starts_with("KILL CONNECTION ")
    );
    assert_eq!(count(shipping.clone()).await, 40);
    // The exclusions hold even when the filters match everything: spiral's own session
    // (its sample query matches any regex) and the idle root session are never victims.
    let (_, plan, _) = spiral_json(args(&["kill", &target, "--match-sql", ".*"])).await;
    assert!(
        plan["spared"].to_string().contains("spiral's own session"),
        "{}",
        plan["spared"]
    );
    let (_, plan, _) = spiral_json(args(&[
        "kill",
        &target,
        "--state",
        "idle",
        "--ignore-user",
        &shipping,
    ]))
    .await;
    assert!(
        plan["spared"].to_string().contains("an admin session"),
        "{}",
        plan["spared"]
    );
    assert!(
        plan["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["user"] == plain.as_str()),
        "{}",
        plan["actions"]
    );
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &target,
        "--user",
        &shipping,
        "--idle-over",
        "2s",
        "--execute",
        "--yes",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["outcome"] == "killed")
            .count(),
        40
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(count(shipping).await, 0);
    assert_eq!(
        count(plain).await,
        6,
        "bystanders and the busy query survive"
    );
    drop(victims);
}

/// MariaDB's sample reads SHOW PROCESSLIST, which cuts every text at 100 characters (never
/// FULL: a bulk import's statement would ship whole in every sample); kill chooses from
/// information_schema's processlist, up to 500 characters, so --match-sql still sees a
/// marker past the cut.
#[tokio::test]
async fn kill_matches_text_past_the_samples_cut() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "cut").await;
    let statement = format!("SELECT SLEEP(20) /* {} needle_past_100 */", "x".repeat(120));
    let mut long = stage.connect(&stage.name).await;
    let sent = statement.clone();
    tokio::spawn(async move {
        let _ = long.execute(sqlx::AssertSqlSafe(sent)).await;
    });
    let mut admin = stage.admin().await;
    wait_for(
        &mut admin,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%needle_past_100%'"
            .to_string(),
        1,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cut.jsonl").to_str().unwrap().to_string();
    let (code, _, err) = run_async(args(&[
        "capture",
        &stage.target(),
        "--samples",
        "1",
        "-o",
        &file,
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    let captured = std::fs::read_to_string(&file).unwrap();
    assert!(captured.contains(&statement[..100]), "{captured}");
    assert!(!captured.contains("needle_past_100"), "{captured}");

    let target = stage.target();
    let (code, plan, err) =
        spiral_json(args(&["kill", &target, "--match-sql", "needle_past_100"])).await;
    assert_eq!(code, 0, "{err}");
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{plan}");
    assert_eq!(actions[0]["user"], stage.name.as_str());
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &target,
        "--match-sql",
        "needle_past_100",
        "--execute",
        "--yes",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(r["actions"][0]["outcome"], "killed", "{r}");
}

#[tokio::test]
async fn connection_errors_are_one_line() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "auth").await;
    let mut admin = stage.admin().await;
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER USER '{}'@'%' IDENTIFIED BY 'right'",
            stage.name
        )))
        .await
        .unwrap();
    let o = stage.options();
    let wrong = format!(
        "mysql://{}:hunter2@{}:{}/{}",
        stage.name,
        o.get_host(),
        o.get_port(),
        stage.name
    );
    let (code, _, err) = run_async(args(&["triage", &wrong, "--samples", "1"])).await;
    assert_eq!(code, 3);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.to_lowercase().contains("access denied") || err.contains("password"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
}

/// Accounts and roles a test creates beyond the stage's two users, dropped on drop (their
/// sessions go with the stage's own cleanup, which ends every `spiral_t_*` session).
struct ExtraAccounts {
    admin_url: String,
    drops: Vec<String>,
}

impl ExtraAccounts {
    fn cleanup_sql(stage: &Stage) -> Vec<String> {
        let n = &stage.name;
        vec![
            format!("DROP USER IF EXISTS '{n}_a'@'%'"),
            format!("DROP USER IF EXISTS '{n}_b'@'%'"),
            format!("DROP USER IF EXISTS '{n}_k'@'%'"),
            format!("DROP ROLE IF EXISTS {n}_r"),
        ]
    }

    async fn run(admin_url: &str, sqls: &[String]) {
        let Ok(opts) = admin_url.parse::<MySqlConnectOptions>() else {
            return;
        };
        let Ok(mut admin) = MySqlConnection::connect_with(&opts).await else {
            return;
        };
        for sql in sqls {
            let _ = admin.execute(sqlx::AssertSqlSafe(sql.clone())).await;
        }
    }
}

impl Drop for ExtraAccounts {
    fn drop(&mut self) {
        let url = self.admin_url.clone();
        let drops = std::mem::take(&mut self.drops);
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(ExtraAccounts::run(&url, &drops));
        })
        .join();
    }
}

fn action_ids(plan: &serde_json::Value) -> Vec<i64> {
    let mut ids: Vec<i64> = plan["actions"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["id"].as_i64()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
}

/// As a user with PROCESS and CONNECTION ADMIN (may see and end sessions, may not read the
/// grant tables), spiral cannot tell admins apart: it spares everyone it cannot classify and
/// says so. Once it may read the grants, users with SUPER through a role and with ALL
/// PRIVILEGES ON *.* are spared as admins, and the plain users are ended.
#[tokio::test]
async fn kill_spares_admins_through_roles_and_all_privileges() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "admins").await;
    let n = stage.name.clone();
    let extra = ExtraAccounts {
        admin_url: url.clone(),
        drops: ExtraAccounts::cleanup_sql(&stage),
    };
    ExtraAccounts::run(&url, &extra.drops).await;
    let mut admin = stage.admin().await;
    for sql in [
        format!("CREATE ROLE {n}_r"),
        format!("GRANT SUPER ON *.* TO {n}_r"),
        format!("CREATE USER '{n}_a'@'%'"),
        format!("GRANT ALL ON {n}.* TO '{n}_a'@'%'"),
        format!("GRANT {n}_r TO '{n}_a'@'%'"),
        format!("SET DEFAULT ROLE {n}_r FOR '{n}_a'@'%'"),
        format!("CREATE USER '{n}_b'@'%'"),
        format!("GRANT ALL PRIVILEGES ON *.* TO '{n}_b'@'%'"),
        format!("CREATE USER '{n}_k'@'%'"),
        format!("GRANT PROCESS, CONNECTION ADMIN ON *.* TO '{n}_k'@'%'"),
        format!("GRANT SELECT ON {n}.* TO '{n}_k'@'%'"),
    ] {
        admin.execute(sqlx::AssertSqlSafe(sql)).await.unwrap();
    }
    let mut plain = Vec::new();
    let mut plain_ids = Vec::new();
    for _ in 0..2 {
        let mut c = stage.connect(&n).await;
        plain_ids.push(thread_id(&mut c).await);
        plain.push(c);
    }
    plain_ids.sort_unstable();
    let mut via_role = stage.connect(&format!("{n}_a")).await;
    let mut all_privileges = stage.connect(&format!("{n}_b")).await;
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    let target = stage.target_as(&format!("{n}_k"));
    let kill = |execute: bool| {
        let mut a = vec![
            "kill".to_string(),
            target.clone(),
            "--idle-over".into(),
            "1s".into(),
        ];
        for u in [n.clone(), format!("{n}_a"), format!("{n}_b")] {
            a.push("--user".into());
            a.push(u);
        }
        if execute {
            a.push("--execute".into());
            a.push("--yes".into());
        }
        a
    };

    // The grant tables are unreadable: nobody is taken for a non-admin.
    let (code, plan, err) = spiral_json(kill(false)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_ids(&plan), Vec::<i64>::new(), "{}", plan["actions"]);
    assert_eq!(plan["unseen"][0]["sessions"], 4, "{}", plan["unseen"]);
    assert!(
        plan["unseen"][0]["remedy"]
            .as_str()
            .is_some_and(|r| r.contains("GRANT SELECT ON mysql.*")),
        "{}",
        plan["unseen"]
    );
    let (code, r, err) = spiral_json(kill(true)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_ids(&r), Vec::<i64>::new(), "{}", r["actions"]);
    via_role
        .execute("SELECT 1")
        .await
        .expect("role admin alive");
    all_privileges
        .execute("SELECT 1")
        .await
        .expect("ALL PRIVILEGES user alive");

    // With the grant tables readable, the admins are known and spared, the rest ended.
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "GRANT SELECT ON mysql.* TO '{n}_k'@'%'"
        )))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let (code, r, err) = spiral_json(kill(true)).await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(action_ids(&r), plain_ids, "{}", r["actions"]);
    assert!(
        r["actions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["outcome"] == "killed"),
        "{}",
        r["actions"]
    );
    let spared = r["spared"].to_string();
    for user in [format!("{n}_a"), format!("{n}_b")] {
        assert!(
            spared.contains(&format!("\"user\":\"{user}\"")) && spared.contains("admin"),
            "{user}: {spared}"
        );
    }
    via_role
        .execute("SELECT 1")
        .await
        .expect("role admin alive");
    all_privileges
        .execute("SELECT 1")
        .await
        .expect("ALL PRIVILEGES user alive");
    for mut c in plain {
        assert!(c.execute("SELECT 1").await.is_err(), "plain user ended");
    }
    drop(extra);
}

/// The kill checks the state in the same request as the KILL (MariaDB): a thread chosen as
/// idle that is running a statement when the kill arrives is not ended (staged
/// deterministically by sending the idle-guarded kill at a thread that is running one).
#[tokio::test]
async fn kill_statement_spares_a_thread_that_is_no_longer_idle() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "midstmt").await;
    let mut busy = stage.connect(&stage.name).await;
    let busy_id = thread_id(&mut busy).await;
    let running = tokio::spawn(async move { busy.execute("SELECT SLEEP(4)").await.map(|_| ()) });
    let mut idle = stage.connect(&stage.name).await;
    let idle_id = thread_id(&mut idle).await;
    let mut admin = stage.admin().await;
    let mut sampler = sampler_once_running(&stage, &mut admin, busy_id).await;
    let idle_guard = spiral::model::kill::Still::Idle {
        for_ms: 0,
        in_transaction: false,
    };
    let kill = |id: i64, still: spiral::model::kill::Still| spiral::model::kill::KillTarget {
        id,
        connected_at: None,
        still,
    };
    use spiral::model::kill::Outcome;
    // Chosen as idle, running a statement now: not ended, and the statement goes on.
    assert_eq!(
        sampler
            .kill(kill(busy_id, idle_guard), false, false)
            .await
            .unwrap(),
        Outcome::Spared
    );
    // Idle, but not for as long as asked; idle, but in no transaction: not ended.
    let long = spiral::model::kill::Still::Idle {
        for_ms: 3_600_000,
        in_transaction: false,
    };
    assert_eq!(
        sampler
            .kill(kill(idle_id, long), false, false)
            .await
            .unwrap(),
        Outcome::Spared
    );
    let in_transaction = spiral::model::kill::Still::Idle {
        for_ms: 0,
        in_transaction: true,
    };
    assert_eq!(
        sampler
            .kill(kill(idle_id, in_transaction), false, false)
            .await
            .unwrap(),
        Outcome::Spared
    );
    // A thread that does not exist is gone; a still idle one is ended.
    assert_eq!(
        sampler
            .kill(kill(i64::from(u32::MAX) + 7, idle_guard), false, false)
            .await
            .unwrap(),
        Outcome::Gone
    );
    assert_eq!(
        sampler
            .kill(kill(idle_id, idle_guard), false, false)
            .await
            .unwrap(),
        Outcome::Killed
    );
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

/// The batch kill (one request for many threads on MariaDB 10.6+) re-checks each victim on
/// the server: in one batch, the thread that started a statement since it was chosen as
/// idle is spared, the idle ones are killed, an id that is gone is reported gone, and a
/// thread that was not in the batch is untouched. Then, under an idle-in-transaction
/// condition, the thread without a transaction is spared and the one in it killed.
#[tokio::test]
async fn kill_batch_kills_only_the_selected_that_still_hold() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "killbatch").await;
    let mut busy = stage.connect(&stage.name).await;
    let busy_id = thread_id(&mut busy).await;
    let running = tokio::spawn(async move { busy.execute("SELECT SLEEP(4)").await.map(|_| ()) });
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut c = stage.connect(&stage.name).await;
        let id = thread_id(&mut c).await;
        idle.push((c, id));
    }
    let mut bystander = stage.connect(&stage.name).await;
    let mut admin = stage.admin().await;
    let mut sampler = sampler_once_running(&stage, &mut admin, busy_id).await;
    use spiral::model::kill::{KillTarget, Outcome, Still};
    let idle_guard = Still::Idle {
        for_ms: 0,
        in_transaction: false,
    };
    let target = |id: i64, still: Still| KillTarget {
        id,
        connected_at: None,
        still,
    };
    let gone_id = i64::from(u32::MAX) + 7;
    let batch = [
        target(busy_id, idle_guard),
        target(idle[0].1, idle_guard),
        target(gone_id, idle_guard),
        target(idle[1].1, idle_guard),
    ];
    let outcomes: Vec<Outcome> = sampler
        .kill_batch(&batch, false, false)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Spared,
            Outcome::Killed,
            Outcome::Gone,
            Outcome::Killed
        ]
    );
    // The third idle thread opens a transaction; under the idle-in-transaction condition
    // the bystander (idle, no transaction) is spared and the transaction's owner killed.
    let (mut in_trx, in_trx_id) = idle.pop().unwrap();
    // WITH CONSISTENT SNAPSHOT opens the InnoDB transaction at once (INNODB_TRX shows it).
    in_trx
        .execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .unwrap();
    let bystander_id = thread_id(&mut bystander).await;
    wait_for(
        &mut admin,
        format!("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = {in_trx_id}"),
        1,
    )
    .await;
    let in_transaction = Still::Idle {
        for_ms: 0,
        in_transaction: true,
    };
    let outcomes: Vec<Outcome> = sampler
        .kill_batch(
            &[
                target(bystander_id, in_transaction),
                target(in_trx_id, in_transaction),
            ],
            false,
            false,
        )
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(outcomes, [Outcome::Spared, Outcome::Killed]);
    sampler.close().await;
    running
        .await
        .unwrap()
        .expect("the running statement was not interrupted");
    for (mut c, id) in idle {
        assert!(c.execute("SELECT 1").await.is_err(), "idle {id} ended");
    }
    assert!(
        in_trx.execute("SELECT 1").await.is_err(),
        "in transaction ended"
    );
    bystander
        .execute("SELECT 1")
        .await
        .expect("the thread outside the batch, then spared, is alive");
}

/// Whether MariaDB's metadata_lock_info plugin is loaded now.
async fn mdl_plugin_loaded(admin: &mut MySqlConnection) -> bool {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'",
    )
    .fetch_one(admin)
    .await
    .unwrap();
    n > 0
}

/// The metadata-lock pile-up: a session holds t (sleeping inside its transaction after
/// reading it, or still running a long read of it inside one), a migration's ALTER TABLE
/// waits for the lock, and `readers` SELECTs queue behind the ALTER. spiral must draw the
/// chain holder -> ALTER -> readers, name the holder in blocking-chain, and `kill
/// --blocking-leaders` must plan the holder and nobody else. With the plugin the holder is
/// read from METADATA_LOCK_INFO; without it, inferred (and the evidence says so).
async fn metadata_lock_pile_up(name: &str, plugin: bool, running_holder: bool) {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let mut stage = Stage::new(&url, name).await;
    let mut admin = stage.admin().await;
    let loaded = mdl_plugin_loaded(&mut admin).await;
    if plugin && !loaded {
        if let Err(e) = admin.execute("INSTALL SONAME 'metadata_lock_info'").await {
            eprintln!("SKIPPED: cannot install metadata_lock_info ({e})");
            return;
        }
        stage.uninstall_plugin = true;
    } else if !plugin && loaded {
        eprintln!("SKIPPED: metadata_lock_info is loaded by someone else; inference untestable");
        return;
    }
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "CREATE TABLE {}.u (id int PRIMARY KEY, v int) ENGINE=InnoDB",
            stage.name
        )))
        .await
        .unwrap();
    let mut holder = stage.connect(&stage.name).await;
    let holder_id = thread_id(&mut holder).await;
    holder.execute("BEGIN").await.unwrap();
    holder.execute("SELECT * FROM t").await.unwrap();
    let mut keep = Vec::new();
    if running_holder {
        tokio::spawn(async move {
            let _ = holder.execute("SELECT SLEEP(40) FROM t LIMIT 1").await;
            drop(holder);
        });
        wait_for(
            &mut admin,
            format!("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {holder_id} AND STATE = 'User sleep'"),
            1,
        )
        .await;
    } else {
        keep.push(holder);
    }
    let mut alter = stage.connect(&stage.name).await;
    let alter_id = thread_id(&mut alter).await;
    tokio::spawn(async move {
        let _ = alter.execute("SET SESSION lock_wait_timeout = 40").await;
        let _ = alter.execute("ALTER TABLE t ADD COLUMN c INT").await;
        tokio::time::sleep(Duration::from_secs(40)).await;
        drop(alter);
    });
    let waiting = format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{}' AND STATE = 'Waiting for table metadata lock'",
        stage.name
    );
    wait_for(&mut admin, waiting.clone(), 1).await;
    // A bystander: a transaction on another table that began after the ALTER started to
    // wait cannot hold what the ALTER wants, inferred or not.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let mut bystander = stage.connect(&stage.name).await;
    bystander.execute("BEGIN").await.unwrap();
    bystander
        .execute("INSERT INTO u VALUES (1, 1)")
        .await
        .unwrap();
    keep.push(bystander);
    let readers = 3;
    // One reader as an ORM writes it: its FROM comes after the 100 bytes at which the
    // sample's SHOW PROCESSLIST cuts a text, so its table is known only from the longer
    // text spiral reads while someone waits for a metadata lock.
    let columns: Vec<String> = (0..12)
        .map(|i| format!("id AS reader_column_{i}"))
        .collect();
    let long_read = format!("SELECT {} FROM t WHERE id = 1", columns.join(", "));
    assert!(long_read.find(" FROM t").unwrap() > 100);
    for r in 0..readers {
        let mut c = stage.connect(&stage.name).await;
        let read = if r == 0 {
            long_read.clone()
        } else {
            "SELECT * FROM t WHERE id = 1".to_string()
        };
        tokio::spawn(async move {
            let _ = c.execute("SET SESSION lock_wait_timeout = 40").await;
            let _ = c.execute(sqlx::AssertSqlSafe(read)).await;
            tokio::time::sleep(Duration::from_secs(40)).await;
            drop(c);
        });
    }
    wait_for(&mut admin, waiting, 1 + readers).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let target = stage.target();
    let (code, r, err) = spiral_json(args(&[
        "triage",
        &target,
        "--samples",
        "1",
        "-T",
        "blocked_warning_wait=1s",
        "-T",
        "blocked_critical_wait=1s",
    ]))
    .await;
    let chain =
        verdict(&r, "blocking-chain").unwrap_or_else(|| panic!("{err} {:?}", verdict_ids(&r)));
    assert_eq!(chain["severity"], "critical", "{chain}");
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        chain["culprits"]["sessions"],
        serde_json::json!([holder_id]),
        "{chain}"
    );
    let summary = chain["summary"].as_str().unwrap();
    assert!(
        summary.contains(&holder_id.to_string()) && summary.contains("blocking 4 sessions"),
        "{summary}"
    );
    let how = chain["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["label"] == "how the blockers were found")
        .unwrap_or_else(|| panic!("{chain}"))["value"]
        .as_str()
        .unwrap()
        .to_string();
    if plugin {
        assert!(how.contains("METADATA_LOCK_INFO"), "{how}");
    } else {
        assert!(how.contains("inferred"), "{how}");
    }
    assert!(how.contains(&format!("{}.t", stage.name)), "{how}");

    // The tree: the ALTER in the middle, the readers under it.
    let (_, view, err) = spiral_json(args(&["blocking", &target, "--samples", "1"])).await;
    let tree = view["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["heading"]
                .as_str()
                .is_some_and(|t| t.starts_with("Blocking trees"))
        })
        .unwrap_or_else(|| panic!("{err} {view}"));
    // Rows are data (spiral.view/v2): the session id, its depth and whom it waits for.
    let rows: Vec<(i64, i64, Option<i64>)> = tree["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["session"].as_i64().unwrap(),
                row["depth"].as_i64().unwrap(),
                row["waits_for"].as_i64(),
            )
        })
        .collect();
    assert_eq!(rows[0], (holder_id, 0, None), "{rows:?}");
    assert_eq!(rows[1], (alter_id, 1, Some(holder_id)), "{rows:?}");
    for reader in &rows[2..] {
        assert_eq!((reader.1, reader.2), (2, Some(alter_id)), "{rows:?}");
    }
    assert_eq!(rows.len() as i64, 2 + readers, "{rows:?}");

    // kill --blocking-leaders plans exactly the holder (a dry run).
    let (code, plan, err) = spiral_json(args(&["kill", &target, "--blocking-leaders"])).await;
    assert_eq!(code, 0, "{err}");
    let ids: Vec<i64> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [holder_id], "{plan}");
    drop(keep);
}

#[tokio::test]
async fn metadata_lock_pile_up_idle_holder_plugin() {
    metadata_lock_pile_up("mdl_idle_plugin", true, false).await;
}

#[tokio::test]
async fn metadata_lock_pile_up_running_holder_plugin() {
    metadata_lock_pile_up("mdl_run_plugin", true, true).await;
}

#[tokio::test]
async fn metadata_lock_pile_up_idle_holder_inferred() {
    metadata_lock_pile_up("mdl_idle_infer", false, false).await;
}

#[tokio::test]
async fn metadata_lock_pile_up_running_holder_inferred() {
    metadata_lock_pile_up("mdl_run_infer", false, true).await;
}

/// A full server refuses spiral with 1040: `check` says CRITICAL connection-exhaustion
/// (the question a monitor asks is answered), unless that verdict is not judged. A
/// per-account limit (1226/1203) is spiral's own account at its limit, not the server:
/// UNKNOWN.
#[tokio::test]
async fn check_on_a_full_server_is_critical() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let mut stage = Stage::new(&url, "full").await;
    let mut admin = stage.admin().await;
    let max: u64 = sqlx::query_scalar("SELECT @@GLOBAL.max_connections")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    stage.restore_max = Some(max);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SET GLOBAL max_connections = {LOWERED}"
        )))
        .await
        .unwrap();
    let mut sleepers = Vec::new();
    let mut refused = false;
    for _ in 0..LOWERED + 5 {
        match stage.try_connect(&stage.name).await {
            Ok(c) => sleepers.push(c),
            Err(_) => {
                refused = true;
                break;
            }
        }
    }
    assert!(refused, "the server never filled up");
    let plain = stage.target_as(&format!("{}_plain", stage.name));
    let (code, out, err) = run_async(args(&["check", &plain, "--samples", "1"])).await;
    assert_eq!(code, 2, "{out} {err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("SPIRAL CRITICAL: connection-exhaustion: ") && out.contains("1040"),
        "{out}"
    );
    let (code, out, _) = run_async(args(&[
        "check",
        &plain,
        "--samples",
        "1",
        "--ignore",
        "connection-exhaustion",
    ]))
    .await;
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("SPIRAL UNKNOWN: "), "{out}");

    // Room again, but the account may hold one connection and already does.
    drop(sleepers);
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "SET GLOBAL max_connections = {max}"
        )))
        .await
        .unwrap();
    admin
        .execute(sqlx::AssertSqlSafe(format!(
            "ALTER USER '{}_plain'@'%' WITH MAX_USER_CONNECTIONS 1",
            stage.name
        )))
        .await
        .unwrap();
    let _one = stage.connect(&format!("{}_plain", stage.name)).await;
    let (code, out, _) = run_async(args(&["check", &plain, "--samples", "1"])).await;
    assert_eq!(code, 3, "{out}");
    assert!(
        // 1226 for the account's own limit, 1203 for the global max_user_connections.
        out.starts_with("SPIRAL UNKNOWN: ") && (out.contains("1226") || out.contains("1203")),
        "{out}"
    );
}

/// A client that keeps `want` idle connections of `user` open, reopening the ones that are
/// killed, until `stop` is set. Returns how many it opened.
fn refilling_client(
    admin: MySqlConnectOptions,
    client: MySqlConnectOptions,
    user: String,
    want: i64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut admin = MySqlConnection::connect_with(&admin).await.unwrap();
        let mut held = Vec::new();
        let mut opened = 0u64;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ?",
            )
            .bind(&user)
            .fetch_one(&mut admin)
            .await
            .unwrap();
            for _ in n..want {
                if let Ok(c) = MySqlConnection::connect_with(&client).await {
                    held.push(c);
                    opened += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        opened
    })
}

#[tokio::test]
async fn kill_every_holds_a_refilling_leak_down() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "loop").await;
    let leak = stage.name.clone();
    let plain = format!("{leak}_plain");
    let mut bystanders = Vec::new();
    let mut bystander_ids = Vec::new();
    for _ in 0..3 {
        let mut c = stage.connect(&plain).await;
        bystander_ids.push(thread_id(&mut c).await);
        bystanders.push(c);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = refilling_client(
        stage.options(),
        stage.options().username(&leak).database(&leak),
        leak.clone(),
        4,
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("kill.log");
    let (code, r, err) = spiral_json(args(&[
        "kill",
        &stage.target(),
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
        "--log",
        log.to_str().unwrap(),
    ]))
    .await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let opened = client.await.unwrap();
    assert_eq!(code, 0, "{err} {r}");
    let rep = &r["repeat"];
    assert_eq!(rep["ended"], "time", "{rep}");
    assert_eq!(rep["max_rounds"], 3);
    let rounds = rep["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 3, "{rep}");
    // One line per round on stderr.
    assert_eq!(
        err.lines().filter(|l| l.starts_with("round ")).count(),
        3,
        "{err}"
    );
    assert!(rounds[0]["killed"].as_u64().unwrap() >= 4, "{rep}");
    let mut killed = 0;
    for (i, round) in rounds.iter().enumerate() {
        let n = |k: &str| round[k].as_u64().unwrap();
        // The client reopened what the previous round ended: every round finds some.
        assert!(n("killed") >= 1, "round {i}: {round}");
        assert_eq!(n("killed") + n("gone"), n("selected"), "round {i}: {round}");
        assert_eq!(n("failed"), 0);
        assert_eq!(round["refill_per_min"].is_null(), i == 0, "{round}");
        killed += n("killed");
    }
    assert!(killed <= opened, "killed {killed} of {opened} opened");
    // Only the leaking user's sessions, never a bystander's.
    for a in r["actions"].as_array().unwrap() {
        assert_eq!(a["user"], leak.as_str(), "{a}");
        assert!(!bystander_ids.contains(&a["id"].as_i64().unwrap()), "{a}");
    }
    let mut admin = stage.admin().await;
    let alive: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{plain}'"
    )))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(alive, 3, "the bystander's idle connections survive");
    // Every kill is on record.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logged.lines().filter(|l| l.contains("\"action\"")).count() as u64,
        r["actions"].as_array().unwrap().len() as u64
    );
    drop(bystanders);
}

#[tokio::test]
async fn kill_every_dry_run_shows_the_first_round_and_the_schedule() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "loopdry").await;
    let leak = stage.name.clone();
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(stage.connect(&leak).await);
    }
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (code, out, err) = run_async(args(&[
        "kill",
        &stage.target(),
        "--user",
        &leak,
        "--idle-over",
        "1s",
        "--every",
        "30s",
        "--for",
        "15m",
        "--until-quiet",
        "3",
    ]))
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Would end 2 sessions on "), "{out}");
    assert!(out.contains("Dry run: nothing was done."), "{out}");
    assert!(
        out.contains("Would repeat every 30s for up to 15m (30 rounds at most, or after 3 rounds"),
        "{out}"
    );
    let mut admin = stage.admin().await;
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{leak}'"
    )))
    .fetch_one(&mut admin)
    .await
    .unwrap();
    assert_eq!(n, 2, "a dry run ends nothing");
    // Bounded: no loop without an end, none that hammers the server.
    for bad in [
        vec!["--every", "30s"],
        vec!["--every", "1s", "--for", "1m"],
        vec!["--every", "1m", "--for", "48h"],
        vec!["--until-quiet", "2"],
    ] {
        let mut a = args(&["kill", &stage.target(), "--user", &leak]);
        a.extend(args(&bad));
        let (code, _, err) = run_async(a).await;
        assert_eq!(code, 3, "{bad:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    drop(held);
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

/// With performance_schema OFF (MariaDB's default) the server keeps no wait statistics
/// spiral reads: `spiral waits` and triage tally the row-lock wait seen in the sampled
/// processlist and say it is sampled, and why. With performance_schema ON the waits come
/// from its summary, measured (the shared server is not restarted to test that: the
/// summary's decoding is tested with recorded rows in src/engine/mysql/waits.rs).
#[tokio::test]
async fn lock_waits_over_the_window_say_where_they_come_from() {
    let Some(url) = admin_url() else { return };
    let _lock = live_lock();
    let stage = Stage::new(&url, "sampledwaits").await;
    let mut admin = stage.admin().await;
    let ps_on: i64 = sqlx::query_scalar("SELECT @@GLOBAL.performance_schema + 0")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    // Two sessions: a holder sleeping in its transaction, one writer queued behind it.
    let (_holder, _keep) = stage_lock_chain(&stage, 1).await;
    let (code, view, err) = spiral_json(args(&[
        "waits",
        &stage.target(),
        "--samples",
        "3",
        "--interval",
        "1s",
    ]))
    .await;
    assert!(code != 3, "{err}");
    let accrued = section(&view, "waits_accrued");
    let rows = accrued["rows"].as_array().cloned().unwrap_or_default();
    let heading = accrued["heading"].as_str().unwrap_or_default();
    if ps_on == 1 {
        assert!(heading.contains("(performance_schema)"), "{heading}");
        assert!(rows.iter().all(|r| r["source"] == "measured"), "{accrued}");
        return;
    }
    let lock = rows
        .iter()
        .find(|r| r["wait"] == "InnoDB row lock")
        .unwrap_or_else(|| panic!("no row-lock wait sampled: {accrued}"));
    assert_eq!(
        (&lock["class"], &lock["source"]),
        (&serde_json::json!("lock"), &serde_json::json!("sampled")),
        "{lock}"
    );
    assert_eq!(lock["waits"], 3, "{lock}");
    let per_sec = lock["ms_per_sec"].as_f64().unwrap_or(0.0);
    assert!((900.0..=1_100.0).contains(&per_sec), "{lock}");
    let note = accrued["note"].as_str().unwrap_or_default();
    assert!(
        heading.contains("not measured")
            && note.contains("sampled, not measured")
            && note.contains("performance_schema is OFF")
            && note.contains("3 samples of the processlist"),
        "{heading} / {note}"
    );

    let (code, r, err) = spiral_json(args(&[
        "triage",
        &stage.target(),
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
    assert_eq!(r["waits_source"]["from"], "the processlist");
    assert!(
        r["waits_accrued"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|a| a["wait_type"] == "InnoDB row lock" && a["source"] == "sampled"),
        "{}",
        r["waits_accrued"]
    );
}

/// The settings the tests that drive a sampler directly connect with.
/// spiral's own sampler on the stage, connected once connection `busy_id` runs a statement.
async fn sampler_once_running(
    stage: &Stage,
    admin: &mut MySqlConnection,
    busy_id: i64,
) -> spiral::engine::LiveSampler {
    wait_for(
        admin,
        format!(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {busy_id} AND COMMAND = 'Query'"
        ),
        1,
    )
    .await;
    spiral::engine::connect(
        &spiral::target::Target::parse(&stage.target()).unwrap(),
        &connect_settings(),
    )
    .await
    .unwrap()
}

fn connect_settings() -> spiral::config::ConnectSettings {
    spiral::config::ConnectSettings {
        connect_timeout: Duration::from_secs(5),
        query_timeout: Duration::from_secs(5),
        dac: false,
        session_cuts: Default::default(),
        encrypt: None,
        trust_server_certificate: false,
        password_stdin: false,
    }
}
