//! Loom model of the gauge seqlock: one writer, one reader, no torn snapshot.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p obi-shm --release --test loom`
//! (under plain `cargo test` this file compiles to nothing).
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::AtomicU64;
use loom::thread;
use obi_shm::SeqLock;

const WORDS: usize = 2;

struct Shared {
    seq: AtomicU64,
    data: [AtomicU64; WORDS],
}

/// Payload of write section `k`: every word derived from `k`, so a mix of sections shows.
fn word(k: u64, i: usize) -> u64 {
    k * 1_000 + i as u64
}

#[test]
fn reader_never_sees_a_torn_snapshot() {
    loom::model(|| {
        let shared = Arc::new(Shared {
            seq: AtomicU64::new(0),
            data: std::array::from_fn(|i| AtomicU64::new(word(0, i))),
        });
        let writer = {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let lock = SeqLock::new(&shared.seq, &shared.data);
                for k in 1..=2 {
                    lock.write(|data| {
                        for (i, d) in data.iter().enumerate() {
                            d.store(word(k, i), loom::sync::atomic::Ordering::Relaxed);
                        }
                    });
                }
            })
        };
        let lock = SeqLock::new(&shared.seq, &shared.data);
        let mut out = [0; WORDS];
        if let Ok(seq) = lock.read(&mut out, 2) {
            assert_eq!(seq % 2, 0, "accepted an odd sequence");
            let k = seq / 2;
            let expected: Vec<u64> = (0..WORDS).map(|i| word(k, i)).collect();
            assert_eq!(out.to_vec(), expected, "torn snapshot at seq {seq}");
        }
        writer.join().expect("writer thread");
        // After the writer is done, a read must succeed and see the last section.
        let seq = lock.read(&mut out, 1).expect("quiescent read");
        assert_eq!(seq, 4);
        assert_eq!(out, [word(2, 0), word(2, 1)]);
    });
}
