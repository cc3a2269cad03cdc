//! The journal through its real writer thread and back: order kept, torn tails cut at every
//! byte offset with a clear message, a damaged middle refused, appends continuing after
//! recovery, and positions recovered from checkpoint + tail equal to the sum of the fills.

use obi_engine::instrument::{InstrumentId, Symbol};
use obi_engine::journal::{
    self, DecodeError, Journal, JournalConfig, JournalError, JournalState, JournalWriter,
    OperatorAction, Record, RecordBody, RecoveryError, ShortText, StatePaths, TailStatus,
};
use obi_engine::order::{Fill, Liquidity, NewOrder, OrderId, TimeInForce};
use obi_engine::portfolio::Position;
use obi_engine::safety::{ReasonCode, SafetyState};
use obi_engine::units::{Lots, Side, Ticks};
use std::path::Path;

const ETH: InstrumentId = InstrumentId(0);
const BTC: InstrumentId = InstrumentId(1);

fn config() -> JournalConfig {
    JournalConfig {
        fsync_interval_ms: 1,
        idle_sleep_us: 100,
        checkpoint_interval_ms: 100,
        ring_capacity: 1024,
    }
}

fn fill(i: u64, instrument: InstrumentId) -> Fill {
    let side = if i.is_multiple_of(3) {
        Side::Ask
    } else {
        Side::Bid
    };
    Fill {
        order_id: OrderId(i),
        instrument,
        side,
        price: Ticks(100_000 + (i as i64 % 17) * 3),
        qty: Lots(1 + (i as i64 % 5)),
        leaves_qty: Lots(0),
        fee: i128::from(i % 4) - 1,
        liquidity: Liquidity::Maker,
        ts_ns: 1_000 + i,
    }
}

fn order(i: u64, instrument: InstrumentId) -> NewOrder {
    let f = fill(i, instrument);
    NewOrder {
        order_id: f.order_id,
        instrument,
        side: f.side,
        price: f.price,
        qty: f.qty,
        tif: TimeInForce::Gtc,
        cause_ts_ns: 0,
        reduce_only: false,
    }
}

/// A session: start, instrument bindings, then per order: sent, accepted, filled.
fn session_bodies(orders: std::ops::Range<u64>) -> Vec<RecordBody> {
    let mut v = vec![
        RecordBody::SessionStart { pid: 1 },
        RecordBody::Instrument {
            id: ETH,
            symbol: Symbol::new("ETHUSDT").expect("symbol"),
        },
        RecordBody::Instrument {
            id: BTC,
            symbol: Symbol::new("BTCUSDT").expect("symbol"),
        },
    ];
    for i in orders {
        let inst = if i.is_multiple_of(2) { ETH } else { BTC };
        v.push(RecordBody::OrderSent(order(i, inst)));
        v.push(RecordBody::Accepted {
            order_id: OrderId(i),
            venue_ts_ns: i,
        });
        v.push(RecordBody::Fill(fill(i, inst)));
    }
    v
}

/// Sum of the fills of `bodies` per instrument id, through the portfolio's own position math.
fn expected_positions(bodies: &[RecordBody]) -> [Position; 2] {
    let mut p = [Position::default(); 2];
    for b in bodies {
        if let RecordBody::Fill(f) = b {
            p[f.instrument.index()].apply(f.side, f.price, f.qty, f.fee);
        }
    }
    p
}

/// Pushes `bodies` through a writer thread; returns the records as sent.
fn write_through_ring(dir: &Path, bodies: &[RecordBody]) -> Vec<Record> {
    let paths = StatePaths::new(dir);
    let rec = journal::recover(&paths).expect("recover");
    let (mut tx, writer) = rec.start_writer(&config()).expect("writer");
    let mut sent = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        let ts = 1_700_000_000_000_000_000 + i as u64;
        let seq = loop {
            match tx.push(ts, *body) {
                Ok(seq) => break seq,
                Err(_) => std::thread::sleep(std::time::Duration::from_micros(50)),
            }
        };
        sent.push(Record {
            seq,
            ts_ns: ts,
            body: *body,
        });
    }
    drop(tx);
    let summary = writer.finish().expect("writer finishes cleanly");
    assert_eq!(summary.durable_seq, sent.last().map_or(0, |r| r.seq));
    sent
}

