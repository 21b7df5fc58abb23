//! Nightly operation: incremental runs (unchanged workbooks are not parsed
//! again, a new one is, a removed one's rows disappear), one run at a time
//! per output folder, and kill -9 at any moment leaves the previous outputs
//! readable and the next run clean.

use crate::common::{copy_dir, read, repo, setup, tempdir};
use std::path::Path;
use std::process::Command;

fn run(cfg: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let out = cfg.parent().unwrap().join("out");
    let report = std::fs::read_to_string(out.join("run.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (
        o.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn unchanged_files_are_not_parsed_again_new_ones_are_removed_ones_vanish() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let (code, first, err) = run(&cfg, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["totals"]["files_parsed"], 17);
    let indicators_first = read(&dir.path().join("out/indicators.csv"));
    // Nothing changed: nothing parsed, same figures.
    let (code, second, _) = run(&cfg, &[]);
    assert_eq!(code, 0);
    assert_eq!(second["totals"]["files_parsed"], 0);
    assert_eq!(second["totals"]["files_reused"], 17);
    assert_eq!(
        read(&dir.path().join("out/indicators.csv")),
        indicators_first
    );
    // A touched but unchanged file is still not parsed (content hash, not mtime).
    let xls = dir
        .path()
        .join("inbox/livestock/Biểu chăn nuôi 6 tháng đầu năm 2026.xls");
    let bytes = std::fs::read(&xls).unwrap();
    std::fs::write(&xls, &bytes).unwrap();
    assert_eq!(run(&cfg, &[]).1["totals"]["files_parsed"], 0);
    // A new workbook is parsed, alone.
    std::fs::copy(
        repo().join("fixtures/inbox-2025/livestock/Thống kê đàn vật nuôi cuối năm 2025.xlsx"),
        dir.path().join("inbox/livestock/thêm.xlsx"),
    )
    .unwrap();
    let (_, third, _) = run(&cfg, &[]);
    assert_eq!(third["totals"]["files_parsed"], 1);
    assert_eq!(third["totals"]["files_reused"], 17);
    let parsed: Vec<&str> = third["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reused"] == false)
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(parsed, ["livestock/thêm.xlsx"]);
    // Removing a workbook removes its rows.
    std::fs::remove_file(dir.path().join("inbox/livestock/thêm.xlsx")).unwrap();
    let (code, fourth, _) = run(&cfg, &[]);
    assert_eq!(code, 0);
    assert_eq!(fourth["totals"]["files_parsed"], 0);
    let ind = read(&dir.path().join("out/indicators.csv"));
    assert!(ind.contains("livestock.main_herd,19670,"), "{ind}");
    // Removing every workbook of a pipeline is a failure of that pipeline
    // (an unmounted share looks the same), not zeros: its figures stay,
    // marked stale (see `safety.rs`).
    std::fs::remove_dir_all(dir.path().join("inbox/land")).unwrap();
    let (code, _, _) = run(&cfg, &[]);
    assert_eq!(code, 1);
    let ind = read(&dir.path().join("out/indicators.csv"));
    assert!(ind.contains("land.records_total,3876,"), "{ind}");
    // --full parses everything again.
    assert_eq!(run(&cfg, &["--full"]).1["totals"]["files_parsed"], 16);
    // History keeps every run.
    assert_eq!(
        std::fs::read_dir(dir.path().join("out/runs"))
            .unwrap()
            .count(),
        7
    );
}

#[test]
fn a_concurrent_run_is_refused_and_touches_nothing() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(out.join(".lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let (code, _, err) = run(&cfg, &[]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("another tonghop run is publishing to"),
        "{err}"
    );
    assert!(!out.join("releases").exists() && !out.join("current").exists());
    drop(lock);
    // A lock left by a dead process is no lock at all: the OS released it.
    assert_eq!(run(&cfg, &[]).0, 0);
}

#[test]
fn kill_9_at_any_moment_leaves_the_previous_outputs_and_a_clean_next_run() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    assert_eq!(run(&cfg, &[]).0, 0);
    let good = read(&out.join("indicators.csv"));
    for delay_ms in [5u64, 60, 200, 500, 1000, 2000, 3500] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tonghop"))
            .args(["run", "--full", "--config", cfg.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        // Whatever was published is complete and readable.
        assert_eq!(
            read(&out.join("indicators.csv")),
            good,
            "after kill at {delay_ms} ms"
        );
        let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
        assert_eq!(report["exit_code"], 0);
        let current = std::fs::read_link(out.join("current")).unwrap();
        assert!(
            out.join(&current).join(".complete").exists(),
            "after kill at {delay_ms} ms"
        );
        let df = polars::prelude::ParquetReader::new(
            std::fs::File::open(out.join(
                "private/tables/bhyt_persons/commune=03637/period=2026-01-01_2026-06-19/part-0.parquet",
            ))
            .unwrap(),
        );
        use polars::prelude::SerReader;
        assert_eq!(df.finish().unwrap().height(), 20213);
    }
    // The next run completes normally and cleans up the half-written releases.
    let (code, _, err) = run(&cfg, &[]);
    assert_eq!(code, 0, "{err}");
    for e in std::fs::read_dir(out.join("releases")).unwrap().flatten() {
        assert!(
            e.path().join(".complete").exists(),
            "{} left behind",
            e.path().display()
        );
    }
    assert_eq!(read(&out.join("indicators.csv")), good);
}

#[test]
fn history_and_indicator_changes() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    assert_eq!(run(&cfg, &[]).0, 0);
    // The land department really has no files any more (said with
    // --allow-empty): its figures go from 3876 to none (not to zero).
    std::fs::remove_dir_all(dir.path().join("inbox/land")).unwrap();
    let (_, report, _) = run(&cfg, &["--allow-empty", "land"]);
    let changes = report["indicator_changes"].as_array().unwrap();
    let total = changes
        .iter()
        .find(|c| c["indicator"] == "land.records_total")
        .unwrap();
    assert_eq!(
        (
            total["previous"].as_f64(),
            total["current"].as_f64(),
            total["delta"].as_f64()
        ),
        (Some(3876.0), None, None)
    );
    assert!(!changes.iter().any(|c| c["indicator"] == "bhyt.cards_total"));
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(["history", "--out", dir.path().join("out").to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        text.lines()
            .nth(2)
            .unwrap()
            .contains(&report["run_id"].as_str().unwrap()[..20]),
        "{text}"
    );
}

#[test]
fn inspect_shows_the_mapping_and_check_catches_a_broken_pipeline() {
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .current_dir(repo())
        .args(["inspect", "fixtures/inbox/bhyt/Danh sách BHYT các bản.xlsx"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("read as pipeline: Danh sách cấp thẻ BHYT (bhyt)"),
        "{text}"
    );
    assert!(
        text.contains("trang / sheet \"Danh sách cũ\": trang ẩn, bỏ qua / hidden"),
        "{text}"
    );
    // The statistician's words, no program internals.
    for internal in ["Some(", "NoTable", "Hidden\n", "{\"", "Error ", "Warning"] {
        assert!(!text.contains(internal), "{internal:?} in {text}");
    }
    assert!(text.contains("-> personal_id"), "{text}");
    assert!(
        text.contains("Số định danh cá nhân phải có 12 chữ số"),
        "{text}"
    );
    // A corpus file that is no department's table.
    if let Some(shared) = crate::common::shared_or_skip("nightly::inspect (corpus part)") {
        let corpus = shared.join("corpus/calamine/merge_cells.xlsx");
        let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
            .current_dir(repo())
            .args(["inspect", corpus.to_str().unwrap()])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("không có bảng / no table"), "{text}");
    }
    // `check` on a broken pipeline folder names the problems.
    let dir = tempdir();
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir_all(&pipelines).unwrap();
    std::fs::write(
        pipelines.join("x.toml"),
        "[pipeline]\nname = \"x\"\ntitle = \"X\"\n[[tables]]\nname = \"t\"\ngrain = \"g\"\n[[tables.columns]]\nname = \"a\"\nlabel = \"A\"\naliases = [\"Tên\"]\ntype = \"text\"\n[[tables.columns]]\nname = \"b\"\nlabel = \"B\"\naliases = [\"TÊN\"]\ntype = \"text\"\n[[indicators]]\nid = \"x.n\"\nlabel = \"N\"\nunit = \"\"\nsql = \"SELEC COUNT(*) FROM t\"\n",
    )
    .unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[commune]\ncode = \"03637\"\nname = \"M\"\nprovince = \"L\"\n[run]\ninbox = \"inbox\"\nout = \"out\"\npipelines = \"pipelines\"\n[period]\nfrom = 2026-01-01\nto = 2026-06-19\n",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("alias \"TÊN\" of column 'b' is also an alias of column 'a'"),
        "{err}"
    );
    assert!(err.contains("sql does not parse"), "{err}");
}

