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
    assert_eq!(out.lines().filter(|l| l.starts_with("  ")).count(), 17);
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
