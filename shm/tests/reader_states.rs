//! `StatsReader::open` states for missing, short, unready, incompatible and corrupt files.
#![cfg(not(loom))]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use obi_shm::layout::{
    COUNTER_SLOTS_OFFSET, INSTRUMENT_COUNT_OFFSET, LAYOUT_LEN_BYTES, LAYOUT_VERSION_OFFSET, MAGIC,
    MAGIC_OFFSET,
};
use obi_shm::{
    CounterId, LAYOUT_VERSION, LayoutVersion, NotMappedReason, ReaderState, StatsReader,
    StatsWriter, WriterInfo,
};

fn info(pid: u32) -> WriterInfo<'static> {
    WriterInfo {
        pid,
        start_unix_ns: 1_700_000_000_000_000_000,
        instruments: &["BTCUSDT", "ETHUSDT"],
    }
}

/// Bytes of a freshly created, valid stats file.
fn valid_bytes(dir: &Path) -> Vec<u8> {
    let path = dir.join("template.stats");
    let mut writer = StatsWriter::create(&path, &info(4242)).expect("create");
    writer.set_counter(CounterId::FramesTotal, 77);
    let bytes = fs::read(&path).expect("read template");
    drop(writer);
    fs::remove_file(&path).expect("remove template");
    bytes
}

fn put_u64(bytes: &mut [u8], offset: usize, value: u64) {
    bytes[offset..offset + 8].copy_from_slice(&value.to_le_bytes());
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write test file");
    path
}

#[test]
fn missing_file_is_no_file() {
    let dir = common::TempDir::new("states");
    assert!(matches!(
        StatsReader::open(dir.path().join("absent")),
        ReaderState::NoFile
    ));
}

#[test]
fn short_files_are_not_mapped() {
    let dir = common::TempDir::new("states");
    for len in [0usize, 1, 8, 15] {
        let path = write_file(dir.path(), &format!("short{len}"), &vec![0xAB; len]);
        match StatsReader::open(&path) {
            ReaderState::NotMapped(NotMappedReason::TooSmall { len_bytes, .. }) => {
                assert_eq!(len_bytes, len as u64);
            }
            other => panic!("len {len}: expected TooSmall, got {other:?}"),
        }
    }
    // A valid prefix (same major) but cut short of the layout.
    let mut bytes = valid_bytes(dir.path());
    bytes.truncate(100);
    let path = write_file(dir.path(), "truncated", &bytes);
    assert!(matches!(
        StatsReader::open(&path),
        ReaderState::NotMapped(NotMappedReason::TooSmall { min_bytes, .. }) if min_bytes == LAYOUT_LEN_BYTES as u64
    ));
}

#[test]
fn zero_magic_or_version_is_no_version_yet() {
    let dir = common::TempDir::new("states");
    let zeros = write_file(dir.path(), "zeros", &vec![0; LAYOUT_LEN_BYTES]);
    assert!(matches!(
        StatsReader::open(&zeros),
        ReaderState::NoVersionYet
    ));

    let mut bytes = valid_bytes(dir.path());
    put_u64(&mut bytes, LAYOUT_VERSION_OFFSET, 0);
    let path = write_file(dir.path(), "no_version", &bytes);
    assert!(matches!(
        StatsReader::open(&path),
        ReaderState::NoVersionYet
    ));

    let mut bytes = valid_bytes(dir.path());
    put_u64(&mut bytes, MAGIC_OFFSET, 0);
    let path = write_file(dir.path(), "no_magic", &bytes);
    assert!(matches!(
        StatsReader::open(&path),
        ReaderState::NoVersionYet
    ));
}

