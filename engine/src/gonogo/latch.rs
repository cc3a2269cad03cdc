//! Check: the engine would start trading on this state directory — recovery succeeds, the
//! latch is running, and nothing recovered would make it start halted (a position, open
//! orders or an instrument it does not trade: `recovery_mismatch`). Read-only.

use super::snapshot::{self, SnapshotError};
use super::verdict::Check;
use crate::config::Config;
use crate::journal::TailStatus;
use crate::safety::{ReasonCode, SafetyState};

const ID: &str = "latch";

/// FAIL when the engine would refuse to start or start halted; WARN on a torn tail (it
/// will be cut at start); else PASS.
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
    let plan = snap.state.restore_plan(&cfg.instruments);
    let mut mismatch = Vec::new();
    for (symbol, lots) in &plan.unconfigured_positions {
        mismatch.push(format!("{symbol} position {lots} lots (not configured)"));
    }
    for (id, p) in &plan.positions {
        if p.qty_lots != 0 {
            let spec = cfg.instruments.get(*id);
            mismatch.push(format!(
                "{} position {} lots",
                spec.symbol.as_str(),
                p.qty_lots
            ));
        }
    }
    if plan.open_orders > 0 {
        mismatch.push(format!("{} open orders", plan.open_orders));
    }
    if snap.state.orphan_fills > 0 {
        mismatch.push(format!(
            "{} fills without an instrument",
            snap.state.orphan_fills
        ));
    }
    if !mismatch.is_empty() {
        return Check::fail(
            ID,
            format!(
                "the engine would start halted (recovery_mismatch): the state in {} holds {}; reconcile with the venue, or start live on a fresh state dir",
                dir.display(),
                mismatch.join(", ")
            ),
        );
    }
    let base = if snap.has_journal {
        format!(
            "running; state in {} recovers cleanly ({} journal records)",
            dir.display(),
            snap.records.len()
        )
    } else {
        format!("running; no journal yet in {}", dir.display())
    };
    match &snap.tail {
        TailStatus::Clean => Check::pass(ID, base),
        torn => Check::warn(
            ID,
            format!("{base}; {torn} (in a copy: the engine does this at start)"),
        ),
    }
}
