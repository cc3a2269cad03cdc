//! The live engine: market data over WebSocket into the pinned core thread, orders out
//! through the gateway (the paper venue, or the venue's order API), stats to shared memory.

pub mod connector;
pub mod feed;
pub mod flatten;
pub mod notice;
pub mod notify;
pub mod record;
pub mod reload;
pub mod report;
pub mod run;
pub mod safety_hub;
pub mod snapshot;
pub mod status;
pub mod streams;

pub use report::RunReport;
pub use run::{RunError, RunOptions, run};
