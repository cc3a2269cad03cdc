//! Torn-read stress test: one writer thread, two reader threads, a real mapped file.
#![cfg(not(loom))]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use obi_shm::layout::{GAUGE_SLOTS, INSTRUMENT_GAUGE_SLOTS, MAX_INSTRUMENTS};
use obi_shm::{GaugeId, InstrumentGaugeId, ReaderState, StatsReader, StatsWriter, WriterInfo};

const PRIME: i64 = 1_000_003;
const MAX_PUBLISHES: i64 = 2_000_000;
const TIME_LIMIT: Duration = Duration::from_millis(1_500);

/// Value of global slot `i` after publish `k` (publish 0 = the zeroed file; unregistered
/// slots are never written).
fn global(k: i64, i: usize) -> i64 {
    if k == 0 || GaugeId::from_slot(i).is_none() {
        return 0;
    }
    k * PRIME + i as i64
}

/// Value of instrument `n`, slot `j` after publish `k`.
fn inst(k: i64, n: usize, j: usize) -> i64 {
    if k == 0 || InstrumentGaugeId::from_slot(j).is_none() {
        return 0;
    }
    -(k * PRIME) - (100 + (n * INSTRUMENT_GAUGE_SLOTS + j) as i64)
}

#[test]
fn readers_never_accept_a_torn_snapshot() {
    let dir = common::TempDir::new("stress");
    let path = dir.path().join("engine.stats");
    let instruments = ["A", "B", "C", "D", "E", "F", "G", "H"];
    let mut writer = StatsWriter::create(
        &path,
        &WriterInfo {
            pid: std::process::id(),
            start_unix_ns: 1,
            instruments: &instruments,
        },
    )
    .expect("create writer");

    let view = match StatsReader::open(&path) {
        ReaderState::Ready(view) => view,
        other => panic!("expected Ready, got {other:?}"),
    };
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|_| {
            let view = view.clone();
            let done = Arc::clone(&done);
            thread::spawn(move || {
                let (mut ok, mut contended, mut last_seq) = (0u64, 0u64, 0u64);
                // Relaxed: a stop flag only; no data rides on it.
                while !done.load(Ordering::Relaxed) {
                    let snap = match view.gauges_with_attempts(64) {
                        Ok(snap) => snap,
                        Err(_) => {
                            contended += 1;
                            continue;
                        }
                    };
                    assert!(snap.seq >= last_seq, "sequence went backwards");
                    last_seq = snap.seq;
                    let k = (snap.seq / 2) as i64;
                    let globals = snap.global_slots();
                    for (i, &v) in globals.iter().enumerate().take(GAUGE_SLOTS) {
                        assert_eq!(v, global(k, i), "torn: seq {} global slot {i}", snap.seq);
                    }
                    for n in 0..MAX_INSTRUMENTS {
                        for j in 0..INSTRUMENT_GAUGE_SLOTS {
                            assert_eq!(
                                snap.instrument_slots()[n][j],
                                inst(k, n, j),
                                "torn: seq {} instrument {n} slot {j}",
                                snap.seq
                            );
                        }
                    }
                    ok += 1;
                }
                (ok, contended)
            })
        })
        .collect();

    // Publish k leaves the sequence at 2k, so a snapshot's seq names the publish it shows.
    let start = Instant::now();
    let mut k = 0;
    while k < MAX_PUBLISHES && start.elapsed() < TIME_LIMIT {
        k += 1;
        writer.publish(|g| {
            for &id in GaugeId::ALL {
                g.set(id, global(k, id.slot()));
            }
            for n in 0..MAX_INSTRUMENTS {
                for &id in InstrumentGaugeId::ALL {
                    g.set_instrument(n, id, inst(k, n, id.slot()));
                }
            }
        });
        // Vary the gap between publishes so readers both collide with sections and get
        // through between them (back-to-back publishes would starve them in debug builds).
        for _ in 0..(k % 17) * 8 {
            std::hint::spin_loop();
        }
    }
    // Relaxed: stop flag (the join below synchronises).
    done.store(true, Ordering::Relaxed);
    let mut total_ok = 0;
    for reader in readers {
        let (ok, contended) = reader.join().expect("reader thread");
        eprintln!("reader: {ok} consistent snapshots, {contended} contended reads");
        total_ok += ok;
    }
    eprintln!("writer: {k} publishes in {:?}", start.elapsed());
    assert!(k > 1_000, "writer made too few publishes: {k}");
    assert!(total_ok >= 100, "readers got too few snapshots: {total_ok}");
}
