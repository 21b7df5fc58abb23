//! Carrying a pipeline's outputs from the previous release into this one,
//! so that a run never publishes less than the last release without saying
//! so: a pipeline left out with `--only`, or one whose workbooks are all
//! missing now (an unmounted share), keeps the tables, figures, rejects and
//! feedback the previous release had for it, with the run that computed
//! them. Tables are hard links (no copy); findings are read back from the
//! previous `private/rejects.parquet`.

use crate::extract::{Finding, Severity};
use crate::indicators::{BreakdownRow, CheckResult, IndicatorValue};
use crate::record::{FileReport, RunReport, TableOutput};
use anyhow::{Context, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};

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
                let mut f = clone_file(f);
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

fn clone_file(f: &FileReport) -> FileReport {
    // FileReport holds sheet reports that are not Clone; a JSON round trip
    // copies it exactly.
    serde_json::from_value(serde_json::to_value(f).expect("serialisable")).expect("the same type")
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
        })
        .collect())
}
