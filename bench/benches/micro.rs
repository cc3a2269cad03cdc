//! placeholder, replaced by the micro benchmark helper
fn main() {}
