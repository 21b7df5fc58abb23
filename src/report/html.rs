//! `bao-cao.html`: the report as the People's Committee reads it on screen
//! or on A4. One self-contained file (inline CSS and SVG, no script, no
//! network): the report's sentences with their figures, each figure with a
//! plan drawn against it, a bar chart per breakdown (villages, age bands,
//! months, …), and where the figures come from (which files, received when,
//! rows accepted and rejected). A figure that lacks rejected rows or
//! unreadable cells is marked wherever it appears.
//!
//! The charts are SVG written here from the data: they are horizontal bars
//! with text, which the browser lays out in its own fonts, so a plotting
//! library (and its font metrics) would add compile time and no function.

use crate::config::Period;
use crate::indicators::{BreakdownRow, IndicatorValue};
use crate::pipeline::Pipeline;
use crate::pipeline::template::{Piece, parse_template};
use crate::record::{FileReport, PipelineRef};
use crate::values::vnfmt::{figure, format_vn};
use std::collections::BTreeMap;
use std::fmt::Write;

/// What `bao-cao.html` is written from.
pub struct HtmlContext<'a> {
    /// "xã Mường Kim"'s name, without the "xã".
    pub commune: &'a str,
    pub province: &'a str,
    pub period: &'a Period,
    /// When the run made it (local time).
    pub made: chrono::DateTime<chrono::Local>,
    /// The pipelines with figures, in report order.
    pub pipelines: &'a [&'a Pipeline],
    pub statuses: &'a [PipelineRef],
    /// (pipeline, note) lines for figures that are not this run's own.
    pub notes: &'a [(String, String)],
    pub indicators: &'a [IndicatorValue],
    pub breakdowns: &'a [BreakdownRow],
    pub targets: &'a BTreeMap<String, f64>,
    pub files: &'a [FileReport],
    /// File path (as in `files`) -> the file's modification time, as people
    /// read it ("12/06/2026 08:30"): when it was last saved, which copies
    /// keep, so not always when it reached the inbox.
    pub received: &'a BTreeMap<String, String>,
}

/// Text and attribute values, escaped for HTML and SVG alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The page style, shared with the province page.
pub const STYLE: &str = r#"
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "DejaVu Sans", "Segoe UI", Arial, sans-serif; color: #1a202c;
  margin: 0 auto; max-width: 190mm; padding: 16px; font-size: 14px; line-height: 1.45; background: #fff; }
