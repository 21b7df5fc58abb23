//! The province's `bao-cao.md` and `tong-hop.xlsx`: communes as rows, the
//! province's figure last, and who has not sent what.

use super::{CommuneRun, CommuneStatus, Completeness, Received};
use crate::config::ProvinceConfig;
use crate::model::IndicatorValue;
use crate::pipeline::Pipeline;
use crate::values::vnfmt::number;
use anyhow::Result;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook};

/// What the province's report, page and summary are written from.
#[derive(Clone, Copy)]
pub struct Inputs<'a> {
    pub pc: &'a ProvinceConfig,
    pub pipelines: &'a [&'a Pipeline],
    pub runs: &'a [CommuneRun],
    pub indicators: &'a [IndicatorValue],
    pub completeness: &'a [Completeness],
    /// When the run started, as people read it.
    pub stamp: &'a str,
}

fn period_vi(partition: &str) -> String {
    let vi = |iso: &str| {
        chrono::NaiveDate::parse_from_str(iso, "%Y-%m-%d")
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_else(|_| iso.to_string())
    };
    match partition.split_once('_') {
        Some((a, b)) => format!("{} – {}", vi(a), vi(b)),
        None => partition.to_string(),
    }
}

/// The figure as a sentence shows it: "20.213 người", or "chưa có số liệu".
fn shown(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) if unit == "%" => format!("{}%", number(x)),
        Some(x) => format!("{} {unit}", number(x)),
        None => "chưa có số liệu".into(),
    }
}

pub fn markdown(input: &Inputs<'_>) -> String {
    let Inputs {
        pc,
        pipelines,
        runs,
        indicators,
        completeness,
        stamp,
    } = *input;
    let mut s = format!(
        "# Tổng hợp số liệu tỉnh {} (mã {})\n\n_Lập bởi tonghop lúc {stamp} từ số liệu của {} xã._\n\n",
        pc.name,
        pc.code,
        runs.len()
    );
    let mut periods: Vec<&str> = indicators
        .iter()
        .filter(|i| i.commune == pc.code)
        .map(|i| i.period.as_str())
        .collect();
    periods.dedup();
    for period in periods {
        let members: Vec<&CommuneRun> = runs.iter().filter(|r| r.period == period).collect();
        s.push_str(&format!(
            "## Kỳ {} ({} xã)\n\n",
            period_vi(period),
            members.len()
        ));
        for p in pipelines {
            let sent: Vec<&Completeness> = completeness
                .iter()
                .filter(|c| c.period == period && c.pipeline == p.name)
                .collect();
            let with = sent
                .iter()
                .filter(|c| matches!(c.status, Received::Received | Received::Missing))
                .count();
            s.push_str(&format!(
                "### {}\n\n_{} trên {} xã có số liệu._\n\n",
                p.title,
                with,
                sent.len()
            ));
            for i in indicators
                .iter()
                .filter(|i| i.commune == pc.code && i.period == period && i.pipeline == p.name)
            {
                s.push_str(&format!("- {}: {}", i.label, shown(i.value, &i.unit)));
                if i.excluded.incomplete() {
                    s.push_str(&format!(
                        " _(chưa đầy đủ: chưa gồm {} dòng và {} ô không đọc được ở các xã)_",
                        i.excluded.rows_rejected, i.excluded.cells_excluded
                    ));
                }
                s.push('\n');
            }
            let missing: Vec<String> = sent
                .iter()
                .filter(|c| !matches!(c.status, Received::Received))
                .map(|c| format!("{} ({})", c.commune_name, c.status.vi().to_lowercase()))
                .collect();
            if !missing.is_empty() {
                s.push_str(&format!(
                    "\nChưa có số liệu đầy đủ: {}.\n",
                    missing.join(", ")
                ));
            }
            s.push('\n');
        }
    }
    let broken: Vec<&CommuneRun> = runs
        .iter()
        .filter(|r| r.status != CommuneStatus::Ran)
        .collect();
    if !broken.is_empty() {
        s.push_str("## Xã chưa chạy được\n\n");
        for r in broken {
            s.push_str(&format!(
                "- {} ({}): {}\n",
                if r.name.is_empty() {
                    &r.config
                } else {
                    &r.name
                },
                if r.code.is_empty() { "?" } else { &r.code },
                r.error.as_deref().unwrap_or("")
            ));
        }
        s.push('\n');
    }
    s.push_str(
        "Số liệu từng xã: communes/<mã xã>/bao-cao.md; tình hình gửi số liệu: completeness.csv.\n",
    );
    s
}

