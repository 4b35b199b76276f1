//! Targets: which server to sample, parsed from the forms engineers actually have at hand.
//!
//! Accepted: URLs (postgres://, postgresql://, mysql://, mariadb://, mssql://, sqlserver://),
//! ADO.NET connection strings (`Server=tcp:db,1433;User Id=sa;Password=...`, or Npgsql's
//! `Host=...;Username=...`), and JDBC URLs (jdbc:sqlserver, jdbc:mysql, jdbc:postgresql).
//!
//! A target holds a password, so it is never printed as given: `redacted()` is the only
//! textual form that leaves this module, and parse errors never echo the input.

use std::fmt;

use crate::snapshot::Engine;

/// A password. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Clone, PartialEq)]
pub struct Target {
    pub engine: Engine,
    /// None: the engine's default (PGHOST, a local socket, localhost).
    pub host: Option<String>,
    pub port: Option<u16>,
    /// SQL Server named instance (`host\INSTANCE`).
    pub instance: Option<String>,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub database: Option<String>,
    /// SQL Server dedicated admin connection (`admin:` prefix or `--dac`).
    pub dac: bool,
    /// Other options given in the target (sslmode, encrypt, ...), lower-cased keys.
    pub options: Vec<(String, String)>,
}

/// Options may carry secrets too (sslpassword, access tokens): Debug shows the redacted
/// form and option names only.
impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.options.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Target")
            .field("redacted", &self.redacted())
            .field("options", &names)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "unknown target scheme '{0}' (expected postgres://, pgbouncer://, mysql://, mariadb://, mssql://, sqlserver://, a jdbc: URL or an ADO.NET connection string)"
    )]
    UnknownScheme(String),
    #[error("malformed target URL: {0}")]
    Malformed(String),
    #[error("malformed connection string: {0}")]
    BadConnectionString(String),
}

impl Target {
    /// A target with nothing but its engine, for the parsers to fill.
    fn empty(engine: Engine) -> Target {
        Target {
            engine,
            host: None,
            port: None,
            instance: None,
            user: None,
            password: None,
            database: None,
            dac: false,
            options: Vec::new(),
        }
    }

    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(TargetError::Malformed("the target is empty".into()));
        }
        let lower = text.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix("jdbc:") {
            let body = &text[5..];
            if rest.starts_with("sqlserver://") {
                return parse_jdbc_sqlserver(&body["sqlserver://".len()..]);
            }
            return parse_url(body);
        }
        if text.contains("://") {
            return parse_url(text);
        }
        if text.contains('=') {
            return parse_ado(text);
        }
        Err(TargetError::Malformed(
            "expected a URL such as postgres://user@host/db, or a connection string".into(),
        ))
    }

    /// The only printable form: no password, no options (they may carry secrets too).
    pub fn redacted(&self) -> String {
        let scheme = if self.is_pgbouncer() {
            PGBOUNCER
        } else {
            self.engine.name()
        };
        let mut out = format!("{scheme}://");
        if let Some(u) = &self.user {
            out.push_str(&encode(u));
            if self.password.is_some() {
                out.push_str(":***");
            }
            out.push('@');
        }
        if self.dac {
            out.push_str("admin:");
        }
        out.push_str(self.host.as_deref().unwrap_or("localhost"));
        if let Some(i) = &self.instance {
            out.push('\\');
            out.push_str(i);
        }
        if let Some(p) = self.port {
            out.push_str(&format!(":{p}"));
        }
        if let Some(db) = &self.database {
            out.push('/');
            out.push_str(&encode(db));
        }
        out
    }

    /// A PgBouncer admin console (`pgbouncer://`): PostgreSQL's wire protocol, but only
    /// its SHOW commands over the simple query protocol.
    pub fn is_pgbouncer(&self) -> bool {
        self.option(POOLER_OPTION) == Some(PGBOUNCER)
    }

    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The environment variable this engine's own clients read a password from.
    pub fn password_env(&self) -> &'static str {
        match self.engine {
            Engine::Postgres => "PGPASSWORD",
            Engine::Mysql => "MYSQL_PWD",
            Engine::Mssql => "SQLCMDPASSWORD",
        }
    }
}

fn encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '@' | ':' | '/' | '?' | '#' | '%' => format!("%{:02X}", c as u32),
            c if c.is_control() => String::new(),
            c => c.to_string(),
        })
        .collect()
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn engine_of_scheme(scheme: &str) -> Result<Engine, TargetError> {
    match scheme {
        "postgres" | "postgresql" => Ok(Engine::Postgres),
        "mysql" | "mariadb" => Ok(Engine::Mysql),
        "mssql" | "sqlserver" => Ok(Engine::Mssql),
        other => Err(TargetError::UnknownScheme(other.chars().take(20).collect())),
    }
}

const PGBOUNCER: &str = "pgbouncer";
const POOLER_OPTION: &str = "pooler";

