//! Personal data: two zones under `<out>`.
//!
//! - `private/` (folders 0700, files 0600): the normalised tables with names
//!   and IDs, the rejects, the feedback workbooks — for the statistician.
//! - `public/`: what BI tools read. Per column, as the pipeline file says:
//!   `privacy = "drop"` (names) is left out, `"hash"` (IDs, card codes) is
//!   replaced by a keyed hash (HMAC-SHA256, hex), `"year"` (birth dates) by
//!   the year. Indicators, breakdowns and the report hold aggregates only and
//!   stay at the top of `<out>`.
//!
//! The key: `TONGHOP_HMAC_KEY` from the environment, or the file named by
//! `[privacy] key_file`, never the config text itself. Without either,
//! tonghop generates one in `<out>/state/hmac.key` (0600) and says so once,
//! so hashes stay stable from run to run.

use crate::pipeline::{Privacy, Table};
use anyhow::{Context, Result};
use hmac::{Hmac, KeyInit, Mac};
use polars::prelude::*;
use rayon::prelude::*;
use sha2::Sha256;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub struct Pseudonymizer {
    /// Keyed once; each value hashes a clone (saves hashing the key per value).
    mac: Hmac<Sha256>,
}

/// Where the key came from, for the one-time notice.
pub enum KeySource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
    Existing(PathBuf),
}

impl Pseudonymizer {
    pub fn with_key(key: &[u8]) -> Pseudonymizer {
        Pseudonymizer {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// Find or make the key (see the module doc).
    pub fn load(key_file: Option<&Path>, out: &Path) -> Result<(Pseudonymizer, KeySource)> {
        if let Ok(k) = std::env::var("TONGHOP_HMAC_KEY")
            && !k.trim().is_empty()
        {
            return Ok((
                Pseudonymizer::with_key(k.trim().as_bytes()),
                KeySource::Environment,
            ));
        }
        if let Some(f) = key_file {
            let k = std::fs::read(f)
                .with_context(|| format!("cannot read the HMAC key file {}", f.display()))?;
            let k = String::from_utf8_lossy(&k).trim().as_bytes().to_vec();
            anyhow::ensure!(
                k.len() >= 16,
                "{}: the HMAC key must have at least 16 bytes",
                f.display()
            );
            return Ok((
                Pseudonymizer::with_key(&k),
                KeySource::File(f.to_path_buf()),
            ));
        }
        let path = out.join("state").join("hmac.key");
        if let Ok(k) = std::fs::read(&path) {
            return Ok((
                Pseudonymizer::with_key(String::from_utf8_lossy(&k).trim().as_bytes()),
                KeySource::Existing(path),
            ));
        }
        let mut raw = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut raw))
            .context("cannot read /dev/urandom for a new HMAC key")?;
        let hex = crate::pipeline::hex_digest(&raw);
        std::fs::create_dir_all(path.parent().expect("state folder"))?;
        std::fs::write(&path, &hex).with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok((
            Pseudonymizer::with_key(hex.as_bytes()),
            KeySource::Generated(path),
        ))
    }

    /// HMAC-SHA256 of `value`, hex.
    pub fn hash(&self, value: &str) -> String {
        let hex = self.hash_hex(value);
        String::from_utf8_lossy(&hex).into_owned()
    }

    /// HMAC-SHA256 of `value` as 64 lower-case hex digits, without allocating.
    pub fn hash_hex(&self, value: &str) -> [u8; 64] {
        let mut mac = self.mac.clone();
        mac.update(value.as_bytes());
        let mut out = [0u8; 64];
        crate::pipeline::hex_into(&mac.finalize().into_bytes(), &mut out);
        out
    }
}

/// The public version of a normalised table.
pub fn public_frame(table: &Table, df: &DataFrame, p: &Pseudonymizer) -> PolarsResult<DataFrame> {
    let mut cols: Vec<Column> = Vec::with_capacity(df.width());
    for c in df.columns() {
        let privacy = table
            .columns
            .iter()
            .find(|x| x.name == c.name().as_str())
            .map_or(Privacy::Keep, |x| x.privacy);
        match privacy {
            Privacy::Keep => cols.push(c.clone()),
            Privacy::Drop => {}
            Privacy::Hash => {
                let s = c.cast(&DataType::String)?;
                let values: Vec<Option<&str>> = s.str()?.iter().collect();
                let hashed: Vec<Option<[u8; 64]>> = values
                    .par_iter()
                    .with_min_len(4096)
                    .map(|v| v.map(|v| p.hash_hex(v)))
                    .collect();
                let ca = StringChunked::from_iter_options(
                    c.name().clone(),
                    hashed
                        .iter()
                        .map(|h| h.as_ref().and_then(|b| std::str::from_utf8(b).ok())),
                );
                cols.push(ca.into_series().into());
            }
            Privacy::Year => {
                let years: Vec<Option<i32>> = c
                    .date()?
                    .as_date_iter()
                    .map(|d| d.map(|d| chrono::Datelike::year(&d)))
                    .collect();
                cols.push(Series::new(format!("{}_year", c.name()).into(), years).into());
            }
        }
    }
    DataFrame::new(df.height(), cols)
}

/// Folders 0700 and files 0600 under `dir`.
pub fn restrict(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    for e in std::fs::read_dir(dir)?.flatten() {
        let p = e.path();
        if p.is_dir() {
            restrict(&p)?;
        } else {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2.
        let p = Pseudonymizer::with_key(b"Jefe");
        assert_eq!(
            p.hash("what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
