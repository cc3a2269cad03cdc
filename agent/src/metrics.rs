//! Prometheus text exposition (format 0.0.4) of the engine's shm registries and the agent's
//! own state.
//!
//! Names are `obi_<area>_<what>_<unit>` with base units, as Prometheus (and `promtool check
//! metrics`' linter) wants: the registries' `_ns`/`_ms` become `_seconds`, `_unix_ns`
//! timestamps become `_timestamp_seconds`, `_quote_micros` becomes `_quote` (currency units),
//! `_ppm` becomes `_ratio`, `_per_sec` becomes `_per_second`. Areas: `engine` (counters and
//! engine-wide gauges), `instrument` (per-instrument gauges, labelled `{symbol="..."}`),
//! `agent` (the agent itself). Every family is generated from `CounterId::ALL`,
//! `GaugeId::ALL` and `InstrumentGaugeId::ALL` and defined once.

use std::fmt::Write as _;

use obi_shm::{CounterId, GaugeId, InstrumentGaugeId};

use crate::alerts::AlertStats;
use crate::backup::status::BackupStatus;
use crate::engine::{EngineSnapshot, ShmStatus};

/// Content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The agent's own facts to export beside the engine's.
#[derive(Debug, Clone)]
pub struct AgentFacts {
    /// Alert delivery counters.
    pub alerts: AlertStats,
    /// The last backup.
    pub backup: BackupStatus,
    /// Whether the kill file exists.
    pub kill_file_present: bool,
    /// Available bytes in the state dir, when measurable.
    pub state_dir_available_bytes: Option<u64>,
    /// Failed authentications on control endpoints since start.
    pub auth_failures_total: u64,
    /// Control actions (kill, reset) accepted since start.
    pub control_actions_total: u64,
}

/// A registry name mapped to its exported name and scale.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    /// Metric name without the `obi_<area>_` prefix, in base units.
    pub name: String,
    /// Multiply the raw value by this (1.0: export the integer as is).
    pub scale: f64,
    /// Note appended to HELP when the unit changed.
    pub unit_note: Option<&'static str>,
}

/// Maps a registry name (`latency_p99_ns`) to base units (`latency_p99_seconds`, 1e-9).
///
/// ```
/// let e = obi_agent::metrics::base_units("feed_lag_ms");
/// assert_eq!((e.name.as_str(), e.scale), ("feed_lag_seconds", 1e-3));
/// ```
#[must_use]
pub fn base_units(raw: &str) -> Exported {
    const RULES: [(&str, &str, f64, &str); 7] = [
        (
            "_event_ms",
            "_event_timestamp_seconds",
            1e-3,
            "Exported in seconds.",
        ),
        (
            "_unix_ns",
            "_timestamp_seconds",
            1e-9,
            "Exported in seconds.",
        ),
        ("_ns", "_seconds", 1e-9, "Exported in seconds."),
        ("_ms", "_seconds", 1e-3, "Exported in seconds."),
        (
            "_quote_micros",
            "_quote",
            1e-6,
            "Exported in quote currency units.",
        ),
        ("_ppm", "_ratio", 1e-6, "Exported as a ratio in [-1, 1]."),
        ("_per_sec", "_per_second", 1.0, ""),
    ];
    for (suffix, replacement, scale, note) in RULES {
        if let Some(stem) = raw.strip_suffix(suffix) {
            return Exported {
                name: format!("{stem}{replacement}"),
                scale,
                unit_note: (!note.is_empty()).then_some(note),
            };
        }
    }
    Exported {
        name: raw.to_string(),
        scale: 1.0,
        unit_note: None,
    }
}

/// Renders the whole exposition.
#[must_use]
pub fn render(snap: &EngineSnapshot, agent: &AgentFacts) -> String {
    let mut out = String::with_capacity(16 * 1024);
    render_agent(&mut out, snap, agent);
    render_alerts(&mut out, &agent.alerts);
    render_backup(&mut out, &agent.backup);
    render_engine(&mut out, snap);
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    // Writing to a String cannot fail.
    let _ = writeln!(out, "# HELP {name} {}", escape_help(help));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{name}{labels} {value}");
}

fn render_agent(out: &mut String, snap: &EngineSnapshot, agent: &AgentFacts) {
    family(
        out,
        "obi_agent_up",
        "gauge",
        "1 while the agent is serving.",
    );
    sample(out, "obi_agent_up", "", 1);

    let name = "obi_agent_shm_reader_state";
    family(
        out,
        name,
        "gauge",
        "Stats-file reader state: 1 for the current state, 0 for the others.",
    );
    for state in ShmStatus::ALL_NAMES {
        let on = u8::from(snap.status.name() == state);
        sample(out, name, &format!("{{state=\"{state}\"}}"), on);
    }

    let name = "obi_agent_engine_heartbeat_age_seconds";
    family(
        out,
        name,
        "gauge",
        "Age of the engine's heartbeat when last polled (absent when no engine is mapped).",
    );
    if let Some(header) = &snap.header {
        let age_ns = snap
            .observed_unix_ns
            .saturating_sub(header.heartbeat_unix_ns);
        sample(out, name, "", age_ns as f64 * 1e-9);
    }

    let name = "obi_agent_engine_restarts_followed_total";
    family(
        out,
        name,
        "counter",
        "Engine restarts (recreated stats file) the agent followed.",
    );
    sample(out, name, "", snap.restarts_followed);

    let name = "obi_agent_shm_polls_total";
    family(out, name, "counter", "Polls of the engine's stats file.");
    sample(out, name, "", snap.polls);

    let name = "obi_agent_kill_file_present";
    family(out, name, "gauge", "1 when the kill file exists.");
    sample(out, name, "", u8::from(agent.kill_file_present));

    let name = "obi_agent_state_dir_available_bytes";
    family(
        out,
        name,
        "gauge",
        "Bytes available to the agent in the state dir's file system.",
    );
    if let Some(bytes) = agent.state_dir_available_bytes {
        sample(out, name, "", bytes);
    }

    let name = "obi_agent_auth_failures_total";
    family(
        out,
        name,
        "counter",
        "Rejected authentications on control endpoints.",
    );
    sample(out, name, "", agent.auth_failures_total);

    let name = "obi_agent_control_actions_total";
    family(
        out,
        name,
        "counter",
        "Authenticated control actions (kill, reset) handled.",
    );
    sample(out, name, "", agent.control_actions_total);
}

