//! Wide tables: one source row per entity (a village), a merged group cell
//! per category ("Trâu", "Bò", "Gia cầm") spanning its measure sub-columns
//! ("Đầu năm" / "Hiện có"). The header is always two rows: identifying columns
//! ("TT", "Tên bản") merged over both, group cells on the first, measures on
//! the second. Unpivoting happens in `extract`: each source row gives one
//! record per group.

use super::{HEADER_SEARCH_ROWS, HeaderMatch, WideGroup, cell_text, is_numbering_row};
use crate::ingest::Grid;
use crate::pipeline::Table;
use crate::values::text::{clean, header_key};

fn alias_owner(table: &Table, key: &str) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    table
        .source_columns()
        .find(|(_, c)| c.alias_keys.iter().any(|a| a == key))
        .map(|(i, _)| i)
}

fn score_wide_row(grid: &Grid, table: &Table, group_col: usize, row: u32) -> HeaderMatch {
    let n = table.columns.len();
    let mut columns = vec![None; n];
    let mut header_text = vec![String::new(); n];
    let mut unknown = Vec::new();
    let mut groups: Vec<WideGroup> = Vec::new();
    for col in 0..grid.width() {
        let top_raw = cell_text(grid.filled(row, col));
        let top_key = header_key(&top_raw);
        let sub_raw = cell_text(grid.raw(row + 1, col));
        let sub_key = header_key(&sub_raw);
        let top_owner = alias_owner(table, &top_key);
        // A measure under a group cell: the sub-header names a column and the
        // cell above it names none (it is a category such as "Trâu").
        if let Some(m) = alias_owner(table, &sub_key)
            && m != group_col
            && !top_key.is_empty()
            && top_owner.is_none()
        {
            let label = clean(&top_raw).into_owned();
            let anchor = (0..=col)
                .rev()
                .take_while(|&c| header_key(&cell_text(grid.filled(row, c))) == top_key)
                .last()
                .unwrap_or(col);
            match groups.last_mut() {
                Some(g) if g.header_col == anchor && !g.measures.iter().any(|(mi, _)| *mi == m) => {
                    g.measures.push((m, col));
                }
                _ => groups.push(WideGroup {
                    label,
                    header_col: anchor,
                    measures: vec![(m, col)],
                }),
            }
            continue;
        }
        match top_owner {
            Some(i) if i != group_col && columns[i].is_none() => {
                columns[i] = Some(col);
                header_text[i] = clean(&top_raw).into_owned();
            }
            _ => {
                let shown = clean(&top_raw).into_owned();
                if !shown.is_empty() && !unknown.contains(&shown) {
                    unknown.push(shown);
                }
            }
        }
    }
    let measures: usize = groups.iter().map(|g| g.measures.len()).sum();
    let ids = columns.iter().filter(|c| c.is_some()).count();
    HeaderMatch {
        row,
        height: 2,
        columns,
        header_text,
        score: if groups.is_empty() || ids == 0 {
            0
        } else {
            ids + measures
        },
        unknown,
        ambiguous: Vec::new(),
        numbering_row: false,
        groups,
    }
}

/// The month of a header key matching a `{month}` alias ("tháng {month}"
/// matches "tháng 3" and "tháng 03 2026").
fn month_of(key: &str, alias: &str) -> Option<u32> {
    let (prefix, suffix) = alias.split_once("{month}")?;
    let mid = key.strip_prefix(prefix)?.strip_suffix(suffix)?;
    crate::values::date::parse_month(mid)
}

/// A header key matching a `{group}` alias ("{group}" matches any header:
/// a tourist site, a school), unless it is an order number, a total or a
/// note column: those are never a group.
fn group_of(key: &str, alias: &str) -> Option<()> {
    let (prefix, suffix) = alias.split_once("{group}")?;
    let mid = key.strip_prefix(prefix)?.strip_suffix(suffix)?.trim();
    let not_a_group = mid.is_empty()
        || super::ORDER_HEADERS.contains(&mid)
        || ["cộng", "tổng", "ghi chú", "lũy kế", "luỹ kế", "ký nhận"]
            .iter()
            .any(|w| mid.starts_with(w));
    (!not_a_group).then_some(())
}

/// Does any measure of `table` name its columns by month or group
/// (`{month}`, `{group}` aliases)?
pub fn has_month_aliases(table: &Table) -> bool {
    table.columns.iter().any(|c| {
        c.alias_keys
            .iter()
            .any(|a| a.contains("{month}") || a.contains("{group}"))
    })
}

