//! What differs between operating systems, in one place.
//!
//! On-call engineers run spiral from Linux bastions and from Windows jump hosts. Every call
//! that exists on one family only (POSIX signals, file modes, the password database) lives
//! in `unix.rs` or `windows.rs`, chosen here at compile time; the rest of the program calls
//! only the functions re-exported below, which both files provide with the same meaning.
//! `scripts/check-portable.sh` (run by CI) fails when a Unix-only API shows up anywhere
//! else in `src/`, because no Windows toolchain can be installed on these machines to
//! catch it by compiling.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;

use std::path::Path;

/// Why the user asked spiral to stop, in the terms of the platform's own signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT; on Windows CTRL_C_EVENT).
    Interrupt,
    /// A polite request to end (SIGTERM; on Windows CTRL_BREAK_EVENT).
    Terminate,
    /// The terminal went away (SIGHUP; on Windows the console window was closed).
    Hangup,
}

impl Stop {
    /// How the stop is named in messages ("stopped by Ctrl-C").
    pub fn name(self) -> &'static str {
        match self {
            Stop::Interrupt => "Ctrl-C",
            Stop::Terminate => TERMINATE_NAME,
            Stop::Hangup => HANGUP_NAME,
        }
    }
}

/// Free bytes for an unprivileged writer on the file system holding `dir` (stalk's disk
/// floor). A maintained portable crate does the asking on every platform.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}