fn render_alerts(out: &mut String, a: &AlertStats) {
    type Pick = fn(&crate::alerts::SinkStats) -> u64;
    let per_sink: [(&str, &str, Pick); 3] = [
        (
            "obi_agent_alerts_sent_total",
            "Alert messages delivered, per sink.",
            |s| s.sent,
        ),
        (
            "obi_agent_alerts_failed_total",
            "Alert messages not delivered after every attempt (or dropped on a full queue), per sink.",
            |s| s.failed,
        ),
        (
            "obi_agent_alert_retries_total",
            "Alert send attempts after the first, per sink.",
            |s| s.retries,
        ),
    ];
    for (name, help, pick) in per_sink {
        family(out, name, "counter", help);
        for s in &a.sinks {
            let labels = format!("{{sink=\"{}\"}}", escape_label(&s.name));
            sample(out, name, &labels, pick(s));
        }
    }
    let name = "obi_agent_alerts_suppressed_total";
    family(
        out,
        name,
        "counter",
        "Alert messages not sent because of the per-minute budget (summarised later).",
    );
    sample(
        out,
        name,
        "{reason=\"rate_limit\"}",
        a.suppressed_rate_limit,
    );
    let name = "obi_agent_alert_messages_total";
    family(
        out,
        name,
        "counter",
        "Alert messages produced (firing, resolved, events, summaries).",
    );
    sample(out, name, "", a.messages);
    let name = "obi_agent_alerts_firing";
    family(out, name, "gauge", "Alert conditions firing now.");
    sample(out, name, "", a.firing);
}

fn render_backup(out: &mut String, b: &BackupStatus) {
    let name = "obi_agent_backup_last_success_timestamp_seconds";
    family(
        out,
        name,
        "gauge",
        "Time of the last successful backup (absent before the first).",
    );
    if let Some(ms) = b.last_success_unix_ms {
        sample(out, name, "", ms as f64 / 1e3);
    }
    let name = "obi_agent_backup_last_attempt_timestamp_seconds";
    family(out, name, "gauge", "Time of the last backup attempt.");
    if let Some(ms) = b.last_attempt_unix_ms {
        sample(out, name, "", ms as f64 / 1e3);
    }
    let name = "obi_agent_backup_last_attempt_ok";
    family(
        out,
        name,
        "gauge",
        "1 when the last backup attempt succeeded, 0 when it failed.",
    );
    if let Some(ok) = b.last_attempt_ok {
        sample(out, name, "", u8::from(ok));
    }
}

fn render_engine(out: &mut String, snap: &EngineSnapshot) {
    let Some(header) = &snap.header else {
        return;
    };
    if let Some(counters) = &snap.counters {
        for &id in CounterId::ALL {
            let name = format!("obi_engine_{}", id.name());
            family(out, &name, "counter", id.help());
            sample(out, &name, "", counters.get(id));
        }
    }
    let Some(gauges) = &snap.gauges else {
        return;
    };
    for &id in GaugeId::ALL {
        let e = base_units(id.name());
        let name = format!("obi_engine_{}", e.name);
        family(out, &name, "gauge", &help_with_note(id.help(), e.unit_note));
        sample_scaled(out, &name, "", gauges.get(id), e.scale);
    }
    for &id in InstrumentGaugeId::ALL {
        let e = base_units(id.name());
        let name = format!("obi_instrument_{}", e.name);
        family(out, &name, "gauge", &help_with_note(id.help(), e.unit_note));
        for (i, symbol) in header.instruments.iter().enumerate() {
            if let Some(value) = gauges.instrument(i, id) {
                let labels = format!("{{symbol=\"{}\"}}", escape_label(symbol));
                sample_scaled(out, &name, &labels, value, e.scale);
            }
        }
    }
}

fn sample_scaled(out: &mut String, name: &str, labels: &str, value: i64, scale: f64) {
    if (scale - 1.0).abs() < f64::EPSILON {
        sample(out, name, labels, value);
    } else {
        sample(out, name, labels, value as f64 * scale);
    }
}

fn help_with_note(help: &str, note: Option<&str>) -> String {
    match note {
        Some(note) => format!("{help} {note}"),
        None => help.to_string(),
    }
}

fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_label(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_name_maps_to_base_units() {
        let names = CounterId::ALL
            .iter()
            .map(|id| id.name())
            .chain(GaugeId::ALL.iter().map(|id| id.name()))
            .chain(InstrumentGaugeId::ALL.iter().map(|id| id.name()));
        for raw in names {
            let e = base_units(raw);
            for abbrev in ["_ns", "_ms", "_us", "_sec", "_micros", "_ppm"] {
                assert!(
                    !e.name.ends_with(abbrev) && !e.name.contains(&format!("{abbrev}_")),
                    "{raw} -> {}",
                    e.name
                );
            }
        }
        assert_eq!(
            base_units("last_publish_unix_ns").name,
            "last_publish_timestamp_seconds"
        );
        assert_eq!(
            base_units("last_exchange_event_ms").name,
            "last_exchange_event_timestamp_seconds"
        );
        assert_eq!(base_units("open_orders").scale, 1.0);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
