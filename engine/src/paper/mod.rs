//! Paper venue: simulated fills with queue position, latency and fees.
