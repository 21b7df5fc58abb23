//! Livestock on hand-made workbooks: the wide biểu (merged species cells over
//! "Đầu năm" / "Hiện có", unpivoted) and the long list, a total row that must
//! not be counted twice, text counts with thousands dots, poultry kept out of
//! the main herd, an unknown species rejected.

use crate::common::{config_for, indicators, read, tempdir, tonghop};
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

fn wide_workbook(path: &Path) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Biểu 01").unwrap();
    let f = Format::new();
    ws.merge_range(0, 0, 0, 7, "BIỂU TỔNG HỢP ĐÀN GIA SÚC, GIA CẦM", &f)
        .unwrap();
    ws.merge_range(1, 0, 1, 7, "(ĐVT: con)", &f).unwrap();
    ws.merge_range(2, 0, 3, 0, "TT", &f).unwrap();
    ws.merge_range(2, 1, 3, 1, "Tên bản", &f).unwrap();
    ws.merge_range(2, 2, 2, 3, "Trâu", &f).unwrap();
    ws.merge_range(2, 4, 2, 5, "BÒ", &f).unwrap();
    ws.merge_range(2, 6, 2, 7, "Gia cầm", &f).unwrap();
    for (c, h) in [
        "Đầu năm",
        "Hiện có",
        "Đầu kỳ",
        "Kỳ báo cáo",
        "Đầu năm",
        "Thời điểm báo cáo",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(3, 2 + c as u16, *h).unwrap();
    }
    // village, trâu start/now, bò start/now, gia cầm start/now
    ws.write_number(4, 0, 1).unwrap();
    ws.write_string(4, 1, "Pá Khoang").unwrap();
    ws.write_number(4, 2, 100).unwrap();
    ws.write_string(4, 3, "1.204").unwrap();
    ws.write_number(4, 4, 50).unwrap();
    ws.write_number(4, 5, 60).unwrap();
    ws.write_number(4, 6, 3000).unwrap();
    ws.write_number(4, 7, 3500).unwrap();
    ws.write_number(5, 0, 2).unwrap();
    ws.write_string(5, 1, "Nà Ngò").unwrap();
    ws.write_number(5, 2, 200).unwrap();
    ws.write_number(5, 3, 190).unwrap();
    // no cattle at the start of the year in Nà Ngò: blank start, 10 now
    ws.write_number(5, 5, 10).unwrap();
    ws.write_number(5, 0, 2).unwrap();
    ws.write_number(6, 0, 3).unwrap();
    ws.write_string(6, 1, "Hua Pầu").unwrap();
    ws.write_string(6, 2, "nhiều").unwrap();
    ws.write_number(6, 3, 5).unwrap();
    ws.write_string(7, 1, "Tổng cộng").unwrap();
    ws.write_number(7, 2, 300).unwrap();
    ws.write_number(7, 3, 1394).unwrap();
    ws.write_number(7, 4, 50).unwrap();
    ws.write_number(7, 5, 70).unwrap();
    ws.write_string(9, 1, "Người lập biểu").unwrap();
    wb.save(path).unwrap();
}

fn long_workbook(path: &Path) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Danh sách").unwrap();
    for (c, h) in [
        "STT",
        "Tên bản",
        "Loại vật nuôi",
        "Số con đầu năm",
        "Số con hiện có",
    ]
    .iter()
    .enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    let rows: [[&str; 5]; 5] = [
        ["1", "Phiêng Cảm", "TRÂU", "40", "44"],
        ["2", "Phiêng Cảm", "lợn", "1.000", "1.100"],
        ["", "Cộng bản Phiêng Cảm", "", "1.040", "1.144"],
        ["3", "Phiêng Cảm", "Thỏ", "5", "6"],
        ["4", "Phiêng Cảm", "Gia cầm", "800", "900"],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(2 + r as u32, c as u16, *v).unwrap();
            }
        }
    }
    wb.save(path).unwrap();
}

