//! Workbook files -> grids of cells. The only stage that reads input files.
//!
//! The format is decided from the file's first bytes, not trusted from its
//! extension: departments rename `.xlsx` files to `.xls`, save HTML as `.xls`,
//! and password-protect workbooks (an encrypted `.xlsx` is an OLE container,
//! not a zip). Each failure becomes one clear [`IngestError`].

use calamine::{Data, Dimensions, Ods, Range, Reader, SheetType, SheetVisible, Xls, Xlsb, Xlsx};
// foldhash, not SipHash: every cell a row reads looks up the merged-cell map.
use foldhash::{HashMap, HashMapExt};
use std::io::Cursor;

pub use crate::model::Format;

type Source = Cursor<Vec<u8>>;

pub use crate::model::IngestError;

/// Check a zip-based workbook's parts against `max_part_bytes` from the
/// archive directory alone, before anything is inflated (zip bombs, expanding
/// shared-string tables).
pub fn check_zip_parts(bytes: &[u8], max_part_bytes: u64) -> Result<(), IngestError> {
    if !bytes.starts_with(b"PK\x03\x04") {
        return Ok(());
    }
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(bytes)) else {
        return Ok(()); // the reader reports the corruption itself
    };
    for i in 0..zip.len() {
        if let Ok(f) = zip.by_index_raw(i)
            && f.size() > max_part_bytes
        {
            let name = f
                .name()
                .map(|n| n.into_owned())
                .unwrap_or_else(|_| format!("#{i}"));
            return Err(IngestError::Limit {
                limit: "max_part_bytes".into(),
                max: max_part_bytes,
                what: format!(
                    "phần {name} giải nén ra {} byte / part {name} inflates to {} bytes",
                    f.size(),
                    f.size()
                ),
            });
        }
    }
    Ok(())
}

pub struct SheetInfo {
    pub name: String,
    pub visible: bool,
    /// Chart sheets, macro sheets and dialog sheets hold no table.
    pub is_worksheet: bool,
}

pub struct Workbook {
    pub format: Format,
    sheets: Inner,
    /// An xlsx file's bytes and sheet parts, to read merged ranges cheaply.
    xlsx_raw: Option<(Vec<u8>, Option<crate::xlsx_merges::SheetParts>)>,
    /// Its shared strings and styles for `xlsx_cells`, None where that
    /// reader leaves the workbook to calamine.
    xlsx_book: Option<crate::xlsx_cells::Book>,
    pub sheet_infos: Vec<SheetInfo>,
}

enum Inner {
    /// None until a sheet needs calamine: a workbook whose sheet list,
    /// strings and styles `xlsx_cells` reads is not opened by calamine.
    Xlsx(Option<Box<Xlsx<Source>>>),
    Xls(Box<Xls<Source>>),
    Xlsb(Box<Xlsb<Source>>),
    /// With the merged regions calamine does not give for ODS.
    Ods(Box<Ods<Source>>, crate::ods_merges::Spans),
    /// HTML or SpreadsheetML, parsed whole (see `markup`).
    Markup(Vec<crate::markup::MarkupSheet>),
}

const CFB_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

fn contains_utf16(hay: &[u8], needle: &str) -> bool {
    let pat: Vec<u8> = needle
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    hay.windows(pat.len()).any(|w| w == pat.as_slice())
}

fn describe_start(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(64)];
    let text = String::from_utf8_lossy(head).to_lowercase();
    if text.contains("<html") || text.contains("<!doctype") || text.contains("<table") {
        "HTML saved with a spreadsheet extension".into()
    } else if text.starts_with("<?xml") {
        "XML file (perhaps an Excel 2003 XML or flat ODS file, not supported)".into()
    } else if head.starts_with(b"%PDF") {
        "PDF".into()
    } else if head
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "plain text or CSV".into()
    } else {
        format!(
            "unknown format, first bytes {:02x?}",
            &head[..head.len().min(8)]
        )
    }
}

