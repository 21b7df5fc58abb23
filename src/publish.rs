//! Writing outputs: Parquet (zstd, full statistics), CSV, JSON. The only stage
//! that writes files. Each file is written under a temporary name in its
//! folder and renamed into place, so a reader never opens a half-written file.

use crate::extract::Finding;
use crate::indicators::{IndicatorValue, plain_number};
use anyhow::{Context, Result};
use polars::polars_utils::compression::ZstdLevel;
use polars::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

pub(crate) fn temp_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write: two threads may write the same path at once (the
    // same workbook bytes at two paths share a cache entry).
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

pub(crate) fn finish_atomic(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

/// A Parquet file written batch by batch (a workbook at a time), so a table
/// of any number of workbooks is never whole in memory. Published by
/// [`ParquetSink::finish`] with the same atomic rename as [`write_parquet`].
pub struct ParquetSink {
    tmp: PathBuf,
    path: PathBuf,
    writer: polars::io::parquet::write::BatchedWriter<std::fs::File>,
    pub rows: usize,
}

impl ParquetSink {
    /// `zstd_level`: 3 for the private tables; the public ones are mostly
    /// hex hashes, which level 1 compresses as well, twice as fast.
    pub fn create(path: &Path, schema: &Schema, zstd_level: i32) -> Result<ParquetSink> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = temp_for(path);
        let f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let writer = ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(Some(ZstdLevel::try_new(
                zstd_level,
            )?)))
            .with_statistics(StatisticsOptions::default())
            .with_row_group_size(Some(64 * 1024))
            .batched(schema)
            .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", path.display()))?;
        Ok(ParquetSink {
            tmp,
            path: path.to_path_buf(),
            writer,
            rows: 0,
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        self.writer
            .write_batch(df)
            .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", self.path.display()))?;
        self.rows += df.height();
        Ok(())
    }

    pub fn finish(self) -> Result<u64> {
        let size = self
            .writer
            .finish()
            .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", self.path.display()))?;
        finish_atomic(&self.tmp, &self.path)?;
        Ok(size)
    }
}

/// Like [`write_bytes`] but without waiting for the disk: for the cache, where
/// an entry lost in a crash (or left empty) is simply parsed again.
pub fn write_bytes_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, false)
}

pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, true)
}

fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = temp_for(path);
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
    }
    finish_atomic(&tmp, path)
}

pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<u64> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = temp_for(path);
    let f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let size = ParquetWriter::new(f)
        .with_compression(ParquetCompression::Zstd(Some(ZstdLevel::try_new(3)?)))
        .with_statistics(StatisticsOptions::default())
        .with_row_group_size(Some(64 * 1024))
        .finish(df)
        .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", path.display()))?;
    finish_atomic(&tmp, path)?;
    Ok(size)
}

/// RFC 4180 quoting when needed.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn indicators_csv(values: &[IndicatorValue]) -> String {
    // `stale_since`: empty for a figure of this run; the run id of the
    // earlier run it was carried from when its pipeline's workbooks are
    // missing now.
    // `rows_rejected`, `rows_duplicate`, `rows_out_of_period`,
    // `cells_excluded`: the source rows and cells the figure's query would
    // have read and could not (see `exclusions`).
    let mut s = String::from(
        "indicator,value,unit,label,pipeline,stale_since,rows_rejected,rows_duplicate,rows_out_of_period,cells_excluded\n",
    );
    for v in values {
        let value = v.value.map(plain_number).unwrap_or_default();
        let e = &v.excluded;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&v.id),
            value,
            csv_field(&v.unit),
            csv_field(&v.label),
            csv_field(&v.pipeline),
            csv_field(v.stale_since.as_deref().unwrap_or("")),
            e.rows_rejected,
            e.rows_duplicate,
            e.rows_out_of_period,
            e.cells_excluded
        ));
    }
    s
}

pub fn indicators_frame(values: &[IndicatorValue]) -> PolarsResult<DataFrame> {
    df!(
        "indicator" => values.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(),
        "value" => values.iter().map(|v| v.value).collect::<Vec<_>>(),
        "unit" => values.iter().map(|v| v.unit.as_str()).collect::<Vec<_>>(),
        "label" => values.iter().map(|v| v.label.as_str()).collect::<Vec<_>>(),
        "pipeline" => values.iter().map(|v| v.pipeline.as_str()).collect::<Vec<_>>(),
        "stale_since" => values.iter().map(|v| v.stale_since.as_deref()).collect::<Vec<_>>(),
        "rows_rejected" => values.iter().map(|v| v.excluded.rows_rejected).collect::<Vec<_>>(),
        "rows_duplicate" => values.iter().map(|v| v.excluded.rows_duplicate).collect::<Vec<_>>(),
        "rows_out_of_period" => values.iter().map(|v| v.excluded.rows_out_of_period).collect::<Vec<_>>(),
        "cells_excluded" => values.iter().map(|v| v.excluded.cells_excluded).collect::<Vec<_>>(),
    )
}

