//! Accepted rows, column by column, and their conversion to polars frames.

use crate::pipeline::{Storage, Table};
use crate::values::Value;
use chrono::NaiveDate;
use polars::prelude::*;

/// One logical column's accepted values.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum ColumnData {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Date(Vec<Option<NaiveDate>>),
    /// A text column after its rows went to a part, kept for duplicates
    /// only: every value in one buffer, value `i` ending at `ends[i]` (an
    /// empty value is a missing one). 16 bytes a 12-digit ID instead of ~48.
    Packed {
        text: String,
        ends: Vec<u32>,
    },
}

impl ColumnData {
    fn new(storage: Storage) -> ColumnData {
        match storage {
            Storage::Text | Storage::Category => ColumnData::Text(Vec::new()),
            Storage::Int => ColumnData::Int(Vec::new()),
            Storage::Float => ColumnData::Float(Vec::new()),
            Storage::Date => ColumnData::Date(Vec::new()),
        }
    }

    fn push(&mut self, v: Value) {
        match (self, v) {
            (ColumnData::Text(c), Value::Text(s)) => c.push(Some(s)),
            (ColumnData::Int(c), Value::Int(i)) => c.push(Some(i)),
            (ColumnData::Float(c), Value::Float(f)) => c.push(Some(f)),
            (ColumnData::Float(c), Value::Int(i)) => c.push(Some(i as f64)),
            (ColumnData::Date(c), Value::Date(d)) => c.push(Some(d)),
            (ColumnData::Text(c), _) => c.push(None),
            (ColumnData::Int(c), _) => c.push(None),
            (ColumnData::Float(c), _) => c.push(None),
            (ColumnData::Date(c), _) => c.push(None),
            // Never pushed to: a packed column belongs to a finished workbook.
            (ColumnData::Packed { .. }, _) => {}
        }
    }

    fn empty_like(&self) -> ColumnData {
        match self {
            ColumnData::Text(_) => ColumnData::Text(Vec::new()),
            ColumnData::Int(_) => ColumnData::Int(Vec::new()),
            ColumnData::Float(_) => ColumnData::Float(Vec::new()),
            ColumnData::Date(_) => ColumnData::Date(Vec::new()),
            ColumnData::Packed { .. } => ColumnData::Packed {
                text: String::new(),
                ends: Vec::new(),
            },
        }
    }

    fn packed(&self) -> Option<ColumnData> {
        let ColumnData::Text(v) = self else {
            return None;
        };
        let mut text = String::with_capacity(v.iter().flatten().map(|s| s.len()).sum());
        let mut ends = Vec::with_capacity(v.len());
        for s in v {
            text.push_str(s.as_deref().unwrap_or(""));
            ends.push(u32::try_from(text.len()).ok()?);
        }
        Some(ColumnData::Packed { text, ends })
    }

    /// Value `i` as key text, whatever the storage: the text itself, or the
    /// number or date written out (part of a composite key).
    pub fn key_text(&self, i: usize) -> Option<std::borrow::Cow<'_, str>> {
        use std::borrow::Cow;
        match self {
            ColumnData::Int(c) => c
                .get(i)
                .copied()
                .flatten()
                .map(|v| Cow::Owned(v.to_string())),
            ColumnData::Float(c) => c
                .get(i)
                .copied()
                .flatten()
                .map(|v| Cow::Owned(v.to_string())),
            ColumnData::Date(c) => c
                .get(i)
                .copied()
                .flatten()
                .map(|v| Cow::Owned(v.to_string())),
            _ => self.text(i).map(Cow::Borrowed),
        }
    }

    pub fn text(&self, i: usize) -> Option<&str> {
        match self {
            ColumnData::Text(c) => c.get(i).and_then(|v| v.as_deref()),
            ColumnData::Packed { text, ends } => {
                let end = *ends.get(i)? as usize;
                let start = if i == 0 { 0 } else { ends[i - 1] as usize };
                (end > start).then(|| &text[start..end])
            }
            _ => None,
        }
    }
}

/// The accepted rows of one table from one workbook, with provenance.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Batch {
    pub columns: Vec<ColumnData>,
    /// Index into the workbook's sheet list.
    pub sheet: Vec<u32>,
    /// 1-based sheet row.
    pub row: Vec<u32>,
    /// Rows later found to be duplicates are dropped when the frame is built.
    pub keep: Vec<bool>,
}

