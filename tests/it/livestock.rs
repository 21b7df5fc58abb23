//! The livestock fixtures: the commune's wide biểu (.xls) for 6 tháng đầu năm
//! 2026, and a long list (.xlsx) for a second period, each against the
//! generator's oracle and, for 2026, the report's figures at its precision.

use crate::common::{check_oracle, read, repo, run_config, run_fixtures};
use std::collections::HashMap;

fn indicators(out: &std::path::Path) -> HashMap<String, f64> {
    tonghop::indicators::parse_csv(&read(&out.join("indicators.csv")))
}

/// Half-up rounding at `places`, as the report prints figures.
fn round(v: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (v * m + 0.5).floor() / m
}

#[test]
fn wide_biểu_reproduces_the_report() {
    let run = run_fixtures();
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    check_oracle(&run.out, "livestock.json", "livestock/");
    let ind = indicators(&run.out);
    assert_eq!(ind["livestock.main_herd"], 19670.0);
    assert_eq!(ind["livestock.main_herd_plan"], 21860.0);
    assert_eq!(round(ind["livestock.main_herd_plan_pct"], 2), 89.98);
    assert_eq!(round(ind["livestock.herd_growth_pct"], 2), 4.48);
    assert_eq!(round(ind["livestock.herd_growth_plan_pct"], 1), 27.2);
    // The unpivot: one record per village and species present.
    let report: serde_json::Value = serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
    let herd = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "herd")
        .unwrap();
    let oracle: serde_json::Value =
        serde_json::from_str(&read(&repo().join("fixtures/expected/livestock.json"))).unwrap();
    assert_eq!(herd["rows"], oracle["records"]);
    // The total row and poultry trap a naive sum of every number.
    assert_ne!(oracle["naive_numeric_sum"].as_f64().unwrap(), 19670.0);
    // Breakdowns by village and species match the oracle.
    let by_village = read(&run.out.join("indicators_by_village.csv"));
    for (village, v) in oracle["by_village"].as_object().unwrap() {
        let now = v["main_herd_now"].as_i64().unwrap();
        assert!(
            by_village.contains(&format!("livestock.main_herd,{village},{now},")),
            "{village}: {now}\n{by_village}"
        );
    }
    let by_species = read(&run.out.join("indicators_by_species.csv"));
    for (species, v) in oracle["by_species"].as_object().unwrap() {
        let now = v["head_now"].as_i64().unwrap();
        assert!(
            by_species.contains(&format!("livestock.head_now,{species},{now},")),
            "{species}: {now}\n{by_species}"
        );
    }
}

#[test]
fn long_list_of_another_period() {
    let run = run_config("config/tonghop-2025.toml", "livestock");
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    check_oracle(&run.out, "livestock-2025.json", "livestock/");
    let report: serde_json::Value = serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
    let herd = &report["tables"][0];
    assert!(
        herd["path"]
            .as_str()
            .unwrap()
            .contains("period=2025-07-01_2025-12-31"),
        "{herd}"
    );
}
