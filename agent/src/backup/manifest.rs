//! The archive manifest, `MANIFEST.sha256`: the archive's first entry, one
//! `<sha256 hex>  <path>` line per file (the format `sha256sum -c` reads), `#` comments.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Name of the manifest entry, first in every archive.
pub const MANIFEST_NAME: &str = "MANIFEST.sha256";

/// Path inside the archive → hex SHA-256.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Every file.
    pub files: BTreeMap<String, String>,
}

impl Manifest {
    /// The text form, with a header comment.
    #[must_use]
    pub fn render(&self, created_rfc3339: &str) -> String {
        let mut out = format!(
            "# obi-agent backup manifest v1\n# created {created_rfc3339}\n# verify: sha256sum -c {MANIFEST_NAME}\n"
        );
        for (path, hash) in &self.files {
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{hash}  {path}");
        }
        out
    }

    /// Parses the text form.
    ///
    /// # Errors
    /// A message naming the bad line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut files = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (hash, path) = line
                .split_once("  ")
                .ok_or_else(|| format!("line {}: not `<sha256>  <path>`", i + 1))?;
            let hex_ok = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex_ok || path.is_empty() {
                return Err(format!("line {}: not `<sha256>  <path>`", i + 1));
            }
            if files
                .insert(path.to_string(), hash.to_ascii_lowercase())
                .is_some()
            {
                return Err(format!("line {}: {path} listed twice", i + 1));
            }
        }
        Ok(Self { files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Manifest::default();
        m.files.insert("state/a b".into(), "ab".repeat(32));
        let text = m.render("2026-11-23T00:00:00Z");
        assert_eq!(Manifest::parse(&text).unwrap(), m);
        assert!(Manifest::parse("xyz  state/a\n").is_err());
    }
}
