//! Report sentences: templates in the report's own wording with
//! `{indicator:format}` placeholders, rendered with Vietnamese number format.
//! The same parsed template is used backwards by `reconcile`.

use crate::indicators::IndicatorValue;
pub use crate::pipeline::template::{Piece, parse_template};
use crate::record::{PipelineRef, PipelineStatus};
use crate::values::vnfmt::format_vn;
use std::collections::HashMap;

/// Render one template; a figure with no value is written "(chưa có số liệu)".
pub fn render(template: &str, values: &HashMap<&str, Option<f64>>) -> Result<String, String> {
    let mut s = String::new();
    for piece in parse_template(template)? {
        match piece {
            Piece::Text(t) => s.push_str(&t),
            Piece::Figure { id, spec } => match values.get(id.as_str()) {
                Some(Some(v)) => s.push_str(&format_vn(*v, &spec)),
                Some(None) => s.push_str("(chưa có số liệu)"),
                None => return Err(format!("unknown indicator {{{id}}}")),
            },
        }
    }
    Ok(s)
}

/// `bao-cao.md`: one section per pipeline with its paragraphs.
pub fn report_markdown(
    commune: &str,
    period: &crate::config::Period,
    pipelines: &[&crate::pipeline::Pipeline],
    indicators: &[IndicatorValue],
    notes: &[(String, String)],
) -> String {
    let values: HashMap<&str, Option<f64>> = indicators
        .iter()
        .map(|i| (i.id.as_str(), i.value))
        .collect();
    let mut s = format!(
        "# Số liệu báo cáo xã {commune}\n\nKỳ báo cáo: từ {} đến {}. Số liệu do tonghop tổng hợp từ các tệp của các bộ phận; mọi con số được tính lại từ dữ liệu gốc.\n",
        period.from.format("%d/%m/%Y"),
        period.to.format("%d/%m/%Y")
    );
    for p in pipelines {
        if p.paragraphs.is_empty() {
            continue;
        }
        s.push_str(&format!("\n## {}\n\n", p.title));
        for (_, note) in notes.iter().filter(|(name, _)| *name == p.name) {
            s.push_str(&format!("_{note}_\n\n"));
        }
        for t in &p.paragraphs {
            match render(t, &values) {
                Ok(text) => s.push_str(&format!("- {text}\n")),
                Err(e) => s.push_str(&format!("- (lỗi mẫu câu: {e})\n")),
            }
            for note in incomplete_notes(t, indicators) {
                s.push_str(&format!("  - _{note}_\n"));
            }
        }
    }
    s
}

/// What the figures of one sentence lack, as one note: "Chưa đầy đủ: Tổng
/// đàn gia súc chính, … chưa gồm 1 ô không đọc được (Dê / Số con hiện có,
/// Tên bản: Hua Pầu – tệp.xls, Biểu!L12)." Figures that lack the same rows
/// and cells are named together.
pub fn incomplete_notes(template: &str, indicators: &[IndicatorValue]) -> Vec<String> {
    let Ok(pieces) = parse_template(template) else {
        return Vec::new();
    };
    let mut groups: Vec<(&crate::exclusions::Exclusions, Vec<&str>)> = Vec::new();
    for piece in &pieces {
        let Piece::Figure { id, .. } = piece else {
            continue;
        };
        let Some(ind) = indicators.iter().find(|i| i.id == *id) else {
            continue;
        };
        if !ind.excluded.incomplete() || ind.value.is_none() {
            continue;
        }
        match groups.iter_mut().find(|(e, _)| **e == ind.excluded) {
            Some((_, labels)) => {
                if !labels.contains(&ind.label.as_str()) {
                    labels.push(&ind.label);
                }
            }
            None => groups.push((&ind.excluded, vec![&ind.label])),
        }
    }
    if groups.is_empty() {
        return Vec::new();
    }
    let parts: Vec<String> = groups
        .into_iter()
        .map(|(e, labels)| format!("{} {}", labels.join(", "), lacks(e)))
        .collect();
    vec![format!(
        "Chưa đầy đủ: {}. Chi tiết từng ô, từng dòng: private/rejects.csv.",
        parts.join("; ")
    )]
}

