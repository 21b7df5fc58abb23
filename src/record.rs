//! The run record (`run.json`, `runs/<id>.json`): what a run read, what it
//! computed, and which run computed each pipeline's published figures.
//! Typed both ways: a run reads the previous record back as these types.

use crate::model::{self as indicators, IndicatorValue, SheetReport};
use crate::timing::Phase;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct IgnoredFile {
    pub path: String,
    pub reason: String,
}

/// Whether a workbook could be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Read (its rejected rows are normal).
    Ok,
    /// Could not be read, or a sheet lacked a required column: nothing of
    /// it is published (its errors say why).
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileReport {
    pub pipeline: String,
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: Option<crate::model::Format>,
    pub status: FileStatus,
    /// Read back from the cache of an earlier run instead of parsed.
    pub reused: bool,
    /// Failed now; its rows are the last good ones of an earlier run.
    pub stale: bool,
    /// Not read by this run: its pipeline's outputs were carried from the
    /// run named in the pipeline's `computed_by` (`--only`, or a pipeline
    /// whose workbooks are all missing now).
    #[serde(default)]
    pub carried: bool,
    pub errors: Vec<String>,
    pub unknown_columns: Vec<String>,
    pub rows_read: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub skipped: u32,
    pub warning_rows: u32,
    /// Cells excluded on their own in accepted rows.
    #[serde(default)]
    pub cells_excluded: u32,
    #[serde(default)]
    pub totals_checked: u32,
    #[serde(default)]
    pub totals_mismatched: u32,
    pub sheets: Vec<SheetReport>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Totals {
    pub files: usize,
    pub files_parsed: usize,
    pub files_reused: usize,
    pub files_failed: usize,
    /// Files of pipelines whose outputs were carried from an earlier run.
    #[serde(default)]
    pub files_carried: usize,
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub skipped: u64,
    pub warning_rows: u64,
    #[serde(default)]
    pub cells_excluded: u64,
    /// Total and subtotal rows compared with the detail rows they cover.
    #[serde(default)]
    pub totals_checked: u64,
    /// Of those, the ones that differ (`total_mismatch` findings).
    #[serde(default)]
    pub totals_mismatched: u64,
}

impl Totals {
    /// Count one workbook in.
    pub fn add(&mut self, f: &FileReport) {
        self.files += 1;
        if f.carried {
            self.files_carried += 1;
        } else if f.reused {
            self.files_reused += 1;
        } else {
            self.files_parsed += 1;
        }
        self.files_failed += usize::from(f.status == FileStatus::Failed && !f.carried);
        self.rows_read += u64::from(f.rows_read);
        self.accepted += u64::from(f.accepted);
        self.rejected += u64::from(f.rejected);
        self.skipped += u64::from(f.skipped);
        self.warning_rows += u64::from(f.warning_rows);
        self.cells_excluded += u64::from(f.cells_excluded);
        self.totals_checked += u64::from(f.totals_checked);
        self.totals_mismatched += u64::from(f.totals_mismatched);
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct TableOutput {
    pub pipeline: String,
    pub table: String,
    pub rows: usize,
    pub path: String,
}

/// `run.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunReport {
    pub tonghop_version: String,
    pub run_id: String,
    pub started: String,
    pub finished: String,
    pub duration_ms: u128,
    /// Milliseconds by phase; per-workbook phases are summed over threads
    /// (and are zero for workbooks read in a child process).
    pub timings_ms: Vec<(Phase, f64)>,
    pub config: String,
    pub commune: String,
    pub commune_name: String,
    pub period_from: String,
    pub period_to: String,
    pub inbox: String,
    pub out: String,
    pub pipelines: Vec<PipelineRef>,
    pub totals: Totals,
    pub files: Vec<FileReport>,
    pub ignored_files: Vec<IgnoredFile>,
    pub tables: Vec<TableOutput>,
    pub indicators: Vec<IndicatorValue>,
    pub breakdowns: Vec<indicators::BreakdownRow>,
    pub checks: Vec<indicators::CheckResult>,
    /// Indicators whose value differs from the previous published run.
    pub indicator_changes: Vec<IndicatorChange>,
    pub exit_code: i32,
    /// Everything the published outputs depend on (tonghop version, config
    /// file, pipelines, holidays, hashing key, the workbooks' paths and
    /// contents): a run whose inputs hash the same republishes the outputs
    /// of the run named in `unchanged_since` instead of recomputing them.
    #[serde(default)]
    pub inputs_fingerprint: String,
    #[serde(default)]
    pub unchanged_since: Option<String>,
    /// Identifies the HMAC key of the public zone's hashes (not the key):
    /// a run whose key differs from the previous run's refuses to publish
    /// unless it is told to (`--rekey`).
    #[serde(default)]
    pub key_fingerprint: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PipelineRef {
    pub name: String,
    pub source: String,
    pub fingerprint: String,
    #[serde(default)]
    pub status: PipelineStatus,
    /// The run whose computation the published outputs of this pipeline
    /// are (this run, or an earlier one they were carried from).
    #[serde(default)]
    pub computed_by: Option<String>,
    /// Workbooks found for it in the inbox by this run.
    #[serde(default)]
    pub workbooks: usize,
    /// For an operator: why the pipeline is in this state.
    #[serde(default)]
    pub message: String,
}

/// What a run did with a pipeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// Computed from the workbooks in the inbox.
    #[default]
    Computed,
    /// No workbooks, and none in the previous release either: published
    /// with no figures (not zeros).
    NoWorkbooks,
    /// No workbooks now although the previous release had some (an
    /// unmounted share, a moved folder): a failure of the pipeline (exit 1);
    /// its previous outputs are carried forward, marked stale.
    MissingInputs,
    /// Not selected (`--only`): its outputs are carried from the release
    /// before, unchanged.
    Carried,
    /// Not selected, and no earlier outputs to carry.
    NotRun,
}

impl PipelineStatus {
    pub fn is_carried(self) -> bool {
        matches!(
            self,
            PipelineStatus::MissingInputs | PipelineStatus::Carried
        )
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IndicatorChange {
    pub indicator: String,
    pub previous: Option<f64>,
    pub current: Option<f64>,
    /// current − previous, when both exist.
    pub delta: Option<f64>,
}

/// What a run returns: its record and the exit code it earned.
pub struct RunOutcome {
    pub report: RunReport,
    pub exit_code: i32,
}
