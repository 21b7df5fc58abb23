//! The physical floor of the benchmark: what it costs to get the bytes of
//! every workbook's sheets and shared strings out of their zip, and nothing
//! more. Inflates `xl/worksheets/*.xml` and `xl/sharedStrings.xml` of every
//! xlsx under the given folders and counts their `<` bytes (one pass over
//! every inflated byte, no XML parsing), in parallel across files (rayon).
//! No reader can decode a cell faster than this without skipping bytes.
//!
//! ```text
//! physical_floor DIR...
//! ```

use rayon::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            files(&p, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "xlsx" | "xlsm"))
        {
            out.push(p);
        }
    }
    Ok(())
}

fn walk(p: &Path) -> Result<(u64, u64), String> {
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("{}: {e}", p.display()))?;
    let (mut tags, mut inflated) = (0u64, 0u64);
    let mut buf = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip
            .by_index(i)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        let name = f
            .name()
            .map_err(|e| format!("{}: {e}", p.display()))?
            .into_owned();
        if !(name.starts_with("xl/worksheets/") && name.ends_with(".xml")
            || name == "xl/sharedStrings.xml")
        {
            continue;
        }
        buf.clear();
        f.read_to_end(&mut buf)
            .map_err(|e| format!("{}: {name}: {e}", p.display()))?;
        inflated += buf.len() as u64;
        tags += memchr::memchr_iter(b'<', &buf).count() as u64;
    }
    Ok((tags, inflated))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut all = Vec::new();
    for d in std::env::args().skip(1) {
        files(Path::new(&d), &mut all)?;
    }
    all.sort();
    let walked: Vec<Result<(u64, u64), String>> = all.par_iter().map(|p| walk(p)).collect();
    let (mut tags, mut bytes) = (0u64, 0u64);
    for w in walked {
        let (t, b) = w?;
        tags += t;
        bytes += b;
    }
    println!(
        "{} workbooks, {bytes} bytes inflated, {tags} tags",
        all.len()
    );
    Ok(())
}