fn parse_url(text: &str) -> Result<Target, TargetError> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| TargetError::Malformed("missing ://".into()))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme == PGBOUNCER {
        // The admin console speaks PostgreSQL's protocol; its database is "pgbouncer".
        let mut t = parse_url(&format!("postgres://{rest}"))?;
        t.database.get_or_insert_with(|| PGBOUNCER.to_string());
        t.options
            .push((POOLER_OPTION.to_string(), PGBOUNCER.to_string()));
        return Ok(t);
    }
    let engine = engine_of_scheme(&scheme)?;
    // Split authority from path by hand: the url crate cannot take SQL Server's
    // `host\instance` or sqlcmd's `admin:host`, and it would echo the input in errors.
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let mut t = Target::empty(engine);
    if let Some(ui) = userinfo {
        let (u, p) = match ui.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (ui, None),
        };
        if !u.is_empty() {
            t.user = Some(decode(u));
        }
        t.password = p.map(|p| Secret::new(decode(p)));
    }
    parse_hostport(&mut t, hostport, ':')?;
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, q),
        None => (tail, ""),
    };
    let db = path.trim_start_matches('/');
    if !db.is_empty() {
        t.database = Some(decode(db));
    }
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        apply_option(&mut t, &k, &v);
    }
    Ok(t)
}

/// `host`, `host:port`, `[::1]:port`, `host\instance`, `admin:host`; `sep` separates the port
/// (':' in URLs, ',' in ADO.NET strings).
fn parse_hostport(t: &mut Target, text: &str, sep: char) -> Result<(), TargetError> {
    let mut text = text.trim();
    if let Some(rest) = strip_prefix_ci(text, "admin:") {
        t.dac = true;
        text = rest;
    }
    if let Some(rest) = strip_prefix_ci(text, "tcp:") {
        text = rest;
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (h, after) = rest
            .split_once(']')
            .ok_or_else(|| TargetError::Malformed("unclosed [ in IPv6 host".into()))?;
        (h, after.strip_prefix(sep))
    } else {
        match text.rsplit_once(sep) {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        t.port = Some(p.trim().parse::<u16>().map_err(|_| {
            TargetError::Malformed("the port is not a number from 1 to 65535".into())
        })?);
    }
    let (host, instance) = match host.split_once('\\') {
        Some((h, i)) => (h, Some(i)),
        None => (host, None),
    };
    if !host.is_empty() {
        t.host = Some(decode(host));
    }
    if let Some(i) = instance.filter(|i| !i.is_empty()) {
        t.instance = Some(i.to_string());
    }
    Ok(())
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    // `get` rather than slicing: a host name may be anything but ASCII.
    text.get(..prefix.len())
        .filter(|p| p.eq_ignore_ascii_case(prefix))
        .and_then(|_| text.get(prefix.len()..))
}

/// Options shared by every form; user and password may also arrive this way.
fn apply_option(t: &mut Target, key: &str, value: &str) {
    let k = key.trim().to_ascii_lowercase().replace([' ', '_'], "");
    match k.as_str() {
        "user" | "userid" | "uid" | "username" | "usr" => t.user = Some(value.to_string()),
        "password" | "pwd" | "pass" => t.password = Some(Secret::new(value)),
        "database" | "databasename" | "initialcatalog" | "dbname" => {
            t.database = Some(value.to_string())
        }
        "dac" => t.dac = matches!(value.to_ascii_lowercase().as_str(), "true" | "yes" | "1"),
        "port" => {
            if let Ok(p) = value.trim().parse() {
                t.port = Some(p);
            }
        }
        _ => t.options.push((k, value.to_string())),
    }
}

fn parse_ado(text: &str) -> Result<Target, TargetError> {
    let pairs = split_ado(text)?;
    let has = |names: &[&str]| {
        pairs
            .iter()
            .any(|(k, _)| names.contains(&k.to_ascii_lowercase().replace(' ', "").as_str()))
    };
    // Npgsql strings say Host=/Username=; everything else with Server= is taken as SQL
    // Server, the engine ADO.NET strings are mostly written for.
    let engine = if has(&["host"]) || has(&["username"]) {
        Engine::Postgres
    } else {
        Engine::Mssql
    };
    let mut t = Target::empty(engine);
    for (k, v) in pairs {
        let key = k.to_ascii_lowercase().replace(' ', "");
        match key.as_str() {
            "server" | "datasource" | "address" | "addr" | "networkaddress" | "host" => {
                parse_hostport(&mut t, &v, ',')?
            }
            _ => apply_option(&mut t, &k, &v),
        }
    }
    if t.host.is_none() {
        return Err(TargetError::BadConnectionString(
            "no Server= (or Host=) given".into(),
        ));
    }
    Ok(t)
}

/// `key=value;key="va;lue";...` with ADO.NET's quoting rules (a doubled quote inside a
/// quoted value stands for one).
fn split_ado(text: &str) -> Result<Vec<(String, String)>, TargetError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ';' || c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.contains(';') || key.trim().is_empty() {
            return Err(TargetError::BadConnectionString(
                "expected key=value pairs separated by ';'".into(),
            ));
        }
        while chars.peek().is_some_and(|c| *c == ' ') {
            chars.next();
        }
        let mut value = String::new();
        match chars.peek().copied() {
            Some(q @ ('"' | '\'')) => {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    if c == q {
                        if chars.peek() == Some(&q) {
                            chars.next();
                            value.push(q);
                            continue;
                        }
                        closed = true;
                        break;
                    }
                    value.push(c);
                }
                if !closed {
                    return Err(TargetError::BadConnectionString(format!(
                        "unclosed quote in the value of {}",
                        key.trim()
                    )));
                }
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
            }
            _ => {
                for c in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                    value.push(c);
                }
            }
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    Ok(out)
}

