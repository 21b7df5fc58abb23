//! An xlsx worksheet's cells read straight from its XML bytes.
//!
//! calamine decodes a sheet through quick-xml's general event loop, one
//! event and one buffer copy per tag, then collects the cells in a sparse
//! list and copies them into the grid. On a 20,000-row list that is most of
//! the time a reader process spends. The sheet XML that Excel and the
//! exporters write is regular: `<row>`s of `<c r s t>` holding `<v>`, `<f>`
//! or `<is>`. Here those bytes are walked once with `memchr`, each cell
//! converted where it stands, shared strings looked up in one table read
//! the same way.
//!
//! The result must be exactly calamine's (`Range<Data>`, values, positions,
//! dates by number format): every rule below is calamine 0.38's, and the
//! corpus test compares the two cell for cell. Anything this reader does
//! not know for certain (a namespace prefix, CDATA, a comment, phonetic
//! runs, an `_xHHHH_` escape, an unknown tag or entity, a carriage return
//! that XML would normalise) makes it give up on the sheet (`None`): the
//! caller then asks calamine, so a surprise costs time, never a value.

use calamine::{Cell, CellErrorType, Data, ExcelDateTime, ExcelDateTimeType, Range};
use std::io::Cursor;

/// How a cell style's number format shows numbers (calamine's `CellFormat`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum NumberShape {
    Other,
    DateTime,
    TimeDelta,
}

/// What every sheet of a workbook reads its cells against: the shared
/// strings, the number format of each cell style, the date system.
pub struct Book {
    strings: Vec<String>,
    formats: Vec<NumberShape>,
    is_1904: bool,
}

/// A zip part by name, compared as calamine compares them (case-insensitive,
/// `\` as `/`). `Some(None)`: the part is absent.
fn read_part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Option<Option<Vec<u8>>> {
    let wanted = name.to_ascii_lowercase();
    let found = zip
        .file_names()
        .filter_map(|n| n.ok())
        .find(|n| n.replace('\\', "/").to_ascii_lowercase() == wanted)
        .map(|n| n.into_owned());
    let Some(found) = found else {
        return Some(None);
    };
    crate::xlsx_merges::read_part(zip, &found).map(Some)
}

/// One sheet as calamine's `sheets_metadata` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetMeta {
    pub name: String,
    pub visible: bool,
    /// A worksheet (not a chart or dialog sheet).
    pub is_worksheet: bool,
    /// Its zip part, as calamine joins it to the workbook's folder.
    pub part: String,
}

/// What calamine's `Xlsx::new` learns of a workbook besides its strings and
/// styles: the folder of the workbook part, its sheets in order and its date
/// system. Read without calamine, so that a workbook whose sheets this
/// reader takes is never opened twice.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkbookMeta {
    /// The folder of the workbook part with its trailing `/` ("xl/").
    pub dir: String,
    pub sheets: Vec<SheetMeta>,
    pub is_1904: bool,
}

/// The XML events of a small part, read as calamine configures quick-xml.
fn part_reader(xml: &[u8]) -> quick_xml::Reader<&[u8]> {
    let mut r = quick_xml::Reader::from_reader(xml);
    let c = r.config_mut();
    c.check_end_names = false;
    c.trim_text(false);
    c.check_comments = false;
    c.expand_empty_elements = true;
    r
}

/// An element's attribute values (Id, Type, Target), raw as calamine keeps them.
type Relationship = (Option<String>, Option<String>, Option<String>);

/// The `<Relationship>` elements of a .rels part, in order; None where
/// calamine would fail or read another value (an entity in a value, a
/// malformed attribute, a missing end).
fn rels(xml: &[u8]) -> Option<Vec<Relationship>> {
    use quick_xml::events::Event;
    let mut r = part_reader(xml);
    loop {
        match r.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == "Relationships" => break,
            Event::Eof => return None,
            _ => {}
        }
    }
    let mut out = Vec::new();
    loop {
        match r.read_event().ok()? {
            Event::Start(e) if e.local_name().as_ref() == "Relationship" => {
                let a = e.attributes_raw().as_bytes();
                let get = |k: &[u8]| attr(a, k).map(|v| v.map(str::to_string));
                out.push((get(b"Id")?, get(b"Type")?, get(b"Target")?));
            }
            Event::End(e) if e.local_name().as_ref() == "Relationships" => return Some(out),
            Event::Eof => return None,
            _ => {}
        }
    }
}

impl WorkbookMeta {
    /// None wherever calamine might fail, or read the package another way:
    /// the caller then opens the workbook with calamine, as before.
    pub fn read(bytes: &[u8]) -> Option<WorkbookMeta> {
        Self::read_in(&mut zip::ZipArchive::new(Cursor::new(bytes)).ok()?)
    }

