//! The binary end to end on every bundled capture: verdict ids, culprits, JSON shape, exit
//! codes, and the table, markdown and Slack renderings as reviewed snapshots.

#[path = "support/incidents.rs"]
mod incidents;
mod support;

use support::{run, run_json, severity, verdict, verdict_ids};

const SUNDAY: &str = "captures/000-sqlserver-sunday-spiral.jsonl";
const STABILIZED: &str = "captures/000-sqlserver-stabilized.jsonl";
const LEAK: &str = "captures/001-postgres-connection-leak.jsonl";
const SHIPPING: &str = "captures/002-mysql-shipping-sleepers.jsonl";
const POOL: &str = "captures/004-postgres-deadlocked-pool.jsonl";
const HEALTHY: &str = "captures/healthy-busy-postgres.jsonl";
const IMPORT: &str = "captures/003-sqlserver-long-import.jsonl";
const POOLER: &str = "captures/001-pgbouncer-pool-exhausted.jsonl";
const BESIDE: &str = "captures/001-pgbouncer-beside-postgres-held.jsonl";
const GRANTS: &str = "captures/sqlserver-memory-grant-queue.jsonl";
const VERSIONS: &str = "captures/sqlserver-version-store.jsonl";

fn triage(file: &str) -> (i32, serde_json::Value) {
    let (code, json, err) = run_json(&["triage", "--replay", file]);
    assert!(err.is_empty(), "no stderr expected for {file}: {err}");
    (code, json)
}

#[test]
fn bundled_captures_are_current() {
    for c in incidents::all() {
        let committed =
            std::fs::read_to_string(c.file).unwrap_or_else(|e| panic!("{}: {e}", c.file));
        assert!(
            committed == c.to_jsonl(),
            "{} differs from tests/support/incidents.rs: run `cargo run --example build_captures`",
            c.file
        );
    }
}

#[test]
fn incident_000_sunday_spiral() {
    let (code, r) = triage(SUNDAY);
    assert_eq!(code, 2);
    let ids = verdict_ids(&r);
    for id in [
        "compile-gate-saturation",
        "query-store-amplification",
        "worker-thread-exhaustion",
        "deadlock-cycle",
        "read-blocked-by-writers",
        "client-pool-saturation",
        "client-timeout-exceeded",
    ] {
        assert_eq!(
            severity(&r, id).as_deref(),
            Some("critical"),
            "{id} in {ids:?}"
        );
    }
    assert_eq!(
        verdict(&r, "deadlock-cycle").unwrap()["culprits"]["sessions"],
        serde_json::json!([182, 3453, 2035, 512])
    );
    let pool = verdict(&r, "client-pool-saturation").unwrap();
    assert!(
        pool["summary"]
            .as_str()
            .unwrap()
            .contains("exactly 100 connections")
    );
    let workers = verdict(&r, "worker-thread-exhaustion").unwrap();
    assert!(
        workers["actions"][0]
            .as_str()
            .unwrap()
            .contains("dedicated admin connection")
    );
    assert_eq!(r["figures"]["queued_tasks"], 1817);
    assert_eq!(r["figures"]["connected_clients"], 5049);
}

#[test]
fn incident_000_stabilized_is_quiet() {
    let (code, r) = triage(STABILIZED);
    assert_eq!(code, 0, "{:?}", verdict_ids(&r));
    assert!(verdict_ids(&r).iter().all(|id| {
        let s = severity(&r, id).unwrap();
        s == "info" || s == "ok"
    }));
}

#[test]
fn incident_001_connection_leak() {
    let (code, r) = triage(LEAK);
    assert_eq!(code, 2);
    assert_eq!(
        severity(&r, "connection-exhaustion").as_deref(),
        Some("critical")
    );
    let leak = verdict(&r, "idle-connection-leak").expect("leak verdict");
    assert_eq!(leak["culprits"]["users"], serde_json::json!(["app"]));
    assert_eq!(
        leak["culprits"]["applications"],
        serde_json::json!(["celery-worker"])
    );
    assert!(
        leak["summary"]
            .as_str()
            .unwrap()
            .contains("4 more than at the first sample")
    );
}

