//! Logging in as psql and mysql do, proven against real servers: a .pgpass line is chosen by
//! the server actually connected to (on a PostgreSQL of the test's own with scram
//! authentication, so a wrong password really fails), PGHOST/PGPORT/PGUSER/PGDATABASE,
//! ~/.my.cnf and MYSQL_PWD on the local MariaDB, a Connector/NET string, and errors that
//! say what to do. Also the non-live promises about targets: never a flag, never a secret.
//!
//! The live tests hold the live lock and drop what they create, also when they fail.

#![allow(clippy::await_holding_lock)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, Executor};
use support::{decode, live_lock, live_url, spiral};

/// Runs spiral with the given environment (on top of a clean one) and returns
/// (code, stdout, stderr).
fn run_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = spiral();
    for var in [
        "PGHOST",
        "PGHOSTADDR",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSFILE",
        "MYSQL_HOST",
        "MYSQL_TCP_PORT",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    decode(cmd.args(args).output().expect("spiral runs"))
}

fn json_target(out: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"));
    v["target"].as_str().unwrap_or_default().to_string()
}

fn write_private(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// ---------------------------------------------------------------------------------------
// A PostgreSQL of the test's own, with scram-sha-256 for every connection.
// ---------------------------------------------------------------------------------------

struct OwnPg {
    _dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    child: Child,
    as_postgres: bool,
    superuser_password: String,
}

fn pg_bin(name: &str) -> Option<PathBuf> {
    let in_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    versioned.sort();
    in_path
        .into_iter()
        .chain(versioned.into_iter().rev())
        .find(|p| p.exists())
}

/// PostgreSQL refuses to run as root: then the server runs as the `postgres` user.
fn pg_command(bin: &Path, as_postgres: bool) -> Command {
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl OwnPg {
    /// None (with the reason printed) when initdb is not installed.
    fn start() -> Option<OwnPg> {
        let (Some(initdb), Some(postgres)) = (pg_bin("initdb"), pg_bin("postgres")) else {
            assert!(
                std::env::var("SPIRAL_REQUIRE_LIVE").as_deref() != Ok("1"),
                "SPIRAL_REQUIRE_LIVE=1 but initdb/postgres are not installed"
            );
            eprintln!("SKIPPED: no initdb/postgres binaries for a scram-authenticated PostgreSQL");
            return None;
        };
        // SAFETY: geteuid has no preconditions.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::tempdir().unwrap();
        if as_postgres {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the test's data directory");
        }
        let superuser_password = format!("su-{}", std::process::id());
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, &superuser_password).unwrap();
        if as_postgres {
            Command::new("chown")
                .arg("postgres")
                .arg(&pwfile)
                .status()
                .unwrap();
        }
        let data = dir.path().join("data");
        let out = pg_command(&initdb, as_postgres)
            .arg("-D")
            .arg(&data)
            .args(["-A", "scram-sha-256", "-U", "postgres", "--no-sync"])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let child = pg_command(&postgres, as_postgres)
            .arg("-D")
            .arg(&data)
            .arg("-p")
            .arg(port.to_string())
            .arg("-k")
            .arg(dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pg = OwnPg {
            _dir: dir,
            data,
            port,
            child,
            as_postgres,
            superuser_password,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "own PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(pg)
    }

    async fn admin(&self) -> sqlx::PgConnection {
        let opts = sqlx::postgres::PgConnectOptions::new_without_pgpass()
            .host("127.0.0.1")
            .port(self.port)
            .username("postgres")
            .password(&self.superuser_password)
            .database("postgres")
            .disable_statement_logging();
        // The server may accept TCP a moment before it accepts logins.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match sqlx::PgConnection::connect_with(&opts).await {
                Ok(c) => return c,
                Err(e) if Instant::now() > deadline => panic!("own PostgreSQL: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for OwnPg {
    fn drop(&mut self) {
        if let Some(pg_ctl) = pg_bin("pg_ctl") {
            let _ = pg_command(&pg_ctl, self.as_postgres)
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "stop"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn pgpass_line_for_the_server_used_is_the_one_sent() {
    let _lock = live_lock();
    let Some(pg) = OwnPg::start() else {
        return;
    };
    let mut admin = pg.admin().await;
    admin
        .execute("CREATE ROLE spiral_app LOGIN PASSWORD 'right-pw:1' IN ROLE pg_monitor")
        .await
        .unwrap();
    let port = pg.port;
    let other = port.wrapping_add(1);
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    let lines = [
        format!("127.0.0.1:{other}:*:spiral_app:wrong-port"),
        format!("db.elsewhere:{port}:*:spiral_app:wrong-host"),
        format!("127.0.0.1:{port}:otherdb:spiral_app:wrong-db"),
        format!("127.0.0.1:{port}:postgres:spiral_app:right-pw\\:1"),
        "*:*:*:*:wildcard-wrong".to_string(),
    ];
    write_private(&pgpass, &(lines.join("\n") + "\n"), 0o600);
    let file = pgpass.to_str().unwrap();
    let url = format!("postgres://spiral_app@127.0.0.1:{port}/postgres");
    let triage = ["--format", "json", "triage", url.as_str(), "--samples", "1"];

    // The host-, port- and database-specific line is found and its password accepted.
    let (code, out, err) = run_env(&triage, &[("PGPASSFILE", file)]);
    assert!(code < 3, "exit {code}: {err}");
    assert_eq!(
        json_target(&out),
        format!("postgres://spiral_app:***@127.0.0.1:{port}/postgres")
    );
    assert!(!out.contains("right-pw") && !err.contains("right-pw"));

    // Without it the wildcard line's wrong password is sent, and the server refuses it:
    // the password really travels, and the error names the line it came from.
    let without: Vec<&str> = lines
        .iter()
        .filter(|l| !l.contains("right-pw"))
        .map(String::as_str)
        .collect();
    write_private(&pgpass, &(without.join("\n") + "\n"), 0o600);
    let (code, out, err) = run_env(&triage, &[("PGPASSFILE", file)]);
    assert_eq!(code, 3, "{out} {err}");
    assert!(err.contains("password authentication failed"), "{err}");
    assert!(err.contains(&format!("{file} line 4")), "{err}");
    assert!(!err.contains("wildcard-wrong"), "{err}");

    // Only lines for other servers: nothing is sent, and the error says what was looked for.
    write_private(&pgpass, &(without[..3].join("\n") + "\n"), 0o600);
    let (code, _, err) = run_env(&triage, &[("PGPASSFILE", file)]);
    assert_eq!(code, 3);
    assert!(
        err.contains("no line of")
            && err.contains(&format!("127.0.0.1:{port}:postgres:spiral_app")),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");

    // A file others may read is ignored, as psql does, and the user is told.
    write_private(&pgpass, "*:*:*:*:right-pw\\:1\n", 0o644);
    let (code, _, err) = run_env(&triage, &[("PGPASSFILE", file)]);
    assert_eq!(code, 3);
    assert!(err.contains("readable by group or others"), "{err}");

    // PGHOST/PGPORT/PGUSER/PGDATABASE complete a bare postgres://, and the label shows
    // the host and port really used.
    write_private(
        &pgpass,
        &format!("127.0.0.1:{port}:postgres:spiral_app:right-pw\\:1\n"),
        0o600,
    );
    let port_text = port.to_string();
    let (code, out, err) = run_env(
        &[
            "--format",
            "json",
            "triage",
            "postgres://",
            "--samples",
            "1",
        ],
        &[
            ("PGHOST", "127.0.0.1"),
            ("PGPORT", &port_text),
            ("PGUSER", "spiral_app"),
            ("PGDATABASE", "postgres"),
            ("PGPASSFILE", file),
        ],
    );
    assert!(code < 3, "exit {code}: {err}");
    assert_eq!(
        json_target(&out),
        format!("postgres://spiral_app:***@127.0.0.1:{port}/postgres")
    );
    // The same through libpq's URL parameters.
    let params = format!("postgres:///postgres?host=127.0.0.1&port={port}&user=spiral_app");
    let (code, out, err) = run_env(
        &["--format", "json", "triage", &params, "--samples", "1"],
        &[("PGPASSFILE", file)],
    );
    assert!(code < 3, "exit {code}: {err}");
    assert_eq!(
        json_target(&out),
        format!("postgres://spiral_app:***@127.0.0.1:{port}/postgres")
    );
    let _ = admin.close().await;
}

// ---------------------------------------------------------------------------------------
// The shared local servers.
// ---------------------------------------------------------------------------------------

#[test]
fn local_socket_and_errors_that_say_what_to_do() {
    let Some(pg_url) = live_url("SPIRAL_TEST_PG_URL", "PostgreSQL") else {
        return;
    };
    let _lock = live_lock();
    let pg: url::Url = pg_url.parse().unwrap();
    let pg_port = pg.port().unwrap_or(5432);
    let user = if pg.username().is_empty() {
        "postgres"
    } else {
        pg.username()
    };
    let db = pg.path().trim_start_matches('/');

    // A socket directory as libpq's host parameter, printed as such.
    if Path::new("/var/run/postgresql")
        .join(format!(".s.PGSQL.{pg_port}"))
        .exists()
    {
        let t = format!("postgres:///{db}?host=/var/run/postgresql&port={pg_port}&user={user}");
        let (code, out, err) = run_env(&["--format", "json", "triage", &t, "--samples", "1"], &[]);
        assert!(code < 3, "exit {code}: {err}");
        assert_eq!(
            json_target(&out),
            format!("postgres://{user}@:{pg_port}/{db}?host=/var/run/postgresql")
        );
    }

    // A role that does not exist is not a password problem.
    let t = format!("postgres://spiral_no_such_role@127.0.0.1:{pg_port}/{db}");
    let (code, _, err) = run_env(&["triage", &t, "--samples", "1"], &[]);
    assert_eq!(code, 3);
    assert!(
        err.contains("does not exist") && !err.contains("password"),
        "{err}"
    );

    // A postgres:// URL at a MySQL port asks the right question, without driver internals.
    if let Some(my) = live_url("SPIRAL_TEST_MYSQL_URL", "MariaDB/MySQL") {
        let my: url::Url = my.parse().unwrap();
        let my_port = my.port().unwrap_or(3306);
        let t = format!("postgres://postgres@127.0.0.1:{my_port}/test");
        let (code, _, err) = run_env(&["triage", &t, "--connect-timeout", "2s"], &[]);
        assert_eq!(code, 3);
        assert!(err.contains("is this a PostgreSQL server?"), "{err}");
        assert!(!err.contains("sqlx_") && err.lines().count() == 1, "{err}");
        // And the other way round: PostgreSQL waits for the client, so it is a timeout
        // that names the likely mistake.
        let t = format!("mysql://root@127.0.0.1:{pg_port}/test");
        let (code, _, err) = run_env(&["triage", &t, "--connect-timeout", "1s"], &[]);
        assert_eq!(code, 3);
        assert!(err.contains("write postgres://"), "{err}");
    }

    // An OS error is printed once.
    let (code, _, err) = run_env(&["triage", "postgres://u@127.0.0.1:9/x"], &[]);
    assert_eq!(code, 3);
    assert_eq!(err.matches("os error").count(), 1, "{err}");
}

/// Creates a password-protected MariaDB account and drops it again, also on failure.
struct MyUser {
    admin_url: String,
}

const MY_USER: &str = "spiral_t_login";
const MY_PW: &str = "my-Pw&secret 1";

impl MyUser {
    async fn admin(url: &str) -> sqlx::MySqlConnection {
        url.parse::<sqlx::mysql::MySqlConnectOptions>()
            .unwrap()
            .disable_statement_logging()
            .connect()
            .await
            .unwrap()
    }

    async fn create(admin_url: &str) -> MyUser {
        let mut admin = Self::admin(admin_url).await;
        for host in ["%", "localhost"] {
            let _ = admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP USER IF EXISTS '{MY_USER}'@'{host}'"
                )))
                .await;
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "CREATE USER '{MY_USER}'@'{host}' IDENTIFIED BY '{MY_PW}'"
                )))
                .await
                .unwrap();
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "GRANT PROCESS ON *.* TO '{MY_USER}'@'{host}'"
                )))
                .await
                .unwrap();
        }
        let _ = admin.close().await;
        MyUser {
            admin_url: admin_url.to_string(),
        }
    }
}

