//! One run: find the workbooks, process them in parallel, settle duplicates
//! across files in a fixed order, compute indicators, publish. Thin on purpose:
//! the work lives in `extract`, `indicators` and `publish`.

use crate::config::{Config, RunContext};
pub use crate::discover::{WORKBOOK_EXTENSIONS, discover};
use crate::extract::{FileOutcome, Finding, Severity, process_file};
use crate::indicators::{self, IndicatorValue};
use crate::pipeline::Pipeline;
use crate::publish;
pub use crate::record::*;
pub use crate::release::{HistoryLine, history};
use crate::table::build_frame;
use crate::timing::{self, Phase};
use anyhow::{Context, Result};
use polars::prelude::{DataFrame, Expr, IntoLazy, LazyFrame, PlRefPath, ScanArgsParquet, col};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub struct RunOutcome {
    pub report: RunReport,
    pub exit_code: i32,
}

/// Run the selected pipelines over the inbox and publish to `config.out`.
pub fn run(config: &Config, pipelines: &[&Pipeline]) -> Result<RunOutcome> {
    run_with(config, pipelines, &RunOptions::default())
}

/// How a run treats earlier work.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Parse every workbook, ignoring the cache of earlier runs.
    pub full: bool,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Read each workbook that must be parsed in a child process: the
    /// `tonghop` executable and the config file it should load.
    pub isolate: Option<(PathBuf, PathBuf)>,
    /// Run only these pipelines (empty: all); the others' outputs are
    /// carried from the current release.
    pub only: Vec<String>,
    /// Pipelines that may publish no figures although the previous release
    /// had workbooks for them (a department really retired its files).
    pub allow_empty: Vec<String>,
    /// Publish with a new HMAC key: every public hash changes.
    pub rekey: bool,
}

/// Why a run refused to start; nothing was written (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error(
        "khóa HMAC đã thay đổi / the HMAC key changed: the published release ({run}) hashed IDs with key {previous}, this run's key ({key_source}) is {now}; \
publishing would silently change every hashed ID in public/. Restore the previous key, or run with --rekey to publish new hashes on purpose"
    )]
    KeyChanged {
        run: String,
        previous: String,
        now: String,
        key_source: String,
    },
    #[error(
        "không tìm thấy khóa HMAC / the HMAC key is missing: {path} does not exist and TONGHOP_HMAC_KEY is not set, but the published release ({run}) hashed IDs with key {previous}; \
restore the key file (or set TONGHOP_HMAC_KEY), or run with --rekey to make a new key and publish new hashes"
    )]
    KeyMissing {
        path: String,
        run: String,
        previous: String,
    },
    #[error(
        "--rekey changes the hashes of every public table: run it without --only, so no table keeps the old ones"
    )]
    RekeyWithOnly,
    #[error(
        "--only keeps the other pipelines' outputs of the published release, but {why}: they cannot stand for this run's commune and period, and leaving them out would publish fewer figures. Run every pipeline (without --only) for the new period"
    )]
    OnlyAcrossScopes { why: String },
}

