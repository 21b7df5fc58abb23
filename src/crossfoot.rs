//! Cross-footing: every total or subtotal row the engine skips is compared,
//! cell by cell, with the sum of what tonghop read from the detail rows it
//! covers. A difference is a `total_mismatch` warning naming the total cell,
//! the detail range, both values and what tonghop could not read in that
//! range; the figures never use the total rows, so this only tells the
//! statistician where the department's own total and tonghop disagree.
//!
//! Which rows a total covers:
//! - "Cộng", "Cộng bản …" (a subtotal): the data rows since the previous
//!   total row (or the header);
//! - "Tổng cộng", "Tổng số", "Toàn xã", "Tổng" (a grand total): every data
//!   row since the header;
//! - a parent row numbered over its children ("2" over "2.1", "2.2"; "I"
//!   over "1", "2"; "1" over "a", "b"): the data rows after it up to the
//!   next row numbered at its level or above, the next total row, or the
//!   end of the data. Nested parents each cover their own leaves.

use crate::config::Period;
use crate::ingest::Grid;
use crate::pipeline::{ColumnKind, Table};
use crate::values::Value;

/// One compared cell that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// 0-based total row and column.
    pub row: u32,
    pub col: u32,
    /// Logical column and the header shown for it.
    pub column: usize,
    pub header: String,
    pub total: f64,
    pub sum: f64,
    /// 0-based first and last detail row covered.
    pub first: u32,
    pub last: u32,
    /// A1 cells in the range tonghop could not read, and rejected rows (1-based).
    pub unreadable: Vec<String>,
    pub rejected_rows: Vec<u32>,
}

#[derive(Default, Clone)]
struct Sums {
    sum: Vec<f64>,
    first: Option<u32>,
    last: u32,
    unreadable: Vec<Vec<String>>,
    rejected_rows: Vec<u32>,
}

impl Sums {
    fn new(n: usize) -> Sums {
        Sums {
            sum: vec![0.0; n],
            unreadable: vec![Vec::new(); n],
            ..Sums::default()
        }
    }
}

/// The running sums of one sheet's numeric columns.
pub struct CrossFoot<'a> {
    table: &'a Table,
    period: &'a Period,
    /// (source column, logical column, header shown)
    columns: Vec<(u32, usize, String)>,
    block: Sums,
    all: Sums,
    /// Parent rows waiting for their children: (row, numbering level, the
    /// sums of the data rows since it), outermost first.
    parents: Vec<(u32, u8, Sums)>,
    pub checked: u32,
    pub mismatched: u32,
}

fn numeric(kind: &ColumnKind) -> bool {
    matches!(
        kind,
        ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Money
    )
}

/// Is this (cleaned, lower-case) marker a grand total rather than a block's?
pub fn is_grand_total(key: &str) -> bool {
    ["tổng cộng", "tổng số", "toàn xã", "tổng"]
        .iter()
        .any(|m| key.starts_with(m))
}

