//! Command-line interface. Exit codes: 0 every workbook was read (rejected
//! rows are normal), 1 some workbook (or indicator, or an error-severity
//! check) failed while the rest was still processed and published, 2 usage
//! or configuration error (nothing run), 3 another run holds the output
//! folder, 4 the run itself failed (nothing published).

use crate::config::Config;
use crate::pipeline::{self, Pipeline};
use crate::release::disk_full;
pub use crate::report::terminal::display_path;
use crate::report::terminal::{local_time, print_summary, say_reconciliation};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `println!` that ignores a closed stdout (`tonghop run | head`).
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAILED_WORKBOOK: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
/// Another run holds the output folder; nothing was touched.
pub const EXIT_BUSY: i32 = 3;
/// The run itself failed (a full disk, an output that cannot be written):
/// nothing was published, the published release is unchanged.
pub const EXIT_FATAL: i32 = 4;

#[derive(Parser, Debug)]
#[command(
    name = "tonghop",
    version,
    about = "Compile commune report figures from department Excel workbooks",
    long_about = "tonghop (\"tổng hợp\") reads the workbooks departments drop in an inbox \
(<inbox>/<pipeline>/**/*.xlsx|xlsm|xls|xlsb|ods), normalises them into typed Parquet, \
rejects bad rows naming the exact cell, and computes the figures the commune report quotes.\n\n\
Exit codes: 0 all workbooks read; 1 some workbook failed, a pipeline's workbooks all vanished, \
or a check of severity \"error\" failed; the others are still processed and published; 2 usage or \
configuration error, unwritable output folder, or a changed HMAC key without --rekey (nothing \
run); 3 another run is publishing to the same output folder (nothing touched); 4 the run itself \
failed, e.g. a full disk while publishing (nothing published, the published release unchanged).\n\n\
Logging: RUST_LOG-style filter in the RUST_LOG environment variable (default: warn)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Process the inbox and publish tables, rejects, indicators and run.json
    Run(RunArgs),
    /// Validate the configuration and pipeline definitions without running
    Check(ConfigArg),
    /// Check a report draft against the computed figures and its own arithmetic
    ///
    /// Reads the indicators of the last run from <out>/indicators.csv, finds
    /// each paragraph template of the pipelines in the draft and compares the
    /// quoted figures; checks every "A/B … đạt|bằng P%" ratio and every whole
    /// stated with its parts. Prints a table, writes <out>/reconcile.json.
    /// Exit 0 when every check passes, 1 when any fails, 2 on a usage error.
    Reconcile(ReconcileArgs),
    /// Show the last runs recorded in <out>/runs/ as a table
    History(HistoryArgs),
    /// Show how tonghop reads one workbook: header, column mapping, first rows, rejects
    Inspect(InspectArgs),
    /// Run the `[[tests]]` examples of the pipeline files
    ///
    /// Each example (cells written by the test, or a fixture workbook) is
    /// read as a run reads it and compared with its expected rows, findings
    /// and figures. Exit 0 when all pass, 1 when any fails, 2 when the
    /// pipeline files do not load.
    Test(TestArgs),
    /// (internal) Read one workbook and print its outcome as JSON; used by `run`
    /// to read each workbook in a child process with a memory limit
    #[command(hide = true)]
    ExtractOne(ExtractOneArgs),
}

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Folder of pipeline files (default: the built-in ones)
    #[arg(long, value_name = "DIR")]
    pub pipelines: Option<PathBuf>,
    /// Only the examples of this pipeline (repeatable)
    #[arg(long, value_name = "PIPELINE")]
    pub only: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ExtractOneArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long)]
    pub pipeline: String,
    #[arg(long)]
    pub rel: String,
    /// Write the rows to `<PART_BASE>-<table>.parquet`
    #[arg(long)]
    pub part_base: PathBuf,
    /// After the outcome, prepare this file's feedback workbook in this
    /// folder (the run's feedback cache)
    #[arg(long)]
    pub feedback_dir: Option<PathBuf>,
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The workbook to inspect
    pub file: PathBuf,
    /// Read it as this pipeline (default: the one that accepts the most rows)
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Output folder (overrides run.out)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How many runs to show
    #[arg(short = 'n', long, default_value_t = 20)]
    pub last: usize,
}

