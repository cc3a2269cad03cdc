//! The market model: a latent fair price, a hidden pressure state, and the Poisson order flow
//! (limit adds, cancels, market orders) that they drive on the [`SimBook`].

use rand::Rng;

use super::book::{BookSide, SimBook};
use super::config::ModelParams;
use super::dist::{exponential, lognormal_lots};

/// Levels this close to the reference price (ticks) count as "near the touch" for the
/// pressure effects on depth.
const NEAR_TOUCH_TICKS: i64 = 5;

/// Hidden order-flow regime; switches as a continuous-time Markov chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pressure {
    /// Sellers dominate: ask depth grows near the touch, fair price drifts down.
    Sell,
    /// No bias.
    Neutral,
    /// Buyers dominate: bid depth grows near the touch, fair price drifts up.
    Buy,
}

impl Pressure {
    /// -1, 0 or +1.
    pub fn sign(self) -> f64 {
        match self {
            Pressure::Sell => -1.0,
            Pressure::Neutral => 0.0,
            Pressure::Buy => 1.0,
        }
    }
}

/// What can happen next; each has its own Poisson rate given the current state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarketEvent {
    /// A limit order joins or creates a level.
    LimitAdd,
    /// An order leaves a level (partly or whole).
    Cancel,
    /// A background market order (aggressor side biased by pressure).
    MarketOrder,
    /// An arbitrage market order towards the fair price when quotes are stale.
    ArbOrder,
    /// A whole stale touch level is pulled.
    StaleCancel,
    /// The latent fair price moves one tick.
    FairMove,
    /// The hidden pressure state switches.
    PressureSwitch,
}

const EVENTS: [MarketEvent; 7] = [
    MarketEvent::LimitAdd,
    MarketEvent::Cancel,
    MarketEvent::MarketOrder,
    MarketEvent::ArbOrder,
    MarketEvent::StaleCancel,
    MarketEvent::FairMove,
    MarketEvent::PressureSwitch,
];

/// One print of a market order against one resting level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// Execution price, ticks.
    pub price_ticks: i64,
    /// Executed quantity, lots.
    pub qty_lots: i64,
    /// True when the aggressor sold (Binance `m`: the buyer was the maker).
    pub buyer_is_maker: bool,
}

/// The simulated market: book, latent fair price, hidden pressure.
#[derive(Clone, Debug)]
pub struct Market {
    params: ModelParams,
    book: SimBook,
    /// Fair mid is `fair_ticks + 0.5`: bids rest at `fair_ticks - d`, asks at
    /// `fair_ticks + 1 + d`.
    fair_ticks: i64,
    pressure: Pressure,
}

impl Market {
    /// A market around `start_price_ticks` with a full initial book (not pending for any
    /// diff: consumers learn it from the snapshot).
    pub fn new(
        params: &ModelParams,
        start_price_ticks: i64,
        first_update_id: u64,
        rng: &mut impl Rng,
    ) -> Self {
        let mut book = SimBook::new(first_update_id);
        let fair_ticks = start_price_ticks;
        let touch_median_lots = params.add_size_median_lots * 3.0;
        for i in 0..i64::from(params.initial_levels_per_side) {
            let bid = lognormal_lots(rng, touch_median_lots, 0.8);
            let ask = lognormal_lots(rng, touch_median_lots, 0.8);
            book.set(BookSide::Bid, fair_ticks - i, bid, 1);
            book.set(BookSide::Ask, fair_ticks + 1 + i, ask, 1);
        }
        let mut market = Self {
            params: params.clone(),
            book,
            fair_ticks,
            pressure: Pressure::Neutral,
        };
        let far_levels = (params.far_level_prob * 1_000.0).ceil() as usize;
        for _ in 0..far_levels {
            for side in [BookSide::Bid, BookSide::Ask] {
                let d = market.far_distance_ticks(rng);
                let size = lognormal_lots(rng, params.add_size_median_lots, params.add_size_sigma);
                market.add_at_distance(side, d, size, 1);
            }
        }
        market.book.clear_pending();
        market
    }

    /// The book as the venue holds it.
    pub fn book(&self) -> &SimBook {
        &self.book
    }

    /// Mutable book (the generator takes pending diffs from it).
    pub fn book_mut(&mut self) -> &mut SimBook {
        &mut self.book
    }

    /// The latent fair price, ticks (the fair mid is half a tick above).
    #[cfg(test)]
    pub fn fair_ticks(&self) -> i64 {
        self.fair_ticks
    }

    fn strength(&self) -> f64 {
        self.params.pressure_strength * self.pressure.sign()
    }

    /// Fair mid minus book mid, ticks; 0 when a side is empty.
    fn mispricing_ticks(&self) -> f64 {
        match self.book.touch() {
            Some(t) => self.fair_ticks as f64 + 0.5 - (t.bid_ticks + t.ask_ticks) as f64 / 2.0,
            None => 0.0,
        }
    }

