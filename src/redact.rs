//! Keeping passwords out of everything spiral prints.
//!
//! Two nets, because either alone has holes:
//! - the *known* secrets: every password spiral parsed or looked up (target, environment,
//!   .pgpass, option file, stdin) is registered here, and `scrub` replaces it wherever it
//!   appears, in its raw, percent-encoded and terminal-cleaned forms;
//! - the *look* of a secret: `user:pw@` after a scheme, `Password=...` pairs, and the
//!   `user:pw:host` typo, for text that holds a password spiral never parsed (a malformed
//!   target echoed by clap, a server message).
//!
//! Server query text gets a third treatment: `mask_sql_secrets` hides the literal after
//! `PASSWORD`, `IDENTIFIED BY` and friends, where the text enters the snapshot.

use std::borrow::Cow;
use std::sync::{Mutex, OnceLock};

/// Registered secrets shorter than this are not searched for in free text: a three-letter
/// password would mask every word it happens to spell. Such passwords are still kept out
/// of output by construction (targets only ever print in their redacted form).
const MIN_REGISTERED_LEN: usize = 5;

const MASK: &str = "***";

fn registry() -> &'static Mutex<Vec<String>> {
    static SECRETS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    SECRETS.get_or_init(|| Mutex::new(Vec::new()))
}

/// Remembers a secret so that `scrub` hides it wherever it shows up later.
pub fn register(secret: &str) {
    let mut list = registry().lock().unwrap_or_else(|p| p.into_inner());
    for f in forms_of(secret) {
        if !list.contains(&f) {
            list.push(f);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The forms a secret takes once printed: as is, cleaned of control characters (a stray
/// one must not defeat the match), percent-encoded (URLs), trimmed.
fn forms_of(secret: &str) -> Vec<String> {
    [
        secret.to_string(),
        crate::sanitize::clean(secret),
        percent_encode(secret),
        secret.trim().to_string(),
        // Inside a JSON string.
        serde_json::to_string(secret)
            .map(|j| j.trim_matches('"').to_string())
            .unwrap_or_default(),
    ]
    .into_iter()
    .filter(|f| f.chars().count() >= MIN_REGISTERED_LEN)
    .collect()
}

/// Registers the password inside a target as typed (before, or without, parsing it):
/// command-line words and environment values that look like targets.
pub fn register_target_text(text: &str) {
    for p in secrets_in_target_text(text) {
        register(&p);
    }
}

/// The passwords a target-like string holds: the parsed one when it parses; otherwise
/// everything that could be one, read generously (the userinfo up to the LAST '@', the
/// text between ':'s when ':' was typed for '@', `password=` values).
pub fn secrets_in_target_text(text: &str) -> Vec<String> {
    let mut out = raw_userinfo_password(text);
    // `password=` values, up to every later '&' or ';' and to the end: a value with an
    // unencoded '&' reads like further parameters.
    out.extend(pair_stretches(text));
    match crate::target::Target::parse(text) {
        Ok(t) => out.extend(t.password.map(|p| p.expose().to_string())),
        Err(_) => out.extend(loose_passwords(text)),
    }
    out
}

/// The password part of `scheme://user:PASSWORD@host` as typed (percent-escapes and
/// all), up to the last '@'; or of `user:PASSWORD@host` with the scheme forgotten.
fn raw_userinfo_password(text: &str) -> Vec<String> {
    let rest = match text.find("://") {
        Some(i) => &text[i + 3..],
        None => text,
    };
    match rest.rfind('@') {
        Some(at) => rest[..at]
            .find(':')
            .map(|colon| vec![rest[colon + 1..at].to_string()])
            .unwrap_or_default(),
        None => Vec::new(),
    }
}

fn pair_stretches(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cap in pair_re().captures_iter(text) {
        if let Some(v) = cap.get(3) {
            out.push(
                v.as_str()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string(),
            );
            let rest = &text[v.start()..];
            for (j, _) in rest.match_indices(['&', ';']) {
                out.push(rest[..j].to_string());
            }
            out.push(rest.to_string());
        }
    }
    out
}

/// `scrub` with these secrets in place of the registered ones.
pub fn scrub_with(text: &str, secrets: &[String]) -> String {
    let mut forms: Vec<String> = secrets.iter().flat_map(|s| forms_of(s)).collect();
    forms.sort_by_key(|s| std::cmp::Reverse(s.len()));
    scrub_patterns(replace_known(text.to_string(), &forms))
}

/// Masks every occurrence of every secret, overlapping ones merged, so that replacing
/// one secret can never break up another and leave part of it showing.
fn replace_known(text: String, secrets: &[String]) -> String {
    let mut ranges: Vec<(usize, usize)> = secrets
        .iter()
        .flat_map(|s| {
            text.match_indices(s.as_str())
                .map(|(i, m)| (i, i + m.len()))
                .collect::<Vec<_>>()
        })
        .collect();
    if ranges.is_empty() {
        return text;
    }
    ranges.sort();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut current: Option<(usize, usize)> = None;
    for (start, end) in ranges {
        match current {
            Some((s, e)) if start <= e => current = Some((s, e.max(end))),
            Some((s, e)) => {
                out.push_str(&text[pos..s]);
                out.push_str(MASK);
                pos = e;
                current = Some((start, end));
            }
            None => current = Some((start, end)),
        }
    }
    if let Some((s, e)) = current {
        out.push_str(&text[pos..s]);
        out.push_str(MASK);
        pos = e;
    }
    out.push_str(&text[pos..]);
    out
}

/// What could be a password in a target that does not parse: the text between the
/// first ':' after the scheme and every later ':' (':' typed for '@', the password
/// perhaps holding '/' or '?').
fn loose_passwords(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(i) = text.find("://") {
        let rest = &text[i + 3..];
        if let Some(first) = rest.find(':') {
            for (j, _) in rest.match_indices(':').skip(1) {
                out.push(rest[first + 1..j].to_string());
            }
        }
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn url_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // scheme://user:PASSWORD@ — the password runs to the LAST '@' before a space or quote:
    // unencoded '@' and '/' in passwords are common.
    RE.get_or_init(|| {
        regex::Regex::new(r#"(?i)([a-z][a-z0-9+.-]*://[^:/@[ \t\r\n]'"]*:)[^[ \t\r\n]'"]*@"#).ok()
    })
    .as_ref()
}

fn bare_userinfo_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // user:PASSWORD@host with the scheme forgotten, as a word of its own.
    RE.get_or_init(|| {
        regex::Regex::new(r#"((?:^|[[ \t\r\n]'"(])[A-Za-z0-9_.-]+:)(?:[^[ \t\r\n]'"/][^[ \t\r\n]'"]*)?@([A-Za-z0-9\[])"#).ok()
    })
    .as_ref()
}

fn colon_typo_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // scheme://user:PASSWORD:host — ':' typed for '@'. `admin:` (SQL Server DAC) is a
    // host prefix, not a user.
    RE.get_or_init(|| {
        regex::Regex::new(r#"(?i)([a-z][a-z0-9+.-]*://(?:[^:/@[ \t\r\n]'"\[]*):)([^:/@[ \t\r\n]'"]+)(:[^:/@[ \t\r\n]'"]+)"#)
            .ok()
    })
    .as_ref()
}

fn pair_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)(?-u:\b)(password|passwd|pwd|sslpassword|access_token|secret)([ \t\r\n]*[=:][ \t\r\n]*)("[^"]*"?|'[^']*'?|[^;&'"\n]*)"#,
        )
        .unwrap_or_else(|_| regex::Regex::new("$^").expect("trivial regex"))
    })
}

