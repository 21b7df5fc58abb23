//! Pipeline definitions: what a department's workbooks contain and which
//! figures the report quotes. A department is a TOML file; this module turns it
//! into a checked [`Pipeline`] that the other stages trust.
//!
//! The four departments of the seed report are compiled into the binary
//! (`pipelines/*.toml`); a config may point at a folder of its own instead.

mod compile;
mod raw;
pub mod template;

pub use compile::{compile_pipeline, compile_pipeline_with, hex as hex_digest, hex_into, load_dir};
pub use raw::TestRaw as PipelineTest;

/// A commune's extra spellings for one column of a pipeline (its config's
/// `[aliases]`): more header texts, more spellings of an enum's values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spellings {
    pub headers: Vec<String>,
    /// Canonical enum value -> more accepted spellings.
    pub values: std::collections::BTreeMap<String, Vec<String>>,
}

impl Pipeline {
    /// How people read a member of a breakdown: when the dimension is an
    /// enum column of one of the tables, the value's first spelling in the
    /// pipeline file ("trau" is "Trâu"); a month column's 3 is "Tháng 3";
    /// else `None` (the member as it is).
    pub fn member_label(&self, by: &str, key: &str) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        self.tables
            .iter()
            .flat_map(|t| t.columns.iter())
            .filter(|c| c.name == by)
            .find_map(|c| match &c.kind {
                ColumnKind::Enum { labels, .. } | ColumnKind::Context { labels, .. } => {
                    labels.get(key).map(|l| Cow::Borrowed(l.as_str()))
                }
                ColumnKind::Month => key
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (1..=12).contains(m))
                    .map(|m| Cow::Owned(format!("Tháng {m}"))),
                _ => None,
            })
    }
}

/// Extra spellings by `pipeline.table.column`.
pub type Aliases = std::collections::BTreeMap<String, Spellings>;

