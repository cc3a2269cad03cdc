//! Backups: archive + manifest, a one-byte corruption fails verification loudly with the
//! file named, backup → restore gives a byte-identical state dir, restore is refused while
//! a (fake) engine is live, and retention over two simulated years of daily backups keeps
//! exactly the set computed here independently.
// Test helpers: a failing unwrap is a failing test, as clippy.toml allows inside #[test] fns.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{Datelike, NaiveDate, TimeDelta, TimeZone, Utc};
use obi_agent::backup::catalog::{archive_name, sidecar};
use obi_agent::backup::create::{BackupInputs, create};
use obi_agent::backup::error::BackupError;
use obi_agent::backup::extract::verify;
use obi_agent::backup::prune::prune;
use obi_agent::backup::restore::restore;
use obi_agent::backup::retention::Retention;
use obi_agent::engine::unix_now_ns;
use obi_shm::{StatsWriter, WriterInfo};

/// A state dir with a journal, a checkpoint, a kill file and a nested file with binary data.
fn fill_state(dir: &Path) {
    std::fs::create_dir_all(dir.join("journal")).unwrap();
    std::fs::write(dir.join("checkpoint.json"), b"{\"position_lots\":3}\n").unwrap();
    let journal: Vec<u8> = (0..50_000_u32)
        .flat_map(|i| (i * 7919).to_le_bytes())
        .collect();
    std::fs::write(dir.join("journal").join("000001.log"), &journal).unwrap();
    std::fs::write(dir.join("KILL"), b"reason=test\n").unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

struct Setup {
    _tmp: tempfile::TempDir,
    state: PathBuf,
    backups: PathBuf,
    shm: PathBuf,
    inputs: BackupInputs,
}

fn setup() -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    fill_state(&state);
    let engine_toml = tmp.path().join("engine.toml");
    std::fs::write(&engine_toml, "[engine]\n").unwrap();
    let params = tmp.path().join("strategy-params.toml");
    std::fs::write(&params, "threshold = 0.3\n").unwrap();
    let inputs = BackupInputs {
        state_dir: state.clone(),
        exclude: vec![],
        config_files: vec![engine_toml],
        param_files: vec![params],
    };
    Setup {
        backups: tmp.path().join("backups"),
        shm: tmp.path().join("obi.stats"),
        state,
        inputs,
        _tmp: tmp,
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
}

#[test]
fn archive_has_manifest_and_verifies() {
    let s = setup();
    let out = create(&s.inputs, &s.backups, now()).unwrap();
    assert_eq!(
        out.archive.file_name().unwrap(),
        "obi-backup-20261123T030000Z.tar.zst"
    );
    assert!(sidecar(&out.archive).exists());
    let found = verify(&out.archive).unwrap();
    assert!(found.archive_checksum_checked);
    let names: Vec<&str> = found.manifest.files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "config/engine.toml",
            "params/strategy-params.toml",
            "state/KILL",
            "state/checkpoint.json",
            "state/empty",
            "state/journal/000001.log",
        ]
    );
    // No temp or staging files are left in the backup dir.
    let left: Vec<String> = std::fs::read_dir(&s.backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    // A second backup in the same second refuses to overwrite.
    assert!(matches!(
        create(&s.inputs, &s.backups, now()),
        Err(BackupError::Exists(_))
    ));
}

