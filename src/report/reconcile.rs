//! `tonghop reconcile`: check a report draft two ways.
//!
//! 1. Against the computed indicators: every paragraph template of the
//!    pipelines is turned into a pattern (its text, tolerant of spaces, case
//!    and Unicode form; its placeholders, any Vietnamese number) and looked
//!    for in the draft; each quoted figure is compared with the computed one
//!    at the precision the template writes it (rounded half up, or cut).
//! 2. The draft's own arithmetic, whatever the subject:
//!    - ratios "A/B … đạt|bằng P%": P must equal A/B×100 at the precision P is
//!      written at (half-up rounding or truncation both accepted);
//!    - wholes stated with their parts: "W …, đã … A …; đang … B" and
//!      "W …, trong đó A … và B …" (same unit word) must add up.
//!
//! Dates such as "30/6/2026" are not fractions.

use super::text::{Piece, parse_template};
use super::vnfmt::{Spec, format_vn, round_half_up};
use crate::values::number::{NumberKind, parse_number};
use regex::Regex;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Serialize)]
pub struct FigureCheck {
    pub indicator: String,
    pub quoted: String,
    /// The computed figure written as the template writes it.
    pub computed: String,
    pub ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TemplateCheck {
    pub pipeline: String,
    pub template: String,
    /// "match", "mismatch" or "not_found".
    pub status: String,
    pub figures: Vec<FigureCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArithmeticCheck {
    /// "ratio" or "sum".
    pub kind: String,
    /// 1-based line of the draft.
    pub line: usize,
    pub excerpt: String,
    pub stated: String,
    pub computed: String,
    pub ok: bool,
}

/// A figure the run could not compute from all of its rows and cells.
#[derive(Debug, Clone, Serialize)]
pub struct IncompleteFigure {
    pub indicator: String,
    pub label: String,
    pub excluded: crate::exclusions::Exclusions,
    /// In Vietnamese: "chưa gồm 1 ô không đọc được (…)".
    pub lacks: String,
}

/// A department's own total row that disagrees with what tonghop read.
#[derive(Debug, Clone, Serialize)]
pub struct TotalMismatch {
    pub file: String,
    pub sheet: String,
    pub cell: String,
    pub value: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconciliation {
    pub draft: String,
    pub templates: Vec<TemplateCheck>,
    pub arithmetic: Vec<ArithmeticCheck>,
    /// Figures of the run that lack rejected rows or unreadable cells (they
    /// do not fail the reconciliation: the draft may quote them knowingly).
    pub incomplete: Vec<IncompleteFigure>,
    /// Total rows of the departments' sheets that disagree with their rows.
    pub total_mismatches: Vec<TotalMismatch>,
    pub passed: bool,
}

/// The incomplete figures among `indicators`.
pub fn incomplete_figures(
    indicators: &[crate::indicators::IndicatorValue],
) -> Vec<IncompleteFigure> {
    indicators
        .iter()
        .filter(|i| i.value.is_some() && i.excluded.incomplete())
        .map(|i| IncompleteFigure {
            indicator: i.id.clone(),
            label: i.label.clone(),
            excluded: i.excluded.clone(),
            lacks: crate::report::text::lacks(&i.excluded),
        })
        .collect()
}

/// The `total_mismatch` findings among `findings`.
pub fn total_mismatches(findings: &[crate::extract::Finding]) -> Vec<TotalMismatch> {
    findings
        .iter()
        .filter(|f| f.code == "total_mismatch")
        .map(|f| TotalMismatch {
            file: f.file.clone(),
            sheet: f.sheet.clone(),
            cell: f.cell.clone(),
            value: f.value.clone(),
            reason: f.reason.clone(),
        })
        .collect()
}

/// The draft as compared: NFC, non-breaking and odd spaces made plain.
pub fn normalise(text: &str) -> String {
    text.nfc()
        .map(|c| {
            if matches!(c, '\u{00A0}' | '\u{202F}' | '\u{2007}') {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !matches!(c, '\u{200B}' | '\u{FEFF}'))
        .collect()
}

const NUMBER: &str = r"\d[\d.,]*\d|\d";

/// Text a figure may be separated from the words before it by, in the
/// draft (a clause the template does not have: "… thiểu số theo Quyết định
/// số 60/QĐ-BD TTG ngày 29/01/2026 cho 12.253 người", or a paragraph the
/// page layout dropped in between). The words after the figure must follow
/// it directly, so the nearest figure that fits is the one compared.
const GAP_BEFORE_FIGURE: usize = 1000;

fn is_page_break(block: &str) -> bool {
    let t = block.trim();
    t.contains('\u{000C}')
        || (t.len() >= 3
            && (t.chars().all(|c| c == '-')
                || t.chars().all(|c| c == '*')
                || t.chars().all(|c| c == '_')))
}

fn footnote_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^\s*<sup>\s*\d+\s*</sup>").expect("footnote pattern"))
}

/// Whether a paragraph ends a sentence (else the next page continues it).
fn ends_sentence(block: &str) -> bool {
    let t = block
        .trim_end()
        .trim_end_matches(|c: char| c == '*' || c == '_' || c.is_whitespace());
    t.ends_with(['.', ';', ':', '!', '?', ')', '"', '”']) || t.is_empty()
}

/// The draft in reading order, as exported from Word or PDF: footnote
/// blocks (`<sup>n</sup> …`) taken out of the running text and put after
/// it, each as its own paragraph; a paragraph (or footnote) cut by a page
/// break (`---`) joined with its continuation on the next page (footnotes
/// continue first, then the text, as the pages lay them out); footnote
/// markers, markdown emphasis and heading marks removed.
pub fn reading_order(draft: &str) -> String {
    let text = normalise(draft).replace("\r\n", "\n");
    let blank = Regex::new(r"\n[ \t]*\n").expect("blank line");
    let blocks = blank.split(&text);
    let mut body: Vec<String> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    // Cut at the last page break: which note and which paragraph go on.
    let mut open_notes: Vec<usize> = Vec::new();
    let mut open_body: Option<usize> = None;
    let mut page_notes: Vec<usize> = Vec::new();
    for block in blocks {
        if block.trim().is_empty() {
            continue;
        }
        if is_page_break(block) {
            // Only the page's last footnote can run on to the next page.
            open_notes = page_notes
                .last()
                .copied()
                .filter(|&i| !ends_sentence(&notes[i]))
                .into_iter()
                .collect();
            open_body = body
                .len()
                .checked_sub(1)
                .filter(|&i| !ends_sentence(&body[i]));
            page_notes.clear();
            continue;
        }
        if !open_notes.is_empty() && !footnote_re().is_match(block) {
            let i = open_notes.remove(0);
            notes[i] = format!("{} {}", notes[i].trim_end(), block.trim_start());
            continue;
        }
        if let Some(i) = open_body.take()
            && !footnote_re().is_match(block)
        {
            body[i] = format!("{} {}", body[i].trim_end(), block.trim_start());
            continue;
        }
        if footnote_re().is_match(block) {
            page_notes.push(notes.len());
            notes.push(block.to_string());
        } else {
            body.push(block.to_string());
        }
    }
    static MARKS: OnceLock<Regex> = OnceLock::new();
    let marks = MARKS.get_or_init(|| {
        Regex::new(r"<sup>\s*\d+\s*</sup>|\\\*|\*+|(?m)^#+\s*|</?(?:b|i|em|strong|u)>")
            .expect("markup pattern")
    });
    body.into_iter()
        .chain(notes)
        .map(|b| marks.replace_all(&b, "").into_owned())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn template_regex(pieces: &[Piece]) -> Regex {
    let mut re = String::from("(?i)");
    for (pi, p) in pieces.iter().enumerate() {
        match p {
            Piece::Text(t) => {
                let mut t = normalise(t);
                // The sentence may go on in the draft: its final stop is optional.
                if pi + 1 == pieces.len() {
                    t = t.trim_end().trim_end_matches(['.', ';', ',']).to_string();
                }
                for (i, word) in t.split_whitespace().enumerate() {
                    if i > 0 {
                        re.push_str(r"\s+");
                    }
                    re.push_str(&regex::escape(word));
                }
                // Spaces around figures and punctuation may vary ("79,4 %" / "79,4%").
                re.push_str(r"\s*");
            }
            Piece::Figure { spec, .. } => {
                // Not within a number: the gap may not end inside one.
                re.push_str(&format!(r"(?s:.{{0,{GAP_BEFORE_FIGURE}}}?)(?-u:\b)"));
                if let Some(words) = &spec.zero_words {
                    re.push_str(&format!(r"({}|{NUMBER})\s*", regex::escape(words)));
                } else {
                    re.push_str(&format!(r"({NUMBER})\s*"));
                }
            }
        }
    }
    Regex::new(&re).expect("escaped template pattern")
}

fn quoted_value(q: &str, spec: &Spec) -> Option<f64> {
    if spec
        .zero_words
        .as_deref()
        .is_some_and(|w| w.eq_ignore_ascii_case(q) || normalise(w) == normalise(q))
    {
        return Some(0.0);
    }
    parse_number(q, NumberKind::Decimal)
}

/// Check the draft against the computed indicator values.
pub fn check_templates(
    draft: &str,
    templates: &[(String, String)],
    values: &HashMap<String, f64>,
) -> Vec<TemplateCheck> {
    let text = reading_order(draft);
    templates
        .iter()
        .filter_map(|(pipeline, t)| {
            let pieces = parse_template(t).ok()?;
            let re = template_regex(&pieces);
            let figures: Vec<(&String, &Spec)> = pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Figure { id, spec } => Some((id, spec)),
                    Piece::Text(_) => None,
                })
                .collect();
            let Some(caps) = re.captures(&text) else {
                return Some(TemplateCheck {
                    pipeline: pipeline.clone(),
                    template: t.clone(),
                    status: "not_found".into(),
                    figures: Vec::new(),
                });
            };
            let checks: Vec<FigureCheck> = figures
                .iter()
                .enumerate()
                .map(|(i, (id, spec))| {
                    let quoted = caps.get(i + 1).map_or("", |m| m.as_str()).to_string();
                    let computed = values
                        .get(id.as_str())
                        .map(|v| format_vn(*v, spec))
                        .unwrap_or_else(|| "(chưa có)".into());
                    // As the draft's own ratios: rounded half up, or cut
                    // (reports often cut: 52,345 % written 52,34 %).
                    let ok = match (quoted_value(&quoted, spec), values.get(id.as_str())) {
                        (Some(q), Some(v)) => {
                            let (_, i, f) = round_half_up(*v, spec.decimals);
                            let expected: f64 = format!("{i}.{f}0").parse().unwrap_or(f64::NAN);
                            (q - if *v < 0.0 { -expected } else { expected }).abs() < 1e-9
                                || (*v >= 0.0 && ratio_ok(q, spec.decimals, *v))
                        }
                        _ => false,
                    };
                    FigureCheck {
                        indicator: (*id).clone(),
                        quoted,
                        computed,
                        ok,
                    }
                })
                .collect();
            let all_ok = checks.iter().all(|c| c.ok);
            Some(TemplateCheck {
                pipeline: pipeline.clone(),
                template: t.clone(),
                status: if all_ok { "match" } else { "mismatch" }.into(),
                figures: checks,
            })
        })
        .collect()
}

/// A number token of the draft with its place and the word after it.
#[derive(Debug, Clone)]
struct Token {
    start: usize,
    end: usize,
    value: f64,
    text: String,
    unit: String,
}

fn number_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(NUMBER).expect("number pattern"))
}

fn tokens(sentence: &str) -> Vec<Token> {
    let bytes = sentence.as_bytes();
    number_re()
        .find_iter(sentence)
        .filter(|m| {
            // Parts of dates or fractions ("30/6/2026", "6/2026") are not counts.
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            before != Some(b'/') && after != Some(b'/')
        })
        .filter_map(|m| {
            let text = m.as_str().trim_end_matches(['.', ',']);
            let value = parse_number(text, NumberKind::Decimal)?;
            let unit = sentence[m.end()..]
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_matches(|c: char| !c.is_alphabetic())
                .to_lowercase();
            Some(Token {
                start: m.start(),
                end: m.start() + text.len(),
                value,
                text: text.to_string(),
                unit,
            })
        })
        .collect()
}

fn excerpt(s: &str, from: usize, to: usize) -> String {
    let from = s.floor_char_boundary(from.saturating_sub(0));
    let to = s.ceil_char_boundary(to.min(s.len()));
    s[from..to].split_whitespace().collect::<Vec<_>>().join(" ")
}

fn has_word(segment: &str, word: &str) -> bool {
    segment
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| w.to_lowercase() == word)
}

