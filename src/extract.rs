//! One workbook of one pipeline -> accepted rows, findings and a report of
//! what happened to every sheet and row. Runs in parallel across workbooks;
//! the workbook's cells are dropped when this returns, so memory is bounded by
//! the largest workbook, not the sum.

pub use crate::model::{Exclusion, Finding, Severity, SheetReport, SheetStatus};
pub use crate::outcome::{Excluded, FileOutcome};

use crate::config::RunContext;
use crate::ingest::{self, Grid, IngestError};
use crate::model::{Cause, WorkbookError};
use crate::pipeline::{ColumnKind, ContextFrom};
use crate::pipeline::{Pipeline, Table};
use crate::rows::{Located, Surround, convert_long_row, convert_wide_row};
use crate::shape::{self, HeaderMatch, RowClassifier, RowKind, cell_text};
use calamine::{Data, DataType};
use std::path::Path;

/// Read and process one workbook. Never panics outward: a reader crash becomes
/// a file error like any other.
pub fn process_file(pipeline: &Pipeline, abs: &Path, rel: &str, ctx: &RunContext) -> FileOutcome {
    process_file_keeping(pipeline, abs, rel, ctx, &mut Kept::none())
}

/// The decoded sheets a caller wants after the workbook is read (the reader
/// process builds the feedback copies from them instead of decoding the
/// workbook a second time), up to a number of cells.
pub struct Kept {
    /// Cells that may still be kept; a sheet that does not fit is dropped
    /// and `complete` turns false.
    pub cells_left: u64,
    pub grids: Vec<(String, Grid)>,
    pub complete: bool,
    wanted: bool,
}

impl Kept {
    pub fn none() -> Kept {
        Kept {
            wanted: false,
            ..Kept::up_to(0)
        }
    }
    pub fn up_to(cells: u64) -> Kept {
        Kept {
            cells_left: cells,
            grids: Vec::new(),
            complete: true,
            wanted: true,
        }
    }
    fn offer(&mut self, name: &str, grid: Grid) {
        let cells = u64::from(grid.height()) * u64::from(grid.width());
        if cells <= self.cells_left {
            self.cells_left -= cells;
            self.grids.push((name.to_string(), grid));
        } else {
            self.complete = false;
        }
    }
}

/// [`process_file`], keeping the sheets that were read in `kept`.
pub fn process_file_keeping(
    pipeline: &Pipeline,
    abs: &Path,
    rel: &str,
    ctx: &RunContext,
    kept: &mut Kept,
) -> FileOutcome {
    let mut out = FileOutcome::empty(pipeline, rel);
    let bytes = match std::fs::read(abs) {
        Ok(b) => b,
        Err(e) => {
            out.errors
                .push(WorkbookError::file(Cause::Unreadable(e.to_string())));
            return out;
        }
    };
    process_bytes_keeping(pipeline, abs, bytes, rel, ctx, out, kept)
}

pub use crate::util::sha256_hex;

/// Process a workbook already read into memory.
pub fn process_bytes(
    pipeline: &Pipeline,
    abs: &Path,
    bytes: Vec<u8>,
    rel: &str,
    ctx: &RunContext,
    out: FileOutcome,
) -> FileOutcome {
    process_bytes_keeping(pipeline, abs, bytes, rel, ctx, out, &mut Kept::none())
}

fn process_bytes_keeping(
    pipeline: &Pipeline,
    abs: &Path,
    bytes: Vec<u8>,
    rel: &str,
    ctx: &RunContext,
    mut out: FileOutcome,
    kept: &mut Kept,
) -> FileOutcome {
    out.bytes = bytes.len() as u64;
    out.sha256 = sha256_hex(&bytes);
    let ext = abs
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_workbook(pipeline, bytes, &ext, rel, ctx, &mut out, kept)
    }));
    if !matches!(result, Ok(Ok(()))) {
        kept.grids.clear();
        kept.complete = false;
    }
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            out.errors.push(WorkbookError::file(e));
            // A workbook stopped half-way is refused whole: nothing of it is
            // published, and its rows are counted as skipped with the reason.
            out.drop_rows(pipeline);
            for s in &mut out.sheets {
                let n = s.accepted + s.rejected;
                s.accepted = 0;
                s.rejected = 0;
                s.warning_rows = 0;
                s.cells_excluded = 0;
                s.totals_checked = 0;
                s.totals_mismatched = 0;
                s.skip("file_rejected", n);
            }
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("panic");
            out.errors
                .push(WorkbookError::file(IngestError::Crashed(msg.to_string())));
            // Whatever was half-read from this workbook is not trusted.
            out.drop_rows(pipeline);
        }
    }
    out
}

