//! Workbooks that are markup saved with a spreadsheet extension, as offices
//! really receive them: HTML tables (what hospital, insurance and government
//! web systems export as "Excel", often UTF-16 with a BOM and no `<html>`
//! wrapper) and Excel 2003 XML Spreadsheets (SpreadsheetML). Excel opens
//! both; each becomes sheets of cells and merged regions like any workbook.
//!
//! HTML is parsed by `scraper` (html5ever, the browsers' algorithm), one
//! sheet per `<table>` (named by its `<caption>`, else "Bảng N"), with
//! `colspan`/`rowspan` as merged cells; cells are
//! text, typed later like any text cell. SpreadsheetML is read with
//! quick-xml: `ss:Index` gaps, `ss:MergeAcross`/`ss:MergeDown`, and
//! `ss:Type` Number, String, DateTime, Boolean.

use calamine::{Data, Dimensions, Range};

/// One sheet: name, cells (absolute 0-based), merged regions.
pub struct MarkupSheet {
    pub name: String,
    pub visible: bool,
    pub range: Range<Data>,
    pub merges: Vec<Dimensions>,
}

/// Which markup a file holds, sniffed from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Html,
    SpreadsheetMl,
}

/// The file as text: UTF-16 (either byte order) or UTF-8 after a BOM, else
/// UTF-8; `None` when it is not text.
pub fn decode_text(bytes: &[u8]) -> Option<String> {
    let utf16 = |le: bool| -> Option<String> {
        let units: Vec<u16> = bytes[2..]
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).ok()
    };
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return utf16(true);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return utf16(false);
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    std::str::from_utf8(body).ok().map(str::to_string)
}

/// HTML with a table, or an Excel 2003 XML Spreadsheet; from the first
/// few kilobytes of the text.
pub fn sniff(text: &str) -> Option<Kind> {
    let head: String = text
        .trim_start_matches('\u{feff}')
        .chars()
        .take(4096)
        .collect::<String>()
        .to_ascii_lowercase();
    if head.contains("urn:schemas-microsoft-com:office:spreadsheet") && head.contains("<workbook") {
        return Some(Kind::SpreadsheetMl);
    }
    if head.contains("<table")
        || (head.contains("<html") && text.to_ascii_lowercase().contains("<table"))
    {
        return Some(Kind::Html);
    }
    None
}

/// A sheet is a dense grid: one whose cells sit this far apart (an
/// `ss:Index` of a million) is refused before it is allocated, as the
/// default `max_cells_per_sheet` refuses any other workbook's.
pub const MAX_CELLS: u64 = 20_000_000;

fn range_of(cells: Vec<((u32, u32), Data)>) -> Result<Range<Data>, String> {
    if cells.is_empty() {
        return Ok(Range::empty());
    }
    let rows = cells.iter().map(|((r, _), _)| *r).max().unwrap_or(0);
    let cols = cells.iter().map(|((_, c), _)| *c).max().unwrap_or(0);
    let n = (u64::from(rows) + 1) * (u64::from(cols) + 1);
    if n > MAX_CELLS {
        return Err(format!(
            "bảng quá lớn / sheet too large: {n} cells (at most {MAX_CELLS})"
        ));
    }
    let mut range = Range::new((0, 0), (rows, cols));
    for (pos, v) in cells {
        range.set_value(pos, v);
    }
    Ok(range)
}

/// A cell's text as a person reads it: `<br>` as a line break, runs of
/// white space as one space, trimmed.
fn cell_text(el: scraper::ElementRef) -> String {
    let mut out = String::new();
    for node in el.descendants() {
        match node.value() {
            scraper::Node::Text(t) => out.push_str(t),
            scraper::Node::Element(e) if e.name() == "br" => out.push('\n'),
            _ => {}
        }
    }
    let lines: Vec<String> = out
        .split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.join("\n").trim().to_string()
}

fn span(el: &scraper::node::Element, name: &str, max: u32) -> u32 {
    el.attr(name)
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .clamp(1, max)
}

