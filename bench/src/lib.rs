//! obi-bench: benchmarks, synthetic venue data and (later) the venue simulator.
#![forbid(unsafe_code)]

pub mod synth;
