//! A province run: every commune's own config (inbox, period, targets)
//! run into one output tree with one HMAC key, then the province's own
//! release: every commune's tables side by side (partitioned
//! `commune=/period=`), the figures of every commune and of the province
//! (computed over all communes' rows, persons counted once), who sent
//! what (`completeness.csv`), and the Spark SQL of every indicator.
//!
//! Layout of `<out>`: `communes/<code>/` is each commune's own output
//! folder (releases, cache, bao-cao.md, feedback), exactly as a commune run
//! writes it; `releases/<id>/` (linked as `current`, and by the stable
//! names) is the province's release, whose tables are hard links to the
//! communes' published ones.

use crate::config::{Config, ProvinceConfig};
use crate::indicators::{self, no_figures};
use crate::model::{BreakdownRow, Finding, IndicatorValue, Period, Severity};
use crate::pipeline::Pipeline;
use crate::publish::{self, csv_field};
use crate::record::{PipelineStatus, RunReport, Totals};
use crate::run::RunOptions;
use crate::spark;

mod dedupe;
mod report;
use anyhow::{Context, Result};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How one commune of the province fared in this run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommuneRun {
    pub config: String,
    /// Empty when its config could not be read.
    pub code: String,
    pub name: String,
    pub period: String,
    pub status: CommuneStatus,
    /// Why it did not run, or why its run failed.
    pub error: Option<String>,
    /// Its run's exit code (None when it did not run).
    pub exit_code: Option<i32>,
    /// The commune release the province's figures use (this run's, or the
    /// last good one when this run failed).
    pub release: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommuneStatus {
    /// Ran and published.
    Ran,
    /// Its run failed; its last published release (if any) stands.
    Failed,
    /// Its config is wrong: not run.
    ConfigError,
}

/// One line of `completeness.csv`: what one commune sent for one pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Completeness {
    pub commune: String,
    pub commune_name: String,
    pub period: String,
    pub pipeline: String,
    pub workbooks: usize,
    pub workbooks_failed: usize,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// Modification time of the newest workbook (local time), if any.
    pub last_received: Option<String>,
    pub status: Received,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Received {
    /// Workbooks arrived and were read.
    Received,
    /// Workbooks arrived, but none could be read.
    Unreadable,
    /// Nothing in the department's folder.
    NotSent,
    /// Nothing now, although an earlier release had workbooks: the last
    /// figures are kept, marked stale.
    Missing,
    /// The commune did not run and has no release.
    NoRelease,
}

impl Received {
    pub fn vi(self) -> &'static str {
        match self {
            Received::Received => "Đã nhận",
            Received::Unreadable => "Có tệp nhưng không đọc được",
            Received::NotSent => "Chưa gửi",
            Received::Missing => "Mất tệp (giữ số liệu kỳ trước)",
            Received::NoRelease => "Xã chưa chạy được",
        }
    }
}

/// The province's `run.json`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProvinceReport {
    pub tonghop_version: String,
    pub run_id: String,
    pub started: String,
    pub finished: String,
    pub duration_ms: u128,
    pub config: String,
    pub province: String,
    pub province_name: String,
    pub out: String,
    pub communes: Vec<CommuneRun>,
    /// Sums over the communes' runs.
    pub totals: Totals,
    pub completeness: Vec<Completeness>,
    /// Persons listed in two communes (findings in
    /// `private/duplicates_across_communes.csv`).
    pub duplicates_across_communes: usize,
    pub indicators: Vec<IndicatorValue>,
    pub exit_code: i32,
    pub key_fingerprint: String,
    /// Kept empty: `history` reads it.
    #[serde(default)]
    pub indicator_changes: Vec<String>,
}

pub struct ProvinceOutcome {
    pub report: ProvinceReport,
    pub exit_code: i32,
}

/// A commune with a published release: its config and run record.
struct Published {
    config: Config,
    report: RunReport,
    release: PathBuf,
}