/// Run the selected pipelines; see [`run`]. `pipelines` are all the known
/// ones; `opts.only` selects among them.
pub fn run_with(config: &Config, pipelines: &[&Pipeline], opts: &RunOptions) -> Result<RunOutcome> {
    let started_at = chrono::Local::now();
    let clock = Instant::now();
    timing::reset();
    // Everything this run creates is private until opened on purpose.
    crate::privacy::enter_private_umask();
    let _span = tracing::info_span!("run", commune = %config.commune.code).entered();
    if opts.rekey && !opts.only.is_empty() {
        return Err(Refusal::RekeyWithOnly.into());
    }
    for dir in crate::privacy::tighten(&config.out)? {
        tracing::warn!(folder = %dir.display(), "was readable by other users: tightened to 0700 folders and 0600 files");
    }
    let ctx = RunContext::from_config(config).map_err(|e| anyhow::anyhow!(e))?;
    let all_pipelines = pipelines;
    let pipelines: Vec<&Pipeline> = all_pipelines
        .iter()
        .copied()
        .filter(|p| opts.only.is_empty() || opts.only.contains(&p.name))
        .collect();
    let pipelines = pipelines.as_slice();
    let known: Vec<&str> = all_pipelines.iter().map(|p| p.name.as_str()).collect();
    let (work, ignored) = discover(&config.inbox, pipelines, &known);
    for i in &ignored {
        tracing::info!(stage = "ingest", path = %i.path, reason = %i.reason, "ignored file");
    }
    tracing::info!(stage = "ingest", files = work.len(), "processing workbooks");
    let previous = crate::carry::Previous::load(&config.out);
    if !opts.only.is_empty()
        && let Some(why) = previous.as_ref().and_then(|p| {
            p.other_scope(
                &config.commune.code,
                &config.period.from.to_string(),
                &config.period.to.to_string(),
            )
        })
    {
        return Err(Refusal::OnlyAcrossScopes { why }.into());
    }
    let pseudonymizer = load_key(config, previous.as_ref(), opts)?;
    let run_id = crate::release::new_run_id();
    let release = crate::release::Release::begin(&config.out, &run_id)?;
    // Everything is written into this run's release; `commit` publishes it.
    let out = &release.dir.clone();
    // Every workbook is read and hashed once here; the cache is looked up by
    // these hashes, so a reused workbook is not read again.
    let (fingerprint, hashes) = inputs_fingerprint(
        config,
        pipelines,
        &ctx,
        &pseudonymizer,
        &work,
        &ignored,
        &opts.allow_empty,
    );
    if !opts.full
        && previous
            .as_ref()
            .is_some_and(|p| !fingerprint.is_empty() && p.report.inputs_fingerprint == fingerprint)
        && let Some(prev) = previous
    {
        return republish(config, release, prev, started_at, clock);
    }
    let statuses = crate::carry::pipeline_statuses(
        config,
        all_pipelines,
        pipelines,
        &work,
        previous.as_ref(),
        &opts.allow_empty,
        &run_id,
    );
    // Each workbook's rows go to a part file as soon as it is read, so memory
    // holds one workbook per thread, not all of them (see `stream_table`).
    let parts_dir = out.join(".parts");
    std::fs::create_dir_all(&parts_dir)
        .with_context(|| format!("cannot create {}", parts_dir.display()))?;
    let cache = crate::cache::Cache::new(&config.out, &ctx, !opts.full);
    let bar = if opts.progress {
        let b = indicatif::ProgressBar::new(work.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tệp · {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let rows_seen = std::sync::atomic::AtomicU64::new(0);
    let spilled: Vec<Result<(FileOutcome, Vec<PathBuf>)>> =
        parallel_map(&work, |wi, (pi, abs, rel)| {
            let _span =
                tracing::info_span!("file", pipeline = %pipelines[*pi].name, path = %rel).entered();
            let reader = Reader {
                config,
                ctx: &ctx,
                opts,
                cache: &cache,
                parts_dir: &parts_dir,
            };
            let (o, parts) = reader.read(pipelines[*pi], wi, abs, rel, hashes[wi].as_deref())?;
            for e in &o.errors {
                tracing::error!(stage = "ingest", path = %rel, error = %e, "workbook failed");
            }
            let rows: u64 = o.sheets.iter().map(|s| u64::from(s.rows_read)).sum();
            let total = rows_seen.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
            bar.set_message(format!("{total} dòng"));
            bar.inc(1);
            Ok((o, parts))
        });
    bar.finish_and_clear();
    let mut outcomes = Vec::with_capacity(spilled.len());
    let mut parts = Vec::with_capacity(spilled.len());
    for r in spilled {
        let (o, ps) = r?;
        outcomes.push(o);
        parts.push(ps);
    }

    crate::release::fault_point("read");

    let mut all_indicators = Vec::new();
    let mut all_breakdowns = Vec::new();
    let mut all_checks = Vec::new();
    let mut table_outputs = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();
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
            .zip(&work)
            .filter(|(_, w)| w.0 == pi)
            .map(|(o, _)| o)
            .collect();
        timing::time(Phase::Dedupe, || {
            crate::dedupe::settle_duplicates(pipeline, &mut mine)
        });
        let mine_parts: Vec<&Vec<PathBuf>> = parts
            .iter()
            .zip(&work)
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
            &pseudonymizer,
            &mut Acc {
                indicators: &mut all_indicators,
                breakdowns: &mut all_breakdowns,
                checks: &mut all_checks,
                tables: &mut table_outputs,
                findings: &mut findings,
            },
        )?;
        for o in mine.iter_mut() {
            findings.append(&mut o.findings);
        }
    }
    crate::release::fault_point("tables");
    let outputs_at = Instant::now();

    let mut totals = Totals::default();
    let mut files: Vec<FileReport> = outcomes.into_iter().map(FileOutcome::into_report).collect();
    // Pipelines this run did not compute keep the previous release's outputs.
    if let Some(prev) = &previous {
        for st in statuses.iter().filter(|s| s.status.is_carried()) {
            if st.computed_by.is_none() {
                // Another commune or period: nothing to carry, no figures.
                let p = all_pipelines.iter().find(|p| p.name == st.name);
                all_indicators.extend(p.into_iter().flat_map(|p| no_figures(p)));
                continue;
            }
            let c = prev
                .carry(&st.name, out, st.status == PipelineStatus::MissingInputs)
                .with_context(|| format!("carrying {} from {}", st.name, prev.report.run_id))?;
            files.extend(c.files);
            table_outputs.extend(c.tables);
            all_indicators.extend(c.indicators);
            all_breakdowns.extend(c.breakdowns);
            all_checks.extend(c.checks);
            findings.extend(c.findings);
        }
    }
    // Every output in the order of the pipelines, whichever run computed them.
    let order = |name: &str| known.iter().position(|k| *k == name).unwrap_or(usize::MAX);
    files.sort_by_key(|f| order(&f.pipeline));
    table_outputs.sort_by_key(|t| order(&t.pipeline));
    all_indicators.sort_by_key(|i| order(&i.pipeline));
    all_breakdowns.sort_by_key(|b| order(&b.pipeline));
    all_checks.sort_by_key(|c| order(&c.pipeline));
    for fr in &files {
        totals.add(fr);
    }
    findings.sort_by(|a, b| {
        (order(&a.pipeline), &a.file, &a.sheet, a.row, &a.cell).cmp(&(
            order(&b.pipeline),
            &b.file,
            &b.sheet,
            b.row,
            &b.cell,
        ))
    });

    write_outputs(
        out,
        config,
        all_pipelines,
        &statuses,
        Figures {
            indicators: &all_indicators,
            breakdowns: &all_breakdowns,
            findings: &findings,
            files: &files,
        },
        started_at,
    )?;
    // A pipeline whose workbooks are missing keeps its cache for their return.
    cache.prune(
        &statuses
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    PipelineStatus::Computed | PipelineStatus::NoWorkbooks
                )
            })
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
    );
    let indicator_changes = changes_since_previous(previous.as_ref(), &all_indicators);
    let indicator_failed = all_indicators.iter().any(|i| i.error.is_some());
    let missing_inputs = statuses
        .iter()
        .any(|s| s.status == PipelineStatus::MissingInputs);
    let check_failed = all_checks
        .iter()
        .any(|c| !c.passed && c.severity == Severity::Error);
    let exit_code = if totals.files_failed > 0 || indicator_failed || missing_inputs || check_failed
    {
        1
    } else {
        0
    };
    timing::add(Phase::Outputs, outputs_at);
    let timings_ms: Vec<(Phase, f64)> = timing::snapshot();
    tracing::info!(timings_ms = ?timings_ms, "time by phase (per-workbook phases summed over threads)");
    let report = RunReport {
        timings_ms: timings_ms
            .into_iter()
            .map(|(p, ms)| (p, (ms * 10.0).round() / 10.0))
            .collect(),
        tonghop_version: env!("CARGO_PKG_VERSION").to_string(),
        started: started_at.to_rfc3339(),
        finished: chrono::Local::now().to_rfc3339(),
        duration_ms: clock.elapsed().as_millis(),
        config: config.path.display().to_string(),
        commune: config.commune.code.clone(),
        commune_name: config.commune.name.clone(),
        period_from: config.period.from.to_string(),
        period_to: config.period.to.to_string(),
        inbox: config.inbox.display().to_string(),
        out: config.out.display().to_string(),
        run_id: run_id.clone(),
        pipelines: statuses,
        totals,
        files,
        ignored_files: ignored,
        tables: table_outputs,
        indicators: all_indicators,
        breakdowns: all_breakdowns,
        checks: all_checks,
        indicator_changes,
        exit_code,
        inputs_fingerprint: fingerprint,
        unchanged_since: None,
        key_fingerprint: pseudonymizer.fingerprint(),
    };
    let json = serde_json::to_vec_pretty(&report)?;
    publish::write_bytes(&out.join("run.json"), &json)?;
    let _ = std::fs::remove_dir_all(&parts_dir);
    crate::privacy::restrict(&out.join("private"))?;
    crate::release::fault_point("outputs");
    release.commit(&json)?;
    Ok(RunOutcome { report, exit_code })
}

