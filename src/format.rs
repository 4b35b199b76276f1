//! Number and duration formatting shared by verdict sentences and every renderer, and the
//! console facts renderers lay text out for: its width and whether it can show UTF-8.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static ASCII: AtomicBool = AtomicBool::new(false);
static WIDTH: AtomicUsize = AtomicUsize::new(80);

/// Set once at start-up from `--ascii`, the locale and the terminal.
pub fn set_console(ascii: bool, width: usize) {
    ASCII.store(ascii, Ordering::Relaxed);
    WIDTH.store(width.clamp(40, 400), Ordering::Relaxed);
}

/// True when output must stay within ASCII (`--ascii`, or a locale that is not UTF-8).
pub fn ascii() -> bool {
    ASCII.load(Ordering::Relaxed)
}

/// The width to lay tables out for: the terminal's when stdout is one, else 80.
pub fn width() -> usize {
    WIDTH.load(Ordering::Relaxed)
}

pub fn ellipsis() -> &'static str {
    if ascii() { "..." } else { "…" }
}

/// Whether the locale promises UTF-8. The first of LC_ALL, LC_CTYPE, LANG that is set
/// decides, as in setlocale(3); none set is the POSIX locale, which is ASCII. Windows
/// consoles have no locale variables and render UTF-8 (use --ascii for old ones).
pub fn locale_is_utf8() -> bool {
    if cfg!(windows) {
        return true;
    }
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|x| !x.is_empty()))
        .is_some_and(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        })
}

/// The terminal's width when stdout is one; else `COLUMNS` when set (what shells export to
/// scripts); else 80.
pub fn detect_width() -> usize {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal()
        && let Ok((w, _)) = crossterm::terminal::size()
        && w > 0
    {
        return usize::from(w);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c: &usize| c > 0)
        .unwrap_or(80)
}

/// Our own symbols in plain ASCII, for consoles that cannot show UTF-8. Text from the
/// server is left as it is: replacing it would change names the user must type.
pub fn for_console(text: &str) -> std::borrow::Cow<'_, str> {
    if !ascii() || text.is_ascii() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '·' | '—' | '–' => out.push('-'),
            '└' => out.push_str("`-"),
            '├' => out.push_str("|-"),
            '│' => out.push('|'),
            '─' => out.push('-'),
            '…' => out.push_str("..."),
            '█' | '▇' | '▆' | '▅' => out.push('#'),
            '▄' | '▃' | '▂' | '▁' => out.push('_'),
            '→' => out.push_str("->"),
            '←' => out.push_str("<-"),
            '↑' => out.push('^'),
            '↓' => out.push('v'),
            '×' => out.push('x'),
            '≥' => out.push_str(">="),
            '≤' => out.push_str("<="),
            '±' => out.push_str("+/-"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// 1234567 -> "1,234,567": figures an engineer reads at 3 a.m. get separators.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate or ratio with as many decimals as make sense for its size.
pub fn decimal(x: f64) -> String {
    if !x.is_finite() {
        return "-".to_string();
    }
    if x.abs() >= 100.0 {
        thousands(x.round().max(0.0) as u64)
    } else if x.abs() >= 10.0 || x == x.trunc() {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// 93_000 -> "1m33s"; 800 -> "800ms"; 7_200_000 -> "2h".
pub fn duration_ms(ms: u64) -> String {
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 && h < 24 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 && h == 0 {
        out.push_str(&format!("{s}s"));
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

pub fn duration_secs(secs: f64) -> String {
    duration_ms((secs.max(0.0) * 1000.0).round() as u64)
}

/// "1 session" / "3 sessions".
pub fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{} {word}s", thousands(n))
    }
}

/// At most `max` names, then "and N more".
pub fn list(names: &[String], max: usize) -> String {
    let mut shown: Vec<String> = names.iter().take(max).cloned().collect();
    let rest = names.len().saturating_sub(max);
    if rest > 0 {
        shown.push(format!("and {rest} more"));
    }
    shown.join(", ")
}

/// Truncates to `max` characters with an ellipsis, on a character boundary.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mark = ellipsis();
    let keep = max.saturating_sub(mark.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(mark);
    out
}

/// Word-wraps `text` to `width` columns, prefixing every line with `indent`. Words longer
/// than a line (query text, URLs) are cut rather than allowed to overflow.
pub fn wrap(text: &str, width: usize, indent: &str) -> String {
    let room = width.saturating_sub(indent.chars().count()).max(20);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: String = word.to_string();
        while word.chars().count() > room {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(room).collect();
            word = word.chars().skip(room).collect();
            lines.push(head);
        }
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > room && !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
        .iter()
        .map(|l| format!("{indent}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_naturally() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1817), "1,817");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(duration_ms(800), "800ms");
        assert_eq!(duration_ms(59_000), "59s");
        assert_eq!(duration_ms(93_000), "1m33s");
        assert_eq!(duration_ms(28_800_000), "8h");
        assert_eq!(decimal(3342.4), "3,342");
        assert_eq!(decimal(2.25), "2.2");
        assert_eq!(
            list(&["a".into(), "b".into(), "c".into()], 2),
            "a, b, and 1 more"
        );
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
