//! Excel outputs for Vietnamese readers: `tong-hop.xlsx` (indicators, one
//! sheet per breakdown, the source files) and `phan-hoi/<file>.xlsx` (the
//! problems of one source workbook, to send back to its department).
//!
//! Every text a department typed is written as a string cell, never a
//! formula: rust_xlsxwriter only writes formulas when asked to, so a value
//! such as "=1+2" or "@SUM(A1)" arrives in Excel as the text it was.

use crate::extract::{Finding, Severity};
use crate::indicators::{BreakdownRow, IndicatorValue};
use crate::record::FileReport;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};
use std::collections::{BTreeMap, BTreeSet};

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_background_color(0xDDEBF7)
}

/// Grouped whole numbers ("20.213" in a Vietnamese Excel).
pub const WHOLE: &str = "#,##0";
/// Two decimals, grouped ("89,98").
pub const DECIMAL: &str = "#,##0.00";

fn number_format(v: f64, unit: &str) -> &'static str {
    if unit == "%" || v.fract() != 0.0 {
        DECIMAL
    } else {
        WHOLE
    }
}

/// Frozen header row, column widths, landscape A4 fitted to one page wide,
/// header row repeated on every printed page.
fn set_up(ws: &mut Worksheet, headers: &[(&str, f64)], rows: u32) -> Result<(), XlsxError> {
    set_up_at(ws, 0, headers, rows)
}

/// [`set_up`] with the header at row `top` (under a title block).
fn set_up_at(
    ws: &mut Worksheet,
    top: u32,
    headers: &[(&str, f64)],
    rows: u32,
) -> Result<(), XlsxError> {
    let hf = header_format().set_border(FormatBorder::Thin);
    for (c, (h, w)) in headers.iter().enumerate() {
        ws.write_string_with_format(top, c as u16, *h, &hf)?;
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(top + 1, 0)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(top, top)?;
    if rows > 0 {
        ws.autofilter(top, 0, top + rows, headers.len() as u16 - 1)?;
    }
    Ok(())
}

/// What the title block of `tong-hop.xlsx` says, and the departments' names.
pub struct SummaryContext<'a> {
    pub commune: &'a str,
    pub period: &'a crate::config::Period,
    /// When the run made it (local time).
    pub made: chrono::DateTime<chrono::Local>,
    /// Pipeline name -> its Vietnamese title ("Danh sách cấp thẻ BHYT").
    pub titles: &'a BTreeMap<String, String>,
    /// (dimension, member) -> how people read the member ("trau" is "Trâu").
    pub members: &'a BTreeMap<(String, String), String>,
    /// Dimension -> how people name it ("village" is "Bản"), from the
    /// pipeline files.
    pub dimensions: &'a BTreeMap<String, String>,
}

/// The fill of a figure that lacks rows or cells (light orange).
const INCOMPLETE_FILL: u32 = 0xFCE4D6;

/// Rows of the title block above each sheet's table.
const TITLE_ROWS: u32 = 3;

/// Title (commune and what the sheet holds), period and date made, on the
/// first two rows, merged across the table's width.
fn title_block(
    ws: &mut Worksheet,
    ctx: &SummaryContext,
    what: &str,
    width: u16,
) -> Result<(), XlsxError> {
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let sub = Format::new().set_italic().set_align(FormatAlign::Center);
    let last = width.saturating_sub(1).max(1);
    ws.merge_range(
        0,
        0,
        0,
        last,
        &format!(
            "TỔNG HỢP SỐ LIỆU XÃ {} – {what}",
            ctx.commune.to_uppercase()
        ),
        &title,
    )?;
    ws.merge_range(
        1,
        0,
        1,
        last,
        &format!(
            "Kỳ báo cáo: từ {} đến {} · Lập lúc {} (tonghop)",
            ctx.period.from.format("%d/%m/%Y"),
            ctx.period.to.format("%d/%m/%Y"),
            ctx.made.format("%H:%M ngày %d/%m/%Y")
        ),
        &sub,
    )?;
    ws.set_row_height(0, 22)?;
    Ok(())
}

