//! Positions, PnL and round-trip trade statistics from fills.
