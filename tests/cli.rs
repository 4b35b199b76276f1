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
    // Grouped by engine, the statements a person reads first.
    let pg = out
        .find("PostgreSQL (paste into psql")
        .expect("a PostgreSQL group");
    let my = out
        .find("MySQL/MariaDB (paste into mysql")
        .expect("a MySQL group");
    let ms = out
        .find("SQL Server (paste into sqlcmd")
        .expect("a SQL Server group");
    assert!(pg < my && my < ms, "{out}");
    let by_hand = out[pg..my].find("To read by hand").unwrap();
    let sent = out[pg..my].find("What spiral sends").unwrap();
    assert!(by_hand < sent, "{out}");
    for name in ["sessions", "blockers", "waits", "sample"] {
        assert!(
            out[pg..my].contains(&format!("    {name} ")),
            "{name}: {out}"
        );
    }
    let (code, out, _) = run(&["queries", "postgres/blockers"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("pg_blocking_pids") && !out.contains("json_agg"),
        "{out}"
    );
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
    // Every page the top page refers to exists and is current.
    let top = std::fs::read_to_string("completions/spiral.1").unwrap();
    let re = regex::Regex::new(r"spiral\\-([a-z]+)\(1\)").unwrap();
    let mut pages: Vec<&str> = re
        .captures_iter(&top)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    pages.sort_unstable();
    pages.dedup();
    assert!(pages.len() >= 16 && pages.contains(&"triage"), "{pages:?}");
    for cmd in pages {
        let file = format!("completions/man/spiral-{cmd}.1");
        let (code, out, err) = run(&["completions", "man", cmd]);
        assert_eq!(code, 0, "{err}");
        assert!(out.contains(&format!(".TH spiral-{cmd} 1")), "{out}");
        let committed = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            committed == out,
            "{file} is missing or stale: run scripts/completions.sh"
        );
    }
    // Verdict ids after `playbook`, engines after `--engine`.
    let bash = std::fs::read_to_string("completions/spiral.bash").unwrap();
    assert!(bash.contains("idle-connection-leak") && bash.contains("postgres mysql mssql"));
}

#[test]
fn help_puts_the_command_first_and_keeps_suggestions() {
    let (code, out, _) = run(&["triage", "--help"]);
    assert_eq!(code, 0);
    let own = out.find("--samples").unwrap();
    let conn = out.find("Connection options:").unwrap();
    let global = out.find("Global options:").unwrap();
    assert!(own < conn && conn < global, "{out}");
    assert!(
        out[global..].contains("--format") && !out[global..].contains("--dac"),
        "{out}"
    );
    assert!(out.contains("counts toward an idle-connection"), "{out}");
    let (_, kill, _) = run(&["kill", "--help"]);
    assert!(kill.contains("Sessions idle (or idle in a transaction) at least this long"));
    for cmd in ["playbook", "queries", "thresholds", "completions"] {
        let (_, out, _) = run(&[cmd, "--help"]);
        for flag in [
            "--dac",
            "--connect-timeout",
            "--password-stdin",
            "--encrypt",
        ] {
            assert!(!out.contains(flag), "{cmd} --help lists {flag}:\n{out}");
        }
    }
    assert!(fails(&["triag"]).contains("a similar subcommand exists: 'triage'"));
    assert!(fails(&["triage", "--sample", "2"]).contains("'--samples'"));
    assert!(fails(&["playbook", "idle-leak"]).contains("did you mean 'idle-connection-leak'"));
    // Connection options are still accepted before the command name.
    let (code, _, err) = run(&[
        "--connect-timeout",
        "2s",
        "triage",
        "--replay",
        "captures/004-postgres-deadlocked-pool.jsonl",
    ]);
    assert_eq!(code, 2, "{err}");
}

