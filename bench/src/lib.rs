//! obi-bench: benchmarks, synthetic venue data and (later) the venue simulator.
#![forbid(unsafe_code)]

pub mod data;
pub mod gates;
pub mod harness;
pub mod kill_latency;
pub mod latency;
pub mod live_demo;
pub mod sim;
pub mod synth;
pub mod wire;