/// Hides every registered secret and everything that looks like a credential. Apply it
/// to text that is already cleaned of control characters (see `sanitize::for_terminal`).
pub fn scrub(text: &str) -> String {
    let out = {
        let list = registry().lock().unwrap_or_else(|p| p.into_inner());
        replace_known(text.to_string(), &list)
    };
    scrub_patterns(out)
}

fn scrub_patterns(mut out: String) -> String {
    // Cheap tests first: most strings (a verdict, a user name) hold none of the shapes,
    // and a report has thousands of them.
    let has_scheme = out.contains("://");
    let has_at = out.contains('@');
    let lower = out.to_ascii_lowercase();
    let has_key = ["password", "passwd", "pwd", "secret", "access_token"]
        .iter()
        .any(|k| lower.contains(k));
    if has_scheme
        && has_at
        && let Some(re) = url_re()
    {
        out = re.replace_all(&out, "${1}***@").into_owned();
    }
    if has_at && let Some(re) = bare_userinfo_re() {
        out = re.replace_all(&out, "${1}***@${2}").into_owned();
    }
    if !has_key {
        if has_scheme && let Some(re) = colon_typo_re() {
            return colon_typo(re, out);
        }
        return out;
    }
    if let Some(re) = colon_typo_re() {
        out = colon_typo(re, out);
    }
    out = pair_re()
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let v = c[3].trim_end_matches(')').trim();
            if v.is_empty()
                || v == MASK
                || v.eq_ignore_ascii_case("yes")
                || v.eq_ignore_ascii_case("no")
            {
                // "(using password: YES)" and empty values carry nothing.
                c[0].to_string()
            } else {
                format!("{}{}***", &c[1], &c[2])
            }
        })
        .into_owned();
    out
}