/// One sheet per `<table>` (tables inside tables are their own sheets), laid
/// out as browsers do: each cell takes the first free column of its row,
/// `colspan` × `rowspan` cells are merged regions.
pub fn read_html(text: &str) -> Result<Vec<MarkupSheet>, String> {
    use scraper::{ElementRef, Html, Selector};
    let doc = Html::parse_document(text);
    let tables = Selector::parse("table").expect("selector");
    let mut sheets = Vec::new();
    for (ti, table) in doc.select(&tables).enumerate() {
        // Rows whose nearest table is this one.
        let own = |el: &ElementRef| {
            el.ancestors()
                .filter_map(ElementRef::wrap)
                .find(|a| a.value().name() == "table")
                .is_some_and(|a| a.id() == table.id())
        };
        let mut cells = Vec::new();
        let mut merges = Vec::new();
        let mut taken: std::collections::HashSet<(u32, u32)> = std::collections::HashSet::new();
        let rows = table
            .descendants()
            .filter_map(ElementRef::wrap)
            .filter(|e| e.value().name() == "tr" && own(e));
        for (r, tr) in (0u32..).zip(rows) {
            let mut c: u32 = 0;
            for td in tr
                .children()
                .filter_map(ElementRef::wrap)
                .filter(|e| matches!(e.value().name(), "td" | "th"))
            {
                while taken.contains(&(r, c)) {
                    c += 1;
                }
                let (mut cs, mut rs) = (
                    span(td.value(), "colspan", 1000),
                    span(td.value(), "rowspan", 65_535),
                );
                // An absurd span is no real merge (and would fill memory).
                if u64::from(cs) * u64::from(rs) > 1_000_000 {
                    (cs, rs) = (1, 1);
                }
                let text = cell_text(td);
                if !text.is_empty() {
                    cells.push(((r, c), Data::String(text)));
                }
                if cs > 1 || rs > 1 {
                    merges.push(Dimensions::new((r, c), (r + rs - 1, c + cs - 1)));
                    for dr in 0..rs {
                        for dc in 0..cs {
                            taken.insert((r + dr, c + dc));
                        }
                    }
                }
                c += cs;
            }
        }
        // A table's `<caption>` names its sheet (exports that write one
        // table per sheet put the sheet name there).
        let caption = table
            .children()
            .filter_map(ElementRef::wrap)
            .find(|e| e.value().name() == "caption")
            .map(cell_text)
            .filter(|t| !t.is_empty());
        sheets.push(MarkupSheet {
            name: caption.unwrap_or_else(|| format!("Bảng {}", ti + 1)),
            visible: true,
            range: range_of(cells)?,
            merges,
        });
    }
    Ok(sheets)
}

