//! Persons counted once over a province without holding the province's
//! rows: each commune's keys are sorted on their own and spilled to an
//! unnamed file, then one merge of those runs finds every key listed more
//! than once. Memory is one commune's keys plus one key per commune in the
//! merge, whatever the number of communes; the answer is exactly that of
//! "keep the first row of each key, communes in code order, rows in table
//! order" (the Spark view's `ROW_NUMBER() … ORDER BY commune`).

use anyhow::{Context, Result};
use polars::prelude::*;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::Path;

/// One row of one commune's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listing {
    /// Index into the communes given to [`dedupe`].
    pub member: usize,
    /// 0-based row of the commune's table file.
    pub row: u32,
}

#[derive(Debug, Default)]
pub struct Deduped {
    /// Per commune, ascending: the rows whose key an earlier row (an
    /// earlier commune, or earlier in the same table) already has.
    pub drops: Vec<Vec<u32>>,
    /// The keys listed in more than one commune: every listing of each,
    /// in key order, then commune, then row.
    pub across: Vec<Vec<Listing>>,
    /// Per commune, the rows of its table (0 where it has none).
    pub heights: Vec<u32>,
}

impl Deduped {
    /// The dropped rows as 0-based positions in all the tables read one
    /// after another, in commune order (as polars' 32-bit row index
    /// counts them: refused past 4 G rows).
    pub fn drops_in_sequence(&self) -> Result<Vec<u32>> {
        let mut offset = 0u64;
        let mut out = Vec::new();
        for (drops, height) in self.drops.iter().zip(&self.heights) {
            for r in drops {
                out.push(
                    u32::try_from(offset + u64::from(*r))
                        .context("the province's table has more than 4 G rows")?,
                );
            }
            offset += u64::from(*height);
        }
        Ok(out)
    }
}

/// The rows of `tables` (one table file per commune, `None` where a commune
/// has none) that repeat a key of `key`. Null keys never repeat. The runs
/// are unnamed files in `scratch` (the province's private state folder:
/// the keys are personal identifiers), gone when this returns.
pub fn dedupe(tables: &[Option<&Path>], key: &str, scratch: &Path) -> Result<Deduped> {
    let mut runs = Vec::with_capacity(tables.len());
    let mut heights = Vec::with_capacity(tables.len());
    for path in tables {
        let Some(path) = path else {
            runs.push(None);
            heights.push(0);
            continue;
        };
        let (run, height) = spill(path, key, scratch)?;
        runs.push(Some(run));
        heights.push(height);
    }
    let mut out = merge(runs, tables.len())?;
    out.heights = heights;
    Ok(out)
}

/// One commune's keys, sorted by (key, row), written as
/// `u32 length, bytes, u32 row` records; and the table's rows.
fn spill(path: &Path, key: &str, scratch: &Path) -> Result<(std::fs::File, u32)> {
    let df = LazyFrame::scan_parquet(PlRefPath::try_from_path(path)?, ScanArgsParquet::default())?
        .select([col(key).cast(DataType::String)])
        .collect()
        .map_err(|e| anyhow::anyhow!("{}: column {key}: {e}", path.display()))?;
    let keys = df.column(key)?.str()?;
    let mut sorted: Vec<(&str, u32)> = keys
        .iter()
        .enumerate()
        .filter_map(|(i, k)| Some((k?, u32::try_from(i).ok()?)))
        .collect();
    sorted.sort_unstable();
    let mut file = tempfile::tempfile_in(scratch)
        .with_context(|| format!("a scratch file in {}", scratch.display()))?;
    {
        let mut w = BufWriter::with_capacity(1 << 16, &mut file);
        for (k, row) in &sorted {
            let len = u32::try_from(k.len()).context("a key longer than 4 GiB")?;
            w.write_all(&len.to_le_bytes())?;
            w.write_all(k.as_bytes())?;
            w.write_all(&row.to_le_bytes())?;
        }
        w.flush()?;
    }
    file.rewind()?;
    let height = u32::try_from(df.height()).context("a table of more than 4 G rows")?;
    Ok((file, height))
}