/// Open a workbook from its bytes. `ext` is the lower-cased extension, used
/// only to choose between the two zip-based formats and xlsb.
pub fn open(bytes: Vec<u8>, ext: &str) -> Result<Workbook, IngestError> {
    if bytes.is_empty() {
        return Err(IngestError::Empty);
    }
    let corrupt = |e: &dyn std::fmt::Display| IngestError::Corrupt(e.to_string());
    let mut xlsx_raw = None;
    let mut xlsx_book = None;
    let mut xlsx_metas = None;
    let mut markup = Format::Html;
    let inner = if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        let is_ods = ext == "ods"
            || bytes
                .windows(39)
                .take(200)
                .any(|w| w == b"application/vnd.oasis.opendocument.spr");
        if is_ods {
            let spans = crate::ods_merges::read(&bytes);
            Inner::Ods(
                Box::new(Ods::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?),
                spans,
            )
        } else if ext == "xlsb" {
            Inner::Xlsb(Box::new(
                Xlsb::new(Cursor::new(bytes)).map_err(|e| corrupt(&e))?,
            ))
        } else if let Some((meta, parts, book)) = crate::xlsx_cells::open(&bytes) {
            xlsx_metas = Some(meta);
            xlsx_book = Some(book);
            xlsx_raw = Some((bytes, Some(parts)));
            Inner::Xlsx(None)
        } else {
            match Xlsx::new(Cursor::new(bytes.clone())) {
                Ok(x) => {
                    let parts = crate::xlsx_merges::SheetParts::read(&bytes);
                    xlsx_book = parts.as_ref().and_then(|p| {
                        crate::xlsx_cells::Book::read(&bytes, &p.dir, x.has_1904_epoch())
                    });
                    xlsx_raw = Some((bytes, parts));
                    Inner::Xlsx(Some(Box::new(x)))
                }
                Err(xe) => match Xlsb::new(Cursor::new(bytes)) {
                    Ok(x) => Inner::Xlsb(Box::new(x)),
                    Err(_) => return Err(corrupt(&xe)),
                },
            }
        }
    } else if bytes.starts_with(&CFB_MAGIC) {
        if contains_utf16(&bytes, "EncryptionInfo") || contains_utf16(&bytes, "EncryptedPackage") {
            return Err(IngestError::Encrypted);
        }
        match Xls::new(Cursor::new(bytes)) {
            Ok(x) => Inner::Xls(Box::new(x)),
            Err(e) => {
                let msg = e.to_string();
                if msg.to_lowercase().contains("password") || msg.to_lowercase().contains("encrypt")
                {
                    return Err(IngestError::Encrypted);
                }
                return Err(IngestError::Corrupt(msg));
            }
        }
    } else {
        use crate::markup::{Kind, decode_text, read_html, read_spreadsheetml, sniff};
        let text = decode_text(&bytes);
        match text.as_deref().and_then(|t| Some((t, sniff(t)?))) {
            Some((t, Kind::Html)) => {
                let sheets =
                    read_html(t).map_err(|e| IngestError::Corrupt(format!("HTML: {e}")))?;
                if sheets.is_empty() {
                    return Err(IngestError::NotSpreadsheet("HTML without a table".into()));
                }
                Inner::Markup(sheets)
            }
            Some((t, Kind::SpreadsheetMl)) => {
                markup = Format::SpreadsheetMl;
                Inner::Markup(read_spreadsheetml(t).map_err(|e| {
                    IngestError::Corrupt(format!("Excel 2003 XML Spreadsheet: {e}"))
                })?)
            }
            None => return Err(IngestError::NotSpreadsheet(describe_start(&bytes))),
        }
    };
    if let Some(meta) = xlsx_metas {
        let sheet_infos = meta
            .sheets
            .into_iter()
            .map(|m| SheetInfo {
                name: m.name,
                visible: m.visible,
                is_worksheet: m.is_worksheet,
            })
            .collect();
        return Ok(Workbook {
            format: Format::Xlsx,
            sheets: inner,
            xlsx_raw,
            xlsx_book,
            sheet_infos,
        });
    }
    let (format, metas) = match &inner {
        Inner::Xlsx(Some(x)) => (Format::Xlsx, x.sheets_metadata().to_vec()),
        Inner::Xlsx(None) => unreachable!("an xlsx opened without calamine has its sheet list"),
        Inner::Xls(x) => (Format::Xls, x.sheets_metadata().to_vec()),
        Inner::Xlsb(x) => (Format::Xlsb, x.sheets_metadata().to_vec()),
        Inner::Ods(x, _) => (Format::Ods, x.sheets_metadata().to_vec()),
        Inner::Markup(sheets) => {
            let format = markup;
            let infos = sheets
                .iter()
                .map(|s| SheetInfo {
                    name: s.name.clone(),
                    visible: s.visible,
                    is_worksheet: true,
                })
                .collect();
            return Ok(Workbook {
                format,
                sheets: inner,
                xlsx_raw,
                xlsx_book,
                sheet_infos: infos,
            });
        }
    };
    let sheet_infos = metas
        .into_iter()
        .map(|m| SheetInfo {
            name: m.name,
            visible: m.visible == SheetVisible::Visible,
            is_worksheet: m.typ == SheetType::WorkSheet,
        })
        .collect();
    Ok(Workbook {
        format,
        sheets: inner,
        xlsx_raw,
        xlsx_book,
        sheet_infos,
    })
}

