//! Logging in the way the engines' own clients do: what a target leaves out comes from the
//! same environment variables and files psql and mysql read, in the same order, matched
//! against the server actually connected to. The target is completed here, before anything
//! connects, so that the label spiral prints names the host and port really used and the
//! login error can say where the password came from (or where spiral looked in vain).

use std::path::{Path, PathBuf};

use crate::model::snapshot::Engine;
use crate::target::{Secret, Target};

/// Reads one environment variable (a closure, so tests need not touch the process's own).
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, empty values counting as unset (as the clients treat them).
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Fills in what the target leaves out, engine by engine. Passwords found are registered
/// with `redact` so that no later message can print them.
pub fn complete(t: &mut Target, env: EnvFn<'_>) {
    match t.engine {
        Engine::Postgres => complete_postgres(t, env),
        Engine::Mysql => complete_mysql(t, env),
        Engine::Mssql => {
            if t.password.is_none()
                && let Some(p) = env("SQLCMDPASSWORD")
            {
                t.password = Some(Secret::new(p));
                t.password_from = Some("SQLCMDPASSWORD".into());
            }
        }
    }
    if let Some(p) = &t.password {
        crate::redact::register(p.expose());
    }
}

fn home(env: EnvFn<'_>) -> Option<PathBuf> {
    crate::platform::home_dir(env)
}

/// The login name, as libpq and libmysqlclient take it: USER/LOGNAME, else the password
/// database's entry for the effective user.
fn os_user(env: EnvFn<'_>) -> Option<String> {
    env("USER")
        .or_else(|| env("LOGNAME"))
        .or_else(crate::platform::login_name)
}

/// libpq's socket directories, in the order Debian/Red Hat and source builds use them.
const PG_SOCKET_DIRS: [&str; 3] = ["/var/run/postgresql", "/run/postgresql", "/tmp"];

/// libpq takes comma-separated lists in PGHOST/PGPORT and tries them in turn; spiral
/// holds one connection to one server, so it takes the first and says so.
fn first_of_list(t: &mut Target, name: &str, value: Option<String>) -> Option<String> {
    let value = value?;
    match value.split_once(',') {
        Some((first, _)) => {
            t.notes.push(format!(
                "{name} lists several servers; spiral connects to one, the first"
            ));
            Some(first.trim().to_string())
        }
        None => Some(value),
    }
}

fn complete_postgres(t: &mut Target, env: EnvFn<'_>) {
    if t.port.is_none() {
        let port = first_of_list(t, "PGPORT", env("PGPORT"));
        t.port = Some(port.and_then(|p| p.trim().parse().ok()).unwrap_or(5432));
    }
    let port = t.port.unwrap_or(5432);
    if t.host.is_none() {
        // libpq: PGHOSTADDR/PGHOST, else the local socket, as psql does.
        let given = env("PGHOSTADDR").or_else(|| env("PGHOST"));
        t.host = first_of_list(t, "PGHOST", given).or_else(|| {
            PG_SOCKET_DIRS
                .iter()
                .find(|d| Path::new(d).join(format!(".s.PGSQL.{port}")).exists())
                .map(|d| d.to_string())
        });
        if t.host.is_none() {
            t.host = Some("localhost".into());
        }
    }
    if t.user.is_none() {
        t.user = env("PGUSER").or_else(|| os_user(env));
    }
    if t.database.is_none() {
        t.database = env("PGDATABASE");
    }
    if t.password.is_some() {
        return;
    }
    if let Some(p) = env("PGPASSWORD") {
        t.password = Some(Secret::new(p));
        t.password_from = Some("PGPASSWORD".into());
        return;
    }
    let file = t
        .option("passfile")
        .map(PathBuf::from)
        .or_else(|| env("PGPASSFILE").map(PathBuf::from))
        .or_else(|| crate::platform::default_pgpass(env));
    let Some(file) = file else {
        t.password_from = Some("none (the target has none and PGPASSWORD is unset)".into());
        return;
    };
    let host = t.host.clone().unwrap_or_default();
    let user = t.user.clone().unwrap_or_default();
    // libpq matches the database against the user name when none is given.
    let db = t.database.clone().unwrap_or_else(|| user.clone());
    let wanted = format!("{}:{port}:{db}:{user}", pgpass_host(&host));
    match pgpass_lookup(&file, &host, port, &db, &user) {
        PassLookup::Found { line, password } => {
            t.password = Some(Secret::new(password));
            t.password_from = Some(format!("{} line {line}", file.display()));
        }
        PassLookup::NoMatch => {
            t.password_from = Some(format!(
                "none (the target has none, PGPASSWORD is unset, and no line of {} matches {wanted})",
                file.display()
            ));
        }
        PassLookup::Missing => {
            t.password_from = Some(format!(
                "none (the target has none, PGPASSWORD is unset, and there is no {})",
                file.display()
            ));
        }
        PassLookup::TooOpen => {
            let msg = format!(
                "{} is readable by group or others, so it is ignored (as psql does): chmod 0600 it",
                file.display()
            );
            t.notes.push(msg.clone());
            t.password_from = Some(format!("none ({msg})"));
        }
    }
}

