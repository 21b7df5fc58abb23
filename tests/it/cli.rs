//! The command line as an operator meets it: help, exit codes, config
//! errors, and a broken workbook next to good ones.

use crate::common::{read, repo, tempdir, tonghop};
use rust_xlsxwriter::Workbook;
use std::path::Path;

fn write_config(dir: &Path, inbox: &Path, extra: &str) -> std::path::PathBuf {
    let p = dir.join("tonghop.toml");
    std::fs::write(
        &p,
        format!(
            "[commune]\ncode = \"03637\"\nname = \"Mường Kim\"\nprovince = \"Lai Châu\"\n[run]\ninbox = \"{}\"\nout = \"out\"\n{extra}\n[period]\nfrom = 2026-01-01\nto = 2026-06-19\n",
            inbox.display()
        ),
    )
    .unwrap();
    p
}

/// A small BHYT workbook: one good sheet, one lacking the card-code column.
fn small_workbook(path: &Path) {
    let mut wb = Workbook::new();
    let good = wb.add_worksheet().set_name("Nà Ngò").unwrap();
    let header = [
        "Họ và tên",
        "Ngày sinh",
        "Số định danh cá nhân",
        "Mã thẻ BHYT",
        "Bản",
    ];
    for (c, h) in header.iter().enumerate() {
        good.write_string(0, c as u16, *h).unwrap();
    }
    let rows = [
        [
            "Lò Văn Một",
            "01/02/1990",
            "012090000001",
            "DT2120000000001",
            "Nà Ngò",
        ],
        [
            "Lò Thị Hai",
            "03/04/1991",
            "012191000002",
            "HN2120000000002",
            "Nà Ngò",
        ],
        [
            "Lò Văn Ba",
            "05/06/1992",
            "01209200003",
            "BT2120000000003",
            "Nà Ngò",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            good.write_string(r as u32 + 1, c as u16, *v).unwrap();
        }
    }
    let bad = wb.add_worksheet().set_name("Thiếu cột").unwrap();
    for (c, h) in ["Họ và tên", "Ngày sinh", "Số định danh cá nhân", "Bản"]
        .iter()
        .enumerate()
    {
        bad.write_string(0, c as u16, *h).unwrap();
    }
    bad.write_string(1, 0, "Lò Văn Bốn").unwrap();
    wb.save(path).unwrap();
}

#[test]
fn help_is_complete() {
    let r = tonghop(&["--help"]);
    assert_eq!(r.exit_code, 0);
    assert!(
        r.stdout.contains("run") && r.stdout.contains("check"),
        "{}",
        r.stdout
    );
    let r = tonghop(&["run", "--help"]);
    assert_eq!(r.exit_code, 0);
    for flag in ["--config", "--inbox", "--out", "--only", "--log-format"] {
        assert!(
            r.stdout.contains(flag),
            "run --help lacks {flag}:\n{}",
            r.stdout
        );
    }
}

#[test]
fn usage_and_config_errors_exit_2_and_run_nothing() {
    assert_eq!(tonghop(&["run", "--bogus"]).exit_code, 2);
    let dir = tempdir();
    let cfg = write_config(dir.path(), dir.path(), "colour = \"blue\"");
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2);
    assert!(r.stderr.contains("colour"), "{}", r.stderr);
    assert!(
        !dir.path().join("out").exists(),
        "nothing may be written on a config error"
    );
    let cfg = write_config(dir.path(), dir.path(), "");
    let r = tonghop(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "weather",
    ]);
    assert_eq!(r.exit_code, 2);
    assert!(
        r.stderr.contains("--only weather: no such pipeline"),
        "{}",
        r.stderr
    );
    let r = tonghop(&["run", "--config", "does/not/exist.toml"]);
    assert_eq!(r.exit_code, 2);
    assert!(r.stderr.contains("does/not/exist.toml"), "{}", r.stderr);
}

#[test]
fn check_validates_config_and_pipelines() {
    let r = tonghop(&["check"]);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("pipeline bhyt"), "{}", r.stdout);
}

