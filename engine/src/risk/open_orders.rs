//! Fixed-capacity table of orders risk has let through and the venue has not finished.

use crate::instrument::InstrumentId;
use crate::order::OrderId;
use crate::units::{Lots, Side};

/// One order risk counts as open: sent, not yet rejected, cancelled or fully filled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct OpenOrder {
    pub order_id: OrderId,
    pub instrument: InstrumentId,
    pub side: Side,
    pub leaves_qty: Lots,
}

/// Open orders in a `Vec` whose capacity is reserved up front and never exceeded.
///
/// Linear scans: the table holds at most `max_open_orders * n_instruments` entries, a handful.
#[derive(Clone, Debug)]
pub(super) struct OpenOrders {
    orders: Vec<OpenOrder>,
}

impl OpenOrders {
    pub fn with_capacity(capacity: usize) -> OpenOrders {
        OpenOrders {
            orders: Vec::with_capacity(capacity),
        }
    }

    /// True when one more entry would exceed the reserved capacity.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.orders.len() >= self.orders.capacity()
    }

    #[inline]
    pub fn position(&self, order_id: OrderId) -> Option<usize> {
        self.orders.iter().position(|o| o.order_id == order_id)
    }

    /// Adds an order; the caller has checked [`OpenOrders::is_full`].
    #[inline]
    pub fn insert(&mut self, order: OpenOrder) {
        debug_assert!(!self.is_full());
        if !self.is_full() {
            self.orders.push(order);
        }
    }

    #[inline]
    pub fn get_mut(&mut self, index: usize) -> Option<&mut OpenOrder> {
        self.orders.get_mut(index)
    }

    /// Removes the entry at `index` (order of the table is not kept).
    #[inline]
    pub fn remove(&mut self, index: usize) -> Option<OpenOrder> {
        (index < self.orders.len()).then(|| self.orders.swap_remove(index))
    }

    pub fn len(&self) -> usize {
        self.orders.len()
    }
}
