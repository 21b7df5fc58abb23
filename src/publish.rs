//! Writing outputs: Parquet (zstd, full statistics), CSV, JSON. The only stage
//! that writes files. Each file is written under a temporary name in its
//! folder and renamed into place, so a reader never opens a half-written file.

use crate::config::Config;
use crate::extract::Finding;
use crate::indicators::{self};
use crate::indicators::{IndicatorValue, plain_number};
use crate::pipeline::Pipeline;
use crate::record::PipelineStatus;
use crate::record::{FileReport, PipelineRef};
use crate::table::build_frame;
use crate::timing::{self, Phase};
pub use crate::util::{ParquetSink, write_bytes, write_bytes_unsynced, write_parquet};
use anyhow::{Context, Result};
use polars::prelude::*;
use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

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
        "indicator,value,unit,label,pipeline,stale_since,rows_rejected,rows_duplicate,rows_out_of_period,cells_excluded,commune,period\n",
    );
    for v in values {
        let value = v.value.map(plain_number).unwrap_or_default();
        let e = &v.excluded;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&v.id),
            value,
            csv_field(&v.unit),
            csv_field(&v.label),
            csv_field(&v.pipeline),
            csv_field(v.stale_since.as_deref().unwrap_or("")),
            e.rows_rejected,
            e.rows_duplicate,
            e.rows_out_of_period,
            e.cells_excluded,
            csv_field(&v.commune),
            csv_field(&v.period)
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
        "commune" => values.iter().map(|v| v.commune.as_str()).collect::<Vec<_>>(),
        "period" => values.iter().map(|v| v.period.as_str()).collect::<Vec<_>>(),
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
        "indicator,{by},value,unit,label,pipeline,rows_rejected,rows_duplicate,rows_out_of_period,cells_excluded,commune,period\n"
    );
    for r in rows {
        let e = &r.excluded;
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.id),
            csv_field(&r.key),
            r.value.map(plain_number).unwrap_or_default(),
            csv_field(&r.unit),
            csv_field(&r.label),
            csv_field(&r.pipeline),
            e.rows_rejected,
            e.rows_duplicate,
            e.rows_out_of_period,
            e.cells_excluded,
            csv_field(&r.commune),
            csv_field(&r.period)
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
            Series::new(
                "commune".into(),
                rows.iter().map(|r| r.commune.as_str()).collect::<Vec<_>>(),
            )
            .into(),
            Series::new(
                "period".into(),
                rows.iter().map(|r| r.period.as_str()).collect::<Vec<_>>(),
            )
            .into(),
        ],
    )
}

/// What the outputs are written from.
pub struct Figures<'a> {
    pub indicators: &'a [IndicatorValue],
    pub breakdowns: &'a [indicators::BreakdownRow],
    pub findings: &'a [Finding],
    pub files: &'a [FileReport],
}

