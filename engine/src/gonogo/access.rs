//! Who this process is (effective uid, gids from `/proc/self/status`) and whether it may
//! write a directory, judged from permission bits, so nothing has to be created to find out.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The process's effective user and its groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Effective uid.
    pub uid: u32,
    /// Effective gid and the supplementary groups.
    pub gids: Vec<u32>,
}

impl Identity {
    /// This process's identity; `None` when `/proc/self/status` cannot be read.
    pub fn current() -> Option<Identity> {
        let text = std::fs::read_to_string("/proc/self/status").ok()?;
        Identity::parse(&text)
    }

    /// From the text of `/proc/<pid>/status` (`Uid:` real, effective, saved, fs; `Gid:` the
    /// same; `Groups:` supplementary).
    pub fn parse(status: &str) -> Option<Identity> {
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|rest| {
                    rest.split_whitespace()
                        .filter_map(|v| v.parse::<u32>().ok())
                        .collect::<Vec<u32>>()
                })
        };
        let uid = *field("Uid:")?.get(1)?;
        let mut gids = vec![*field("Gid:")?.get(1)?];
        gids.extend(field("Groups:").unwrap_or_default());
        Some(Identity { uid, gids })
    }

    /// Whether the permission bits of `meta` let this identity write (root always may).
    pub fn may_write(&self, meta: &std::fs::Metadata) -> bool {
        let mode = meta.mode();
        if self.uid == 0 {
            return true;
        }
        if meta.uid() == self.uid {
            mode & 0o200 != 0
        } else if self.gids.contains(&meta.gid()) {
            mode & 0o020 != 0
        } else {
            mode & 0o002 != 0
        }
    }

    /// Whether this identity may create and remove entries in directory `dir` (write and
    /// search permission), judged from its bits. `Err` names what is missing.
    pub fn may_write_dir(&self, dir: &Path) -> Result<(), String> {
        let meta = std::fs::metadata(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if !meta.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        let mode = meta.mode();
        let search = self.uid == 0
            || if meta.uid() == self.uid {
                mode & 0o100 != 0
            } else if self.gids.contains(&meta.gid()) {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
        if self.may_write(&meta) && search {
            Ok(())
        } else {
            Err(format!(
                "{} (mode {:04o}, owner uid {}) is not writable by uid {}",
                dir.display(),
                mode & 0o7777,
                meta.uid(),
                self.uid
            ))
        }
    }
}
