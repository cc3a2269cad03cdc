//! What the safety state machine currently allows risk to let through.

/// Trading permission set by the runtime's safety state machine; risk only obeys it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RiskMode {
    /// All placements that pass the limits.
    #[default]
    Normal,
    /// Only placements that cannot increase the absolute position, even if every open order
    /// on that side fills.
    ReduceOnly,
    /// No placements at all; cancels still pass.
    Halted,
}
