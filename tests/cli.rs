//! Bad input gets one clear line on stderr and exit 3: never a panic, a backtrace, clap's
//! usage exit code 2, or a secret.

mod support;

use std::io::Write;

use support::{run, spiral};

/// Asserts the UNKNOWN contract and returns the one stderr line.
fn fails(args: &[&str]) -> String {
    let (code, out, err) = run(args);
    assert_eq!(code, 3, "args {args:?}: stdout {out} stderr {err}");
    assert!(out.is_empty(), "nothing on stdout for {args:?}: {out}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "one line for {args:?}, got: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{err}"
    );
    lines[0].to_string()
}

fn temp_capture(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .suffix(".jsonl")
        .tempfile()
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn usage_errors_exit_3_on_one_line() {
    assert!(fails(&["--frobnicate"]).contains("--frobnicate"));
    assert!(fails(&[]).contains("a command is required"));
    assert!(fails(&["triage", "--samples", "lots"]).contains("lots"));
    assert!(fails(&["triage", "--format", "xml", "--replay", "x"]).contains("xml"));
}

#[test]
fn bad_targets() {
    assert!(fails(&["triage", "redis://localhost"]).contains("unknown target scheme 'redis'"));
    assert!(fails(&["triage", "postgres://u@h:99999/db"]).contains("port"));
    assert!(fails(&["triage", "just-a-word"]).contains("expected a URL"));
    assert!(fails(&["triage", "Server=db;Password=\"x"]).contains("unclosed quote"));
}

#[test]
fn no_target_says_how_to_give_one() {
    assert!(fails(&["triage"]).contains("SPIRAL_URL"));
}

#[test]
fn secrets_never_reach_stderr() {
    let line = fails(&["postgres://admin:hunter2@db/x"]);
    assert!(!line.contains("hunter2"), "{line}");
    let line = fails(&["triage", "mssql://sa:hunter2@h:notaport"]);
    assert!(!line.contains("hunter2"), "{line}");
    // Unreachable host: the error names the host, not the password.
    let line = fails(&[
        "triage",
        "postgres://app:hunter2@127.0.0.1:9/db",
        "--connect-timeout",
        "2s",
    ]);
    assert!(
        !line.contains("hunter2") && line.contains("127.0.0.1"),
        "{line}"
    );
}

#[test]
fn help_does_not_print_environment_secrets() {
    let out = spiral()
        .args(["triage", "--help"])
        .env("SPIRAL_URL", "postgres://app:hunter2@db/x")
        .env("DATABASE_URL", "postgres://app:hunter3@db/x")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("SPIRAL_URL") && !text.contains("hunter2") && !text.contains("hunter3"));
}

#[test]
fn bad_flag_values() {
    assert!(fails(&["triage", "--replay", "x.jsonl", "--interval", "0s"]).contains("--interval"));
    assert!(fails(&["triage", "--replay", "x.jsonl", "--samples", "0"]).contains("--samples"));
    assert!(
        fails(&["triage", "--replay", "x.jsonl", "-T", "nope=1"])
            .contains("unknown threshold 'nope'")
    );
    assert!(
        fails(&["triage", "--replay", "x.jsonl", "--client-timeout", "soon"])
            .contains("--client-timeout")
    );
}

#[test]
fn missing_empty_and_corrupt_captures() {
    assert!(fails(&["triage", "--replay", "does/not/exist.jsonl"]).contains("cannot open capture"));
    let empty = temp_capture("");
    assert!(fails(&["triage", "--replay", empty.path().to_str().unwrap()]).contains("is empty"));
    let not_capture = temp_capture("{\"hello\": 1}\n");
    assert!(
        fails(&["triage", "--replay", not_capture.path().to_str().unwrap()])
            .contains(":1: not a spiral capture header")
    );
    let header_only = temp_capture(
        "{\"spiral_capture\":1,\"engine\":\"postgres\",\"target\":\"postgres://x\",\"spiral_version\":\"0.1.0\",\"started_at\":\"2025-01-01T00:00:00Z\"}\n{broken\n",
    );
    let line = fails(&["triage", "--replay", header_only.path().to_str().unwrap()]);
    assert!(
        line.contains("no readable snapshot") && line.contains("line 2"),
        "{line}"
    );
    let newer = temp_capture(
        "{\"spiral_capture\":9,\"engine\":\"postgres\",\"target\":\"x\",\"spiral_version\":\"9\",\"started_at\":\"2025-01-01T00:00:00Z\"}\n",
    );
    assert!(fails(&["triage", "--replay", newer.path().to_str().unwrap()]).contains("newer"));
}

