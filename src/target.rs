//! Targets: which server to sample, parsed from the forms engineers actually have at hand.
//!
//! Accepted: URLs (postgres://, postgresql://, mysql://, mariadb://, mssql://, sqlserver://),
//! ADO.NET connection strings (`Server=tcp:db,1433;User Id=sa;Password=...`, or Npgsql's
//! `Host=...;Username=...`), and JDBC URLs (jdbc:sqlserver, jdbc:mysql, jdbc:postgresql).
//!
//! A target holds a password, so it is never printed as given: `redacted()` is the only
//! textual form that leaves this module, and parse errors never echo the input.

use std::fmt;

use crate::model::snapshot::Engine;

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
    /// Where the password came from ("the target", "PGPASSWORD", "~/.pgpass line 3"), or
    /// where spiral looked for one in vain: the login error says so. Never the password.
    pub password_from: Option<String>,
    /// Things worth telling the user about how the target was read (an ambiguous
    /// connection string), printed once on stderr before connecting.
    pub notes: Vec<String>,
    /// `--pooler`: the PgBouncer console in front of this PostgreSQL target, sampled
    /// together with it (one connection each).
    pub pooler: Option<Box<Target>>,
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
            password_from: None,
            notes: Vec::new(),
            pooler: None,
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
        if text.contains('@') {
            return Err(TargetError::Malformed(
                "the URL has no scheme: start it with postgres://, mysql://, mariadb:// or mssql://"
                    .into(),
            ));
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
        // A Unix socket directory is shown as libpq's `?host=` parameter, below.
        let socket = self.host.as_deref().filter(|h| h.starts_with('/'));
        match &self.host {
            Some(h) if socket.is_none() => out.push_str(&host_text(h)),
            Some(_) => {}
            None => out.push_str("localhost"),
        }
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
        let socket_param = match (socket, self.option("socket")) {
            (Some(dir), _) => Some(("host", dir)),
            (None, Some(path)) => Some(("socket", path)),
            _ => None,
        };
        if let Some((key, path)) = socket_param {
            out.push_str(if self.database.is_some() { "?" } else { "/?" });
            out.push_str(key);
            out.push('=');
            out.push_str(&crate::sanitize::clean(path));
        }
        // By construction the password is not in there; a user or database name that
        // happens to contain it must not print it either.
        if let Some(p) = &self.password
            && p.expose().chars().count() >= 4
        {
            out = out.replace(p.expose(), "***");
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

/// A host name as printed: IPv6 addresses in brackets, control characters dropped.
fn host_text(h: &str) -> String {
    let h = crate::sanitize::clean(h);
    if h.contains(':') { format!("[{h}]") } else { h }
}

/// Percent-decoding as libpq does it for URL parts: `%XX` only. Not form decoding: '+'
/// stays '+', and '&' or '=' in a password are ordinary characters (psql accepts them).
/// A '%' not followed by two hex digits is kept as typed.
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    if rest.contains("://") {
        return Err(TargetError::Malformed(
            "the target holds two URLs (was it written as postgres://$DATABASE_URL?): give the URL once"
                .into(),
        ));
    }
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
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, q),
        None => (tail, ""),
    };
    // An '@' after the authority ended means the user or password holds a '/' or '?'
    // that was not percent-encoded (psql refuses these URLs too).
    let query_key_has_at = query
        .split('&')
        .any(|kv| kv.split('=').next().is_some_and(|k| k.contains('@')));
    if path.contains('@') || (!authority.contains('@') && query_key_has_at) {
        return Err(unencoded());
    }
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
    let db = path.trim_start_matches('/');
    if !db.is_empty() {
        t.database = Some(decode(db));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        // psql refuses a parameter without '=' too: it is most often the tail of a value
        // cut at an unencoded '&', and using the head alone would be a silent surprise.
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            TargetError::Malformed(
                "a URL parameter has no '=': if a value holds '&', percent-encode it as %26".into(),
            )
        })?;
        if v.is_empty() {
            // Also most often the tail of a value cut at an unencoded '&'.
            return Err(TargetError::Malformed(
                "a URL parameter has an empty value: if a value holds '&', percent-encode it as %26"
                    .into(),
            ));
        }
        apply_url_option(&mut t, &decode(k), &decode(v))?;
    }
    if t.password.is_some() {
        t.password_from = Some("the target".into());
    }
    Ok(t)
}

