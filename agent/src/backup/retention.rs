//! Grandfather-father-son retention: keep the newest backup of each of the last `daily`
//! days, `weekly` ISO weeks, `monthly` months and `yearly` years that have a backup
//! (calendar buckets in UTC, the time in the archive name). A backup kept by any rule stays.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Utc};

/// A calendar bucket of a time: (year, day/week/month number).
type Bucket = fn(&DateTime<Utc>) -> (i32, u32);

/// How many generations of each kind are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days.
    pub daily: u32,
    /// ISO weeks.
    pub weekly: u32,
    /// Months.
    pub monthly: u32,
    /// Years.
    pub yearly: u32,
}

impl Retention {
    /// Indices into `times` of the backups to keep.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use obi_agent::backup::retention::Retention;
    /// let r = Retention { daily: 1, weekly: 0, monthly: 0, yearly: 0 };
    /// let t = |d| Utc.with_ymd_and_hms(2026, 1, d, 3, 0, 0).unwrap();
    /// assert_eq!(r.keep(&[t(1), t(2)]).into_iter().collect::<Vec<_>>(), vec![1]);
    /// ```
    #[must_use]
    pub fn keep(&self, times: &[DateTime<Utc>]) -> BTreeSet<usize> {
        let mut newest_first: Vec<usize> = (0..times.len()).collect();
        newest_first.sort_by(|&a, &b| times[b].cmp(&times[a]));
        let mut kept = BTreeSet::new();
        let kinds: [(u32, Bucket); 4] = [
            (self.daily, |t| (t.year(), t.ordinal())),
            (self.weekly, |t| {
                let w = t.iso_week();
                (w.year(), w.week())
            }),
            (self.monthly, |t| (t.year(), t.month())),
            (self.yearly, |t| (t.year(), 0)),
        ];
        for (count, bucket) in kinds {
            let mut seen = BTreeSet::new();
            for &i in &newest_first {
                if seen.len() >= count as usize {
                    break;
                }
                if seen.insert(bucket(&times[i])) {
                    kept.insert(i);
                }
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn several_per_day_keep_the_newest() {
        let r = Retention {
            daily: 2,
            weekly: 0,
            monthly: 0,
            yearly: 0,
        };
        let t = |d, h| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
        let times = [t(1, 1), t(1, 5), t(2, 1), t(2, 9), t(3, 0)];
        assert_eq!(r.keep(&times), BTreeSet::from([3, 4]));
    }
}
