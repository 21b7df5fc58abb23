//! Grid -> table shape: where the header is, which source column holds which
//! logical column, and what each row below it is (data or one of the kinds of
//! non-data rows). Pure: no I/O, no value conversion.
//!
//! Header detection scores every row of the first [`HEADER_SEARCH_ROWS`] by
//! how many of a table's columns its cells name (exact match on the
//! normalised header key), alone and together with the row below it (a
//! two-row header: a merged group cell "Hạn thẻ" over "Từ ngày" / "Đến ngày").
//! The best-scoring row wins; ties go to the earlier row.

use crate::ingest::Grid;
use crate::pipeline::Table;
use crate::values::text::{clean, header_key, value_key};
pub use crate::values::{cell_text, is_empty};
use calamine::Data;

mod wide;
pub use wide::find_wide_header;

pub const HEADER_SEARCH_ROWS: u32 = 30;

/// How a table's header was found in a sheet.
#[derive(Debug, Clone)]
pub struct HeaderMatch {
    /// 0-based row of the (first) header row.
    pub row: u32,
    /// 1, or 2 for a two-row header.
    pub height: u32,
    /// Per logical column of the table: the 0-based source column.
    pub columns: Vec<Option<u32>>,
    /// Per logical column: the header text as written in the sheet.
    pub header_text: Vec<String>,
    /// How many logical columns matched.
    pub score: usize,
    /// Non-empty header cells that matched no column (reported, then ignored).
    pub unknown: Vec<String>,
    /// Source columns matched by a second header cell of an already matched column.
    pub ambiguous: Vec<String>,
    /// A column-numbering row ("1 2 3", "(1) (2)", "A B 1 2") follows the header.
    pub numbering_row: bool,
    /// Wide layout only: the merged group cells and their measure columns.
    pub groups: Vec<WideGroup>,
}

/// One merged group cell of a wide header ("Trâu" over "Đầu năm" / "Hiện có").
#[derive(Debug, Clone)]
pub struct WideGroup {
    /// The group header as written.
    pub label: String,
    /// 0-based column of the group's header cell (its merge anchor).
    pub header_col: u32,
    /// (logical column index, 0-based source column) of each measure under it.
    pub measures: Vec<(usize, u32)>,
}

impl HeaderMatch {
    /// First row that may hold data.
    pub fn data_start(&self) -> u32 {
        self.row + self.height + u32::from(self.numbering_row)
    }
}

fn match_column(table: &Table, key: &str, taken: &[Option<u32>]) -> Option<usize> {
    if key.is_empty() {
        return None;
    }
    table
        .source_columns()
        .find(|(i, c)| taken[*i].is_none() && c.alias_keys.iter().any(|a| a == key))
        .map(|(i, _)| i)
}

fn score_row(grid: &Grid, table: &Table, row: u32, two_rows: bool, fill: bool) -> HeaderMatch {
    score_rows(grid, table, row, if two_rows { 2 } else { 1 }, fill)
}

