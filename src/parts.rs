//! A workbook's accepted rows on disk, one Parquet part per table, written as
//! soon as the workbook is read (in the reader's process) and kept in the
//! cache next to its outcome. Between reading and publishing, memory holds
//! only each workbook's unique column (to settle duplicates across
//! workbooks); the published tables are streamed from the parts.
//!
//! A part has the table's columns and `source_sheet`, `source_row`, but no
//! `source_file`: the same bytes may sit at another path next run, so the
//! path is added when the table is published.

use crate::outcome::FileOutcome;
use crate::pipeline::Pipeline;
use crate::table::{SourcedBatch, build_frame};
use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// `<base>-<table index>.parquet` for each table of the pipeline.
pub fn paths(base: &Path, tables: usize) -> Vec<PathBuf> {
    (0..tables)
        .map(|ti| {
            let mut name = base.file_name().unwrap_or_default().to_os_string();
            name.push(format!("-{ti}.parquet"));
            base.with_file_name(name)
        })
        .collect()
}

/// Write `o`'s rows to its parts and free them, keeping each table's unique
/// column only.
pub fn spill(pipeline: &Pipeline, mut o: FileOutcome, base: &Path) -> Result<FileOutcome> {
    let names = o.sheet_names();
    for ((ti, table), path) in pipeline
        .tables
        .iter()
        .enumerate()
        .zip(paths(base, pipeline.tables.len()))
    {
        let mut df = build_frame(
            table,
            &[SourcedBatch {
                batch: &o.batches[ti],
                file: "",
                sheet_names: &names,
            }],
        )?;
        let _ = df.drop_in_place("source_file")?;
        write(&path, &mut df)?;
        o.batches[ti].retain_key_only(&table.unique);
    }
    Ok(o)
}

/// LZ4 (fast to write and read back), no statistics; atomic (the same bytes
/// at two paths may be written by two threads at once).
///
/// Serial on purpose: a worker that waits for polars' own pool lets that
/// pool's scheduler run other work meanwhile, which is how every workbook
/// of a run once ended up half-read in memory at the same time.
fn write(path: &Path, df: &mut DataFrame) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = crate::util::temp_for(path);
    let f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let (f, io_error) = crate::util::KeepsIoError::new(f);
    ParquetWriter::new(f)
        .set_parallel(false)
        .with_compression(ParquetCompression::Lz4Raw)
        .with_statistics(StatisticsOptions::empty())
        .finish(df)
        .map_err(|e| crate::util::parquet_error(path, e, &io_error))?;
    crate::util::finish_atomic(&tmp, path)
}

/// A part, with `source_file` put back in its place (after the table's own
/// columns) and the duplicate rows (`keep` false) left out.
pub fn read(path: &Path, file: &str, keep: &[bool]) -> Result<DataFrame> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut df = ParquetReader::new(f)
        .read_parallel(ParallelStrategy::None)
        .finish()
        .map_err(|e| anyhow::anyhow!("cannot read Parquet {}: {e}", path.display()))?;
    if df.height() != keep.len() {
        anyhow::bail!(
            "{} has {} rows, its outcome {}: the cache is inconsistent (run with --full)",
            path.display(),
            df.height(),
            keep.len()
        );
    }
    if keep.iter().any(|k| !k) {
        let mask = BooleanChunked::from_slice("keep".into(), keep);
        df = df.filter(&mask)?;
    }
    let at = df.width().saturating_sub(2);
    let files = StringChunked::full("source_file".into(), file, df.height());
    df.insert_column(at, files.into_series().into())?;
    Ok(df)
}