#[test]
fn a_broken_workbook_fails_alone_and_a_missing_column_is_named() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    let bhyt = inbox.join("bhyt").join("tháng 6");
    std::fs::create_dir_all(&bhyt).unwrap();
    small_workbook(&bhyt.join("Danh sách Nà Ngò.XLSX"));
    std::fs::write(bhyt.join("hỏng.xlsx"), b"PK\x03\x04 this is not a zip").unwrap();
    std::fs::write(bhyt.join("ghi chú.docx"), b"notes").unwrap();
    let cfg = write_config(dir.path(), &inbox, "");
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "bhyt"]);
    assert_eq!(
        r.exit_code, 1,
        "stdout:\n{}\nstderr:\n{}",
        r.stdout, r.stderr
    );
    let out = dir.path().join("out");
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    let files = report["files"].as_array().unwrap();
    let broken = files
        .iter()
        .find(|f| f["path"] == "bhyt/tháng 6/hỏng.xlsx")
        .unwrap();
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["errors"][0]
            .as_str()
            .unwrap()
            .contains("corrupt workbook"),
        "{}",
        broken["errors"]
    );
    let good = files
        .iter()
        .find(|f| f["path"] == "bhyt/tháng 6/Danh sách Nà Ngò.XLSX")
        .unwrap();
    // The good sheet was still read: 2 accepted, 1 rejected (11-digit text ID).
    let nn = good["sheets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Nà Ngò")
        .unwrap();
    assert_eq!(
        (
            nn["accepted"].as_u64(),
            nn["rejected"].as_u64(),
            nn["skipped"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    // The sheet lacking a required column is a clear error naming it and the aliases tried.
    let msg = good["errors"][0].as_str().unwrap();
    assert!(
        msg.contains("Thiếu cột") && msg.contains("'Mã thẻ BHYT'") && msg.contains("Số thẻ BHYT"),
        "{msg}"
    );
    assert!(read(&out.join("indicators.csv")).contains("bhyt.cards_total,2,"));
    let ignored = report["ignored_files"].as_array().unwrap();
    assert!(
        ignored
            .iter()
            .any(|i| i["path"] == "bhyt/tháng 6/ghi chú.docx")
    );
    assert!(
        r.stdout.contains("FAILED bhyt/tháng 6/hỏng.xlsx"),
        "{}",
        r.stdout
    );
    // The broken workbook gets feedback too: one sentence saying why.
    {
        use calamine::{Data, Reader, Xlsx, open_workbook};
        let mut fb: Xlsx<_> = open_workbook(out.join("private/phan-hoi/hỏng.xlsx")).unwrap();
        assert_eq!(fb.sheet_names()[0], "Hướng dẫn");
        let guide = fb.worksheet_range("Hướng dẫn").unwrap();
        let text: Vec<String> = guide
            .rows()
            .flat_map(|r| r.iter())
            .filter_map(|c| match c {
                Data::String(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        assert!(
            text.iter().any(|t| t.starts_with(
                "Tệp này không đọc được, nên không có số liệu nào của tệp được tính: tệp bị hỏng"
            )),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("Kỳ báo cáo: từ 01/01/2026 đến 19/06/2026"))
        );
    }
    let rejects = read(&out.join("private/rejects.csv"));
    assert!(
        rejects.contains("Danh sách Nà Ngò.XLSX,Nà Ngò,4,C4,personal_id"),
        "{rejects}"
    );
    assert!(
        rejects.contains("Số định danh cá nhân phải có 12 chữ số (ô này có 11 chữ số)"),
        "{rejects}"
    );
}

#[test]
fn repo_config_points_at_the_fixtures() {
    assert!(repo().join("config/tonghop.toml").exists());
    assert!(repo().join("fixtures/inbox/bhyt").is_dir());
}

#[test]
fn a_missing_target_is_a_config_error_only_when_its_pipeline_runs() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    // A department the commune keeps a folder for runs (its workbooks may
    // come later); one with no folder computes nothing and needs nothing
    // (tourism's and the budget's plans are not asked for here).
    std::fs::create_dir_all(inbox.join("livestock")).unwrap();
    let cfg = write_config(dir.path(), &inbox, "");
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2, "{}", r.stderr);
    assert!(!r.stderr.contains("tourism"), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "[targets] \"livestock.main_herd\" is missing; pipeline 'livestock' needs it"
        ),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("\"livestock.herd_growth_pct\""),
        "{}",
        r.stderr
    );
    assert!(!dir.path().join("out").exists());
    let r = tonghop(&[
        "run",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "bhyt",
        "--only",
        "vneid",
    ]);
    assert_eq!(r.exit_code, 0, "{}", r.stderr);
}

/// A commune's forms differ from the built-in aliases: `inspect` suggests
/// the nearest logical column and the config lines; with them (`[aliases]`,
/// header texts and enum spellings) the rows are read; a key that names no
/// column is a configuration error naming it.
#[test]
fn a_communes_own_spellings_map_through_aliases_and_inspect_suggests_them() {
    let dir = tempdir();
    let inbox = dir.path().join("inbox");
    let bhyt = inbox.join("bhyt");
    std::fs::create_dir_all(&bhyt).unwrap();
    let file = bhyt.join("Danh sách xã.xlsx");
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet().set_name("Bản Lướt").unwrap();
    let rows = [
        [
            "Họ và tên",
            "Ngày sinh",
            "Giới tính",
            "Số định danh cá nhân",
            "Mã thẻ BHYT",
            "Tên thôn bản",
        ],
        [
            "Lò Văn Một",
            "01/02/1990",
            "Trai",
            "012090000001",
            "DT2120000000001",
            "Lướt",
        ],
        [
            "Lò Thị Hai",
            "03/04/1991",
            "Nữ",
            "012191000002",
            "HN2120000000002",
            "Lướt",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32, c as u16, *v).unwrap();
        }
    }
    wb.save(&file).unwrap();
    let cfg = crate::common::config_for(dir.path(), &inbox, "");
    let r = tonghop(&[
        "inspect",
        "--config",
        cfg.to_str().unwrap(),
        "--pipeline",
        "bhyt",
        file.to_str().unwrap(),
    ]);
    assert!(
        r.stdout.contains("\"Tên thôn bản\" giống / is like \"")
            && r.stdout.contains("-> village (Bản)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  \"bhyt.persons.village\" = [\"Tên thôn bản\"]"),
        "{}",
        r.stdout
    );
    // With the lines the inspector printed, and the commune's word for male.
    let cfg = crate::common::config_for(
        dir.path(),
        &inbox,
        "[aliases]\n\"bhyt.persons.village\" = [\"Tên thôn bản\"]\n\"bhyt.persons.sex\" = { values = { nam = [\"Trai\"] } }\n",
    );
    let r = tonghop(&["run", "--config", cfg.to_str().unwrap(), "--only", "bhyt"]);
    assert_eq!(r.exit_code, 0, "{}\n{}", r.stdout, r.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("out/run.json"))).unwrap();
    assert_eq!(report["totals"]["accepted"], 2, "{}", report["files"]);
    assert_eq!(report["totals"]["rejected"], 0, "{}", report["files"]);
    // A key that names no column: `check` says which.
    let cfg = crate::common::config_for(
        dir.path(),
        &inbox,
        "[aliases]\n\"bhyt.persons.villages\" = [\"Tên thôn bản\"]\n",
    );
    let r = tonghop(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "[aliases] \"bhyt.persons.villages\": table bhyt.persons has no column 'villages'"
        ),
        "{}",
        r.stderr
    );
    let cfg = crate::common::config_for(
        dir.path(),
        &inbox,
        "[aliases]\n\"bhyt.persons.sex\" = { values = { male = [\"Trai\"] } }\n",
    );
    let r = tonghop(&["check", "--config", cfg.to_str().unwrap()]);
    assert_eq!(r.exit_code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("'male' is not a value of 'sex' (values: nam, nu)"),
        "{}",
        r.stderr
    );
}

