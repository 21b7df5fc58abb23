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
    writer: polars::io::parquet::write::BatchedWriter<KeepsIoError<std::fs::File>>,
    io_error: IoErrorSlot,
    pub rows: usize,
}

/// The OS error of a writer's last failed write: polars' Parquet writer
/// reports a full disk as "Invalid thrift: transport error", and the run must
/// still be able to say "disk full".
pub type IoErrorSlot = std::sync::Arc<std::sync::atomic::AtomicI32>;

/// A writer that remembers the OS error of its last failed write.
pub struct KeepsIoError<W> {
    inner: W,
    slot: IoErrorSlot,
}

impl<W> KeepsIoError<W> {
    pub fn new(inner: W) -> (KeepsIoError<W>, IoErrorSlot) {
        let slot = IoErrorSlot::default();
        (
            KeepsIoError {
                inner,
                slot: slot.clone(),
            },
            slot,
        )
    }

    fn keep(&self, e: &std::io::Error) {
        if let Some(n) = e.raw_os_error() {
            self.slot.store(n, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl<W: Write> Write for KeepsIoError<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.keep(e))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().inspect_err(|e| self.keep(e))
    }
}

/// polars' error writing `path`, with the OS error underneath when a write
/// failed (so a full disk is recognised as one).
pub fn parquet_error(path: &Path, e: impl std::fmt::Display, slot: &IoErrorSlot) -> anyhow::Error {
    let msg = format!("cannot write Parquet {}: {e}", path.display());
    match slot.load(std::sync::atomic::Ordering::Relaxed) {
        0 => anyhow::anyhow!(msg),
        n => anyhow::Error::from(std::io::Error::from_raw_os_error(n)).context(msg),
    }
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
        let (f, io_error) = KeepsIoError::new(f);
        let writer = ParquetWriter::new(f)
            .with_compression(ParquetCompression::Zstd(Some(ZstdLevel::try_new(
                zstd_level,
            )?)))
            .with_statistics(StatisticsOptions::default())
            .with_row_group_size(Some(64 * 1024))
            .batched(schema)
            .map_err(|e| parquet_error(path, e, &io_error))?;
        Ok(ParquetSink {
            tmp,
            path: path.to_path_buf(),
            writer,
            io_error,
            rows: 0,
        })
    }

    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if df.height() == 0 {
            return Ok(());
        }
        self.writer
            .write_batch(df)
            .map_err(|e| parquet_error(&self.path, e, &self.io_error))?;
        self.rows += df.height();
        Ok(())
    }

    pub fn finish(self) -> Result<u64> {
        let size = self
            .writer
            .finish()
            .map_err(|e| parquet_error(&self.path, e, &self.io_error))?;
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
    let (f, io_error) = KeepsIoError::new(f);
    let size = ParquetWriter::new(f)
        .with_compression(ParquetCompression::Zstd(Some(ZstdLevel::try_new(3)?)))
        .with_statistics(StatisticsOptions::default())
        .with_row_group_size(Some(64 * 1024))
        .finish(df)
        .map_err(|e| parquet_error(path, e, &io_error))?;
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
