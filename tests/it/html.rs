//! `bao-cao.html`: self-contained, saying what `bao-cao.md` says, with the
//! charts drawn from the figures, and rendered by a real browser.

use crate::common::*;
use scraper::{Html, Selector};
use std::collections::HashMap;

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap()
}

fn page() -> (Html, String) {
    let run = run_fixtures();
    let text = read(&run.out.join("bao-cao.html"));
    (Html::parse_document(&text), text)
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Nothing in the page is fetched: no script, stylesheet, image, frame or
/// font from anywhere, no link but to its own sections.
#[test]
fn the_html_report_needs_nothing_from_outside() {
    let (doc, text) = page();
    for tag in [
        "script",
        "link",
        "img",
        "iframe",
        "object",
        "embed",
        "audio",
        "video",
        "source",
        "image",
        "use",
        "base",
        "meta[http-equiv]",
    ] {
        assert_eq!(doc.select(&sel(tag)).count(), 0, "<{tag}> in bao-cao.html");
    }
    let mut links = 0;
    for el in doc.select(&sel("*")) {
        for (name, value) in el.value().attrs() {
            let name = name.to_ascii_lowercase();
            if [
                "href",
                "src",
                "srcset",
                "action",
                "formaction",
                "poster",
                "data",
                "background",
            ]
            .contains(&name.as_str())
                || name.ends_with(":href")
            {
                assert!(
                    value.starts_with('#'),
                    "{name}={value:?} points outside the page"
                );
                links += 1;
            }
            if name == "style" {
                assert!(!value.contains("url("), "style={value:?}");
            }
            if name.starts_with("on") {
                panic!("{name} handler in bao-cao.html");
            }
        }
    }
    assert!(links >= 12, "the contents link to every section: {links}");
    for style in doc.select(&sel("style")) {
        let css = style.text().collect::<String>();
        assert!(!css.contains("url(") && !css.contains("@import"), "{css}");
    }
    // The one address is SVG's namespace name, which nothing fetches.
    let addresses = text.matches("://").count();
    let namespaces = text.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
    assert!(namespaces > 10, "charts: {namespaces}");
    assert_eq!(
        addresses, namespaces,
        "an address other than the SVG namespace"
    );
}

/// The page says every sentence of bao-cao.md, marks exactly the figures
/// that lack rows or cells, and lists every source file with its counts.
#[test]
fn the_html_report_says_what_the_report_says() {
    let run = run_fixtures();
    let (doc, _) = page();
    let body = words(
        &doc.select(&sel("body"))
            .next()
            .unwrap()
            .text()
            .collect::<String>(),
    );
    let md = read(&run.out.join("bao-cao.md"));
    let mut sentences = 0;
    for line in md.lines() {
        let Some(s) = line.strip_prefix("- ") else {
            continue;
        };
        assert!(body.contains(&words(s)), "bao-cao.html lacks: {s}");
        sentences += 1;
    }
    assert_eq!(
        doc.select(&sel("ul.sentences > li")).count(),
        sentences,
        "one item per sentence"
    );
    assert!(sentences >= 18, "{sentences}");
    for line in md.lines() {
        if let Some(note) = line.trim().strip_prefix("- _Chưa đầy đủ") {
            let note = format!("Chưa đầy đủ{}", note.trim_end_matches('_'));
            assert!(body.contains(&words(&note)), "bao-cao.html lacks: {note}");
        }
    }
    // Marked as incomplete exactly where the figure lacks rows or cells.
    let record: serde_json::Value = serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
    let lacking: HashMap<String, bool> = record["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let e = &i["excluded"];
            let n = |k: &str| e[k].as_u64().unwrap_or(0);
            (
                i["id"].as_str().unwrap().to_string(),
                n("rows_rejected") + n("cells_excluded") > 0,
            )
        })
        .collect();
    let (mut marked, mut plain) = (0, 0);
    for fig in doc.select(&sel("span.fig[data-id]")) {
        let id = fig.value().attr("data-id").unwrap();
        let lack = fig.value().classes().any(|c| c == "lack");
        assert_eq!(lack, lacking[id], "{id}: marked {lack}");
        if lack {
            marked += 1;
        } else {
            plain += 1;
        }
    }
    assert!(marked >= 10 && plain >= 10, "{marked} marked, {plain} not");
    let bhyt = doc
        .select(&sel("span.fig.lack[data-id=\"bhyt.cards_total\"]"))
        .next()
        .expect("the BHYT total is marked");
    assert_eq!(bhyt.text().collect::<String>(), "20.213");
    assert!(
        bhyt.value()
            .attr("title")
            .unwrap()
            .contains("chưa gồm 168 dòng bị loại"),
        "{:?}",
        bhyt.value().attr("title")
    );
    // Every source file, with what became of its rows.
    let rows: Vec<Vec<String>> = doc
        .select(&sel("#nguon tbody tr"))
        .map(|tr| {
            tr.select(&sel("td"))
                .map(|td| words(&td.text().collect::<String>()))
                .collect()
        })
        .collect();
    let files = record["files"].as_array().unwrap();
    assert_eq!(rows.len(), files.len());
    let vn = |v: &serde_json::Value| tonghop::report::vnfmt::number(v.as_f64().unwrap());
    for f in files {
        let path = f["path"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r[1] == path)
            .unwrap_or_else(|| panic!("{path}"));
        assert_eq!(
            row[4..8],
            [
                vn(&f["rows_read"]),
                vn(&f["accepted"]),
                vn(&f["rejected"]),
                vn(&f["skipped"])
            ],
            "{path}"
        );
        assert!(
            row[2].len() == 16 && row[2].as_bytes()[2] == b'/',
            "received when: {:?}",
            row[2]
        );
    }
}

