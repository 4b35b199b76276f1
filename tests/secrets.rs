//! Passwords never leave spiral: a property test over generated targets, well-formed and
//! malformed the way people really mangle them (a doubled scheme, a forgotten subcommand,
//! no scheme, ':' typed for '@', unencoded '/', '&', '@', spaces and braces, a stray
//! control character), run through the parser, the labels, and the binary itself; and a
//! fuzz-style pass of target parsing that must never panic.
//!
//! The generator is a fixed-seed xorshift, so a failure names a case that reproduces.

mod support;

use spiral::target::Target;
use support::{decode, spiral};

/// Deterministic pseudo-random numbers (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// A run of letters and digits, long enough that seeing it anywhere in output is a
    /// leak and not a coincidence.
    fn word(&mut self) -> String {
        const ALNUM: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
        (0..6)
            .map(|_| ALNUM[self.below(ALNUM.len())] as char)
            .collect()
    }
}

/// A password: random words joined by the characters that break naive parsers.
struct Secret {
    text: String,
    words: Vec<String>,
}

fn secret(rng: &mut Rng) -> Secret {
    const SEPARATORS: &[&str] = &[
        "/", " ", "{", "}", "&", "@", ":", "?", "#", "%", "+", "=", "!", "$", "\u{1}", "\t",
        "\u{1b}", ",", ".", "-", "~", "*", "(", ")", "[", "]", "|", "^",
    ];
    let mut words = Vec::new();
    let mut text = String::new();
    let n = 1 + rng.below(3);
    for i in 0..n {
        let w = rng.word();
        text.push_str(&w);
        words.push(w);
        if i + 1 < n || rng.chance(30) {
            text.push_str(rng.pick(SEPARATORS));
        }
    }
    Secret { text, words }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One generated target holding `pw`. Hosts are 127.0.0.2 (nothing listens there) or
/// port 9, so a target that parses is refused at once and never reaches a real server.
fn target(rng: &mut Rng, pw: &str) -> String {
    let scheme = rng.pick(&[
        "postgres",
        "postgresql",
        "mysql",
        "mariadb",
        "mssql",
        "sqlserver",
    ]);
    let user = rng.pick(&["app", "sa", "root", "ops_user"]);
    let host = rng.pick(&["127.0.0.2", "127.0.0.1:9", "127.0.0.2:9"]);
    let db = rng.pick(&["shop", "test", "orders"]);
    match rng.below(13) {
        0 => format!("{scheme}://{user}:{}@{host}/{db}", percent_encode(pw)),
        1 => format!("{scheme}://{user}:{pw}@{host}/{db}"),
        2 => format!("{scheme}://{scheme}://{user}:{pw}@{host}/{db}"),
        3 => format!("{user}:{pw}@{host}/{db}"),
        // ':' typed for '@'. A password that holds an '@' of its own would make these
        // well-formed URLs with another host, so it is left out of these two forms.
        4 => format!("{scheme}://{user}:{}:{host}/{db}", pw.replace('@', "")),
        5 => format!("{scheme}://{user}:{}:5432/{db}", pw.replace('@', "")),
        6 => format!("Server=127.0.0.2;User Id={user};Password={pw};Database={db}"),
        7 => format!(
            "Server=127.0.0.2;Port=9;Uid={user};Pwd=\"{}\";Database={db}",
            pw.replace('"', "\"\"")
        ),
        8 => format!("jdbc:{scheme}://{host}/{db}?user={user}&password={pw}"),
        9 => format!(
            "{scheme}://{host}/{db}?user={user}&password={}",
            percent_encode(pw)
        ),
        10 => format!("{scheme}://{user}:{pw}@{host}"),
        11 => format!(" {scheme}://{user}:{pw}@{host}/{db}\n"),
        _ => format!("Host=127.0.0.2;Port=9;Username={user};Password='{pw}'"),
    }
}

fn leaked<'a>(text: &str, s: &'a Secret) -> Option<&'a str> {
    s.words
        .iter()
        .map(String::as_str)
        .find(|w| text.contains(w))
}

