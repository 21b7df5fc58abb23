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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRaw {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// What one row is ("one row per insured person").
    pub grain: String,
    /// A column whose value identifies a row across all files: later rows with
    /// a value already seen are rejected as duplicates naming the first.
    pub unique: Option<String>,
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
