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
    assert_eq!(
        out.lines().filter(|l| l.starts_with("  ")).count(),
        spiral::playbooks::PLAYBOOKS.len()
    );
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
        serde_json::json!({"lead": 182, "in_cycle": "yes", "blocked": 40, "depth": 1, "longest_wait_ms": 58000})
    );
    let tree = section(&view, "Blocking trees");
    let rows = tree["rows"].as_array().unwrap();
    assert_eq!(rows[0]["session"], 182);
    assert_eq!(rows[0]["state"], "in a cycle");
    assert!(rows.len() > 1);
    for row in &rows[1..] {
        assert_eq!(
            row["waits_for"], 182,
            "every reader waits for the writer: {row}"
        );
        assert_eq!(row["depth"], 1, "{row}");
        assert!(
            row["statement"].as_str().unwrap().starts_with("SELECT"),
            "{row}"
        );
    }
    // JSON keeps every row; the table shows 20 unless --limit says otherwise.
    assert_eq!(rows.len(), 41);
    let cycles = section(&view, "Cycles");
    assert_eq!(
        cycles["rows"][0]["sessions"],
        "182 -> 3453 -> 2035 -> 512 -> 182"
    );

    let (_, table, _) = run(&["blocking", "--replay", capture]);
    assert!(
        !table.contains("no session is blocked by a lead blocker"),
        "{table}"
    );
    assert!(table.contains("└ 600"), "{table}");
    assert!(table.contains("showing 20 of 41"), "{table}");
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
        assert_eq!(row["session"], id, "{row}");
        assert_eq!(row["depth"], i, "{row}");
        assert_eq!(row["waits_for"], id - 1, "{row}");
    }
    assert_eq!(
        rows[12]["waits_for"], base,
        "the second child hangs off the lead"
    );
    assert_eq!(rows[12]["depth"], 1);
    // How an edge was found, when the engine had to work it out, is said under the tree.
    assert_eq!(
        section(&view, "Blocking trees")["note"],
        "metadata lock on app.t: holder inferred"
    );

    let (_, table, _) = run(&["blocking", "--replay", path]);
    let body: Vec<&str> = table
        .lines()
        .skip_while(|l| !l.starts_with("Blocking trees"))
        .skip(3)
        .take_while(|l| !l.trim().is_empty())
        .collect();
    // 13 sessions: one line each, nothing wrapped, every id whole; then the note.
    assert_eq!(body.len(), 14, "{table}");
    assert!(body[13].contains("holder inferred"), "{table}");
    for line in &body {
        assert!(line.chars().count() <= 80, "{line}");
    }
    // Indentation grows level by level, then the level is written out; the parent column
    // names the session each row waits for either way.
    assert!(body[3].contains(&format!("    └ {}", base + 3)), "{table}");
    assert!(
        body[11].contains(&format!("(11)└ {}", base + 11)),
        "{table}"
    );
    assert!(body[11].contains(&(base + 10).to_string()), "{table}");
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
/// A capture header for hand-made captures.
const HEADER: &str = "{\"spiral_capture\":1,\"engine\":\"postgres\",\"target\":\"postgres://x\",\"spiral_version\":\"0.1.0\",\"started_at\":\"2025-01-01T00:00:00Z\"}";

/// Terminal control characters and bidi overrides, raw or as JSON escapes.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| {
        (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) || text.contains("\\u001b")
        || text.contains("\\u0007")
        || text.contains("\\u202e")
}

