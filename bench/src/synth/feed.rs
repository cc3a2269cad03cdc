//! The collector side: feed lag per stream, per-stream order, and the merge of all frames into
//! one output whose local receive times strictly increase.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, Write};

use rand::Rng;

use super::config::FeedParams;
use super::dist::exponential;

/// Where a frame came from; each stream keeps its own order, as on one WebSocket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stream {
    /// `@depth@0ms` diffs.
    Depth = 0,
    /// `@bookTicker`.
    Ticker = 1,
    /// `@trade`.
    Trade = 2,
    /// The REST depth snapshot.
    Snapshot = 3,
}

/// Frames of one stream arrive at least this far apart, ns.
const MIN_STREAM_GAP_NS: u64 = 300;

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Queued {
    local_ns: u64,
    seq: u64,
    stream: Stream,
    line: String,
}

/// Lines written so far, per stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LineCounts {
    /// All lines.
    pub lines: u64,
    /// Depth diff lines.
    pub depth_diffs: u64,
    /// bookTicker lines.
    pub book_tickers: u64,
    /// Trade lines.
    pub trades: u64,
    /// Depth diff lines written before the snapshot line.
    pub diffs_before_snapshot: u64,
    /// Whether the snapshot line has been written.
    pub snapshot_written: bool,
}

/// Reorders frames by local receive time and writes `<local_ns> <json>\n` lines.
///
/// A frame pushed at exchange time `now` may be dated as early as `now - hold_back_ns` (a
/// bookTicker held until its diff batch closes), so only frames older than that are written.
#[derive(Debug)]
pub struct Collector {
    params: FeedParams,
    hold_back_ns: u64,
    heap: BinaryHeap<Reverse<Queued>>,
    seq: u64,
    last_stream_ns: [Option<u64>; 4],
    last_written_ns: u64,
    counts: LineCounts,
    line_buf: Vec<u8>,
}

impl Collector {
    /// A collector with the given lag parameters and hold-back window.
    pub fn new(params: &FeedParams, hold_back_ns: u64) -> Self {
        Self {
            params: params.clone(),
            hold_back_ns,
            heap: BinaryHeap::new(),
            seq: 0,
            last_stream_ns: [None; 4],
            last_written_ns: 0,
            counts: LineCounts::default(),
            line_buf: Vec::with_capacity(4096),
        }
    }

    /// Feed lag of one frame on `stream`: base plus exponential jitter, ns.
    pub fn lag_ns(&self, stream: Stream, rng: &mut impl Rng) -> u64 {
        let base_ms = match stream {
            Stream::Depth => self.params.depth_lag_ms,
            Stream::Ticker => self.params.ticker_lag_ms,
            Stream::Trade => self.params.trade_lag_ms,
            Stream::Snapshot => self.params.snapshot_latency_ms,
        };
        let jitter_ms = exponential(rng, self.params.lag_jitter_ms.max(1e-9));
        ((base_ms + jitter_ms) * 1e6).round() as u64
    }

    /// Queues `line` to arrive at `local_ns` or, to keep the stream in order, just after the
    /// stream's previous frame. Returns the local time given.
    pub fn push(&mut self, stream: Stream, local_ns: u64, line: String) -> u64 {
        let slot = &mut self.last_stream_ns[stream as usize];
        let local_ns = slot.map_or(local_ns, |prev| local_ns.max(prev + MIN_STREAM_GAP_NS));
        *slot = Some(local_ns);
        self.seq += 1;
        self.heap.push(Reverse(Queued {
            local_ns,
            seq: self.seq,
            stream,
            line,
        }));
        local_ns
    }

    /// Writes every queued frame that no later push can precede, given exchange time `now_ns`.
    pub fn flush_until(&mut self, now_ns: u64, out: &mut dyn Write) -> io::Result<()> {
        let horizon_ns = now_ns.saturating_sub(self.hold_back_ns);
        while self
            .heap
            .peek()
            .is_some_and(|Reverse(q)| q.local_ns <= horizon_ns)
        {
            self.write_next(out)?;
        }
        Ok(())
    }

    /// Writes everything still queued.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<LineCounts> {
        while !self.heap.is_empty() {
            self.write_next(out)?;
        }
        Ok(self.counts)
    }

    fn write_next(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let Some(Reverse(q)) = self.heap.pop() else {
            return Ok(());
        };
        // Ties across streams are broken by one nanosecond so receipt times strictly grow.
        let local_ns = q.local_ns.max(self.last_written_ns + 1);
        self.last_written_ns = local_ns;
        self.line_buf.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(self.line_buf, "{local_ns} ");
        self.line_buf.extend_from_slice(q.line.as_bytes());
        self.line_buf.push(b'\n');
        out.write_all(&self.line_buf)?;
        let c = &mut self.counts;
        c.lines += 1;
        match q.stream {
            Stream::Depth => {
                c.depth_diffs += 1;
                if !c.snapshot_written {
                    c.diffs_before_snapshot += 1;
                }
            }
            Stream::Ticker => c.book_tickers += 1,
            Stream::Trade => c.trades += 1,
            Stream::Snapshot => c.snapshot_written = true,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_in_time_and_keeps_stream_order() {
        let mut c = Collector::new(&FeedParams::default(), 10);
        let mut out = Vec::new();
        assert_eq!(c.push(Stream::Depth, 100, "d1".into()), 100);
        // Earlier than the stream's last frame: pushed just after it.
        assert_eq!(
            c.push(Stream::Depth, 50, "d2".into()),
            100 + MIN_STREAM_GAP_NS
        );
        c.push(Stream::Trade, 100, "t1".into());
        c.push(Stream::Snapshot, 60, "s".into());
        c.flush_until(65, &mut out).expect("vec write");
        assert!(out.is_empty(), "hold-back keeps frames newer than now - 10");
        let counts = c.finish(&mut out).expect("vec write");
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text, "60 s\n100 d1\n101 t1\n400 d2\n");
        assert_eq!(counts.lines, 4);
        assert_eq!(counts.diffs_before_snapshot, 0);
        assert_eq!(counts.depth_diffs, 2);
    }
}