impl Drop for MyUser {
    fn drop(&mut self) {
        let url = self.admin_url.clone();
        // A runtime of its own: the test's may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let mut admin = MyUser::admin(&url).await;
                for host in ["%", "localhost"] {
                    let _ = admin
                        .execute(sqlx::AssertSqlSafe(format!(
                            "DROP USER IF EXISTS '{MY_USER}'@'{host}'"
                        )))
                        .await;
                }
            });
        })
        .join();
    }
}

#[tokio::test]
async fn my_cnf_mysql_pwd_and_connector_net_strings() {
    let Some(admin_url) = live_url("SPIRAL_TEST_MYSQL_URL", "MariaDB/MySQL") else {
        return;
    };
    let _lock = live_lock();
    let parsed: url::Url = admin_url.parse().unwrap();
    let port = parsed.port().unwrap_or(3306);
    let admin_user = parsed.username().to_string();
    let _user = MyUser::create(&admin_url).await;
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_str().unwrap();
    let cnf = home.path().join(".my.cnf");
    let bare = format!("mysql://127.0.0.1:{port}");
    let triage = [
        "--format",
        "json",
        "triage",
        bare.as_str(),
        "--samples",
        "1",
    ];

    // ~/.my.cnf [client] supplies user and password (quoted: it holds '&' and a space).
    write_private(
        &cnf,
        &format!("[mysqld]\nuser=mysql\n[client]\nuser={MY_USER}\npassword=\"{MY_PW}\"\n"),
        0o600,
    );
    let (code, out, err) = run_env(&triage, &[("HOME", home_path)]);
    assert!(code < 3, "exit {code}: {err}");
    assert_eq!(
        json_target(&out),
        format!("mysql://{MY_USER}:***@127.0.0.1:{port}")
    );
    assert!(!out.contains("my-Pw") && !err.contains("my-Pw"));

    // The option file wins over MYSQL_PWD, as in the mysql client; a wrong one is refused
    // and the error names where the password came from.
    write_private(
        &cnf,
        &format!("[client]\nuser={MY_USER}\npassword=wrong-one\n"),
        0o600,
    );
    let (code, _, err) = run_env(&triage, &[("HOME", home_path), ("MYSQL_PWD", MY_PW)]);
    assert_eq!(code, 3);
    assert!(
        err.contains("Access denied") && err.contains(".my.cnf [client]"),
        "{err}"
    );
    assert!(!err.contains("wrong-one"), "{err}");

    // MYSQL_PWD alone.
    std::fs::remove_file(&cnf).unwrap();
    let with_user = format!("mysql://{MY_USER}@127.0.0.1:{port}");
    let (code, _, err) = run_env(
        &["triage", &with_user, "--samples", "1"],
        &[("HOME", home_path), ("MYSQL_PWD", MY_PW)],
    );
    assert!(code < 3, "exit {code}: {err}");

    // A Connector/NET string is MySQL, not SQL Server: decisive with Port=3306, said
    // out loud when only Uid= decides.
    let net = format!("Server=127.0.0.1;Port={port};Uid={admin_user};Database=test");
    let (code, out, err) = run_env(
        &["--format", "json", "triage", &net, "--samples", "1"],
        &[("HOME", home_path)],
    );
    assert!(code < 3, "exit {code}: {err}");
    assert_eq!(
        json_target(&out),
        format!("mysql://{admin_user}@127.0.0.1:{port}/test")
    );
    if port == 3306 {
        let net = format!("Server=127.0.0.1;Uid={admin_user};Database=test");
        let (code, out, err) = run_env(
            &["--format", "json", "triage", &net, "--samples", "1"],
            &[("HOME", home_path)],
        );
        assert!(code < 3, "exit {code}: {err}");
        assert!(json_target(&out).starts_with("mysql://"));
        assert!(err.contains("read the connection string as MySQL"), "{err}");
    }
}

