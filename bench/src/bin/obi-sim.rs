//! obi-sim: the local Binance-like venue simulator (see `obi_bench::sim`).
fn main() {}