pub fn workbook(input: &Inputs<'_>) -> Result<Vec<u8>> {
    let Inputs {
        pc,
        pipelines,
        runs,
        indicators,
        completeness,
        stamp,
    } = *input;
    let mut wb = Workbook::new();
    let title = Format::new().set_bold().set_font_size(14);
    let head = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("#DDEBF7");
    let cell = Format::new().set_border(FormatBorder::Thin);
    let int = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("#,##0");
    let dec = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("#,##0.00");
    let bold_int = int.clone().set_bold();
    let bold_dec = dec.clone().set_bold();
    let bold = cell.clone().set_bold();
    let ids: Vec<(&str, &str, &str)> = pipelines
        .iter()
        .flat_map(|p| p.indicators.iter())
        .map(|i| (i.id.as_str(), i.label.as_str(), i.unit.as_str()))
        .collect();
    {
        let ws = wb.add_worksheet().set_name("Tổng hợp")?;
        ws.write_with_format(
            0,
            0,
            format!("Tổng hợp số liệu tỉnh {} – theo xã", pc.name),
            &title,
        )?;
        ws.write(1, 0, format!("Lập bởi tonghop lúc {stamp}; mỗi dòng một xã, dòng cuối mỗi kỳ là toàn tỉnh (tính trên số liệu gốc của các xã, mỗi người tính một lần)."))?;
        for (c, h) in ["Mã", "Xã", "Kỳ báo cáo"].iter().enumerate() {
            ws.write_with_format(3, c as u16, *h, &head)?;
        }
        for (k, (_, label, unit)) in ids.iter().enumerate() {
            ws.write_with_format(3, (k + 3) as u16, format!("{label} ({unit})"), &head)?;
        }
        ws.set_row_height(3, 60)?;
        ws.set_column_width(1, 22)?;
        ws.set_column_width(2, 24)?;
        for k in 0..ids.len() {
            ws.set_column_width((k + 3) as u16, 14)?;
        }
        let mut rows: Vec<(String, String, String)> = runs
            .iter()
            .filter(|r| !r.code.is_empty())
            .map(|r| (r.code.clone(), r.name.clone(), r.period.clone()))
            .collect();
        rows.sort_by(|a, b| (&a.2, &a.0).cmp(&(&b.2, &b.0)));
        let mut periods: Vec<String> = rows.iter().map(|r| r.2.clone()).collect();
        periods.dedup();
        let mut r = 4u32;
        for period in &periods {
            let members = rows.iter().filter(|x| &x.2 == period);
            let province = (
                pc.code.clone(),
                format!("Toàn tỉnh {}", pc.name),
                period.clone(),
            );
            for (is_total, (code, name, per)) in members
                .map(|m| (false, m.clone()))
                .chain(std::iter::once((true, province)))
            {
                let (f, fi, fd) = if is_total {
                    (&bold, &bold_int, &bold_dec)
                } else {
                    (&cell, &int, &dec)
                };
                ws.write_with_format(r, 0, &code, f)?;
                ws.write_with_format(r, 1, &name, f)?;
                ws.write_with_format(r, 2, period_vi(&per), f)?;
                for (k, (id, _, _)) in ids.iter().enumerate() {
                    let v = indicators
                        .iter()
                        .find(|i| i.id == *id && i.commune == code && i.period == per)
                        .and_then(|i| i.value);
                    let col = (k + 3) as u16;
                    match v {
                        Some(x) if x.fract() == 0.0 => ws.write_with_format(r, col, x, fi)?,
                        Some(x) => ws.write_with_format(r, col, x, fd)?,
                        None => ws.write_with_format(r, col, "", f)?,
                    };
                }
                r += 1;
            }
        }
        ws.set_freeze_panes(4, 3)?;
        ws.set_landscape();
        ws.set_paper_size(9);
    }
    {
        let ws = wb.add_worksheet().set_name("Tình hình gửi số liệu")?;
        ws.write_with_format(0, 0, "Tình hình gửi số liệu của các xã", &title)?;
        let heads = [
            "Mã xã",
            "Xã",
            "Kỳ báo cáo",
            "Lĩnh vực",
            "Số tệp",
            "Tệp lỗi",
            "Dòng nhận",
            "Dòng bị loại",
            "Tệp mới nhất",
            "Tình trạng",
        ];
        for (c, h) in heads.iter().enumerate() {
            ws.write_with_format(2, c as u16, *h, &head)?;
        }
        for (i, c) in completeness.iter().enumerate() {
            let r = (i + 3) as u32;
            let title = pipelines
                .iter()
                .find(|p| p.name == c.pipeline)
                .map_or(c.pipeline.as_str(), |p| p.title.as_str());
            ws.write_with_format(r, 0, &c.commune, &cell)?;
            ws.write_with_format(r, 1, &c.commune_name, &cell)?;
            ws.write_with_format(r, 2, period_vi(&c.period), &cell)?;
            ws.write_with_format(r, 3, title, &cell)?;
            ws.write_with_format(r, 4, c.workbooks as f64, &int)?;
            ws.write_with_format(r, 5, c.workbooks_failed as f64, &int)?;
            ws.write_with_format(r, 6, c.rows_accepted as f64, &int)?;
            ws.write_with_format(r, 7, c.rows_rejected as f64, &int)?;
            ws.write_with_format(r, 8, c.last_received.as_deref().unwrap_or(""), &cell)?;
            ws.write_with_format(r, 9, c.status.vi(), &cell)?;
        }
        for (c, w) in [8, 22, 24, 36, 8, 8, 11, 11, 17, 28].iter().enumerate() {
            ws.set_column_width(c as u16, *w)?;
        }
        ws.autofilter(2, 0, (completeness.len() + 2) as u32, 9)?;
        ws.set_freeze_panes(3, 0)?;
        ws.set_landscape();
        ws.set_paper_size(9);
    }
    Ok(wb.save_to_buffer()?)
}

