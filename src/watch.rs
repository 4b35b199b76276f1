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

use crate::blocking::{BlockingGraph, index};
use crate::format::{decimal, duration_ms, thousands, truncate};
use crate::poller::{Poll, Poller};
use crate::report::KeyFigures;
use crate::rules::{Assessment, evaluate};
use crate::snapshot::Snapshot;
use crate::thresholds::Thresholds;
use crate::views::View;
use crate::window::Window;

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
}

impl WatchState {
    /// Takes a new sample: the window becomes (previous, new), so changes are since the
    /// last refresh and only two snapshots are ever held.
    pub fn update(&mut self, snap: Snapshot, thresholds: &Thresholds) {
        let window = match self.window.take() {
            Some(w) => Window::from_snapshots([w.last().clone(), snap]),
            None => Some(Window::new(snap)),
        };
        self.assessment = window.as_ref().map(|w| evaluate(w, thresholds));
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
    let now = chrono::Utc::now().format("%H:%M:%S");
    lines.push(format!(
        "spiral watch {} · every {}s · {now}   [s]essions [w]aits [b]locking [c]onnections wor[k]ers com[p]iles p[l]ancache [q]uit",
        state.label,
        state.interval.as_secs_f64()
    ));
    if let Some((secs, err, retry)) = &state.blind {
        lines.push(format!(
            "!! SERVER NOT ANSWERING for {}: {err} (retrying in {retry}s; the screen below is from the last answer)",
            crate::format::duration_secs(*secs)
        ));
    }
    let (Some(w), Some(a)) = (&state.window, &state.assessment) else {
        lines.push("waiting for the first sample...".into());
        return fit(lines, width, height);
    };
    lines.push(String::new());
    if a.verdicts.is_empty() {
        lines.push("OK        no death spiral detected".into());
    }
    for v in a.verdicts.iter().take(6) {
        lines.push(format!(
            "{:<9} {:<26} {}",
            v.severity.label(),
            v.id,
            v.summary
        ));
    }
    if a.verdicts.len() > 6 {
        lines.push(format!(
            "          and {} more (spiral triage for all)",
            a.verdicts.len() - 6
        ));
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
    lines.push(String::new());
    match state.panel {
        Panel::Sessions => sessions_panel(w.last(), &mut lines),
        Panel::View(v) => {
            let report =
                crate::views::build(v, &state.label, w, a, thresholds, Vec::new(), Some(height));
            for s in &report.sections {
                lines.push(s.heading.to_uppercase());
                lines.extend(crate::render::section_lines(s, width));
                lines.push(String::new());
            }
        }
    }
    fit(lines, width, height)
}

fn top_waits(s: &Snapshot) -> String {
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for x in s
        .client_sessions()
        .filter(|x| !x.is_idle() && !x.waits_on(crate::session::WaitClass::Client))
    {
        if let Some(t) = x.wait_type.as_deref() {
            *counts.entry(t).or_default() += 1;
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

fn sessions_panel(s: &Snapshot, lines: &mut Vec<String>) {
    let g = BlockingGraph::of(s);
    let by_id = index(s);
    lines.push("LEAD BLOCKERS".into());
    if g.trees.is_empty() && g.cycles.is_empty() {
        lines.push("  none".into());
    }
    for t in g.trees.iter().take(5) {
        let who = by_id
            .get(&t.lead)
            .map(|x| {
                format!(
                    "{} {} {}",
                    x.user_or_unknown(),
                    x.host_or_unknown(),
                    x.state.label()
                )
            })
            .unwrap_or_else(|| "not visible".into());
        lines.push(format!(
            "  {:<8} blocks {:<5} depth {:<3} longest {:<8} {who}",
            t.lead,
            t.blocked_count(),
            t.depth,
            duration_ms(t.longest_wait_ms)
        ));
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
    for (ms, x) in worst.iter().take(10) {
        lines.push(format!(
            "  {:<8} {:<12} {:<20} {:<8} {:<24} {}",
            x.id,
            truncate(x.user_or_unknown(), 12),
            truncate(x.state.label(), 20),
            duration_ms(*ms),
            truncate(x.wait_type.as_deref().unwrap_or(""), 24),
            x.query.as_deref().unwrap_or("")
        ));
    }
}

fn fit(mut lines: Vec<String>, width: usize, height: usize) -> Vec<String> {
    lines.truncate(height.max(1));
    lines
        .into_iter()
        .map(|l| truncate(&l, width.max(10)))
        .collect()
}

/// Restores the terminal however watch ends, panics included.
struct TerminalGuard;

impl TerminalGuard {
    fn enter() -> std::io::Result<TerminalGuard> {
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
        let mut out = std::io::stdout();
        let _ = crossterm::execute!(
            out,
            crossterm::cursor::Show,
            crossterm::terminal::LeaveAlternateScreen
        );
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

fn draw(lines: &[String], height: usize) -> std::io::Result<()> {
    use crossterm::{cursor, queue, terminal};
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
        let wait = match poller.poll().await {
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
        let mut block = frame(state, thresholds, 200, 200).join("\n");
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
                _ = tokio::signal::ctrl_c() => return Ok(()),
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
                match poller.poll().await {
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
                        }
                    }
                    _ => {}
                },
                // A resize just redraws at the new size on the next turn of the loop.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            }
        }
    }
}
