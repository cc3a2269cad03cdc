//! Safety settings (`[safety]`, `[safety.breakers]`, `[safety.kill]`, `[safety.flatten]`):
//! deserialized with unknown keys rejected, defaults from the reference runbook, validated.

use super::flatten::FlattenConfig;
use std::path::PathBuf;

/// Longest accepted window, s (windows are preallocated rings of one-second buckets).
pub const MAX_WINDOW_S: u32 = 3_600;

/// Everything safety needs from the config file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// Circuit-breaker thresholds.
    pub breakers: BreakerConfig,
    /// Kill inputs.
    pub kill: KillConfig,
    /// What halting does to open positions.
    pub flatten: FlattenConfig,
}

impl SafetyConfig {
    /// Checks every section; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        self.breakers.validate()?;
        self.kill.validate()?;
        self.flatten.validate()
    }
}

/// Breaker thresholds. Percentages are basis points of equity (`_bps`, 100 bps = 1 %).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BreakerConfig {
    /// Account equity at start in whole quote units (equity = capital + PnL, until the
    /// venue reports balances); the base of the loss percentages. Default 10000.
    pub capital_quote: u64,
    /// Halt when the loss since the UTC day's first equity reaches this share of it.
    /// Default 200 (2 %).
    pub daily_loss_bps: u32,
    /// Halt when equity falls this share below its peak. Default 500 (5 %).
    pub drawdown_bps: u32,
    /// Halt after this many losing round trips in a row. Default 5.
    pub max_consecutive_losses: u32,
    /// Halt when an instrument's mid moves this far from the window's low or high.
    /// Default 1000 (±10 %).
    pub price_move_bps: u32,
    /// The price-move window, s (one-second buckets: the window covers the current second
    /// and this many before it). Default 60.
    pub price_move_window_s: u32,
    /// Reduce when more instruments than this hold a position (a backstop: pre-trade
    /// should refuse the entry first). Default 3.
    pub max_open_positions: u32,
    /// Halt when a book that was valid has been invalid or silent for longer, ms.
    /// Default 5000.
    pub book_stale_ms: u64,
    /// Halt after this many feed reconnects within `reconnect_window_s`. Default 5.
    pub max_reconnects: u32,
    /// Reconnect window, s. Default 300.
    pub reconnect_window_s: u32,
    /// Halt after this many intent-ring-full events within `ring_full_window_s` (an
    /// intent — possibly a cancel — never left). Default 1.
    pub max_intent_ring_full: u32,
    /// Ring-full window, s. Default 60.
    pub ring_full_window_s: u32,
    /// Halt when at least this percentage of orders sent within `reject_window_s` was
    /// rejected (once at least `reject_min_orders` were sent). Default 50.
    pub max_reject_pct: u32,
    /// Reject-rate window, s. Default 60.
    pub reject_window_s: u32,
    /// Orders within the window before the reject rate counts. Default 10.
    pub reject_min_orders: u32,
    /// Reduce when the venue's rate-limit headroom falls below this percentage.
    /// Default 10.
    pub min_rate_limit_headroom_pct: u32,
}

impl Default for BreakerConfig {
    fn default() -> BreakerConfig {
        BreakerConfig {
            capital_quote: 10_000,
            daily_loss_bps: 200,
            drawdown_bps: 500,
            max_consecutive_losses: 5,
            price_move_bps: 1_000,
            price_move_window_s: 60,
            max_open_positions: 3,
            book_stale_ms: 5_000,
            max_reconnects: 5,
            reconnect_window_s: 300,
            max_intent_ring_full: 1,
            ring_full_window_s: 60,
            max_reject_pct: 50,
            reject_window_s: 60,
            reject_min_orders: 10,
            min_rate_limit_headroom_pct: 10,
        }
    }
}

impl BreakerConfig {
    /// `capital_quote` in millionths of the quote currency.
    pub fn capital_micros(&self) -> i64 {
        i64::try_from(self.capital_quote)
            .unwrap_or(i64::MAX)
            .saturating_mul(1_000_000)
    }