/// The province's `bao-cao.html`: who has sent what (communes × departments,
/// coloured by status), then per period and department the province's
/// figures and, for each figure the report's sentences quote first and for
/// every rate, a bar per commune, so the office sees which commune lags or
/// lacks rows. Same page style as a commune's.
pub fn html(input: &Inputs<'_>) -> String {
    let Inputs {
        pc,
        pipelines,
        runs,
        indicators,
        completeness,
        stamp,
    } = *input;
    use crate::report::html::{Bar, STYLE, bar_chart, esc};
    use std::fmt::Write;
    let n = |v: usize| number(v as f64);
    let mut h = String::with_capacity(128 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"vi\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Tổng hợp số liệu tỉnh {name}</title>\n<style>{STYLE}\
         td.st {{ text-align: center; font-size: 11px; }} td.ok {{ background: #c6f6d5; }} td.no {{ background: #fed7d7; }} td.old {{ background: #feebc8; }}\
         </style>\n</head>\n<body>\n<header>\n<p class=\"org\">TỈNH {upper} (mã {code})</p>\n\
         <h1>Tổng hợp số liệu tỉnh {name}</h1>\n<p class=\"meta\">Lập lúc {stamp} (tonghop) từ số liệu của {communes} xã. Số của tỉnh tính trên số liệu gốc của các xã (mỗi người tính một lần); tỷ lệ tính từ tổng tử số và mẫu số, không cộng tỷ lệ của các xã. Số có dấu <b class=\"mark\">*</b> chưa đầy đủ.</p>\n</header>\n",
        name = esc(&pc.name),
        upper = esc(&pc.name.to_uppercase()),
        code = esc(&pc.code),
        communes = n(runs.len()),
    );
    let ran = runs
        .iter()
        .filter(|r| r.status == CommuneStatus::Ran)
        .count();
    let received = completeness
        .iter()
        .filter(|c| c.status == Received::Received)
        .count();
    let _ = writeln!(
        h,
        "<div class=\"cards\"><div class=\"card{}\"><b>{}/{}</b>Xã chạy được</div><div class=\"card{}\"><b>{}/{}</b>Lĩnh vực × xã đã nhận</div><div class=\"card\"><b>{}</b>Dòng được nhận</div><div class=\"card\"><b>{}</b>Dòng bị loại</div></div>",
        if ran < runs.len() { " warn" } else { "" },
        n(ran),
        n(runs.len()),
        if received < completeness.len() {
            " warn"
        } else {
            ""
        },
        n(received),
        n(completeness.len()),
        number(completeness.iter().map(|c| c.rows_accepted as f64).sum()),
        number(completeness.iter().map(|c| c.rows_rejected as f64).sum()),
    );
    // Who sent what. A commune listed for two periods has a row for each:
    // say which.
    let mut run_periods: Vec<&str> = runs.iter().map(|r| r.period.as_str()).collect();
    run_periods.sort_unstable();
    run_periods.dedup();
    let several = run_periods.len() > 1;
    h.push_str(
        "<section id=\"gui\">\n<h2>Tình hình gửi số liệu</h2>\n<table>\n<thead><tr><th>Xã</th>",
    );
    if several {
        h.push_str("<th>Kỳ</th>");
    }
    for p in pipelines {
        let _ = write!(h, "<th>{}</th>", esc(&p.title));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in runs {
        let name = if r.name.is_empty() {
            &r.config
        } else {
            &r.name
        };
        let _ = write!(h, "<tr><td>{}</td>", esc(name));
        if several {
            let _ = write!(h, "<td>{}</td>", esc(&period_vi(&r.period)));
        }
        for p in pipelines {
            let c = completeness
                .iter()
                .find(|c| c.commune == r.code && c.period == r.period && c.pipeline == p.name);
            match c {
                Some(c) => {
                    let class = match c.status {
                        Received::Received => "ok",
                        Received::Missing => "old",
                        _ => "no",
                    };
                    let text = match c.status {
                        Received::Received if c.rows_rejected > 0 => format!(
                            "{} tệp, {} dòng bị loại",
                            n(c.workbooks),
                            number(c.rows_rejected as f64)
                        ),
                        Received::Received => format!("{} tệp", n(c.workbooks)),
                        other => other.vi().to_string(),
                    };
                    let _ = write!(
                        h,
                        "<td class=\"st {class}\" title=\"{}\">{}</td>",
                        esc(c.last_received.as_deref().unwrap_or("")),
                        esc(&text)
                    );
                }
                None => h.push_str("<td class=\"st no\">Xã chưa chạy được</td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n</section>\n");
    let mut periods: Vec<&str> = indicators
        .iter()
        .filter(|i| i.commune == pc.code)
        .map(|i| i.period.as_str())
        .collect();
    periods.dedup();
    for period in periods {
        let members: Vec<&CommuneRun> = runs
            .iter()
            .filter(|r| r.period == period && !r.code.is_empty())
            .collect();
        let names: Vec<String> = members.iter().map(|r| r.name.clone()).collect();
        for p in pipelines {
            let _ = writeln!(
                h,
                "<section>\n<h2>{} – kỳ {}</h2>",
                esc(&p.title),
                esc(&period_vi(period))
            );
            let mine: Vec<&IndicatorValue> = indicators
                .iter()
                .filter(|i| i.commune == pc.code && i.period == period && i.pipeline == p.name)
                .collect();
            if mine.iter().all(|i| i.value.is_none()) {
                h.push_str("<p class=\"note\">Chưa xã nào có số liệu kỳ này.</p>\n</section>\n");
                continue;
            }
            h.push_str(
                "<table>\n<thead><tr><th>Chỉ tiêu</th><th>Toàn tỉnh</th></tr></thead>\n<tbody>\n",
            );
            for i in &mine {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td class=\"n\">{}{}</td></tr>",
                    esc(&i.label),
                    esc(&shown(i.value, &i.unit)),
                    if i.value.is_some() && i.excluded.incomplete() {
                        "<b class=\"mark\">*</b>"
                    } else {
                        ""
                    }
                );
            }
            h.push_str("</tbody>\n</table>\n");
            // The figure the sentences quote first, and every rate.
            let first = p
                .paragraphs
                .iter()
                .filter_map(|t| crate::pipeline::template::parse_template(t).ok())
                .flatten()
                .find_map(|piece| match piece {
                    crate::pipeline::template::Piece::Figure { id, .. } => Some(id),
                    _ => None,
                });
            for i in mine.iter().filter(|i| {
                i.value.is_some() && (Some(&i.id) == first.as_ref() || i.unit.trim() == "%")
            }) {
                let bars: Vec<Option<Bar>> = members
                    .iter()
                    .map(|r| {
                        indicators
                            .iter()
                            .find(|c| c.id == i.id && c.commune == r.code && c.period == period)
                            .map(Bar::from)
                    })
                    .collect();
                let _ = writeln!(
                    h,
                    "<figure class=\"breakdown\"><figcaption>{}, theo xã ({}; toàn tỉnh {})</figcaption>\n{}</figure>",
                    esc(&i.label),
                    esc(&i.unit),
                    esc(&shown(i.value, &i.unit)),
                    bar_chart(&names, &[bars], &i.unit)
                );
            }
            h.push_str("</section>\n");
        }
    }
    h.push_str("<footer>Số liệu từng xã: communes/&lt;mã xã&gt;/bao-cao.html; tình hình gửi số liệu: completeness.csv; bảng theo xã: tong-hop.xlsx.</footer>\n</body>\n</html>\n");
    h
}
