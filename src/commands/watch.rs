//! `spiral watch`: a live, verdict-first view that refreshes in place.
//!
//! Like pg_activity or innotop, but the first thing on screen is what kind of spiral this
//! is. Under it: the key gauges with their change since the last refresh, then either the
//! lead blockers and worst sessions or one of the focused views (keys switch). It keeps its
//! single connection; when the server stops answering it says so on screen, shows how long
//! it has been blind, and keeps retrying with backoff instead of exiting.
//!
//! Drawing: each frame is built as whole lines, then written in one go after moving the
//! cursor home, each line followed by clear-to-end-of-line: no full-screen clear, so no
//! flicker. When stdout is not a terminal, frames are appended as plain blocks instead.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use crate::commands::poller::{Poll, Poller};
use crate::commands::views::View;
use crate::format::{decimal, duration_ms, thousands, truncate};
use crate::model::blocking::{BlockingGraph, index};
use crate::model::snapshot::Snapshot;
use crate::model::thresholds::Thresholds;
use crate::model::window::Window;
use crate::report::KeyFigures;
use crate::rules::{Assessment, evaluate};

/// Which lower panel is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    Sessions,
    View(View),
}

impl Panel {
    pub fn from_key(c: char) -> Option<Panel> {
        Some(match c {
            's' | 't' => Panel::Sessions,
            'w' => Panel::View(View::Waits),
            'k' => Panel::View(View::Workers),
            'b' => Panel::View(View::Blocking),
            'c' => Panel::View(View::Connections),
            'p' => Panel::View(View::Compiles),
            'l' => Panel::View(View::PlanCache),
            _ => return None,
        })
    }
}

/// What the screen shows; kept between refreshes.
pub struct WatchState {
    pub label: String,
    pub panel: Panel,
    pub window: Option<Window>,
    pub assessment: Option<Assessment>,
    /// Set while the server is not answering: (seconds blind, error, retry in).
    pub blind: Option<(f64, String, u64)>,
    pub interval: Duration,
    /// A standing notice from the poller (e.g. the server is full and spiral gives its
    /// connection back between refreshes).
    pub notice: Option<String>,
    /// The last minutes' figures, drawn as sparklines under the gauges.
    pub history: crate::commands::history::History,
    /// A capture being replayed: the screen says so and shows the capture's time.
    pub replay: bool,
    /// Lines the lower panel is scrolled down by (arrow keys, PgUp/PgDn).
    pub scroll: usize,
    /// The furthest the panel on screen can scroll, set by the last frame, so that a key
    /// pressed past the end does not have to be undone.
    pub scroll_max: std::cell::Cell<usize>,
}

impl WatchState {
    /// Takes a new sample: the window becomes (previous, new), so changes are since the
    /// last refresh and only two snapshots are ever held.
    pub fn update(&mut self, snap: Snapshot, thresholds: &Thresholds) {
        let window = match self.window.take() {
            Some(w) => Window::from_snapshots([w.last().clone(), snap]),
            None => Some(Window::new(snap)),
        };
        self.assessment = window
            .as_ref()
            .map(|w| crate::report::for_engine(evaluate(w, thresholds), w.last().engine));
        if let Some(w) = &window {
            self.history.record(w);
        }
        self.window = window;
        self.blind = None;
    }
}

/// " (+3)" / " (=)" since the last refresh; nothing on the first frame.
fn change(now: u64, before: Option<u64>) -> String {
    match before {
        Some(b) if b != now => format!(" ({:+})", i128::from(now) - i128::from(b)),
        Some(_) => " (=)".to_string(),
        None => String::new(),
    }
}