#[derive(Args, Debug)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The report draft (Markdown or plain text)
    #[arg(long, value_name = "DRAFT")]
    pub report: PathBuf,
    /// Output folder of the run whose figures to compare (overrides run.out)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ConfigArg {
    /// Configuration file (TOML)
    #[arg(long, value_name = "FILE", default_value = "config/tonghop.toml")]
    pub config: PathBuf,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Inbox folder holding <pipeline>/ subfolders (overrides run.inbox)
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
    /// Output folder (overrides run.out)
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run only this pipeline (repeatable), e.g. --only bhyt
    #[arg(long = "only", value_name = "PIPELINE")]
    pub only: Vec<String>,
    /// Log format on stderr
    #[arg(long, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
    /// Parse every workbook again, ignoring the cache of earlier runs
    #[arg(long)]
    pub full: bool,
    /// Let this pipeline publish no figures although the last release had
    /// workbooks for it (repeatable); without it, a pipeline whose workbooks
    /// all vanished fails (exit 1) and keeps its last figures, marked stale
    #[arg(long = "allow-empty", value_name = "PIPELINE")]
    pub allow_empty: Vec<String>,
    /// Publish with a new HMAC key on purpose: every hashed ID in public/
    /// changes (without it, a run whose key differs from the last release's
    /// refuses to start, exit 2)
    #[arg(long)]
    pub rekey: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Text on a terminal, JSON lines otherwise (cron, systemd, files)
    Auto,
    Text,
    Json,
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    use std::io::IsTerminal as _;
    // Colour only on a terminal: never escape codes in a log file.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let json = match format {
        LogFormat::Auto => !std::io::stderr().is_terminal(),
        LogFormat::Text => false,
        LogFormat::Json => true,
    };
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn load(config_path: &std::path::Path) -> Result<(Config, Vec<Pipeline>), String> {
    let config = match crate::config::ProvinceConfig::load(config_path)? {
        // `inspect`, `reconcile`, `history` on a province file: its first
        // commune's pipelines and context, the province's output folder.
        Some(pc) => {
            let first = pc
                .communes
                .first()
                .ok_or_else(|| format!("{}: no commune", pc.path.display()))?;
            let mut c = Config::load(first)?;
            c.out = pc.out.clone();
            c
        }
        None => Config::load(config_path)?,
    };
    let pipelines =
        pipeline::load(config.pipelines.as_deref(), &config.aliases).map_err(|errs| {
            errs.iter()
                .map(|e| {
                    if e.starts_with("[aliases]") {
                        format!("{}: {e}", config.path.display())
                    } else {
                        e.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n")
        })?;
    Ok((config, pipelines))
}

/// Parse the process arguments and run; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check(args) => {
            init_logging(LogFormat::Text);
            match crate::config::ProvinceConfig::load(&args.config) {
                Ok(Some(pc)) => return check_province(&pc),
                Ok(None) => {}
                Err(e) => {
                    eprintln!("tonghop: configuration error:\n{e}");
                    return EXIT_USAGE;
                }
            }
            match load(&args.config) {
                Ok((config, pipelines)) => {
                    let all: Vec<&Pipeline> = pipelines.iter().collect();
                    if !print_problems(&crate::preflight::check(&config, &all), "") {
                        return EXIT_USAGE;
                    }
                    say!("config {} is valid", config.path.display());
                    for p in &pipelines {
                        say!(
                            "pipeline {} ({}): {} table(s), {} indicator(s)",
                            p.name,
                            p.source,
                            p.tables.len(),
                            p.indicators.len()
                        );
                    }
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("tonghop: configuration error:\n{e}");
                    EXIT_USAGE
                }
            }
        }
        Command::Run(args) => {
            init_logging(args.log_format);
            run_command(args)
        }
        Command::History(args) => history_command(args),
        Command::Test(args) => test_command(args),
        Command::ExtractOne(args) => extract_one_command(args),
        Command::Inspect(args) => {
            init_logging(LogFormat::Text);
            inspect_command(args)
        }
        Command::Reconcile(args) => {
            init_logging(LogFormat::Text);
            reconcile_command(args)
        }
    }
}

