//! Limits: a workbook that is too big (on disk, once inflated, in cells, in
//! rows) or too slow is refused with the limit named; the rest of the run is
//! unaffected and every row is still accounted for.

use crate::common::{config_for, read, repo, tempdir, tonghop};

fn run_with_limit(limit: &str) -> (i32, serde_json::Value) {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("bhyt")).unwrap();
    for f in ["Danh sách BHYT các bản.xlsx", "bổ sung/Bổ sung tháng 6.ods"] {
        let to = inbox.join("bhyt").join(f.rsplit('/').next().unwrap());
        std::fs::copy(repo().join("fixtures/inbox/bhyt").join(f), to).unwrap();
    }
    let cfg = config_for(dir.path(), &inbox, &format!("[limits]\n{limit}\n"));
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "bhyt"]);
    let report = serde_json::from_str(&read(&dir.path().join("out/run.json"))).unwrap();
    (r.exit_code, report)
}

fn file<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with(name))
        .unwrap()
}

#[test]
fn each_limit_refuses_only_the_workbook_that_exceeds_it() {
    for (limit, message) in [
        (
            "max_file_bytes = 500000",
            "exceeds limit max_file_bytes = 500000",
        ),
        (
            "max_part_bytes = 1000000",
            "exceeds limit max_part_bytes = 1000000",
        ),
        (
            "max_cells_per_sheet = 20000",
            "exceeds limit max_cells_per_sheet = 20000",
        ),
        (
            "max_rows_per_table = 1000",
            "exceeds limit max_rows_per_table = 1000",
        ),
    ] {
        let (code, report) = run_with_limit(limit);
        assert_eq!(code, 1, "{limit}");
        let big = file(&report, "Danh sách BHYT các bản.xlsx");
        assert_eq!(big["status"], "failed", "{limit}");
        assert!(
            big["errors"][0].as_str().unwrap().contains(message),
            "{limit}: {}",
            big["errors"]
        );
        assert_eq!(
            big["accepted"], 0,
            "{limit}: nothing of a refused workbook is published"
        );
        let read_rows = big["rows_read"].as_u64().unwrap();
        assert_eq!(
            big["skipped"].as_u64().unwrap(),
            read_rows,
            "{limit}: rows accounted for"
        );
        let small = file(&report, "Bổ sung tháng 6.ods");
        assert_eq!(
            small["status"], "ok",
            "{limit}: the small workbook is unaffected"
        );
        assert!(small["accepted"].as_u64().unwrap() > 100, "{limit}");
    }
    let (code, _) = run_with_limit("max_seconds_per_file = 600");
    assert_eq!(code, 0);
}

#[test]
fn a_reader_that_allocates_without_bound_costs_only_its_workbook() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("livestock")).unwrap();
    std::fs::copy(
        repo().join("tests/data/fuzz-oom-livestock.xls"),
        inbox.join("livestock/hỏng.xls"),
    )
    .unwrap();
    std::fs::copy(
        repo().join("fixtures/inbox/livestock/Biểu chăn nuôi 6 tháng đầu năm 2026.xls"),
        inbox.join("livestock/tốt.xls"),
    )
    .unwrap();
    let cfg = config_for(
        dir.path(),
        &inbox,
        "[targets]\n\"livestock.main_herd\" = 21860\n\"livestock.herd_growth_pct\" = 16.5\n[limits]\nisolate_memory_bytes = 1073741824\n",
    );
    let r = tonghop(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "livestock",
    ]);
    assert_eq!(r.exit_code, 1, "{}\n{}", r.stdout, r.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("out/run.json"))).unwrap();
    let bad = file(&report, "hỏng.xls");
    assert_eq!(bad["status"], "failed");
    assert!(
        bad["errors"][0]
            .as_str()
            .unwrap()
            .contains("reader crashed"),
        "{}",
        bad["errors"]
    );
    assert_eq!(file(&report, "tốt.xls")["status"], "ok");
    assert!(read(&dir.path().join("out/indicators.csv")).contains("livestock.main_herd,19670,"));
}
