//! The live loop's safety side on the core thread: the journal sender, the breakers, the
//! kill-file watch, and start-up recovery from the state directory.
//!
//! Start-up ([`SafetyHub::start`]) recovers the journal and checkpoint (a damaged checkpoint
//! or a journal corrupt in its middle refuses to start; a torn tail is cut with a message),
//! restores positions and the latch, and applies the kill inputs present at start
//! (`OBI_KILL=1`, a kill file). After that every call here is allocation-free: journal
//! records go through a ring to the writer thread, breakers are fixed-size, and the kill
//! watch is an inotify fd in the loop's `mio` poll set.

use crate::config::Config;
use crate::instrument::InstrumentId;
use crate::journal::{
    Anchors, JournalSender, JournalWriter, OperatorAction, RecordBody, ShortText, StatePaths,
    WriterSummary, recover,
};
use crate::order::{Fill, Intent, Report};
use crate::portfolio::Position;
use crate::safety::{
    Breakers, KillWatch, ReasonCode, ResetRefused, SafetyState, Trip, env_kill_from_process,
};
use crate::units::Notional;
use crate::venue::binance::reconcile;
use std::path::PathBuf;

/// What start-up recovered, for the run loop to apply to the tick path.
#[derive(Debug, Default)]
pub struct Startup {
    /// Positions to restore.
    pub positions: Vec<(InstrumentId, Position)>,
    /// Trips to apply before trading (a latched halt, `OBI_KILL`, a kill file, a mismatch).
    pub trips: Vec<Trip>,
    /// The latch as the previous run left it, when not running (apply it; already
    /// journaled).
    pub restored: Option<Trip>,
    /// What recovery found, for the operator.
    pub summary: String,
}

/// The core thread's safety state.
#[derive(Debug)]
pub struct SafetyHub {
    /// Breakers and the latch.
    pub breakers: Breakers,
    kill: KillWatch,
    journal: JournalSender,
    writer: Option<JournalWriter>,
    /// Journal records refused because the ring was full.
    pub journal_refused: u64,
    /// The anchors as last journaled (or recovered).
    anchors_journaled: Option<Anchors>,
    /// Next time the anchors are compared with the journaled ones, Unix ns.
    next_anchors_check_ns: u64,
}

/// How often the breakers' anchors are compared with the journaled ones, ns.
const ANCHORS_CHECK_NS: u64 = 1_000_000_000;

