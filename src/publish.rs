//! Writing outputs: Parquet (zstd, full statistics), CSV, JSON. The only stage
//! that writes files. Each file is written under a temporary name in its
//! folder and renamed into place, so a reader never opens a half-written file.

use crate::extract::Finding;
use crate::indicators::{IndicatorValue, plain_number};
pub use crate::util::{ParquetSink, write_bytes, write_bytes_unsynced, write_parquet};
use polars::prelude::*;

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
