//! Startup recovery: load the checkpoint, replay the journal records after it, and hand
//! back the state (positions, PnL, open orders, anchors, latch) plus the journal, ready
//! for the writer thread.

use super::checkpoint::{self, CheckpointError};
use super::config::JournalConfig;
use super::error::JournalError;
use super::file::{Journal, TailStatus};
use super::state::JournalState;
use super::writer::{JournalSender, JournalWriter};
use crate::safety::ReasonCode;
use std::path::{Path, PathBuf};

/// File names under the state directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatePaths {
    /// The state directory.
    pub dir: PathBuf,
}

impl StatePaths {
    /// Paths under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> StatePaths {
        StatePaths { dir: dir.into() }
    }
    /// `<dir>/journal.obij`.
    pub fn journal(&self) -> PathBuf {
        self.dir.join("journal.obij")
    }
    /// `<dir>/checkpoint.obic`.
    pub fn checkpoint(&self) -> PathBuf {
        self.dir.join("checkpoint.obic")
    }
    /// `<dir>/KILL`, the default kill file.
    pub fn kill_file(&self) -> PathBuf {
        self.dir.join("KILL")
    }
}

/// Why local state cannot be recovered. Start halted (or refuse to start) with
/// [`RecoveryError::reason_code`] and show the message to the operator.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The checkpoint is damaged or unreadable.
    #[error("{0}")]
    Checkpoint(#[from] CheckpointError),
    /// The journal is damaged in the middle or unreadable.
    #[error("{0}")]
    Journal(#[from] JournalError),
    /// The checkpoint includes records the journal does not have: the journal lost data
    /// (or belongs to another state directory).
    #[error(
        "the checkpoint includes journal records up to {checkpoint_seq}, but the journal ends \
         at {journal_last_seq}: the journal lost records or is not this checkpoint's"
    )]
    JournalBehindCheckpoint {
        /// Last sequence number in the checkpoint.
        checkpoint_seq: u64,
        /// Last sequence number in the journal.
        journal_last_seq: u64,
    },
    /// The journal's records after the checkpoint do not start right after it.
    #[error(
        "the journal's records after checkpoint seq {checkpoint_seq} start at {first_seq}, \
         not {}: records are missing", checkpoint_seq + 1
    )]
    Gap {
        /// Last sequence number in the checkpoint.
        checkpoint_seq: u64,
        /// First journal sequence number after it.
        first_seq: u64,
    },
}

impl RecoveryError {
    /// The reason code to latch when starting halted because of this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            RecoveryError::Checkpoint(_) => ReasonCode::CheckpointInvalid,
            RecoveryError::Journal(_) => ReasonCode::JournalCorrupt,
            RecoveryError::JournalBehindCheckpoint { .. } | RecoveryError::Gap { .. } => {
                ReasonCode::RecoveryMismatch
            }
        }
    }
}

/// What recovery found: the state and the journal to continue appending to.
#[derive(Debug)]
pub struct Recovery {
    /// Everything the checkpoint and the journal tail imply.
    pub state: JournalState,
    /// The journal, positioned after its last good record.
    pub journal: Journal,
    /// Where the checkpoint file is.
    pub checkpoint_path: PathBuf,
    /// Last sequence number in the loaded checkpoint (`None`: no checkpoint).
    pub checkpoint_seq: Option<u64>,
    /// Journal records replayed on top of the checkpoint.
    pub replayed: u64,
    /// How the journal ended (a torn tail is recovered and reported here).
    pub tail: TailStatus,
    /// A temp file of an interrupted checkpoint write was removed.
    pub removed_temp_checkpoint: bool,
}

impl Recovery {
    /// One paragraph for the operator: what was loaded, replayed and repaired.
    pub fn summary(&self) -> String {
        let ckpt = match self.checkpoint_seq {
            Some(seq) => format!("checkpoint at seq {seq}"),
            None => "no checkpoint".to_string(),
        };
        let mut s = format!(
            "recovered {ckpt} + {} journal records (last seq {}); {}; latch {} ({}); {} open \
             orders known",
            self.replayed,
            self.state.last_seq,
            self.tail,
            self.state.latch.state,
            ReasonCode::name_of(self.state.latch.reason_code),
            self.state.open_orders.len()
        );
        if self.removed_temp_checkpoint {
            s.push_str("; removed the temp file of an interrupted checkpoint write");
        }
        if self.state.orphan_fills > 0 {
            s.push_str(&format!(
                "; {} fills without an instrument record (reconcile before trading)",
                self.state.orphan_fills
            ));
        }
        s
    }

    /// Starts the writer thread continuing this journal and state; returns the core
    /// thread's sender and the owner's handle.
    pub fn start_writer(
        self,
        config: &JournalConfig,
    ) -> std::io::Result<(JournalSender, JournalWriter)> {
        JournalWriter::spawn(self.journal, self.state, Some(self.checkpoint_path), config)
    }
}

/// Recovers the state under `paths`: loads the checkpoint (refusing a damaged one), opens
/// the journal for recovery (cutting a torn tail, refusing a corrupt middle), and folds
/// every journal record after the checkpoint into its state.
pub fn recover(paths: &StatePaths) -> Result<Recovery, RecoveryError> {
    recover_files(&paths.checkpoint(), &paths.journal())
}

/// [`recover`] with explicit file paths.
pub fn recover_files(
    checkpoint_path: &Path,
    journal_path: &Path,
) -> Result<Recovery, RecoveryError> {
    let loaded = checkpoint::load(checkpoint_path)?;
    let (removed_temp_checkpoint, checkpoint_seq, mut state) = match loaded {
        Some(l) => (l.removed_temp, Some(l.state.last_seq), l.state),
        None => (false, None, JournalState::default()),
    };
    let (journal, recovered) = Journal::open_for_recovery(journal_path)?;
    let base = state.last_seq;
    if journal.last_seq() < base {
        return Err(RecoveryError::JournalBehindCheckpoint {
            checkpoint_seq: base,
            journal_last_seq: journal.last_seq(),
        });
    }
    let mut replayed = 0u64;
    let mut tail = recovered.records.iter().filter(|r| r.seq > base).peekable();
    if let Some(first) = tail.peek()
        && first.seq != base + 1
    {
        return Err(RecoveryError::Gap {
            checkpoint_seq: base,
            first_seq: first.seq,
        });
    }
    for record in tail {
        state.apply(record);
        replayed += 1;
    }
    Ok(Recovery {
        state,
        journal,
        checkpoint_path: checkpoint_path.to_path_buf(),
        checkpoint_seq,
        replayed,
        tail: recovered.tail,
        removed_temp_checkpoint,
    })
}
