//! The paper venue standing in for the gateway thread: it runs on the core thread, takes
//! intents from the intent ring and answers through the report ring, like a venue would.

use super::{PaperConfig, PaperVenue};
use crate::order::{Intent, Report};
use std::collections::VecDeque;

/// The paper venue behind the two rings.
#[derive(Debug)]
pub struct PaperGateway {
    /// The venue model (fed market events by the tick path's observer).
    pub venue: PaperVenue,
    intents: rtrb::Consumer<Intent>,
    reports: rtrb::Producer<Report>,
    overflow: VecDeque<Report>,
}

impl PaperGateway {
    /// A paper gateway for `n_instruments` on the given ring ends.
    pub fn new(
        cfg: PaperConfig,
        n_instruments: usize,
        intents: rtrb::Consumer<Intent>,
        reports: rtrb::Producer<Report>,
    ) -> PaperGateway {
        PaperGateway {
            venue: PaperVenue::new(cfg, n_instruments),
            intents,
            reports,
            overflow: VecDeque::with_capacity(64),
        }
    }

    /// Takes every queued intent and releases every report due at `now_ns` (market clock).
    pub fn pump(&mut self, now_ns: u64) {
        while let Ok(intent) = self.intents.pop() {
            self.venue.submit(intent, now_ns);
        }
        let (reports, overflow) = (&mut self.reports, &mut self.overflow);
        // The ring is drained after every pump; a report that does not fit waits here
        // rather than being lost.
        while let Some(r) = overflow.front() {
            if reports.push(*r).is_err() {
                break;
            }
            overflow.pop_front();
        }
        self.venue.poll(now_ns, &mut |r| {
            if !overflow.is_empty() || reports.push(r).is_err() {
                overflow.push_back(r);
            }
        });
    }
}