#[test]
fn captures_are_never_emptied_or_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("incident.jsonl");
    std::fs::write(&file, "the evidence\n").unwrap();
    // Refused before any connection is made (nothing listens on port 1 anyway).
    let line = fails(&[
        "capture",
        "postgres://app@127.0.0.1:1/db",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(
        line.contains("already exists") && line.contains("--force"),
        "{line}"
    );
    // --force replaces it only with a capture that has a snapshot: a failed connection
    // leaves the earlier file as it was, and no temp file behind.
    let line = fails(&[
        "capture",
        "postgres://app@127.0.0.1:1/db",
        "--force",
        "--connect-timeout",
        "2s",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(line.contains("127.0.0.1"), "{line}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "the evidence\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn endless_and_oversized_input_is_refused_by_line() {
    let line = fails(&["triage", "--replay", "/dev/zero"]);
    assert!(
        line.contains("/dev/zero:1: line is longer than 64 KiB"),
        "{line}"
    );
    // check --timeout bounds a replay too, and says UNKNOWN on stdout.
    let (code, out, _) = run(&["check", "--replay", "/dev/zero", "--timeout", "5s"]);
    assert_eq!(code, 3);
    assert!(
        out.starts_with("SPIRAL UNKNOWN: /dev/zero:1: line is longer"),
        "{out}"
    );
    // A snapshot line past the cap, after a good one: named by its line number.
    let good = std::fs::read_to_string("captures/004-postgres-deadlocked-pool.jsonl").unwrap();
    let mut text: String = good.lines().take(2).map(|l| format!("{l}\n")).collect();
    text.push_str(&"x".repeat(17 << 20));
    text.push('\n');
    let f = temp_capture(&text);
    let line = fails(&["triage", "--replay", f.path().to_str().unwrap()]);
    assert!(line.contains(":3: line is longer than 16 MiB"), "{line}");
}

#[test]
fn capture_versions_times_and_gzip_are_checked() {
    for (version, want) in [
        ("0", "version 0 is not valid"),
        ("-1", "version -1 is not valid"),
        ("1.5", "version 1.5 is not valid"),
        ("99999999999", "version 99999999999 is not valid"),
        ("\"1\"", "version \"1\" is not valid"),
        ("2", "capture format 2 is newer"),
    ] {
        let f = temp_capture(&format!(
            "{{\"spiral_capture\":{version},\"engine\":\"postgres\",\"target\":\"x\",\"spiral_version\":\"9\",\"started_at\":\"2025-01-01T00:00:00Z\"}}\n"
        ));
        let line = fails(&["triage", "--replay", f.path().to_str().unwrap()]);
        assert!(line.contains(want), "{version}: {line}");
    }
    let good = std::fs::read_to_string("captures/004-postgres-deadlocked-pool.jsonl").unwrap();
    let lines: Vec<&str> = good.lines().collect();
    for (order, what) in [([0, 2, 1], "reversed"), ([0, 1, 1], "equal")] {
        let text: String = order.iter().map(|&i| format!("{}\n", lines[i])).collect();
        let f = temp_capture(&text);
        let line = fails(&["triage", "--replay", f.path().to_str().unwrap()]);
        assert!(
            line.contains(":3: snapshot taken at") && line.contains("not after the previous one"),
            "{what}: {line}"
        );
    }
    let gz = temp_capture("\u{1f}\u{8b}\u{8}\0\0\0\0\0");
    let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    bytes.extend_from_slice(&[0xff; 64]);
    std::fs::write(gz.path(), bytes).unwrap();
    let line = fails(&["triage", "--replay", gz.path().to_str().unwrap()]);
    assert!(
        line.contains("is gzip-compressed") && line.contains("gunzip"),
        "{line}"
    );
}

#[test]
fn hostile_capture_text_never_reaches_the_terminal() {
    let good = std::fs::read_to_string("captures/004-postgres-deadlocked-pool.jsonl").unwrap();
    let mut lines: Vec<String> = good.lines().map(String::from).collect();
    // OSC 52 (writes the clipboard), a screen clear and a right-to-left override, in a
    // field whose parse error quotes the value, and in the header's target and note.
    let payload = r"\u001b]52;c;ZWNobyBvd25lZA==\u0007\u001b[2J\u001bc\u202egnp.exe";
    lines.insert(2, format!("{{\"engine\":\"{payload}\",\"sessions\":[]}}"));
    lines[0] = lines[0].replacen("\"target\":\"", &format!("\"target\":\"{payload}"), 1);
    let f = temp_capture(&(lines.join("\n") + "\n"));
    for format in ["table", "json", "markdown", "slack"] {
        let (code, out, err) = run(&[
            "triage",
            "--replay",
            f.path().to_str().unwrap(),
            "--format",
            format,
        ]);
        assert_eq!(code, 2, "{format}: {err}");
        assert!(
            out.contains("line 3"),
            "{format}: the skipped line is noted: {out}"
        );
        assert!(
            !has_control(&out) && !has_control(&err),
            "{format}: {out}{err}"
        );
        assert!(
            !out.contains("52;c;"),
            "{format}: the escape's text survived"
        );
    }
    let (_, out, _) = run(&["check", "--replay", f.path().to_str().unwrap()]);
    assert!(!has_control(&out), "{out}");
    // Error messages: a file name carrying escapes, and a header that is nothing but them.
    let (_, _, err) = run(&[
        "triage",
        "--replay",
        "/nonexistent/\u{1b}]52;c;eA==\u{7}\u{202e}.jsonl",
    ]);
    assert!(
        err.contains("cannot open capture") && !has_control(&err),
        "{err:?}"
    );
    let bad = temp_capture(&format!("{{\"spiral_capture\":\"{payload}\"}}\n"));
    let (_, _, err) = run(&["triage", "--replay", bad.path().to_str().unwrap()]);
    assert!(
        err.contains("is not valid") && !has_control(&err),
        "{err:?}"
    );
    let _ = HEADER;
}

/// The binary against generated hostile captures (the reader itself gets 21,500 inputs in
/// `capture::fuzz`): whatever the input, no panic, stdout and stderr free of control
/// characters, and either a report (exit 0-2) or one error line with exit 3.
#[test]
fn generated_hostile_captures_end_cleanly() {
    let mut state: u64 = 0x0dd_ba11_5ca1_ab1e;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let nasty: [&[u8]; 8] = [
        b"\x1b]52;c;ZWNobyBvd25lZA==\x07",
        b"\x1b[2J",
        b"\xe2\x80\xae",
        b"\\u001b[31m",
        b"\\u202e",
        b"\n",
        b"\0",
        b"\xc2\x9b",
    ];
    let seed = std::fs::read_to_string("captures/004-postgres-deadlocked-pool.jsonl").unwrap();
    let seed: Vec<u8> = seed
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes();
    let dir = tempfile::tempdir().unwrap();
    let mut runs = 0;
    for i in 0..150 {
        let mut input = seed.clone();
        for _ in 0..1 + next() % 3 {
            let at = (next() as usize) % (input.len() + 1);
            match next() % 4 {
                0 => input.truncate(at),
                1 => {
                    let end = (at + (next() as usize % 40)).min(input.len());
                    input.drain(at..end);
                }
                _ => {
                    let piece = nasty[(next() as usize) % nasty.len()];
                    input.splice(at..at, piece.iter().copied());
                }
            }
        }
        let path = dir.path().join(format!("fuzz-{i}.jsonl"));
        std::fs::write(&path, &input).unwrap();
        let format = ["table", "json", "markdown", "slack"][i % 4];
        let (code, out, err) = run(&[
            "triage",
            "--replay",
            path.to_str().unwrap(),
            "--format",
            format,
        ]);
        runs += 1;
        assert!((0..=3).contains(&code), "input {i}: exit {code}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("internal error"),
            "input {i}: {err}"
        );
        assert!(
            !has_control(&out) && !has_control(&err),
            "input {i} ({format}): {out:?} {err:?}"
        );
        if code == 3 {
            assert_eq!(err.lines().count(), 1, "input {i}: {err}");
            assert!(out.is_empty(), "input {i}: {out}");
        }
    }
    assert_eq!(runs, 150);
}

#[test]
fn check_timeout_bounds_a_replay_that_never_arrives() {
    // A FIFO with no writer: opening it blocks the command's thread, which no async
    // deadline can interrupt; the watchdog still answers UNKNOWN.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("never.jsonl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path in our own temp dir.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (code, out, err) = run(&[
        "check",
        "--replay",
        fifo.to_str().unwrap(),
        "--timeout",
        "1s",
    ]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(out, "SPIRAL UNKNOWN: no assessment within 1s (watchdog)\n");
}

#[test]
fn one_ctrl_c_ends_even_a_command_stuck_in_a_blocking_read() {
    // triage of a FIFO with no writer blocks in open(2): no wait in spiral can see the
    // signal there, so the signal thread ends the process after its grace period.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stuck.jsonl");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo on a NUL-terminated path in our own temp dir.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut child = spiral()
        .args(["triage", "--replay", fifo.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until triage is blocked opening the FIFO: the signal handlers are in place
    // before any command starts (before them, Ctrl-C would have its default action).
    let wchan = format!("/proc/{}/wchan", child.id());
    let blocked = || {
        std::fs::read_to_string(&wchan).is_ok_and(|w| w.contains("partner") || w.contains("fifo"))
    };
    for _ in 0..500 {
        if blocked() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(blocked(), "triage never blocked on the FIFO");
    // SAFETY: kill(2) on the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if child.try_wait().unwrap().is_none() {
        let _ = child.kill();
        panic!("one Ctrl-C did not end triage within 30 s");
    }
    let (code, _, err) = support::decode(child.wait_with_output().unwrap());
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("stopping now"), "{err}");
}

/// --pooler is checked before anything connects: a PgBouncer console, beside a PostgreSQL
/// database only; every refusal is one line, exit 3, and no password of either URL shows.
#[test]
fn pooler_flag_is_validated_and_never_echoes_a_password() {
    let console = "pgbouncer://admin:p00lsecret@127.0.0.1:1/pgbouncer";
    for (database, pooler, says) in [
        (
            "mysql://root:dbsecret@127.0.0.1/x",
            console,
            "--pooler goes beside a PostgreSQL target",
        ),
        (
            "mssql://sa:dbsecret@127.0.0.1/x",
            console,
            "SQL Server is not one",
        ),
        (
            "pgbouncer://admin:dbsecret@127.0.0.1:2/pgbouncer",
            console,
            "a PgBouncer console is not one",
        ),
        (
            "postgres://app:dbsecret@127.0.0.1/x",
            "postgres://admin:p00lsecret@127.0.0.1/x",
            "--pooler takes PgBouncer's admin console",
        ),
        (
            "postgres://app:dbsecret@127.0.0.1/x",
            "pgbouncer://admin:p00l/secret@127.0.0.1:6432/pgbouncer",
            "--pooler: malformed target URL",
        ),
    ] {
        let (code, out, err) = run(&["triage", database, "--pooler", pooler]);
        assert_eq!(code, 3, "{database} {err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(says), "{says}: {err}");
        for secret in ["dbsecret", "p00lsecret", "secret@"] {
            assert!(!err.contains(secret), "{secret} shown: {err}");
        }
    }
    let (code, _, err) = run(&[
        "triage",
        "--replay",
        "captures/healthy-busy-postgres.jsonl",
        "--pooler",
        console,
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(!err.contains("p00lsecret"), "{err}");
}
