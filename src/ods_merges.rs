//! Merged cells of an OpenDocument spreadsheet, which calamine does not
//! report: a village name merged over its block of rows would otherwise
//! belong to the first row only. Read from `content.xml` with quick-xml:
//! `table:number-columns-spanned` / `table:number-rows-spanned` on a cell,
//! positions counted through `number-rows-repeated` and
//! `number-columns-repeated` (so a sheet's million trailing empty rows cost
//! one counter, not a loop).

use calamine::Dimensions;
use quick_xml::events::{BytesStart, Event};
use std::collections::HashMap;
use std::io::Read;

/// Merged regions by sheet name (absolute 0-based rows and columns).
pub type Spans = HashMap<String, Vec<Dimensions>>;

fn attr_u32(e: &BytesStart, local: &str) -> Option<u32> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local)
            .then(|| a.value.trim().parse::<u32>().ok())
            .flatten()
    })
}

/// An attribute's value by local name (prefix ignored), unescaped.
pub fn attr_string(e: &BytesStart, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        (a.key.local_name().as_ref() == local)
            .then(|| {
                a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

/// The merged regions of every sheet of an .ods file's bytes; empty when
/// the file has none or cannot be read (calamine reports real corruption).
pub fn read(bytes: &[u8]) -> Spans {
    let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return Spans::new();
    };
    let mut xml = Vec::new();
    match zip.by_name("content.xml") {
        Ok(mut f) => {
            if f.read_to_end(&mut xml).is_err() {
                return Spans::new();
            }
        }
        Err(_) => return Spans::new(),
    }
    parse(&xml).unwrap_or_default()
}

/// Repeats beyond this are the trailing filler of a sheet: no merges there.
const MAX_REPEAT_WITH_SPANS: u32 = 10_000;

fn parse(xml: &[u8]) -> Option<Spans> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut spans = Spans::new();
    let mut sheet: Option<(String, Vec<Dimensions>)> = None;
    // Nesting of tables (a table inside a cell's frame is not a sheet).
    let mut depth = 0usize;
    let (mut row, mut col) = (0u32, 0u32);
    let mut row_repeat = 1u32;
    loop {
        let ev = r.read_event_into(&mut buf).ok()?;
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(ev, Event::Empty(_));
                match e.local_name().as_ref() {
                    "table" => {
                        if !empty {
                            depth += 1;
                        }
                        if depth == 1 && !empty {
                            let name = attr_string(e, "name").unwrap_or_default();
                            sheet = Some((name, Vec::new()));
                            row = 0;
                        }
                    }
                    "table-row" if depth == 1 => {
                        row_repeat = attr_u32(e, "number-rows-repeated").unwrap_or(1).max(1);
                        col = 0;
                        if empty {
                            row = row.saturating_add(row_repeat);
                        }
                    }
                    "table-cell" | "covered-table-cell" if depth == 1 => {
                        let repeat = attr_u32(e, "number-columns-repeated").unwrap_or(1).max(1);
                        let across = attr_u32(e, "number-columns-spanned").unwrap_or(1).max(1);
                        let down = attr_u32(e, "number-rows-spanned").unwrap_or(1).max(1);
                        if (across > 1 || down > 1)
                            && repeat <= MAX_REPEAT_WITH_SPANS
                            && row_repeat <= MAX_REPEAT_WITH_SPANS
                            && let Some((_, merges)) = sheet.as_mut()
                        {
                            for dr in 0..row_repeat {
                                for k in 0..repeat {
                                    let (r0, c0) = (row + dr, col + k);
                                    merges.push(Dimensions::new(
                                        (r0, c0),
                                        (r0 + down - 1, c0 + across - 1),
                                    ));
                                }
                            }
                        }
                        col = col.saturating_add(repeat);
                    }
                    _ => {}
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "table" => {
                    if depth == 1
                        && let Some((name, merges)) = sheet.take()
                    {
                        spans.insert(name, merges);
                    }
                    depth = depth.saturating_sub(1);
                }
                "table-row" if depth == 1 => row = row.saturating_add(row_repeat),
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Some(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_with_repeated_rows_and_columns() {
        let xml = r#"<office:document-content xmlns:office="o" xmlns:table="t"><office:body><office:spreadsheet>
<table:table table:name="Bản">
<table:table-row table:number-rows-repeated="2"><table:table-cell/></table:table-row>
<table:table-row><table:table-cell table:number-columns-repeated="2"/><table:table-cell table:number-rows-spanned="3"><text:p>Pá Khoang</text:p></table:table-cell><table:table-cell table:number-columns-spanned="2"/><table:covered-table-cell/></table:table-row>
<table:table-row table:number-rows-repeated="1048000"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>
</table:table>
<table:table table:name="Trống"><table:table-row><table:table-cell/></table:table-row></table:table>
</office:spreadsheet></office:body></office:document-content>"#;
        let spans = parse(xml.as_bytes()).unwrap();
        assert_eq!(
            spans["Bản"],
            vec![
                Dimensions::new((2, 2), (4, 2)),
                Dimensions::new((2, 3), (2, 4))
            ]
        );
        assert!(spans["Trống"].is_empty());
    }
}
