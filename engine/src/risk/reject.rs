//! Why risk refused a placement, and how often each reason occurred.

/// A refused placement. Small and `Copy`: it is returned on the hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RiskReject {
    /// The instrument id is outside the configured instruments.
    UnknownInstrument = 0,
    /// Quantity or price is zero or negative.
    InvalidOrder,
    /// Trading is halted ([`super::RiskMode::Halted`]).
    Halted,
    /// Reduce-only mode and the order could increase the absolute position.
    ReduceOnly,
    /// Quantity below `min_order_qty_lots`.
    OrderTooSmall,
    /// Quantity above `max_order_qty_lots`.
    OrderTooLarge,
    /// Worst-case position would exceed `max_position_lots`.
    PositionLimit,
    /// `max_open_orders` already open on the instrument.
    TooManyOpenOrders,
    /// An open order already has this id.
    DuplicateOrderId,
    /// No two-sided, uncrossed book to price against.
    NoMarket,
    /// Limit price further from the mid than `price_band_bps`.
    PriceBand,
    /// `max_orders_per_sec` placements already in the last second.
    RateLimit,
}

impl RiskReject {
    /// Number of variants (size of per-reason arrays).
    pub const COUNT: usize = 12;

    /// Every variant, in discriminant order.
    pub const ALL: [RiskReject; RiskReject::COUNT] = [
        RiskReject::UnknownInstrument,
        RiskReject::InvalidOrder,
        RiskReject::Halted,
        RiskReject::ReduceOnly,
        RiskReject::OrderTooSmall,
        RiskReject::OrderTooLarge,
        RiskReject::PositionLimit,
        RiskReject::TooManyOpenOrders,
        RiskReject::DuplicateOrderId,
        RiskReject::NoMarket,
        RiskReject::PriceBand,
        RiskReject::RateLimit,
    ];

    /// Index into per-reason arrays.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable snake_case name, for metrics labels and journals.
    pub const fn as_str(self) -> &'static str {
        match self {
            RiskReject::UnknownInstrument => "unknown_instrument",
            RiskReject::InvalidOrder => "invalid_order",
            RiskReject::Halted => "halted",
            RiskReject::ReduceOnly => "reduce_only",
            RiskReject::OrderTooSmall => "order_too_small",
            RiskReject::OrderTooLarge => "order_too_large",
            RiskReject::PositionLimit => "position_limit",
            RiskReject::TooManyOpenOrders => "too_many_open_orders",
            RiskReject::DuplicateOrderId => "duplicate_order_id",
            RiskReject::NoMarket => "no_market",
            RiskReject::PriceBand => "price_band",
            RiskReject::RateLimit => "rate_limit",
        }
    }
}

impl std::fmt::Display for RiskReject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Count of rejects per reason since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectCounts {
    counts: [u64; RiskReject::COUNT],
}

impl RejectCounts {
    /// Adds one reject of `reason`.
    #[inline]
    pub fn record(&mut self, reason: RiskReject) {
        let slot = &mut self.counts[reason.index()];
        *slot = slot.saturating_add(1);
    }

    /// Rejects of `reason` so far.
    #[inline]
    pub fn get(&self, reason: RiskReject) -> u64 {
        self.counts[reason.index()]
    }

    /// Rejects of all reasons so far.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |acc, &c| acc.saturating_add(c))
    }

    /// Every reason with its count, in discriminant order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (RiskReject, u64)> + '_ {
        RiskReject::ALL.iter().map(|&r| (r, self.get(r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order_with_unique_names() {
        for (i, r) in RiskReject::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
            for other in &RiskReject::ALL[i + 1..] {
                assert_ne!(r.as_str(), other.as_str());
            }
        }
    }

    #[test]
    fn counts_accumulate() {
        let mut c = RejectCounts::default();
        c.record(RiskReject::RateLimit);
        c.record(RiskReject::RateLimit);
        c.record(RiskReject::NoMarket);
        assert_eq!(c.get(RiskReject::RateLimit), 2);
        assert_eq!(c.total(), 3);
        assert_eq!(c.iter().count(), RiskReject::COUNT);
    }
}
