//! What the statistician gets back: the report text, the Excel summary and
//! the feedback workbooks (read back with calamine), and `reconcile` on the
//! seed report, on tonghop's own text, and on a draft with one figure changed.

use crate::common::{read, run_fixtures, tempdir, tonghop};
use calamine::{Data, Reader, Xlsx, open_workbook};
use std::io::Read as _;
use std::path::Path;

fn cell(ws: &calamine::Range<Data>, row: u32, col: u32) -> Data {
    ws.get_value((row, col)).cloned().unwrap_or(Data::Empty)
}

#[test]
fn report_text_in_the_reports_own_words() {
    let run = run_fixtures();
    let md = read(&run.out.join("bao-cao.md"));
    for sentence in [
        "Thực hiện rà soát, cập nhật dữ liệu cấp thẻ BHYT cho 20.213 người, trong đó: người đồng bào dân tộc thiểu số 12.253 người; hộ nghèo, hộ cận nghèo 2.200 người; đối tượng bảo trợ xã hội và hưu trí xã hội 1.899 người.",
        "đã thu nhận định danh 2.581 người, đã kích hoạt 1.529 người; từ đủ 14 tuổi trở lên đã thu nhận 10.879 người, đã kích hoạt 10.260 người.",
        "tiếp nhận và giải quyết 111 hồ sơ liên quan đến cấp GCN QSDĐ, trong đó đã giải quyết 85 hồ sơ; đang giải quyết 26 hồ sơ, không có hồ sơ quá hạn.",
        "Xử phạt 02 trường hợp vi phạm hành chính trong lĩnh vực đất đai với số tiền 10.000.000 đồng.",
        "cập nhật thông tin cá nhân trong CSDL đất đai được 3.077/3.876 hồ sơ, bằng 79,4 %.",
        "Tổng đàn gia súc chính: 19.670 con/21.860 con, đạt 89,98% kế hoạch. Tốc độ tăng đàn gia súc 4,48%, đạt 27,2% kế hoạch năm.",
    ] {
        assert!(
            md.contains(sentence),
            "bao-cao.md lacks:\n{sentence}\n\n{md}"
        );
    }
}

#[test]
fn figures_say_what_they_lack() {
    let run = run_fixtures();
    let md = read(&run.out.join("bao-cao.md"));
    assert!(
        md.contains("  - _Chưa đầy đủ: Tổng đàn gia súc chính, Tổng đàn gia súc chính so với kế hoạch, Tốc độ tăng đàn gia súc, Tốc độ tăng đàn so với kế hoạch năm chưa gồm 1 ô không đọc được (Dê / Số con hiện có, Tên bản: Hua Pầu – Biểu chăn nuôi 6 tháng đầu năm 2026.xls, Biểu CN 6 tháng!L12)."),
        "{md}"
    );
    // BHYT: every rejected row could have been a card.
    assert!(
        md.contains(
            "_Chưa đầy đủ: Số người được cập nhật dữ liệu cấp thẻ BHYT chưa gồm 168 dòng bị loại;"
        ),
        "{md}"
    );
    // indicators.csv: the counts per figure, by reason.
    let csv = read(&run.out.join("indicators.csv"));
    let line = |id: &str| {
        csv.lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap_or_else(|| panic!("{id}\n{csv}"))
            // the last two fields are the commune and the period
            .rsplitn(7, ',')
            .skip(2)
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(",")
    };
    // rows_rejected, rows_duplicate, rows_out_of_period, cells_excluded
    assert_eq!(line("livestock.main_herd"), "0,0,0,1");
    assert_eq!(line("livestock.main_herd_start"), "0,0,0,0");
    assert_eq!(line("livestock.main_herd_plan"), "0,0,0,0");
    // 272 BHYT rows rejected in all: 104 duplicates of an accepted card,
    // 168 unreadable; no BHYT row lies after the period.
    assert_eq!(line("bhyt.cards_total"), "168,104,0,0");
    // Breakdown rows: only Hua Pầu's lacks its goat cell.
    let by_village = read(&run.out.join("indicators_by_village.csv"));
    for l in by_village
        .lines()
        .filter(|l| l.starts_with("livestock.main_herd,"))
    {
        let lacks = l.ends_with(",0,0,0,1,03637,2026-01-01_2026-06-19");
        assert_eq!(lacks, l.contains(",Hua Pầu,"), "{l}");
    }
}