#[test]
fn corrupt_line_is_reported_and_the_rest_is_kept() {
    let original = std::fs::read_to_string("captures/001-postgres-connection-leak.jsonl").unwrap();
    let mut lines: Vec<&str> = original.lines().collect();
    lines.insert(2, "{\"engine\": \"postgres\", \"sessions\": oops}");
    let last = lines.pop().unwrap();
    let mut text = lines.join("\n");
    text.push('\n');
    text.push_str(&last[..last.len() / 2]); // a torn final write
    let f = temp_capture(&text);
    let (code, out, err) = run(&[
        "triage",
        "--replay",
        f.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let notes = r["notes"].to_string();
    assert!(
        notes.contains("line 3") && notes.contains("line 5") && notes.contains("truncated"),
        "{notes}"
    );
    assert_eq!(r["window"]["samples"], 2);
}

#[test]
fn hostile_text_is_stripped_before_printing() {
    let original = std::fs::read_to_string("captures/004-postgres-deadlocked-pool.jsonl").unwrap();
    let hostile = original.replace(
        "UPDATE vals SET code",
        "UPDATE vals \\u001b]0;owned\\u0007\\u001b[2J\\u001b[31mSET\\u009b1m code",
    );
    let f = temp_capture(&hostile);
    for format in ["table", "json", "markdown", "slack"] {
        let (code, out, _) = run(&[
            "triage",
            "--replay",
            f.path().to_str().unwrap(),
            "--format",
            format,
        ]);
        assert_eq!(code, 2);
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{9b}') && !out.contains('\u{7}'),
            "{format}"
        );
        assert!(
            !out.contains("\\u001b") && !out.contains("owned"),
            "{format}: escape text survived"
        );
    }
}

#[test]
fn playbooks_and_queries() {
    let (code, out, _) = run(&["playbook"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().filter(|l| l.starts_with("  ")).count(), 15);
    let (code, out, _) = run(&["playbook", "compile-gate-saturation"]);
    assert_eq!(code, 0);
    assert!(out.contains("## Mitigate now"));
    assert!(fails(&["playbook", "nope"]).contains("unknown playbook 'nope'"));
    let (code, out, _) = run(&["queries", "--engine", "postgres", "sample"]);
    assert_eq!(code, 0);
    assert!(out.contains("pg_stat_activity"));
    let (code, out, _) = run(&["queries"]);
    assert_eq!(code, 0);
    assert!(out.contains("postgres/sample"));
    assert!(fails(&["queries", "--engine", "oracle"]).contains("unknown engine"));
}

#[test]
fn thresholds_are_listed_and_applied() {
    let (code, out, _) = run(&["thresholds"]);
    assert_eq!(code, 0);
    assert!(out.contains("connections_warning_pct") && out.contains("80%"));
    // Raising the thresholds quiets the leak capture's connection verdict.
    let (code, out, _) = run(&[
        "--format",
        "json",
        "triage",
        "--replay",
        "captures/001-postgres-connection-leak.jsonl",
        "-T",
        "connections_warning_pct=100",
        "-T",
        "connections_critical_pct=100",
        "-T",
        "idle_leak_min_sessions=1000",
        "-T",
        "idle_leak_growth=1000",
        "--idle-over",
        "1h",
    ]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        r["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["id"] != "idle-connection-leak")
    );
    assert_eq!(code, 2, "still critical: 100% of slots are taken");
}

#[test]
fn completions_are_current() {
    for (shell, file) in [
        ("bash", "completions/spiral.bash"),
        ("zsh", "completions/_spiral"),
        ("fish", "completions/spiral.fish"),
        ("powershell", "completions/_spiral.ps1"),
        ("elvish", "completions/spiral.elv"),
        ("man", "completions/spiral.1"),
    ] {
        let (code, out, _) = run(&["completions", shell]);
        assert_eq!(code, 0);
        let committed = std::fs::read_to_string(file).unwrap_or_default();
        assert!(
            committed == out,
            "{file} is stale: run scripts/completions.sh"
        );
    }
}

/// The section of a view report with this heading.
fn section<'a>(report: &'a serde_json::Value, heading: &str) -> &'a serde_json::Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["heading"]
                .as_str()
                .is_some_and(|h| h.starts_with(heading))
        })
        .unwrap_or_else(|| panic!("no section {heading}: {report}"))
}

