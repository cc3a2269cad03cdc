//! Recorded sessions as a stream of frames: the collector format and cryptofeed captures.
//!
//! - **collector**: one frame per line, `<local_receive_ns> <raw json>`, plain or `.gz`;
//!   exactly one line per file is the bare REST snapshot `{"lastUpdateId":...}`.
//! - **cryptofeed** (`X.ws.1.0` + sibling `X.http.0.0`): websocket lines
//!   `<unix_seconds>: <raw frame>` and REST lines `<url> -> <unix_seconds>: <body>`, merged
//!   here by timestamp so snapshots land where they were received.
//!
//! Lines are read into one reusable buffer; frames are handed out as mutable slices of it,
//! because simd-json parses in place.

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A recording could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The file could not be opened or read.
    #[error("cannot read {path}")]
    Io {
        /// File involved.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: io::Error,
    },
    /// The file is not in a format we know.
    #[error("{path}: not a collector (`<ns> <json>`) or cryptofeed (`X.ws.1.0`) recording")]
    UnknownFormat {
        /// File involved.
        path: PathBuf,
    },
}

/// Which layout a recording has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordingFormat {
    /// `<local_ns> <json>` lines.
    Collector,
    /// cryptofeed `X.ws.1.0` with optional `X.http.0.0`.
    Cryptofeed,
}

/// One frame of a recording, valid until the next call to [`RecordingSource::next_frame`].
#[derive(Debug)]
pub struct Frame<'a> {
    /// Local receive time, ns since the Unix epoch.
    pub local_ns: u64,
    /// True for a REST depth snapshot.
    pub is_snapshot: bool,
    /// Symbol the snapshot is for, when the recording names it (cryptofeed URLs do).
    pub snapshot_symbol: Option<&'a str>,
    /// The raw JSON, parsed in place by the feed parser.
    pub json: &'a mut [u8],
}

/// A REST snapshot from a cryptofeed `.http` file.
#[derive(Debug)]
struct RestLine {
    local_ns: u64,
    symbol: String,
    body: Vec<u8>,
}

/// Reads one recording frame by frame.
pub struct RecordingSource {
    path: PathBuf,
    format: RecordingFormat,
    reader: Box<dyn BufRead + Send>,
    line: Vec<u8>,
    /// A websocket line read ahead and not yet returned: (local ns, offset of its JSON).
    held: Option<(u64, usize)>,
    eof: bool,
    rest: std::collections::VecDeque<RestLine>,
    rest_body: Vec<u8>,
    rest_symbol: String,
    /// Lines that were not frames (connect lines, outgoing frames, blank or broken lines).
    pub skipped_lines: u64,
}

impl std::fmt::Debug for RecordingSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordingSource")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl RecordingSource {
    /// Opens a recording, detecting its format.
    pub fn open(path: &Path) -> Result<RecordingSource, RecordingError> {
        let format = detect_format(path)?;
        let rest = match format {
            RecordingFormat::Cryptofeed => match cryptofeed_http_sibling(path) {
                Some(http) => read_rest_file(&http)?,
                None => Vec::new(),
            },
            RecordingFormat::Collector => Vec::new(),
        };
        Ok(RecordingSource {
            path: path.into(),
            format,
            reader: open_text(path)?,
            line: Vec::with_capacity(64 * 1024),
            held: None,
            eof: false,
            rest: rest.into(),
            rest_body: Vec::new(),
            rest_symbol: String::new(),
            skipped_lines: 0,
        })
    }

    /// The file being read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its layout.
    pub fn format(&self) -> RecordingFormat {
        self.format
    }

    /// Reads websocket lines until one is a frame; leaves it in `self.held`.
    fn read_ahead(&mut self) -> Result<(), RecordingError> {
        while self.held.is_none() && !self.eof {
            self.line.clear();
            let n = self
                .reader
                .read_until(b'\n', &mut self.line)
                .map_err(|source| RecordingError::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if n == 0 {
                self.eof = true;
                break;
            }
            while matches!(self.line.last(), Some(b'\n' | b'\r')) {
                self.line.pop();
            }
            self.held = match self.format {
                RecordingFormat::Collector => split_collector(&self.line),
                RecordingFormat::Cryptofeed => split_cryptofeed(&self.line),
            };
            if self.held.is_none() {
                self.skipped_lines += 1;
            }
        }
        Ok(())
    }

    /// The next frame in receive order, or `None` at the end.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, RecordingError> {
        self.read_ahead()?;
        let rest_first = match (self.rest.front(), self.held) {
            (Some(r), Some((ws_ns, _))) => r.local_ns <= ws_ns,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if let Some(r) = rest_first.then(|| self.rest.pop_front()).flatten() {
            self.rest_body = r.body;
            self.rest_symbol = r.symbol;
            return Ok(Some(Frame {
                local_ns: r.local_ns,
                is_snapshot: true,
                snapshot_symbol: Some(&self.rest_symbol),
                json: &mut self.rest_body,
            }));
        }
        let Some((local_ns, json_start)) = self.held.take() else {
            return Ok(None);
        };
        let json = &mut self.line[json_start..];
        let is_snapshot = is_snapshot_json(json);
        Ok(Some(Frame {
            local_ns,
            is_snapshot,
            snapshot_symbol: None,
            json,
        }))
    }
}

