//! The end-of-run report of `obi-engine run`.

use super::feed::FeedStats;
use crate::runtime::counters::Counters;
use crate::strategy::StrategyConfig;
use serde::Serialize;

/// One instrument at the end of the run.
#[derive(Debug, Clone, Serialize)]
pub struct InstrumentEnd {
    /// Symbol.
    pub symbol: String,
    /// Book synchronised at the end.
    pub book_valid: bool,
    /// Signed position, lots.
    pub position_lots: i64,
    /// Signed position as decimal text in the base asset.
    pub position: String,
}

/// What `record` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingSummary {
    /// Lines (frames and snapshots) written.
    pub lines: u64,
    /// Lines dropped because the writer fell behind (should be 0).
    pub dropped: u64,
    /// Bytes handed to the file (before compression).
    pub bytes: u64,
    /// Why the file may be incomplete.
    pub error: Option<String>,
}

/// The order gateway's figures (live mode).
#[derive(Debug, Clone, Serialize)]
pub struct GatewaySummary {
    /// The gateway thread stopped without panicking (after its cancel-all).
    pub stopped_cleanly: bool,
    /// Sessions re-established.
    pub reconnects: u64,
    /// Requests sent.
    pub requests_sent: u64,
    /// Orders placed.
    pub orders_placed: u64,
    /// Venue rejects.
    pub rejects: u64,
    /// Orders refused locally (disconnected, rate-limit headroom).
    pub local_rejects: u64,
    /// Fills reported.
    pub fills: u64,
    /// Status-unknown answers (each resolved by a status query).
    pub status_unknown: u64,
    /// Order status queries.
    pub status_queries: u64,
    /// Fills learned by reconciliation after a reconnect.
    pub reconciled_fills: u64,
    /// `serverShutdown` events handled.
    pub server_shutdowns: u64,
    /// Last venue error code (0: none).
    pub last_error_code: i64,
    /// The venue listed no open order after the last cancel-all of every instrument.
    pub venue_confirmed_empty: bool,
    /// Cancel-alls re-sent because the venue still listed orders.
    pub cancel_all_recancels: u64,
    /// Open orders (ours and others') the venue listed at the last confirmation query.
    pub open_orders_at_venue: u32,
}

/// Strategy parameter reloads (SIGHUP or a changed config file).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReloadSummary {
    /// New strategy parameters applied.
    pub applied: u64,
    /// Config files rejected (the running parameters stayed).
    pub rejected: u64,
    /// Reloads that found the strategy parameters unchanged.
    pub unchanged: u64,
    /// Sections the last reload found changed that only a restart applies (empty: none).
    pub restart_needed: String,
}

/// What a live run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// `paper` or `live`.
    pub mode: &'static str,
    /// Why the run ended.
    pub stop_reason: String,
    /// Wall time run, seconds.
    pub elapsed_s: f64,
    /// Tick-path counters.
    pub counters: Counters,
    /// Market-data link counters.
    pub feed: FeedStats,
    /// Snapshots requested / failed.
    pub snapshot_requests: u64,
    /// Snapshot requests that failed.
    pub snapshot_failures: u64,
    /// Orders still open at the end (0 after a clean stop).
    pub open_orders_at_end: usize,
    /// Per instrument.
    pub instruments: Vec<InstrumentEnd>,
    /// Realized PnL net of fees, quote currency.
    pub realized_pnl: f64,
    /// Unrealized PnL at the last mid, quote currency.
    pub unrealized_pnl: f64,
    /// Largest drawdown, quote currency.
    pub max_drawdown: f64,
    /// Receipt → intent latency percentiles, ns: p50, p90, p99, p99.9, max.
    pub intent_latency_ns: [u64; 5],
    /// Intents measured.
    pub intent_latency_count: u64,
    /// Connection up (first, or after a loss) → every book synchronised, ms: p50, max.
    pub resync_ms: [f64; 2],
    /// Resynchronisations measured.
    pub resync_count: u64,
    /// Halted by a kill request or a stop.
    pub halted: bool,
    /// The recording, when one was made.
    pub recording: Option<RecordingSummary>,
    /// The order gateway, in live mode.
    pub gateway: Option<GatewaySummary>,
    /// Safety state at the end: running, reducing or halted (latched across restarts).
    pub safety_state: String,
    /// Why it is latched (`none` when running).
    pub latched_reason: String,
    /// The journal writer's error, if it failed (the journal may be incomplete).
    pub journal_error: Option<String>,
    /// Strategy parameter reloads.
    pub reloads: ReloadSummary,
    /// The strategy parameters in effect at the end (after any reload).
    pub strategy: StrategyConfig,
}