/// A pipeline's indicators with no value: no workbooks is no figure, not a
/// zero.
/// Where the computed outputs of the pipelines gather.
struct Acc<'a> {
    indicators: &'a mut Vec<IndicatorValue>,
    breakdowns: &'a mut Vec<indicators::BreakdownRow>,
    checks: &'a mut Vec<indicators::CheckResult>,
    tables: &'a mut Vec<TableOutput>,
    findings: &'a mut Vec<Finding>,
}

/// One pipeline computed now: its tables streamed from the parts (private
/// and public), its figures, what they lack, its checks.
#[allow(clippy::too_many_arguments)]
fn compute_pipeline(
    pipeline: &Pipeline,
    status: PipelineStatus,
    mine: &[&mut FileOutcome],
    mine_parts: &[&Vec<PathBuf>],
    config: &Config,
    out: &Path,
    pseudonymizer: &crate::privacy::Pseudonymizer,
    acc: &mut Acc<'_>,
) -> Result<()> {
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
    if status == PipelineStatus::NoWorkbooks {
        acc.indicators.extend(no_figures(pipeline));
    } else {
        let mut computed = timing::time(Phase::Indicators, || {
            indicators::compute(pipeline, &frames, config)
        });
        let mut shadows = Vec::new();
        for (ti, table) in pipeline.tables.iter().enumerate() {
            let names: Vec<Vec<String>> = mine.iter().map(|o| o.sheet_names()).collect();
            let excluded: Vec<(&crate::extract::Excluded, &str, &[String])> = mine
                .iter()
                .zip(&names)
                .filter(|(o, _)| o.excluded.get(ti).is_some_and(|e| !e.is_empty()))
                .map(|(o, n)| (&o.excluded[ti], o.path.as_str(), n.as_slice()))
                .collect();
            // The figures stand without this list: a failure here is
            // logged and leaves their exclusion counts empty.
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
    }
    Ok(())
}

/// What reading one workbook needs from the run.
struct Reader<'a> {
    config: &'a Config,
    ctx: &'a RunContext,
    opts: &'a RunOptions,
    cache: &'a crate::cache::Cache,
    parts_dir: &'a Path,
}