pub fn findings_frame(findings: &[Finding]) -> PolarsResult<DataFrame> {
    let s = |f: fn(&Finding) -> &str| findings.iter().map(f).collect::<Vec<&str>>();
    df!(
        "pipeline" => s(|f| &f.pipeline),
        "table" => s(|f| &f.table),
        "file" => s(|f| &f.file),
        "sheet" => s(|f| &f.sheet),
        "row" => findings.iter().map(|f| i64::from(f.row)).collect::<Vec<_>>(),
        "cell" => s(|f| &f.cell),
        "column" => s(|f| &f.column),
        "header" => s(|f| &f.header),
        "value" => s(|f| &f.value),
        "severity" => findings.iter().map(|f| match f.severity { crate::extract::Severity::Error => "error", crate::extract::Severity::Warning => "warning" }).collect::<Vec<_>>(),
        "code" => s(|f| &f.code),
        "reason" => s(|f| &f.reason),
        "related" => s(|f| &f.related),
        "excludes" => s(|f| &f.excludes),
    )
}

/// `rejects.csv` is for people: it starts with a UTF-8 byte-order mark, or
/// Excel opens it as ANSI and garbles the Vietnamese. (`indicators*.csv` are
/// also read by BI tools and scripts, some of which keep a BOM in the first
/// column's name: they have none.)
pub fn findings_csv(findings: &[Finding]) -> String {
    let mut s = String::from(
        "\u{feff}pipeline,table,file,sheet,row,cell,column,header,value,severity,code,reason,related,excludes\n",
    );
    for f in findings {
        let sev = match f.severity {
            crate::extract::Severity::Error => "error",
            crate::extract::Severity::Warning => "warning",
        };
        let fields = [
            csv_field(&f.pipeline),
            csv_field(&f.table),
            csv_field(&f.file),
            csv_field(&f.sheet),
            f.row.to_string(),
            csv_field(&f.cell),
            csv_field(&f.column),
            csv_field(&f.header),
            csv_field(&f.value),
            sev.to_string(),
            csv_field(&f.code),
            csv_field(&f.reason),
            csv_field(&f.related),
            csv_field(&f.excludes),
        ];
        s.push_str(&fields.join(","));
        s.push('\n');
    }
    s
}

/// `indicators_by_<by>.csv`: indicator, <by>, value, unit, label, pipeline.
pub fn breakdown_csv(by: &str, rows: &[&crate::indicators::BreakdownRow]) -> String {
    let mut s = format!(
        "indicator,{by},value,unit,label,pipeline,rows_rejected,rows_duplicate,rows_out_of_period,cells_excluded\n"
    );
    for r in rows {
        let e = &r.excluded;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.id),
            csv_field(&r.key),
            r.value.map(plain_number).unwrap_or_default(),
            csv_field(&r.unit),
            csv_field(&r.label),
            csv_field(&r.pipeline),
            e.rows_rejected,
            e.rows_duplicate,
            e.rows_out_of_period,
            e.cells_excluded
        ));
    }
    s
}

pub fn breakdown_frame(
    by: &str,
    rows: &[&crate::indicators::BreakdownRow],
) -> PolarsResult<DataFrame> {
    let n = rows.len();
    DataFrame::new(
        n,
        vec![
            Series::new(
                "indicator".into(),
                rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                by.into(),
                rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "value".into(),
                rows.iter().map(|r| r.value).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "unit".into(),
                rows.iter().map(|r| r.unit.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "label".into(),
                rows.iter().map(|r| r.label.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "pipeline".into(),
                rows.iter().map(|r| r.pipeline.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "rows_rejected".into(),
                rows.iter()
                    .map(|r| r.excluded.rows_rejected)
                    .collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "rows_duplicate".into(),
                rows.iter()
                    .map(|r| r.excluded.rows_duplicate)
                    .collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "rows_out_of_period".into(),
                rows.iter()
                    .map(|r| r.excluded.rows_out_of_period)
                    .collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "cells_excluded".into(),
                rows.iter()
                    .map(|r| r.excluded.cells_excluded)
                    .collect::<Vec<_>>(),
            )
            .into(),
        ],
    )
}