/// Every output of the release but run.json: indicators (CSV, Parquet),
/// breakdowns per dimension, rejects, bao-cao.md and .html, tong-hop.xlsx,
/// feedback.
pub fn write_outputs(
    out: &Path,
    config: &Config,
    all_pipelines: &[&Pipeline],
    statuses: &[PipelineRef],
    figures: Figures<'_>,
    started_at: chrono::DateTime<chrono::Local>,
    feedback_cache: &FeedbackCache,
) -> Result<()> {
    write_bytes(
        &out.join("indicators.csv"),
        indicators_csv(figures.indicators).as_bytes(),
    )?;
    write_parquet(
        &out.join("indicators.parquet"),
        &mut indicators_frame(figures.indicators)?,
    )?;
    write_parquet(
        &out.join("private/rejects.parquet"),
        &mut findings_frame(figures.findings)?,
    )?;
    write_bytes(
        &out.join("private/rejects.csv"),
        findings_csv(figures.findings).as_bytes(),
    )?;
    // One file per dimension: indicators_by_village.csv, …
    let mut dimensions: Vec<&str> = all_pipelines
        .iter()
        .filter(|p| {
            statuses
                .iter()
                .any(|s| s.name == p.name && s.computed_by.is_some())
        })
        .flat_map(|p| p.breakdowns.iter().map(|b| b.by.as_str()))
        .collect();
    dimensions.sort_unstable();
    dimensions.dedup();
    for by in dimensions {
        let rows: Vec<&indicators::BreakdownRow> =
            figures.breakdowns.iter().filter(|b| b.by == by).collect();
        write_bytes(
            &out.join(format!("indicators_by_{by}.csv")),
            breakdown_csv(by, &rows).as_bytes(),
        )?;
        write_parquet(
            &out.join(format!("indicators_by_{by}.parquet")),
            &mut breakdown_frame(by, &rows)?,
        )?;
    }
    // What the statistician reads: every pipeline that has figures.
    let reported: Vec<&Pipeline> = all_pipelines
        .iter()
        .copied()
        .filter(|p| {
            statuses
                .iter()
                .any(|s| s.name == p.name && s.status != PipelineStatus::NotRun)
        })
        .collect();
    let notes: Vec<(String, String)> = statuses
        .iter()
        .filter_map(|s| Some((s.name.clone(), crate::report::text::report_note(s)?)))
        .collect();
    write_bytes(
        &out.join("bao-cao.md"),
        crate::report::text::report_markdown(
            &config.commune.name,
            &config.period,
            &reported,
            figures.indicators,
            &notes,
        )
        .as_bytes(),
    )?;
    let members: std::collections::BTreeMap<(String, String), String> = figures
        .breakdowns
        .iter()
        .filter_map(|b| {
            let p = all_pipelines.iter().find(|p| p.name == b.pipeline)?;
            let label = p.member_label(&b.by, &b.key)?;
            Some(((b.by.clone(), b.key.clone()), label.into_owned()))
        })
        .collect();
    // When each file reached the inbox, as people read it.
    let received: std::collections::BTreeMap<String, String> = figures
        .files
        .iter()
        .filter_map(|f| {
            let t = crate::util::modified_local(&config.inbox.join(&f.path))?;
            Some((f.path.clone(), t.format("%d/%m/%Y %H:%M").to_string()))
        })
        .collect();
    write_bytes(
        &out.join("bao-cao.html"),
        crate::report::html::report_html(&crate::report::html::HtmlContext {
            commune: &config.commune.name,
            province: &config.commune.province,
            period: &config.period,
            made: started_at,
            pipelines: &reported,
            statuses,
            notes: &notes,
            indicators: figures.indicators,
            breakdowns: figures.breakdowns,
            targets: &config.targets,
            files: figures.files,
            received: &received,
        })
        .as_bytes(),
    )?;
    let titles: std::collections::BTreeMap<String, String> = all_pipelines
        .iter()
        .map(|p| (p.name.clone(), p.title.clone()))
        .collect();
    // The first pipeline to name a dimension names it for the summary.
    let mut dimension_labels = std::collections::BTreeMap::<String, String>::new();
    for p in all_pipelines.iter() {
        for b in &p.breakdowns {
            dimension_labels
                .entry(b.by.clone())
                .or_insert_with(|| b.by_label.clone());
        }
    }
    let summary = crate::report::workbook::summary(
        figures.indicators,
        figures.breakdowns,
        figures.files,
        &config.targets,
        &crate::report::workbook::SummaryContext {
            commune: &config.commune.name,
            period: &config.period,
            made: started_at,
            titles: &titles,
            members: &members,
            dimensions: &dimension_labels,
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot build tong-hop.xlsx: {e}"))?;
    write_bytes(&out.join("tong-hop.xlsx"), &summary)?;
    write_feedback(
        out,
        &config.inbox,
        figures.files,
        figures.findings,
        &config.period,
        feedback_cache,
    )?;
    Ok(())
}

/// The private and public Parquet of one table from its workbooks' parts, in
/// workbook order, without duplicates (`keep`). A few workbooks at a time are
/// read and pseudonymised in parallel, then appended in order: memory holds
/// those few, never the whole table. Returns the number of rows.
pub use crate::model::COMMUNE_CODE;

pub fn stream_table(
    table: &crate::pipeline::Table,
    parts: &[(&Path, &str, &[bool])],
    private: &Path,
    public: &Path,
    pseudonymizer: &crate::privacy::Pseudonymizer,
    commune: &str,
) -> Result<usize> {
    // The commune's code as text inside every public file, beside the
    // `commune=` partition that readers would take for the integer 3637.
    let with_code = |mut df: DataFrame| -> PolarsResult<DataFrame> {
        let h = df.height();
        df.with_column(StringChunked::full(COMMUNE_CODE.into(), commune, h).into_column())?;
        Ok(df)
    };
    let empty = build_frame(table, &[])?;
    let empty_public = with_code(crate::privacy::public_frame(table, &empty, pseudonymizer)?)?;
    let mut private_sink = ParquetSink::create(private, empty.schema(), 3)?;
    let mut public_sink = ParquetSink::create(public, empty_public.schema(), 1)?;
    let group = rayon::current_num_threads().max(1) * 2;
    let prepare = |chunk: &[(&Path, &str, &[bool])]| -> Vec<Result<(DataFrame, DataFrame)>> {
        chunk
            .par_iter()
            .map(|(path, file, keep)| {
                let at = Instant::now();
                let df = crate::parts::read(path, file, keep)?;
                timing::add(Phase::Frame, at);
                let at = Instant::now();
                let public = with_code(crate::privacy::public_frame(table, &df, pseudonymizer)?)?;
                timing::add(Phase::Public, at);
                Ok((df, public))
            })
            .collect()
    };
    let mut write = |frames: Vec<Result<(DataFrame, DataFrame)>>| -> Result<()> {
        for f in frames {
            let (df, public) = f?;
            timing::time(Phase::ParquetPrivate, || private_sink.write(&df))?;
            timing::time(Phase::Public, || public_sink.write(&public))?;
        }
        Ok(())
    };
    // Read and pseudonymise the next few workbooks while the previous ones
    // are encoded: the two overlap, and memory holds two groups at most.
    let mut ready: Vec<Result<(DataFrame, DataFrame)>> = Vec::new();
    for chunk in parts.chunks(group) {
        let previous = std::mem::take(&mut ready);
        let (next, wrote) = rayon::join(|| prepare(chunk), || write(previous));
        wrote?;
        ready = next;
    }
    write(ready)?;
    let rows = private_sink.rows;
    timing::time(Phase::ParquetPrivate, || private_sink.finish())?;
    timing::time(Phase::Public, || public_sink.finish())?;
    Ok(rows)
}

/// `phan-hoi/`: one workbook per source file with findings. Feedback from an
/// earlier run is removed first, so a fixed file leaves no stale feedback.
/// Cells copied into a feedback workbook at most, per sheet.
const MAX_COPY_CELLS: u64 = 2_000_000;

/// The source sheets that have findings on a cell, read again from the
/// inbox (the same bytes as this run read: checked by their hash), for the
/// feedback workbook's copies. None when the file changed or cannot be read:
/// the feedback list still says everything.
fn source_sheets(
    inbox: &Path,
    f: &FileReport,
    findings: &[&Finding],
) -> Option<Vec<(String, crate::ingest::Grid)>> {
    if f.status == crate::record::FileStatus::Failed || f.carried {
        return Some(Vec::new());
    }
    let path = inbox.join(&f.path);
    let bytes = std::fs::read(&path).ok()?;
    if crate::util::sha256_hex(&bytes) != f.sha256 {
        tracing::info!(path = %f.path, "changed since it was read: its feedback has no sheet copies");
        return None;
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut wb = crate::ingest::open(bytes, &ext).ok()?;
    let sheets = copied_sheets(f, findings)
        .into_iter()
        .filter_map(|n| {
            let g = wb.grid(n).ok()?;
            fits_a_copy(&g).then(|| (n.to_string(), g))
        })
        .collect();
    Some(sheets)
}

/// Whether a sheet is small enough to be copied into a feedback workbook.
fn fits_a_copy(g: &crate::ingest::Grid) -> bool {
    u64::from(g.height()) * u64::from(g.width()) <= MAX_COPY_CELLS
}

/// Remove the cached feedback workbooks no file of this run used.
fn prune_feedback_cache(dir: &Path, used: &[String]) {
    let used: std::collections::HashSet<&str> = used.iter().map(String::as_str).collect();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let key = name.strip_suffix(".xlsx").unwrap_or(&name);
        if !used.contains(key) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The sheets a feedback workbook copies: those with a finding on a cell, in
/// the workbook's own order.
fn copied_sheets<'f>(f: &'f FileReport, findings: &[&Finding]) -> Vec<&'f str> {
    f.sheets
        .iter()
        .map(|s| s.name.as_str())
        .filter(|n| findings.iter().any(|x| x.sheet == *n && !x.cell.is_empty()))
        .collect()
}

/// In the reader process, once its outcome is out: the feedback workbook
/// this file gets when no duplicate crosses workbooks (its findings settled
/// against its own rows alone, as the run settles them against every
/// workbook's), built from the sheets the reader decoded, into the feedback
/// cache under its key. The run then finds it there instead of decoding the
/// workbook again; when the run's findings differ, the key differs and the
/// entry is pruned unused. Nothing is written when a sheet to copy was not
/// kept.
pub fn prepare_feedback(
    pipeline: &Pipeline,
    outcome: &[u8],
    kept: crate::extract::Kept,
    period: &crate::config::Period,
    dir: &Path,
) -> Result<()> {
    if !kept.complete {
        return Ok(());
    }
    let mut o: crate::outcome::FileOutcome = serde_json::from_slice(outcome)?;
    if o.failed() {
        return Ok(());
    }
    crate::dedupe::settle_duplicates(pipeline, &mut [&mut o]);
    let mut findings = std::mem::take(&mut o.findings);
    // As the run orders them (`run::assemble`), within one file.
    findings.sort_by(|a, b| (&a.sheet, a.row, &a.cell).cmp(&(&b.sheet, b.row, &b.cell)));
    let report = o.into_report();
    let mine: Vec<&Finding> = findings.iter().filter(|x| x.file == report.path).collect();
    if mine.is_empty() {
        return Ok(());
    }
    let mut grids = kept.grids;
    let mut sources = Vec::new();
    for name in copied_sheets(&report, &mine) {
        let Some(i) = grids.iter().position(|(n, _)| n == name) else {
            return Ok(());
        };
        let (n, g) = grids.swap_remove(i);
        if fits_a_copy(&g) {
            sources.push((n, g));
        }
    }
    let key = feedback_key(&report, &mine, period);
    let bytes = crate::report::workbook::feedback(&report, &mine, period, &sources)
        .map_err(|e| anyhow::anyhow!("cannot build feedback for {}: {e}", report.path))?;
    write_bytes_unsynced(&dir.join(format!("{key}.xlsx")), &bytes)
}

/// Bump when the feedback workbook's layout changes: entries of the
/// feedback cache made by another layout are not reused.
const FEEDBACK_FORMAT: u32 = 2;

/// The feedback cache key of one file: everything its workbook is made of
/// (the bytes it copies, by their hash; what the guide sheet says of the
/// file; its findings; the period; the layout).
fn feedback_key(f: &FileReport, mine: &[&Finding], period: &crate::config::Period) -> String {
    let what = serde_json::json!({
        "layout": [env!("CARGO_PKG_VERSION"), FEEDBACK_FORMAT],
        "file": [&f.path, &f.sha256, &f.status, f.carried, &f.errors],
        "counts": [f.rows_read, f.accepted, f.rejected, f.skipped, f.warning_rows],
        "sheets": f.sheets.iter().map(|s| &s.name).collect::<Vec<_>>(),
        "findings": mine,
        "period": [period.from, period.to],
    });
    crate::util::sha256_hex(what.to_string().as_bytes())
}

pub use crate::cache::FeedbackCache;

/// Write `phan-hoi/`. A workbook whose key is in the cache is copied instead
/// of read again and rebuilt, so a nightly run in which one workbook changed
/// rebuilds one feedback file, not all of them; entries no file of this run
/// uses are removed.
pub fn write_feedback(
    out: &Path,
    inbox: &Path,
    files: &[FileReport],
    findings: &[Finding],
    period: &crate::config::Period,
    cache: &FeedbackCache,
) -> Result<()> {
    let dir = out.join("private").join("phan-hoi");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    // Files with findings, and files that failed (they are told why).
    let to_tell: Vec<&FileReport> = files
        .iter()
        .filter(|f| {
            f.status == crate::record::FileStatus::Failed
                || findings.iter().any(|x| x.file == f.path)
        })
        .collect();
    let paths: Vec<&str> = to_tell.iter().map(|f| f.path.as_str()).collect();
    let names = crate::report::workbook::feedback_names(&paths);
    std::fs::create_dir_all(&cache.dir)
        .with_context(|| format!("cannot create {}", cache.dir.display()))?;
    // In parallel: each is built from its own source sheets and written alone.
    let used: Vec<(String, bool)> = to_tell
        .par_iter()
        .zip(names.par_iter())
        .map(|(f, name)| {
            let mine: Vec<&Finding> = findings.iter().filter(|x| x.file == f.path).collect();
            let key = feedback_key(f, &mine, period);
            let entry = cache.dir.join(format!("{key}.xlsx"));
            // An entry cut short by a crash (written without waiting for
            // the disk) lacks the zip's closing record: built again.
            let whole = |b: &Vec<u8>| b.len() > 22 && b[b.len() - 22..].starts_with(b"PK\x05\x06");
            if let Some(bytes) = Some(&entry)
                .filter(|_| cache.reuse)
                .and_then(|e| std::fs::read(e).ok())
                .filter(whole)
            {
                write_bytes(&dir.join(name), &bytes)?;
                return Ok((key, true));
            }
            tracing::debug!(file = %f.path, "feedback built");
            let sources = source_sheets(inbox, f, &mine);
            let complete = sources.is_some();
            let bytes = crate::report::workbook::feedback(
                f,
                &mine,
                period,
                sources.as_deref().unwrap_or_default(),
            )
            .map_err(|e| anyhow::anyhow!("cannot build feedback for {}: {e}", f.path))?;
            write_bytes(&dir.join(name), &bytes)?;
            // Not kept when the file changed or could not be read again: the
            // copies are missing from this one.
            if complete {
                write_bytes_unsynced(&entry, &bytes)?;
            }
            Ok((key, false))
        })
        .collect::<Result<Vec<(String, bool)>>>()?;
    let from_cache = used.iter().filter(|(_, hit)| *hit).count();
    tracing::info!(
        from_cache,
        built = used.len() - from_cache,
        "feedback workbooks"
    );
    let used: Vec<String> = used.into_iter().map(|(k, _)| k).collect();
    prune_feedback_cache(&cache.dir, &used);
    Ok(())
}
