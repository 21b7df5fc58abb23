//! One workbook of one pipeline -> accepted rows, findings and a report of
//! what happened to every sheet and row. Runs in parallel across workbooks;
//! the workbook's cells are dropped when this returns, so memory is bounded by
//! the largest workbook, not the sum.

use crate::config::Period;
use crate::ingest::{self, Grid, IngestError};
use crate::pipeline::{ColumnKind, Pipeline, Table};
use crate::shape::{self, HeaderMatch, RowClassifier, RowKind, cell_text};
use crate::table::Batch;
use crate::values::{self, Problem, Value, ident};
use calamine::{Data, DataType};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A rejected cell or a flagged value, with the exact place it came from.
#[derive(Debug, Clone, Serialize)]
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SheetStatus {
    Read,
    Hidden,
    NotWorksheet,
    NoTable,
    Error,
}

#[derive(Debug, Clone, Serialize)]
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
    pub rows_read: u32,
    pub accepted: u32,
    pub rejected: u32,
    pub skipped: u32,
    pub skipped_by_kind: BTreeMap<String, u32>,
    pub warning_rows: u32,
}

impl SheetReport {
    fn new(name: &str, status: SheetStatus) -> SheetReport {
        SheetReport {
            name: name.to_string(),
            status,
            table: None,
            reason: None,
            header_row: None,
            header_rows: 0,
            columns: BTreeMap::new(),
            rows_read: 0,
            accepted: 0,
            rejected: 0,
            skipped: 0,
            skipped_by_kind: BTreeMap::new(),
            warning_rows: 0,
        }
    }

    fn skip(&mut self, kind: &str, n: u32) {
        if n > 0 {
            self.skipped += n;
            *self.skipped_by_kind.entry(kind.to_string()).or_default() += n;
        }
    }
}

/// Everything one workbook produced.
pub struct FileOutcome {
    pub pipeline: String,
    /// Path relative to the inbox, with `/`.
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub format: Option<ingest::Format>,
    /// The file-level error that stopped it (unreadable, or a sheet lacking a required column).
    pub errors: Vec<String>,
    pub sheets: Vec<SheetReport>,
    pub unknown_columns: Vec<String>,
    /// Per table of the pipeline, in declared order.
    pub batches: Vec<Batch>,
    pub findings: Vec<Finding>,
}

impl FileOutcome {
    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
    pub fn sheet_names(&self) -> Vec<String> {
        self.sheets.iter().map(|s| s.name.clone()).collect()
    }
}

/// Read and process one workbook. Never panics outward: a reader crash becomes
/// a file error like any other.
pub fn process_file(pipeline: &Pipeline, abs: &Path, rel: &str, period: &Period) -> FileOutcome {
    let mut out = FileOutcome {
        pipeline: pipeline.name.clone(),
        path: rel.to_string(),
        sha256: String::new(),
        bytes: 0,
        format: None,
        errors: Vec::new(),
        sheets: Vec::new(),
        unknown_columns: Vec::new(),
        batches: pipeline.tables.iter().map(Batch::new).collect(),
        findings: Vec::new(),
    };
    let bytes = match std::fs::read(abs) {
        Ok(b) => b,
        Err(e) => {
            out.errors
                .push(format!("không đọc được tệp / cannot read file: {e}"));
            return out;
        }
    };
    out.bytes = bytes.len() as u64;
    out.sha256 = crate::pipeline::hex_digest(&Sha256::digest(&bytes));
    let ext = abs
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_workbook(pipeline, bytes, &ext, rel, period, &mut out)
    }));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => out.errors.push(e.to_string()),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("panic");
            out.errors
                .push(IngestError::Crashed(msg.to_string()).to_string());
            // Whatever was half-read from this workbook is not trusted.
            out.batches = pipeline.tables.iter().map(Batch::new).collect();
            out.findings.clear();
        }
    }
    out
}

