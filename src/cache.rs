//! The per-file cache that makes nightly runs incremental: a workbook whose
//! bytes, pipeline definition and run context (period, parameters, holiday
//! calendar, tonghop version) are unchanged is not parsed again; its
//! outcome (findings, sheet reports, the unique column) is read back from
//! `<out>/state/cache/<pipeline>/<key>.json` and its rows stay in the
//! Parquet parts beside it (`<key>-<table>.parquet`, see `parts`).
//! Duplicates across files and indicators are always recomputed from the
//! current set of files, so a removed workbook's rows disappear.

use crate::config::Config;
use crate::config::RunContext;
use crate::outcome::FileOutcome;
use crate::pipeline::Pipeline;
use crate::record::IgnoredFile;
use crate::timing::{self, Phase};
use crate::util::parallel_map;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Bumped whenever a workbook's outcome or the published outputs change
/// within one version, so that neither the cache nor an unchanged-inputs
/// republish hands back the old ones (3: wide rows keep their good cells,
/// excluded records kept, figures say what they lack; 4: bao-cao.html).
pub const FORMAT: u32 = 4;

pub struct Cache {
    dir: PathBuf,
    enabled: bool,
    context: String,
    used: Mutex<HashSet<PathBuf>>,
}

/// The feedback workbooks built by earlier runs, by their key
/// (`publish::feedback_key`).
pub struct FeedbackCache {
    pub dir: PathBuf,
    /// false with `--full`: everything is built again (and kept).
    pub reuse: bool,
}

impl Cache {
    /// `enabled = false` (`--full`) parses everything and refreshes the cache.
    pub fn new(out: &Path, ctx: &RunContext, enabled: bool) -> Cache {
        let context = format!(
            "{}|{}|{}|{}|{:?}|{}|{}",
            env!("CARGO_PKG_VERSION"),
            FORMAT,
            ctx.period.from,
            ctx.period.to,
            ctx.params,
            ctx.calendar.fingerprint(),
            ctx.villages.fingerprint()
        );
        Cache {
            dir: out.join("state").join("cache"),
            enabled,
            context,
            used: Mutex::new(HashSet::new()),
        }
    }

    /// Where feedback workbooks of earlier runs are kept.
    pub fn feedback(&self) -> FeedbackCache {
        FeedbackCache {
            dir: self.dir.with_file_name("feedback"),
            reuse: self.enabled,
        }
    }

    /// The entry of these bytes, without extension: `<base>.json` holds the
    /// outcome, `<base>-<table>.parquet` the rows.
    pub fn base(&self, pipeline: &Pipeline, sha: &str) -> PathBuf {
        let key =
            Sha256::digest(format!("{}|{}|{sha}", pipeline.fingerprint, self.context).as_bytes());
        self.dir
            .join(&pipeline.name)
            .join(crate::pipeline::hex_digest(&key))
    }

    fn json(base: &Path) -> PathBuf {
        base.with_extension("json")
    }

    /// Keep this entry (outcome and parts) when the cache is pruned.
    fn mark_used(&self, pipeline: &Pipeline, base: &Path) {
        let mut used = self.used.lock().expect("cache lock");
        used.insert(Self::json(base));
        used.extend(crate::parts::paths(base, pipeline.tables.len()));
    }

    /// The cached outcome of these bytes, with the file's current path, and
    /// its parts.
    pub fn load(
        &self,
        pipeline: &Pipeline,
        sha: &str,
        rel: &str,
    ) -> Option<(FileOutcome, Vec<PathBuf>)> {
        let base = self.base(pipeline, sha);
        self.mark_used(pipeline, &base);
        if !self.enabled {
            return None;
        }
        let parts = crate::parts::paths(&base, pipeline.tables.len());
        if !parts.iter().all(|p| p.is_file()) {
            return None;
        }
        let text = std::fs::read(Self::json(&base)).ok()?;
        let mut o: FileOutcome = serde_json::from_slice(&text).ok()?;
        // The same bytes may have been moved or renamed since.
        if o.path != rel {
            for f in &mut o.findings {
                f.file = rel.to_string();
            }
            o.path = rel.to_string();
        }
        o.reused = true;
        Some((o, parts))
    }

    fn last_good_path(&self, pipeline: &Pipeline, rel: &str) -> PathBuf {
        let key = Sha256::digest(rel.as_bytes());
        self.dir
            .join(&pipeline.name)
            .join("last-good")
            .join(crate::pipeline::hex_digest(&key))
    }

    /// The last outcome of the workbook at `rel` that read without error,
    /// for keeping its rows (marked stale) when the file fails now.
    pub fn last_good(&self, pipeline: &Pipeline, rel: &str) -> Option<(FileOutcome, Vec<PathBuf>)> {
        let pointer = std::fs::read_to_string(self.last_good_path(pipeline, rel)).ok()?;
        let base = PathBuf::from(pointer.trim());
        self.mark_used(pipeline, &base);
        let parts = crate::parts::paths(&base, pipeline.tables.len());
        if !parts.iter().all(|p| p.is_file()) {
            return None;
        }
        let mut o: FileOutcome =
            serde_json::from_slice(&std::fs::read(Self::json(&base)).ok()?).ok()?;
        o.path = rel.to_string();
        for f in &mut o.findings {
            f.file = rel.to_string();
        }
        o.stale = true;
        Some((o, parts))
    }

    /// Record the outcome of these bytes; its parts are already written at
    /// [`Cache::base`].
    pub fn store(&self, pipeline: &Pipeline, sha: &str, outcome: &FileOutcome) {
        let base = self.base(pipeline, sha);
        let path = Self::json(&base);
        if !outcome.failed() {
            let pointer = self.last_good_path(pipeline, &outcome.path);
            let _ =
                crate::util::write_bytes_unsynced(&pointer, base.display().to_string().as_bytes());
        }
        match serde_json::to_vec(outcome) {
            Ok(bytes) => {
                if let Err(e) = crate::util::write_bytes_unsynced(&path, &bytes) {
                    tracing::warn!(stage = "ingest", error = %e, "cannot write the cache; the next run will parse again");
                }
            }
            Err(e) => {
                tracing::warn!(stage = "ingest", error = %e, "cannot serialise a cache entry")
            }
        }
    }

    /// Remove entries of files that are gone or changed, for the pipelines
    /// that ran (a `--only` run keeps the others' entries).
    pub fn prune(&self, pipelines: &[&str]) {
        let used = self.used.lock().expect("cache lock");
        for name in pipelines {
            let Ok(entries) = std::fs::read_dir(self.dir.join(name)) else {
                continue;
            };
            for e in entries.flatten() {
                if !used.contains(&e.path()) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// What the published outputs are a function of; see
/// [`RunReport::inputs_fingerprint`]. Hashes every workbook (in parallel).
pub fn inputs_fingerprint(
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
        std::fs::read(abs).map(|b| crate::util::sha256_hex(&b))
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

/// Drop cache entries of workbooks this run did not see. A pipeline whose
/// workbooks are missing keeps its cache for their return.
pub fn prune_unseen(cache: &Cache, statuses: &[crate::record::PipelineRef]) {
    cache.prune(
        &statuses
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    crate::record::PipelineStatus::Computed
                        | crate::record::PipelineStatus::NoWorkbooks
                )
            })
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
    );
}
