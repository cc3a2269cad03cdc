//! The latency harness runs the full tick path over a recording and reports sane figures.

use obi_bench::synth::{self, SynthConfig};

#[test]
fn harness_reports_percentiles_and_machine() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("latency-test");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("session.txt");
    let cfg = SynthConfig {
        seed: 3,
        duration_s: 60,
        ..SynthConfig::default()
    };
    let summary = synth::write_to_path(&cfg, &path).expect("generate");
    let report = obi_bench::latency::run(&[path], None, Some(0)).expect("harness");
    assert_eq!(report.frames, summary.lines);
    assert_eq!(report.per_frame_ns.count, report.frames);
    assert!(report.per_frame_ns.p50 > 0 && report.per_frame_ns.p50 <= report.per_frame_ns.p99);
    assert!(report.per_frame_ns.p99 <= report.per_frame_ns.max);
    assert_eq!((report.gaps, report.oracle_mismatches), (0, 0));
    assert!(report.machine.cores >= 1 && !report.machine.kernel.is_empty());
    let json = serde_json::to_value(&report).expect("json");
    for key in [
        "frames_per_sec",
        "receipt_to_intent_ns",
        "per_frame_ns",
        "machine",
    ] {
        assert!(json.get(key).is_some(), "missing {key}");
    }
}
