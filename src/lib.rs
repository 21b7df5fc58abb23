//! tonghop ("tổng hợp", to compile figures): department workbooks in, typed
//! Parquet, rejected cells and report figures out.
//!
//! Flow of a run (see `DESIGN.md` in the shared notes):
//! `ingest` (workbook -> grids) → `shape` (header, columns, row kinds) →
//! `values` (typed cells or reasons) → `extract` (one workbook's accepted rows
//! and findings) → `run` (parallel over workbooks, duplicates across files) →
//! `indicators` (SQL from the pipeline files) → `publish` (Parquet, CSV, JSON).
//! Departments are data: `pipeline` loads their TOML definitions.

pub mod cache;
pub mod calendar;
pub mod carry;
pub mod cells;
pub mod cli;
pub mod collate;
pub mod compute;
pub mod config;
pub mod crossfoot;
pub mod dedupe;
pub mod discover;
pub mod exclusions;
pub mod extract;
pub mod indicators;
pub mod ingest;
pub mod inspect;
pub mod isolate;
pub mod markup;
pub mod model;
pub mod ods_merges;
pub mod outcome;
pub mod parts;
pub mod pass;
pub mod pipeline;
pub mod preflight;
pub mod privacy;
pub mod province;
pub mod publish;
pub mod record;
pub mod release;
pub mod report;
pub mod rows;
pub mod run;
pub mod selftest;
pub mod shape;
pub mod spark;
pub mod table;
pub mod timing;
pub mod util;
pub mod values;
pub mod villages;
pub mod xlsx_cells;
pub mod xlsx_merges;

#[cfg(test)]
mod props;
