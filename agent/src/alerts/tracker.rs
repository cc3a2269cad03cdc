//! Alert lifecycle: deduplication, re-notification, level changes, resolution and the shared
//! per-minute message budget.
//!
//! A condition that starts holding is sent once; while it keeps holding it is re-sent only
//! after `renotify_interval` (or at once when its level changes); when it stops holding a
//! `resolved` message is sent. Every message (firing, resolved, event) takes one slot of the
//! per-minute budget; what does not fit is counted, and as soon as there is room again one
//! INFO message says how many were suppressed and for which rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use super::Level;
use super::notification::{AlertState, Notification, rfc3339_ms};
use super::rate_limit::MessageBudget;
use super::rules::{Condition, Evaluation};

#[derive(Debug, Clone)]
struct Firing {
    rule: &'static str,
    subject: Option<String>,
    level: Level,
    since_unix_ms: i64,
    last_sent_unix_ms: i64,
    message: String,
    values: BTreeMap<String, f64>,
}

/// What one step produced.
#[derive(Debug, Default)]
pub struct StepOutput {
    /// Messages to send, in order.
    pub messages: Vec<Notification>,
    /// Messages dropped by the budget in this step.
    pub suppressed: u64,
    /// New firings (first notice of a condition at WARNING or above): incidents.
    pub new_incidents: u64,
}

/// Tracks firing alerts across polls.
#[derive(Debug)]
pub struct Tracker {
    renotify_ms: i64,
    budget: MessageBudget,
    firing: HashMap<(&'static str, Option<String>), Firing>,
    pending_suppressed: u64,
    pending_suppressed_rules: BTreeSet<String>,
    pending_since_unix_ms: i64,
}

impl Tracker {
    /// A tracker re-sending after `renotify` and sending at most `max_per_minute`.
    #[must_use]
    pub fn new(renotify: Duration, max_per_minute: u32) -> Self {
        Self {
            renotify_ms: i64::try_from(renotify.as_millis()).unwrap_or(i64::MAX),
            budget: MessageBudget::new(max_per_minute),
            firing: HashMap::new(),
            pending_suppressed: 0,
            pending_suppressed_rules: BTreeSet::new(),
            pending_since_unix_ms: 0,
        }
    }

    /// Alerts firing now.
    #[must_use]
    pub fn firing_count(&self) -> usize {
        self.firing.len()
    }

    /// Advances by one evaluation at `now_unix_ms`; `extra` are one-off messages from
    /// elsewhere (the daily summary) that share the budget.
    pub fn step(
        &mut self,
        eval: Evaluation,
        extra: Vec<Notification>,
        now_unix_ms: i64,
    ) -> StepOutput {
        let mut out = StepOutput::default();
        let mut candidates = Vec::new();
        let mut seen = BTreeSet::new();
        for c in eval.active {
            let key = (c.rule, c.subject.clone());
            seen.insert(key.clone());
            match self.firing.get_mut(&key) {
                None => {
                    if c.level >= Level::Warning {
                        out.new_incidents += 1;
                    }
                    let f = Firing {
                        rule: c.rule,
                        subject: c.subject.clone(),
                        level: c.level,
                        since_unix_ms: now_unix_ms,
                        last_sent_unix_ms: now_unix_ms,
                        message: c.message.clone(),
                        values: c.values.clone(),
                    };
                    candidates.push(notification(
                        &c,
                        AlertState::Firing,
                        now_unix_ms,
                        now_unix_ms,
                    ));
                    self.firing.insert(key, f);
                }
                Some(f) => {
                    let changed = f.level != c.level;
                    let due = now_unix_ms - f.last_sent_unix_ms >= self.renotify_ms;
                    f.message.clone_from(&c.message);
                    f.values.clone_from(&c.values);
                    if changed || due {
                        let mut n =
                            notification(&c, AlertState::Firing, f.since_unix_ms, now_unix_ms);
                        if !changed {
                            n.message = format!("still firing since {}: {}", n.fired_at, n.message);
                        }
                        f.level = c.level;
                        f.last_sent_unix_ms = now_unix_ms;
                        candidates.push(n);
                    }
                }
            }
        }
        let unknown: BTreeSet<&str> = eval.unknown_rules.iter().copied().collect();
        let mut cleared: Vec<_> = self
            .firing
            .keys()
            .filter(|k| !seen.contains(*k) && !unknown.contains(k.0))
            .cloned()
            .collect();
        cleared.sort();
        for key in cleared {
            if let Some(f) = self.firing.remove(&key) {
                let c = Condition {
                    rule: f.rule,
                    subject: f.subject,
                    level: f.level,
                    message: format!("resolved (was: {})", f.message),
                    values: f.values,
                };
                candidates.push(notification(
                    &c,
                    AlertState::Resolved,
                    f.since_unix_ms,
                    now_unix_ms,
                ));
            }
        }
        for e in eval.events {
            candidates.push(notification(
                &e,
                AlertState::Event,
                now_unix_ms,
                now_unix_ms,
            ));
        }
        candidates.extend(extra);

        if self.pending_suppressed > 0 && self.budget.try_take(now_unix_ms) {
            out.messages.push(self.suppression_note(now_unix_ms));
        }
        for n in candidates {
            if self.budget.try_take(now_unix_ms) {
                out.messages.push(n);
            } else {
                if self.pending_suppressed == 0 {
                    self.pending_since_unix_ms = now_unix_ms;
                }
                self.pending_suppressed += 1;
                self.pending_suppressed_rules.insert(n.key());
                out.suppressed += 1;
            }
        }
        out
    }

