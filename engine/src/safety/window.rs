//! Fixed-size time windows of one-second buckets: event counts and price lows/highs.
//! Sized at construction; nothing grows afterwards.

const NS_PER_S: u64 = 1_000_000_000;

/// Counts events in the last `window_s` seconds (the current second and the `window_s - 1`
/// before it).
#[derive(Clone, Debug)]
pub struct EventWindow {
    secs: Box<[u64]>,
    counts: Box<[u32]>,
}

impl EventWindow {
    /// A window of `window_s` (≥ 1) one-second buckets.
    pub fn new(window_s: u32) -> EventWindow {
        let n = window_s.max(1) as usize;
        EventWindow {
            secs: vec![u64::MAX; n].into_boxed_slice(),
            counts: vec![0; n].into_boxed_slice(),
        }
    }

    /// Counts one event at `ts_ns`.
    #[inline]
    pub fn add(&mut self, ts_ns: u64) {
        let sec = ts_ns / NS_PER_S;
        let i = (sec % self.secs.len() as u64) as usize;
        if self.secs[i] != sec {
            self.secs[i] = sec;
            self.counts[i] = 0;
        }
        self.counts[i] = self.counts[i].saturating_add(1);
    }

    /// Events within the window ending at `now_ns`. O(window).
    pub fn count(&self, now_ns: u64) -> u64 {
        let now = now_ns / NS_PER_S;
        let n = self.secs.len() as u64;
        self.secs
            .iter()
            .zip(self.counts.iter())
            .filter(|&(&s, _)| s != u64::MAX && s <= now && now - s < n)
            .map(|(_, &c)| u64::from(c))
            .sum()
    }

    /// Forgets every event.
    pub fn clear(&mut self) {
        self.secs.fill(u64::MAX);
        self.counts.fill(0);
    }
}

/// Lowest and highest price over the last `window_s` seconds plus the current one.
///
/// Per update O(1); once per new second O(window) to refresh the low/high of the finished
/// buckets.
#[derive(Clone, Debug)]
pub struct PriceWindow {
    secs: Box<[u64]>,
    lows: Box<[i64]>,
    highs: Box<[i64]>,
    current_sec: u64,
    /// Low/high of the buckets other than the current one that are inside the window.
    past_low: i64,
    past_high: i64,
}

impl PriceWindow {
    /// A window covering the current second and the `window_s` before it.
    pub fn new(window_s: u32) -> PriceWindow {
        let n = window_s.max(1) as usize + 1;
        PriceWindow {
            secs: vec![u64::MAX; n].into_boxed_slice(),
            lows: vec![i64::MAX; n].into_boxed_slice(),
            highs: vec![i64::MIN; n].into_boxed_slice(),
            current_sec: u64::MAX,
            past_low: i64::MAX,
            past_high: i64::MIN,
        }
    }

    /// Records `price` at `ts_ns` (a timestamp older than the current second counts in
    /// the current second); returns the window's `(low, high)` including it.
    #[inline]
    pub fn update(&mut self, price: i64, ts_ns: u64) -> (i64, i64) {
        let sec = ts_ns / NS_PER_S;
        let n = self.secs.len() as u64;
        if self.current_sec == u64::MAX || sec > self.current_sec {
            self.current_sec = sec;
            let i = (sec % n) as usize;
            self.secs[i] = sec;
            self.lows[i] = price;
            self.highs[i] = price;
            self.past_low = i64::MAX;
            self.past_high = i64::MIN;
            for j in 0..self.secs.len() {
                let s = self.secs[j];
                if j != i && s != u64::MAX && s < sec && sec - s < n {
                    self.past_low = self.past_low.min(self.lows[j]);
                    self.past_high = self.past_high.max(self.highs[j]);
                }
            }
        } else {
            let i = (self.current_sec % n) as usize;
            self.lows[i] = self.lows[i].min(price);
            self.highs[i] = self.highs[i].max(price);
        }
        let i = (self.current_sec % n) as usize;
        (
            self.past_low.min(self.lows[i]),
            self.past_high.max(self.highs[i]),
        )
    }

    /// Forgets every price.
    pub fn clear(&mut self) {
        *self = PriceWindow {
            secs: std::mem::take(&mut self.secs),
            lows: std::mem::take(&mut self.lows),
            highs: std::mem::take(&mut self.highs),
            current_sec: u64::MAX,
            past_low: i64::MAX,
            past_high: i64::MIN,
        };
        self.secs.fill(u64::MAX);
        self.lows.fill(i64::MAX);
        self.highs.fill(i64::MIN);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = NS_PER_S;

    #[test]
    fn event_window_forgets_old_seconds() {
        let mut w = EventWindow::new(3);
        w.add(0);
        w.add(S / 2);
        w.add(2 * S);
        assert_eq!(w.count(2 * S), 3);
        assert_eq!(w.count(3 * S), 1);
        w.add(10 * S);
        assert_eq!(w.count(10 * S), 1);
        assert_eq!(w.count(13 * S), 0);
        w.clear();
        assert_eq!(w.count(10 * S), 0);
    }

    #[test]
    fn price_window_tracks_low_and_high() {
        let mut w = PriceWindow::new(2);
        assert_eq!(w.update(100, 0), (100, 100));
        assert_eq!(w.update(90, S / 2), (90, 100));
        assert_eq!(w.update(110, S), (90, 110));
        assert_eq!(w.update(105, 2 * S), (90, 110));
        // Second 0 leaves the window at second 3.
        assert_eq!(w.update(105, 3 * S), (105, 110));
        assert_eq!(w.update(104, 10 * S), (104, 104));
        // A late timestamp counts in the current second.
        assert_eq!(w.update(50, 9 * S), (50, 104));
        w.clear();
        assert_eq!(w.update(7, 11 * S), (7, 7));
    }
}