/// The header texts a column may be named by over `rows` header rows, most
/// specific first: every run of consecutive rows, longest first and, among
/// runs as long, the lower one first ("hạn thẻ từ ngày", "từ ngày", "hạn
/// thẻ"; words split over three rows without merges, "lũy / kế từ / đầu
/// năm", join to "lũy kế từ đầu năm"). A text repeated by a vertical merge
/// counts once.
fn header_candidates(parts: &[(String, String)]) -> Vec<(String, String)> {
    let mut kept: Vec<&(String, String)> = Vec::new();
    for p in parts {
        if !p.0.is_empty() && kept.last().is_none_or(|k| k.0 != p.0) {
            kept.push(p);
        }
    }
    let n = kept.len();
    let mut out = Vec::new();
    for len in (1..=n).rev() {
        for start in (0..=n - len).rev() {
            let run = &kept[start..start + len];
            let key = run
                .iter()
                .map(|p| p.0.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            let shown = run
                .iter()
                .map(|p| p.1.as_str())
                .collect::<Vec<_>>()
                .join(" / ");
            out.push((key, shown));
        }
    }
    out
}

fn score_rows(grid: &Grid, table: &Table, row: u32, rows: u32, fill: bool) -> HeaderMatch {
    let width = grid.width();
    let n = table.columns.len();
    let mut columns = vec![None; n];
    let mut header_text = vec![String::new(); n];
    let mut unknown = Vec::new();
    let mut ambiguous = Vec::new();
    for col in 0..width {
        let top = cell_text(if fill {
            grid.filled(row, col)
        } else {
            grid.raw(row, col)
        });
        let top_key = header_key(&top);
        let mut parts = vec![(top_key.clone(), clean(&top).into_owned())];
        for r in 1..rows {
            let s = cell_text(grid.filled(row + r, col)).into_owned();
            parts.push((header_key(&s), clean(&s).into_owned()));
        }
        // Most specific first: "hạn thẻ từ ngày", then "từ ngày", then "hạn thẻ".
        let candidates = if rows >= 3 {
            header_candidates(&parts)
        } else {
            let mut c: Vec<(String, String)> = Vec::new();
            if let Some((sub_key, sub)) = parts.get(1)
                && !sub_key.is_empty()
                && *sub_key != top_key
            {
                c.push((
                    format!("{top_key} {sub_key}").trim().to_string(),
                    format!("{} / {}", clean(&top), sub),
                ));
                c.push((sub_key.clone(), sub.clone()));
            }
            c.push((top_key.clone(), clean(&top).into_owned()));
            c
        };
        let mut matched = false;
        for (key, shown) in &candidates {
            if let Some(i) = match_column(table, key, &columns) {
                columns[i] = Some(col);
                header_text[i] = shown.clone();
                matched = true;
                break;
            }
        }
        if !matched {
            let already = candidates.iter().any(|(k, _)| {
                table
                    .source_columns()
                    .any(|(_, c)| c.alias_keys.iter().any(|a| a == k))
            });
            let shown = candidates
                .first()
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            if already {
                ambiguous.push(shown);
            } else if !shown.is_empty() && !top_key.is_empty() {
                unknown.push(shown);
            }
        }
    }
    let score = columns.iter().filter(|c| c.is_some()).count();
    HeaderMatch {
        row,
        height: rows,
        columns,
        header_text,
        score,
        unknown,
        ambiguous,
        numbering_row: false,
        groups: Vec::new(),
    }
}

/// Find `table`'s header in `grid`, or `None` when no row matches at least
/// `table.min_header_matches` columns.
pub fn find_header(grid: &Grid, table: &Table) -> Option<HeaderMatch> {
    let last = grid.height().min(HEADER_SEARCH_ROWS);
    let mut best: Option<HeaderMatch> = None;
    // Scores of each row on its own cells only (no merged fill): the second
    // row of a two-row header looks complete only through cells merged from above.
    let unfilled: Vec<usize> = (0..last)
        .map(|row| score_row(grid, table, row, false, false).score)
        .collect();
    for row in 0..last {
        let single = score_row(grid, table, row, false, true);
        // A two-row header must name more columns than either of its rows
        // alone; otherwise a blank or title row above a one-row header would
        // pass for the first row of a two-row header.
        let below = unfilled.get(row as usize + 1).copied().unwrap_or(0);
        let mut candidate = if row + 1 < grid.height() {
            let double = score_row(grid, table, row, true, true);
            if double.score > single.score && double.score > below {
                double
            } else {
                single
            }
        } else {
            single
        };
        // Three rows (words split over the rows without merges) when the
        // third names more columns still, is no numbering row, holds no
        // number and names nothing on its own.
        if row + 2 < grid.height()
            && unfilled.get(row as usize + 2).copied().unwrap_or(0) == 0
            && !is_numbering_row(grid, row + 2)
            && !(0..grid.width())
                .any(|c| matches!(grid.raw(row + 2, c), Data::Float(_) | Data::Int(_)))
        {
            let triple = score_rows(grid, table, row, 3, true);
            if triple.score > candidate.score && triple.score > below {
                candidate = triple;
            }
        }
        if candidate.score > best.as_ref().map_or(0, |b| b.score) {
            best = Some(candidate);
        }
    }
    let mut best = best.filter(|b| b.score >= table.min_header_matches)?;
    // A second header row in another language under the first ("Họ và tên"
    // over "Full name"): part of the header, not a row of data.
    if is_translated_header_row(grid, table, &best, best.row + best.height) {
        best.height += 1;
    }
    best.numbering_row = is_numbering_row(grid, best.row + best.height);
    Some(best)
}

/// Whether `row`, right under a header, repeats the header in words: every
/// mapped column whose values hold digits (dates, numbers, IDs; two at
/// least) holds text without a digit there. A person's row always has
/// digits in its dates and IDs (or leaves them empty).
fn is_translated_header_row(grid: &Grid, table: &Table, header: &HeaderMatch, row: u32) -> bool {
    use crate::pipeline::ColumnKind;
    if row >= grid.height() {
        return false;
    }
    let digit_columns: Vec<u32> = table
        .columns
        .iter()
        .zip(&header.columns)
        .filter(|(c, _)| {
            matches!(
                c.kind,
                ColumnKind::Id { .. }
                    | ColumnKind::PersonalId { .. }
                    | ColumnKind::Integer
                    | ColumnKind::Decimal
                    | ColumnKind::Money
                    | ColumnKind::Date { .. }
            )
        })
        .filter_map(|(_, src)| *src)
        .collect();
    digit_columns.len() >= 2
        && digit_columns.iter().all(|&c| match grid.raw(row, c) {
            Data::String(s) => {
                let t = clean(s);
                !t.is_empty() && !t.chars().any(|ch| ch.is_ascii_digit())
            }
            _ => false,
        })
}

/// A row of column numbers under a header: every non-empty cell is a short
/// number or letter, optionally in parentheses, and there are at least two.
pub fn is_numbering_row(grid: &Grid, row: u32) -> bool {
    if row >= grid.height() {
        return false;
    }
    let mut n = 0;
    for col in 0..grid.width() {
        let d = grid.raw(row, col);
        let ok = match d {
            Data::Empty => continue,
            // Negative numbers too: an accounting format shows -1 as "(1)".
            Data::Float(f) => f.fract() == 0.0 && (-999.0..1000.0).contains(f),
            Data::Int(i) => (-999..1000).contains(i),
            Data::String(s) => {
                let t = clean(s);
                let t = t.trim_start_matches('(').trim_end_matches(')');
                if t.is_empty() {
                    continue;
                }
                (t.len() <= 3 && t.chars().all(|c| c.is_ascii_digit()))
                    || (t.chars().count() <= 4 && t.chars().all(|c| c.is_ascii_alphabetic()))
                    || (t
                        .chars()
                        .all(|c| c.is_ascii_digit() || "=+-x*/()".contains(c))
                        && t.len() <= 12)
            }
            _ => false,
        };
        if !ok {
            return false;
        }
        n += 1;
    }
    n >= 2
}

/// Where a person would say a sheet's table header is, without knowing the
/// table: 0-based first and last header row and the row of column names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderGuess {
    pub first: u32,
    pub last: u32,
    /// The widest header row: where the column names are.
    pub names: u32,
}