/// Run every commune, then publish the province release.
pub fn run_province(
    pc: &ProvinceConfig,
    opts: &RunOptions,
    load_pipelines: &dyn Fn(&Config) -> Result<Vec<Pipeline>, String>,
) -> Result<ProvinceOutcome> {
    let started_at = chrono::Local::now();
    let clock = Instant::now();
    crate::privacy::enter_private_umask();
    let _span = tracing::info_span!("province", province = %pc.code).entered();
    // One key for every commune, so one person hashes alike everywhere.
    let (pseudonymizer, key_source) =
        crate::privacy::Pseudonymizer::load(pc.privacy_key_file.as_deref(), &pc.out, true)?
            .context("no HMAC key")?;
    let key_file = match key_source {
        crate::privacy::KeySource::Environment => None,
        crate::privacy::KeySource::File(p)
        | crate::privacy::KeySource::Existing(p)
        | crate::privacy::KeySource::Generated(p) => Some(p),
    };
    let (runs, mut published, pipelines) =
        run_communes(pc, key_file.as_deref(), opts, load_pipelines);
    let pipelines = match pipelines {
        Some(p) => p,
        None => crate::pipeline::load(None, &Default::default())
            .map_err(|e| anyhow::anyhow!(e.join("; ")))?,
    };
    let pipelines: Vec<&Pipeline> = pipelines.iter().collect();
    published.sort_by(|a, b| a.config.commune.code.cmp(&b.config.commune.code));

    let run_id = crate::release::new_run_id();
    let release = crate::release::Release::begin(&pc.out, &run_id)?;
    let out = release.dir.clone();
    link_tables(&published, &out)?;
    let groups = period_groups(&published);
    // The persons' keys spill here while the province counts them once
    // (private, as every personal value).
    let scratch = pc.out.join("state");
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let mut indicators_all: Vec<IndicatorValue> = Vec::new();
    let mut breakdowns_all: Vec<BreakdownRow> = Vec::new();
    for p in &published {
        indicators_all.extend(p.report.indicators.iter().cloned().map(|mut v| {
            v.commune.clone_from(&p.config.commune.code);
            v.period = p.config.period.partition();
            v
        }));
        breakdowns_all.extend(p.report.breakdowns.iter().cloned().map(|mut b| {
            b.commune.clone_from(&p.config.commune.code);
            b.period = p.config.period.partition();
            b
        }));
    }
    let mut findings = Vec::new();
    for (period, members) in &groups {
        let members: Vec<&Published> = members.iter().map(|&i| &published[i]).collect();
        let (ind, brk, dup) = province_figures(pc, &pipelines, period, &members, &scratch)?;
        indicators_all.extend(ind);
        breakdowns_all.extend(brk);
        findings.extend(dup);
    }
    let completeness = completeness(&runs, &published, &pipelines);
    let mut totals = Totals::default();
    for p in &published {
        for f in &p.report.files {
            totals.add(f);
        }
    }
    // Outputs.
    publish::write_bytes(
        &out.join("indicators.csv"),
        publish::indicators_csv(&indicators_all).as_bytes(),
    )?;
    publish::write_parquet(
        &out.join("indicators.parquet"),
        &mut publish::indicators_frame(&indicators_all)?,
    )?;
    let mut dims: Vec<&str> = breakdowns_all.iter().map(|b| b.by.as_str()).collect();
    dims.sort();
    dims.dedup();
    for by in dims {
        let rows: Vec<&BreakdownRow> = breakdowns_all.iter().filter(|b| b.by == by).collect();
        publish::write_bytes(
            &out.join(format!("indicators_by_{by}.csv")),
            publish::breakdown_csv(by, &rows).as_bytes(),
        )?;
        publish::write_parquet(
            &out.join(format!("indicators_by_{by}.parquet")),
            &mut publish::breakdown_frame(by, &rows)?,
        )?;
    }
    publish::write_bytes(
        &out.join("completeness.csv"),
        completeness_csv(&completeness).as_bytes(),
    )?;
    std::fs::create_dir_all(out.join("private"))?;
    publish::write_bytes(
        &out.join("private/duplicates_across_communes.csv"),
        publish::findings_csv(&findings).as_bytes(),
    )?;
    let stamp = started_at.format("%d/%m/%Y %H:%M").to_string();
    let inputs = report::Inputs {
        pc,
        pipelines: &pipelines,
        runs: &runs,
        indicators: &indicators_all,
        completeness: &completeness,
        stamp: &stamp,
    };
    publish::write_bytes(
        &out.join("bao-cao.md"),
        report::markdown(&inputs).as_bytes(),
    )?;
    publish::write_bytes(&out.join("bao-cao.html"), report::html(&inputs).as_bytes())?;
    publish::write_bytes(&out.join("tong-hop.xlsx"), &report::workbook(&inputs)?)?;
    write_spark(&out, pc, &pipelines, &published, &groups)?;
    let exit_code = exit_code(&runs, &published);
    let report = ProvinceReport {
        tonghop_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: run_id.clone(),
        started: started_at.to_rfc3339(),
        finished: chrono::Local::now().to_rfc3339(),
        duration_ms: clock.elapsed().as_millis(),
        config: pc.path.display().to_string(),
        province: pc.code.clone(),
        province_name: pc.name.clone(),
        out: pc.out.display().to_string(),
        communes: runs,
        totals,
        completeness,
        duplicates_across_communes: findings.len() / 2,
        indicators: indicators_all,
        exit_code,
        key_fingerprint: pseudonymizer.fingerprint(),
        indicator_changes: Vec::new(),
    };
    let json = serde_json::to_vec_pretty(&report)?;
    publish::write_bytes(&out.join("run.json"), &json)?;
    crate::privacy::restrict(&out.join("private"))?;
    release.commit(&json)?;
    Ok(ProvinceOutcome { report, exit_code })
}

/// 1 when a commune did not run or its run says the operator must look.
fn exit_code(runs: &[CommuneRun], published: &[Published]) -> i32 {
    let bad_run = runs
        .iter()
        .any(|r| r.status != CommuneStatus::Ran || r.exit_code.is_some_and(|c| c != 0));
    i32::from(bad_run || published.is_empty())
}

