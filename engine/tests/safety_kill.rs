//! Kill files: seen through inotify in a `mio::Poll` within a few loop iterations, cleared
//! when removed, present at start, and found by the timed check when inotify is off.

use mio::{Events, Poll, Token};
use obi_engine::safety::{KillConfig, KillError, KillWatch, ReasonCode};
use std::path::PathBuf;
use std::time::Duration;

const KILL: Token = Token(7);
const MS: u64 = 1_000_000;

/// Runs the core loop's part: wait on mio (10 ms at most), pass readiness to the watch,
/// poll it at a fixed `now_ns` (so the timed check never runs). Up to `iterations` times.
fn run_until(
    poll: &mut Poll,
    watch: &mut KillWatch,
    iterations: usize,
    mut done: impl FnMut(&mut KillWatch, Option<usize>) -> bool,
) -> bool {
    let mut events = Events::with_capacity(8);
    for _ in 0..iterations {
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .expect("mio poll");
        for e in events.iter() {
            if e.token() == KILL {
                watch.on_readable();
            }
        }
        let seen = watch.poll(0).map(|k| {
            assert_eq!(k.reason, ReasonCode::KillFile);
            k.path_index
        });
        if done(watch, seen) {
            return true;
        }
    }
    false
}

#[test]
fn inotify_sees_a_kill_file_appear_and_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = tempfile::tempdir().expect("tempdir");
    let paths = vec![dir.path().join("KILL"), other.path().join("obi.stop")];
    let mut watch = KillWatch::new(&paths, &KillConfig::default()).expect("watch");
    assert!(watch.uses_inotify());
    let mut poll = Poll::new().expect("poll");
    watch.register(poll.registry(), KILL).expect("register");
    assert_eq!(watch.poll(0), None);
    assert!(!watch.is_present());

    // Unrelated files in the watched directory wake us up but do not count.
    std::fs::write(dir.path().join("journal.obij"), b"x").expect("write");
    assert!(!run_until(&mut poll, &mut watch, 5, |_, seen| seen.is_some()));

    std::fs::write(&paths[1], b"").expect("create");
    assert!(
        run_until(&mut poll, &mut watch, 200, |_, seen| seen == Some(1)),
        "inotify reported the extra kill file"
    );
    assert!(watch.is_present());
    // Reported once, not on every poll.
    assert_eq!(watch.poll(0), None);

    std::fs::remove_file(&paths[1]).expect("remove");
    assert!(
        run_until(&mut poll, &mut watch, 200, |w, _| !w.is_present()),
        "removal cleared is_present"
    );

    // Moved into place (as `mv tmp KILL` does) counts too, and again after a removal.
    let tmp = dir.path().join("KILL.tmp");
    std::fs::write(&tmp, b"").expect("write tmp");
    std::fs::rename(&tmp, &paths[0]).expect("rename");
    assert!(run_until(&mut poll, &mut watch, 200, |_, seen| seen == Some(0)));
    watch.deregister(poll.registry()).expect("deregister");
}

#[test]
fn a_kill_file_present_at_start_is_reported_by_the_first_poll() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("KILL");
    std::fs::write(&path, b"").expect("create");
    for use_inotify in [true, false] {
        let cfg = KillConfig {
            use_inotify,
            ..KillConfig::default()
        };
        let mut watch = KillWatch::new(std::slice::from_ref(&path), &cfg).expect("watch");
        assert!(watch.is_present());
        let k = watch.poll(0).expect("reported");
        assert_eq!(watch.path(k.path_index), Some(path.as_path()));
    }
}

#[test]
fn without_inotify_the_timed_check_finds_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("KILL");
    let cfg = KillConfig {
        use_inotify: false,
        check_interval_ms: 250,
        ..KillConfig::default()
    };
    let mut watch = KillWatch::new(std::slice::from_ref(&path), &cfg).expect("watch");
    assert!(!watch.uses_inotify() && watch.fd().is_none());
    assert_eq!(watch.poll(0), None); // first check at 0; next due at 250 ms
    std::fs::write(&path, b"").expect("create");
    assert_eq!(
        watch.poll(100 * MS),
        None,
        "not due yet: no stat on every tick"
    );
    assert_eq!(watch.poll(249 * MS), None);
    assert!(watch.poll(250 * MS).is_some());
    std::fs::remove_file(&path).expect("remove");
    assert_eq!(watch.poll(300 * MS), None);
    assert!(watch.is_present(), "not checked yet");
    assert_eq!(watch.poll(500 * MS), None);
    assert!(!watch.is_present());
    // Registering without inotify is a no-op.
    let poll = Poll::new().expect("poll");
    watch.register(poll.registry(), KILL).expect("no-op");
}

#[test]
fn with_inotify_a_backstop_check_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("KILL");
    let cfg = KillConfig {
        backstop_interval_ms: 1_000,
        ..KillConfig::default()
    };
    let mut watch = KillWatch::new(std::slice::from_ref(&path), &cfg).expect("watch");
    assert_eq!(watch.poll(0), None);
    // Not registered anywhere, and on_readable never called: only the backstop sees it.
    std::fs::write(&path, b"").expect("create");
    assert_eq!(watch.poll(999 * MS), None);
    assert!(watch.poll(1_000 * MS).is_some());
}

#[test]
fn a_kill_path_in_a_missing_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("no-such-dir").join("KILL");
    let err = KillWatch::new(&[path], &KillConfig::default()).expect_err("refused");
    assert!(matches!(err, KillError::MissingDirectory(_)), "{err}");
    assert!(err.to_string().contains("no-such-dir"));
}
