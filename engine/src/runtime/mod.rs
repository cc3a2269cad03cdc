//! The core thread's runtime: the tick path, its counters, latency and shm publishing.

pub mod counters;
pub mod latency;
pub mod oracle;
pub mod publish;
pub mod tick;

pub use counters::Counters;
pub use latency::{LatencyHistogram, Percentiles};
pub use tick::{FlattenRefused, InstrumentBook, MoneyMicros, NoObserver, TickObserver, TickPath};
