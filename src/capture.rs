//! Capture files: JSON Lines, a header then one snapshot per line.
//!
//! Written one flushed line per sample, so Ctrl-C or a crash loses at most the sample in
//! flight; read as a stream, so replaying a capture of any length takes memory for one line
//! at a time. A corrupt line (a torn write, a hand edit) is reported with its line number
//! and skipped: the rest of the file is still evidence. docs/capture-format.md documents
//! every field.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::snapshot::{Engine, Snapshot};

/// The version written in every header. Readers refuse a newer major version.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Format version; its presence also marks the line as a spiral capture header.
    pub spiral_capture: u32,
    pub engine: Engine,
    /// Always redacted: a capture is a file people attach to tickets.
    pub target: String,
    pub spiral_version: String,
    pub started_at: DateTime<Utc>,
    /// Free text, e.g. where a bundled capture's figures came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Header {
    pub fn new(engine: Engine, redacted_target: &str, started_at: DateTime<Utc>) -> Header {
        Header {
            spiral_capture: FORMAT_VERSION,
            engine,
            target: redacted_target.to_string(),
            spiral_version: env!("CARGO_PKG_VERSION").to_string(),
            started_at,
            note: None,
        }
    }
}

/// Why a capture cannot be read at all. (A bad line is a `SkippedLine`, not an error.)
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot open capture {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("capture {path} is empty")]
    Empty { path: PathBuf },
    #[error("{path}:1: not a spiral capture header ({reason})")]
    BadHeader { path: PathBuf, reason: String },
    #[error(
        "{path}:1: capture format {found} is newer than this spiral understands ({FORMAT_VERSION})"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error("{path}:{line}: read error: {source}")]
    Read {
        path: PathBuf,
        line: u64,
        source: std::io::Error,
    },
    #[error("{path}: no readable snapshot after the header{detail}")]
    NoSnapshots { path: PathBuf, detail: String },
    #[error("{path}:{line}: snapshot is for {found}, but the header says {expected}")]
    MixedEngines {
        path: PathBuf,
        line: u64,
        found: Engine,
        expected: Engine,
    },
}

/// A line that could not be read, reported to the user and skipped.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedLine {
    pub line: u64,
    pub reason: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Streams the snapshots of a capture file.
pub struct CaptureReader {
    path: PathBuf,
    reader: Box<dyn BufRead>,
    header: Header,
    line_no: u64,
    buf: Vec<u8>,
    skipped: Vec<SkippedLine>,
    yielded: u64,
}

impl CaptureReader {
    pub fn open(path: &Path) -> Result<CaptureReader, CaptureError> {
        let file = File::open(path).map_err(|source| CaptureError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_reader(path, Box::new(BufReader::with_capacity(1 << 16, file)))
    }

    pub fn from_reader(
        path: &Path,
        mut reader: Box<dyn BufRead>,
    ) -> Result<CaptureReader, CaptureError> {
        let path = path.to_path_buf();
        let mut buf = Vec::new();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|source| CaptureError::Read {
                path: path.clone(),
                line: 1,
                source,
            })?;
        if n == 0 || buf.iter().all(u8::is_ascii_whitespace) {
            return Err(CaptureError::Empty { path });
        }
        let header = parse_header(&path, &buf)?;
        Ok(CaptureReader {
            path,
            reader,
            header,
            line_no: 1,
            buf,
            skipped: Vec::new(),
            yielded: 0,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Lines skipped so far.
    pub fn skipped(&self) -> &[SkippedLine] {
        &self.skipped
    }

    /// The next readable snapshot; `Ok(None)` at the end of the file.
    pub fn next_snapshot(&mut self) -> Result<Option<Snapshot>, CaptureError> {
        loop {
            self.buf.clear();
            self.line_no += 1;
            let n = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| CaptureError::Read {
                    path: self.path.clone(),
                    line: self.line_no,
                    source,
                })?;
            if n == 0 {
                if self.yielded == 0 {
                    let detail = match self.skipped.first() {
                        Some(s) => format!(" ({} skipped; first: {s})", self.skipped.len()),
                        None => String::new(),
                    };
                    return Err(CaptureError::NoSnapshots {
                        path: self.path.clone(),
                        detail,
                    });
                }
                return Ok(None);
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let truncated = !self.buf.ends_with(b"\n");
            match serde_json::from_slice::<Snapshot>(&self.buf) {
                Ok(mut snap) => {
                    if snap.engine != self.header.engine {
                        return Err(CaptureError::MixedEngines {
                            path: self.path.clone(),
                            line: self.line_no,
                            found: snap.engine,
                            expected: self.header.engine,
                        });
                    }
                    snap.sanitize();
                    self.yielded += 1;
                    return Ok(Some(snap));
                }
                Err(e) => {
                    let reason = if truncated && e.is_eof() {
                        "truncated (the capture was cut off mid-line)".to_string()
                    } else {
                        format!("not a valid snapshot ({e})")
                    };
                    self.skipped.push(SkippedLine {
                        line: self.line_no,
                        reason,
                    });
                }
            }
        }
    }
}

fn parse_header(path: &Path, line: &[u8]) -> Result<Header, CaptureError> {
    let bad = |reason: String| CaptureError::BadHeader {
        path: path.to_path_buf(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let version = value
        .get("spiral_capture")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| bad("no \"spiral_capture\" version field".into()))?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(CaptureError::TooNew {
            path: path.to_path_buf(),
            found: version as u32,
        });
    }
    let mut header: Header = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
    // A capture is a file from outside (attached to a ticket): its header is printed too.
    crate::sanitize::clean_in_place(&mut header.target);
    crate::sanitize::clean_in_place(&mut header.spiral_version);
    for n in header.note.iter_mut() {
        crate::sanitize::clean_in_place(n);
    }
    Ok(header)
}

/// Appends snapshots to a capture file, one flushed line each.
pub struct CaptureWriter {
    out: BufWriter<Box<dyn Write>>,
}

impl CaptureWriter {
    pub fn create(path: &Path, header: &Header) -> anyhow::Result<CaptureWriter> {
        use anyhow::Context as _;
        let file = File::create(path)
            .with_context(|| format!("cannot create capture {}", path.display()))?;
        Self::new(Box::new(file), header)
    }

    pub fn new(out: Box<dyn Write>, header: &Header) -> anyhow::Result<CaptureWriter> {
        let mut w = CaptureWriter {
            out: BufWriter::new(out),
        };
        w.line(header)?;
        Ok(w)
    }

    pub fn write(&mut self, snapshot: &Snapshot) -> anyhow::Result<()> {
        self.line(snapshot)
    }

    fn line<T: Serialize>(&mut self, value: &T) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(())
    }
}
