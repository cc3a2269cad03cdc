//! `obi-bench kill-latency` end to end in a debug build, 3 trials: every trial yields a
//! sample, the simulator received a cancel-all after the kill file appeared, no order rests
//! afterwards, and the engine reports itself halted by the kill file. No timing is asserted.

use obi_bench::harness::fresh_dir;
use obi_bench::kill_latency::{KillLatencyOptions, run};
use std::path::Path;

#[test]
fn three_trials_each_cancel_everything_at_the_venue() {
    let dir = fresh_dir(Path::new(env!("CARGO_TARGET_TMPDIR")), "kill-latency").expect("dir");
    let report = run(&KillLatencyOptions {
        trials: 3,
        dir: Some(dir),
        ..KillLatencyOptions::default()
    })
    .expect("kill-latency run");
    assert_eq!(report.trials.len(), 3);
    assert_eq!(report.kill_to_cancel_all_ns.n, 3);
    assert_eq!(report.touch_to_wake_ns.n, 3);
    for (i, t) in report.trials.iter().enumerate() {
        assert!(t.open_orders_before >= 1, "trial {i}: {t:?}");
        assert!(t.cancel_all_requests >= 1, "trial {i}: {t:?}");
        assert_eq!(t.open_orders_after, 0, "trial {i}: {t:?}");
        assert_eq!(t.safety_state, "halted", "trial {i}: {t:?}");
        assert_eq!(t.latched_reason, "kill_file", "trial {i}: {t:?}");
    }
    let text = report.to_text();
    assert!(text.contains("p99") && text.contains("n=3"), "{text}");
}