#[test]
fn wide_and_long_layouts_unpivot_to_one_table() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("livestock")).unwrap();
    wide_workbook(&inbox.join("livestock/biểu.xlsx"));
    long_workbook(&inbox.join("livestock/danh sách.xlsx"));
    let cfg = config_for(
        dir.path(),
        &inbox,
        "[targets]\n\"livestock.main_herd\" = 500\n\"livestock.herd_growth_pct\" = 10\n",
    );
    let r = tonghop(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "livestock",
    ]);
    assert_eq!(
        r.exit_code, 0,
        "stdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    let out = dir.path().join("out");
    let ind = indicators(&out);
    // Main herd now: Pá Khoang 1204 + 60, Nà Ngò 190 + 10, Hua Pầu 5,
    // Phiêng Cảm 44 + 1100. Hua Pầu's "nhiều" (its buffaloes at the start)
    // is excluded alone: its 5 buffaloes now count. The total row is
    // skipped, poultry and the unknown species stay out.
    assert_eq!(ind["livestock.main_herd"], "2613");
    assert_eq!(ind["livestock.main_herd_start"], "1390");
    assert_eq!(ind["livestock.main_herd_plan"], "500");
    let growth: f64 = ind["livestock.herd_growth_pct"].parse().unwrap();
    assert!(
        (growth - 100.0 * (2613.0 - 1390.0) / 1390.0).abs() < 1e-9,
        "{growth}"
    );
    let plan_pct: f64 = ind["livestock.herd_growth_plan_pct"].parse().unwrap();
    assert!((plan_pct - growth / 10.0 * 100.0).abs() < 1e-9);
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    let files = report["files"].as_array().unwrap();
    let wide = files
        .iter()
        .find(|f| f["path"] == "livestock/biểu.xlsx")
        .unwrap();
    let s = &wide["sheets"][0];
    assert_eq!(
        (s["accepted"].as_u64(), s["rejected"].as_u64()),
        (Some(3), Some(0)),
        "{s}"
    );
    assert_eq!(s["cells_excluded"], 1, "{s}");
    // The clerk's total row, cross-footed: buffaloes now 1394 against the
    // 1204 + 190 + 5 tonghop read; the others agree.
    assert_eq!(
        (
            s["totals_checked"].as_u64(),
            s["totals_mismatched"].as_u64()
        ),
        (Some(1), Some(1)),
        "{s}"
    );
    assert_eq!(s["skipped_by_kind"]["subtotal"], 1);
    assert_eq!(s["skipped_by_kind"]["footer"], 1);
    assert_eq!(s["header_rows"], 2);
    let rejects = read(&out.join("private/rejects.csv"));
    assert!(
        rejects
            .contains("Biểu 01,7,C7,head_start,Trâu / Số con đầu năm,nhiều,error,invalid_number"),
        "{rejects}"
    );
    let cell_line = rejects.lines().find(|l| l.contains(",C7,")).unwrap();
    assert!(cell_line.ends_with(",cell"), "{cell_line}");
    let total = rejects
        .lines()
        .find(|l| l.contains("total_mismatch"))
        .unwrap_or_else(|| panic!("{rejects}"));
    assert!(
        total.contains("Biểu 01,8,D8,head_now,Trâu / Số con hiện có,1394,warning"),
        "{total}"
    );
    assert!(total.contains("Dòng tổng ghi 1.394, nhưng tổng các dòng chi tiết D5:D7 mà tonghop đọc được là 1.399 (chênh -5)"), "{total}");
    assert_eq!(rejects.matches("total_mismatch").count(), 1, "{rejects}");
    assert!(
        rejects
            .contains("danh sách.xlsx,Danh sách,6,C6,species,Loại vật nuôi,Thỏ,error,unknown_enum"),
        "{rejects}"
    );
    let tables = report["tables"].as_array().unwrap();
    // 2 wide rows × 3 species present (Nà Ngò has no poultry), Hua Pầu's
    // buffaloes, + 3 long rows.
    assert_eq!(tables[0]["rows"], 9, "{}", tables[0]);
    let by_species = read(&out.join("indicators_by_species.csv"));
    assert!(
        by_species.contains("livestock.head_now,trau,1443,"),
        "{by_species}"
    );
    assert!(
        by_species.contains("livestock.head_now,gia_cam,4400,"),
        "{by_species}"
    );
    let by_village = read(&out.join("indicators_by_village.csv"));
    assert!(
        by_village.contains("livestock.main_herd,Pá Khoang,1264,"),
        "{by_village}"
    );
}
