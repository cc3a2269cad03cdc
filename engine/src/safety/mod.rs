//! Safety: the `Running → Reducing → Halted` state machine, its circuit breakers, the kill
//! inputs and the flatten policy (issue 5).
//!
//! Everything the core thread calls here is allocation-free after construction and O(1) or
//! O(instruments) per call. Reason codes ([`ReasonCode`]) are stable numbers shared with
//! shm, the journal and alerts.

mod reason;
mod state;

pub use reason::ReasonCode;
pub use state::{ResetRefused, SafetyLatch, SafetyState, Transition};