impl Workbook {
    /// An xlsx sheet's cells, merged regions and column widths from one
    /// inflate of its part, read by `xlsx_cells`; None where that reader
    /// leaves the sheet to calamine.
    fn fast_xlsx(
        &self,
        name: &str,
    ) -> Option<(
        Range<Data>,
        Vec<Dimensions>,
        Vec<crate::xlsx_merges::ColumnWidth>,
    )> {
        let book = self.xlsx_book.as_ref()?;
        let (bytes, parts) = self.xlsx_raw.as_ref()?;
        let xml = parts.as_ref()?.sheet_xml(bytes, name)?;
        let range = crate::xlsx_cells::read_sheet(&xml, book)?;
        let (merges, widths) = crate::xlsx_merges::merges_and_widths(&xml)?;
        Some((range, merges, widths))
    }

    /// Read one sheet's cells and merged regions.
    pub fn grid(&mut self, name: &str) -> Result<Grid, IngestError> {
        let corrupt =
            |e: &dyn std::fmt::Display| IngestError::Corrupt(format!("sheet {name:?}: {e}"));
        let mut widths = Vec::new();
        let fast = match self.sheets {
            Inner::Xlsx(_) => self.fast_xlsx(name),
            _ => None,
        };
        let (range, merges) = match &mut self.sheets {
            Inner::Xlsx(_) if fast.is_some() => {
                let (r, m, w) = fast.unwrap_or_default();
                widths = w;
                (r, m)
            }
            Inner::Xlsx(slot) => {
                // This sheet is calamine's: open the workbook now if it was not.
                if slot.is_none() {
                    let bytes = self
                        .xlsx_raw
                        .as_ref()
                        .map(|(b, _)| b.clone())
                        .unwrap_or_default();
                    *slot = Some(Box::new(
                        Xlsx::new(Cursor::new(bytes))
                            .map_err(|e| IngestError::Corrupt(e.to_string()))?,
                    ));
                }
                let Some(x) = slot.as_mut() else {
                    unreachable!("opened above")
                };
                // The merged ranges need a second inflate of the sheet: done
                // beside calamine's decoding, on another core when one is idle.
                let raw = &self.xlsx_raw;
                let (r, fast) = rayon::join(
                    || x.worksheet_range(name),
                    || {
                        raw.as_ref()
                            .and_then(|(bytes, parts)| parts.as_ref()?.merges(bytes, name))
                    },
                );
                let r = r.map_err(|e| corrupt(&e))?;
                let m = match fast {
                    Some((m, w)) => {
                        widths = w;
                        m
                    }
                    None => x.merge_cells_by_sheet_name(name).unwrap_or_default(),
                };
                (r, m)
            }
            Inner::Xls(x) => {
                let r = x.worksheet_range(name).map_err(|e| corrupt(&e))?;
                let m = x.merge_cells_by_sheet_name(name).unwrap_or_default();
                (r, m)
            }
            Inner::Xlsb(x) => (
                x.worksheet_range(name).map_err(|e| corrupt(&e))?,
                Vec::new(),
            ),
            Inner::Ods(x, spans) => (
                x.worksheet_range(name).map_err(|e| corrupt(&e))?,
                spans.get(name).cloned().unwrap_or_default(),
            ),
            Inner::Markup(sheets) => {
                // Parsed whole at open; each sheet is handed over once (as
                // the other readers decode it once), not copied.
                let s = sheets
                    .iter_mut()
                    .find(|s| s.name == name)
                    .ok_or_else(|| corrupt(&"no such sheet"))?;
                (std::mem::take(&mut s.range), std::mem::take(&mut s.merges))
            }
        };
        let mut range = range;
        let legacy = decode_legacy(&mut range);
        let mut grid = Grid::new(range, merges);
        grid.legacy = legacy;
        grid.widths = widths;
        Ok(grid)
    }
}