#[test]
fn incident_002_shipping_sleepers_with_ready_kill_command() {
    let (code, r) = triage(SHIPPING);
    assert_eq!(code, 2);
    assert_eq!(
        severity(&r, "connection-exhaustion").as_deref(),
        Some("critical")
    );
    let leak = verdict(&r, "idle-connection-leak").expect("leak verdict");
    assert_eq!(leak["culprits"]["users"], serde_json::json!(["shipping"]));
    let kill = leak["actions"][0].as_str().unwrap();
    assert!(
        kill.contains("CALL mysql.rds_kill(") && kill.contains("USER = 'shipping'"),
        "{kill}"
    );
    assert!(verdict_ids(&r).contains(&"missing-guardrails".to_string()));
}

#[test]
fn incident_003_long_import_holds_the_log() {
    let (code, r) = triage(IMPORT);
    assert_eq!(code, 2);
    let v = verdict(&r, "long-transaction").expect("long-transaction verdict");
    assert_eq!(v["severity"], "critical");
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([87]));
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.contains("session 87 (user import_svc"), "{summary}");
    assert!(summary.contains("3h"), "{summary}");
    assert!(summary.contains("FinCalc (73% used)"), "{summary}");
    assert!(v["actions"][0].as_str().unwrap().contains("KILL 87;"));
    // The API sessions working beside it are not blamed.
    assert_eq!(
        verdict_ids(&r)
            .iter()
            .filter(|i| *i == "long-transaction")
            .count(),
        1
    );
}

/// Under RCSI, a report's transaction left open: long-transaction names the session the
/// version store cannot be cleaned past, its age, and the store's size, share and growth.
#[test]
fn version_store_held_by_a_forgotten_report() {
    let (code, r) = triage(VERSIONS);
    assert_eq!(code, 1);
    let v = verdict(&r, "long-transaction").expect("long-transaction verdict");
    assert_eq!(v["severity"], "warning");
    assert_eq!(v["culprits"]["sessions"], serde_json::json!([214]));
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("session 214 (user reporting")
            && summary.contains("the version store in tempdb (6,400 MB, 31% of its data files, +300 MB over the window)")
            && summary.contains("past session 214's row-versioning transaction (open 52m20s)"),
        "{summary}"
    );
    assert!(!summary.contains("9002"), "no log waits on it: {summary}");
    let actions: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(actions[0].contains("KILL 214;"), "{actions:?}");
    assert!(actions[1].contains("3958"), "{actions:?}");
    // The API's writers that make the versions are not blamed.
    assert_eq!(
        verdict_ids(&r),
        ["idle-in-transaction", "long-transaction"],
        "{:?}",
        verdict_ids(&r)
    );
}

#[test]
fn pooler_exhausted_after_incident_001() {
    let (code, r) = triage(POOLER);
    assert_eq!(code, 2);
    let v = verdict(&r, "pool-exhaustion").expect("pool-exhaustion verdict");
    assert_eq!(v["severity"], "critical");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("Pool app/app: 110 clients wait"),
        "{summary}"
    );
    assert!(summary.contains("waiting 60 -> 110"), "{summary}");
    assert_eq!(
        v["culprits"]["applications"],
        serde_json::json!(["celery-worker"])
    );
    // The reporting pool has an idle server: it is not named.
    assert!(!summary.contains("reporting"), "{summary}");
    // SHOW STATS diffed: 425 s of waiting over 1,500 transactions per 5 s.
    assert!(
        summary.contains("clients waited 283ms on average"),
        "{summary}"
    );
    assert_eq!(
        verdict_ids(&r),
        vec![
            "pool-exhaustion".to_string(),
            "pooler-missing-guardrails".to_string()
        ]
    );
    let g = verdict(&r, "pooler-missing-guardrails").unwrap();
    assert_eq!(g["severity"], "warning");
    assert!(
        g["summary"]
            .as_str()
            .unwrap()
            .contains("query_wait_timeout"),
        "{g}"
    );
}

