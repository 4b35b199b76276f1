//! The Unix side of `platform`: the only file in `src/` allowed to use Unix-only APIs.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use super::Stop;

pub(super) const TERMINATE_NAME: &str = "SIGTERM";
pub(super) const HANGUP_NAME: &str = "SIGHUP";

/// The signals that ask spiral to stop, caught once installed (the default action, death,
/// no longer applies).
pub struct StopSignals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Must be called inside a tokio runtime with the IO driver on.
    pub fn install() -> std::io::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// The next stop request.
    pub async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.int.recv() => Stop::Interrupt,
            _ = self.term.recv() => Stop::Terminate,
            _ = self.hup.recv() => Stop::Hangup,
        }
    }
}

/// The user's home directory, where `.pgpass` and `.my.cnf` live.
pub fn home_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

/// libpq's default password file.
pub fn default_pgpass(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    home_dir(env).map(|h| h.join(".pgpass"))
}

/// Whether group or others may read a secrets file: libpq then ignores it, and so do we.
pub fn readable_by_others(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.is_file() && meta.permissions().mode() & 0o077 != 0
}

/// Sets a file's permission bits (tests build password files with and without 0600).
pub fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The login name of the effective user from the password database, as libpq and
/// libmysqlclient fall back to when USER and LOGNAME are unset.
pub fn login_name() -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: getpwuid_r writes into `pwd` and `buf`, both owned here and large enough as
    // declared; `result` is either null or points at `pwd`, whose strings live in `buf`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_str()
            .ok()
            .filter(|n| !n.is_empty())
            .map(String::from)
    }
}