/// Incident 000: triage says 41 readers wait behind a writer; `spiral blocking` must show
/// them, queued behind the writer caught in the deadlock cycle.
#[test]
fn blocking_view_shows_the_readers_behind_the_cycle() {
    let capture = "captures/000-sqlserver-sunday-spiral.jsonl";
    let (_, triage, _) = support::run_json(&["triage", "--replay", capture]);
    let readers = support::verdict(&triage, "read-blocked-by-writers").expect("verdict");
    assert_eq!(readers["culprits"]["sessions"], serde_json::json!([182]));

    let (code, view, err) = support::run_json(&["blocking", "--replay", capture]);
    assert_eq!(code, 2, "{err}");
    let leads = section(&view, "Lead blockers");
    assert_eq!(
        leads["rows"][0],
        serde_json::json!(["182 (in a cycle)", "40", "1", "58s"])
    );
    let tree = section(&view, "Blocking trees");
    let rows = tree["rows"].as_array().unwrap();
    assert_eq!(rows[0][0], "182");
    assert_eq!(rows[0][3], "in a cycle");
    assert!(rows.len() > 1);
    for row in &rows[1..] {
        assert_eq!(row[1], "182", "every reader waits for the writer: {row}");
        assert!(row[5].as_str().unwrap().starts_with("SELECT"), "{row}");
    }
    assert_eq!(tree["note"], "showing 20 of 41");
    let cycles = section(&view, "Cycles");
    assert_eq!(cycles["rows"][0][0], "182 -> 3453 -> 2035 -> 512 -> 182");

    let (_, table, _) = run(&["blocking", "--replay", capture]);
    assert!(
        !table.contains("no session is blocked by a lead blocker"),
        "{table}"
    );
    assert!(table.contains("└\u{a0}600"), "{table}");
}

/// A chain eleven deep with ten-digit ids (a long-running MySQL server) and a second child
/// of the lead: every row names its parent, no row wraps at 80 columns, and a deep waiter
/// never looks like a direct child of the lead.
#[test]
fn blocking_tree_stays_faithful_at_any_depth() {
    let base: i64 = 3_000_000_001;
    let mut sessions = vec![serde_json::json!({
        "id": base, "user": "app", "state": "idle-in-transaction",
        "open_transactions": 1, "idle_ms": 90_000
    })];
    for d in 1..=11_i64 {
        sessions.push(serde_json::json!({
            "id": base + d, "user": "app", "state": "active", "blocked_by": [base + d - 1],
            "wait_ms": 60_000 - d * 1_000, "wait_class": "lock",
            "query": "UPDATE t SET v = v + 1 WHERE id = 1"
        }));
    }
    sessions.push(serde_json::json!({
        "id": base + 100, "user": "app", "state": "active", "blocked_by": [base],
        "wait_ms": 5_000, "wait_class": "lock", "query": "SELECT v FROM t FOR UPDATE",
        "blocked_by_note": "metadata lock on app.t: holder inferred"
    }));
    let header = serde_json::json!({
        "spiral_capture": 1, "engine": "mysql", "target": "mysql://app@db/app",
        "spiral_version": "0.1.0", "started_at": "2024-01-01T00:00:00Z"
    });
    let snap = serde_json::json!({
        "engine": "mysql", "server": {"version": "8.0.35"},
        "taken_at": "2024-01-01T00:00:00Z", "sessions": sessions
    });
    let file = temp_capture(&format!("{header}\n{snap}\n"));
    let path = file.path().to_str().unwrap();

    let (_, view, err) = support::run_json(&["blocking", "--replay", path]);
    let rows = section(&view, "Blocking trees")["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("{err}"))
        .clone();
    assert_eq!(rows.len(), 13);
    for (i, row) in rows.iter().enumerate().skip(1).take(11) {
        let id = base + i as i64;
        assert!(row[0].as_str().unwrap().ends_with(&id.to_string()), "{row}");
        assert_eq!(row[1], (id - 1).to_string(), "{row}");
    }
    assert_eq!(
        rows[12][1],
        base.to_string(),
        "the second child hangs off the lead"
    );
    // Indentation grows level by level, then the level is written out.
    assert_eq!(rows[3][0], format!("··└\u{a0}{}", base + 3));
    assert_eq!(rows[11][0], format!("(11)└\u{a0}{}", base + 11));
    // How an edge was found, when the engine had to work it out, is said under the tree.
    assert_eq!(
        section(&view, "Blocking trees")["note"],
        "metadata lock on app.t: holder inferred"
    );

    let (_, table, _) = run(&["blocking", "--replay", path]);
    let body: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("Blocking trees"))
        .filter(|l| l.starts_with("| "))
        .collect();
    // Header and 13 sessions: one line each, nothing wrapped.
    assert_eq!(body.len(), 14, "{table}");
    for line in &body {
        assert!(line.chars().count() <= 80, "{line}");
    }
    assert!(
        body[12].contains(&format!("(11)└\u{a0}{}", base + 11)),
        "{table}"
    );
}