impl<'a> CrossFoot<'a> {
    pub fn new(
        table: &'a Table,
        header: &crate::shape::HeaderMatch,
        period: &'a Period,
    ) -> CrossFoot<'a> {
        let mut columns: Vec<(u32, usize, String)> = Vec::new();
        for (i, src) in header.columns.iter().enumerate() {
            if let Some(src) = src
                && numeric(&table.columns[i].kind)
                && table.columns[i].additive
            {
                columns.push((*src, i, header.header_text[i].clone()));
            }
        }
        for g in &header.groups {
            for &(m, src) in &g.measures {
                if numeric(&table.columns[m].kind) && table.columns[m].additive {
                    columns.push((src, m, format!("{} / {}", g.label, table.columns[m].label)));
                }
            }
        }
        let n = columns.len();
        CrossFoot {
            table,
            period,
            columns,
            block: Sums::new(n),
            all: Sums::new(n),
            parents: Vec::new(),
            checked: 0,
            mismatched: 0,
        }
    }

    /// A cell read as its column's number: `Ok(None)` for no number (blank),
    /// `Err` for an unreadable one.
    fn number(&self, cell: &calamine::Data, col: usize) -> Result<Option<f64>, ()> {
        match crate::cells::convert(cell, &self.table.columns[col], self.period) {
            Ok(Value::Int(i)) => Ok(Some(i as f64)),
            Ok(Value::Float(f)) => Ok(Some(f)),
            Ok(_) => Ok(None),
            Err(_) => Err(()),
        }
    }

    pub fn is_active(&self) -> bool {
        !self.columns.is_empty()
    }

    /// A data row: what tonghop read from it (nothing when it was rejected).
    pub fn data_row(&mut self, grid: &Grid, row: u32, accepted: bool) {
        if self.columns.is_empty() {
            return;
        }
        for s in [&mut self.block, &mut self.all]
            .into_iter()
            .chain(self.parents.iter_mut().map(|(_, _, s)| s))
        {
            s.first.get_or_insert(row);
            s.last = row;
            if !accepted {
                s.rejected_rows.push(row + 1);
            }
        }
        if !accepted {
            return;
        }
        for (k, (src, col, _)) in self.columns.iter().enumerate() {
            let v = match crate::cells::convert(
                grid.data(row, *src),
                &self.table.columns[*col],
                self.period,
            ) {
                Ok(Value::Int(i)) => i as f64,
                Ok(Value::Float(f)) => f,
                Ok(_) => continue,
                Err(_) => {
                    let a1 = crate::ingest::a1(row, *src);
                    self.block.unreadable[k].push(a1.clone());
                    self.all.unreadable[k].push(a1.clone());
                    for (_, _, s) in &mut self.parents {
                        s.unreadable[k].push(a1.clone());
                    }
                    continue;
                }
            };
            self.block.sum[k] += v;
            self.all.sum[k] += v;
            for (_, _, s) in &mut self.parents {
                s.sum[k] += v;
            }
        }
    }

    fn compare(&mut self, grid: &Grid, row: u32, against: &Sums) -> Vec<Mismatch> {
        let Some(first) = against.first else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut any = false;
        for (k, (src, col, header)) in self.columns.iter().enumerate() {
            let cell = grid.data(row, *src);
            let Ok(Some(total)) = self.number(cell, *col) else {
                continue;
            };
            any = true;
            let sum = against.sum[k];
            let tolerance = match self.table.columns[*col].kind {
                ColumnKind::Integer | ColumnKind::Money => 1e-6,
                // a total typed to two decimals over details with more
                _ => 0.005 + 1e-9 * sum.abs(),
            };
            if (total - sum).abs() > tolerance {
                out.push(Mismatch {
                    row,
                    col: *src,
                    column: *col,
                    header: header.clone(),
                    total,
                    sum,
                    first,
                    last: against.last,
                    unreadable: against.unreadable[k].clone(),
                    rejected_rows: against.rejected_rows.clone(),
                });
            }
        }
        if any {
            self.checked += 1;
            self.mismatched += u32::from(!out.is_empty());
        }
        out
    }

    /// Settle the parent rows at numbering `level` or deeper (every one
    /// for `None`), innermost first.
    fn close_parents(&mut self, grid: &Grid, level: Option<u8>) -> Vec<Mismatch> {
        let mut out = Vec::new();
        while let Some((_, l, _)) = self.parents.last() {
            if level.is_some_and(|level| *l < level) {
                break;
            }
            let (p, _, sums) = self.parents.pop().expect("checked above");
            out.extend(self.compare(grid, p, &sums));
        }
        out
    }

    /// A row numbered at `level` (see `shape::order_level`): it ends the
    /// parents at its level or deeper. Call before `total_row` / `data_row`.
    pub fn numbered_row(&mut self, grid: &Grid, level: u8) -> Vec<Mismatch> {
        if self.columns.is_empty() {
            return Vec::new();
        }
        self.close_parents(grid, Some(level))
    }

    /// A total row; `marker`: its cleaned, lower-case label ("cộng bản nà
    /// ngò"), `None` for a parent row numbered over its children, at
    /// numbering `level`.
    pub fn total_row(
        &mut self,
        grid: &Grid,
        row: u32,
        marker: Option<&str>,
        level: u8,
    ) -> Vec<Mismatch> {
        if self.columns.is_empty() {
            return Vec::new();
        }
        let Some(key) = marker else {
            let out = self.close_parents(grid, Some(level));
            self.parents
                .push((row, level, Sums::new(self.columns.len())));
            self.block = Sums::new(self.columns.len());
            return out;
        };
        let mut out = self.close_parents(grid, None);
        if is_grand_total(key) {
            let all = self.all.clone();
            out.extend(self.compare(grid, row, &all));
        } else {
            let block = self.block.clone();
            out.extend(self.compare(grid, row, &block));
        }
        self.block = Sums::new(self.columns.len());
        out
    }

    /// The end of the data (footer or last row).
    pub fn finish(&mut self, grid: &Grid) -> Vec<Mismatch> {
        self.close_parents(grid, None)
    }
}
