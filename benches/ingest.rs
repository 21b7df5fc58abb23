//! How fast tonghop reads department workbooks: one workbook of each format
//! through the whole per-file path (open, header detection, row
//! classification, value conversion), and a whole run over the fixtures.
//!
//! `cargo bench` (release profile). `cargo test --benches` runs each once.

use std::path::{Path, PathBuf};
use tonghop::config::{Config, Period, RunContext};
use tonghop::extract::process_file;

fn main() {
    divan::main();
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn period() -> Period {
    Period {
        from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        to: chrono::NaiveDate::from_ymd_opt(2026, 6, 19).unwrap(),
    }
}

fn one(rel: &str) -> usize {
    let pipelines = tonghop::pipeline::builtin().unwrap();
    let abs = repo().join("fixtures/inbox").join(rel);
    let o = process_file(&pipelines[0], &abs, rel, &RunContext::for_period(period()));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    o.sheets.iter().map(|s| s.accepted as usize).sum()
}

/// 13,000 people over 6 village sheets, two-row headers, merges, formulas.
#[divan::bench(sample_count = 10)]
fn xlsx_sheet_per_village() -> usize {
    one("bhyt/Danh sách BHYT các bản.xlsx")
}

/// 5,300 people in BIFF8 with the 1904 date system and merged village blocks.
#[divan::bench(sample_count = 10)]
fn xls_biff8() -> usize {
    one("bhyt/2026/BHYT xã Mường Kim (cũ).xls")
}

/// The whole run over the fixtures: parallel ingest, duplicates across
/// files, Parquet, indicators.
#[divan::bench(sample_count = 5)]
fn full_run(bencher: divan::Bencher) {
    let cfg = Config::load(Path::new(&repo().join("config/tonghop.toml"))).unwrap();
    let pipelines = tonghop::pipeline::builtin().unwrap();
    let selected: Vec<_> = pipelines.iter().collect();
    let out = tempfile::tempdir().unwrap();
    let mut cfg = cfg;
    cfg.out = out.path().to_path_buf();
    bencher.bench(|| tonghop::run::run(&cfg, &selected).unwrap().exit_code);
}