/// The host as it appears in .pgpass: a socket connection in a default directory is
/// written `localhost` there.
fn pgpass_host(host: &str) -> &str {
    if host.starts_with('/') && PG_SOCKET_DIRS.contains(&host.trim_end_matches('/')) {
        "localhost"
    } else {
        host
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum PassLookup {
    Found { line: usize, password: String },
    NoMatch,
    Missing,
    TooOpen,
}

/// libpq's password file: `host:port:database:user:password`, `*` matching anything, `\`
/// escaping ':' and '\', the first matching line winning. Ignored when group or others
/// may read it.
pub fn pgpass_lookup(file: &Path, host: &str, port: u16, db: &str, user: &str) -> PassLookup {
    let Ok(meta) = std::fs::metadata(file) else {
        return PassLookup::Missing;
    };
    if crate::platform::readable_by_others(&meta) {
        return PassLookup::TooOpen;
    }
    let Ok(text) = std::fs::read_to_string(file) else {
        return PassLookup::Missing;
    };
    let port = port.to_string();
    let host_ok = |field: &str| {
        field == "*" || field == host || (field == "localhost" && pgpass_host(host) == "localhost")
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = |f: &str, v: &str| f == "*" || f == v;
        if host_ok(&fields[0])
            && matches(&fields[1], &port)
            && matches(&fields[2], db)
            && matches(&fields[3], user)
        {
            return PassLookup::Found {
                line: i + 1,
                password: fields[4].clone(),
            };
        }
    }
    PassLookup::NoMatch
}

/// Splits a .pgpass line on unescaped ':'; the fifth field (the password) takes the rest.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c)
                }
            }
        }
    }
    fields
}

/// What the mysql client reads from ~/.my.cnf: `[client]`, then `[mysql]` over it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MyCnf {
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
}

pub fn read_my_cnf(text: &str) -> MyCnf {
    let mut cnf = MyCnf::default();
    let mut in_group = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            let name = group.trim_end_matches(']').trim().to_ascii_lowercase();
            in_group = matches!(name.as_str(), "client" | "mysql" | "client-mariadb");
            continue;
        }
        if !in_group {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            // A bare `password` asks the client to prompt: nothing to use here.
            continue;
        };
        let value = cnf_value(value);
        match key.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "user" => cnf.user = Some(value),
            "password" => cnf.password = Some(value),
            "host" => cnf.host = Some(value),
            "port" => cnf.port = value.parse().ok(),
            "database" => cnf.database = Some(value),
            _ => {}
        }
    }
    cnf
}

/// An option-file value: quotes removed (with the client's escapes inside them), or a
/// trailing `# comment` dropped from an unquoted one.
fn cnf_value(raw: &str) -> String {
    let raw = raw.trim();
    let quote = raw.chars().next().filter(|c| *c == '"' || *c == '\'');
    let Some(q) = quote else {
        return raw
            .split(" #")
            .next()
            .unwrap_or_default()
            .trim()
            .to_string();
    };
    let mut out = String::new();
    let mut chars = raw[1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('s') => out.push(' '),
                Some(other) => out.push(other),
                None => {}
            },
            c if c == q => break,
            c => out.push(c),
        }
    }
    out
}