    /// Stale sides: (best bid above fair value, best ask below it).
    fn stale_sides(&self) -> (bool, bool) {
        let bid = self
            .book
            .best(BookSide::Bid)
            .is_some_and(|(p, _)| p > self.fair_ticks);
        let ask = self
            .book
            .best(BookSide::Ask)
            .is_some_and(|(p, _)| p < self.fair_ticks + 1);
        (bid, ask)
    }

    fn rates_per_s(&self) -> [f64; 7] {
        let p = &self.params;
        let arb = p.arb_rate_per_s_per_tick * (self.mispricing_ticks().abs() - 0.5).max(0.0);
        let (stale_bid, stale_ask) = self.stale_sides();
        let stale =
            p.stale_cancel_rate_per_s * f64::from(u8::from(stale_bid) + u8::from(stale_ask));
        let switch = match self.pressure {
            Pressure::Neutral => p.pressure_on_rate_per_s,
            Pressure::Buy | Pressure::Sell => p.pressure_off_rate_per_s,
        };
        [
            p.limit_add_rate_per_s,
            p.cancel_rate_per_s,
            p.market_order_rate_per_s,
            arb,
            stale,
            p.fair_move_rate_per_s,
            switch,
        ]
    }

    /// Draws the waiting time (seconds) to the next event and which event it is. Exact for a
    /// continuous-time chain: rates only change at events.
    pub fn next_event(&self, rng: &mut impl Rng) -> (f64, MarketEvent) {
        let rates = self.rates_per_s();
        let total: f64 = rates.iter().sum();
        let dt_s = exponential(rng, 1.0 / total);
        let mut pick = rng.random::<f64>() * total;
        for (event, rate) in EVENTS.iter().zip(rates) {
            if pick < rate {
                return (dt_s, *event);
            }
            pick -= rate;
        }
        (dt_s, MarketEvent::LimitAdd)
    }

    /// Applies `event`; market orders append their prints to `fills`. Returns true when the
    /// book changed.
    pub fn apply(&mut self, event: MarketEvent, rng: &mut impl Rng, fills: &mut Vec<Fill>) -> bool {
        let before = self.book.update_id();
        match event {
            MarketEvent::LimitAdd => self.limit_add(rng),
            MarketEvent::Cancel => self.cancel(rng),
            MarketEvent::MarketOrder => {
                let p_buy = 0.5 + self.params.pressure_flow_bias * self.strength();
                let buy = rng.random_bool(p_buy.clamp(0.0, 1.0));
                self.market_order(buy, rng, fills);
            }
            MarketEvent::ArbOrder => {
                let buy = self.mispricing_ticks() > 0.0;
                self.market_order(buy, rng, fills);
            }
            MarketEvent::StaleCancel => self.stale_cancel(rng),
            MarketEvent::FairMove => {
                let p_up = 0.5 + self.params.pressure_drift_bias * self.strength();
                self.fair_ticks += if rng.random_bool(p_up.clamp(0.0, 1.0)) {
                    1
                } else {
                    -1
                };
            }
            MarketEvent::PressureSwitch => {
                self.pressure = match self.pressure {
                    Pressure::Neutral if rng.random_bool(0.5) => Pressure::Buy,
                    Pressure::Neutral => Pressure::Sell,
                    Pressure::Buy | Pressure::Sell => Pressure::Neutral,
                };
            }
        }
        self.book.update_id() != before
    }

    fn id_step(rng: &mut impl Rng) -> u64 {
        // Binance ids are shared with other activity, so consecutive changes skip ids.
        rng.random_range(1..=6)
    }

    fn far_distance_ticks(&self, rng: &mut impl Rng) -> i64 {
        rng.random_range(self.params.depth_max_ticks..=self.params.far_max_ticks)
    }

    /// Distance from the reference price: mostly near (exponential), sometimes far.
    fn distance_ticks(&self, rng: &mut impl Rng) -> i64 {
        if rng.random_bool(self.params.far_level_prob) {
            self.far_distance_ticks(rng)
        } else {
            let d = exponential(rng, self.params.depth_mean_ticks).floor() as i64;
            d.min(self.params.depth_max_ticks)
        }
    }

    /// Probability that a near-touch add goes to the bid (a cancel to the ask) under the
    /// current pressure.
    fn favoured_bid_prob(&self) -> f64 {
        (0.5 + 0.5 * self.params.pressure_depth_bias * self.strength()).clamp(0.0, 1.0)
    }

    /// Adds `size_lots` on `side` at `d` ticks from the fair reference, never crossing.
    fn add_at_distance(&mut self, side: BookSide, d: i64, size_lots: i64, id_step: u64) {
        let price_ticks = match side {
            BookSide::Bid => {
                let p = self.fair_ticks - d;
                self.book
                    .best(BookSide::Ask)
                    .map_or(p, |(a, _)| p.min(a - 1))
            }
            BookSide::Ask => {
                let p = self.fair_ticks + 1 + d;
                self.book
                    .best(BookSide::Bid)
                    .map_or(p, |(b, _)| p.max(b + 1))
            }
        };
        if price_ticks <= 0 {
            return;
        }
        let qty_lots = self.book.qty_lots(side, price_ticks) + size_lots;
        self.book.set(side, price_ticks, qty_lots, id_step);
    }

