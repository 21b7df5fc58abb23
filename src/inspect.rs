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
    let mut text = render(p, &o);
    text.push_str(&guesses(file, p, &o));
    (text, Some(o))
}

/// For each sheet no table of the pipeline was found in (or that failed):
/// where a person would say its header is, from the layout alone, with the
/// column names and the logical columns they are like.
fn guesses(file: &Path, p: &Pipeline, o: &FileOutcome) -> String {
    use crate::extract::SheetStatus;
    let failed: Vec<&str> = o
        .sheets
        .iter()
        .filter(|sh| matches!(sh.status, SheetStatus::NoTable | SheetStatus::Error))
        .map(|sh| sh.name.as_str())
        .collect();
    if failed.is_empty() {
        return String::new();
    }
    let ext = file
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let Ok(mut wb) = std::fs::read(file)
        .map_err(|e| e.to_string())
        .and_then(|b| crate::ingest::open(b, &ext).map_err(|e| e.to_string()))
    else {
        return String::new();
    };
    let mut s = String::new();
    for name in failed {
        let Ok(grid) = wb.grid(name) else { continue };
        let Some(g) = crate::shape::guess_header(&grid) else {
            continue;
        };
        let names: Vec<String> = (0..grid.width())
            .map(|c| {
                crate::values::text::clean(&crate::shape::cell_text(grid.raw(g.names, c)))
                    .into_owned()
            })
            .filter(|t| !t.is_empty())
            .collect();
        let _ = writeln!(
            s,
            "\ntrang / sheet \"{name}\": dòng tiêu đề có thể là / likely header: dòng / rows {}–{}, tên cột ở dòng / column names in row {}:\n  {}",
            g.first + 1,
            g.last + 1,
            g.names + 1,
            names.join(" | ")
        );
        let mut guessed = FileOutcome::empty(p, &o.path);
        guessed.unknown_columns = names;
        s.push_str(&suggestions(p, &guessed));
    }
    s
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

/// How alike two header texts are once normalised (case, accents kept,
/// spaces and punctuation folded): 1 the same, 0 nothing in common.
/// Either edit distance over the characters, or, when every word of the
/// shorter (two words at least, and three fifths of the longer's) is in the
/// longer ("Tên thôn bản" and "Thôn bản"), 0.9.
fn likeness(a: &str, b: &str) -> f64 {
    use crate::values::text::header_key;
    let (a, b) = (header_key(a), header_key(b));
    let edit = strsim::normalized_levenshtein(&a, &b);
    let (short, long) = if a.len() <= b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    let words: Vec<&str> = short.split_whitespace().collect();
    let long_words: Vec<&str> = long.split_whitespace().collect();
    let contained = words.len() >= 2
        && words.len() * 5 >= long_words.len() * 3
        && words.iter().all(|w| long_words.contains(w));
    if contained { edit.max(0.9) } else { edit }
}

/// Headers at least this alike are offered as the same column.
const SUGGEST_AT: f64 = 0.7;

/// For each unmapped header, the logical column whose aliases it is most
/// like (not one a sheet already mapped), and the config lines that would
/// map it.
fn suggestions(p: &Pipeline, o: &FileOutcome) -> String {
    let mapped: std::collections::HashSet<&str> = o
        .sheets
        .iter()
        .flat_map(|sh| sh.columns.keys().map(String::as_str))
        .collect();
    let mut lines = Vec::new();
    let mut config: Vec<(String, Vec<String>)> = Vec::new();
    for header in &o.unknown_columns {
        let best = p
            .tables
            .iter()
            .flat_map(|t| t.source_columns().map(move |(_, c)| (t, c)))
            .filter(|(_, c)| !mapped.contains(c.name.as_str()))
            .flat_map(|(t, c)| {
                c.aliases
                    .iter()
                    .map(move |a| (t, c, a, likeness(header, a)))
            })
            .max_by(|x, y| x.3.total_cmp(&y.3));
        let Some((t, c, alias, score)) = best else {
            continue;
        };
        // Below the bar, or already an alias (then it is not what is missing).
        if !(SUGGEST_AT..1.0).contains(&score) {
            continue;
        }
        lines.push(format!(
            "  \"{header}\" giống / is like \"{alias}\" ({:.0} %) -> {} ({})",
            score * 100.0,
            c.name,
            c.label
        ));
        let key = format!("{}.{}.{}", p.name, t.name, c.name);
        match config.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(header.clone()),
            None => config.push((key, vec![header.clone()])),
        }
    }
    if lines.is_empty() {
        return String::new();
    }
    let mut s =
        String::from("gợi ý / suggestions (cột gần giống nhất / nearest logical column):\n");
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    s.push_str("nếu đúng, thêm vào tệp cấu hình của xã / if right, add to the commune's config:\n  [aliases]\n");
    for (key, headers) in config {
        let quoted: Vec<String> = headers
            .iter()
            .map(|h| toml::Value::String(h.clone()).to_string())
            .collect();
        s.push_str(&format!("  \"{key}\" = [{}]\n", quoted.join(", ")));
    }
    s
}

