//! Held-out, end to end: a wide biểu with one unreadable count, a total row
//! the clerk got wrong, and one village written four ways across two
//! workbooks. The expected figures come from the counts this test writes,
//! not from the engine's rules.

use crate::common::{config_for, read, tempdir, tonghop};
use rust_xlsxwriter::{Format, Workbook};
use std::path::Path;

/// (village as written, trâu start/now, lợn start/now); `None`: an
/// unreadable cell, written as text.
type Row = (&'static str, [Option<u32>; 4]);

const WIDE: [Row; 4] = [
    ("Pá Khoang", [Some(100), Some(110), Some(300), Some(320)]),
    ("BẢN LƯỚT", [Some(40), Some(42), Some(90), Some(95)]),
    // the lợn hiện có of Nà Ngò is "mấy trăm": that cell alone is out
    ("nà ngò", [Some(60), Some(66), Some(200), None]),
    // a village the commune does not have
    ("Mường So", [Some(5), Some(5), Some(7), Some(8)]),
];

fn wide(path: &Path) {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Biểu").unwrap();
    let f = Format::new();
    ws.merge_range(0, 0, 0, 5, "BIỂU TỔNG HỢP ĐÀN GIA SÚC", &f)
        .unwrap();
    ws.merge_range(1, 0, 2, 0, "TT", &f).unwrap();
    ws.merge_range(1, 1, 2, 1, "Tên bản", &f).unwrap();
    ws.merge_range(1, 2, 1, 3, "Trâu", &f).unwrap();
    ws.merge_range(1, 4, 1, 5, "Lợn", &f).unwrap();
    for (c, h) in ["Đầu năm", "Hiện có", "Đầu năm", "Hiện có"]
        .iter()
        .enumerate()
    {
        ws.write_string(2, 2 + c as u16, *h).unwrap();
    }
    let mut sums = [0u32; 4];
    for (i, (village, counts)) in WIDE.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_number(r, 0, (i + 1) as f64).unwrap();
        ws.write_string(r, 1, *village).unwrap();
        for (k, n) in counts.iter().enumerate() {
            match n {
                Some(n) => {
                    ws.write_number(r, 2 + k as u16, f64::from(*n)).unwrap();
                    sums[k] += n;
                }
                None => {
                    ws.write_string(r, 2 + k as u16, "mấy trăm").unwrap();
                }
            }
        }
    }
    // The clerk's total: trâu hiện có typed 10 too high; lợn hiện có counts
    // Nà Ngò's real 210 pigs that the sheet calls "mấy trăm".
    let total = [sums[0], sums[1] + 10, sums[2], sums[3] + 210];
    ws.write_string(7, 1, "Tổng cộng").unwrap();
    for (k, n) in total.iter().enumerate() {
        ws.write_number(7, 2 + k as u16, f64::from(*n)).unwrap();
    }
    ws.write_string(9, 1, "Người lập biểu").unwrap();
    wb.save(path).unwrap();
}

/// Bản Lướt's buffaloes, one row per spelling (a long list).
fn long(path: &Path) {
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
        ws.write_string(0, c as u16, *h).unwrap();
    }
    use unicode_normalization::UnicodeNormalization;
    let nfd: String = "Bản Lướt".nfd().collect();
    let rows: [(&str, &str, u32, u32); 3] = [
        ("Lướt", "Dê", 10, 12),
        ("bản Lướt", "Bò", 20, 21),
        (&nfd, "Ngựa", 3, 4),
    ];
    for (i, (v, sp, s, n)) in rows.iter().enumerate() {
        let r = 1 + i as u32;
        ws.write_number(r, 0, (i + 1) as f64).unwrap();
        ws.write_string(r, 1, *v).unwrap();
        ws.write_string(r, 2, *sp).unwrap();
        ws.write_number(r, 3, f64::from(*s)).unwrap();
        ws.write_number(r, 4, f64::from(*n)).unwrap();
    }
    wb.save(path).unwrap();
}