    fn read_in(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Option<WorkbookMeta> {
        use quick_xml::events::Event;
        let package = rels(&read_part(zip, "_rels/.rels")??)?;
        // The last office document that names a target, as calamine takes it.
        let target = package
            .iter()
            .filter(|(_, t, target)| {
                t.as_deref()
                    .is_some_and(|t| t.ends_with("/relationships/officeDocument"))
                    && target.is_some()
            })
            .filter_map(|(_, _, target)| target.as_deref())
            .next_back()?;
        let (dir, name) = match target.rfind('/') {
            Some(i) => target.split_at(i + 1),
            None => ("", target),
        };
        let dir = dir.strip_prefix('/').unwrap_or(dir).to_string();
        let name = if name.is_empty() {
            "workbook.xml"
        } else {
            name
        };
        let by_id = rels(&read_part(zip, &format!("{dir}_rels/{name}.rels"))??)?;
        let xml = read_part(zip, &format!("{dir}{name}"))??;
        let mut r = part_reader(&xml);
        let (mut sheets, mut is_1904) = (Vec::new(), false);
        let mut in_name = false;
        loop {
            match r.read_event().ok()? {
                Event::Start(e) if e.local_name().as_ref() == "sheet" => {
                    let a = e.attributes_raw().as_bytes();
                    let name = attr_decoded(a, b"name")?.unwrap_or_default();
                    let visible = match attr(a, b"state")? {
                        None | Some("visible") => true,
                        Some("hidden" | "veryHidden") => false,
                        Some(_) => return None,
                    };
                    let mut id = None;
                    for kv in attributes(a) {
                        let (k, v) = kv?;
                        if k == b"id" || k.ends_with(b":id") {
                            id = Some(v);
                        }
                    }
                    let id = std::str::from_utf8(id.unwrap_or(b"")).ok()?;
                    // A repeated Id: calamine's map keeps the last.
                    let (_, typ, target) = by_id
                        .iter()
                        .rev()
                        .find(|(i, _, _)| i.as_deref() == Some(id))?;
                    let (typ, target) = (
                        typ.as_deref().unwrap_or(""),
                        target.as_deref().unwrap_or(""),
                    );
                    // calamine joins the target to the folder without
                    // resolving it: leave anything to resolve to calamine.
                    if target.contains("..") || target.contains('\\') || target.contains("./") {
                        return None;
                    }
                    let is_worksheet = match typ.rsplit('/').next() {
                        Some("worksheet") => true,
                        Some("chartsheet" | "dialogsheet") => false,
                        _ => return None,
                    };
                    let part = match target.strip_prefix('/') {
                        Some(abs) => abs.to_string(),
                        None => format!("{dir}{target}"),
                    };
                    sheets.push(SheetMeta {
                        name,
                        visible,
                        is_worksheet,
                        part,
                    });
                }
                Event::Start(e) if e.local_name().as_ref() == "workbookPr" => {
                    if let Some(v) = attr(e.attributes_raw().as_bytes(), b"date1904")? {
                        is_1904 = v == "1" || v == "true";
                    }
                }
                // calamine decodes defined names: an entity in one is
                // calamine's to judge.
                Event::Start(e) if e.local_name().as_ref() == "definedName" => {
                    for kv in attributes(e.attributes_raw().as_bytes()) {
                        kv?;
                    }
                    in_name = true;
                }
                Event::End(e) if e.local_name().as_ref() == "definedName" => in_name = false,
                Event::GeneralRef(_) if in_name => return None,
                Event::End(e) if e.local_name().as_ref() == "workbook" => break,
                Event::Eof => return None,
                _ => {}
            }
        }
        Some(WorkbookMeta {
            dir,
            sheets,
            is_1904,
        })
    }
}

/// An xlsx workbook read without calamine, from one pass over its zip
/// directory: its sheet list and date system, its sheet parts, its shared
/// strings and styles. None when any of them holds something this reader
/// leaves to calamine (or calamine might refuse).
pub fn open(bytes: &[u8]) -> Option<(WorkbookMeta, crate::xlsx_merges::SheetParts, Book)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let meta = WorkbookMeta::read_in(&mut zip)?;
    let book = Book::read_in(&mut zip, &meta.dir, meta.is_1904)?;
    let parts = meta
        .sheets
        .iter()
        .map(|s| (s.name.clone(), s.part.clone()))
        .collect();
    let parts = crate::xlsx_merges::SheetParts::from_parts(meta.dir.clone(), parts);
    Some((meta, parts, book))
}

impl Book {
    /// The shared strings and styles of the workbook whose main part is in
    /// `xl_dir` (e.g. "xl/"). None when either holds something this reader
    /// does not handle.
    pub fn read(bytes: &[u8], xl_dir: &str, is_1904: bool) -> Option<Book> {
        Self::read_in(
            &mut zip::ZipArchive::new(Cursor::new(bytes)).ok()?,
            xl_dir,
            is_1904,
        )
    }

    fn read_in(
        zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
        xl_dir: &str,
        is_1904: bool,
    ) -> Option<Book> {
        let strings = match read_part(zip, &format!("{xl_dir}sharedStrings.xml"))? {
            Some(xml) => shared_strings(&xml)?,
            None => Vec::new(),
        };
        let formats = match read_part(zip, &format!("{xl_dir}styles.xml"))? {
            Some(xml) => cell_formats(&xml)?,
            None => Vec::new(),
        };
        Some(Book {
            strings,
            formats,
            is_1904,
        })
    }
}

/// A tag at `x[at..]` (just after `<`): `name` then whitespace, `>` or `/`.
fn is_tag(x: &[u8], at: usize, name: &[u8]) -> bool {
    x[at..].starts_with(name)
        && matches!(
            x.get(at + name.len()),
            Some(b' ' | b'\t' | b'\n' | b'\r' | b'>' | b'/')
        )
}

