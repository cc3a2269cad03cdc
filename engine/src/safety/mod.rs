//! Safety: the `Running → Reducing → Halted` state machine, its circuit breakers, the kill
//! inputs and the flatten policy (issue 5).
//!
//! Everything the core thread calls here is allocation-free after construction and O(1) or
//! O(instruments) per call. Reason codes ([`ReasonCode`]) are stable numbers shared with
//! shm, the journal and alerts; [`action`] says which state each one leads to.
//!
//! How the core loop uses it:
//!
//! 1. Start: [`SafetyConfig::validate`]; `Breakers::new(&cfg.breakers, n)`, then
//!    [`Breakers::restore`] with the recovered latch and anchors
//!    (`journal::LatchState::latch`, `JournalState::anchors`); if [`env_kill_from_process`]
//!    halts, [`Breakers::on_kill`]`(ReasonCode::EnvKill, now)`. `KillWatch::new` with
//!    `<state_dir>/KILL` plus `cfg.kill.extra_paths`, [`KillWatch::register`] in the
//!    `mio::Poll` under its own token.
//! 2. Each iteration: token readable → [`KillWatch::on_readable`]; [`KillWatch::poll`] →
//!    `on_kill(input.reason, now)`; feed the `on_*` calls as events happen; then
//!    [`Breakers::evaluate`]. Any [`Trip`] (from `evaluate` or `on_kill`): push
//!    `trip.record()` with `JournalSender::push_durable`, publish the reason code, set the
//!    risk mode to `trip.state.risk_mode()`, and on `Halted` run the halt sequence
//!    (cancel-all, confirm, then [`flatten_order`] per instrument if the policy says so).
//! 3. Operator reset: [`KillWatch::recheck`], then [`Breakers::reset`] with its result;
//!    journal an `Operator { Reset }` record durably before trading again.

mod breakers;
mod config;
mod flatten;
mod kill;
mod reason;
mod state;
mod window;

pub use breakers::{Breakers, Trip, action};
pub use config::{BreakerConfig, KillConfig, MAX_WINDOW_S, SafetyConfig};
pub use flatten::{FlattenConfig, FlattenDecision, FlattenInput, flatten_order};
pub use kill::{EnvKill, KillError, KillInput, KillWatch, env_kill, env_kill_from_process};
pub use reason::ReasonCode;
pub use state::{ResetRefused, SafetyLatch, SafetyState, Transition};
pub use window::{EventWindow, PriceWindow};