fn open_text(path: &Path) -> Result<Box<dyn BufRead + Send>, RecordingError> {
    let file = File::open(path).map_err(|source| RecordingError::Io {
        path: path.into(),
        source,
    })?;
    let gz = path.extension().is_some_and(|e| e == "gz");
    Ok(if gz {
        Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, file))
    })
}

/// The `X.http.0.0` beside a cryptofeed `X.ws.1.0`, if there is one.
pub fn cryptofeed_http_sibling(ws_path: &Path) -> Option<PathBuf> {
    let name = ws_path.file_name()?.to_str()?;
    let stem = name.split(".ws.").next()?;
    let sibling = ws_path.with_file_name(format!("{stem}.http.0.0"));
    sibling.exists().then_some(sibling)
}

/// Parses `<unix seconds with fraction>` into ns without going through `f64`.
pub fn unix_seconds_to_ns(text: &str) -> Option<u64> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let secs: u64 = whole.parse().ok()?;
    let mut frac_ns: u64 = 0;
    let mut digits = 0;
    for b in frac.bytes().take(9) {
        if !b.is_ascii_digit() {
            return None;
        }
        frac_ns = frac_ns * 10 + u64::from(b - b'0');
        digits += 1;
    }
    for _ in digits..9 {
        frac_ns *= 10;
    }
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// Splits a cryptofeed REST line `<url> -> <ts>: <body>` into (url, ts_ns, body).
pub fn split_rest_line(line: &str) -> Option<(&str, u64, &str)> {
    let (url, rest) = line.split_once(" -> ")?;
    let (ts, body) = rest.split_once(": ")?;
    Some((url, unix_seconds_to_ns(ts)?, body))
}

/// The `symbol=` query parameter of a REST URL, upper case.
pub fn url_symbol(url: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("symbol="))
        .map(str::to_ascii_uppercase)
}

fn read_rest_file(path: &Path) -> Result<Vec<RestLine>, RecordingError> {
    let mut text = String::new();
    open_text(path)?
        .read_to_string(&mut text)
        .map_err(|source| RecordingError::Io {
            path: path.into(),
            source,
        })?;
    let mut out = Vec::new();
    for line in text.lines() {
        let Some((url, local_ns, body)) = split_rest_line(line) else {
            continue;
        };
        if !is_snapshot_json(body.trim_start().as_bytes()) {
            continue;
        }
        let Some(symbol) = url_symbol(url) else {
            continue;
        };
        out.push(RestLine {
            local_ns,
            symbol,
            body: body.as_bytes().to_vec(),
        });
    }
    out.sort_by_key(|r| r.local_ns);
    Ok(out)
}

/// Detects the layout from the file name and first line.
pub fn detect_format(path: &Path) -> Result<RecordingFormat, RecordingError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if name.contains(".ws.") {
        return Ok(RecordingFormat::Cryptofeed);
    }
    let mut first = Vec::new();
    open_text(path)?
        .take(64 * 1024)
        .read_until(b'\n', &mut first)
        .map_err(|source| RecordingError::Io {
            path: path.into(),
            source,
        })?;
    let digits = first.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && first.get(digits) == Some(&b' ') {
        Ok(RecordingFormat::Collector)
    } else {
        Err(RecordingError::UnknownFormat { path: path.into() })
    }
}

/// True when the JSON is a bare REST depth snapshot.
pub fn is_snapshot_json(json: &[u8]) -> bool {
    json.starts_with(b"{\"lastUpdateId\"")
}

/// `<ns> <json>` → (ns, offset of json).
fn split_collector(line: &[u8]) -> Option<(u64, usize)> {
    let space = line.iter().position(|&b| b == b' ')?;
    let ns = std::str::from_utf8(&line[..space]).ok()?.parse().ok()?;
    let start = space + 1;
    (line.get(start) == Some(&b'{')).then_some((ns, start))
}

/// `<unix seconds>: <json>` → (ns, offset of json); connect and outgoing lines are `None`.
fn split_cryptofeed(line: &[u8]) -> Option<(u64, usize)> {
    if line.starts_with(b"wss://") || line.starts_with(b"ws://") {
        return None;
    }
    let colon = line.iter().position(|&b| b == b':')?;
    let ns = unix_seconds_to_ns(std::str::from_utf8(&line[..colon]).ok()?)?;
    let start = colon + 2;
    (line.get(start) == Some(&b'{')).then_some((ns, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines() {
        assert_eq!(split_collector(b"123 {\"a\":1}"), Some((123, 4)));
        assert_eq!(split_collector(b"12x {}"), None);
        assert_eq!(
            split_cryptofeed(b"1633998512.0633569: {\"x\":1}"),
            Some((1_633_998_512_063_356_900, 20))
        );
        assert_eq!(split_cryptofeed(b"wss://stream <-> 1633998511.1"), None);
        assert_eq!(unix_seconds_to_ns("1.5"), Some(1_500_000_000));
        assert_eq!(unix_seconds_to_ns("x"), None);
        assert_eq!(
            split_rest_line(
                "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000 -> 1.25: {}"
            ),
            Some((
                "https://api.binance.com/api/v3/depth?symbol=NKNUSDT&limit=1000",
                1_250_000_000,
                "{}"
            ))
        );
        assert_eq!(
            url_symbol("https://x/depth?symbol=nknusdt&limit=1"),
            Some("NKNUSDT".into())
        );
    }
}
