//! Reading a workbook in a child process: the `tonghop` binary re-runs itself
//! (`tonghop extract-one …`) with an address-space limit, and the parent waits
//! at most `max_seconds_per_file`. A reader that aborts, allocates without
//! bound or never returns costs that one workbook, reported like any other
//! failure; the rest of the run goes on.
//!
//! Cost, measured on the fixtures (10 workbooks, debug build): a process
//! start and a JSON hand-over per parsed workbook; unchanged workbooks come
//! from the cache and start no process.

use crate::config::Limits;
use crate::extract::FileOutcome;
use crate::model::{Cause, WorkbookError};
use crate::pipeline::Pipeline;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Limit this process's address space (called in the child before parsing).
pub fn limit_memory(bytes: u64) {
    if bytes == 0 {
        return;
    }
    let lim = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: setrlimit reads a valid rlimit struct; failure only leaves the limit unset.
    unsafe {
        libc::setrlimit(libc::RLIMIT_AS, &lim);
    }
}

/// Where a reader process writes besides its output.
pub struct Destinations<'a> {
    /// The rows: `<part_base>-<table>.parquet`.
    pub part_base: &'a Path,
    /// The file's feedback workbook, prepared once the outcome is out.
    pub feedback_dir: Option<&'a Path>,
}

fn failed(p: &Pipeline, rel: &str, cause: Cause) -> FileOutcome {
    let mut o = FileOutcome::empty(p, rel);
    o.errors.push(WorkbookError::file(cause));
    o
}

/// Process `abs` in a child `exe extract-one`, which writes the rows to the
/// parts at `part_base` and prints the rest of the outcome. Returns the
/// outcome and whether the parts were written (false when the child failed:
/// the outcome is then an error of the parent's making).
pub fn process_in_child(
    exe: &Path,
    config: &Path,
    p: &Pipeline,
    abs: &Path,
    rel: &str,
    limits: &Limits,
    to: Destinations<'_>,
) -> (FileOutcome, bool) {
    let Destinations {
        part_base,
        feedback_dir,
    } = to;
    let mut cmd = Command::new(exe);
    cmd.arg("extract-one")
        .arg("--config")
        .arg(config)
        .arg("--pipeline")
        .arg(&p.name)
        .arg("--rel")
        .arg(rel)
        .arg("--part-base")
        .arg(part_base);
    if let Some(d) = feedback_dir {
        cmd.arg("--feedback-dir").arg(d);
    }
    let child = cmd
        .arg(abs)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return (
                failed(p, rel, Cause::ReaderNotStarted(e.to_string())),
                false,
            );
        }
    };
    // Read stdout on a thread so a large outcome never blocks the child.
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if started.elapsed() > Duration::from_secs(limits.max_seconds_per_file) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => break None,
        }
    };
    let out = reader.join().unwrap_or_default();
    // The reader prints its outcome when the workbook is read, then closes
    // its output and prepares the file's feedback: an outcome printed in
    // full is the workbook's, even if what came after failed or ran out of
    // time.
    if (status.is_none() || status.is_some_and(|s| !s.success()))
        && let Ok(o) = serde_json::from_slice::<FileOutcome>(&out)
    {
        return (o, true);
    }
    let o = match status {
        None => failed(
            p,
            rel,
            Cause::ReaderStopped {
                max_seconds: limits.max_seconds_per_file,
            },
        ),
        Some(s) if s.success() => match serde_json::from_slice::<FileOutcome>(&out) {
            Ok(o) => return (o, true),
            Err(e) => failed(p, rel, Cause::ReaderUnreadable(e.to_string())),
        },
        Some(s) => failed(
            p,
            rel,
            Cause::ReaderDied {
                status: s.to_string(),
                memory_limit: limits.isolate_memory_bytes,
            },
        ),
    };
    (o, false)
}
