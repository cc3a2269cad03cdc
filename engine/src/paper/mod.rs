//! Paper venue: simulated fills with queue position, latency and fees.
//!
//! The venue matches our orders against the recorded market; the recorded market never sees
//! our orders. Everything runs on the market clock (`ts_ns` of the events), so a replay is
//! deterministic.
//!
//! # Model
//!
//! - **Latency.** An intent submitted at `t` reaches the venue at `t + order_latency_ns`
//!   (arrivals keep submission order). Every report the venue makes at venue time `v` is
//!   released by [`PaperVenue::poll`] at `v + report_latency_ns`, in the order it was made.
//! - **Which book an arriving intent sees.** The venue remembers the best `visible_levels`
//!   levels of each instrument's book after its last market event. Intents are acted on at
//!   their arrival time against that memory, i.e. before any market event stamped later, which
//!   is exact for the visible levels.
//! - **Marketable orders** (a buy at or above the best ask, a sell at or below the best bid)
//!   take visible liquidity as taker, level by level up to the limit price, one
//!   [`Fill`](crate::order::Fill) per level at the level's price. The rest rests (GTC) or is
//!   cancelled (IOC). A post-only order that would cross is rejected `WouldCross`. An IOC that
//!   does not cross is accepted and cancelled at once. The book is not depleted by our taking
//!   (it is the recorded book), so two marketable orders in a row take the same liquidity.
//! - **Queue position.** A resting order joins the back of its level: `queue_ahead` is the
//!   level's quantity when the order arrives (unknown, and then set at the instrument's next
//!   book update, if the price lies deeper than the visible levels). It moves forward only by
//!   - public trades at our price hitting our side: they consume `queue_ahead` first, the
//!     excess fills us (shared by our own orders at that price in arrival order);
//!   - cancels: when a book update shows the level down by more than the trades at our price
//!     since the previous update explain, the difference is cancels. By default
//!     ([`QueueModel::Proportional`]) the share ahead of us is `cancels * ahead / level`
//!     (rounded down): with no information on who cancels, every resting lot is equally
//!     likely to, so this is the expected value — hftbacktest's `ProbQueueModel` with a
//!     linear probability. `all_ahead` and `trades_only` give the optimistic and pessimistic
//!     bounds. Increases of the level join behind us. `queue_ahead` never exceeds the level.
//! - **Trade through.** A public sell below our bid (buy above our ask) means the price moved
//!   through us: the order fills completely at its own price, as maker.
//! - **Fees.** `fee = notional * bps / 10^4` in notional units (`tick * lot`), maker or taker
//!   rate by liquidity, rates held to 0.0001 bps, rounded up (towards the venue: fees never
//!   smaller, rebates never larger than exact).
//! - **Refusals.** Cancel of an order that is not resting (unknown, filled or cancelled):
//!   `Rejected { UnknownOrder }`. No book seen yet for the instrument: `NoMarket`. Bad
//!   quantity or price, duplicate id, unknown instrument, or more than `max_open_orders`
//!   resting: `Venue`. `CancelAll` cancels every resting order of the instrument (no report
//!   if there is none).
//!
//! # Caveats
//!
//! - Fills need printed trades. A book that crosses our price without a trade does not fill
//!   us (conservative: the trade tape is the evidence of execution).
//! - Binance's trade and depth streams are not ordered with respect to each other. A depth
//!   update that shows a trade's effect before the trade itself arrives is counted as cancels
//!   (advancing us by the model's share), and the trade then advances us again: optimistic by
//!   at most the trade's size per such reordering.
//! - Our own orders do not affect the recorded book, other participants or later trades
//!   (no market impact).
//!
//! Nothing allocates in steady state: in-flight intents and reports sit in queues reserved at
//! `max_in_flight` (growth past it is counted in [`PaperStats::queue_grown`]), resting orders
//! in a vector reserved at `max_open_orders`, book memory in buffers of `visible_levels`.

mod config;
mod fees;
mod gateway;
mod queue;
mod stats;
mod venue;
mod visible;

pub use config::{PaperConfig, QueueModel};
pub use fees::FeeRate;
pub use gateway::PaperGateway;
pub use stats::PaperStats;
pub use venue::PaperVenue;