/// `tonghop test`: every `[[tests]]` example, one line each.
fn test_command(args: TestArgs) -> i32 {
    let pipelines = match crate::pipeline::load(args.pipelines.as_deref(), &Default::default()) {
        Ok(p) => p,
        Err(errors) => {
            eprintln!("tonghop: configuration error:\n{}", errors.join("\n"));
            return EXIT_USAGE;
        }
    };
    let selected: Vec<Pipeline> = pipelines
        .into_iter()
        .filter(|p| args.only.is_empty() || args.only.contains(&p.name))
        .collect();
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            eprintln!("tonghop: cannot create a scratch folder: {e}");
            return EXIT_FATAL;
        }
    };
    let outcomes = crate::selftest::run_all(&selected, scratch.path());
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    for o in &outcomes {
        if o.passed() {
            say!("đạt       {} / {}   [ok]", o.pipeline, o.name);
        } else {
            say!("KHÔNG ĐẠT {} / {}   [FAILED]", o.pipeline, o.name);
            for f in &o.failures {
                say!("    {f}");
            }
        }
    }
    say!(
        "Ví dụ: {} chạy, {} đạt, {} không đạt   [tests={} passed={} failed={failed}]",
        outcomes.len(),
        outcomes.len() - failed,
        failed,
        outcomes.len(),
        outcomes.len() - failed
    );
    if failed == 0 {
        EXIT_OK
    } else {
        EXIT_FAILED_WORKBOOK
    }
}

/// Each problem on its own line of stderr, `hint` after each missing
/// target; true when there was none.
fn print_problems(problems: &[crate::preflight::Problem], hint: &str) -> bool {
    for p in problems {
        match p {
            p if p.is_usage() => eprintln!("tonghop: {p}"),
            crate::preflight::Problem::MissingTarget { .. } => {
                eprintln!("tonghop: configuration error: {p}{hint}")
            }
            crate::preflight::Problem::NoInbox { .. } => {
                eprintln!("tonghop: configuration error: {p}; nothing was run")
            }
            p => eprintln!("tonghop: configuration error: {p}"),
        }
    }
    problems.is_empty()
}

/// `check` of a province file: the file, then every commune's config.
fn check_province(pc: &crate::config::ProvinceConfig) -> i32 {
    let mut code = EXIT_OK;
    let mut codes = std::collections::BTreeMap::new();
    for c in &pc.communes {
        match load(c) {
            Ok((config, pipelines)) => {
                let all: Vec<&Pipeline> = pipelines.iter().collect();
                if !print_problems(&crate::preflight::check(&config, &all), "") {
                    code = EXIT_USAGE;
                }
                if let Some(other) = codes.insert(config.commune.code.clone(), c.clone()) {
                    eprintln!(
                        "tonghop: configuration error: {}: commune {} is also {}",
                        c.display(),
                        config.commune.code,
                        other.display()
                    );
                    code = EXIT_USAGE;
                }
            }
            Err(e) => {
                eprintln!("tonghop: configuration error:\n{e}");
                code = EXIT_USAGE;
            }
        }
    }
    if code == EXIT_OK {
        say!(
            "province {} ({}) is valid: {} communes",
            pc.name,
            pc.code,
            pc.communes.len()
        );
    }
    code
}

/// The output folder made ready for a run: writable (checked before
/// anything is touched), created under the private umask, and locked.
/// Err: the exit code, the reason printed.
fn open_out(out: &std::path::Path) -> Result<crate::release::RunLock, i32> {
    if let Err(e) = crate::release::check_writable(out) {
        eprintln!("tonghop: {e}");
        return Err(EXIT_USAGE);
    }
    crate::privacy::enter_private_umask();
    if let Err(e) = crate::release::create_out(out) {
        eprintln!("tonghop: {e:#}");
        return Err(EXIT_USAGE);
    }
    match crate::release::RunLock::acquire(out) {
        Ok(l) => Ok(l),
        Err(e @ crate::release::LockError::Busy { .. }) => {
            eprintln!("tonghop: {e}");
            Err(EXIT_BUSY)
        }
        Err(e) => {
            eprintln!("tonghop: {e}");
            Err(EXIT_USAGE)
        }
    }
}