/// What legacy-font text a sheet held and where.
#[derive(Debug, Clone)]
pub struct LegacyText {
    pub encoding: crate::values::legacy::Encoding,
    /// 0-based columns with at least one converted cell.
    pub columns: Vec<u32>,
    pub cells: usize,
}

/// Convert TCVN3 / VNI text in place, before anything reads the cells
/// (see `values::legacy` for the detection rules).
fn decode_legacy(range: &mut Range<Data>) -> Option<LegacyText> {
    use crate::values::legacy::{decode, detect_cell, detect_sheet};
    let texts = range.used_cells().filter_map(|(_, _, d)| match d {
        Data::String(s) => Some(s.as_str()),
        _ => None,
    });
    let sheet = detect_sheet(texts);
    let origin = range.start().unwrap_or((0, 0));
    let mut changes: Vec<((u32, u32), String, crate::values::legacy::Encoding)> = Vec::new();
    for (r, c, d) in range.used_cells() {
        let Data::String(s) = d else { continue };
        let enc = match sheet {
            Some(e) => Some(e),
            None => detect_cell(s),
        };
        if let Some(e) = enc {
            let decoded = decode(s, e);
            if &decoded != s {
                changes.push(((origin.0 + r as u32, origin.1 + c as u32), decoded, e));
            }
        }
    }
    let encoding = changes.first()?.2;
    let mut columns: Vec<u32> = changes.iter().map(|((_, c), _, _)| *c).collect();
    columns.sort_unstable();
    columns.dedup();
    let cells = changes.len();
    for (pos, text, _) in changes {
        range.set_value(pos, Data::String(text));
    }
    Some(LegacyText {
        encoding,
        columns,
        cells,
    })
}

static EMPTY: Data = Data::Empty;

/// The cells of one sheet, addressed by absolute 0-based (row, column), with
/// merged regions resolved: a covered cell reads as its region's top-left cell.
pub struct Grid {
    /// Legacy-font text converted when the sheet was read, if any.
    pub legacy: Option<LegacyText>,
    range: Range<Data>,
    origin: (u32, u32),
    /// covered cell -> (anchor, region is one column wide)
    covered: HashMap<(u32, u32), ((u32, u32), bool)>,
    /// Column widths the author set (xlsx only; calamine gives none).
    pub widths: Vec<crate::xlsx_merges::ColumnWidth>,
}

impl Grid {
    pub fn new(range: Range<Data>, merges: Vec<Dimensions>) -> Grid {
        let origin = range.start().unwrap_or((0, 0));
        let mut covered = HashMap::new();
        for m in merges {
            let vertical = m.start.1 == m.end.1;
            // Guard against absurd regions in broken files (a whole-sheet merge).
            if (m.end.0.saturating_sub(m.start.0) as u64 + 1)
                * (m.end.1.saturating_sub(m.start.1) as u64 + 1)
                > 2_000_000
            {
                continue;
            }
            for r in m.start.0..=m.end.0 {
                for c in m.start.1..=m.end.1 {
                    if (r, c) != m.start {
                        covered.insert((r, c), (m.start, vertical));
                    }
                }
            }
        }
        Grid {
            legacy: None,
            range,
            origin,
            covered,
            widths: Vec::new(),
        }
    }

    /// Rows 0..height() cover every used cell (rows above the first used one are empty).
    pub fn height(&self) -> u32 {
        self.range.end().map(|(r, _)| r + 1).unwrap_or(0)
    }

    pub fn width(&self) -> u32 {
        self.range.end().map(|(_, c)| c + 1).unwrap_or(0)
    }

    /// The merged regions: (first row, first column, last row, last column).
    pub fn merges(&self) -> Vec<(u32, u32, u32, u32)> {
        let mut regions: HashMap<(u32, u32), (u32, u32)> = HashMap::new();
        for (&(r, c), &(anchor, _)) in &self.covered {
            let e = regions.entry(anchor).or_insert(anchor);
            e.0 = e.0.max(r);
            e.1 = e.1.max(c);
        }
        let mut out: Vec<(u32, u32, u32, u32)> = regions
            .into_iter()
            .map(|((r0, c0), (r1, c1))| (r0, c0, r1, c1))
            .collect();
        out.sort_unstable();
        out
    }

    /// The cell as stored, ignoring merges.
    pub fn raw(&self, row: u32, col: u32) -> &Data {
        if row < self.origin.0 || col < self.origin.1 {
            return &EMPTY;
        }
        self.range
            .get((
                (row - self.origin.0) as usize,
                (col - self.origin.1) as usize,
            ))
            .unwrap_or(&EMPTY)
    }