/// One header row with months as columns ("Tháng 1 … Tháng 6", or "Khách
/// T1", "Doanh thu T1" for several measures a month): each month is a group
/// whose value is the month. With a `{group}` alias, every other header
/// (a tourist site) is a group whose value is the header as written.
fn score_month_row(grid: &Grid, table: &Table, group_col: usize, row: u32) -> HeaderMatch {
    let n = table.columns.len();
    let mut columns = vec![None; n];
    let mut header_text = vec![String::new(); n];
    let mut unknown = Vec::new();
    // Months in calendar order, then other groups in sheet order.
    let mut groups: std::collections::BTreeMap<(u32, u32), WideGroup> = Default::default();
    for col in 0..grid.width() {
        let raw = cell_text(grid.filled(row, col));
        let key = header_key(&raw);
        if key.is_empty() {
            continue;
        }
        match alias_owner(table, &key) {
            Some(i) if i != group_col && columns[i].is_none() => {
                columns[i] = Some(col);
                header_text[i] = clean(&raw).into_owned();
                continue;
            }
            _ => {}
        }
        let measure = table
            .source_columns()
            .filter(|(i, _)| *i != group_col)
            .find_map(|(i, c)| {
                c.alias_keys
                    .iter()
                    .find_map(|a| month_of(&key, a))
                    .map(|m| (i, m))
            });
        let named = measure
            .map(|(m, month)| (m, (month, 0), format!("Tháng {month}")))
            .or_else(|| {
                table
                    .source_columns()
                    .filter(|(i, _)| *i != group_col)
                    .find(|(_, c)| c.alias_keys.iter().any(|a| group_of(&key, a).is_some()))
                    .map(|(i, _)| (i, (13, col), clean(&raw).into_owned()))
            });
        if let Some((m, order, label)) = named {
            let g = groups.entry(order).or_insert_with(|| WideGroup {
                label,
                header_col: col,
                measures: Vec::new(),
            });
            if !g.measures.iter().any(|(mi, _)| *mi == m) {
                g.measures.push((m, col));
            }
            continue;
        }
        let shown = clean(&raw).into_owned();
        if !unknown.contains(&shown) {
            unknown.push(shown);
        }
    }
    let measures: usize = groups.values().map(|g| g.measures.len()).sum();
    let ids = columns.iter().filter(|c| c.is_some()).count();
    HeaderMatch {
        row,
        height: 1,
        columns,
        header_text,
        score: if groups.is_empty() || ids == 0 {
            0
        } else {
            ids + measures
        },
        unknown,
        ambiguous: Vec::new(),
        numbering_row: false,
        groups: groups.into_values().collect(),
    }
}