fn read_workbook(
    pipeline: &Pipeline,
    bytes: Vec<u8>,
    ext: &str,
    rel: &str,
    period: &Period,
    out: &mut FileOutcome,
) -> Result<(), IngestError> {
    let mut wb = ingest::open(bytes, ext)?;
    out.format = Some(wb.format);
    let infos: Vec<(String, bool, bool)> = wb
        .sheet_infos
        .iter()
        .map(|s| (s.name.clone(), s.visible, s.is_worksheet))
        .collect();
    for (sheet_index, (name, visible, is_worksheet)) in infos.into_iter().enumerate() {
        let _span = tracing::debug_span!("sheet", stage = "shape", sheet = %name).entered();
        if !is_worksheet {
            let mut r = SheetReport::new(&name, SheetStatus::NotWorksheet);
            r.reason = Some("không phải trang tính (biểu đồ / macro) / not a worksheet".into());
            out.sheets.push(r);
            continue;
        }
        let grid = match wb.grid(&name) {
            Ok(g) => g,
            Err(e) => {
                let mut r = SheetReport::new(&name, SheetStatus::Error);
                r.reason = Some(e.to_string());
                out.errors.push(format!("sheet \"{name}\": {e}"));
                out.sheets.push(r);
                continue;
            }
        };
        if !visible {
            let mut r = SheetReport::new(&name, SheetStatus::Hidden);
            r.reason = Some("sheet ẩn, không đọc / hidden sheet, skipped".into());
            r.rows_read = grid.height();
            r.skip("hidden_sheet", grid.height());
            out.sheets.push(r);
            continue;
        }
        let report = read_sheet(pipeline, &grid, sheet_index as u32, &name, rel, period, out);
        out.sheets.push(report);
    }
    Ok(())
}

/// Choose the table whose header this sheet matches best.
fn best_table<'p>(pipeline: &'p Pipeline, grid: &Grid) -> Option<(usize, &'p Table, HeaderMatch)> {
    let mut best: Option<(usize, &Table, HeaderMatch)> = None;
    for (i, t) in pipeline.tables.iter().enumerate() {
        if let Some(h) = shape::find_header(grid, t)
            && best.as_ref().is_none_or(|(_, _, b)| h.score > b.score)
        {
            best = Some((i, t, h));
        }
    }
    best
}

fn display_value(d: &Data) -> String {
    match d {
        Data::DateTime(_) => d
            .as_date()
            .map(|x| x.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|| cell_text(d).into_owned()),
        _ => cell_text(d).into_owned(),
    }
}

