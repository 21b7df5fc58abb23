//! Land on a hand-made workbook: three tables in one file (each sheet goes to
//! the table its header matches), deadlines computed in working days across
//! Tết when the register has no promised date, fines as Vietnamese money
//! text, and the "Không khớp" trap in the matching status.

use crate::common::{config_for, indicators, read, sheet, tempdir, tonghop};
use polars::prelude::*;
use rust_xlsxwriter::Workbook;
use std::path::Path;

fn workbook(path: &Path) {
    let mut wb = Workbook::new();
    // No promised-date column: due = received + 20 + 10 working days.
    sheet(
        &mut wb,
        "Hồ sơ",
        None,
        &[
            "Số hồ sơ",
            "Người nộp",
            "Tên thủ tục",
            "Ngày nhận hồ sơ",
            "Ngày trả kết quả",
        ],
        &[
            // Received 20/01: 30 working days across Tết → due 10/03; returned 10/03: on time.
            &[
                "HS-01",
                "Lò Văn A",
                "Cấp GCN lần đầu",
                "20/01/2026",
                "10/03/2026",
            ],
            // Same receipt, returned 11/03: one day late.
            &[
                "HS-02",
                "Lò Văn B",
                "Cấp GCN lần đầu",
                "20/01/2026",
                "11/03/2026",
            ],
            // Received 01/06: due in July, in progress on time.
            &["HS-03", "Lò Văn C", "Cấp GCN lần đầu", "01/06/2026", ""],
            // Received 02/02: due 23/03 (Tết skipped); not returned by 19/06: overdue.
            &["HS-04", "Lò Văn D", "Cấp GCN lần đầu", "02/02/2026", ""],
            // Carried over from 2025, resolved in the period.
            &[
                "HS-05",
                "Lò Văn E",
                "Cấp GCN lần đầu",
                "15/12/2025",
                "05/01/2026",
            ],
            // Received after the period: not counted.
            &["HS-06", "Lò Văn F", "Cấp GCN lần đầu", "22/06/2026", ""],
            // Returned before received: rejected.
            &[
                "HS-07",
                "Lò Văn G",
                "Cấp GCN lần đầu",
                "10/03/2026",
                "01/03/2026",
            ],
            // Duplicate number: rejected.
            &["HS-01", "Lò Văn H", "Cấp GCN lần đầu", "21/01/2026", ""],
        ],
    );
    sheet(
        &mut wb,
        "Xử phạt",
        None,
        &[
            "Số QĐ",
            "Ngày QĐ",
            "Tên người vi phạm",
            "Hành vi vi phạm",
            "Số tiền phạt (đồng)",
        ],
        &[
            &[
                "01/QĐ-XPHC",
                "15/03/2026",
                "Lò Văn A",
                "Lấn chiếm đất",
                "2.500.000",
            ],
            &[
                "02/QĐ-XPHC",
                "20/05/2026",
                "Lò Văn B",
                "Chuyển mục đích trái phép",
                "7.500.000 đ",
            ],
            &[
                "09/QĐ-XPHC",
                "20/11/2025",
                "Lò Văn C",
                "Lấn chiếm đất",
                "3.000.000 đồng",
            ],
            &["", "Tổng cộng", "", "", "13.000.000"],
        ],
    );
    sheet(
        &mut wb,
        "Đối khớp",
        None,
        &[
            "Tờ bản đồ số",
            "Thửa đất số",
            "Chủ sử dụng",
            "Số CCCD",
            "Kết quả đối khớp",
        ],
        &[
            &["12", "45", "Lò Văn A", "012090000001", "Đã đối khớp"],
            &["12", "46", "Lò Văn B", "", "Không khớp"],
            &["12", "47", "Lò Văn C", "012090000003", "KHỚP"],
            &["12", "48", "Lò Văn D", "0120900", "Đã đối khớp"],
            &["12", "49", "Lò Văn E", "", "chưa đối khớp"],
            &["12", "50", "Lò Văn F", "", "Đang xử lý"],
        ],
    );
    wb.save(path).unwrap();
}