/// The terminal: figures as the report writes them, one notice of the
/// generated key, paths as a person reads them, local time with its zone in
/// the history, no colour codes in a log file.
#[test]
fn the_summary_reads_like_the_report() {
    let run = crate::common::run_fixtures();
    assert_eq!(run.exit_code, 0, "{}", run.stderr);
    let out = &run.stdout;
    assert!(out.contains("59,24 %"), "{out}");
    assert!(!out.contains("59.2406"), "{out}");
    assert!(out.contains("20.213 người"), "{out}");
    assert!(
        out.contains("Dòng: 42.957 đã đọc = 41.610 nhận + 461 loại + 886 bỏ qua"),
        "{out}"
    );
    assert!(out.contains("[rows read=42957 accepted=41610"), "{out}");
    // Hua Pầu's goat cell, a tourism month and a pension month are each
    // excluded alone; their rows are accepted.
    assert!(out.contains("Ô: 3 ô không đọc được"), "{out}");
    // The livestock Tổng cộng, the land fines total, the budget's "Chi
    // thường xuyên" and the forest Tổng cộng disagree with what tonghop read.
    assert!(out.contains("Dòng tổng: đã đối chiếu 43, lệch 4"), "{out}");
    assert_eq!(
        run.stderr.matches("generated the HMAC key").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(tonghop::cli::display_path("config/../out"), "out");
    assert_eq!(
        tonghop::cli::display_path("/srv/x/./y/../out"),
        "/srv/x/out"
    );
    assert_eq!(tonghop::cli::display_path("../out"), "../out");
    // History: local time, with its zone.
    let h = tonghop(&["history", "--out", run.out.to_str().unwrap()]);
    assert!(h.stdout.contains("started (local time)"), "{}", h.stdout);
    let line = h.stdout.lines().nth(1).unwrap();
    let re = regex::Regex::new(r" \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d ").unwrap();
    assert!(re.is_match(line), "{line}");
    // --log-format text into a file: no escape codes.
    let dir = tempdir();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .current_dir(repo())
        .env("RUST_LOG", "info")
        .args([
            "run",
            "--only",
            "livestock",
            "--log-format",
            "text",
            "--out",
        ])
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("INFO"), "{err}");
    assert!(!err.contains('\u{1b}'), "{err}");
}