#[test]
fn other_major_is_incompatible_other_minor_is_ready() {
    let dir = common::TempDir::new("states");
    let mut bytes = valid_bytes(dir.path());
    let v2 = LayoutVersion { major: 2, minor: 0 };
    put_u64(&mut bytes, LAYOUT_VERSION_OFFSET, v2.pack());
    // A different major may even be shorter: the version check comes before the length check.
    bytes.truncate(64);
    let path = write_file(dir.path(), "v2", &bytes);
    match StatsReader::open(&path) {
        ReaderState::Incompatible { found, expected } => {
            assert_eq!((found, expected), (v2, LAYOUT_VERSION));
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }

    let mut bytes = valid_bytes(dir.path());
    let minor = LayoutVersion {
        major: LAYOUT_VERSION.major,
        minor: LAYOUT_VERSION.minor + 7,
    };
    put_u64(&mut bytes, LAYOUT_VERSION_OFFSET, minor.pack());
    bytes.extend_from_slice(&[0; 512]); // a newer minor may append
    let path = write_file(dir.path(), "minor", &bytes);
    let view = StatsReader::open(&path)
        .into_view()
        .expect("newer minor is Ready");
    let header = view.header();
    assert_eq!(header.version, minor);
    assert_eq!(header.pid, 4242);
    assert_eq!(header.instruments, ["BTCUSDT", "ETHUSDT"]);
    assert_eq!(view.counters().get(CounterId::FramesTotal), 77);
}

#[test]
fn corrupt_headers_are_refused() {
    let dir = common::TempDir::new("states");
    let mut bytes = valid_bytes(dir.path());
    put_u64(&mut bytes, MAGIC_OFFSET, u64::from_le_bytes(*b"NOTSTATS"));
    let path = write_file(dir.path(), "bad_magic", &bytes);
    assert!(matches!(
        StatsReader::open(&path),
        ReaderState::NotMapped(NotMappedReason::BadMagic { .. })
    ));

    let mut bytes = valid_bytes(dir.path());
    put_u64(&mut bytes, COUNTER_SLOTS_OFFSET, 65);
    let path = write_file(dir.path(), "bad_slots", &bytes);
    assert!(matches!(
        StatsReader::open(&path),
        ReaderState::NotMapped(NotMappedReason::LayoutMismatch {
            field: "counter_slots",
            ..
        })
    ));

    let mut bytes = valid_bytes(dir.path());
    put_u64(&mut bytes, INSTRUMENT_COUNT_OFFSET, 9);
    let path = write_file(dir.path(), "bad_count", &bytes);
    assert!(matches!(
        StatsReader::open(&path),
        ReaderState::NotMapped(NotMappedReason::LayoutMismatch {
            field: "instrument_count",
            ..
        })
    ));

    assert!(matches!(
        StatsReader::open(dir.path()),
        ReaderState::NotMapped(_)
    ));
}

/// xorshift64*: deterministic bytes without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_files_never_panic() {
    let dir = common::TempDir::new("fuzz");
    let template = valid_bytes(dir.path());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let sizes = [0, 1, 7, 16, 17, 64, 100, 2559, 2560, 2561, 4096];
    let mut ready = 0;
    for round in 0..300 {
        let len = sizes[round % sizes.len()];
        let mut bytes: Vec<u8> = match round % 3 {
            // Pure noise.
            0 => (0..len).map(|_| rng.next() as u8).collect(),
            // Valid file with a few random bytes flipped.
            1 => {
                let mut b = template.clone();
                b.resize(len.max(16), 0);
                for _ in 0..4 {
                    let i = (rng.next() as usize) % b.len();
                    b[i] = rng.next() as u8;
                }
                b
            }
            // Noise behind a valid prefix.
            _ => {
                let mut b: Vec<u8> = (0..len.max(16)).map(|_| rng.next() as u8).collect();
                put_u64(&mut b, MAGIC_OFFSET, MAGIC);
                put_u64(&mut b, LAYOUT_VERSION_OFFSET, LAYOUT_VERSION.pack());
                b
            }
        };
        if round % 7 == 0 {
            bytes.truncate(len);
        }
        let path = write_file(dir.path(), &format!("fuzz{round}"), &bytes);
        if let ReaderState::Ready(view) = StatsReader::open(&path) {
            ready += 1;
            let _ = view.header();
            let _ = view.counters();
            let _ = view.gauges_with_attempts(2);
            let _ = view.control_state();
            let _ = view.request_kill(1);
            let _ = view.request_reset();
            assert!(!view.is_stale());
        }
        fs::remove_file(&path).expect("remove fuzz file");
    }
    assert!(ready > 0, "no flipped-byte file was still readable");
}

#[test]
fn recreated_file_makes_old_view_stale() {
    let dir = common::TempDir::new("stale");
    let path = dir.path().join("engine.stats");
    let first = StatsWriter::create(&path, &info(1)).expect("first writer");
    let old = StatsReader::open(&path).into_view().expect("ready");
    assert!(!old.is_stale());
    assert_eq!(old.header().pid, 1);

    let mut second = StatsWriter::create(&path, &info(2)).expect("second writer");
    second.set_counter(CounterId::FramesTotal, 5);
    assert!(old.is_stale(), "old view must notice the new file");
    // The old mapping is still valid memory: it shows the first engine's file.
    assert_eq!(old.header().pid, 1);
    drop(first);

    let new = StatsReader::open(&path).into_view().expect("ready");
    assert!(!new.is_stale());
    assert_eq!(new.header().pid, 2);
    assert_eq!(new.counters().get(CounterId::FramesTotal), 5);

    fs::remove_file(&path).expect("remove");
    assert!(new.is_stale(), "a removed file is stale");
}