/// A run being merged: its reader and the record at its head.
struct Run {
    reader: BufReader<std::fs::File>,
}

impl Run {
    /// The next record into `key`, its row; `None` at the end.
    fn next(&mut self, key: &mut Vec<u8>) -> Result<Option<u32>> {
        let mut len = [0u8; 4];
        match self.reader.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        key.clear();
        key.resize(u32::from_le_bytes(len) as usize, 0);
        self.reader.read_exact(key)?;
        let mut row = [0u8; 4];
        self.reader.read_exact(&mut row)?;
        Ok(Some(u32::from_le_bytes(row)))
    }
}

fn merge(files: Vec<Option<std::fs::File>>, members: usize) -> Result<Deduped> {
    let mut out = Deduped {
        drops: vec![Vec::new(); members],
        across: Vec::new(),
        heights: Vec::new(),
    };
    let mut runs: Vec<Option<Run>> = files
        .into_iter()
        .map(|f| {
            f.map(|file| Run {
                reader: BufReader::with_capacity(1 << 14, file),
            })
        })
        .collect();
    // (key, member, row): ties by commune, then row, as the rule says.
    let mut heap: BinaryHeap<Reverse<(Vec<u8>, usize, u32)>> = BinaryHeap::new();
    for member in 0..runs.len() {
        advance(&mut runs, &mut heap, member)?;
    }
    let mut group: Vec<Listing> = Vec::new();
    while let Some(Reverse((key, member, row))) = heap.pop() {
        group.clear();
        group.push(Listing { member, row });
        advance(&mut runs, &mut heap, member)?;
        while heap.peek().is_some_and(|Reverse((k, _, _))| *k == key) {
            let Some(Reverse((_, m, r))) = heap.pop() else {
                break;
            };
            group.push(Listing { member: m, row: r });
            advance(&mut runs, &mut heap, m)?;
        }
        if group.len() == 1 {
            continue;
        }
        for l in &group[1..] {
            out.drops[l.member].push(l.row);
        }
        if group.iter().any(|l| l.member != group[0].member) {
            out.across.push(group.clone());
        }
    }
    for d in &mut out.drops {
        d.sort_unstable();
    }
    Ok(out)
}

/// Push run `member`'s next record, if any.
fn advance(
    runs: &mut [Option<Run>],
    heap: &mut BinaryHeap<Reverse<(Vec<u8>, usize, u32)>>,
    member: usize,
) -> Result<()> {
    if let Some(run) = runs[member].as_mut() {
        let mut key = Vec::new();
        if let Some(row) = run.next(&mut key)? {
            heap.push(Reverse((key, member, row)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(dir: &Path, name: &str, keys: &[Option<&str>]) -> std::path::PathBuf {
        let path = dir.join(name);
        let mut df = df!("id" => keys.to_vec()).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
        path
    }

    #[test]
    fn first_commune_keeps_the_person_and_repeats_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = table(dir.path(), "a", &[Some("k2"), Some("k1"), None, Some("k2")]);
        let b = table(dir.path(), "b", &[None, Some("k3"), Some("k1")]);
        let c = table(dir.path(), "c", &[Some("k3"), Some("k4")]);
        let d = dedupe(&[Some(&a), None, Some(&b), Some(&c)], "id", dir.path()).unwrap();
        // a keeps k1 and its first k2; b loses k1 to a; c loses k3 to b.
        assert_eq!(d.drops, vec![vec![3], vec![], vec![2], vec![0]]);
        let l = |member, row| Listing { member, row };
        // k1 (a:1, b:2) and k3 (b:1, c:0) span communes; k2 only repeats in a.
        assert_eq!(
            d.across,
            vec![vec![l(0, 1), l(2, 2)], vec![l(2, 1), l(3, 0)]]
        );
        assert_eq!(d.heights, vec![4, 0, 3, 2]);
        assert_eq!(d.drops_in_sequence().unwrap(), vec![3, 6, 7]);
        // The scratch folder holds nothing afterwards.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 3);
    }
}