/// `[[checks]]` with a severity: a failed rule is a finding in rejects.csv
/// (its id, the violations, examples); an error fails the run (exit 1), a
/// warning does not.
#[test]
fn failed_checks_are_findings_and_errors_fail_the_run() {
    for (severity, code) in [("error", 1), ("warning", 0)] {
        let dir = tempdir();
        let pipelines = dir.path().join("pipelines");
        std::fs::create_dir_all(&pipelines).unwrap();
        let mut text =
            std::fs::read_to_string(crate::common::repo().join("pipelines/livestock.toml"))
                .unwrap();
        text.push_str(&format!(
            "\n[[checks]]\nid = \"livestock.no_village_over_3000\"\ndescription = \"Không bản nào quá 3.000 con gia súc chính\"\nseverity = \"{severity}\"\nsql = \"SELECT village, SUM(head_now) AS n FROM herd WHERE herd_group = 'main_herd' GROUP BY village HAVING SUM(head_now) > 3000\"\n"
        ));
        std::fs::write(pipelines.join("livestock.toml"), text).unwrap();
        let inbox = crate::common::repo().join("fixtures/inbox");
        let cfg = crate::common::config_for(
            dir.path(),
            &inbox,
            "[targets]\n\"livestock.main_herd\" = 21860\n\"livestock.herd_growth_pct\" = 16.5\n",
        );
        // point the run at the edited pipeline folder
        let mut c = std::fs::read_to_string(&cfg).unwrap();
        c = c.replace(
            "out = \"out\"\n",
            &format!("out = \"out\"\npipelines = \"{}\"\n", pipelines.display()),
        );
        std::fs::write(&cfg, c).unwrap();
        let r = tonghop(&["run", "--config", cfg.to_str().unwrap()]);
        assert_eq!(r.exit_code, code, "{severity}: {}\n{}", r.stdout, r.stderr);
        let rejects = read(&dir.path().join("out/private/rejects.csv"));
        let line = rejects
            .lines()
            .find(|l| l.contains("check_failed"))
            .unwrap_or_else(|| panic!("{rejects}"));
        // Pá Khoang: 3.176 head of main herd (the fixture's only village over 3.000)
        assert!(
            line.contains(&format!(
                ",livestock.no_village_over_3000,1,{severity},check_failed,"
            )),
            "{line}"
        );
        assert!(line.contains("Không bản nào quá 3.000 con gia súc chính: 1 dòng vi phạm (ví dụ: village=Pá Khoang, n=3176)"), "{line}");
    }
}