    /// The cell with every merged region filled (used for headers).
    pub fn filled(&self, row: u32, col: u32) -> &Data {
        match self.covered.get(&(row, col)) {
            Some(&(anchor, _)) if matches!(self.raw(row, col), Data::Empty) => {
                self.raw(anchor.0, anchor.1)
            }
            _ => self.raw(row, col),
        }
    }

    /// The cell with vertical merges filled (used for data rows: a village
    /// name merged over its block of rows belongs to each row; a label merged
    /// across columns does not belong to the columns it covers).
    pub fn data(&self, row: u32, col: u32) -> &Data {
        match self.covered.get(&(row, col)) {
            Some(&(anchor, true)) if matches!(self.raw(row, col), Data::Empty) => {
                self.raw(anchor.0, anchor.1)
            }
            _ => self.raw(row, col),
        }
    }
}

/// "A1" address of a 0-based cell.
pub fn a1(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col as u64 + 1;
    while c > 0 {
        let rem = ((c - 1) % 26) as u8;
        letters.push(b'A' + rem);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8(letters).expect("ascii"), row + 1)
}

/// The 0-based cell of an "A1" address; `None` for anything else.
pub fn parse_a1(s: &str) -> Option<(u32, u32)> {
    let letters = s.bytes().take_while(u8::is_ascii_uppercase).count();
    if letters == 0 || letters > 3 || letters == s.len() {
        return None;
    }
    let (l, d) = s.split_at(letters);
    let row: u32 = d.parse().ok().filter(|r| *r > 0)?;
    let col = l
        .bytes()
        .fold(0u32, |acc, b| acc * 26 + u32::from(b - b'A' + 1));
    Some((row - 1, col - 1))
}

/// Column letters of a 0-based column.
pub fn column_letters(col: u32) -> String {
    let s = a1(0, col);
    s.trim_end_matches('1').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_round_trips() {
        for (r, c) in [(0, 0), (11, 11), (104, 3), (9, 26), (0, 701), (0, 702)] {
            assert_eq!(parse_a1(&a1(r, c)), Some((r, c)), "{}", a1(r, c));
        }
        assert_eq!(parse_a1("L12"), Some((11, 11)));
        for bad in ["", "12", "L", "L0", "l12", "L12x", "ABCD1"] {
            assert_eq!(parse_a1(bad), None, "{bad}");
        }
    }

    #[test]
    fn a1_addresses() {
        assert_eq!(a1(0, 0), "A1");
        assert_eq!(a1(16, 3), "D17");
        assert_eq!(a1(9, 25), "Z10");
        assert_eq!(a1(0, 26), "AA1");
        assert_eq!(a1(0, 701), "ZZ1");
        assert_eq!(a1(0, 702), "AAA1");
        assert_eq!(column_letters(27), "AB");
    }

    #[test]
    fn merged_fill_vertical_only_for_data() {
        let mut r: Range<Data> = Range::new((0, 0), (3, 2));
        r.set_value((0, 0), Data::String("Hạn thẻ".into()));
        r.set_value((1, 0), Data::String("Pá Khoang".into()));
        let g = Grid::new(
            r,
            vec![
                Dimensions::new((0, 0), (0, 1)),
                Dimensions::new((1, 0), (3, 0)),
            ],
        );
        assert_eq!(g.filled(0, 1), &Data::String("Hạn thẻ".into()));
        assert_eq!(g.data(0, 1), &Data::Empty);
        assert_eq!(g.data(3, 0), &Data::String("Pá Khoang".into()));
        assert_eq!(g.raw(3, 0), &Data::Empty);
        assert_eq!(g.height(), 4);
    }

    #[test]
    fn sniffs_formats() {
        assert!(matches!(open(Vec::new(), "xlsx"), Err(IngestError::Empty)));
        assert!(matches!(
            open(b"<html><body><p>no table</p></body></html>".to_vec(), "xls"),
            Err(IngestError::NotSpreadsheet(_))
        ));
        // An HTML table saved as .xls is read (one sheet per table).
        let wb = open(
            b"<html><body><table><tr><td>1</td></tr></table></body></html>".to_vec(),
            "xls",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(wb.format, Format::Html);
        assert_eq!(wb.sheet_infos.len(), 1);
        assert!(matches!(
            open(b"PK\x03\x04garbage".to_vec(), "xlsx"),
            Err(IngestError::Corrupt(_))
        ));
    }
}