/// `scheme://user:PASSWORD:host`, ':' typed for '@'.
fn colon_typo(re: &regex::Regex, out: String) -> String {
    re.replace_all(&out, |c: &regex::Captures<'_>| {
        let head = &c[1];
        // `mssql://admin:host:1433` is the DAC prefix, not user:password:port.
        if head.to_ascii_lowercase().ends_with("://admin:") || c[2].contains("***") {
            c[0].to_string()
        } else {
            format!("{head}***{}", &c[3])
        }
    })
    .into_owned()
}

/// `scrub` for a whole document about to be printed. A JSON document is scrubbed string
/// by string, so that a mask can never break its quoting; anything else as text.
pub fn scrub_document(text: &str) -> String {
    let trimmed = text.trim_start();
    if (trimmed.starts_with('{') || trimmed.starts_with('['))
        && let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text)
    {
        if scrub_json(&mut value) {
            let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
            if text.ends_with('\n') {
                out.push('\n');
            }
            return out;
        }
        return text.to_string();
    }
    scrub(text)
}

/// Scrubs every string in place; true when one changed.
fn scrub_json(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => {
            let clean = scrub(s);
            let changed = clean != *s;
            *s = clean;
            changed
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |c, v| scrub_json(v) | c),
        serde_json::Value::Object(map) => map.values_mut().fold(false, |c, v| scrub_json(v) | c),
        _ => false,
    }
}

/// The keywords after which SQL carries a password literal, as a regex that ends right
/// before the literal's opening quote (or dollar quote).
fn sql_secret_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(concat!(
            r"(?is)(?-u:\b)(?:",
            // PostgreSQL CREATE/ALTER ROLE|USER ... [ENCRYPTED] PASSWORD '...';
            // SQL Server CREATE/ALTER LOGIN ... PASSWORD = '...', OLD_PASSWORD = '...',
            // ... ENCRYPTION BY PASSWORD = '...'; MySQL SET PASSWORD = '...',
            // PASSWORD('...'), MASTER_PASSWORD='...', SOURCE_PASSWORD='...'
            r"[a-z0-9_]*password",
            // MySQL/MariaDB IDENTIFIED BY '...', IDENTIFIED WITH plugin BY|AS '...',
            // IDENTIFIED VIA plugin USING '...'
            r"|identified(?:\s+(?:with|via)\s+[a-z0-9_'`]+)?\s+(?:by|as|using)(?:\s+password)?",
            // SQL Server credentials: SECRET = '...'
            r"|secret",
            r#")\s*(?:=\s*)?(?:\(\s*)?(?:password\s*\(\s*)?(?:n|e|_[a-z0-9_]+\s*)?(?:'|"|\$[a-z0-9_]*\$)"#
        ))
        .ok()
    })
    .as_ref()
}

fn sql_proc_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // Stored procedures whose arguments include a password: every literal after them is
    // hidden, up to the end of the statement.
    RE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)(?-u:\b)(?:sp_addlogin|sp_password|sp_addlinkedsrvlogin|sp_addapprole|sp_approlepassword|sp_setapprole|sp_adduser|sp_change_users_login)(?-u:\b)",
        )
        .ok()
    })
    .as_ref()
}