// ---------------------------------------------------------------------------------------
// No server needed.
// ---------------------------------------------------------------------------------------

/// Exit 3 with one line on stderr, nothing on stdout.
fn fails(args: &[&str]) -> String {
    let (code, out, err) = run_env(args, &[]);
    assert_eq!(code, 3, "{args:?}: {out} {err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    err
}

#[test]
fn targets_are_never_flags() {
    // psql's -h: a monitor must not read help and exit 0 as OK.
    for args in [
        &["check", "-h", "db01"][..],
        &["check", "-hdb01", "-p", "5432"],
        &["triage", "postgres://u@h/db", "-h"],
    ] {
        let err = fails(args);
        assert!(err.contains("-h means help here, not host"), "{err}");
    }
    // Help asked for alone still works.
    let (code, out, _) = run_env(&["triage", "-h"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage"));
}

#[test]
fn malformed_targets_say_what_is_wrong_and_never_echo_the_password() {
    let cases = [
        ("postgres://app:pa/ss@db/x", "percent-encode"),
        ("postgres://app:pa?ss@db/x", "percent-encode"),
        ("postgres://postgres://app:hunter22@db/x", "two URLs"),
        (
            "postgres://app:hunter22:db/x",
            "':' typed where '@' belongs",
        ),
        (
            "postgres://app:hunter22:5432/x",
            "':' typed where '@' belongs",
        ),
        ("app:hunter22@db/x", "no scheme"),
        ("mysql://db/x?user=app&password=hun&ter22", "%26"),
        ("postgres://db/x?host=a,b", "one host"),
    ];
    for (target, expect) in cases {
        let err = fails(&["triage", target]);
        assert!(err.contains(expect), "{target}: {err}");
        for secret in ["hunter22", "ter22", "pa/ss", "p@ss"] {
            assert!(!err.contains(secret), "{target}: {err}");
        }
    }
    // A forgotten subcommand: clap quotes the word; the password is hidden in every form.
    for target in [
        "postgres://app:hunter/22 {x}@db/x",
        "postgres://app:hunter22:5432/x",
        "app:hunter22@db/x",
        "postgres://app:hun\u{1}ter22@db/x",
        "Server=db;Password=\"hunter 22\";User Id=sa",
    ] {
        let err = fails(&[target]);
        assert!(!err.contains("hunter") && !err.contains("ter22"), "{err}");
    }
}

/// An unencoded '&' in a URL password is part of the password, as psql reads it.
#[test]
fn ampersand_in_a_url_password_is_kept() {
    let t = spiral::target::Target::parse("postgres://app:a&b=c@db/x").unwrap();
    assert_eq!(t.password.as_ref().map(|p| p.expose()), Some("a&b=c"));
}
