//! Duplicates across workbooks: a row whose unique key (a personal ID, a
//! dossier number) was already accepted earlier in file order is rejected,
//! naming the first occurrence; the counters and findings of its workbook
//! are settled accordingly.

use crate::model::{Finding, Severity};
use crate::outcome::FileOutcome;
use crate::pipeline::Pipeline;
use std::collections::HashMap;

/// Reject later rows whose unique key was already accepted, in file order
/// (files are already sorted by relative path; sheets and rows in order).
pub fn settle_duplicates(pipeline: &Pipeline, outcomes: &mut [&mut FileOutcome]) {
    for (ti, table) in pipeline.tables.iter().enumerate() {
        let key_cols = &table.unique;
        let Some(&u) = key_cols.first() else { continue };
        let label = key_cols
            .iter()
            .map(|&c| table.columns[c].label.as_str())
            .collect::<Vec<_>>()
            .join(" + ");
        // Find every duplicate first, keys borrowed from the outcomes…
        let mut dups: Vec<(usize, usize, (usize, u32, u32))> = Vec::new();
        {
            let rows: usize = outcomes.iter().map(|o| o.batches[ti].len()).sum();
            let mut first: HashMap<
                std::borrow::Cow<'_, str>,
                (usize, u32, u32),
                foldhash::fast::RandomState,
            > = HashMap::with_capacity_and_hasher(rows, foldhash::fast::RandomState::default());
            for (oi, o) in outcomes.iter().enumerate() {
                let batch = &o.batches[ti];
                for i in 0..batch.len() {
                    let Some(key) = batch.key_of(key_cols, i) else {
                        continue;
                    };
                    match first.entry(key) {
                        std::collections::hash_map::Entry::Occupied(f) => {
                            dups.push((oi, i, *f.get()))
                        }
                        std::collections::hash_map::Entry::Vacant(v) => {
                            v.insert((oi, batch.sheet[i], batch.row[i]));
                        }
                    }
                }
            }
        }
        // …then reject them.
        for (oi, i, (fo, fsheet, frow)) in dups {
            {
                let (ffile, fsheet_name) = {
                    let o = &outcomes[fo];
                    (o.path.clone(), o.sheets[fsheet as usize].name.clone())
                };
                let o = &mut *outcomes[oi];
                let batch = &mut o.batches[ti];
                batch.keep[i] = false;
                let (sheet_idx, row) = (batch.sheet[i] as usize, batch.row[i]);
                let key = batch
                    .key_of(key_cols, i)
                    .unwrap_or_default()
                    .replace('\u{1f}', " | ");
                let sheet_name = o.sheets[sheet_idx].name.clone();
                // The row's warnings belonged to an accepted row; it is a duplicate now.
                let had_warnings = o.findings.iter().any(|f| {
                    f.severity == Severity::Warning && f.sheet == sheet_name && f.row == row
                });
                o.findings.retain(|f| {
                    !(f.severity == Severity::Warning && f.sheet == sheet_name && f.row == row)
                });
                let s = &mut o.sheets[sheet_idx];
                s.accepted -= 1;
                s.rejected += 1;
                if had_warnings {
                    s.warning_rows -= 1;
                }
                let file_short = ffile
                    .split_once('/')
                    .map(|(_, r)| r)
                    .unwrap_or(&ffile)
                    .to_string();
                let same_file = fo == oi;
                let reason = if same_file {
                    format!("Trùng {label} với dòng {frow} của sheet {fsheet_name}")
                } else {
                    format!(
                        "Trùng {label} với dòng {frow} của sheet {fsheet_name} (tệp {file_short})"
                    )
                };
                let col = u;
                let header_cell = o.sheets[sheet_idx]
                    .columns
                    .get(&table.columns[col].name)
                    .cloned()
                    .unwrap_or_default();
                o.findings.push(Finding {
                    pipeline: pipeline.name.clone(),
                    table: table.name.clone(),
                    file: o.path.clone(),
                    sheet: sheet_name,
                    row,
                    cell: if header_cell.is_empty() {
                        String::new()
                    } else {
                        format!("{header_cell}{row}")
                    },
                    column: table.columns[col].name.clone(),
                    header: table.columns[col].label.clone(),
                    value: key,
                    severity: Severity::Error,
                    code: "duplicate".into(),
                    reason,
                    related: format!("{ffile}!{fsheet_name}!{frow}"),
                    excludes: "row".into(),
                });
            }
        }
    }
}