/// Hides password literals in SQL text from a server (a session's current statement). An
/// unterminated literal (the server truncated the text) is hidden to the end.
pub fn mask_sql_secrets(sql: &str) -> Cow<'_, str> {
    // Every session of every sample passes here: a plain substring test first, the
    // regexes only for the rare statement that could carry a password.
    let lower = sql.to_ascii_lowercase();
    if !["password", "identified", "secret", "sp_"]
        .iter()
        .any(|k| lower.contains(k))
    {
        return Cow::Borrowed(sql);
    }
    let (Some(kw), Some(procs)) = (sql_secret_re(), sql_proc_re()) else {
        return Cow::Borrowed(sql);
    };
    if !kw.is_match(sql) && !procs.is_match(sql) {
        return Cow::Borrowed(sql);
    }
    // Byte ranges of literal contents to hide.
    let mut hide: Vec<(usize, usize)> = Vec::new();
    for m in kw.find_iter(sql) {
        // `'password'` is a string that says password, not a keyword.
        if sql[..m.start()].ends_with(['\'', '"', '`']) {
            continue;
        }
        let end = m.end();
        let opener = &sql[m.start()..end];
        if opener.ends_with('"') {
            // MySQL's double-quoted strings (IDENTIFIED BY "...").
            hide.push((end, literal_end(sql, end, '"')));
        } else if opener.ends_with('\'') {
            let start = end;
            // `''secret''` inside an outer literal (sp_executesql N'... PASSWORD = ''x''').
            if sql[start..].starts_with('\'') && !sql[start + 1..].starts_with('\'') {
                let inner = start + 1;
                let stop = sql[inner..].find("''").map_or(sql.len(), |i| inner + i);
                hide.push((inner, stop));
            } else {
                hide.push((start, literal_end(sql, start, '\'')));
            }
        } else if let Some(d) = opener.rfind('$').and_then(|i| opener[..i].rfind('$')) {
            let tag = &opener[d..];
            let stop = sql[end..].find(tag).map_or(sql.len(), |i| end + i);
            hide.push((end, stop));
        }
    }
    for m in procs.find_iter(sql) {
        let mut i = m.end();
        let bytes = sql.as_bytes();
        while i < bytes.len() && bytes[i] != b';' {
            if bytes[i] == b'\'' {
                let stop = literal_end(sql, i + 1, '\'');
                hide.push((i + 1, stop));
                i = stop + 1;
            } else {
                i += 1;
            }
        }
    }
    if hide.is_empty() {
        return Cow::Borrowed(sql);
    }
    hide.sort();
    let mut out = String::with_capacity(sql.len());
    let mut pos = 0;
    for (start, stop) in hide {
        if start < pos || start > sql.len() {
            continue;
        }
        out.push_str(&sql[pos..start]);
        out.push_str(MASK);
        pos = stop.min(sql.len());
    }
    out.push_str(&sql[pos..]);
    Cow::Owned(out)
}

/// Where the literal opened just before `start` ends (the index of its closing quote, or
/// the text's length). A doubled quote continues the literal; whether a backslash escapes
/// the quote after it depends on the server (MySQL yes, PostgreSQL's standard strings
/// no), so the literal is taken to end at the later of the two readings: hiding a little
/// more is the safe mistake.
fn literal_end(sql: &str, start: usize, quote: char) -> usize {
    literal_end_with(sql, start, quote, true).max(literal_end_with(sql, start, quote, false))
}

fn literal_end_with(sql: &str, start: usize, quote: char, backslash_escapes: bool) -> usize {
    let mut chars = sql[start..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' && backslash_escapes {
            chars.next();
        } else if c == quote {
            if chars.peek().map(|(_, n)| *n) == Some(quote) {
                chars.next();
            } else {
                return start + i;
            }
        }
    }
    sql.len()
}