impl Reader<'_> {
    /// One workbook: from the cache when its bytes (`sha`) were read before,
    /// else parsed (in a child process with `--isolate`), its rows spilled to
    /// parts, stored in the cache; a workbook that fails now keeps its last
    /// good rows, marked stale.
    fn read(
        &self,
        p: &Pipeline,
        wi: usize,
        abs: &Path,
        rel: &str,
        sha: Option<&str>,
    ) -> Result<(FileOutcome, Vec<PathBuf>)> {
        let n = p.tables.len();
        let spill = |o: FileOutcome, base: &Path| {
            timing::time(Phase::Frame, || crate::parts::spill(p, o, base))
        };
        let read_at = Instant::now();
        let cached = sha.and_then(|sha| self.cache.load(p, sha, rel));
        timing::add(Phase::Read, read_at);
        let out = match (cached, sha) {
            (Some(x), _) => x,
            (None, None) => {
                // Unreadable: process_file reports why.
                let base = self.parts_dir.join(format!("{wi:06}"));
                let o = spill(process_file(p, abs, rel, self.ctx), &base)?;
                (o, crate::parts::paths(&base, n))
            }
            (None, Some(sha)) => {
                // The rows go straight to the cache's parts.
                let base = self.cache.base(p, sha);
                let mut o = match &self.opts.isolate {
                    Some((exe, cfg)) => {
                        let (o, written) = crate::isolate::process_in_child(
                            exe,
                            cfg,
                            p,
                            abs,
                            rel,
                            &self.ctx.limits,
                            &base,
                        );
                        if written { o } else { spill(o, &base)? }
                    }
                    None => spill(process_file(p, abs, rel, self.ctx), &base)?,
                };
                o.path = rel.to_string();
                // Bytes that changed since they were hashed are not
                // cached under the old hash (the next run parses them).
                // A reader that died reports no hash: the bytes are the
                // ones hashed, and its failure is cached like any other.
                let same_bytes = o.sha256.is_empty() || o.sha256 == sha;
                if o.sha256.is_empty() {
                    o.sha256 = sha.to_string();
                }
                if same_bytes {
                    timing::time(Phase::CacheStore, || self.cache.store(p, sha, &o));
                }
                // A workbook that read before and fails now keeps its
                // last good rows, marked stale, rather than vanishing.
                match (o.failed() && self.config.keep_stale)
                    .then(|| self.cache.last_good(p, rel))
                    .flatten()
                {
                    Some((mut last, last_parts)) => {
                        last.errors = o.errors;
                        (last, last_parts)
                    }
                    None => (o, crate::parts::paths(&base, n)),
                }
            }
        };
        Ok(out)
    }
}