/// "Theo bản" for a dimension people call "Bản".
fn dimension_sheet_name(label: &str) -> String {
    let mut chars = label.chars();
    let lower: String = match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("Theo {lower}")
}

/// `tong-hop.xlsx` as bytes.
pub fn summary(
    indicators: &[IndicatorValue],
    breakdowns: &[BreakdownRow],
    files: &[FileReport],
    targets: &BTreeMap<String, f64>,
    ctx: &SummaryContext,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    // Every cell of a table has a thin border; numbers are grouped.
    let text = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let whole = Format::new()
        .set_num_format(WHOLE)
        .set_border(FormatBorder::Thin);
    let decimal = Format::new()
        .set_num_format(DECIMAL)
        .set_border(FormatBorder::Thin);
    let fmt = |name: &str| if name == WHOLE { &whole } else { &decimal };
    let bold = |f: &Format| f.clone().set_bold().set_background_color(0xF2F2F2);
    let department = |name: &str| {
        ctx.titles
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_string())
    };
    let top = TITLE_ROWS;

    let ws = wb.add_worksheet().set_name("Chỉ tiêu")?;
    let headers = [
        ("Mã chỉ tiêu", 34.0),
        ("Chỉ tiêu", 60.0),
        ("Giá trị", 16.0),
        ("Đơn vị", 12.0),
        ("Kế hoạch", 14.0),
        ("% kế hoạch", 12.0),
        ("Lĩnh vực", 36.0),
        ("Chưa gồm (số liệu không dùng được)", 60.0),
    ];
    // A figure that lacks rejected rows or unreadable cells is filled, and
    // its last column says what it lacks.
    let lacking = |f: &Format| f.clone().set_background_color(INCOMPLETE_FILL);
    title_block(ws, ctx, "CÁC CHỈ TIÊU", headers.len() as u16)?;
    set_up_at(ws, top, &headers, indicators.len() as u32)?;
    for (i, ind) in indicators.iter().enumerate() {
        let r = top + i as u32 + 1;
        ws.write_string_with_format(r, 0, &ind.id, &text)?;
        ws.write_string_with_format(r, 1, &ind.label, &text)?;
        let incomplete = ind.excluded.incomplete();
        match ind.value {
            Some(v) if incomplete => {
                ws.write_number_with_format(r, 2, v, &lacking(fmt(number_format(v, &ind.unit))))?;
            }
            Some(v) => {
                ws.write_number_with_format(r, 2, v, fmt(number_format(v, &ind.unit)))?;
            }
            None => {
                ws.write_string_with_format(
                    r,
                    2,
                    if ind.error.is_some() {
                        "lỗi"
                    } else {
                        "chưa có số liệu"
                    },
                    &text,
                )?;
            }
        }
        ws.write_string_with_format(r, 3, &ind.unit, &text)?;
        match targets.get(&ind.id) {
            Some(plan) => {
                ws.write_number_with_format(r, 4, *plan, fmt(number_format(*plan, &ind.unit)))?;
                match ind.value {
                    Some(v) if *plan != 0.0 => {
                        ws.write_number_with_format(r, 5, v / plan * 100.0, &decimal)?;
                    }
                    _ => {
                        ws.write_blank(r, 5, &text)?;
                    }
                }
            }
            None => {
                ws.write_blank(r, 4, &text)?;
                ws.write_blank(r, 5, &text)?;
            }
        }
        ws.write_string_with_format(r, 6, department(&ind.pipeline), &text)?;
        if incomplete {
            ws.write_string_with_format(
                r,
                7,
                crate::report::text::lacks(&ind.excluded),
                &lacking(&text),
            )?;
        } else {
            ws.write_blank(r, 7, &text)?;
        }
    }

    // One sheet per dimension, members down, indicators across.
    let dims: BTreeSet<&str> = breakdowns.iter().map(|b| b.by.as_str()).collect();
    for by in dims {
        let rows: Vec<&BreakdownRow> = breakdowns.iter().filter(|b| b.by == by).collect();
        let mut ids: Vec<(&str, &str, &str)> = Vec::new();
        for b in &rows {
            if !ids.iter().any(|(id, _, _)| *id == b.id) {
                ids.push((&b.id, &b.label, &b.unit));
            }
        }
        // Members in the order the breakdowns give them (Vietnamese order).
        let mut keys: Vec<&str> = Vec::new();
        for b in &rows {
            if !keys.contains(&b.key.as_str()) {
                keys.push(&b.key);
            }
        }
        let first = ctx.dimensions.get(by).map_or(by, String::as_str);
        let ws = wb.add_worksheet().set_name(dimension_sheet_name(first))?;
        let mut headers: Vec<(&str, f64)> = vec![(first, 24.0)];
        headers.extend(ids.iter().map(|(_, label, _)| (*label, 22.0)));
        title_block(
            ws,
            ctx,
            &dimension_sheet_name(first).to_uppercase(),
            headers.len() as u16,
        )?;
        set_up_at(ws, top, &headers, keys.len() as u32)?;
        for (ri, key) in keys.iter().enumerate() {
            let r = top + ri as u32 + 1;
            let shown = ctx
                .members
                .get(&(by.to_string(), key.to_string()))
                .map_or(*key, String::as_str);
            ws.write_string_with_format(r, 0, shown, &text)?;
            for (ci, (id, _, unit)) in ids.iter().enumerate() {
                let row = rows.iter().find(|b| b.id == *id && b.key == *key);
                match row.and_then(|b| b.value) {
                    Some(v) => {
                        let f = fmt(number_format(v, unit));
                        let incomplete = row.is_some_and(|b| b.excluded.incomplete());
                        ws.write_number_with_format(
                            r,
                            ci as u16 + 1,
                            v,
                            &if incomplete {
                                f.clone().set_background_color(INCOMPLETE_FILL)
                            } else {
                                f.clone()
                            },
                        )?;
                        if let Some(b) = row.filter(|_| incomplete) {
                            ws.insert_note(
                                r,
                                ci as u16 + 1,
                                &rust_xlsxwriter::Note::new(format!(
                                    "Chưa đầy đủ: {}",
                                    crate::report::text::lacks(&b.excluded)
                                ))
                                .set_author("tonghop"),
                            )?;
                        }
                    }
                    None => {
                        ws.write_blank(r, ci as u16 + 1, &text)?;
                    }
                }
            }
        }
        // Totals of the counts (a rate is not summed: its cell stays empty).
        let r = top + keys.len() as u32 + 1;
        ws.write_string_with_format(r, 0, "Tổng cộng", &bold(&text))?;
        for (ci, (id, _, unit)) in ids.iter().enumerate() {
            let values: Vec<f64> = rows
                .iter()
                .filter(|b| b.id == *id)
                .filter_map(|b| b.value)
                .collect();
            if unit.trim() == "%" || values.is_empty() {
                ws.write_blank(r, ci as u16 + 1, &bold(&text))?;
            } else {
                let total: f64 = values.iter().sum();
                ws.write_number_with_format(
                    r,
                    ci as u16 + 1,
                    total,
                    &bold(fmt(number_format(total, unit))),
                )?;
            }
        }
    }

    let ws = wb.add_worksheet().set_name("Nguồn")?;
    let headers = [
        ("Tệp", 50.0),
        ("Lĩnh vực", 30.0),
        ("SHA-256", 66.0),
        ("Trạng thái", 12.0),
        ("Số dòng đọc", 12.0),
        ("Chấp nhận", 12.0),
        ("Loại bỏ", 10.0),
        ("Bỏ qua", 10.0),
        ("Dòng có cảnh báo", 12.0),
        ("Lỗi", 60.0),
    ];
    title_block(ws, ctx, "CÁC TỆP NGUỒN", headers.len() as u16)?;
    set_up_at(ws, top, &headers, files.len() as u32)?;
    for (i, f) in files.iter().enumerate() {
        let r = top + i as u32 + 1;
        ws.write_string_with_format(r, 0, &f.path, &text)?;
        ws.write_string_with_format(r, 1, department(&f.pipeline), &text)?;
        ws.write_string_with_format(r, 2, &f.sha256, &text)?;
        ws.write_string_with_format(
            r,
            3,
            if f.status == crate::record::FileStatus::Ok {
                "đọc được"
            } else {
                "lỗi"
            },
            &text,
        )?;
        for (c, n) in [
            f.rows_read,
            f.accepted,
            f.rejected,
            f.skipped,
            f.warning_rows,
        ]
        .iter()
        .enumerate()
        {
            ws.write_number_with_format(r, 4 + c as u16, f64::from(*n), &whole)?;
        }
        ws.write_string_with_format(r, 9, f.errors.join("; "), &text)?;
    }
    wb.save_to_buffer()
}

