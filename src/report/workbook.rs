//! Excel outputs for Vietnamese readers: `tong-hop.xlsx` (indicators, one
//! sheet per breakdown, the source files) and `phan-hoi/<file>.xlsx` (the
//! problems of one source workbook, to send back to its department).
//!
//! Every text a department typed is written as a string cell, never a
//! formula: rust_xlsxwriter only writes formulas when asked to, so a value
//! such as "=1+2" or "@SUM(A1)" arrives in Excel as the text it was.

use crate::extract::{Finding, Severity};
use crate::indicators::{BreakdownRow, IndicatorValue};
use crate::run::FileReport;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet, XlsxError};
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
    let hf = header_format();
    for (c, (h, w)) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &hf)?;
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.set_landscape();
    ws.set_paper_size(9);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_repeat_rows(0, 0)?;
    if rows > 0 {
        ws.autofilter(0, 0, rows, headers.len() as u16 - 1)?;
    }
    Ok(())
}

fn dimension_sheet_name(by: &str) -> String {
    match by {
        "village" => "Theo bản".into(),
        "species" => "Theo loài".into(),
        "age_band" => "Theo độ tuổi".into(),
        other => format!("Theo {other}"),
    }
}

/// `tong-hop.xlsx` as bytes.
pub fn summary(
    indicators: &[IndicatorValue],
    breakdowns: &[BreakdownRow],
    files: &[FileReport],
    targets: &BTreeMap<String, f64>,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let whole = Format::new().set_num_format(WHOLE);
    let decimal = Format::new().set_num_format(DECIMAL);
    let fmt = |name: &str| if name == WHOLE { &whole } else { &decimal };

    let ws = wb.add_worksheet().set_name("Chỉ tiêu")?;
    set_up(
        ws,
        &[
            ("Mã chỉ tiêu", 34.0),
            ("Chỉ tiêu", 60.0),
            ("Giá trị", 16.0),
            ("Đơn vị", 12.0),
            ("Kế hoạch", 14.0),
            ("% kế hoạch", 12.0),
            ("Lĩnh vực", 12.0),
        ],
        indicators.len() as u32,
    )?;
    for (i, ind) in indicators.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &ind.id)?;
        ws.write_string(r, 1, &ind.label)?;
        match ind.value {
            Some(v) => {
                ws.write_number_with_format(r, 2, v, fmt(number_format(v, &ind.unit)))?;
            }
            None => {
                ws.write_string(
                    r,
                    2,
                    if ind.error.is_some() {
                        "lỗi"
                    } else {
                        "chưa có số liệu"
                    },
                )?;
            }
        }
        ws.write_string(r, 3, &ind.unit)?;
        if let Some(plan) = targets.get(&ind.id) {
            ws.write_number_with_format(r, 4, *plan, fmt(number_format(*plan, &ind.unit)))?;
            if let Some(v) = ind.value
                && *plan != 0.0
            {
                ws.write_number_with_format(r, 5, v / plan * 100.0, &decimal)?;
            }
        }
        ws.write_string(r, 6, &ind.pipeline)?;
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
        let keys: BTreeSet<&str> = rows.iter().map(|b| b.key.as_str()).collect();
        let ws = wb.add_worksheet().set_name(dimension_sheet_name(by))?;
        let first = match by {
            "village" => "Bản",
            "species" => "Loài",
            "age_band" => "Nhóm tuổi",
            other => other,
        };
        let mut headers: Vec<(&str, f64)> = vec![(first, 24.0)];
        headers.extend(ids.iter().map(|(_, label, _)| (*label, 22.0)));
        set_up(ws, &headers, keys.len() as u32)?;
        for (ri, key) in keys.iter().enumerate() {
            let r = ri as u32 + 1;
            ws.write_string(r, 0, *key)?;
            for (ci, (id, _, unit)) in ids.iter().enumerate() {
                if let Some(v) = rows
                    .iter()
                    .find(|b| b.id == *id && b.key == *key)
                    .and_then(|b| b.value)
                {
                    ws.write_number_with_format(r, ci as u16 + 1, v, fmt(number_format(v, unit)))?;
                }
            }
        }
    }

    let ws = wb.add_worksheet().set_name("Nguồn")?;
    set_up(
        ws,
        &[
            ("Tệp", 50.0),
            ("Lĩnh vực", 10.0),
            ("SHA-256", 66.0),
            ("Trạng thái", 12.0),
            ("Số dòng đọc", 12.0),
            ("Chấp nhận", 12.0),
            ("Loại bỏ", 10.0),
            ("Bỏ qua", 10.0),
            ("Dòng có cảnh báo", 12.0),
            ("Lỗi", 60.0),
        ],
        files.len() as u32,
    )?;
    for (i, f) in files.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &f.path)?;
        ws.write_string(r, 1, &f.pipeline)?;
        ws.write_string(r, 2, &f.sha256)?;
        ws.write_string(
            r,
            3,
            if f.status == "ok" {
                "đọc được"
            } else {
                "lỗi"
            },
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
        ws.write_string(r, 9, f.errors.join("; "))?;
    }
    wb.save_to_buffer()
}

/// One feedback workbook: the findings of one source file.
pub fn feedback(file: &str, findings: &[&Finding]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Phản hồi")?;
    set_up(
        ws,
        &[
            ("Sheet", 18.0),
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
    for (i, f) in findings.iter().enumerate() {
        let r = i as u32 + 1;
        ws.write_string(r, 0, &f.sheet)?;
        ws.write_number(r, 1, f64::from(f.row))?;
        ws.write_string(r, 2, &f.cell)?;
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
        ws.write_string(r, 6, &f.reason)?;
        ws.write_string(r, 7, &f.related)?;
    }
    wb.save_to_buffer()
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
