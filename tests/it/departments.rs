//! The seven departments added as pipeline files only (tasks, tourism,
//! budget, social, health, forest, militia): each reproduces the report's
//! figures from its fixture, against the generator's own oracle
//! (`fixtures/expected/<pipeline>.json`), with every source row accounted;
//! an eighth department comes from a temporary folder with no Rust change;
//! `tonghop test` runs the pipelines' own examples; `check` runs every
//! query on empty tables.

use crate::common::{read, repo, run_fixtures, tempdir, tonghop};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

fn indicators(out: &Path) -> HashMap<String, f64> {
    tonghop::indicators::parse_csv(&read(&out.join("indicators.csv")))
}

/// (sheet, cell, code) of every finding of `pipeline` in the run.
fn findings(out: &Path, pipeline: &str) -> BTreeSet<(String, String, String, String)> {
    use polars::prelude::*;
    let df = ParquetReader::new(std::fs::File::open(out.join("private/rejects.parquet")).unwrap())
        .finish()
        .unwrap();
    let col = |n: &str| df.column(n).unwrap().str().unwrap().clone();
    let (p, sheet, cell, code, severity) = (
        col("pipeline"),
        col("sheet"),
        col("cell"),
        col("code"),
        col("severity"),
    );
    (0..df.height())
        .filter(|&i| p.get(i) == Some(pipeline))
        .map(|i| {
            (
                sheet.get(i).unwrap().to_string(),
                cell.get(i).unwrap().to_string(),
                code.get(i).unwrap().to_string(),
                severity.get(i).unwrap().to_string(),
            )
        })
        .collect()
}