fn unencoded() -> TargetError {
    TargetError::Malformed(
        "the user or password seems to hold an unencoded '/', '?' or '@': percent-encode them (/ is %2F, ? is %3F, @ is %40, # is %23)"
            .into(),
    )
}

fn colon_for_at() -> TargetError {
    TargetError::Malformed(
        "the host part holds a ':': was ':' typed where '@' belongs, between the password and the host?"
            .into(),
    )
}

/// libpq's URL parameters (`?host=/run/postgresql&port=5433&user=app&dbname=x`) and the
/// ones other drivers use; what the parameter names wins over the URL's parts, as in psql.
fn apply_url_option(t: &mut Target, key: &str, value: &str) -> Result<(), TargetError> {
    match key.trim().to_ascii_lowercase().as_str() {
        "host" | "hostaddr" | "server" => {
            if value.contains(',') {
                return Err(TargetError::Malformed(
                    "several hosts in one target: spiral connects to one server, name one host"
                        .into(),
                ));
            }
            if !value.is_empty() {
                if value.starts_with('/') {
                    t.host = Some(value.to_string());
                } else {
                    parse_hostport(t, value, ':')?;
                }
            }
        }
        "port" => {
            t.port = Some(value.trim().parse::<u16>().map_err(|_| {
                TargetError::Malformed("the port is not a number from 1 to 65535".into())
            })?)
        }
        _ => apply_option(t, key, value),
    }
    Ok(())
}

