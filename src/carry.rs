//! Carrying a pipeline's outputs from the previous release into this one,
//! so that a run never publishes less than the last release without saying
//! so: a pipeline left out with `--only`, or one whose workbooks are all
//! missing now (an unmounted share), keeps the tables, figures, rejects and
//! feedback the previous release had for it, with the run that computed
//! them. Tables are hard links (no copy); findings are read back from the
//! previous `private/rejects.parquet`. [`pipeline_statuses`] decides, per
//! pipeline, whether a run computes it, carries it, or has no figures.

use crate::config::Config;
use crate::extract::{Finding, Severity};
use crate::indicators::no_figures;
use crate::indicators::{BreakdownRow, CheckResult, IndicatorValue};
use crate::outcome::FileOutcome;
use crate::pipeline::Pipeline;
use crate::publish;
use crate::record::{FileReport, PipelineRef, PipelineStatus, RunReport, TableOutput};
use crate::record::{IndicatorChange, RunOutcome, Totals};
use crate::timing;
use anyhow::{Context, Result};
use polars::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The release `current` points at, with its run record.
pub struct Previous {
    pub dir: PathBuf,
    pub report: RunReport,
}

/// What a pipeline's outputs in the previous release were.
#[derive(Default)]
pub struct Carried {
    pub files: Vec<FileReport>,
    pub tables: Vec<TableOutput>,
    pub indicators: Vec<IndicatorValue>,
    pub breakdowns: Vec<BreakdownRow>,
    pub checks: Vec<crate::indicators::CheckResult>,
    pub findings: Vec<Finding>,
}

impl Previous {
    /// The current release and its `run.json`; `None` on a first run (or a
    /// record this version cannot read, which then carries nothing).
    pub fn load(out: &Path) -> Option<Previous> {
        let dir = crate::release::current_release(out)?;
        let bytes = std::fs::read(dir.join("run.json")).ok()?;
        match serde_json::from_slice(&bytes) {
            Ok(report) => Some(Previous { dir, report }),
            Err(e) => {
                tracing::warn!(release = %dir.display(), error = %e, "cannot read the previous run record; nothing is carried from it");
                None
            }
        }
    }

    /// Workbooks the previous release had for `pipeline` (read then, or
    /// carried by it from an earlier run).
    pub fn workbooks(&self, pipeline: &str) -> usize {
        self.report
            .files
            .iter()
            .filter(|f| f.pipeline == pipeline)
            .count()
    }

    /// Whether the previous release has outputs of `pipeline` at all.
    pub fn has(&self, pipeline: &str) -> bool {
        self.report.pipelines.iter().any(|p| {
            p.name == pipeline
                && !matches!(
                    p.status,
                    crate::record::PipelineStatus::NotRun
                        | crate::record::PipelineStatus::NoWorkbooks
                )
        })
    }

    /// The run that computed the previous release's outputs of `pipeline`.
    pub fn computed_by(&self, pipeline: &str) -> String {
        self.report
            .pipelines
            .iter()
            .find(|p| p.name == pipeline)
            .and_then(|p| p.computed_by.clone())
            .or_else(|| self.report.unchanged_since.clone())
            .unwrap_or_else(|| self.report.run_id.clone())
    }

    /// Why the previous release's outputs cannot stand for this run's:
    /// another commune or another period (carrying them would label last
    /// half-year's figures as this one's).
    pub fn other_scope(&self, commune: &str, from: &str, to: &str) -> Option<String> {
        let r = &self.report;
        (r.commune != commune || r.period_from != from || r.period_to != to).then(|| {
            format!(
                "the previous release ({}) is for commune {} and period {} – {}",
                r.run_id, r.commune, r.period_from, r.period_to
            )
        })
    }