/// The built-in definitions, or the folder's, with a commune's extra
/// spellings applied (a key naming no pipeline, table or column is an
/// error naming the key).
pub fn load(
    dir: Option<&std::path::Path>,
    aliases: &Aliases,
) -> Result<Vec<Pipeline>, Vec<String>> {
    let sources: Vec<(String, String)> = match dir {
        None => BUILTIN
            .iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
        Some(d) => compile::read_dir(d)?,
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in &sources {
        match compile_pipeline_with(path, text, aliases) {
            Ok(p) => out.push(p),
            Err(mut e) => errors.append(&mut e),
        }
    }
    sort_pipelines(&mut out);
    let mut seen = std::collections::HashSet::new();
    for p in &out {
        if !seen.insert(p.name.clone()) {
            errors.push(format!(
                "{}: pipeline name '{}' is defined twice",
                dir.map_or("pipelines".into(), |d| d.display().to_string()),
                p.name
            ));
        }
    }
    for key in aliases.keys() {
        let pipeline = key.split('.').next().unwrap_or_default();
        if !out.iter().any(|p| p.name == pipeline) && errors.is_empty() {
            let known: Vec<&str> = out.iter().map(|p| p.name.as_str()).collect();
            errors.push(format!(
                "[aliases] \"{key}\": no pipeline '{pipeline}' (known: {})",
                known.join(", ")
            ));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The run and report order: `[pipeline] order`, then name.
fn sort_pipelines(ps: &mut [Pipeline]) {
    ps.sort_by(|a, b| a.order.cmp(&b.order).then_with(|| a.name.cmp(&b.name)));
}

use regex::Regex;

/// Definitions shipped with the binary: every `pipelines/*.toml`, listed by
/// `build.rs` in file-name order. They run in their `[pipeline] order`.
pub const BUILTIN: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/builtin_pipelines.rs"));

/// Compile the built-in definitions.
pub fn builtin() -> Result<Vec<Pipeline>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (path, text) in BUILTIN {
        match compile_pipeline(path, text) {
            Ok(p) => out.push(p),
            Err(mut e) => errors.append(&mut e),
        }
    }
    sort_pipelines(&mut out);
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[derive(Debug)]
pub struct Pipeline {
    pub name: String,
    /// `[pipeline] order`: runs and reports list pipelines by it, then by name.
    pub order: i64,
    pub title: String,
    pub description: String,
    pub source: String,
    /// A hash of the definition text, so outputs can say which definition made them.
    pub fingerprint: String,
    pub tables: Vec<Table>,
    pub indicators: Vec<Indicator>,
    pub breakdowns: Vec<Breakdown>,
    pub checks: Vec<Check>,
    /// Report sentences with `{indicator:format}` placeholders.
    pub paragraphs: Vec<String>,
    /// `[[tests]]`: examples the pipeline must pass (`tonghop test`).
    pub tests: Vec<PipelineTest>,
}

#[derive(Debug)]
pub struct Table {
    pub name: String,
    pub description: String,
    pub grain: String,
    /// The key columns (one, or several for a composite key); empty: none.
    pub unique: Vec<usize>,
    pub min_header_matches: usize,
    /// Groups of column indices of which a sheet must map at least one.
    pub one_of: Vec<Vec<usize>>,
    /// Wide layout: the column whose values are the merged group headers.
    pub wide_group: Option<usize>,
    pub warn_when: Vec<WarnWhen>,
    pub columns: Vec<Column>,
}

impl Table {
    /// Columns read from the sheet (not derived), with their index.
    pub fn source_columns(&self) -> impl Iterator<Item = (usize, &Column)> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind.is_source())
    }
}

#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub label: String,
    pub description: String,
    /// The aliases as written, for error messages.
    pub aliases: Vec<String>,
    /// The aliases as comparison keys (see `values::text::header_key`).
    pub alias_keys: Vec<String>,
    pub required: bool,
    /// An unreadable value is a warning (value treated as empty), not a reject.
    pub warn_on_invalid: bool,
    /// How the public zone shows this column.
    pub privacy: Privacy,
    /// Bounds for numeric columns.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// A text column whose values are names from the commune's list
    /// (`list = "villages"`): written spellings become the canonical name.
    pub list: Option<String>,
    /// Unit words allowed after a number, as value keys ("ha", "lượt").
    pub units: Vec<String>,
    /// Reads the source cell of this other column (`copy_of`).
    pub copy_of: Option<usize>,
    /// The value may not exceed this column's (`max_column`).
    pub max_column: Option<usize>,
    /// Cross-column rules give warnings, not rejections (`rule_severity`).
    pub rule_warns: bool,
    /// Values add up, so total rows are checked against their sum (`additive`).
    pub additive: bool,
    pub kind: ColumnKind,
}

/// Where a context column's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextFrom {
    /// The outermost section heading above the row.
    Heading,
    /// The innermost one (the nearest parent: "1. Thu ngân sách xã hưởng
    /// 100%" under "I. TỔNG THU").
    Subheading,
    /// The sheet's name.
    Sheet,
}

/// A date bound: the period's ends are resolved per run, from the config.
#[derive(Debug, Clone, Copy)]
pub enum DateBound {
    PeriodFrom,
    PeriodTo,
    Fixed(chrono::NaiveDate),
}

