//! obi-bench.
