#![no_main]
//! The workbook reader on arbitrary bytes, as each format: open, list the
//! sheets, read every grid (legacy-text detection included).
use libfuzzer_sys::fuzz_target;
use tonghop_fuzz::ingest;

fuzz_target!(|data: &[u8]| {
    for ext in ["xlsx", "xls", "ods"] {
        if ingest::check_zip_parts(data, 64 * 1024 * 1024).is_err() {
            continue;
        }
        if let Ok(mut wb) = ingest::open(data.to_vec(), ext) {
            let names: Vec<String> = wb.sheet_infos.iter().map(|s| s.name.clone()).collect();
            for n in names {
                if let Ok(g) = wb.grid(&n) {
                    let _ = (g.height(), g.width());
                }
            }
        }
    }
});