    fn limit_add(&mut self, rng: &mut impl Rng) {
        let d = self.distance_ticks(rng);
        let near = d < NEAR_TOUCH_TICKS;
        let p_bid = if near { self.favoured_bid_prob() } else { 0.5 };
        let side = if rng.random_bool(p_bid) {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let mut size_lots = lognormal_lots(
            rng,
            self.params.add_size_median_lots,
            self.params.add_size_sigma,
        );
        let s = self.strength();
        let favoured = (side == BookSide::Bid && s > 0.0) || (side == BookSide::Ask && s < 0.0);
        if near && favoured {
            let scale = 1.0 + self.params.pressure_depth_bias * s.abs();
            size_lots = (size_lots as f64 * scale).round() as i64;
        }
        self.add_at_distance(side, d, size_lots, Self::id_step(rng));
    }

    fn cancel(&mut self, rng: &mut impl Rng) {
        let d = self.distance_ticks(rng);
        let p_bid = if d < NEAR_TOUCH_TICKS {
            1.0 - self.favoured_bid_prob()
        } else {
            0.5
        };
        let side = if rng.random_bool(p_bid) {
            BookSide::Bid
        } else {
            BookSide::Ask
        };
        let Some((best, _)) = self.book.best(side) else {
            return;
        };
        let target = match side {
            BookSide::Bid => best - d,
            BookSide::Ask => best + d,
        };
        let Some((price_ticks, qty_lots)) = self.book.level_at_or_beyond(side, target) else {
            return;
        };
        // Cancels take a random share of the level, so big queues shrink faster than small
        // ones and queue sizes stay stationary; a level dies when it falls under one order.
        let share = rng.random::<f64>().powi(2);
        let mut left_lots = qty_lots - (qty_lots as f64 * share).round() as i64;
        if left_lots < 2 {
            left_lots = 0;
        }
        if left_lots == 0 && self.book.len(side) <= 1 {
            return;
        }
        self.book
            .set(side, price_ticks, left_lots, Self::id_step(rng));
    }

    fn stale_cancel(&mut self, rng: &mut impl Rng) {
        let (stale_bid, stale_ask) = self.stale_sides();
        let side = match (stale_bid, stale_ask) {
            (true, true) if rng.random_bool(0.5) => BookSide::Bid,
            (true, _) => BookSide::Bid,
            (false, true) => BookSide::Ask,
            (false, false) => return,
        };
        if self.book.len(side) <= 1 {
            return;
        }
        if let Some((price_ticks, _)) = self.book.best(side) {
            self.book.set(side, price_ticks, 0, Self::id_step(rng));
        }
    }

    fn market_order(&mut self, buy: bool, rng: &mut impl Rng, fills: &mut Vec<Fill>) {
        let side = if buy { BookSide::Ask } else { BookSide::Bid };
        let mut remaining_lots = lognormal_lots(
            rng,
            self.params.market_size_median_lots,
            self.params.market_size_sigma,
        );
        while remaining_lots > 0 && self.book.len(side) > 1 {
            let Some((price_ticks, qty_lots)) = self.book.best(side) else {
                break;
            };
            let take_lots = remaining_lots.min(qty_lots);
            self.book
                .set(side, price_ticks, qty_lots - take_lots, Self::id_step(rng));
            remaining_lots -= take_lots;
            // A level holds several makers' orders: split the print in one to three trades.
            let prints = if take_lots >= 3 {
                rng.random_range(1..=3)
            } else {
                1
            };
            let mut left_lots = take_lots;
            for i in (1..=prints).rev() {
                let q = if i == 1 {
                    left_lots
                } else {
                    rng.random_range(1..=left_lots - (i - 1))
                };
                left_lots -= q;
                fills.push(Fill {
                    price_ticks,
                    qty_lots: q,
                    buyer_is_maker: !buy,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn book_stays_sane_and_tracks_fair() {
        let params = ModelParams::default();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut market = Market::new(&params, 250_000, 1_000, &mut rng);
        let mut fills = Vec::new();
        let mut t_s = 0.0;
        let mut max_gap_ticks: f64 = 0.0;
        while t_s < 120.0 {
            let (dt_s, ev) = market.next_event(&mut rng);
            t_s += dt_s;
            market.apply(ev, &mut rng, &mut fills);
            assert!(!market.book().is_crossed());
            let t = market.book().touch().expect("both sides");
            let mid = (t.bid_ticks + t.ask_ticks) as f64 / 2.0;
            max_gap_ticks = max_gap_ticks.max((mid - market.fair_ticks() as f64).abs());
        }
        assert!(!fills.is_empty());
        assert!(fills.iter().all(|f| f.qty_lots > 0));
        assert!(
            max_gap_ticks < 30.0,
            "mid strayed {max_gap_ticks} ticks from fair"
        );
    }
}
