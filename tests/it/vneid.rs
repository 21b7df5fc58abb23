//! The VNeID fixtures against the report's four figures and the generator's
//! oracle: per-sheet counts, rejects, out-of-period rows, every boundary case
//! one by one (read back from the Parquet table), and the village breakdown
//! (which must sum to the commune totals).

use crate::common::{check_oracle, read, repo, run_fixtures};
use polars::prelude::*;
use std::collections::HashMap;

fn oracle() -> serde_json::Value {
    serde_json::from_str(&read(&repo().join("fixtures/expected/vneid.json"))).unwrap()
}

#[test]
fn reproduces_the_report_and_the_oracle() {
    let run = run_fixtures();
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    check_oracle(&run.out, "vneid.json", "vneid/");
    let report: serde_json::Value = serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
    let out_of_period: u64 = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["pipeline"] == "vneid")
        .flat_map(|f| f["sheets"].as_array().unwrap().iter())
        .filter_map(|s| s["skipped_by_kind"]["out_of_period"].as_u64())
        .sum();
    assert_eq!(
        out_of_period,
        oracle()["out_of_period_rows"].as_u64().unwrap()
    );
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "vneid.activated_not_above_collected")
        .unwrap();
    assert_eq!(check["passed"], true);
}

#[test]
fn boundary_cases_one_by_one() {
    let run = run_fixtures();
    let path = run.out.join(
        "private/tables/vneid_citizens/commune=03637/period=2026-01-01_2026-06-19/part-0.parquet",
    );
    let df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    let files = df.column("source_file").unwrap().str().unwrap().clone();
    let sheets = df.column("source_sheet").unwrap().str().unwrap().clone();
    let rows = df.column("source_row").unwrap().i64().unwrap().clone();
    let ages = df.column("age").unwrap().i64().unwrap().clone();
    let mut age_at: HashMap<(String, String, i64), i64> = HashMap::new();
    for i in 0..df.height() {
        age_at.insert(
            (
                files.get(i).unwrap().to_string(),
                sheets.get(i).unwrap().to_string(),
                rows.get(i).unwrap(),
            ),
            ages.get(i).unwrap(),
        );
    }
    let report: serde_json::Value = serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
    let o = oracle();
    let cases = o["boundary_cases"].as_array().unwrap();
    assert!(cases.len() >= 8, "{} boundary cases", cases.len());
    for c in cases {
        let key = (
            format!("vneid/{}", c["file"].as_str().unwrap()),
            c["sheet"].as_str().unwrap().to_string(),
            c["row"].as_i64().unwrap(),
        );
        let what = c["case"].as_str().unwrap();
        match c["outcome"].as_str().unwrap() {
            "accepted" => {
                let age = age_at
                    .get(&key)
                    .unwrap_or_else(|| panic!("{what}: {key:?} not in the table"));
                assert_eq!(*age, c["age"].as_i64().unwrap(), "{what}");
            }
            "out_of_period" => {
                assert!(
                    !age_at.contains_key(&key),
                    "{what}: {key:?} should be out of period"
                );
                let f = report["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["path"] == key.0.as_str())
                    .unwrap();
                let s = f["sheets"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|s| s["name"] == key.1.as_str())
                    .unwrap();
                assert!(
                    s["skipped_by_kind"]["out_of_period"].as_u64().unwrap() >= 1,
                    "{what}"
                );
            }
            other => assert!(!age_at.contains_key(&key), "{what}: outcome {other}"),
        }
    }
}

#[test]
fn village_breakdown_matches_the_oracle_and_sums_to_the_totals() {
    let run = run_fixtures();
    let csv = read(&run.out.join("indicators_by_village.csv"));
    let mut got: HashMap<(String, String), f64> = HashMap::new();
    let mut sums: HashMap<String, f64> = HashMap::new();
    for l in csv.lines().skip(1) {
        let f: Vec<&str> = l.split(',').collect();
        if !f[0].starts_with("vneid.") {
            continue;
        }
        // A village of the commune's list with no citizen here has no figure.
        if f[2].is_empty() {
            continue;
        }
        let v: f64 = f[2].parse().unwrap();
        got.insert((f[0].to_string(), f[1].to_string()), v);
        *sums.entry(f[0].to_string()).or_default() += v;
    }
    let o = oracle();
    for (village, figures) in o["by_village"].as_object().unwrap() {
        for (id, v) in figures.as_object().unwrap() {
            let want = v.as_f64().unwrap();
            let have = got
                .get(&(id.clone(), village.clone()))
                .copied()
                .unwrap_or(0.0);
            assert_eq!(have, want, "{id} in {village}");
        }
    }
    for (id, total) in o["indicators"].as_object().unwrap() {
        if let Some(sum) = sums.get(id) {
            assert_eq!(
                *sum,
                total.as_f64().unwrap(),
                "{id}: villages sum to the commune total"
            );
        }
    }
    assert_eq!(sums.len(), 4);
}
