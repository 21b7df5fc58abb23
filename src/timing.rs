//! Where a run's time goes, phase by phase, for `run.json` and the benchmark.
//! Per-workbook phases run in parallel: their figures are summed over
//! workbooks (CPU time across threads), so they can exceed the wall time.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the file, hashing it, looking it up in the cache.
    Read,
    /// calamine: opening the workbook and decoding a sheet into cells.
    Decode,
    /// Header detection, row classification, value conversion, validation.
    ShapeValues,
    /// Writing the per-file cache entry.
    CacheStore,
    /// Duplicates across rows, sheets and files.
    Dedupe,
    /// Typed columns into a DataFrame.
    Frame,
    /// The private tables' Parquet.
    ParquetPrivate,
    /// Pseudonymising and writing the public tables.
    Public,
    /// Indicators, breakdowns, checks (SQL).
    Indicators,
    /// Rejects, report text, Excel summary, feedback workbooks, run record.
    Outputs,
}

const PHASES: [Phase; 10] = [
    Phase::Read,
    Phase::Decode,
    Phase::ShapeValues,
    Phase::CacheStore,
    Phase::Dedupe,
    Phase::Frame,
    Phase::ParquetPrivate,
    Phase::Public,
    Phase::Indicators,
    Phase::Outputs,
];

static NANOS: [AtomicU64; 10] = [const { AtomicU64::new(0) }; 10];

/// Add the time since `since` to `phase`.
pub fn add(phase: Phase, since: Instant) {
    let i = PHASES.iter().position(|p| *p == phase).unwrap_or(0);
    NANOS[i].fetch_add(since.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

/// Time `f` as `phase`.
pub fn time<T>(phase: Phase, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    add(phase, t);
    r
}

/// Zero every phase (at the start of a run).
pub fn reset() {
    for n in &NANOS {
        n.store(0, Ordering::Relaxed);
    }
}

/// Milliseconds per phase since the last reset.
pub fn snapshot() -> Vec<(Phase, f64)> {
    PHASES
        .iter()
        .zip(&NANOS)
        .map(|(p, n)| (*p, n.load(Ordering::Relaxed) as f64 / 1e6))
        .collect()
}
