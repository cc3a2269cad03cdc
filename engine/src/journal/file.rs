//! The journal file: a 16-byte file header, then records back to back. Opening it for
//! recovery reads every valid record, truncates a torn tail and refuses a corrupt middle.

use super::codec::{self, DecodeError, MAX_RECORD_BYTES};
use super::error::JournalError;
use super::record::Record;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// First bytes of every journal file: magic `OBIJRNL\0`, file format 1 (u32 LE), 4 zero bytes.
pub const FILE_HEADER: [u8; 16] = *b"OBIJRNL\0\x01\0\0\0\0\0\0\0";
/// Length of [`FILE_HEADER`].
pub const FILE_HEADER_BYTES: u64 = FILE_HEADER.len() as u64;

/// How the end of the journal looked when it was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TailStatus {
    /// The file ended exactly after a valid record (or was new or empty).
    Clean,
    /// The last record was incomplete or damaged and nothing valid followed it: a write
    /// cut short by a crash. The file was truncated at `offset`.
    Torn {
        /// Byte offset of the torn record; the file now ends here.
        offset: u64,
        /// Its number in the file, counting from 1.
        record_number: u64,
        /// Bytes removed.
        bytes_dropped: u64,
        /// What was wrong with it.
        reason: DecodeError,
    },
}

impl std::fmt::Display for TailStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TailStatus::Clean => f.write_str("journal ends cleanly"),
            TailStatus::Torn {
                offset,
                record_number,
                bytes_dropped,
                reason,
            } => write!(
                f,
                "journal tail torn at byte {offset} (record {record_number}): {reason}; \
                 truncated {bytes_dropped} bytes, every earlier record is intact"
            ),
        }
    }
}

/// What [`Journal::open_for_recovery`] found.
#[derive(Debug)]
pub struct Recovered {
    /// Every valid record, in file order (sequence numbers strictly +1 apart).
    pub records: Vec<Record>,
    /// Whether a torn tail was cut off.
    pub tail: TailStatus,
}

/// An open journal file, positioned for appending after its last valid record.
#[derive(Debug)]
pub struct Journal {
    file: File,
    path: PathBuf,
    len_bytes: u64,
    last_seq: u64,
}

impl Journal {
    /// Opens (creating if missing) the journal at `path` and reads it back.
    ///
    /// Every valid record is returned in order. A damaged record with nothing valid after
    /// it is a torn tail: the file is truncated there (and synced) and the result says
    /// where and why. A damaged record followed by a valid one — or valid records whose
    /// sequence numbers skip — is corruption: [`JournalError::Corrupt`] names the byte
    /// offset and record number, and the file is left untouched for inspection. Never
    /// panics on any file content.
    pub fn open_for_recovery(path: &Path) -> Result<(Journal, Recovered), JournalError> {
        let io = |op: &'static str| {
            let path = path.to_path_buf();
            move |source| JournalError::Io { path, op, source }
        };
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io("open"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("read"))?;

        let header_len = FILE_HEADER.len();
        if bytes.len() < header_len {
            // New, or a crash while the header was being written: only a prefix of ours.
            if bytes[..] != FILE_HEADER[..bytes.len()] {
                return Err(JournalError::NotAJournal {
                    path: path.to_path_buf(),
                });
            }
            file.set_len(0).map_err(io("truncate"))?;
            file.seek(SeekFrom::Start(0)).map_err(io("seek"))?;
            file.write_all(&FILE_HEADER).map_err(io("write header"))?;
            file.sync_all().map_err(io("fsync"))?;
            if !existed {
                sync_parent_dir(path).map_err(io("fsync directory"))?;
            }
            let journal = Journal {
                file,
                path: path.to_path_buf(),
                len_bytes: FILE_HEADER_BYTES,
                last_seq: 0,
            };
            let recovered = Recovered {
                records: Vec::new(),
                tail: TailStatus::Clean,
            };
            return Ok((journal, recovered));
        }
        if bytes[..8] != FILE_HEADER[..8] {
            return Err(JournalError::NotAJournal {
                path: path.to_path_buf(),
            });
        }
        if bytes[8..header_len] != FILE_HEADER[8..] {
            let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            return Err(JournalError::UnsupportedFormat {
                path: path.to_path_buf(),
                version,
            });
        }