/// The HMAC key of the public zone's hashed IDs; refused when it changed (or vanished) since the published release,
/// unless `--rekey`.
fn load_key(
    config: &Config,
    previous: Option<&crate::carry::Previous>,
    opts: &RunOptions,
) -> Result<crate::privacy::Pseudonymizer> {
    let previous_key = previous
        .map(|p| p.report.key_fingerprint.clone())
        .filter(|k| !k.is_empty());
    let loaded = crate::privacy::Pseudonymizer::load(
        config.privacy_key_file.as_deref(),
        &config.out,
        previous_key.is_none() || opts.rekey,
    )?;
    let run_of_previous = || {
        previous
            .map(|p| p.report.run_id.clone())
            .unwrap_or_default()
    };
    let Some((pseudonymizer, key_source)) = loaded else {
        return Err(Refusal::KeyMissing {
            path: config.out.join("state/hmac.key").display().to_string(),
            run: run_of_previous(),
            previous: previous_key.unwrap_or_default(),
        }
        .into());
    };
    let key_fingerprint = pseudonymizer.fingerprint();
    if let Some(prev) = &previous_key
        && *prev != key_fingerprint
        && !opts.rekey
    {
        return Err(Refusal::KeyChanged {
            run: run_of_previous(),
            previous: prev.clone(),
            now: key_fingerprint,
            key_source: key_source.describe(),
        }
        .into());
    }
    if let crate::privacy::KeySource::Generated(path) = &key_source {
        // Said once (a warning, so the default log level shows it).
        tracing::warn!(
            key = %path.display(),
            "generated the HMAC key for the public zone's hashed IDs (mode 0600); keep this file (or set TONGHOP_HMAC_KEY) so hashes stay stable"
        );
    }
    Ok(pseudonymizer)
}

/// What the outputs are written from.
struct Figures<'a> {
    indicators: &'a [IndicatorValue],
    breakdowns: &'a [indicators::BreakdownRow],
    findings: &'a [Finding],
    files: &'a [FileReport],
}

