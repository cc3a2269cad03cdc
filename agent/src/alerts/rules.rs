//! Alert rules: pure checks over one poll's engine snapshot, local facts and backup status.
//!
//! [`Rules::evaluate`] returns the conditions that hold now, the one-off events (engine
//! restart), and the rules it could not evaluate this time (no readable engine): those keep
//! their previous state instead of being reported as resolved.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use obi_shm::{CounterId, GaugeId, InstrumentGaugeId};

use super::Level;
use crate::backup::status::BackupStatus;
use crate::config::Config;
use crate::engine::{EngineSnapshot, ShmStatus};
use crate::health::LocalFacts;

/// Rules that read the engine's gauges or counters.
pub const ENGINE_RULES: [&str; 8] = [
    "engine_halted",
    "feed_down",
    "gateway_down",
    "book_invalid",
    "book_stale",
    "feed_lag",
    "reconnect_storm",
    "drawdown_warning",
];

/// Everything one evaluation looks at.
#[derive(Debug, Clone, Copy)]
pub struct RuleInputs<'a> {
    /// The poll.
    pub snap: &'a EngineSnapshot,
    /// Kill-file and disk facts.
    pub local: &'a LocalFacts,
    /// Last backup, when backups are enabled.
    pub backup: Option<&'a BackupStatus>,
    /// Now, Unix milliseconds (agent clock).
    pub now_unix_ms: i64,
}

/// A condition that holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Rule name.
    pub rule: &'static str,
    /// Instrument symbol for per-instrument rules.
    pub subject: Option<String>,
    /// Severity.
    pub level: Level,
    /// Human-readable text.
    pub message: String,
    /// Values looked at, unit in the key.
    pub values: BTreeMap<String, f64>,
}

impl Condition {
    fn new(rule: &'static str, level: Level, message: String) -> Self {
        Self {
            rule,
            subject: None,
            level,
            message,
            values: BTreeMap::new(),
        }
    }

    fn subject(mut self, s: &str) -> Self {
        self.subject = Some(s.to_string());
        self
    }

    fn value(mut self, key: &str, v: f64) -> Self {
        self.values.insert(key.to_string(), v);
        self
    }
}

/// One evaluation's result.
#[derive(Debug, Clone, Default)]
pub struct Evaluation {
    /// Conditions that hold.
    pub active: Vec<Condition>,
    /// One-off events (nothing to resolve).
    pub events: Vec<Condition>,
    /// Rules that could not be evaluated (keep their previous state).
    pub unknown_rules: Vec<&'static str>,
}

