//! Shared application state: config, credentials, the engine poller and its latest snapshot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use obi_shm::StatsView;

use crate::alerts::{Alerts, RuleInputs, SinkSetupError, SinkTarget, SinkWorker};
use crate::audit::AuditLog;
use crate::auth::rate_limit::FailedAuthLimiter;
use crate::auth::{AuthSetupError, Authenticator};
use crate::backup::status::BackupStatus;
use crate::config::Config;
use crate::engine::{EnginePoller, EngineSnapshot};
use crate::health::{LocalFacts, Thresholds};
use crate::metrics::AgentFacts;
use crate::secrets::Secret;

/// Secrets loaded at start.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    /// Bearer token; `None` disables the control endpoints.
    pub token: Option<Secret>,
    /// Base32 TOTP secret; `None` means no second factor.
    pub totp_secret: Option<Secret>,
    /// Alert sinks with their webhook URLs.
    pub alert_sinks: Vec<SinkTarget>,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Bad TOTP secret.
    #[error(transparent)]
    Auth(#[from] AuthSetupError),
    /// A TOTP secret without a token makes no sense.
    #[error(
        "a TOTP secret is configured but no bearer token; set OBI_AGENT_TOKEN or control.token_file"
    )]
    TotpWithoutToken,
    /// The alert sinks could not be set up.
    #[error(transparent)]
    Alerts(#[from] SinkSetupError),
}

/// Cheap-to-clone handle on the agent's state.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    auth: Option<Authenticator>,
    limiter: FailedAuthLimiter,
    audit: AuditLog,
    poller: Mutex<EnginePoller>,
    latest: RwLock<Arc<EngineSnapshot>>,
    auth_failures_total: AtomicU64,
    control_actions_total: AtomicU64,
    alerts: Alerts,
    sink_workers: Mutex<Vec<SinkWorker>>,
    backup_status: RwLock<BackupStatus>,
}

impl AppState {
    /// Builds the state (does not poll yet; call [`refresh_engine`](Self::refresh_engine)).
    ///
    /// # Errors
    /// [`StateError`] for unusable secrets.
    pub fn new(config: Config, secrets: Secrets) -> Result<Self, StateError> {
        let auth = match (&secrets.token, &secrets.totp_secret) {
            (Some(token), totp) => Some(Authenticator::new(token, totp.as_ref())?),
            (None, Some(_)) => return Err(StateError::TotpWithoutToken),
            (None, None) => None,
        };
        let limiter = FailedAuthLimiter::new(config.max_failed_auth, config.failed_auth_window);
        let audit = AuditLog::new(config.audit_log.clone());
        let poller = Mutex::new(EnginePoller::new(config.shm_path.clone()));
        let started_unix_ms = i64::try_from(crate::engine::unix_now_ns() / 1_000_000).unwrap_or(0);
        let (alerts, workers) = Alerts::new(&config, secrets.alert_sinks, started_unix_ms)?;
        let backup_status = RwLock::new(BackupStatus::load(&config.backup.dir));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                auth,
                limiter,
                audit,
                poller,
                latest: RwLock::new(Arc::new(EngineSnapshot::initial())),
                auth_failures_total: AtomicU64::new(0),
                control_actions_total: AtomicU64::new(0),
                alerts,
                sink_workers: Mutex::new(workers),
                backup_status,
            }),
        })
    }

    /// The validated config.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The authenticator, if control is enabled.
    #[must_use]
    pub fn auth(&self) -> Option<&Authenticator> {
        self.inner.auth.as_ref()
    }

    /// The failed-auth limiter.
    #[must_use]
    pub fn limiter(&self) -> &FailedAuthLimiter {
        &self.inner.limiter
    }

    /// The audit log.
    #[must_use]
    pub fn audit(&self) -> &AuditLog {
        &self.inner.audit
    }

    /// Polls the stats file now, stores and returns the snapshot.
    pub fn refresh_engine(&self) -> Arc<EngineSnapshot> {
        let snap = Arc::new(self.lock_poller().poll());
        *self
            .inner
            .latest
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::clone(&snap);
        snap
    }

    /// The latest snapshot (from the background poll).
    #[must_use]
    pub fn latest(&self) -> Arc<EngineSnapshot> {
        Arc::clone(
            &self
                .inner
                .latest
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The current mapping, for control requests.
    #[must_use]
    pub fn engine_view(&self) -> Option<StatsView> {
        self.lock_poller().view().cloned()
    }

    /// Counts a failed authentication.
    pub fn count_auth_failure(&self) {
        // Relaxed: a statistic.
        self.inner
            .auth_failures_total
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a handled control action.
    pub fn count_control_action(&self) {
        // Relaxed: a statistic.
        self.inner
            .control_actions_total
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Health thresholds from the config.
    #[must_use]
    pub fn thresholds(&self) -> Thresholds {
        Thresholds {
            heartbeat_stale_ms: self.inner.config.heartbeat_stale_ms,
            min_free_disk_bytes: self.inner.config.min_free_disk_bytes,
            backup_max_age_ms: u64::try_from(self.inner.config.backup.max_age.as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    /// Kill-file and disk facts (two syscalls).
    #[must_use]
    pub fn local_facts(&self) -> LocalFacts {
        let c = &self.inner.config;
        LocalFacts {
            kill_file_present: c.kill_file.exists(),
            state_dir_available_bytes: fs4::available_space(&c.state_dir).map_err(|e| {
                format!(
                    "cannot measure free space of {}: {e}",
                    c.state_dir.display()
                )
            }),
            backup: c.backup.enabled.then(|| self.backup_status()),
        }
    }

    /// Facts for `/metrics`.
    #[must_use]
    pub fn agent_facts(&self, local: &LocalFacts) -> AgentFacts {
        AgentFacts {
            alerts: self.inner.alerts.stats(),
            backup: self.backup_status(),
            kill_file_present: local.kill_file_present,
            state_dir_available_bytes: local.state_dir_available_bytes.as_ref().ok().copied(),
            // Relaxed: statistics.
            auth_failures_total: self.inner.auth_failures_total.load(Ordering::Relaxed),
            control_actions_total: self.inner.control_actions_total.load(Ordering::Relaxed),
        }
    }

    /// The alert pipeline.
    #[must_use]
    pub fn alerts(&self) -> &Alerts {
        &self.inner.alerts
    }

    /// The sink workers, once (the server spawns them).
    #[must_use]
    pub fn take_sink_workers(&self) -> Vec<SinkWorker> {
        std::mem::take(
            &mut *self
                .inner
                .sink_workers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The last backup's outcome.
    #[must_use]
    pub fn backup_status(&self) -> BackupStatus {
        self.inner
            .backup_status
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Replaces the last backup's outcome.
    pub fn set_backup_status(&self, status: BackupStatus) {
        *self
            .inner
            .backup_status
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = status;
    }

    /// Runs the alert rules over `snap` at wall-clock now.
    pub fn evaluate_alerts(&self, snap: &EngineSnapshot) {
        let local = self.local_facts();
        let inputs = RuleInputs {
            snap,
            local: &local,
            backup: local.backup.as_ref(),
            now_unix_ms: i64::try_from(snap.observed_unix_ns / 1_000_000).unwrap_or(i64::MAX),
        };
        let _ = self
            .inner
            .alerts
            .on_poll(&inputs, chrono::Local::now().naive_local());
    }

    fn lock_poller(&self) -> std::sync::MutexGuard<'_, EnginePoller> {
        self.inner
            .poller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
