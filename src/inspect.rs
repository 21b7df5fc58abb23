//! `tonghop inspect FILE`: what tonghop understands of one workbook, for
//! onboarding a department's template. Per sheet: visibility, the table it
//! matched and the header row(s), which logical column every header cell
//! mapped to (and by which text), the unmapped columns, the first rows as
//! normalised values, and what would be rejected and why.

use crate::config::RunContext;
use crate::extract::{FileOutcome, process_file};
use crate::pipeline::Pipeline;
use crate::table::ColumnData;
use std::fmt::Write;
use std::path::Path;

/// Process `file` with each candidate pipeline and keep the one that accepts
/// the most rows (or the one named).
pub fn inspect(
    file: &Path,
    pipelines: &[&Pipeline],
    ctx: &RunContext,
) -> (String, Option<FileOutcome>) {
    let rel = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut best: Option<(usize, FileOutcome)> = None;
    for (i, p) in pipelines.iter().enumerate() {
        let o = process_file(p, file, &rel, ctx);
        let score = o
            .sheets
            .iter()
            .map(|s| s.accepted + s.rejected)
            .sum::<u32>();
        if best.as_ref().is_none_or(|(_, b)| {
            score
                > b.sheets
                    .iter()
                    .map(|s| s.accepted + s.rejected)
                    .sum::<u32>()
        }) {
            best = Some((i, o));
        }
    }
    let Some((pi, o)) = best else {
        return ("no pipeline to try\n".into(), None);
    };
    let p = pipelines[pi];
    (render(p, &o), Some(o))
}

fn value_text(c: &ColumnData, i: usize) -> String {
    match c {
        ColumnData::Text(v) => v[i].clone().unwrap_or_default(),
        ColumnData::Packed { .. } => c.text(i).unwrap_or_default().to_string(),
        ColumnData::Int(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
        ColumnData::Float(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
        ColumnData::Date(v) => v[i]
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default(),
    }
}

fn render(p: &Pipeline, o: &FileOutcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "tệp / file: {}  ({:?}, {} bytes, sha256 {})",
        o.path, o.format, o.bytes, o.sha256
    );
    let _ = writeln!(s, "pipeline: {} ({})", p.name, p.title);
    for e in &o.errors {
        let _ = writeln!(s, "LỖI / ERROR: {e}");
    }
    if !o.unknown_columns.is_empty() {
        let _ = writeln!(
            s,
            "cột không dùng / unmapped columns: {}",
            o.unknown_columns.join(", ")
        );
    }
    for (si, sh) in o.sheets.iter().enumerate() {
        let _ = writeln!(s, "\nsheet \"{}\": {:?}", sh.name, sh.status);
        if let Some(r) = &sh.reason {
            let _ = writeln!(s, "  {r}");
        }
        let Some(table) = &sh.table else { continue };
        let _ = writeln!(
            s,
            "  bảng / table: {table}; dòng tiêu đề / header row {} ({} row(s)); {} read = {} accepted + {} rejected + {} skipped {:?}",
            sh.header_row.unwrap_or(0),
            sh.header_rows,
            sh.rows_read,
            sh.accepted,
            sh.rejected,
            sh.skipped,
            sh.skipped_by_kind
        );
        for (col, letter) in &sh.columns {
            let _ = writeln!(
                s,
                "  {letter:>3}  {:<40} -> {col}",
                sh.headers.get(col).map_or("", |h| h.as_str())
            );
        }
        if let Some(ti) = p.tables.iter().position(|t| &t.name == table) {
            let t = &p.tables[ti];
            let b = &o.batches[ti];
            let rows: Vec<usize> = (0..b.len())
                .filter(|&i| b.sheet[i] as usize == si)
                .take(5)
                .collect();
            if !rows.is_empty() {
                let _ = writeln!(s, "  dòng đầu / first rows (normalised):");
                for i in rows {
                    let vals: Vec<String> = t
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(ci, c)| format!("{}={}", c.name, value_text(&b.columns[ci], i)))
                        .collect();
                    let _ = writeln!(s, "    {:>5}: {}", b.row[i], vals.join("; "));
                }
            }
        }
        let problems: Vec<_> = o
            .findings
            .iter()
            .filter(|f| f.sheet == sh.name)
            .take(10)
            .collect();
        if !problems.is_empty() {
            let _ = writeln!(
                s,
                "  sẽ bị loại / would be rejected or flagged (first {}):",
                problems.len()
            );
            for f in problems {
                let _ = writeln!(
                    s,
                    "    {} {:?} {}: {} ({})",
                    f.cell, f.severity, f.column, f.reason, f.value
                );
            }
        }
    }
    s
}
