//! Check: a live engine would start trading on this state directory, on state that is
//! its own — recovery succeeds, the latch is running, nothing recovered would start it
//! halted, and no paper run is in it. A live engine takes every run in its journal as its
//! own: it reconciles the account's orders since the oldest unreconciled run's start with
//! them (an order someone else placed in that window starts it halted) and carries their
//! position, PnL and breaker anchors as real. Paper runs belong in their own state dir.
//! Read-only.

use super::snapshot::{self, Snapshot, SnapshotError};
use super::verdict::Check;
use crate::config::Config;
use crate::instrument::Market;
use crate::journal::{OperatorAction, RecordBody, TailStatus};
use crate::safety::{ReasonCode, SafetyState};

const ID: &str = "latch";

/// FAIL when the engine would refuse to start or start halted, or would take paper
/// trading for real; WARN when it will reconcile or carry something (or on a torn tail,
/// cut at start); else PASS.
pub fn check(cfg: &Config) -> Check {
    let dir = &cfg.engine.state_dir;
    let snap = match snapshot::read(dir) {
        Ok(s) => s,
        Err(SnapshotError::Damaged(e)) => {
            return Check::fail(
                ID,
                format!("the engine refuses to start on this state: {e}"),
            );
        }
        Err(SnapshotError::Io(e)) => return Check::fail(ID, format!("state not readable: {e}")),
    };
    let latch = &snap.state.latch;
    if latch.state != SafetyState::Running {
        let text = if latch.operator_text.is_empty() {
            String::new()
        } else {
            format!(", {:?}", latch.operator_text)
        };
        return Check::fail(
            ID,
            format!(
                "{} (latched by {}{text}) in {}: the engine will not trade until an operator reset (scripts/reset.sh)",
                latch.state,
                ReasonCode::name_of(latch.reason_code),
                dir.display()
            ),
        );
    }
    let paper = paper_sessions(&snap);
    let state = &snap.state;
    let plan = state.restore_plan(&cfg.instruments);
    let positions: Vec<String> = plan
        .positions
        .iter()
        .filter(|(_, p)| p.qty_lots != 0)
        .map(|(id, p)| {
            format!(
                "{} {} lots",
                cfg.instruments.get(*id).symbol.as_str(),
                p.qty_lots
            )
        })
        .collect();
    let other_runs = state
        .unreconciled
        .iter()
        .filter(|r| r.max_order_id > 0)
        .count();
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    for (symbol, lots) in &plan.unconfigured_positions {
        fails.push(format!(
            "{symbol} position {lots} lots is not a configured instrument (recovery_mismatch)"
        ));
    }
    if !paper.is_empty() {
        fails.push(format!(
            "it holds paper run(s) {paper:?}, which a live engine would take as its own (their position, PnL and breaker anchors carried as real; the account's orders since their start reconciled against them, anything else there starting it halted); move the paper state aside (keep it for --paper-state) and go live on a fresh state dir"
        ));
    } else if !state.open_orders.is_empty() && cfg.venue.market != Market::Spot {
        fails.push(format!(
            "{} order(s) the journal never saw finish, and {} start-up reconciliation does not query order history: a live start with them starts halted (recovery_mismatch); check the account by hand, then reset",
            state.open_orders.len(),
            cfg.venue.market.name()
        ));
    } else if other_runs > 0 && cfg.venue.market == Market::CoinM {
        fails.push(format!(
            "{other_runs} earlier run(s) not reconciled yet, and COIN-M has no start-up reconciliation: a live start with them starts halted (recovery_mismatch); check the account by hand and start on a fresh state dir"
        ));
    } else if other_runs > 0 || !state.open_orders.is_empty() {
        warns.push(format!(
            "{other_runs} earlier run(s) and {} open order(s) not reconciled yet: the engine reconciles them with the venue at start and starts halted on any mismatch",
            state.open_orders.len()
        ));
    }
    if !positions.is_empty() && paper.is_empty() {
        warns.push(format!(
            "the engine starts holding {} from the journal: check the venue account holds it",
            positions.join(", ")
        ));
    } else if !positions.is_empty() {
        fails.push(format!(
            "its position {} includes paper fills",
            positions.join(", ")
        ));
    }
    if state.orphan_fills > 0 {
        warns.push(format!(
            "{} fills without an instrument record",
            state.orphan_fills
        ));
    }
    if let TailStatus::Torn { .. } = &snap.tail {
        warns.push(format!(
            "{} (seen in a copy: the engine cuts it at start)",
            snap.tail
        ));
    }
    let base = if snap.has_journal {
        format!(
            "running; {} journal records in {}",
            snap.records.len(),
            dir.display()
        )
    } else {
        format!("running; no journal yet in {}", dir.display())
    };
    if !fails.is_empty() {
        fails.extend(warns);
        Check::fail(ID, format!("{base}; {}", fails.join("; ")))
    } else if !warns.is_empty() {
        Check::warn(ID, format!("{base}; {}", warns.join("; ")))
    } else {
        Check::pass(
            ID,
            format!("{base}; recovers cleanly, nothing to reconcile"),
        )
    }
}

/// The sessions (runs, from 1) the journal marks as paper runs: their start-up
/// reconciliation record says so.
fn paper_sessions(snap: &Snapshot) -> Vec<u64> {
    let mut session = 0u64;
    let mut out = Vec::new();
    for r in &snap.records {
        match &r.body {
            RecordBody::SessionStart { .. } => session += 1,
            RecordBody::Operator {
                action: OperatorAction::Reconciled,
                text,
                ..
            } if text.as_str().starts_with("paper") => out.push(session),
            _ => {}
        }
    }
    out
}
