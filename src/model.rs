//! The shared types every stage passes on and every output is made of:
//! the period, findings (a cell and its reason), sheet reports, figures and
//! what they lack, the workbook formats. Plain data, no behaviour beyond
//! small helpers, so any room may use them (layer 0).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    /// Also the reference date for ages and deadlines.
    pub to: NaiveDate,
}

impl Period {
    /// The Hive partition value, ASCII so every reader sees the same text.
    pub fn partition(&self) -> String {
        format!(
            "{}_{}",
            self.from.format("%Y-%m-%d"),
            self.to.format("%Y-%m-%d")
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xlsx,
    Xls,
    Xlsb,
    Ods,
    /// An HTML table saved as `.xls` (web systems' "Excel" exports).
    Html,
    /// An Excel 2003 XML Spreadsheet, usually saved as `.xls`.
    #[serde(rename = "spreadsheetml")]
    SpreadsheetMl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    #[default]
    Warning,
}

/// A rejected cell or a flagged value, with the exact place it came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub pipeline: String,
    pub table: String,
    pub file: String,
    pub sheet: String,
    /// 1-based sheet row.
    pub row: u32,
    /// "D17"; empty when the finding is about a whole row.
    pub cell: String,
    /// Logical column name.
    pub column: String,
    /// The header text in the sheet.
    pub header: String,
    /// The cell as the statistician sees it.
    pub value: String,
    pub severity: Severity,
    pub code: String,
    /// In Vietnamese.
    pub reason: String,
    /// For duplicates: "file!sheet!row" of the first occurrence.
    pub related: String,
    /// What an error takes out of the figures: "row" (the whole source
    /// row) or "cell" (that cell alone; the row's other cells are counted).
    /// Empty for warnings.
    #[serde(default)]
    pub excludes: String,
}

/// Why a record is not in its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// Its source row was rejected.
    Rejected,
    /// One cell of it was unreadable; the record is in the table without it.
    Cell,
    /// Dated after the period.
    OutOfPeriod,
    /// The same unique key was accepted earlier.
    Duplicate,
}

impl Exclusion {
    pub fn code(self) -> &'static str {
        match self {
            Exclusion::Rejected => "rejected",
            Exclusion::Cell => "cell",
            Exclusion::OutOfPeriod => "out_of_period",
            Exclusion::Duplicate => "duplicate",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetStatus {
    Read,
    Hidden,
    NotWorksheet,
    NoTable,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SheetReport {
    pub name: String,
    pub status: SheetStatus,
    pub table: Option<String>,
    /// Why the sheet was skipped or failed.
    pub reason: Option<String>,
    /// 1-based first header row.
    pub header_row: Option<u32>,
    pub header_rows: u32,
    /// logical column -> source column letter
    pub columns: BTreeMap<String, String>,
    /// logical column -> the header text it was recognised by
    pub headers: BTreeMap<String, String>,
    pub rows_read: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub skipped: u32,
    pub skipped_by_kind: BTreeMap<String, u32>,
    pub warning_rows: u32,
    /// Cells excluded on their own in accepted rows (wide tables).
    #[serde(default)]
    pub cells_excluded: u32,
    /// Total and subtotal rows compared with the rows they cover, and how
    /// many of them differ (`total_mismatch` findings).
    #[serde(default)]
    pub totals_checked: u32,
    #[serde(default)]
    pub totals_mismatched: u32,
    /// Text typed with legacy fonts, converted to Unicode: the encoding and
    /// the columns (letters) it was found in.
    #[serde(default)]
    pub legacy_encoding: Option<crate::values::legacy::Encoding>,
    #[serde(default)]
    pub converted_columns: Vec<String>,
}

impl SheetReport {
    pub fn new(name: &str, status: SheetStatus) -> SheetReport {
        SheetReport {
            name: name.to_string(),
            status,
            table: None,
            reason: None,
            header_row: None,
            header_rows: 0,
            columns: BTreeMap::new(),
            headers: BTreeMap::new(),
            rows_read: 0,
            accepted: 0,
            rejected: 0,
            skipped: 0,
            skipped_by_kind: BTreeMap::new(),
            warning_rows: 0,
            cells_excluded: 0,
            totals_checked: 0,
            totals_mismatched: 0,
            legacy_encoding: None,
            converted_columns: Vec::new(),
        }
    }

    pub fn skip(&mut self, kind: &str, n: u32) {
        if n > 0 {
            self.skipped += n;
            *self.skipped_by_kind.entry(kind.to_string()).or_default() += n;
        }
    }
}

/// Why a workbook could not be read. The message is for a statistician:
/// Vietnamese first, then the technical detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum IngestError {
    #[error("tệp rỗng (0 byte) / empty file")]
    Empty,
    #[error(
        "tệp được đặt mật khẩu, hãy gỡ mật khẩu rồi gửi lại / workbook is encrypted (password-protected)"
    )]
    Encrypted,
    #[error("không phải tệp bảng tính ({0}) / not a spreadsheet")]
    NotSpreadsheet(String),
    #[error("tệp bị hỏng, không đọc được / corrupt workbook: {0}")]
    Corrupt(String),
    #[error("trình đọc bị lỗi khi đọc tệp / reader crashed: {0}")]
    Crashed(String),
    #[error("vượt giới hạn / exceeds limit {limit} = {max}: {what}")]
    Limit {
        limit: std::borrow::Cow<'static, str>,
        max: u64,
        what: String,
    },
}