/// Find a wide header for a table declared with `[tables.wide]`: the best
/// two-row header with at least one identifying column and one group, or
/// (for `{month}` aliases) one row with months as columns.
pub fn find_wide_header(grid: &Grid, table: &Table) -> Option<HeaderMatch> {
    let group_col = table.wide_group?;
    let last = grid.height().min(HEADER_SEARCH_ROWS);
    let mut best: Option<HeaderMatch> = None;
    let months = has_month_aliases(table);
    for row in 0..last {
        let mut candidates = Vec::with_capacity(2);
        if months {
            candidates.push(score_month_row(grid, table, group_col, row));
        }
        if row + 1 < grid.height() {
            candidates.push(score_wide_row(grid, table, group_col, row));
        }
        for candidate in candidates {
            if candidate.score > best.as_ref().map_or(0, |b| b.score) {
                best = Some(candidate);
            }
        }
    }
    let mut best = best.filter(|b| b.score >= table.min_header_matches)?;
    best.numbering_row = is_numbering_row(grid, best.row + best.height);
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Dimensions, Range};

    fn table() -> Table {
        let text = include_str!("../../pipelines/livestock.toml");
        crate::pipeline::compile_pipeline("livestock.toml", text)
            .unwrap()
            .tables
            .remove(0)
    }

    #[test]
    fn finds_groups_over_measures() {
        let rows: [&[&str]; 5] = [
            &["BIỂU TỔNG HỢP ĐÀN GIA SÚC", "", "", "", "", "", ""],
            &["(ĐVT: con)", "", "", "", "", "", ""],
            &["TT", "Tên bản", "Trâu", "", "Gia cầm", "", "Ghi chú"],
            &["", "", "Đầu năm", "Hiện có", "Đầu kỳ", "Kỳ báo cáo", ""],
            &["1", "Pá Khoang", "10", "1.204", "", "300", ""],
        ];
        let mut r: Range<Data> = Range::new((0, 0), (4, 6));
        for (i, row) in rows.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    r.set_value((i as u32, j as u32), Data::String((*v).into()));
                }
            }
        }
        let merges = vec![
            Dimensions::new((2, 0), (3, 0)),
            Dimensions::new((2, 1), (3, 1)),
            Dimensions::new((2, 2), (2, 3)),
            Dimensions::new((2, 4), (2, 5)),
        ];
        let g = Grid::new(r, merges);
        let t = table();
        let h = find_wide_header(&g, &t).unwrap();
        assert_eq!((h.row, h.height), (2, 2));
        assert_eq!(h.groups.len(), 2);
        assert_eq!(h.groups[0].label, "Trâu");
        assert_eq!(h.groups[0].measures, vec![(2, 2), (3, 3)]);
        assert_eq!(h.groups[1].label, "Gia cầm");
        assert_eq!(h.groups[1].header_col, 4);
        assert_eq!(h.columns[0], Some(1));
        assert!(h.unknown.contains(&"TT".to_string()));
        // The long-layout detector alone would misread this sheet.
        let long = super::super::find_header(&g, &t);
        assert!(long.is_none_or(|l| l.score < h.score));
    }

    fn grid(rows: &[&[&str]]) -> Grid {
        let w = rows.iter().map(|r| r.len()).max().unwrap_or(1) as u32;
        let mut r: Range<Data> = Range::new((0, 0), (rows.len() as u32 - 1, w - 1));
        for (i, row) in rows.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    r.set_value((i as u32, j as u32), Data::String((*v).into()));
                }
            }
        }
        Grid::new(r, Vec::new())
    }

    fn compiled(columns: &str) -> Table {
        let text = format!(
            "[pipeline]\nname = \"t\"\ntitle = \"t\"\n\n[[tables]]\nname = \"t\"\ngrain = \"g\"\n\n[tables.wide]\ngroup_column = \"g\"\n\n[[tables.columns]]\nname = \"site\"\nlabel = \"Điểm\"\naliases = [\"Điểm du lịch\"]\ntype = \"text\"\n{columns}"
        );
        crate::pipeline::compile_pipeline("t.toml", &text)
            .unwrap()
            .tables
            .remove(0)
    }

    #[test]
    fn months_as_columns_of_one_header_row_with_two_measures_a_month() {
        let t = compiled(
            "[[tables.columns]]\nname = \"g\"\nlabel = \"Tháng\"\ntype = \"month\"\n\n[[tables.columns]]\nname = \"visitors\"\nlabel = \"Khách\"\naliases = [\"Khách T{month}\"]\ntype = \"integer\"\n\n[[tables.columns]]\nname = \"revenue\"\nlabel = \"Doanh thu\"\naliases = [\"Doanh thu T{month}\", \"Doanh thu tháng {month}\"]\ntype = \"decimal\"\n",
        );
        let g = grid(&[
            &["TỔNG HỢP"],
            &[
                "STT",
                "Điểm du lịch",
                "Khách T1",
                "Doanh thu T1",
                "Khách T2",
                "Doanh thu tháng 2",
                "Cộng",
            ],
            &["1", "Chợ phiên", "10", "1,5", "12", "2"],
        ]);
        let h = find_wide_header(&g, &t).unwrap();
        assert_eq!((h.row, h.height), (1, 1));
        let got: Vec<(&str, &[(usize, u32)])> = h
            .groups
            .iter()
            .map(|g| (g.label.as_str(), g.measures.as_slice()))
            .collect();
        assert_eq!(
            got,
            [
                ("Tháng 1", &[(2, 2), (3, 3)][..]),
                ("Tháng 2", &[(2, 4), (3, 5)][..])
            ]
        );
        assert!(h.unknown.contains(&"Cộng".to_string()), "{:?}", h.unknown);
    }

    #[test]
    fn sites_as_columns_are_groups_but_totals_and_notes_are_not() {
        let t = compiled(
            "[[tables.columns]]\nname = \"g\"\nlabel = \"Điểm\"\ntype = \"text\"\n\n[[tables.columns]]\nname = \"item\"\nlabel = \"Chỉ tiêu\"\naliases = [\"Chỉ tiêu\"]\ntype = \"text\"\n\n[[tables.columns]]\nname = \"value\"\nlabel = \"Số lượng\"\naliases = [\"{group}\"]\ntype = \"integer\"\n",
        );
        let g = grid(&[
            &[
                "STT",
                "Chỉ tiêu",
                "Chợ phiên Tà Mung",
                "Thác Tác Tình",
                "Tổng cộng",
                "Ghi chú",
            ],
            &["1", "Khách quốc tế", "10", "4", "14", ""],
        ]);
        let h = find_wide_header(&g, &t).unwrap();
        let labels: Vec<&str> = h.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["Chợ phiên Tà Mung", "Thác Tác Tình"]);
        assert_eq!(h.columns[2], Some(1));
    }
}
