//! Alerts: rules over each poll ([`rules`]), their lifecycle with deduplication, resolution
//! and a shared per-minute budget ([`tracker`]), the daily summary ([`summary`]), and
//! delivery to Slack, Discord and generic JSON webhooks ([`sink`], [`format`]).
//!
//! [`Alerts::on_poll`] is synchronous and never waits on the network: it only queues
//! messages; each sink's [`SinkWorker`] task sends them. The clock is a parameter, so tests
//! drive days in microseconds.

pub mod format;
pub mod level;
pub mod notification;
pub mod rate_limit;
pub mod rules;
pub mod sink;
pub mod summary;
pub mod tracker;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;

pub use format::SinkKind;
pub use level::Level;
pub use notification::{AlertState, Notification};
pub use rules::RuleInputs;
pub use sink::{SinkSetupError, SinkStats, SinkTarget, SinkWorker};

use crate::config::Config;
use rules::Rules;
use sink::{Delivery, SinkHandle};
use summary::DailySummary;
use tracker::Tracker;

#[derive(Debug)]
struct Lifecycle {
    rules: Rules,
    tracker: Tracker,
    summary: Option<DailySummary>,
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStats {
    /// Per sink.
    pub sinks: Vec<SinkStats>,
    /// Messages dropped by the per-minute budget.
    pub suppressed_rate_limit: u64,
    /// Messages produced (before the sinks' level filters).
    pub messages: u64,
    /// Alerts firing now.
    pub firing: u64,
}

/// The alerting pipeline.
#[derive(Debug)]
pub struct Alerts {
    lifecycle: Mutex<Lifecycle>,
    sinks: Vec<SinkHandle>,
    suppressed_rate_limit: AtomicU64,
    messages: AtomicU64,
    firing: AtomicU64,
}

impl Alerts {
    /// Builds the pipeline; returns the workers to spawn (one per sink).
    ///
    /// # Errors
    /// [`SinkSetupError::Client`] when the HTTP client cannot be built.
    pub fn new(
        config: &Config,
        targets: Vec<SinkTarget>,
        started_unix_ms: i64,
    ) -> Result<(Self, Vec<SinkWorker>), SinkSetupError> {
        let a = &config.alerts;
        let delivery = Delivery {
            timeout: a.send_timeout,
            max_attempts: a.max_attempts,
            backoff: a.retry_backoff,
        };
        let mut sinks = Vec::with_capacity(targets.len());
        let mut workers = Vec::with_capacity(targets.len());
        for t in targets {
            let (h, w) = sink::channel(t, delivery)?;
            sinks.push(h);
            workers.push(w);
        }
        let lifecycle = Lifecycle {
            rules: Rules::new(config, started_unix_ms),
            tracker: Tracker::new(a.renotify_interval, a.max_messages_per_minute),
            summary: a
                .daily_summary_at
                .map(|at| DailySummary::new(at, started_unix_ms)),
        };
        Ok((
            Self {
                lifecycle: Mutex::new(lifecycle),
                sinks,
                suppressed_rate_limit: AtomicU64::new(0),
                messages: AtomicU64::new(0),
                firing: AtomicU64::new(0),
            },
            workers,
        ))
    }

    /// Evaluates the rules for one poll at local time `now_local`, queues what is to be sent
    /// and returns it (for logs and tests). Never blocks on I/O.
    pub fn on_poll(
        &self,
        inputs: &RuleInputs<'_>,
        now_local: NaiveDateTime,
    ) -> Vec<Arc<Notification>> {
        let out = {
            let mut l = self
                .lifecycle
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let eval = l.rules.evaluate(inputs);
            let mut extra = Vec::new();
            if let Some(s) = &mut l.summary {
                s.observe(inputs.snap);
                if let Some(n) = s.due(now_local, inputs.now_unix_ms) {
                    extra.push(n);
                }
            }
            let out = l.tracker.step(eval, extra, inputs.now_unix_ms);
            if let Some(s) = &mut l.summary {
                s.add_incidents(out.new_incidents);
            }
            // Relaxed: a statistic.
            self.firing
                .store(l.tracker.firing_count() as u64, Ordering::Relaxed);
            out
        };
        self.suppressed_rate_limit
            .fetch_add(out.suppressed, Ordering::Relaxed);
        self.messages
            .fetch_add(out.messages.len() as u64, Ordering::Relaxed);
        let sent: Vec<Arc<Notification>> = out.messages.into_iter().map(Arc::new).collect();
        for n in &sent {
            tracing::info!(
                rule = %n.key(),
                level = n.level.name(),
                state = ?n.state,
                message = %n.message,
                "alert"
            );
            for s in &self.sinks {
                s.offer(n);
            }
        }
        sent
    }

    /// Counters for `/metrics`.
    #[must_use]
    pub fn stats(&self) -> AlertStats {
        AlertStats {
            sinks: self.sinks.iter().map(SinkHandle::stats).collect(),
            // Relaxed: statistics.
            suppressed_rate_limit: self.suppressed_rate_limit.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            firing: self.firing.load(Ordering::Relaxed),
        }
    }
}
