//! Market sources: the seeded synthetic market stepped event by event, or a collector-format
//! recording read frame by frame. Both yield timed events in ticks and lots.

use std::collections::VecDeque;
use std::path::Path;

use obi_engine::book::L2Book;
use obi_engine::feed::binance::{BinanceParser, BookSync, DiffAction, Parsed, SyncState};
use obi_engine::feed::event::MarketEvent;
use obi_engine::instrument::{InstrumentId, InstrumentSpec, Instruments};
use obi_engine::replay::source::RecordingSource;
use obi_engine::units::{Level, Side};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::synth::{BookSide, Market, ModelFill, ModelParams};

/// One market change to publish.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceEvent {
    /// Depth diff: absolute quantities, 0 deletes; `last_update_id` is its `u`.
    Diff {
        /// Final update id.
        last_update_id: u64,
        /// Changed bid levels.
        bids: Vec<Level>,
        /// Changed ask levels.
        asks: Vec<Level>,
    },
    /// Best bid and ask as of `update_id`.
    Ticker {
        /// Order-book update id.
        update_id: u64,
        /// Best bid.
        bid: Level,
        /// Best ask.
        ask: Level,
    },
    /// A public trade.
    Trade {
        /// Price and quantity.
        print: Level,
        /// True when the seller was the aggressor.
        buyer_is_maker: bool,
    },
}

/// An event at the source's own time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// Source time, ns (synthetic clock or the recording's receive time).
    pub source_ns: u64,
    /// What happened.
    pub event: SourceEvent,
}

/// The book a source starts from.
#[derive(Clone, Debug, Default)]
pub struct InitialBook {
    /// Update id the book is current as of.
    pub last_update_id: u64,
    /// Bids, best first.
    pub bids: Vec<Level>,
    /// Asks, best first.
    pub asks: Vec<Level>,
}

/// Why a source could not start.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The recording cannot be read.
    #[error("{0}")]
    Recording(String),
    /// The recording never yields a synced book (no snapshot for the instrument).
    #[error("recording {0}: no depth snapshot for the configured symbol that the diffs continue")]
    NeverSynced(String),
}

/// A market source.
pub trait MarketSource: Send {
    /// The next event, `None` at the end. Unreadable frames are counted in `skipped`.
    fn next_event(&mut self) -> Option<Timed>;
    /// Frames skipped so far.
    fn skipped(&self) -> u64;
}

/// The synthetic market of [`crate::synth`] in its own time.
#[derive(Debug)]
pub struct SynthSource {
    market: Market,
    rng: ChaCha8Rng,
    now_ns: u64,
    next_diff_ns: u64,
    diff_interval_ns: u64,
    queue: VecDeque<Timed>,
    fills: Vec<ModelFill>,
    last_touch: Option<(Level, Level)>,
}

fn touch_levels(market: &Market) -> Option<(Level, Level)> {
    market.book().touch().map(|t| {
        (
            Level::new(t.bid_ticks, t.bid_lots),
            Level::new(t.ask_ticks, t.ask_lots),
        )
    })
}

impl SynthSource {
    /// A market seeded with `seed` around `start_price_ticks`, publishing a diff every
    /// `diff_interval_ms`.
    pub fn new(
        seed: u64,
        start_price_ticks: i64,
        diff_interval_ms: f64,
        pressure_strength: f64,
    ) -> (SynthSource, InitialBook) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = ModelParams {
            pressure_strength,
            ..ModelParams::default()
        };
        let market = Market::new(&params, start_price_ticks, 1_000_000, &mut rng);
        let book = market.book();
        let initial = InitialBook {
            last_update_id: book.update_id(),
            bids: book
                .levels(BookSide::Bid)
                .map(|(p, q)| Level::new(p, q))
                .collect(),
            asks: book
                .levels(BookSide::Ask)
                .map(|(p, q)| Level::new(p, q))
                .collect(),
        };
        let diff_interval_ns = (diff_interval_ms * 1e6) as u64;
        let last_touch = touch_levels(&market);
        (
            SynthSource {
                market,
                rng,
                now_ns: 0,
                next_diff_ns: diff_interval_ns,
                diff_interval_ns,
                queue: VecDeque::new(),
                fills: Vec::new(),
                last_touch,
            },
            initial,
        )
    }

    fn publish_diff(&mut self, at_ns: u64) {
        let Some(diff) = self.market.book_mut().take_pending() else {
            return;
        };
        let to_levels = |v: &[(i64, i64)]| v.iter().map(|&(p, q)| Level::new(p, q)).collect();
        self.queue.push_back(Timed {
            source_ns: at_ns,
            event: SourceEvent::Diff {
                last_update_id: diff.last_update_id,
                bids: to_levels(&diff.bids),
                asks: to_levels(&diff.asks),
            },
        });
        let touch = touch_levels(&self.market);
        if touch != self.last_touch {
            self.last_touch = touch;
            if let Some((bid, ask)) = touch {
                self.queue.push_back(Timed {
                    source_ns: at_ns,
                    event: SourceEvent::Ticker {
                        update_id: diff.last_update_id,
                        bid,
                        ask,
                    },
                });
            }
        }
    }
}