/// Rows searched for a header, from the top.
const GUESS_ROWS: u32 = 40;

fn text_cells(grid: &Grid, row: u32) -> usize {
    (0..grid.width())
        .filter(|&c| match grid.raw(row, c) {
            Data::String(s) => {
                let t = clean(s);
                !t.is_empty()
                    && crate::values::number::parse_number(
                        &t,
                        crate::values::number::NumberKind::Decimal,
                    )
                    .is_none()
            }
            _ => false,
        })
        .count()
}

fn filled_cells(grid: &Grid, row: u32) -> usize {
    (0..grid.width())
        .filter(|&c| !is_empty(grid.raw(row, c)))
        .count()
}

/// A header guessed from the layout alone, for `inspect` on a sheet no
/// pipeline table matched: the rows above a column-numbering row (skipping
/// blank rows, up to a title line of one cell), or else the row with the
/// most text cells and the group rows directly above it. `None` when no
/// row has three text cells.
pub fn guess_header(grid: &Grid) -> Option<HeaderGuess> {
    let rows = grid.height().min(GUESS_ROWS);
    let widest = |from: u32, to: u32| {
        (from..=to)
            .map(|r| (text_cells(grid, r), r))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, r)| r)
    };
    let numbering = (1..rows)
        .find(|&r| is_numbering_row(grid, r) && (0..r).any(|above| text_cells(grid, above) >= 3));
    if let Some(n) = numbering {
        let mut first = None;
        let mut last = None;
        let mut r = n;
        while r > 0 {
            r -= 1;
            let cells = filled_cells(grid, r);
            if cells == 0 {
                if first.is_some() && r > 0 && filled_cells(grid, r - 1) <= 1 {
                    break;
                }
                continue;
            }
            if cells <= 1 && first.is_some() {
                break;
            }
            last.get_or_insert(r);
            first = Some(r);
        }
        let (first, last) = (first?, last?);
        return Some(HeaderGuess {
            first,
            last,
            names: widest(first, last)?,
        });
    }
    let names = widest(0, rows.checked_sub(1)?)?;
    if text_cells(grid, names) < 3 {
        return None;
    }
    let mut first = names;
    while first > 0 && filled_cells(grid, first - 1) >= 2 {
        first -= 1;
    }
    Some(HeaderGuess {
        first,
        last: names,
        names,
    })
}

/// What a sheet row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// Above the header: title block, unit line, blank lines.
    Title,
    Header,
    Numbering,
    Blank,
    /// "Cộng", "Tổng cộng", "Cộng bản …".
    Subtotal,
    /// From the first signature / date line to the end of the sheet.
    Footer,
    /// Text but no value in any required column: a section heading or a note.
    Label,
    Data,
}

/// A cheap test, before any allocation, that a cell could hold a footer or
/// subtotal marker: those start with n/t/k/x/c ("Người lập biểu", "TM.",
/// "Tổng cộng", "KT.", "Xác nhận", "Cộng") or are a date line ("… tháng …").
fn may_be_marker(s: &str) -> bool {
    let first = s
        .trim_start_matches(|c: char| {
            c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{2060}')
        })
        .chars()
        .next();
    matches!(
        first,
        Some('n' | 'N' | 't' | 'T' | 'k' | 'K' | 'x' | 'X' | 'c' | 'C')
    ) || s
        .as_bytes()
        .windows(2)
        .any(|w| matches!(w, [b't' | b'T', b'h' | b'H']))
}

