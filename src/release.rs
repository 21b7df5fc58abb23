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

/// A release being written. Dropped before it is published (an error, a
/// full disk), it removes its folder: the previous release stays current
/// and nothing half-written is left behind.
pub struct Release {
    pub id: String,
    /// Where this run writes its outputs.
    pub dir: PathBuf,
    out: PathBuf,
    published: bool,
}

impl Drop for Release {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Test hook: `TONGHOP_FAULT_ABORT_AT=<point>` aborts the process at that
/// point of a run, as a crash or kill -9 there would, so the tests of what
/// a killed run leaves behind hit each point for certain instead of by
/// timing. Points: `read` (all workbooks read), `tables` (tables written),
/// `outputs` (every output written, nothing published), `complete`
/// (release marked complete, `current` not switched), `switched`
/// (`current` switched, stable names and history not yet written).
pub fn fault_point(point: &str) {
    if std::env::var_os("TONGHOP_FAULT_ABORT_AT").is_some_and(|v| v == point) {
        eprintln!("tonghop: TONGHOP_FAULT_ABORT_AT={point}: aborting here");
        std::process::abort();
    }
}

/// Why an output folder cannot be written, found before anything is touched.
#[derive(Debug, thiserror::Error)]
#[error(
    "không ghi được vào thư mục kết quả / cannot write to the output folder {folder}: {why}; nothing was changed"
)]
pub struct NotWritable {
    pub folder: String,
    pub why: String,
}

/// Check that `out` (or, when it does not exist yet, the nearest folder
/// above it that does) can be written by this process, without writing.
pub fn check_writable(out: &Path) -> Result<(), NotWritable> {
    use std::os::unix::ffi::OsStrExt as _;
    use std::os::unix::fs::MetadataExt as _;
    let mut dir = out;
    while !dir.exists() {
        match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => dir = p,
            _ => {
                dir = Path::new(".");
                break;
            }
        }
    }
    let folder = dir.display().to_string();
    if !dir.is_dir() {
        return Err(NotWritable {
            folder,
            why: "không phải thư mục / not a folder".into(),
        });
    }
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return Ok(());
    };
    // SAFETY: access reads a NUL-terminated path and only reports.
    if unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    let why = match err.raw_os_error() {
        Some(libc::EROFS) => {
            "hệ thống tệp chỉ đọc / read-only file system (mounted read-only)".to_string()
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            let m = std::fs::metadata(dir).ok();
            format!(
                "không có quyền ghi / permission denied (mode {:o}, owner uid {}; this run is uid {})",
                m.as_ref().map_or(0, |m| m.mode() & 0o7777),
                m.as_ref().map_or(0, |m| m.uid()),
                // SAFETY: getuid has no preconditions.
                unsafe { libc::getuid() }
            )
        }
        _ => err.to_string(),
    };
    Err(NotWritable { folder, why })
}

/// Create the output folder if it is missing, readable by others (it holds
/// the public outputs; what is private below it is closed on its own).
pub fn create_out(out: &Path) -> Result<()> {
    if out.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    set_public_dir(out)
}

fn set_public_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let (mode, _) = crate::privacy::public_modes();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot change the mode of {}", dir.display()))
}