#[test]
fn one_corrupted_byte_fails_verification_loudly() {
    let s = setup();
    let archive = create(&s.inputs, &s.backups, now()).unwrap().archive;
    let mut bytes = std::fs::read(&archive).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&archive, &bytes).unwrap();

    // With the .sha256 beside it: the archive checksum names the archive.
    let err = verify(&archive).unwrap_err();
    assert!(matches!(err, BackupError::ArchiveChecksum { .. }), "{err}");
    assert!(err.to_string().contains("CHECKSUM MISMATCH"), "{err}");
    assert!(
        err.to_string()
            .contains("obi-backup-20261123T030000Z.tar.zst"),
        "{err}"
    );

    // Without it: zstd's frame checksum or the tar/manifest checks still catch it.
    std::fs::remove_file(sidecar(&archive)).unwrap();
    let err = verify(&archive).unwrap_err();
    assert!(
        matches!(
            err,
            BackupError::Corrupt { .. }
                | BackupError::FileChecksum { .. }
                | BackupError::BadManifest { .. }
        ),
        "{err}"
    );

    // The CLI says so and exits non-zero.
    let out = Command::new(env!("CARGO_BIN_EXE_obi-agent"))
        .args(["backup", "verify"])
        .arg(&archive)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("VERIFY FAILED"), "{stderr}");
    assert!(
        stderr.contains("obi-backup-20261123T030000Z.tar.zst"),
        "{stderr}"
    );
}

