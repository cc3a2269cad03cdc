//! A read-only look at a state directory: its journal and checkpoint are copied into a
//! private temp directory and recovered there with the journal's own recovery, so a torn
//! tail is cut (or a temp checkpoint removed) in the copy, never in the state directory.

use crate::journal::{Journal, JournalState, Record, StatePaths, TailStatus, recover_files};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// What the state directory holds.
#[derive(Debug)]
pub struct Snapshot {
    /// Checkpoint plus the journal records after it, as the engine would recover them.
    pub state: JournalState,
    /// Every valid journal record, in order.
    pub records: Vec<Record>,
    /// How the journal ended.
    pub tail: TailStatus,
    /// The journal file existed.
    pub has_journal: bool,
}

/// Why a state directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The directory or a file in it cannot be read or copied.
    #[error("{0}")]
    Io(String),
    /// The engine's own recovery refuses the state (damaged journal or checkpoint).
    #[error("{0}")]
    Damaged(String),
}

/// Reads `dir` without modifying it.
pub fn read(dir: &Path) -> Result<Snapshot, SnapshotError> {
    let meta =
        std::fs::metadata(dir).map_err(|e| SnapshotError::Io(format!("{}: {e}", dir.display())))?;
    if !meta.is_dir() {
        return Err(SnapshotError::Io(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let paths = StatePaths::new(dir);
    let scratch = Scratch::new()?;
    let journal = scratch.0.join("journal.obij");
    let checkpoint = scratch.0.join("checkpoint.obic");
    let has_journal = copy_if_present(&paths.journal(), &journal)?;
    copy_if_present(&paths.checkpoint(), &checkpoint)?;
    let recovery =
        recover_files(&checkpoint, &journal).map_err(|e| SnapshotError::Damaged(e.to_string()))?;
    let tail = recovery.tail.clone();
    let state = recovery.state;
    drop(recovery.journal);
    let (_, recovered) =
        Journal::open_for_recovery(&journal).map_err(|e| SnapshotError::Damaged(e.to_string()))?;
    Ok(Snapshot {
        state,
        records: recovered.records,
        tail,
        has_journal,
    })
}

fn copy_if_present(from: &Path, to: &Path) -> Result<bool, SnapshotError> {
    match std::fs::read(from) {
        Ok(bytes) => std::fs::write(to, bytes)
            .map(|()| true)
            .map_err(|e| SnapshotError::Io(format!("cannot copy {}: {e}", from.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(SnapshotError::Io(format!(
            "cannot read {}: {e}",
            from.display()
        ))),
    }
}

/// A private temp directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, SnapshotError> {
        let base = std::env::temp_dir();
        for attempt in 0..100u32 {
            let dir = base.join(format!(
                "obi-gonogo-{}-{}-{attempt}",
                std::process::id(),
                super::clock::now_ns()
            ));
            match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
                Ok(()) => return Ok(Scratch(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(SnapshotError::Io(format!(
                        "cannot create a temp directory in {}: {e}",
                        base.display()
                    )));
                }
            }
        }
        Err(SnapshotError::Io("cannot create a temp directory".into()))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