/// The mount point and device of the file system holding `path`, and its
/// free bytes: "the disk" in a disk-full message.
pub fn filesystem_of(path: &Path) -> Option<(String, String, u64)> {
    use std::os::unix::ffi::OsStrExt as _;
    let abs = std::fs::canonicalize(path).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let (source, point) = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            let source = f.next()?;
            let point = f.next()?.replace("\\040", " ");
            abs.starts_with(&point).then(|| (source.to_string(), point))
        })
        .max_by_key(|(_, p)| p.len())?;
    let c = std::ffi::CString::new(abs.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills the struct it is given for a NUL-terminated path.
    let free = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return Some((point, source, 0));
        }
        st.f_bavail as u64 * st.f_frsize as u64
    };
    Some((point, source, free))
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
        set_public_dir(&releases)?;
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
            published: false,
        })
    }

    /// Make this release the published one: mark it complete, switch
    /// `current` in one rename, point the stable names at it, record the run
    /// in the history, and prune old releases.
    pub fn commit(mut self, run_json: &[u8]) -> Result<()> {
        crate::privacy::open_public(&self.dir)?;
        crate::util::write_bytes(&self.dir.join(COMPLETE), b"")?;
        sync_dir(&self.dir);
        fault_point("complete");
        let tmp = self
            .out
            .join(format!(".current.tmp-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(Path::new("releases").join(&self.id), &tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        std::fs::rename(&tmp, self.out.join("current"))
            .context("cannot switch the current release")?;
        // Published: from here on the release is `current` and stays.
        self.published = true;
        sync_dir(&self.out);
        fault_point("switched");
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
        let runs = self.out.join("runs");
        std::fs::create_dir_all(&runs)
            .with_context(|| format!("cannot create {}", runs.display()))?;
        set_public_dir(&runs)?;
        let record = runs.join(format!("{}.json", self.id));
        crate::util::write_bytes(&record, run_json)?;
        {
            use std::os::unix::fs::PermissionsExt as _;
            let (_, mode) = crate::privacy::public_modes();
            std::fs::set_permissions(&record, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("cannot change the mode of {}", record.display()))?;
        }
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

/// One line of `tonghop history`.
#[derive(Debug)]
pub struct HistoryLine {
    pub run_id: String,
    pub started: String,
    pub duration_ms: u64,
    pub files_parsed: u64,
    pub files_reused: u64,
    pub files_failed: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub changed: usize,
    pub exit_code: i64,
}

/// The recorded runs under `<out>/runs/`, newest last.
pub fn history(out: &Path) -> Vec<HistoryLine> {
    let Ok(rd) = std::fs::read_dir(out.join("runs")) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
            let t = &v["totals"];
            let n = |x: &serde_json::Value| x.as_u64().unwrap_or(0);
            Some(HistoryLine {
                run_id: v["run_id"].as_str().unwrap_or("").to_string(),
                started: v["started"].as_str().unwrap_or("").to_string(),
                duration_ms: n(&v["duration_ms"]),
                files_parsed: n(&t["files_parsed"]),
                files_reused: n(&t["files_reused"]),
                files_failed: n(&t["files_failed"]),
                accepted: n(&t["accepted"]),
                rejected: n(&t["rejected"]),
                changed: v["indicator_changes"].as_array().map_or(0, |a| a.len()),
                exit_code: v["exit_code"].as_i64().unwrap_or(-1),
            })
        })
        .collect()
}

/// When `e` is a full disk (or quota): one line naming the file system,
/// its mount point and free space, and the file being written.
pub fn disk_full(e: &anyhow::Error, out: &std::path::Path) -> Option<String> {
    let full = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
            .is_some_and(|n| n == libc::ENOSPC || n == libc::EDQUOT)
            || {
                let t = c.to_string();
                t.contains("No space left on device") || t.contains("Disk quota exceeded")
            }
    });
    if !full {
        return None;
    }
    // The innermost "cannot write <file>" context names the file.
    let file = e
        .chain()
        .filter_map(|c| {
            let t = c.to_string();
            let rest = t
                .strip_prefix("cannot write Parquet ")
                .or_else(|| t.strip_prefix("cannot write "))?;
            Some(rest.split(": ").next().unwrap_or(rest).to_string())
        })
        .last()
        .unwrap_or_else(|| "(unknown file)".to_string());
    let disk = match filesystem_of(out) {
        Some((point, device, free)) => {
            format!("{device} mounted at {point}, {free} bytes free")
        }
        None => out.display().to_string(),
    };
    Some(format!("đĩa đầy / disk full: {disk}; while writing {file}"))
}
