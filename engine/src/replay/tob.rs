//! `--tob-out`: one CSV row of top of book after every applied depth diff.

use crate::book::L2Book;
use crate::instrument::InstrumentSpec;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Writes `symbol,update_id,bid_px,bid_qty,ask_px,ask_qty` rows in plain decimal text.
pub struct TobWriter<W: Write> {
    out: W,
    row: String,
    /// First write error, reported at the end (a replay does not stop on it).
    pub error: Option<io::Error>,
    /// Rows written.
    pub rows: u64,
}

impl<W: Write> std::fmt::Debug for TobWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TobWriter")
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl<W: Write> TobWriter<W> {
    /// Writes the header line.
    pub fn new(mut out: W) -> TobWriter<W> {
        let error = out
            .write_all(b"symbol,update_id,bid_px,bid_qty,ask_px,ask_qty\n")
            .err();
        TobWriter {
            out,
            row: String::with_capacity(128),
            error,
            rows: 0,
        }
    }

    /// Appends the row for `book` after the diff ending at `update_id`; an empty side
    /// leaves its two fields empty.
    pub fn write_row(&mut self, spec: &InstrumentSpec, book: &L2Book, update_id: u64) {
        if self.error.is_some() {
            return;
        }
        self.row.clear();
        let _ = write!(self.row, "{},{}", spec.symbol, update_id);
        for level in [book.best_bid(), book.best_ask()] {
            self.row.push(',');
            if let Some(l) = level {
                let _ = spec.price.write(&mut self.row, l.price.0);
                self.row.push(',');
                let _ = spec.qty.write(&mut self.row, l.qty.0);
            } else {
                self.row.push(',');
            }
        }
        self.row.push('\n');
        self.rows += 1;
        if let Err(e) = self.out.write_all(self.row.as_bytes()) {
            self.error = Some(e);
        }
    }

    /// Flushes and returns the first error, if any.
    pub fn finish(mut self) -> io::Result<u64> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()?;
        Ok(self.rows)
    }
}
