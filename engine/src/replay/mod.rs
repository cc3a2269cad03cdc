//! Replay: the exact tick path over recorded sessions, deterministically.

pub mod report;
pub mod run;
pub mod scan;
pub mod source;
pub mod tob;
mod trading;

pub use report::{ReplayReport, ScaleSource};
pub use run::{ReplayError, ReplayObserver, ReplayOptions, ReplaySession, run};