/// In-process: parsing, the label every command prints (watch and stalk included), the
/// error message, and the completed target (environment, password files) never show a
/// word of the password.
#[test]
fn no_secret_in_labels_or_parse_errors() {
    let mut rng = Rng(0x5eed_0001);
    let cases = 6_000;
    for i in 0..cases {
        let s = secret(&mut rng);
        let t = target(&mut rng, &s.text);
        let shown = match Target::parse(&t) {
            Ok(mut parsed) => {
                spiral::credentials::complete(&mut parsed, &|_| None);
                format!("{} {:?}", parsed.redacted(), parsed)
            }
            Err(e) => spiral::sanitize::for_terminal(&e.to_string()),
        };
        assert!(
            leaked(&shown, &s).is_none(),
            "case {i}: {t:?} showed {shown:?}"
        );
        // Free text quoting the raw target (as clap does) is scrubbed too, with what the
        // binary registers from its command line.
        let known = spiral::redact::secrets_in_target_text(&t);
        let quoted = spiral::redact::scrub_with(
            &spiral::sanitize::clean(&format!("unrecognized subcommand '{t}'")),
            &known,
        );
        assert!(
            leaked(&quoted, &s).is_none(),
            "case {i}: {t:?} quoted as {quoted:?}"
        );
    }
    eprintln!("no_secret_in_labels_or_parse_errors: {cases} generated targets");
}

/// The binary: as a target, as a forgotten subcommand, from SPIRAL_URL, for `check` (its
/// line is on stdout) and `kill`; neither stdout nor stderr holds a word of the password,
/// and a failure is always exit 3.
#[test]
fn no_secret_in_the_binarys_output() {
    let mut rng = Rng(0x5eed_0002);
    let cases = 400;
    for i in 0..cases {
        let s = secret(&mut rng);
        let t = target(&mut rng, &s.text);
        let mut cmd = spiral();
        match i % 5 {
            0 => cmd.args(["triage", &t, "--samples", "1"]),
            1 => cmd.arg(&t),
            2 => cmd.env("SPIRAL_URL", &t).args(["triage", "--samples", "1"]),
            3 => cmd.args(["check", &t, "--samples", "1", "--timeout", "3s"]),
            _ => cmd.args(["kill", &t, "--idle-over", "1h"]),
        };
        cmd.args(["--connect-timeout", "1s"]);
        let (code, out, err) = decode(cmd.output().expect("spiral runs"));
        assert_eq!(code, 3, "case {i}: {t:?}: stdout {out} stderr {err}");
        for text in [&out, &err] {
            assert!(
                leaked(text, &s).is_none(),
                "case {i}: {t:?} leaked {:?} in {text:?}",
                leaked(text, &s)
            );
        }
    }
    eprintln!("no_secret_in_the_binarys_output: {cases} runs of the binary");
}

/// Target parsing on arbitrary text: never a panic, and a parsed target always prints.
#[test]
fn target_parsing_never_panics() {
    const PIECES: &[&str] = &[
        "postgres://",
        "mysql://",
        "mssql://",
        "jdbc:",
        "jdbc:sqlserver://",
        "admin:",
        "tcp:",
        "@",
        ":",
        "/",
        "?",
        "&",
        "=",
        ";",
        "\"",
        "'",
        "\\",
        "[",
        "]",
        "::1",
        ",",
        "%",
        "%4",
        "%zz",
        "%40",
        "é",
        "\u{202e}",
        "\u{0}",
        "\u{1b}[31m",
        " ",
        "host",
        "1433",
        "65536",
        "-1",
        "Server=",
        "Password=",
        "Host=",
        "Port=",
        "Uid=",
        "user=",
        "password=",
        "socket=",
        "host=/tmp",
        "host=a,b",
        "\n",
        "日本",
        "\u{feff}",
    ];
    let mut rng = Rng(0x5eed_0003);
    let cases = 50_000;
    for _ in 0..cases {
        let n = 1 + rng.below(12);
        let text: String = (0..n).map(|_| rng.pick(PIECES)).collect();
        if let Ok(mut t) = Target::parse(&text) {
            spiral::credentials::complete(&mut t, &|_| None);
            let _ = t.redacted();
        }
        // The text scrubbers are regex-heavy (slow in a debug build): every tenth input.
        if rng.chance(10) {
            let _ = spiral::redact::scrub(&text);
            let _ = spiral::redact::secrets_in_target_text(&text);
            let _ = spiral::redact::mask_sql_secrets(&text);
        }
    }
    eprintln!("target_parsing_never_panics: {cases} generated inputs");
}

