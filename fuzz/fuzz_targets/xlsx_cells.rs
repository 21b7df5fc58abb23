#![no_main]
//! Differential: the fuzzed bytes are the sheet part (and, after a NUL,
//! the shared-string table) of a small stored xlsx. Wherever `xlsx_cells`
//! reads the sheet, calamine must read it too and give the very same cells;
//! where it gives up, calamine is asked in the product, so that is allowed.
use calamine::{Data, Reader, Xlsx};
use libfuzzer_sys::fuzz_target;
use std::io::{Cursor, Write};
use std::sync::Once;
use tonghop_fuzz::{xlsx_cells, xlsx_merges};

static QUIET: Once = Once::new();

const STYLES: &str = r#"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts><fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="46"/></cellXfs></styleSheet>"#;

fn workbook(sheet: &[u8], sst: Option<&[u8]>) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored);
    let mut put = |name: &str, bytes: &[u8]| {
        z.start_file(name, o).unwrap();
        z.write_all(bytes).unwrap();
    };
    put("[Content_Types].xml", br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#);
    put("_rels/.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#);
    put("xl/workbook.xml", br#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#);
    put("xl/_rels/workbook.xml.rels", br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#);
    put("xl/styles.xml", STYLES.as_bytes());
    if let Some(sst) = sst {
        put("xl/sharedStrings.xml", sst);
    }
    put("xl/worksheets/sheet1.xml", sheet);
    z.finish().unwrap().into_inner()
}

fn same(a: &Data, b: &Data) -> bool {
    a == b || matches!((a, b), (Data::Float(x), Data::Float(y)) if x.is_nan() && y.is_nan())
}

fuzz_target!(|data: &[u8]| {
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let (sheet, sst) = match data.iter().position(|&b| b == 0) {
        Some(p) => (&data[..p], Some(&data[p + 1..])),
        None => (data, None),
    };
    let bytes = workbook(sheet, sst);
    let Some(parts) = xlsx_merges::SheetParts::read(&bytes) else {
        return;
    };
    let Some(book) = xlsx_cells::Book::read(&bytes, &parts.dir, false) else {
        return;
    };
    let Some(xml) = parts.sheet_xml(&bytes, "S") else {
        return;
    };
    let Some(ours) = xlsx_cells::read_sheet(&xml, &book) else {
        return;
    };
    // The product opens every workbook with calamine first: one it
    // refuses never reaches xlsx_cells. calamine may panic on hostile
    // input (the product catches it): only its answers are compared.
    let theirs = std::panic::catch_unwind(|| {
        let mut x = Xlsx::new(Cursor::new(bytes.clone())).ok()?;
        Some(x.worksheet_range("S").ok())
    });
    let Ok(Some(theirs)) = theirs else {
        return;
    };
    let Some(theirs) = theirs else {
        panic!("xlsx_cells read a sheet calamine refuses: {:?}", String::from_utf8_lossy(data));
    };
    assert_eq!((ours.start(), ours.end()), (theirs.start(), theirs.end()), "bounds");
    for ((r, c, a), (_, _, b)) in ours.cells().zip(theirs.cells()) {
        assert!(same(a, b), "({r}, {c}): ours {a:?}, calamine {b:?}");
    }
});