/// A commune ready to run: its config (output folder and key set by the
/// province), its pipelines, its lock.
struct Slot {
    config: Config,
    pipelines: Vec<Pipeline>,
    _lock: crate::release::RunLock,
}

/// Run every commune into `<out>/communes/<code>`: all their workbooks in
/// one pool, each commune's tables, figures and release as soon as its
/// workbooks are read (memory bounded by the communes in flight, whatever
/// their number).
/// Returns how each fared, the communes with a published release (this
/// run's or the last good one), and the pipelines of the first commune.
fn run_communes(
    pc: &ProvinceConfig,
    key_file: Option<&Path>,
    opts: &RunOptions,
    load_pipelines: &dyn Fn(&Config) -> Result<Vec<Pipeline>, String>,
) -> (Vec<CommuneRun>, Vec<Published>, Option<Vec<Pipeline>>) {
    let mut runs: Vec<CommuneRun> = Vec::new();
    let mut slots: Vec<Slot> = Vec::new();
    let mut slot_runs: Vec<CommuneRun> = Vec::new();
    let mut configs: Vec<Config> = Vec::new();
    let mut seen_codes = std::collections::BTreeSet::new();
    for path in &pc.communes {
        let mut run = CommuneRun {
            config: path.display().to_string(),
            code: String::new(),
            name: String::new(),
            period: String::new(),
            status: CommuneStatus::ConfigError,
            error: None,
            exit_code: None,
            release: None,
        };
        let mut config = match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(config = %path.display(), error = %e, "commune config: not run");
                run.error = Some(e);
                runs.push(run);
                continue;
            }
        };
        run.code.clone_from(&config.commune.code);
        run.name.clone_from(&config.commune.name);
        run.period = config.period.partition();
        if !seen_codes.insert(config.commune.code.clone()) {
            run.error = Some(format!(
                "mã xã {0} đã có trong tỉnh / commune code {0} is listed twice; this config was not run",
                config.commune.code
            ));
            runs.push(run);
            continue;
        }
        config.out = pc.out.join("communes").join(&config.commune.code);
        config.privacy_key_file = key_file.map(Path::to_path_buf);
        let ready = load_pipelines(&config).and_then(|pipelines| {
            let all: Vec<&Pipeline> = pipelines.iter().collect();
            if let Some(e) = preflight(&config, &all, opts) {
                return Err(e);
            }
            let lock = crate::release::RunLock::acquire(&config.out).map_err(|e| e.to_string())?;
            Ok((pipelines, lock))
        });
        match ready {
            Ok((pipelines, lock)) => {
                run.status = CommuneStatus::Failed;
                configs.push(config.clone());
                slot_runs.push(run);
                slots.push(Slot {
                    config,
                    pipelines,
                    _lock: lock,
                });
            }
            Err(e) => {
                tracing::error!(commune = %config.commune.code, error = %e, "commune not run");
                run.error = Some(e);
                configs.push(config);
                runs.push(run);
            }
        }
    }
    let refs: Vec<Vec<&Pipeline>> = slots.iter().map(|s| s.pipelines.iter().collect()).collect();
    // Prepare every commune (discovery, hashes, release begun).
    let mut pendings: Vec<Option<Box<crate::run::Pending<'_>>>> = Vec::new();
    let mut errors: Vec<Option<String>> = Vec::new();
    let mut done: Vec<Option<i32>> = Vec::new();
    for (slot, all) in slots.iter().zip(&refs) {
        let _span = tracing::info_span!("commune", commune = %slot.config.commune.code).entered();
        match crate::run::prepare(&slot.config, all, opts) {
            Ok(crate::run::Prepared::Done(o)) => {
                pendings.push(None);
                errors.push(None);
                done.push(Some(o.exit_code));
            }
            Ok(crate::run::Prepared::Pending(p)) => {
                pendings.push(Some(p));
                errors.push(None);
                done.push(None);
            }
            Err(e) => {
                pendings.push(None);
                errors.push(Some(format!("{e:#}")));
                done.push(None);
            }
        }
    }
    let results = read_and_finish(pendings, &mut errors, &done);
    for (i, (run, result)) in slot_runs.iter_mut().zip(results).enumerate() {
        match result {
            Ok(code) => {
                run.status = CommuneStatus::Ran;
                run.exit_code = Some(code);
            }
            Err(e) => {
                let _span = tracing::info_span!("commune", commune = %slots[i].config.commune.code)
                    .entered();
                tracing::error!(error = %e, "commune run failed");
                run.error = Some(e);
            }
        }
    }
    drop(refs);
    let first_pipelines = slots.into_iter().next().map(|s| s.pipelines);
    // Keep the province file's order.
    let mut all_runs: Vec<(usize, CommuneRun)> = Vec::new();
    for r in runs.into_iter().chain(slot_runs) {
        let at = pc
            .communes
            .iter()
            .position(|p| p.display().to_string() == r.config)
            .unwrap_or(usize::MAX);
        all_runs.push((at, r));
    }
    all_runs.sort_by_key(|(at, _)| *at);
    let mut runs: Vec<CommuneRun> = all_runs.into_iter().map(|(_, r)| r).collect();
    let mut published = Vec::new();
    for config in configs {
        let Some(release) = crate::release::current_release(&config.out) else {
            continue;
        };
        let Some(report) = std::fs::read(release.join("run.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<RunReport>(&b).ok())
        else {
            continue;
        };
        if let Some(r) = runs.iter_mut().find(|r| {
            r.code == config.commune.code && r.config == config.path.display().to_string()
        }) {
            r.release = Some(release.display().to_string());
        }
        published.push(Published {
            config,
            report,
            release,
        });
    }
    (runs, published, first_pipelines)
}

/// Every workbook of every commune in one pool; each commune's tables,
/// figures and release as soon as its last workbook is read, on this
/// thread while the pool reads on. The pool takes the workbooks in commune
/// order and waits while this thread is behind (a channel of one result per
/// reader), so what is held is the workbooks of the few communes in flight,
/// not of the province. Per commune: its exit code, or why it failed.
fn read_and_finish(
    pendings: Vec<Option<Box<crate::run::Pending<'_>>>>,
    errors: &mut [Option<String>],
    done: &[Option<i32>],
) -> Vec<Result<i32, String>> {
    let mut results: Vec<Option<Result<i32, String>>> = (0..pendings.len())
        .map(|i| match (errors[i].take(), done[i]) {
            (Some(e), _) => Some(Err(e)),
            (None, Some(code)) => Some(Ok(code)),
            (None, None) if pendings[i].is_none() => Some(Err("not prepared".to_string())),
            (None, None) => None,
        })
        .collect();
    let jobs: Vec<(usize, usize)> = pendings
        .iter()
        .enumerate()
        .flat_map(|(ci, p)| (0..p.as_ref().map_or(0, |p| p.workbooks())).map(move |wi| (ci, wi)))
        .collect();
    tracing::info!(
        communes = pendings.len(),
        workbooks = jobs.len(),
        "reading every commune's workbooks"
    );
    let mut left: Vec<usize> = pendings
        .iter()
        .map(|p| p.as_ref().map_or(0, |p| p.workbooks()))
        .collect();
    let mut read: Vec<Vec<Option<Result<crate::run::Read>>>> = left
        .iter()
        .map(|&n| std::iter::repeat_with(|| None).take(n).collect())
        .collect();
    let pendings: Vec<std::sync::RwLock<Option<Box<crate::run::Pending<'_>>>>> =
        pendings.into_iter().map(std::sync::RwLock::new).collect();
    let finish = |ci: usize, read: Vec<Option<Result<crate::run::Read>>>| -> Result<i32, String> {
        let Some(p) = pendings[ci].write().ok().and_then(|mut p| p.take()) else {
            return Err("not prepared".to_string());
        };
        let _span = tracing::info_span!("commune", commune = %p.commune_code()).entered();
        read.into_iter()
            .map(|r| r.unwrap_or_else(|| Err(anyhow::anyhow!("a workbook was not read"))))
            .collect::<Result<Vec<_>>>()
            .and_then(|r| p.finish(r))
            .map(|o| o.exit_code)
            .map_err(|e| format!("{e:#}"))
    };
    // Communes with nothing to read are finished first.
    for ci in 0..left.len() {
        if results[ci].is_none() && left[ci] == 0 {
            results[ci] = Some(finish(ci, Vec::new()));
        }
    }
    let threads = rayon::current_num_threads().clamp(1, jobs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (jobs, next, pendings) = (&jobs, &next, &pendings);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(ci, wi)) = jobs.get(i) else { break };
                    let r = match pendings[ci].read() {
                        Ok(p) => match p.as_ref() {
                            Some(p) => p.read_one(wi),
                            None => Err(anyhow::anyhow!("not prepared")),
                        },
                        Err(_) => Err(anyhow::anyhow!("a reader panicked")),
                    };
                    if tx.send((ci, wi, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (ci, wi, r) in rx {
            read[ci][wi] = Some(r);
            left[ci] -= 1;
            if left[ci] == 0 {
                results[ci] = Some(finish(ci, std::mem::take(&mut read[ci])));
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("its workbooks were not all read".to_string())))
        .collect()
}

/// What stops a commune before it runs (the checks of `tonghop run`).
fn preflight(config: &Config, all: &[&Pipeline], opts: &RunOptions) -> Option<String> {
    let selected: Vec<&Pipeline> = all
        .iter()
        .copied()
        .filter(|p| opts.only.is_empty() || opts.only.contains(&p.name))
        .collect();
    let problems = crate::preflight::before_run(config, &selected);
    if !problems.is_empty() {
        let texts: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Some(texts.join("; "));
    }
    if let Err(e) = crate::release::check_writable(&config.out) {
        return Some(e.to_string());
    }
    crate::release::create_out(&config.out)
        .err()
        .map(|e| format!("{e:#}"))
}

/// Hard links of every commune's published tables (public and private)
/// into the province release, partitioned as they are.
fn link_tables(published: &[Published], out: &Path) -> Result<()> {
    for p in published {
        for t in &p.report.tables {
            let Some(rel) = t.path.strip_prefix("private/") else {
                continue;
            };
            for zone in ["public", "private"] {
                let from = p.release.join(zone).join(rel);
                let to = out.join(zone).join(rel);
                if !from.exists() {
                    continue;
                }
                if let Some(dir) = to.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                if std::fs::hard_link(&from, &to).is_err() {
                    std::fs::copy(&from, &to).with_context(|| {
                        format!("cannot copy {} to {}", from.display(), to.display())
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// The communes (indexes into `published`) of each period, periods in order.
fn period_groups(published: &[Published]) -> Vec<(Period, Vec<usize>)> {
    let mut groups: BTreeMap<(chrono::NaiveDate, chrono::NaiveDate), Vec<usize>> = BTreeMap::new();
    for (i, p) in published.iter().enumerate() {
        groups
            .entry((p.config.period.from, p.config.period.to))
            .or_default()
            .push(i);
    }
    groups
        .into_iter()
        .map(|((from, to), v)| (Period { from, to }, v))
        .collect()
}

/// Whether a commune's release has figures of a pipeline (its workbooks
/// came, now or earlier).
fn has_pipeline(p: &Published, pipeline: &str) -> bool {
    p.report.pipelines.iter().any(|s| {
        s.name == pipeline
            && !matches!(
                s.status,
                PipelineStatus::NoWorkbooks | PipelineStatus::NotRun
            )
    })
}

/// The province's figures for one period: each pipeline's SQL over the rows
/// of every member commune, persons counted once; and the findings of the
/// persons listed in two communes.
fn province_figures(
    pc: &ProvinceConfig,
    pipelines: &[&Pipeline],
    period: &Period,
    members: &[&Published],
    scratch: &Path,
) -> Result<(Vec<IndicatorValue>, Vec<BreakdownRow>, Vec<Finding>)> {
    let mut config = members[0].config.clone();
    config.commune.code.clone_from(&pc.code);
    config.commune.name.clone_from(&pc.name);
    config.period = *period;
    config.targets = pc.targets.clone();
    config.villages = Default::default();
    let mut indicators_out = Vec::new();
    let mut breakdowns_out = Vec::new();
    let mut findings = Vec::new();
    for pipeline in pipelines {
        let with: Vec<&&Published> = members
            .iter()
            .filter(|m| has_pipeline(m, &pipeline.name))
            .collect();
        let mut figures = Vec::new();
        let mut breakdowns = Vec::new();
        if with.is_empty() {
            figures.extend(no_figures(pipeline));
        } else {
            let mut frames = Vec::new();
            let mut unique: Vec<(String, &str)> = Vec::new();
            for table in &pipeline.tables {
                let paths: Vec<Option<PathBuf>> = with
                    .iter()
                    .map(|m| {
                        m.report
                            .tables
                            .iter()
                            .find(|t| t.pipeline == pipeline.name && t.table == table.name)
                            .map(|t| m.release.join(&t.path))
                    })
                    .collect();
                if paths.iter().all(Option::is_none) {
                    continue;
                }
                let key = spark::province_key(table);
                // The first commune (by code) of each person keeps them.
                let deduped = match key {
                    Some(key) => {
                        let refs: Vec<Option<&Path>> = paths.iter().map(|p| p.as_deref()).collect();
                        let d = dedupe::dedupe(&refs, key, scratch)?;
                        findings
                            .extend(duplicates_across(pipeline, table, key, &paths, &d, &with)?);
                        // As the SQL context registers the table: by its
                        // name and as `<pipeline>_<name>`.
                        unique.push((table.name.clone(), key));
                        unique.push((format!("{}_{}", pipeline.name, table.name), key));
                        Some(d)
                    }
                    None => None,
                };
                // One scan of every commune's file (not a union of scans:
                // polars' streaming engine cannot sum the counts a union
                // pushes down), persons counted once by their position.
                same_schema(&paths, &with)?;
                let files: Vec<PlRefPath> = paths
                    .iter()
                    .flatten()
                    .map(|p| PlRefPath::try_from_path(p))
                    .collect::<PolarsResult<_>>()?;
                let mut args = ScanArgsParquet::default();
                args.hive_options.enabled = Some(false);
                let mut all = LazyFrame::scan_parquet_files(files.into_iter().collect(), args)?;
                if let Some(d) = &deduped {
                    let drops = d.drops_in_sequence()?;
                    if !drops.is_empty() {
                        let drops = Series::new("__drop".into(), drops);
                        all = all
                            .with_row_index("__row", None)
                            .filter(col("__row").is_in(lit(drops).implode(false), false).not())
                            .drop(cols(["__row"]));
                    }
                }
                // Scanned by every query, never held: the province's rows
                // are many.
                frames.push((
                    table.name.clone(),
                    indicators::sql_columns(pipeline, all)?.0,
                ));
            }
            let unique_refs: Vec<(&str, &str)> =
                unique.iter().map(|(t, k)| (t.as_str(), *k)).collect();
            let how = indicators::Evaluation {
                streaming: true,
                unique: &unique_refs,
            };
            let computed = indicators::compute_with(pipeline, &frames, &config, &how);
            figures = computed.indicators;
            breakdowns = computed
                .breakdowns
                .into_iter()
                .filter(|b| !by_village(pipeline, &b.by))
                .collect();
        }
        for f in &mut figures {
            // What the communes' figures lacked, the province's lacks.
            for m in &with {
                if let Some(c) = m.report.indicators.iter().find(|i| i.id == f.id) {
                    f.excluded.rows_rejected += c.excluded.rows_rejected;
                    f.excluded.rows_duplicate += c.excluded.rows_duplicate;
                    f.excluded.rows_out_of_period += c.excluded.rows_out_of_period;
                    f.excluded.cells_excluded += c.excluded.cells_excluded;
                    if f.stale_since.is_none() {
                        f.stale_since.clone_from(&c.stale_since);
                    }
                }
            }
            f.commune.clone_from(&pc.code);
            f.period = period.partition();
        }
        for b in &mut breakdowns {
            b.commune.clone_from(&pc.code);
            b.period = period.partition();
        }
        indicators_out.extend(figures);
        breakdowns_out.extend(breakdowns);
    }
    Ok((indicators_out, breakdowns_out, findings))
}

/// Every commune's file of one table has the first one's columns and
/// types: one scan reads them all with the first file's schema, so a
/// commune whose release was written by another version of the pipeline is
/// named here rather than failing every query.
fn same_schema(paths: &[Option<PathBuf>], members: &[&&Published]) -> Result<()> {
    let mut first: Option<(Schema, usize)> = None;
    for (m, path) in paths.iter().enumerate() {
        let Some(path) = path else { continue };
        let schema =
            LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())?
                .collect_schema()?;
        match &first {
            None => first = Some(((*schema).clone(), m)),
            Some((want, at)) if *want != *schema => anyhow::bail!(
                "xã {} và xã {}: bảng không cùng cột / the communes' tables differ in columns or types ({} vs {})",
                members[*at].config.commune.code,
                members[m].config.commune.code,
                paths[*at]
                    .as_deref()
                    .map(Path::display)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                path.display()
            ),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A breakdown by the commune's own village list: no province figure
/// (villages of two communes are not one dimension).
fn by_village(pipeline: &Pipeline, by: &str) -> bool {
    pipeline
        .tables
        .iter()
        .flat_map(|t| t.columns.iter())
        .any(|c| c.name == by && c.list.as_deref() == Some("villages"))
}

/// The persons (by their key) listed in more than one commune: one finding
/// per listing, each naming the other.
fn duplicates_across(
    pipeline: &Pipeline,
    table: &crate::pipeline::Table,
    key: &str,
    paths: &[Option<PathBuf>],
    deduped: &dedupe::Deduped,
    members: &[&&Published],
) -> Result<Vec<Finding>> {
    if deduped.across.is_empty() {
        return Ok(Vec::new());
    }
    // Only the few rows listed twice are read back, commune by commune.
    let mut wanted: Vec<Vec<u32>> = vec![Vec::new(); paths.len()];
    for l in deduped.across.iter().flatten() {
        wanted[l.member].push(l.row);
    }
    let mut frames = Vec::new();
    for (m, rows) in wanted.iter_mut().enumerate() {
        let Some(path) = &paths[m] else { continue };
        if rows.is_empty() {
            continue;
        }
        rows.sort_unstable();
        let rows = Series::new("__want".into(), rows.as_slice());
        frames.push(
            LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())?
                .with_row_index("__row", None)
                .filter(col("__row").is_in(lit(rows).implode(false), false))
                .select([
                    col(key).cast(DataType::String),
                    lit(members[m].config.commune.code.clone()).alias("__commune"),
                    col("source_file"),
                    col("source_sheet"),
                    col("source_row").cast(DataType::Int64),
                ]),
        );
    }
    let df = concat(frames, UnionArgs::default())?
        .sort(
            [key, "__commune", "source_file", "source_row"],
            SortMultipleOptions::default(),
        )
        .collect()?;
    let text = |name: &str, i: usize| -> String {
        df.column(name)
            .ok()
            .and_then(|c| c.str().ok().and_then(|s| s.get(i).map(str::to_string)))
            .unwrap_or_default()
    };
    let rows = df.column("source_row")?.i64()?.clone();
    let letter = |commune: &str, file: &str, sheet: &str| -> String {
        members
            .iter()
            .find(|m| m.config.commune.code == commune)
            .and_then(|m| m.report.files.iter().find(|f| f.path == file))
            .and_then(|f| f.sheets.iter().find(|s| s.name == sheet))
            .and_then(|s| s.columns.get(key).cloned())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let n = df.height();
    let mut i = 0;
    while i < n {
        let k = text(key, i);
        let mut j = i;
        while j < n && text(key, j) == k {
            j += 1;
        }
        let places: Vec<(String, String, String, i64, String)> = (i..j)
            .map(|r| {
                let (c, f, s) = (
                    text("__commune", r),
                    text("source_file", r),
                    text("source_sheet", r),
                );
                let row = rows.get(r).unwrap_or(0);
                let cell = format!("{}{row}", letter(&c, &f, &s));
                (c, f, s, row, cell)
            })
            .collect();
        for (a, (c, f, s, row, cell)) in places.iter().enumerate() {
            let others: Vec<String> = places
                .iter()
                .enumerate()
                .filter(|(b, _)| *b != a)
                .map(|(_, (c2, f2, s2, _, cell2))| format!("xã {c2}: {f2}, {s2}!{cell2}"))
                .collect();
            out.push(Finding {
                pipeline: pipeline.name.clone(),
                table: table.name.clone(),
                file: format!("{c}/{f}"),
                sheet: s.clone(),
                row: u32::try_from(*row).unwrap_or(0),
                cell: cell.clone(),
                column: key.to_string(),
                header: String::new(),
                value: k.clone(),
                severity: Severity::Warning,
                code: "duplicate_across_communes".into(),
                reason: format!(
                    "cùng một người có trong danh sách của xã khác ({}); số liệu của tỉnh chỉ tính một lần, ở xã có mã nhỏ nhất",
                    others.join("; ")
                ),
                related: others.join("; "),
                excludes: String::new(),
            });
        }
        i = j;
    }
    Ok(out)
}

/// Commune × pipeline: what was received.
fn completeness(
    runs: &[CommuneRun],
    published: &[Published],
    pipelines: &[&Pipeline],
) -> Vec<Completeness> {
    let mut out = Vec::new();
    for r in runs.iter().filter(|r| !r.code.is_empty()) {
        let p = published.iter().find(|p| p.config.commune.code == r.code);
        for pipeline in pipelines {
            let mut c = Completeness {
                commune: r.code.clone(),
                commune_name: r.name.clone(),
                period: r.period.clone(),
                pipeline: pipeline.name.clone(),
                workbooks: 0,
                workbooks_failed: 0,
                rows_accepted: 0,
                rows_rejected: 0,
                last_received: None,
                status: Received::NoRelease,
            };
            if let Some(p) = p {
                let files: Vec<_> = p
                    .report
                    .files
                    .iter()
                    .filter(|f| f.pipeline == pipeline.name)
                    .collect();
                c.workbooks = files.len();
                c.workbooks_failed = files.iter().filter(|f| !f.errors.is_empty()).count();
                c.rows_accepted = files.iter().map(|f| u64::from(f.accepted)).sum();
                c.rows_rejected = files.iter().map(|f| u64::from(f.rejected)).sum();
                c.last_received = files
                    .iter()
                    .filter_map(|f| crate::util::modified_local(&p.config.inbox.join(&f.path)))
                    .max()
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string());
                let status = p.report.pipelines.iter().find(|s| s.name == pipeline.name);
                c.status = match status.map(|s| s.status) {
                    Some(PipelineStatus::MissingInputs) => Received::Missing,
                    Some(PipelineStatus::NoWorkbooks | PipelineStatus::NotRun) | None => {
                        Received::NotSent
                    }
                    _ if c.workbooks > 0 && c.workbooks_failed == c.workbooks => {
                        Received::Unreadable
                    }
                    _ => Received::Received,
                };
            }
            out.push(c);
        }
    }
    out
}

fn completeness_csv(rows: &[Completeness]) -> String {
    // For people (Excel) as well as BI tools: a BOM, as rejects.csv.
    let mut s = String::from(
        "\u{feff}commune,commune_name,period,pipeline,workbooks,workbooks_failed,rows_accepted,rows_rejected,last_received,status,status_vi\n",
    );
    for c in rows {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&c.commune),
            csv_field(&c.commune_name),
            csv_field(&c.period),
            csv_field(&c.pipeline),
            c.workbooks,
            c.workbooks_failed,
            c.rows_accepted,
            c.rows_rejected,
            csv_field(c.last_received.as_deref().unwrap_or("")),
            serde_json::to_value(c.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            csv_field(c.status.vi()),
        ));
    }
    s
}

/// `spark/`: every indicator's query for all communes and for the
/// province, the communes and provinces tables they join, and the views.
fn write_spark(
    out: &Path,
    pc: &ProvinceConfig,
    pipelines: &[&Pipeline],
    published: &[Published],
    groups: &[(Period, Vec<usize>)],
) -> Result<()> {
    let dir = out.join("spark");
    std::fs::create_dir_all(&dir)?;
    let targets = spark::target_keys(pipelines);
    let params = spark::param_keys(pipelines);
    let columns = spark::communes_columns(pipelines, &targets, &params);
    // A parameter's value as the communes table holds it, with its type
    // for the driver: a cut-off date, or a number.
    let param_of = |c: &crate::config::Config, k: &str| -> String {
        match (c.params.get(k), c.param_dates.get(k)) {
            (Some(v), _) => v.to_string(),
            (None, Some(d)) => d.to_string(),
            (None, None) => String::new(),
        }
    };
    let first_config = published.first().map(|p| &p.config);
    let param_types: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|k| {
            let number = published.iter().any(|p| p.config.params.contains_key(k));
            let date = published
                .iter()
                .any(|p| p.config.param_dates.contains_key(k));
            // No commune has it (its pipeline has no workbooks anywhere):
            // every value is NULL, as text, which Spark compares with anything.
            let kind = match (number, date) {
                (true, _) => "double",
                (false, true) => "date",
                (false, false) => "string",
            };
            (spark::param_column(k), serde_json::Value::from(kind))
        })
        .collect();
    let mut queries = Vec::new();
    for p in pipelines {
        for i in &p.indicators {
            let commune = spark::rewrite(p, &i.sql, spark::Scope::Commune, &columns);
            let province = spark::rewrite(p, &i.sql, spark::Scope::Province, &columns);
            queries.push(serde_json::json!({
                "indicator": i.id,
                "pipeline": p.name,
                "unit": i.unit,
                "label": i.label,
                "commune_sql": commune.as_ref().ok(),
                "province_sql": province.as_ref().ok(),
                "error": commune.err().or(province.err()),
            }));
        }
    }
    let mut breakdowns = Vec::new();
    for p in pipelines {
        for b in &p.breakdowns {
            // By the commune's own village list: no province row (two
            // communes' "Nà Ngò" are not one village), as embedded.
            let listed = p
                .tables
                .iter()
                .flat_map(|t| &t.columns)
                .any(|c| c.name == b.by && c.list.is_some());
            let commune = spark::rewrite_breakdown(p, &b.sql, spark::Scope::Commune);
            let province = (!listed)
                .then(|| spark::rewrite_breakdown(p, &b.sql, spark::Scope::Province))
                .transpose();
            breakdowns.push(serde_json::json!({
                "breakdown": b.id,
                "by": b.by,
                "pipeline": p.name,
                "commune_sql": commune.as_ref().ok(),
                "province_sql": province.as_ref().ok().and_then(|o| o.as_ref()),
                "error": commune.err().or(province.err()),
            }));
        }
    }
    let views: Vec<serde_json::Value> = pipelines
        .iter()
        .flat_map(|p| {
            p.tables.iter().map(move |t| {
                serde_json::json!({
                    "view": spark::view_name(&p.name, &t.name),
                    "path": format!("public/tables/{}_{}", p.name, t.name),
                    "province_view": format!("{}__province", spark::view_name(&p.name, &t.name)),
                    "province_sql": spark::province_view(p, t),
                })
            })
        })
        .collect();
    let row = |commune: &str,
               period: &Period,
               targets_of: &dyn Fn(&str) -> Option<f64>,
               params_of: &dyn Fn(&str) -> String,
               has: &dyn Fn(&str) -> bool| {
        let mut v = vec![
            commune.to_string(),
            period.partition(),
            period.from.to_string(),
            period.to.to_string(),
        ];
        v.extend(
            targets
                .iter()
                .map(|t| targets_of(t).map(|x| x.to_string()).unwrap_or_default()),
        );
        v.extend(params.iter().map(|k| params_of(k)));
        v.extend(pipelines.iter().map(|p| has(&p.name).to_string()));
        v.iter().map(|x| csv_field(x)).collect::<Vec<_>>().join(",")
    };
    let header = columns.join(",");
    let mut communes = format!("{header}\n");
    for p in published {
        communes.push_str(&row(
            &p.config.commune.code,
            &p.config.period,
            &|t| p.config.targets.get(t).copied(),
            &|k| param_of(&p.config, k),
            &|name| has_pipeline(p, name),
        ));
        communes.push('\n');
    }
    let mut provinces = format!("{header}\n");
    for (period, members) in groups {
        provinces.push_str(&row(
            &pc.code,
            period,
            &|t| pc.targets.get(t).copied(),
            // As the embedded province figures: the first member commune's.
            &|k| {
                members
                    .first()
                    .map(|&i| &published[i].config)
                    .or(first_config)
                    .map(|c| param_of(c, k))
                    .unwrap_or_default()
            },
            &|name| members.iter().any(|&i| has_pipeline(&published[i], name)),
        ));
        provinces.push('\n');
    }
    publish::write_bytes(&dir.join("communes.csv"), communes.as_bytes())?;
    publish::write_bytes(&dir.join("provinces.csv"), provinces.as_bytes())?;
    let doc = serde_json::json!({
        "columns": columns,
        "targets": targets,
        "param_types": param_types,
        "pipelines": pipelines.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
        "views": views,
        "queries": queries,
        "breakdowns": breakdowns,
    });
    publish::write_bytes(&dir.join("queries.json"), &serde_json::to_vec_pretty(&doc)?)?;
    Ok(())
}