/// Does this (cleaned, lower-case) cell text open the footer?
pub fn is_footer_marker(key: &str) -> bool {
    const STARTS: [&str; 9] = [
        "người lập biểu",
        "người lập bảng",
        "người tổng hợp",
        "người lập",
        "tm.",
        "kt.",
        "xác nhận",
        "thủ trưởng đơn vị",
        "t/m",
    ];
    if STARTS.iter().any(|m| key.starts_with(m)) || key == "tm" || key == "kt" {
        return true;
    }
    // "Mường Kim, ngày 19 tháng 6 năm 2026", "ngày … tháng … năm …"
    match (key.find("ngày"), key.find("tháng"), key.find("năm")) {
        (Some(a), Some(b), Some(c)) => a < b && b < c,
        _ => false,
    }
}

/// Is this (cleaned, lower-case) cell text a subtotal or total label? A name
/// such as "Tổng Thị Hoa" is not: "Tổng" is also a family name.
pub fn is_subtotal_marker(key: &str) -> bool {
    const EXACT: [&str; 7] = [
        "cộng",
        "tổng",
        "tổng cộng",
        "tổng số",
        "toàn xã",
        "cộng:",
        "tổng:",
    ];
    const STARTS: [&str; 11] = [
        "cộng:",
        "cộng (",
        "cộng bản",
        "cộng thôn",
        "cộng xóm",
        "cộng tổ",
        "cộng nhóm",
        "cộng phát sinh",
        "tổng cộng",
        "tổng số",
        "toàn xã",
    ];
    EXACT.contains(&key) || STARTS.iter().any(|m| key.starts_with(m))
}

/// Classifies the rows below a header. Footer state carries from row to row.
pub struct RowClassifier<'a> {
    grid: &'a Grid,
    required: Vec<u32>,
    /// Every mapped source column, wide measures included.
    mapped: Vec<u32>,
    /// The mapped columns that hold numbers (amounts, counts): never part
    /// of a heading's text.
    numeric: Vec<u32>,
    in_footer: bool,
    /// (footer, subtotal) by cell text: villages, sexes and group labels
    /// repeat on every row, so each distinct text is cleaned and lower-cased
    /// once. Bounded; past the bound texts are simply not remembered.
    markers: foldhash::HashMap<&'a str, (bool, bool)>,
    /// The order-number column ("STT", "TT"), when the header has one:
    /// a row numbered "2" followed by rows "2.1", "2.2" is their parent
    /// (a subtotal), not a row of its own.
    order_column: Option<u32>,
    /// For the last row classified `Subtotal`: its cleaned, lower-case
    /// marker ("cộng bản nà ngò"), or `None` for a parent row numbered over
    /// its children.
    pub subtotal_marker: Option<String>,
}

/// Header texts of an order-number column.
pub(crate) const ORDER_HEADERS: [&str; 5] = ["stt", "tt", "số tt", "số thứ tự", "thứ tự"];

/// Rows looked ahead for the next order number.
const ORDER_LOOKAHEAD: u32 = 50;

/// Numbering levels of an order-number cell, outermost first: "I", "II"
/// (Roman, 1); "1", "2" (2), "1.1" (3), "1.1.1" (4) …; "a", "b", "đ" (10).
/// A row numbered at one level followed by one numbered deeper is their
/// parent ("I" over "1", "1" over "a", "2" over "2.1").
const LEVEL_ROMAN: u8 = 1;
const LEVEL_ARABIC: u8 = 2;
const LEVEL_LETTER: u8 = 10;

fn order_text(d: &Data) -> Option<(u8, String)> {
    let t = match d {
        Data::Float(f) if f.fract() == 0.0 && *f >= 0.0 => format!("{}", *f as i64),
        Data::Int(i) if *i >= 0 => i.to_string(),
        Data::String(s) => clean(s)
            .trim()
            .trim_end_matches(['.', ')'])
            .trim_start_matches('(')
            .to_string(),
        _ => return None,
    };
    if t.is_empty() {
        return None;
    }
    let hierarchical = t
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if hierarchical {
        let dots = t.matches('.').count().min(200) as u8;
        return Some((LEVEL_ARABIC + dots, t));
    }
    let roman = t.len() <= 6 && t.bytes().all(|b| matches!(b, b'I' | b'V' | b'X' | b'L'));
    if roman {
        return Some((LEVEL_ROMAN, t));
    }
    let mut chars = t.chars();
    if let (Some(c), None) = (chars.next(), chars.next())
        && (c.is_ascii_lowercase() || c == 'đ')
    {
        return Some((LEVEL_LETTER, t));
    }
    None
}

/// The numbering level of an order-number text (see [`order_text`]).
pub fn order_level(d: &Data) -> Option<u8> {
    order_text(d).map(|(l, _)| l)
}

