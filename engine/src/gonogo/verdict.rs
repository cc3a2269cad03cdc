//! Check results and the verdict: PASS / WARN / FAIL per check, GO / CONDITIONAL / NO-GO
//! overall, and the exit code each verdict maps to.

use std::fmt::Write as _;

/// One check's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Fine.
    Pass,
    /// Acceptable only with the condition noted (the verdict becomes CONDITIONAL).
    Warn,
    /// Not safe to go live (the verdict becomes NO-GO).
    Fail,
}

impl Status {
    /// `PASS`, `WARN` or `FAIL`.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One line of the checklist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Stable short name (`config`, `keys`, `clock`, ...), also the JSON key.
    pub id: &'static str,
    /// The outcome.
    pub status: Status,
    /// Why, in one line (never secret material).
    pub reason: String,
}

impl Check {
    /// A check with `status`.
    pub fn new(id: &'static str, status: Status, reason: impl Into<String>) -> Check {
        Check {
            id,
            status,
            reason: reason.into(),
        }
    }

    /// A passed check.
    pub fn pass(id: &'static str, reason: impl Into<String>) -> Check {
        Check::new(id, Status::Pass, reason)
    }

    /// A warning.
    pub fn warn(id: &'static str, reason: impl Into<String>) -> Check {
        Check::new(id, Status::Warn, reason)
    }

    /// A failure.
    pub fn fail(id: &'static str, reason: impl Into<String>) -> Check {
        Check::new(id, Status::Fail, reason)
    }
}

/// The overall answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every check passed.
    Go,
    /// No failure, at least one warning: go only with each condition accepted.
    Conditional,
    /// At least one failure (or no checks at all).
    NoGo,
}

impl Verdict {
    /// The verdict of a checklist: any FAIL is NO-GO, else any WARN is CONDITIONAL, else
    /// GO. An empty checklist proves nothing and is NO-GO.
    pub fn of(checks: &[Check]) -> Verdict {
        match checks.iter().map(|c| c.status).max() {
            None | Some(Status::Fail) => Verdict::NoGo,
            Some(Status::Warn) => Verdict::Conditional,
            Some(Status::Pass) => Verdict::Go,
        }
    }

    /// `GO`, `CONDITIONAL` or `NO-GO`.
    pub const fn name(self) -> &'static str {
        match self {
            Verdict::Go => "GO",
            Verdict::Conditional => "CONDITIONAL",
            Verdict::NoGo => "NO-GO",
        }
    }

    /// The process exit code: 0 GO, 1 NO-GO, 3 CONDITIONAL (2 is kept for "the checklist
    /// could not run").
    pub const fn exit_code(self) -> u8 {
        match self {
            Verdict::Go => 0,
            Verdict::NoGo => 1,
            Verdict::Conditional => 3,
        }
    }
}

/// The whole checklist as run.
#[derive(Clone, Debug)]
pub struct Report {
    /// The config file checked.
    pub config: String,
    /// Every check, in order.
    pub checks: Vec<Check>,
}

impl Report {
    /// The verdict of the checks.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(&self.checks)
    }

    /// One line per check, then the verdict.
    pub fn to_text(&self) -> String {
        let mut out = format!("obi go-nogo: {}\n", self.config);
        let width = self.checks.iter().map(|c| c.id.len()).max().unwrap_or(0);
        for c in &self.checks {
            let _ = writeln!(out, "{}  {:width$}  {}", c.status.name(), c.id, c.reason);
        }
        let verdict = self.verdict();
        let (fails, warns) = self.counts();
        let _ = writeln!(
            out,
            "{} ({} checks: {fails} failed, {warns} warnings)",
            verdict.name(),
            self.checks.len()
        );
        out
    }

    /// `{"config":..,"verdict":..,"exit_code":..,"checks":[{"id","status","reason"}]}`.
    pub fn to_json(&self) -> String {
        let verdict = self.verdict();
        let checks: Vec<serde_json::Value> = self
            .checks
            .iter()
            .map(|c| serde_json::json!({"id": c.id, "status": c.status.name(), "reason": c.reason}))
            .collect();
        serde_json::json!({
            "config": self.config,
            "verdict": verdict.name(),
            "exit_code": verdict.exit_code(),
            "checks": checks,
        })
        .to_string()
    }

    fn counts(&self) -> (usize, usize) {
        let n = |s| self.checks.iter().filter(|c| c.status == s).count();
        (n(Status::Fail), n(Status::Warn))
    }
}
