//! The land fixtures (one workbook with three tables and a hidden draft, and
//! the same data split over .xlsx, .xls and .ods) against the report's seven
//! figures and the generator's oracles.

use crate::common::{check_oracle, run_config, run_fixtures};

#[test]
fn one_workbook_reproduces_the_report() {
    let run = run_fixtures();
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    check_oracle(&run.out, "land.json", "land/");
}

#[test]
fn split_files_give_the_same_figures() {
    let run = run_config("config/tonghop-split.toml", "land");
    assert_eq!(run.exit_code, 0, "{}\n{}", run.stdout, run.stderr);
    check_oracle(&run.out, "land-split.json", "land/");
}
