//! Crash safety with real SIGKILLs: a child process (this test binary, re-run) appends
//! fills through the writer thread and checkpoints; it is killed at varied moments and
//! restarted on the same state directory. After every kill, recovery succeeds, the journal
//! is gapless, the checkpoint equals the fold of the journal up to its sequence number, and
//! the recovered positions equal the sum of every journaled fill — nothing lost, nothing
//! counted twice.

use obi_engine::instrument::{InstrumentId, Symbol};
use obi_engine::journal::{
    self, Journal, JournalConfig, JournalState, RecordBody, StatePaths, checkpoint,
};
use obi_engine::order::{Fill, Liquidity, OrderId};
use obi_engine::portfolio::Position;
use obi_engine::units::{Lots, Side, Ticks};
use std::time::Duration;

const CHILD_ENV: &str = "OBI_JOURNAL_CRASH_CHILD_DIR";

/// The child: recover, then append fills until killed. A no-op in a normal test run.
#[test]
fn crash_child_entry() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let paths = StatePaths::new(dir);
    let rec = journal::recover(&paths).expect("child recovers");
    let config = JournalConfig {
        fsync_interval_ms: 1,
        idle_sleep_us: 200,
        checkpoint_interval_ms: 100,
        ring_capacity: 4096,
    };
    let (mut tx, _writer) = rec.start_writer(&config).expect("writer");
    let ts = |i: u64| 1_700_000_000_000_000_000 + i;
    tx.push(
        ts(0),
        RecordBody::SessionStart {
            pid: std::process::id(),
        },
    )
    .expect("room");
    tx.push(
        ts(0),
        RecordBody::Instrument {
            id: InstrumentId(0),
            symbol: Symbol::new("ETHUSDT").expect("symbol"),
        },
    )
    .expect("room");
    for i in 1u64.. {
        let f = Fill {
            order_id: OrderId(i),
            instrument: InstrumentId(0),
            side: if i % 3 == 0 { Side::Ask } else { Side::Bid },
            price: Ticks(200_000 + (i % 11) as i64),
            qty: Lots(1 + (i % 4) as i64),
            leaves_qty: Lots(0),
            fee: 1,
            liquidity: Liquidity::Taker,
            ts_ns: ts(i),
        };
        while tx.push(ts(i), RecordBody::Fill(f)).is_err() {
            std::thread::sleep(Duration::from_micros(100));
        }
        if i % 64 == 0 {
            std::thread::sleep(Duration::from_micros(300));
        }
    }
}

fn check(paths: &StatePaths, round: usize) -> u64 {
    let rec = journal::recover(paths).unwrap_or_else(|e| panic!("round {round}: {e}"));
    let (_, all) = Journal::open_for_recovery(&paths.journal()).expect("reopen");
    // Positions: the sum of every journaled fill.
    let mut expected = Position::default();
    let mut fills = 0u64;
    for r in &all.records {
        if let RecordBody::Fill(f) = r.body {
            expected.apply(f.side, f.price, f.qty, f.fee);
            fills += 1;
        }
    }
    let got = rec
        .state
        .instrument("ETHUSDT")
        .map(|i| i.position())
        .unwrap_or_default();
    assert_eq!(got, expected, "round {round}");
    assert_eq!(rec.state.last_seq, all.records.last().map_or(0, |r| r.seq));
    // The checkpoint is exactly the journal's prefix folded.
    if let Some(ckpt) = checkpoint::load(&paths.checkpoint()).expect("checkpoint loads") {
        let mut prefix = JournalState::default();
        for r in all
            .records
            .iter()
            .take_while(|r| r.seq <= ckpt.state.last_seq)
        {
            prefix.apply(r);
        }
        assert_eq!(
            prefix, ckpt.state,
            "round {round}: checkpoint vs journal prefix"
        );
    }
    fills
}

#[test]
fn sigkill_at_varied_moments_loses_nothing_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StatePaths::new(dir.path());
    let exe = std::env::current_exe().expect("test binary");
    let mut last_fills = 0;
    for (round, wait_ms) in [60u64, 170, 35, 240, 110].into_iter().enumerate() {
        let mut child = std::process::Command::new(&exe)
            .args([
                "--exact",
                "crash_child_entry",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        std::thread::sleep(Duration::from_millis(wait_ms));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        let fills = check(&paths, round);
        eprintln!("round {round}: killed after {wait_ms} ms; {fills} fills journaled in all");
        assert!(fills >= last_fills, "round {round}: fills lost");
        last_fills = fills;
    }
    assert!(last_fills > 0, "the children wrote fills");
}