#[test]
fn reconcile_lists_incomplete_figures_and_disagreeing_totals() {
    let run = run_fixtures();
    let out = tempdir();
    for f in ["indicators.csv", "run.json", "private/rejects.parquet"] {
        let to = out.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(run.out.join(f), &to).unwrap();
    }
    let draft = out.path().join("draft.txt");
    std::fs::write(
        &draft,
        "Tổng đàn gia súc chính: 19.670 con/21.860 con, đạt 89,98% kế hoạch.\n",
    )
    .unwrap();
    let (_, json, stdout) = reconcile(&draft, out.path());
    let incomplete: Vec<&str> = json["incomplete"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["indicator"].as_str().unwrap())
        .collect();
    assert!(
        incomplete.contains(&"livestock.main_herd"),
        "{incomplete:?}"
    );
    assert!(
        !incomplete.contains(&"livestock.main_herd_start"),
        "{incomplete:?}"
    );
    let totals: Vec<String> = json["total_mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            format!(
                "{}!{} {}",
                t["sheet"].as_str().unwrap(),
                t["cell"].as_str().unwrap(),
                t["value"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        totals,
        [
            "Xử phạt VPHC!H13 2500000",
            "Biểu CN 6 tháng!L22 2040",
            "Trồng rừng!D49 55",
            "Thu chi NS!D20 38241.547"
        ],
        "{stdout}"
    );
    assert!(stdout.contains("lệch     Biểu CN 6 tháng!L22"), "{stdout}");
}

#[test]
fn summary_workbook_reads_back() {
    let run = run_fixtures();
    let path = run.out.join("tong-hop.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let names = wb.sheet_names();
    assert_eq!(
        names,
        [
            "Chỉ tiêu",
            "Theo độ tuổi",
            "Theo mục",
            "Theo tháng",
            "Theo cơ quan chủ trì",
            "Theo kết quả huấn luyện",
            "Theo điểm du lịch",
            "Theo loài",
            "Theo bản",
            "Nguồn"
        ]
    );
    let bands = wb.worksheet_range("Theo độ tuổi").unwrap();
    let band_row = (1..bands.height() as u32)
        .find(|r| cell(&bands, *r, 0) == Data::String("Từ 6 đến dưới 14 tuổi".into()))
        .unwrap();
    assert_eq!(cell(&bands, band_row, 1), Data::Float(2581.0));
    assert_eq!(cell(&bands, band_row, 2), Data::Float(1529.0));
    let ws = wb.worksheet_range("Chỉ tiêu").unwrap();
    // Title block: commune, period, when it was made; the table under it.
    assert_eq!(
        cell(&ws, 0, 0),
        Data::String("TỔNG HỢP SỐ LIỆU XÃ MƯỜNG KIM – CÁC CHỈ TIÊU".into())
    );
    match cell(&ws, 1, 0) {
        Data::String(s) => assert!(
            s.starts_with("Kỳ báo cáo: từ 01/01/2026 đến 19/06/2026 · Lập lúc "),
            "{s}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(cell(&ws, 3, 1), Data::String("Chỉ tiêu".into()));
    // Departments by their Vietnamese names.
    let first = (4..ws.height() as u32)
        .find(|r| cell(&ws, *r, 0) == Data::String("bhyt.cards_total".into()))
        .unwrap();
    assert_eq!(
        cell(&ws, first, 6),
        Data::String("Danh sách cấp thẻ BHYT".into())
    );
    let row = (1..ws.height() as u32)
        .find(|r| cell(&ws, *r, 0) == Data::String("livestock.main_herd".into()))
        .unwrap();
    assert_eq!(cell(&ws, row, 2), Data::Float(19670.0));
    // The figure lacks Hua Pầu's goats (one unreadable cell): said in the
    // last column; the start-of-year figure lacks nothing.
    match cell(&ws, row, 7) {
        Data::String(s) => assert!(
            s.starts_with("chưa gồm 1 ô không đọc được (Dê / Số con hiện có, Tên bản: Hua Pầu – ")
                && s.ends_with("!L12)"),
            "{s}"
        ),
        other => panic!("lacks: {other:?}"),
    }
    let start = (1..ws.height() as u32)
        .find(|r| cell(&ws, *r, 0) == Data::String("livestock.main_herd_start".into()))
        .unwrap();
    assert_eq!(cell(&ws, start, 7), Data::Empty);
    assert_eq!(cell(&ws, row, 3), Data::String("con".into()));
    assert_eq!(cell(&ws, row, 4), Data::Float(21860.0));
    match cell(&ws, row, 5) {
        Data::Float(p) => assert!((p - 89.98170173833486).abs() < 1e-9),
        other => panic!("% of plan: {other:?}"),
    }
    let nguon = wb.worksheet_range("Nguồn").unwrap();
    assert_eq!(
        nguon.height(),
        21,
        "the title block, a header and one row per source workbook"
    );
    let sha = cell(&nguon, 4, 2);
    assert!(matches!(&sha, Data::String(s) if s.len() == 64), "{sha:?}");
    let village = wb.worksheet_range("Theo bản").unwrap();
    assert_eq!(cell(&village, 3, 0), Data::String("Bản".into()));
    // Species by the names the pipeline file gives them, not their codes.
    let species = wb.worksheet_range("Theo loài").unwrap();
    let names: Vec<Data> = (4..species.height() as u32 - 1)
        .map(|r| cell(&species, r, 0))
        .collect();
    for want in ["Trâu", "Bò", "Gia cầm"] {
        assert!(names.contains(&Data::String(want.into())), "{names:?}");
    }
    for code in ["trau", "gia_cam", "bo"] {
        assert!(!names.contains(&Data::String(code.into())), "{names:?}");
    }
    // Every breakdown has a total row: the villages add up to the report's
    // figures (20.213 / 2.581 / 1.529 / 10.879 / 10.260 / 19.670); a rate is
    // not summed.
    let last = village.height() as u32 - 1;
    assert_eq!(cell(&village, last, 0), Data::String("Tổng cộng".into()));
    let totals: Vec<Data> = (1..=7).map(|c| cell(&village, last, c)).collect();
    assert_eq!(
        totals,
        vec![
            Data::Float(20213.0),
            Data::Float(2581.0),
            Data::Float(1529.0),
            Data::Float(10879.0),
            Data::Float(10260.0),
            Data::Float(19670.0),
            Data::Empty
        ]
    );
    // Number formats with grouping, frozen header, print setup: read the parts.
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut styles = String::new();
    zip.by_name("xl/styles.xml")
        .unwrap()
        .read_to_string(&mut styles)
        .unwrap();
    assert!(styles.contains("formatCode=\"#,##0\""), "{styles}");
    assert!(styles.contains("formatCode=\"#,##0.00\""), "{styles}");
    let mut sheet1 = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet1)
        .unwrap();
    assert!(sheet1.contains("state=\"frozen\""), "frozen header");
    assert!(sheet1.contains("orientation=\"landscape\""), "print setup");
    assert!(
        styles.contains("<left style=\"thin\">"),
        "borders: {styles}"
    );
    assert!(
        sheet1.contains("<mergeCell ref=\"A1:H1\"/>"),
        "title merged"
    );
}

/// The cells with a note in each feedback workbook's sheet copies are
/// exactly the cells its findings name (read from the xlsx parts).
fn noted_cells(path: &Path) -> Vec<String> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .filter_map(|i| Some(zip.by_index(i).ok()?.name().ok()?.to_string()))
        .filter(|n| n.starts_with("xl/comments"))
        .collect();
    let re = regex::Regex::new(r#"<comment ref="([A-Z]+[0-9]+)""#).unwrap();
    let mut refs = Vec::new();
    for n in names {
        let mut xml = String::new();
        zip.by_name(&n).unwrap().read_to_string(&mut xml).unwrap();
        refs.extend(re.captures_iter(&xml).map(|c| c[1].to_string()));
    }
    refs.sort();
    refs
}

#[test]
fn feedback_copies_the_sheet_and_notes_exactly_the_bad_cells() {
    let run = run_fixtures();
    let rejects = read(&run.out.join("private/rejects.csv"));
    for (file, sheet, source) in [
        (
            "Biểu chăn nuôi 6 tháng đầu năm 2026.xlsx",
            "Biểu CN 6 tháng",
            "livestock/Biểu chăn nuôi 6 tháng đầu năm 2026.xls",
        ),
        (
            "Danh sách BHYT các bản.xlsx",
            "Nà Ngò",
            "bhyt/Danh sách BHYT các bản.xlsx",
        ),
        (
            "Bổ sung tháng 6.xlsx",
            "Bổ sung T6",
            "bhyt/bổ sung/Bổ sung tháng 6.ods",
        ),
    ] {
        let fb = run.out.join("private/phan-hoi").join(file);
        // every distinct (sheet, cell) of the file's findings
        let mut want: Vec<String> = rejects
            .lines()
            .skip(1)
            .map(split_csv)
            .filter(|f| f[2] == source && !f[5].is_empty())
            .map(|f| (f[3].clone(), f[5].clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|(_, cell)| cell)
            .collect();
        want.sort();
        assert!(!want.is_empty(), "{source}");
        assert_eq!(noted_cells(&fb), want, "{file}");
        let mut wb: Xlsx<_> = open_workbook(&fb).unwrap();
        let copy = wb.worksheet_range(sheet).unwrap();
        let src: std::path::PathBuf = crate::common::repo().join("fixtures/inbox").join(source);
        if source.ends_with(".xls") {
            // the wide biểu: Hua Pầu's row with its "nhiều", the merged title
            assert_eq!(cell(&copy, 11, 1), Data::String("Hua Pầu".into()));
            assert_eq!(cell(&copy, 11, 11), Data::String("nhiều".into()));
            assert_eq!(cell(&copy, 21, 0), Data::String("Tổng cộng".into()));
        } else {
            // An .xlsx or .ods source: the copy (always .xlsx) holds its values.
            let mut orig = calamine::open_workbook_auto(&src).unwrap();
            let o = orig.worksheet_range(sheet).unwrap();
            assert_eq!(copy.height(), o.height(), "{sheet}");
            for (r, c, v) in o.used_cells().take(500) {
                let got = cell(&copy, r as u32, c as u32);
                assert_eq!(got.to_string(), v.to_string(), "{sheet} r{r} c{c}");
            }
        }
    }
    // merged cells survive: the wide biểu's species headers
    let mut zip = zip::ZipArchive::new(
        std::fs::File::open(
            run.out
                .join("private/phan-hoi/Biểu chăn nuôi 6 tháng đầu năm 2026.xlsx"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut sheet2 = String::new();
    zip.by_name("xl/worksheets/sheet2.xml")
        .unwrap()
        .read_to_string(&mut sheet2)
        .unwrap();
    assert!(
        sheet2.contains("<mergeCell ref=\"C7:D7\"/>"),
        "the Trâu group cell"
    );
    // The source's own column widths (an xlsx sets them; the .xls above
    // gets widths from its content).
    let widths = |xml: &str| -> Vec<(String, f64)> {
        regex::Regex::new(r#"<col min="(\d+)" max="(\d+)" width="([0-9.]+)""#)
            .unwrap()
            .captures_iter(xml)
            .map(|c| (format!("{}-{}", &c[1], &c[2]), c[3].parse().unwrap()))
            .collect()
    };
    let part = |path: &std::path::Path, name: &str| {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let source = widths(&part(
        &crate::common::repo().join("fixtures/inbox/forest/Tiến độ trồng rừng năm 2026.xlsx"),
        "xl/worksheets/sheet1.xml",
    ));
    let copy = widths(&part(
        &run.out
            .join("private/phan-hoi/Tiến độ trồng rừng năm 2026.xlsx"),
        "xl/worksheets/sheet2.xml",
    ));
    assert!(source.len() >= 5, "{source:?}");
    for (cols, w) in &source {
        let got = copy.iter().find(|(c, _)| c == cols).map(|(_, w)| *w);
        assert!(
            got.is_some_and(|g| (g - w).abs() < 0.01),
            "columns {cols}: source {w}, copy {got:?}"
        );
    }
}

#[test]
fn feedback_workbooks_name_the_cell_and_never_write_formulas() {
    // The fixtures' feedback first.
    let run = run_fixtures();
    let fb = run.out.join("private/phan-hoi/Danh sách BHYT các bản.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&fb).unwrap();
    // First what it is and what to do, then each source sheet with problems
    // in its own layout (the workbook's order), then the list.
    assert_eq!(
        wb.sheet_names(),
        [
            "Hướng dẫn",
            "Pá Khoang",
            "Nà Ngò",
            "Hua Pầu",
            "Phiêng Cảm",
            "Nà Khương",
            "Mường Kim",
            "Phản hồi"
        ]
    );
    let guide = wb.worksheet_range("Hướng dẫn").unwrap();
    assert_eq!(
        cell(&guide, 0, 0),
        Data::String("PHẢN HỒI SỐ LIỆU – tệp bhyt/Danh sách BHYT các bản.xlsx".into())
    );
    match cell(&guide, 3, 0) {
        Data::String(s) => assert!(
            s.starts_with("Tệp có ") && s.contains(" dòng bị loại"),
            "{s}"
        ),
        other => panic!("{other:?}"),
    }
    let ws = wb.worksheet_range("Phản hồi").unwrap();
    assert_eq!(cell(&ws, 0, 6), Data::String("Lý do".into()));
    // Vietnamese headers, the first one too.
    assert_eq!(cell(&ws, 0, 0), Data::String("Trang tính".into()));
    let reasons: Vec<String> = (1..ws.height() as u32)
        .filter_map(|r| match cell(&ws, r, 6) {
            Data::String(s) => Some(s),
            _ => None,
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("Số định danh cá nhân phải có 12 chữ số")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("Trùng Số định danh cá nhân với dòng")),
        "{reasons:?}"
    );
    // Values that look like formulas stay text.
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("bhyt")).unwrap();
    let mut x = rust_xlsxwriter::Workbook::new();
    let s = x.add_worksheet().set_name("Nà Ngò").unwrap();
    for (c, h) in [
        "Họ và tên",
        "Ngày sinh",
        "Số định danh cá nhân",
        "Mã thẻ BHYT",
        "Bản",
    ]
    .iter()
    .enumerate()
    {
        s.write_string(0, c as u16, *h).unwrap();
    }
    for (r, id) in ["=1+2", "+84912", "-1", "@SUM(A1)"].iter().enumerate() {
        let r = r as u32 + 1;
        s.write_string(r, 0, "Lò Văn A").unwrap();
        s.write_string(r, 1, "01/01/1990").unwrap();
        s.write_string(r, 2, *id).unwrap();
        s.write_string(r, 3, "DT2120000000001").unwrap();
        s.write_string(r, 4, "Nà Ngò").unwrap();
    }
    x.save(inbox.join("bhyt/công thức.xlsx")).unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[commune]\ncode = \"03637\"\nname = \"Mường Kim\"\nprovince = \"Lai Châu\"\n[run]\ninbox = \"{}\"\nout = \"out\"\n[period]\nfrom = 2026-01-01\nto = 2026-06-19\n",
            inbox.display()
        ),
    )
    .unwrap();
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "bhyt"]);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    let fb = dir.path().join("out/private/phan-hoi/công thức.xlsx");
    // No formula on any sheet (the list is the second one).
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&fb).unwrap()).unwrap();
    let names: Vec<String> = (0..zip.len())
        .filter_map(|i| Some(zip.by_index(i).ok()?.name().ok()?.to_string()))
        .filter(|n| n.starts_with("xl/worksheets/sheet"))
        .collect();
    // the guide, the copy of "Nà Ngò" (its =1+2 written as text), the list
    assert_eq!(names.len(), 3, "{names:?}");
    for name in names {
        let mut sheet = String::new();
        zip.by_name(&name)
            .unwrap()
            .read_to_string(&mut sheet)
            .unwrap();
        assert!(
            !sheet.contains("<f>"),
            "no formula cells in feedback: {sheet}"
        );
    }
    drop(zip);
    let mut wb: Xlsx<_> = open_workbook(&fb).unwrap();
    let ws = wb.worksheet_range("Phản hồi").unwrap();
    let values: Vec<Data> = (1..ws.height() as u32).map(|r| cell(&ws, r, 4)).collect();
    for v in ["=1+2", "+84912", "-1", "@SUM(A1)"] {
        assert!(
            values.contains(&Data::String(v.into())),
            "{v} should be text: {values:?}"
        );
    }
}

fn reconcile(draft: &Path, out: &Path) -> (i32, serde_json::Value, String) {
    let r = tonghop(&[
        "reconcile",
        "--report",
        draft.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let json = serde_json::from_str(&read(&out.join("reconcile.json"))).unwrap();
    (r.exit_code, json, r.stdout)
}

#[test]
fn reconcile_flags_the_seed_reports_two_errors_and_nothing_else() {
    let Some(shared) =
        crate::common::shared_or_skip("report::reconcile_flags_the_seed_reports_two_errors")
    else {
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
    let (code, json, stdout) = reconcile(&seed, out.path());
    assert_eq!(code, 1, "{stdout}");
    let failed: Vec<String> = json["arithmetic"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ok"] == false)
        .map(|a| {
            format!(
                "{} {}",
                a["excerpt"].as_str().unwrap(),
                a["stated"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(
        failed[0].contains("55/140") && failed[0].contains("35,7%"),
        "{failed:?}"
    );
    assert!(
        failed[1].contains("5.844,299/9.867") && failed[1].contains("56%"),
        "{failed:?}"
    );
    let ok: Vec<&str> = json["arithmetic"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["ok"] == true)
        .map(|a| a["excerpt"].as_str().unwrap())
        .collect();
    for claim in [
        "23.618/50.110",
        "17,019/32,513",
        "35/68",
        "3.077/3.876",
        "1.778/5712",
        "120.287,595/236.472,396",
        "99.529,104/236.472,396",
        "118.136/236.472,396",
        "850 nhiệm vụ",
        "788 nhiệm vụ",
        "111 hồ sơ",
    ] {
        assert!(
            ok.iter().any(|e| e.contains(claim)),
            "{claim} should be checked and correct: {ok:?}"
        );
    }
    // The livestock and land sentences are found and their figures match.
    let matched: Vec<&str> = json["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "match")
        .map(|t| t["pipeline"].as_str().unwrap())
        .collect();
    assert!(
        matched.contains(&"livestock") && matched.contains(&"land"),
        "{matched:?}"
    );
    // The sentences that quote the two wrong ratios disagree (forest twice,
    // revenue once); no other.
    let mismatched: Vec<&str> = json["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "mismatch")
        .map(|t| t["pipeline"].as_str().unwrap())
        .collect();
    assert_eq!(mismatched, ["forest", "forest", "budget"], "{stdout}");
    // Every template is found, across the footnotes and the page break
    // that cut the BHYT and land-fines sentences, and every figure of the
    // four departments is compared (and matches).
    let templates = json["templates"].as_array().unwrap();
    let missing: Vec<&str> = templates
        .iter()
        .filter(|t| t["status"] == "not_found")
        .map(|t| t["template"].as_str().unwrap())
        .collect();
    assert!(missing.is_empty(), "{missing:?}\n{stdout}");
    let figures: Vec<(String, String)> = templates
        .iter()
        .filter(|t| {
            ["bhyt", "vneid", "land", "livestock"].contains(&t["pipeline"].as_str().unwrap())
        })
        .flat_map(|t| t["figures"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["indicator"].as_str().unwrap().to_string(),
                f["quoted"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(figures.len(), 22, "{figures:?}");
    for (id, quoted) in [
        ("bhyt.cards_total", "20.213"),
        ("bhyt.ethnic_minority", "12.253"),
        ("bhyt.poor_near_poor", "2.200"),
        ("bhyt.social_protection", "1.899"),
        ("land.fines_count", "02"),
        ("land.fines_total_vnd", "10.000.000"),
    ] {
        assert!(
            figures.contains(&(id.to_string(), quoted.to_string())),
            "{id} {quoted}: {figures:?}"
        );
    }
}

#[test]
fn reconcile_on_tonghops_own_text_matches_and_a_changed_figure_is_caught() {
    let run = run_fixtures();
    let out = tempdir();
    std::fs::copy(
        run.out.join("indicators.csv"),
        out.path().join("indicators.csv"),
    )
    .unwrap();
    let own = run.out.join("bao-cao.md");
    let (code, json, stdout) = reconcile(&own, out.path());
    assert_eq!(code, 0, "{stdout}");
    let templates = json["templates"].as_array().unwrap();
    let paragraphs: usize = tonghop::pipeline::builtin()
        .unwrap()
        .iter()
        .map(|p| p.paragraphs.len())
        .sum();
    assert_eq!(templates.len(), paragraphs);
    assert!(templates.iter().all(|t| t["status"] == "match"), "{stdout}");
    let changed = out.path().join("du-thao.md");
    std::fs::write(&changed, read(&own).replace("19.670 con/", "19.760 con/")).unwrap();
    let (code, json, stdout) = reconcile(&changed, out.path());
    assert_eq!(code, 1, "{stdout}");
    let wrong: Vec<&serde_json::Value> = json["templates"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["figures"].as_array().unwrap())
        .filter(|f| f["ok"] == false)
        .collect();
    assert_eq!(wrong.len(), 1);
    assert_eq!(wrong[0]["indicator"], "livestock.main_herd");
    assert_eq!(wrong[0]["quoted"], "19.760");
    assert_eq!(wrong[0]["computed"], "19.670");
    assert!(
        stdout.contains("SAI") && stdout.contains("livestock.main_herd"),
        "{stdout}"
    );
}

/// A reject reason tells the department what to write, in the pipeline
/// file's own spellings ("Nam, Nữ", "Đã kích hoạt"), never internal codes
/// ("nam, nu", "activated, not_activated").
#[test]
fn reject_reasons_quote_the_spellings_not_the_codes() {
    let run = run_fixtures();
    let rejects = read(&run.out.join("private/rejects.csv"));
    // Excel reads it as UTF-8 only with the byte-order mark.
    assert!(
        rejects.starts_with("\u{feff}pipeline,table,file,"),
        "{}",
        &rejects[..40]
    );
    assert!(!read(&run.out.join("indicators.csv")).starts_with('\u{feff}'));
    let reasons: Vec<&str> = rejects
        .lines()
        .filter(|l| l.contains(",unknown_enum,"))
        .collect();
    assert!(reasons.len() >= 3, "{}", reasons.len());
    let code = regex::Regex::new(r"\b[a-z]+_[a-z_]+\b").unwrap();
    for r in &reasons {
        let allowed = r.split("(hợp lệ: ").nth(1).unwrap_or_else(|| panic!("{r}"));
        assert!(!code.is_match(allowed), "{r}");
        assert!(!allowed.starts_with("nam, nu"), "{r}");
    }
    assert!(
        reasons.iter().any(|r| r.contains("(hợp lệ: Nam, Nữ)")),
        "{reasons:?}"
    );
}

/// The internal codes of the pipeline files: pipeline, table, column and
/// dimension names, enum values, derived groups.
fn internal_codes() -> std::collections::BTreeSet<String> {
    use tonghop::pipeline::ColumnKind;
    let mut codes = std::collections::BTreeSet::new();
    for p in tonghop::pipeline::builtin().unwrap() {
        codes.insert(p.name.clone());
        for t in &p.tables {
            codes.insert(t.name.clone());
            for c in &t.columns {
                codes.insert(c.name.clone());
                match &c.kind {
                    ColumnKind::Enum { labels, .. } => codes.extend(labels.keys().cloned()),
                    ColumnKind::Derived { map, default, .. } => {
                        codes.extend(map.values().cloned());
                        codes.extend(default.clone());
                    }
                    _ => {}
                }
            }
        }
        for b in &p.breakdowns {
            codes.insert(b.by.clone());
        }
    }
    // "cho" (the dog's code) is also the Vietnamese word "for".
    codes.remove("cho");
    codes
}

fn codes_in<'a>(text: &'a str, codes: &std::collections::BTreeSet<String>) -> Vec<&'a str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| codes.contains(*w))
        .collect()
}

/// Statisticians read Vietnamese words, not the pipeline files' codes: in
/// the reasons of rejects.csv, in every cell of tong-hop.xlsx (but the
/// indicator codes and the files' paths, which name them), in bao-cao.md and
/// in what bao-cao.html shows.
#[test]
fn no_internal_code_where_statisticians_read() {
    let run = run_fixtures();
    let codes = internal_codes();
    for must in [
        "trau",
        "gia_cam",
        "not_activated",
        "nam",
        "bhyt",
        "village",
        "main_herd",
    ] {
        assert!(codes.contains(must), "{must}: {codes:?}");
    }
    let md = read(&run.out.join("bao-cao.md"));
    assert_eq!(codes_in(&md, &codes), Vec::<&str>::new(), "bao-cao.md");
    let rejects = read(&run.out.join("private/rejects.csv"));
    let header: Vec<&str> = rejects
        .lines()
        .next()
        .unwrap()
        .trim_start_matches('\u{feff}')
        .split(',')
        .collect();
    let at = header.iter().position(|h| *h == "reason").unwrap();
    let mut rdr = rejects
        .lines()
        .skip(1)
        .map(|l| l.to_string())
        .collect::<Vec<_>>();
    rdr.sort();
    let mut bad = Vec::new();
    for line in &rdr {
        // the reason is the 12th field; it may be quoted and hold commas
        let fields = split_csv(line);
        let found = codes_in(&fields[at], &codes);
        if !found.is_empty() {
            bad.push(format!("{found:?}: {}", fields[at]));
        }
    }
    assert!(
        bad.is_empty(),
        "rejects.csv reasons: {}",
        bad[..bad.len().min(10)].join("\n")
    );
    // bao-cao.html: every text a person reads (not the source paths,
    // which name the departments' folders).
    let html = scraper::Html::parse_document(&read(&run.out.join("bao-cao.html")));
    let mut shown = String::new();
    for node in html.root_element().descendants() {
        let Some(t) = node.value().as_text() else {
            continue;
        };
        let hidden = node.ancestors().any(|a| {
            a.value().as_element().is_some_and(|e| {
                e.name() == "style" || (e.name() == "td" && e.classes().any(|c| c == "path"))
            })
        });
        if !hidden {
            shown.push_str(t);
            shown.push(' ');
        }
    }
    assert!(shown.contains("Nguồn số liệu"), "{shown}");
    assert_eq!(codes_in(&shown, &codes), Vec::<&str>::new(), "bao-cao.html");
    let mut wb: Xlsx<_> = open_workbook(run.out.join("tong-hop.xlsx")).unwrap();
    for name in wb.sheet_names() {
        let ws = wb.worksheet_range(&name).unwrap();
        for (r, c, v) in ws.used_cells() {
            let Data::String(s) = v else { continue };
            // indicator codes (Chỉ tiêu!A) and source paths (Nguồn!A) name them
            if c == 0 && (name == "Chỉ tiêu" || name == "Nguồn") && r > 3 {
                continue;
            }
            assert_eq!(
                codes_in(s, &codes),
                Vec::<&str>::new(),
                "tong-hop.xlsx {name}!r{r}c{c}: {s}"
            );
        }
    }
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}