const MARKER_MEMO_MAX: usize = 20_000;

impl<'a> RowClassifier<'a> {
    pub fn new(grid: &'a Grid, table: &Table, header: &HeaderMatch) -> Self {
        let required = table
            .columns
            .iter()
            .zip(&header.columns)
            .filter(|(c, _)| c.required)
            .filter_map(|(_, src)| *src)
            .collect();
        let mapped = header
            .columns
            .iter()
            .flatten()
            .copied()
            .chain(
                header
                    .groups
                    .iter()
                    .flat_map(|g| g.measures.iter().map(|(_, c)| *c)),
            )
            .collect();
        let numeric = table
            .columns
            .iter()
            .zip(&header.columns)
            .filter(|(c, _)| {
                matches!(
                    c.kind.storage(),
                    crate::pipeline::Storage::Int | crate::pipeline::Storage::Float
                )
            })
            .filter_map(|(_, src)| *src)
            .chain(
                header
                    .groups
                    .iter()
                    .flat_map(|g| g.measures.iter().map(|(_, c)| *c)),
            )
            .collect();
        let order_column = (0..grid.width()).find(|&c| {
            (header.row..header.row + header.height).any(|r| {
                ORDER_HEADERS.contains(&header_key(&cell_text(grid.filled(r, c))).as_str())
            })
        });
        RowClassifier {
            grid,
            required,
            mapped,
            numeric,
            in_footer: false,
            markers: foldhash::HashMap::default(),
            order_column,
            subtotal_marker: None,
        }
    }

    /// A row whose next numbered row is numbered one level deeper ("N"
    /// over "N.k", "I" over "1", "1" over "a"): their parent.
    fn is_parent(&self, row: u32) -> bool {
        let Some(c) = self.order_column else {
            return false;
        };
        let Some((level, mine)) = order_text(self.grid.raw(row, c)) else {
            return false;
        };
        let end = self.grid.height().min(row + 1 + ORDER_LOOKAHEAD);
        let next = (row + 1..end)
            .map(|r| self.grid.raw(r, c))
            .find(|d| !is_empty(d))
            .and_then(order_text);
        next.is_some_and(|(nl, n)| {
            if level >= LEVEL_ARABIC && nl > level && nl < LEVEL_LETTER {
                n.starts_with(&format!("{mine}."))
            } else {
                nl > level
            }
        })
    }

    /// The numbering level of `row`'s order number, when it has one.
    pub fn numbering_level(&self, row: u32) -> Option<u8> {
        self.order_column
            .and_then(|c| order_level(self.grid.raw(row, c)))
    }

    /// A heading row's text without its order number: "I | NHIỆM VỤ DO
    /// UBND TỈNH GIAO" and "I. NHIỆM VỤ DO UBND TỈNH GIAO" give "NHIỆM VỤ
    /// DO UBND TỈNH GIAO". The text cells of the row, joined by a space.
    pub fn heading_text(&self, row: u32) -> String {
        let mut parts: Vec<String> = Vec::new();
        for col in 0..self.grid.width() {
            if Some(col) == self.order_column || self.numeric.contains(&col) {
                continue;
            }
            if let Data::String(s) = self.grid.raw(row, col) {
                let t = clean(s);
                let t = t.trim();
                // "I. Text", "1) Text", "a. Text"
                let t = match t.split_once(['.', ')']) {
                    Some((mark, rest))
                        if order_text(&Data::String(mark.to_string())).is_some()
                            && !rest.trim().is_empty() =>
                    {
                        rest.trim()
                    }
                    _ => t,
                };
                if !t.is_empty() && !parts.iter().any(|p| p == t) {
                    parts.push(t.to_string());
                }
            }
        }
        parts.join(" ")
    }

    pub fn classify(&mut self, row: u32) -> RowKind {
        if self.in_footer {
            return RowKind::Footer;
        }
        let mut any = false;
        let mut subtotal = false;
        self.subtotal_marker = None;
        for col in 0..self.grid.width() {
            let d = self.grid.raw(row, col);
            if is_empty(d) {
                continue;
            }
            any = true;
            if let Data::String(s) = d
                && may_be_marker(s)
            {
                let (footer, sub) = match self.markers.get(s.as_str()) {
                    Some(m) => *m,
                    None => {
                        let key = value_key(s);
                        let m = (is_footer_marker(&key), is_subtotal_marker(&key));
                        if self.markers.len() < MARKER_MEMO_MAX {
                            self.markers.insert(s.as_str(), m);
                        }
                        m
                    }
                };
                if footer {
                    self.in_footer = true;
                    return RowKind::Footer;
                }
                if sub && !subtotal {
                    self.subtotal_marker = Some(value_key(s));
                }
                subtotal |= sub;
            }
        }
        if !any {
            return RowKind::Blank;
        }
        if subtotal {
            return RowKind::Subtotal;
        }
        // A heading ("I. BẢN NÀ NGÒ") or a note fills at most one of the
        // required columns; a person row missing one field still fills the
        // others and is rejected, not skipped.
        let filled = self
            .required
            .iter()
            .filter(|&&c| !is_empty(self.grid.raw(row, c)))
            .count();
        let label_limit = if self.required.len() >= 3 { 1 } else { 0 };
        // …and at most one mapped cell in all: a row of counts whose village
        // name is missing is data (rejected for it), not a heading.
        let mapped_filled = self
            .mapped
            .iter()
            .filter(|&&c| !is_empty(self.grid.raw(row, c)))
            .count();
        if !self.required.is_empty() && filled <= label_limit && mapped_filled <= 1 {
            return RowKind::Label;
        }
        if self.is_parent(row) {
            return RowKind::Subtotal;
        }
        RowKind::Data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Dimensions, Range};