header { border-bottom: 3px solid #2b6cb0; margin-bottom: 12px; padding-bottom: 8px; }
header .org { font-weight: 700; letter-spacing: .03em; margin: 0; color: #2d3748; }
h1 { font-size: 22px; margin: 4px 0; color: #1a365d; }
h2 { font-size: 17px; margin: 22px 0 6px; color: #1a365d; border-bottom: 1px solid #cbd5e0; padding-bottom: 3px; }
.meta { color: #4a5568; margin: 2px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 10px 0; }
.card { flex: 1 1 120px; border: 1px solid #cbd5e0; border-radius: 6px; padding: 6px 10px; background: #f7fafc; }
.card b { display: block; font-size: 20px; color: #2b6cb0; }
.card.warn b { color: #c05621; }
nav ol { columns: 2; margin: 4px 0 0; padding-left: 22px; }
nav a { color: #2b6cb0; text-decoration: none; }
ul.sentences { padding-left: 18px; margin: 6px 0; }
ul.sentences li { margin: 4px 0; }
.fig { font-weight: 700; color: #1a365d; white-space: nowrap; }
.fig.lack { color: #c05621; border-bottom: 2px dotted #dd6b20; }
.fig.lack::after { content: "*"; }
.mark { color: #c05621; }
.lacks { color: #9c4221; font-size: 12.5px; margin: 2px 0 6px; }
.note { background: #fffaf0; border-left: 4px solid #dd6b20; padding: 4px 8px; margin: 6px 0; }
figure { margin: 10px 0 14px; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-weight: 700; font-size: 13px; margin-bottom: 2px; color: #2d3748; }
svg { display: block; width: 100%; height: auto; }
svg text { font-family: inherit; font-size: 11px; fill: #2d3748; }
svg .v { font-size: 10.5px; }
svg .lack { fill: #c05621; font-weight: 700; }
table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 6px 0; }
th, td { border: 1px solid #cbd5e0; padding: 3px 5px; vertical-align: top; }
th { background: #ebf4ff; text-align: center; }
td.n { text-align: right; white-space: nowrap; }
tr.bad td { background: #fff5f5; }
.legend { font-size: 12.5px; color: #4a5568; }
.swatch { display: inline-block; width: 12px; height: 10px; margin: 0 3px 0 8px; vertical-align: baseline; }
footer { margin-top: 18px; border-top: 1px solid #cbd5e0; padding-top: 6px; font-size: 12px; color: #4a5568; }
@media print { body { padding: 0; max-width: none; } nav { display: none; } h2 { break-after: avoid; } }
"#;

/// Bar colours of a chart's series, first the indicator's own.
const PALETTE: [&str; 4] = ["#2b6cb0", "#90cdf4", "#2f855a", "#9ae6b4"];
/// The outline and mark of a bar whose figure lacks rows or cells.
const LACK: &str = "#dd6b20";
/// The most series one chart draws side by side.
const MAX_SERIES: usize = 4;

/// `bao-cao.html` as text.
pub fn report_html(ctx: &HtmlContext) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let from = ctx.period.from.format("%d/%m/%Y").to_string();
    let to = ctx.period.to.format("%d/%m/%Y").to_string();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Số liệu báo cáo xã {} – {from} đến {to}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(ctx.commune)
    );
    let _ = write!(
        h,
        "<header>\n<p class=\"org\">UBND XÃ {}{}</p>\n<h1>Số liệu báo cáo xã {}</h1>\n\
         <p class=\"meta\">Kỳ báo cáo: từ {from} đến {to} · Lập lúc {} (tonghop)</p>\n\
         <p class=\"meta\">Mọi con số được tính lại từ các tệp của các bộ phận. Số có dấu <b class=\"mark\">*</b> chưa đầy đủ: một số dòng hoặc ô của tệp nguồn bị loại; lý do ghi ngay dưới câu.</p>\n</header>\n",
        esc(&ctx.commune.to_uppercase()),
        if ctx.province.is_empty() {
            String::new()
        } else {
            format!(" · TỈNH {}", esc(&ctx.province.to_uppercase()))
        },
        esc(ctx.commune),
        ctx.made.format("%H:%M ngày %d/%m/%Y")
    );
    cards(&mut h, ctx);
    nav(&mut h, ctx);
    for (i, p) in ctx.pipelines.iter().enumerate() {
        section(&mut h, ctx, i, p);
    }
    sources(&mut h, ctx);
    h.push_str(
        "<footer>Số liệu chi tiết: indicators.csv, tong-hop.xlsx (các bảng theo bản, theo tháng…). \
         Từng dòng, từng ô bị loại và lý do: private/rejects.csv; tệp phản hồi gửi lại từng bộ phận: private/phan-hoi/.</footer>\n</body>\n</html>\n",
    );
    h
}

/// The run at a glance: departments, files, rows, incomplete figures.
fn cards(h: &mut String, ctx: &HtmlContext) {
    let n = |v: u64| crate::values::vnfmt::number(v as f64);
    let read: u64 = ctx.files.iter().map(|f| u64::from(f.rows_read)).sum();
    let accepted: u64 = ctx.files.iter().map(|f| u64::from(f.accepted)).sum();
    let rejected: u64 = ctx.files.iter().map(|f| u64::from(f.rejected)).sum();
    let failed = ctx
        .files
        .iter()
        .filter(|f| f.status != crate::record::FileStatus::Ok)
        .count() as u64;
    let lacking = ctx
        .indicators
        .iter()
        .filter(|i| i.value.is_some() && i.excluded.incomplete())
        .count() as u64;
    let with_value = ctx.indicators.iter().filter(|i| i.value.is_some()).count() as u64;
    h.push_str("<div class=\"cards\">\n");
    for (label, value, warn) in [
        ("Lĩnh vực có số liệu", n(ctx.pipelines.len() as u64), false),
        (
            "Tệp nguồn đã đọc",
            format!(
                "{}/{}",
                n(ctx.files.len() as u64 - failed),
                n(ctx.files.len() as u64)
            ),
            failed > 0,
        ),
        (
            "Dòng được nhận",
            format!("{}/{}", n(accepted), n(read)),
            false,
        ),
        ("Dòng bị loại", n(rejected), rejected > 0),
        (
            "Chỉ tiêu chưa đầy đủ",
            format!("{}/{}", n(lacking), n(with_value)),
            lacking > 0,
        ),
    ] {
        let _ = writeln!(
            h,
            "<div class=\"card{}\"><b>{}</b>{}</div>",
            if warn { " warn" } else { "" },
            esc(&value),
            esc(label)
        );
    }
    h.push_str("</div>\n");
}

fn nav(h: &mut String, ctx: &HtmlContext) {
    h.push_str("<nav><b>Nội dung</b><ol>\n");
    for (i, p) in ctx.pipelines.iter().enumerate() {
        let _ = writeln!(
            h,
            "<li><a href=\"#muc-{}\">{}</a></li>",
            i + 1,
            esc(&p.title)
        );
    }
    h.push_str("<li><a href=\"#nguon\">Nguồn số liệu</a></li>\n</ol></nav>\n");
}

/// One department: its sentences, its figures against their plans, its
/// breakdowns.
fn section(h: &mut String, ctx: &HtmlContext, index: usize, p: &Pipeline) {
    let _ = writeln!(
        h,
        "<section id=\"muc-{}\">\n<h2>{}. {}</h2>",
        index + 1,
        index + 1,
        esc(&p.title)
    );
    for (_, note) in ctx.notes.iter().filter(|(name, _)| *name == p.name) {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(note));
    }
    if !p.paragraphs.is_empty() {
        h.push_str("<ul class=\"sentences\">\n");
        for t in &p.paragraphs {
            let _ = write!(h, "<li>{}", sentence(t, ctx.indicators));
            for note in super::text::incomplete_notes(t, ctx.indicators) {
                let _ = write!(h, "<p class=\"lacks\">{}</p>", esc(&note));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n");
    }
    let planned: Vec<(&IndicatorValue, f64)> = ctx
        .indicators
        .iter()
        .filter(|i| i.pipeline == p.name)
        .filter_map(|i| Some((i, *ctx.targets.get(&i.id)?)))
        .collect();
    if !planned.is_empty() {
        let _ = write!(
            h,
            "<figure class=\"plan\"><figcaption>Thực hiện so với kế hoạch</figcaption>\n{}</figure>\n",
            plan_chart(&planned)
        );
    }
    for group in chart_groups(p, ctx.breakdowns) {
        breakdown_figure(h, p, &group);
    }
    h.push_str("</section>\n");
}

/// A sentence with its figures in bold; a figure that lacks rows or cells
/// is marked and says what it lacks when pointed at.
fn sentence(template: &str, indicators: &[IndicatorValue]) -> String {
    let Ok(pieces) = parse_template(template) else {
        return esc(template);
    };
    let mut s = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => s.push_str(&esc(&t)),
            Piece::Figure { id, spec } => match indicators.iter().find(|i| i.id == id) {
                Some(ind) => match ind.value {
                    Some(v) if ind.excluded.incomplete() => {
                        let _ = write!(
                            s,
                            "<span class=\"fig lack\" data-id=\"{}\" title=\"{}\">{}</span>",
                            esc(&ind.id),
                            esc(&format!(
                                "{} {}",
                                ind.label,
                                super::text::lacks(&ind.excluded)
                            )),
                            esc(&format_vn(v, &spec))
                        );
                    }
                    Some(v) => {
                        let _ = write!(
                            s,
                            "<span class=\"fig\" data-id=\"{}\" title=\"{}\">{}</span>",
                            esc(&ind.id),
                            esc(&ind.label),
                            esc(&format_vn(v, &spec))
                        );
                    }
                    None => s.push_str("<span class=\"fig\">(chưa có số liệu)</span>"),
                },
                None => s.push_str("<span class=\"fig\">(chưa có số liệu)</span>"),
            },
        }
    }
    s
}

/// Actual against plan, one bar each: the grey track is the plan (100 %),
/// the fill what was done (drawn to 120 % at most, the text gives the rest).
fn plan_chart(rows: &[(&IndicatorValue, f64)]) -> String {
    const W: f64 = 680.0;
    const LABEL: f64 = 180.0;
    const TRACK: f64 = 150.0;
    const ROW: f64 = 22.0;
    let height = ROW * rows.len() as f64 + 6.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" role=\"img\">\n"
    );
    for (i, (ind, plan)) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL - 6.0,
            y + 12.0,
            esc(&clip(&ind.label, 30))
        );
        let _ = write!(
            s,
            "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{TRACK}\" height=\"15\" fill=\"#e2e8f0\"/>"
        );
        let lack = ind.value.is_some() && ind.excluded.incomplete();
        let text = match ind.value.filter(|v| v.is_finite()) {
            Some(v) => {
                let share = if *plan != 0.0 { v / plan } else { 0.0 };
                let w = (share.clamp(0.0, 1.2) * TRACK).max(0.0);
                let _ = write!(
                    s,
                    "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{w:.1}\" height=\"15\" fill=\"{}\"{}/>",
                    PALETTE[0],
                    if lack {
                        format!(" stroke=\"{LACK}\" stroke-width=\"2\" stroke-dasharray=\"3 2\"")
                    } else {
                        String::new()
                    }
                );
                let pct = if *plan != 0.0 {
                    format!(" – đạt {} %", figure(share * 100.0, "%"))
                } else {
                    String::new()
                };
                format!(
                    "{}{} / {} {}{pct}",
                    figure(v, &ind.unit),
                    if lack { "*" } else { "" },
                    figure(*plan, &ind.unit),
                    ind.unit
                )
            }
            None => "chưa có số liệu".to_string(),
        };
        // The plan's end, so a fill past it shows.
        let _ = write!(
            s,
            "<line x1=\"{x}\" x2=\"{x}\" y1=\"{}\" y2=\"{}\" stroke=\"#1a202c\" stroke-width=\"1\"/>",
            y - 2.0,
            y + 17.0,
            x = LABEL + TRACK
        );
        let _ = writeln!(
            s,
            "<text class=\"v{}\" x=\"{}\" y=\"{}\">{}</text>",
            if lack { " lack" } else { "" },
            LABEL + TRACK * 1.2 + 8.0,
            y + 12.0,
            esc(&text)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// One chart: breakdowns of one pipeline over the same dimension, unit and
/// members, drawn side by side (VNeID's collected and activated by age
/// band).
struct Group<'a> {
    by: &'a str,
    by_label: &'a str,
    unit: &'a str,
    series: Vec<(&'a crate::pipeline::Breakdown, Vec<&'a BreakdownRow>)>,
}

fn chart_groups<'a>(p: &'a Pipeline, rows: &'a [BreakdownRow]) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    for b in &p.breakdowns {
        let mine: Vec<&BreakdownRow> = rows
            .iter()
            .filter(|r| r.pipeline == p.name && r.id == b.id && r.by == b.by)
            .collect();
        if mine.iter().all(|r| r.value.is_none()) {
            continue;
        }
        fn keys<'r>(rs: &[&'r BreakdownRow]) -> Vec<&'r str> {
            let mut k: Vec<&str> = rs.iter().map(|r| r.key.as_str()).collect();
            k.sort_unstable();
            k
        }
        let joins = groups.last().is_some_and(|g| {
            g.by == b.by
                && g.unit == b.unit
                && g.series.len() < MAX_SERIES
                && keys(&g.series[0].1) == keys(&mine)
        });
        if joins {
            groups.last_mut().expect("checked").series.push((b, mine));
        } else {
            groups.push(Group {
                by: &b.by,
                by_label: &b.by_label,
                unit: &b.unit,
                series: vec![(b, mine)],
            });
        }
    }
    groups
}

/// "Từ 6 đến dưới 14 tuổi đã thu nhận, theo bản" is the series
/// "Từ 6 đến dưới 14 tuổi đã thu nhận" of a chart "theo bản".
fn series_name(label: &str) -> &str {
    match label.rfind(", theo ") {
        Some(i) => &label[..i],
        None => label,
    }
}

fn breakdown_figure(h: &mut String, p: &Pipeline, g: &Group) {
    // Members in the order the breakdown gives them (Vietnamese order,
    // months by number).
    let mut keys: Vec<&str> = Vec::new();
    for (_, rows) in &g.series {
        for r in rows {
            if !keys.contains(&r.key.as_str()) {
                keys.push(&r.key);
            }
        }
    }
    let member = |k: &str| -> String {
        if k.is_empty() {
            return "(không ghi)".into();
        }
        p.member_label(g.by, k)
            .map_or_else(|| k.to_string(), |c| c.into_owned())
    };
    let caption = if g.series.len() == 1 {
        g.series[0].0.label.clone()
    } else {
        let by = g.by_label.to_lowercase();
        format!("Theo {by}")
    };
    let unit = if g.unit.trim().is_empty() {
        String::new()
    } else {
        format!(" ({})", g.unit)
    };
    let _ = writeln!(
        h,
        "<figure class=\"breakdown\"><figcaption>{}{}</figcaption>",
        esc(&caption),
        esc(&unit)
    );
    if g.series.len() > 1 {
        h.push_str("<div class=\"legend\">");
        for (i, (b, _)) in g.series.iter().enumerate() {
            let _ = write!(
                h,
                "<span class=\"swatch\" style=\"background:{}\"></span>{}",
                PALETTE[i],
                esc(series_name(&b.label))
            );
        }
        h.push_str("</div>\n");
    }
    let members: Vec<String> = keys.iter().map(|k| member(k)).collect();
    let values: Vec<Vec<Option<Bar>>> = g
        .series
        .iter()
        .map(|(_, rows)| {
            keys.iter()
                .map(|k| rows.iter().copied().find(|r| r.key == *k).map(Bar::from))
                .collect()
        })
        .collect();
    h.push_str(&bar_chart(&members, &values, g.unit));
    let lacking: Vec<String> = g
        .series
        .iter()
        .flat_map(|(_, rows)| rows.iter())
        .filter(|r| r.value.is_some() && r.excluded.incomplete())
        .map(|r| format!("{}: {}", member(&r.key), super::text::lacks(&r.excluded)))
        .collect();
    let mut unique: Vec<String> = Vec::new();
    for l in lacking {
        if !unique.contains(&l) {
            unique.push(l);
        }
    }
    let marked = keys
        .iter()
        .filter(|k| {
            g.series.iter().any(|(_, rows)| {
                rows.iter()
                    .any(|r| r.key == **k && r.value.is_some() && r.excluded.incomplete())
            })
        })
        .count();
    // A few are named; many would bury the chart, and each is in
    // rejects.csv and in the notes of tong-hop.xlsx.
    if unique.len() > 4 {
        let _ = writeln!(
            h,
            "<p class=\"lacks\">* Chưa đầy đủ ở {marked}/{} {}: một số dòng hoặc ô bị loại; từng dòng, từng ô: private/rejects.csv.</p>",
            keys.len(),
            esc(&g.by_label.to_lowercase())
        );
    } else if !unique.is_empty() {
        let _ = writeln!(
            h,
            "<p class=\"lacks\">* Chưa đầy đủ – {}.</p>",
            esc(&unique.join("; "))
        );
    }
    h.push_str("</figure>\n");
}

/// One bar: its figure (none: "chưa có số liệu") and whether the figure
/// lacks rows or cells.
#[derive(Debug, Clone, Copy)]
pub struct Bar {
    pub value: Option<f64>,
    pub lack: bool,
}

impl From<&BreakdownRow> for Bar {
    fn from(r: &BreakdownRow) -> Bar {
        Bar {
            // A query that divides by zero gives inf or NaN: no bar.
            value: r.value.filter(|v| v.is_finite()),
            lack: r.excluded.incomplete(),
        }
    }
}

impl From<&IndicatorValue> for Bar {
    fn from(i: &IndicatorValue) -> Bar {
        Bar {
            value: i.value.filter(|v| v.is_finite()),
            lack: i.excluded.incomplete(),
        }
    }
}

/// Horizontal bars: members down, one bar per series (`series[s][member]`),
/// value written at the bar's end. Negative values (a herd that shrank)
/// grow left of the zero line.
pub fn bar_chart(members: &[String], series: &[Vec<Option<Bar>>], unit: &str) -> String {
    const W: f64 = 680.0;
    const LABEL: f64 = 200.0;
    const VALUE_ROOM: f64 = 110.0;
    const BAR: f64 = 13.0;
    const GAP: f64 = 7.0;
    let all = series
        .iter()
        .flatten()
        .filter_map(|b| b.and_then(|b| b.value));
    let (min, max) = all.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if max - min > 0.0 { max - min } else { 1.0 };
    let area = W - LABEL - VALUE_ROOM;
    let x_of = |v: f64| LABEL + (v - min) / span * area;
    let zero = x_of(0.0);
    let block = BAR * series.len() as f64 + GAP;
    let height = block * members.len() as f64 + 8.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" role=\"img\">\n"
    );
    for (mi, name) in members.iter().enumerate() {
        let top = 4.0 + block * mi as f64;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\"><title>{}</title>{}</text>",
            LABEL - 6.0,
            top + BAR * series.len() as f64 / 2.0 + 4.0,
            esc(name),
            esc(&clip(name, 34))
        );
        if series.iter().all(|v| v[mi].and_then(|b| b.value).is_none()) {
            let _ = write!(
                s,
                "<text class=\"v\" x=\"{:.1}\" y=\"{:.1}\">chưa có số liệu</text>",
                zero + 4.0,
                top + BAR * series.len() as f64 / 2.0 + 4.0
            );
            continue;
        }
        for (si, values) in series.iter().enumerate() {
            let y = top + BAR * si as f64;
            let Some(bar) = values[mi] else { continue };
            let Some(v) = bar.value else { continue };
            let lack = bar.lack;
            let (x0, x1) = if v >= 0.0 {
                (zero, x_of(v))
            } else {
                (x_of(v), zero)
            };
            let _ = write!(
                s,
                "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"{}/>",
                y + 1.0,
                (x1 - x0).max(0.5),
                BAR - 2.0,
                PALETTE[si % PALETTE.len()],
                if lack {
                    format!(" stroke=\"{LACK}\" stroke-width=\"1.5\" stroke-dasharray=\"3 2\"")
                } else {
                    String::new()
                }
            );
            let _ = write!(
                s,
                "<text class=\"v{}\" x=\"{:.1}\" y=\"{:.1}\">{}{}</text>",
                if lack { " lack" } else { "" },
                x1.max(zero) + 4.0,
                y + BAR - 3.0,
                esc(&figure(v, unit)),
                if lack { "*" } else { "" }
            );
        }
    }
    let _ = writeln!(
        s,
        "<line x1=\"{zero:.1}\" x2=\"{zero:.1}\" y1=\"2\" y2=\"{:.1}\" stroke=\"#4a5568\" stroke-width=\"1\"/>",
        height - 2.0
    );
    s.push_str("</svg>\n");
    s
}

/// Where the figures come from: every file with its department, when it
/// arrived and what became of its rows; departments that sent nothing.
fn sources(h: &mut String, ctx: &HtmlContext) {
    let n = |v: u32| crate::values::vnfmt::number(f64::from(v));
    h.push_str(
        "<section id=\"nguon\">\n<h2>Nguồn số liệu</h2>\n<table>\n<thead><tr><th>Lĩnh vực</th><th>Tệp</th><th>Tệp sửa lúc</th><th>Trạng thái</th><th>Dòng đọc</th><th>Nhận</th><th>Loại</th><th>Bỏ qua</th></tr></thead>\n<tbody>\n",
    );
    for p in ctx.pipelines {
        let files: Vec<&FileReport> = ctx.files.iter().filter(|f| f.pipeline == p.name).collect();
        if files.is_empty() {
            let status = ctx.statuses.iter().find(|s| s.name == p.name);
            let why = status
                .and_then(super::text::report_note)
                .unwrap_or_else(|| "Chưa có tệp nào.".into());
            let _ = writeln!(
                h,
                "<tr class=\"bad\"><td>{}</td><td colspan=\"7\">{}</td></tr>",
                esc(&p.title),
                esc(&why)
            );
            continue;
        }
        for f in files {
            let status = if f.stale {
                format!("lỗi, giữ số liệu lần trước: {}", f.errors.join("; "))
            } else if f.carried {
                "số liệu kỳ trước (không đọc lại)".into()
            } else if f.status != crate::record::FileStatus::Ok {
                format!("không đọc được: {}", f.errors.join("; "))
            } else if f.rejected > 0 {
                "đọc được, có dòng bị loại".into()
            } else {
                "đọc được".into()
            };
            let _ = writeln!(
                h,
                "<tr{}><td>{}</td><td class=\"path\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                if f.status != crate::record::FileStatus::Ok || f.rejected > 0 {
                    " class=\"bad\""
                } else {
                    ""
                },
                esc(&p.title),
                esc(&f.path),
                esc(ctx.received.get(&f.path).map_or("", String::as_str)),
                esc(&status),
                n(f.rows_read),
                n(f.accepted),
                n(f.rejected),
                n(f.skipped)
            );
        }
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
}

/// At most `n` characters, with "…" when cut (the whole text is in the
/// chart's tooltip).
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_texts() {
        assert_eq!(
            esc("Bản <Lướt> & \"Nà\" 'Cóc'"),
            "Bản &lt;Lướt&gt; &amp; &quot;Nà&quot; &#39;Cóc&#39;"
        );
    }

    #[test]
    fn series_names_drop_the_dimension() {
        assert_eq!(
            series_name("Từ 6 đến dưới 14 tuổi đã thu nhận, theo bản"),
            "Từ 6 đến dưới 14 tuổi đã thu nhận"
        );
        assert_eq!(series_name("Thu ngân sách"), "Thu ngân sách");
    }

    fn row(key: &str, v: f64, rejected: u64) -> BreakdownRow {
        let excluded = crate::exclusions::Exclusions {
            rows_rejected: rejected,
            ..Default::default()
        };
        BreakdownRow {
            id: "x".into(),
            pipeline: "p".into(),
            by: "village".into(),
            key: key.into(),
            value: Some(v),
            unit: "con".into(),
            label: "x".into(),
            excluded,
            commune: String::new(),
            period: String::new(),
        }
    }

    /// Attribute `name` of every `<rect>`, in order.
    fn rect_attr(svg: &str, name: &str) -> Vec<f64> {
        let key = format!(" {name}=\"");
        svg.split("<rect")
            .skip(1)
            .map(|r| {
                let v = r.split(key.as_str()).nth(1).unwrap();
                v[..v.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    }

    #[test]
    fn bars_are_as_long_as_their_values_and_mark_what_lacks() {
        let a = row("A", 100.0, 0);
        let b = row("B", 50.0, 2);
        let svg = bar_chart(
            &["Bản A".into(), "Bản B".into()],
            &[vec![Some(Bar::from(&a)), Some(Bar::from(&b))]],
            "con",
        );
        let widths = rect_attr(&svg, "width");
        assert_eq!(widths.len(), 2);
        assert!((widths[0] - 2.0 * widths[1]).abs() < 0.2, "{widths:?}");
        assert!(svg.contains(">100</text>"), "{svg}");
        assert!(svg.contains(">50*</text>"), "{svg}");
        assert_eq!(svg.matches("stroke-dasharray").count(), 1);
    }

    #[test]
    fn a_negative_value_grows_left_of_zero() {
        let a = row("A", 10.0, 0);
        let b = row("B", -5.0, 0);
        let svg = bar_chart(
            &["A".into(), "B".into()],
            &[vec![Some(Bar::from(&a)), Some(Bar::from(&b))]],
            "%",
        );
        let xs = rect_attr(&svg, "x");
        assert!(xs[1] < xs[0], "{xs:?}");
        assert!(svg.contains(">-5,00</text>"), "{svg}");
    }
}
