//! Health evaluation: turns an [`EngineSnapshot`] plus local checks into a [`HealthReport`].
//!
//! # Liveness vs readiness
//!
//! - **Liveness** is the agent's own: if `/healthz` answers at all (200 or 503) the agent
//!   process is alive; `obi_agent_up 1` in `/metrics` says the same to Prometheus. A
//!   supervisor restarts the agent only when it stops answering, never because of a 503.
//! - **Readiness** is the trading system's, and is what the status code of `/healthz`
//!   reports: 200 only when every component is `ok` — the engine's stats file is mapped with
//!   a compatible layout, its heartbeat is younger than `engine.heartbeat_stale_ms`, its
//!   gauges are readable, every instrument's book is valid, no kill is latched (no kill file,
//!   `kill_state == 0`, no pending kill request), and the state dir has at least
//!   `engine.min_free_disk_mib` free. Otherwise 503 with the reasons. An engine that is
//!   halted on purpose is therefore *not ready*: it is alive but not trading.
//!
//! The last backup's age is reported as the `backup` component but does not block
//! readiness (an old backup is no reason to stop trading); when it fails or is older than
//! `backup.max_age_hours` it is listed under `warnings` and alerted on.
//!
//! The evaluation is pure (no I/O): callers gather the kill-file, disk and backup facts.

use serde::Serialize;

use obi_shm::{CounterId, GaugeId, InstrumentGaugeId};

use crate::backup::status::BackupStatus;
use crate::engine::{EngineSnapshot, ShmStatus};

/// Facts gathered outside the snapshot (file system).
#[derive(Debug, Clone)]
pub struct LocalFacts {
    /// Whether the kill file exists.
    pub kill_file_present: bool,
    /// Available bytes in the state dir, or why it could not be measured.
    pub state_dir_available_bytes: Result<u64, String>,
    /// The last backup, when backups are enabled.
    pub backup: Option<BackupStatus>,
}

/// Thresholds from the config.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Heartbeat age above which the engine is stale.
    pub heartbeat_stale_ms: u64,
    /// Free-space floor for the state dir.
    pub min_free_disk_bytes: u64,
    /// Backups older than this are reported, milliseconds.
    pub backup_max_age_ms: u64,
}

/// Overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every component ok.
    Healthy,
    /// At least one component failed.
    Unhealthy,
}

/// One component's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// True when this component does not block readiness.
    pub ok: bool,
    /// Why not, when `!ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Component {
    fn ok() -> Self {
        Self {
            ok: true,
            reason: None,
        }
    }

    fn fail(reason: impl Into<String>) -> Self {
        Self {
            ok: false,
            reason: Some(reason.into()),
        }
    }
}

/// The engine process as seen through its stats file.
#[derive(Debug, Clone, Serialize)]
pub struct EngineComponent {
    /// Verdict.
    #[serde(flatten)]
    pub verdict: Component,
    /// Reader state name (`no_file`, `ready`, `incompatible`, ...).
    pub shm_state: &'static str,
    /// Engine pid, when mapped.
    pub pid: Option<u32>,
    /// Engine start time, Unix nanoseconds.
    pub start_unix_ns: Option<u64>,
    /// Heartbeat age, milliseconds.
    pub heartbeat_age_ms: Option<u64>,
    /// Layout version in the file, `major.minor`.
    pub layout_version: Option<String>,
    /// Engine restarts followed since the agent started.
    pub restarts_followed: u64,
}

/// One instrument's book.
#[derive(Debug, Clone, Serialize)]
pub struct BookComponent {
    /// Verdict.
    #[serde(flatten)]
    pub verdict: Component,
    /// Instrument symbol.
    pub symbol: String,
    /// Book valid gauge.
    pub book_valid: bool,
}

/// Kill-switch state.
#[derive(Debug, Clone, Serialize)]
pub struct KillComponent {
    /// Verdict.
    #[serde(flatten)]
    pub verdict: Component,
    /// Kill file exists.
    pub kill_file_present: bool,
    /// Engine `kill_state` gauge (non-zero: latched), when readable.
    pub kill_state: Option<i64>,
    /// Engine `risk_state` gauge, when readable.
    pub risk_state: Option<i64>,
    /// A kill request the engine has not acknowledged yet.
    pub kill_request_pending: bool,
}