#[test]
fn incident_004_deadlocked_pool() {
    let (code, r) = triage(POOL);
    assert_eq!(code, 2);
    assert_eq!(severity(&r, "blocking-chain").as_deref(), Some("critical"));
    assert_eq!(
        severity(&r, "idle-in-transaction").as_deref(),
        Some("critical")
    );
    assert_eq!(
        severity(&r, "missing-guardrails").as_deref(),
        Some("warning"),
        "raised above info by the lock waits"
    );
    let chain = verdict(&r, "blocking-chain").unwrap();
    assert_eq!(
        chain["culprits"]["sessions"],
        serde_json::json!([41000, 41001])
    );
}

/// The issue-11 captures: each shows its one spiral and nothing else.
#[test]
fn log_tempdb_and_runnable_queue_captures_show_one_spiral_each() {
    for (file, id, code, needle) in [
        (
            "captures/sqlserver-log-write-pressure.jsonl",
            "log-write-pressure",
            1,
            "average 32 ms",
        ),
        (
            "captures/sqlserver-tempdb-contention.jsonl",
            "tempdb-allocation-contention",
            2,
            "PFS 2:1:1 (96)",
        ),
        (
            "captures/sqlserver-runnable-queue.jsonl",
            "cpu-pressure",
            1,
            "20 of 45 requests are runnable",
        ),
    ] {
        let (got, r) = triage(file);
        assert_eq!(got, code, "{file}");
        assert_eq!(verdict_ids(&r), [id], "{file}");
        let summary = verdict(&r, id)
            .and_then(|v| v["summary"].as_str().map(str::to_string))
            .unwrap_or_default();
        assert!(summary.contains(needle), "{file}: {summary}");
    }
}

#[test]
fn memory_grant_queue_is_critical_with_short_waits() {
    // 340 queued for a grant, none waiting 15 s: before memory-grant-exhaustion this was
    // "ok, exit 0".
    let (code, r) = triage(GRANTS);
    assert_eq!(code, 2);
    assert_eq!(verdict_ids(&r), ["memory-grant-exhaustion"]);
    let v = verdict(&r, "memory-grant-exhaustion").unwrap();
    assert_eq!(v["severity"], "critical");
    assert_eq!(
        v["culprits"]["sessions"],
        serde_json::json!([5077, 5131, 5214])
    );
    let summary = v["summary"].as_str().unwrap_or("");
    assert!(
        summary.contains("nightly-report") && summary.contains("3 gave up waiting"),
        "{summary}"
    );
    assert_eq!(r["checks"]["memory-grant-exhaustion"], "critical");
    // The completed waits diffed over the window: RESOURCE_SEMAPHORE, flagged as poison.
    assert_eq!(r["waits_accrued"][0]["wait_type"], "RESOURCE_SEMAPHORE");
    assert_eq!(r["waits_accrued"][0]["ms_per_sec"], 340_000.0);
    assert!(r["notes"].to_string().contains("Poison waits accrued"));
    let (_, view, _) = run_json(&["waits", "--replay", GRANTS]);
    let accrued = section(&view, "waits_accrued");
    assert_eq!(accrued["rows"][0]["poison"], "POISON");
    assert_eq!(
        accrued["total_rows"], 3,
        "THREADPOOL did not move: {accrued}"
    );
}

#[test]
fn healthy_busy_server_gets_no_warning() {
    let (code, r) = triage(HEALTHY);
    assert_eq!(code, 0);
    assert!(verdict_ids(&r).is_empty(), "{:?}", verdict_ids(&r));
    assert!(r["checks"].as_object().unwrap().values().all(|s| s == "ok"));
}