        let scan = scan(&bytes, header_len);
        let (records, tail) = match scan.stop {
            None => (scan.records, TailStatus::Clean),
            Some(stop) => match find_valid_after(&bytes, stop.offset + 1) {
                Some(next_valid_offset) => {
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: stop.offset as u64,
                        record_number: stop.record_number,
                        reason: stop.reason,
                        next_valid_offset: next_valid_offset as u64,
                        valid_records_before: scan.records.len() as u64,
                    });
                }
                None if matches!(stop.reason, DecodeError::OutOfSequence { .. }) => {
                    // A whole, checksummed record out of sequence is never a torn write.
                    return Err(JournalError::Corrupt {
                        path: path.to_path_buf(),
                        offset: stop.offset as u64,
                        record_number: stop.record_number,
                        reason: stop.reason,
                        next_valid_offset: stop.offset as u64,
                        valid_records_before: scan.records.len() as u64,
                    });
                }
                None => {
                    let offset = stop.offset as u64;
                    file.set_len(offset).map_err(io("truncate torn tail"))?;
                    file.sync_all().map_err(io("fsync"))?;
                    let tail = TailStatus::Torn {
                        offset,
                        record_number: stop.record_number,
                        bytes_dropped: bytes.len() as u64 - offset,
                        reason: stop.reason,
                    };
                    (scan.records, tail)
                }
            },
        };
        let len_bytes = match &tail {
            TailStatus::Clean => bytes.len() as u64,
            TailStatus::Torn { offset, .. } => *offset,
        };
        file.seek(SeekFrom::Start(len_bytes)).map_err(io("seek"))?;
        let last_seq = records.last().map_or(0, |r| r.seq);
        let journal = Journal {
            file,
            path: path.to_path_buf(),
            len_bytes,
            last_seq,
        };
        Ok((journal, Recovered { records, tail }))
    }

    /// Path of the file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sequence number of the last record in the file (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// File length, bytes.
    pub fn len_bytes(&self) -> u64 {
        self.len_bytes
    }

    /// Appends already-encoded records whose last sequence number is `last_seq`.
    /// Not synced: call [`sync`](Self::sync).
    pub fn append_encoded(&mut self, bytes: &[u8], last_seq: u64) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.len_bytes += bytes.len() as u64;
        self.last_seq = last_seq;
        Ok(())
    }

    /// Encodes and appends one record (tests and cold paths). Not synced.
    pub fn append(&mut self, record: &Record) -> std::io::Result<()> {
        let mut buf = [0u8; MAX_RECORD_BYTES];
        let n = codec::encode(record, &mut buf);
        self.append_encoded(&buf[..n], record.seq)
    }

    /// Makes every appended byte durable (`fdatasync`).
    pub fn sync(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

/// Where and why reading stopped before the end.
struct Stop {
    offset: usize,
    record_number: u64,
    reason: DecodeError,
}

struct Scan {
    records: Vec<Record>,
    stop: Option<Stop>,
}

fn scan(bytes: &[u8], start: usize) -> Scan {
    let mut records = Vec::new();
    let mut off = start;
    while off < bytes.len() {
        let expected_seq = records.last().map(|r: &Record| r.seq + 1);
        let stop = |reason| Stop {
            offset: off,
            record_number: records.len() as u64 + 1,
            reason,
        };
        match codec::decode(&bytes[off..]) {
            Ok((record, size)) => {
                if expected_seq.is_some_and(|e| record.seq != e) {
                    let stop = stop(DecodeError::OutOfSequence {
                        expected: expected_seq.unwrap_or(0),
                        found: record.seq,
                    });
                    return Scan {
                        records,
                        stop: Some(stop),
                    };
                }
                records.push(record);
                off += size;
            }
            Err(reason) => {
                let stop = stop(reason);
                return Scan {
                    records,
                    stop: Some(stop),
                };
            }
        }
    }
    Scan {
        records,
        stop: None,
    }
}

/// The offset of the first decodable record at or after `from`, if any. A record found
/// there means the damage is in the middle of the journal, not at its tail.
fn find_valid_after(bytes: &[u8], from: usize) -> Option<usize> {
    let magic = codec::RECORD_MAGIC;
    let mut at = from;
    while at + magic.len() <= bytes.len() {
        let rest = &bytes[at..];
        let pos = rest.windows(magic.len()).position(|w| w == magic)?;
        let candidate = at + pos;
        if codec::decode(&bytes[candidate..]).is_ok() {
            return Some(candidate);
        }
        at = candidate + 1;
    }
    None
}

/// `fsync` of the directory holding `path`, so a created or renamed entry is durable.
pub(crate) fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}
