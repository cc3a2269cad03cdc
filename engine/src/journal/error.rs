//! Journal errors: every message names the file, and for damage the byte offset.

use super::codec::DecodeError;
use std::path::PathBuf;

/// Why the journal cannot be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An I/O operation failed.
    #[error("journal {}: cannot {op}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file does not start with the journal header.
    #[error("{} is not an obi journal (bad file header)", path.display())]
    NotAJournal {
        /// The file.
        path: PathBuf,
    },
    /// The file is a journal of a format this build cannot read.
    #[error("journal {} has file format {version}; this build reads format 1", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Format found.
        version: u32,
    },
    /// A damaged or out-of-sequence record with valid records after it: not a torn tail.
    /// The file is left as it was.
    #[error(
        "journal {} is corrupt at byte {offset} (record {record_number}): {reason}; a valid \
         record follows at byte {next_valid_offset}, so this is damage in the middle, not a \
         torn tail. {valid_records_before} records before it are intact. The file was not \
         modified: keep a copy for inspection, and do not trade until the state is \
         reconciled with the venue",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record.
        offset: u64,
        /// Its number in the file, counting from 1.
        record_number: u64,
        /// What is wrong with it.
        reason: DecodeError,
        /// Offset of the next decodable record (equal to `offset` for a sequence break).
        next_valid_offset: u64,
        /// Valid records before the damage.
        valid_records_before: u64,
    },
    /// The writer thread failed earlier (the first error is kept).
    #[error("journal writer failed: {0}")]
    Writer(String),
}
