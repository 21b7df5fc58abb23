//! What one workbook produced: its rows per table, the records its figures
//! could not use, findings and sheet reports. Made by `extract`, kept by the
//! cache and the parts, read by the run.

use crate::model::{Exclusion, Finding, SheetReport};
use crate::pipeline::{Pipeline, Table};
use crate::table::Batch;
use serde::{Deserialize, Serialize};

/// The records of one table that its figures could not use, with the values
/// that were readable: each figure's query is asked which of them it would
/// have counted (see `indicators::exclusions`). Private: they hold the
/// rejected rows' personal values.
#[derive(Debug, Serialize, Deserialize)]
pub struct Excluded {
    pub batch: Batch,
    pub kind: Vec<Exclusion>,
    /// The excluded cell's logical column; empty for a whole record.
    pub column: Vec<String>,
    /// "L12"; for a whole record, empty.
    pub cell: Vec<String>,
    /// The header the statistician sees for that cell ("Dê / Số con hiện có").
    pub what: Vec<String>,
}

impl Excluded {
    pub fn new(table: &Table) -> Excluded {
        Excluded {
            batch: Batch::new(table),
            kind: Vec::new(),
            column: Vec::new(),
            cell: Vec::new(),
            what: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        values: Vec<crate::values::Value>,
        sheet: u32,
        row: u32,
        kind: Exclusion,
    ) {
        self.push_cell(
            values,
            sheet,
            row,
            kind,
            String::new(),
            String::new(),
            String::new(),
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub fn push_cell(
        &mut self,
        values: Vec<crate::values::Value>,
        sheet: u32,
        row: u32,
        kind: Exclusion,
        column: String,
        cell: String,
        what: String,
    ) {
        self.batch.push(values, sheet, row);
        self.kind.push(kind);
        self.column.push(column);
        self.cell.push(cell);
        self.what.push(what);
    }

    pub fn len(&self) -> usize {
        self.kind.len()
    }

    pub fn is_empty(&self) -> bool {
        self.kind.is_empty()
    }
}

/// Everything one workbook produced. Cached per file content (see
/// `run::cache`), so an unchanged workbook is not parsed again.
#[derive(Serialize, Deserialize)]
pub struct FileOutcome {
    pub pipeline: String,
    /// Path relative to the inbox, with `/`.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: Option<crate::model::Format>,
    /// The file-level error that stopped it (unreadable, or a sheet lacking a required column).
    pub errors: Vec<crate::model::WorkbookError>,
    pub sheets: Vec<SheetReport>,
    pub unknown_columns: Vec<String>,
    /// Per table of the pipeline, in declared order.
    pub batches: Vec<Batch>,
    /// Per table: the records its figures could not use.
    #[serde(default)]
    pub excluded: Vec<Excluded>,
    pub findings: Vec<Finding>,
    /// Taken from the cache of an earlier run rather than parsed now.
    #[serde(skip)]
    pub reused: bool,
    /// The workbook failed now; these are its last good rows from an earlier run.
    #[serde(skip)]
    pub stale: bool,
}

impl FileOutcome {
    pub fn empty(pipeline: &Pipeline, rel: &str) -> FileOutcome {
        FileOutcome {
            pipeline: pipeline.name.clone(),
            path: rel.to_string(),
            sha256: String::new(),
            bytes: 0,
            format: None,
            errors: Vec::new(),
            sheets: Vec::new(),
            unknown_columns: Vec::new(),
            batches: pipeline.tables.iter().map(Batch::new).collect(),
            excluded: pipeline.tables.iter().map(Excluded::new).collect(),
            findings: Vec::new(),
            reused: false,
            stale: false,
        }
    }

    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
    pub fn sheet_names(&self) -> Vec<String> {
        self.sheets.iter().map(|s| s.name.clone()).collect()
    }
}

impl FileOutcome {
    /// Forget every row, excluded record and finding (a workbook refused
    /// whole); its sheet reports stay.
    pub fn drop_rows(&mut self, pipeline: &Pipeline) {
        self.batches = pipeline.tables.iter().map(Batch::new).collect();
        self.excluded = pipeline.tables.iter().map(Excluded::new).collect();
        self.findings.clear();
    }

    /// Its line in `run.json`: the counts of its sheets summed.
    pub fn into_report(self) -> crate::record::FileReport {
        let o = self;
        let sum = |f: fn(&SheetReport) -> u32| o.sheets.iter().map(f).sum::<u32>();
        crate::record::FileReport {
            pipeline: o.pipeline.clone(),
            path: o.path.clone(),
            sha256: o.sha256.clone(),
            bytes: o.bytes,
            format: o.format,
            status: if o.failed() {
                crate::record::FileStatus::Failed
            } else {
                crate::record::FileStatus::Ok
            },
            reused: o.reused,
            stale: o.stale,
            carried: false,
            errors: o.errors.iter().map(ToString::to_string).collect(),
            unknown_columns: o.unknown_columns.clone(),
            rows_read: sum(|s| s.rows_read),
            accepted: sum(|s| s.accepted),
            rejected: sum(|s| s.rejected),
            skipped: sum(|s| s.skipped),
            warning_rows: sum(|s| s.warning_rows),
            cells_excluded: sum(|s| s.cells_excluded),
            totals_checked: sum(|s| s.totals_checked),
            totals_mismatched: sum(|s| s.totals_mismatched),
            sheets: o.sheets,
        }
    }
}