#[derive(Debug)]
pub enum ColumnKind {
    Text,
    Id {
        digits: usize,
        pad_numeric: usize,
    },
    PersonalId {
        birth_date: Option<usize>,
        sex: Option<(usize, String, String)>,
    },
    Code {
        pattern: Regex,
        uppercase: bool,
        remove_spaces: bool,
        province_chars: Option<(usize, usize)>,
    },
    Integer,
    Decimal,
    Money,
    Date {
        not_after: Option<DateBound>,
        not_before: Option<DateBound>,
        /// A date after period.to puts the row out of period.
        skip_after_period: bool,
        /// Reject when before this column's date.
        not_before_column: Option<usize>,
        /// A text that is no date is no date (NULL), not an error; a date
        /// inside a text ("Trước 30/6") is read.
        keep_text: bool,
    },
    /// A month of the year, 1..=12: "Tháng 3", "T3", "03/2026", 3.
    Month,
    /// Text from the row's surroundings (a heading, the sheet name),
    /// optionally matched to canonical values by the longest contained spelling.
    Context {
        from: ContextFrom,
        /// (spelling key, canonical), longest spelling first; empty: the text as it is.
        spellings: Vec<(String, String)>,
        labels: std::collections::BTreeMap<String, String>,
    },
    /// Whole years from a date column to period.to, by birthdays.
    Age {
        from: usize,
    },
    /// `given` when filled, else `from` plus working days (weekends and the
    /// holiday calendar skipped), plus a config parameter's extra days.
    Deadline {
        from: usize,
        given: Option<usize>,
        working_days: u32,
        extra_days_param: Option<String>,
    },
    Enum {
        /// value key (see `values::text::value_key`) -> canonical value
        lookup: foldhash::HashMap<String, String>,
        /// The first spelling of each value as the pipeline file writes it
        /// ("Nam", "Nữ"): what a reason tells the department to write.
        shown: Vec<String>,
        /// Canonical value -> that spelling: how outputs people read name
        /// the value ("trau" is "Trâu").
        labels: std::collections::BTreeMap<String, String>,
    },
    Derived {
        from: usize,
        chars: Option<(usize, usize)>,
        map: foldhash::HashMap<String, String>,
        default: Option<String>,
    },
}

/// The storage type of a column in the normalised tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Text,
    Category,
    Int,
    Float,
    Date,
}

impl ColumnKind {
    /// Read from the sheet (as opposed to computed from other columns).
    pub fn is_source(&self) -> bool {
        !matches!(
            self,
            ColumnKind::Derived { .. }
                | ColumnKind::Age { .. }
                | ColumnKind::Deadline { .. }
                | ColumnKind::Context { .. }
        )
    }

    pub fn storage(&self) -> Storage {
        match self {
            ColumnKind::Text
            | ColumnKind::Id { .. }
            | ColumnKind::PersonalId { .. }
            | ColumnKind::Code { .. } => Storage::Text,
            ColumnKind::Enum { .. } | ColumnKind::Derived { .. } => Storage::Category,
            ColumnKind::Context { spellings, .. } if !spellings.is_empty() => Storage::Category,
            ColumnKind::Context { .. } => Storage::Text,
            ColumnKind::Integer
            | ColumnKind::Money
            | ColumnKind::Age { .. }
            | ColumnKind::Month => Storage::Int,
            ColumnKind::Decimal => Storage::Float,
            ColumnKind::Date { .. } | ColumnKind::Deadline { .. } => Storage::Date,
        }
    }
}

#[derive(Debug)]
pub struct Indicator {
    pub id: String,
    pub label: String,
    pub unit: String,
    pub description: String,
    pub sql: String,
}

#[derive(Debug)]
pub struct Breakdown {
    pub id: String,
    pub by: String,
    /// The dimension as people name it ("Bản").
    pub by_label: String,
    pub label: String,
    pub unit: String,
    pub sql: String,
}

#[derive(Debug)]
pub struct Check {
    pub id: String,
    pub description: String,
    pub sql: String,
    /// A failed check is a finding of this severity; an error fails the run.
    pub severity: crate::model::Severity,
}

/// Keep the row but flag it when `column` equals `equals` and `missing` is empty.
#[derive(Debug)]
pub struct WarnWhen {
    pub column: usize,
    pub equals: String,
    pub missing: usize,
    pub code: String,
    pub reason: String,
}

/// How a column appears in the public zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    Keep,
    /// Left out (names).
    Drop,
    /// Replaced by a keyed hash (IDs, card codes).
    Hash,
    /// A date reduced to its year (birth dates).
    Year,
}