/// Disk space of the state dir.
#[derive(Debug, Clone, Serialize)]
pub struct DiskComponent {
    /// Verdict.
    #[serde(flatten)]
    pub verdict: Component,
    /// Available bytes, when measurable.
    pub available_bytes: Option<u64>,
    /// Configured floor.
    pub min_free_bytes: u64,
}

/// Per-instrument metrics in the detailed report.
#[derive(Debug, Clone, Serialize)]
pub struct InstrumentMetrics {
    /// Instrument symbol.
    pub symbol: String,
    /// Exchange event time → receipt, milliseconds.
    pub feed_lag_ms: i64,
    /// Signed position, lots.
    pub position_lots: i64,
}

/// Engine metrics in the detailed report (from gauges and counters).
#[derive(Debug, Clone, Serialize)]
pub struct MetricsSection {
    /// Per instrument.
    pub instruments: Vec<InstrumentMetrics>,
    /// Intent ring occupancy, slots.
    pub intent_ring_used: i64,
    /// Report ring occupancy, slots.
    pub report_ring_used: i64,
    /// Sequence gaps.
    pub gaps_total: u64,
    /// Book resyncs (the feed's reconnect/resync count).
    pub resyncs_total: u64,
    /// Tick → intent latency percentiles, nanoseconds.
    pub latency_p50_ns: i64,
    /// 90th percentile.
    pub latency_p90_ns: i64,
    /// 99th percentile.
    pub latency_p99_ns: i64,
    /// 99.9th percentile.
    pub latency_p999_ns: i64,
    /// Maximum.
    pub latency_max_ns: i64,
    /// Realized PnL, millionths of the quote currency.
    pub realized_pnl_quote_micros: i64,
    /// Unrealized PnL.
    pub unrealized_pnl_quote_micros: i64,
    /// Current drawdown.
    pub drawdown_quote_micros: i64,
    /// Maximum drawdown.
    pub max_drawdown_quote_micros: i64,
    /// Orders open at the venue.
    pub open_orders: i64,
}

/// The last backup (informational: does not block readiness).
#[derive(Debug, Clone, Serialize)]
pub struct BackupComponent {
    /// Verdict (a failure here is a warning, not a readiness failure).
    #[serde(flatten)]
    pub verdict: Component,
    /// Last success, Unix milliseconds.
    pub last_success_unix_ms: Option<i64>,
    /// Age of the last success, seconds.
    pub last_backup_age_secs: Option<u64>,
    /// Whether the last attempt succeeded.
    pub last_attempt_ok: Option<bool>,
    /// Archive of the last success.
    pub last_archive: Option<String>,
}

/// Components of the detailed report.
#[derive(Debug, Clone, Serialize)]
pub struct Components {
    /// Engine process and heartbeat.
    pub engine: EngineComponent,
    /// Book validity per instrument.
    pub books: Vec<BookComponent>,
    /// Kill state.
    pub kill: KillComponent,
    /// State-dir disk space.
    pub disk: DiskComponent,
    /// Last backup age (absent when backups are disabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupComponent>,
}

/// The full report behind `/healthz/detailed` (and, reduced, `/healthz`).
#[derive(Debug, Clone, Serialize)]
pub struct HealthReport {
    /// Overall verdict.
    pub status: Status,
    /// Every failing component's reason.
    pub reasons: Vec<String>,
    /// Problems that do not block readiness (old or failed backup).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Agent observation time, Unix nanoseconds.
    pub observed_unix_ns: u64,
    /// Components.
    pub components: Components,
    /// Engine metrics, when the gauges were readable.
    pub metrics: Option<MetricsSection>,
}

