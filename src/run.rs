//! One run: find the workbooks, process them in parallel, settle duplicates
//! across files in a fixed order, compute indicators, publish. Thin on purpose:
//! the work lives in `extract`, `indicators` and `publish`.

use crate::cache::inputs_fingerprint;
use crate::carry::{changes_since_previous, republish};
use crate::config::{Config, RunContext};
pub use crate::discover::{WORKBOOK_EXTENSIONS, discover};
use crate::extract::{FileOutcome, Finding, Severity, process_file};
use crate::indicators::{self, IndicatorValue};
use crate::indicators::{check_finding, no_figures, sql_input};
use crate::pipeline::Pipeline;
use crate::publish::{self, Figures, stream_table, write_outputs};
pub use crate::record::*;
pub use crate::release::{HistoryLine, history};
use crate::timing::{self, Phase};
use crate::util::parallel_map;
use anyhow::{Context, Result};
use polars::prelude::{LazyFrame, PlRefPath, ScanArgsParquet};
use std::path::{Path, PathBuf};
use std::time::Instant;

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
    timing::reset();
    match prepare(config, pipelines, opts)? {
        Prepared::Done(outcome) => Ok(*outcome),
        Prepared::Pending(pending) => {
            let at = Instant::now();
            let read = read_all(&pending)?;
            tracing::info!(
                files = read.len(),
                ms = at.elapsed().as_millis() as u64,
                "workbooks read"
            );
            pending.finish(read)
        }
    }
}

/// A run after its preparation: done already (an unchanged inbox
/// republished), or its workbooks to read.
pub enum Prepared<'a> {
    Done(Box<RunOutcome>),
    Pending(Box<Pending<'a>>),
}

/// A run whose workbooks are found and hashed and whose release is begun:
/// what reading them ([`Pending::read_one`], from any thread, so that a
/// province reads all its communes' workbooks in one pool) and then
/// [`Pending::finish`] need.
pub struct Pending<'a> {
    config: &'a Config,
    all_pipelines: &'a [&'a Pipeline],
    pipelines: Vec<&'a Pipeline>,
    opts: &'a RunOptions,
    ctx: RunContext,
    /// (pipeline index into `pipelines`, absolute path, path in the inbox)
    work: Vec<(usize, PathBuf, String)>,
    ignored: Vec<crate::record::IgnoredFile>,
    hashes: Vec<Option<String>>,
    previous: Option<crate::carry::Previous>,
    pseudonymizer: crate::privacy::Pseudonymizer,
    run_id: String,
    release: crate::release::Release,
    fingerprint: String,
    statuses: Vec<PipelineRef>,
    parts_dir: PathBuf,
    cache: crate::cache::Cache,
    started_at: chrono::DateTime<chrono::Local>,
    clock: Instant,
}

/// Everything before the workbooks are read: refusals, discovery, the key,
/// the release, the hashes, and the republish of an unchanged inbox.
pub fn prepare<'a>(
    config: &'a Config,
    all_pipelines: &'a [&'a Pipeline],
    opts: &'a RunOptions,
) -> Result<Prepared<'a>> {
    let started_at = chrono::Local::now();
    let clock = Instant::now();
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
    let pipelines: Vec<&Pipeline> = all_pipelines
        .iter()
        .copied()
        .filter(|p| opts.only.is_empty() || opts.only.contains(&p.name))
        .collect();
    let known: Vec<&str> = all_pipelines.iter().map(|p| p.name.as_str()).collect();
    let (work, ignored) = discover(&config.inbox, &pipelines, &known);
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
    // Every workbook is read and hashed once here; the cache is looked up by
    // these hashes, so a reused workbook is not read again.
    let (fingerprint, hashes) = inputs_fingerprint(
        config,
        &pipelines,
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
        return Ok(Prepared::Done(Box::new(republish(
            config, release, prev, started_at, clock,
        )?)));
    }
    let statuses = crate::carry::pipeline_statuses(
        config,
        all_pipelines,
        &pipelines,
        &work,
        previous.as_ref(),
        &opts.allow_empty,
        &run_id,
    );
    // Each workbook's rows go to a part file as soon as it is read, so memory
    // holds one workbook per thread, not all of them (see `stream_table`).
    let parts_dir = release.dir.join(".parts");
    std::fs::create_dir_all(&parts_dir)
        .with_context(|| format!("cannot create {}", parts_dir.display()))?;
    let cache = crate::cache::Cache::new(&config.out, &ctx, !opts.full);
    Ok(Prepared::Pending(Box::new(Pending {
        config,
        all_pipelines,
        pipelines,
        opts,
        ctx,
        work,
        ignored,
        hashes,
        previous,
        pseudonymizer,
        run_id,
        release,
        fingerprint,
        statuses,
        parts_dir,
        cache,
        started_at,
        clock,
    })))
}

/// One workbook read: its outcome and its parts.
pub type Read = (FileOutcome, Vec<PathBuf>);