impl MarketSource for SynthSource {
    fn next_event(&mut self) -> Option<Timed> {
        while self.queue.is_empty() {
            let (dt_s, event) = self.market.next_event(&mut self.rng);
            let event_ns = self.now_ns + (dt_s * 1e9).round() as u64;
            while self.next_diff_ns <= event_ns {
                self.publish_diff(self.next_diff_ns);
                self.next_diff_ns += self.diff_interval_ns;
            }
            self.now_ns = event_ns;
            self.fills.clear();
            self.market.apply(event, &mut self.rng, &mut self.fills);
            for f in &self.fills {
                self.queue.push_back(Timed {
                    source_ns: event_ns,
                    event: SourceEvent::Trade {
                        print: Level::new(f.price_ticks, f.qty_lots),
                        buyer_is_maker: f.buyer_is_maker,
                    },
                });
            }
        }
        self.queue.pop_front()
    }

    fn skipped(&self) -> u64 {
        0
    }
}

/// A collector-format recording, synced with the spot/futures rules and re-published from
/// the first in-sequence diff on.
pub struct ReplaySource {
    recording: RecordingSource,
    parser: BinanceParser,
    instruments: Instruments,
    sync: BookSync,
    book: L2Book,
    skipped: u64,
    ended: bool,
}

impl std::fmt::Debug for ReplaySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaySource")
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}

const ID: InstrumentId = InstrumentId(0);

impl ReplaySource {
    /// Opens `path` and reads until the book for `spec` is in sequence.
    pub fn open(
        path: &Path,
        spec: InstrumentSpec,
    ) -> Result<(ReplaySource, InitialBook), SourceError> {
        let recording =
            RecordingSource::open(path).map_err(|e| SourceError::Recording(e.to_string()))?;
        let mut instruments = Instruments::default();
        instruments.add(spec);
        let mut src = ReplaySource {
            recording,
            parser: BinanceParser::new(),
            instruments,
            // The recording's own market decides its sync rule.
            sync: BookSync::new(ID, spec.market),
            book: L2Book::new(),
            skipped: 0,
            ended: false,
        };
        loop {
            if let SyncState::Synced { last_final_id } = src.sync.state() {
                let initial = InitialBook {
                    last_update_id: last_final_id,
                    bids: src.book.levels(Side::Bid).collect(),
                    asks: src.book.levels(Side::Ask).collect(),
                };
                return Ok((src, initial));
            }
            if src.ended {
                return Err(SourceError::NeverSynced(path.display().to_string()));
            }
            // Events before the sync point are only used to build the book.
            let _ = src.read_one();
        }
    }

    /// Reads one frame; returns the event to publish, if any.
    fn read_one(&mut self) -> Option<Timed> {
        let frame = match self.recording.next_frame() {
            Ok(Some(f)) => f,
            Ok(None) | Err(_) => {
                self.ended = true;
                return None;
            }
        };
        let local_ns = frame.local_ns;
        let snapshot_for = frame.is_snapshot.then_some(ID);
        let parsed = self
            .parser
            .parse(frame.json, &self.instruments, snapshot_for);
        let event = match parsed {
            Ok(Parsed::Event(e)) => e,
            Ok(_) => return None,
            Err(_) => {
                self.skipped += 1;
                return None;
            }
        };
        let synced = matches!(self.sync.state(), SyncState::Synced { .. });
        let out = match event {
            MarketEvent::Snapshot(s) => {
                self.sync.on_snapshot(&s, &mut self.book, &mut |_, _| {});
                None
            }
            MarketEvent::Depth(d) => match self.sync.on_diff(&d, &mut self.book, &mut |_, _| {}) {
                DiffAction::Applied if synced => Some(SourceEvent::Diff {
                    last_update_id: d.final_update_id,
                    bids: d.bids.to_vec(),
                    asks: d.asks.to_vec(),
                }),
                DiffAction::Applied | DiffAction::Stale | DiffAction::Buffered => None,
                DiffAction::Gap | DiffAction::Crossed => {
                    self.skipped += 1;
                    None
                }
            },
            MarketEvent::Ticker(t) if synced => Some(SourceEvent::Ticker {
                update_id: t.update_id,
                bid: t.bid,
                ask: t.ask,
            }),
            MarketEvent::Trade(t) if synced => Some(SourceEvent::Trade {
                print: Level {
                    price: t.price,
                    qty: t.qty,
                },
                buyer_is_maker: t.aggressor == Side::Ask,
            }),
            MarketEvent::Ticker(_) | MarketEvent::Trade(_) => None,
        };
        out.map(|event| Timed {
            source_ns: local_ns,
            event,
        })
    }
}

impl MarketSource for ReplaySource {
    fn next_event(&mut self) -> Option<Timed> {
        // A recording gap leaves the book unsynced; nothing more is published after it.
        while !self.ended && matches!(self.sync.state(), SyncState::Synced { .. }) {
            if let Some(t) = self.read_one() {
                return Some(t);
            }
        }
        self.ended = true;
        None
    }

    fn skipped(&self) -> u64 {
        self.skipped
    }
}
