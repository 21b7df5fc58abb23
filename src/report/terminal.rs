//! What a run, a reconciliation and a history say on the terminal: one
//! Vietnamese sentence per fact with its machine-readable tag
//! (`[files read=… failed=…]`) for the operator's grep.

use crate::report::vnfmt::figure;

/// `println!` that ignores a closed stdout (`tonghop run | head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// A path as a person reads it: `config/../out` is `out`.
pub fn display_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let absolute = p.starts_with('/');
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub fn print_summary(r: &crate::record::RunReport) {
    let vn_date = |d: &str| {
        chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|_| d.to_string())
    };
    say!(
        "tonghop: xã {} ({}), từ {} đến {}",
        r.commune_name,
        r.commune,
        vn_date(&r.period_from),
        vn_date(&r.period_to)
    );
    say_files(r);
    say_rows(&r.totals);
    say_figures(r);
    say!("Kết quả: {}   [outputs]", display_path(&r.out));
}

/// Files read, reused, failed and ignored, and what each pipeline did.
fn say_files(r: &crate::record::RunReport) {
    let t = &r.totals;
    say!(
        "Tệp: {} đã đọc ({} đọc mới, {} không đổi nên dùng lại), {} lỗi, {} bỏ qua{}   [files read={} parsed={} reused={} failed={} ignored={} carried={}]",
        t.files - t.files_failed - t.files_carried,
        t.files_parsed,
        t.files_reused,
        t.files_failed,
        r.ignored_files.len(),
        if t.files_carried > 0 {
            format!(", {} giữ từ lần chạy trước", t.files_carried)
        } else {
            String::new()
        },
        t.files - t.files_failed - t.files_carried,
        t.files_parsed,
        t.files_reused,
        t.files_failed,
        r.ignored_files.len(),
        t.files_carried
    );
    if let Some(since) = &r.unchanged_since {
        say!(
            "Không có gì thay đổi từ lần chạy {since}: kết quả của lần đó được xuất bản lại   [unchanged_since={since}]"
        );
    }
    for f in r
        .files
        .iter()
        .filter(|f| f.status == crate::record::FileStatus::Failed && !f.carried)
    {
        say!(
            "  Tệp lỗi {}: {}   [FAILED {}]",
            f.path,
            f.errors.join("; "),
            f.path
        );
    }
    for p in r.pipelines.iter().filter(|p| !p.message.is_empty()) {
        let tag = match p.status {
            crate::record::PipelineStatus::MissingInputs => "FAILED ",
            _ => "",
        };
        say!("  {tag}{}: {}", p.name, p.message);
    }
    // Files outside every pipeline's folder: a workbook in the wrong place.
    let misplaced: Vec<&crate::record::IgnoredFile> = r
        .ignored_files
        .iter()
        .filter(|i| match i.path.split_once('/') {
            None => true,
            Some((folder, _)) => !r.pipelines.iter().any(|p| p.name == folder),
        })
        .collect();
    for i in misplaced {
        say!("  ignored {}: {}", i.path, i.reason);
    }
}

/// Rows read = accepted + rejected + skipped, cells excluded, totals checked.
fn say_rows(t: &crate::record::Totals) {
    say!(
        "Dòng: {} đã đọc = {} nhận + {} loại + {} bỏ qua ({} nhận kèm cảnh báo)   [rows read={} accepted={} rejected={} skipped={} warnings={}]",
        figure(t.rows_read as f64, ""),
        figure(t.accepted as f64, ""),
        figure(t.rejected as f64, ""),
        figure(t.skipped as f64, ""),
        figure(t.warning_rows as f64, ""),
        t.rows_read,
        t.accepted,
        t.rejected,
        t.skipped,
        t.warning_rows
    );
    if t.cells_excluded > 0 {
        say!(
            "Ô: {} ô không đọc được, bị loại riêng (các ô khác của dòng vẫn được tính)   [cells excluded={}]",
            figure(t.cells_excluded as f64, ""),
            t.cells_excluded
        );
    }
    if t.totals_checked > 0 {
        say!(
            "Dòng tổng: đã đối chiếu {}, lệch {}   [totals checked={} differ={}]",
            figure(t.totals_checked as f64, ""),
            figure(t.totals_mismatched as f64, ""),
            t.totals_checked,
            t.totals_mismatched
        );
    }
}

/// Every figure as the report writes it, then the checks.
fn say_figures(r: &crate::record::RunReport) {
    say!("Chỉ tiêu:");
    let w = r.indicators.iter().map(|i| i.id.len()).max().unwrap_or(0);
    for i in &r.indicators {
        let v = i
            .value
            .map(|v| figure(v, &i.unit))
            .unwrap_or_else(|| match &i.error {
                Some(e) => format!("LỖI / ERROR: {e}"),
                None => "(chưa có số liệu)".to_string(),
            });
        let stale = i
            .stale_since
            .as_deref()
            .map(|r| format!("  [cũ / stale: run {r}]"))
            .unwrap_or_default();
        say!("  {:w$}  {:>12} {}  ({}){stale}", i.id, v, i.unit, i.label);
    }
    for c in &r.checks {
        if c.passed {
            say!("Kiểm tra {}: đạt   [check ok]", c.id);
        } else if let Some(e) = &c.error {
            say!("Kiểm tra {}: LỖI {e}   [check ERROR]", c.id);
        } else {
            say!(
                "Kiểm tra {}: KHÔNG ĐẠT, {} dòng vi phạm: {}   [check FAILED]",
                c.id,
                c.violations,
                c.description
            );
        }
    }
}

/// The reconciliation as a table: one line per template not found, figure,
/// ratio or sum checked, incomplete figure and disagreeing total.
pub fn say_reconciliation(r: &crate::report::reconcile::Reconciliation) {
    say!(
        "{:<10} {:<8} {:<40} {:>14} {:>14}",
        "kiểm tra",
        "kết quả",
        "chỉ tiêu / đoạn",
        "trong dự thảo",
        "tính được"
    );
    for t in &r.templates {
        if t.status == "not_found" {
            let head: String = t.template.chars().take(40).collect();
            say!("{:<10} {:<8} {:<40}", "mẫu câu", "không thấy", head);
        }
        for f in &t.figures {
            say!(
                "{:<10} {:<8} {:<40} {:>14} {:>14}",
                "số liệu",
                if f.ok { "khớp" } else { "SAI" },
                f.indicator,
                f.quoted,
                f.computed
            );
        }
    }
    for a in &r.arithmetic {
        let head: String = a.excerpt.chars().take(40).collect();
        say!(
            "{:<10} {:<8} {:<40} {:>14} {:>14}   (dòng {})",
            if a.kind == "ratio" {
                "tỷ lệ"
            } else {
                "tổng"
            },
            if a.ok { "đúng" } else { "SAI" },
            head,
            a.stated,
            a.computed,
            a.line
        );
    }
    for i in &r.incomplete {
        say!(
            "{:<10} {:<8} {:<40} {}",
            "chưa đủ",
            "lưu ý",
            i.indicator,
            i.lacks
        );
    }
    for t in &r.total_mismatches {
        say!(
            "{:<10} {:<8} {:<40} {}",
            "dòng tổng",
            "lệch",
            format!("{}!{}", t.sheet, t.cell),
            t.reason
        );
    }
}

/// An RFC 3339 time as local time with its zone ("2026-12-01 15:50:37 +07:00").
pub fn local_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_string())
}