impl SafetyHub {
    /// Recovers the state directory and sets up the journal writer, breakers and kill watch.
    /// `live_orders` says whether orders go to a real venue: then the earlier runs' orders
    /// are reconciled with it first (missed fills booked, everything open cancelled; an
    /// order not ours or a journal ahead of the venue starts halted).
    pub fn start(
        config: &Config,
        now_ns: u64,
        live_orders: bool,
    ) -> Result<(SafetyHub, Startup), String> {
        let dir = &config.engine.state_dir;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create state_dir {}: {e}", dir.display()))?;
        let paths = StatePaths::new(dir.clone());
        let recovery = recover(&paths).map_err(|e| {
            format!(
                "the state in {} cannot be trusted ({}): {e}; nothing was changed — inspect or move the files aside, then start again",
                dir.display(),
                e.reason_code().name()
            )
        })?;
        let summary = recovery.summary();
        let plan = recovery.state.restore_plan(&config.instruments);
        let latch = recovery.state.latch.latch();
        let anchors = recovery.state.anchors;
        let mut breakers = Breakers::new(&config.safety.breakers, config.instruments.len());
        breakers.restore(latch, anchors.as_ref());
        let mut startup = Startup {
            positions: plan.positions.clone(),
            summary,
            ..Startup::default()
        };
        if latch.state() != SafetyState::Running {
            // A restart never resumes on its own: the latch stays until an operator reset.
            startup.restored = Some(Trip {
                reason: latch.reason(),
                state: latch.state(),
                value: 0,
                limit: 0,
                ts_ns: now_ns,
            });
        }
        let mut mismatch = !plan.is_consistent();
        // Live: ask the venue what happened to every order of the runs not reconciled yet
        // (fills the journal missed are booked below); paper orders died with their process.
        let mut venue_fills = Vec::new();
        let mut reconciled = !live_orders;
        if live_orders {
            let needed = reconcile::needed(&recovery.state);
            if !startup.summary.ends_with('\n') {
                startup.summary.push('\n');
            }
            match reconcile::reconcile(&config.venue, &config.instruments, &recovery.state) {
                Ok(r) => {
                    startup.summary.push_str(&r.summary());
                    startup.summary.push('\n');
                    mismatch |= !r.mismatches.is_empty();
                    venue_fills = r.fills;
                    reconciled = true;
                }
                Err(e) if needed => {
                    startup.summary.push_str(&format!(
                        "cannot reconcile with the venue ({e}): starting halted\n"
                    ));
                    mismatch = true;
                }
                Err(e) => {
                    // Nothing to confirm: the gateway's own connection will tell.
                    startup.summary.push_str(&format!(
                        "venue check skipped ({e}); the journal has nothing to confirm\n"
                    ));
                    reconciled = true;
                }
            }
            for f in &venue_fills {
                book_fill(&mut startup.positions, f);
            }
        } else if plan.positions.iter().any(|(_, p)| p.qty_lots != 0) {
            // Paper: no venue confirms a position; it waits for an operator.
            mismatch = true;
        }
        if mismatch && let Some(t) = breakers.on_kill(ReasonCode::RecoveryMismatch, now_ns) {
            startup.trips.push(t);
        }
        if env_kill_from_process().halts()
            && let Some(t) = breakers.on_kill(ReasonCode::EnvKill, now_ns)
        {
            startup.trips.push(t);
        }
        let mut kill_paths: Vec<PathBuf> = vec![paths.kill_file()];
        kill_paths.extend(config.safety.kill.extra_paths.iter().cloned());
        let kill = KillWatch::new(&kill_paths, &config.safety.kill).map_err(|e| e.to_string())?;
        let (mut journal, writer) = recovery
            .start_writer(&config.journal)
            .map_err(|e| format!("cannot start the journal writer: {e}"))?;
        let _ = journal.push_session_start(now_ns, std::process::id(), &config.instruments);
        for f in &venue_fills {
            let _ = journal.push(now_ns, RecordBody::Fill(*f));
        }
        if reconciled {
            let _ = journal.push_durable(
                now_ns,
                RecordBody::Operator {
                    action: OperatorAction::Reconciled,
                    reason: ReasonCode::None,
                    text: ShortText::new(if live_orders {
                        "earlier runs reconciled with the venue"
                    } else {
                        "paper: earlier runs' orders ended with them"
                    }),
                },
            );
        }
        let mut hub = SafetyHub {
            breakers,
            kill,
            journal,
            writer: Some(writer),
            journal_refused: 0,
            anchors_journaled: anchors,
            next_anchors_check_ns: 0,
        };
        for t in &startup.trips {
            hub.journal_trip(t);
        }
        Ok((hub, startup))
    }

    /// Registers the kill watch in the loop's poll set.
    pub fn register(&self, registry: &mio::Registry, token: mio::Token) -> std::io::Result<()> {
        self.kill.register(registry, token)
    }

    /// The kill watch's fd was readable.
    pub fn on_kill_readable(&mut self) {
        self.kill.on_readable();
    }

    /// Kill inputs first, then the breakers: the trip to act on now, if any.
    #[inline]
    pub fn poll(&mut self, now_ns: u64) -> Option<Trip> {
        if let Some(input) = self.kill.poll(now_ns)
            && let Some(t) = self.breakers.on_kill(input.reason, now_ns)
        {
            return Some(t);
        }
        if self.journal.is_failed() {
            self.breakers.on_journal_unavailable();
        }
        if now_ns >= self.next_anchors_check_ns {
            self.next_anchors_check_ns = now_ns + ANCHORS_CHECK_NS;
            self.journal_anchors(now_ns, false);
        }
        self.breakers.evaluate(now_ns)
    }