#[test]
fn records_come_back_in_order_after_the_writer_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bodies = session_bodies(1..400);
    let sent = write_through_ring(dir.path(), &bodies);
    let (journal, recovered) =
        Journal::open_for_recovery(&StatePaths::new(dir.path()).journal()).expect("reopen");
    assert_eq!(recovered.tail, TailStatus::Clean);
    assert_eq!(recovered.records, sent);
    assert_eq!(journal.last_seq(), sent.len() as u64);
    assert_eq!(sent.first().map(|r| r.seq), Some(1));
}

#[test]
fn a_torn_tail_is_cut_at_every_byte_offset_and_appends_continue() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j.obij");
    let bodies = session_bodies(1..6);
    {
        let (mut j, _) = Journal::open_for_recovery(&path).expect("create");
        for (i, b) in bodies.iter().enumerate() {
            let r = Record {
                seq: i as u64 + 1,
                ts_ns: i as u64,
                body: *b,
            };
            j.append(&r).expect("append");
        }
        j.sync().expect("sync");
    }
    let full = std::fs::read(&path).expect("read");
    let (_, all) = Journal::open_for_recovery(&path).expect("reopen");
    let n = all.records.len();
    assert_eq!(n, bodies.len());
    let mut last_len = [0u8; journal::MAX_RECORD_BYTES];
    let last_size = journal::encode(&all.records[n - 1], &mut last_len);
    let last_start = full.len() - last_size;

    let cut_path = dir.path().join("cut.obij");
    for cut in last_start..full.len() {
        std::fs::write(&cut_path, &full[..cut]).expect("write cut");
        let (mut j, rec) =
            Journal::open_for_recovery(&cut_path).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(rec.records, all.records[..n - 1], "cut at {cut}");
        if cut == last_start {
            assert_eq!(rec.tail, TailStatus::Clean);
        } else {
            let TailStatus::Torn {
                offset,
                record_number,
                bytes_dropped,
                reason,
            } = rec.tail.clone()
            else {
                panic!("cut at {cut}: expected a torn tail, got {:?}", rec.tail);
            };
            assert_eq!((offset, record_number), (last_start as u64, n as u64));
            assert_eq!(bytes_dropped, (cut - last_start) as u64);
            assert!(
                matches!(reason, DecodeError::Incomplete { .. }),
                "{reason:?}"
            );
            let msg = rec.tail.to_string();
            assert!(msg.contains(&format!("byte {last_start}")), "{msg}");
            assert_eq!(
                std::fs::metadata(&cut_path).expect("stat").len(),
                last_start as u64
            );
        }
        // Appending after recovery continues the sequence; a reopen sees every record.
        j.append(&all.records[n - 1]).expect("append");
        j.sync().expect("sync");
        drop(j);
        let (_, again) = Journal::open_for_recovery(&cut_path).expect("reopen");
        assert_eq!(again.records, all.records, "cut at {cut}");
        assert_eq!(again.tail, TailStatus::Clean);
    }
}

#[test]
fn a_damaged_last_record_is_a_torn_tail_but_a_damaged_middle_is_corruption() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bodies = session_bodies(1..20);
    write_through_ring(dir.path(), &bodies);
    let path = StatePaths::new(dir.path()).journal();
    let full = std::fs::read(&path).expect("read");
    let (_, all) = Journal::open_for_recovery(&path).expect("open");
    let mut buf = [0u8; journal::MAX_RECORD_BYTES];
    let sizes: Vec<usize> = all
        .records
        .iter()
        .map(|r| journal::encode(r, &mut buf))
        .collect();
    let offsets: Vec<usize> = sizes
        .iter()
        .scan(journal::FILE_HEADER.len(), |at, s| {
            let o = *at;
            *at += s;
            Some(o)
        })
        .collect();

    // A flipped byte in the last record: nothing valid follows, so it is a torn tail.
    let last = offsets.len() - 1;
    let mut bad = full.clone();
    bad[offsets[last] + 10] ^= 0xff;
    std::fs::write(&path, &bad).expect("write");
    let (_, rec) = Journal::open_for_recovery(&path).expect("torn tail recovers");
    assert_eq!(rec.records.len(), last);
    assert!(matches!(
        rec.tail,
        TailStatus::Torn {
            reason: DecodeError::BadChecksum { .. },
            ..
        }
    ));

    // A flipped byte in any middle record: reported as corruption, the file untouched.
    for k in [0, 1, last / 2, last - 1] {
        for at in [0, 5, 12, 30] {
            let mut bad = full.clone();
            let pos = offsets[k] + at.min(sizes[k] - 1);
            bad[pos] ^= 0x5a;
            std::fs::write(&path, &bad).expect("write");
            let err = Journal::open_for_recovery(&path).expect_err("corruption is refused");
            let JournalError::Corrupt {
                offset,
                record_number,
                valid_records_before,
                ..
            } = &err
            else {
                panic!("expected corruption, got {err}");
            };
            assert_eq!(
                (*offset, *record_number, *valid_records_before),
                (offsets[k] as u64, k as u64 + 1, k as u64)
            );
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("byte {}", offsets[k])) && msg.contains("not a torn tail"),
                "{msg}"
            );
            assert_eq!(
                std::fs::read(&path).expect("read"),
                bad,
                "file left untouched"
            );
        }
    }

    // A record removed from the middle: checksums pass but the sequence skips.
    let mut gap = full[..offsets[3]].to_vec();
    gap.extend_from_slice(&full[offsets[4]..]);
    std::fs::write(&path, &gap).expect("write");
    let err = Journal::open_for_recovery(&path).expect_err("a gap is refused");
    assert!(
        matches!(
            err,
            JournalError::Corrupt {
                reason: DecodeError::OutOfSequence {
                    expected: 4,
                    found: 5
                },
                ..
            }
        ),
        "{err}"
    );

    // Not a journal at all.
    std::fs::write(&path, b"hello, this is not a journal file").expect("write");
    assert!(matches!(
        Journal::open_for_recovery(&path),
        Err(JournalError::NotAJournal { .. })
    ));
}