/// The first sheet of a feedback workbook: what it is, the period, the
/// counts, and what to do, in sentences a department clerk reads.
fn guide(
    ws: &mut Worksheet,
    file: &FileReport,
    findings: &[&Finding],
    period: &crate::config::Period,
) -> Result<(), XlsxError> {
    let title = Format::new().set_bold().set_font_size(14);
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    ws.set_column_width(0, 110)?;
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.write_string_with_format(
        0,
        0,
        format!("PHẢN HỒI SỐ LIỆU – tệp {}", file.path),
        &title,
    )?;
    ws.write_string(
        1,
        0,
        format!(
            "Kỳ báo cáo: từ {} đến {}",
            period.from.format("%d/%m/%Y"),
            period.to.format("%d/%m/%Y")
        ),
    )?;
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let mut lines: Vec<(String, bool)> = Vec::new();
    if file.status == crate::record::FileStatus::Failed {
        lines.push((
            format!(
                "Tệp này không đọc được, nên không có số liệu nào của tệp được tính: {}.",
                file.errors.join("; ").trim_end_matches('.')
            ),
            true,
        ));
        lines.push((
            "Việc cần làm: sửa theo lý do trên (hoặc lưu lại tệp bằng Excel), rồi gửi lại tệp cho bộ phận tổng hợp.".into(),
            false,
        ));
    } else {
        lines.push((
            format!(
                "Tệp có {} dòng được đọc: {} dòng được nhận, {} dòng bị loại, {} dòng bỏ qua (tiêu đề, dòng trống, dòng cộng, chữ ký); {} dòng được nhận nhưng có cảnh báo.",
                file.rows_read, file.accepted, file.rejected, file.skipped, file.warning_rows
            ),
            false,
        ));
        lines.push((
            format!(
                "Trang \"Phản hồi\" liệt kê {errors} ô lỗi (dòng bị loại, không được tính) và {warnings} ô cần xem lại (cảnh báo), mỗi ô một dòng: trang tính, dòng, ô, cột, giá trị gốc và lý do."
            ),
            true,
        ));
        lines.push((
            "Việc cần làm: mở tệp gốc, sửa từng ô theo cột \"Ô\" và \"Lý do\", rồi gửi lại tệp; lần tổng hợp sau sẽ đọc lại và các dòng sửa đúng sẽ được tính.".into(),
            false,
        ));
    }
    for (i, (line, strong)) in lines.iter().enumerate() {
        ws.write_string_with_format(
            3 + i as u32 * 2,
            0,
            line,
            if *strong { &bold } else { &wrap },
        )?;
    }
    Ok(())
}

