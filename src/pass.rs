//! The per-workbook pass as a run makes it: from the cache when the
//! workbook's bytes were read before, else parsed (in a child process when
//! isolated), its rows spilled to Parquet parts, the outcome stored in the
//! cache; a workbook that fails now keeps its last good rows, marked stale.

use crate::config::{Config, RunContext};
use crate::extract::{FileOutcome, process_file};
use crate::pipeline::Pipeline;
use crate::timing::{self, Phase};
use anyhow::Result;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One workbook read: its outcome and its parts.
pub type Read = (FileOutcome, Vec<PathBuf>);

/// What reading one workbook needs from the run.
pub struct Reader<'a> {
    pub config: &'a Config,
    pub ctx: &'a RunContext,
    /// Read each workbook that must be parsed in a child process: the
    /// `tonghop` executable and the config file it loads.
    pub isolate: Option<&'a (PathBuf, PathBuf)>,
    pub cache: &'a crate::cache::Cache,
    pub parts_dir: &'a Path,
}

impl Reader<'_> {
    /// One workbook: from the cache when its bytes (`sha`) were read before,
    /// else parsed (in a child process with `--isolate`), its rows spilled to
    /// parts, stored in the cache; a workbook that fails now keeps its last
    /// good rows, marked stale.
    pub fn read(
        &self,
        p: &Pipeline,
        wi: usize,
        abs: &Path,
        rel: &str,
        sha: Option<&str>,
    ) -> Result<Read> {
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
                let mut o = match self.isolate {
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
