//! A province run over the three-commune fixture (fixtures/gen_province.py):
//! per-commune and province figures against the generator's own truth,
//! who sent what, persons listed in two communes, the public tables as BI
//! tools read them, and the same figures from Apache Spark.

use crate::common::{read, repo, tonghop};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const PROVINCE: &str = "12";

struct ProvinceRun {
    _dir: tempfile::TempDir,
    out: PathBuf,
    exit_code: i32,
    stdout: String,
    stderr: String,
}

fn province_run() -> &'static ProvinceRun {
    static RUN: OnceLock<ProvinceRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let r = tonghop(&[
            "run",
            "--config",
            "fixtures/province/province.toml",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(r.exit_code <= 1, "{}\n{}", r.stdout, r.stderr);
        ProvinceRun {
            _dir: dir,
            out,
            exit_code: r.exit_code,
            stdout: r.stdout,
            stderr: r.stderr,
        }
    })
}

/// `indicators.csv` as (indicator, commune, period) -> value text.
fn figures(path: &Path) -> BTreeMap<(String, String, String), String> {
    let text = read(path);
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| head.iter().position(|h| *h == name).unwrap();
    let (i, v, c, p) = (at("indicator"), at("value"), at("commune"), at("period"));
    lines
        .map(|l| {
            let f = split_csv(l);
            ((f[i].clone(), f[c].clone(), f[p].clone()), f[v].clone())
        })
        .collect()
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                out.last_mut().unwrap().push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            _ => out.last_mut().unwrap().push(ch),
        }
    }
    out
}

fn expected() -> serde_json::Value {
    serde_json::from_str(&read(&repo().join("fixtures/expected/province.json"))).unwrap()
}

fn same(found: Option<&String>, want: &serde_json::Value) -> bool {
    match (found.map(String::as_str), want.as_f64()) {
        (Some(""), None) | (None, None) => want.is_null(),
        (Some(f), Some(w)) => f.parse::<f64>().is_ok_and(|x| (x - w).abs() < 1e-9),
        _ => false,
    }
}