fn decimals_of(p: &str) -> usize {
    p.rsplit_once(',').map_or(0, |(_, f)| f.len())
}

fn ratio_ok(stated: f64, decimals: usize, exact: f64) -> bool {
    let (_, i, f) = round_half_up(exact, decimals);
    let rounded: f64 = format!("{i}.{f}0").parse().unwrap_or(f64::NAN);
    let m = 10f64.powi(decimals as i32);
    let truncated = (exact * m + 1e-9).floor() / m;
    (stated - rounded).abs() < 1e-9 || (stated - truncated).abs() < 1e-9
}

/// The draft's own arithmetic.
pub fn check_arithmetic(draft: &str) -> Vec<ArithmeticCheck> {
    static FRACTION: OnceLock<Regex> = OnceLock::new();
    static PERCENT: OnceLock<Regex> = OnceLock::new();
    let fraction = FRACTION
        .get_or_init(|| Regex::new(&format!(r"({NUMBER})\s*/\s*({NUMBER})")).expect("fraction"));
    let percent = PERCENT
        .get_or_init(|| Regex::new(&format!(r"(?i)(đạt|bằng)\s*({NUMBER})\s*%")).expect("percent"));
    let text = normalise(draft);
    let mut out = Vec::new();
    for (li, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        // Ratios.
        let fractions: Vec<regex::Captures> = fraction
            .captures_iter(line)
            .filter(|c| {
                let m = c.get(0).expect("whole match");
                let before = m.start().checked_sub(1).map(|i| bytes[i]);
                let after = bytes.get(m.end()).copied();
                let b = c[2].trim_end_matches(['.', ',']);
                let is_year =
                    b.len() == 4 && b.parse::<u32>().is_ok_and(|y| (1900..=2100).contains(&y));
                before != Some(b'/') && after != Some(b'/') && !is_year
            })
            .collect();
        for (fi, c) in fractions.iter().enumerate() {
            let m = c.get(0).expect("whole match");
            let next_start = fractions
                .get(fi + 1)
                .map_or(line.len(), |n| n.get(0).expect("match").start());
            let mut window_end = next_start.min(m.end() + 160);
            if let Some(p) = line[m.end()..]
                .find(['.', ';'].as_slice())
                .map(|p| p + m.end())
            {
                // A dot inside a number is not a sentence end.
                let is_sentence_end = line[p..].starts_with(". ")
                    || line[p..].starts_with(';')
                    || p + 1 == line.len();
                if is_sentence_end {
                    window_end = window_end.min(p);
                }
            }
            let window_end = line.floor_char_boundary(window_end);
            let Some(pc) = percent.captures(&line[m.end()..window_end]) else {
                continue;
            };
            let (Some(a), Some(b)) = (
                parse_number(c[1].trim_end_matches(['.', ',']), NumberKind::Decimal),
                parse_number(c[2].trim_end_matches(['.', ',']), NumberKind::Decimal),
            ) else {
                continue;
            };
            let p_text = pc[2].to_string();
            let Some(p) = parse_number(&p_text, NumberKind::Decimal) else {
                continue;
            };
            if b == 0.0 {
                continue;
            }
            let exact = a / b * 100.0;
            let d = decimals_of(&p_text);
            let ok = ratio_ok(p, d, exact);
            out.push(ArithmeticCheck {
                kind: "ratio".into(),
                line: li + 1,
                excerpt: excerpt(line, m.start(), m.end() + pc.get(0).expect("match").end()),
                stated: format!("{p_text}%"),
                computed: format!(
                    "{}%",
                    format_vn(
                        exact,
                        &Spec {
                            decimals: d.max(2),
                            ..Spec::default()
                        }
                    )
                ),
                ok,
            });
        }
        // Wholes and parts, sentence by sentence.
        for sentence in split_sentences(line) {
            let toks = tokens(sentence);
            sums_da_dang(sentence, &toks, li + 1, &mut out);
            sums_trong_do(sentence, &toks, li + 1, &mut out);
        }
    }
    out
}