fn read_workbook(
    pipeline: &Pipeline,
    bytes: Vec<u8>,
    ext: &str,
    rel: &str,
    ctx: &RunContext,
    out: &mut FileOutcome,
    kept: &mut Kept,
) -> Result<(), IngestError> {
    let limits = ctx.limits;
    let started = std::time::Instant::now();
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(IngestError::Limit {
            limit: "max_file_bytes".into(),
            max: limits.max_file_bytes,
            what: format!(
                "tệp có {} byte / the file has {} bytes",
                bytes.len(),
                bytes.len()
            ),
        });
    }
    ingest::check_zip_parts(&bytes, limits.max_part_bytes)?;
    let mut wb = crate::timing::time(crate::timing::Phase::Decode, || ingest::open(bytes, ext))?;
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
        if started.elapsed().as_secs() > limits.max_seconds_per_file {
            return Err(IngestError::Limit {
                limit: "max_seconds_per_file".into(),
                max: limits.max_seconds_per_file,
                what: format!("dừng trước sheet \"{name}\" / stopped before sheet \"{name}\""),
            });
        }
        let grid = match crate::timing::time(crate::timing::Phase::Decode, || wb.grid(&name)) {
            Ok(g) => g,
            Err(e) => {
                let mut r = SheetReport::new(&name, SheetStatus::Error);
                r.reason = Some(e.to_string());
                out.errors.push(WorkbookError::sheet(&name, e));
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
        let cells = u64::from(grid.height()) * u64::from(grid.width());
        if cells > limits.max_cells_per_sheet {
            return Err(IngestError::Limit {
                limit: "max_cells_per_sheet".into(),
                max: limits.max_cells_per_sheet,
                what: format!("sheet \"{name}\" có {cells} ô / has {cells} cells"),
            });
        }
        let mut report = crate::timing::time(crate::timing::Phase::ShapeValues, || {
            read_sheet(pipeline, &grid, sheet_index as u32, &name, rel, ctx, out)
        });
        if let Some(l) = &grid.legacy {
            report.legacy_encoding = Some(l.encoding);
            report.converted_columns = l
                .columns
                .iter()
                .map(|c| ingest::column_letters(*c))
                .collect();
        }
        let read = report.status == SheetStatus::Read;
        out.sheets.push(report);
        if read && kept.wanted {
            kept.offer(&name, grid);
        }
        if let Some(b) = out
            .batches
            .iter()
            .find(|b| b.len() as u64 > limits.max_rows_per_table)
        {
            return Err(IngestError::Limit {
                limit: "max_rows_per_table".into(),
                max: limits.max_rows_per_table,
                what: format!("{} dòng / rows", b.len()),
            });
        }
    }
    Ok(())
}