/// The first `b` in `x[from..]`: a plain loop, since the distances in
/// sheet XML are a few bytes, where `memchr`'s setup costs more than it saves.
#[inline]
fn find(x: &[u8], from: usize, b: u8) -> Option<usize> {
    x.get(from..)?
        .iter()
        .position(|&c| c == b)
        .map(|p| from + p)
}

/// The name of the tag at `x[at..]` (just after `<`).
fn tag_name(x: &[u8], at: usize) -> &[u8] {
    let rest = &x[at..];
    let end = rest
        .iter()
        .position(|b| b.is_ascii_whitespace() || *b == b'>' || *b == b'/')
        .unwrap_or(rest.len());
    &rest[..end]
}

/// The rest of an opening tag from `at` (after its name): its attributes,
/// the index after `>`, and whether it closes itself.
fn open_tag(x: &[u8], at: usize) -> Option<(&[u8], usize, bool)> {
    let mut i = at;
    while i < x.len() {
        match x[i] {
            b'>' => {
                let closes = i > at && x[i - 1] == b'/';
                let end = if closes { i - 1 } else { i };
                return Some((&x[at..end], i + 1, closes));
            }
            b'<' => return None,
            q @ (b'"' | b'\'') => i = find(x, i + 1, q)? + 1,
            _ => i += 1,
        }
    }
    None
}

/// The content of an element from `at` to its end tag `name`, which must
/// come next (no child, comment or CDATA): the content and the index after
/// the end tag.
fn text_until_end<'a>(x: &'a [u8], at: usize, name: &[u8]) -> Option<(&'a [u8], usize)> {
    let end = find(x, at, b'<')?;
    if x.get(end + 1) != Some(&b'/') {
        return None;
    }
    let (found, after) = close_tag(x, end + 2)?;
    (found == name).then_some((&x[at..end], after))
}

/// A closing tag from `at` (after `</`): its name and the index after `>`.
fn close_tag(x: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let end = find(x, at, b'>')?;
    let name = x[at..end].trim_ascii_end();
    Some((name, end + 1))
}

/// Each attribute of a tag as (name, raw value), in order; an item is None
/// when the attributes are not well formed (calamine refuses those): names
/// of name characters, `=`, a quoted value, whitespace between attributes.
/// No allocation: it runs once per cell.
struct Attributes<'a> {
    attrs: &'a [u8],
    i: usize,
    first: bool,
    failed: bool,
}

fn attributes(attrs: &[u8]) -> Attributes<'_> {
    Attributes {
        attrs,
        i: 0,
        first: true,
        failed: false,
    }
}

impl<'a> Attributes<'a> {
    fn step(&mut self) -> Option<Option<(&'a [u8], &'a [u8])>> {
        let attrs = self.attrs;
        let mut i = self.i;
        let before = i;
        while i < attrs.len() && attrs[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= attrs.len() {
            return Some(None);
        }
        if i == before && !self.first {
            return None;
        }
        let name_start = i;
        while i < attrs.len()
            && (attrs[i].is_ascii_alphanumeric() || matches!(attrs[i], b':' | b'_' | b'-' | b'.'))
        {
            i += 1;
        }
        let name = &attrs[name_start..i];
        while i < attrs.len() && attrs[i].is_ascii_whitespace() {
            i += 1;
        }
        if name.is_empty() || attrs.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while i < attrs.len() && attrs[i].is_ascii_whitespace() {
            i += 1;
        }
        let q = *attrs.get(i)?;
        if q != b'"' && q != b'\'' {
            return None;
        }
        let end = find(attrs, i + 1, q)?;
        self.i = end + 1;
        self.first = false;
        Some(Some((name, &attrs[i + 1..end])))
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Option<(&'a [u8], &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.step() {
            Some(Some(a)) => Some(Some(a)),
            Some(None) => None,
            None => {
                self.failed = true;
                Some(None)
            }
        }
    }
}

/// The raw value of attribute `key` (no entity may be in it).
fn attr<'a>(attrs: &'a [u8], key: &[u8]) -> Option<Option<&'a str>> {
    // Every attribute is checked, not only those before `key`.
    let mut found = None;
    for a in attributes(attrs) {
        let (name, v) = a?;
        if name == key && found.is_none() {
            if v.contains(&b'&') {
                return None;
            }
            found = Some(std::str::from_utf8(v).ok()?);
        }
    }
    Some(found)
}

/// A cell's `r`, `s` and `t` in one pass over its attributes.
#[allow(clippy::type_complexity)]
fn cell_attrs(attrs: &[u8]) -> Option<(Option<&[u8]>, Option<&[u8]>, Option<&[u8]>)> {
    let (mut r, mut s, mut t) = (None, None, None);
    for a in attributes(attrs) {
        let (name, v) = a?;
        let slot = match name {
            b"r" => &mut r,
            b"s" => &mut s,
            b"t" => &mut t,
            _ => continue,
        };
        // A repeated attribute is not well-formed XML.
        if slot.is_some() || v.contains(&b'&') {
            return None;
        }
        *slot = Some(v);
    }
    Some((r, s, t))
}