/// Evaluates health.
#[must_use]
pub fn evaluate(snap: &EngineSnapshot, facts: &LocalFacts, limits: Thresholds) -> HealthReport {
    let engine = engine_component(snap, limits);
    let books = book_components(snap);
    let kill = kill_component(snap, facts);
    let disk = disk_component(facts, limits);
    let backup = facts
        .backup
        .as_ref()
        .map(|b| backup_component(b, snap.observed_unix_ns, limits));
    let warnings = backup
        .iter()
        .filter_map(|b| b.verdict.reason.as_ref().map(|r| format!("backup: {r}")))
        .collect();

    let mut reasons = Vec::new();
    let verdicts = std::iter::once(("engine", &engine.verdict))
        .chain(books.iter().map(|b| ("book", &b.verdict)))
        .chain([("kill", &kill.verdict), ("disk", &disk.verdict)]);
    for (name, verdict) in verdicts {
        if let Some(reason) = &verdict.reason {
            reasons.push(format!("{name}: {reason}"));
        }
    }
    let status = if reasons.is_empty() {
        Status::Healthy
    } else {
        Status::Unhealthy
    };
    HealthReport {
        status,
        reasons,
        warnings,
        observed_unix_ns: snap.observed_unix_ns,
        components: Components {
            engine,
            books,
            kill,
            disk,
            backup,
        },
        metrics: metrics_section(snap),
    }
}

fn engine_component(snap: &EngineSnapshot, limits: Thresholds) -> EngineComponent {
    let age_ms = snap.heartbeat_age_ms();
    let verdict = match &snap.status {
        ShmStatus::NoFile => Component::fail("engine not running (no stats file)"),
        ShmStatus::NotMapped { reason } => {
            Component::fail(format!("stats file cannot be mapped: {reason}"))
        }
        ShmStatus::NoVersionYet => Component::fail("engine starting (header not written yet)"),
        ShmStatus::Incompatible { found, expected } => Component::fail(format!(
            "incompatible stats layout version {}.{} (agent understands {}.x); upgrade the agent \
             or the engine so the major versions match",
            found.major, found.minor, expected.major
        )),
        ShmStatus::Ready => match age_ms {
            Some(age) if age > limits.heartbeat_stale_ms => Component::fail(format!(
                "heartbeat stale: {age} ms old (limit {} ms)",
                limits.heartbeat_stale_ms
            )),
            _ if snap.gauges.is_none() => Component::fail("gauges unreadable (seqlock contended)"),
            _ => Component::ok(),
        },
    };
    EngineComponent {
        verdict,
        shm_state: snap.status.name(),
        pid: snap.header.as_ref().map(|h| h.pid),
        start_unix_ns: snap.header.as_ref().map(|h| h.start_unix_ns),
        heartbeat_age_ms: age_ms,
        layout_version: snap
            .header
            .as_ref()
            .map(|h| format!("{}.{}", h.version.major, h.version.minor)),
        restarts_followed: snap.restarts_followed,
    }
}

fn book_components(snap: &EngineSnapshot) -> Vec<BookComponent> {
    let (Some(header), Some(gauges)) = (&snap.header, &snap.gauges) else {
        return Vec::new();
    };
    header
        .instruments
        .iter()
        .enumerate()
        .map(|(i, symbol)| {
            let valid = gauges.instrument(i, InstrumentGaugeId::BookValid) == Some(1);
            BookComponent {
                verdict: if valid {
                    Component::ok()
                } else {
                    Component::fail(format!("{symbol} book invalid"))
                },
                symbol: symbol.clone(),
                book_valid: valid,
            }
        })
        .collect()
}

fn kill_component(snap: &EngineSnapshot, facts: &LocalFacts) -> KillComponent {
    let kill_state = snap.gauges.as_ref().map(|g| g.get(GaugeId::KillState));
    let risk_state = snap.gauges.as_ref().map(|g| g.get(GaugeId::RiskState));
    let pending = snap.control.is_some_and(|c| c.kill_pending());
    let mut why = Vec::new();
    if facts.kill_file_present {
        why.push("kill file present");
    }
    if kill_state.is_some_and(|k| k != 0) {
        why.push("engine kill latched");
    }
    if pending {
        why.push("kill request not yet acknowledged");
    }
    KillComponent {
        verdict: if why.is_empty() {
            Component::ok()
        } else {
            Component::fail(why.join(", "))
        },
        kill_file_present: facts.kill_file_present,
        kill_state,
        risk_state,
        kill_request_pending: pending,
    }
}