    /// Link `pipeline`'s tables into `release` and return everything else
    /// of it; `stale` marks its figures with the run they came from.
    pub fn carry(&self, pipeline: &str, release: &Path, stale: bool) -> Result<Carried> {
        let r = &self.report;
        let computed_by = self.computed_by(pipeline);
        let mine = |p: &String| p == pipeline;
        let tables: Vec<TableOutput> = r
            .tables
            .iter()
            .filter(|t| mine(&t.pipeline))
            .map(|t| TableOutput {
                pipeline: t.pipeline.clone(),
                table: t.table.clone(),
                rows: t.rows,
                path: t.path.clone(),
            })
            .collect();
        for t in &tables {
            let folder = format!("tables/{}_{}", t.pipeline, t.table);
            for zone in ["private", "public"] {
                let from = self.dir.join(zone).join(&folder);
                if from.is_dir() {
                    link_tree(&from, &release.join(zone).join(&folder))?;
                }
            }
        }
        let files = r
            .files
            .iter()
            .filter(|f| mine(&f.pipeline))
            .map(|f| {
                let mut f = f.clone();
                f.carried = true;
                f.stale |= stale;
                f
            })
            .collect();
        let indicators = r
            .indicators
            .iter()
            .filter(|i| mine(&i.pipeline))
            .cloned()
            .map(|mut i| {
                if stale {
                    i.stale_since = Some(i.stale_since.unwrap_or(computed_by.clone()));
                }
                i
            })
            .collect();
        let breakdowns = r
            .breakdowns
            .iter()
            .filter(|b| mine(&b.pipeline))
            .cloned()
            .collect();
        let checks: Vec<CheckResult> = r
            .checks
            .iter()
            .filter(|c| mine(&c.pipeline))
            .cloned()
            .collect();
        let findings = read_findings(&self.dir.join("private/rejects.parquet"), pipeline)?;
        Ok(Carried {
            files,
            tables,
            indicators,
            breakdowns,
            checks,
            findings,
        })
    }
}

/// Hard-link every file under `from` to the same place under `to` (a copy
/// where links are impossible), creating folders.
pub fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    let entries =
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?;
    for e in entries.flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            link_tree(&src, &dst)?;
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    Ok(())
}

/// The findings of `pipeline` in a `rejects.parquet` (the inverse of
/// [`crate::publish::findings_frame`]).
pub fn read_findings(path: &Path, pipeline: &str) -> Result<Vec<Finding>> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let df = ParquetReader::new(f)
        .finish()
        .map_err(|e| anyhow::anyhow!("cannot read Parquet {}: {e}", path.display()))?;
    let text = |name: &str| -> Result<StringChunked> {
        Ok(df
            .column(name)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            .str()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            .clone())
    };
    let cols: Vec<StringChunked> = [
        "pipeline", "table", "file", "sheet", "cell", "column", "header", "value", "severity",
        "code", "reason", "related",
    ]
    .iter()
    .map(|n| text(n))
    .collect::<Result<_>>()?;
    let excludes = df
        .column("excludes")
        .ok()
        .and_then(|c| c.str().ok().cloned());
    let rows = df
        .column("row")
        .and_then(|c| c.cast(&DataType::Int64))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let rows = rows.i64().map_err(|e| anyhow::anyhow!("{e}"))?;
    let get = |c: usize, i: usize| cols[c].get(i).unwrap_or_default().to_string();
    Ok((0..df.height())
        .filter(|&i| cols[0].get(i) == Some(pipeline))
        .map(|i| Finding {
            pipeline: get(0, i),
            table: get(1, i),
            file: get(2, i),
            sheet: get(3, i),
            row: rows.get(i).unwrap_or(0) as u32,
            cell: get(4, i),
            column: get(5, i),
            header: get(6, i),
            value: get(7, i),
            severity: if cols[8].get(i) == Some("warning") {
                Severity::Warning
            } else {
                Severity::Error
            },
            code: get(9, i),
            reason: get(10, i),
            related: get(11, i),
            // Releases before the column existed: errors took whole rows.
            excludes: excludes
                .as_ref()
                .and_then(|c| c.get(i))
                .map(str::to_string)
                .unwrap_or_else(|| {
                    if cols[8].get(i) == Some("warning") {
                        ""
                    } else {
                        "row"
                    }
                    .to_string()
                }),
        })
        .collect())
}