/// `mask_sql_secrets` for a string owned by a snapshot.
pub fn mask_sql_in_place(text: &mut String) {
    if let Cow::Owned(masked) = mask_sql_secrets(text) {
        *text = masked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_and_pair_forms() {
        assert_eq!(scrub("'postgres://u:p@ss@h/db'"), "'postgres://u:***@h/db'");
        assert_eq!(scrub("postgres://u:a/b{x}@h/db"), "postgres://u:***@h/db");
        assert_eq!(
            scrub("postgres://u:s3cret:5432/db"),
            "postgres://u:***:5432/db"
        );
        assert_eq!(scrub("mssql://admin:db01:1433"), "mssql://admin:db01:1433");
        assert_eq!(
            scrub("Server=h;Password=a b;X=1"),
            "Server=h;Password=***;X=1"
        );
        assert_eq!(scrub("Server=h;Pwd=\"x;y\";X=1"), "Server=h;Pwd=***;X=1");
        assert_eq!(
            scrub("jdbc:mysql://h/db?user=u&password=pw"),
            "jdbc:mysql://h/db?user=u&password=***"
        );
        assert_eq!(scrub("(using password: YES)"), "(using password: YES)");
        assert_eq!(
            scrub("postgres://[::1]:5432/db"),
            "postgres://[::1]:5432/db"
        );
        assert_eq!(
            scrub("subcommand 'u:hunter2@db/x'"),
            "subcommand 'u:***@db/x'"
        );
        assert_eq!(scrub("at 10:30 e.g. a:b"), "at 10:30 e.g. a:b");
    }

    #[test]
    fn json_documents_stay_json() {
        let doc =
            "{\n  \"q\": \"x password=\\\"abc\\\" y\",\n  \"t\": \"postgres://u:pw@h/d\"\n}\n";
        let out = scrub_document(doc);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["t"], "postgres://u:***@h/d");
        assert!(!v["q"].as_str().unwrap().contains("abc"), "{out}");
        let plain = "{\n  \"a\": 1\n}\n";
        assert_eq!(scrub_document(plain), plain);
    }

    #[test]
    fn registered_secrets_are_hidden_in_any_form() {
        register("Zq9-unique secret/1");
        assert_eq!(scrub("x Zq9-unique secret/1 y"), "x *** y");
        assert_eq!(scrub("x Zq9-unique%20secret%2F1 y"), "x *** y");
        register("ctl\u{1}Zq8pw");
        assert_eq!(scrub("got ctlZq8pw"), "got ***");
        register("abc");
        assert_eq!(
            scrub("abcdef"),
            "abcdef",
            "short secrets are not searched for"
        );
    }

    #[test]
    fn sql_password_literals() {
        let cases = [
            (
                "ALTER ROLE app PASSWORD 'hunter2'",
                "ALTER ROLE app PASSWORD '***'",
            ),
            (
                "create user app with encrypted password 'it''s' valid until 'infinity'",
                "create user app with encrypted password '***' valid until 'infinity'",
            ),
            (
                "CREATE USER 'a'@'%' IDENTIFIED BY 'hunter2'",
                "CREATE USER 'a'@'%' IDENTIFIED BY '***'",
            ),
            (
                "ALTER USER a IDENTIFIED WITH mysql_native_password BY 'p\\'w'",
                "ALTER USER a IDENTIFIED WITH mysql_native_password BY '***'",
            ),
            (
                "SET PASSWORD FOR 'a'@'%' = PASSWORD('hunter2')",
                "SET PASSWORD FOR 'a'@'%' = PASSWORD('***')",
            ),
            ("SET PASSWORD = 'hunter2'", "SET PASSWORD = '***'"),
            (
                "ALTER LOGIN sa WITH PASSWORD = N'hunter2' OLD_PASSWORD = 'old1'",
                "ALTER LOGIN sa WITH PASSWORD = N'***' OLD_PASSWORD = '***'",
            ),
            (
                "EXEC sp_addlogin 'bob', 'hunter2', 'db'",
                "EXEC sp_addlogin '***', '***', '***'",
            ),
            (
                "CHANGE MASTER TO MASTER_PASSWORD='hunter2'",
                "CHANGE MASTER TO MASTER_PASSWORD='***'",
            ),
            (
                "ALTER ROLE app PASSWORD 'trunc",
                "ALTER ROLE app PASSWORD '***",
            ),
            (
                "alter role app password $p$hunter2$p$",
                "alter role app password $p$***$p$",
            ),
            (
                "EXEC sp_executesql N'ALTER LOGIN x WITH PASSWORD = ''hunter2'''",
                "EXEC sp_executesql N'ALTER LOGIN x WITH PASSWORD = ''***'''",
            ),
            (
                "ALTER USER u IDENTIFIED VIA ed25519 USING PASSWORD('hunter2')",
                "ALTER USER u IDENTIFIED VIA ed25519 USING PASSWORD('***')",
            ),
            ("SELECT 'password' FROM t", "SELECT 'password' FROM t"),
            (
                "ALTER ROLE app PASSWORD NULL",
                "ALTER ROLE app PASSWORD NULL",
            ),
            (
                "CREATE USER a IDENTIFIED WITH 'caching_sha2_password' BY 'hunter2'",
                "CREATE USER a IDENTIFIED WITH 'caching_sha2_password' BY '***'",
            ),
            (
                "UPDATE users SET password = 'hunter2' WHERE id = 1",
                "UPDATE users SET password = '***' WHERE id = 1",
            ),
        ];
        for (sql, want) in cases {
            assert_eq!(mask_sql_secrets(sql), want, "{sql}");
        }
    }

    #[test]
    fn loose_reading_of_malformed_targets() {
        let pw = secrets_in_target_text("postgres://u:a/b c{d}@h/db");
        assert!(pw.contains(&"a/b c{d}".to_string()), "{pw:?}");
        let pw = secrets_in_target_text("postgres://u:s3cr3tpw:5432/db");
        assert!(pw.contains(&"s3cr3tpw".to_string()), "{pw:?}");
        let pw = secrets_in_target_text("Server=h;Password=\"x;y\"");
        assert!(pw.contains(&"x;y".to_string()), "{pw:?}");
        let pw = secrets_in_target_text("u:hunter2@db/x");
        assert!(pw.contains(&"hunter2".to_string()), "{pw:?}");
        let pw = secrets_in_target_text("mysql://h/d?user=u&password=ab&cd=ef");
        assert!(pw.contains(&"ab&cd=ef".to_string()), "{pw:?}");
    }
}
