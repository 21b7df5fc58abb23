//! Workbooks typed with legacy fonts (TCVN3 for the livestock biểu, VNI for
//! the land register) map and count exactly like their Unicode twins, and
//! run.json names the converted columns.

use crate::common::{indicators, read, repo, run_config, run_fixtures};

#[test]
fn legacy_twins_give_the_same_figures_as_unicode() {
    let legacy = run_config("config/tonghop-legacy.toml", "land");
    assert_eq!(legacy.exit_code, 0, "{}\n{}", legacy.stdout, legacy.stderr);
    let unicode = run_fixtures();
    let (a, b) = (indicators(&legacy.out), indicators(&unicode.out));
    let land: Vec<&String> = b.keys().filter(|k| k.starts_with("land.")).collect();
    assert_eq!(land.len(), 15);
    for id in land {
        assert_eq!(a[id], b[id], "{id}");
    }
    let livestock = run_config("config/tonghop-legacy.toml", "livestock");
    let (a, b) = (indicators(&livestock.out), indicators(&unicode.out));
    for id in b.keys().filter(|k| k.starts_with("livestock.")) {
        assert_eq!(a[id], b[id], "{id}");
    }
    // Per-sheet counts equal the twins', and the converted columns are named.
    let oracle: serde_json::Value =
        serde_json::from_str(&read(&repo().join("fixtures/expected/legacy.json"))).unwrap();
    let uni: serde_json::Value =
        serde_json::from_str(&read(&unicode.out.join("run.json"))).unwrap();
    for twin in oracle["twins"].as_array().unwrap() {
        let run = if twin["legacy"].as_str().unwrap().starts_with("land/") {
            legacy
        } else {
            livestock
        };
        let report: serde_json::Value =
            serde_json::from_str(&read(&run.out.join("run.json"))).unwrap();
        let lf = report["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == twin["legacy"])
            .unwrap_or_else(|| panic!("{} not in {}", twin["legacy"], report["files"]));
        let uf = uni["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == twin["unicode"])
            .unwrap();
        for s in twin["sheets"].as_array().unwrap() {
            let ls = lf["sheets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == s["name"])
                .unwrap();
            let us = uf["sheets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["name"] == s["unicode_name"])
                .unwrap();
            for key in [
                "rows_read",
                "accepted",
                "rejected",
                "skipped",
                "header_row",
                "table",
            ] {
                assert_eq!(ls[key], us[key], "{} {}: {key}", twin["legacy"], s["name"]);
            }
            if ls["status"] == "read" {
                assert_eq!(ls["legacy_encoding"], twin["encoding"], "{}", s["name"]);
                assert_eq!(
                    ls["converted_columns"], s["converted_columns"],
                    "{}",
                    s["name"]
                );
            }
        }
    }
}