/// An attribute's value with its entities resolved (calamine's `decode_attr`).
fn attr_decoded(attrs: &[u8], key: &[u8]) -> Option<Option<String>> {
    let mut found = None;
    for a in attributes(attrs) {
        let (name, v) = a?;
        if name == key && found.is_none() {
            // Attribute values are normalised by XML (tabs and newlines to
            // spaces): leave those to calamine.
            if v.iter().any(|&b| matches!(b, b'\t' | b'\n' | b'\r')) {
                return None;
            }
            let mut out = String::new();
            decode_into(v, &mut out)?;
            found = Some(out);
        }
    }
    Some(found)
}

/// Text content with its entities resolved, appended to `out`. None on an
/// entity XML does not define, a character reference that is no character,
/// or a carriage return (which XML would normalise).
fn decode_into(raw: &[u8], out: &mut String) -> Option<()> {
    let mut rest = raw;
    loop {
        match memchr::memchr2(b'&', b'\r', rest) {
            None => {
                out.push_str(std::str::from_utf8(rest).ok()?);
                return Some(());
            }
            Some(p) if rest[p] == b'\r' => return None,
            Some(p) => {
                out.push_str(std::str::from_utf8(&rest[..p]).ok()?);
                let semi = p + memchr::memchr(b';', &rest[p..])?;
                let name = &rest[p + 1..semi];
                match name {
                    b"amp" => out.push('&'),
                    b"lt" => out.push('<'),
                    b"gt" => out.push('>'),
                    b"quot" => out.push('"'),
                    b"apos" => out.push('\''),
                    _ => {
                        let code = match name {
                            [b'#', b'x', hex @ ..] if !hex.is_empty() => {
                                u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?
                            }
                            [b'#', dec @ ..] if !dec.is_empty() => {
                                std::str::from_utf8(dec).ok()?.parse::<u32>().ok()?
                            }
                            _ => return None,
                        };
                        // Only plain characters: quick-xml refuses some
                        // (NUL), leave every control to calamine.
                        if code < 0x20 && !matches!(code, 0x09 | 0x0A | 0x0D) {
                            return None;
                        }
                        out.push(char::from_u32(code)?);
                    }
                }
                rest = &rest[semi + 1..];
            }
        }
    }
}

/// Excel's `_xHHHH_` escape somewhere in `s` (calamine's `unescape_xml`
/// would rewrite it).
fn has_excel_escape(s: &str) -> bool {
    let b = s.as_bytes();
    memchr::memmem::find_iter(b, b"_x").any(|p| {
        b.get(p + 2..p + 7)
            .is_some_and(|h| h[..4].iter().all(u8::is_ascii_hexdigit) && h[4] == b'_')
    })
}

/// A string item (`<si>` or `<is>`) from `at` (after its opening tag) to
/// its end tag `closing`: the text runs concatenated, phonetic runs left
/// out (calamine's `read_string_with_bufs`). Returns the index after the end tag.
fn string_item(x: &[u8], at: usize, closing: &[u8]) -> Option<(String, usize)> {
    let mut out: Option<String> = None;
    let mut i = at;
    loop {
        let lt = i + memchr::memchr(b'<', &x[i..])?;
        let n = lt + 1;
        match x.get(n)? {
            b'/' => {
                let (name, after) = close_tag(x, n + 1)?;
                if name == closing {
                    return Some((out.unwrap_or_default(), after));
                }
                i = after;
            }
            b'?' | b'!' => return None,
            _ if is_tag(x, n, b"rPh") => return None,
            _ if is_tag(x, n, b"r") => {
                let (_, after, _) = open_tag(x, n + 1)?;
                if out.is_none() {
                    out = Some(String::new());
                }
                i = after;
            }
            _ if is_tag(x, n, b"t") => {
                let (attrs, after, closes) = open_tag(x, n + 1)?;
                let preserve = attr(attrs, b"xml:space")? == Some("preserve");
                let mut value = String::new();
                i = after;
                if !closes {
                    let (raw, after) = text_until_end(x, i, b"t")?;
                    decode_into(raw, &mut value)?;
                    i = after;
                }
                let value = if preserve {
                    value.as_str()
                } else {
                    value.trim_matches([' ', '\t', '\r', '\n'])
                };
                if has_excel_escape(value) {
                    return None;
                }
                match &mut out {
                    Some(s) => s.push_str(value),
                    None => out = Some(value.to_string()),
                }
            }
            _ => {
                // Run properties (<rPr>, <b/>, <sz/>…): not text. A prefixed
                // name might be a run or a text (<x:t>): calamine's to read.
                let name = tag_name(x, n);
                let (_, after, _) = open_tag(x, n + name.len())?;
                if name.contains(&b':') {
                    return None;
                }
                i = after;
            }
        }
    }
}