#[test]
fn every_commune_and_the_province_match_the_generators_truth() {
    let run = province_run();
    // Two communes' lists share persons (warnings), nothing failed.
    assert_eq!(run.exit_code, 0, "{}", run.stdout);
    let got = figures(&run.out.join("indicators.csv"));
    let want = expected();
    let mut checked = 0;
    for (code, c) in want["communes"].as_object().unwrap() {
        let period = c["period"].as_str().unwrap();
        for (id, v) in c["figures"].as_object().unwrap() {
            let found = got.get(&(id.clone(), code.clone(), period.to_string()));
            assert!(
                same(found, v),
                "{code} {period} {id}: found {found:?}, want {v}"
            );
            checked += 1;
        }
    }
    for (period, f) in want["province"].as_object().unwrap() {
        for (id, v) in f.as_object().unwrap() {
            let found = got.get(&(id.clone(), PROVINCE.to_string(), period.clone()));
            assert!(
                same(found, v),
                "province {period} {id}: found {found:?}, want {v}"
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
    // One row per commune and indicator, plus the province's per period.
    let communes = want["communes"].as_object().unwrap().len();
    let periods = want["province"].as_object().unwrap().len();
    let indicators = got
        .keys()
        .map(|k| k.0.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    assert_eq!(got.len(), indicators * (communes + periods));
}

/// The province's figures are computed by polars' streaming engine over
/// scans of the communes' tables (nothing held): no query may fall back to
/// the in-memory engine, which would hold the province's rows.
#[test]
fn province_figures_stream_every_query() {
    let run = province_run();
    assert!(
        !run.stderr.contains("streaming engine") && !run.stderr.contains("panicked"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_commune_that_sent_nothing_has_no_figure_and_a_line_in_completeness() {
    let run = province_run();
    let got = figures(&run.out.join("indicators.csv"));
    let b = (
        "livestock.main_herd".to_string(),
        "03604".to_string(),
        "2026-01-01_2026-06-30".to_string(),
    );
    assert_eq!(
        got.get(&b).map(String::as_str),
        Some(""),
        "no figure, not 0"
    );
    let c = read(&run.out.join("completeness.csv"));
    assert!(c.starts_with('\u{feff}'), "BOM for Excel");
    let line = c
        .lines()
        .find(|l| l.starts_with("03604,") && l.contains(",livestock,"))
        .unwrap();
    assert!(line.ends_with(",not_sent,Chưa gửi"), "{line}");
    assert!(line.contains(",0,0,0,0,,"), "{line}");
    let received = c
        .lines()
        .filter(|l| l.contains(",received,Đã nhận"))
        .count();
    assert_eq!(received, 11, "{c}");
    // The province's report and summary say it too.
    let md = read(&run.out.join("bao-cao.md"));
    assert!(md.contains("Nà Tăm (chưa gửi)"), "{md}");
    assert!(md.contains("## Kỳ 01/07/2025 – 31/12/2025 (1 xã)"), "{md}");
    let x = calamine_sheets(&run.out.join("tong-hop.xlsx"));
    assert_eq!(x, ["Tổng hợp", "Tình hình gửi số liệu"]);
    // Each commune keeps its own report under its folder.
    for code in ["03601", "03604", "03607"] {
        assert!(
            run.out
                .join("communes")
                .join(code)
                .join("bao-cao.md")
                .exists()
        );
    }
}

fn calamine_sheets(path: &Path) -> Vec<String> {
    use calamine::Reader as _;
    let wb: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    wb.sheet_names().to_vec()
}

#[test]
fn a_person_in_two_communes_lists_is_named_with_both_cells_and_counted_once() {
    let run = province_run();
    let want = expected()["duplicates_across_communes"].as_u64().unwrap();
    let report: serde_json::Value = serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
    assert_eq!(report["duplicates_across_communes"].as_u64(), Some(want));
    let d = read(&run.out.join("private/duplicates_across_communes.csv"));
    let lines: Vec<&str> = d.lines().skip(1).collect();
    assert_eq!(lines.len() as u64, want * 2, "{d}");
    for l in &lines {
        assert!(l.contains("duplicate_across_communes"), "{l}");
        let f = split_csv(l);
        // file = <commune>/<path>, a cell with its column letter, the other listing named.
        assert!(f[2].starts_with("0360"), "{l}");
        assert!(f[5].chars().next().unwrap().is_ascii_uppercase(), "{l}");
        assert!(f[11].contains("xã 0360") && f[11].contains('!'), "{l}");
    }
    // Private: not readable by others.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(run.out.join("private/duplicates_across_communes.csv"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "{mode:o}");
}

#[test]
fn public_tables_carry_the_commune_code_as_text() {
    use polars::prelude::*;
    let run = province_run();
    let t = run.out.join("public/tables/bhyt_persons");
    let mut parts = Vec::new();
    for c in std::fs::read_dir(&t).unwrap().flatten() {
        let name = c.file_name().to_string_lossy().into_owned();
        assert!(name.starts_with("commune=0360"), "{name}");
        for p in std::fs::read_dir(c.path()).unwrap().flatten() {
            parts.push(p.path().join("part-0.parquet"));
        }
    }
    assert_eq!(parts.len(), 3);
    for p in parts {
        let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
            .finish()
            .unwrap();
        let code = df.column("commune_code").unwrap();
        assert_eq!(code.dtype(), &DataType::String);
        let first = code.str().unwrap().get(0).unwrap().to_string();
        assert!(
            p.to_string_lossy().contains(&format!("commune={first}/")),
            "{p:?}"
        );
        assert_eq!(first.len(), 5);
        // Hashed, never the raw 12-digit ID.
        let id = df
            .column("personal_id")
            .unwrap()
            .str()
            .unwrap()
            .get(0)
            .unwrap()
            .to_string();
        assert!(id.len() > 12, "{id}");
    }
}

#[test]
fn spark_gives_every_embedded_figure() {
    if std::env::var_os("CI").is_none() && std::env::var_os("TONGHOP_SPARK").is_none() {
        eprintln!(
            "skipped spark_gives_every_embedded_figure: set TONGHOP_SPARK=1 (CI sets CI) to install Java and pyspark and start a local Spark cluster"
        );
        return;
    }
    let run = province_run();
    let o = std::process::Command::new("bash")
        .arg(repo().join("spark/run.sh"))
        .arg(&run.out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "spark/run.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let embedded = figures(&run.out.join("indicators.csv"));
    let spark = figures(&run.out.join("spark/indicators.csv"));
    assert_eq!(
        embedded.keys().collect::<Vec<_>>(),
        spark.keys().collect::<Vec<_>>(),
        "the same rows"
    );
    let head = |p: &Path| read(p).lines().next().unwrap().to_string();
    assert_eq!(
        head(&run.out.join("indicators.csv")),
        head(&run.out.join("spark/indicators.csv"))
    );
    let mut differ = Vec::new();
    for (k, a) in &embedded {
        let b = &spark[k];
        let close = match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(1.0),
            _ => a == b,
        };
        if !close {
            differ.push(format!("{k:?}: embedded {a:?}, spark {b:?}"));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(embedded.values().filter(|v| !v.is_empty()).count() > 60);
    // Breakdowns: every member with a figure, per commune and for the
    // province, the same on Spark (members with no rows have no figure in
    // either: embedded lists the village with none, Spark has no row).
    type Key = (String, String, String, String, String);
    // The breakdowns the rewrite leaves out, by name: none.
    let spec: serde_json::Value =
        serde_json::from_str(&read(&run.out.join("spark/queries.json"))).unwrap();
    let not_rewritten: Vec<&str> = spec["breakdowns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["commune_sql"].is_null())
        .map(|b| b["breakdown"].as_str().unwrap())
        .collect();
    assert_eq!(not_rewritten, Vec::<&str>::new());
    let mut embedded: BTreeMap<Key, String> = BTreeMap::new();
    for e in std::fs::read_dir(&run.out).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(by) = name
            .strip_prefix("indicators_by_")
            .and_then(|n| n.strip_suffix(".csv"))
        else {
            continue;
        };
        let text = read(&e.path());
        let mut lines = text.lines();
        let head = split_csv(lines.next().unwrap());
        let at = |n: &str| head.iter().position(|h| h == n).unwrap();
        let (i, m, v, c, p) = (
            at("indicator"),
            at(by),
            at("value"),
            at("commune"),
            at("period"),
        );
        for l in lines {
            let f = split_csv(l);
            if !f[v].is_empty() && !not_rewritten.contains(&f[i].as_str()) {
                embedded.insert(
                    (
                        f[i].clone(),
                        by.to_string(),
                        f[m].clone(),
                        f[c].clone(),
                        f[p].clone(),
                    ),
                    f[v].clone(),
                );
            }
        }
    }
    let text = read(&run.out.join("spark/breakdowns.csv"));
    let mut spark: BTreeMap<Key, String> = BTreeMap::new();
    for l in text.lines().skip(1) {
        let f = split_csv(l);
        if !f[5].is_empty() {
            spark.insert(
                (
                    f[0].clone(),
                    f[1].clone(),
                    f[2].clone(),
                    f[3].clone(),
                    f[4].clone(),
                ),
                f[5].clone(),
            );
        }
    }
    let mut differ = Vec::new();
    for (k, a) in &embedded {
        match spark.get(k) {
            Some(b)
                if (a.parse::<f64>().unwrap() - b.parse::<f64>().unwrap()).abs()
                    <= 1e-9 * a.parse::<f64>().unwrap().abs().max(1.0) => {}
            other => differ.push(format!("{k:?}: embedded {a}, spark {other:?}")),
        }
    }
    for k in spark.keys().filter(|k| !embedded.contains_key(*k)) {
        differ.push(format!("{k:?}: only on spark ({})", spark[k]));
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(embedded.len() > 40, "{} breakdown figures", embedded.len());
}

#[test]
fn check_refuses_sql_spark_would_read_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir(&pipelines).unwrap();
    for p in ["bhyt", "vneid", "land", "livestock"] {
        let mut text = read(&repo().join(format!("pipelines/{p}.toml")));
        if p == "land" {
            text = text.replace(
                "CAST(100 AS DOUBLE) * SUM(CASE WHEN match_status = 'matched' THEN 1 ELSE 0 END) / NULLIF(COUNT(*), 0)",
                "100.0 * SUM(CASE WHEN match_status = 'matched' THEN 1 ELSE 0 END) / COUNT(*)",
            );
        }
        std::fs::write(pipelines.join(format!("{p}.toml")), text).unwrap();
    }
    let config = read(&repo().join("config/tonghop.toml"))
        .replace(
            "# pipelines = \"../pipelines\"",
            &format!("pipelines = {:?}", pipelines.display().to_string()),
        )
        .replace(
            "holidays = \"holidays\"",
            &format!(
                "holidays = {:?}",
                repo().join("config/holidays").display().to_string()
            ),
        )
        .replace(
            "\"../fixtures/inbox\"",
            &format!("{:?}", repo().join("fixtures/inbox").display().to_string()),
        );
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, config).unwrap();
    let r = tonghop(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("land.records_matched_pct: 100.0: Spark reads a decimal literal as DECIMAL"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("NULLIF(COUNT(*), 0)"), "{}", r.stderr);
    // The built-in pipelines are portable.
    let r = tonghop(&["check", "--config", "config/tonghop.toml"]);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    let r = tonghop(&["check", "--config", "fixtures/province/province.toml"]);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("province Lai Châu (12) is valid: 3 communes"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_broken_commune_costs_only_itself() {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("fixtures/province");
    let copy = dir.path().join("province");
    std::fs::create_dir_all(copy.join("communes")).unwrap();
    // The communes' own configs stay where they are (their inboxes are
    // relative to them); the province file lists them and two broken ones.
    let mut list: Vec<String> = std::fs::read_dir(src.join("communes"))
        .unwrap()
        .flatten()
        .map(|e| format!("{:?}", e.path().display().to_string()))
        .collect();
    list.sort();
    let good = read(&src.join("communes/03601.toml"));
    std::fs::write(
        copy.join("communes/unmounted.toml"),
        good.replace("code = \"03601\"", "code = \"03610\"")
            .replace("../inbox-03601", "/nonexistent/inbox"),
    )
    .unwrap();
    std::fs::write(
        copy.join("communes/twice.toml"),
        good.replace("../inbox-03601", "/x"),
    )
    .unwrap();
    std::fs::write(copy.join("communes/garbled.toml"), "[commune\ncode = 1").unwrap();
    list.extend(
        [
            "\"communes/unmounted.toml\"",
            "\"communes/twice.toml\"",
            "\"communes/garbled.toml\"",
        ]
        .map(String::from),
    );
    let text = read(&src.join("province.toml"));
    let start = text.find("communes = [").unwrap();
    let end = start + text[start..].find(']').unwrap() + 1;
    let text = format!(
        "{}communes = [{}]{}",
        &text[..start],
        list.join(", "),
        &text[end..]
    );
    std::fs::write(copy.join("province.toml"), text).unwrap();
    let out = dir.path().join("out");
    let r = tonghop(&[
        "run",
        "--config",
        copy.join("province.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.exit_code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains(
            "03610 Bản Bo (2026-01-01_2026-06-30): NOT RUN: không tìm thấy thư mục hộp thư đến"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("listed twice"), "{}", r.stdout);
    assert!(r.stdout.contains("garbled.toml"), "{}", r.stdout);
    // The three good communes' figures are those of the fixture run.
    let got = figures(&out.join("indicators.csv"));
    let want = figures(&province_run().out.join("indicators.csv"));
    for (k, v) in &want {
        assert_eq!(got.get(k), Some(v), "{k:?}");
    }
    // The unmounted commune: no figure (not 0), every pipeline "no_release".
    let c = read(&out.join("completeness.csv"));
    assert_eq!(
        c.lines()
            .filter(|l| l.starts_with("03610,") && l.contains(",no_release,"))
            .count(),
        tonghop::pipeline::builtin().unwrap().len(),
        "{c}"
    );
    let md = read(&out.join("bao-cao.md"));
    assert!(md.contains("## Xã chưa chạy được"), "{md}");
    // Other subcommands take the province file.
    let h = tonghop(&[
        "history",
        "--config",
        copy.join("province.toml").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(h.exit_code, 0, "{}", h.stderr);
    // a header and the one province run
    let lines = h.stdout.lines().filter(|l| !l.trim().is_empty()).count();
    assert_eq!(lines, 2, "{}", h.stdout);
}

/// The zones over a province tree: nothing personal outside a `private/`
/// or `state/` folder (the province's own, or any commune's under
/// `communes/<code>/`), and every `private/` entry closed to other users.
#[test]
fn a_province_tree_keeps_personal_data_in_its_private_folders() {
    use std::os::unix::fs::PermissionsExt;
    let run = province_run();
    let scanned = crate::zones::assert_no_leak_of_at_least(&run.out, 500);
    assert!(scanned >= 30, "only {scanned} files scanned");
    let mut private_entries = 0;
    let mut stack = vec![run.out.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.file_type().is_symlink() {
                continue;
            }
            let in_private = p
                .strip_prefix(&run.out)
                .unwrap()
                .components()
                .any(|c| c.as_os_str() == "private");
            if in_private {
                private_entries += 1;
                let want = if meta.is_dir() { 0o700 } else { 0o600 };
                assert_eq!(meta.permissions().mode() & 0o777, want, "{}", p.display());
            }
            if meta.is_dir() {
                stack.push(p);
            }
        }
    }
    assert!(private_entries > 20, "{private_entries} private entries");
}

/// The province's bao-cao.html: self-contained, who sent what per commune
/// and department (the commune that sent no livestock file in red), and
/// each commune's figure as a bar beside the province's.
#[test]
fn the_province_page_shows_who_sent_what_and_every_commune_beside_the_province() {
    use scraper::{Html, Selector};
    let run = province_run();
    let text = read(&run.out.join("bao-cao.html"));
    let sel = |s: &str| Selector::parse(s).unwrap();
    let doc = Html::parse_document(&text);
    for tag in ["script", "link", "img", "iframe", "object", "embed"] {
        assert_eq!(doc.select(&sel(tag)).count(), 0, "<{tag}>");
    }
    assert_eq!(
        text.matches("://").count(),
        text.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
        "an address other than the SVG namespace"
    );
    // One row per commune of the province file, a cell per department.
    let completeness = read(&run.out.join("completeness.csv"));
    let communes: std::collections::BTreeSet<String> = completeness
        .lines()
        .skip(1)
        .map(|l| split_csv(l)[1].clone())
        .collect();
    let rows: Vec<Vec<(String, String)>> = doc
        .select(&sel("#gui tbody tr"))
        .map(|tr| {
            tr.select(&sel("td"))
                .map(|td| {
                    (
                        td.text().collect::<String>(),
                        td.value().attr("class").unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .collect();
    assert_eq!(rows.len(), communes.len(), "{rows:?}");
    // Two periods in the fixture: each row says its period.
    let heads: Vec<String> = doc
        .select(&sel("#gui thead th"))
        .map(|th| th.text().collect())
        .collect();
    assert_eq!(heads[..2], ["Xã", "Kỳ"]);
    let departments = heads.len() - 2;
    assert!(departments >= 11, "{departments}");
    assert!(rows.iter().all(|r| r.len() == departments + 2));
    assert!(
        rows.iter().any(|r| r[1].0 == "01/07/2025 – 31/12/2025"),
        "{rows:?}"
    );
    let livestock = heads
        .iter()
        .position(|th| th.starts_with("Chăn nuôi"))
        .unwrap();
    let na_tam = rows.iter().find(|r| r[0].0 == "Nà Tăm").expect("Nà Tăm");
    assert_eq!(na_tam[livestock], ("Chưa gửi".into(), "st no".into()));
    let sent = rows
        .iter()
        .flat_map(|r| r[2..].iter())
        .filter(|(_, class)| class == "st ok")
        .count();
    assert_eq!(sent, completeness.matches(",received,").count());
    // The BHYT total by commune: one bar per commune with a figure, each
    // the commune's own figure.
    let got = figures(&run.out.join("indicators.csv"));
    let mut want: Vec<f64> = got
        .iter()
        .filter(|((id, commune, _), v)| {
            id == "bhyt.cards_total" && commune != PROVINCE && !v.is_empty()
        })
        .map(|(_, v)| v.parse().unwrap())
        .collect();
    let mut drawn: Vec<f64> = doc
        .select(&sel("figure"))
        .filter(|f| {
            f.select(&sel("figcaption"))
                .next()
                .unwrap()
                .text()
                .collect::<String>()
                .starts_with("Số người được cập nhật dữ liệu cấp thẻ BHYT, theo xã")
        })
        .flat_map(|f| {
            f.select(&sel("text.v"))
                .map(|t| t.text().collect::<String>())
                .collect::<Vec<_>>()
        })
        .filter_map(|t| t.trim_end_matches('*').replace('.', "").parse().ok())
        .collect();
    want.sort_by(f64::total_cmp);
    drawn.sort_by(f64::total_cmp);
    assert!(want.len() >= 3, "{want:?}");
    assert_eq!(drawn, want);
    for code in ["03601", "03604", "03607"] {
        assert!(
            run.out
                .join("communes")
                .join(code)
                .join("bao-cao.html")
                .exists()
        );
    }
}

/// A commune whose table has other columns than the others' (its last good
/// release written by another version of the pipeline) stops the province's
/// figures with one error naming both communes, not a failure per query.
#[test]
fn communes_whose_tables_differ_are_named() {
    use polars::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let run = || {
        tonghop(&[
            "run",
            "--config",
            "fixtures/province/province.toml",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let first = run();
    assert!(first.exit_code <= 1, "{}", first.stderr);
    let mut tables: Vec<PathBuf> = glob::glob(
        out.join("communes/*/current/private/tables/bhyt_persons/*/*/part-0.parquet")
            .to_str()
            .unwrap(),
    )
    .unwrap()
    .map(Result::unwrap)
    .collect();
    tables.sort();
    assert!(tables.len() >= 2, "{tables:?}");
    let path = &tables[1];
    let mut df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    df.with_column(Column::new("extra".into(), vec![1i64; df.height()]))
        .unwrap();
    // Replace the file (not rewrite it in place: it is hard-linked into
    // the releases).
    let tmp = path.with_extension("tmp");
    ParquetWriter::new(std::fs::File::create(&tmp).unwrap())
        .finish(&mut df)
        .unwrap();
    std::fs::rename(&tmp, path).unwrap();
    let second = run();
    assert_eq!(second.exit_code, 4, "{}\n{}", second.stdout, second.stderr);
    assert!(
        second
            .stderr
            .contains("bảng không cùng cột / the communes' tables differ in columns or types"),
        "{}",
        second.stderr
    );
    let codes: Vec<String> = tables
        .iter()
        .take(2)
        .map(|t| {
            t.strip_prefix(out.join("communes"))
                .unwrap()
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for code in &codes {
        assert!(
            second.stderr.contains(&format!("xã {code}")),
            "{code}: {}",
            second.stderr
        );
    }
}
