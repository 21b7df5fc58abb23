//! Time one workbook's sheets through calamine and through `xlsx_cells`
//! (a development aid: `cargo run --release --example cells_timing F.xlsx`).
use calamine::{Reader, Xlsx};
use std::time::Instant;

fn main() {
    let path = std::env::args().nth(1).expect("a workbook");
    let bytes = std::fs::read(&path).expect("readable");
    for round in 0..3 {
        let t = Instant::now();
        let mut x = Xlsx::new(std::io::Cursor::new(bytes.clone())).expect("xlsx");
        let opened = t.elapsed();
        let names = x.sheet_names();
        let mut cells = 0;
        for n in &names {
            cells += x
                .worksheet_range(n)
                .map(|r| r.get_size().0 * r.get_size().1)
                .unwrap_or(0);
        }
        let calamine = t.elapsed();
        let t = Instant::now();
        let parts = tonghop::xlsx_merges::SheetParts::read(&bytes).expect("parts");
        let book = tonghop::xlsx_cells::Book::read(&bytes, &parts.dir, false).expect("book");
        let booked = t.elapsed();
        let mut inflate = std::time::Duration::ZERO;
        let mut ours = 0;
        for n in &names {
            let a = Instant::now();
            let xml = parts.sheet_xml(&bytes, n).expect("xml");
            inflate += a.elapsed();
            ours += tonghop::xlsx_cells::read_sheet(&xml, &book)
                .map(|r| r.get_size().0 * r.get_size().1)
                .unwrap_or(0);
        }
        let fast = t.elapsed();
        println!(
            "round {round}: calamine {calamine:?} (open {opened:?}), xlsx_cells {fast:?} (book {booked:?}, inflate {inflate:?}); cells {cells} vs {ours}"
        );
    }
}