#[test]
fn a_workbook_that_breaks_keeps_its_last_good_rows_marked_stale() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    assert_eq!(run(&cfg, &["--only", "livestock"]).0, 0);
    let xls = dir
        .path()
        .join("inbox/livestock/Biểu chăn nuôi 6 tháng đầu năm 2026.xls");
    std::fs::write(
        &xls,
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 truncated by a bad copy",
    )
    .unwrap();
    let (code, report, _) = run(&cfg, &["--only", "livestock"]);
    assert_eq!(code, 1, "the operator must look");
    let f = &report["files"][0];
    assert_eq!(
        (f["status"].as_str(), f["stale"].as_bool()),
        (Some("failed"), Some(true)),
        "{f}"
    );
    assert!(read(&dir.path().join("out/indicators.csv")).contains("livestock.main_herd,19670,"));
    // bao-cao.html says the file broke and its last good rows stand.
    let html = read(&dir.path().join("out/bao-cao.html"));
    let row = html
        .lines()
        .find(|l| l.contains("Biểu chăn nuôi 6 tháng đầu năm 2026.xls</td>"))
        .unwrap_or_else(|| panic!("{html}"));
    assert!(row.contains("<td>lỗi, giữ số liệu lần trước: "), "{row}");
    // Configurable: without keep_stale the failed file's rows are dropped.
    let text = read(&cfg).replace("out = \"out\"", "out = \"out\"\nkeep_stale = false");
    std::fs::write(&cfg, text).unwrap();
    let (code, report, _) = run(&cfg, &["--only", "livestock"]);
    assert_eq!(code, 1);
    assert_eq!(report["files"][0]["stale"], false);
    assert!(!read(&dir.path().join("out/indicators.csv")).contains("livestock.main_herd,19670,"));
}

