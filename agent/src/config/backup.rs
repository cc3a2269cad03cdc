//! `[backup]` validated: target directory, schedule, inputs and retention.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveTime;

use super::alerts::parse_hh_mm;
use super::raw::RawBackup;
use super::{ConfigError, non_empty, positive};
use crate::backup::retention::Retention;

/// When scheduled backups run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackupSchedule {
    /// Once a day at this local time.
    DailyAt(NaiveTime),
    /// Every interval, starting one interval after the agent starts.
    Every(Duration),
}

/// Validated `[backup]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupConfig {
    /// Scheduled backups in `serve`.
    pub enabled: bool,
    /// Directory archives are written to.
    pub dir: PathBuf,
    /// When scheduled backups run.
    pub schedule: BackupSchedule,
    /// A last success older than this is "too old".
    pub max_age: Duration,
    /// Engine config archived under `config/`.
    pub engine_config: Option<PathBuf>,
    /// Parameter files archived under `params/`.
    pub param_files: Vec<PathBuf>,
    /// Generations kept.
    pub retention: Retention,
}

impl BackupConfig {
    /// Validates the raw section.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key.
    pub fn validate(raw: RawBackup, state_dir: &Path) -> Result<Self, ConfigError> {
        let dir = raw.dir.unwrap_or_else(|| PathBuf::from("backups"));
        non_empty("backup.dir", &dir)?;
        if dir == state_dir {
            return Err(ConfigError::Invalid {
                key: "backup.dir",
                reason: "must not be the state dir itself".to_string(),
            });
        }
        let schedule = match (raw.interval_mins, raw.at) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Invalid {
                    key: "backup.interval_mins",
                    reason: "set either backup.at or backup.interval_mins, not both".to_string(),
                });
            }
            (Some(mins), None) => {
                positive("backup.interval_mins", mins)?;
                BackupSchedule::Every(Duration::from_secs(mins.saturating_mul(60)))
            }
            (None, at) => {
                BackupSchedule::DailyAt(parse_hh_mm("backup.at", at.as_deref().unwrap_or("03:00"))?)
            }
        };
        let max_age_hours = raw.max_age_hours.unwrap_or(26);
        positive("backup.max_age_hours", max_age_hours)?;
        for p in &raw.param_files {
            non_empty("backup.param_files", p)?;
        }
        let retention = Retention {
            daily: raw.keep_daily.unwrap_or(30),
            weekly: raw.keep_weekly.unwrap_or(12),
            monthly: raw.keep_monthly.unwrap_or(12),
            yearly: raw.keep_yearly.unwrap_or(7),
        };
        if retention.daily + retention.weekly + retention.monthly + retention.yearly == 0 {
            return Err(ConfigError::Invalid {
                key: "backup.keep_daily",
                reason: "every keep_* is 0: retention would delete every backup".to_string(),
            });
        }
        Ok(Self {
            enabled: raw.enabled.unwrap_or(true),
            dir,
            schedule,
            max_age: Duration::from_secs(max_age_hours.saturating_mul(3_600)),
            engine_config: raw.engine_config,
            param_files: raw.param_files,
            retention,
        })
    }
}
