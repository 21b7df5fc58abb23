//! The serde mirror of a pipeline file (`pipelines/<name>.toml`), exactly as
//! written. Nothing here is trusted: [`super::compile`] checks it as a whole.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub pipeline: PipelineHeader,
    #[serde(default)]
    pub tables: Vec<TableRaw>,
    #[serde(default)]
    pub indicators: Vec<IndicatorRaw>,
    #[serde(default)]
    pub breakdowns: Vec<BreakdownRaw>,
    #[serde(default)]
    pub checks: Vec<CheckRaw>,
    #[serde(default)]
    pub paragraphs: Vec<ParagraphRaw>,
    /// Examples the pipeline must pass (`tonghop test`, `cargo test`).
    #[serde(default)]
    pub tests: Vec<TestRaw>,
}

/// One example: a workbook (a fixture path relative to the pipeline file,
/// or `cells` written by the test as one sheet) and what it must give.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct TestRaw {
    pub name: String,
    /// Rows of one sheet, each a list of cell texts ("" for an empty cell;
    /// a whole number such as "12" is written as a number cell, anything
    /// else as text, as a clerk types it: "1.200", "3,5", "012…").
    #[serde(default)]
    pub cells: Vec<Vec<String>>,
    /// The sheet's name for `cells` (default "Sheet1").
    pub sheet: Option<String>,
    /// A workbook file, relative to the pipeline file's folder.
    pub workbook: Option<String>,
    /// Period of the example (default 2026-01-01 .. 2026-06-30).
    pub period: Option<[String; 2]>,
    #[serde(default)]
    pub targets: BTreeMap<String, f64>,
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Expected accepted and rejected row counts.
    pub accepted: Option<usize>,
    pub rejected: Option<usize>,
    /// Expected findings: "CELL code" ("F12 invalid_date"); when given, the
    /// example has exactly these (`findings = []`: none).
    pub findings: Option<Vec<String>>,
    /// Expected figures by indicator id.
    #[serde(default)]
    pub indicators: BTreeMap<String, f64>,
}

