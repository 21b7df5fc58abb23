//! The binary on the committed BHYT fixtures, checked against the generator's
//! oracle (`fixtures/expected/bhyt.json`) and against the report's figures.

use crate::common::{repo, run_fixtures};
use polars::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

fn oracle() -> Value {
    let text = std::fs::read_to_string(repo().join("fixtures/expected/bhyt.json")).expect("oracle");
    serde_json::from_str(&text).unwrap()
}

fn indicators(out: &std::path::Path) -> HashMap<String, String> {
    let csv = std::fs::read_to_string(out.join("indicators.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next().unwrap(), "indicator,value,unit,label,pipeline");
    lines
        .map(|l| {
            let mut f = l.split(',');
            (f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect()
}

#[test]
fn reproduces_the_four_report_figures() {
    let run = run_fixtures();
    assert_eq!(
        run.exit_code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let ind = indicators(&run.out);
    assert_eq!(ind["bhyt.cards_total"], "20213");
    assert_eq!(ind["bhyt.ethnic_minority"], "12253");
    assert_eq!(ind["bhyt.poor_near_poor"], "2200");
    assert_eq!(ind["bhyt.social_protection"], "1899");
    // The summary names the figures too.
    assert!(run.stdout.contains("bhyt.cards_total"), "{}", run.stdout);
    // indicators.parquet has the same rows.
    let df = ParquetReader::new(std::fs::File::open(run.out.join("indicators.parquet")).unwrap())
        .finish()
        .unwrap();
    let ids = df.column("indicator").unwrap().str().unwrap().clone();
    let vals = df.column("value").unwrap().f64().unwrap().clone();
    let pos = ids
        .iter()
        .position(|i| i == Some("bhyt.cards_total"))
        .unwrap();
    assert_eq!(vals.get(pos), Some(20213.0));
}

#[test]
fn naive_row_count_is_wrong() {
    let o = oracle();
    let naive = o["naive_data_rows"].as_u64().unwrap();
    assert_ne!(naive, 20213, "the fixtures must trap a naive count");
    assert!(naive > 20213);
}

#[test]
fn per_sheet_counts_match_the_oracle_and_add_up() {
    let run = run_fixtures();
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(run.out.join("run.json")).unwrap()).unwrap();
    let files = report["files"].as_array().unwrap();
    let o = oracle();
    let expected_files = o["files"].as_array().unwrap();
    assert_eq!(files.len(), expected_files.len(), "workbooks read");
    for ef in expected_files {
        let path = format!("bhyt/{}", ef["path"].as_str().unwrap());
        let f = files
            .iter()
            .find(|f| f["path"] == path.as_str())
            .unwrap_or_else(|| panic!("{path} missing from run.json"));
        assert_eq!(f["status"], "ok", "{path}: {}", f["errors"]);
        assert_eq!(f["sha256"].as_str().unwrap().len(), 64);
        for es in ef["sheets"].as_array().unwrap() {
            let name = es["name"].as_str().unwrap();
            let s = f["sheets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["name"] == name)
                .unwrap_or_else(|| panic!("{path}!{name}"));
            let at = format!("{path}!{name}");
            for key in ["rows_read", "accepted", "rejected", "skipped"] {
                assert_eq!(s[key], es[key], "{at}: {key}");
            }
            if !es["warning_rows"].is_null() {
                assert_eq!(s["warning_rows"], es["warning_rows"], "{at}: warning_rows");
            }
            let sum = s["accepted"].as_u64().unwrap()
                + s["rejected"].as_u64().unwrap()
                + s["skipped"].as_u64().unwrap();
            assert_eq!(sum, s["rows_read"].as_u64().unwrap(), "{at}: counts add up");
            if es["table"].is_null() {
                assert!(s["table"].is_null(), "{at}: should match no table");
            } else {
                assert_eq!(s["table"], es["table"], "{at}");
                assert_eq!(s["header_row"], es["header_row"], "{at}: header row");
            }
        }
    }
    let ignored: Vec<&str> = report["ignored_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .collect();
    for e in o["ignored_files"].as_array().unwrap() {
        let p = format!("bhyt/{}", e.as_str().unwrap());
        assert!(
            ignored.contains(&p.as_str()),
            "{p} should be listed as ignored: {ignored:?}"
        );
    }
}

#[test]
fn rejects_name_their_cell_and_duplicates_their_first_occurrence() {
    let run = run_fixtures();
    let df = ParquetReader::new(std::fs::File::open(run.out.join("rejects.parquet")).unwrap())
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
    type Key = (String, String, i64, String);
    let mut got: HashMap<Key, (String, String, String)> = HashMap::new();
    for i in 0..df.height() {
        got.insert(
            (
                file.get(i).unwrap().to_string(),
                sheet.get(i).unwrap().to_string(),
                row.get(i).unwrap(),
                code.get(i).unwrap().to_string(),
            ),
            (
                cell.get(i).unwrap().to_string(),
                related.get(i).unwrap().to_string(),
                severity.get(i).unwrap().to_string(),
            ),
        );
    }
    let o = oracle();
    let expected = o["rejects"].as_array().unwrap();
    assert!(!expected.is_empty());
    let mut checked_duplicate = false;
    for e in expected {
        let key = (
            format!("bhyt/{}", e["file"].as_str().unwrap()),
            e["sheet"].as_str().unwrap().to_string(),
            e["row"].as_i64().unwrap(),
            e["code"].as_str().unwrap().to_string(),
        );
        let (c, rel, sev) = got
            .get(&key)
            .unwrap_or_else(|| panic!("expected reject {key:?} not found"));
        assert_eq!(sev, "error");
        assert_eq!(c, e["cell"].as_str().unwrap(), "{key:?}: cell");
        if key.3 == "duplicate" {
            assert_eq!(
                rel,
                &format!("bhyt/{}", e["first"].as_str().unwrap()),
                "{key:?}: first occurrence"
            );
            checked_duplicate = true;
        }
    }
    assert!(checked_duplicate);
    let errors = severity.iter().filter(|s| *s == Some("error")).count();
    assert_eq!(errors, expected.len(), "no unexpected rejects");
    let warnings = severity.iter().filter(|s| *s == Some("warning")).count();
    assert_eq!(
        warnings,
        o["warnings"].as_array().unwrap().len(),
        "warnings"
    );
}

#[test]
fn parquet_has_declared_logical_types() {
    let run = run_fixtures();
    let dir = run
        .out
        .join("tables/bhyt_persons/commune=03637/period=2026-01-01_2026-06-19");
    let df = ParquetReader::new(std::fs::File::open(dir.join("part-0.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.height(), 20213);
    let dt = |n: &str| df.column(n).unwrap().dtype().clone();
    assert_eq!(dt("birth_date"), DataType::Date);
    assert_eq!(dt("card_valid_from"), DataType::Date);
    assert_eq!(dt("personal_id"), DataType::String);
    assert_eq!(dt("card_code"), DataType::String);
    assert_eq!(dt("full_name"), DataType::String);
    assert_eq!(dt("source_row"), DataType::Int64);
    assert!(
        matches!(dt("beneficiary_group"), DataType::Categorical(..)),
        "{:?}",
        dt("beneficiary_group")
    );
    // IDs are 12-digit strings: no float formatting, leading zeros kept.
    let ids = df.column("personal_id").unwrap().str().unwrap().clone();
    assert!(
        ids.iter()
            .all(|s| s.is_some_and(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())))
    );
    assert!(ids.iter().any(|s| s.is_some_and(|s| s.starts_with('0'))));
}
