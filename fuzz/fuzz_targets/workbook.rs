#![no_main]
//! The workbook reader on arbitrary bytes, as each format: open, list the
//! sheets, read every grid (legacy-text detection included). A panic inside
//! the reader is caught, as the product catches it per workbook
//! (`extract::process_bytes`); what must never happen is an abort, a hang or
//! a runaway allocation, which libFuzzer reports (timeout, rss limit).
use libfuzzer_sys::fuzz_target;
use std::sync::Once;
use tonghop_fuzz::ingest;

static QUIET: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys turns every panic into an abort; the product does not.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    for ext in ["xlsx", "xls", "ods"] {
        if ingest::check_zip_parts(data, 64 * 1024 * 1024).is_err() {
            continue;
        }
        let _ = std::panic::catch_unwind(|| {
            if let Ok(mut wb) = ingest::open(data.to_vec(), ext) {
                let names: Vec<String> = wb.sheet_infos.iter().map(|s| s.name.clone()).collect();
                for n in names {
                    if let Ok(g) = wb.grid(&n) {
                        let _ = (g.height(), g.width());
                    }
                }
            }
        });
    }
});