    fn suppression_note(&mut self, now_unix_ms: i64) -> Notification {
        let rules: Vec<String> = std::mem::take(&mut self.pending_suppressed_rules)
            .into_iter()
            .collect();
        let count = std::mem::take(&mut self.pending_suppressed);
        let c = Condition {
            rule: "alerts_rate_limited",
            subject: None,
            level: Level::Info,
            message: format!(
                "{count} alert message(s) suppressed by the rate limit since {}: {}",
                rfc3339_ms(self.pending_since_unix_ms),
                rules.join(", ")
            ),
            values: BTreeMap::from([("suppressed".to_string(), count as f64)]),
        };
        notification(
            &c,
            AlertState::Event,
            self.pending_since_unix_ms,
            now_unix_ms,
        )
    }
}

fn notification(c: &Condition, state: AlertState, fired_ms: i64, now_ms: i64) -> Notification {
    Notification {
        rule: c.rule.to_string(),
        subject: c.subject.clone(),
        level: c.level,
        state,
        message: c.message.clone(),
        values: c.values.clone(),
        fired_at: rfc3339_ms(fired_ms),
        sent_at: rfc3339_ms(now_ms),
        fired_unix_ms: fired_ms,
        sent_unix_ms: now_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(rule: &'static str, level: Level) -> Condition {
        Condition {
            rule,
            subject: None,
            level,
            message: format!("{rule} holds"),
            values: BTreeMap::new(),
        }
    }

    fn eval(active: Vec<Condition>) -> Evaluation {
        Evaluation {
            active,
            ..Evaluation::default()
        }
    }

    #[test]
    fn fires_once_renotifies_after_interval_and_resolves() {
        let mut t = Tracker::new(Duration::from_secs(60), 100);
        let out = t.step(eval(vec![cond("a", Level::Error)]), vec![], 0);
        assert_eq!(out.messages.len(), 1);
        assert_eq!(out.new_incidents, 1);
        assert!(
            t.step(eval(vec![cond("a", Level::Error)]), vec![], 59_999)
                .messages
                .is_empty()
        );
        let again = t
            .step(eval(vec![cond("a", Level::Error)]), vec![], 60_000)
            .messages;
        assert_eq!(again.len(), 1);
        assert!(
            again[0].message.starts_with("still firing"),
            "{}",
            again[0].message
        );
        let up = t
            .step(eval(vec![cond("a", Level::Critical)]), vec![], 60_001)
            .messages;
        assert_eq!(up[0].level, Level::Critical);
        let gone = t.step(eval(vec![]), vec![], 60_002).messages;
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].state, AlertState::Resolved);
        assert_eq!(t.firing_count(), 0);
    }

    #[test]
    fn unknown_rules_do_not_resolve() {
        let mut t = Tracker::new(Duration::from_secs(60), 100);
        t.step(eval(vec![cond("feed_lag", Level::Warning)]), vec![], 0);
        let e = Evaluation {
            unknown_rules: vec!["feed_lag"],
            ..Evaluation::default()
        };
        assert!(t.step(e, vec![], 1).messages.is_empty());
        assert_eq!(t.firing_count(), 1);
    }

    #[test]
    fn budget_overflow_is_counted_then_summarised() {
        let mut t = Tracker::new(Duration::from_secs(3_600), 2);
        let rules = ["a", "b", "c", "d"];
        let out = t.step(
            eval(rules.iter().map(|r| cond(r, Level::Error)).collect()),
            vec![],
            0,
        );
        assert_eq!(out.messages.len(), 2);
        assert_eq!(out.suppressed, 2);
        let later = t.step(
            eval(rules.iter().map(|r| cond(r, Level::Error)).collect()),
            vec![],
            60_000,
        );
        assert_eq!(later.messages.len(), 1);
        assert_eq!(later.messages[0].rule, "alerts_rate_limited");
        assert!(later.messages[0].message.contains("2 alert message(s)"));
        assert!(later.messages[0].message.contains("c, d"));
    }
}