#[test]
fn json_shape_is_stable() {
    let (_, r) = triage(LEAK);
    assert_eq!(r["schema"], "spiral.triage/v1");
    for key in [
        "spiral_version",
        "target",
        "engine",
        "server_version",
        "window",
        "status",
        "exit_code",
        "verdicts",
        "checks",
        "figures",
        "notes",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    assert_eq!(r["window"]["samples"], 3);
    assert_eq!(r["window"]["seconds"], 10.0);
    let v = &r["verdicts"][0];
    for key in [
        "id", "title", "severity", "summary", "evidence", "actions", "playbook",
    ] {
        assert!(v.get(key).is_some(), "verdict lacks {key}");
    }
    // Every rule is a check, except the three that read a pooler (pool-exhaustion,
    // pooler-missing-guardrails, pooler-held-transaction), which need PgBouncer's console.
    assert_eq!(
        r["checks"].as_object().unwrap().len(),
        spiral::rules::RULES.len() - 3
    );
    // Evidence: a stable key beside the human label.
    let leak = verdict(&r, "idle-connection-leak").unwrap();
    let keys: Vec<&str> = leak["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"oldest_idle") && keys.contains(&"idle_longer_than_idle_over"),
        "{keys:?}"
    );
}

fn section<'a>(r: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    r["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap_or_else(|| panic!("no section {key} in {r}"))
}

#[test]
fn views_show_the_numbers_behind_the_verdicts() {
    let (code, r, _) = run_json(&["blocking", "--replay", POOL]);
    assert_eq!(code, 2);
    assert_eq!(r["schema"], "spiral.view/v2");
    let leads = &section(&r, "lead_blockers")["rows"];
    assert_eq!(leads[0]["lead"], 41000);
    assert_eq!(leads[0]["blocked"], 9);
    assert_eq!(leads[0]["longest_wait_ms"], 23_950_000);
    let tree = &section(&r, "trees")["rows"];
    assert_eq!(tree[0]["session"], 41000);
    assert_eq!(tree[0]["depth"], 0);
    assert_eq!(tree[1]["depth"], 1);
    assert!(tree[1]["waiting_ms"].as_u64().unwrap() > 3_600_000);
    // Statements whole, not cut for a terminal.
    let full = tree[0]["statement"].as_str().unwrap();
    assert!(full.len() > 40 && !full.contains('…'), "{full}");

    let (_, r, _) = run_json(&["connections", "--replay", SHIPPING]);
    let by_user = section(&r, "by_user");
    assert_eq!(by_user["rows"][0]["name"], "shipping");
    assert_eq!(by_user["rows"][0]["total"], 148);
    assert!(by_user["rows"][0]["oldest_idle_ms"].as_u64().unwrap() > 3_000_000);
    // MySQL gives no application names: no table of one "?" row.
    assert!(
        r["sections"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["key"] != "by_application"),
        "{r}"
    );

    let (_, r, _) = run_json(&["waits", "--replay", SUNDAY]);
    let waits = section(&r, "waits");
    assert_eq!(waits["rows"][0]["wait"], "RESOURCE_SEMAPHORE_QUERY_COMPILE");
    assert_eq!(waits["rows"][0]["sessions"], 2531);

    let (_, r, _) = run_json(&["compiles", "--replay", SUNDAY]);
    let rate = section(&r, "compilations")["rows"][0]["value"]
        .as_f64()
        .unwrap();
    assert!((rate - 3400.0).abs() < 1.0, "{rate}");

    let (_, r, _) = run_json(&["workers", "--replay", SUNDAY]);
    assert_eq!(section(&r, "workers")["rows"][3]["now"], 1817);

    let (_, r, _) = run_json(&["plancache", "--replay", SUNDAY]);
    assert_eq!(section(&r, "plan_cache")["rows"][0]["type"], "Prepared");
}