/// The shared-string table, in order.
fn shared_strings(xml: &[u8]) -> Option<Vec<String>> {
    std::str::from_utf8(xml).ok()?;
    let sst = memchr::memmem::find(xml, b"<sst")?;
    if !is_tag(xml, sst + 1, b"sst") {
        return None;
    }
    let (_, mut i, closes) = open_tag(xml, sst + 4)?;
    // calamine finds the first <sst> quick-xml reads: the same one?
    if !prefix_as_calamine_reads_it(xml, i, "sst") {
        return None;
    }
    let mut out = Vec::new();
    if closes {
        return Some(out);
    }
    loop {
        let lt = i + memchr::memchr(b'<', &xml[i..])?;
        let n = lt + 1;
        if xml.get(n) == Some(&b'/') {
            let (name, _) = close_tag(xml, n + 1)?;
            return (name == b"sst").then_some(out);
        }
        if !is_tag(xml, n, b"si") {
            return None;
        }
        let (_, after, closes) = open_tag(xml, n + 2)?;
        if closes {
            out.push(String::new());
            i = after;
        } else {
            let (s, after) = string_item(xml, after, b"si")?;
            out.push(s);
            i = after;
        }
    }
}

/// Each cell style's number format, from `styles.xml` (calamine's `read_styles`).
fn cell_formats(xml: &[u8]) -> Option<Vec<NumberShape>> {
    std::str::from_utf8(xml).ok()?;
    // The part is small: quick-xml, configured as calamine's, must read it
    // whole, so that both see the same tags.
    if !prefix_as_calamine_reads_it(xml, xml.len(), "") {
        return None;
    }
    let mut custom: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    let (mut in_numfmts, mut in_xfs) = (false, false);
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'<', &xml[i..]) {
        let n = i + p + 1;
        match xml.get(n)? {
            b'?' => {
                i = n + memchr::memmem::find(&xml[n..], b"?>")? + 2;
                continue;
            }
            b'!' => return None,
            b'/' => {
                let (name, after) = close_tag(xml, n + 1)?;
                if name.contains(&b':') {
                    return None;
                }
                match name {
                    b"numFmts" => in_numfmts = false,
                    b"cellXfs" => in_xfs = false,
                    _ => {}
                }
                i = after;
                continue;
            }
            _ => {}
        }
        let name = tag_name(xml, n);
        let name_end = n + name.len();
        if name.contains(&b':') {
            return None;
        }
        let (attrs, after, closes) = open_tag(xml, name_end)?;
        match name {
            b"numFmts" => in_numfmts = !closes,
            b"cellXfs" => in_xfs = !closes,
            b"numFmt" if in_numfmts => {
                if let (Some(id), Some(code)) = (
                    attr(attrs, b"numFmtId")?,
                    attr_decoded(attrs, b"formatCode")?,
                ) {
                    custom.insert(id.to_string(), code);
                }
            }
            b"xf" if in_xfs => out.push(match attr(attrs, b"numFmtId")? {
                None => NumberShape::Other,
                Some(id) => match custom.get(id) {
                    Some(code) => custom_format(code),
                    None => builtin_format(id),
                },
            }),
            _ => {}
        }
        i = after;
    }
    Some(out)
}

