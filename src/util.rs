//! Small shared tools: files written atomically (a temporary file renamed
//! into place, so a reader never sees half a file), Parquet included.

use anyhow::{Context, Result};
use polars::polars_utils::compression::ZstdLevel;
use polars::prelude::*;
use std::io::Write;
use std::path::{Path, PathBuf};

pub fn temp_for(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per write: two threads may write the same path at once (the
    // same workbook bytes at two paths share a cache entry).
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}", std::process::id()))
}

pub fn finish_atomic(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).with_context(|| format!("cannot move {} into place", path.display()))
}

/// A Parquet file written batch by batch (a workbook at a time), so a table
/// of any number of workbooks is never whole in memory. Published by
/// [`ParquetSink::finish`] with the same atomic rename as [`write_parquet`].
pub struct ParquetSink {
    tmp: PathBuf,
    path: PathBuf,
    writer: polars::io::parquet::write::BatchedWriter<std::fs::File>,
    pub rows: usize,
}

impl ParquetSink {
    /// `zstd_level`: 3 for the private tables; the public ones are mostly
    /// hex hashes, which level 1 compresses as well, twice as fast.
    pub fn create(path: &Path, schema: &Schema, zstd_level: i32) -> Result<ParquetSink> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let tmp = temp_for(path);
        let f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let writer = ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(Some(ZstdLevel::try_new(
                zstd_level,
            )?)))
            .with_statistics(StatisticsOptions::default())
            .with_row_group_size(Some(64 * 1024))
            .batched(schema)
            .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", path.display()))?;
        Ok(ParquetSink {
            tmp,
            path: path.to_path_buf(),
            writer,
            rows: 0,
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        self.writer
            .write_batch(df)
            .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", self.path.display()))?;
        self.rows += df.height();
        Ok(())
    }

    pub fn finish(self) -> Result<u64> {
        let size = self
            .writer
            .finish()
            .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", self.path.display()))?;
        finish_atomic(&self.tmp, &self.path)?;
        Ok(size)
    }
}

/// Like [`write_bytes`] but without waiting for the disk: for the cache, where
/// an entry lost in a crash (or left empty) is simply parsed again.
pub fn write_bytes_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, false)
}

pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, true)
}

fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = temp_for(path);
    {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
    }
    finish_atomic(&tmp, path)
}

pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<u64> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let tmp = temp_for(path);
    let f =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    let size = ParquetWriter::new(f)
        .with_compression(ParquetCompression::Zstd(Some(ZstdLevel::try_new(3)?)))
        .with_statistics(StatisticsOptions::default())
        .with_row_group_size(Some(64 * 1024))
        .finish(df)
        .map_err(|e| anyhow::anyhow!("cannot write Parquet {}: {e}", path.display()))?;
    finish_atomic(&tmp, path)?;
    Ok(size)
}

/// `f` over `items` on as many plain threads as rayon would use, results in
/// item order. Not rayon's pool: a rayon worker that waits for polars' pool
/// (writing a part) steals the next workbook meanwhile, and with enough
/// workbooks nearly all of them were half-read in memory at once. A plain
/// thread just waits, so memory holds one workbook per thread.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
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

/// The content hash used for provenance, the cache and the feedback's
/// "same bytes" check: SHA-256 as lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// When a file was last modified, in local time (`None` if it cannot be
/// read): what the outputs show as a file's time.
pub fn modified_local(path: &std::path::Path) -> Option<chrono::DateTime<chrono::Local>> {
    let t = std::fs::metadata(path).and_then(|m| m.modified()).ok()?;
    Some(chrono::DateTime::<chrono::Local>::from(t))
}
