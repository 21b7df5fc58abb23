//! One run: find the workbooks, process them in parallel, settle duplicates
//! across files in a fixed order, compute indicators, publish. Thin on purpose:
//! the work lives in `extract`, `indicators` and `publish`.

use crate::cache::inputs_fingerprint;
use crate::carry::{changes_since_previous, republish};
use crate::compute;
use crate::config::{Config, RunContext};
pub use crate::discover::{WORKBOOK_EXTENSIONS, discover};
use crate::extract::{FileOutcome, Finding};
use crate::pipeline::Pipeline;
use crate::publish::{self, Figures, write_outputs};
pub use crate::record::*;
pub use crate::release::{HistoryLine, history};
use crate::timing::{self, Phase};
use crate::util::parallel_map;
use anyhow::{Context, Result};
use std::path::PathBuf;
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
    let Found {
        pipelines,
        work,
        ignored,
        previous,
    } = find(config, all_pipelines, opts)?;
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

/// What a run reads: the selected pipelines, their workbooks in the inbox,
/// the files ignored, the published release it follows.
struct Found<'a> {
    pipelines: Vec<&'a Pipeline>,
    work: Vec<(usize, PathBuf, String)>,
    ignored: Vec<crate::record::IgnoredFile>,
    previous: Option<crate::carry::Previous>,
}

/// Discovery, and the refusal of `--only` across another commune or period.
fn find<'a>(
    config: &Config,
    all_pipelines: &'a [&'a Pipeline],
    opts: &RunOptions,
) -> Result<Found<'a>> {
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
    Ok(Found {
        pipelines,
        work,
        ignored,
        previous,
    })
}

pub use crate::pass::Read;

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
        let reader = crate::pass::Reader {
            config: self.config,
            ctx: &self.ctx,
            isolate: self.opts.isolate.as_ref(),
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
    pub fn finish(mut self, read: Vec<Read>) -> Result<RunOutcome> {
        let out = &self.release.dir.clone();
        let (mut outcomes, parts): (Vec<FileOutcome>, Vec<Vec<PathBuf>>) = read.into_iter().unzip();
        crate::release::fault_point("read");
        let mut g = Gathered::default();
        compute::compute_all(
            &self.pipelines,
            &self.statuses,
            &self.work,
            &mut outcomes,
            &parts,
            self.config,
            out,
            &self.pseudonymizer,
            &mut g.acc(),
        )?;
        crate::release::fault_point("tables");
        let outputs_at = Instant::now();
        tracing::info!(
            ms = self.clock.elapsed().as_millis() as u64,
            "tables and figures done"
        );
        let (files, totals) = crate::carry::assemble(
            outcomes,
            self.previous.as_ref(),
            &self.statuses,
            self.all_pipelines,
            out,
            &mut g.acc(),
        )?;
        compute::stamp_scope(self.config, &mut g.indicators, &mut g.breakdowns);
        write_outputs(
            out,
            self.config,
            self.all_pipelines,
            &self.statuses,
            Figures {
                indicators: &g.indicators,
                breakdowns: &g.breakdowns,
                findings: &g.findings,
                files: &files,
            },
            self.started_at,
            &self.cache.feedback(),
        )?;
        crate::cache::prune_unseen(&self.cache, &self.statuses);
        timing::add(Phase::Outputs, outputs_at);
        let report = self.report(g, files, totals);
        let json = serde_json::to_vec_pretty(&report)?;
        publish::write_bytes(&out.join("run.json"), &json)?;
        let _ = std::fs::remove_dir_all(&self.parts_dir);
        crate::privacy::restrict(&out.join("private"))?;
        crate::release::fault_point("outputs");
        self.release.commit(&json)?;
        let exit_code = report.exit_code;
        Ok(RunOutcome { report, exit_code })
    }

    /// The run's record (`run.json`) of what it computed and gathered.
    fn report(&mut self, g: Gathered, files: Vec<FileReport>, totals: Totals) -> RunReport {
        let indicator_changes = changes_since_previous(self.previous.as_ref(), &g.indicators);
        let exit_code = compute::exit_code(&totals, &g.indicators, &self.statuses, &g.checks);
        let config = self.config;
        let timings_ms: Vec<(Phase, f64)> = timing::snapshot();
        tracing::info!(timings_ms = ?timings_ms, "time by phase (per-workbook phases summed over threads)");
        RunReport {
            timings_ms: timings_ms
                .into_iter()
                .map(|(p, ms)| (p, (ms * 10.0).round() / 10.0))
                .collect(),
            tonghop_version: env!("CARGO_PKG_VERSION").to_string(),
            started: self.started_at.to_rfc3339(),
            finished: chrono::Local::now().to_rfc3339(),
            duration_ms: self.clock.elapsed().as_millis(),
            config: config.path.display().to_string(),
            commune: config.commune.code.clone(),
            commune_name: config.commune.name.clone(),
            period_from: config.period.from.to_string(),
            period_to: config.period.to.to_string(),
            inbox: config.inbox.display().to_string(),
            out: config.out.display().to_string(),
            run_id: self.run_id.clone(),
            pipelines: std::mem::take(&mut self.statuses),
            totals,
            files,
            ignored_files: std::mem::take(&mut self.ignored),
            tables: g.tables,
            indicators: g.indicators,
            breakdowns: g.breakdowns,
            checks: g.checks,
            indicator_changes,
            exit_code,
            inputs_fingerprint: self.fingerprint.clone(),
            unchanged_since: None,
            key_fingerprint: self.pseudonymizer.fingerprint(),
        }
    }
}

/// What a run computed and carried, gathered for its outputs.
#[derive(Default)]
struct Gathered {
    indicators: Vec<crate::indicators::IndicatorValue>,
    breakdowns: Vec<crate::indicators::BreakdownRow>,
    checks: Vec<crate::indicators::CheckResult>,
    tables: Vec<TableOutput>,
    findings: Vec<Finding>,
}

impl Gathered {
    fn acc(&mut self) -> compute::Acc<'_> {
        compute::Acc {
            indicators: &mut self.indicators,
            breakdowns: &mut self.breakdowns,
            checks: &mut self.checks,
            tables: &mut self.tables,
            findings: &mut self.findings,
        }
    }
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