/// calamine's `detect_custom_number_format` (MIT, Johann Tuffe).
fn custom_format(format: &str) -> NumberShape {
    let mut escaped = false;
    let mut is_quote = false;
    let mut brackets = 0u8;
    let mut prev = ' ';
    let mut hms = false;
    let mut ap = false;
    for s in format.chars() {
        match (s, escaped, is_quote, ap, brackets) {
            (_, true, ..) => escaped = false,
            ('_' | '\\' | '*', ..) => escaped = true,
            ('"', _, true, _, _) => is_quote = false,
            (_, _, true, _, _) => (),
            ('"', _, _, _, _) => is_quote = true,
            (';', ..) => return NumberShape::Other,
            ('[', ..) => brackets += 1,
            (']', .., 1) if hms => return NumberShape::TimeDelta,
            (']', ..) => brackets = brackets.saturating_sub(1),
            ('a' | 'A', _, _, false, 0) => ap = true,
            ('p' | 'm' | '/' | 'P' | 'M', _, _, true, 0) => return NumberShape::DateTime,
            ('d' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S', _, _, false, 0) => {
                return NumberShape::DateTime;
            }
            _ => {
                if hms && s.eq_ignore_ascii_case(&prev) {
                } else {
                    hms = prev == '[' && matches!(s, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                }
            }
        }
        prev = s;
    }
    NumberShape::Other
}

/// calamine's `builtin_format_by_id`.
fn builtin_format(id: &str) -> NumberShape {
    match id {
        "14" | "15" | "16" | "17" | "18" | "19" | "20" | "21" | "22" | "45" | "47" | "27"
        | "28" | "29" | "30" | "31" | "32" | "33" | "34" | "35" | "36" | "50" | "51" | "52"
        | "53" | "54" | "55" | "56" | "57" | "58" => NumberShape::DateTime,
        "46" => NumberShape::TimeDelta,
        _ => NumberShape::Other,
    }
}

/// "B12" (or "12") -> 0-based (row, column if any), as calamine reads them.
fn row_and_column(b: &[u8]) -> Option<(u32, Option<u32>)> {
    let mut i = 0;
    let mut col: u32 = 0;
    let mut row: u32 = 0;
    while i < b.len() {
        match b[i] {
            c @ b'A'..=b'Z' => col = col.checked_mul(26)? + u32::from(c - b'A') + 1,
            c @ b'a'..=b'z' => col = col.checked_mul(26)? + u32::from(c - b'a') + 1,
            c @ b'0'..=b'9' => {
                row = u32::from(c - b'0');
                i += 1;
                break;
            }
            _ => return None,
        }
        i += 1;
    }
    while i < b.len() {
        match b[i] {
            c @ b'0'..=b'9' => row = row.checked_mul(10)?.checked_add(u32::from(c - b'0'))?,
            _ => return None,
        }
        i += 1;
    }
    Some((row.checked_sub(1)?, col.checked_sub(1)))
}

/// A `<v>` value as calamine's `read_v` converts it.
fn value(book: &Book, v: &[u8], style: Option<&[u8]>, typ: Option<&[u8]>) -> Option<Data> {
    let text = |v: &[u8]| std::str::from_utf8(v).ok().map(str::to_string);
    Some(match typ {
        Some(b"s") => {
            if v.is_empty() {
                return Some(Data::Empty);
            }
            let idx = atoi_simd::parse::<usize, true, false>(v).unwrap_or(0);
            Data::String(book.strings.get(idx)?.clone())
        }
        Some(b"b") => match v.trim_ascii() {
            b"" => Data::Empty,
            b"0" => Data::Bool(false),
            b"1" => Data::Bool(true),
            t if t.eq_ignore_ascii_case(b"false") => Data::Bool(false),
            t if t.eq_ignore_ascii_case(b"true") => Data::Bool(true),
            _ => return None,
        },
        Some(b"d") => Data::DateTimeIso(text(v)?),
        Some(b"e") => Data::Error(match v {
            b"#DIV/0!" => CellErrorType::Div0,
            b"#N/A" => CellErrorType::NA,
            b"#NAME?" => CellErrorType::Name,
            b"#NULL!" => CellErrorType::Null,
            b"#NUM!" => CellErrorType::Num,
            b"#REF!" => CellErrorType::Ref,
            b"#VALUE!" => CellErrorType::Value,
            _ => return None,
        }),
        Some(b"str") => {
            let v = text(v)?;
            if has_excel_escape(&v) {
                return None;
            }
            Data::String(v)
        }
        Some(b"n") | None => {
            if v.is_empty() {
                return Some(Data::Empty);
            }
            let format = match style {
                Some(s) => book
                    .formats
                    .get(atoi_simd::parse::<usize, true, false>(s).unwrap_or(0))
                    .copied(),
                None => Some(NumberShape::Other),
            };
            match fast_float2::parse::<f64, _>(v) {
                Ok(n) => match format {
                    Some(NumberShape::DateTime) => Data::DateTime(ExcelDateTime::new(
                        n,
                        ExcelDateTimeType::DateTime,
                        book.is_1904,
                    )),
                    Some(NumberShape::TimeDelta) => Data::DateTime(ExcelDateTime::new(
                        n,
                        ExcelDateTimeType::TimeDelta,
                        book.is_1904,
                    )),
                    _ => Data::Float(n),
                },
                Err(_) if typ.is_none() => Data::String(text(v)?),
                Err(_) => return None,
            }
        }
        Some(_) => return None,
    })
}

/// The children of a `<c>` from `at` (after its opening tag) to `</c>`:
/// the value of the last child, as calamine keeps it.
fn cell_value(
    book: &Book,
    x: &[u8],
    at: usize,
    style: Option<&[u8]>,
    typ: Option<&[u8]>,
) -> Option<(Data, usize)> {
    let mut value = Data::Empty;
    let mut i = at;
    loop {
        let lt = find(x, i, b'<')?;
        let n = lt + 1;
        if x.get(n) == Some(&b'/') {
            let (name, after) = close_tag(x, n + 1)?;
            return (name == b"c").then_some((value, after));
        }
        if is_tag(x, n, b"v") {
            let (_, after, closes) = open_tag(x, n + 1)?;
            let (raw, next) = if closes {
                (&x[after..after], after)
            } else {
                text_until_end(x, after, b"v")?
            };
            value = match typ {
                Some(b"inlineStr" | b"is") => Data::Empty,
                Some(b"n" | b"s" | b"b" | b"e") | None => {
                    // calamine takes these raw: an entity would cut them.
                    if raw.contains(&b'&') {
                        return None;
                    }
                    if raw.is_empty() {
                        Data::Empty
                    } else {
                        self::value(book, raw, style, typ)?
                    }
                }
                _ => {
                    let mut text = String::new();
                    decode_into(raw, &mut text)?;
                    self::value(book, text.as_bytes(), style, typ)?
                }
            };
            i = next;
        } else if is_tag(x, n, b"f") {
            let (_, after, closes) = open_tag(x, n + 1)?;
            i = after;
            if !closes {
                i = text_until_end(x, after, b"f")?.1;
            }
            value = Data::Empty;
        } else if is_tag(x, n, b"is") {
            let (_, after, closes) = open_tag(x, n + 2)?;
            if closes {
                value = Data::String(String::new());
                i = after;
            } else {
                let (s, next) = string_item(x, after, b"is")?;
                value = Data::String(s);
                i = next;
            }
        } else {
            return None;
        }
    }
}

/// `xml[..until]` read by quick-xml configured as calamine configures it:
/// well formed up to a start tag `name` that ends exactly at `until` (or,
/// with `name` empty, to the end), every `<dimension>` with a readable `ref`
/// (calamine's `XlsxCellReader::new` refuses a sheet without one).
fn prefix_as_calamine_reads_it(xml: &[u8], until: usize, name: &str) -> bool {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(&xml[..until]);
    let config = r.config_mut();
    config.check_end_names = false;
    config.trim_text(false);
    config.check_comments = false;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if !name.is_empty() && e.local_name().as_ref() == name => {
                return r.buffer_position() as usize == until;
            }
            Ok(Event::Start(e)) if e.local_name().as_ref() == "dimension" => {
                let Some(Some(d)) = attr(e.attributes_raw().as_bytes(), b"ref") else {
                    return false;
                };
                let parts: Option<Vec<_>> = d
                    .split(':')
                    .map(|p| row_and_column(p.as_bytes()).and_then(|(_, c)| c))
                    .collect();
                if !parts.is_some_and(|p| matches!(p.len(), 1 | 2)) {
                    return false;
                }
            }
            Ok(Event::Eof) => return name.is_empty(),
            Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// A worksheet part's cells, exactly as calamine's `worksheet_range` gives
/// them, or None where this reader leaves the sheet to calamine.
pub fn read_sheet(xml: &[u8], book: &Book) -> Option<Range<Data>> {
    // quick-xml reads text as UTF-8: bytes that are not are calamine's to
    // refuse (std's check runs at memory speed on ASCII).
    std::str::from_utf8(xml).ok()?;
    let open = memchr::memmem::find(xml, b"<sheetData")?;
    if !is_tag(xml, open + 1, b"sheetData") {
        return None;
    }
    // A prefixed root (<x:worksheet>) would have prefixed cells: leave
    // those to calamine.
    if memchr::memmem::find(&xml[..open], b"<!--").is_some() {
        return None;
    }
    let (_, mut i, closes) = open_tag(xml, open + 10)?;
    if !prefix_as_calamine_reads_it(xml, i, "sheetData") {
        return None;
    }
    // Cells per row times rows, roughly: one reservation.
    let mut cells: Vec<Cell<Data>> = Vec::with_capacity(xml.len() / 48);
    if closes {
        return Some(Range::from_sparse(cells));
    }
    let (mut row, mut col) = (0u32, 0u32);
    loop {
        let lt = find(xml, i, b'<')?;
        let n = lt + 1;
        if xml.get(n) == Some(&b'/') {
            let (name, after) = close_tag(xml, n + 1)?;
            match name {
                b"row" => {
                    row = row.checked_add(1)?;
                    col = 0;
                }
                b"sheetData" => break,
                _ => return None,
            }
            i = after;
        } else if is_tag(xml, n, b"c") {
            let (attrs, after, closes) = open_tag(xml, n + 1)?;
            let (r, s, t) = cell_attrs(attrs)?;
            let pos = match r {
                Some(r) => {
                    let (rr, cc) = row_and_column(r)?;
                    col = cc?;
                    (rr, col)
                }
                None => (row, col),
            };
            let v = if closes {
                i = after;
                Data::Empty
            } else {
                let (v, next) = cell_value(book, xml, after, s, t)?;
                i = next;
                v
            };
            col = col.checked_add(1)?;
            if v != Data::Empty {
                cells.push(Cell::new(pos, v));
            }
        } else if is_tag(xml, n, b"row") {
            let (attrs, after, closes) = open_tag(xml, n + 3)?;
            if let Some(r) = attr(attrs, b"r")? {
                row = row_and_column(r.as_bytes())?.0;
            }
            if closes {
                row = row.checked_add(1)?;
                col = 0;
            }
            i = after;
        } else {
            return None;
        }
    }
    Some(Range::from_sparse(cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(strings: &[&str], formats: &[NumberShape]) -> Book {
        Book {
            strings: strings.iter().map(|s| s.to_string()).collect(),
            formats: formats.to_vec(),
            is_1904: false,
        }
    }

    fn sheet(cells: &str) -> Vec<u8> {
        format!(
            r#"<?xml version="1.0"?><worksheet xmlns="x"><dimension ref="A1:C3"/><sheetData>{cells}</sheetData><mergeCells count="1"><mergeCell ref="A1:B1"/></mergeCells></worksheet>"#
        )
        .into_bytes()
    }

    #[test]
    fn values_of_every_kind() {
        let b = book(
            &["Họ và tên", "Lò Văn A"],
            &[NumberShape::Other, NumberShape::DateTime],
        );
        let xml = sheet(concat!(
            r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t xml:space="preserve"> a &amp; b </t></is></c></row>"#,
            r#"<row r="2" spans="1:3"><c r="A2" s="1"><v>46023</v></c><c t="b"><v>1</v></c><c t="e"><v>#N/A</v></c></row>"#,
            r#"<row r="3"><c r="A3" t="str"><f>A1</f><v>x &lt; y</v></c><c r="B3"><f>1+1</f></c><c r="C3" t="s"><v>1</v></c></row>"#,
            r#"<row r="5"><c r="B5" t="inlineStr"><is><r><rPr><b/></rPr><t>đậm</t></r><r><t xml:space="preserve"> nhạt</t></r></is></c><c r="C5"><v>1.5E3</v></c></row>"#,
        ));
        let r = read_sheet(&xml, &b).unwrap();
        assert_eq!(r.start(), Some((0, 0)));
        assert_eq!(r.end(), Some((4, 2)));
        assert_eq!(r.get_value((0, 0)), Some(&Data::String("Họ và tên".into())));
        assert_eq!(r.get_value((0, 2)), Some(&Data::String(" a & b ".into())));
        assert_eq!(
            r.get_value((1, 0)),
            Some(&Data::DateTime(ExcelDateTime::new(
                46023.0,
                ExcelDateTimeType::DateTime,
                false
            )))
        );
        assert_eq!(r.get_value((1, 1)), Some(&Data::Bool(true)));
        assert_eq!(r.get_value((1, 2)), Some(&Data::Error(CellErrorType::NA)));
        assert_eq!(r.get_value((2, 0)), Some(&Data::String("x < y".into())));
        assert_eq!(r.get_value((2, 1)), Some(&Data::Empty));
        assert_eq!(r.get_value((2, 2)), Some(&Data::String("Lò Văn A".into())));
        assert_eq!(r.get_value((4, 1)), Some(&Data::String("đậm nhạt".into())));
        assert_eq!(r.get_value((4, 2)), Some(&Data::Float(1500.0)));
    }

    #[test]
    fn gives_up_where_calamine_knows_better() {
        let b = book(&["a"], &[]);
        for cells in [
            r#"<row><x:c r="A1"><v>1</v></x:c></row>"#,
            r#"<row><c r="A1" t="inlineStr"><is><t>a_x000D_b</t></is></c></row>"#,
            r#"<row><c r="A1" t="inlineStr"><is><t><![CDATA[a]]></t></is></c></row>"#,
            r#"<row><c r="A1" t="inlineStr"><is><t>a&nbsp;b</t></is></c></row>"#,
            "<row><c r=\"A1\" t=\"str\"><v>a\r\nb</v></c></row>",
            r#"<row><c r="A1"><v>1</v><extLst/></c></row>"#,
            r#"<row><c r="A1" t="s"><v>7</v></c></row>"#,
            r#"<row><c r="A1" t="b"><v>yes</v></c></row>"#,
            // Found by the fuzzer: junk between two attributes, bytes that
            // are not UTF-8, a broken head before the cells.
            "<row><c r=\"A1\"\u{f5}\u{f5} s=\"1\"><v>1</v></c></row>",
            r#"<row><c r="A1"s="1"><v>1</v></c></row>"#,
        ] {
            assert!(read_sheet(&sheet(cells), &b).is_none(), "{cells}");
        }
        let not_utf8 = b"<worksheet><sheetData><row><c r=\"A1\" t=\"s\"><v>0\xdc</v></c></row></sheetData></worksheet>";
        assert!(read_sheet(not_utf8, &b).is_none());
        for head in [
            r#"<worksheet><cols><col min="1></cols><sheetData>"#,
            r#"<worksheet><dimension/><sheetData>"#,
            r#"<worksheet><dimension ref="A1:B2:C3"/><sheetData>"#,
        ] {
            let xml = format!("{head}<row><c r=\"A1\"><v>1</v></c></row></sheetData></worksheet>");
            assert!(read_sheet(xml.as_bytes(), &b).is_none(), "{head}");
        }
    }

    #[test]
    fn positions_without_references_follow_the_rows() {
        let b = book(&[], &[]);
        let xml = sheet(
            r#"<row><c><v>1</v></c><c/><c><v>3</v></c></row><row/><row><c><v>4</v></c></row>"#,
        );
        let r = read_sheet(&xml, &b).unwrap();
        assert_eq!(r.get_value((0, 0)), Some(&Data::Float(1.0)));
        assert_eq!(r.get_value((0, 2)), Some(&Data::Float(3.0)));
        assert_eq!(r.get_value((2, 0)), Some(&Data::Float(4.0)));
        assert_eq!(r.end(), Some((2, 2)));
    }

    #[test]
    fn shared_strings_and_styles() {
        let sst = r#"<?xml version="1.0"?><sst xmlns="x" count="3" uniqueCount="3"><si><t>  Xã  </t></si><si/><si><r><t>a</t></r><r><rPr><sz val="11"/></rPr><t xml:space="preserve"> &amp;b</t></r></si></sst>"#;
        assert_eq!(
            shared_strings(sst.as_bytes()).unwrap(),
            vec!["Xã".to_string(), String::new(), "a &b".to_string()]
        );
        let phonetic = br#"<sst><si><t>a</t><rPh sb="0" eb="1"><t>b</t></rPh></si></sst>"#;
        assert!(shared_strings(phonetic).is_none());
        // Found by the fuzzer: an open quote before the table hides its
        // first <sst> from quick-xml, which then reads a later one.
        let hidden = br#"<x a="<sst><si><t>a</t></si></sst>"/><sst><si><t>b</t></si></sst>"#;
        assert!(shared_strings(hidden).is_none());
        let styles = r#"<?xml version="1.0"?><styleSheet><numFmts count="2"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><numFmt numFmtId="165" formatCode="&quot;đ&quot;#,##0"/></numFmts><cellStyleXfs><xf numFmtId="14"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"><alignment/></xf><xf numFmtId="165"/><xf numFmtId="14"/><xf/></cellXfs></styleSheet>"#;
        use NumberShape::*;
        assert_eq!(
            cell_formats(styles.as_bytes()).unwrap(),
            vec![Other, DateTime, Other, DateTime, Other]
        );
    }
}
