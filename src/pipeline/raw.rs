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
    // date
    pub not_after: Option<String>,
    pub not_before: Option<String>,
    // enum: canonical value -> accepted spellings
    pub values: Option<BTreeMap<String, Vec<String>>>,
    // personal_id cross-checks
    pub birth_date_column: Option<String>,
    pub sex_column: Option<String>,
    /// Canonical enum values of `sex_column` meaning male and female.
    pub sex_values: Option<[String; 2]>,
    // derived
    pub from: Option<String>,
    /// 0-based [start, end) character range of `from` to take.
    pub chars: Option<[usize; 2]>,
    pub map: Option<BTreeMap<String, Vec<String>>>,
    pub default: Option<String>,
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