/// An archive whose content does not match its manifest (as a corrupted disk block inside
/// an otherwise valid archive would look): the file is named.
#[test]
fn content_not_matching_the_manifest_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join(archive_name(now()));
    let manifest = format!("{}  state/checkpoint.json\n", "0".repeat(64));
    let file = std::fs::File::create(&archive).unwrap();
    let enc = zstd::Encoder::new(file, 3).unwrap();
    let mut tar = tar::Builder::new(enc);
    for (name, data) in [
        ("MANIFEST.sha256", manifest.as_bytes()),
        ("state/checkpoint.json", b"{}\n".as_slice()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o600);
        h.set_cksum();
        tar.append_data(&mut h, name, data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
    let err = verify(&archive).unwrap_err();
    assert!(matches!(err, BackupError::FileChecksum { .. }), "{err}");
    assert!(err.to_string().contains("state/checkpoint.json"), "{err}");
}

#[test]
fn backup_then_restore_is_byte_identical() {
    let s = setup();
    let before = read_tree(&s.state);
    let archive = create(&s.inputs, &s.backups, now()).unwrap().archive;
    // The state changes (and a file is lost) after the backup.
    std::fs::write(s.state.join("checkpoint.json"), b"garbage").unwrap();
    std::fs::remove_file(s.state.join("journal").join("000001.log")).unwrap();
    std::fs::write(s.state.join("new-file"), b"x").unwrap();

    let out = restore(&archive, &s.state, &s.shm, 2_000, now()).unwrap();
    assert_eq!(read_tree(&s.state), before);
    assert_eq!(out.state_files, 4);
    let previous = out.previous.unwrap();
    assert_eq!(
        std::fs::read(previous.join("checkpoint.json")).unwrap(),
        b"garbage"
    );
    assert!(out.extras.join("config").join("engine.toml").exists());
    assert!(
        out.extras
            .join("params")
            .join("strategy-params.toml")
            .exists()
    );
}

#[test]
fn restore_is_refused_while_the_engine_is_live() {
    let s = setup();
    let archive = create(&s.inputs, &s.backups, now()).unwrap().archive;
    std::fs::write(s.state.join("checkpoint.json"), b"live engine state").unwrap();
    let before = read_tree(&s.state);

    let now_ns = unix_now_ns();
    let info = WriterInfo {
        pid: std::process::id(),
        start_unix_ns: now_ns,
        instruments: &["ETHUSDT"],
    };
    let mut engine = StatsWriter::create(&s.shm, &info).unwrap();
    engine.heartbeat(now_ns);
    let err = restore(&archive, &s.state, &s.shm, 2_000, now()).unwrap_err();
    assert!(matches!(err, BackupError::EngineRunning(_)), "{err}");
    assert!(err.to_string().contains("heartbeat"), "{err}");
    assert_eq!(read_tree(&s.state), before, "state dir must be untouched");

    // Stale heartbeat and a pid that does not exist: the engine is gone, restore proceeds.
    drop(engine);
    let info = WriterInfo {
        pid: 0x3fff_fff0,
        start_unix_ns: 1,
        instruments: &["ETHUSDT"],
    };
    let mut dead = StatsWriter::create(&s.shm, &info).unwrap();
    dead.heartbeat(now_ns - 60_000_000_000);
    restore(&archive, &s.state, &s.shm, 2_000, now()).unwrap();
    assert_eq!(
        std::fs::read(s.state.join("checkpoint.json")).unwrap(),
        b"{\"position_lots\":3}\n"
    );
}

/// Two years of daily backups at 03:00, 2025-01-01 ..= 2026-12-31, default policy.
#[test]
fn retention_over_two_years_keeps_exactly_the_expected_set() {
    let tmp = tempfile::tempdir().unwrap();
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let mut days = Vec::new();
    let mut d = first;
    while d <= last {
        days.push(d);
        d += TimeDelta::days(1);
    }
    assert_eq!(days.len(), 730);
    for day in &days {
        let t = day.and_hms_opt(3, 0, 0).unwrap().and_utc();
        let p = tmp.path().join(archive_name(t));
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(sidecar(&p), b"x").unwrap();
    }
    std::fs::write(tmp.path().join("unrelated.txt"), b"keep me").unwrap();

    // Expected, by counting: walk the days newest first and keep a day when it is the first
    // (newest) seen of its day / Monday-started week / month / year, while fewer than N of
    // that kind have been kept.
    let mut expected = BTreeSet::new();
    let (mut n_day, mut n_week, mut n_month, mut n_year) = (0, 0, 0, 0);
    let (mut weeks, mut months, mut years) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for day in days.iter().rev() {
        let monday = *day - TimeDelta::days(i64::from(day.weekday().num_days_from_monday()));
        let mut keep = false;
        if n_day < 30 {
            n_day += 1;
            keep = true;
        }
        if n_week < 12 && weeks.insert(monday) {
            n_week += 1;
            keep = true;
        }
        if n_month < 12 && months.insert(format!("{}-{:02}", day.year(), day.month())) {
            n_month += 1;
            keep = true;
        }
        if n_year < 7 && years.insert(day.year()) {
            n_year += 1;
            keep = true;
        }
        if keep {
            expected.insert(*day);
        }
    }
    // Spot-check the shape: the oldest kept is 2025-12-31 (the yearly of 2025).
    assert_eq!(
        expected.first(),
        Some(&NaiveDate::from_ymd_opt(2025, 12, 31).unwrap())
    );

    let policy = Retention {
        daily: 30,
        weekly: 12,
        monthly: 12,
        yearly: 7,
    };
    let removed = prune(tmp.path(), &policy).unwrap();
    assert_eq!(removed.len(), 730 - expected.len());
    let mut left_archives = BTreeSet::new();
    let mut left_sidecars = 0;
    for e in std::fs::read_dir(tmp.path()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        if name.ends_with(".sha256") {
            left_sidecars += 1;
        } else if let Some(t) = obi_agent::backup::catalog::parse_name(&name) {
            left_archives.insert(t.date_naive());
        } else {
            assert_eq!(name, "unrelated.txt");
        }
    }
    assert_eq!(left_archives, expected);
    assert_eq!(left_sidecars, expected.len());
    // Pruning again changes nothing.
    assert!(prune(tmp.path(), &policy).unwrap().is_empty());
}

#[test]
fn cli_backup_then_verify_latest() {
    let env = common::Env::new();
    fill_state(&env.state_dir);
    let backups = env.dir.path().join("backups");
    let cfg = env.dir.path().join("agent.toml");
    std::fs::write(
        &cfg,
        format!(
            "{}\n[backup]\ndir = {:?}\n",
            env.config_toml(""),
            backups.display().to_string()
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_obi-agent"))
            .args(args)
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["backup"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("backup ok"), "{stdout}");
    let out = run(&["backup", "verify", "--latest"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Four state files + the agent config itself.
    assert!(stdout.contains("5 files match the manifest"), "{stdout}");
    let status = obi_agent::backup::status::BackupStatus::load(&backups);
    assert_eq!(status.last_attempt_ok, Some(true));
}