/// Thresholds and the little history the rules need (resync counter samples).
#[derive(Debug)]
pub struct Rules {
    heartbeat_stale_ms: u64,
    min_free_disk_bytes: u64,
    feed_lag_max_ms: u64,
    book_stale_ms: u64,
    storm_resyncs: u64,
    storm_window_ms: i64,
    drawdown_warn_quote_micros: i64,
    backup_max_age_ms: Option<i64>,
    started_unix_ms: i64,
    resync_samples: VecDeque<(i64, u64)>,
    restarts_seen: u64,
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Rules {
    /// Rules with the config's thresholds; `started_unix_ms` is when the agent started (a
    /// missing first backup is only "too old" once the agent has run for `max_age`).
    #[must_use]
    pub fn new(config: &Config, started_unix_ms: i64) -> Self {
        let a = &config.alerts;
        Self {
            heartbeat_stale_ms: config.heartbeat_stale_ms,
            min_free_disk_bytes: config.min_free_disk_bytes,
            feed_lag_max_ms: a.feed_lag_max_ms,
            book_stale_ms: a.book_stale_ms,
            storm_resyncs: a.reconnect_storm_count,
            storm_window_ms: ms(a.reconnect_storm_window),
            drawdown_warn_quote_micros: a.drawdown_warn_quote_micros,
            backup_max_age_ms: config.backup.enabled.then(|| ms(config.backup.max_age)),
            started_unix_ms,
            resync_samples: VecDeque::new(),
            restarts_seen: 0,
        }
    }

    /// Evaluates every rule once.
    pub fn evaluate(&mut self, inputs: &RuleInputs<'_>) -> Evaluation {
        let mut out = Evaluation::default();
        self.engine_liveness(inputs, &mut out);
        self.disk(inputs, &mut out);
        self.backup(inputs, &mut out);
        if inputs.snap.restarts_followed > self.restarts_seen {
            self.restarts_seen = inputs.snap.restarts_followed;
            self.resync_samples.clear();
            let pid = inputs.snap.header.as_ref().map_or(0, |h| h.pid);
            out.events.push(
                Condition::new(
                    "engine_restarted",
                    Level::Info,
                    format!(
                        "engine restarted (new pid {pid}); the agent follows the new stats file"
                    ),
                )
                .value("pid", f64::from(pid)),
            );
        }
        let readable = inputs.snap.status == ShmStatus::Ready && inputs.snap.gauges.is_some();
        if readable {
            self.engine_values(inputs, &mut out);
        } else {
            out.unknown_rules.extend(ENGINE_RULES);
        }
        out
    }

    fn engine_liveness(&self, inputs: &RuleInputs<'_>, out: &mut Evaluation) {
        let snap = inputs.snap;
        match &snap.status {
            ShmStatus::Ready => {
                let age_ms = snap.heartbeat_age_ms().unwrap_or(0);
                if age_ms > self.heartbeat_stale_ms {
                    out.active.push(
                        Condition::new(
                            "heartbeat_stale",
                            Level::Critical,
                            format!(
                                "engine heartbeat is {age_ms} ms old (limit {} ms): engine hung or dead",
                                self.heartbeat_stale_ms
                            ),
                        )
                        .value("heartbeat_age_ms", age_ms as f64)
                        .value("limit_ms", self.heartbeat_stale_ms as f64),
                    );
                }
            }
            other => out.active.push(Condition::new(
                "engine_down",
                Level::Critical,
                format!("engine stats not readable: reader state {}", other.name()),
            )),
        }
    }

    fn engine_values(&mut self, inputs: &RuleInputs<'_>, out: &mut Evaluation) {
        let snap = inputs.snap;
        let (Some(gauges), Some(header)) = (&snap.gauges, &snap.header) else {
            return;
        };
        let kill_state = gauges.get(GaugeId::KillState);
        let risk_state = gauges.get(GaugeId::RiskState);
        let mut why = Vec::new();
        if kill_state != 0 {
            why.push(format!("kill latched (kill_state {kill_state})"));
        }
        if risk_state != 0 {
            why.push(format!("risk breaker (risk_state {risk_state})"));
        }
        if inputs.local.kill_file_present {
            why.push("kill file present".to_string());
        }
        if !why.is_empty() {
            out.active.push(
                Condition::new(
                    "engine_halted",
                    Level::Critical,
                    format!("engine halted: {}", why.join(", ")),
                )
                .value("kill_state", kill_state as f64)
                .value("risk_state", risk_state as f64),
            );
        }
        // Connections matter outside replay (trading_mode 0).
        if gauges.get(GaugeId::TradingMode) != 0 {
            if gauges.get(GaugeId::FeedUp) == 0 {
                let failing = gauges.get(GaugeId::FeedFailingAttempts);
                out.active.push(
                    Condition::new(
                        "feed_down",
                        Level::Error,
                        format!("market-data feed down ({failing} failed attempts in a row)"),
                    )
                    .value("failing_attempts", failing as f64),
                );
            }
            if gauges.get(GaugeId::GatewayUp) == 0 {
                out.active.push(Condition::new(
                    "gateway_down",
                    Level::Critical,
                    "order gateway disconnected: open orders cannot be managed".to_string(),
                ));
            }
        }
        let now_ns = i64::try_from(snap.observed_unix_ns).unwrap_or(i64::MAX);
        for (i, symbol) in header.instruments.iter().enumerate() {
            let g = |id| gauges.instrument(i, id).unwrap_or(0);
            if g(InstrumentGaugeId::BookValid) != 1 {
                out.active.push(
                    Condition::new(
                        "book_invalid",
                        Level::Error,
                        format!("{symbol} book invalid (gap or resync): no trading on it"),
                    )
                    .subject(symbol),
                );
                continue;
            }
            let lag_ms = g(InstrumentGaugeId::FeedLagMs);
            if lag_ms > i64::try_from(self.feed_lag_max_ms).unwrap_or(i64::MAX) {
                out.active.push(
                    Condition::new(
                        "feed_lag",
                        Level::Warning,
                        format!(
                            "{symbol} feed lag {lag_ms} ms (limit {} ms)",
                            self.feed_lag_max_ms
                        ),
                    )
                    .subject(symbol)
                    .value("feed_lag_ms", lag_ms as f64),
                );
            }
            let receipt_ns = g(InstrumentGaugeId::LastReceiptUnixNs);
            if receipt_ns > 0 {
                let silent_ms = now_ns.saturating_sub(receipt_ns) / 1_000_000;
                if silent_ms > i64::try_from(self.book_stale_ms).unwrap_or(i64::MAX) {
                    out.active.push(
                        Condition::new(
                            "book_stale",
                            Level::Warning,
                            format!("{symbol} book stale: no frame for {silent_ms} ms"),
                        )
                        .subject(symbol)
                        .value("silent_ms", silent_ms as f64),
                    );
                }
            }
        }
        if let Some(c) = self.reconnect_storm(inputs) {
            out.active.push(c);
        }
        let drawdown = gauges.get(GaugeId::DrawdownQuoteMicros);
        if drawdown >= self.drawdown_warn_quote_micros {
            out.active.push(
                Condition::new(
                    "drawdown_warning",
                    Level::Warning,
                    format!(
                        "drawdown {:.2} quote (warning at {:.2})",
                        drawdown as f64 * 1e-6,
                        self.drawdown_warn_quote_micros as f64 * 1e-6
                    ),
                )
                .value("drawdown_quote", drawdown as f64 * 1e-6)
                .value(
                    "threshold_quote",
                    self.drawdown_warn_quote_micros as f64 * 1e-6,
                ),
            );
        }
    }

    fn reconnect_storm(&mut self, inputs: &RuleInputs<'_>) -> Option<Condition> {
        let c = inputs.snap.counters.as_ref()?;
        let resyncs = c.get(CounterId::FeedDisconnectsTotal)
            + c.get(CounterId::GatewayReconnectsTotal)
            + c.get(CounterId::ResyncsTotal);
        let now = inputs.now_unix_ms;
        if self
            .resync_samples
            .back()
            .is_some_and(|&(_, v)| v > resyncs)
        {
            // The counter went backwards: a new engine. Start the window over.
            self.resync_samples.clear();
        }
        self.resync_samples.push_back((now, resyncs));
        while self
            .resync_samples
            .front()
            .is_some_and(|&(t, _)| now - t > self.storm_window_ms)
        {
            self.resync_samples.pop_front();
        }
        let oldest = self.resync_samples.front().map_or(resyncs, |&(_, v)| v);
        let in_window = resyncs - oldest;
        (in_window >= self.storm_resyncs).then(|| {
            Condition::new(
                "reconnect_storm",
                Level::Error,
                format!(
                    "{in_window} reconnects (feed disconnects, gateway reconnects, book resyncs) within {} s (limit {})",
                    self.storm_window_ms / 1_000,
                    self.storm_resyncs
                ),
            )
            .value("reconnects_in_window", in_window as f64)
        })
    }

    fn disk(&self, inputs: &RuleInputs<'_>, out: &mut Evaluation) {
        match &inputs.local.state_dir_available_bytes {
            Ok(avail) if *avail < self.min_free_disk_bytes => out.active.push(
                Condition::new(
                    "disk_low",
                    Level::Error,
                    format!(
                        "state dir has {} MiB free (floor {} MiB)",
                        avail / (1024 * 1024),
                        self.min_free_disk_bytes / (1024 * 1024)
                    ),
                )
                .value("available_bytes", *avail as f64),
            ),
            Ok(_) => {}
            Err(e) => out
                .active
                .push(Condition::new("disk_low", Level::Error, e.clone())),
        }
    }

    fn backup(&self, inputs: &RuleInputs<'_>, out: &mut Evaluation) {
        let (Some(max_age_ms), Some(status)) = (self.backup_max_age_ms, inputs.backup) else {
            return;
        };
        if let (Some(false), Some(err)) = (status.last_attempt_ok, &status.last_error) {
            out.active.push(Condition::new(
                "backup_failed",
                Level::Error,
                format!("last backup failed: {err}"),
            ));
        }
        let since = status.last_success_unix_ms.unwrap_or(self.started_unix_ms);
        let age_ms = inputs.now_unix_ms - since;
        if age_ms > max_age_ms {
            let what = if status.last_success_unix_ms.is_some() {
                format!("last successful backup is {} h old", age_ms / 3_600_000)
            } else {
                format!(
                    "no successful backup since the agent started {} h ago",
                    age_ms / 3_600_000
                )
            };
            out.active.push(
                Condition::new(
                    "backup_too_old",
                    Level::Warning,
                    format!("{what} (limit {} h)", max_age_ms / 3_600_000),
                )
                .value("age_seconds", (age_ms / 1_000) as f64),
            );
        }
    }
}
