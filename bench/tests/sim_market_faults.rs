//! Market faults asked for at run time: a silence (no market data, sockets open, pings on,
//! the stream resumes in sequence) and a price jump (the whole book moves, the stream stays
//! in sequence and shows it).

// Helpers outside #[test] fns unwrap too: a failing unwrap is a failing test.
#![allow(clippy::unwrap_used)]

mod sim_support;

use std::time::{Duration, Instant};

use obi_bench::sim::{Sim, SimConfig, SimHandle};
use serde_json::Value;
use sim_support::{Ws, http_get, ws_connect};
use tungstenite::Message;

fn start(speed: f64) -> SimHandle {
    Sim::start(SimConfig {
        speed,
        ping_interval_ms: 100,
        ..SimConfig::default()
    })
    .unwrap()
}

fn depth_url(sim: &SimHandle) -> String {
    format!("{}/stream?streams=ethusdt@depth@100ms", sim.stream_url())
}

/// Reads for `d`: (depth payloads, pings seen). Panics if the connection ends.
fn read_for(ws: &mut Ws, d: Duration) -> (Vec<Value>, usize) {
    let (mut frames, mut pings) = (Vec::new(), 0);
    let end = Instant::now() + d;
    while Instant::now() < end {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                frames.push(v["data"].clone());
            }
            Ok(Message::Ping(_)) => pings += 1,
            Ok(Message::Close(_)) => panic!("closed"),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("connection ended: {e}"),
        }
    }
    (frames, pings)
}

/// Reads until at least one depth frame arrived (or fails after `limit_s`).
fn read_until_frame(ws: &mut Ws, limit_s: u64) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let (frames, _) = read_for(ws, Duration::from_millis(100));
        if !frames.is_empty() {
            return frames;
        }
        assert!(start.elapsed() < Duration::from_secs(limit_s), "no frame");
    }
}

fn in_sequence(frames: &[Value]) -> bool {
    frames
        .windows(2)
        .all(|w| w[1]["U"].as_u64() == w[0]["u"].as_u64().map(|u| u + 1))
}

fn best_bid_ticks(sim: &SimHandle) -> i64 {
    sim.book(1).1[0].price.0
}

#[test]
fn silence_keeps_sockets_open_and_resumes_in_sequence() {
    let sim = start(5.0);
    let mut ws = ws_connect(&depth_url(&sim));
    let mut seen = read_until_frame(&mut ws, 5);
    sim.silence_market_for(Duration::from_secs(600));
    // Frames already queued may still arrive; then nothing but pings.
    let (late, _) = read_for(&mut ws, Duration::from_millis(300));
    seen.extend(late);
    let published = sim.record().diffs_published;
    let (during, pings) = read_for(&mut ws, Duration::from_secs(1));
    assert!(during.is_empty(), "{} frames while silent", during.len());
    assert!(pings > 0, "no ping: the socket must stay alive");
    assert_eq!(sim.record().diffs_published, published);
    // A new connection meanwhile gets a snapshot but no diffs.
    let mut late_ws = ws_connect(&depth_url(&sim));
    let (s, _) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=5");
    assert_eq!(s, 200);
    let (none, _) = read_for(&mut late_ws, Duration::from_millis(300));
    assert!(none.is_empty());
    // Ending the silence: the stream goes on where it stopped, in sequence.
    sim.silence_market_for(Duration::ZERO);
    seen.extend(read_until_frame(&mut ws, 10));
    assert!(in_sequence(&seen), "sequence broken across the silence");
    assert!(!read_until_frame(&mut late_ws, 10).is_empty());
    let record = sim.shutdown();
    assert_eq!(record.faults.silences, 1);
    assert_eq!(record.faults.gaps, 0);
}

#[test]
fn price_jump_moves_the_whole_book_in_sequence() {
    let sim = start(1.0);
    let mut ws = ws_connect(&depth_url(&sim));
    let mut seen = read_until_frame(&mut ws, 5);
    assert!(!sim.jump_price_bps(0), "0 is no jump");
    assert!(!sim.jump_price_bps(20_000), "+200 % is refused");
    let before = best_bid_ticks(&sim);
    assert!(sim.jump_price_bps(1_000));
    let start_t = Instant::now();
    while sim.record().faults.price_jumps == 0 {
        assert!(start_t.elapsed() < Duration::from_secs(10), "no jump");
        std::thread::sleep(Duration::from_millis(10));
    }
    let after = best_bid_ticks(&sim);
    let moved_bps = (after - before) * 10_000 / before;
    // +10 % of the mid, give or take the market's own drift meanwhile.
    assert!((900..=1_100).contains(&moved_bps), "{before} -> {after}");
    // The stream shows every level deleted, then the shifted book, in sequence.
    let t = Instant::now();
    let mut deleted_all = false;
    while !(deleted_all && seen.iter().any(|f| bid_at_least(f, after))) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "jump not seen on the stream"
        );
        let (frames, _) = read_for(&mut ws, Duration::from_millis(100));
        deleted_all |= frames.iter().any(|f| {
            let b = f["b"].as_array().unwrap();
            b.len() > 10
                && b.iter()
                    .all(|l| l[1].as_str().unwrap().trim_end_matches('0') == "0.")
        });
        seen.extend(frames);
    }
    assert!(in_sequence(&seen));
    // The snapshot agrees with the moved book.
    let (_, body) = http_get(sim.addr(), "/api/v3/depth?symbol=ETHUSDT&limit=1");
    let v: Value = serde_json::from_str(&body).unwrap();
    let snap_bid =
        (v["bids"][0][0].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
    assert!(snap_bid >= before + before / 20, "{before} -> {snap_bid}");
    assert_eq!(sim.shutdown().faults.price_jumps, 1);
}

/// True when the depth payload `f` adds a bid at or above `ticks` (0.01).
fn bid_at_least(f: &Value, ticks: i64) -> bool {
    f["b"].as_array().is_some_and(|b| {
        b.iter().any(|l| {
            let px = (l[0].as_str().unwrap().parse::<f64>().unwrap() * 100.0).round() as i64;
            let qty_nonzero = l[1].as_str().unwrap().trim_end_matches('0') != "0.";
            px >= ticks - ticks / 100 && qty_nonzero
        })
    })
}
