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

/// The longest header line read: a real one is a few hundred bytes.
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// The longest snapshot line read. Query text is cut to 500 characters by the samplers,
/// so even 20,000 sessions stay well under this; `/dev/zero` or a binary file does not.
pub const MAX_LINE_BYTES: usize = 32 << 20;
/// The most snapshots one replay reads. The window keeps a few numbers per snapshot, so
/// this bounds its memory (a million is about a month of 2-second samples).
pub const MAX_SNAPSHOTS: u64 = 1_000_000;
/// Skip notes quote at most this much of the parser's message (which may quote the line).
const MAX_REASON_CHARS: usize = 160;

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
    #[error(
        "capture {path} is gzip-compressed: decompress it first (gunzip -k FILE) and replay the .jsonl"
    )]
    Gzip { path: PathBuf },
    #[error("{path}:1: not a spiral capture header ({reason})")]
    BadHeader { path: PathBuf, reason: String },
    #[error(
        "{path}:1: capture format {found} is newer than this spiral understands ({FORMAT_VERSION})"
    )]
    TooNew { path: PathBuf, found: u64 },
    #[error(
        "{path}:1: capture format version {found} is not valid (versions run from 1 to {FORMAT_VERSION})"
    )]
    BadVersion { path: PathBuf, found: String },
    #[error(
        "{path}:{line}: line is longer than {limit} (a damaged capture, or not a capture at all); spiral stops reading here"
    )]
    LineTooLong {
        path: PathBuf,
        line: u64,
        limit: String,
    },
    #[error(
        "{path}:{line}: more than {MAX_SNAPSHOTS} snapshots; split the capture (e.g. with split -l) and replay a part"
    )]
    TooManySnapshots { path: PathBuf, line: u64 },
    #[error(
        "{path}:{line}: snapshot taken at {taken_at} is not after the previous one ({previous}); snapshots must be in time order"
    )]
    OutOfOrder {
        path: PathBuf,
        line: u64,
        taken_at: DateTime<Utc>,
        previous: DateTime<Utc>,
    },
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

/// What one bounded line read found.
enum LineRead {
    Eof,
    Line,
    TooLong,
}