    fn table() -> Table {
        let text = r#"
[pipeline]
name = "t"
title = "T"
[[tables]]
name = "people"
grain = "one row per person"
[[tables.columns]]
name = "full_name"
label = "Họ và tên"
aliases = ["Họ và tên", "Họ tên"]
type = "text"
required = true
[[tables.columns]]
name = "birth_date"
label = "Ngày sinh"
aliases = ["Ngày sinh"]
type = "date"
required = true
[[tables.columns]]
name = "valid_from"
label = "Hạn thẻ từ ngày"
aliases = ["Hạn thẻ từ ngày", "Từ ngày"]
type = "date"
required = true
[[tables.columns]]
name = "valid_to"
label = "Hạn thẻ đến ngày"
aliases = ["Hạn thẻ đến ngày", "Đến ngày"]
type = "date"
"#;
        crate::pipeline::compile_pipeline("t.toml", text)
            .unwrap()
            .tables
            .remove(0)
    }

    fn grid(rows: &[&[&str]], merges: Vec<Dimensions>) -> Grid {
        let h = rows.len() as u32;
        let w = rows.iter().map(|r| r.len()).max().unwrap() as u32;
        let mut r: Range<Data> = Range::new((0, 0), (h - 1, w - 1));
        for (i, row) in rows.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    r.set_value((i as u32, j as u32), Data::String((*v).into()));
                }
            }
        }
        Grid::new(r, merges)
    }

    #[test]
    fn finds_two_row_header_under_a_title_block_and_skips_numbering() {
        let g = grid(
            &[
                &["UBND XÃ MƯỜNG KIM", "", "", "", ""],
                &["DANH SÁCH", "", "", "", ""],
                &["", "", "", "", ""],
                &["STT", "HỌ VÀ TÊN", "Ngày\nsinh", "Hạn thẻ", ""],
                &["", "", "", "Từ ngày", "Đến ngày"],
                &["(1)", "(2)", "(3)", "(4)", "(5)"],
                &["1", "Lò Văn A", "01/01/1990", "01/01/2026", "31/12/2026"],
            ],
            vec![
                Dimensions::new((0, 0), (0, 4)),
                Dimensions::new((3, 3), (3, 4)),
                Dimensions::new((3, 1), (4, 1)),
            ],
        );
        let h = find_header(&g, &table()).unwrap();
        assert_eq!((h.row, h.height, h.score), (3, 2, 4));
        assert_eq!(h.columns, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert!(h.numbering_row);
        assert_eq!(h.data_start(), 6);
        assert_eq!(h.unknown, vec!["STT".to_string()]);
        assert_eq!(h.header_text[2], "Hạn thẻ / Từ ngày");
    }

    #[test]
    fn numbering_rows_in_every_encoding_real_forms_use() {
        let row = |cells: Vec<Data>| {
            let mut r: Range<Data> = Range::new((0, 0), (1, cells.len() as u32 - 1));
            r.set_value((0, 0), Data::String("Họ và tên".into()));
            for (c, v) in cells.into_iter().enumerate() {
                r.set_value((1, c as u32), v);
            }
            Grid::new(r, vec![])
        };
        let s = |t: &str| Data::String(t.into());
        // Text "(1)", numbers, accounting negatives shown as "(1)", letters
        // and numbers mixed, formula text.
        for cells in [
            vec![s("(1)"), s("(2)"), s("(3)")],
            vec![Data::Float(1.0), Data::Float(2.0), Data::Float(3.0)],
            vec![Data::Float(-1.0), Data::Float(-2.0), Data::Float(6.0)],
            vec![s("A"), s("B"), Data::Float(1.0), Data::Float(2.0), s("C")],
            vec![s("(3)"), s("(4)=(5)+(18)"), s("(5)")],
        ] {
            assert!(is_numbering_row(&row(cells.clone()), 1), "{cells:?}");
        }
        // Data is not numbering: a name, a 4-digit count, a fraction.
        for cells in [
            vec![s("Lò Văn A"), Data::Float(1.0), Data::Float(2.0)],
            vec![Data::Float(1.0), Data::Float(2026.0)],
            vec![Data::Float(1.5), Data::Float(2.0)],
        ] {
            assert!(!is_numbering_row(&row(cells.clone()), 1), "{cells:?}");
        }
    }

    #[test]
    fn header_words_split_over_three_rows_without_merges() {
        let g = grid(
            &[
                &["DANH SÁCH", "", "", "", ""],
                &["STT", "Họ", "Ngày", "Hạn  thẻ", ""],
                &["", "và", "", "Từ", "Đến"],
                &["", "tên", "sinh", "ngày", "ngày"],
                &["Tổng cộng", "", "", "", ""],
                &["1", "Lò Văn A", "01/01/1990", "01/01/2026", "31/12/2026"],
            ],
            vec![],
        );
        let t = table();
        let h = find_header(&g, &t).unwrap();
        assert_eq!((h.row, h.height, h.score), (1, 3, 4));
        assert_eq!(h.columns, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(h.header_text[0], "Họ / và / tên");
        assert_eq!(h.header_text[2], "Hạn thẻ / Từ / ngày");
        assert_eq!(h.data_start(), 4);
        // A total row above the detail rows is a total wherever it stands.
        let mut rc = RowClassifier::new(&g, &t, &h);
        assert_eq!(rc.classify(4), RowKind::Subtotal);
        assert_eq!(rc.classify(5), RowKind::Data);
    }

    #[test]
    fn roman_arabic_and_letter_numbers_nest_and_headings_keep_only_their_words() {
        let text = r#"
[pipeline]
name = "t"
title = "T"
[[tables]]
name = "lines"
grain = "one row per budget line"
[[tables.columns]]
name = "item"
label = "Nội dung"
aliases = ["Nội dung"]
type = "text"
required = true
[[tables.columns]]
name = "plan"
label = "Dự toán"
aliases = ["Dự toán"]
type = "decimal"
[[tables.columns]]
name = "actual"
label = "Thực hiện"
aliases = ["Thực hiện"]
type = "decimal"
"#;
        let t = crate::pipeline::compile_pipeline("t.toml", text)
            .unwrap()
            .tables
            .remove(0);
        let g = grid(
            &[
                &["STT", "Nội dung", "Dự toán", "Thực hiện"],
                &["I", "TỔNG THU", "1.350", "726,375"],
                &["1", "Thu phí", "1.000", "500"],
                &["a", "Phí chợ", "600", "300"],
                &["b", "Lệ phí", "400", "200"],
                &["2", "Thu khác", "350", "226,375"],
                &["II", "TỔNG CHI", "100", "90"],
                &["1", "Chi thường xuyên", "100", "90"],
            ],
            vec![],
        );
        let h = find_header(&g, &t).unwrap();
        let mut rc = RowClassifier::new(&g, &t, &h);
        let kinds: Vec<RowKind> = (1..8).map(|r| rc.classify(r)).collect();
        use RowKind::*;
        assert_eq!(
            kinds,
            [Subtotal, Subtotal, Data, Data, Data, Subtotal, Data]
        );
        let levels: Vec<Option<u8>> = (1..8).map(|r| rc.numbering_level(r)).collect();
        assert_eq!(
            levels,
            [
                Some(1),
                Some(2),
                Some(10),
                Some(10),
                Some(2),
                Some(1),
                Some(2)
            ]
        );
        // The amounts (text "1.350") are not part of the heading.
        assert_eq!(rc.heading_text(1), "TỔNG THU");
        assert_eq!(rc.heading_text(2), "Thu phí");
    }

    #[test]
    fn an_english_header_row_above_the_vietnamese_one_is_not_the_header() {
        let g = grid(
            &[
                &["No.", "Full name", "Date of birth", "Valid from"],
                &["STT", "Họ và tên", "Ngày sinh", "Từ ngày"],
                &["1", "Lò Văn A", "01/01/1990", "01/01/2026"],
            ],
            vec![],
        );
        let h = find_header(&g, &table()).unwrap();
        assert_eq!((h.row, h.height, h.score), (1, 1, 3));
        assert_eq!(h.data_start(), 2);
    }

    #[test]
    fn an_english_header_row_under_the_vietnamese_one_is_part_of_the_header() {
        let g = grid(
            &[
                &["STT", "Họ và tên", "Ngày sinh", "Từ ngày"],
                &["No.", "Full name", "Date of birth", "Valid from"],
                &["(1)", "(2)", "(3)", "(4)"],
                &["1", "Lò Văn A", "01/01/1990", "01/01/2026"],
                &["2", "Lò Văn B", "", ""],
            ],
            vec![],
        );
        let t = table();
        let h = find_header(&g, &t).unwrap();
        assert_eq!((h.row, h.height, h.score), (0, 2, 3));
        assert!(h.numbering_row);
        assert_eq!(h.data_start(), 3);
        // A person's row with its dates missing is still data.
        assert!(!is_translated_header_row(&g, &t, &h, 4));
    }

    #[test]
    fn a_parent_row_numbered_over_its_children_is_a_subtotal() {
        let g = grid(
            &[
                &["TT", "Họ và tên", "Ngày sinh", "Từ ngày"],
                &["1", "Bản Pá Khoang", "2", "2"],
                &["1.1", "Lò Văn A", "01/01/1990", "01/01/2026"],
                &["1.2", "Lò Văn B", "01/01/1991", "01/01/2026"],
                &["2", "Lò Văn C", "01/01/1992", "01/01/2026"],
                &["3.", "Lò Văn D", "01/01/1993", "01/01/2026"],
                &["", "Lò Văn E", "01/01/1994", "01/01/2026"],
                &["3.1", "Lò Văn F", "01/01/1995", "01/01/2026"],
            ],
            vec![],
        );
        let t = table();
        let h = find_header(&g, &t).unwrap();
        let mut rc = RowClassifier::new(&g, &t, &h);
        let kinds: Vec<RowKind> = (1..g.height()).map(|r| rc.classify(r)).collect();
        use RowKind::*;
        assert_eq!(
            kinds,
            vec![Subtotal, Data, Data, Data, Subtotal, Data, Data]
        );
    }

    #[test]
    fn header_guessed_from_the_layout_alone() {
        // Title line, group row, names, sub-row, numbering, data.
        let g = grid(
            &[
                &["DANH SÁCH CÁC THỬA ĐẤT", "", "", ""],
                &["", "", "", ""],
                &["Thông tin thửa", "", "Kết quả kiểm tra", ""],
                &[
                    "Số hiệu thửa",
                    "Tên người sử dụng",
                    "Diện tích",
                    "Mã loại đất",
                ],
                &["", "", "Trước", "Sau"],
                &["(1)", "(2)", "(3)", "(4)"],
                &["12", "Lò Văn A", "100", "ONT"],
            ],
            vec![],
        );
        assert_eq!(
            guess_header(&g),
            Some(HeaderGuess {
                first: 2,
                last: 4,
                names: 3
            })
        );
        // No numbering row: the row with the most text, and its group row.
        let g = grid(
            &[
                &["CÔNG TY", "", ""],
                &["Thông tin", "", "Khác"],
                &["Mã KH", "Khách hàng", "Ghi chú"],
                &["KH1", "Lò Văn A", ""],
            ],
            vec![],
        );
        assert_eq!(
            guess_header(&g),
            Some(HeaderGuess {
                first: 1,
                last: 2,
                names: 2
            })
        );
        assert_eq!(guess_header(&grid(&[&["Ghi chú", "1"]], vec![])), None);
    }

    #[test]
    fn no_header_when_too_few_columns_match() {
        let g = grid(
            &[&["Hướng dẫn điền biểu"], &["Ghi họ và tên đầy đủ"]],
            vec![],
        );
        assert!(find_header(&g, &table()).is_none());
    }

    #[test]
    fn row_kinds() {
        let g = grid(
            &[
                &["Họ và tên", "Ngày sinh", "Từ ngày"],
                &["Lò Văn A", "01/01/1990", "01/01/2026"],
                &["", "", ""],
                &["Tổng Thị Hoa", "02/02/1991", "01/01/2026"],
                &["Cộng bản Pá Khoang", "2", ""],
                &["I. BẢN NÀ NGÒ", "", ""],
                &["Lò Văn C", "", "01/01/2026"],
                &["TỔNG CỘNG", "", ""],
                &["Mường Kim, ngày 19 tháng 6 năm 2026", "", ""],
                &["Lò Văn B", "01/01/1990", ""],
            ],
            vec![],
        );
        let t = table();
        let h = find_header(&g, &t).unwrap();
        let mut rc = RowClassifier::new(&g, &t, &h);
        let kinds: Vec<RowKind> = (h.data_start()..g.height())
            .map(|r| rc.classify(r))
            .collect();
        use RowKind::*;
        assert_eq!(
            kinds,
            vec![
                Data, Blank, Data, Subtotal, Label, Data, Subtotal, Footer, Footer
            ]
        );
    }

    #[test]
    fn markers() {
        assert!(is_footer_marker("người lập biểu"));
        assert!(is_footer_marker("tm. ubnd xã"));
        assert!(is_footer_marker("kt. chủ tịch"));
        assert!(is_footer_marker("ngày ... tháng ... năm 2026"));
        assert!(!is_footer_marker("ngày sinh"));
        assert!(is_subtotal_marker("cộng"));
        assert!(is_subtotal_marker("cộng bản pá khoang"));
        assert!(is_subtotal_marker("tổng số"));
        assert!(!is_subtotal_marker("tổng thị hoa"));
        assert!(!is_subtotal_marker("cộng đồng"));
    }
}
