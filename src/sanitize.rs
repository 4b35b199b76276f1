//! Making server-supplied text safe to print.
//!
//! Query strings, application names and user names come from whoever is connected to the
//! database, which during an incident may be a hostile or just broken client. Printed raw
//! they could move the cursor, recolour the terminal, set its title (OSC), or hide text with
//! bidirectional overrides. Every such string passes through `clean` once, when the
//! snapshot enters spiral, so renderers can print what they are given.

/// Returns `text` with terminal control sequences removed, line breaks and tabs turned into
/// single spaces, and bidirectional overrides dropped.
pub fn clean(text: &str) -> String {
    if !needs_cleaning(text) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape_sequence(&mut chars),
            // The 8-bit CSI and OSC introducers behave like ESC [ and ESC ] on some
            // terminals; swallow their sequences too.
            '\u{9b}' => skip_until_final(&mut chars),
            '\u{9d}' => skip_until_string_end(&mut chars),
            '\t' | '\n' | '\r' => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c if is_dangerous(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// `clean` for a string owned by a snapshot, allocating only when something changes.
pub fn clean_in_place(text: &mut String) {
    if needs_cleaning(text) {
        *text = clean(text);
    }
}

/// Whether `clean` would change `text`.
pub fn needs_cleaning(text: &str) -> bool {
    // Nearly all server text (SQL, host and user names) is printable ASCII, which never
    // needs cleaning: a byte range test the compiler vectorises settles it without decoding
    // characters. Replaying a capture of 1,000-session snapshots spent 8% of its time in
    // the character-by-character test alone.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return false;
    }
    text.chars().any(is_dangerous)
}

fn is_dangerous(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn skip_escape_sequence(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.peek() {
        Some('[') => {
            chars.next();
            skip_until_final(chars);
        }
        Some(']') | Some('P') | Some('_') | Some('^') => {
            chars.next();
            skip_until_string_end(chars);
        }
        Some(_) => {
            chars.next();
        }
        None => {}
    }
}

/// CSI: parameters and intermediates up to a final byte in '@'..='~'.
fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('@'..='~').contains(&c) {
            break;
        }
    }
}

/// OSC/DCS strings end at BEL or ST (ESC \).
fn skip_until_string_end(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        if c == '\u{7}' || c == '\u{9c}' {
            break;
        }
        if c == '\u{1b}' {
            if chars.peek() == Some(&'\\') {
                chars.next();
            }
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{clean, needs_cleaning};

    #[test]
    fn the_ascii_fast_path_agrees_with_the_character_test() {
        for b in 0u8..=0x7f {
            let text = format!("SELECT {}1", b as char);
            assert_eq!(
                needs_cleaning(&text),
                (b as char).is_control(),
                "byte {b:#x}"
            );
            assert_eq!(
                clean(&text) != text,
                (b as char).is_control(),
                "byte {b:#x}"
            );
        }
        // Past ASCII the fast path steps aside: C1 controls and bidi overrides still count.
        assert!(needs_cleaning("a\u{9b}31m"));
        assert!(needs_cleaning("a\u{202e}b"));
        assert!(!needs_cleaning("caf\u{e9} \u{4e2d}\u{6587}"));
    }

    #[test]
    fn plain_text_is_untouched() {
        assert_eq!(
            clean("SELECT * FROM t WHERE a = 'é'"),
            "SELECT * FROM t WHERE a = 'é'"
        );
    }

    #[test]
    fn escape_sequences_are_removed_whole() {
        assert_eq!(clean("a\u{1b}[31;1mred\u{1b}[0m b"), "ared b");
        assert_eq!(clean("x\u{1b}]0;pwned title\u{7}y"), "xy");
        assert_eq!(clean("x\u{1b}]8;;http://e\u{1b}\\link"), "xlink");
        assert_eq!(clean("bell\u{7}\u{8}\u{8}"), "bell");
        assert_eq!(clean("trailing\u{1b}"), "trailing");
    }

    #[test]
    fn line_breaks_become_one_space_and_bidi_is_dropped() {
        assert_eq!(clean("select\r\n\t1"), "select 1");
        assert_eq!(clean("abc\u{202e}fed"), "abcfed");
    }
}

/// Error text for a terminal or a monitor: control characters stripped, then secrets
/// hidden, one line. Server error messages reach the user through here, and a hostile
/// server (or a proxy) must not be able to write escape sequences into the engineer's
/// terminal. Cleaning comes first: a control character inside a password must not break
/// the pattern that recognises it.
pub fn for_terminal(text: &str) -> String {
    let line = crate::redact::scrub(&clean(text))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    without_repeated_causes(&line)
}

/// `{e:#}` prints each cause after its parent, and a driver's error often already ends
/// with its source's text ("error communicating with database: Connection reset by peer
/// (os error 104): Connection reset by peer (os error 104)"): a cause repeated word for
/// word is printed once.
fn without_repeated_causes(line: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    for part in line.split(": ") {
        if part.len() >= 8 && kept.contains(&part) {
            continue;
        }
        kept.push(part);
    }
    kept.join(": ")
}

/// Hides passwords in free text (see `redact::scrub`, which has the patterns and tests).
pub fn redact_secrets(text: &str) -> String {
    crate::redact::scrub(&clean(text))
}

#[cfg(test)]
mod redact_tests {
    use super::for_terminal;

    #[test]
    fn secrets_are_hidden_after_cleaning() {
        assert_eq!(
            for_terminal("bad: 'postgres://u:hun\u{1}ter2@h/db'"),
            "bad: 'postgres://u:***@h/db'"
        );
        assert_eq!(
            for_terminal("Server=db;Password=hunter2;User Id=sa"),
            "Server=db;Password=***;User Id=sa"
        );
    }

    #[test]
    fn an_os_error_is_printed_once() {
        assert_eq!(
            for_terminal(
                "sampling: error communicating with database: Connection reset by peer (os error 104): Connection reset by peer (os error 104)"
            ),
            "sampling: error communicating with database: Connection reset by peer (os error 104)"
        );
    }
}