/// A sentence of the report in its own wording, with `{indicator:format}`
/// placeholders (see `report::vnfmt::Spec`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParagraphRaw {
    pub template: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineHeader {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Where the department comes in runs and reports (smaller first;
    /// default 1000, then by name).
    pub order: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRaw {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// What one row is ("one row per insured person").
    pub grain: String,
    /// The column, or columns, whose values identify a row across all files:
    /// later rows with a key already seen are rejected as duplicates naming the first.
    pub unique: Option<UniqueRaw>,
    /// How many columns a header row must match to be taken as this table's header.
    pub min_header_matches: Option<usize>,
    /// Groups of columns of which a sheet must have at least one
    /// (e.g. activation as a status or as a date).
    #[serde(default)]
    pub one_of: Vec<Vec<String>>,
    /// The wide layout: a merged group cell over measure sub-columns.
    pub wide: Option<WideRaw>,
    /// Flag (keep, with a warning) rows where `column` equals a value and
    /// another column is empty.
    #[serde(default)]
    pub warn_when: Vec<WarnWhenRaw>,
    pub columns: Vec<ColumnRaw>,
}

/// `unique = "personal_id"` or `unique = ["plot_area", "plot_lot"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum UniqueRaw {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRaw {
    pub name: String,
    /// The Vietnamese label used in outputs a statistician reads.
    pub label: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub required: bool,
    /// "reject" (default) or "warn": an unreadable value is flagged and
    /// treated as empty instead of rejecting the row.
    pub on_invalid: Option<String>,
    /// Personal data: "drop", "hash" or "year" in the public zone (default: kept).
    pub privacy: Option<String>,
    /// Text matched against a list of the commune config: "villages".
    pub list: Option<String>,
    /// Not read under a header: "heading" (the text of the section heading
    /// row above, outermost level), "subheading" (the nearest one) or
    /// "sheet" (the sheet's name). With
    /// `values`, the text is matched to a value by the longest spelling it contains.
    pub source: Option<String>,
    /// Read the cell of this other column's header (a second reading of the
    /// same cell: a deadline as written beside its parsed date).
    pub copy_of: Option<String>,
    /// integer, decimal, money: unit words allowed after the number
    /// ("ha", "lượt", "triệu đồng"); currency words are always allowed.
    #[serde(default)]
    pub units: Vec<String>,
    /// date: "keep" reads a text that is no date ("Thường xuyên") as no
    /// date instead of rejecting it, and a date inside a text ("Trước
    /// 30/6", "Quý II/2026") as that date.
    pub on_text: Option<String>,
    /// integer, decimal, money: `false` for values that do not add up (a
    /// percentage, a rate): total rows are not checked against their sum.
    pub additive: Option<bool>,
    /// integer, decimal, money: the value may not exceed this column's.
    pub max_column: Option<String>,
    /// Severity of the cross-column rules (`not_before_column`,
    /// `max_column`): "error" (default: the row is rejected) or "warning"
    /// (the row counts, with a finding).
    pub rule_severity: Option<String>,
    // id, personal_id
    pub digits: Option<usize>,
    pub pad_numeric: Option<usize>,
    // code
    pub pattern: Option<String>,
    #[serde(default)]
    pub uppercase: bool,
    #[serde(default)]
    pub remove_spaces: bool,
    /// 0-based [start, end) character range holding a 2-digit province code
    /// that should be a known one (warning otherwise).
    pub province_chars: Option<[usize; 2]>,
    // integer, decimal, money: bounds (a value outside is rejected)
    pub min: Option<f64>,
    pub max: Option<f64>,
    // date
    pub not_after: Option<String>,
    pub not_before: Option<String>,
    /// "skip": a date after period.to puts the row out of period (skipped and
    /// counted, not rejected).
    pub after_period: Option<String>,
    /// Reject the row when this date is before the named column's date.
    pub not_before_column: Option<String>,
    // enum: canonical value -> accepted spellings
    pub values: Option<BTreeMap<String, Vec<String>>>,
    // personal_id cross-checks
    pub birth_date_column: Option<String>,
    pub sex_column: Option<String>,
    /// Canonical enum values of `sex_column` meaning male and female.
    pub sex_values: Option<[String; 2]>,
    // derived, age
    pub from: Option<String>,
    /// 0-based [start, end) character range of `from` to take.
    pub chars: Option<[usize; 2]>,
    pub map: Option<BTreeMap<String, Vec<String>>>,
    pub default: Option<String>,
    // deadline: `given` when filled, else `from` + working days
    pub given: Option<String>,
    pub working_days: Option<u32>,
    /// A config [params] key whose value adds working days.
    pub extra_days_param: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorRaw {
    pub id: String,
    pub label: String,
    pub unit: String,
    #[serde(default)]
    pub description: String,
    /// SQL over this pipeline's tables returning one row; its first column is the value.
    pub sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakdownRaw {
    /// Usually the id of the commune-level indicator it breaks down.
    pub id: String,
    /// The dimension column the SQL returns beside `value` (e.g. "village").
    pub by: String,
    /// How people name the dimension ("Bản", "Độ tuổi"); default: the label
    /// of the table column named `by` (required when there is none).
    pub by_label: Option<String>,
    pub label: String,
    pub unit: String,
    pub sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRaw {
    pub id: String,
    /// In Vietnamese: the rule the data must satisfy.
    pub description: String,
    /// Returns the rows that break the rule; no rows is a pass.
    pub sql: String,
    /// "warning" (default: reported) or "error" (also fails the run, exit 1).
    pub severity: Option<String>,
}

/// A wide table: one source row per entity, a merged group cell ("Trâu")
/// over measure sub-columns ("Đầu năm", "Hiện có"). Unpivoted to one row per
/// entity and group, the group's text becoming the value of `group_column`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WideRaw {
    pub group_column: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarnWhenRaw {
    pub column: String,
    pub equals: String,
    pub missing: String,
    pub code: String,
    /// In Vietnamese.
    pub reason: String,
}