/// Why an Excel 2003 XML file could not be read.
pub fn read_spreadsheetml(text: &str) -> Result<Vec<MarkupSheet>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut sheets = Vec::new();
    // The sheet being read: name, cells, merges, visible.
    type Sheet = (String, Vec<((u32, u32), Data)>, Vec<Dimensions>, bool);
    let mut current: Option<Sheet> = None;
    // Next row and column (0-based); the cell being read and its type.
    let (mut row, mut col): (u32, u32) = (0, 0);
    let mut in_row = false;
    let mut cell: Option<(u32, u32)> = None;
    let mut data_type: Option<String> = None;
    let mut data_text = String::new();
    let mut in_data = false;
    let mut in_visible = false;
    let attr = crate::ods_merges::attr_string;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(ev, Event::Empty(_));
                match e.local_name().as_ref() {
                    "Worksheet" => {
                        let name =
                            attr(e, "Name").unwrap_or_else(|| format!("Sheet{}", sheets.len() + 1));
                        current = Some((name, Vec::new(), Vec::new(), true));
                        row = 0;
                    }
                    "Row" => {
                        if let Some(i) = attr(e, "Index").and_then(|v| v.parse::<u32>().ok()) {
                            row = i.saturating_sub(1);
                        }
                        col = 0;
                        in_row = !empty;
                        if empty {
                            row += 1;
                        }
                    }
                    "Cell" if in_row => {
                        if let Some(i) = attr(e, "Index").and_then(|v| v.parse::<u32>().ok()) {
                            col = i.saturating_sub(1);
                        }
                        let across = attr(e, "MergeAcross")
                            .and_then(|v| v.parse::<u32>().ok())
                            .unwrap_or(0)
                            .min(1000);
                        let down = attr(e, "MergeDown")
                            .and_then(|v| v.parse::<u32>().ok())
                            .unwrap_or(0)
                            .min(65_535);
                        if (across > 0 || down > 0)
                            && let Some(s) = current.as_mut()
                        {
                            s.2.push(Dimensions::new((row, col), (row + down, col + across)));
                        }
                        cell = Some((row, col));
                        col += 1 + across;
                        if empty {
                            cell = None;
                        }
                    }
                    "Data" if cell.is_some() => {
                        data_type = attr(e, "Type");
                        data_text.clear();
                        in_data = !empty;
                    }
                    "Visible" => in_visible = !empty,
                    _ => {}
                }
            }
            Event::Text(t) if in_data => {
                data_text.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) if in_data => {
                let name = r.xml10_content();
                let resolved = match name.as_ref() {
                    "amp" => Some("&".to_string()),
                    "lt" => Some("<".to_string()),
                    "gt" => Some(">".to_string()),
                    "quot" => Some("\"".to_string()),
                    "apos" => Some("'".to_string()),
                    n => n
                        .strip_prefix("#x")
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .or_else(|| n.strip_prefix('#').and_then(|d| d.parse().ok()))
                        .and_then(char::from_u32)
                        .map(String::from),
                };
                data_text.push_str(&resolved.unwrap_or_default());
            }
            Event::Text(t) if in_visible => {
                let v = t.xml10_content();
                if v.contains("Hidden")
                    && let Some(s) = current.as_mut()
                {
                    s.3 = false;
                }
            }
            Event::End(ref e) => match e.local_name().as_ref() {
                "Data" if in_data => {
                    in_data = false;
                    if let (Some(pos), Some(s)) = (cell, current.as_mut()) {
                        let v = match data_type.as_deref() {
                            Some("Number") => data_text
                                .trim()
                                .parse::<f64>()
                                .map(Data::Float)
                                .unwrap_or_else(|_| Data::String(data_text.clone())),
                            Some("Boolean") => Data::Bool(data_text.trim() == "1"),
                            Some("DateTime") => Data::DateTimeIso(data_text.trim().to_string()),
                            _ => Data::String(data_text.clone()),
                        };
                        if !matches!(&v, Data::String(t) if t.is_empty()) {
                            s.1.push((pos, v));
                        }
                    }
                }
                "Cell" => cell = None,
                "Row" if in_row => {
                    in_row = false;
                    row += 1;
                }
                "Visible" => in_visible = false,
                "Worksheet" => {
                    if let Some((name, cells, merges, visible)) = current.take() {
                        sheets.push(MarkupSheet {
                            range: range_of(cells).map_err(|e| format!("sheet {name:?}: {e}"))?,
                            name,
                            visible,
                            merges,
                        });
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if sheets.is_empty() {
        return Err("no <Worksheet> in the file".into());
    }
    Ok(sheets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_spans_become_merges_and_cells_find_their_column() {
        let html = "<table><tr><th rowspan=2>Bản</th><th colspan=2>Số thẻ</th></tr>\
<tr><th>Nam</th><th>Nữ</th></tr><tr><td>Pá Khoang</td><td>1.234</td><td>5<br>6</td></tr></table>";
        let sheets = read_html(html).unwrap();
        assert_eq!(sheets.len(), 1);
        let s = &sheets[0];
        assert_eq!(s.name, "Bảng 1");
        assert_eq!(s.range.get_value((1, 1)), Some(&Data::String("Nam".into())));
        assert_eq!(s.range.get_value((1, 2)), Some(&Data::String("Nữ".into())));
        assert_eq!(
            s.range.get_value((2, 1)),
            Some(&Data::String("1.234".into()))
        );
        assert_eq!(
            s.range.get_value((2, 2)),
            Some(&Data::String("5\n6".into()))
        );
        assert_eq!(
            s.merges,
            vec![
                Dimensions::new((0, 0), (1, 0)),
                Dimensions::new((0, 1), (0, 2))
            ]
        );
    }

    #[test]
    fn utf16_html_without_a_wrapper() {
        let text = "\u{feff}<Table><tr><td>Máu</td></tr></Table>";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.trim_start_matches('\u{feff}').encode_utf16() {
            bytes.extend(u.to_le_bytes());
        }
        let decoded = decode_text(&bytes).unwrap();
        assert_eq!(sniff(&decoded), Some(Kind::Html));
        let s = read_html(&decoded).unwrap();
        assert_eq!(
            s[0].range.get_value((0, 0)),
            Some(&Data::String("Máu".into()))
        );
    }

    #[test]
    fn cells_a_million_rows_apart_are_refused_not_allocated() {
        let xml = r#"<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Worksheet ss:Name="S"><Table><Row ss:Index="1048576"><Cell ss:Index="16384"><Data ss:Type="Number">1</Data></Cell></Row></Table></Worksheet></Workbook>"#;
        let e = read_spreadsheetml(xml).err().unwrap();
        assert!(e.contains("sheet too large"), "{e}");
        let html = "<table><tr><td rowspan=65535 colspan=1000>x</td><td>y</td></tr></table>";
        let s = read_html(html).unwrap();
        assert!(s[0].merges.is_empty());
        assert_eq!(
            s[0].range.get_value((0, 1)),
            Some(&Data::String("y".into()))
        );
    }

    #[test]
    fn spreadsheetml_index_gaps_merges_and_types() {
        let xml = r#"<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
<Worksheet ss:Name="Bản"><Table>
<Row><Cell ss:MergeAcross="1"><Data ss:Type="String">Số thẻ &amp; mã</Data></Cell><Cell ss:Index="4"><Data ss:Type="Number">12.5</Data></Cell></Row>
<Row ss:Index="3"><Cell ss:MergeDown="1"><Data ss:Type="DateTime">2026-03-15T00:00:00.000</Data></Cell><Cell><Data ss:Type="String">0012</Data></Cell></Row>
</Table></Worksheet></Workbook>"#;
        assert_eq!(sniff(xml), Some(Kind::SpreadsheetMl));
        let sheets = read_spreadsheetml(xml).unwrap();
        let s = &sheets[0];
        assert_eq!(s.name, "Bản");
        assert_eq!(
            s.range.get_value((0, 0)),
            Some(&Data::String("Số thẻ & mã".into()))
        );
        assert_eq!(s.range.get_value((0, 3)), Some(&Data::Float(12.5)));
        assert_eq!(
            s.range.get_value((2, 0)),
            Some(&Data::DateTimeIso("2026-03-15T00:00:00.000".into()))
        );
        assert_eq!(
            s.range.get_value((2, 1)),
            Some(&Data::String("0012".into()))
        );
        assert_eq!(
            s.merges,
            vec![
                Dimensions::new((0, 0), (0, 1)),
                Dimensions::new((2, 0), (3, 0))
            ]
        );
    }
}