/// A department's oracle against the run: figures at full precision, per
/// sheet accepted and rejected rows (and the counts add up), every planned
/// finding at its cell and no other (but `extra`, named by the test).
fn check_department(out: &Path, pipeline: &str, extra: &[(&str, &str, &str, &str)]) {
    let oracle: serde_json::Value = serde_json::from_str(&read(
        &repo().join(format!("fixtures/expected/{pipeline}.json")),
    ))
    .unwrap();
    let got = indicators(out);
    for (id, v) in oracle["indicators"].as_object().unwrap() {
        let want = v.as_f64().unwrap();
        let have = *got
            .get(id)
            .unwrap_or_else(|| panic!("{pipeline}: indicator {id} missing"));
        assert!(
            (have - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{pipeline}: {id} = {have}, expected {want}"
        );
    }
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    let files = report["files"].as_array().unwrap();
    for (file, f) in oracle["files"].as_object().unwrap() {
        let path = format!("{pipeline}/{file}");
        let rf = files
            .iter()
            .find(|x| x["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{path} missing from run.json"));
        assert_eq!(rf["status"], "ok", "{path}: {}", rf["errors"]);
        for (name, s) in f["sheets"].as_object().unwrap() {
            let rs = rf["sheets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == name.as_str())
                .unwrap_or_else(|| panic!("{path}!{name} missing"));
            for key in ["accepted", "rejected"] {
                assert_eq!(rs[key], s[key], "{path}!{name}: {key}");
            }
            let n = |k: &str| rs[k].as_u64().unwrap();
            assert_eq!(
                n("accepted") + n("rejected") + n("skipped"),
                n("rows_read"),
                "{path}!{name}: every row accepted, rejected or skipped"
            );
        }
    }
    let mut want: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for (list, severity) in [("rejected", "error"), ("warnings", "warning")] {
        for e in oracle[list].as_array().unwrap() {
            want.insert((
                e["sheet"].as_str().unwrap().to_string(),
                e["cell"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
                severity.to_string(),
            ));
        }
    }
    for (s, c, code, sev) in extra {
        want.insert((
            s.to_string(),
            c.to_string(),
            code.to_string(),
            sev.to_string(),
        ));
    }
    assert_eq!(findings(out, pipeline), want, "{pipeline}: findings");
}

#[test]
fn seven_departments_reproduce_the_report_from_their_workbooks() {
    let run = run_fixtures();
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    let out = &run.out;
    check_department(out, "tasks", &[]);
    check_department(out, "tourism", &[]);
    check_department(out, "budget", &[]);
    check_department(out, "social", &[]);
    check_department(out, "health", &[]);
    // The clerk's "Tổng cộng" leaves out the plot listed twice (row 32);
    // tonghop's sum of the detail rows includes it until duplicates are
    // settled, so the total is flagged, naming the range and the rejected row.
    check_department(
        out,
        "forest",
        &[("Trồng rừng", "D49", "total_mismatch", "warning")],
    );
    check_department(out, "militia", &[]);
    // The report's figures (issue 17), at their precision.
    let ind = indicators(out);
    for (id, want) in [
        ("tasks.assigned", 850.0),
        ("tasks.completed", 788.0),
        ("tasks.completed_on_time", 784.0),
        ("tasks.completed_late", 4.0),
        ("tasks.in_progress", 62.0),
        ("tasks.province_assigned", 3.0),
        ("tasks.province_completed_on_time", 2.0),
        ("tasks.province_overdue", 1.0),
        ("tasks.province_in_progress", 0.0),
        ("tourism.visitors", 23618.0),
        ("tourism.visitors_plan", 50110.0),
        ("tourism.international", 260.0),
        ("tourism.domestic", 23358.0),
        ("tourism.revenue_billion_vnd", 17.019),
        ("tourism.revenue_plan_billion_vnd", 32.513),
        ("social.protection_beneficiaries", 418.0),
        ("social.protection_paid_vnd", 1743250000.0),
        ("social.pension_beneficiaries", 327.0),
        ("social.pension_paid_vnd", 811500000.0),
        ("health.free_checkups", 1778.0),
        ("health.free_checkups_plan", 5712.0),
        ("forest.planted_ha", 55.0),
        ("forest.plan_ha", 140.0),
        ("militia.mobile_trained", 112.0),
        ("militia.local_trained", 157.0),
        ("budget.revenue_million_vnd", 5844.299),
        ("budget.revenue_plan_million_vnd", 9867.0),
        ("budget.spending_million_vnd", 99529.104),
        ("budget.spending_plan_million_vnd", 236472.396),
    ] {
        assert!(
            (ind[id] - want).abs() < 1e-9,
            "{id} = {}, expected {want}",
            ind[id]
        );
    }
    let round2 = |v: f64| (v * 100.0).round() / 100.0;
    assert_eq!(round2(ind["tourism.visitors_plan_pct"]), 47.13);
    assert_eq!(round2(ind["health.free_checkups_pct"]), 31.13);
    assert_eq!(round2(ind["forest.planted_pct"]), 39.29);
    assert_eq!(round2(ind["budget.revenue_plan_pct"]), 59.23);
    assert_eq!(round2(ind["budget.spending_plan_pct"]), 42.09);
    // 17,019 / 32,513 is 52,345…%: 52,35 at two decimals, half up (the
    // issue's 52.34, like the report's 52,34 %, is cut, not rounded).
    assert!((ind["tourism.revenue_plan_pct"] - 100.0 * 17.019 / 32.513).abs() < 1e-9);
    assert_eq!(round2(ind["tourism.revenue_plan_pct"]), 52.35);
}

#[test]
fn the_new_departments_reach_the_report_and_the_summary_workbook() {
    let run = run_fixtures();
    let md = read(&run.out.join("bao-cao.md"));
    for sentence in [
        "Được UBND tỉnh giao 03 nhiệm vụ, đã hoàn thành 02 nhiệm vụ đúng hạn, 01 nhiệm vụ quá hạn, đang triển khai thực hiện 0 nhiệm vụ",
        "thực hiện trên 850 nhiệm vụ, đã hoàn thành: 788 nhiệm vụ, trong đó 784 nhiệm vụ đúng hạn và 04 nhiệm vụ quá hạn; đang triển khai thực hiện 62 nhiệm vụ.",
        "Tổng lượng khách du lịch trong 6 tháng đầu năm đạt 23.618/50.110 lượt người, đạt 47,13% kế hoạch (trong đó khách quốc tế 260 lượt người, khách nội địa 23.358 lượt người)",
        "Doanh thu ngành du lịch toàn xã lũy kế đạt khoảng 17,019/32,513 tỷ đồng, bằng 52,35% kế hoạch.",
        "Thực hiện trợ cấp 5 tháng đầu năm cho 418 đối tượng bảo trợ xã hội 1.743.250.000 đồng",
        "kinh phí thực hiện 811.500.000 đồng.",
        "Kết quả khám đợt 1 được 1.778/5.712 người đạt 31,13% kế hoạch.",
        "Đã trồng mới 55 ha rừng, bằng 39,3% kế hoạch.",
        "Tổ chức huấn luyện Dân quân cơ động 112 đồng chí, Dân quân tại chỗ 157 đồng chí",
        "Tổng thu ngân sách lũy kế đến thời điểm báo cáo 5.844,299/9.867 triệu đồng đạt 59% kế hoạch.",
        "99.529,104/236.472,396 triệu đồng đạt 42% dự toán",
    ] {
        assert!(md.contains(sentence), "bao-cao.md lacks: {sentence}\n{md}");
    }
    // The nearest heading of each budget line (`source = "subheading"`).
    let by_category = read(&run.out.join("indicators_by_category.csv"));
    assert!(
        by_category
            .contains("budget.revenue_million_vnd,Thu ngân sách xã hưởng 100%,726.375,triệu đồng"),
        "{by_category}"
    );
    // The summary workbook has every new figure.
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(run.out.join("tong-hop.xlsx")).unwrap();
    let mut texts = String::new();
    for name in calamine::Reader::sheet_names(&wb) {
        let range = calamine::Reader::worksheet_range(&mut wb, &name).unwrap();
        for row in range.rows() {
            for c in row {
                texts.push_str(&c.to_string());
                texts.push('\t');
            }
            texts.push('\n');
        }
    }
    // Months read as people write them, in calendar order.
    let months: Vec<usize> = (1..=6)
        .map(|m| {
            texts
                .find(&format!("\tTháng {m}\t"))
                .or_else(|| texts.find(&format!("\nTháng {m}\t")))
                .unwrap_or_else(|| panic!("Tháng {m} not in tong-hop.xlsx"))
        })
        .collect();
    assert!(months.windows(2).all(|w| w[0] < w[1]), "{months:?}");
    for label in [
        "Nhiệm vụ UBND xã đã giao",
        "Tổng lượng khách du lịch",
        "Kinh phí trợ cấp bảo trợ xã hội",
        "Người được khám sức khỏe miễn phí",
        "Diện tích rừng trồng mới",
        "Dân quân cơ động được huấn luyện",
        "Tổng thu ngân sách",
    ] {
        assert!(texts.contains(label), "tong-hop.xlsx lacks {label}");
    }
}

#[test]
fn reconcile_flags_the_forest_and_revenue_ratios_of_the_seed_among_the_new_figures() {
    let Some(shared) = crate::common::shared_or_skip(
        "departments::reconcile_flags_the_forest_and_revenue_ratios_of_the_seed",
    ) else {
        return;
    };
    let run = run_fixtures();
    let out = tempdir();
    std::fs::copy(
        run.out.join("indicators.csv"),
        out.path().join("indicators.csv"),
    )
    .unwrap();
    let seed = shared.join("seeds/000_86d390b8add63a4d.txt");
    let r = tonghop(&[
        "reconcile",
        "--report",
        seed.to_str().unwrap(),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(r.exit_code, 1, "{}", r.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&read(&out.path().join("reconcile.json"))).unwrap();
    let new = [
        "tasks", "tourism", "social", "health", "forest", "militia", "budget",
    ];
    let templates = json["templates"].as_array().unwrap();
    // Every sentence of the seven is found in the seed…
    for p in new {
        assert!(
            templates.iter().any(|t| t["pipeline"] == p),
            "{p}: no template checked\n{}",
            r.stdout
        );
    }
    // …and the figures that disagree are exactly the forest ratio (35,7 %
    // for 39,29 %) and the revenue ratio (56 % for 59,23 %).
    let mut wrong: Vec<String> = templates
        .iter()
        .filter(|t| new.contains(&t["pipeline"].as_str().unwrap()))
        .flat_map(|t| t["figures"].as_array().unwrap().iter())
        .filter(|f| f["ok"] == false)
        .map(|f| {
            format!(
                "{} {}",
                f["indicator"].as_str().unwrap(),
                f["quoted"].as_str().unwrap()
            )
        })
        .collect();
    wrong.sort();
    wrong.dedup();
    assert_eq!(
        wrong,
        ["budget.revenue_plan_pct 56", "forest.planted_pct 35,7"],
        "{}",
        r.stdout
    );
}

#[test]
fn an_eighth_department_from_a_folder_needs_no_rust() {
    let dir = tempdir();
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    // Water supply: households connected per village, months as columns.
    std::fs::write(
        pipelines.join("water.toml"),
        r#"
[pipeline]
name = "water"
title = "Nước sạch"

[[tables]]
name = "connections"
grain = "one row per village and month"
unique = ["scheme", "village", "month"]

[tables.wide]
group_column = "month"

[[tables.columns]]
name = "village"
label = "Bản"
aliases = ["Bản", "Tên bản"]
type = "text"
required = true

[[tables.columns]]
name = "scheme"
label = "Công trình"
type = "enum"
source = "heading"
required = true
values = { gravity = ["Tự chảy"], well = ["Giếng khoan"] }

[[tables.columns]]
name = "month"
label = "Tháng"
type = "month"
required = true

[[tables.columns]]
name = "households"
label = "Số hộ đấu nối"
aliases = ["Tháng {month}"]
type = "integer"
units = ["hộ"]

[[indicators]]
id = "water.households"
label = "Hộ được đấu nối nước sạch"
unit = "hộ"
sql = "SELECT SUM(households) AS value FROM connections"

[[indicators]]
id = "water.gravity_households"
label = "Hộ đấu nối công trình tự chảy"
unit = "hộ"
sql = "SELECT SUM(households) AS value FROM connections WHERE scheme = 'gravity'"

[[paragraphs]]
template = "Đấu nối nước sạch cho {water.households} hộ, trong đó công trình tự chảy {water.gravity_households} hộ."
"#,
    )
    .unwrap();
    let inbox = dir.path().join("inbox/water");
    std::fs::create_dir_all(&inbox).unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name("Đấu nối").unwrap();
    let rows: &[&[&str]] = &[
        &["BÁO CÁO ĐẤU NỐI NƯỚC SẠCH"],
        &[],
        &["STT", "Tên bản", "Tháng 1", "Tháng 2", "Tháng 3", "Cộng"],
        &["I", "CÔNG TRÌNH TỰ CHẢY"],
        &["1", "Nà Ngò", "12", "3 hộ", "", "15"],
        &["2", "Pá Khoang", "4", "", "6", "10"],
        &["II", "GIẾNG KHOAN"],
        &["1", "Hua Pầu", "2", "2", "2", "6"],
        &["2", "Nà Ngò", "1", "mười", "1", "12"],
        &["", "Tổng cộng", "19", "5", "9", "43"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save(inbox.join("Đấu nối.xlsx")).unwrap();
    let config = dir.path().join("tonghop.toml");
    std::fs::write(
        &config,
        format!(
            "[commune]\ncode = \"03637\"\nname = \"Mường Kim\"\nprovince = \"Lai Châu\"\n\n[run]\ninbox = {:?}\nout = {:?}\npipelines = {:?}\n\n[period]\nfrom = 2026-01-01\nto = 2026-06-30\n",
            dir.path().join("inbox").display().to_string(),
            dir.path().join("out").display().to_string(),
            pipelines.display().to_string(),
        ),
    )
    .unwrap();
    let check = tonghop(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(check.exit_code, 0, "{}{}", check.stdout, check.stderr);
    let run = tonghop(&["run", "--config", config.to_str().unwrap()]);
    assert_eq!(run.exit_code, 0, "{}{}", run.stdout, run.stderr);
    let out = dir.path().join("out");
    let ind = indicators(&out);
    // 12 + 3 + 4 + 6 gravity; 2 + 2 + 2 + 1 + 1 wells ("mười" is excluded alone).
    assert_eq!(ind["water.households"], 33.0);
    assert_eq!(ind["water.gravity_households"], 25.0);
    let f = findings(&out, "water");
    assert!(
        f.contains(&(
            "Đấu nối".into(),
            "D9".into(),
            "invalid_number".into(),
            "error".into()
        )),
        "{f:?}"
    );
    let md = read(&out.join("bao-cao.md"));
    assert!(
        md.contains("Đấu nối nước sạch cho 33 hộ, trong đó công trình tự chảy 25 hộ."),
        "{md}"
    );
}

#[test]
fn tonghop_test_runs_the_examples_of_every_pipeline_file() {
    let r = tonghop(&["test"]);
    assert_eq!(r.exit_code, 0, "{}{}", r.stdout, r.stderr);
    // Every built-in pipeline file has examples, and each ran.
    for entry in std::fs::read_dir(repo().join("pipelines")).unwrap() {
        let name = entry
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            r.stdout.contains(&format!("đạt       {name} / ")),
            "{name}: no example ran\n{}",
            r.stdout
        );
    }
    // A wrong expectation fails, naming what differed.
    let dir = tempdir();
    let text = read(&repo().join("pipelines/militia.toml")).replace(
        "indicators = { \"militia.mobile_trained\" = 2",
        "indicators = { \"militia.mobile_trained\" = 3",
    );
    assert!(
        text.contains("\"militia.mobile_trained\" = 3"),
        "the example moved"
    );
    std::fs::write(dir.path().join("militia.toml"), text).unwrap();
    let r = tonghop(&["test", "--pipelines", dir.path().to_str().unwrap()]);
    assert_eq!(r.exit_code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("militia.mobile_trained: expected 3, got 2"),
        "{}",
        r.stdout
    );
}

#[test]
fn check_runs_every_query_on_empty_tables() {
    let dir = tempdir();
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    let text = read(&repo().join("pipelines/forest.toml")).replace(
        "SUM(area_ha) AS value FROM plots\"",
        "SUM(area_hectares) AS value FROM plots\"",
    );
    assert!(text.contains("area_hectares"));
    std::fs::write(pipelines.join("forest.toml"), text).unwrap();
    let config = dir.path().join("tonghop.toml");
    std::fs::write(
        &config,
        format!(
            "[commune]\ncode = \"03637\"\nname = \"Mường Kim\"\nprovince = \"Lai Châu\"\n\n[run]\ninbox = {:?}\nout = {:?}\npipelines = {:?}\n\n[period]\nfrom = 2026-01-01\nto = 2026-06-30\n",
            dir.path().join("inbox").display().to_string(),
            dir.path().join("out").display().to_string(),
            pipelines.display().to_string(),
        ),
    )
    .unwrap();
    let r = tonghop(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("forest.planted_ha:") && r.stderr.contains("area_hectares"),
        "{}",
        r.stderr
    );
    // A key that does not apply to the column's type is refused by name.
    let text = read(&repo().join("pipelines/forest.toml")).replace(
        "name = \"species\"\nlabel = \"Loài cây\"",
        "name = \"species\"\nunits = [\"ha\"]\nlabel = \"Loài cây\"",
    );
    std::fs::write(pipelines.join("forest.toml"), text).unwrap();
    let r = tonghop(&["check", "--config", config.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("columns.species: units does not apply to type \"text\""),
        "{}",
        r.stderr
    );
}

#[test]
fn src_names_no_department() {
    // Only tests and comments may name a department; the engine is generic.
    let words = [
        "tourism",
        "militia",
        "forest",
        "budget",
        "bhyt",
        "vneid",
        "livestock",
    ];
    // Rooms compiled only for tests (`#[cfg(test)] mod x;` in lib.rs).
    let lib = read(&repo().join("src/lib.rs"));
    let test_only: Vec<String> = lib
        .split("#[cfg(test)]")
        .skip(1)
        .filter_map(|rest| rest.trim_start().strip_prefix("mod "))
        .filter_map(|rest| rest.split(';').next())
        .map(|m| format!("{}.rs", m.trim()))
        .collect();
    let mut offenders = Vec::new();
    let mut stack = vec![repo().join("src")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if test_only.iter().any(|t| p.ends_with(t)) {
                continue;
            }
            let text = read(&p);
            // Production code only: up to the first `#[cfg(test)]`.
            let code = text.split("#[cfg(test)]").next().unwrap();
            for (n, line) in code.lines().enumerate() {
                let line = line.split("//").next().unwrap().to_lowercase();
                if words.iter().any(|w| line.contains(w)) {
                    offenders.push(format!("{}:{}: {}", p.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