    /// Journals the breakers' anchors when the peak, the day's anchor or the losing streak
    /// moved (`always`: also when only the equity did), so a restart continues the daily
    /// loss, the drawdown and the streak instead of starting them over.
    fn journal_anchors(&mut self, now_ns: u64, always: bool) {
        let now = self.breakers.anchors();
        if now.utc_day == 0 {
            return; // no equity seen yet
        }
        let key = |a: &Anchors| {
            (
                a.equity_peak_micros,
                a.utc_day,
                a.day_start_equity_micros,
                a.consecutive_losses,
            )
        };
        let changed = self
            .anchors_journaled
            .as_ref()
            .is_none_or(|last| key(last) != key(&now) || (always && *last != now));
        if changed {
            self.anchors_journaled = Some(now);
            self.push(now_ns, RecordBody::Anchors(now));
        }
    }

    /// A kill from outside the loop's own inputs (the agent's control word).
    pub fn kill(&mut self, reason: ReasonCode, now_ns: u64) -> Option<Trip> {
        self.breakers.on_kill(reason, now_ns)
    }

    /// Journals a trip durably (call for every trip acted on).
    pub fn journal_trip(&mut self, trip: &Trip) {
        self.push_durable(trip.ts_ns, trip.record());
    }

    /// An operator reset: refused while a kill input is present or nothing is latched.
    pub fn reset(&mut self, reason: &str, now_ns: u64) -> Result<SafetyState, ResetRefused> {
        let present = self.kill.recheck();
        let from = self.breakers.reset(reason, present, now_ns)?;
        self.push_durable(
            now_ns,
            RecordBody::Operator {
                action: OperatorAction::Reset,
                reason: ReasonCode::None,
                text: ShortText::new(reason),
            },
        );
        Ok(from)
    }

    /// A note in the journal (e.g. a graceful stop).
    pub fn note(&mut self, now_ns: u64, text: &str) {
        self.push_durable(
            now_ns,
            RecordBody::Operator {
                action: OperatorAction::Note,
                reason: ReasonCode::None,
                text: ShortText::new(text),
            },
        );
    }

    /// A kill file is present right now.
    pub fn kill_file_present(&self) -> bool {
        self.kill.is_present()
    }

    /// An intent entered the ring.
    #[inline]
    pub fn on_intent(&mut self, intent: &Intent, ts_ns: u64) {
        if matches!(intent, Intent::Place(_)) {
            self.breakers.on_order_sent(ts_ns);
        }
        self.push(ts_ns, RecordBody::from_intent(intent));
    }

    /// A report was applied.
    #[inline]
    pub fn on_report(
        &mut self,
        report: &Report,
        position_lots: i64,
        round_trip_pnl: Option<Notional>,
        ts_ns: u64,
    ) {
        match report {
            Report::Rejected { .. } => self.breakers.on_reject(ts_ns),
            Report::Filled(fill) => self.breakers.on_fill(fill.instrument, position_lots),
            _ => {}
        }
        if let Some(pnl) = round_trip_pnl {
            self.breakers.on_round_trip(pnl);
        }
        self.push(ts_ns, RecordBody::from_report(report));
    }

    /// Flushes the journal, writes the last checkpoint and stops the writer.
    pub fn finish(&mut self) -> Option<Result<WriterSummary, String>> {
        if self.writer.is_some() {
            let now_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            self.journal_anchors(now_ns, true);
        }
        self.writer
            .take()
            .map(|w| w.finish().map_err(|e| e.to_string()))
    }

    #[inline]
    fn push(&mut self, ts_ns: u64, body: RecordBody) {
        if self.journal.push(ts_ns, body).is_err() {
            self.journal_refused += 1;
            self.breakers.on_journal_unavailable();
        }
    }

    fn push_durable(&mut self, ts_ns: u64, body: RecordBody) {
        if self.journal.push_durable(ts_ns, body).is_err() {
            self.journal_refused += 1;
            self.breakers.on_journal_unavailable();
        }
    }
}

/// Adds a fill the venue reported (and the journal missed) to the positions to restore.
fn book_fill(positions: &mut Vec<(InstrumentId, Position)>, f: &Fill) {
    let i = match positions.iter().position(|(id, _)| *id == f.instrument) {
        Some(i) => i,
        None => {
            positions.push((f.instrument, Position::default()));
            positions.len() - 1
        }
    };
    positions[i].1.apply(f.side, f.price, f.qty, f.fee);
}