fn disk_component(facts: &LocalFacts, limits: Thresholds) -> DiskComponent {
    let (verdict, available) = match &facts.state_dir_available_bytes {
        Ok(avail) if *avail < limits.min_free_disk_bytes => (
            Component::fail(format!(
                "state dir has {} MiB free (floor {} MiB)",
                avail / (1024 * 1024),
                limits.min_free_disk_bytes / (1024 * 1024)
            )),
            Some(*avail),
        ),
        Ok(avail) => (Component::ok(), Some(*avail)),
        Err(e) => (Component::fail(format!("state dir: {e}")), None),
    };
    DiskComponent {
        verdict,
        available_bytes: available,
        min_free_bytes: limits.min_free_disk_bytes,
    }
}

fn backup_component(b: &BackupStatus, now_unix_ns: u64, limits: Thresholds) -> BackupComponent {
    let now_ms = i64::try_from(now_unix_ns / 1_000_000).unwrap_or(i64::MAX);
    let age_ms = b
        .last_success_unix_ms
        .map(|t| u64::try_from(now_ms.saturating_sub(t)).unwrap_or(0));
    let verdict = match (b.last_attempt_ok, &b.last_error, age_ms) {
        (Some(false), Some(e), _) => Component::fail(format!("last backup failed: {e}")),
        (_, _, None) => Component::fail("no successful backup yet"),
        (_, _, Some(age)) if age > limits.backup_max_age_ms => Component::fail(format!(
            "last successful backup is {} h old (limit {} h)",
            age / 3_600_000,
            limits.backup_max_age_ms / 3_600_000
        )),
        _ => Component::ok(),
    };
    BackupComponent {
        verdict,
        last_success_unix_ms: b.last_success_unix_ms,
        last_backup_age_secs: age_ms.map(|a| a / 1_000),
        last_attempt_ok: b.last_attempt_ok,
        last_archive: b.last_archive.clone(),
    }
}

fn metrics_section(snap: &EngineSnapshot) -> Option<MetricsSection> {
    let gauges = snap.gauges.as_ref()?;
    let header = snap.header.as_ref()?;
    let counter = |id| snap.counters.as_ref().map_or(0, |c| c.get(id));
    let instruments = header
        .instruments
        .iter()
        .enumerate()
        .map(|(i, symbol)| InstrumentMetrics {
            symbol: symbol.clone(),
            feed_lag_ms: gauges
                .instrument(i, InstrumentGaugeId::FeedLagMs)
                .unwrap_or(0),
            position_lots: gauges
                .instrument(i, InstrumentGaugeId::PositionLots)
                .unwrap_or(0),
        })
        .collect();
    Some(MetricsSection {
        instruments,
        intent_ring_used: gauges.get(GaugeId::IntentRingUsed),
        report_ring_used: gauges.get(GaugeId::ReportRingUsed),
        gaps_total: counter(CounterId::GapsTotal),
        resyncs_total: counter(CounterId::ResyncsTotal),
        latency_p50_ns: gauges.get(GaugeId::LatencyP50Ns),
        latency_p90_ns: gauges.get(GaugeId::LatencyP90Ns),
        latency_p99_ns: gauges.get(GaugeId::LatencyP99Ns),
        latency_p999_ns: gauges.get(GaugeId::LatencyP999Ns),
        latency_max_ns: gauges.get(GaugeId::LatencyMaxNs),
        realized_pnl_quote_micros: gauges.get(GaugeId::RealizedPnlQuoteMicros),
        unrealized_pnl_quote_micros: gauges.get(GaugeId::UnrealizedPnlQuoteMicros),
        drawdown_quote_micros: gauges.get(GaugeId::DrawdownQuoteMicros),
        max_drawdown_quote_micros: gauges.get(GaugeId::MaxDrawdownQuoteMicros),
        open_orders: gauges.get(GaugeId::OpenOrders),
    })
}