/// `check --only` / `--ignore` choose the verdicts judged; unknown ids are one UNKNOWN
/// line and exit 3; the performance data follows the plugin guidelines.
#[test]
fn check_judges_the_chosen_verdicts() {
    let pool = "captures/004-postgres-deadlocked-pool.jsonl";
    let (code, out, _) = run(&["check", "--replay", pool]);
    assert_eq!(code, 2, "{out}");
    assert!(out.starts_with("SPIRAL CRITICAL: blocking-chain"), "{out}");
    // Only what this service check watches: the pool is not full, so OK.
    let (code, out, _) = run(&["check", "--replay", pool, "--only", "connection-exhaustion"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("SPIRAL OK: "), "{out}");
    // Ignoring some keeps the others; comma lists and repeated flags both work.
    let (code, out, _) = run(&[
        "check",
        "--replay",
        pool,
        "--ignore",
        "blocking-chain,idle-in-transaction",
        "--ignore",
        "client-timeout-exceeded",
    ]);
    assert!(
        out.starts_with("SPIRAL WARNING: missing-guardrails |"),
        "{out}"
    );
    assert_eq!(code, 1, "{out}");
    for flag in ["--only", "--ignore"] {
        let (code, out, err) = run(&["check", "--replay", pool, flag, "blocking-chains"]);
        assert_eq!(code, 3, "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(err.is_empty(), "{err}");
        assert!(
            out.starts_with(&format!(
                "SPIRAL UNKNOWN: {flag}: unknown verdict 'blocking-chains' (known: "
            )),
            "{out}"
        );
    }
    // 'label'=value[UOM];warn;crit;min;max: units on the value only, plain numbers elsewhere.
    let (_, out, _) = run(&["check", "--replay", pool]);
    let perf = out.split_once(" | ").expect("performance data").1.trim();
    for item in perf.split(' ') {
        let (label, data) = item.split_once('=').unwrap_or_else(|| panic!("{item}"));
        assert!(label.starts_with('\'') && label.ends_with('\''), "{item}");
        let fields: Vec<&str> = data.split(';').collect();
        assert_eq!(fields.len(), 5, "{item}");
        let value = fields[0].trim_end_matches('s');
        assert!(value.parse::<f64>().is_ok(), "{item}");
        for f in &fields[1..] {
            assert!(f.is_empty() || f.parse::<f64>().is_ok(), "{item}");
        }
    }
    assert!(
        perf.contains("'longest_lock_wait'=23950s;5;30;0;"),
        "{perf}"
    );
}