#[test]
fn progress_on_a_terminal_only() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    // Under CI (and through pipes): no progress bar, no escape codes.
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args([
            "run",
            "--only",
            "livestock",
            "--config",
            cfg.to_str().unwrap(),
        ])
        .env("CI", "true")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!all.contains("tệp ·") && !all.contains('\u{1b}'), "{all}");
    // On a terminal (a pty from `script`), the bar is drawn.
    if Path::new("/usr/bin/script").exists() {
        let cmd = format!(
            "{} run --full --only livestock --config {}",
            env!("CARGO_BIN_EXE_tonghop"),
            cfg.display()
        );
        let o = Command::new("/usr/bin/script")
            .args(["-qec", &cmd, "/dev/null"])
            .env_remove("CI")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("1/1 tệp"), "{text}");
    }
}

#[test]
fn changing_a_pipeline_definition_invalidates_what_it_produced() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    copy_dir(&repo().join("pipelines"), &dir.path().join("pipelines"));
    let text = read(&cfg).replace("out = \"out\"", "out = \"out\"\npipelines = \"pipelines\"");
    std::fs::write(&cfg, text).unwrap();
    assert_eq!(run(&cfg, &[]).1["totals"]["files_parsed"], 17);
    assert_eq!(run(&cfg, &[]).1["totals"]["files_parsed"], 0);
    let bhyt = dir.path().join("pipelines/bhyt.toml");
    std::fs::write(&bhyt, read(&bhyt) + "\n# a reviewed alias list\n").unwrap();
    let (_, report, _) = run(&cfg, &[]);
    let parsed: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reused"] == false)
        .map(|f| f["pipeline"].as_str().unwrap())
        .collect();
    assert_eq!(parsed, ["bhyt"; 4]);
    // `check` also refuses a config lacking a target a pipeline needs.
    let no_targets = read(&cfg).replace("\"livestock.main_herd\" = 21860", "");
    std::fs::write(&cfg, no_targets).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(["check", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("[targets] \"livestock.main_herd\" is missing")
    );
}

