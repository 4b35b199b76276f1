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
    let mut forms = vec![secret.to_string()];
    // The forms a secret takes once printed: cleaned of control characters (a stray one
    // must not defeat the match), percent-encoded (URLs), trimmed.
    forms.push(crate::sanitize::clean(secret));
    forms.push(percent_encode(secret));
    forms.push(secret.trim().to_string());
    let mut list = registry().lock().unwrap_or_else(|p| p.into_inner());
    for f in forms {
        if f.chars().count() >= MIN_REGISTERED_LEN && !list.contains(&f) {
            list.push(f);
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    list.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers the password inside a target as typed (before, or without, parsing it):
/// command-line words and environment values that look like targets.
pub fn register_target_text(text: &str) {
    if let Ok(t) = crate::target::Target::parse(text)
        && let Some(p) = &t.password
    {
        register(p.expose());
    }
    for p in loose_passwords(text) {
        register(&p);
    }
}

/// Everything that could be a password in a target-like string, read generously: the
/// userinfo up to the LAST '@' (passwords with '/', '@', spaces), and `password=` values.
fn loose_passwords(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if !text.contains("://")
        && let Some(at) = text.rfind('@')
        && let Some(colon) = text[..at].find(':')
    {
        out.push(text[colon + 1..at].to_string());
    }
    if let Some(i) = text.find("://") {
        let rest = &text[i + 3..];
        if let Some(at) = rest.rfind('@')
            && let Some(colon) = rest[..at].find(':')
        {
            out.push(rest[colon + 1..at].to_string());
        }
        // `user:pw:host`, ':' typed for '@'.
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let parts: Vec<&str> = authority.split(':').collect();
        if parts.len() >= 3 && !authority.contains(['@', '[']) {
            out.push(parts[1..parts.len() - 1].join(":"));
        }
    }
    for cap in pair_re().captures_iter(text) {
        if let Some(v) = cap.get(3) {
            out.push(
                v.as_str()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_string(),
            );
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
    RE.get_or_init(|| regex::Regex::new(r#"(?i)([a-z][a-z0-9+.-]*://[^:/@\s'"]*:)[^\s'"]*@"#).ok())
        .as_ref()
}

fn bare_userinfo_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // user:PASSWORD@host with the scheme forgotten, as a word of its own.
    RE.get_or_init(|| {
        regex::Regex::new(r#"((?:^|[\s'"(])[A-Za-z0-9_.-]+:)(?:[^\s'"/][^\s'"]*)?@([A-Za-z0-9\[])"#).ok()
    })
    .as_ref()
}

fn colon_typo_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    // scheme://user:PASSWORD:host — ':' typed for '@'. `admin:` (SQL Server DAC) is a
    // host prefix, not a user.
    RE.get_or_init(|| {
        regex::Regex::new(r#"(?i)([a-z][a-z0-9+.-]*://(?:[^:/@\s'"\[]*):)([^:/@\s'"]+)(:[^:/@\s'"]+)"#)
            .ok()
    })
    .as_ref()
}

fn pair_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)\b(password|passwd|pwd|sslpassword|access_token|secret)(\s*[=:]\s*)("[^"]*"?|'[^']*'?|[^;&'"\n]*)"#,
        )
        .unwrap_or_else(|_| regex::Regex::new("$^").expect("trivial regex"))
    })
}

/// Hides every registered secret and everything that looks like a credential. Apply it
/// to text that is already cleaned of control characters (see `sanitize::for_terminal`).
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    {
        let list = registry().lock().unwrap_or_else(|p| p.into_inner());
        for s in list.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
    }
    if let Some(re) = url_re() {
        out = re.replace_all(&out, "${1}***@").into_owned();
    }
    if let Some(re) = bare_userinfo_re() {
        out = re.replace_all(&out, "${1}***@${2}").into_owned();
    }
    if let Some(re) = colon_typo_re() {
        out = re
            .replace_all(&out, |c: &regex::Captures<'_>| {
                let head = &c[1];
                // `mssql://admin:host:1433` is the DAC prefix, not user:password:port.
                if head.to_ascii_lowercase().ends_with("://admin:") || c[2].contains("***") {
                    c[0].to_string()
                } else {
                    format!("{head}***{}", &c[3])
                }
            })
            .into_owned();
    }
    out = pair_re()
        .replace_all(&out, |c: &regex::Captures<'_>| {
            let v = c[3].trim_end_matches(')').trim();
            if v.is_empty() || v == MASK || v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("no")
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

/// The keywords after which SQL carries a password literal, as a regex that ends right
/// before the literal's opening quote (or dollar quote).
fn sql_secret_re() -> Option<&'static regex::Regex> {
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(concat!(
            r"(?is)\b(?:",
            // PostgreSQL CREATE/ALTER ROLE|USER ... [ENCRYPTED] PASSWORD '...';
            // SQL Server CREATE/ALTER LOGIN ... PASSWORD = '...', OLD_PASSWORD = '...',
            // ... ENCRYPTION BY PASSWORD = '...'; MySQL SET PASSWORD = '...',
            // PASSWORD('...'), MASTER_PASSWORD='...', SOURCE_PASSWORD='...'
            r"\w*password",
            // MySQL/MariaDB IDENTIFIED BY '...', IDENTIFIED WITH plugin BY|AS '...',
            // IDENTIFIED VIA plugin USING '...'
            r"|identified(?:\s+(?:with|via)\s+[\w'`]+)?\s+(?:by|as|using)(?:\s+password)?",
            // SQL Server credentials: SECRET = '...'
            r"|secret",
            r")\s*(?:=\s*)?(?:\(\s*)?(?:password\s*\(\s*)?(?:n|e|_\w+\s*)?(?:'|\$\w*\$)"
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
            r"(?i)\b(?:sp_addlogin|sp_password|sp_addlinkedsrvlogin|sp_addapprole|sp_approlepassword|sp_setapprole|sp_adduser|sp_change_users_login)\b",
        )
        .ok()
    })
    .as_ref()
}