#[test]
fn dossiers_fines_and_matching() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("land")).unwrap();
    workbook(&inbox.join("land/Sổ theo dõi.xlsx"));
    let cfg = config_for(
        dir.path(),
        &inbox,
        "[params]\n\"land.deadline_extension_days\" = 10\n",
    );
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "land"]);
    assert_eq!(
        r.exit_code, 0,
        "stdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    let out = dir.path().join("out");
    let ind = indicators(&out);
    let expect = [
        ("land.dossiers_received", "4"),
        ("land.dossiers_resolved", "2"),
        ("land.dossiers_in_progress", "2"),
        ("land.dossiers_overdue", "2"),
        ("land.dossiers_resolved_on_time", "1"),
        ("land.dossiers_resolved_late", "1"),
        ("land.dossiers_in_progress_on_time", "1"),
        ("land.dossiers_in_progress_overdue", "1"),
        ("land.dossiers_carried_over", "1"),
        ("land.dossiers_carried_over_resolved", "1"),
        ("land.fines_count", "2"),
        ("land.fines_total_vnd", "10000000"),
        ("land.records_total", "5"),
        ("land.records_matched", "3"),
        ("land.records_matched_pct", "60"),
    ];
    for (id, v) in expect {
        assert_eq!(ind[id], v, "{id}");
    }
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    let sheets = report["files"][0]["sheets"].as_array().unwrap();
    let tables: Vec<&str> = sheets
        .iter()
        .map(|s| s["table"].as_str().unwrap())
        .collect();
    assert_eq!(tables, ["dossiers", "fines", "land_records"]);
    let rejects = read(&out.join("private/rejects.csv"));
    assert!(rejects.contains("Hồ sơ,8,E8,returned_date,"), "{rejects}");
    assert!(
        rejects.contains("Ngày trả kết quả (01/03/2026) trước Ngày nhận hồ sơ (10/03/2026)"),
        "{rejects}"
    );
    assert!(
        rejects.contains("Hồ sơ,9,A9,dossier_no,Số hồ sơ,HS-01,error,duplicate"),
        "{rejects}"
    );
    assert!(
        rejects
            .contains("Đối khớp,7,E7,match_status,Kết quả đối khớp,Đang xử lý,error,unknown_enum"),
        "{rejects}"
    );
    // An invalid ID is a warning here, and a matched record without a valid ID is flagged.
    assert!(
        rejects.contains("Đối khớp,5,D5,personal_id,Số CCCD,0120900,warning,invalid_id"),
        "{rejects}"
    );
    assert!(
        rejects.contains("Đối khớp,5,D5,personal_id,Số CCCD,0120900,warning,matched_without_id"),
        "{rejects}"
    );
    // The computed deadlines, read back from Parquet.
    let dir = out.join(
        "private/tables/land_dossiers/commune=03637/period=2026-01-01_2026-06-19/part-0.parquet",
    );
    let df = ParquetReader::new(std::fs::File::open(dir).unwrap())
        .finish()
        .unwrap();
    let due = df
        .column("due_date")
        .unwrap()
        .cast(&DataType::String)
        .unwrap();
    let due: Vec<Option<&str>> = due.str().unwrap().iter().collect();
    assert_eq!(due[0], Some("2026-03-10"));
    assert_eq!(due[3], Some("2026-03-23"));
}

#[test]
fn a_missing_extension_parameter_is_a_config_error() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("land")).unwrap();
    let cfg = config_for(dir.path(), &inbox, "");
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "land"]);
    assert_eq!(r.exit_code, 2);
    assert!(
        r.stderr
            .contains("[params] \"land.deadline_extension_days\" is missing"),
        "{}",
        r.stderr
    );
}
