//! Check: the API key is set and the secret is present, owner-only and parses. Only names,
//! paths, modes and the key's short hint are ever shown; never secret material.

use super::Env;
use super::access::Identity;
use super::verdict::Check;
use crate::config::VenueConfig;
use crate::venue::keys::Credentials;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

const ID: &str = "keys";

/// Loads the credentials as the engine would (for the venue checks).
pub fn load(venue: &VenueConfig, env: Env<'_>) -> Result<Credentials, String> {
    Credentials::load_with(&venue.key_source(), env).map_err(|e| e.to_string())
}

/// Keys present, the secret file owner-only and owned by `who`, and the key parses.
pub fn check(config: &VenueConfig, env: Env<'_>, who: Option<&Identity>) -> Check {
    let venue = &config.section;
    let from_env = env(&venue.secret_env).is_some();
    let mut source = format!("secret from ${}", venue.secret_env);
    let mut odd_mode = None;
    match (&venue.secret_file, from_env) {
        (Some(file), false) => match secret_file(file, who) {
            Ok(FileFacts { mode, uid }) => {
                source = format!(
                    "secret from {} (mode {mode:04o}, uid {uid})",
                    file.display()
                );
                if mode != 0o600 && mode != 0o400 {
                    odd_mode = Some(mode);
                }
            }
            Err(why) => return Check::fail(ID, why),
        },
        (Some(file), true) => {
            source.push_str(&format!(" ({} not used while it is set)", file.display()));
        }
        (None, _) => {}
    }
    let creds = match load(config, env) {
        Ok(c) => c,
        Err(e) => return Check::fail(ID, e),
    };
    let text = format!("{creds} from ${}; {source}", venue.api_key_env);
    match (odd_mode, who) {
        (Some(mode), _) => Check::warn(
            ID,
            format!("{text}; mode {mode:04o} is owner-only but unusual: chmod 600"),
        ),
        (None, None) => Check::warn(
            ID,
            format!("{text}; the running uid is unknown, so the file's owner was not compared"),
        ),
        (None, Some(_)) => Check::pass(ID, text),
    }
}

struct FileFacts {
    mode: u32,
    uid: u32,
}

/// The secret file is a regular file (not a symlink), owner-only, owner-readable and
/// owned by the running user.
fn secret_file(path: &Path, who: Option<&Identity>) -> Result<FileFacts, String> {
    let shown = path.display();
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| format!("secret file {shown} cannot be read: {e}"))?;
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        return Err(format!(
            "secret file {shown} is a symlink (to {target}); point secret_file at the file itself"
        ));
    }
    if !meta.is_file() {
        return Err(format!("secret file {shown} is not a regular file"));
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "secret file {shown} has mode {mode:04o}: group or others can access it (chmod 600 {shown})"
        ));
    }
    if mode & 0o400 == 0 {
        return Err(format!(
            "secret file {shown} has mode {mode:04o}: its owner cannot read it"
        ));
    }
    if let Some(who) = who
        && meta.uid() != who.uid
    {
        return Err(format!(
            "secret file {shown} is owned by uid {}, but the check runs as uid {} (the engine's user must own it)",
            meta.uid(),
            who.uid
        ));
    }
    Ok(FileFacts {
        mode,
        uid: meta.uid(),
    })
}