/// What a run does with each known pipeline (see [`PipelineStatus`]), in
/// the order of `all`.
pub fn pipeline_statuses(
    config: &Config,
    all: &[&Pipeline],
    selected: &[&Pipeline],
    work: &[(usize, PathBuf, String)],
    previous: Option<&Previous>,
    allow_empty: &[String],
    run_id: &str,
) -> Vec<PipelineRef> {
    let other_scope = previous.and_then(|p| {
        p.other_scope(
            &config.commune.code,
            &config.period.from.to_string(),
            &config.period.to.to_string(),
        )
    });
    all.iter()
        .map(|p| {
            let si = selected.iter().position(|s| s.name == p.name);
            let workbooks = si.map_or(0, |si| work.iter().filter(|w| w.0 == si).count());
            let folder = config.inbox.join(&p.name);
            let had = previous.map_or(0, |prev| prev.workbooks(&p.name));
            let carry_from = previous
                .filter(|prev| prev.has(&p.name) && other_scope.is_none())
                .map(|prev| prev.computed_by(&p.name));
            let (status, computed_by, message) = match si {
                Some(_) if workbooks > 0 => (PipelineStatus::Computed, Some(run_id.to_string()), String::new()),
                Some(_) if had > 0 && !allow_empty.contains(&p.name) => {
                    let carried = match (&carry_from, &other_scope) {
                        (Some(run), _) => format!("its tables and figures of run {run} are carried forward, marked stale"),
                        (None, Some(why)) => format!("nothing is carried: {why}"),
                        (None, None) => "nothing is carried".to_string(),
                    };
                    (
                        PipelineStatus::MissingInputs,
                        carry_from.clone(),
                        format!(
                            "thiếu tệp / missing inputs: no workbooks in {} although the published release had {had} (is the share mounted?); {carried}. \
If the department really has no files any more, run with --allow-empty {}",
                            folder.display(),
                            p.name
                        ),
                    )
                }
                Some(_) => (
                    PipelineStatus::NoWorkbooks,
                    Some(run_id.to_string()),
                    format!("chưa có tệp / no workbooks in {}: no figures", folder.display()),
                ),
                None => match &carry_from {
                    Some(run) => (
                        PipelineStatus::Carried,
                        Some(run.clone()),
                        format!("not selected (--only): its outputs of run {run} are kept"),
                    ),
                    None => (
                        PipelineStatus::NotRun,
                        None,
                        match &other_scope {
                            Some(why) => format!("not selected (--only), and nothing to keep: {why}"),
                            None => "not selected (--only), and no earlier outputs to keep".to_string(),
                        },
                    ),
                },
            };
            PipelineRef {
                name: p.name.clone(),
                source: p.source.clone(),
                fingerprint: p.fingerprint.clone(),
                status,
                computed_by,
                workbooks,
                message,
            }
        })
        .collect()
}