/// `jdbc:sqlserver://host[\instance][:port][;key=value...]`
fn parse_jdbc_sqlserver(rest: &str) -> Result<Target, TargetError> {
    let (hostpart, props) = match rest.split_once(';') {
        Some((h, p)) => (h, p),
        None => (rest, ""),
    };
    let mut t = Target::empty(Engine::Mssql);
    parse_hostport(&mut t, hostpart.trim_end_matches('/'), ':')?;
    for (k, v) in split_ado(props)? {
        match k.to_ascii_lowercase().as_str() {
            "servername" => parse_hostport(&mut t, &v, ':')?,
            "instancename" => t.instance = Some(v),
            "portnumber" => apply_option(&mut t, "port", &v),
            _ => apply_option(&mut t, &k, &v),
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_each_engine() {
        let t = Target::parse("postgres://app:s3cr%40t@db.internal:6432/orders?sslmode=require")
            .unwrap();
        assert_eq!(t.engine, Engine::Postgres);
        assert_eq!(t.user.as_deref(), Some("app"));
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("s3cr@t"));
        assert_eq!(t.port, Some(6432));
        assert_eq!(t.option("sslmode"), Some("require"));
        assert_eq!(t.redacted(), "postgres://app:***@db.internal:6432/orders");

        let t = Target::parse("mariadb://root@127.0.0.1/test").unwrap();
        assert_eq!(t.engine, Engine::Mysql);
        assert_eq!(t.host.as_deref(), Some("127.0.0.1"));

        let t = Target::parse("sqlserver://sa:pw@admin:db01\\PROD:1433/master").unwrap();
        assert!(t.dac);
        assert_eq!(t.instance.as_deref(), Some("PROD"));
        assert_eq!(t.redacted(), "mssql://sa:***@admin:db01\\PROD:1433/master");
    }

    #[test]
    fn ado_and_jdbc() {
        let t = Target::parse("Server=tcp:db01,1433;User Id=sa;Password=\"a;b\"\"c\";Initial Catalog=shop;Encrypt=True").unwrap();
        assert_eq!(t.engine, Engine::Mssql);
        assert_eq!((t.host.as_deref(), t.port), (Some("db01"), Some(1433)));
        assert_eq!(t.password.as_ref().map(Secret::expose), Some("a;b\"c"));
        assert_eq!(t.database.as_deref(), Some("shop"));
        assert_eq!(t.option("encrypt"), Some("True"));

        let t = Target::parse("Host=pg1;Port=5433;Username=app;Password=x;Database=d").unwrap();
        assert_eq!(t.engine, Engine::Postgres);
        assert_eq!(t.port, Some(5433));

        let t =
            Target::parse("jdbc:sqlserver://db02\\SQL1:1500;databaseName=shop;user=sa;password=pw")
                .unwrap();
        assert_eq!(t.instance.as_deref(), Some("SQL1"));
        assert_eq!(t.port, Some(1500));
        assert_eq!(t.user.as_deref(), Some("sa"));

        let t = Target::parse("jdbc:mysql://db3:3307/shop?user=shipping&password=pw").unwrap();
        assert_eq!((t.engine, t.port), (Engine::Mysql, Some(3307)));
        assert_eq!(t.user.as_deref(), Some("shipping"));
        assert!(!t.redacted().contains("pw"));
    }

    #[test]
    fn errors_never_echo_the_input() {
        for bad in [
            "redis://u:hunter2@h",
            "postgres://u:hunter2@h:99999/db",
            "Server=h;Password=\"hunter2",
            "hunter2",
        ] {
            let e = Target::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn pgbouncer_console_urls() {
        let t = Target::parse("pgbouncer://admin:s3cret@pool.internal:6432").unwrap();
        assert!(t.is_pgbouncer());
        assert_eq!(t.engine, Engine::Postgres);
        assert_eq!(t.database.as_deref(), Some("pgbouncer"));
        assert_eq!(t.port, Some(6432));
        assert_eq!(
            t.redacted(),
            "pgbouncer://admin:***@pool.internal:6432/pgbouncer"
        );
        assert!(!Target::parse("postgres://a@h/db").unwrap().is_pgbouncer());
    }
}