/// Every output of the release but run.json: indicators (CSV, Parquet),
/// breakdowns per dimension, rejects, bao-cao.md, tong-hop.xlsx, feedback.
fn write_outputs(
    out: &Path,
    config: &Config,
    all_pipelines: &[&Pipeline],
    statuses: &[PipelineRef],
    figures: Figures<'_>,
    started_at: chrono::DateTime<chrono::Local>,
) -> Result<()> {
    publish::write_bytes(
        &out.join("indicators.csv"),
        publish::indicators_csv(figures.indicators).as_bytes(),
    )?;
    publish::write_parquet(
        &out.join("indicators.parquet"),
        &mut publish::indicators_frame(figures.indicators)?,
    )?;
    publish::write_parquet(
        &out.join("private/rejects.parquet"),
        &mut publish::findings_frame(figures.findings)?,
    )?;
    publish::write_bytes(
        &out.join("private/rejects.csv"),
        publish::findings_csv(figures.findings).as_bytes(),
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
        publish::write_bytes(
            &out.join(format!("indicators_by_{by}.csv")),
            publish::breakdown_csv(by, &rows).as_bytes(),
        )?;
        publish::write_parquet(
            &out.join(format!("indicators_by_{by}.parquet")),
            &mut publish::breakdown_frame(by, &rows)?,
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
        .filter_map(|s| Some((s.name.clone(), crate::carry::report_note(s)?)))
        .collect();
    publish::write_bytes(
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
            members: &figures
                .breakdowns
                .iter()
                .filter_map(|b| {
                    let p = all_pipelines.iter().find(|p| p.name == b.pipeline)?;
                    let label = p.member_label(&b.by, &b.key)?;
                    Some(((b.by.clone(), b.key.clone()), label.to_string()))
                })
                .collect(),
            dimensions: &dimension_labels,
        },
    )
    .map_err(|e| anyhow::anyhow!("cannot build tong-hop.xlsx: {e}"))?;
    publish::write_bytes(&out.join("tong-hop.xlsx"), &summary)?;
    write_feedback(out, figures.files, figures.findings, &config.period)?;
    Ok(())
}

/// A failed `[[checks]]` rule as a finding: no cell of its own, the rule's
/// id as the header, the violations and the first examples in the reason.
fn check_finding(c: &crate::indicators::CheckResult) -> Finding {
    let reason = match &c.error {
        Some(e) => format!("{}: không chạy được kiểm tra ({e})", c.description),
        None => format!(
            "{}: {} dòng vi phạm{}",
            c.description,
            c.violations,
            if c.examples.is_empty() {
                String::new()
            } else {
                format!(
                    " (ví dụ: {})",
                    c.examples
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        ),
    };
    Finding {
        pipeline: c.pipeline.clone(),
        table: String::new(),
        file: String::new(),
        sheet: String::new(),
        row: 0,
        cell: String::new(),
        column: String::new(),
        header: c.id.clone(),
        value: c.violations.to_string(),
        severity: c.severity,
        code: "check_failed".into(),
        reason,
        related: String::new(),
        excludes: String::new(),
    }
}

fn no_figures(pipeline: &Pipeline) -> impl Iterator<Item = IndicatorValue> + '_ {
    pipeline.indicators.iter().map(|ind| IndicatorValue {
        excluded: Default::default(),
        id: ind.id.clone(),
        pipeline: pipeline.name.clone(),
        label: ind.label.clone(),
        unit: ind.unit.clone(),
        value: None,
        error: None,
        stale_since: None,
    })
}

/// The table as the pipeline's SQL reads it: the written Parquet, narrowed
/// to the columns the queries name and read once, instead of scanned again
/// by every indicator (a province's table is millions of rows; its one or
/// two queried columns are a fraction of it). A query with `*` gets the lazy
/// scan of everything.
fn sql_input(pipeline: &Pipeline, lazy: LazyFrame) -> Result<LazyFrame> {
    let sqls = pipeline
        .indicators
        .iter()
        .map(|i| i.sql.as_str())
        .chain(pipeline.breakdowns.iter().map(|b| b.sql.as_str()))
        .chain(pipeline.checks.iter().map(|c| c.sql.as_str()));
    let Some(words) = indicators::columns_read(sqls) else {
        return Ok(lazy);
    };
    let mut lazy = lazy;
    let schema = lazy.collect_schema()?;
    let used: Vec<Expr> = schema
        .iter_names()
        .filter(|n| words.contains(&n.to_lowercase()))
        .map(|n| col(n.clone()))
        .collect();
    if used.is_empty() {
        return Ok(lazy);
    }
    Ok(lazy.select(used).collect()?.lazy())
}

/// What the published outputs are a function of; see
/// [`RunReport::inputs_fingerprint`]. Hashes every workbook (in parallel).
fn inputs_fingerprint(
    config: &Config,
    pipelines: &[&Pipeline],
    ctx: &RunContext,
    pseudonymizer: &crate::privacy::Pseudonymizer,
    work: &[(usize, PathBuf, String)],
    ignored: &[IgnoredFile],
    allow_empty: &[String],
) -> (String, Vec<Option<String>>) {
    use sha2::{Digest, Sha256};
    let at = Instant::now();
    let hashes = parallel_map(work, |_, (_, abs, _)| {
        std::fs::read(abs).map(|b| crate::extract::sha256_hex(&b))
    });
    timing::add(Phase::Read, at);
    let mut h = Sha256::new();
    let mut line = |s: &str| {
        h.update(s.as_bytes());
        h.update(b"\n");
    };
    line(env!("CARGO_PKG_VERSION"));
    line(&format!("format {}", crate::cache::FORMAT));
    line(&crate::pipeline::hex_digest(&Sha256::digest(
        std::fs::read(&config.path).unwrap_or_default(),
    )));
    line(&format!("{:?}|{:?}", ctx.period, ctx.params));
    line(&ctx.calendar.fingerprint());
    // Identifies the hashing key without revealing it.
    line(&pseudonymizer.hash("tonghop: key identity"));
    for p in pipelines {
        line(&format!("pipeline {} {}", p.name, p.fingerprint));
    }
    for ((pi, _, rel), sha) in work.iter().zip(&hashes) {
        let sha = match sha {
            Ok(s) => s.clone(),
            Err(e) => format!("unreadable: {e}"),
        };
        line(&format!("file {} {rel} {sha}", pipelines[*pi].name));
    }
    for i in ignored {
        line(&format!("ignored {} {}", i.path, i.reason));
    }
    line(&format!("allow-empty {allow_empty:?}"));
    (
        crate::pipeline::hex_digest(&h.finalize()),
        hashes.into_iter().map(Result::ok).collect(),
    )
}

/// Nothing changed since the current release: publish its outputs again as
/// this run's (hard links, so no copy), with a run record that says so.
fn republish(
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

/// `f` over `items` on as many plain threads as rayon would use, results in
/// item order. Not rayon's pool: a rayon worker that waits for polars' pool
/// (writing a part) steals the next workbook meanwhile, and with enough
/// workbooks nearly all of them were half-read in memory at once. A plain
/// thread just waits, so memory holds one workbook per thread.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = rayon::current_num_threads().clamp(1, items.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(i, item)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// The private and public Parquet of one table from its workbooks' parts, in
/// workbook order, without duplicates (`keep`). A few workbooks at a time are
/// read and pseudonymised in parallel, then appended in order: memory holds
/// those few, never the whole table. Returns the number of rows.
fn stream_table(
    table: &crate::pipeline::Table,
    parts: &[(&Path, &str, &[bool])],
    private: &Path,
    public: &Path,
    pseudonymizer: &crate::privacy::Pseudonymizer,
) -> Result<usize> {
    let empty = build_frame(table, &[])?;
    let empty_public = crate::privacy::public_frame(table, &empty, pseudonymizer)?;
    let mut private_sink = publish::ParquetSink::create(private, empty.schema(), 3)?;
    let mut public_sink = publish::ParquetSink::create(public, empty_public.schema(), 1)?;
    let group = rayon::current_num_threads().max(1) * 2;
    let prepare = |chunk: &[(&Path, &str, &[bool])]| -> Vec<Result<(DataFrame, DataFrame)>> {
        chunk
            .par_iter()
            .map(|(path, file, keep)| {
                let at = Instant::now();
                let df = crate::parts::read(path, file, keep)?;
                timing::add(Phase::Frame, at);
                let at = Instant::now();
                let public = crate::privacy::public_frame(table, &df, pseudonymizer)?;
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
fn write_feedback(
    out: &Path,
    files: &[FileReport],
    findings: &[Finding],
    period: &crate::config::Period,
) -> Result<()> {
    let dir = out.join("private").join("phan-hoi");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    // Files with findings, and files that failed (they are told why).
    let to_tell: Vec<&FileReport> = files
        .iter()
        .filter(|f| f.status == "failed" || findings.iter().any(|x| x.file == f.path))
        .collect();
    let paths: Vec<&str> = to_tell.iter().map(|f| f.path.as_str()).collect();
    let names = crate::report::workbook::feedback_names(&paths);
    for (f, name) in to_tell.iter().zip(names) {
        let mine: Vec<&Finding> = findings.iter().filter(|x| x.file == f.path).collect();
        let bytes = crate::report::workbook::feedback(f, &mine, period)
            .map_err(|e| anyhow::anyhow!("cannot build feedback for {}: {e}", f.path))?;
        publish::write_bytes(&dir.join(name), &bytes)?;
    }
    Ok(())
}

/// Compare with the run record of the release published before this run.
fn changes_since_previous(
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