/// `run` of a province file: every commune, then the province release.
fn run_province_command(args: RunArgs, pc: crate::config::ProvinceConfig) -> i32 {
    let mut pc = pc;
    if let Some(o) = args.out {
        pc.out = o;
    }
    if args.inbox.is_some() {
        eprintln!("tonghop: --inbox: a province file's communes each name their own inbox");
        return EXIT_USAGE;
    }
    let _lock = match open_out(&pc.out) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let opts = crate::run::RunOptions {
        isolate: None,
        full: args.full,
        only: args.only.clone(),
        allow_empty: args.allow_empty.clone(),
        rekey: args.rekey,
        progress: false,
    };
    let load_pipelines =
        |c: &Config| pipeline::load(c.pipelines.as_deref(), &c.aliases).map_err(|e| e.join("; "));
    match crate::province::run_province(&pc, &opts, &load_pipelines) {
        Ok(o) => {
            for c in &o.report.communes {
                say!(
                    "{} {} ({}): {}{}",
                    c.code,
                    c.name,
                    c.period,
                    match c.status {
                        crate::province::CommuneStatus::Ran => "ran",
                        crate::province::CommuneStatus::Failed => "FAILED",
                        crate::province::CommuneStatus::ConfigError => "NOT RUN",
                    },
                    c.error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                );
            }
            say!(
                "province {} ({}): {} communes, {} workbooks, {} rows accepted, {} rejected; {} persons in two communes' lists; outputs in {}",
                pc.name,
                pc.code,
                o.report.communes.len(),
                o.report.totals.files,
                o.report.totals.accepted,
                o.report.totals.rejected,
                o.report.duplicates_across_communes,
                pc.out.display()
            );
            o.exit_code
        }
        Err(e) => {
            eprintln!(
                "tonghop: province run failed: {e:#}; the published province release is unchanged"
            );
            EXIT_FATAL
        }
    }
}

fn run_command(args: RunArgs) -> i32 {
    match crate::config::ProvinceConfig::load(&args.config.config) {
        Ok(Some(pc)) => return run_province_command(args, pc),
        Ok(None) => {}
        Err(e) => {
            eprintln!("tonghop: configuration error:\n{e}");
            return EXIT_USAGE;
        }
    }
    let (mut config, pipelines) = match load(&args.config.config) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tonghop: configuration error:\n{e}");
            return EXIT_USAGE;
        }
    };
    if let Some(i) = args.inbox {
        config.inbox = i;
    }
    if let Some(o) = args.out {
        config.out = o;
    }
    let all: Vec<&Pipeline> = pipelines.iter().collect();
    let selected: Vec<&Pipeline> = pipelines
        .iter()
        .filter(|p| args.only.is_empty() || args.only.contains(&p.name))
        .collect();
    if let Err(code) = refuse_before_running(
        &config,
        &pipelines,
        &selected,
        &args.only,
        &args.allow_empty,
    ) {
        return code;
    }
    // The output folder must be writable before anything is touched; then
    // everything the run creates is private unless opened on purpose.
    let _lock = match open_out(&config.out) {
        Ok(l) => l,
        Err(code) => return code,
    };
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "panic caught; if it was a workbook reader, that workbook is reported as failed");
    }));
    use std::io::IsTerminal as _;
    let isolate = if config.limits.isolate_memory_bytes > 0 {
        std::env::current_exe()
            .ok()
            .map(|exe| (exe, config.path.clone()))
    } else {
        None
    };
    let opts = crate::run::RunOptions {
        isolate,
        full: args.full,
        only: args.only.clone(),
        allow_empty: args.allow_empty.clone(),
        rekey: args.rekey,
        // Progress bars on a terminal only, never in logs, pipes or CI.
        progress: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    };
    match crate::run::run_with(&config, &all, &opts) {
        Ok(outcome) => {
            print_summary(&outcome.report);
            outcome.exit_code
        }
        Err(e) if e.downcast_ref::<crate::run::Refusal>().is_some() => {
            eprintln!("tonghop: {e}; nothing was published");
            EXIT_USAGE
        }
        Err(e) => {
            if let Some(line) = disk_full(&e, &config.out) {
                eprintln!("tonghop: {line}");
            }
            eprintln!(
                "tonghop: run failed: {e:#}; the published release is unchanged and this run's unfinished one was removed"
            );
            EXIT_FATAL
        }
    }
}