/// Hides password literals in SQL text from a server (a session's current statement). An
/// unterminated literal (the server truncated the text) is hidden to the end.
pub fn mask_sql_secrets(sql: &str) -> Cow<'_, str> {
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
        if opener.ends_with('\'') {
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
/// the text's length). A doubled quote and a backslash escape both continue the literal:
/// reading `\'` as an escape where the server would not only hides a little more.
fn literal_end(sql: &str, start: usize, quote: char) -> usize {
    let mut chars = sql[start..].char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
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
        assert_eq!(scrub("postgres://u:s3cret:5432/db"), "postgres://u:***:5432/db");
        assert_eq!(scrub("mssql://admin:db01:1433"), "mssql://admin:db01:1433");
        assert_eq!(scrub("Server=h;Password=a b;X=1"), "Server=h;Password=***;X=1");
        assert_eq!(scrub("Server=h;Pwd=\"x;y\";X=1"), "Server=h;Pwd=***;X=1");
        assert_eq!(
            scrub("jdbc:mysql://h/db?user=u&password=pw"),
            "jdbc:mysql://h/db?user=u&password=***"
        );
        assert_eq!(scrub("(using password: YES)"), "(using password: YES)");
        assert_eq!(scrub("postgres://[::1]:5432/db"), "postgres://[::1]:5432/db");
        assert_eq!(scrub("subcommand 'u:hunter2@db/x'"), "subcommand 'u:***@db/x'");
        assert_eq!(scrub("at 10:30 e.g. a:b"), "at 10:30 e.g. a:b");
    }

    #[test]
    fn registered_secrets_are_hidden_in_any_form() {
        register("Zq9-unique secret/1");
        assert_eq!(scrub("x Zq9-unique secret/1 y"), "x *** y");
        assert_eq!(scrub("x Zq9-unique%20secret%2F1 y"), "x *** y");
        register("ctl\u{1}Zq8pw");
        assert_eq!(scrub("got ctlZq8pw"), "got ***");
        register("abc");
        assert_eq!(scrub("abcdef"), "abcdef", "short secrets are not searched for");
    }

    #[test]
    fn sql_password_literals() {
        let cases = [
            ("ALTER ROLE app PASSWORD 'hunter2'", "ALTER ROLE app PASSWORD '***'"),
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
            ("ALTER ROLE app PASSWORD 'trunc", "ALTER ROLE app PASSWORD '***"),
            ("alter role app password $p$hunter2$p$", "alter role app password $p$***$p$"),
            (
                "EXEC sp_executesql N'ALTER LOGIN x WITH PASSWORD = ''hunter2'''",
                "EXEC sp_executesql N'ALTER LOGIN x WITH PASSWORD = ''***'''",
            ),
            (
                "ALTER USER u IDENTIFIED VIA ed25519 USING PASSWORD('hunter2')",
                "ALTER USER u IDENTIFIED VIA ed25519 USING PASSWORD('***')",
            ),
            ("SELECT 'password' FROM t", "SELECT 'password' FROM t"),
            ("ALTER ROLE app PASSWORD NULL", "ALTER ROLE app PASSWORD NULL"),
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
        let pw = loose_passwords("postgres://u:a/b c{d}@h/db");
        assert!(pw.contains(&"a/b c{d}".to_string()), "{pw:?}");
        let pw = loose_passwords("postgres://u:s3cr3tpw:5432/db");
        assert!(pw.contains(&"s3cr3tpw".to_string()), "{pw:?}");
        let pw = loose_passwords("Server=h;Password=\"x;y\"");
        assert!(pw.contains(&"x;y".to_string()), "{pw:?}");
    }
}
