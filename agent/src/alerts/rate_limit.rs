//! A rolling one-minute message budget shared by every rule.

use std::collections::VecDeque;

/// Window length, milliseconds.
const WINDOW_MS: i64 = 60_000;

/// Allows at most `max_per_minute` messages in any rolling 60 s window.
#[derive(Debug)]
pub struct MessageBudget {
    max_per_minute: usize,
    sent_unix_ms: VecDeque<i64>,
}

impl MessageBudget {
    /// A budget of `max_per_minute` (at least 1).
    #[must_use]
    pub fn new(max_per_minute: u32) -> Self {
        let max = usize::try_from(max_per_minute).unwrap_or(usize::MAX).max(1);
        Self {
            max_per_minute: max,
            sent_unix_ms: VecDeque::with_capacity(max.min(1_024)),
        }
    }

    fn expire(&mut self, now_unix_ms: i64) {
        while self
            .sent_unix_ms
            .front()
            .is_some_and(|&t| now_unix_ms - t >= WINDOW_MS)
        {
            self.sent_unix_ms.pop_front();
        }
    }

    /// True when a message may go now.
    pub fn has_room(&mut self, now_unix_ms: i64) -> bool {
        self.expire(now_unix_ms);
        self.sent_unix_ms.len() < self.max_per_minute
    }

    /// Takes one message from the budget; false (nothing taken) when it is spent.
    pub fn try_take(&mut self, now_unix_ms: i64) -> bool {
        if !self.has_room(now_unix_ms) {
            return false;
        }
        self.sent_unix_ms.push_back(now_unix_ms);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_window() {
        let mut b = MessageBudget::new(2);
        assert!(b.try_take(0));
        assert!(b.try_take(10));
        assert!(!b.try_take(59_999));
        assert!(b.try_take(60_000));
        assert!(!b.try_take(60_005));
        assert!(b.try_take(60_010));
    }
}
