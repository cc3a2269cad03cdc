//! Journal settings: deserialized with unknown keys rejected, then validated.

/// Largest accepted `ring_capacity` (entries are ~100 bytes each).
pub const MAX_RING_CAPACITY: usize = 1 << 22;

/// How the journal is written. Every field has a default; [`JournalConfig::validate`]
/// must pass before use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Records the core thread can queue ahead of the writer. A full ring refuses the
    /// record (counted; the core should trip `journal_unavailable`). Default 65536.
    pub ring_capacity: usize,
    /// Longest time appended records stay unsynced, ms: the writer `fdatasync`s at most
    /// this often while records arrive, at once for a durable record, and on shutdown.
    /// Default 20.
    pub fsync_interval_ms: u64,
    /// Writer sleep when the ring is empty, µs (bounds the added latency of a durable
    /// record). Default 500.
    pub idle_sleep_us: u64,
    /// Checkpoint at most this often while records arrive, ms (and always on shutdown).
    /// Default 5000.
    pub checkpoint_interval_ms: u64,
}

impl Default for JournalConfig {
    fn default() -> JournalConfig {
        JournalConfig {
            ring_capacity: 65_536,
            fsync_interval_ms: 20,
            idle_sleep_us: 500,
            checkpoint_interval_ms: 5_000,
        }
    }
}

impl JournalConfig {
    /// Checks the values are usable; the error names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.ring_capacity < 16 || self.ring_capacity > MAX_RING_CAPACITY {
            return Err(format!(
                "journal.ring_capacity must be in 16..={MAX_RING_CAPACITY}, got {}",
                self.ring_capacity
            ));
        }
        if self.fsync_interval_ms > 10_000 {
            return Err(format!(
                "journal.fsync_interval_ms must be at most 10000, got {}",
                self.fsync_interval_ms
            ));
        }
        if self.idle_sleep_us == 0 || self.idle_sleep_us > 100_000 {
            return Err(format!(
                "journal.idle_sleep_us must be in 1..=100000, got {}",
                self.idle_sleep_us
            ));
        }
        if self.checkpoint_interval_ms < 100 {
            return Err(format!(
                "journal.checkpoint_interval_ms must be at least 100, got {}",
                self.checkpoint_interval_ms
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_unknown_keys_rejected() {
        assert_eq!(JournalConfig::default().validate(), Ok(()));
        let c: JournalConfig =
            serde_json::from_str(r#"{"fsync_interval_ms": 5}"#).expect("valid json");
        assert_eq!((c.fsync_interval_ms, c.ring_capacity), (5, 65_536));
        assert!(serde_json::from_str::<JournalConfig>(r#"{"fsync_ms": 5}"#).is_err());
        let bad = JournalConfig {
            ring_capacity: 1,
            ..JournalConfig::default()
        };
        assert!(
            bad.validate()
                .err()
                .unwrap_or_default()
                .contains("ring_capacity")
        );
    }
}