/// What a run refuses before it touches anything (exit 2): an unknown
/// pipeline in `--only`/`--allow-empty`, then `preflight::before_run`.
fn refuse_before_running(
    config: &Config,
    pipelines: &[Pipeline],
    selected: &[&Pipeline],
    only: &[String],
    allow_empty: &[String],
) -> Result<(), i32> {
    let problems = match crate::preflight::unknown_pipeline(pipelines, only, allow_empty) {
        Some(p) => vec![p],
        None => crate::preflight::before_run(config, selected),
    };
    let hint = " (add it, or leave the pipeline out with --only)";
    if print_problems(&problems, hint) {
        Ok(())
    } else {
        Err(EXIT_USAGE)
    }
}

fn reconcile_command(args: ReconcileArgs) -> i32 {
    // reconcile.json is no public output: 0600 like the rest of <out>.
    crate::privacy::enter_private_umask();
    let (config, pipelines) = match load(&args.config.config) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tonghop: configuration error:\n{e}");
            return EXIT_USAGE;
        }
    };
    let out = args.out.unwrap_or(config.out);
    let draft = match std::fs::read(&args.report) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => {
            eprintln!("tonghop: cannot read draft {}: {e}", args.report.display());
            return EXIT_USAGE;
        }
    };
    let csv = match std::fs::read_to_string(out.join("indicators.csv")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "tonghop: cannot read {}: {e} (run `tonghop run` first, or give --out)",
                out.join("indicators.csv").display()
            );
            return EXIT_USAGE;
        }
    };
    let values = crate::indicators::parse_csv(&csv);
    let templates: Vec<(String, String)> = pipelines
        .iter()
        .flat_map(|p| {
            p.paragraphs
                .iter()
                .map(move |t| (p.name.clone(), t.clone()))
        })
        .collect();
    let mut r = crate::report::reconcile::reconcile(
        &args.report.display().to_string(),
        &draft,
        &templates,
        &values,
    );
    add_run_findings(&mut r, &out, &pipelines);
    say_reconciliation(&r);
    let json = match serde_json::to_vec_pretty(&r) {
        Ok(j) => j,
        Err(e) => {
            eprintln!("tonghop: {e}");
            return EXIT_FAILED_WORKBOOK;
        }
    };
    if let Err(e) = crate::publish::write_bytes(&out.join("reconcile.json"), &json) {
        eprintln!("tonghop: {e:#}");
        return EXIT_FAILED_WORKBOOK;
    }
    if r.passed {
        EXIT_OK
    } else {
        EXIT_FAILED_WORKBOOK
    }
}