/// Why a workbook, or one of its sheets, could not be used: the sheet when
/// known, around the cause. Shown outermost first, as ripgrep does,
/// `sheet "Pá Khoang": không tìm thấy cột …`; [`FileError`] puts the
/// workbook's path before it. Cell-level problems are [`Finding`]s, which
/// carry their file, sheet and cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkbookError {
    pub sheet: Option<String>,
    pub cause: Cause,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Cause {
    #[error("không đọc được tệp / cannot read file: {0}")]
    Unreadable(String),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(
        "không tìm thấy cột bắt buộc / missing required column {} (dòng tiêu đề / header row {header_row})",
        columns.join("; ")
    )]
    MissingColumns {
        /// Each missing column (or group of alternatives), as the statistician reads it.
        columns: Vec<String>,
        /// 1-based.
        header_row: u32,
    },
    #[error("cannot start a reader process: {0}")]
    ReaderNotStarted(String),
    #[error(
        "vượt giới hạn / exceeds limit max_seconds_per_file = {max_seconds}: the reader was stopped"
    )]
    ReaderStopped { max_seconds: u64 },
    #[error("reader process returned an unreadable result: {0}")]
    ReaderUnreadable(String),
    #[error(
        "trình đọc bị lỗi khi đọc tệp / reader crashed: process ended with {status} (memory limit {memory_limit} bytes)"
    )]
    ReaderDied { status: String, memory_limit: u64 },
}

impl WorkbookError {
    /// An error of the whole workbook.
    pub fn file(cause: impl Into<Cause>) -> Self {
        WorkbookError {
            sheet: None,
            cause: cause.into(),
        }
    }

    /// An error of sheet `name`.
    pub fn sheet(name: &str, cause: impl Into<Cause>) -> Self {
        WorkbookError {
            sheet: Some(name.to_string()),
            cause: cause.into(),
        }
    }

    /// Within workbook `path`, for a log line or a terminal.
    pub fn in_file<'a>(&'a self, path: &'a str) -> FileError<'a> {
        FileError { path, error: self }
    }
}

impl std::fmt::Display for WorkbookError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(sheet) = &self.sheet {
            write!(f, "sheet \"{sheet}\": ")?;
        }
        write!(f, "{}", self.cause)
    }
}

impl std::error::Error for WorkbookError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

/// A [`WorkbookError`] with its workbook: `bhyt/ds.xlsx: sheet "Pá Khoang": …`.
#[derive(Debug)]
pub struct FileError<'a> {
    pub path: &'a str,
    pub error: &'a WorkbookError,
}

impl std::fmt::Display for FileError<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.error)
    }
}

/// The column of every public table that holds the commune's 5-digit code
/// as text (the `commune=` partition is read as an integer by most readers).
pub const COMMUNE_CODE: &str = "commune_code";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IndicatorValue {
    pub id: String,
    pub pipeline: String,
    pub label: String,
    pub unit: String,
    /// `None` when the query failed or returned NULL; see `error`.
    pub value: Option<f64>,
    pub error: Option<String>,
    /// Set when the figure is an earlier run's, carried forward because this
    /// run had no workbooks for its pipeline: that run's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<String>,
    /// What the figure could not use (see `exclusions`).
    #[serde(default)]
    pub excluded: Exclusions,
    /// The commune's 5-digit code, or the province's 2-digit code for a
    /// province figure; set when the figure is published.
    #[serde(default)]
    pub commune: String,
    /// The period as in the table partitions: `2026-01-01_2026-06-30`.
    #[serde(default)]
    pub period: String,
}

