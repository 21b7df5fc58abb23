//! A commune's pipelines computed now (not carried from the previous
//! release): duplicates settled across their workbooks, tables streamed
//! from the parts (private and public), figures, what they lack, checks;
//! and the run's exit code from what was computed.

use crate::config::Config;
use crate::extract::{FileOutcome, Finding, Severity};
use crate::indicators::{self, IndicatorValue, check_finding, no_figures, sql_input};
use crate::pipeline::Pipeline;
use crate::publish::stream_table;
use crate::record::{PipelineRef, PipelineStatus, TableOutput, Totals};
use crate::timing::{self, Phase};
use anyhow::{Context, Result};
use polars::prelude::{LazyFrame, PlRefPath, ScanArgsParquet};
use std::path::{Path, PathBuf};

/// Where the computed outputs of the pipelines gather.
pub struct Acc<'a> {
    pub indicators: &'a mut Vec<IndicatorValue>,
    pub breakdowns: &'a mut Vec<indicators::BreakdownRow>,
    pub checks: &'a mut Vec<indicators::CheckResult>,
    pub tables: &'a mut Vec<TableOutput>,
    pub findings: &'a mut Vec<Finding>,
}

/// Every pipeline computed now (not carried): duplicates settled across its
/// workbooks, then its tables, figures and checks; the workbooks' findings
/// go to the run's.
#[allow(clippy::too_many_arguments)]
pub fn compute_all(
    pipelines: &[&Pipeline],
    statuses: &[PipelineRef],
    work: &[(usize, PathBuf, String)],
    outcomes: &mut [FileOutcome],
    parts: &[Vec<PathBuf>],
    config: &Config,
    out: &Path,
    pseudonymizer: &crate::privacy::Pseudonymizer,
    acc: &mut Acc<'_>,
) -> Result<()> {
    for (pi, pipeline) in pipelines.iter().enumerate() {
        let status = statuses
            .iter()
            .find(|s| s.name == pipeline.name)
            .map_or(PipelineStatus::Computed, |s| s.status);
        if status.is_carried() {
            continue;
        }
        let _span = tracing::info_span!("pipeline", pipeline = %pipeline.name).entered();
        let mut mine: Vec<&mut FileOutcome> = outcomes
            .iter_mut()
            .zip(work)
            .filter(|(_, w)| w.0 == pi)
            .map(|(o, _)| o)
            .collect();
        timing::time(Phase::Dedupe, || {
            crate::dedupe::settle_duplicates(pipeline, &mut mine)
        });
        let mine_parts: Vec<&Vec<PathBuf>> = parts
            .iter()
            .zip(work)
            .filter(|(_, w)| w.0 == pi)
            .map(|(p, _)| p)
            .collect();
        compute_pipeline(
            pipeline,
            status,
            &mine,
            &mine_parts,
            config,
            out,
            pseudonymizer,
            acc,
        )?;
        for o in mine.iter_mut() {
            acc.findings.append(&mut o.findings);
        }
    }
    Ok(())
}

/// One pipeline computed now: its tables streamed from the parts (private
/// and public), its figures, what they lack, its checks.
#[allow(clippy::too_many_arguments)]
pub fn compute_pipeline(
    pipeline: &Pipeline,
    status: PipelineStatus,
    mine: &[&mut FileOutcome],
    mine_parts: &[&Vec<PathBuf>],
    config: &Config,
    out: &Path,
    pseudonymizer: &crate::privacy::Pseudonymizer,
    acc: &mut Acc<'_>,
) -> Result<()> {
    let frames = write_tables(pipeline, mine, mine_parts, config, out, pseudonymizer, acc)?;
    if status == PipelineStatus::NoWorkbooks {
        acc.indicators.extend(no_figures(pipeline));
        return Ok(());
    }
    let mut computed = timing::time(Phase::Indicators, || {
        indicators::compute(pipeline, &frames, config)
    });
    let shadows = lacking(pipeline, mine, mine_parts);
    timing::time(Phase::Indicators, || {
        crate::exclusions::attach(
            pipeline,
            &shadows,
            config,
            &mut computed.indicators,
            &mut computed.breakdowns,
        )
    });
    acc.findings.extend(
        computed
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(check_finding),
    );
    acc.indicators.extend(computed.indicators);
    acc.breakdowns.extend(computed.breakdowns);
    acc.checks.extend(computed.checks);
    Ok(())
}