/// What the run's figures lack, and the departments' totals that disagree
/// with their rows: from the run's record and its findings.
fn add_run_findings(
    r: &mut crate::report::reconcile::Reconciliation,
    out: &std::path::Path,
    pipelines: &[Pipeline],
) {
    if let Some(report) = std::fs::read(out.join("run.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<crate::record::RunReport>(&b).ok())
    {
        r.incomplete = crate::report::reconcile::incomplete_figures(&report.indicators);
    }
    let rejects = out.join("private/rejects.parquet");
    for p in pipelines {
        if let Ok(found) = crate::carry::read_findings(&rejects, &p.name) {
            r.total_mismatches
                .extend(crate::report::reconcile::total_mismatches(&found));
        }
    }
}

fn history_command(args: HistoryArgs) -> i32 {
    let out = match args.out {
        Some(o) => o,
        None => match Config::load(&args.config.config) {
            Ok(c) => c.out,
            Err(e) => {
                eprintln!("tonghop: configuration error:\n{e}");
                return EXIT_USAGE;
            }
        },
    };
    let lines = crate::run::history(&out);
    if lines.is_empty() {
        say!("no runs recorded in {}", out.join("runs").display());
        return EXIT_OK;
    }
    say!(
        "{:<34} {:<26} {:>9} {:>7} {:>7} {:>7} {:>9} {:>9} {:>8} {:>5}",
        "run",
        "started (local time)",
        "seconds",
        "parsed",
        "reused",
        "failed",
        "accepted",
        "rejected",
        "changed",
        "exit"
    );
    for l in lines.iter().skip(lines.len().saturating_sub(args.last)) {
        say!(
            "{:<34} {:<26} {:>9.2} {:>7} {:>7} {:>7} {:>9} {:>9} {:>8} {:>5}",
            l.run_id,
            local_time(&l.started),
            l.duration_ms as f64 / 1000.0,
            l.files_parsed,
            l.files_reused,
            l.files_failed,
            l.accepted,
            l.rejected,
            l.changed,
            l.exit_code
        );
    }
    EXIT_OK
}

fn inspect_command(args: InspectArgs) -> i32 {
    let (config, pipelines) = match load(&args.config.config) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("tonghop: configuration error:\n{e}");
            return EXIT_USAGE;
        }
    };
    let selected: Vec<&Pipeline> = match &args.pipeline {
        Some(name) => match pipelines.iter().find(|p| &p.name == name) {
            Some(p) => vec![p],
            None => {
                eprintln!("tonghop: --pipeline {name}: no such pipeline");
                return EXIT_USAGE;
            }
        },
        None => pipelines.iter().collect(),
    };
    let ctx = match crate::config::RunContext::from_config(&config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tonghop: configuration error: {e}");
            return EXIT_USAGE;
        }
    };
    std::panic::set_hook(Box::new(|_| {}));
    let (text, outcome) = crate::inspect::inspect(&args.file, &selected, &ctx);
    say!("{text}");
    match outcome {
        Some(o) if !o.failed() => EXIT_OK,
        _ => EXIT_FAILED_WORKBOOK,
    }
}

fn extract_one_command(args: ExtractOneArgs) -> i32 {
    let Ok((config, pipelines)) = load(&args.config.config) else {
        return EXIT_USAGE;
    };
    let Some(p) = pipelines.iter().find(|p| p.name == args.pipeline) else {
        return EXIT_USAGE;
    };
    let Ok(ctx) = crate::config::RunContext::from_config(&config) else {
        return EXIT_USAGE;
    };
    std::panic::set_hook(Box::new(|_| {}));
    crate::isolate::limit_memory(config.limits.isolate_memory_bytes);
    let started = std::time::Instant::now();
    let mut kept = match &args.feedback_dir {
        Some(_) => crate::extract::Kept::up_to(KEPT_CELLS),
        None => crate::extract::Kept::none(),
    };
    let o = crate::extract::process_file_keeping(p, &args.file, &args.rel, &ctx, &mut kept);
    // The rows go to the parts; stdout carries the rest of the outcome.
    let Ok(o) = crate::parts::spill(p, o, &args.part_base) else {
        return EXIT_FAILED_WORKBOOK;
    };
    let Ok(bytes) = serde_json::to_vec(&o) else {
        return EXIT_FAILED_WORKBOOK;
    };
    drop(o);
    {
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if out.write_all(&bytes).and_then(|_| out.flush()).is_err() {
            return EXIT_FAILED_WORKBOOK;
        }
    }
    // The outcome is out and complete: the run takes it whatever happens
    // from here (see `isolate`). The feedback is prepared only while the
    // reader is well inside its time limit.
    // SAFETY: closing our own stdout, flushed above and not written again,
    // tells the run the outcome is whole.
    unsafe {
        libc::close(1);
    }
    let quick = started.elapsed().as_secs() * 4 < config.limits.max_seconds_per_file;
    if let Some(dir) = args.feedback_dir.as_deref().filter(|_| quick)
        && let Err(e) = crate::publish::prepare_feedback(p, &bytes, kept, &config.period, dir)
    {
        tracing::debug!(error = %e, "feedback not prepared in the reader");
    }
    EXIT_OK
}

/// Cells of decoded sheets a reader keeps for the feedback copies it
/// prepares (about 32 bytes each, plus their text): more than one sheet at
/// the copy limit (`publish::MAX_COPY_CELLS`), far under the reader's memory
/// limit.
const KEPT_CELLS: u64 = 4_000_000;
