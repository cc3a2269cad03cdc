//! Scheduled backups in `serve`: daily at `backup.at` (local time) or every
//! `backup.interval_mins`. Each run happens on a blocking thread so the poll loop and the
//! HTTP server never wait on disk; its outcome feeds health, metrics and alerts.

use std::time::Duration;

use chrono::{Local, NaiveDateTime, TimeDelta};
use tokio::sync::watch;

use crate::config::BackupSchedule;
use crate::state::AppState;

/// Time from `now_local` to the next run.
///
/// ```
/// use chrono::{NaiveDate, NaiveTime};
/// use obi_agent::config::BackupSchedule;
/// use obi_agent::tasks::backup_schedule::until_next;
/// let now = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(2, 30, 0).unwrap();
/// let at3 = BackupSchedule::DailyAt(NaiveTime::from_hms_opt(3, 0, 0).unwrap());
/// assert_eq!(until_next(at3, now).as_secs(), 30 * 60);
/// let at2 = BackupSchedule::DailyAt(NaiveTime::from_hms_opt(2, 0, 0).unwrap());
/// assert_eq!(until_next(at2, now).as_secs(), 23 * 3600 + 30 * 60);
/// ```
#[must_use]
pub fn until_next(schedule: BackupSchedule, now_local: NaiveDateTime) -> Duration {
    match schedule {
        BackupSchedule::Every(d) => d,
        BackupSchedule::DailyAt(at) => {
            let today = now_local.date().and_time(at);
            let next = if today > now_local {
                today
            } else {
                today + TimeDelta::days(1)
            };
            (next - now_local)
                .to_std()
                .unwrap_or(Duration::from_secs(60))
        }
    }
}

/// Runs until `shutdown` turns true (returns at once when backups are disabled).
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    if !state.config().backup.enabled {
        return;
    }
    loop {
        let wait = until_next(state.config().backup.schedule, Local::now().naive_local());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let config = state.config().clone();
        let joined = tokio::task::spawn_blocking(move || {
            crate::backup::run_once(&config, chrono::Utc::now())
        })
        .await;
        match joined {
            Ok((Ok(outcome), status)) => {
                tracing::info!(
                    archive = %outcome.archive.display(),
                    files = outcome.files,
                    bytes = outcome.archive_bytes,
                    "scheduled backup written and verified"
                );
                state.set_backup_status(status);
            }
            Ok((Err(e), status)) => {
                tracing::error!(error = %e, "scheduled backup failed");
                state.set_backup_status(status);
            }
            Err(e) => tracing::error!(error = %e, "backup task panicked"),
        }
    }
}
