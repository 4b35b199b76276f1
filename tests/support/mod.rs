//! Shared helpers for the integration tests: running the spiral binary, reading its JSON,
//! and deciding whether live-database tests may run.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The spiral binary built for this test run.
pub fn spiral() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_spiral"));
    // Tests must not pick up the developer's environment.
    for var in [
        "SPIRAL_URL",
        "DATABASE_URL",
        "NO_COLOR",
        "PGPASSWORD",
        "MYSQL_PWD",
        "SQLCMDPASSWORD",
        "LC_ALL",
        "LC_CTYPE",
        "COLUMNS",
    ] {
        cmd.env_remove(var);
    }
    // A UTF-8 console unless a test asks otherwise (the ASCII fallback has its own tests).
    cmd.env("LANG", "C.UTF-8");
    cmd
}

/// Runs spiral and returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out = spiral().args(args).output().expect("spiral binary runs");
    decode(out)
}

pub fn decode(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs spiral with `--format json` and parses stdout.
pub fn run_json(args: &[&str]) -> (i32, serde_json::Value, String) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(&all);
    let json = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out}\nstderr: {err}"));
    (code, json, err)
}

/// Verdict ids in a triage JSON report, worst first.
pub fn verdict_ids(report: &serde_json::Value) -> Vec<String> {
    report["verdicts"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn verdict<'a>(report: &'a serde_json::Value, id: &str) -> Option<&'a serde_json::Value> {
    report["verdicts"]
        .as_array()?
        .iter()
        .find(|v| v["id"] == id)
}

pub fn severity(report: &serde_json::Value, id: &str) -> Option<String> {
    verdict(report, id).and_then(|v| v["severity"].as_str().map(String::from))
}

/// Live servers are shared by every live test: staged incidents (connection floods, lock
/// chains) must not overlap. Each live test holds this lock for its whole run.
///
/// The in-process mutex orders the tests of one binary; the file lock beside it orders
/// test binaries and separate `cargo test` runs (two developers' checkouts, or a test run
/// next to a measurement script) that stage incidents on the same local servers.
pub fn live_lock() -> LiveLock {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = std::env::temp_dir().join("spiral-live-tests.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("cannot open the live-test lock {}: {e}", path.display()));
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor we own; it is released when `file` is closed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock on {} failed", path.display());
    LiveLock {
        _file: file,
        _guard: guard,
    }
}

/// Held for a live test's whole run: the process-wide mutex and the machine-wide file lock.
pub struct LiveLock {
    _file: std::fs::File,
    _guard: MutexGuard<'static, ()>,
}

/// The URL of a live server from `var`, or None with the reason printed. Under
/// SPIRAL_REQUIRE_LIVE=1 (CI) a missing URL fails the test instead of skipping it.
pub fn live_url(var: &str, what: &str) -> Option<String> {
    match std::env::var(var).ok().filter(|v| !v.is_empty()) {
        Some(url) => Some(url),
        None => {
            if std::env::var("SPIRAL_REQUIRE_LIVE").as_deref() == Ok("1") {
                panic!(
                    "SPIRAL_REQUIRE_LIVE=1 but {var} is not set: the live {what} tests cannot run"
                );
            }
            // Straight to stderr, past libtest's capture, so `cargo test` shows why.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: live {what} test: set {var} to run it (scripts/test.sh does when a local server answers)"
            );
            None
        }
    }
}

pub fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `run` off the async runtime, so the sessions a live test staged keep being served.
pub async fn run_async(list: Vec<String>) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        run(&refs)
    })
    .await
    .expect("the spiral run finishes")
}

/// `run_json` off the async runtime.
pub async fn spiral_json(list: Vec<String>) -> (i32, serde_json::Value, String) {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        run_json(&refs)
    })
    .await
    .expect("the spiral run finishes")
}
