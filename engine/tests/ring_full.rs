//! A full intent ring refuses the intent and counts it; nothing blocks, nothing is lost
//! silently, and the strategy hears that its placement never left.

mod common;

use obi_engine::instrument::InstrumentId;
use obi_engine::order::{Intent, Report};
use obi_engine::runtime::{NoObserver, TickPath};

#[test]
fn full_intent_ring_is_refused_and_counted() {
    let Some(data) = common::shared_data("full_intent_ring_is_refused_and_counted") else {
        return;
    };
    let lines =
        common::recording::read_lines(&data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"));
    let mut cfg = common::eth_usdm_config();
    cfg.strategy.long_threshold = 0.1;
    cfg.strategy.short_threshold = 0.1;
    // A one-slot ring that nobody drains: the gateway is stuck.
    let (intent_tx, intent_rx) = rtrb::RingBuffer::<Intent>::new(1);
    let (_report_tx, report_rx) = rtrb::RingBuffer::<Report>::new(16);
    let clock = quanta::Clock::new();
    let mut tick = TickPath::new(&cfg, intent_tx, report_rx, clock.clone(), NoObserver);
    for line in &lines {
        let Some((ns, json)) = line.split_once(' ') else {
            continue;
        };
        let mut frame = json.as_bytes().to_vec();
        tick.on_frame(
            &mut frame,
            ns.parse().expect("ns"),
            clock.raw(),
            Some(InstrumentId(0)),
        );
        tick.on_reports(ns.parse().expect("ns"));
    }
    let c = tick.counters;
    eprintln!(
        "intents {} ring full {} risk rejected {}",
        c.intents, c.intent_ring_full, c.intents_risk_rejected
    );
    assert_eq!(c.intents, 1, "exactly one intent fits");
    assert!(c.intent_ring_full > 0, "refusals were not counted");
    assert_eq!(
        intent_rx.slots(),
        1,
        "the ring holds the one intent that fit"
    );
}