#[test]
fn recovered_positions_equal_the_sum_of_all_fills_across_checkpoint_and_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StatePaths::new(dir.path());
    let first = session_bodies(1..300);
    write_through_ring(dir.path(), &first);
    // finish() wrote a checkpoint covering every record of the first run.
    let ckpt = journal::checkpoint::load(&paths.checkpoint())
        .expect("loads")
        .expect("exists");
    let k = ckpt.state.last_seq;
    assert_eq!(k, first.len() as u64);

    // A second run appends more fills; its checkpoint is then removed so recovery must
    // replay the tail on top of the first checkpoint.
    let mut second = session_bodies(300..420);
    second.push(RecordBody::Trip {
        reason: ReasonCode::Drawdown,
        state: SafetyState::Halted,
        value: 600,
        limit: 500,
    });
    // An order still open at the end.
    second.push(RecordBody::OrderSent(order(999, ETH)));
    write_through_ring(dir.path(), &second);
    journal::checkpoint::write(&paths.checkpoint(), &ckpt.state).expect("restore old ckpt");

    let rec = journal::recover(&paths).expect("recovers");
    assert_eq!(rec.checkpoint_seq, Some(k));
    assert_eq!(rec.replayed, second.len() as u64);
    let all: Vec<RecordBody> = first.iter().chain(&second).copied().collect();
    let expected = expected_positions(&all);
    for (symbol, p) in [("ETHUSDT", expected[0]), ("BTCUSDT", expected[1])] {
        let got = rec
            .state
            .instrument(symbol)
            .expect("instrument known")
            .position();
        assert_eq!(got, p, "{symbol}");
    }
    assert_ne!(expected[0].qty_lots, 0);
    assert_eq!(rec.state.latch.state, SafetyState::Halted);
    assert_eq!(rec.state.latch.reason_code, ReasonCode::Drawdown.code());
    assert_eq!(rec.state.sessions, 2);
    assert_eq!(rec.state.open_orders.len(), 1);
    assert_eq!(rec.state.open_orders[0].order_id, 999);
    assert!(rec.summary().contains("halted"), "{}", rec.summary());

    // Replaying the whole journal from scratch gives the same state.
    let (_, everything) = Journal::open_for_recovery(&paths.journal()).expect("open");
    let mut scratch = JournalState::default();
    for r in &everything.records {
        scratch.apply(r);
    }
    assert_eq!(scratch, rec.state);

    // An operator reset in a third run clears the latch on the next recovery.
    let third = vec![RecordBody::Operator {
        action: OperatorAction::Reset,
        reason: ReasonCode::None,
        text: ShortText::new("drawdown reviewed"),
    }];
    drop(rec);
    write_through_ring(dir.path(), &third);
    let rec = journal::recover(&paths).expect("recovers");
    assert_eq!(rec.state.latch.state, SafetyState::Running);
    assert_eq!(rec.state.latch.operator_text, "drawdown reviewed");
}

