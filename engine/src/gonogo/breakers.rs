//! Check: every breaker is on and no looser than the runbook's defaults (daily loss 2 %,
//! drawdown 5 %, 5 losing trades, ±10 % in a minute, 3 positions, and the feed and
//! execution health limits). Looser or off is a warning to accept knowingly.

use super::verdict::Check;
use crate::safety::BreakerConfig;

const ID: &str = "breakers";

/// Which way a limit is looser.
#[derive(Clone, Copy)]
enum Looser {
    /// A larger value trips later.
    Above,
    /// A smaller value trips later.
    Below,
}

/// WARN listing every limit looser than the default (or off); else PASS.
pub fn check(b: &BreakerConfig) -> Check {
    let d = BreakerConfig::default();
    let limits: [(&str, u64, u64, Looser); 14] = [
        (
            "daily_loss_bps",
            b.daily_loss_bps.into(),
            d.daily_loss_bps.into(),
            Looser::Above,
        ),
        (
            "drawdown_bps",
            b.drawdown_bps.into(),
            d.drawdown_bps.into(),
            Looser::Above,
        ),
        (
            "max_consecutive_losses",
            b.max_consecutive_losses.into(),
            d.max_consecutive_losses.into(),
            Looser::Above,
        ),
        (
            "price_move_bps",
            b.price_move_bps.into(),
            d.price_move_bps.into(),
            Looser::Above,
        ),
        (
            "price_move_window_s",
            b.price_move_window_s.into(),
            d.price_move_window_s.into(),
            Looser::Below,
        ),
        (
            "max_open_positions",
            b.max_open_positions.into(),
            d.max_open_positions.into(),
            Looser::Above,
        ),
        (
            "book_stale_ms",
            b.book_stale_ms,
            d.book_stale_ms,
            Looser::Above,
        ),
        (
            "max_reconnects",
            b.max_reconnects.into(),
            d.max_reconnects.into(),
            Looser::Above,
        ),
        (
            "reconnect_window_s",
            b.reconnect_window_s.into(),
            d.reconnect_window_s.into(),
            Looser::Below,
        ),
        (
            "max_intent_ring_full",
            b.max_intent_ring_full.into(),
            d.max_intent_ring_full.into(),
            Looser::Above,
        ),
        (
            "ring_full_window_s",
            b.ring_full_window_s.into(),
            d.ring_full_window_s.into(),
            Looser::Below,
        ),
        (
            "max_reject_pct",
            b.max_reject_pct.into(),
            d.max_reject_pct.into(),
            Looser::Above,
        ),
        (
            "reject_window_s",
            b.reject_window_s.into(),
            d.reject_window_s.into(),
            Looser::Below,
        ),
        (
            "min_rate_limit_headroom_pct",
            b.min_rate_limit_headroom_pct.into(),
            d.min_rate_limit_headroom_pct.into(),
            Looser::Below,
        ),
    ];
    let mut loose = Vec::new();
    for (name, value, default, looser) in limits {
        if name == "min_rate_limit_headroom_pct" && value == 0 {
            loose.push(format!("{name} = 0 (rate-limit breaker off)"));
            continue;
        }
        let is_looser = match looser {
            Looser::Above => value > default,
            Looser::Below => value < default,
        };
        if is_looser {
            loose.push(format!("{name} = {value} (runbook {default})"));
        }
    }
    // The reject-rate breaker only counts once this many orders were sent in its window.
    if b.reject_min_orders > d.reject_min_orders {
        loose.push(format!(
            "reject_min_orders = {} (runbook {})",
            b.reject_min_orders, d.reject_min_orders
        ));
    }
    if loose.is_empty() {
        Check::pass(
            ID,
            format!(
                "all on, none looser than the runbook (daily loss {} bps, drawdown {} bps, {} losses, ±{} bps/{} s, {} positions; capital {})",
                b.daily_loss_bps,
                b.drawdown_bps,
                b.max_consecutive_losses,
                b.price_move_bps,
                b.price_move_window_s,
                b.max_open_positions,
                b.capital_quote
            ),
        )
    } else {
        Check::warn(ID, format!("looser than the runbook: {}", loose.join(", ")))
    }
}