/// One feedback workbook: the findings of one source file.
///
/// Published feedback workbooks are cached by their inputs
/// (`publish::feedback_key`): a change to what this writes must bump
/// `publish::FEEDBACK_FORMAT`, or runs keep publishing the old layout.
pub fn feedback(
    file: &FileReport,
    findings: &[&Finding],
    period: &crate::config::Period,
    sources: &[(String, crate::ingest::Grid)],
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    // A copy holds a whole department sheet. Measured on a 20,000 × 11
    // sheet: the default (deflate 6, shared strings, every cell kept until
    // saved) 255-325 ms and 1.08 MB; streamed rows ("constant memory": text
    // inline, rows flushed to a private temporary file as they are written)
    // at deflate 2, 92-96 ms and 1.22 MB, with one row in memory instead of
    // the sheet.
    wb.set_zip_compression_level(2);
    guide(
        wb.add_worksheet().set_name("Hướng dẫn")?,
        file,
        findings,
        period,
    )?;
    let mut taken: Vec<String> = vec!["Hướng dẫn".into(), "Phản hồi".into()];
    for (sheet, grid) in sources {
        let mine: Vec<&&Finding> = findings.iter().filter(|f| f.sheet == *sheet).collect();
        if mine.iter().all(|f| f.cell.is_empty()) {
            continue;
        }
        let name = copy_sheet_name(sheet, &taken);
        taken.push(name.clone());
        let ws = wb.add_worksheet_with_constant_memory()?.set_name(&name)?;
        copy_sheet(ws, grid, &mine)?;
    }
    let file = file.path.as_str();
    let ws = wb.add_worksheet().set_name("Phản hồi")?;
    set_up(
        ws,
        &[
            ("Trang tính", 18.0),
            ("Dòng", 8.0),
            ("Ô", 8.0),
            ("Cột", 26.0),
            ("Giá trị gốc", 24.0),
            ("Mức độ", 10.0),
            ("Lý do", 70.0),
            ("Dòng đầu tiên (nếu trùng)", 40.0),
        ],
        findings.len() as u32,
    )?;
    ws.set_header(format!("&LPhản hồi số liệu: {file}"));
    // Row numbers left-aligned and cells centred, so "105" and "D105" do not
    // run together; long reasons wrap instead of being cut off.
    let row_no = Format::new().set_align(FormatAlign::Left);
    let centred = Format::new().set_align(FormatAlign::Center);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    for (i, f) in findings.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &f.sheet)?;
        ws.write_number_with_format(r, 1, f64::from(f.row), &row_no)?;
        ws.write_string_with_format(r, 2, &f.cell, &centred)?;
        ws.write_string(
            r,
            3,
            if f.header.is_empty() {
                &f.column
            } else {
                &f.header
            },
        )?;
        // Always a string cell: "=…", "+…", "-…", "@…" stay text.
        ws.write_string(r, 4, &f.value)?;
        ws.write_string(
            r,
            5,
            match f.severity {
                Severity::Error => "Lỗi",
                Severity::Warning => "Cảnh báo",
            },
        )?;
        ws.write_string_with_format(r, 6, &f.reason, &wrap)?;
        ws.write_string(r, 7, &f.related)?;
    }
    wb.save_to_buffer()
}

