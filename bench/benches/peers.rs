//! placeholder, replaced by the peers benchmark helper
fn main() {}