/// Nothing changed since the current release: publish its outputs again as
/// this run's (hard links, so no copy), with a run record that says so.
pub fn republish(
    config: &Config,
    release: crate::release::Release,
    prev: crate::carry::Previous,
    started_at: chrono::DateTime<chrono::Local>,
    clock: Instant,
) -> Result<RunOutcome> {
    for e in std::fs::read_dir(&prev.dir)?.flatten() {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n.starts_with('.') || n == "run.json" {
            continue;
        }
        let (src, dst) = (e.path(), release.dir.join(&name));
        if e.file_type()?.is_dir() {
            crate::carry::link_tree(&src, &dst)?;
        } else if std::fs::hard_link(&src, &dst).is_err() {
            std::fs::copy(&src, &dst).with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    let mut report = prev.report;
    report.unchanged_since = Some(
        report
            .unchanged_since
            .take()
            .unwrap_or(report.run_id.clone()),
    );
    report.run_id = release.id.clone();
    report.started = started_at.to_rfc3339();
    report.finished = chrono::Local::now().to_rfc3339();
    report.duration_ms = clock.elapsed().as_millis();
    report.timings_ms = timing::snapshot();
    report.config = config.path.display().to_string();
    report.inbox = config.inbox.display().to_string();
    report.out = config.out.display().to_string();
    for f in report.files.iter_mut().filter(|f| !f.carried) {
        f.reused = true;
    }
    report.totals.files_parsed = 0;
    report.totals.files_reused = report.files.iter().filter(|f| !f.carried).count();
    report.indicator_changes = Vec::new();
    tracing::info!(
        since = report.unchanged_since.as_deref().unwrap_or(""),
        "inputs unchanged: the outputs of the earlier run are published again"
    );
    let json = serde_json::to_vec_pretty(&report)?;
    publish::write_bytes(&release.dir.join("run.json"), &json)?;
    crate::privacy::restrict(&release.dir.join("private"))?;
    release.commit(&json)?;
    let exit_code = report.exit_code;
    Ok(RunOutcome { report, exit_code })
}

/// Compare with the run record of the release published before this run.
pub fn changes_since_previous(
    previous: Option<&crate::carry::Previous>,
    now: &[IndicatorValue],
) -> Vec<IndicatorChange> {
    let Some(prev) = previous else {
        return Vec::new();
    };
    let before: HashMap<&str, Option<f64>> = prev
        .report
        .indicators
        .iter()
        .map(|i| (i.id.as_str(), i.value))
        .collect();
    now.iter()
        .filter_map(|i| {
            let previous = before.get(i.id.as_str()).copied().flatten();
            let changed = match (previous, i.value) {
                (Some(a), Some(b)) => (a - b).abs() > 1e-12,
                (None, None) => false,
                _ => true,
            };
            changed.then(|| IndicatorChange {
                indicator: i.id.clone(),
                previous,
                current: i.value,
                delta: previous.zip(i.value).map(|(a, b)| b - a),
            })
        })
        .collect()
}

/// This run's file reports and the carried pipelines' outputs together, in
/// the order of the pipelines whichever run computed them; the totals.
pub fn assemble(
    outcomes: Vec<FileOutcome>,
    previous: Option<&Previous>,
    statuses: &[PipelineRef],
    all_pipelines: &[&Pipeline],
    out: &Path,
    acc: &mut crate::compute::Acc<'_>,
) -> Result<(Vec<FileReport>, Totals)> {
    let mut totals = Totals::default();
    let mut files: Vec<FileReport> = outcomes.into_iter().map(FileOutcome::into_report).collect();
    // Pipelines this run did not compute keep the previous release's outputs.
    if let Some(prev) = previous {
        for st in statuses.iter().filter(|s| s.status.is_carried()) {
            if st.computed_by.is_none() {
                // Another commune or period: nothing to carry, no figures.
                let p = all_pipelines.iter().find(|p| p.name == st.name);
                acc.indicators
                    .extend(p.into_iter().flat_map(|p| no_figures(p)));
                continue;
            }
            let c = prev
                .carry(&st.name, out, st.status == PipelineStatus::MissingInputs)
                .with_context(|| format!("carrying {} from {}", st.name, prev.report.run_id))?;
            files.extend(c.files);
            acc.tables.extend(c.tables);
            acc.indicators.extend(c.indicators);
            acc.breakdowns.extend(c.breakdowns);
            acc.checks.extend(c.checks);
            acc.findings.extend(c.findings);
        }
    }
    // Every output in the order of the pipelines, whichever run computed them.
    let order = |name: &str| {
        all_pipelines
            .iter()
            .position(|p| p.name == name)
            .unwrap_or(usize::MAX)
    };
    files.sort_by_key(|f| order(&f.pipeline));
    acc.tables.sort_by_key(|t| order(&t.pipeline));
    acc.indicators.sort_by_key(|i| order(&i.pipeline));
    acc.breakdowns.sort_by_key(|b| order(&b.pipeline));
    acc.checks.sort_by_key(|c| order(&c.pipeline));
    for fr in &files {
        totals.add(fr);
    }
    acc.findings.sort_by(|a, b| {
        (order(&a.pipeline), &a.file, &a.sheet, a.row, &a.cell).cmp(&(
            order(&b.pipeline),
            &b.file,
            &b.sheet,
            b.row,
            &b.cell,
        ))
    });

    Ok((files, totals))
}