impl Batch {
    /// The key of row `i` over `key` columns: borrowed for one text column,
    /// the parts joined by U+001F for several; `None` when a part is empty.
    pub fn key_of(&self, key: &[usize], i: usize) -> Option<std::borrow::Cow<'_, str>> {
        match key {
            [one] => self.columns[*one].key_text(i),
            many => {
                let mut out = String::new();
                for (n, &c) in many.iter().enumerate() {
                    if n > 0 {
                        out.push('\u{1f}');
                    }
                    out.push_str(&self.columns[c].key_text(i)?);
                }
                Some(std::borrow::Cow::Owned(out))
            }
        }
    }

    pub fn new(table: &Table) -> Batch {
        Batch {
            columns: table
                .columns
                .iter()
                .map(|c| ColumnData::new(c.kind.storage()))
                .collect(),
            sheet: Vec::new(),
            row: Vec::new(),
            keep: Vec::new(),
        }
    }

    pub fn push(&mut self, values: Vec<Value>, sheet: u32, row: u32) {
        for (col, v) in self.columns.iter_mut().zip(values) {
            col.push(v);
        }
        self.sheet.push(sheet);
        self.row.push(row);
        self.keep.push(true);
    }

    pub fn len(&self) -> usize {
        self.row.len()
    }

    /// Free every column but `key` (the unique column, needed to settle
    /// duplicates across workbooks) once the rows are written to a part.
    pub fn retain_key_only(&mut self, key: &[usize]) {
        for (i, c) in self.columns.iter_mut().enumerate() {
            if !key.contains(&i) {
                *c = c.empty_like();
            } else if let Some(p) = c.packed() {
                *c = p;
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }
}

/// A batch together with the names its provenance indices refer to.
pub struct SourcedBatch<'a> {
    pub batch: &'a Batch,
    pub file: &'a str,
    pub sheet_names: &'a [String],
}

fn days(d: NaiveDate) -> i32 {
    const EPOCH_DAYS_FROM_CE: i32 = 719_163;
    chrono::Datelike::num_days_from_ce(&d) - EPOCH_DAYS_FROM_CE
}

/// Build the normalised frame of `table` from every batch (kept rows only), in
/// the order given. Columns: the logical columns in declared order, then
/// `source_file`, `source_sheet`, `source_row`.
pub fn build_frame(table: &Table, batches: &[SourcedBatch<'_>]) -> PolarsResult<DataFrame> {
    let total: usize = batches
        .iter()
        .map(|b| b.batch.keep.iter().filter(|k| **k).count())
        .sum();
    let mut out: Vec<Column> = Vec::with_capacity(table.columns.len() + 3);
    for (ci, col) in table.columns.iter().enumerate() {
        let name = PlSmallStr::from(col.name.as_str());
        let series = match col.kind.storage() {
            Storage::Text | Storage::Category => {
                let mut v: Vec<Option<&str>> = Vec::with_capacity(total);
                for sb in batches {
                    if let ColumnData::Text(c) = &sb.batch.columns[ci] {
                        v.extend(
                            c.iter()
                                .zip(&sb.batch.keep)
                                .filter(|(_, k)| **k)
                                .map(|(x, _)| x.as_deref()),
                        );
                    }
                }
                let s = Series::new(name, v);
                if col.kind.storage() == Storage::Category {
                    s.cast(&DataType::from_categories(Categories::global()))?
                } else {
                    s
                }
            }
            Storage::Int => {
                let mut v: Vec<Option<i64>> = Vec::with_capacity(total);
                for sb in batches {
                    if let ColumnData::Int(c) = &sb.batch.columns[ci] {
                        v.extend(
                            c.iter()
                                .zip(&sb.batch.keep)
                                .filter(|(_, k)| **k)
                                .map(|(x, _)| *x),
                        );
                    }
                }
                Series::new(name, v)
            }
            Storage::Float => {
                let mut v: Vec<Option<f64>> = Vec::with_capacity(total);
                for sb in batches {
                    if let ColumnData::Float(c) = &sb.batch.columns[ci] {
                        v.extend(
                            c.iter()
                                .zip(&sb.batch.keep)
                                .filter(|(_, k)| **k)
                                .map(|(x, _)| *x),
                        );
                    }
                }
                Series::new(name, v)
            }
            Storage::Date => {
                let mut v: Vec<Option<i32>> = Vec::with_capacity(total);
                for sb in batches {
                    if let ColumnData::Date(c) = &sb.batch.columns[ci] {
                        v.extend(
                            c.iter()
                                .zip(&sb.batch.keep)
                                .filter(|(_, k)| **k)
                                .map(|(x, _)| x.map(days)),
                        );
                    }
                }
                Series::new(name, v).cast(&DataType::Date)?
            }
        };
        out.push(series.into());
    }
    let mut files: Vec<&str> = Vec::with_capacity(total);
    let mut sheets: Vec<&str> = Vec::with_capacity(total);
    let mut rows: Vec<i64> = Vec::with_capacity(total);
    for sb in batches {
        for i in 0..sb.batch.len() {
            if sb.batch.keep[i] {
                files.push(sb.file);
                sheets.push(sb.sheet_names[sb.batch.sheet[i] as usize].as_str());
                rows.push(i64::from(sb.batch.row[i]));
            }
        }
    }
    out.push(Series::new("source_file".into(), files).into());
    out.push(Series::new("source_sheet".into(), sheets).into());
    out.push(Series::new("source_row".into(), rows).into());
    DataFrame::new(total, out)
}
