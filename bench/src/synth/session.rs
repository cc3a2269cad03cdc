//! One generated session: runs the market model in exchange time, batches its changes into
//! depth diffs, publishes bookTickers, trades and the REST snapshot, and hands every frame to
//! the collector.

use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::book::{BookSide, Touch};
use super::config::SynthConfig;
use super::feed::{Collector, Stream};
use super::model::{Fill, Market};
use super::wire::WireFormat;

/// What a generated session contains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SynthSummary {
    /// Lines written (frames, snapshot included).
    pub lines: u64,
    /// Depth diff lines.
    pub depth_diffs: u64,
    /// bookTicker lines.
    pub book_tickers: u64,
    /// Trade lines.
    pub trades: u64,
    /// Depth diffs written before the snapshot line (some stale, some to apply).
    pub diffs_before_snapshot: u64,
    /// The snapshot's `lastUpdateId`.
    pub snapshot_last_update_id: u64,
    /// Final `u` of the last diff written.
    pub last_update_id: u64,
}

/// A bookTicker for a touch change inside a diff batch, held until it is known whether a
/// later change in the same batch makes it intermediate.
#[derive(Clone, Copy, Debug)]
struct HeldTicker {
    update_id: u64,
    touch: Touch,
    event_ns: u64,
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

struct Session<'a> {
    cfg: &'a SynthConfig,
    rng: ChaCha8Rng,
    wire: WireFormat,
    market: Market,
    collector: Collector,
    fills: Vec<Fill>,
    prev_last_update_id: u64,
    last_change_ns: u64,
    last_touch: Option<Touch>,
    touch_changed_in_batch: bool,
    held: Option<HeldTicker>,
    next_trade_id: u64,
    snapshot_last_update_id: Option<u64>,
}

impl Session<'_> {
    fn diff_interval_ns(&mut self) -> u64 {
        let mean_ns = self.cfg.feed.diff_interval_ms * 1e6;
        (mean_ns * self.rng.random_range(0.6..1.4)).round() as u64
    }

    fn emit_ticker(&mut self, ticker: HeldTicker, local_ns: u64) {
        let mut line = String::with_capacity(192);
        let transact_ms = ms(ticker.event_ns);
        let event_ms = transact_ms + u64::from(self.rng.random_bool(0.3));
        self.wire.book_ticker(
            &mut line,
            ticker.update_id,
            &ticker.touch,
            transact_ms,
            event_ms,
        );
        self.collector.push(Stream::Ticker, local_ns, line);
    }

    /// Book changed at `now_ns`: settle the held ticker, hold a new one if the touch moved.
    fn on_book_change(&mut self, now_ns: u64) {
        self.last_change_ns = now_ns;
        if let Some(held) = self.held.take() {
            let local_ns = held.event_ns + self.collector.lag_ns(Stream::Ticker, &mut self.rng);
            self.emit_ticker(held, local_ns);
        }
        let touch = self.market.book().touch();
        if touch != self.last_touch {
            self.last_touch = touch;
            self.touch_changed_in_batch = true;
            if let (true, Some(touch)) = (self.cfg.feed.intra_diff_tickers, touch) {
                self.held = Some(HeldTicker {
                    update_id: self.market.book().update_id(),
                    touch,
                    event_ns: now_ns,
                });
            }
        }
    }

    fn emit_fills(&mut self, now_ns: u64) {
        for i in 0..self.fills.len() {
            let fill = self.fills[i];
            let mut line = String::with_capacity(160);
            let transact_ms = ms(now_ns);
            let event_ms = transact_ms + u64::from(self.rng.random_bool(0.3));
            self.wire.trade(
                &mut line,
                event_ms,
                transact_ms,
                self.next_trade_id,
                fill.price_ticks,
                fill.qty_lots,
                fill.buyer_is_maker,
            );
            self.next_trade_id += 1;
            let local_ns = now_ns + self.collector.lag_ns(Stream::Trade, &mut self.rng);
            self.collector.push(Stream::Trade, local_ns, line);
        }
    }

    /// Publishes the pending batch as one diff at `publish_ns`, then its bookTicker.
    fn publish_diff(&mut self, publish_ns: u64) {
        let Some(diff) = self.market.book_mut().take_pending() else {
            return;
        };
        let mut line = String::with_capacity(64 + 32 * (diff.bids.len() + diff.asks.len()));
        self.wire.depth_update(
            &mut line,
            ms(publish_ns),
            ms(self.last_change_ns),
            &diff,
            self.prev_last_update_id,
        );
        self.prev_last_update_id = diff.last_update_id;
        let local_ns = publish_ns + self.collector.lag_ns(Stream::Depth, &mut self.rng);
        let diff_local_ns = self.collector.push(Stream::Depth, local_ns, line);
        // The oracle ticker: its `u` is this diff's final `u`, and it arrives just after the
        // diff, so a consumer can check it on arrival.
        self.held = None;
        if std::mem::take(&mut self.touch_changed_in_batch)
            && let Some(touch) = self.market.book().touch()
        {
            let ticker = HeldTicker {
                update_id: diff.last_update_id,
                touch,
                event_ns: self.last_change_ns,
            };
            let local_ns = diff_local_ns + self.rng.random_range(5_000..50_000);
            self.emit_ticker(ticker, local_ns);
        }
    }

    fn take_snapshot(&mut self, now_ns: u64) {
        let book = self.market.book();
        let last_update_id = book.update_id();
        let depth = self.cfg.feed.snapshot_depth_levels;
        let mut line = String::with_capacity(
            64 + 40 * ((book.len(BookSide::Bid) + book.len(BookSide::Ask)).min(2 * depth)),
        );
        self.wire.snapshot(
            &mut line,
            last_update_id,
            ms(now_ns) + 1,
            ms(self.last_change_ns),
            book.levels(BookSide::Bid).take(depth),
            book.levels(BookSide::Ask).take(depth),
        );
        let local_ns = now_ns + self.collector.lag_ns(Stream::Snapshot, &mut self.rng);
        self.collector.push(Stream::Snapshot, local_ns, line);
        self.snapshot_last_update_id = Some(last_update_id);
    }
}