fn read_sheet(
    pipeline: &Pipeline,
    grid: &Grid,
    sheet_index: u32,
    name: &str,
    rel: &str,
    period: &Period,
    out: &mut FileOutcome,
) -> SheetReport {
    let height = grid.height();
    let Some((ti, table, header)) = best_table(pipeline, grid) else {
        let mut r = SheetReport::new(name, SheetStatus::NoTable);
        r.reason = Some("không tìm thấy dòng tiêu đề của bảng nào / no table header found".into());
        r.rows_read = height;
        r.skip("no_table", height);
        return r;
    };
    let mut r = SheetReport::new(name, SheetStatus::Read);
    r.table = Some(table.name.clone());
    r.rows_read = height;
    r.header_row = Some(header.row + 1);
    r.header_rows = header.height;
    for (c, src) in table.columns.iter().zip(&header.columns) {
        if let Some(s) = src {
            r.columns.insert(c.name.clone(), ingest::column_letters(*s));
        }
    }
    for u in header.unknown.iter().chain(&header.ambiguous) {
        if !out.unknown_columns.contains(u) {
            out.unknown_columns.push(u.clone());
        }
    }
    let missing: Vec<String> = table
        .columns
        .iter()
        .zip(&header.columns)
        .filter(|(c, src)| c.required && src.is_none() && c.kind.is_source())
        .map(|(c, _)| format!("'{}' (đã thử / tried: {})", c.label, c.aliases.join(", ")))
        .chain(
            table
                .one_of
                .iter()
                .filter(|group| group.iter().all(|&i| header.columns[i].is_none()))
                .map(|group| {
                    let names: Vec<String> = group
                        .iter()
                        .map(|&i| {
                            let c = &table.columns[i];
                            format!("'{}' (đã thử / tried: {})", c.label, c.aliases.join(", "))
                        })
                        .collect();
                    format!("một trong các cột / one of {}", names.join(" hoặc / or "))
                }),
        )
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "sheet \"{name}\": không tìm thấy cột bắt buộc / missing required column {} (dòng tiêu đề / header row {})",
            missing.join("; "),
            header.row + 1
        );
        out.errors.push(msg.clone());
        r.status = SheetStatus::Error;
        r.reason = Some(msg);
        r.skip("sheet_error", height);
        return r;
    }
    r.skip(kind_name(RowKind::Title), header.row);
    r.skip(
        kind_name(RowKind::Header),
        header.height.min(height - header.row),
    );
    if header.numbering_row {
        r.skip(kind_name(RowKind::Numbering), 1);
    }
    let mut classifier = RowClassifier::new(grid, table, &header);
    for row in header.data_start()..height {
        let kind = classifier.classify(row);
        if kind != RowKind::Data {
            r.skip(kind_name(kind), 1);
            continue;
        }
        let RowResult {
            values,
            problems,
            warnings,
            out_of_period,
        } = convert_row(table, grid, &header, row, period);
        if out_of_period {
            r.skip("out_of_period", 1);
            continue;
        }
        let finding = |col: usize, p: Problem, severity: Severity| {
            let c = &table.columns[col];
            let src = header.columns[col];
            Finding {
                pipeline: pipeline.name.clone(),
                table: table.name.clone(),
                file: rel.to_string(),
                sheet: name.to_string(),
                row: row + 1,
                cell: src.map(|s| ingest::a1(row, s)).unwrap_or_default(),
                column: c.name.clone(),
                header: header.header_text[col].clone(),
                value: src
                    .map(|s| display_value(grid.data(row, s)))
                    .unwrap_or_default(),
                severity,
                code: p.code.to_string(),
                reason: p.reason,
                related: String::new(),
            }
        };
        if problems.is_empty() {
            r.accepted += 1;
            if !warnings.is_empty() {
                r.warning_rows += 1;
            }
            for (col, p) in warnings {
                out.findings.push(finding(col, p, Severity::Warning));
            }
            out.batches[ti].push(values, sheet_index, row + 1);
        } else {
            r.rejected += 1;
            for (col, p) in problems {
                out.findings.push(finding(col, p, Severity::Error));
            }
        }
    }
    r
}

pub fn kind_name(k: RowKind) -> &'static str {
    match k {
        RowKind::Title => "title",
        RowKind::Header => "header",
        RowKind::Numbering => "numbering",
        RowKind::Blank => "blank",
        RowKind::Subtotal => "subtotal",
        RowKind::Footer => "footer",
        RowKind::Label => "label",
        RowKind::Data => "data",
    }
}

/// One converted data row.
pub struct RowResult {
    pub values: Vec<Value>,
    /// Errors: the row is rejected.
    pub problems: Vec<(usize, Problem)>,
    /// Warnings: the row is kept and flagged.
    pub warnings: Vec<(usize, Problem)>,
    /// A date marked `after_period = "skip"` lies after period.to: the row is
    /// outside this report (skipped and counted, whatever else is wrong with it).
    pub out_of_period: bool,
}

