//! The Windows side of `platform`. No Windows toolchain can be installed on the machines
//! that build spiral, so this file is compiled only on Windows: the README says what is
//! unverified there.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use super::Stop;

pub(super) const TERMINATE_NAME: &str = "Ctrl-Break";
pub(super) const HANGUP_NAME: &str = "the console closing";

/// The console events that ask spiral to stop.
pub struct StopSignals {
    c: tokio::signal::windows::CtrlC,
    brk: tokio::signal::windows::CtrlBreak,
    close: tokio::signal::windows::CtrlClose,
}

impl StopSignals {
    /// Must be called inside a tokio runtime.
    pub fn install() -> std::io::Result<StopSignals> {
        Ok(StopSignals {
            c: tokio::signal::windows::ctrl_c()?,
            brk: tokio::signal::windows::ctrl_break()?,
            close: tokio::signal::windows::ctrl_close()?,
        })
    }

    /// The next stop request.
    pub async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.c.recv() => Stop::Interrupt,
            _ = self.brk.recv() => Stop::Terminate,
            _ = self.close.recv() => Stop::Hangup,
        }
    }
}

/// The user's profile directory.
pub fn home_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("USERPROFILE").map(PathBuf::from)
}

/// libpq on Windows reads `%APPDATA%\postgresql\pgpass.conf`.
pub fn default_pgpass(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("APPDATA").map(|d| PathBuf::from(d).join("postgresql").join("pgpass.conf"))
}

/// libpq does not check the permissions of pgpass.conf on Windows: neither do we.
pub fn readable_by_others(_meta: &Metadata) -> bool {
    false
}

/// Permission bits do not exist on Windows; tests that need them are Unix-only.
pub fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// USERNAME is always set on Windows; there is no password database to fall back to.
pub fn login_name() -> Option<String> {
    None
}
