//! Helpers shared by the integration tests.

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the checkout (present for developers and CI).
pub fn shared() -> PathBuf {
    repo().join("..").join("shared")
}

/// `../shared` for a test that needs it (the corpus, the seed report), or
/// `None` with a message when it is absent: a clone elsewhere has none.
/// CI (`CI` set) requires it.
pub fn shared_or_skip(test: &str) -> Option<PathBuf> {
    let s = shared();
    if s.is_dir() {
        return Some(s);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI needs ../shared beside the checkout ({})",
        s.display()
    );
    eprintln!(
        "skipped {test}: ../shared is not beside this checkout (it holds the corpus and the seed report)"
    );
    None
}

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub struct Run {
    pub out: PathBuf,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the binary with `args` (plus `--config` of the repo unless given).
pub fn tonghop(args: &[&str]) -> Run {
    let out_arg = args
        .windows(2)
        .find(|w| w[0] == "--out")
        .map(|w| PathBuf::from(w[1]));
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run tonghop");
    Run {
        out: out_arg.unwrap_or_default(),
        exit_code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A private copy of the fixture inbox in `dir` and a config pointing at it
/// (writing to `<dir>/out`); returns the config's path.
pub fn setup(dir: &Path) -> PathBuf {
    copy_dir(&repo().join("fixtures/inbox"), &dir.join("inbox"));
    let cfg = read(&repo().join("config/tonghop.toml"))
        .replace("../fixtures/inbox", "inbox")
        .replace("\"../out\"", "\"out\"")
        .replace(
            "holidays = \"holidays\"",
            &format!(
                "holidays = \"{}\"",
                repo().join("config/holidays").display()
            ),
        );
    let p = dir.join("tonghop.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// One run over the committed fixtures, shared by the tests that only read its outputs.
pub fn run_fixtures() -> &'static Run {
    static RUN: OnceLock<(tempfile::TempDir, Run)> = OnceLock::new();
    &RUN.get_or_init(|| {
        let dir = tempdir();
        let out = dir.path().join("out");
        let run = tonghop(&["run", "--out", out.to_str().unwrap()]);
        (dir, run)
    })
    .1
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Check a run's outputs against a generator oracle (`fixtures/expected/*.json`):
/// every indicator it names, per-sheet counts (which must add up), every
/// reject and warning at its cell, duplicates' first occurrence, and the
/// ignored files. `prefix` is the pipeline folder ("bhyt/") that oracle paths
/// are relative to.
pub fn check_oracle(out: &Path, oracle_file: &str, prefix: &str) {
    use polars::prelude::*;
    let oracle: serde_json::Value =
        serde_json::from_str(&read(&repo().join("fixtures/expected").join(oracle_file))).unwrap();
    let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
    // Indicators, full precision.
    let indicators = tonghop::indicators::parse_csv(&read(&out.join("indicators.csv")));
    for (id, v) in oracle["indicators"].as_object().unwrap() {
        let want = v.as_f64().unwrap();
        let got = *indicators
            .get(id)
            .unwrap_or_else(|| panic!("{oracle_file}: indicator {id} missing"));
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{oracle_file}: {id} = {got}, expected {want}"
        );
    }
    // Per-sheet counts.
    let files = report["files"].as_array().unwrap();
    for ef in oracle["files"].as_array().unwrap() {
        let path = format!("{prefix}{}", ef["path"].as_str().unwrap());
        let f = files
            .iter()
            .find(|f| f["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{path} missing from run.json"));
        assert_eq!(f["status"], "ok", "{path}: {}", f["errors"]);
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
        for es in ef["sheets"].as_array().unwrap() {
            let name = es["name"].as_str().unwrap();
            let at = format!("{path}!{name}");
            let s = f["sheets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("{at} missing"));
            for key in ["rows_read", "accepted", "rejected", "skipped"] {
                assert_eq!(s[key], es[key], "{at}: {key}");
            }
            for key in [
                "warning_rows",
                "cells_excluded",
                "totals_checked",
                "totals_mismatched",
            ] {
                if !es[key].is_null() {
                    assert_eq!(s[key], es[key], "{at}: {key}");
                }
            }
            let sum = s["accepted"].as_u64().unwrap()
                + s["rejected"].as_u64().unwrap()
                + s["skipped"].as_u64().unwrap();
            assert_eq!(sum, s["rows_read"].as_u64().unwrap(), "{at}: counts add up");
            let by_kind: u64 = s["skipped_by_kind"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum();
            assert_eq!(
                by_kind,
                s["skipped"].as_u64().unwrap(),
                "{at}: skipped by kind adds up"
            );
            if es["table"].is_null() {
                assert!(s["table"].is_null(), "{at}: should match no table");
            } else {
                assert_eq!(s["table"], es["table"], "{at}");
                assert_eq!(s["header_row"], es["header_row"], "{at}: header row");
            }
        }
    }
    if let Some(ignored) = oracle["ignored_files"].as_array() {
        let listed: Vec<&str> = report["ignored_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["path"].as_str().unwrap())
            .collect();
        for e in ignored {
            let p = format!("{prefix}{}", e.as_str().unwrap());
            assert!(
                listed.contains(&p.as_str()),
                "{p} should be listed as ignored: {listed:?}"
            );
        }
    }
    // Findings, one per cell.
    let df = ParquetReader::new(std::fs::File::open(out.join("private/rejects.parquet")).unwrap())
        .finish()
        .unwrap();
    let col = |n: &str| df.column(n).unwrap().str().unwrap().clone();
    let (file, sheet, cell, code, related, severity) = (
        col("file"),
        col("sheet"),
        col("cell"),
        col("code"),
        col("related"),
        col("severity"),
    );
    let row = df.column("row").unwrap().i64().unwrap().clone();
    type Key = (String, String, i64, String, String);
    let mut got: std::collections::HashMap<Key, (String, String, String)> =
        std::collections::HashMap::new();
    for i in 0..df.height() {
        let f = file.get(i).unwrap();
        if !f.starts_with(prefix) {
            continue;
        }
        got.insert(
            (
                f.to_string(),
                sheet.get(i).unwrap().to_string(),
                row.get(i).unwrap(),
                code.get(i).unwrap().to_string(),
                cell.get(i).unwrap().to_string(),
            ),
            (
                cell.get(i).unwrap().to_string(),
                related.get(i).unwrap().to_string(),
                severity.get(i).unwrap().to_string(),
            ),
        );
    }
    let mut expected_count = 0;
    for (list, want_severity) in [("rejects", "error"), ("warnings", "warning")] {
        for e in oracle[list].as_array().into_iter().flatten() {
            expected_count += 1;
            let key = (
                format!("{prefix}{}", e["file"].as_str().unwrap()),
                e["sheet"].as_str().unwrap().to_string(),
                e["row"].as_i64().unwrap(),
                e["code"].as_str().unwrap().to_string(),
                e["cell"].as_str().unwrap().to_string(),
            );
            let (c, rel, sev) = got.get(&key).unwrap_or_else(|| {
                panic!("{oracle_file}: expected {list} entry {key:?} not found")
            });
            assert_eq!(sev, want_severity, "{key:?}");
            assert_eq!(c, e["cell"].as_str().unwrap(), "{key:?}: cell");
            if key.3 == "duplicate" {
                assert_eq!(
                    rel,
                    &format!("{prefix}{}", e["first"].as_str().unwrap()),
                    "{key:?}: first occurrence"
                );
            }
        }
    }
    assert_eq!(
        got.len(),
        expected_count,
        "{oracle_file}: no unexpected findings"
    );
}

/// One run over another committed fixture set, cached per config file.
pub fn run_config(config: &str, only: &str) -> &'static Run {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static RUNS: OnceLock<Mutex<HashMap<String, &'static (tempfile::TempDir, Run)>>> =
        OnceLock::new();
    let key = format!("{config}|{only}");
    let mut map = RUNS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap();
    let entry = map.entry(key).or_insert_with(|| {
        let dir = tempdir();
        let out = dir.path().join("out");
        let run = tonghop(&[
            "run",
            "--config",
            config,
            "--only",
            only,
            "--out",
            out.to_str().unwrap(),
        ]);
        Box::leak(Box::new((dir, run)))
    });
    &entry.1
}

/// `indicators.csv` of a run as id -> value text (exactly as written).
pub fn indicators(out: &Path) -> std::collections::HashMap<String, String> {
    read(&out.join("indicators.csv"))
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            Some((f.next()?.to_string(), f.next()?.to_string()))
        })
        .collect()
}

/// A config for a hand-made inbox: commune Mường Kim, H1 2026, output in
/// `<dir>/out`, the repository's holiday calendar, plus `extra` sections.
pub fn config_for(dir: &Path, inbox: &Path, extra: &str) -> PathBuf {
    let p = dir.join("tonghop.toml");
    std::fs::write(
        &p,
        format!(
            "[commune]\ncode = \"03637\"\nname = \"Mường Kim\"\nprovince = \"Lai Châu\"\n[run]\ninbox = \"{}\"\nout = \"out\"\n[period]\nfrom = 2026-01-01\nto = 2026-06-19\n[calendar]\nholidays = \"{}\"\n{extra}",
            inbox.display(),
            repo().join("config/holidays").display()
        ),
    )
    .unwrap();
    p
}

/// One sheet: header on row 1 (or row 3 under a title when `title` is given), then rows of text.
pub fn sheet(
    wb: &mut rust_xlsxwriter::Workbook,
    name: &str,
    title: Option<&str>,
    header: &[&str],
    rows: &[&[&str]],
) {
    let ws = wb.add_worksheet().set_name(name).unwrap();
    let first = if let Some(t) = title {
        ws.write_string(0, 0, t).unwrap();
        2
    } else {
        0
    };
    for (c, h) in header.iter().enumerate() {
        ws.write_string(first, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(first + 1 + r as u32, c as u16, *v).unwrap();
            }
        }
    }
}