/// SQL text with passwords, generated, never shows the password once masked.
#[test]
fn sql_password_literals_are_masked() {
    let mut rng = Rng(0x5eed_0004);
    let cases = 5_000;
    for i in 0..cases {
        let pw = rng.word() + rng.pick(&["", "''x", "\\'y", " z", ";w"]) + &rng.word();
        let words: Vec<String> = pw
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| w.len() >= 6)
            .map(String::from)
            .collect();
        let lit = pw.replace('\'', "''");
        let sql = match rng.below(8) {
            0 => format!("ALTER ROLE app WITH PASSWORD '{lit}'"),
            1 => format!("create user app encrypted password '{lit}' valid until 'infinity'"),
            2 => format!("CREATE USER 'a'@'%' IDENTIFIED BY '{lit}'"),
            3 => format!("SET PASSWORD FOR a = PASSWORD('{lit}')"),
            4 => format!("ALTER LOGIN sa WITH PASSWORD = N'{lit}' OLD_PASSWORD = '{lit}'"),
            5 => format!("EXEC sp_addlogin 'bob', '{lit}'"),
            6 => format!("ALTER USER a IDENTIFIED WITH mysql_native_password BY '{lit}'"),
            _ => format!("ALTER ROLE app PASSWORD '{lit}"),
        };
        let masked = spiral::redact::mask_sql_secrets(&sql);
        for w in &words {
            assert!(!masked.contains(w.as_str()), "case {i}: {sql} -> {masked}");
        }
    }
    eprintln!("sql_password_literals_are_masked: {cases} generated statements");
}

/// A statement that carries a password, as a server shows it: the last statement of an
/// idle PostgreSQL session. Neither the report nor a capture holds the password; the
/// capture shows the statement masked, which proves the session was seen.
#[test]
fn passwords_in_server_query_text_are_masked_in_output_and_captures() {
    let Some(url) = support::live_url("SPIRAL_TEST_PG_URL", "PostgreSQL") else {
        return;
    };
    let _lock = support::live_lock();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    use sqlx::{Connection, Executor};
    const ROLE: &str = "spiral_t_pwmask";
    const PW: &str = "Sup3r-Secret-Pw";
    let mut conn = rt.block_on(sqlx::PgConnection::connect(&url)).unwrap();
    let setup = [
        format!("DROP ROLE IF EXISTS {ROLE}"),
        format!("CREATE ROLE {ROLE} NOLOGIN"),
        format!("ALTER ROLE {ROLE} PASSWORD '{PW}'"),
    ];
    for sql in &setup {
        rt.block_on(conn.execute(sqlx::AssertSqlSafe(sql.clone())))
            .unwrap();
    }
    // The session stays open and idle: pg_stat_activity keeps its last statement.
    struct Cleanup<'a>(&'a str);
    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            let url = self.0.to_string();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                        let _ = c.execute("DROP ROLE IF EXISTS spiral_t_pwmask").await;
                    }
                });
            })
            .join();
        }
    }
    let _cleanup = Cleanup(&url);
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("c.jsonl");
    let capture = capture.to_str().unwrap();
    for args in [
        vec![
            "--format",
            "json",
            "connections",
            url.as_str(),
            "--samples",
            "1",
        ],
        vec!["triage", url.as_str(), "--samples", "1"],
        vec!["capture", url.as_str(), "--samples", "1", "-o", capture],
    ] {
        let (code, out, err) = decode(spiral().args(&args).output().unwrap());
        assert!(code < 3, "{args:?}: exit {code}: {err}");
        assert!(
            !out.contains(PW) && !err.contains(PW),
            "{args:?}: {out} {err}"
        );
    }
    let text = std::fs::read_to_string(capture).unwrap();
    assert!(!text.contains(PW), "the capture holds the password");
    assert!(
        text.contains(&format!("ALTER ROLE {ROLE} PASSWORD '***'")),
        "the capture shows the masked statement"
    );
    rt.block_on(conn.close()).unwrap();
}
