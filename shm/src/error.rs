//! Errors of the writer side and of gauge reads.

use std::io;
use std::path::PathBuf;

/// Why a [`StatsWriter`](crate::StatsWriter) could not be created.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// A file or mapping operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done ("create", "size", "map", ...).
        op: &'static str,
        /// The stats file path (empty for anonymous mappings).
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// More instruments than the header has symbol slots for.
    #[error("{count} instruments given, the layout holds at most {max}")]
    TooManyInstruments {
        /// Instruments given.
        count: usize,
        /// [`MAX_INSTRUMENTS`](crate::layout::MAX_INSTRUMENTS).
        max: usize,
    },
    /// A symbol that does not fit the header's 32-byte ASCII slot.
    #[error("instrument symbol {symbol:?} is invalid: {reason}")]
    InvalidSymbol {
        /// The symbol as given.
        symbol: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl ShmError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