/// Choose the table whose header this sheet matches best.
fn best_table<'p>(pipeline: &'p Pipeline, grid: &Grid) -> Option<(usize, &'p Table, HeaderMatch)> {
    // A header that maps every required column beats one that scores more
    // but lacks one: two tables of a pipeline may share most headers.
    let rank = |t: &Table, h: &HeaderMatch| {
        let complete = t
            .columns
            .iter()
            .zip(&h.columns)
            .enumerate()
            .all(|(i, (c, src))| {
                !c.required
                    || src.is_some()
                    || !c.kind.is_source()
                    || c.copy_of.is_some()
                    || covered_by_groups(t, h, i)
            });
        (complete, h.score)
    };
    let mut best: Option<(usize, &Table, HeaderMatch)> = None;
    for (i, t) in pipeline.tables.iter().enumerate() {
        let long = shape::find_header(grid, t);
        let wide = shape::find_wide_header(grid, t);
        for h in [long, wide].into_iter().flatten() {
            if best
                .as_ref()
                .is_none_or(|(_, bt, b)| rank(t, &h) > rank(bt, b))
            {
                best = Some((i, t, h));
            }
        }
    }
    // A column that reads another's cell (`copy_of`) maps where that one does.
    if let Some((_, t, h)) = best.as_mut() {
        for (i, c) in t.columns.iter().enumerate() {
            if let Some(o) = c.copy_of {
                h.columns[i] = h.columns[o];
                h.header_text[i] = h.header_text[o].clone();
            }
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
    ctx: &RunContext,
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
            r.headers.insert(
                c.name.clone(),
                header.header_text[ti_col(table, &c.name)].clone(),
            );
        }
    }
    for g in &header.groups {
        for (m, src) in &g.measures {
            let key = format!("{} [{}]", table.columns[*m].name, g.label);
            r.columns.insert(key.clone(), ingest::column_letters(*src));
            r.headers
                .insert(key, format!("{} / {}", g.label, table.columns[*m].label));
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
        .enumerate()
        .filter(|(i, (c, src))| {
            c.required
                && src.is_none()
                && c.kind.is_source()
                && !covered_by_groups(table, &header, *i)
        })
        .map(|(_, (c, _))| format!("'{}' (đã thử / tried: {})", c.label, c.aliases.join(", ")))
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
        let error = WorkbookError::sheet(
            name,
            Cause::MissingColumns {
                columns: missing,
                header_row: header.row + 1,
            },
        );
        r.status = SheetStatus::Error;
        r.reason = Some(error.to_string());
        out.errors.push(error);
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
    let mut foot = crate::crossfoot::CrossFoot::new(table, &header, &ctx.period);
    let mut mismatches = Vec::new();
    let wants_heading = table.columns.iter().any(|c| {
        matches!(
            c.kind,
            ColumnKind::Context {
                from: ContextFrom::Heading | ContextFrom::Subheading,
                ..
            }
        )
    });
    // Section headings above the current row, by numbering level (0: unnumbered).
    let mut headings: Vec<(u8, String)> = Vec::new();
    for row in header.data_start()..height {
        let kind = classifier.classify(row);
        let level = classifier.numbering_level(row);
        if let Some(l) = level
            && matches!(kind, RowKind::Data | RowKind::Subtotal | RowKind::Label)
        {
            mismatches.extend(foot.numbered_row(grid, l));
        }
        let parent = kind == RowKind::Subtotal && classifier.subtotal_marker.is_none();
        if wants_heading && (kind == RowKind::Label || parent) {
            let l = level.unwrap_or(0);
            headings.retain(|(hl, _)| *hl < l);
            headings.push((l, classifier.heading_text(row)));
        }
        if kind == RowKind::Subtotal {
            mismatches.extend(foot.total_row(
                grid,
                row,
                classifier.subtotal_marker.as_deref(),
                level.unwrap_or(0),
            ));
        }
        if kind == RowKind::Footer && foot.is_active() {
            mismatches.extend(foot.finish(grid));
        }
        if kind != RowKind::Data {
            r.skip(kind_name(kind), 1);
            continue;
        }
        // The outermost numbered heading ("I. …" over "1. …"), else the last unnumbered one.
        let surround = Surround {
            sheet: name,
            heading: headings
                .iter()
                .find(|(l, _)| *l > 0)
                .or(headings.last())
                .map(|(_, t)| t.as_str()),
            subheading: headings.last().map(|(_, t)| t.as_str()),
        };
        let outcome = if header.groups.is_empty() {
            convert_long_row(table, grid, &header, row, ctx, &surround)
        } else {
            convert_wide_row(table, grid, &header, row, ctx, &surround)
        };
        if outcome.out_of_period {
            r.skip("out_of_period", 1);
            for values in outcome.records {
                out.excluded[ti].push(values, sheet_index, row + 1, Exclusion::OutOfPeriod);
            }
            continue;
        }
        let finding = |l: &Located, severity: Severity, excludes: &str| {
            let c = &table.columns[l.column];
            Finding {
                pipeline: pipeline.name.clone(),
                table: table.name.clone(),
                file: rel.to_string(),
                sheet: name.to_string(),
                row: row + 1,
                cell: l
                    .cell
                    .map(|(cr, cc)| ingest::a1(cr, cc))
                    .unwrap_or_default(),
                column: c.name.clone(),
                header: l.header.clone(),
                value: l
                    .cell
                    .map(|(cr, cc)| display_value(grid.filled(cr, cc)))
                    .unwrap_or_default(),
                severity,
                code: l.problem.code.to_string(),
                reason: l.problem.reason.clone(),
                related: String::new(),
                excludes: excludes.to_string(),
            }
        };
        foot.data_row(grid, row, outcome.errors.is_empty());
        if outcome.errors.is_empty() {
            r.accepted += 1;
            if !outcome.warnings.is_empty() {
                r.warning_rows += 1;
            }
            for l in &outcome.warnings {
                out.findings.push(finding(l, Severity::Warning, ""));
            }
            for (values, l) in outcome.cell_errors {
                r.cells_excluded += 1;
                let f = finding(&l, Severity::Error, "cell");
                out.excluded[ti].push_cell(
                    values,
                    sheet_index,
                    row + 1,
                    Exclusion::Cell,
                    f.column.clone(),
                    f.cell.clone(),
                    f.header.clone(),
                );
                out.findings.push(f);
            }
            for values in outcome.records {
                out.batches[ti].push(values, sheet_index, row + 1);
            }
        } else {
            r.rejected += 1;
            for l in outcome
                .errors
                .iter()
                .chain(outcome.cell_errors.iter().map(|(_, l)| l))
            {
                out.findings.push(finding(l, Severity::Error, "row"));
            }
            for values in outcome.records {
                out.excluded[ti].push(values, sheet_index, row + 1, Exclusion::Rejected);
            }
        }
    }
    mismatches.extend(foot.finish(grid));
    r.totals_checked = foot.checked;
    r.totals_mismatched = foot.mismatched;
    for m in mismatches {
        out.findings
            .push(mismatch_finding(pipeline, table, rel, name, grid, &m));
    }
    r
}

fn mismatch_finding(
    pipeline: &Pipeline,
    table: &Table,
    rel: &str,
    sheet: &str,
    grid: &Grid,
    m: &crate::crossfoot::Mismatch,
) -> Finding {
    use crate::values::vnfmt::number as vn;
    let col = ingest::column_letters(m.col);
    let range = format!("{col}{}:{col}{}", m.first + 1, m.last + 1);
    let diff = m.total - m.sum;
    let mut reason = format!(
        "Dòng tổng ghi {}, nhưng tổng các dòng chi tiết {range} mà tonghop đọc được là {} (chênh {}{})",
        vn(m.total),
        vn(m.sum),
        if diff > 0.0 { "+" } else { "" },
        vn(diff)
    );
    if !m.unreadable.is_empty() {
        reason.push_str(&format!(
            "; trong các dòng đó có {} ô không đọc được ({})",
            m.unreadable.len(),
            m.unreadable.join(", ")
        ));
    }
    if !m.rejected_rows.is_empty() {
        let shown: Vec<String> = m
            .rejected_rows
            .iter()
            .take(10)
            .map(|r| r.to_string())
            .collect();
        reason.push_str(&format!(
            "; {} dòng bị loại không được tính (dòng {}{})",
            m.rejected_rows.len(),
            shown.join(", "),
            if m.rejected_rows.len() > 10 {
                ", …"
            } else {
                ""
            }
        ));
    }
    Finding {
        pipeline: pipeline.name.clone(),
        table: table.name.clone(),
        file: rel.to_string(),
        sheet: sheet.to_string(),
        row: m.row + 1,
        cell: ingest::a1(m.row, m.col),
        column: table.columns[m.column].name.clone(),
        header: m.header.clone(),
        value: display_value(grid.filled(m.row, m.col)),
        severity: Severity::Warning,
        code: "total_mismatch".into(),
        reason,
        related: range,
        excludes: String::new(),
    }
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

/// In a wide sheet the group column and the measures come from the group
/// cells, not from columns of their own.
fn covered_by_groups(table: &Table, header: &HeaderMatch, column: usize) -> bool {
    !header.groups.is_empty()
        && (table.wide_group == Some(column)
            || header
                .groups
                .iter()
                .any(|g| g.measures.iter().any(|(m, _)| *m == column)))
}

fn ti_col(table: &Table, name: &str) -> usize {
    table
        .columns
        .iter()
        .position(|c| c.name == name)
        .unwrap_or(0)
}