/// Convert one data row: values per logical column, then errors (reject the
/// row) and warnings (keep it, flag it).
pub fn convert_row(
    table: &Table,
    grid: &Grid,
    header: &HeaderMatch,
    row: u32,
    period: &Period,
) -> RowResult {
    let mut values = vec![Value::Null; table.columns.len()];
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for (i, col) in table.source_columns() {
        let Some(src) = header.columns[i] else {
            continue;
        };
        match values::convert(grid.data(row, src), col, period) {
            Ok(Value::Null) if col.required => {
                problems.push((
                    i,
                    Problem::new(
                        "missing_value",
                        format!("Thiếu {} (cột bắt buộc)", col.label),
                    ),
                ));
            }
            Ok(v) => values[i] = v,
            Err(p) => problems.push((i, p)),
        }
    }
    let mut out_of_period = false;
    for (i, col) in table.columns.iter().enumerate() {
        match &col.kind {
            ColumnKind::Derived { from, .. } => {
                values[i] = values::derive(&values[*from], &col.kind);
            }
            ColumnKind::Age { from } => {
                if let Value::Date(birth) = values[*from] {
                    values[i] = Value::Int(i64::from(values::date::age_at(birth, period.to)));
                }
            }
            ColumnKind::Date {
                skip_after_period,
                not_before_column,
                ..
            } => {
                if let Value::Date(d) = values[i] {
                    out_of_period |= *skip_after_period && d > period.to;
                    if let Some(other) = not_before_column
                        && let Value::Date(o) = values[*other]
                        && d < o
                    {
                        problems.push((
                            i,
                            Problem::new(
                                "date_order",
                                format!(
                                    "{} {} trước {} {}",
                                    col.label,
                                    d.format("%d/%m/%Y"),
                                    table.columns[*other].label,
                                    o.format("%d/%m/%Y")
                                ),
                            ),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    problems.sort_by_key(|(i, _)| *i);
    if problems.is_empty() {
        cross_checks(table, &values, &mut warnings);
    }
    RowResult {
        values,
        problems,
        warnings,
        out_of_period,
    }
}

fn province_known(code: &str) -> bool {
    code.parse::<u16>().is_ok_and(ident::is_province_code)
}

/// Checks that flag a value without rejecting the row.
fn cross_checks(table: &Table, values: &[Value], warnings: &mut Vec<(usize, Problem)>) {
    for (i, col) in table.columns.iter().enumerate() {
        match &col.kind {
            ColumnKind::PersonalId { birth_date, sex } => {
                let Some(id) = values[i].as_text() else {
                    continue;
                };
                let Some(decoded) = ident::decode_personal_id(id) else {
                    continue;
                };
                if !province_known(&id[0..3]) {
                    warnings.push((
                        i,
                        Problem::new(
                            "unknown_province",
                            format!(
                                "Mã tỉnh '{}' ở đầu {} không có trong danh mục 63 tỉnh",
                                &id[0..3],
                                col.label
                            ),
                        ),
                    ));
                }
                if let Some(b) = birth_date
                    && let Value::Date(d) = values[*b]
                    && !ident::birth_year_matches(&decoded, d)
                {
                    warnings.push((
                        i,
                        Problem::new(
                            "id_birth_year_mismatch",
                            format!(
                                "Năm sinh theo {} là {}, khác ngày sinh {}",
                                col.label,
                                decoded.birth_year,
                                d.format("%d/%m/%Y")
                            ),
                        ),
                    ));
                }
                if let Some((s, male, female)) = sex
                    && let Some(v) = values[*s].as_text()
                {
                    let expected = match decoded.sex {
                        ident::IdSex::Male => male,
                        ident::IdSex::Female => female,
                    };
                    if (v == male || v == female) && v != expected {
                        warnings.push((
                            i,
                            Problem::new(
                                "id_sex_mismatch",
                                format!(
                                    "Giới tính theo {} là '{}', khác cột giới tính '{}'",
                                    col.label, expected, v
                                ),
                            ),
                        ));
                    }
                }
            }
            ColumnKind::Code {
                province_chars: Some((a, b)),
                ..
            } => {
                let Some(code) = values[i].as_text() else {
                    continue;
                };
                let piece: String = code.chars().skip(*a).take(b.saturating_sub(*a)).collect();
                if !province_known(&piece) {
                    warnings.push((
                        i,
                        Problem::new(
                            "unknown_province",
                            format!(
                                "Mã tỉnh '{piece}' trong {} không có trong danh mục 63 tỉnh",
                                col.label
                            ),
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}