/// The charts are the figures: VNeID by age band has both series with the
/// report's numbers, every village bar of the herd is as long as its value,
/// and each plan bar says what was done against the plan.
#[test]
fn the_html_charts_draw_the_figures() {
    let (doc, _) = page();
    let figures: Vec<_> = doc.select(&sel("figure")).collect();
    let caption = |f: &scraper::ElementRef| {
        words(
            &f.select(&sel("figcaption"))
                .next()
                .unwrap()
                .text()
                .collect::<String>(),
        )
    };
    let age = figures
        .iter()
        .find(|f| caption(f) == "Theo độ tuổi (người)")
        .expect("VNeID by age band");
    let text = words(&age.text().collect::<String>());
    for must in [
        "Đã thu nhận định danh",
        "Đã kích hoạt",
        "Từ 6 đến dưới 14 tuổi",
        "2.581",
        "1.529",
        "10.879",
        "10.260",
    ] {
        assert!(text.contains(must), "age-band chart lacks {must}: {text}");
    }
    let herd = figures
        .iter()
        .find(|f| caption(f) == "Tổng đàn gia súc chính, theo bản (con)")
        .expect("herd by village");
    let bars: Vec<f64> = herd
        .select(&sel("rect"))
        .map(|r| r.value().attr("width").unwrap().parse().unwrap())
        .collect();
    let values: Vec<f64> = herd
        .select(&sel("text.v"))
        .filter_map(|t| {
            let s: String = t.text().collect();
            s.trim_end_matches('*').replace('.', "").parse().ok()
        })
        .collect();
    assert_eq!(bars.len(), 12, "12 of 15 villages keep herds: {bars:?}");
    assert_eq!(values.len(), bars.len());
    assert_eq!(
        values.iter().sum::<f64>(),
        19670.0,
        "the villages add up to the herd"
    );
    let scale = bars[0] / values[0];
    for (b, v) in bars.iter().zip(&values) {
        assert!((b - v * scale).abs() < 0.2, "bar {b} for {v}");
    }
    let plan = figures
        .iter()
        .find(|f| {
            caption(f) == "Thực hiện so với kế hoạch"
                && f.text().any(|t| t.contains("Tổng đàn gia súc chính"))
        })
        .expect("the herd against its plan");
    let text = words(&plan.text().collect::<String>());
    assert!(
        text.contains("19.670* / 21.860 con – đạt 89,98 %"),
        "{text}"
    );
    // 4,483… of 16,5: livestock.herd_growth_plan_pct (27,170…), which the
    // report rounds to 27,2.
    assert!(text.contains("4,48* / 16,50 % – đạt 27,17 %"), "{text}");
}

/// Headless Chromium renders the page: a screenshot that is not blank
/// (text and the bars' blue drawn), and an A4 PDF of several pages.
#[test]
fn the_html_report_renders_in_chromium() {
    let have = std::process::Command::new("sh")
        .args(["-c", "command -v chromium"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have && std::env::var_os("CI").is_none() && std::env::var_os("TONGHOP_CHROMIUM").is_none() {
        eprintln!(
            "skipped the_html_report_renders_in_chromium: no chromium here; set TONGHOP_CHROMIUM=1 (CI sets CI) to install Debian's with apt"
        );
        return;
    }
    let run = run_fixtures();
    let dir = tempdir();
    let shot = dir.path().join("bao-cao.png");
    let pdf = dir.path().join("bao-cao.pdf");
    let page = run.out.join("bao-cao.html");
    for (what, out) in [("screenshot", &shot), ("pdf", &pdf)] {
        let o = std::process::Command::new("bash")
            .arg(repo().join("tests/chromium.sh"))
            .args([
                what,
                page.to_str().unwrap(),
                out.to_str().unwrap(),
                "900,2000",
            ])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "tests/chromium.sh {what} failed:\n{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (900, 2000));
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let dark = pixels
        .iter()
        .filter(|p| p[..3].iter().all(|c| *c < 110))
        .count();
    let blue = pixels
        .iter()
        .filter(|p| p[..3] == [0x2b, 0x6c, 0xb0])
        .count();
    let white = pixels.iter().filter(|p| p[..3] == [255, 255, 255]).count();
    let share = |n: usize| n as f64 / pixels.len() as f64;
    assert!(share(white) < 0.97, "blank: {:.3} white", share(white));
    assert!(share(dark) > 0.005, "no text drawn: {dark} dark pixels");
    assert!(
        blue > 5_000,
        "no bars drawn: {blue} pixels of the bars' blue"
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    let text = String::from_utf8_lossy(&bytes);
    let boxes: Vec<&str> = regex::Regex::new(r"/MediaBox ?\[[^\]]*\]")
        .unwrap()
        .find_iter(&text)
        .map(|m| m.as_str())
        .collect();
    // A4 is 595.28 × 841.89 pt; Chromium rounds to whole CSS pixels.
    let a4 = boxes
        .iter()
        .filter(|b| {
            let n: Vec<f64> = b
                .trim_start_matches("/MediaBox")
                .trim_matches(|c: char| c == ' ' || c == '[' || c == ']')
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            n.len() == 4 && (n[2] - 595.28).abs() < 1.0 && (n[3] - 841.89).abs() < 1.0
        })
        .count();
    assert_eq!(a4, boxes.len(), "every page A4: {boxes:?}");
    assert!(a4 >= 3, "the report prints on several pages: {a4}");
}
