//! `[[tests]]` of the pipeline files: each example is a workbook (cells
//! written by the test, or a fixture file) read exactly as a run reads it,
//! then checked against what the example expects: accepted and rejected
//! rows, findings at their cells, figures. Run by `tonghop test` and by
//! `cargo test` for every file in `pipelines/`, so a department's rules are
//! proven by its own file.

use crate::config::{Config, RunContext};
use crate::pipeline::{Pipeline, PipelineTest};
use std::path::{Path, PathBuf};

/// The outcome of one example: what differed from the expectation (empty: passed).
#[derive(Debug)]
pub struct TestOutcome {
    pub pipeline: String,
    pub name: String,
    pub failures: Vec<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Run every example of `pipelines`, writing scratch workbooks under `scratch`.
/// `base` is the folder fixture paths of built-in pipelines resolve against.
pub fn run_all(pipelines: &[Pipeline], scratch: &Path) -> Vec<TestOutcome> {
    let mut out = Vec::new();
    for p in pipelines {
        for t in &p.tests {
            let failures = match run_one(p, t, scratch) {
                Ok(f) => f,
                Err(e) => vec![format!("{e:#}")],
            };
            out.push(TestOutcome {
                pipeline: p.name.clone(),
                name: t.name.clone(),
                failures,
            });
        }
    }
    out
}

/// The folder a pipeline file's relative paths resolve against.
fn pipeline_dir(p: &Pipeline) -> PathBuf {
    let source = Path::new(&p.source);
    let dir = source.parent().unwrap_or(Path::new("."));
    if source.is_absolute() || source.exists() {
        dir.to_path_buf()
    } else {
        // A built-in pipeline ("pipelines/x.toml"), run away from the repo.
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    }
}

fn toml_value(v: &toml::Value) -> String {
    v.to_string()
}

fn config_for(p: &Pipeline, t: &PipelineTest, scratch: &Path) -> anyhow::Result<Config> {
    let [from, to] = t
        .period
        .clone()
        .unwrap_or(["2026-01-01".into(), "2026-06-30".into()]);
    let mut text = format!(
        "[commune]\ncode = \"00000\"\nname = \"Kiểm thử\"\nprovince = \"\"\n\n[run]\ninbox = {:?}\nout = {:?}\n\n[period]\nfrom = {from}\nto = {to}\n\n[targets]\n",
        scratch.join("inbox").display().to_string(),
        scratch.join("out").display().to_string(),
    );
    for (k, v) in &t.targets {
        text.push_str(&format!("{k:?} = {v}\n"));
    }
    text.push_str("\n[params]\n");
    for (k, v) in &t.params {
        text.push_str(&format!("{k:?} = {}\n", toml_value(v)));
    }
    Config::parse(&scratch.join(format!("{}.toml", p.name)), &text)
        .map_err(|e| anyhow::anyhow!("the example's period, targets or params: {e}"))
}

/// Write `cells` as one sheet: plain numbers as number cells, the rest as text.
fn write_cells(path: &Path, sheet: &str, cells: &[Vec<String>]) -> anyhow::Result<()> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name(sheet)?;
    for (r, row) in cells.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            let (r, c) = (u32::try_from(r)?, u16::try_from(c)?);
            // A whole number without a leading zero is a number cell; "1.200"
            // (Vietnamese thousands), "3,5" and "012…" (an ID) stay text, as typed.
            let digits = v.strip_prefix('-').unwrap_or(v);
            let whole = !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && (digits == "0" || !digits.starts_with('0'))
                && digits.len() <= 15;
            match v.parse::<f64>() {
                Ok(n) if whole => ws.write_number(r, c, n)?,
                _ => ws.write_string(r, c, v)?,
            };
        }
    }
    wb.save(path)?;
    Ok(())
}

fn run_one(p: &Pipeline, t: &PipelineTest, scratch: &Path) -> anyhow::Result<Vec<String>> {
    use anyhow::Context as _;
    let dir = scratch.join(&p.name).join(&t.name);
    std::fs::create_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    let config = config_for(p, t, &dir)?;
    let (abs, rel) = match &t.workbook {
        Some(w) => {
            let abs = pipeline_dir(p).join(w);
            anyhow::ensure!(abs.is_file(), "workbook {} not found", abs.display());
            let name = abs
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (abs, format!("{}/{name}", p.name))
        }
        None => {
            let abs = dir.join("example.xlsx");
            write_cells(&abs, t.sheet.as_deref().unwrap_or("Sheet1"), &t.cells)?;
            (abs, format!("{}/example.xlsx", p.name))
        }
    };
    let ctx = RunContext::for_period(config.period);
    let mut outcome = crate::extract::process_file(p, &abs, &rel, &ctx);
    crate::dedupe::settle_duplicates(p, &mut [&mut outcome]);
    let mut failures: Vec<String> = outcome
        .errors
        .iter()
        .map(|e| format!("the workbook could not be read: {e}"))
        .collect();
    let accepted: u64 = outcome.sheets.iter().map(|s| u64::from(s.accepted)).sum();
    let rejected: u64 = outcome.sheets.iter().map(|s| u64::from(s.rejected)).sum();
    for (what, want, got) in [
        ("accepted rows", t.accepted, accepted),
        ("rejected rows", t.rejected, rejected),
    ] {
        if let Some(want) = want
            && want as u64 != got
        {
            failures.push(format!("{what}: expected {want}, got {got}"));
        }
    }
    let found: Vec<String> = outcome
        .findings
        .iter()
        .map(|f| format!("{} {}", f.cell, f.code).trim().to_string())
        .collect();
    if let Some(expected) = &t.findings {
        let expected: Vec<String> = expected
            .iter()
            .map(|w| w.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let missing: Vec<&String> = expected.iter().filter(|w| !found.contains(w)).collect();
        let unexpected: Vec<&String> = found.iter().filter(|f| !expected.contains(f)).collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            failures.push(format!(
                "findings: expected {:?}, found {:?}",
                expected, found
            ));
        }
    }
    if !t.indicators.is_empty() {
        let names = outcome.sheet_names();
        let mut frames = Vec::new();
        for (ti, table) in p.tables.iter().enumerate() {
            let df = crate::table::build_frame(
                table,
                &[crate::table::SourcedBatch {
                    batch: &outcome.batches[ti],
                    file: &rel,
                    sheet_names: &names,
                }],
            )?;
            frames.push((table.name.clone(), polars::prelude::IntoLazy::lazy(df)));
        }
        let computed = crate::indicators::compute(p, &frames, &config);
        for (id, want) in &t.indicators {
            let got = computed.indicators.iter().find(|i| &i.id == id);
            match got.map(|i| (i.value, &i.error)) {
                Some((Some(v), _)) if (v - want).abs() <= 1e-9 * want.abs().max(1.0) => {}
                Some((Some(v), _)) => failures.push(format!("{id}: expected {want}, got {v}")),
                Some((None, Some(e))) => {
                    failures.push(format!("{id}: expected {want}, failed: {e}"))
                }
                _ => failures.push(format!("{id}: expected {want}, got no figure")),
            }
        }
    }
    Ok(failures)
}