/// The pipeline's tables streamed from the workbooks' parts into the
/// private and public zones (listed in `acc.tables`); each as the SQL reads
/// it (table name, frame).
fn write_tables(
    pipeline: &Pipeline,
    mine: &[&mut FileOutcome],
    mine_parts: &[&Vec<PathBuf>],
    config: &Config,
    out: &Path,
    pseudonymizer: &crate::privacy::Pseudonymizer,
    acc: &mut Acc<'_>,
) -> Result<Vec<(String, LazyFrame)>> {
    let mut frames = Vec::new();
    for (ti, table) in pipeline.tables.iter().enumerate() {
        let rel = format!(
            "tables/{}_{}/commune={}/period={}/part-0.parquet",
            pipeline.name,
            table.name,
            config.commune.code,
            config.period.partition()
        );
        let private_path = out.join("private").join(&rel);
        let table_parts: Vec<(&Path, &str, &[bool])> = mine_parts
            .iter()
            .zip(mine.iter())
            .map(|(ps, o)| {
                (
                    ps[ti].as_path(),
                    o.path.as_str(),
                    o.batches[ti].keep.as_slice(),
                )
            })
            .collect();
        let rows = stream_table(
            table,
            &table_parts,
            &private_path,
            &out.join("public").join(&rel),
            pseudonymizer,
            &config.commune.code,
        )
        .with_context(|| format!("building table {}.{}", pipeline.name, table.name))?;
        acc.tables.push(TableOutput {
            pipeline: pipeline.name.clone(),
            table: table.name.clone(),
            rows,
            path: format!("private/{rel}"),
        });
        let lazy = LazyFrame::scan_parquet(
            PlRefPath::try_from_path(&private_path)?,
            ScanArgsParquet::default(),
        )?;
        frames.push((table.name.clone(), sql_input(pipeline, lazy)?));
    }
    Ok(frames)
}

/// Per table, the rows its figures lack (rejected, duplicate, excluded
/// cells) as a frame the figures' own queries can count. The figures stand
/// without it: a failure is logged and leaves their exclusion counts empty.
fn lacking(
    pipeline: &Pipeline,
    mine: &[&mut FileOutcome],
    mine_parts: &[&Vec<PathBuf>],
) -> Vec<(String, polars::prelude::DataFrame)> {
    let mut shadows = Vec::new();
    for (ti, table) in pipeline.tables.iter().enumerate() {
        let names: Vec<Vec<String>> = mine.iter().map(|o| o.sheet_names()).collect();
        let excluded: Vec<(&crate::extract::Excluded, &str, &[String])> = mine
            .iter()
            .zip(&names)
            .filter(|(o, _)| o.excluded.get(ti).is_some_and(|e| !e.is_empty()))
            .map(|(o, n)| (&o.excluded[ti], o.path.as_str(), n.as_slice()))
            .collect();
        let shadow = mine_parts
            .iter()
            .zip(mine.iter())
            .filter(|(_, o)| o.batches[ti].keep.iter().any(|k| !k))
            .map(|(ps, o)| {
                let dropped: Vec<bool> = o.batches[ti].keep.iter().map(|k| !k).collect();
                crate::parts::read(&ps[ti], &o.path, &dropped)
            })
            .collect::<Result<Vec<_>>>()
            .and_then(|dups| Ok(crate::exclusions::shadow_frame(table, &excluded, dups)?));
        match shadow {
            Ok(df) => shadows.push((table.name.clone(), df)),
            Err(e) => tracing::warn!(
                stage = "indicators",
                table = %table.name,
                error = %e,
                "cannot list the rows this table's figures lack"
            ),
        }
    }
    shadows
}

/// Every figure names its commune and period (as the table partitions do).
pub fn stamp_scope(
    config: &Config,
    indicators: &mut [IndicatorValue],
    breakdowns: &mut [indicators::BreakdownRow],
) {
    let period = config.period.partition();
    for v in indicators.iter_mut() {
        v.commune.clone_from(&config.commune.code);
        v.period.clone_from(&period);
    }
    for b in breakdowns.iter_mut() {
        b.commune.clone_from(&config.commune.code);
        b.period.clone_from(&period);
    }
}

/// 1 when the operator must look: a workbook failed, a figure could not be
/// computed, a pipeline's workbooks all vanished, or an error-severity check
/// failed; else 0.
pub fn exit_code(
    totals: &Totals,
    indicators: &[IndicatorValue],
    statuses: &[PipelineRef],
    checks: &[indicators::CheckResult],
) -> i32 {
    let indicator_failed = indicators.iter().any(|i| i.error.is_some());
    let missing_inputs = statuses
        .iter()
        .any(|s| s.status == PipelineStatus::MissingInputs);
    let check_failed = checks
        .iter()
        .any(|c| !c.passed && c.severity == Severity::Error);
    i32::from(totals.files_failed > 0 || indicator_failed || missing_inputs || check_failed)
}