/// Generates the session described by `cfg` into `out`, in collector format.
pub fn generate(cfg: &SynthConfig, out: &mut dyn Write) -> io::Result<SynthSummary> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let market = Market::new(
        &cfg.model,
        cfg.start_price_ticks,
        cfg.feed.first_update_id,
        &mut rng,
    );
    // A held ticker is dated at most one diff interval (×1.4) back; keep twice that.
    let hold_back_ns = (cfg.feed.diff_interval_ms * 2.0e6) as u64 + 1_000_000;
    let mut s = Session {
        cfg,
        rng,
        wire: WireFormat::new(&cfg.symbol, cfg.price_decimals, cfg.qty_decimals),
        prev_last_update_id: market.book().update_id(),
        last_touch: market.book().touch(),
        market,
        collector: Collector::new(&cfg.feed, hold_back_ns),
        fills: Vec::new(),
        last_change_ns: cfg.start_time_ms * 1_000_000,
        touch_changed_in_batch: false,
        held: None,
        next_trade_id: cfg.feed.first_trade_id,
        snapshot_last_update_id: None,
    };
    let start_ns = cfg.start_time_ms * 1_000_000;
    let end_ns = start_ns + u64::from(cfg.duration_s) * 1_000_000_000;
    let snapshot_at_ns = start_ns + cfg.feed.snapshot_at_ms * 1_000_000;
    let mut now_ns = start_ns;
    let mut next_diff_ns = start_ns + s.diff_interval_ns();
    loop {
        let (dt_s, event) = s.market.next_event(&mut s.rng);
        let event_ns = now_ns + (dt_s * 1e9).round() as u64;
        while next_diff_ns <= event_ns.min(end_ns) {
            s.publish_diff(next_diff_ns);
            next_diff_ns += s.diff_interval_ns();
        }
        if event_ns > end_ns {
            break;
        }
        now_ns = event_ns;
        s.fills.clear();
        if s.market.apply(event, &mut s.rng, &mut s.fills) {
            s.on_book_change(now_ns);
        }
        s.emit_fills(now_ns);
        if s.snapshot_last_update_id.is_none() && now_ns >= snapshot_at_ns {
            s.take_snapshot(now_ns);
        }
        s.collector.flush_until(now_ns, out)?;
    }
    let counts = s.collector.finish(out)?;
    Ok(SynthSummary {
        lines: counts.lines,
        depth_diffs: counts.depth_diffs,
        book_tickers: counts.book_tickers,
        trades: counts.trades,
        diffs_before_snapshot: counts.diffs_before_snapshot,
        snapshot_last_update_id: s.snapshot_last_update_id.unwrap_or(0),
        last_update_id: s.prev_last_update_id,
    })
}
