//! Ctrl-C, SIGTERM and SIGHUP: one of them ends the command promptly with what it has.
//!
//! The signals are caught on a thread of their own, so they are seen even while the
//! command's thread waits on a sample that will never come back (a frozen server) or reads
//! a file. The first one raises a flag that every wait in the program watches (`stopped`),
//! so the command stops, writes what it has (a capture, a partial assessment) and restores
//! the terminal. A listener that started after the signal still sees it, which is what
//! lost Ctrl-Cs pressed while a sample was in flight before. A second signal, or 5 s without
//! the graceful stop finishing, means it is not happening: the terminal is restored and the
//! process exits at once (code 3).

use std::sync::Once;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use crate::platform::Stop;

static REQUESTED: AtomicBool = AtomicBool::new(false);
/// Wakes every `stopped()` waiter, on whichever runtime it runs.
static WAKE: tokio::sync::Notify = tokio::sync::Notify::const_new();
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// Set while `watch` has the terminal in raw mode on the alternate screen.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();
/// How long a graceful stop may take before the process ends regardless.
const GRACE: Duration = Duration::from_secs(5);

/// Starts catching SIGINT, SIGTERM and SIGHUP. Without it (e.g. for `kill`, which must
/// stop dead on Ctrl-C) the default actions apply.
pub fn install() {
    INSTALL.call_once(|| {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("spiral-signals".into())
            .spawn(move || listen(ready_tx));
        if spawned.is_ok() {
            // Wait until the handlers are in place: a signal sent right after start must
            // not fall back to the default action half-way through.
            let _ = ready_rx.recv_timeout(Duration::from_secs(2));
        }
    });
}

fn listen(ready: std::sync::mpsc::Sender<()>) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    rt.block_on(async move {
        let Ok(mut signals) = crate::platform::StopSignals::install() else {
            let _ = ready.send(());
            return;
        };
        let _ = ready.send(());
        // Armed by the first signal: a graceful stop takes well under this (assess, write,
        // close with a 1 s limit); past it the command's thread is stuck (a blocking read
        // of a FIFO given as --replay, say) and the process ends anyway.
        let grace = tokio::time::sleep(Duration::MAX);
        tokio::pin!(grace);
        loop {
            let which = tokio::select! {
                stop = signals.next() => stop as i32 + 1,
                _ = &mut grace, if requested() => {
                    stop_now("did not stop within 5 s of the signal; stopping now");
                }
            };
            // The first signal names the stop; it is stored before the flag is raised.
            let _ = SIGNAL.compare_exchange(0, which, Ordering::SeqCst, Ordering::SeqCst);
            if REQUESTED.swap(true, Ordering::SeqCst) {
                stop_now("stopped by a second signal");
            }
            grace.as_mut().reset(tokio::time::Instant::now() + GRACE);
            WAKE.notify_waiters();
        }
    });
}

/// Ends the process at once, giving the terminal back first.
fn stop_now(why: &str) -> ! {
    restore_terminal();
    eprintln!("spiral: {why}");
    std::process::exit(i32::from(crate::app::UNKNOWN));
}

/// Whether a stop was asked for.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// The signal that asked for the stop, in words.
pub fn name() -> &'static str {
    // Stored as the `Stop` variant plus one, so that 0 means "none yet".
    match SIGNAL.load(Ordering::SeqCst) {
        2 => Stop::Terminate.name(),
        3 => Stop::Hangup.name(),
        _ => Stop::Interrupt.name(),
    }
}

/// Resolves once a stop is asked for (at once if it already was). Unlike a fresh signal
/// listener, it cannot miss a signal that arrived before the wait began.
pub async fn stopped() {
    loop {
        let wake = WAKE.notified();
        tokio::pin!(wake);
        // Registered before the flag is read, so a signal in between still wakes us.
        wake.as_mut().enable();
        if requested() {
            return;
        }
        wake.await;
    }
}

/// Runs `work` unless a stop is asked for first; None when it was cut short.
pub async fn unless_stopped<T>(work: impl std::future::Future<Output = T>) -> Option<T> {
    if requested() {
        return None;
    }
    tokio::select! {
        out = work => Some(out),
        _ = stopped() => None,
    }
}

/// Marks the terminal as taken over (raw mode, alternate screen) or given back.
pub fn terminal_taken(taken: bool) {
    TERMINAL_TAKEN.store(taken, Ordering::SeqCst);
}

/// Gives the terminal back if `watch` still holds it.
pub fn restore_terminal() {
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let mut out = std::io::stdout();
        let _ = crossterm::execute!(
            out,
            crossterm::cursor::Show,
            crossterm::terminal::LeaveAlternateScreen
        );
        let _ = crossterm::terminal::disable_raw_mode();
    }
}