/// "chưa gồm 1 ô không đọc được (…)" / "chưa gồm 168 dòng bị loại". The
/// unreadable cells are named (they are few, and each is one fix); rows only
/// when there are three or fewer.
pub fn lacks(e: &crate::exclusions::Exclusions) -> String {
    let figure = |n: u64| crate::report::vnfmt::number(n as f64);
    let mut parts = Vec::new();
    let cells: Vec<&String> = e.examples.iter().filter(|x| x.contains('!')).collect();
    let rows: Vec<&String> = e.examples.iter().filter(|x| !x.contains('!')).collect();
    if e.cells_excluded > 0 {
        let mut p = format!("{} ô không đọc được", figure(e.cells_excluded));
        if !cells.is_empty() {
            let more = e.cells_excluded > cells.len() as u64;
            let named: Vec<&str> = cells.iter().map(|c| c.as_str()).collect();
            p.push_str(&format!(
                " ({}{})",
                named.join("; "),
                if more { "; …" } else { "" }
            ));
        }
        parts.push(p);
    }
    if e.rows_rejected > 0 {
        let mut p = format!("{} dòng bị loại", figure(e.rows_rejected));
        if e.rows_rejected <= 3 && rows.len() as u64 == e.rows_rejected {
            let named: Vec<&str> = rows.iter().map(|c| c.as_str()).collect();
            p.push_str(&format!(" ({})", named.join("; ")));
        }
        parts.push(p);
    }
    format!("chưa gồm {}", parts.join(" và "))
}

/// The line `bao-cao.md` adds under a pipeline whose figures are not this
/// run's own, in Vietnamese.
pub fn report_note(s: &PipelineRef) -> Option<String> {
    let run = s.computed_by.as_deref().unwrap_or("");
    match s.status {
        PipelineStatus::MissingInputs if !run.is_empty() => Some(format!(
            "Lưu ý: lần chạy này không có tệp nào của bộ phận; số liệu dưới đây là của lần chạy {run} (số liệu cũ)."
        )),
        PipelineStatus::MissingInputs => {
            Some("Lưu ý: lần chạy này không có tệp nào của bộ phận; chưa có số liệu.".into())
        }
        PipelineStatus::NoWorkbooks => Some("Chưa có tệp nào của bộ phận; chưa có số liệu.".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_livestock_sentence() {
        let t = "Tổng đàn gia súc chính: {livestock.main_herd} con/{livestock.main_herd_plan} con, đạt {livestock.main_herd_plan_pct:.2}% kế hoạch.";
        let values: HashMap<&str, Option<f64>> = [
            ("livestock.main_herd", Some(19670.0)),
            ("livestock.main_herd_plan", Some(21860.0)),
            ("livestock.main_herd_plan_pct", Some(89.98170173833486)),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            render(t, &values).unwrap(),
            "Tổng đàn gia súc chính: 19.670 con/21.860 con, đạt 89,98% kế hoạch."
        );
    }

    #[test]
    fn zero_words_and_padding() {
        let values: HashMap<&str, Option<f64>> = [("a", Some(0.0)), ("b", Some(2.0)), ("c", None)]
            .into_iter()
            .collect();
        assert_eq!(
            render(
                "{a:zero=không có} hồ sơ quá hạn; xử phạt {b:02} trường hợp; {c}",
                &values
            )
            .unwrap(),
            "không có hồ sơ quá hạn; xử phạt 02 trường hợp; (chưa có số liệu)"
        );
        assert!(render("{nope}", &values).is_err());
        assert!(parse_template("{a:.x}").is_err());
    }
}
