//! Order-book signals: OBI over depths, weighted OBI, EWMA/z-score, microprice, OFI, volatility.
//!
//! Each signal family lives in its own file as a small, allocation-free building block;
//! [`SignalState`] wires them together per instrument and publishes the latest values as a
//! plain `Copy` [`Signals`] struct. `f64` is used inside this module only; prices and sizes
//! come in as integer ticks and lots.

mod config;
mod ewma;
mod microprice;
mod obi;
mod ofi;
mod state;
mod volatility;

pub use config::{MAX_OBI_DEPTH_LEVELS, MAX_OBI_DEPTHS, SignalConfig};
pub use ewma::{Ewma, EwmaZScore, decay_alpha, inv_tau_per_ns};
pub use microprice::{Microprice, microprice};
pub use obi::{depth_obi, depth_sums, distance_weight, obi_ratio, weighted_obi};
pub use ofi::{OFI_WINDOW_BUCKETS, OfiTracker, WindowSum, touch_ofi_lots};
pub use state::{SignalState, Signals};
pub use volatility::RealizedVol;