#[test]
fn a_bad_cell_a_wrong_total_and_four_spellings_end_to_end() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("livestock")).unwrap();
    wide(&inbox.join("livestock/biểu.xlsx"));
    long(&inbox.join("livestock/bổ sung.xlsx"));
    let villages = ["Pá Khoang", "Nà Ngò", "Bản Lướt", "Đông Pao"]
        .iter()
        .map(|v| format!("[[villages]]\nname = \"{v}\"\n"))
        .collect::<String>();
    let cfg = config_for(
        dir.path(),
        &inbox,
        &format!(
            "[targets]\n\"livestock.main_herd\" = 1000\n\"livestock.herd_growth_pct\" = 10\n{villages}"
        ),
    );
    let r = tonghop(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "livestock",
    ]);
    assert_eq!(r.exit_code, 0, "{}\n{}", r.stdout, r.stderr);
    let out = dir.path().join("out");

    // Every readable count of the four villages, Mường So's included (its
    // animals are the commune's; only its name is unknown), Nà Ngò's other
    // counts included, plus Bản Lướt's long-list animals.
    let now: u32 = WIDE
        .iter()
        .flat_map(|(_, c)| [c[1], c[3]])
        .flatten()
        .sum::<u32>()
        + 12
        + 21
        + 4;
    let start: u32 = WIDE
        .iter()
        .flat_map(|(_, c)| [c[0], c[2]])
        .flatten()
        .sum::<u32>()
        + 10
        + 20
        + 3;
    let csv = read(&out.join("indicators.csv"));
    let line = |id: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("{id}: {csv}"))
            .to_string()
    };
    assert!(
        line("livestock.main_herd").starts_with(&format!("livestock.main_herd,{now},")),
        "{csv}"
    );
    assert!(
        line("livestock.main_herd").ends_with(",0,0,0,1,03637,2026-01-01_2026-06-19"),
        "{csv}"
    );
    assert!(
        line("livestock.main_herd_start")
            .starts_with(&format!("livestock.main_herd_start,{start},"))
    );
    assert!(
        line("livestock.main_herd_start").ends_with(",0,0,0,0,03637,2026-01-01_2026-06-19"),
        "{csv}"
    );

    // One row per listed village, Vietnamese order; Bản Lướt once, with
    // both workbooks' animals; Đông Pao without a figure; Mường So is no
    // village of its own: its animals are the last row, with no village.
    let by_village = read(&out.join("indicators_by_village.csv"));
    let rows: Vec<Vec<String>> = by_village
        .lines()
        .filter(|l| l.starts_with("livestock.main_herd,"))
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let keys: Vec<&str> = rows.iter().map(|f| f[1].as_str()).collect();
    assert_eq!(
        keys,
        ["Bản Lướt", "Đông Pao", "Nà Ngò", "Pá Khoang", ""],
        "{by_village}"
    );
    let value = |k: &str| {
        rows.iter()
            .find(|f| f[1] == k)
            .map(|f| f[2].clone())
            .unwrap()
    };
    assert_eq!(value("Bản Lướt"), (42 + 95 + 12 + 21 + 4).to_string());
    assert_eq!(value("Nà Ngò"), "66");
    assert_eq!(value("Đông Pao"), "");
    assert_eq!(value(""), "13");
    let lacks = |k: &str| {
        rows.iter()
            .find(|f| f[1] == k)
            // cells_excluded, before the commune and the period
            .map(|f| f[f.len() - 3] == "1")
            .unwrap()
    };
    assert!(lacks("Nà Ngò") && !lacks("Pá Khoang") && !lacks("Bản Lướt"));

    // Findings: the unreadable cell alone, the unknown village, and the two
    // total cells that differ from what was read (the right ones agree).
    let rejects = read(&out.join("private/rejects.csv"));
    let coded = |code: &str| -> Vec<&str> {
        rejects
            .lines()
            .filter(|l| l.contains(&format!(",{code},")))
            .collect()
    };
    let bad = coded("invalid_number");
    assert_eq!(bad.len(), 1, "{rejects}");
    assert!(
        bad[0].contains("biểu.xlsx,Biểu,6,F6,head_now,Lợn / Số con hiện có,mấy trăm,error"),
        "{}",
        bad[0]
    );
    assert!(bad[0].ends_with(",cell"), "{}", bad[0]);
    let unknown = coded("unknown_village");
    assert_eq!(unknown.len(), 1, "{rejects}");
    assert!(unknown[0].contains(",Mường So,warning,"), "{}", unknown[0]);
    let totals = coded("total_mismatch");
    assert_eq!(totals.len(), 2, "{rejects}");
    assert!(
        totals[0].contains("Biểu,8,D8,head_now,Trâu / Số con hiện có,233,warning"),
        "{}",
        totals[0]
    );
    assert!(totals[0].contains("Dòng tổng ghi 233, nhưng tổng các dòng chi tiết D4:D7 mà tonghop đọc được là 223 (chênh +10)"), "{}", totals[0]);
    assert!(
        totals[1].contains("Biểu,8,F8,head_now,Lợn / Số con hiện có,633,warning"),
        "{}",
        totals[1]
    );
    assert!(
        totals[1].contains("(chênh +210); trong các dòng đó có 1 ô không đọc được (F6)"),
        "{}",
        totals[1]
    );
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    assert_eq!(report["totals"]["totals_checked"], 1);
    assert_eq!(report["totals"]["totals_mismatched"], 1);
    assert_eq!(report["totals"]["cells_excluded"], 1);

    // The report says which cell the figure lacks.
    let md = read(&out.join("bao-cao.md"));
    assert!(
        md.contains("chưa gồm 1 ô không đọc được (Lợn / Số con hiện có, Tên bản: Nà Ngò – biểu.xlsx, Biểu!F6)"),
        "{md}"
    );
    // The feedback workbook of the wide biểu lists the cell and the totals.
    let feedback = out.join("private/phan-hoi");
    let names: Vec<String> = std::fs::read_dir(&feedback)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let wide_fb = names
        .iter()
        .find(|n| n.contains("biểu"))
        .unwrap_or_else(|| panic!("{names:?}"));
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(feedback.join(wide_fb)).unwrap();
    let text: String = wb
        .worksheets()
        .iter()
        .flat_map(|(_, r)| {
            r.used_cells()
                .map(|(_, _, v)| v.to_string())
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        text.contains("F6") && text.contains("D8") && text.contains("F8"),
        "{text}"
    );
}
