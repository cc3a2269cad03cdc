//! The daily summary: trades, PnL, max drawdown, win rate and incidents since the last one,
//! sent once a day at a configured local time.
//!
//! The engine's shm has no per-trade records, so the figures are derived from polls:
//! - trades: growth of `fills_total`;
//! - PnL: the sum of changes of `realized_pnl_quote_micros` between polls (an engine restart,
//!   seen as a new pid or a counter going back, starts a new baseline from zero);
//! - win rate: each poll where realized PnL rose counts as a win, each where it fell as a loss
//!   (trades closed within one poll interval merge; fees booked at entry count as a loss);
//! - max drawdown: the largest `drawdown_quote_micros` seen in the period;
//! - incidents: alerts that started firing at WARNING or above.

use std::collections::BTreeMap;

use chrono::{Duration as ChronoDuration, NaiveDate, NaiveDateTime, NaiveTime};
use obi_shm::{CounterId, GaugeId};

use super::Level;
use super::notification::{AlertState, Notification, rfc3339_ms};
use crate::engine::EngineSnapshot;

/// Figures accumulated since the last summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Period {
    /// Period start, Unix milliseconds.
    pub since_unix_ms: i64,
    /// Fills seen.
    pub trades: u64,
    /// Realized PnL change, millionths of the quote currency.
    pub realized_pnl_quote_micros: i64,
    /// Polls where realized PnL rose.
    pub wins: u64,
    /// Polls where realized PnL fell.
    pub losses: u64,
    /// Largest drawdown seen, millionths of the quote currency.
    pub max_drawdown_quote_micros: i64,
    /// Alerts that started firing at WARNING or above.
    pub incidents: u64,
}

impl Period {
    /// Wins / (wins + losses), or `None` without any.
    #[must_use]
    pub fn win_rate(&self) -> Option<f64> {
        let n = self.wins + self.losses;
        (n > 0).then(|| self.wins as f64 / n as f64)
    }
}

#[derive(Debug, Clone, Copy)]
struct Last {
    identity: (u32, u64),
    fills: u64,
    realized: i64,
}

/// Accumulates a [`Period`] and says when the summary is due.
#[derive(Debug)]
pub struct DailySummary {
    at: NaiveTime,
    last_sent_date: Option<NaiveDate>,
    period: Period,
    last: Option<Last>,
}

impl DailySummary {
    /// A summary sent daily at local time `at`, accumulating from `now_unix_ms`.
    #[must_use]
    pub fn new(at: NaiveTime, now_unix_ms: i64) -> Self {
        Self {
            at,
            last_sent_date: None,
            period: Period {
                since_unix_ms: now_unix_ms,
                ..Period::default()
            },
            last: None,
        }
    }

    /// The figures so far.
    #[must_use]
    pub fn period(&self) -> &Period {
        &self.period
    }

    /// Adds incidents (new firings at WARNING or above).
    pub fn add_incidents(&mut self, n: u64) {
        self.period.incidents += n;
    }

    /// Folds one poll into the period.
    pub fn observe(&mut self, snap: &EngineSnapshot) {
        let (Some(header), Some(counters), Some(gauges)) =
            (&snap.header, &snap.counters, &snap.gauges)
        else {
            return;
        };
        let now = Last {
            identity: (header.pid, header.start_unix_ns),
            fills: counters.get(CounterId::FillsTotal),
            realized: gauges.get(GaugeId::RealizedPnlQuoteMicros),
        };
        let base = match self.last {
            Some(l) if l.identity == now.identity && now.fills >= l.fills => l,
            // First poll of this agent: the engine's history before it is not ours to count.
            None => now,
            // A new engine: it starts from zero.
            Some(_) => Last {
                identity: now.identity,
                fills: 0,
                realized: 0,
            },
        };
        self.period.trades += now.fills - base.fills;
        let d = now.realized.saturating_sub(base.realized);
        self.period.realized_pnl_quote_micros =
            self.period.realized_pnl_quote_micros.saturating_add(d);
        match d.signum() {
            1 => self.period.wins += 1,
            -1 => self.period.losses += 1,
            _ => {}
        }
        self.period.max_drawdown_quote_micros = self
            .period
            .max_drawdown_quote_micros
            .max(gauges.get(GaugeId::DrawdownQuoteMicros));
        self.last = Some(now);
    }