impl Pending<'_> {
    /// How many workbooks this run reads.
    pub fn workbooks(&self) -> usize {
        self.work.len()
    }

    pub fn commune_code(&self) -> &str {
        &self.config.commune.code
    }

    /// Read workbook `wi` (from the cache when its bytes were read before).
    pub fn read_one(&self, wi: usize) -> Result<Read> {
        let (pi, abs, rel) = &self.work[wi];
        let pipeline = self.pipelines[*pi];
        let _span = tracing::info_span!("file", commune = %self.config.commune.code, pipeline = %pipeline.name, path = %rel).entered();
        let reader = Reader {
            config: self.config,
            ctx: &self.ctx,
            opts: self.opts,
            cache: &self.cache,
            parts_dir: &self.parts_dir,
        };
        let (o, parts) = reader.read(pipeline, wi, abs, rel, self.hashes[wi].as_deref())?;
        for e in &o.errors {
            tracing::error!(stage = "ingest", path = %rel, error = %e, "workbook failed");
        }
        Ok((o, parts))
    }

    /// Settle duplicates, build the tables, compute the figures, write
    /// every output and publish the release. `read`: the workbooks in the
    /// order of `work`.
    pub fn finish(self, read: Vec<Read>) -> Result<RunOutcome> {
        let Pending {
            config,
            all_pipelines,
            pipelines,
            ctx: _,
            work,
            ignored,
            previous,
            pseudonymizer,
            run_id,
            release,
            fingerprint,
            statuses,
            parts_dir,
            cache,
            started_at,
            clock,
            ..
        } = self;
        let pipelines = pipelines.as_slice();
        let out = &release.dir.clone();
        let (mut outcomes, parts): (Vec<FileOutcome>, Vec<Vec<PathBuf>>) = read.into_iter().unzip();

        crate::release::fault_point("read");
        let mut all_indicators = Vec::new();
        let mut all_breakdowns = Vec::new();
        let mut all_checks = Vec::new();
        let mut table_outputs = Vec::new();
        let mut findings: Vec<Finding> = Vec::new();
        let mut acc = Acc {
            indicators: &mut all_indicators,
            breakdowns: &mut all_breakdowns,
            checks: &mut all_checks,
            tables: &mut table_outputs,
            findings: &mut findings,
        };
        compute_all(
            pipelines,
            &statuses,
            &work,
            &mut outcomes,
            &parts,
            config,
            out,
            &pseudonymizer,
            &mut acc,
        )?;
        crate::release::fault_point("tables");
        let outputs_at = Instant::now();
        tracing::info!(
            ms = clock.elapsed().as_millis() as u64,
            "tables and figures done"
        );

        let (files, totals) = assemble(
            outcomes,
            previous.as_ref(),
            &statuses,
            all_pipelines,
            out,
            &mut acc,
        )?;

        stamp_scope(config, &mut all_indicators, &mut all_breakdowns);
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
            &cache.feedback(),
        )?;
        prune_cache(&cache, &statuses);
        let indicator_changes = changes_since_previous(previous.as_ref(), &all_indicators);
        let exit_code = exit_code(&totals, &all_indicators, &statuses, &all_checks);
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
}

/// Every pipeline computed now (not carried): duplicates settled across its
/// workbooks, then its tables, figures and checks; the workbooks' findings
/// go to the run's.
#[allow(clippy::too_many_arguments)]
fn compute_all(
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

/// Every figure names its commune and period (as the table partitions do).
fn stamp_scope(
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

/// Drop cache entries of workbooks this run did not see. A pipeline whose
/// workbooks are missing keeps its cache for their return.
fn prune_cache(cache: &crate::cache::Cache, statuses: &[PipelineRef]) {
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
}

/// Every workbook, in parallel (a few at a time, memory bounded by the
/// workbooks in flight), with a progress bar on a terminal: the outcomes and
/// their parts, in the order of `work`.
fn read_all(pending: &Pending<'_>) -> Result<Vec<Read>> {
    let bar = if pending.opts.progress {
        let b = indicatif::ProgressBar::new(pending.work.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} tệp · {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let rows_seen = std::sync::atomic::AtomicU64::new(0);
    let read: Vec<Result<Read>> = parallel_map(&pending.work, |wi, _| {
        let r = pending.read_one(wi)?;
        let rows: u64 = r.0.sheets.iter().map(|s| u64::from(s.rows_read)).sum();
        let total = rows_seen.fetch_add(rows, std::sync::atomic::Ordering::Relaxed) + rows;
        bar.set_message(format!("{total} dòng"));
        bar.inc(1);
        Ok(r)
    });
    bar.finish_and_clear();
    read.into_iter().collect()
}

/// This run's file reports and the carried pipelines' outputs together, in
/// the order of the pipelines whichever run computed them; the totals.
fn assemble(
    outcomes: Vec<FileOutcome>,
    previous: Option<&crate::carry::Previous>,
    statuses: &[PipelineRef],
    all_pipelines: &[&Pipeline],
    out: &Path,
    acc: &mut Acc<'_>,
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

/// 1 when the operator must look: a workbook failed, a figure could not be
/// computed, a pipeline's workbooks all vanished, or an error-severity check
/// failed; else 0.
fn exit_code(
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
                let feedback = Some(self.cache.feedback())
                    .filter(|c| c.reuse)
                    .map(|c| c.dir);
                let mut o = match &self.opts.isolate {
                    Some((exe, cfg)) => {
                        let (o, written) = crate::isolate::process_in_child(
                            exe,
                            cfg,
                            p,
                            abs,
                            rel,
                            &self.ctx.limits,
                            crate::isolate::Destinations {
                                part_base: &base,
                                feedback_dir: feedback.as_deref(),
                            },
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
