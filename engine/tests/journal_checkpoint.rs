//! The checkpoint file: round trip, every kind of damage refused with a clear error (never
//! half-loaded), and a crash between write and rename leaving the old file intact.

use obi_engine::journal::checkpoint::{self, CheckpointError};
use obi_engine::journal::{
    Anchors, InstrumentState, JournalState, LatchState, OpenOrder, OrderSide, UnreconciledRun,
};
use obi_engine::safety::{ReasonCode, SafetyState};

fn state(seq: u64) -> JournalState {
    JournalState {
        last_seq: seq,
        last_ts_ns: 1_700_000_000_000_000_000,
        sessions: 3,
        bindings: vec![Some("ETHUSDT".into()), None, Some("BTCUSDT".into())],
        instruments: vec![
            InstrumentState {
                symbol: "ETHUSDT".into(),
                position_lots: -12,
                cost: -3_220_560,
                realized: 1i128 << 80,
                fees: -7,
                fills: 44,
            },
            InstrumentState {
                symbol: "BTCUSDT".into(),
                ..InstrumentState::default()
            },
        ],
        open_orders: vec![OpenOrder {
            session: 3,
            order_id: 17,
            symbol: "ETHUSDT".into(),
            side: OrderSide::Sell,
            price_ticks: 268_390,
            qty_lots: 5,
            filled_lots: 2,
            accepted: true,
        }],
        anchors: Some(Anchors {
            equity_micros: 10_000_000_000,
            equity_peak_micros: 10_400_000_000,
            utc_day: 20_415,
            day_start_equity_micros: 10_100_000_000,
            consecutive_losses: 2,
        }),
        latch: LatchState {
            state: SafetyState::Halted,
            reason_code: ReasonCode::KillFile.code(),
            since_ns: 5,
            operator_text: String::new(),
        },
        orphan_fills: 0,
        unreconciled: vec![UnreconciledRun {
            session: 3,
            start_ns: 1_700_000_000_000_000_000,
            max_order_id: 17,
        }],
    }
}

#[test]
fn round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("checkpoint.obic");
    assert!(checkpoint::load(&path).expect("no file is fine").is_none());
    checkpoint::write(&path, &state(41)).expect("write");
    let loaded = checkpoint::load(&path).expect("load").expect("present");
    assert_eq!(loaded.state, state(41));
    assert!(!loaded.removed_temp);
    // Overwriting replaces it whole.
    checkpoint::write(&path, &state(42)).expect("write");
    let loaded = checkpoint::load(&path).expect("load").expect("present");
    assert_eq!(loaded.state.last_seq, 42);
    assert_eq!(loaded.state.latch.latch().reason(), ReasonCode::KillFile);
}

#[test]
fn any_flipped_byte_is_refused() {
    let bytes = checkpoint::encode(&state(7));
    let path = std::path::Path::new("ckpt");
    for at in 0..bytes.len() {
        for mask in [0x01u8, 0x20, 0x80] {
            let mut bad = bytes.clone();
            bad[at] ^= mask;
            let Err(err) = checkpoint::decode(path, &bad) else {
                panic!("flip {mask:#x} at {at} was accepted");
            };
            let msg = err.to_string();
            assert!(msg.contains("ckpt"), "names the file: {msg}");
        }
    }
}

#[test]
fn truncated_or_extended_files_are_refused() {
    let bytes = checkpoint::encode(&state(7));
    let path = std::path::Path::new("ckpt");
    for cut in 0..bytes.len() {
        assert!(
            checkpoint::decode(path, &bytes[..cut]).is_err(),
            "cut at {cut} accepted"
        );
    }
    let nl = bytes.iter().position(|&b| b == b'\n').expect("header line");
    let err = checkpoint::decode(path, &bytes[..bytes.len() - 10]).expect_err("truncated");
    assert!(
        matches!(err, CheckpointError::Length { .. }) && err.to_string().contains("truncated"),
        "{err}"
    );
    assert!(matches!(
        checkpoint::decode(path, &bytes[..nl]),
        Err(CheckpointError::BadHeader { .. })
    ));
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"{}\n");
    assert!(matches!(
        checkpoint::decode(path, &longer),
        Err(CheckpointError::Length { .. })
    ));
}

#[test]
fn wrong_version_and_wrong_body_are_refused() {
    let path = std::path::Path::new("ckpt");
    let good = checkpoint::encode(&state(7));
    let text = String::from_utf8(good).expect("utf8");
    let v2 = text.replacen("OBI-CHECKPOINT 1 ", "OBI-CHECKPOINT 2 ", 1);
    assert!(matches!(
        checkpoint::decode(path, v2.as_bytes()),
        Err(CheckpointError::UnsupportedVersion { version: 2, .. })
    ));
    // A body with a valid checksum but an unknown field is not half-loaded.
    let body = br#"{"last_seq": 1, "surprise": true}"#;
    let mut forged = format!(
        "OBI-CHECKPOINT 1 {} {:08x}\n",
        body.len(),
        crc32fast_hash(body)
    )
    .into_bytes();
    forged.extend_from_slice(body);
    forged.push(b'\n');
    let err = checkpoint::decode(path, &forged).expect_err("refused");
    assert!(matches!(err, CheckpointError::Body { .. }), "{err}");
}

/// CRC-32 (IEEE), bitwise: an independent check of the header's checksum.
fn crc32fast_hash(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn a_crash_before_the_rename_leaves_the_old_checkpoint_and_the_temp_is_cleaned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("checkpoint.obic");
    checkpoint::write(&path, &state(10)).expect("write");
    // Simulate a crash after writing (part of) the temp file, before the rename.
    let tmp = checkpoint::temp_path(&path);
    let newer = checkpoint::encode(&state(11));
    std::fs::write(&tmp, &newer[..newer.len() / 2]).expect("partial temp");
    let loaded = checkpoint::load(&path).expect("load").expect("present");
    assert_eq!(loaded.state.last_seq, 10, "the old checkpoint, whole");
    assert!(loaded.removed_temp);
    assert!(!tmp.exists());
    // A crash before any checkpoint existed: only a temp file, which is not a checkpoint.
    std::fs::remove_file(&path).expect("remove");
    std::fs::write(&tmp, &newer).expect("complete temp");
    assert!(checkpoint::load(&path).expect("load").is_none());
    assert!(!tmp.exists());
}