/// Nothing changed at all (same tonghop, config, pipelines, key, workbooks):
/// the run republishes the current release's outputs instead of computing
/// them again, and says so; any change, even a renamed workbook, computes.
#[test]
fn unchanged_inputs_republish_the_same_outputs_and_a_moved_workbook_keeps_its_new_path() {
    use polars::prelude::*;
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let (code, first, err) = run(&cfg, &["--only", "bhyt"]);
    assert_eq!(code, 0, "{err}");
    let fp = first["inputs_fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fp.len(), 64);
    assert!(first["unchanged_since"].is_null());
    let table =
        "private/tables/bhyt_persons/commune=03637/period=2026-01-01_2026-06-19/part-0.parquet";
    let bytes_first = std::fs::read(out.join(table)).unwrap();
    let indicators_first = read(&out.join("indicators.csv"));

    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(["run", "--config", cfg.to_str().unwrap(), "--only", "bhyt"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    let first_id = first["run_id"].as_str().unwrap();
    assert!(
        said.contains(&format!("[unchanged_since={first_id}]")),
        "{said}"
    );
    let (code, second, _) = run(&cfg, &["--only", "bhyt"]);
    assert_eq!(code, 0);
    assert_eq!(second["inputs_fingerprint"], fp.as_str());
    assert_eq!(second["unchanged_since"], first["run_id"]);
    assert_ne!(second["run_id"], first["run_id"]);
    assert_eq!(second["totals"]["files_parsed"], 0);
    assert_eq!(second["totals"]["accepted"], first["totals"]["accepted"]);
    assert_eq!(second["indicators"], first["indicators"]);
    assert_eq!(std::fs::read(out.join(table)).unwrap(), bytes_first);
    assert_eq!(read(&out.join("indicators.csv")), indicators_first);
    // The private zone stays private in the new release.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(out.join("current/private"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);

    // Another selection is another input.
    let (_, all, _) = run(&cfg, &[]);
    assert!(all["unchanged_since"].is_null());
    assert_ne!(all["inputs_fingerprint"], fp.as_str());

    // Moved workbook: its rows come from the cache but carry the new path.
    let from = dir.path().join("inbox/bhyt/Danh sách BHYT các bản.xlsx");
    std::fs::create_dir_all(dir.path().join("inbox/bhyt/moved")).unwrap();
    std::fs::rename(&from, dir.path().join("inbox/bhyt/moved/DS.xlsx")).unwrap();
    let (code, moved, err) = run(&cfg, &["--only", "bhyt"]);
    assert_eq!(code, 0, "{err}");
    assert!(moved["unchanged_since"].is_null());
    assert_eq!(moved["totals"]["files_parsed"], 0);
    let df = ParquetReader::new(std::fs::File::open(out.join(table)).unwrap())
        .finish()
        .unwrap();
    let files = df.column("source_file").unwrap().str().unwrap().clone();
    let paths: std::collections::BTreeSet<&str> = files.iter().flatten().collect();
    assert!(paths.contains("bhyt/moved/DS.xlsx"), "{paths:?}");
    assert!(
        !paths.contains("bhyt/Danh sách BHYT các bản.xlsx"),
        "{paths:?}"
    );
    // The other pipelines' files are carried into this --only run.
    let bhyt_accepted: u64 = moved["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["pipeline"] == "bhyt")
        .map(|f| f["accepted"].as_u64().unwrap())
        .sum();
    assert_eq!(bhyt_accepted, first["totals"]["accepted"].as_u64().unwrap());
}

/// Each published feedback workbook, by file name.
fn feedback_files(out: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(out.join("private/phan-hoi"))
        .unwrap()
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect()
}

#[test]
fn a_new_workbook_rebuilds_its_own_feedback_and_reuses_the_others() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let cache = out.join("state/feedback");
    assert_eq!(run(&cfg, &[]).0, 0);
    let first = feedback_files(&out);
    assert_eq!(first.len(), 17);
    assert_eq!(
        entries(&cache).len(),
        17,
        "one cache entry per feedback file"
    );
    // Every cache entry now holds the same marker workbook: a file whose
    // feedback is reused publishes the marker, one built again does not.
    let (marker_name, marker) = first
        .iter()
        .next()
        .map(|(n, b)| (n.clone(), b.clone()))
        .unwrap();
    for e in entries(&cache) {
        std::fs::write(e, &marker).unwrap();
    }
    std::fs::copy(
        repo().join("fixtures/inbox-2025/livestock/Thống kê đàn vật nuôi cuối năm 2025.xlsx"),
        dir.path().join("inbox/livestock/thêm.xlsx"),
    )
    .unwrap();
    let (code, report, err) = run(&cfg, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(report["totals"]["files_parsed"], 1);
    let second = feedback_files(&out);
    assert_eq!(second.len(), 18);
    let rebuilt: Vec<&str> = second
        .iter()
        .filter(|(_, b)| **b != marker)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        rebuilt,
        ["thêm.xlsx"],
        "only the new workbook's feedback is built"
    );
    assert_eq!(entries(&cache).len(), 18);
    // --full builds every feedback workbook again.
    assert_eq!(run(&cfg, &["--full"]).0, 0);
    let full = feedback_files(&out);
    let reused: Vec<&str> = full
        .iter()
        .filter(|(n, b)| **b == marker && **n != marker_name)
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(reused.is_empty(), "--full reused {reused:?}");
    // …and refreshes the cache: no marker is left to reuse. A removed
    // workbook's entry goes with it.
    std::fs::remove_file(dir.path().join("inbox/livestock/thêm.xlsx")).unwrap();
    assert_eq!(run(&cfg, &[]).0, 0);
    let last = feedback_files(&out);
    assert_eq!(last.len(), 17);
    assert!(
        last.iter().all(|(n, b)| *b != marker || *n == marker_name),
        "a marker survived --full"
    );
    assert_eq!(entries(&cache).len(), 17);
}

/// The parts of an xlsx, but its creation time (docProps/core.xml).
fn xlsx_parts(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .filter_map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let name = f.name().unwrap().into_owned();
            let mut body = Vec::new();
            f.read_to_end(&mut body).unwrap();
            (name != "docProps/core.xml").then_some((name, body))
        })
        .collect()
}

/// A run with the feedback step's log line on stderr: (exit code, stderr).
fn run_logged(cfg: &Path, extra: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .args(extra)
        .env("RUST_LOG", "tonghop::publish=info")
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn feedback_prepared_by_the_readers_is_what_the_run_builds() {
    // A cold run: each reader process prepares its file's feedback from the
    // sheets it decoded, and the run takes those whose findings it confirms.
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let (code, log) = run_logged(&cfg, &[]);
    assert_eq!(code, 0, "{log}");
    // 12 files' findings are their own and come prepared. The other 5 hold
    // persons first listed in another workbook (the old BHYT list, the
    // police's VNeID lists, the supplements), which only the run can see:
    // the run builds those.
    assert!(log.contains(r#""from_cache":12,"built":5"#), "{log}");
    let prepared = feedback_files(&out);
    // --full: no reader prepares anything, the run builds every file itself.
    let (code, log) = run_logged(&cfg, &["--full"]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains(r#""from_cache":0,"built":17"#), "{log}");
    let built = feedback_files(&out);
    assert_eq!(prepared.len(), 17);
    assert_eq!(
        prepared.keys().collect::<Vec<_>>(),
        built.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &prepared {
        let (a, b) = (xlsx_parts(bytes), xlsx_parts(&built[name]));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (part, body) in &a {
            assert!(*body == b[part], "{name}: {part} differs");
        }
    }
}
