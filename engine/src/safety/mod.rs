//! Safety: the `Running → Reducing → Halted` state machine, its circuit breakers, the kill
//! inputs and the flatten policy (issue 5).
//!
//! Everything the core thread calls here is allocation-free after construction and O(1) or
//! O(instruments) per call. Reason codes ([`ReasonCode`]) are stable numbers shared with
//! shm, the journal and alerts; [`action`] says which state each one leads to.

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