impl RunReport {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A short human summary.
    pub fn to_text(&self) -> String {
        let c = &self.counters;
        let l = &self.intent_latency_ns;
        let mut out = format!(
            "obi-engine run ({}) ended: {}\n  elapsed {:.1} s, frames {}, diffs applied {}, gaps {}, resyncs {}, crossed {}, parse errors {}, bookTicker checks {} ({} mismatched)\n  feed: connects {}, disconnects {}, failures {}, stale {}, rotations {}; snapshots {} ({} failed)\n  orders: intents {}, accepted {}, rejected {}, cancelled {}, fills {}, open at end {}\n  pnl: realized {:.6}, unrealized {:.6}, max drawdown {:.6}\n  tick->intent ns: p50 {} p90 {} p99 {} p99.9 {} max {} (n={})\n  connect/reconnect -> books synced ms: p50 {:.1} max {:.1} (n={})\n",
            self.mode,
            self.stop_reason,
            self.elapsed_s,
            c.frames,
            c.diffs_applied,
            c.gaps,
            c.resyncs,
            c.crossed,
            c.parse_errors,
            c.oracle_checked,
            c.oracle_mismatches,
            self.feed.connects,
            self.feed.disconnects,
            self.feed.connect_failures,
            self.feed.stale,
            self.feed.rotations,
            self.snapshot_requests,
            self.snapshot_failures,
            c.intents,
            c.orders_accepted,
            c.orders_rejected,
            c.orders_canceled,
            c.fills,
            self.open_orders_at_end,
            self.realized_pnl,
            self.unrealized_pnl,
            self.max_drawdown,
            l[0],
            l[1],
            l[2],
            l[3],
            l[4],
            self.intent_latency_count,
            self.resync_ms[0],
            self.resync_ms[1],
            self.resync_count,
        );
        if let Some(r) = &self.recording {
            out.push_str(&format!(
                "  recorded {} lines ({} bytes), dropped {}{}\n",
                r.lines,
                r.bytes,
                r.dropped,
                r.error
                    .as_deref()
                    .map(|e| format!(", ERROR: {e}"))
                    .unwrap_or_default()
            ));
        }
        if let Some(g) = &self.gateway {
            out.push_str(&format!(
                "  gateway: requests {}, placed {}, rejects {} (+{} local), fills {}, status unknown {} ({} queries), reconnects {}, reconciled fills {}, serverShutdown {}, last error {}{}\n",
                g.requests_sent,
                g.orders_placed,
                g.rejects,
                g.local_rejects,
                g.fills,
                g.status_unknown,
                g.status_queries,
                g.reconnects,
                g.reconciled_fills,
                g.server_shutdowns,
                g.last_error_code,
                if g.stopped_cleanly { "" } else { " — the gateway thread did not stop cleanly" }
            ));
            if g.venue_confirmed_empty {
                out.push_str(&format!(
                    "  venue: confirmed no open order after the last cancel-all ({} re-cancels)\n",
                    g.cancel_all_recancels
                ));
            } else {
                out.push_str(&format!(
                    "  venue: NOT confirmed empty ({} open orders listed at the last query): check the account's open orders at the venue by hand\n",
                    g.open_orders_at_venue
                ));
            }
        }
        out.push_str(&format!(
            "  safety: {} (latched reason: {}){}\n",
            self.safety_state,
            self.latched_reason,
            self.journal_error
                .as_deref()
                .map(|e| format!("; JOURNAL ERROR: {e}"))
                .unwrap_or_default()
        ));
        let r = &self.reloads;
        if r.applied + r.rejected + r.unchanged > 0 {
            out.push_str(&format!(
                "  parameter reloads: applied {}, rejected {}, unchanged {}{}\n",
                r.applied,
                r.rejected,
                r.unchanged,
                if r.restart_needed.is_empty() {
                    String::new()
                } else {
                    format!("; {} changed, restart to apply", r.restart_needed)
                }
            ));
        }
        for i in &self.instruments {
            out.push_str(&format!(
                "  {}: position {} ({} lots), book {}\n",
                i.symbol,
                i.position,
                i.position_lots,
                if i.book_valid {
                    "valid"
                } else {
                    "not synchronised"
                }
            ));
        }
        out
    }
}
