//! watch and stalk on replays: the long-running commands, without waiting for real time.
//! (tests/live_postgres.rs runs them against a real server.)

mod support;

use std::process::Command;
use std::time::Duration;

use support::{run, run_json, verdict_ids};

const LEAK: &str = "captures/001-postgres-connection-leak.jsonl";
const POOL: &str = "captures/004-postgres-deadlocked-pool.jsonl";
const HEALTHY: &str = "captures/healthy-busy-postgres.jsonl";

#[test]
fn stalk_fires_and_its_capture_replays_to_the_same_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (code, stdout, stderr) = run(&[
        "stalk",
        "--replay",
        LEAK,
        "--when",
        "connection-exhaustion:critical",
        "--cycles",
        "2",
        "--samples",
        "2",
        "-o",
        out,
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("condition holds: connection-exhaustion is CRITICAL"),
        "{stderr}"
    );
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(stdout.trim(), files[0].to_str().unwrap());
    let capture = std::fs::read_to_string(&files[0]).unwrap();
    assert_eq!(capture.lines().count(), 3, "header and two samples");
    let (code, r, _) = run_json(&["triage", "--replay", files[0].to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(verdict_ids(&r).contains(&"connection-exhaustion".to_string()));
}

#[test]
fn stalk_stays_armed_and_idle_on_a_quiet_server() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&[
        "stalk",
        "--replay",
        HEALTHY,
        "--when",
        "connections>80%",
        "--when",
        "blocking-chain:warning",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("armed on") && !stderr.contains("condition holds"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn stalk_gauge_condition_and_disk_floor() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run(&[
        "stalk",
        "--replay",
        POOL,
        "--when",
        "blocked>10",
        "--cycles",
        "1",
        "--min-free",
        "1000000T",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("condition holds: Blocked is 18"),
        "{stderr}"
    );
    assert!(stderr.contains("not capturing"), "{stderr}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn stalk_rejects_bad_conditions() {
    let (code, _, err) = run(&["stalk", "--replay", POOL, "--when", "cpu>5", "-o", "/tmp/x"]);
    assert_eq!(code, 3);
    assert!(err.contains("unknown gauge 'cpu'"), "{err}");
}

#[test]
fn watch_appends_plain_blocks_when_not_a_terminal() {
    let (code, out, err) = run(&["watch", "--replay", POOL]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("\n---\n").count(), 3, "one block per sample");
    assert!(out.contains("CRITICAL  blocking-chain"));
    assert!(lead_blocks_nine(&out), "{out}");
    assert!(!out.contains('\u{1b}'), "no escape sequences in plain mode");
}

/// The lead-blockers table has lead 41000 blocking 9 sessions.
fn lead_blocks_nine(screen: &str) -> bool {
    screen.lines().any(|l| {
        let cells: Vec<&str> = l.split_whitespace().collect();
        cells.starts_with(&["41000", "9"])
    })
}

/// Drives `spiral watch` in a real pseudo-terminal through tmux.
fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn watch_in_a_terminal_redraws_switches_panels_and_quits() {
    if Command::new("tmux").arg("-V").output().is_err() {
        if std::env::var("SPIRAL_REQUIRE_LIVE").as_deref() == Ok("1") {
            panic!("tmux is missing: the terminal test of watch cannot run");
        }
        eprintln!("SKIPPED: watch terminal test: tmux is not installed");
        return;
    }
    let session = format!("spiral-watch-{}", std::process::id());
    let cmd = format!(
        "{} watch --replay {POOL} --interval 1s",
        env!("CARGO_BIN_EXE_spiral")
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "120",
        "-y",
        "40",
        &cmd,
    ]);
    let screen = |want: &str| -> String {
        for _ in 0..50 {
            let s = tmux(&["capture-pane", "-t", &session, "-p"]);
            if s.contains(want) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let s = tmux(&["capture-pane", "-t", &session, "-p"]);
        tmux(&["kill-session", "-t", &session]);
        panic!("screen never showed {want:?}:\n{s}");
    };
    let s = screen("LEAD BLOCKERS");
    assert!(
        s.lines()
            .next()
            .unwrap()
            .starts_with("spiral watch · REPLAY, captured 2024-12-31")
    );
    assert!(s.contains("postgres://valtown@"));
    assert!(s.contains("CRITICAL  blocking-chain"));
    assert!(lead_blocks_nine(&s), "{s}");
    // A resize redraws at the new width.
    tmux(&["resize-window", "-t", &session, "-x", "90", "-y", "30"]);
    tmux(&["send-keys", "-t", &session, "c"]);
    let s = screen("BY USER");
    assert!(s.lines().all(|l| l.chars().count() <= 90), "{s}");
    tmux(&["send-keys", "-t", &session, "q"]);
    for _ in 0..50 {
        if !Command::new("tmux")
            .args(["has-session", "-t", &session])
            .output()
            .unwrap()
            .status
            .success()
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    tmux(&["kill-session", "-t", &session]);
    panic!("watch did not quit on q");
}

#[test]
fn watch_says_when_the_server_stops_answering_and_keeps_trying() {
    // Nothing listens on port 1: every poll fails; watch must say so and retry, not exit.
    let mut child = support::spiral()
        .args([
            "watch",
            "postgres://app@127.0.0.1:1/db",
            "--interval",
            "1s",
            "--connect-timeout",
            "1s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(3_500));
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(still_running, "watch exited: {text}");
    let blind: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("!! SERVER NOT ANSWERING for"))
        .collect();
    assert!(blind.len() >= 2, "{text}");
    assert!(
        blind[0].contains("retrying in 1s") && blind[1].contains("retrying in 2s"),
        "backoff doubles: {blind:?}"
    );
}
