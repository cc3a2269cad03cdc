//! obi-engine: the trading process's library — everything on the tick path and the replay
//! runner that drives it over recordings.
//!
//! Follow a frame: [`feed`] parses it into a [`feed::event::MarketEvent`], the feed's sync
//! rules check its sequence, [`book`] applies it, [`signal`] updates the imbalance signals,
//! [`strategy`] turns them into [`order::Intent`]s, [`risk`] checks each one, and the
//! runtime pushes it into the intent ring towards the gateway ([`paper`] in replay).

#![deny(unsafe_code)]

pub mod book;
pub mod config;
pub mod decimal;
pub mod feed;
pub mod gonogo;
pub mod instrument;
pub mod journal;
pub mod live;
pub mod net;
pub mod order;
pub mod paper;
pub mod portfolio;
pub mod replay;
pub mod risk;
pub mod runtime;
pub mod safety;
pub mod signal;
pub mod strategy;
pub mod units;
pub mod venue;
