//! The floor of the benchmark: what decoding the workbooks costs and nothing
//! else. Opens every workbook under the given folders with calamine, reads the
//! first sheet and walks every cell, in parallel across files (rayon, as
//! tonghop does). No header detection, no values, no output.
//!
//! ```text
//! calamine_floor DIR...
//! ```

use calamine::{Data, Reader, open_workbook_auto};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            files(&p, out)?;
        } else if p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            matches!(
                e.to_ascii_lowercase().as_str(),
                "xlsx" | "xls" | "xlsm" | "ods"
            )
        }) {
            out.push(p);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut all = Vec::new();
    for d in std::env::args().skip(1) {
        files(Path::new(&d), &mut all)?;
    }
    all.sort();
    let walked: Vec<Result<(u64, u64), String>> = all
        .par_iter()
        .map(|p| {
            let mut wb = open_workbook_auto(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let name = wb.sheet_names().first().cloned().ok_or("no sheet")?;
            let range = wb
                .worksheet_range(&name)
                .map_err(|e| format!("{}: {e}", p.display()))?;
            let (mut cells, mut bytes) = (0u64, 0u64);
            for row in range.rows() {
                for c in row {
                    match c {
                        Data::Empty => {}
                        Data::String(s) => {
                            cells += 1;
                            bytes += s.len() as u64;
                        }
                        _ => cells += 1,
                    }
                }
            }
            Ok((cells, bytes + range.height() as u64))
        })
        .collect();
    let (mut cells, mut check) = (0u64, 0u64);
    for w in walked {
        let (c, b) = w?;
        cells += c;
        check = check.wrapping_add(b);
    }
    println!(
        "{} workbooks, {cells} non-empty cells (check {check})",
        all.len()
    );
    Ok(())
}
