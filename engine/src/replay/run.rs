//! The replay driver: recordings → the same tick path the live engine runs → a report.
//!
//! Frames are fed in file order as one continuous session. The gateway side is the paper
//! venue, pumped on the same thread after every frame, so a replay is deterministic: the
//! market clock is the recording's receive time, never the wall clock. Only the timing
//! figures (throughput, latency) come from the wall clock.

use super::report::{InstrumentInfo, ReplayReport, ScaleSource};
use super::scan::stream_symbol;
use super::source::{Frame, RecordingError, RecordingFormat, RecordingSource};
use super::tob::TobWriter;
use crate::book::L2Book;
use crate::config::Config;
use crate::feed::event::MarketEvent;
use crate::instrument::{InstrumentId, InstrumentSpec, Instruments};
use crate::paper::PaperGateway;
use crate::runtime::publish::ShmPublisher;
use crate::runtime::{TickObserver, TickPath};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a replay could not do.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A recording could not be read.
    #[error(transparent)]
    Recording(#[from] RecordingError),
    /// The `--tob-out` file could not be written.
    #[error("cannot write {path}: {source}")]
    TobOut {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Replay switches beyond the config.
#[derive(Debug, Clone, Default)]
pub struct ReplayOptions {
    /// Write top of book after every applied diff here.
    pub tob_out: Option<PathBuf>,
    /// Publish stats to the config's shared-memory file while replaying.
    pub shm: bool,
    /// Leave wall-clock figures out of the report so it is byte-identical across runs.
    pub no_timing: bool,
    /// How each instrument's scale was obtained (for the report).
    pub scale_sources: Vec<ScaleSource>,
}

/// What replay hooks into the tick path: the CSV writer and the paper venue.
#[derive(Debug)]
pub struct ReplayObserver {
    tob: Option<TobWriter<Box<dyn Write + Send>>>,
    gateway: PaperGateway,
}

impl TickObserver for ReplayObserver {
    fn on_applied(&mut self, spec: &InstrumentSpec, book: &L2Book, update_id: u64) {
        if let Some(tob) = &mut self.tob {
            tob.write_row(spec, book, update_id);
        }
    }

    fn on_market(&mut self, event: &MarketEvent<'_>, book: &L2Book, ts_ns: u64) {
        self.gateway.venue.on_market(event, book, ts_ns);
    }
}

/// The tick path and the paper venue wired together on one thread: the engine as replay
/// (and the allocation test and benchmarks) drive it, one frame at a time.
#[derive(Debug)]
pub struct ReplaySession {
    tick: TickPath<ReplayObserver>,
    clock: quanta::Clock,
}

impl ReplaySession {
    /// A session for `config`; `tob_out` receives a CSV row after every applied diff.
    pub fn new(config: &Config, tob_out: Option<Box<dyn Write + Send>>) -> ReplaySession {
        let (intent_tx, intent_rx) = rtrb::RingBuffer::new(config.engine.intent_ring_capacity);
        let (report_tx, report_rx) = rtrb::RingBuffer::new(config.engine.report_ring_capacity);
        let observer = ReplayObserver {
            tob: tob_out.map(TobWriter::new),
            gateway: PaperGateway::new(
                config.paper,
                config.instruments.len(),
                intent_rx,
                report_tx,
            ),
        };
        let clock = quanta::Clock::new();
        let tick = TickPath::new(config, intent_tx, report_rx, clock.clone(), observer);
        ReplaySession { tick, clock }
    }

    /// One recorded frame: stamped at receipt, through the tick path, then the paper venue
    /// and its reports, all at market time `local_ns`.
    #[inline]
    pub fn on_frame(&mut self, json: &mut [u8], local_ns: u64, snapshot_for: Option<InstrumentId>) {
        let receipt = self.clock.raw();
        self.tick.on_frame(json, local_ns, receipt, snapshot_for);
        self.tick.observer.gateway.pump(local_ns);
        self.tick.on_reports(local_ns);
    }

    /// Ends the session: halts (cancelling working orders) and lets the venue settle.
    pub fn finish(&mut self) {
        let end_ns = self.tick.last_ts_ns();
        self.tick.halt(end_ns);
        let settle_ns = end_ns.saturating_add(60_000_000_000);
        for _ in 0..4 {
            self.tick.observer.gateway.pump(settle_ns);
            self.tick.on_reports(settle_ns);
        }
    }

    /// The tick path (counters, books, portfolio).
    pub fn tick(&self) -> &TickPath<ReplayObserver> {
        &self.tick
    }

    /// Mutable tick path (shm publishing acts on kill requests).
    pub fn tick_mut(&mut self) -> &mut TickPath<ReplayObserver> {
        &mut self.tick
    }

    /// Flushes the CSV; returns rows written.
    pub fn finish_tob(&mut self) -> Option<std::io::Result<u64>> {
        self.tick.observer.tob.take().map(TobWriter::finish)
    }
}

/// The instrument a collector file's bare snapshot belongs to: the one instrument, or the
/// symbol of the file's first stream frame.
fn snapshot_owner(
    path: &Path,
    instruments: &Instruments,
) -> Result<Option<InstrumentId>, ReplayError> {
    if instruments.len() == 1 {
        return Ok(Some(InstrumentId(0)));
    }
    let mut source = RecordingSource::open(path)?;
    if source.format() != RecordingFormat::Collector {
        return Ok(None);
    }
    while let Some(Frame {
        json, is_snapshot, ..
    }) = source.next_frame()?
    {
        if !is_snapshot {
            return Ok(stream_symbol(json).and_then(|s| instruments.lookup(s.as_bytes())));
        }
    }
    Ok(None)
}

/// Replays `paths` in order through the tick path with `config`.
pub fn run(
    config: &Config,
    paths: &[PathBuf],
    options: &ReplayOptions,
) -> Result<ReplayReport, ReplayError> {
    let tob: Option<Box<dyn Write + Send>> = match &options.tob_out {
        Some(path) => {
            let file = File::create(path).map_err(|source| ReplayError::TobOut {
                path: path.clone(),
                source,
            })?;
            Some(Box::new(BufWriter::with_capacity(1 << 20, file)))
        }
        None => None,
    };
    let mut session = ReplaySession::new(config, tob);
    // Stats are a side channel: a replay still runs (and says so) when they cannot be written.
    let mut shm = if options.shm {
        match ShmPublisher::create(config) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!(
                    "obi-engine: warning: not publishing stats to {}: {e}",
                    config.engine.shm_path.display()
                );
                None
            }
        }
    } else {
        None
    };
    let started = Instant::now();
    let mut skipped_lines = 0u64;
    for path in paths {
        let owner = snapshot_owner(path, &config.instruments)?;
        let mut source = RecordingSource::open(path)?;
        while let Some(frame) = source.next_frame()? {
            let snapshot_for = match frame.snapshot_symbol {
                Some(sym) => config.instruments.lookup(sym.as_bytes()),
                None => owner,
            };
            session.on_frame(frame.json, frame.local_ns, snapshot_for);
            if let Some(shm) = &mut shm {
                shm.maybe_publish(session.tick_mut());
            }
        }
        skipped_lines += source.skipped_lines;
    }
    session.finish();
    let elapsed = started.elapsed();
    if let Some(shm) = &mut shm {
        shm.publish(session.tick());
    }
    let tob_rows = match session.finish_tob() {
        Some(result) => Some(result.map_err(|source| ReplayError::TobOut {
            path: options.tob_out.clone().unwrap_or_default(),
            source,
        })?),
        None => None,
    };
    let tick = session.tick();
    let instruments = config
        .instruments
        .iter()
        .map(|(id, spec)| {
            InstrumentInfo::new(
                spec,
                options
                    .scale_sources
                    .get(id.index())
                    .copied()
                    .unwrap_or(ScaleSource::Config),
                tick.book(id),
            )
        })
        .collect();
    Ok(ReplayReport::build(
        paths,
        instruments,
        tick,
        skipped_lines,
        tob_rows,
        if options.no_timing {
            None
        } else {
            Some(elapsed)
        },
    ))
}