#[test]
fn view_json_has_every_row_unless_limited_and_tables_say_what_they_left_out() {
    let (_, r, _) = run_json(&["connections", "--replay", SUNDAY]);
    let hosts = section(&r, "by_host");
    let n = hosts["rows"].as_array().unwrap().len();
    assert!(n > 20, "JSON is not capped at 20 rows: {n}");
    assert_eq!(hosts["total_rows"], n);
    let (_, r, _) = run_json(&["connections", "--replay", SUNDAY, "--limit", "5"]);
    let hosts = section(&r, "by_host");
    assert_eq!(hosts["rows"].as_array().unwrap().len(), 5);
    assert_eq!(hosts["total_rows"], n);
    let (_, out, _) = run(&["connections", "--replay", SUNDAY]);
    assert!(out.contains(&format!("showing 20 of {n}")), "{out}");
}

#[test]
fn a_view_has_its_own_status() {
    // Triage of the leak is CRITICAL (connections), but nobody is waiting.
    let (code, r, _) = run_json(&["waits", "--replay", LEAK]);
    assert_eq!((code, r["status"].as_str()), (0, Some("ok")), "{r}");
    let (code, out, _) = run(&["waits", "--replay", LEAK]);
    assert_eq!(code, 0);
    assert!(out.starts_with("OK  Waits on"), "{out}");
    assert!(out.contains("no session is waiting"), "{out}");
    let (code, _, _) = run_json(&["connections", "--replay", LEAK]);
    assert_eq!(code, 2);
}

#[test]
fn table_rendering() {
    let (code, out, _) = run(&["triage", "--replay", POOL]);
    assert_eq!(code, 2);
    assert!(
        out.lines().all(|l| l.chars().count() <= 80),
        "wider than 80 columns:\n{out}"
    );
    insta::assert_snapshot!("table_004", out);
    let (_, out, _) = run(&["blocking", "--replay", POOL]);
    insta::assert_snapshot!("table_blocking_004", out);
}

#[test]
fn markdown_rendering() {
    let (_, out, _) = run(&["triage", "--replay", LEAK, "--format", "markdown"]);
    // Code spans stay code spans; a ready statement is a code block copied as it is.
    assert!(
        out.contains("`spiral connections`") && !out.contains("\\`"),
        "{out}"
    );
    let sql = out
        .find("```sql\n   SELECT pg_terminate_backend(pid)")
        .expect("SQL in a block");
    let block_end = sql + out[sql + 6..].find("```").unwrap();
    assert!(!out[sql..block_end].contains('\\'), "escaped SQL: {out}");
    insta::assert_snapshot!("markdown_001", out);
}

#[test]
fn slack_rendering_fits_block_kit() {
    for file in [SUNDAY, SHIPPING, HEALTHY] {
        let (_, out, _) = run(&["triage", "--replay", file, "--format", "slack"]);
        let p: serde_json::Value = serde_json::from_str(&out).expect("slack payload is JSON");
        assert!(p["text"].as_str().is_some_and(|t| !t.is_empty()));
        let blocks = p["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        for b in blocks {
            match b["type"].as_str().unwrap() {
                "header" => assert!(b["text"]["text"].as_str().unwrap().chars().count() <= 150),
                "section" => {
                    if let Some(t) = b["text"]["text"].as_str() {
                        assert!(t.chars().count() <= 3000);
                    }
                    if let Some(f) = b["fields"].as_array() {
                        assert!(f.len() <= 10);
                        assert!(
                            f.iter()
                                .all(|x| x["text"].as_str().unwrap().chars().count() <= 2000)
                        );
                    }
                }
                _ => {}
            }
        }
    }
    let (_, out, _) = run(&["triage", "--replay", SHIPPING, "--format", "slack"]);
    insta::assert_snapshot!("slack_002", out);
    // A view: each table a whole code block within Slack's limit.
    let (_, out, _) = run(&["connections", "--replay", SUNDAY, "--format", "slack"]);
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    for b in p["blocks"].as_array().unwrap().iter().skip(1) {
        let t = b["text"]["text"].as_str().unwrap();
        assert!(
            t.chars().count() <= 3000 && t.trim_end().ends_with("```"),
            "{t}"
        );
    }
}

