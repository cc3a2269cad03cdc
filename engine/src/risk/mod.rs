//! Pre-trade risk checks applied to every intent before it enters the ring.