/// A worksheet name for the copy of `sheet`: Excel's 31 characters, none
/// of `[]:*?/\\`, unique in the workbook.
fn copy_sheet_name(sheet: &str, taken: &[String]) -> String {
    let clean: String = sheet
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    let base: String = clean.chars().take(31).collect();
    let mut name = base.clone();
    let mut n = 2;
    while taken
        .iter()
        .any(|t| t.to_lowercase() == name.to_lowercase())
    {
        let suffix = format!(" ({n})");
        name = format!(
            "{}{suffix}",
            base.chars()
                .take(31 - suffix.chars().count())
                .collect::<String>()
        );
        n += 1;
    }
    name
}

/// The source sheet in its own layout (values, merged cells, the source's
/// column widths where it sets them, otherwise widths from the content), every cell with a finding filled (errors red, warnings
/// yellow) and holding a note with the reasons, so the clerk fixes the
/// sheet they know. Values are written as values, never as formulas.
fn copy_sheet(
    ws: &mut rust_xlsxwriter::Worksheet,
    grid: &crate::ingest::Grid,
    findings: &[&&Finding],
) -> Result<(), XlsxError> {
    let error_fill = Format::new()
        .set_background_color(0xFFC7CE)
        .set_border(FormatBorder::Thin);
    let warning_fill = Format::new()
        .set_background_color(0xFFEB9C)
        .set_border(FormatBorder::Thin);
    // One format object each, shared by every cell that uses it.
    let dates = DateFormats {
        plain: Format::new().set_num_format("dd/mm/yyyy"),
        error: error_fill.clone().set_num_format("dd/mm/yyyy"),
        warning: warning_fill.clone().set_num_format("dd/mm/yyyy"),
    };
    // cell -> (worst severity, reasons)
    let mut marked: BTreeMap<(u32, u32), (Severity, Vec<String>)> = BTreeMap::new();
    for f in findings {
        let Some((r, c)) = crate::ingest::parse_a1(&f.cell) else {
            continue;
        };
        let e = marked
            .entry((r, c))
            .or_insert((Severity::Warning, Vec::new()));
        if f.severity == Severity::Error {
            e.0 = Severity::Error;
        }
        e.1.push(format!(
            "{}: {}",
            match f.severity {
                Severity::Error => "Lỗi",
                Severity::Warning => "Cảnh báo",
            },
            f.reason
        ));
    }
    let merged: Vec<(u32, u32, u32, u32)> = grid.merges();
    let mut hidden: foldhash::HashSet<(u32, u32)> = foldhash::HashSet::default();
    for &(r0, c0, r1, c1) in &merged {
        for r in r0..=r1 {
            for c in c0..=c1 {
                if (r, c) != (r0, c0) {
                    hidden.insert((r, c));
                }
            }
        }
    }
    let covered = |r: u32, c: u32| hidden.contains(&(r, c));
    // A title merged across columns does not widen its first column.
    let spans: foldhash::HashSet<(u32, u32)> = merged
        .iter()
        .filter(|m| m.3 > m.1)
        .map(|m| (m.0, m.1))
        .collect();
    // The source's own widths where its author set them; otherwise from
    // the content. Set before any cell: the sheet is streamed row by row.
    let mut widths: Vec<usize> = vec![0; grid.width() as usize];
    for r in 0..grid.height() {
        for (c, w) in widths.iter_mut().enumerate() {
            let c = c as u32;
            if !covered(r, c) && !spans.contains(&(r, c)) {
                *w = (*w).max(crate::values::cell_text(grid.raw(r, c)).chars().count());
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        let own = grid
            .widths
            .iter()
            .rev()
            .find(|s| (s.first..=s.last).contains(&(c as u32)));
        let width = match own {
            // The file stores Excel's width with its 5-pixel padding
            // (a 7-pixel digit); rust_xlsxwriter adds that padding again.
            Some(s) if s.width >= 12.0 / 7.0 => s.width - 5.0 / 7.0,
            // Below one character rust_xlsxwriter stores 12/7 of it.
            Some(s) => s.width * 7.0 / 12.0,
            None => (*w as f64 * 1.1 + 2.0).clamp(6.0, 45.0),
        };
        ws.set_column_width(c as u16, width)?;
    }
    // Merged regions by their top-left cell: written when the rows reach it.
    let plain = Format::new();
    let regions: foldhash::HashMap<(u32, u32), (u32, u32)> =
        merged.iter().map(|m| ((m.0, m.1), (m.2, m.3))).collect();
    for r in 0..grid.height() {
        for c in 0..grid.width() {
            if covered(r, c) {
                continue;
            }
            let d = grid.raw(r, c);
            let mark = marked.get(&(r, c));
            let fill = mark.map(|(s, _)| match s {
                Severity::Error => &error_fill,
                Severity::Warning => &warning_fill,
            });
            let (r16, c16) = (r, c as u16);
            if let Some(&(r1, c1)) = regions.get(&(r, c)) {
                // A merged region holds its first cell's text.
                let text = crate::values::cell_text(d);
                ws.merge_range(r, c16, r1, c1 as u16, text.as_ref(), fill.unwrap_or(&plain))?;
            } else {
                write_cell(ws, r16, c16, d, fill, mark.map(|(s, _)| *s), &dates)?;
            }
            if let Some((_, reasons)) = mark {
                ws.insert_note(
                    r16,
                    c16,
                    &rust_xlsxwriter::Note::new(reasons.join("\n")).set_author("tonghop"),
                )?;
            }
        }
    }
    // Printed as the clerk's form: A4 landscape, one page wide, with the
    // grid (a copy has no borders of its own).
    ws.set_print_gridlines(true);
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    Ok(())
}

struct DateFormats {
    plain: Format,
    error: Format,
    warning: Format,
}

/// One source cell as a value of its own type (never a formula), with the
/// finding's fill when it has one.
fn write_cell(
    ws: &mut rust_xlsxwriter::Worksheet,
    r: u32,
    c: u16,
    d: &calamine::Data,
    fill: Option<&Format>,
    severity: Option<Severity>,
    dates: &DateFormats,
) -> Result<(), XlsxError> {
    use calamine::{Data, DataType};
    match d {
        Data::Empty => {
            if let Some(f) = fill {
                ws.write_blank(r, c, f)?;
            }
        }
        Data::Float(x) => match fill {
            Some(f) => {
                ws.write_number_with_format(r, c, *x, f)?;
            }
            None => {
                ws.write_number(r, c, *x)?;
            }
        },
        Data::Int(x) => match fill {
            Some(f) => {
                ws.write_number_with_format(r, c, *x as f64, f)?;
            }
            None => {
                ws.write_number(r, c, *x as f64)?;
            }
        },
        Data::Bool(b) => {
            ws.write_boolean(r, c, *b)?;
        }
        Data::DateTime(_) => {
            // As a 1900-system serial, whatever system the source used.
            let epoch = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|e| e.and_hms_opt(0, 0, 0))
                .expect("a valid date");
            let serial = d
                .as_datetime()
                .map_or(0.0, |t| (t - epoch).num_seconds() as f64 / 86_400.0);
            let f = match severity {
                Some(Severity::Error) => &dates.error,
                Some(Severity::Warning) => &dates.warning,
                None => &dates.plain,
            };
            ws.write_number_with_format(r, c, serial, f)?;
        }
        other => {
            let text = crate::values::cell_text(other);
            match fill {
                Some(f) => {
                    ws.write_string_with_format(r, c, text.as_ref(), f)?;
                }
                None => {
                    ws.write_string(r, c, text.as_ref())?;
                }
            }
        }
    }
    Ok(())
}

/// The feedback file name for a source path: its stem plus ".xlsx", with the
/// folder prepended when two sources share a stem.
pub fn feedback_names(paths: &[&str]) -> Vec<String> {
    let stem = |p: &str| {
        let name = p.rsplit('/').next().unwrap_or(p);
        match name.rsplit_once('.') {
            Some((s, _)) => s.to_string(),
            None => name.to_string(),
        }
    };
    paths
        .iter()
        .map(|p| {
            let s = stem(p);
            let clash = paths.iter().filter(|q| stem(q) == s).count() > 1;
            if clash {
                let mut parts: Vec<&str> = p.split('/').collect();
                parts.pop();
                format!("{} - {s}.xlsx", parts.join(" - "))
            } else {
                format!("{s}.xlsx")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_names_are_unique() {
        let names = feedback_names(&["bhyt/a.xlsx", "bhyt/x/b.xls", "land/b.xlsx"]);
        assert_eq!(names, ["a.xlsx", "bhyt - x - b.xlsx", "land - b.xlsx"]);
    }
}