fn complete_mysql(t: &mut Target, env: EnvFn<'_>) {
    let file = home(env).map(|h| h.join(".my.cnf"));
    let cnf = file
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .map(|text| read_my_cnf(&text))
        .unwrap_or_default();
    let file_name = file
        .as_ref()
        .map(|f| f.display().to_string())
        .unwrap_or_else(|| "~/.my.cnf".into());
    // The mysql client's order: command line (here the target), option files, environment.
    if t.host.is_none() {
        t.host = cnf.host.clone().or_else(|| env("MYSQL_HOST"));
        if t.host.is_none() && t.option("socket").is_none() {
            t.host = Some("127.0.0.1".into());
        }
    }
    if t.port.is_none() {
        t.port = Some(
            cnf.port
                .or_else(|| env("MYSQL_TCP_PORT").and_then(|p| p.trim().parse().ok()))
                .unwrap_or(3306),
        );
    }
    if t.user.is_none() {
        t.user = cnf.user.clone().or_else(|| os_user(env));
    }
    if t.database.is_none() {
        t.database = cnf.database.clone();
    }
    if t.password.is_some() {
        return;
    }
    if let Some(p) = cnf.password {
        t.password = Some(Secret::new(p));
        t.password_from = Some(format!("{file_name} [client]"));
    } else if let Some(p) = env("MYSQL_PWD") {
        t.password = Some(Secret::new(p));
        t.password_from = Some("MYSQL_PWD".into());
    } else {
        t.password_from = Some(format!(
            "none (the target has none, {file_name} [client] has none, MYSQL_PWD is unset)"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn pgpass(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, text).unwrap();
        crate::platform::set_mode(&path, 0o600).unwrap();
        dir
    }

    #[test]
    fn pgpass_is_matched_against_the_server_used() {
        let dir = pgpass(
            "# comment\nother:5432:*:app:wrong1\n127.0.0.1:6543:*:app:wrong2\n127.0.0.1:5432:shop:app:right\\:pw\n*:*:*:*:fallback\n",
        );
        let file = dir.path().join("pgpass");
        let env = env_of(&[("PGPASSFILE", file.to_str().unwrap())]);
        let mut t = Target::parse("postgres://app@127.0.0.1/shop").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("right:pw"));
        assert!(t.password_from.as_deref().unwrap().ends_with("line 4"));
        assert_eq!(t.port, Some(5432));
        // Another database: the wildcard line.
        let mut t = Target::parse("postgres://app@127.0.0.1/other").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("fallback"));
        // The target's password wins over the file.
        let mut t = Target::parse("postgres://app:given@127.0.0.1/shop").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("given"));
    }

    #[test]
    fn pgpass_defaults_database_to_user_and_reports_misses() {
        let dir = pgpass("db1:5432:app:app:byuser\n");
        let file = dir.path().join("pgpass");
        let env = env_of(&[("PGPASSFILE", file.to_str().unwrap())]);
        let mut t = Target::parse("postgres://app@db1").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("byuser"));
        let mut t = Target::parse("postgres://bob@db1/x").unwrap();
        complete(&mut t, &env);
        assert!(t.password.is_none());
        let why = t.password_from.unwrap();
        assert!(
            why.contains("no line of") && why.contains("db1:5432:x:bob"),
            "{why}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_open_pgpass_is_ignored_like_psql_does() {
        let dir = pgpass("*:*:*:*:pw\n");
        let file = dir.path().join("pgpass");
        crate::platform::set_mode(&file, 0o644).unwrap();
        assert_eq!(
            pgpass_lookup(&file, "h", 5432, "d", "u"),
            PassLookup::TooOpen
        );
    }

    #[test]
    fn pg_environment_fills_what_the_target_leaves_out() {
        let env = env_of(&[
            ("PGHOST", "db9"),
            ("PGPORT", "6000"),
            ("PGUSER", "ops"),
            ("PGDATABASE", "shop"),
            ("PGPASSWORD", "envpw"),
        ]);
        let mut t = Target::parse("postgres://").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.redacted(), "postgres://ops:***@db9:6000/shop");
        assert_eq!(t.password_from.as_deref(), Some("PGPASSWORD"));
        // A libpq host list: the first, said out loud.
        let lists = env_of(&[("PGHOST", "db1,db2"), ("PGPORT", "5433,5434")]);
        let mut listed = Target::parse("postgres://app@/x").unwrap();
        complete(&mut listed, &lists);
        assert_eq!(
            (listed.host.as_deref(), listed.port),
            (Some("db1"), Some(5433))
        );
        assert_eq!(listed.notes.len(), 2);
        // What the target names wins.
        let mut t = Target::parse("postgres://app@db1:5433/x").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.redacted(), "postgres://app:***@db1:5433/x");
    }

    #[test]
    fn my_cnf_groups_quotes_and_order() {
        let cnf = read_my_cnf(
            "[mysqld]\npassword=server\n[client]\nuser = ops\npassword=\"a b\\\"c\"\nport=3307\n[mysql]\nhost=db5\n[mysqldump]\nuser=dump\n",
        );
        assert_eq!(cnf.user.as_deref(), Some("ops"));
        assert_eq!(cnf.password.as_deref(), Some("a b\"c"));
        assert_eq!(cnf.port, Some(3307));
        assert_eq!(cnf.host.as_deref(), Some("db5"));
    }

    #[test]
    fn mysql_option_file_before_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(".my.cnf"),
            "[client]\npassword=fromfile\nuser=ops\n",
        )
        .unwrap();
        let env = env_of(&[
            ("HOME", dir.path().to_str().unwrap()),
            ("MYSQL_PWD", "fromenv"),
        ]);
        let mut t = Target::parse("mysql://db7/shop").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("fromfile"));
        assert_eq!(t.redacted(), "mysql://ops:***@db7:3306/shop");
        let env = env_of(&[("MYSQL_PWD", "fromenv"), ("USER", "me")]);
        let mut t = Target::parse("mysql://").unwrap();
        complete(&mut t, &env);
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("fromenv"));
        assert_eq!(t.redacted(), "mysql://me:***@127.0.0.1:3306");
    }
}