#[test]
fn a_journal_behind_its_checkpoint_is_a_mismatch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StatePaths::new(dir.path());
    write_through_ring(dir.path(), &session_bodies(1..10));
    std::fs::remove_file(paths.journal()).expect("lose the journal");
    let err = journal::recover(&paths).expect_err("refused");
    assert!(
        matches!(err, RecoveryError::JournalBehindCheckpoint { .. }),
        "{err}"
    );
    assert_eq!(err.reason_code(), ReasonCode::RecoveryMismatch);
}

#[test]
fn a_full_ring_is_counted_and_leaves_no_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StatePaths::new(dir.path());
    let rec = journal::recover(&paths).expect("recover");
    let (mut tx, writer) = JournalWriter::spawn(
        rec.journal,
        rec.state,
        None,
        &JournalConfig {
            ring_capacity: 16,
            idle_sleep_us: 50_000,
            ..config()
        },
    )
    .expect("spawn");
    let mut accepted = 0u64;
    for i in 0..1000 {
        if tx.push(i, RecordBody::SessionStart { pid: 1 }).is_ok() {
            accepted += 1;
        }
    }
    assert!(tx.full_total() > 0);
    assert_eq!(accepted + tx.full_total(), 1000);
    assert_eq!(tx.next_seq(), accepted + 1);
    drop(tx);
    writer.finish().expect("finish");
    let (_, back) = Journal::open_for_recovery(&paths.journal()).expect("open");
    assert_eq!(back.records.len() as u64, accepted);
}

#[test]
fn a_durable_push_is_synced_without_waiting_for_the_interval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StatePaths::new(dir.path());
    let rec = journal::recover(&paths).expect("recover");
    let (mut tx, writer) = rec
        .start_writer(&JournalConfig {
            fsync_interval_ms: 10_000,
            ..config()
        })
        .expect("spawn");
    tx.push(1, RecordBody::SessionStart { pid: 1 })
        .expect("room");
    let seq = tx
        .push_durable(
            2,
            RecordBody::Operator {
                action: OperatorAction::Kill,
                reason: ReasonCode::OperatorKill,
                text: ShortText::new("stop"),
            },
        )
        .expect("room");
    let mut seen = false;
    for _ in 0..2_000 {
        if tx.durable_seq() >= seq {
            seen = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    assert!(seen, "durable record synced long before the 10 s interval");
    assert!(!tx.is_failed());
    drop(tx);
    writer.finish().expect("finish");
}

#[test]
fn session_start_binds_symbols_and_the_restore_plan_maps_them_to_this_runs_ids() {
    use obi_engine::instrument::{InstrumentSpec, Instruments, Market, Scale};
    let spec = |s: &str| InstrumentSpec {
        symbol: Symbol::new(s).expect("symbol"),
        market: Market::UsdM,
        price: Scale::unit(2),
        qty: Scale::unit(3),
    };
    let mut run1 = Instruments::default();
    run1.add(spec("ETHUSDT"));
    run1.add(spec("BTCUSDT"));
    let dir = tempfile::tempdir().expect("tempdir");
    let paths = StatePaths::new(dir.path());
    let rec = journal::recover(&paths).expect("recover");
    let (mut tx, writer) = rec.start_writer(&config()).expect("writer");
    tx.push_session_start(1, 42, &run1).expect("room");
    tx.push(2, RecordBody::Fill(fill(1, BTC))).expect("room"); // buy 2 BTCUSDT
    tx.push(3, RecordBody::Fill(fill(2, ETH))).expect("room"); // buy 3 ETHUSDT
    drop(tx);
    writer.finish().expect("finish");

    // The next run lists the instruments in another order and drops ETHUSDT.
    let mut run2 = Instruments::default();
    run2.add(spec("SOLUSDT"));
    run2.add(spec("BTCUSDT"));
    let rec = journal::recover(&paths).expect("recover");
    let plan = rec.state.restore_plan(&run2);
    assert_eq!(plan.positions.len(), 1);
    assert_eq!(plan.positions[0].0, InstrumentId(1));
    assert_eq!(plan.positions[0].1.qty_lots, 2);
    assert_eq!(
        plan.unconfigured_positions,
        vec![("ETHUSDT".to_string(), 3)]
    );
    assert!(!plan.is_consistent());
    assert!(rec.state.restore_plan(&run1).is_consistent());
}
