//! Deleting any one depth diff from a real recording is detected as a gap and leads to a
//! resync — never to a crossed or silently wrong book. With a fresh snapshot later in the
//! stream, the book recovers and matches the exchange's bookTicker again.

mod common;

use common::recording::{TextBook, is_diff, is_snapshot, json_of, read_lines};
use obi_engine::config::Config;
use obi_engine::instrument::{InstrumentSpec, Instruments, Market, Scale, Symbol};
use obi_engine::replay::{self, ReplayOptions, ReplayReport};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn config(market: Market, px: u8, qty: u8) -> Config {
    let mut instruments = Instruments::default();
    instruments.add(InstrumentSpec {
        symbol: Symbol::new("ETHUSDT").expect("symbol"),
        market,
        price: Scale::unit(px),
        qty: Scale::unit(qty),
    });
    Config::with_instruments(instruments)
}

fn replay_lines(
    cfg: &Config,
    lines: &[String],
    dir: &Path,
    name: &str,
) -> (ReplayReport, Vec<(u64, String)>) {
    let rec = dir.join(format!("{name}.txt"));
    std::fs::write(&rec, lines.join("\n") + "\n").expect("write recording");
    let tob = dir.join(format!("{name}.csv"));
    let options = ReplayOptions {
        tob_out: Some(tob.clone()),
        no_timing: true,
        ..ReplayOptions::default()
    };
    let report = replay::run(cfg, &[rec], &options).expect("replay");
    let rows = std::fs::read_to_string(&tob)
        .expect("tob")
        .lines()
        .skip(1)
        .map(|r| {
            let (_, rest) = r.split_once(',').expect("row");
            let (u, quote) = rest.split_once(',').expect("row");
            (u.parse().expect("u"), quote.to_string())
        })
        .collect();
    (report, rows)
}

/// Positions of diff lines after the snapshot, spread over the file (not the very last,
/// whose loss no later frame can reveal).
fn sample_positions(lines: &[String], n: usize) -> Vec<usize> {
    let snap = lines
        .iter()
        .position(|l| is_snapshot(l))
        .expect("snapshot line");
    let diffs: Vec<usize> = (snap + 1..lines.len())
        .filter(|&i| is_diff(&lines[i]))
        .collect();
    let usable = &diffs[..diffs.len() - 1];
    let mut picks: Vec<usize> = (0..n)
        .map(|k| usable[k * (usable.len() - 1) / (n - 1)])
        .collect();
    // The first diff that must straddle the snapshot is the most delicate case.
    picks.push(usable[0]);
    picks.push(usable[1]);
    picks.sort_unstable();
    picks.dedup();
    picks
}

fn check_deletions(label: &str, path: PathBuf, cfg: Config) {
    let dir = common::scratch_dir(&format!("gap-{label}"));
    let lines = read_lines(&path);
    let (clean, clean_rows) = replay_lines(&cfg, &lines, &dir, "clean");
    assert_eq!(clean.counters.gaps, 0);
    let truth: HashMap<u64, String> = clean_rows.into_iter().collect();
    for pos in sample_positions(&lines, 10) {
        let deleted_u = json_of(&lines[pos])["data"]["u"].as_u64().expect("u");
        let mut cut = lines.clone();
        cut.remove(pos);
        let (report, rows) = replay_lines(&cfg, &cut, &dir, "cut");
        let c = report.counters;
        assert!(
            c.gaps >= 1,
            "{label}: deleting line {pos} (u={deleted_u}) went unnoticed"
        );
        assert!(c.resyncs >= 1, "{label}: no resync after gap at line {pos}");
        assert_eq!(
            c.crossed, 0,
            "{label}: crossed book after deleting line {pos}"
        );
        assert_eq!(
            c.oracle_mismatches, 0,
            "{label}: wrong book after deleting line {pos}"
        );
        // Every row written is a state the clean replay also had, and none comes after the
        // deleted diff (no snapshot follows, so the book stays invalid).
        for (u, quote) in &rows {
            assert!(
                *u < deleted_u,
                "{label}: row u={u} written after the gap at u={deleted_u}"
            );
            assert_eq!(
                truth.get(u),
                Some(quote),
                "{label}: row u={u} differs from the clean replay"
            );
        }
        eprintln!(
            "{label}: deleted line {pos} (u={deleted_u}): gaps {} resyncs {} rows {}",
            c.gaps,
            c.resyncs,
            rows.len()
        );
    }
}

#[test]
fn deleting_any_one_diff_is_a_gap_never_a_wrong_book() {
    let Some(data) = common::shared_data("deleting_any_one_diff_is_a_gap") else {
        return;
    };
    check_deletions(
        "usdm",
        data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"),
        config(Market::UsdM, 2, 3),
    );
    check_deletions(
        "spot",
        data.join("hftbacktest-sample/spot/ethusdt_20240808.gz"),
        config(Market::Spot, 8, 8),
    );
}

#[test]
fn fresh_snapshot_after_a_gap_resyncs_the_book() {
    let Some(data) = common::shared_data("fresh_snapshot_after_a_gap_resyncs") else {
        return;
    };
    let dir = common::scratch_dir("gap-resync");
    let mut lines = read_lines(&data.join("hftbacktest-sample/usdm/ethusdt_20240808.gz"));
    let snap = lines.iter().position(|l| is_snapshot(l)).expect("snapshot");
    let diffs: Vec<usize> = (snap + 1..lines.len())
        .filter(|&i| is_diff(&lines[i]))
        .collect();
    let (gap_at, resync_at) = (diffs[diffs.len() / 3], diffs[diffs.len() / 2]);

    // The true book just after diff `resync_at`, built independently from the recording.
    let mut book = TextBook::default();
    let s = json_of(&lines[snap]);
    book.apply(&s["bids"], &s["asks"]);
    let snapshot_id = s["lastUpdateId"].as_u64().expect("id");
    let mut resync_u = 0;
    for &i in diffs.iter().take_while(|&&i| i <= resync_at) {
        let d = &json_of(&lines[i])["data"];
        if d["u"].as_u64().expect("u") < snapshot_id {
            continue;
        }
        book.apply(&d["b"], &d["a"]);
        resync_u = d["u"].as_u64().expect("u");
    }
    let local_ns: u64 = lines[resync_at]
        .split(' ')
        .next()
        .expect("ns")
        .parse()
        .expect("ns");
    // A fresh REST snapshot lands just before that diff's frame, as a resync would fetch it.
    let fresh = format!("{} {}", local_ns, book.snapshot_json(resync_u));
    lines.insert(resync_at, fresh);
    let deleted_u = json_of(&lines[gap_at])["data"]["u"].as_u64().expect("u");
    lines.remove(gap_at);

    let cfg = config(Market::UsdM, 2, 3);
    let (report, rows) = replay_lines(&cfg, &lines, &dir, "resync");
    let c = report.counters;
    assert_eq!(c.gaps, 1, "one gap");
    assert_eq!(c.crossed, 0);
    assert_eq!(c.snapshots, 2, "initial snapshot and the fresh one");
    assert_eq!(c.oracle_mismatches, 0);
    assert!(
        rows.iter().any(|(u, _)| *u > resync_u),
        "book never came back after the resync"
    );
    assert!(
        !rows.iter().any(|(u, _)| *u > deleted_u && *u < resync_u),
        "rows written while the book was invalid"
    );
    assert!(report.instruments[0].book_valid_at_end);
    eprintln!(
        "resync: {} gaps, {} snapshots, {} oracle checks, 0 mismatches",
        c.gaps, c.snapshots, c.oracle_checked
    );
}
