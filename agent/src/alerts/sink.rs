//! Delivery: one queue and one worker task per sink, so a slow or failing sink never delays
//! the poll loop or the other sinks. Each message is POSTed with a timeout and retried with
//! doubling backoff; the outcome is counted. Webhook URLs are secrets: logs name the sink only
//! (reqwest errors are stripped of their URL).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Level, Notification, SinkKind};
use crate::config::SinkConfig;
use crate::secrets::{self, Secret};

/// Messages a sink may have queued before new ones are dropped (and counted as failed).
pub const QUEUE_CAPACITY: usize = 256;

/// A sink with its URL loaded.
#[derive(Debug, Clone)]
pub struct SinkTarget {
    /// Name for logs and metrics.
    pub name: String,
    /// Body format.
    pub kind: SinkKind,
    /// Webhook URL (secret).
    pub url: Secret,
    /// Least severe level sent.
    pub min_level: Level,
}

/// Why a sink's URL could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SinkSetupError {
    /// The env var or file could not be read (or the file is not owner-only).
    #[error("alert sink {name}: {source}")]
    Secret {
        /// Sink name.
        name: String,
        /// Cause.
        #[source]
        source: secrets::SecretError,
    },
    /// Neither the env var nor the file gave a URL.
    #[error("alert sink {name}: no webhook URL (set {env} or url_file)")]
    Missing {
        /// Sink name.
        name: String,
        /// The env var named in the config, or `url_env`.
        env: String,
    },
    /// The value is not an http(s) URL (the value itself is not shown).
    #[error("alert sink {name}: the webhook URL must start with https:// or http://")]
    NotHttp {
        /// Sink name.
        name: String,
    },
    /// The HTTP client could not be built.
    #[error("alert HTTP client: {0}")]
    Client(String),
}

/// Loads each configured sink's URL from its env var or owner-only file.
///
/// # Errors
/// [`SinkSetupError`] naming the sink (never the URL).
pub fn load_targets(sinks: &[SinkConfig]) -> Result<Vec<SinkTarget>, SinkSetupError> {
    sinks
        .iter()
        .map(|s| {
            let env = s.url_env.clone().unwrap_or_default();
            let url = secrets::load(&env, s.url_file.as_deref(), 1)
                .map_err(|source| SinkSetupError::Secret {
                    name: s.name.clone(),
                    source,
                })?
                .ok_or_else(|| SinkSetupError::Missing {
                    name: s.name.clone(),
                    env: if env.is_empty() {
                        "url_env".to_string()
                    } else {
                        env
                    },
                })?;
            let u = url.expose();
            if !(u.starts_with("https://") || u.starts_with("http://")) {
                return Err(SinkSetupError::NotHttp {
                    name: s.name.clone(),
                });
            }
            Ok(SinkTarget {
                name: s.name.clone(),
                kind: s.kind,
                url,
                min_level: s.min_level,
            })
        })
        .collect()
}

/// Per-sink delivery counters.
#[derive(Debug, Default)]
pub struct SinkCounters {
    /// Messages delivered (2xx).
    pub sent: AtomicU64,
    /// Messages given up on after every attempt, or dropped on a full queue.
    pub failed: AtomicU64,
    /// Retries (attempts after the first).
    pub retries: AtomicU64,
}

/// A snapshot of one sink's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkStats {
    /// Sink name.
    pub name: String,
    /// Delivered.
    pub sent: u64,
    /// Failed or dropped.
    pub failed: u64,
    /// Retries.
    pub retries: u64,
}

/// The poll loop's side of a sink: a queue and counters.
#[derive(Debug)]
pub struct SinkHandle {
    name: String,
    min_level: Level,
    tx: mpsc::Sender<Arc<Notification>>,
    counters: Arc<SinkCounters>,
}

impl SinkHandle {
    /// Queues a message if its level is high enough; never waits. A full queue drops the
    /// message and counts it as failed.
    pub fn offer(&self, n: &Arc<Notification>) {
        if n.level < self.min_level {
            return;
        }
        if self.tx.try_send(Arc::clone(n)).is_err() {
            // Relaxed: a statistic.
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(sink = %self.name, "alert queue full or closed; message dropped");
        }
    }

    /// Current counters.
    #[must_use]
    pub fn stats(&self) -> SinkStats {
        SinkStats {
            name: self.name.clone(),
            // Relaxed: statistics.
            sent: self.counters.sent.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
        }
    }
}

/// Delivery settings shared by every sink.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts per message.
    pub max_attempts: u32,
    /// First retry delay.
    pub backoff: Duration,
}

/// The task that POSTs one sink's messages. Run with [`SinkWorker::run`].
#[derive(Debug)]
pub struct SinkWorker {
    target: SinkTarget,
    rx: mpsc::Receiver<Arc<Notification>>,
    counters: Arc<SinkCounters>,
    client: reqwest::Client,
    delivery: Delivery,
}

/// Builds the handle and the worker for one sink.
///
/// # Errors
/// [`SinkSetupError::Client`] when the HTTP client cannot be built.
pub fn channel(
    target: SinkTarget,
    delivery: Delivery,
) -> Result<(SinkHandle, SinkWorker), SinkSetupError> {
    let client = reqwest::Client::builder()
        .timeout(delivery.timeout)
        .connect_timeout(delivery.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("obi-agent/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SinkSetupError::Client(e.without_url().to_string()))?;
    let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
    let counters = Arc::new(SinkCounters::default());
    Ok((
        SinkHandle {
            name: target.name.clone(),
            min_level: target.min_level,
            tx,
            counters: Arc::clone(&counters),
        },
        SinkWorker {
            target,
            rx,
            counters,
            client,
            delivery,
        },
    ))
}

impl SinkWorker {
    /// Delivers queued messages until every handle is dropped.
    pub async fn run(mut self) {
        while let Some(n) = self.rx.recv().await {
            self.deliver(&n).await;
        }
    }

    async fn deliver(&self, n: &Notification) {
        let body = self.target.kind.body(n);
        let mut delay = self.delivery.backoff;
        for attempt in 1..=self.delivery.max_attempts {
            let result = self
                .client
                .post(self.target.url.expose())
                .json(&body)
                .send()
                .await;
            let why = match result {
                Ok(resp) if resp.status().is_success() => {
                    // Relaxed: a statistic.
                    self.counters.sent.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Ok(resp) => format!("HTTP {}", resp.status().as_u16()),
                Err(e) => e.without_url().to_string(),
            };
            if attempt == self.delivery.max_attempts {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    sink = %self.target.name,
                    rule = %n.key(),
                    attempts = attempt,
                    error = %why,
                    "alert not delivered"
                );
                return;
            }
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(sink = %self.target.name, attempt, error = %why, "alert send failed; retrying");
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
}
