//! Check: recent paper trading as evidence — the paper run's journal (read-only) holds at
//! least `min_fills` fills within the last `days` days, no breaker trips other than
//! operator stops, and few venue-side rejects. Post-only orders that would have crossed
//! and cancels of orders already gone are market outcomes, not errors.

use super::snapshot::{self, SnapshotError};
use super::verdict::Check;
use crate::config::Config;
use crate::journal::{RecordBody, TailStatus};
use crate::order::RejectReason;
use crate::safety::ReasonCode;
use std::path::Path;

const ID: &str = "paper";
const NS_PER_DAY: u64 = 86_400 * 1_000_000_000;

/// What counts as enough paper evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaperRules {
    /// Fills needed within the window.
    pub min_fills: u64,
    /// The window, days back from now.
    pub days: u32,
    /// Venue-side rejects (`venue`, `no market`) tolerated with a warning; more fail.
    pub max_rejects: u64,
}

impl Default for PaperRules {
    fn default() -> PaperRules {
        PaperRules {
            min_fills: 20,
            days: 7,
            max_rejects: 3,
        }
    }
}

/// Trips an operator causes on purpose (stops and kills), which are not errors.
fn is_operator_stop(reason: ReasonCode) -> bool {
    matches!(
        reason,
        ReasonCode::KillFile
            | ReasonCode::EnvKill
            | ReasonCode::ControlWord
            | ReasonCode::Sigterm
            | ReasonCode::Sigint
            | ReasonCode::OperatorKill
    )
}

/// What the window holds.
#[derive(Debug, Default)]
struct Tally {
    sessions: u64,
    orders: u64,
    fills: u64,
    fills_by_symbol: Vec<(String, u64)>,
    error_rejects: u64,
    benign_rejects: u64,
    trips: Vec<(ReasonCode, u64)>,
    orphan_fills: u64,
    last_fill_ns: u64,
}

/// Judges the paper run in `dir` (`None`: no evidence, a failure with the hint).
pub fn check(dir: Option<&Path>, cfg: &Config, rules: &PaperRules, now_ns: u64) -> Check {
    let Some(dir) = dir else {
        return Check::fail(
            ID,
            "no paper evidence: pass --paper-state DIR, the state dir of the paper run (scripts/go-nogo.sh passes $OBI_STATE_DIR)",
        );
    };
    let snap = match snapshot::read(dir) {
        Ok(s) => s,
        Err(SnapshotError::Damaged(e)) => {
            return Check::fail(ID, format!("paper journal damaged: {e}"));
        }
        Err(SnapshotError::Io(e)) => {
            return Check::fail(ID, format!("paper state not readable: {e}"));
        }
    };
    let since_ns = now_ns.saturating_sub(u64::from(rules.days).saturating_mul(NS_PER_DAY));
    let t = tally(&snap.records, since_ns);
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    if t.fills < rules.min_fills {
        fails.push(format!(
            "{} fills in the last {} days in {} (need at least {}): run paper longer",
            t.fills,
            rules.days,
            dir.display(),
            rules.min_fills
        ));
    }
    let errors: Vec<String> = t
        .trips
        .iter()
        .filter(|(r, _)| !is_operator_stop(*r))
        .map(|(r, n)| format!("{} x{n}", r.name()))
        .collect();
    if !errors.is_empty() {
        fails.push(format!("breaker trips during paper: {}", errors.join(", ")));
    }
    if t.error_rejects > rules.max_rejects {
        fails.push(format!(
            "{} venue rejects (more than {})",
            t.error_rejects, rules.max_rejects
        ));
    } else if t.error_rejects > 0 {
        warns.push(format!("{} venue rejects", t.error_rejects));
    }
    if t.orphan_fills > 0 {
        warns.push(format!(
            "{} fills without an instrument record",
            t.orphan_fills
        ));
    }
    if let TailStatus::Torn { .. } = snap.tail {
        warns.push("the journal ends in a torn record: the paper run crashed at least once".into());
    }
    for (_, spec) in cfg.instruments.iter() {
        let s = spec.symbol.as_str();
        if rules.min_fills > 0
            && t.fills >= rules.min_fills
            && !t.fills_by_symbol.iter().any(|(f, n)| f == s && *n > 0)
        {
            warns.push(format!("no paper fills for {s}"));
        }
    }
    let by_symbol: Vec<String> = t
        .fills_by_symbol
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    let summary = format!(
        "{} fills ({}) from {} orders in {} sessions over the last {} days; {} venue rejects, {} benign rejects",
        t.fills,
        by_symbol.join(", "),
        t.orders,
        t.sessions,
        rules.days,
        t.error_rejects,
        t.benign_rejects
    );
    if !fails.is_empty() {
        fails.extend(warns);
        Check::fail(ID, format!("{}; {summary}", fails.join("; ")))
    } else if !warns.is_empty() {
        Check::warn(ID, format!("{summary}; {}", warns.join("; ")))
    } else {
        let age_h = now_ns.saturating_sub(t.last_fill_ns) / (3_600 * 1_000_000_000);
        Check::pass(
            ID,
            format!("{summary}; last fill {age_h} h ago; no breaker trips"),
        )
    }
}

fn tally(records: &[crate::journal::Record], since_ns: u64) -> Tally {
    let mut t = Tally::default();
    let mut bindings: Vec<Option<String>> = Vec::new();
    for r in records {
        let recent = r.ts_ns >= since_ns;
        match &r.body {
            RecordBody::SessionStart { .. } => {
                bindings.clear();
                t.sessions += u64::from(recent);
            }
            RecordBody::Instrument { id, symbol } => {
                let i = usize::from(id.0);
                if bindings.len() <= i {
                    bindings.resize(i + 1, None);
                }
                bindings[i] = Some(symbol.as_str().to_string());
            }
            _ if !recent => {}
            RecordBody::OrderSent(_) => t.orders += 1,
            RecordBody::Rejected { reason, .. } => match reason {
                RejectReason::WouldCross | RejectReason::UnknownOrder => t.benign_rejects += 1,
                RejectReason::NoMarket | RejectReason::Venue => t.error_rejects += 1,
            },
            RecordBody::Fill(f) if f.qty.0 > 0 => {
                t.fills += 1;
                t.last_fill_ns = t.last_fill_ns.max(r.ts_ns);
                match bindings.get(usize::from(f.instrument.0)).cloned().flatten() {
                    Some(symbol) => {
                        match t.fills_by_symbol.iter_mut().find(|(s, _)| *s == symbol) {
                            Some((_, n)) => *n += 1,
                            None => t.fills_by_symbol.push((symbol, 1)),
                        }
                    }
                    None => t.orphan_fills += 1,
                }
            }
            RecordBody::Trip { reason, .. } => {
                match t.trips.iter_mut().find(|(x, _)| x == reason) {
                    Some((_, n)) => *n += 1,
                    None => t.trips.push((*reason, 1)),
                }
            }
            _ => {}
        }
    }
    t
}