/// A workbook format as a statistician names it.
pub fn format_name(f: Option<crate::ingest::Format>) -> &'static str {
    use crate::ingest::Format;
    match f {
        Some(Format::Xlsx) => "Excel (.xlsx)",
        Some(Format::Xls) => "Excel 97-2003 (.xls)",
        Some(Format::Xlsb) => "Excel nhị phân / binary (.xlsb)",
        Some(Format::Ods) => "OpenDocument (.ods)",
        Some(Format::Html) => "bảng HTML lưu thành Excel / HTML table saved as Excel",
        Some(Format::SpreadsheetMl) => "Excel 2003 XML (SpreadsheetML)",
        None => "không đọc được / unreadable",
    }
}

/// A sheet's status in Vietnamese (with the English word an operator greps).
fn status_name(s: crate::extract::SheetStatus) -> &'static str {
    use crate::extract::SheetStatus;
    match s {
        SheetStatus::Read => "đã đọc / read",
        SheetStatus::Hidden => "trang ẩn, bỏ qua / hidden, skipped",
        SheetStatus::NotWorksheet => "không phải trang dữ liệu / not a worksheet",
        SheetStatus::NoTable => "không có bảng / no table",
        SheetStatus::Error => "lỗi / error",
    }
}

/// What kind of rows were skipped, in Vietnamese.
fn skip_name(kind: &str) -> &str {
    match kind {
        "title" => "tiêu đề",
        "header" => "dòng tiêu đề cột",
        "numbering" => "dòng đánh số cột",
        "blank" => "dòng trống",
        "subtotal" => "dòng cộng",
        "footer" => "chân trang, chữ ký",
        "label" => "dòng nhóm",
        "out_of_period" => "ngoài kỳ báo cáo",
        "sheet_error" => "trang bị lỗi",
        "hidden_sheet" => "trang ẩn",
        "no_table" => "không có bảng",
        "file_rejected" => "tệp bị từ chối",
        other => other,
    }
}

fn severity_name(s: crate::extract::Severity) -> &'static str {
    match s {
        crate::extract::Severity::Error => "lỗi",
        crate::extract::Severity::Warning => "cảnh báo",
    }
}

fn render(p: &Pipeline, o: &FileOutcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "tệp / file: {}  ({}, {} byte, sha256 {})",
        o.path,
        format_name(o.format),
        o.bytes,
        o.sha256
    );
    let _ = writeln!(
        s,
        "đọc như bộ phận / read as pipeline: {} ({})",
        p.title, p.name
    );
    for e in &o.errors {
        let _ = writeln!(s, "LỖI / ERROR: {e}");
    }
    if !o.unknown_columns.is_empty() {
        let _ = writeln!(
            s,
            "cột không dùng / unmapped columns: {}",
            o.unknown_columns.join(", ")
        );
        s.push_str(&suggestions(p, o));
    }
    for (si, sh) in o.sheets.iter().enumerate() {
        let _ = writeln!(
            s,
            "\ntrang / sheet \"{}\": {}",
            sh.name,
            status_name(sh.status)
        );
        if let Some(r) = &sh.reason {
            let _ = writeln!(s, "  {r}");
        }
        let Some(table) = &sh.table else { continue };
        let kinds: Vec<String> = sh
            .skipped_by_kind
            .iter()
            .map(|(k, n)| format!("{n} {}", skip_name(k)))
            .collect();
        let _ = writeln!(
            s,
            "  bảng / table: {table}; dòng tiêu đề / header row {} ({} dòng / rows); {} dòng đọc = {} nhận + {} loại + {} bỏ qua / read = accepted + rejected + skipped{}",
            sh.header_row.unwrap_or(0),
            sh.header_rows,
            sh.rows_read,
            sh.accepted,
            sh.rejected,
            sh.skipped,
            if kinds.is_empty() {
                String::new()
            } else {
                format!(" ({})", kinds.join(", "))
            }
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
                    "    {} {} {}: {} ({})",
                    f.cell,
                    severity_name(f.severity),
                    f.header,
                    f.reason,
                    f.value
                );
            }
        }
    }
    s
}