/// Reads one line into `buf` (cleared first), never buffering more than `limit` bytes:
/// a file without newlines (`/dev/zero`, a binary) must not be read into memory whole.
fn read_line_bounded(
    reader: &mut Box<dyn BufRead>,
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<LineRead> {
    use std::io::Read as _;
    buf.clear();
    let n = reader
        .by_ref()
        .take(limit as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(LineRead::Eof);
    }
    let content = buf.len() - usize::from(buf.ends_with(b"\n"));
    if content > limit {
        return Ok(LineRead::TooLong);
    }
    Ok(LineRead::Line)
}

fn size_text(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
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
    last_taken_at: Option<DateTime<Utc>>,
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
        let read_error = |path: &Path, source| CaptureError::Read {
            path: path.to_path_buf(),
            line: 1,
            source,
        };
        // A gzipped capture (a ticket attachment) is common enough to name.
        let start = reader.fill_buf().map_err(|e| read_error(&path, e))?;
        if start.starts_with(&[0x1f, 0x8b]) {
            return Err(CaptureError::Gzip { path });
        }
        let mut buf = Vec::new();
        match read_line_bounded(&mut reader, &mut buf, MAX_HEADER_BYTES)
            .map_err(|e| read_error(&path, e))?
        {
            LineRead::Eof => return Err(CaptureError::Empty { path }),
            LineRead::TooLong => {
                return Err(CaptureError::LineTooLong {
                    path,
                    line: 1,
                    limit: size_text(MAX_HEADER_BYTES),
                });
            }
            LineRead::Line => {}
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
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
            last_taken_at: None,
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
            self.line_no += 1;
            let read = read_line_bounded(&mut self.reader, &mut self.buf, MAX_LINE_BYTES).map_err(
                |source| CaptureError::Read {
                    path: self.path.clone(),
                    line: self.line_no,
                    source,
                },
            )?;
            match read {
                LineRead::Eof => {
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
                LineRead::TooLong => {
                    return Err(CaptureError::LineTooLong {
                        path: self.path.clone(),
                        line: self.line_no,
                        limit: size_text(MAX_LINE_BYTES),
                    });
                }
                LineRead::Line => {}
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
                    // Rates divide by the time between snapshots: equal or reversed times
                    // would turn into infinite or negative rates, so they are refused.
                    if let Some(previous) = self.last_taken_at
                        && snap.taken_at <= previous
                    {
                        return Err(CaptureError::OutOfOrder {
                            path: self.path.clone(),
                            line: self.line_no,
                            taken_at: snap.taken_at,
                            previous,
                        });
                    }
                    if self.yielded >= MAX_SNAPSHOTS {
                        return Err(CaptureError::TooManySnapshots {
                            path: self.path.clone(),
                            line: self.line_no,
                        });
                    }
                    self.last_taken_at = Some(snap.taken_at);
                    snap.sanitize();
                    self.yielded += 1;
                    return Ok(Some(snap));
                }
                Err(e) => {
                    // The parser's message can quote the line itself (escape sequences,
                    // megabytes of it): cleaned and cut before it becomes a note.
                    let reason = if truncated && e.is_eof() {
                        "truncated (the capture was cut off mid-line)".to_string()
                    } else {
                        let detail = crate::sanitize::clean(&e.to_string());
                        format!(
                            "not a valid snapshot ({})",
                            crate::format::truncate(&detail, MAX_REASON_CHARS)
                        )
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
        reason: crate::format::truncate(&crate::sanitize::clean(&reason), MAX_REASON_CHARS),
    };
    let value: serde_json::Value =
        serde_json::from_slice(line).map_err(|e| bad(format!("invalid JSON: {e}")))?;
    let field = value
        .get("spiral_capture")
        .ok_or_else(|| bad("no \"spiral_capture\" version field".into()))?;
    let bad_version = || CaptureError::BadVersion {
        path: path.to_path_buf(),
        // Shown as the reader typed it, minus anything a terminal would act on.
        found: match field {
            serde_json::Value::String(s) => format!(
                "\"{}\"",
                crate::format::truncate(&crate::sanitize::clean(s), 40)
            ),
            serde_json::Value::Array(_) => "(a list)".to_string(),
            serde_json::Value::Object(_) => "(an object)".to_string(),
            other => other.to_string(),
        },
    };
    // Zero, negative, fractional or beyond 32 bits: not a version any spiral wrote.
    let version = field
        .as_u64()
        .filter(|v| (1..=u64::from(u32::MAX)).contains(v))
        .ok_or_else(bad_version)?;
    if version > u64::from(FORMAT_VERSION) {
        return Err(CaptureError::TooNew {
            path: path.to_path_buf(),
            found: version,
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
    /// Starts a capture in a file that did not exist (never truncates one).
    pub fn create_new(path: &Path, header: &Header) -> anyhow::Result<CaptureWriter> {
        use anyhow::Context as _;
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(path)
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

/// A capture written beside its destination and moved into place when done, so an
/// earlier capture at that path (an incident's evidence) is never emptied or half
/// overwritten: a failed connection leaves it as it was.
pub struct PendingCapture {
    temp: PathBuf,
    dest: PathBuf,
    replace: bool,
}

impl PendingCapture {
    /// Refuses an existing `dest` unless `replace` (--force). Nothing is connected yet, so
    /// a wrong path costs the server nothing.
    pub fn create(dest: &Path, replace: bool) -> anyhow::Result<(PendingCapture, File)> {
        use anyhow::Context as _;
        if !replace && std::fs::symlink_metadata(dest).is_ok() {
            anyhow::bail!(
                "{} already exists; spiral does not overwrite a capture (choose another name, or pass --force to replace it)",
                dest.display()
            );
        }
        let name = dest
            .file_name()
            .ok_or_else(|| anyhow::anyhow!("{} is not a file name", dest.display()))?;
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut attempt = 0u32;
        loop {
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}-{attempt}.partial", std::process::id()));
            let temp = dir.join(temp_name);
            match File::options().write(true).create_new(true).open(&temp) {
                Ok(file) => {
                    return Ok((
                        PendingCapture {
                            temp,
                            dest: dest.to_path_buf(),
                            replace,
                        },
                        file,
                    ));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot create capture {}", dest.display()));
                }
            }
        }
    }

    /// Moves the finished capture into place. Without `replace`, a file that appeared at
    /// the destination meanwhile is kept, and so is the new capture, under its temp name.
    pub fn finish(self) -> anyhow::Result<PathBuf> {
        let result = if self.replace {
            std::fs::rename(&self.temp, &self.dest)
        } else {
            // A hard link fails when the destination exists, where rename would replace it.
            std::fs::hard_link(&self.temp, &self.dest)
                .and_then(|_| std::fs::remove_file(&self.temp))
        };
        match result {
            Ok(()) => Ok(self.dest),
            Err(e) => anyhow::bail!(
                "cannot move the capture to {} ({e}); it is kept as {}",
                self.dest.display(),
                self.temp.display()
            ),
        }
    }

    /// Deletes the unfinished file (nothing was captured).
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// A new capture file in `dir` named after `stem`, never an existing one: `-2`, `-3`, ...
/// are appended when the name is taken (two captures in the same second).
pub fn create_unique(
    dir: &Path,
    stem: &str,
    header: &Header,
) -> anyhow::Result<(PathBuf, CaptureWriter)> {
    for n in 1..=1000u32 {
        let name = if n == 1 {
            format!("{stem}.jsonl")
        } else {
            format!("{stem}-{n}.jsonl")
        };
        let path = dir.join(name);
        match File::options().write(true).create_new(true).open(&path) {
            Ok(file) => {
                let writer = CaptureWriter::new(Box::new(file), header)?;
                return Ok((path, writer));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => anyhow::bail!("cannot create capture {}: {e}", path.display()),
        }
    }
    anyhow::bail!(
        "cannot find a free capture name for {stem} in {}",
        dir.display()
    )
}