/// Every command that prints a result either honours `--format json` with a JSON document
/// that carries a `schema`, or refuses on one line with exit 3 before connecting.
#[test]
fn format_json_is_json_or_refused() {
    let leak = "captures/001-postgres-connection-leak.jsonl";
    let cases: &[(&[&str], &str)] = &[
        (&["triage", "--replay", leak], "spiral.triage/v1"),
        (&["waits", "--replay", leak], "spiral.view/v2"),
        (&["workers", "--replay", leak], "spiral.view/v2"),
        (&["blocking", "--replay", leak], "spiral.view/v2"),
        (&["connections", "--replay", leak], "spiral.view/v2"),
        (&["compiles", "--replay", leak], "spiral.view/v2"),
        (&["plancache", "--replay", leak], "spiral.view/v2"),
        (&["check", "--replay", leak], "spiral.check/v1"),
        (
            &["kill", "--replay", leak, "--idle-over", "10m"],
            "spiral.kill/v1",
        ),
        (&["playbook"], "spiral.playbook/v1"),
        (&["playbook", "blocking-chain"], "spiral.playbook/v1"),
        (&["thresholds"], "spiral.thresholds/v1"),
        (&["queries"], "spiral.queries/v1"),
        (&["queries", "mysql/sessions"], "spiral.queries/v1"),
    ];
    for (args, schema) in cases {
        let (code, json, err) = support::run_json(args);
        assert_eq!(json["schema"], *schema, "{args:?}: {json}");
        assert!(code != 3 || args[0] == "triage", "{args:?}: {err}");
    }
    let (code, json, _) = support::run_json(&["check", "--replay", leak]);
    assert_eq!((code, json["status"].as_str()), (2, Some("CRITICAL")));
    assert!(json["perfdata"][0]["label"] == "connections" && json["perfdata"][0]["value"] == 82.0);
    let (_, json, _) = support::run_json(&["playbook", "blocking-chain"]);
    assert!(json["markdown"].as_str().unwrap().starts_with("# "));
    let (_, json, _) = support::run_json(&["thresholds"]);
    assert!(
        json["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "idle_over" && t["default"] == 300.0)
    );

    for args in [
        &[
            "stalk",
            "--replay",
            leak,
            "--when",
            "blocked>1",
            "-o",
            "/nonexistent",
        ][..],
        &["watch", "--replay", leak],
        &["capture", "--replay", leak, "-o", "/nonexistent/x.jsonl"],
        &["completions", "bash"],
    ] {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        let line = fails(&all);
        assert!(
            line.contains("has no --format json output"),
            "{args:?}: {line}"
        );
    }
    assert!(
        fails(&[
            "--format",
            "slack",
            "kill",
            "--replay",
            leak,
            "--idle-over",
            "1m"
        ])
        .contains("table, json")
    );
}

/// The first look is for a person watching a terminal: a pipe gets each verdict once.
#[test]
fn first_look_only_on_a_terminal() {
    let (_, out, _) = run(&[
        "triage",
        "--replay",
        "captures/001-postgres-connection-leak.jsonl",
    ]);
    assert!(!out.contains("First look"), "{out}");
    assert_eq!(out.matches("idle-connection-leak:").count(), 1, "{out}");
}

fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = spiral();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    support::decode(cmd.output().unwrap())
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// Without a terminal (and no COLUMNS), everything fits 80 columns; a name too long for its
/// column is cut with an ellipsis rather than wrapped onto a line of its own.
#[test]
fn output_fits_80_columns_and_uses_a_wider_console() {
    let pool = "captures/004-postgres-deadlocked-pool.jsonl";
    let shipping = "captures/002-mysql-shipping-sleepers.jsonl";
    for args in [
        &["triage", "--replay", pool][..],
        &["blocking", "--replay", pool],
        &["connections", "--replay", shipping],
        &[
            "waits",
            "--replay",
            "captures/000-sqlserver-sunday-spiral.jsonl",
        ],
        &["kill", "--replay", shipping, "--idle-over", "10m"],
        &["kill", "--replay", pool, "--idle-in-transaction"],
        &["thresholds"],
        &["queries"],
        &["playbook"],
    ] {
        let (_, out, err) = run(args);
        assert!(!out.is_empty(), "{args:?}: {err}");
        assert!(widest(&out) <= 80, "{args:?} wider than 80:\n{out}");
    }
    let (_, narrow, _) = run(&["blocking", "--replay", pool]);
    let (_, wide, _) = run_env(&["blocking", "--replay", pool], &[("COLUMNS", "160")]);
    assert!(
        widest(&wide) > 100,
        "a wide console gives the statement room:\n{wide}"
    );
    // Every tree row is still one line, in both.
    for out in [&narrow, &wide] {
        assert_eq!(
            out.lines().filter(|l| l.contains("└ 410")).count(),
            18,
            "{out}"
        );
    }
}

#[test]
fn kill_speaks_plainly() {
    let shipping = "captures/002-mysql-shipping-sleepers.jsonl";
    let (code, out, _) = run(&[
        "kill",
        "--replay",
        shipping,
        "--idle-over",
        "10m",
        "--max",
        "1",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Would end 1 session on"), "{out}");
    assert!(out.contains("Dry run: nothing was done"), "{out}");
    let (_, out, _) = run(&[
        "kill",
        "--replay",
        shipping,
        "--idle-over",
        "10m",
        "--query-only",
    ]);
    assert!(
        out.starts_with("Would cancel the statements of 148 sessions"),
        "{out}"
    );
    assert!(!out.contains("ended"), "{out}");
}

/// A console that cannot show UTF-8 gets ASCII: from the locale, or with --ascii.
#[test]
fn ascii_fallback() {
    let pool = "captures/004-postgres-deadlocked-pool.jsonl";
    let fancy = ['·', '└', '…', '█'];
    for env in [[("LANG", "C")], [("LANG", "en_US.ISO-8859-1")]] {
        for args in [
            &["triage", "--replay", pool][..],
            &["blocking", "--replay", pool],
        ] {
            let (_, out, _) = run_env(args, &env);
            assert!(
                out.is_ascii() || !out.contains(fancy),
                "{env:?} {args:?}:\n{out}"
            );
            assert!(!out.contains(fancy), "{env:?} {args:?}:\n{out}");
        }
    }
    let (_, out, _) = run(&["--ascii", "blocking", "--replay", pool]);
    assert!(!out.contains(fancy) && out.contains("`- 41002"), "{out}");
    let (_, out, _) = run(&["blocking", "--replay", pool]);
    assert!(
        out.contains("└ 41002") && out.contains('…'),
        "UTF-8 by default in tests: {out}"
    );
}

/// The README's first command works as printed, and the README says what its exit code 2
/// means; it says how to install, and what scripts/test.sh touches.
#[test]
fn readme_first_steps_hold() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let first = readme
        .lines()
        .find(|l| l.trim_start().starts_with("cargo run --release -- triage"))
        .expect("the set-up command");
    let args: Vec<&str> = first
        .split("-- ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    let (code, out, _) = run(&args);
    assert_eq!(code, 2, "{out}");
    assert!(readme.contains("It exits with code 2: that is spiral saying CRITICAL"));
    assert!(readme.contains("cargo install --path ."));
    assert!(readme.contains("SPIRAL_TEST_PG_URL") && readme.contains("SPIRAL_TEST_MYSQL_URL"));
    assert!(
        !readme.contains("../") && !readme.contains("/work/"),
        "paths outside the repo"
    );
}

/// A tmux pane of 80x24 running `spiral watch`, for what a person over SSH sees.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(args: &[&str]) -> Option<Tmux> {
        if std::process::Command::new("tmux")
            .arg("-V")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: tmux is not installed (.ci/run installs it)");
            return None;
        }
        // One tmux server per pane: tests run in parallel threads of one process.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("spiral-test-{}-{n}", std::process::id());
        let mut cmd = vec![
            "env".to_string(),
            "LANG=C.UTF-8".into(),
            env!("CARGO_BIN_EXE_spiral").into(),
        ];
        cmd.extend(args.iter().map(|a| a.to_string()));
        let status = std::process::Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "80",
                "-y",
                "24",
                "-s",
                "w",
            ])
            .arg(cmd.join(" "))
            .status()
            .unwrap();
        assert!(status.success());
        Some(Tmux { socket })
    }

    /// The visible screen and the lines scrolled off above it.
    fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-S",
                "-500",
                "-t",
                "w",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &str) {
        std::process::Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "w", keys])
            .status()
            .unwrap();
    }

    /// Polls the pane until `want` shows (the watch redraws on its own schedule).
    fn wait_for(&self, want: &str) -> String {
        for _ in 0..100 {
            let s = self.screen();
            if s.contains(want) {
                return s;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("'{want}' never appeared:\n{}", self.screen());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn watch_at_80x24() {
    let sunday = "captures/000-sqlserver-sunday-spiral.jsonl";
    let Some(t) = Tmux::start(&["watch", "--replay", sunday]) else {
        return;
    };
    let screen = t.wait_for("WORST SESSIONS");
    let lines: Vec<&str> = screen.trim_end_matches('\n').lines().collect();
    assert!(
        lines.len() <= 24 && lines.iter().all(|l| l.chars().count() <= 80),
        "{screen}"
    );
    // The legend is on the bottom row; a replay says so, with the capture's time.
    assert!(
        lines.last().unwrap().starts_with("keys: s w b c k p l"),
        "{screen}"
    );
    let (_, r, _) = support::run_json(&["triage", "--replay", sunday]);
    let at = |k: &str| {
        let t = r["window"][k].as_str().unwrap().replace('T', " ");
        format!("REPLAY, captured {} UTC", t.trim_end_matches('Z'))
    };
    assert!(
        screen.contains(&at("first")) || screen.contains(&at("last")),
        "{screen}"
    );
    // The sessions panel is an aligned table with the application; the rest scrolls.
    assert!(
        screen.contains("application") && screen.contains("app-backend-api"),
        "{screen}"
    );
    assert!(screen.contains("more lines (↓ or PgDn)"), "{screen}");
    t.keys("c");
    let screen = t.wait_for("BY USER");
    assert!(
        screen.lines().last().unwrap().starts_with("keys:"),
        "{screen}"
    );
    t.keys("PgDn");
    let screen = t.wait_for("above");
    assert!(screen.trim_end().lines().count() <= 24, "{screen}");
    // Past the end and one line back: the panel moves at once (no overshoot to undo).
    for _ in 0..30 {
        t.keys("PgDn");
    }
    t.wait_for("lines above (↑ or PgUp)");
    t.keys("Up");
    t.wait_for("below");
    t.keys("q");
}

/// Counts are words: "1 condition, 1 poll", "3 snapshots", never "1 condition(s)".
#[test]
fn counts_read_as_words() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&[
        "stalk",
        "--replay",
        "captures/004-postgres-deadlocked-pool.jsonl",
        "--when",
        "blocked>1",
        "--cycles",
        "1",
        "--max-captures",
        "1",
        "-o",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("(1 condition, 1 poll in a row)"), "{err}");
    let out = dir.path().join("c.jsonl");
    let (_, _, err) = run(&[
        "capture",
        "--replay",
        "captures/004-postgres-deadlocked-pool.jsonl",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(err.contains("wrote 3 snapshots"), "{err}");
}
