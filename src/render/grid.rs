//! Aligned text tables that fit the console: the one table layout for every terminal
//! renderer (focused views, watch panels).
//!
//! A row is always one line. When the table is wider than the console it gives up room in
//! this order: the gaps between columns, the statement column (it takes what room is left),
//! the padding a long header puts on a column of short figures, then the widest names, which are cut with an ellipsis;
//! figures themselves are never cut. A cell never wraps, so a long name can never look like
//! another row.

use crate::format::truncate;

/// How a column is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Names and words: left-aligned, cut when short of room.
    Text,
    /// Figures: right-aligned, never cut.
    Number,
    /// Query text: left-aligned, gets what room is left.
    Statement,
}

/// Narrowest a name column is cut to.
const MIN_TEXT: usize = 6;
/// Narrowest a statement column is cut to.
const MIN_STATEMENT: usize = 12;

/// Lays out `rows` under `header` within `width` columns, each line starting with `indent`.
pub fn render(
    header: &[String],
    rows: &[Vec<String>],
    align: &[Align],
    width: usize,
    indent: &str,
) -> String {
    let n = header.len();
    // Newlines and runs of blanks inside a cell become one space (a cell never wraps), but
    // leading spaces stay: they are a blocking tree's indentation.
    let flat = |s: &str| -> String {
        let lead = s.len() - s.trim_start_matches(' ').len();
        let body = s.split_whitespace().collect::<Vec<_>>().join(" ");
        if body.is_empty() {
            body
        } else {
            format!("{}{body}", " ".repeat(lead))
        }
    };
    let header: Vec<String> = header.iter().map(|h| flat(h)).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            (0..n)
                .map(|i| r.get(i).map_or(String::new(), |c| flat(c)))
                .collect()
        })
        .collect();
    let len = |s: &str| s.chars().count();
    let value_w: Vec<usize> = (0..n)
        .map(|i| rows.iter().map(|r| len(&r[i])).max().unwrap_or(0))
        .collect();
    let mut w: Vec<usize> = (0..n).map(|i| value_w[i].max(len(&header[i]))).collect();
    let align_of = |i: usize| align.get(i).copied().unwrap_or(Align::Text);
    let mut gap = 2;
    let room = width.saturating_sub(len(indent));
    let total = |w: &[usize], gap: usize| w.iter().sum::<usize>() + gap * n.saturating_sub(1);
    if total(&w, gap) > room {
        gap = 1;
    }
    for i in 0..n {
        if align_of(i) == Align::Statement {
            let over = total(&w, gap).saturating_sub(room);
            w[i] = w[i].saturating_sub(over).max(MIN_STATEMENT.min(w[i]));
        }
    }
    // Figures under a long header: the header is shortened, the figures kept.
    for i in 0..n {
        if total(&w, gap) <= room {
            break;
        }
        if align_of(i) == Align::Number {
            w[i] = value_w[i].max(4).min(w[i]);
        }
    }
    // Then the widest name, a column at a time, down to MIN_TEXT.
    while total(&w, gap) > room {
        let widest = (0..n)
            .filter(|&i| align_of(i) == Align::Text && w[i] > MIN_TEXT)
            .max_by_key(|&i| w[i]);
        match widest {
            Some(i) => w[i] -= 1,
            None => break,
        }
    }
    let line = |cells: &[String]| -> String {
        let mut out = String::from(indent);
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str(&" ".repeat(gap));
            }
            let text = truncate(cell, w[i]);
            let pad = w[i].saturating_sub(len(&text));
            if align_of(i) == Align::Number {
                out.push_str(&" ".repeat(pad));
                out.push_str(&text);
            } else {
                out.push_str(&text);
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(&header);
    out.push('\n');
    let rule: Vec<String> = w.iter().map(|&x| "-".repeat(x)).collect();
    out.push_str(&line(&rule));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn long_names_are_cut_figures_kept_and_rows_stay_one_line() {
        let header = s(&["name", "total", "oldest idle"]);
        let rows = vec![
            s(&[
                "a-very-long-application-name-that-would-wrap\nand-a-newline",
                "1,234",
                "5m",
            ]),
            s(&["short", "7", ""]),
        ];
        let out = render(
            &header,
            &rows,
            &[Align::Text, Align::Number, Align::Number],
            30,
            "  ",
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(lines.iter().all(|l| l.chars().count() <= 30), "{out}");
        assert!(
            lines[2].contains('…') && lines[2].contains("1,234"),
            "{out}"
        );
        assert!(lines[3].ends_with('7') || lines[3].contains("  7"), "{out}");
    }

    #[test]
    fn a_table_that_fits_is_left_alone() {
        let out = render(
            &s(&["wait", "now"]),
            &[s(&["LCK_M_X", "12"])],
            &[Align::Text, Align::Number],
            80,
            "",
        );
        assert_eq!(out, "wait     now\n-------  ---\nLCK_M_X   12\n");
    }
}