/// The frame as lines, fitted to `width` x `height`.
pub fn frame(
    state: &WatchState,
    thresholds: &Thresholds,
    width: usize,
    height: usize,
) -> Vec<String> {
    let mut lines = Vec::new();
    // A replay shows the capture's clock, never the wall clock, and says it is a replay.
    let when = match (&state.window, state.replay) {
        (Some(w), true) => format!(
            "REPLAY, captured {}",
            w.last().taken_at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        (None, true) => "REPLAY".to_string(),
        (_, false) => format!(
            "every {} · {}",
            crate::format::duration_secs(state.interval.as_secs_f64()),
            chrono::Utc::now().format("%H:%M:%S UTC")
        ),
    };
    lines.push(format!("spiral watch · {when} · {}", state.label));
    if let Some((secs, err, retry)) = &state.blind {
        lines.push(format!(
            "!! SERVER NOT ANSWERING for {}: {err} (retrying in {retry}s; the screen below is from the last answer)",
            crate::format::duration_secs(*secs)
        ));
    }
    if let Some(n) = &state.notice {
        lines.push(format!("!! {n}"));
    }
    let (Some(w), Some(a)) = (&state.window, &state.assessment) else {
        lines.push("waiting for the first sample...".into());
        return fit(lines, Vec::new(), state, width, height);
    };
    lines.push(String::new());
    if a.verdicts.is_empty() {
        lines.push("OK        no death spiral detected".into());
    }
    // A small screen keeps most of its rows for the panel.
    let shown = if height >= 40 { 6 } else { 3 };
    for v in a.verdicts.iter().take(shown) {
        lines.push(format!(
            "{:<9} {:<25} {}",
            v.severity.label(),
            v.id,
            v.summary
        ));
    }
    if a.verdicts.len() > shown {
        let rest: Vec<&str> = a.verdicts[shown..].iter().map(|v| v.id).collect();
        lines.push(format!("          and {}", rest.join(", ")));
    }
    lines.push(String::new());
    let f = KeyFigures::of(w);
    let before = (w.samples() > 1).then(|| w.first());
    let fb = before.map(|b| KeyFigures::of(&Window::new(b.clone())));
    let limit = f
        .usable_connections
        .map(|u| format!(" of {}", thousands(u)))
        .unwrap_or_default();
    lines.push(format!(
        "connections {}{limit}{}   active {}{}   idle {}   idle in tx {}{}",
        thousands(f.connected_clients),
        change(
            f.connected_clients,
            fb.as_ref().map(|x| x.connected_clients)
        ),
        thousands(f.active_sessions),
        change(f.active_sessions, fb.as_ref().map(|x| x.active_sessions)),
        thousands(f.idle_sessions),
        thousands(f.idle_in_transaction),
        change(
            f.idle_in_transaction,
            fb.as_ref().map(|x| x.idle_in_transaction)
        ),
    ));
    lines.push(format!(
        "blocked {}{}   longest lock wait {}{}{}",
        thousands(f.blocked_sessions),
        change(f.blocked_sessions, fb.as_ref().map(|x| x.blocked_sessions)),
        duration_ms(f.longest_lock_wait_ms),
        match (f.queued_tasks, f.active_workers, f.max_workers) {
            (Some(q), Some(a), Some(m)) => format!(
                "   queued tasks {} · workers {} of {}",
                thousands(q),
                thousands(a),
                thousands(m)
            ),
            _ => String::new(),
        },
        f.compilations_per_sec
            .map(|c| format!("   compilations {}/s", decimal(c)))
            .unwrap_or_default(),
    ));
    lines.push(format!("top waits: {}", top_waits(w.last())));
    lines.extend(
        state
            .history
            .lines(width, !crate::commands::history::unicode_terminal()),
    );
    lines.push(String::new());
    let mut panel = Vec::new();
    match state.panel {
        Panel::Sessions => sessions_panel(w.last(), width, &mut panel),
        Panel::View(v) => {
            let report = crate::commands::views::build(
                v,
                &state.label,
                w,
                a,
                thresholds,
                Vec::new(),
                Some(200),
            );
            for s in &report.sections {
                panel.push(s.heading.to_uppercase());
                panel.extend(crate::render::section_lines(s, width));
                panel.push(String::new());
            }
        }
    }
    fit(lines, panel, state, width, height)
}

fn top_waits(s: &Snapshot) -> String {
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for (x, n) in s
        .client_tally()
        .filter(|(x, _)| !x.is_idle() && !x.waits_on(crate::model::session::WaitClass::Client))
    {
        if let Some(t) = x.wait_type.as_deref() {
            *counts.entry(t).or_default() += n;
        }
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .take(4)
        .map(|(t, n)| format!("{t} {}", thousands(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn sessions_panel(s: &Snapshot, width: usize, lines: &mut Vec<String>) {
    use crate::render::grid::{self, Align};
    let g = BlockingGraph::of(s);
    let by_id = index(s);
    let head = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    lines.push("LEAD BLOCKERS".into());
    if g.trees.is_empty() && g.cycles.is_empty() {
        lines.push("  none".into());
    }
    let rows: Vec<Vec<String>> = g
        .trees
        .iter()
        .take(5)
        .map(|t| {
            let lead = by_id.get(&t.lead);
            vec![
                t.lead.to_string(),
                t.blocked_count().to_string(),
                t.depth.to_string(),
                duration_ms(t.longest_wait_ms),
                lead.map_or("", |x| x.user_or_unknown()).to_string(),
                lead.map_or("not visible", |x| x.state.label()).to_string(),
                lead.and_then(|x| x.query.clone()).unwrap_or_default(),
            ]
        })
        .collect();
    if !rows.is_empty() {
        let text = grid::render(
            &head(&[
                "lead",
                "blocks",
                "depth",
                "longest",
                "user",
                "state",
                "statement",
            ]),
            &rows,
            &[
                Align::Number,
                Align::Number,
                Align::Number,
                Align::Number,
                Align::Text,
                Align::Text,
                Align::Statement,
            ],
            width,
            "  ",
        );
        lines.extend(text.lines().map(String::from));
    }
    for c in g.cycles.iter().take(3) {
        let ring: Vec<String> = c.iter().chain(c.first()).map(|i| i.to_string()).collect();
        lines.push(format!("  cycle: {}", ring.join(" -> ")));
    }
    lines.push(String::new());
    lines.push("WORST SESSIONS (longest running or waiting)".into());
    let mut worst: Vec<_> = s
        .client_sessions()
        .filter(|x| !x.is_idle())
        .map(|x| (x.wait_ms.max(x.elapsed_ms).max(x.idle_ms).unwrap_or(0), x))
        .collect();
    worst.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
    let rows: Vec<Vec<String>> = worst
        .iter()
        .take(30)
        .map(|(ms, x)| {
            vec![
                x.id.to_string(),
                x.user_or_unknown().to_string(),
                // MySQL has no application name: the client host says where it came from.
                x.application
                    .clone()
                    .filter(|a| !a.is_empty())
                    .or_else(|| x.client_host.clone())
                    .unwrap_or_default(),
                match x.state {
                    crate::model::session::SessionState::IdleInTransaction => "idle in tx".into(),
                    other => other.label().to_string(),
                },
                duration_ms(*ms),
                x.wait_type.clone().unwrap_or_default(),
                x.query.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if rows.is_empty() {
        lines.push("  none".into());
        return;
    }
    let text = grid::render(
        &head(&[
            "id",
            "user",
            "application",
            "state",
            "age",
            "wait",
            "statement",
        ]),
        &rows,
        &[
            Align::Number,
            Align::Text,
            Align::Text,
            Align::Text,
            Align::Number,
            Align::Text,
            Align::Statement,
        ],
        width,
        "  ",
    );
    lines.extend(text.lines().map(String::from));
}

/// The key legend, as long as the width allows; always on the last line.
fn legend(width: usize) -> String {
    let long = "[s]essions [w]aits [b]locking [c]onnections wor[k]ers com[p]iles p[l]ancache  ↑↓ PgUp PgDn scroll  [q]uit";
    let medium =
        "s w b c k p l: panels (sessions waits blocking conns workers compiles plan cache) ↑↓ q";
    let short = "keys: s w b c k p l panels  ↑↓ PgUp PgDn scroll  q quit";
    [long, medium, short]
        .into_iter()
        .find(|l| l.chars().count() <= width)
        .unwrap_or(short)
        .to_string()
}

/// The screen: the top lines (verdicts, gauges) as they are, the panel scrolled by `scroll`
/// into the rows that are left, and the key legend on the last row, always.
fn fit(
    top: Vec<String>,
    panel: Vec<String>,
    state: &WatchState,
    width: usize,
    height: usize,
) -> Vec<String> {
    let scroll = state.scroll;
    let height = height.max(3);
    let mut lines = top;
    // The top may not take the whole screen: keep two rows for the panel and the legend.
    lines.truncate(height.saturating_sub(3).max(1));
    let room = height - 1 - lines.len();
    if panel.len() <= room {
        state.scroll_max.set(0);
        lines.extend(panel);
    } else {
        let max_scroll = panel.len() - room + 1;
        state.scroll_max.set(max_scroll);
        let first = scroll.min(max_scroll);
        let shown = room - 1;
        lines.extend(panel.iter().skip(first).take(shown).cloned());
        let below = panel.len().saturating_sub(first + shown);
        lines.push(match (first, below) {
            (0, b) => format!("  ↓ {b} more lines (↓ or PgDn)"),
            (a, 0) => format!("  ↑ {a} lines above (↑ or PgUp)"),
            (a, b) => format!("  ↑ {a} above, ↓ {b} below"),
        });
    }
    lines.push(legend(width));
    lines
        .into_iter()
        .map(|l| crate::format::for_console(&truncate(&l, width.max(10))).into_owned())
        .collect()
}

/// Restores the terminal however watch ends, panics included.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
        crate::signals::terminal_taken(true);
        crossterm::terminal::enable_raw_mode()?;
        let mut out = std::io::stdout();
        crossterm::execute!(
            out,
            crossterm::terminal::EnterAlternateScreen,
            crossterm::cursor::Hide
        )?;
        Ok(TerminalGuard)
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Shared with the signal thread, which restores the terminal itself should a
        // second signal end the process before this guard runs.
        crate::signals::restore_terminal();
    }
}

fn draw(lines: &[String], height: usize) -> std::io::Result<()> {
    use crossterm::{cursor, queue, terminal};
    // The legend (the last line) sits on the bottom row of the screen.
    let mut lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    if let Some(legend) = lines.pop() {
        while lines.len() + 1 < height {
            lines.push("");
        }
        lines.push(legend);
    }
    let mut out = std::io::stdout().lock();
    queue!(out, cursor::MoveTo(0, 0))?;
    for (i, l) in lines.iter().enumerate() {
        queue!(out, cursor::MoveTo(0, i as u16))?;
        write!(out, "{l}")?;
        queue!(out, terminal::Clear(terminal::ClearType::UntilNewLine))?;
    }
    if lines.len() < height {
        queue!(
            out,
            cursor::MoveTo(0, lines.len() as u16),
            terminal::Clear(terminal::ClearType::FromCursorDown)
        )?;
    }
    out.flush()
}

/// Runs the live view until `q`, Esc, Ctrl-C, or the end of a replay.
pub async fn run(
    mut poller: Poller,
    interval: Duration,
    thresholds: &Thresholds,
) -> anyhow::Result<u8> {
    let mut state = WatchState {
        label: poller.label.clone(),
        panel: Panel::Sessions,
        window: None,
        assessment: None,
        blind: None,
        interval,
        notice: None,
        history: crate::commands::history::History::for_watch(interval),
        replay: !poller.is_live(),
        scroll: 0,
        scroll_max: std::cell::Cell::new(0),
    };
    let result = if std::io::stdout().is_terminal() {
        run_terminal(&mut poller, &mut state, thresholds).await
    } else {
        run_plain(&mut poller, &mut state, thresholds).await
    };
    poller.close().await;
    result.map(|_| 0)
}

async fn run_plain(
    poller: &mut Poller,
    state: &mut WatchState,
    thresholds: &Thresholds,
) -> anyhow::Result<()> {
    let live = poller.is_live();
    loop {
        // A stop asked for while a sample is in flight (a frozen server) ends watch too.
        let Some(polled) = crate::signals::unless_stopped(poller.poll()).await else {
            return Ok(());
        };
        state.notice = poller.full_server().map(str::to_string);
        let wait = match polled {
            Poll::End => return Ok(()),
            Poll::Failed(e) => anyhow::bail!("{e}"),
            Poll::Snapshot(s) => {
                state.update(*s, thresholds);
                state.interval
            }
            Poll::Blind {
                since,
                error,
                retry_in,
            } => {
                state.blind = Some((since.as_secs_f64(), error, retry_in.as_secs()));
                retry_in.max(state.interval)
            }
        };
        let mut lines = frame(state, thresholds, 200, 200);
        // No keys to press in a file or a pipe: no legend.
        lines.pop();
        let mut block = lines.join("\n");
        block.push_str("\n---\n");
        let mut out = std::io::stdout().lock();
        match out.write_all(block.as_bytes()).and_then(|_| out.flush()) {
            // The reader went away (`spiral watch | head`): that ends the watch, quietly.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other?,
        }
        drop(out);
        if live {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = crate::signals::stopped() => return Ok(()),
            }
        }
    }
}

async fn run_terminal(
    poller: &mut Poller,
    state: &mut WatchState,
    thresholds: &Thresholds,
) -> anyhow::Result<()> {
    use crossterm::event::{Event, EventStream, KeyCode, KeyEventKind, KeyModifiers};
    use futures_util::StreamExt;
    let _guard = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut next_poll = tokio::time::Instant::now();
    let mut ended = false;
    loop {
        let (w, h) = crossterm::terminal::size()
            .map(|(w, h)| (w as usize, h as usize))
            .unwrap_or((80, 24));
        draw(&frame(state, thresholds, w, h), h)?;
        tokio::select! {
            _ = tokio::time::sleep_until(next_poll), if !ended => {
                // While the sample is in flight (up to the query timeout on a frozen
                // server), q, Esc, Ctrl-C and signals still end watch at once.
                let polled = tokio::select! {
                    p = poller.poll() => p,
                    _ = quit_key(&mut events) => return Ok(()),
                    _ = crate::signals::stopped() => return Ok(()),
                };
                state.notice = poller.full_server().map(str::to_string);
                match polled {
                    Poll::Snapshot(s) => {
                        state.update(*s, thresholds);
                        next_poll = tokio::time::Instant::now() + state.interval;
                    }
                    Poll::Blind { since, error, retry_in } => {
                        state.blind = Some((since.as_secs_f64(), error, retry_in.as_secs()));
                        next_poll = tokio::time::Instant::now() + retry_in.max(state.interval);
                    }
                    // A replay holds its last frame until the user quits.
                    Poll::End => ended = true,
                    Poll::Failed(e) => anyhow::bail!("{e}"),
                }
            }
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => match k.code {
                    KeyCode::Char('q') | KeyCode::Esc => return Ok(()),
                    KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => return Ok(()),
                    KeyCode::Char(c) => {
                        if let Some(p) = Panel::from_key(c) {
                            state.panel = p;
                            state.scroll = 0;
                        }
                    }
                    KeyCode::Down => {
                        state.scroll = (state.scroll + 1).min(state.scroll_max.get());
                    }
                    KeyCode::Up => state.scroll = state.scroll.saturating_sub(1),
                    KeyCode::PageDown => {
                        state.scroll = (state.scroll + 10).min(state.scroll_max.get());
                    }
                    KeyCode::PageUp => state.scroll = state.scroll.saturating_sub(10),
                    KeyCode::Home => state.scroll = 0,
                    _ => {}
                },
                // A resize just redraws at the new size on the next turn of the loop.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
            _ = crate::signals::stopped() => return Ok(()),
        }
    }
}

/// Resolves when the user presses q, Esc or Ctrl-C (or input ends); other keys are dropped.
async fn quit_key(events: &mut crossterm::event::EventStream) {
    use crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers};
    use futures_util::StreamExt;
    while let Some(ev) = events.next().await {
        if ev.is_err() {
            // The main loop reports input errors; here, just stop listening.
            return std::future::pending().await;
        }
        if let Ok(Event::Key(k)) = ev
            && k.kind != KeyEventKind::Release
            && (matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                || (k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL)))
        {
            return;
        }
    }
}