#[test]
fn check_line_for_monitors() {
    let (code, out, _) = run(&["check", "--replay", LEAK]);
    assert_eq!(code, 2);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("SPIRAL CRITICAL: connection-exhaustion, idle-connection-leak"),
        "{out}"
    );
    assert!(out.contains("| 'connections'=82;66;78;0;82 "), "{out}");
    let (code, out, _) = run(&["check", "--replay", HEALTHY]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("SPIRAL OK: no death spiral (83 connected) |"),
        "{out}"
    );
    // Bounds given on the command line judge the metric on their own.
    let (code, out, _) = run(&[
        "check",
        "--replay",
        HEALTHY,
        "-w",
        "connections=40%",
        "-c",
        "connections=80",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("SPIRAL CRITICAL: connections=83 |"),
        "{out}"
    );
    let (code, json, _) = run_json(&["check", "--replay", HEALTHY, "-w", "bogus=1"]);
    assert_eq!(
        (code, json["status"].as_str()),
        (3, Some("UNKNOWN")),
        "{json}"
    );
    assert_eq!(json["schema"], "spiral.check/v1");
    let (code, out, _) = run(&["check", "--replay", HEALTHY, "-w", "bogus=1"]);
    assert_eq!(code, 3);
    assert!(
        out.starts_with("SPIRAL UNKNOWN: unknown metric 'bogus'"),
        "{out}"
    );
}

/// Verdicts speak to someone who never read our incident files: no verdict on any bundled
/// capture names one (the stories live in the playbooks, under "Seen in the wild").
#[test]
fn verdict_text_names_no_incident() {
    let bare = regex::Regex::new(r"(?i)\bincident \d{3}\b").unwrap();
    let all = [
        SUNDAY,
        STABILIZED,
        LEAK,
        SHIPPING,
        POOL,
        HEALTHY,
        IMPORT,
        POOLER,
        "captures/sqlserver-orphaned-dtc.jsonl",
    ];
    for file in all {
        let (_, r) = triage(file);
        for v in r["verdicts"].as_array().unwrap() {
            let text = format!("{} {} {}", v["summary"], v["actions"], v["evidence"]);
            assert!(!bare.is_match(&text), "{file}: {}: {text}", v["id"]);
        }
    }
    let (_, r) = triage(SUNDAY);
    for id in ["compile-gate-saturation", "worker-thread-exhaustion"] {
        assert!(
            verdict(&r, id).is_some(),
            "{id} must fire on the Sunday capture"
        );
    }
}

/// Triaged with --pooler: the database and PgBouncer in one window. The holders are named
/// by the client the pooler lent their backends to, and the queue is blamed on them.
#[test]
fn pooler_beside_postgres_names_the_holders() {
    let (code, r) = triage(BESIDE);
    assert_eq!(code, 2);
    assert_eq!(
        verdict_ids(&r),
        vec![
            "pooler-held-transaction".to_string(),
            "idle-in-transaction".to_string(),
            "missing-guardrails".to_string(),
            "pool-exhaustion".to_string(),
            "pooler-missing-guardrails".to_string(),
        ]
    );
    let held = verdict(&r, "pooler-held-transaction").unwrap();
    assert_eq!(held["severity"], "critical");
    assert!(
        held["summary"]
            .as_str()
            .unwrap()
            .contains("client 10.0.3.22:48813 (celery-beat)"),
        "{held}"
    );
    assert_eq!(
        held["culprits"]["sessions"],
        serde_json::json!([41001, 41000])
    );
    assert_eq!(
        held["culprits"]["hosts"],
        serde_json::json!(["10.0.3.21", "10.0.3.22"])
    );
    let pool = verdict(&r, "pool-exhaustion").unwrap();
    assert!(
        pool["actions"][0]
            .as_str()
            .unwrap()
            .starts_with("The database is the cause here: 2 of this pool's 20"),
        "{pool}"
    );
    assert!(
        pool["summary"]
            .as_str()
            .unwrap()
            .contains("clients waited 250ms on average"),
        "{pool}"
    );
    // Every check ran: the database's and the pooler's.
    assert_eq!(
        r["checks"].as_object().unwrap().len(),
        spiral::rules::RULES.len()
    );
}
