//! The binary on the committed BHYT fixtures, checked against the generator's
//! oracle (`fixtures/expected/bhyt.json`) and against the report's figures.

use crate::common::{check_oracle, repo, run_fixtures};
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
    assert_eq!(
        lines.next().unwrap(),
        "indicator,value,unit,label,pipeline,stale_since,rows_rejected,rows_duplicate,rows_out_of_period,cells_excluded,commune,period"
    );
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
fn counts_rejects_and_warnings_match_the_oracle() {
    let run = run_fixtures();
    check_oracle(&run.out, "bhyt.json", "bhyt/");
}

#[test]
fn parquet_has_declared_logical_types() {
    let run = run_fixtures();
    let dir = run
        .out
        .join("private/tables/bhyt_persons/commune=03637/period=2026-01-01_2026-06-19");
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

/// One name per village: the Bản Lướt list writes its village five ways
/// ("Bản Lướt", "Lướt", "bản Lướt", NFD, "BẢN LƯỚT"; see generate.py), and
/// the breakdown has one row per village of the commune's list, in
/// Vietnamese order, adding up to the commune's figure.
#[test]
fn one_row_per_village_of_the_commune_list() {
    let run = run_fixtures();
    let csv = std::fs::read_to_string(run.out.join("indicators_by_village.csv")).unwrap();
    let rows: Vec<(String, String)> = csv
        .lines()
        .filter(|l| l.starts_with("bhyt.cards_total,"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect();
    let config =
        tonghop::config::Config::load(&crate::common::repo().join("config/tonghop.toml")).unwrap();
    let mut listed = config.villages.names.clone();
    listed.sort_by(|a, b| tonghop::collate::vietnamese(a, b));
    let keys: Vec<&str> = rows.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, listed.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(keys.first(), Some(&"Bản Lướt"));
    assert_eq!(keys.last(), Some(&"Phiêng Cảm"));
    // 1.763 accepted in the Bản Lướt list, all under one name.
    assert!(
        rows.contains(&("Bản Lướt".to_string(), "1763".to_string())),
        "{rows:?}"
    );
    let sum: f64 = rows.iter().map(|(_, v)| v.parse::<f64>().unwrap()).sum();
    assert_eq!(sum, 20213.0);
    let rejects = std::fs::read_to_string(run.out.join("private/rejects.csv")).unwrap();
    assert!(
        !rejects.contains("unknown_village"),
        "every fixture village is listed"
    );
}
