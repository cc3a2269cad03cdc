//! The journal: an append-only, checksummed record of every order event, fill, breaker
//! trip and operator action, written by a cold thread fed through a ring; the checkpoint
//! that summarizes it; and startup recovery from both (issue 5). File format:
//! `FORMAT.md` beside this file.
//!
//! Core thread: [`JournalSender::push`] (no allocation, no blocking, a full ring is counted).
//! Startup: [`recover`] → [`Recovery::start_writer`]. Shutdown: [`JournalWriter::finish`].

pub mod checkpoint;
mod codec;
mod config;
mod error;
mod file;
mod record;
mod recovery;
mod state;
mod writer;

pub use checkpoint::{CHECKPOINT_VERSION, CheckpointError, LoadedCheckpoint};
pub use codec::{DecodeError, MAX_RECORD_BYTES, RECORD_VERSION, decode, encode};
pub use config::JournalConfig;
pub use error::JournalError;
pub use file::{FILE_HEADER, Journal, Recovered, TailStatus};
pub use record::{Anchors, OPERATOR_TEXT_MAX, OperatorAction, Record, RecordBody, ShortText};
pub use recovery::{Recovery, RecoveryError, StatePaths, recover, recover_files};
pub use state::{
    InstrumentState, JournalState, LatchState, OpenOrder, OrderSide, RestorePlan, UnreconciledRun,
};
pub use writer::{Full, JournalSender, JournalWriter, WriterSummary};
