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

// ---------------------------------------------------------------------------------------
// Faults: a server that freezes mid-run, signals while a sample is in flight, a resolver
// that never answers. The frozen server is a PostgreSQL instance of the test's own (initdb
// into a temp dir, its own port on 127.0.0.1), never the shared one.

use std::path::PathBuf;
use std::process::{Child, Stdio};

/// A throwaway PostgreSQL instance that can be frozen with SIGSTOP. Dropping it always
/// thaws it and stops it, also when an assertion failed.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl OwnPostgres {
    /// None (with the reason printed) when this machine cannot run one: no PostgreSQL
    /// binaries, no `postgres` OS user, or not root (initdb refuses to run as root, so the
    /// test runs it as `postgres`).
    fn start() -> Option<OwnPostgres> {
        let skip = |why: &str| {
            if std::env::var("SPIRAL_REQUIRE_LIVE").as_deref() == Ok("1") {
                panic!("the frozen-server tests cannot run: {why}");
            }
            eprintln!("SKIPPED: frozen-server test: {why}");
            None
        };
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path().join("bin"))
                    .collect()
            })
            .unwrap_or_default();
        versions.retain(|b| b.join("initdb").exists() && b.join("pg_ctl").exists());
        versions.sort();
        let Some(bin) = versions.pop() else {
            return skip("no /usr/lib/postgresql/*/bin/initdb");
        };
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } != 0 {
            return skip("not root (needed to run initdb as the postgres user)");
        }
        let ids = Command::new("id").args(["-u", "postgres"]).output().ok()?;
        let uid: u32 = match String::from_utf8_lossy(&ids.stdout).trim().parse() {
            Ok(u) => u,
            Err(_) => return skip("no postgres OS user"),
        };
        let dir = tempfile::Builder::new()
            .prefix("spiral-own-pg")
            .tempdir()
            .unwrap();
        std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
        // A free port: bound by the OS, released, then given to the postmaster.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = OwnPostgres { dir, bin, port };
        let data = pg.data();
        pg.as_postgres(&[
            "initdb",
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=20",
            pg.dir.path().display()
        );
        pg.as_postgres(&[
            "pg_ctl",
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            pg.dir.path().join("log").to_str().unwrap(),
            "-w",
            "start",
        ]);
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn as_postgres(&self, args: &[&str]) {
        let tool = self.bin.join(args[0]);
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(&tool)
            .args(&args[1..])
            .output()
            .expect("runuser runs");
        assert!(
            out.status.success(),
            "{} failed: {}{}",
            args[0],
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// One value from the instance, through psql (not frozen at the time).
    fn query(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-X", "-A", "-t", "-h", "127.0.0.1", "-U", "postgres", "-d"])
            .arg("postgres")
            .args(["-p", &self.port.to_string(), "-c", sql])
            .output()
            .expect("psql runs");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits until spiral's session has finished its first sample (it sits idle with the
    /// sample statement as its last query), so the freeze lands between samples.
    fn wait_for_first_sample(&self, child: &mut Child) {
        for _ in 0..600 {
            let n = self.query(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'spiral' \
                 AND state = 'idle' AND query LIKE '%pg_stat_get_activity%'",
            );
            if n == "1" {
                return;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("spiral ended before its first sample: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("spiral never took its first sample");
    }

    /// The postmaster and every process it started.
    fn processes(&self) -> Vec<i32> {
        let pidfile =
            std::fs::read_to_string(self.data().join("postmaster.pid")).unwrap_or_default();
        let Some(Ok(master)) = pidfile.lines().next().map(|l| l.trim().parse::<i32>()) else {
            return Vec::new();
        };
        let mut pids = vec![master];
        for entry in std::fs::read_dir("/proc").unwrap().filter_map(|e| e.ok()) {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // The parent pid is the second field after the parenthesised command name.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<i32>().ok());
            if ppid == Some(master) {
                pids.push(pid);
            }
        }
        pids
    }

    fn signal_all(&self, sig: i32) {
        for pid in self.processes() {
            // SAFETY: plain kill(2) on processes this test started.
            unsafe { libc::kill(pid, sig) };
        }
    }

    fn freeze(&self) {
        self.signal_all(libc::SIGSTOP);
    }

    fn thaw(&self) {
        self.signal_all(libc::SIGCONT);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        self.thaw();
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args([
                "-D",
                self.data().to_str().unwrap_or(""),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// Thaws the instance when a step ends, whatever happened in it.
struct Thaw<'a>(&'a OwnPostgres);

impl Drop for Thaw<'_> {
    fn drop(&mut self) {
        self.0.thaw();
    }
}

/// Waits for a child, killing it (and failing) if it is still running after a generous
/// bound: the point is that it ends by itself, not how fast.
fn finish(mut child: Child, what: &str) -> (i32, String, String) {
    for _ in 0..1200 {
        if child.try_wait().unwrap().is_some() {
            return support::decode(child.wait_with_output().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let (_, out, err) = support::decode(child.wait_with_output().unwrap());
    panic!("{what} did not end within 60s: {out} {err}");
}

fn start(args: &[&str]) -> Child {
    support::spiral()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn send(child: &Child, sig: i32) {
    // SAFETY: plain kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as i32, sig) };
}

#[test]
fn a_server_that_freezes_after_the_first_sample_is_never_ok() {
    let Some(pg) = OwnPostgres::start() else {
        return;
    };
    let url = pg.url();
    let frozen = |args: &[&str], what: &str| -> (i32, String, String) {
        let mut child = start(args);
        pg.wait_for_first_sample(&mut child);
        let _thaw = Thaw(&pg);
        pg.freeze();
        finish(child, what)
    };

    // check: the second sample times out; before the fix this said SPIRAL OK, exit 0.
    let (code, out, err) = frozen(
        &[
            "check",
            &url,
            "--samples",
            "3",
            "--interval",
            "1s",
            "--query-timeout",
            "2s",
            "--timeout",
            "30s",
        ],
        "check",
    );
    assert_eq!(code, 3, "{out} {err}");
    assert!(
        out.starts_with("SPIRAL UNKNOWN: NOT ASSESSED: sample 2 of 3 failed"),
        "{out}"
    );
    assert!(out.contains("timed out"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");

    // check --timeout shorter than the query timeout: the deadline answers.
    let (code, out, _) = frozen(
        &[
            "check",
            &url,
            "--samples",
            "2",
            "--interval",
            "1s",
            "--timeout",
            "3s",
        ],
        "check --timeout",
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("SPIRAL UNKNOWN: no assessment of"), "{out}");

    // triage: the report says what could not be assessed and exits 3.
    let (code, out, err) = frozen(
        &[
            "--format",
            "json",
            "triage",
            &url,
            "--samples",
            "3",
            "--interval",
            "1s",
            "--query-timeout",
            "2s",
        ],
        "triage",
    );
    assert_eq!(code, 3, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["status"], "unknown", "{out}");
    assert_eq!(r["exit_code"], 3);
    assert_eq!(r["window"]["samples"], 1, "{out}");
    let note = r["notes"][0].as_str().unwrap();
    assert!(
        note.starts_with("NOT ASSESSED: sample 2 of 3 failed"),
        "{note}"
    );
    assert!(
        r["checks"]
            .as_object()
            .unwrap()
            .values()
            .all(|s| s != "pending"),
        "rate checks that never got their sample are unknown, not pending: {}",
        r["checks"]
    );

    // The focused views follow the same rule.
    let (code, out, err) = frozen(
        &[
            "--format",
            "json",
            "blocking",
            &url,
            "--samples",
            "2",
            "--interval",
            "1s",
            "--query-timeout",
            "2s",
        ],
        "blocking view",
    );
    assert_eq!(code, 3, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["status"], "unknown", "{out}");
    assert!(
        r["notes"][0].as_str().unwrap().starts_with("NOT ASSESSED"),
        "{out}"
    );

    // The same in words: no "every check passed".
    let (code, out, _) = frozen(
        &[
            "triage",
            &url,
            "--samples",
            "2",
            "--interval",
            "1s",
            "--query-timeout",
            "2s",
        ],
        "triage (table)",
    );
    assert_eq!(code, 3);
    // Not a terminal: no first look, only the final report, which leads with UNKNOWN.
    let report = out.as_str();
    assert!(report.starts_with("UNKNOWN  spiral triage of"), "{out}");
    assert!(!report.contains("every check passed"), "{out}");
    assert!(!report.contains("One sample only"), "{out}");
    assert!(
        report.contains("Note: NOT ASSESSED: sample 2 of 2 failed"),
        "{out}"
    );
}

#[test]
fn one_signal_ends_a_command_while_a_sample_is_in_flight() {
    let Some(pg) = OwnPostgres::start() else {
        return;
    };
    let url = pg.url();
    let dir = tempfile::tempdir().unwrap();
    // The query timeout is long, so the sample really is in flight when the signal comes.
    let in_flight = |args: &[&str], sig: i32, what: &str| -> (i32, String, String) {
        let mut child = start(args);
        pg.wait_for_first_sample(&mut child);
        let _thaw = Thaw(&pg);
        pg.freeze();
        // Past the 1 s interval: the second sample has been sent to the frozen server.
        std::thread::sleep(Duration::from_millis(1_800));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{what} ended by itself"
        );
        send(&child, sig);
        finish(child, what)
    };
    let hang = ["--query-timeout", "60s", "--interval", "1s"];

    // capture: Ctrl-C keeps what was written, as a valid capture.
    let file = dir.path().join("frozen.jsonl");
    let mut args = vec![
        "capture",
        &url,
        "--samples",
        "10",
        "-o",
        file.to_str().unwrap(),
    ];
    args.extend(hang);
    let (code, _, err) = in_flight(&args, libc::SIGINT, "capture");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("wrote 1 snapshot ") && err.contains("stopped by Ctrl-C"),
        "{err}"
    );
    let (code, r, err) = run_json(&["triage", "--replay", file.to_str().unwrap()]);
    assert!(code <= 2, "the capture replays: {err}");
    assert_eq!(r["window"]["samples"], 1);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file is left behind"
    );

    // triage: SIGTERM assesses what it has and says why it stopped.
    let mut args = vec!["--format", "json", "triage", &url, "--samples", "10"];
    args.extend(hang);
    let (code, out, err) = in_flight(&args, libc::SIGTERM, "triage");
    assert!(code <= 2, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(
        r["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("Stopped by SIGTERM after 1 sample"),
        "{out}"
    );

    // watch (plain output) and stalk: SIGHUP and Ctrl-C end them.
    let mut args = vec!["watch", &url];
    args.extend(hang);
    let (code, out, err) = in_flight(&args, libc::SIGHUP, "watch");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.matches("\n---\n").count(), 1, "{out}");
    let out_dir = dir.path().join("stalk");
    let mut args = vec![
        "stalk",
        &url,
        "--when",
        "blocking-chain",
        "-o",
        out_dir.to_str().unwrap(),
    ];
    args.extend(hang);
    let (code, _, err) = in_flight(&args, libc::SIGINT, "stalk");
    assert_eq!(code, 0, "{err}");

    // check: a signal is an UNKNOWN line, never OK.
    let mut args = vec!["check", &url, "--samples", "3", "--timeout", "5m"];
    args.extend(hang);
    let (code, out, _) = in_flight(&args, libc::SIGINT, "check");
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("SPIRAL UNKNOWN:"), "{out}");
}

#[test]
fn ctrl_c_while_connecting_to_a_server_that_never_answers() {
    // A listener that accepts and never says a word: the connect hangs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("postgres://app@{}/db", listener.local_addr().unwrap());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            keep.lock().unwrap().push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("never.jsonl");
    std::fs::write(&file, "the earlier capture\n").unwrap();
    for args in [
        vec!["triage", url.as_str()],
        vec![
            "capture",
            url.as_str(),
            "--force",
            "-o",
            file.to_str().unwrap(),
        ],
        vec![
            "stalk",
            url.as_str(),
            "--when",
            "blocking-chain",
            "-o",
            dir.path().to_str().unwrap(),
        ],
    ] {
        let mut full = args.clone();
        full.extend(["--connect-timeout", "5m"]);
        let before = held.lock().unwrap().len();
        let mut child = start(&full);
        // Signals are caught before any connect starts: wait until this one has begun.
        while held.lock().unwrap().len() == before {
            assert!(child.try_wait().unwrap().is_none(), "{args:?} ended early");
            std::thread::sleep(Duration::from_millis(20));
        }
        send(&child, libc::SIGINT);
        let (code, _, err) = finish(child, args[0]);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(
            err.contains("Ctrl-C") || err.contains("never answered"),
            "{err}"
        );
    }
    // The interrupted capture (with --force) left the earlier one alone.
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "the earlier capture\n"
    );
}

/// Runs spiral in a mount and network namespace of its own whose resolver is a local port
/// that takes the question and never answers (5 tries of 30 s each: 150 s per lookup).
#[test]
fn a_resolver_that_never_answers_does_not_outlive_the_bounds() {
    let have = |tool: &str, arg: &str| Command::new(tool).arg(arg).output().is_ok();
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 || !have("unshare", "--version") || !have("socat", "-V") {
        if std::env::var("SPIRAL_REQUIRE_LIVE").as_deref() == Ok("1") {
            panic!("the resolver test needs root, unshare and socat");
        }
        eprintln!("SKIPPED: resolver test: needs root, unshare and socat");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:30 attempts:5\n",
    )
    .unwrap();
    let script = r#"
        ip link set lo up || exit 97
        mount --bind "$RESOLV" /etc/resolv.conf || exit 97
        socat -u UDP-RECV:53,bind=127.0.0.1 /dev/null & u=$!
        socat -u TCP-LISTEN:53,bind=127.0.0.1,reuseaddr /dev/null & t=$!
        sleep 0.3
        "$SPIRAL" "$@"; rc=$?
        kill $u $t 2>/dev/null
        exit $rc
    "#;
    for args in [
        [
            "check",
            "postgres://app@db.never-resolves.test/x",
            "--timeout",
            "2s",
        ],
        [
            "check",
            "mysql://app@db.never-resolves.test/x",
            "--timeout",
            "2s",
        ],
        [
            "triage",
            "postgres://app@db.never-resolves.test/x",
            "--connect-timeout",
            "2s",
        ],
    ] {
        let child = Command::new("unshare")
            .args(["-m", "-n", "sh", "-c", script, "sh"])
            .args(args)
            .env("RESOLV", &resolv)
            .env("SPIRAL", env!("CARGO_BIN_EXE_spiral"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (code, out, err) = finish(child, args[0]);
        if code == 97 {
            eprintln!("SKIPPED: resolver test: cannot set up the namespace: {err}");
            return;
        }
        assert_eq!(code, 3, "{args:?}: {out} {err}");
        if args[0] == "check" {
            assert!(out.starts_with("SPIRAL UNKNOWN: no assessment"), "{out}");
        } else {
            assert!(err.contains("did not answer within 2s"), "{err}");
        }
    }
}

/// POOL's snapshots repeated, 200 ms apart: several triggers in the same second.
fn capture_within_one_second(dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(POOL).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    let snaps: Vec<&str> = lines.collect();
    let taken = regex::Regex::new(r#""taken_at":"[^"]*""#).unwrap();
    for i in 0..8 {
        let at = format!("\"taken_at\":\"2025-03-01T10:00:00.{:03}Z\"", i * 100);
        out.push_str(&taken.replace(snaps[i % snaps.len()], at.as_str()));
        out.push('\n');
    }
    let path = dir.join("same-second.jsonl");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn stalk_never_overwrites_a_capture_taken_in_the_same_second() {
    let dir = tempfile::tempdir().unwrap();
    let input = capture_within_one_second(dir.path());
    let out_dir = dir.path().join("out");
    let (code, stdout, stderr) = run(&[
        "stalk",
        "--replay",
        input.to_str().unwrap(),
        "--when",
        "connections>0",
        "--cycles",
        "1",
        "--samples",
        "1",
        "--cooldown",
        "0s",
        "-o",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 8, "one file per capture: {names:?}");
    assert_eq!(stdout.lines().count(), 8);
    assert!(names.contains(&"spiral-postgres-20250301T100000Z.jsonl".to_string()));
    assert!(names.contains(&"spiral-postgres-20250301T100000Z-8.jsonl".to_string()));
    for n in &names {
        let text = std::fs::read_to_string(out_dir.join(n)).unwrap();
        assert_eq!(text.lines().count(), 2, "{n}: header and its one sample");
    }
}

#[test]
fn stalk_with_no_cooldown_still_keeps_the_minimum_interval() {
    let Some(url) = support::live_url("SPIRAL_TEST_PG_URL", "PostgreSQL") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // One other client, so that `connections>0` holds on every poll.
    let mut other = Command::new("psql")
        .args([url.as_str(), "-X", "-q", "-c", "SELECT pg_sleep(8)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    // Before the fix this polled in a tight loop (200 samples in 0.24 s).
    let (code, stdout, stderr) = run(&[
        "stalk",
        &url,
        "--when",
        "connections>0",
        "--cycles",
        "1",
        "--samples",
        "1",
        "--cooldown",
        "0s",
        "--interval",
        "500ms",
        "--for",
        "3s",
        "-o",
        dir.path().to_str().unwrap(),
        "--quiet",
    ]);
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(code, 0, "{stderr}");
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    // 3 s at one poll per 500 ms at most: 7, whatever the machine's speed.
    assert!(
        (1..=7).contains(&files),
        "{files} captures in 3 s: {stdout}"
    );
    assert_eq!(stdout.lines().count(), files);
}

#[test]
fn a_refused_login_is_not_retried() {
    let Some(url) = support::live_url("SPIRAL_TEST_PG_URL", "PostgreSQL") else {
        return;
    };
    // The same server, as a role that does not exist: refused at every attempt.
    let mut parsed = url::Url::parse(&url).unwrap();
    parsed.set_username("spiral_no_such_role").unwrap();
    let nobody = parsed.to_string();
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "stalk",
            nobody.as_str(),
            "--when",
            "blocking-chain",
            "-o",
            dir.path().to_str().unwrap(),
        ],
        vec!["watch", nobody.as_str()],
    ] {
        let child = start(&args);
        let (code, _, err) = finish(child, args[0]);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(
            err.contains("spiral_no_such_role") && err.contains("does not retry"),
            "{args:?}: {err}"
        );
    }
}

/// A MariaDB/MySQL made full for one test: its max_connections lowered and filled with
/// sleeping sessions of a user of its own. Dropping it ends them and puts everything back.
struct FullServer {
    host: String,
    port: String,
    admin: String,
    password: Option<String>,
    restore_max: Option<String>,
    sleepers: Vec<Child>,
}

const FULL_USER: &str = "spiral_t_fullslot";

impl FullServer {
    fn sql_as(&self, user: &str, q: &str) -> Result<String, String> {
        let mut cmd = Command::new("mariadb");
        cmd.args([
            "-h", &self.host, "-P", &self.port, "-u", user, "-N", "-B", "-e", q,
        ]);
        if user == self.admin
            && let Some(p) = &self.password
        {
            cmd.env("MYSQL_PWD", p);
        }
        let out = cmd.output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }

    fn sql(&self, q: &str) -> String {
        self.sql_as(&self.admin, q)
            .unwrap_or_else(|e| panic!("{q}: {e}"))
    }

    fn sleeper(&self) -> Child {
        Command::new("mariadb")
            .args(["-h", &self.host, "-P", &self.port, "-u", FULL_USER])
            .args(["-N", "-B", "-e", "SELECT SLEEP(60)"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }
}

impl Drop for FullServer {
    fn drop(&mut self) {
        for c in &mut self.sleepers {
            let _ = c.kill();
            let _ = c.wait();
        }
        // The admin login may need a moment to find a free slot again.
        for _ in 0..50 {
            if self.sql_as(&self.admin, "SELECT 1").is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Some(max) = &self.restore_max {
            let _ = self.sql_as(&self.admin, &format!("SET GLOBAL max_connections = {max}"));
        }
        let ids = self
            .sql_as(
                &self.admin,
                &format!(
                    "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{FULL_USER}'"
                ),
            )
            .unwrap_or_default();
        for id in ids.lines() {
            let _ = self.sql_as(&self.admin, &format!("KILL {id}"));
        }
        let _ = self.sql_as(
            &self.admin,
            &format!("DROP USER IF EXISTS '{FULL_USER}'@'%'"),
        );
    }
}

#[test]
fn watch_gives_back_the_last_admin_slot_of_a_full_mariadb() {
    let Some(url) = support::live_url("SPIRAL_TEST_MYSQL_URL", "MariaDB/MySQL") else {
        return;
    };
    if Command::new("mariadb").arg("--version").output().is_err() {
        eprintln!("SKIPPED: full-server test: the mariadb client is not installed");
        return;
    }
    let _lock = support::live_lock();
    let parsed = url::Url::parse(&url).unwrap();
    let mut full = FullServer {
        host: parsed.host_str().unwrap_or("127.0.0.1").to_string(),
        port: parsed.port().unwrap_or(3306).to_string(),
        admin: parsed.username().to_string(),
        password: parsed.password().map(str::to_string),
        restore_max: None,
        sleepers: Vec::new(),
    };
    full.sql(&format!("DROP USER IF EXISTS '{FULL_USER}'@'%'"));
    full.sql(&format!("CREATE USER '{FULL_USER}'@'%'"));
    let max = full.sql("SELECT @@GLOBAL.max_connections");
    // A leftover of a crashed run (this test lowers it to a handful) goes back to default.
    let max = if max.parse::<u64>().unwrap_or(0) < 20 {
        "151".to_string()
    } else {
        max
    };
    full.restore_max = Some(max);
    let connected: u64 = full
        .sql("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'")
        .parse()
        .unwrap();
    // A few free ordinary slots (MariaDB's floor is 10); the sleepers fill them, and the
    // two extra ones are refused.
    full.sql(&format!("SET GLOBAL max_connections = {}", connected + 4));
    let lowered: u64 = full.sql("SELECT @@GLOBAL.max_connections").parse().unwrap();
    for _ in 0..(lowered + 2).saturating_sub(connected) {
        let s = full.sleeper();
        full.sleepers.push(s);
    }
    // Other clients of the shared server come and go: top up until the admin's own query
    // is the one in the extra slot (every ordinary slot taken).
    let status = "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED'";
    let mut filled = false;
    for _ in 0..100 {
        let now = full
            .sql_as(&full.admin, status)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        if now.is_some_and(|n| n > lowered) {
            filled = true;
            break;
        }
        // The admin's own query counts too: at `lowered` it holds an ordinary slot.
        if now.is_some_and(|n| n <= lowered) {
            let s = full.sleeper();
            full.sleepers.push(s);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(filled, "could not fill the server");
    // Full: max_connections ordinary sessions (the admin check above took the extra slot).
    let mut watch = start(&["watch", &url, "--interval", "1s"]);
    let stdout = watch.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = None;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while said.is_none() && std::time::Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200))
            && line.starts_with("!! the server is full")
        {
            said = Some(line);
        }
    }
    // Between watch's polls the administrator's own login gets in.
    let mut admin_got_in = false;
    for _ in 0..40 {
        if full.sql_as(&full.admin, "SELECT 1").is_ok() {
            admin_got_in = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = watch.kill();
    let _ = watch.wait();
    // stalk says the same in its log.
    let out_dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&[
        "stalk",
        &url,
        "--when",
        "blocking-chain",
        "--for",
        "3s",
        "--interval",
        "1s",
        "-o",
        out_dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("spiral stalk: the server is full")
            && err.contains("disconnects between polls"),
        "{err}"
    );
    // A check that cannot get in because the server is full knows why: CRITICAL.
    let ordinary = format!("mysql://{FULL_USER}@{}:{}/", full.host, full.port);
    let (code, out, _) = run(&["check", &ordinary, "--timeout", "20s"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with("SPIRAL CRITICAL: connection-exhaustion: ")
            && out.contains("the server is full (1040"),
        "{out}"
    );
    let said = said.expect("watch says the server is full");
    assert!(said.contains("last administrator slot"), "{said}");
    assert!(said.contains("disconnects between polls"), "{said}");
    assert!(
        admin_got_in,
        "the administrator could not log in while watch ran"
    );
}

/// The pid of the process whose parent is `parent`.
fn child_of(parent: u32) -> Option<i32> {
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|e| e.ok())
        .find_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<i32>().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse::<u32>()
                .ok()?;
            (ppid == parent).then_some(pid)
        })
}

#[test]
fn watch_gives_the_terminal_back_whatever_signal_ends_it() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: watch signal test: tmux is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A tmux server of this test's own: sessions of other tests starting and ending on the
    // default server cannot race with these.
    let socket = format!("spiral-sig-{}", std::process::id());
    let t = |args: &[&str]| -> String { tmux(&[&["-L", socket.as_str()], args].concat()) };
    for (sig, name) in [
        (libc::SIGTERM, "term"),
        (libc::SIGHUP, "hup"),
        (libc::SIGINT, "int"),
    ] {
        let session = format!("spiral-sig-{name}-{}", std::process::id());
        let stty = dir.path().join(format!("stty-{name}"));
        // The shell records the terminal's modes after watch ends.
        let cmd = format!(
            "{} watch --replay {POOL} --interval 1s; stty -a > {}; sleep 30",
            env!("CARGO_BIN_EXE_spiral"),
            stty.display()
        );
        // Another test's tmux server may be shutting down as this one starts: retry.
        let mut pane: Option<u32> = None;
        for _ in 0..20 {
            t(&[
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "100",
                "-y",
                "30",
                &cmd,
            ]);
            pane = t(&["display-message", "-p", "-t", &session, "#{pane_pid}"])
                .trim()
                .parse()
                .ok();
            if pane.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let pane = pane.expect("tmux starts a session");
        let mut watch = None;
        for _ in 0..100 {
            let screen = t(&["capture-pane", "-t", &session, "-p"]);
            if screen.contains("LEAD BLOCKERS") {
                watch = child_of(pane);
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let Some(pid) = watch else {
            t(&["kill-session", "-t", &session]);
            panic!("watch never drew its screen");
        };
        // SAFETY: kill(2) on the watch this test started.
        unsafe { libc::kill(pid, sig) };
        let mut modes = String::new();
        for _ in 0..100 {
            modes = std::fs::read_to_string(&stty).unwrap_or_default();
            if !modes.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let alternate = t(&["display-message", "-p", "-t", &session, "#{alternate_on}"]);
        t(&["kill-session", "-t", &session]);
        assert!(!modes.is_empty(), "{name}: watch did not end");
        // Raw mode turns these off; a restored terminal has them on again.
        for flag in ["icanon", "echo", "isig"] {
            assert!(
                modes.split_whitespace().any(|w| w == flag),
                "{name}: {flag} is still off: {modes}"
            );
        }
        assert_eq!(
            alternate.trim(),
            "0",
            "{name}: still on the alternate screen"
        );
    }
    t(&["kill-server"]);
    // SAFETY: getuid has no preconditions.
    let uid = unsafe { libc::getuid() };
    let _ = std::fs::remove_file(format!("/tmp/tmux-{uid}/{socket}"));
}

#[test]
fn stalk_that_never_got_an_answer_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: every poll is refused; --for ends the run.
    let (code, stdout, stderr) = run(&[
        "stalk",
        "postgres://app@127.0.0.1:1/db",
        "--when",
        "blocking-chain",
        "--for",
        "2s",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty());
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("spiral: the server never answered") && last.contains("127.0.0.1:1"),
        "{stderr}"
    );
}