    /// The summary message when it is due at local time `now_local` (once per local date, at
    /// or after `at`), starting a new period. An agent started after today's time sends its
    /// first summary tomorrow.
    pub fn due(&mut self, now_local: NaiveDateTime, now_unix_ms: i64) -> Option<Notification> {
        let today = now_local.date();
        let last = *self.last_sent_date.get_or_insert_with(|| {
            if now_local.time() >= self.at {
                today
            } else {
                today - ChronoDuration::days(1)
            }
        });
        if last >= today || now_local.time() < self.at {
            return None;
        }
        self.last_sent_date = Some(today);
        let p = std::mem::replace(
            &mut self.period,
            Period {
                since_unix_ms: now_unix_ms,
                ..Period::default()
            },
        );
        Some(render(&p, now_unix_ms))
    }
}

fn render(p: &Period, now_unix_ms: i64) -> Notification {
    let win = p
        .win_rate()
        .map_or_else(|| "n/a".to_string(), |w| format!("{:.1}%", w * 100.0));
    let message = format!(
        "daily summary since {}: trades {}, realized PnL {:+.6} quote, max drawdown {:.6} quote, win rate {} ({} up / {} down), incidents {}",
        rfc3339_ms(p.since_unix_ms),
        p.trades,
        p.realized_pnl_quote_micros as f64 * 1e-6,
        p.max_drawdown_quote_micros as f64 * 1e-6,
        win,
        p.wins,
        p.losses,
        p.incidents
    );
    let mut values = BTreeMap::from([
        ("trades".to_string(), p.trades as f64),
        (
            "realized_pnl_quote".to_string(),
            p.realized_pnl_quote_micros as f64 * 1e-6,
        ),
        (
            "max_drawdown_quote".to_string(),
            p.max_drawdown_quote_micros as f64 * 1e-6,
        ),
        ("incidents".to_string(), p.incidents as f64),
    ]);
    if let Some(w) = p.win_rate() {
        values.insert("win_rate".to_string(), w);
    }
    Notification {
        rule: "daily_summary".to_string(),
        subject: None,
        level: Level::Info,
        state: AlertState::Event,
        message,
        values,
        fired_at: rfc3339_ms(p.since_unix_ms),
        sent_at: rfc3339_ms(now_unix_ms),
        fired_unix_ms: p.since_unix_ms,
        sent_unix_ms: now_unix_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, d)
            .and_then(|x| x.and_hms_opt(h, m, 0))
            .expect("valid")
    }

    #[test]
    fn once_a_day_at_the_configured_time() {
        let eight = NaiveTime::from_hms_opt(8, 0, 0).expect("valid");
        let mut s = DailySummary::new(eight, 0);
        assert!(s.due(at(23, 7, 59), 1).is_none());
        assert!(s.due(at(23, 8, 0), 2).is_some());
        assert!(s.due(at(23, 8, 1), 3).is_none());
        assert!(s.due(at(23, 23, 59), 4).is_none());
        assert!(s.due(at(24, 7, 0), 5).is_none());
        assert!(s.due(at(24, 9, 30), 6).is_some());
    }

    #[test]
    fn started_after_the_time_waits_for_tomorrow() {
        let eight = NaiveTime::from_hms_opt(8, 0, 0).expect("valid");
        let mut s = DailySummary::new(eight, 0);
        assert!(s.due(at(23, 9, 0), 1).is_none());
        assert!(s.due(at(24, 8, 0), 2).is_some());
    }
}
