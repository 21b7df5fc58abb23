//! Publishing a run's outputs atomically, one run at a time.
//!
//! Layout under `<out>`:
//! - `releases/<run id>/`: one complete output set per run;
//! - `current` → `releases/<run id>`: a symlink, switched with one `rename`;
//! - `indicators.csv`, `tables`, `run.json`, … → `current/<name>`: stable
//!   paths for BI tools and people, always resolving into a complete set;
//! - `runs/<run id>.json`: the run history (`tonghop history`);
//! - `.lock`: held while a run works; the OS releases it when the process
//!   dies, so a killed run never blocks the next one.
//!
//! A run killed at any moment leaves `current` on the previous complete
//! release; its half-written release has no `.complete` marker and is removed
//! by the next run.

use anyhow::{Context, Result};
use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Releases kept besides the current one (readers may still be reading them).
const KEEP_OLD: usize = 2;
const COMPLETE: &str = ".complete";

/// The exclusive right to publish into an output folder.
pub struct RunLock {
    _file: File,
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another tonghop run is publishing to {out} ({holder}); this run did nothing")]
    Busy { out: String, holder: String },
    #[error("cannot lock {0}: {1}")]
    Io(String, std::io::Error),
}

impl RunLock {
    pub fn acquire(out: &Path) -> Result<RunLock, LockError> {
        std::fs::create_dir_all(out).map_err(|e| LockError::Io(out.display().to_string(), e))?;
        let path = out.join(".lock");
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| LockError::Io(path.display().to_string(), e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = f.read_to_string(&mut holder);
                return Err(LockError::Busy {
                    out: out.display().to_string(),
                    holder: if holder.trim().is_empty() {
                        "unknown process".into()
                    } else {
                        holder.trim().to_string()
                    },
                });
            }
            Err(TryLockError::Error(e)) => {
                return Err(LockError::Io(path.display().to_string(), e));
            }
        }
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = write!(f, "pid {}", std::process::id());
        let _ = f.flush();
        Ok(RunLock { _file: f })
    }
}

/// A release being written.
pub struct Release {
    pub id: String,
    /// Where this run writes its outputs.
    pub dir: PathBuf,
    out: PathBuf,
}

fn is_complete(dir: &Path) -> bool {
    dir.join(COMPLETE).exists()
}

impl Release {
    /// Start a release (the caller holds the lock): clean up what killed runs
    /// left behind, then create `releases/<id>/`.
    pub fn begin(out: &Path, id: &str) -> Result<Release> {
        let releases = out.join("releases");
        std::fs::create_dir_all(&releases)
            .with_context(|| format!("cannot create {}", releases.display()))?;
        let current = current_release(out);
        for e in std::fs::read_dir(&releases)?.flatten() {
            let p = e.path();
            if !is_complete(&p) && Some(&p) != current.as_ref() {
                let _ = std::fs::remove_dir_all(&p);
            }
        }
        for e in std::fs::read_dir(out)?.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with(".current.tmp-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let dir = releases.join(id);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Release {
            id: id.to_string(),
            dir,
            out: out.to_path_buf(),
        })
    }

    /// Make this release the published one: mark it complete, switch
    /// `current` in one rename, point the stable names at it, record the run
    /// in the history, and prune old releases.
    pub fn commit(self, run_json: &[u8]) -> Result<()> {
        crate::publish::write_bytes(&self.dir.join(COMPLETE), b"")?;
        sync_dir(&self.dir);
        let tmp = self
            .out
            .join(format!(".current.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new("releases").join(&self.id), &tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        std::fs::rename(&tmp, self.out.join("current"))
            .context("cannot switch the current release")?;
        sync_dir(&self.out);
        // Stable names: one symlink per top-level output, into `current`.
        for e in std::fs::read_dir(&self.dir)?.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let link = self.out.join(&name);
            let target = Path::new("current").join(&name);
            match std::fs::symlink_metadata(&link) {
                Ok(m) if m.file_type().is_symlink() => continue,
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&link)?,
                Ok(_) => std::fs::remove_file(&link)?,
                Err(_) => {}
            }
            std::os::unix::fs::symlink(&target, &link)
                .with_context(|| format!("cannot link {}", link.display()))?;
        }
        // Links whose output this run no longer produces.
        for e in std::fs::read_dir(&self.out)?.flatten() {
            let p = e.path();
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink())
                && !p.exists()
            {
                let _ = std::fs::remove_file(&p);
            }
        }
        crate::publish::write_bytes(
            &self.out.join("runs").join(format!("{}.json", self.id)),
            run_json,
        )?;
        self.prune();
        Ok(())
    }

    fn prune(&self) {
        let Ok(rd) = std::fs::read_dir(self.out.join("releases")) else {
            return;
        };
        let mut done: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| is_complete(p))
            .collect();
        done.sort();
        let current = current_release(&self.out);
        let old: Vec<&PathBuf> = done
            .iter()
            .filter(|p| Some(*p) != current.as_ref())
            .collect();
        if old.len() > KEEP_OLD {
            for p in &old[..old.len() - KEEP_OLD] {
                let _ = std::fs::remove_dir_all(p);
            }
        }
    }
}

/// The release `current` points at, if any.
pub fn current_release(out: &Path) -> Option<PathBuf> {
    let target = std::fs::read_link(out.join("current")).ok()?;
    Some(out.join(target))
}

fn sync_dir(dir: &Path) {
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
}

/// A sortable, unique run id: UTC time plus process id.
pub fn new_run_id() -> String {
    format!(
        "{}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    )
}