/// `host`, `host:port`, `[::1]:port`, `host\instance`, `admin:host`; `sep` separates the port
/// (':' in URLs, ',' in ADO.NET strings).
fn parse_hostport(t: &mut Target, text: &str, sep: char) -> Result<(), TargetError> {
    let mut text = text.trim();
    if t.engine == Engine::Mssql
        && let Some(rest) = strip_prefix_ci(text, "admin:")
    {
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
    let (host, instance) = match host.split_once('\\') {
        Some((h, i)) => (h, Some(i)),
        None => (host, None),
    };
    // The host first: `user:password:host` (':' typed for '@') must be named as such, not
    // as a bad port.
    let host = decode(host);
    check_host(&host)?;
    if let Some(p) = port.filter(|p| !p.is_empty()) {
        t.port = Some(p.trim().parse::<u16>().map_err(|_| {
            TargetError::Malformed("the port is not a number from 1 to 65535".into())
        })?);
    }
    if !host.is_empty() {
        t.host = Some(host);
    }
    if let Some(i) = instance.filter(|i| !i.is_empty()) {
        t.instance = Some(i.to_string());
    }
    Ok(())
}

/// A host name never holds ':' (IPv6 addresses come in brackets), '@' or spaces: these
/// are a password or a typo leaking into the host, and the label would print them.
fn check_host(host: &str) -> Result<(), TargetError> {
    if host.contains('@') {
        return Err(unencoded());
    }
    if host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_err() {
        return Err(colon_for_at());
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TargetError::Malformed(
            "the host name holds a space or a control character".into(),
        ));
    }
    // A socket directory is a path; anything else is a DNS name or an address, and a
    // character no host name has means a password or a parameter slipped into it.
    if !host.starts_with('/')
        && !host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
    {
        return Err(TargetError::Malformed(
            "the host name holds a character no host name has ('/', '?', '=', '&', ...): is a password or parameter unencoded?"
                .into(),
        ));
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
    let (engine, note) = ado_engine(&pairs);
    let mut t = Target::empty(engine);
    t.notes.extend(note);
    for (k, v) in pairs {
        let key = norm_key(&k);
        match key.as_str() {
            "server" | "datasource" | "address" | "addr" | "networkaddress" | "host" => {
                let sep = if engine == Engine::Mssql { ',' } else { ':' };
                parse_hostport(&mut t, &v, sep)?
            }
            _ => apply_option(&mut t, &k, &v),
        }
    }
    if t.host.is_none() {
        return Err(TargetError::BadConnectionString(
            "no Server= (or Host=) given".into(),
        ));
    }
    if t.password.is_some() {
        t.password_from = Some("the connection string".into());
    }
    Ok(t)
}

fn norm_key(k: &str) -> String {
    k.to_ascii_lowercase().replace([' ', '_'], "")
}

/// Which driver a `key=value;...` string was written for, by its keys. SqlClient (SQL
/// Server), Npgsql (PostgreSQL) and Connector/NET (MySQL) share Server=, Database= and
/// Password=; they differ in the rest. Returns a note when the keys leave it open.
fn ado_engine(pairs: &[(String, String)]) -> (Engine, Option<String>) {
    let keys: Vec<String> = pairs.iter().map(|(k, _)| norm_key(k)).collect();
    let has = |names: &[&str]| keys.iter().any(|k| names.contains(&k.as_str()));
    let value = |names: &[&str]| {
        pairs
            .iter()
            .find(|(k, _)| names.contains(&norm_key(k).as_str()))
            .map(|(_, v)| v.trim().to_string())
    };
    let server = value(&["server", "datasource", "address", "addr", "networkaddress"]);
    // SQL Server only: its keys, and its `tcp:host,port` / `host\instance` server syntax.
    let sqlclient_keys = [
        "initialcatalog",
        "datasource",
        "integratedsecurity",
        "trustedconnection",
        "multipleactiveresultsets",
        "applicationintent",
        "failoverpartner",
        "multisubnetfailover",
        "attachdbfilename",
        "workstationid",
        "connectretrycount",
        "encrypt",
        "dac",
    ];
    let sqlclient_server = server.as_deref().is_some_and(|s| {
        s.to_ascii_lowercase().starts_with("tcp:")
            || s.to_ascii_lowercase().starts_with("admin:")
            || s.contains(',')
            || s.contains('\\')
    });
    if has(&sqlclient_keys) || sqlclient_server {
        return (Engine::Mssql, None);
    }
    if has(&["host", "username", "searchpath", "serverengine"]) {
        return (Engine::Postgres, None);
    }
    let mysql_keys = [
        "charset",
        "characterset",
        "allowuservariables",
        "allowpublickeyretrieval",
        "convertzerodatetime",
        "allowzerodatetime",
        "sslca",
        "protocol",
    ];
    if has(&mysql_keys) {
        return (Engine::Mysql, None);
    }
    let port = value(&["port"]).and_then(|p| p.parse::<u16>().ok());
    match port {
        Some(3306 | 3307 | 33060) => return (Engine::Mysql, None),
        Some(5432 | 6432) => return (Engine::Postgres, None),
        Some(1433) => return (Engine::Mssql, None),
        _ => {}
    }
    let uid = has(&["uid", "pwd"]);
    let chosen = |engine: Engine, why: &str| {
        let note = format!(
            "read the connection string as {} ({why}); to choose another engine, give a URL (mysql://, postgres://, mssql://)",
            match engine {
                Engine::Mysql => "MySQL/MariaDB (Connector/NET)",
                Engine::Postgres => "PostgreSQL (Npgsql)",
                Engine::Mssql => "SQL Server",
            }
        );
        (engine, Some(note))
    };
    match (port.is_some() || has(&["port"]), uid) {
        (true, true) => chosen(Engine::Mysql, "Port= and Uid= are Connector/NET's keys"),
        (true, false) => chosen(
            Engine::Postgres,
            "Port= with User Id= is how Npgsql strings are written",
        ),
        (false, true) => chosen(
            Engine::Mysql,
            "Uid= is how Connector/NET strings name the user",
        ),
        // Plain Server=;User Id=;Password=: the SqlClient string ADO.NET is mostly used for.
        (false, false) => (Engine::Mssql, None),
    }
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
                    // The key is echoed only when it looks like a key: in a mangled
                    // target it may be part of a password.
                    let key = key.trim();
                    let named = key.len() <= 30
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '_');
                    return Err(TargetError::BadConnectionString(if named {
                        format!("unclosed quote in the value of {key}")
                    } else {
                        "unclosed quote in a value".to_string()
                    }));
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
    // Microsoft's form has no path or query, but URL habits creep in: `/db?user=..`.
    let (hostpart, tail) = match hostpart.find(['/', '?']) {
        Some(i) => (&hostpart[..i], &hostpart[i..]),
        None => (hostpart, ""),
    };
    parse_hostport(&mut t, hostpart, ':')?;
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let db = path.trim_matches('/');
    if !db.is_empty() {
        t.database = Some(decode(db));
    }
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            TargetError::Malformed(
                "a URL parameter has no '=': if a value holds '&', percent-encode it as %26".into(),
            )
        })?;
        apply_url_option(&mut t, &decode(k), &decode(v))?;
    }
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
    fn libpq_parameters_and_sockets() {
        let t =
            Target::parse("postgres:///shop?host=/var/run/postgresql&port=5433&user=app").unwrap();
        assert_eq!(t.host.as_deref(), Some("/var/run/postgresql"));
        assert_eq!((t.port, t.user.as_deref()), (Some(5433), Some("app")));
        assert_eq!(
            t.redacted(),
            "postgres://app@:5433/shop?host=/var/run/postgresql"
        );
        // The printed form reads back to the same server.
        let again = Target::parse(&t.redacted()).unwrap();
        assert_eq!((again.host, again.port), (t.host, t.port));
        let t =
            Target::parse("mysql://root@localhost/test?socket=/run/mysqld/mysqld.sock").unwrap();
        assert!(
            t.redacted()
                .ends_with("/test?socket=/run/mysqld/mysqld.sock")
        );
        assert!(Target::parse("postgres://db/x?host=a,b").is_err());
    }

    #[test]
    fn connection_strings_by_their_keys() {
        let engine = |s: &str| Target::parse(s).map(|t| (t.engine, t.notes.len()));
        assert_eq!(
            engine("Server=db;Port=3306;Uid=app;Pwd=x;Database=shop"),
            Ok((Engine::Mysql, 0))
        );
        assert_eq!(engine("Server=db;Uid=app;Pwd=x"), Ok((Engine::Mysql, 1)));
        assert_eq!(
            engine("Server=db;Port=3310;Uid=app"),
            Ok((Engine::Mysql, 1))
        );
        assert_eq!(
            engine("Server=db;Port=5433;User Id=app;Password=x"),
            Ok((Engine::Postgres, 1))
        );
        assert_eq!(
            engine("Server=db;User Id=sa;Password=x"),
            Ok((Engine::Mssql, 0))
        );
        assert_eq!(
            engine("Server=db,1433;Uid=sa;Pwd=x"),
            Ok((Engine::Mssql, 0))
        );
        assert_eq!(
            engine("Data Source=db;Initial Catalog=x;Uid=sa"),
            Ok((Engine::Mssql, 0))
        );
        assert_eq!(
            engine("Server=db;Uid=app;CharSet=utf8mb4"),
            Ok((Engine::Mysql, 0))
        );
        let t = Target::parse("Server=db;Port=3306;Uid=app;Pwd=x").unwrap();
        assert_eq!(t.redacted(), "mysql://app:***@db:3306");
    }

    #[test]
    fn passwords_with_url_characters() {
        for (url, pw) in [
            ("postgres://u:a&b@h/d", "a&b"),
            ("postgres://u:a+b@h/d", "a+b"),
            ("postgres://u:a%26b%2Fc@h/d", "a&b/c"),
            ("postgres://u:p@ss@h/d", "p@ss"),
            ("postgres://u:a:b@h/d", "a:b"),
            ("postgres://u:100%@h/d", "100%"),
        ] {
            let t = Target::parse(url).unwrap();
            assert_eq!(t.password.as_ref().map(Secret::expose), Some(pw), "{url}");
            assert_eq!(t.host.as_deref(), Some("h"));
        }
        for bad in [
            "postgres://u:a/b@h/d",
            "postgres://u:a?b@h/d",
            "postgres://postgres://u:pw@h/d",
            "postgres://u:pw:h/d",
            "postgres://u:pw:5432/d",
            "u:pw@h/d",
            "postgres://h/d?password=a&b",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
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