/// One row of a breakdown: an indicator's value for one member of a dimension.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BreakdownRow {
    pub id: String,
    pub pipeline: String,
    /// The dimension ("village").
    pub by: String,
    /// The member ("Pá Khoang"); empty for NULL.
    pub key: String,
    pub value: Option<f64>,
    pub unit: String,
    pub label: String,
    #[serde(default)]
    pub excluded: Exclusions,
    /// As [`IndicatorValue::commune`].
    #[serde(default)]
    pub commune: String,
    /// As [`IndicatorValue::period`].
    #[serde(default)]
    pub period: String,
}

/// The outcome of a data check: the rows that break the rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub pipeline: String,
    pub description: String,
    pub passed: bool,
    pub violations: usize,
    /// The first violating rows, rendered as text.
    pub examples: Vec<String>,
    pub error: Option<String>,
    /// From the pipeline file: an error-severity failure fails the run.
    #[serde(default)]
    pub severity: Severity,
}

/// What one figure (or one breakdown row) could not use.
/// Examples kept per figure (for the report's note).
const EXAMPLES: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusions {
    /// Source rows rejected whole.
    pub rows_rejected: u64,
    /// Rows left out because their unique key was accepted earlier.
    pub rows_duplicate: u64,
    /// Rows dated after the period (outside this report, not a defect).
    pub rows_out_of_period: u64,
    /// Unreadable cells excluded on their own (the rest of their row counts).
    pub cells_excluded: u64,
    /// The first unreadable cells and rejected rows, for people:
    /// "Dê / Số con hiện có, Tên bản: Hua Pầu – tệp.xls, Biểu!L12".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

impl Exclusions {
    /// The figure lacks data it should have had: rejected rows or cells.
    /// (Duplicates and rows after the period are rightly left out.)
    pub fn incomplete(&self) -> bool {
        self.rows_rejected > 0 || self.cells_excluded > 0
    }

    pub fn rows_excluded(&self) -> u64 {
        self.rows_rejected + self.rows_duplicate + self.rows_out_of_period
    }

    pub fn add(&mut self, kind: &str, example: Option<String>) {
        match kind {
            "rejected" => self.rows_rejected += 1,
            "duplicate" => self.rows_duplicate += 1,
            "out_of_period" => self.rows_out_of_period += 1,
            _ => self.cells_excluded += 1,
        }
        if let Some(e) = example
            && self.examples.len() < EXAMPLES
        {
            self.examples.push(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workbook_errors_read_outermost_first_and_keep_their_type_across_the_pipe() {
        let e = WorkbookError::sheet(
            "Pá Khoang",
            Cause::MissingColumns {
                columns: vec!["'Số CCCD' (đã thử / tried: cccd, số định danh)".into()],
                header_row: 4,
            },
        );
        assert_eq!(
            e.in_file("bhyt/ds.xlsx").to_string(),
            "bhyt/ds.xlsx: sheet \"Pá Khoang\": không tìm thấy cột bắt buộc / missing required column 'Số CCCD' (đã thử / tried: cccd, số định danh) (dòng tiêu đề / header row 4)"
        );
        let whole = WorkbookError::file(IngestError::Encrypted);
        assert_eq!(
            whole.in_file("vneid/a.xlsx").to_string(),
            "vneid/a.xlsx: tệp được đặt mật khẩu, hãy gỡ mật khẩu rồi gửi lại / workbook is encrypted (password-protected)"
        );
        // The source chain reaches the cause.
        let source = std::error::Error::source(&whole).map(ToString::to_string);
        assert_eq!(source, Some(IngestError::Encrypted.to_string()));
        // A reader child sends its outcome as JSON: the parent gets the
        // same typed error, not its text.
        let limit = WorkbookError::file(IngestError::Limit {
            limit: "max_rows_per_sheet".into(),
            max: 10,
            what: "sheet \"A\"".into(),
        });
        for e in [e, whole, limit] {
            let back: WorkbookError =
                serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            assert_eq!(back, e);
        }
    }
}
