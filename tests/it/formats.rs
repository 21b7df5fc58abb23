//! Containers Excel opens that are no workbook format: the livestock biểu as
//! an HTML table saved as .xls (UTF-16), as an Excel 2003 XML Spreadsheet
//! saved as .xls, and as an ODS with its merged header cells
//! (`fixtures/gen_formats.py`). Each twin maps and counts exactly like its
//! original: same figures, same per-sheet counts, the same rejected cells.

use crate::common::{indicators, read, repo, run_config, tempdir, tonghop};

fn sheets_of(report: &serde_json::Value) -> Vec<(String, [u64; 4])> {
    report["files"][0]["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let n = |k: &str| s[k].as_u64().unwrap();
            (
                s["name"].as_str().unwrap().to_string(),
                [n("rows_read"), n("accepted"), n("rejected"), n("skipped")],
            )
        })
        .collect()
}

fn rejected_cells(out: &std::path::Path) -> Vec<String> {
    read(&out.join("private/rejects.csv"))
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // sheet, row, cell, column, severity, code
            format!("{}|{}|{}|{}|{}|{}", f[3], f[4], f[5], f[6], f[9], f[10])
        })
        .collect()
}

#[test]
fn html_xml2003_and_ods_twins_count_like_their_original() {
    let oracle: serde_json::Value =
        serde_json::from_str(&read(&repo().join("fixtures/expected/formats.json"))).unwrap();
    let original = run_config("config/tonghop.toml", "livestock");
    assert_eq!(original.exit_code, 0, "{}", original.stderr);
    let want = indicators(&original.out);
    let want_report: serde_json::Value =
        serde_json::from_str(&read(&original.out.join("run.json"))).unwrap();
    let want_sheets = sheets_of(&want_report);
    let want_rejects = rejected_cells(&original.out);
    assert!(!want_rejects.is_empty());
    let twins = oracle["twins"].as_array().unwrap();
    assert_eq!(twins.len(), 3);
    for twin in twins {
        let format = twin["format"].as_str().unwrap();
        let dir = tempdir();
        let out = dir.path().join("out");
        let inbox = repo()
            .join("fixtures")
            .join(twin["inbox"].as_str().unwrap());
        let r = tonghop(&[
            "run",
            "--inbox",
            inbox.to_str().unwrap(),
            "--only",
            "livestock",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(r.exit_code, 0, "{format}: {}\n{}", r.stdout, r.stderr);
        let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
        let file = &report["files"][0];
        assert_eq!(
            file["path"],
            twin["twin"].as_str().unwrap(),
            "{format}: {file}"
        );
        assert_eq!(file["format"], format, "{format}");
        // Same figures.
        let got = indicators(&out);
        for (id, v) in want.iter().filter(|(k, _)| k.starts_with("livestock.")) {
            assert_eq!(got.get(id), Some(v), "{format}: {id}");
        }
        // Same counts, sheet by sheet (the HTML export holds the shown sheets).
        let names: Vec<&str> = twin["sheets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let expected: Vec<&(String, [u64; 4])> = want_sheets
            .iter()
            .filter(|(n, _)| names.contains(&n.as_str()))
            .collect();
        let got_sheets = sheets_of(&report);
        assert_eq!(
            got_sheets.iter().collect::<Vec<_>>(),
            expected,
            "{format}: per-sheet counts"
        );
        // The same rejected cells, at the same addresses.
        assert_eq!(rejected_cells(&out), want_rejects, "{format}");
    }
}

#[test]
fn the_ods_twin_keeps_its_merged_header_cells() {
    let path = repo().join("fixtures/inbox-formats/ods/livestock/Biểu chăn nuôi (ODS).ods");
    let mut wb = tonghop::ingest::open(std::fs::read(&path).unwrap(), "ods").unwrap();
    let g = wb.grid("Biểu CN 6 tháng").unwrap();
    // "Trâu" is merged over C7:D7; calamine alone reports D7 as empty.
    assert_eq!(g.raw(6, 2), &calamine::Data::String("Trâu".into()));
    assert_eq!(g.raw(6, 3), &calamine::Data::Empty);
    assert_eq!(g.filled(6, 3), &calamine::Data::String("Trâu".into()));
    // "Ghi chú" is merged down O7:O8.
    assert_eq!(g.filled(7, 14), &calamine::Data::String("Ghi chú".into()));
}
