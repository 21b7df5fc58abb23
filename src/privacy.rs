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
//! so hashes stay stable from run to run. `run.json` records the key's
//! fingerprint (an HMAC of a fixed text, which does not reveal the key).
//!
//! Modes: a run works under umask 077 (see [`enter_private_umask`]), so
//! everything it creates (cache, parts, temporary files, rejects, feedback)
//! is 0600 in 0700 folders whatever the operator's umask; only the public
//! outputs are opened afterwards ([`open_public`]), with the modes the
//! operator's own umask gives. Folders left looser by an older version are
//! tightened ([`tighten`]).

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

impl KeySource {
    /// Where the key came from, for messages.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Environment => "TONGHOP_HMAC_KEY".to_string(),
            KeySource::File(p) | KeySource::Generated(p) | KeySource::Existing(p) => {
                p.display().to_string()
            }
        }
    }
}

impl Pseudonymizer {
    pub fn with_key(key: &[u8]) -> Pseudonymizer {
        Pseudonymizer {
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length"),
        }
    }

    /// Find the key, or make one when `may_generate` (see the module doc);
    /// `None`: there is none and none may be made.
    pub fn load(
        key_file: Option<&Path>,
        out: &Path,
        may_generate: bool,
    ) -> Result<Option<(Pseudonymizer, KeySource)>> {
        if let Ok(k) = std::env::var("TONGHOP_HMAC_KEY")
            && !k.trim().is_empty()
        {
            return Ok(Some((
                Pseudonymizer::with_key(k.trim().as_bytes()),
                KeySource::Environment,
            )));
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
            return Ok(Some((
                Pseudonymizer::with_key(&k),
                KeySource::File(f.to_path_buf()),
            )));
        }
        let path = out.join("state").join("hmac.key");
        if let Ok(k) = std::fs::read(&path) {
            return Ok(Some((
                Pseudonymizer::with_key(String::from_utf8_lossy(&k).trim().as_bytes()),
                KeySource::Existing(path),
            )));
        }
        if !may_generate {
            return Ok(None);
        }
        let mut raw = [0u8; 32];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut raw))
            .context("cannot read /dev/urandom for a new HMAC key")?;
        let hex = crate::pipeline::hex_digest(&raw);
        let state = path.parent().expect("state folder");
        std::fs::create_dir_all(state)
            .with_context(|| format!("cannot create {}", state.display()))?;
        std::fs::set_permissions(state, std::fs::Permissions::from_mode(0o700))?;
        {
            use std::io::Write as _;
            use std::os::unix::fs::OpenOptionsExt as _;
            // 0600 from the first byte, not chmod-ed after a readable write.
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            f.write_all(hex.as_bytes())
                .and_then(|_| f.sync_all())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        Ok(Some((
            Pseudonymizer::with_key(hex.as_bytes()),
            KeySource::Generated(path),
        )))
    }

    /// Identifies the key without revealing it: 16 hex digits of the HMAC
    /// of a fixed text. Two runs with the same fingerprint hash alike.
    pub fn fingerprint(&self) -> String {
        self.hash("tonghop: key fingerprint")[..16].to_string()
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
    set_tree(dir, 0o700, 0o600, false).map(|_| ())
}

/// Set the modes of `dir` and everything under it (symlinks are left
/// alone); with `only_looser`, only entries that grant more than the given
/// modes are changed. Returns how many entries were changed.
fn set_tree(dir: &Path, dir_mode: u32, file_mode: u32, only_looser: bool) -> Result<usize> {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return Ok(0);
    };
    if meta.file_type().is_symlink() {
        return Ok(0);
    }
    let set = |p: &Path, m: &std::fs::Metadata, mode: u32| -> Result<usize> {
        let now = m.permissions().mode() & 0o777;
        if (only_looser && now & !mode == 0) || (!only_looser && now == mode) {
            return Ok(0);
        }
        let mode = if only_looser { now & mode } else { mode };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot change the mode of {}", p.display()))?;
        Ok(1)
    };
    if !meta.is_dir() {
        return set(dir, &meta, file_mode);
    }
    let mut changed = set(dir, &meta, dir_mode)?;
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for e in entries.flatten() {
        let p = e.path();
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if m.file_type().is_symlink() {
            continue;
        }
        if m.is_dir() {
            changed += set_tree(&p, dir_mode, file_mode, only_looser)?;
        } else {
            changed += set(&p, &m, file_mode)?;
        }
    }
    Ok(changed)
}

static OPERATOR_UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Make every file this process (and the reader processes it starts)
/// creates from now on 0600 and every folder 0700, whatever umask the run
/// was started with; returns that original umask (the same on every call).
pub fn enter_private_umask() -> u32 {
    *OPERATOR_UMASK.get_or_init(|| {
        // SAFETY: umask only swaps the process's file-creation mask.
        let old = unsafe { libc::umask(0o077) };
        old & 0o777
    })
}

/// Folder and file modes for what others may read: what the operator's
/// umask would have given (0755/0644 under the usual 022, 0750/0640 under
/// systemd's 0027), never less than the owner's read and write.
pub fn public_modes() -> (u32, u32) {
    let umask = OPERATOR_UMASK.get().copied().unwrap_or(0o022);
    ((0o777 & !umask) | 0o700, (0o666 & !umask) | 0o600)
}

/// The files at the top of a release that may be readable by others: the
/// aggregates and the run record. Everything else stays 0600.
pub fn is_public_output(name: &str) -> bool {
    name == "run.json"
        || name == "tong-hop.xlsx"
        || name == "completeness.csv"
        || name.starts_with("bao-cao.")
        || name.starts_with("indicators.")
        || name.starts_with("indicators_by_")
}

/// Open what others may read in a release written under the private umask:
/// the release folder itself, `public/` and the public outputs at its top.
pub fn open_public(release: &Path) -> Result<()> {
    let (dir_mode, file_mode) = public_modes();
    std::fs::set_permissions(release, std::fs::Permissions::from_mode(dir_mode))
        .with_context(|| format!("cannot change the mode of {}", release.display()))?;
    set_tree(&release.join("public"), dir_mode, file_mode, false)?;
    if release.join("spark").is_dir() {
        set_tree(&release.join("spark"), dir_mode, file_mode, false)?;
    }
    for e in std::fs::read_dir(release)?.flatten() {
        let name = e.file_name();
        if e.file_type().is_ok_and(|t| t.is_file()) && is_public_output(&name.to_string_lossy()) {
            std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(file_mode))
                .with_context(|| format!("cannot change the mode of {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// Tighten what an earlier run (an older tonghop, or a run under another
/// umask) left readable by others: `state/` (cache, key) and every
/// release's `private/`, to 0700 folders and 0600 files. Returns the
/// folders that were changed, for the log.
pub fn tighten(out: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = vec![out.join("state")];
    if let Ok(rd) = std::fs::read_dir(out.join("releases")) {
        dirs.extend(rd.flatten().map(|e| e.path().join("private")));
    }
    let mut changed = Vec::new();
    for d in dirs {
        if set_tree(&d, 0o700, 0o600, true)? > 0 {
            changed.push(d);
        }
    }
    Ok(changed)
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