fn split_sentences(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let b = line.as_bytes();
    for i in 0..b.len() {
        if b[i] == b'.' && (i + 1 == b.len() || b[i + 1] == b' ') {
            out.push(&line[start..i]);
            start = i + 1;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

fn sum_check(
    sentence: &str,
    line: usize,
    whole: &Token,
    parts: &[&Token],
    out: &mut Vec<ArithmeticCheck>,
) {
    let total: f64 = parts.iter().map(|p| p.value).sum();
    let last = parts.last().expect("parts");
    out.push(ArithmeticCheck {
        kind: "sum".into(),
        line,
        excerpt: excerpt(sentence, whole.start, last.end + last.unit.len() + 1),
        stated: format!(
            "{} = {}",
            whole.text,
            parts
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>()
                .join(" + ")
        ),
        computed: format_vn(total, &Spec::default()),
        ok: (total - whole.value).abs() < 1e-9,
    });
}

/// "W <unit>, đã … A <unit> …[, A2 <unit>]; đang … B <unit>": W = A (+ A2…) + B.
/// The "đã" part starts after a comma (", đã hoàn thành"), so a sentence that
/// merely mentions two figures is not read as a whole and its parts; numbers
/// inside a "trong đó … ;" clause are parts of their own whole, not of W.
fn sums_da_dang(sentence: &str, toks: &[Token], line: usize, out: &mut Vec<ArithmeticCheck>) {
    let lower = sentence.to_lowercase();
    let nested: Vec<(usize, usize)> = lower
        .match_indices("trong đó")
        .map(|(p, _)| {
            let end = sentence[p..].find(';').map_or(sentence.len(), |e| e + p);
            (p, end)
        })
        .collect();
    // A "trong đó" clause that opens after W's first part breaks down that
    // part, not W; one that opens right after W lists W's own parts.
    let is_nested = |t: &Token, first_part: usize| {
        nested
            .iter()
            .any(|(a, b)| *a > first_part && t.start > *a && t.end <= *b)
    };
    for (wi, w) in toks.iter().enumerate() {
        if w.unit.is_empty() || w.value.fract() != 0.0 {
            continue;
        }
        let same: Vec<&Token> = toks[wi + 1..].iter().filter(|t| t.unit == w.unit).collect();
        let Some(first) = same.first() else { continue };
        let lead = &sentence[w.end..first.start];
        let Some(comma) = lead.find(',') else {
            continue;
        };
        if !has_word(&lead[comma..], "đã") {
            continue;
        }
        let mut parts: Vec<&Token> = Vec::new();
        let mut prev_end = w.end;
        for t in &same {
            if !parts.is_empty() && has_word(&sentence[prev_end..t.start], "đang") {
                parts.push(t);
                if parts.iter().all(|p| p.value.fract() == 0.0) {
                    sum_check(sentence, line, w, &parts, out);
                }
                break;
            }
            if !is_nested(t, first.end) {
                parts.push(t);
            }
            prev_end = t.end;
        }
    }
}

/// "W <unit>, trong đó A <unit> … và B <unit>": W = A + B (within one clause).
fn sums_trong_do(sentence: &str, toks: &[Token], line: usize, out: &mut Vec<ArithmeticCheck>) {
    let lower = sentence.to_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find("trong đó").map(|p| p + from) {
        from = p + "trong đó".len();
        let Some(w) = toks.iter().rev().find(|t| t.end <= p && !t.unit.is_empty()) else {
            continue;
        };
        let clause_end = sentence[from..]
            .find(';')
            .map_or(sentence.len(), |e| e + from);
        let parts: Vec<&Token> = toks
            .iter()
            .filter(|t| t.start >= from && t.end <= clause_end && t.unit == w.unit)
            .collect();
        if parts.len() >= 2 && has_word(&sentence[from..clause_end], "và") {
            sum_check(sentence, line, w, &parts, out);
        }
    }
}

/// Both checks; `passed` when no figure mismatches and no arithmetic fails.
pub fn reconcile(
    draft_name: &str,
    draft: &str,
    templates: &[(String, String)],
    values: &HashMap<String, f64>,
) -> Reconciliation {
    let templates = check_templates(draft, templates, values);
    let arithmetic = check_arithmetic(draft);
    let passed =
        templates.iter().all(|t| t.status != "mismatch") && arithmetic.iter().all(|a| a.ok);
    Reconciliation {
        draft: draft_name.to_string(),
        templates,
        arithmetic,
        incomplete: Vec::new(),
        total_mismatches: Vec::new(),
        passed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reading_order_moves_footnotes_out_and_joins_pages() {
        let draft = "- Cấp thẻ BHYT cho **20.213** người<sup>7</sup>, trong đó\n\n\
<sup>6</sup> Xử phạt 02 trường hợp vi phạm hành chính\n\n\
<sup>7</sup> Danh sách kèm theo.\n\n\
<sup>8</sup> Ghi chú cuối trang chưa hết\n\n\
- Một đoạn khác của trang, cho\n\n---\n\n\
ở cuối trang sau.\n\n\
người dân tộc thiểu số 12.253 người.";
        let text = reading_order(draft);
        let paras: Vec<&str> = text.split("\n\n").collect();
        assert_eq!(
            paras,
            [
                "- Cấp thẻ BHYT cho 20.213 người, trong đó",
                "- Một đoạn khác của trang, cho người dân tộc thiểu số 12.253 người.",
                " Xử phạt 02 trường hợp vi phạm hành chính",
                " Danh sách kèm theo.",
                " Ghi chú cuối trang chưa hết ở cuối trang sau.",
            ]
        );
    }

    #[test]
    fn a_figure_may_follow_a_clause_the_template_lacks() {
        let values: HashMap<String, f64> = [("a.n".to_string(), 12253.0)].into_iter().collect();
        let t = vec![(
            "a".to_string(),
            "người đồng bào dân tộc thiểu số {a.n} người; hộ nghèo".to_string(),
        )];
        let ok = check_templates(
            "người đồng bào dân tộc thiểu số theo Quyết định số 60/QĐ-TTg ngày 29/01/2026 cho 12.253 người; hộ nghèo",
            &t,
            &values,
        );
        assert_eq!(ok[0].status, "match");
        assert_eq!(ok[0].figures[0].quoted, "12.253");
        // The nearest figure followed by the template's words is compared:
        // a wrong one is caught, not skipped.
        let wrong = check_templates(
            "người đồng bào dân tộc thiểu số theo Quyết định số 60 cho 12.523 người; hộ nghèo",
            &t,
            &values,
        );
        assert_eq!(wrong[0].status, "mismatch");
        assert_eq!(wrong[0].figures[0].quoted, "12.523");
        // Absent figures: not found.
        let absent = check_templates("người đồng bào dân tộc thiểu số; hộ nghèo", &t, &values);
        assert_eq!(absent[0].status, "not_found");
    }

    fn ratios(text: &str) -> Vec<(String, bool)> {
        check_arithmetic(text)
            .into_iter()
            .filter(|c| c.kind == "ratio")
            .map(|c| (c.stated, c.ok))
            .collect()
    }

    #[test]
    fn ratios_with_vietnamese_numbers() {
        assert_eq!(
            ratios("trồng được 55/140 ha (đạt 35,7% kế hoạch)"),
            [("35,7%".to_string(), false)]
        );
        assert_eq!(
            ratios("được 3.077/3.876 hồ sơ, bằng 79,4 %"),
            [("79,4%".to_string(), true)]
        );
        // Truncation is accepted as well as half-up: 31.127 → "31,12".
        assert_eq!(
            ratios("Kết quả khám đợt 1 được 1.778/5712 người đạt 31,12% kế hoạch."),
            [("31,12%".to_string(), true)]
        );
        assert_eq!(
            ratios("lũy kế 5.844,299/9.867 triệu đồng đạt 56% kế hoạch"),
            [("56%".to_string(), false)]
        );
        // Dates are not fractions.
        assert!(ratios("đến ngày 30/6/2026 đạt 51% dự toán").is_empty());
        assert!(
            ratios("hết tháng 6/2026 dự kiến trồng thêm, lũy kế ước đạt 57,14% kế hoạch")
                .is_empty()
        );
    }

    #[test]
    fn wholes_and_parts() {
        let t = "UBND xã đã giao thực hiện trên 850 nhiệm vụ, đã hoàn thành: 788 nhiệm vụ, trong đó 784 nhiệm vụ đúng hạn và 04 nhiệm vụ quá hạn; đang triển khai thực hiện 62 nhiệm vụ.";
        let sums: Vec<(String, bool)> = check_arithmetic(t)
            .into_iter()
            .filter(|c| c.kind == "sum")
            .map(|c| (c.stated, c.ok))
            .collect();
        assert!(
            sums.contains(&("850 = 788 + 62".to_string(), true)),
            "{sums:?}"
        );
        assert!(
            sums.contains(&("788 = 784 + 04".to_string(), true)),
            "{sums:?}"
        );
        let bad = t.replace("62 nhiệm vụ", "61 nhiệm vụ");
        assert!(
            check_arithmetic(&bad)
                .iter()
                .any(|c| c.kind == "sum" && !c.ok && c.stated == "850 = 788 + 61")
        );
    }

    #[test]
    fn templates_backwards() {
        let templates = vec![(
            "land".to_string(),
            "Xử phạt {land.fines_count:02} trường hợp với số tiền {land.fines_total_vnd} đồng, bằng {land.pct:.1} %.".to_string(),
        )];
        let values: HashMap<String, f64> = [
            ("land.fines_count".to_string(), 2.0),
            ("land.fines_total_vnd".to_string(), 1e7),
            ("land.pct".to_string(), 79.386),
        ]
        .into_iter()
        .collect();
        let ok = check_templates(
            "… xử  phạt 02 trường hợp với số tiền 10.000.000 đồng, bằng 79,4%.",
            &templates,
            &values,
        );
        assert_eq!(ok[0].status, "match", "{ok:?}");
        let bad = check_templates(
            "Xử phạt 03 trường hợp với số tiền 10.000.000 đồng, bằng 79,4 %.",
            &templates,
            &values,
        );
        assert_eq!(bad[0].status, "mismatch");
        assert!(!bad[0].figures[0].ok && bad[0].figures[0].indicator == "land.fines_count");
        let missing = check_templates("Không có gì.", &templates, &values);
        assert_eq!(missing[0].status, "not_found");
    }
}
