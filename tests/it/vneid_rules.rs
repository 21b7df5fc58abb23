//! VNeID semantics on a small hand-made workbook: age bands at the reference
//! date (birthdays on the boundary, 29 February), stocks as of period.to
//! (collected after it = out of period), activation by status or by date,
//! activation before collection, and a sheet with neither activation column.

use crate::common::{config_for, indicators, read, sheet, tempdir, tonghop};
use rust_xlsxwriter::Workbook;
use std::collections::HashMap;

const TITLE: &str = "DANH SÁCH CÔNG DÂN ĐÃ THU NHẬN ĐỊNH DANH";

#[test]
fn age_bands_periods_and_activation() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("vneid")).unwrap();
    let mut wb = Workbook::new();
    let status_header = [
        "Họ và tên",
        "Ngày sinh",
        "Số định danh cá nhân",
        "Bản",
        "Ngày thu nhận",
        "Trạng thái kích hoạt",
    ];
    sheet(
        &mut wb,
        "Theo trạng thái",
        Some(TITLE),
        &status_header,
        &[
            // 6th birthday on the reference date: age 6, band 6–13, activated.
            &[
                "Lò Văn Sáu",
                "19/06/2020",
                "012220000001",
                "Pá Khoang",
                "10/01/2026",
                "ĐÃ KÍCH HOẠT",
            ],
            // 6th birthday the day after: age 5, in neither band.
            &[
                "Lò Văn Năm",
                "20/06/2020",
                "012220000002",
                "Pá Khoang",
                "10/01/2026",
                "Đã kích hoạt",
            ],
            // 14th birthday on the reference date: 14+, not activated.
            &[
                "Lò Thị Mười Bốn",
                "19/06/2012",
                "012312000003",
                "Pá Khoang",
                "10/01/2026",
                "Chưa kích hoạt",
            ],
            // 14th birthday the day after: 13, band 6–13, activated (NFD status).
            &[
                "Lò Văn Mười Ba",
                "20/06/2012",
                "012212000004",
                "Nà Ngò",
                "10/01/2026",
                "đa\u{0303} ki\u{0301}ch hoa\u{0323}t",
            ],
            // Born 29 February 2012: the birthday is 1 March in 2026, so 14.
            &[
                "Lò Văn Nhuận",
                "29/02/2012",
                "012212000005",
                "Nà Ngò",
                "19/06/2026",
                "Đã kích hoạt",
            ],
            // Collected after the reference date: out of period.
            &[
                "Lò Văn Muộn",
                "01/01/1990",
                "012090000006",
                "Nà Ngò",
                "20/06/2026",
                "Đã kích hoạt",
            ],
            // Unknown status: rejected.
            &[
                "Lò Văn Lạ",
                "01/01/1990",
                "012090000007",
                "Nà Ngò",
                "10/01/2026",
                "Đang xử lý",
            ],
            // Same ID again: duplicate.
            &[
                "Lò Văn Sáu",
                "19/06/2020",
                "012220000001",
                "Pá Khoang",
                "11/01/2026",
                "Đã kích hoạt",
            ],
        ],
    );
    let date_header = [
        "Họ tên",
        "Ngày tháng năm sinh",
        "Số CCCD",
        "Thôn/Bản",
        "Ngày thu nhận hồ sơ",
        "Ngày kích hoạt",
    ];
    sheet(
        &mut wb,
        "Theo ngày",
        Some(TITLE),
        &date_header,
        &[
            // Activated on the reference date: counts.
            &[
                "Lò Thị A",
                "01/01/1980",
                "012180000008",
                "Pá Khoang",
                "01/02/2026",
                "19/06/2026",
            ],
            // Activated the day after: collected, not activated.
            &[
                "Lò Thị B",
                "01/01/1980",
                "012180000009",
                "Pá Khoang",
                "01/02/2026",
                "20/06/2026",
            ],
            // Not activated (blank).
            &[
                "Lò Thị C",
                "01/01/2015",
                "012315000010",
                "Nà Ngò",
                "01/02/2026",
                "",
            ],
            // Activation before collection: rejected.
            &[
                "Lò Thị D",
                "01/01/1980",
                "012180000011",
                "Nà Ngò",
                "01/03/2026",
                "01/02/2026",
            ],
            // Born 29 February 2020: 6 on 1 March 2026, band 6–13.
            &[
                "Lò Thị E",
                "29/02/2020",
                "012320000012",
                "Nà Ngò",
                "01/03/2026",
                "02/03/2026",
            ],
        ],
    );
    wb.save(inbox.join("vneid/Danh sách VNeID.xlsx")).unwrap();
    let cfg = config_for(dir.path(), &inbox, "");
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "vneid"]);
    assert_eq!(
        r.exit_code, 0,
        "stdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    let out = dir.path().join("out");
    let ind = indicators(&out);
    // 6–13: Sáu (activated), Mười Ba (activated), C (no), E (activated) = 4 collected, 3 activated.
    assert_eq!(ind["vneid.age_6_13_collected"], "4");
    assert_eq!(ind["vneid.age_6_13_activated"], "3");
    // 14+: Mười Bốn (no), Nhuận (activated), A (activated), B (activated the day after: no) = 4, 2.
    assert_eq!(ind["vneid.age_14_plus_collected"], "4");
    assert_eq!(ind["vneid.age_14_plus_activated"], "2");
    assert_eq!(ind["vneid.under_6_collected"], "1");
    assert_eq!(ind["vneid.age_6_13_activation_rate_pct"], "75");
    assert_eq!(ind["vneid.age_14_plus_activation_rate_pct"], "50");

    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    let sheets = report["files"][0]["sheets"].as_array().unwrap();
    let s1 = &sheets[0];
    assert_eq!(s1["skipped_by_kind"]["out_of_period"], 1, "{s1}");
    assert_eq!(
        (s1["accepted"].as_u64(), s1["rejected"].as_u64()),
        (Some(5), Some(2))
    );
    let rejects = read(&out.join("private/rejects.csv"));
    assert!(
        rejects.contains("Theo trạng thái,10,F10,activation_status"),
        "{rejects}"
    );
    assert!(rejects.contains("unknown_enum"), "{rejects}");
    assert!(
        rejects.contains("Theo trạng thái,11,C11,personal_id"),
        "{rejects}"
    );
    assert!(
        rejects.contains("Trùng Số định danh cá nhân với dòng 4 của sheet Theo trạng thái"),
        "{rejects}"
    );
    assert!(
        rejects.contains("Theo ngày,7,F7,activation_date,")
            && rejects.contains(") trước Ngày thu nhận ("),
        "{rejects}"
    );
    // The village breakdown sums to the commune totals.
    let by_village = read(&out.join("indicators_by_village.csv"));
    let mut sums: HashMap<String, f64> = HashMap::new();
    for l in by_village.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        *sums.entry(f[0].to_string()).or_default() += f[2].parse::<f64>().unwrap();
    }
    for id in [
        "vneid.age_6_13_collected",
        "vneid.age_6_13_activated",
        "vneid.age_14_plus_collected",
        "vneid.age_14_plus_activated",
    ] {
        assert_eq!(sums[id].to_string(), ind[id], "{id}");
    }
    assert!(
        by_village.contains("vneid.age_6_13_collected,Nà Ngò,3,"),
        "{by_village}"
    );
    assert!(report["checks"][0]["passed"].as_bool().unwrap());
}

#[test]
fn a_sheet_without_any_activation_column_is_an_error() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("vneid")).unwrap();
    let mut wb = Workbook::new();
    sheet(
        &mut wb,
        "Thiếu kích hoạt",
        Some(TITLE),
        &[
            "Họ và tên",
            "Ngày sinh",
            "Số định danh cá nhân",
            "Bản",
            "Ngày thu nhận",
        ],
        &[&[
            "Lò Văn A",
            "01/01/1990",
            "012090000001",
            "Pá Khoang",
            "10/01/2026",
        ]],
    );
    wb.save(inbox.join("vneid/a.xlsx")).unwrap();
    let cfg = config_for(dir.path(), &inbox, "");
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "vneid"]);
    assert_eq!(r.exit_code, 1);
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("out/run.json"))).unwrap();
    let err = report["files"][0]["errors"][0].as_str().unwrap();
    assert!(
        err.contains("'Trạng thái kích hoạt'") && err.contains("'Ngày kích hoạt'"),
        "{err}"
    );
}
