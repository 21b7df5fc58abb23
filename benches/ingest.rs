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
/// files, Parquet, indicators. `--full`: without it every run after the
/// first would republish the first one (nothing changed).
#[divan::bench(sample_count = 5)]
fn full_run(bencher: divan::Bencher) {
    let cfg = Config::load(Path::new(&repo().join("config/tonghop.toml"))).unwrap();
    let pipelines = tonghop::pipeline::builtin().unwrap();
    let selected: Vec<_> = pipelines.iter().collect();
    let out = tempfile::tempdir().unwrap();
    let mut cfg = cfg;
    cfg.out = out.path().to_path_buf();
    let opts = tonghop::run::RunOptions {
        full: true,
        ..Default::default()
    };
    bencher.bench(|| {
        tonghop::run::run_with(&cfg, &selected, &opts)
            .unwrap()
            .exit_code
    });
}

/// The hot value parsers, one call per iteration over a mix of the forms the
/// departments' cells take (clean and messy), so a regression in any of them
/// shows here before it shows in a run.
mod values {
    use tonghop::values::date::parse_date_text;
    use tonghop::values::ident::clean_digits;
    use tonghop::values::number::{NumberKind, parse_number};
    use tonghop::values::text::{clean, header_key, is_blank, value_key};

    const TEXTS: &[&str] = &[
        "Lò Văn Pọm",
        "Pá Khoang",
        "Nguyễn  Thị\u{00A0}Hoa ",
        "Lo\u{0300} Thi\u{0323} U\u{0301}n",
        "DT2121234567890",
        "Người DTTS sống ở vùng có điều kiện KT-XH ĐBKK",
    ];
    const NUMBERS: &[&str] = &[
        "1.234.567",
        "12,5",
        "1 234",
        "3.000.000 đồng",
        "42",
        "1,234.5",
    ];
    const DATES: &[&str] = &[
        "15/01/2026",
        "5/1/1990",
        "05-01-1990",
        "2026-01-15",
        "15.01.2026",
        "1/1/26",
    ];
    const IDS: &[&str] = &[
        "012345678901",
        "012 345 678 901",
        "12345678901",
        "012.345.678.901",
    ];

    #[divan::bench]
    fn text_clean() -> usize {
        TEXTS.iter().map(|s| clean(divan::black_box(s)).len()).sum()
    }

    #[divan::bench]
    fn text_is_blank() -> usize {
        TEXTS
            .iter()
            .filter(|s| is_blank(divan::black_box(s)))
            .count()
    }

    #[divan::bench]
    fn text_value_key() -> usize {
        TEXTS
            .iter()
            .map(|s| value_key(divan::black_box(s)).len())
            .sum()
    }

    #[divan::bench]
    fn text_header_key() -> usize {
        [
            "Số định danh cá nhân (CCCD)",
            "Ngày, tháng, năm sinh",
            "Hạn thẻ / Từ ngày",
        ]
        .iter()
        .map(|s| header_key(divan::black_box(s)).len())
        .sum()
    }

    #[divan::bench]
    fn number_parse() -> f64 {
        NUMBERS
            .iter()
            .filter_map(|s| parse_number(divan::black_box(s), NumberKind::Decimal))
            .sum()
    }

    #[divan::bench]
    fn date_parse_text() -> usize {
        DATES
            .iter()
            .filter(|s| parse_date_text(divan::black_box(s)).is_some())
            .count()
    }

    #[divan::bench]
    fn id_clean_digits() -> usize {
        IDS.iter()
            .filter_map(|s| clean_digits(divan::black_box(s), 12, s.len() == 11, 1).ok())
            .count()
    }
}