    /// Checks the thresholds; the error names the key and its range.
    pub fn validate(&self) -> Result<(), String> {
        let range = |name: &str, v: u64, lo: u64, hi: u64| {
            if (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "safety.breakers.{name} must be in {lo}..={hi}, got {v}"
                ))
            }
        };
        let w = u64::from(MAX_WINDOW_S);
        range("capital_quote", self.capital_quote, 1, 1_000_000_000_000)?;
        range("daily_loss_bps", self.daily_loss_bps.into(), 1, 10_000)?;
        range("drawdown_bps", self.drawdown_bps.into(), 1, 10_000)?;
        range(
            "max_consecutive_losses",
            self.max_consecutive_losses.into(),
            1,
            10_000,
        )?;
        range("price_move_bps", self.price_move_bps.into(), 1, 10_000)?;
        range("price_move_window_s", self.price_move_window_s.into(), 1, w)?;
        range(
            "max_open_positions",
            self.max_open_positions.into(),
            1,
            10_000,
        )?;
        range("book_stale_ms", self.book_stale_ms, 1, 3_600_000)?;
        range("max_reconnects", self.max_reconnects.into(), 1, 10_000)?;
        range("reconnect_window_s", self.reconnect_window_s.into(), 1, w)?;
        range(
            "max_intent_ring_full",
            self.max_intent_ring_full.into(),
            1,
            1_000_000,
        )?;
        range("ring_full_window_s", self.ring_full_window_s.into(), 1, w)?;
        range("max_reject_pct", self.max_reject_pct.into(), 1, 100)?;
        range("reject_window_s", self.reject_window_s.into(), 1, w)?;
        range(
            "reject_min_orders",
            self.reject_min_orders.into(),
            1,
            1_000_000,
        )?;
        range(
            "min_rate_limit_headroom_pct",
            self.min_rate_limit_headroom_pct.into(),
            0,
            99,
        )
    }
}

/// Kill inputs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KillConfig {
    /// Kill files besides `<state_dir>/KILL` (for example `/tmp/obi.stop`). Each file's
    /// directory must exist. Default none.
    pub extra_paths: Vec<PathBuf>,
    /// Watch with inotify (the kill-file check then costs nothing until something changes).
    /// Default true; without it, or if inotify is unavailable, files are checked on a timer.
    pub use_inotify: bool,
    /// Timer check interval without inotify, ms. Default 250.
    pub check_interval_ms: u64,
    /// Backstop timer check interval with inotify, ms (covers a lost event). Default 1000.
    pub backstop_interval_ms: u64,
}

impl Default for KillConfig {
    fn default() -> KillConfig {
        KillConfig {
            extra_paths: Vec::new(),
            use_inotify: true,
            check_interval_ms: 250,
            backstop_interval_ms: 1_000,
        }
    }
}

impl KillConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(10..=10_000).contains(&self.check_interval_ms) {
            return Err(format!(
                "safety.kill.check_interval_ms must be in 10..=10000, got {}",
                self.check_interval_ms
            ));
        }
        if !(10..=60_000).contains(&self.backstop_interval_ms) {
            return Err(format!(
                "safety.kill.backstop_interval_ms must be in 10..=60000, got {}",
                self.backstop_interval_ms
            ));
        }
        if let Some(p) = self
            .extra_paths
            .iter()
            .find(|p| p.file_name().is_none() || p.as_os_str().len() > 255)
        {
            return Err(format!(
                "safety.kill.extra_paths: {} is not a usable file path",
                p.display()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_runbook_and_valid() {
        let c = SafetyConfig::default();
        assert_eq!(c.validate(), Ok(()));
        let b = c.breakers;
        assert_eq!(
            (
                b.daily_loss_bps,
                b.drawdown_bps,
                b.max_consecutive_losses,
                b.price_move_bps,
                b.price_move_window_s,
                b.max_open_positions
            ),
            (200, 500, 5, 1_000, 60, 3)
        );
        assert_eq!(b.capital_micros(), 10_000_000_000);
    }

    #[test]
    fn parses_sections_with_defaults_and_rejects_unknown_keys() {
        let c: SafetyConfig = toml::from_str(
            "[breakers]\ndaily_loss_bps = 150\n[kill]\nextra_paths = [\"/tmp/obi.stop\"]\n\
             [flatten]\non_halt = true\n",
        )
        .expect("valid toml");
        assert_eq!(c.breakers.daily_loss_bps, 150);
        assert_eq!(c.breakers.drawdown_bps, 500);
        assert_eq!(c.kill.extra_paths, vec![PathBuf::from("/tmp/obi.stop")]);
        assert!(c.flatten.on_halt);
        assert!(toml::from_str::<SafetyConfig>("[breakers]\ndaily_loss = 1\n").is_err());
        assert!(toml::from_str::<SafetyConfig>("surprise = 1\n").is_err());
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = SafetyConfig::default();
        c.breakers.max_reject_pct = 101;
        let err = c.validate().err().unwrap_or_default();
        assert!(err.contains("safety.breakers.max_reject_pct"), "{err}");
        let mut c = SafetyConfig::default();
        c.kill.check_interval_ms = 0;
        assert!(
            c.validate()
                .err()
                .unwrap_or_default()
                .contains("check_interval_ms")
        );
        let mut c = SafetyConfig::default();
        c.kill.extra_paths.push(PathBuf::from("/"));
        assert!(
            c.validate()
                .err()
                .unwrap_or_default()
                .contains("extra_paths")
        );
    }
}
