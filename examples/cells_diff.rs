//! Print where `xlsx_cells` and calamine differ on one workbook (a
//! development aid for the differential fuzzer's finds).
use calamine::{Reader, Xlsx};

fn main() {
    let path = std::env::args().nth(1).expect("a workbook");
    let bytes = std::fs::read(&path).expect("readable");
    let mut x = match Xlsx::new(std::io::Cursor::new(bytes.clone())) {
        Ok(x) => x,
        Err(e) => return println!("calamine refuses the workbook: {e}"),
    };
    let parts = tonghop::xlsx_merges::SheetParts::read(&bytes).expect("parts");
    let Some(book) = tonghop::xlsx_cells::Book::read(&bytes, &parts.dir, x.has_1904_epoch()) else {
        return println!("xlsx_cells leaves the workbook to calamine");
    };
    for n in x.sheet_names() {
        let ours = parts
            .sheet_xml(&bytes, &n)
            .and_then(|xml| tonghop::xlsx_cells::read_sheet(&xml, &book));
        let theirs = x.worksheet_range(&n);
        match (ours, theirs) {
            (None, _) => println!("{n}: left to calamine"),
            (Some(_), Err(e)) => println!("{n}: calamine refuses: {e}"),
            (Some(o), Ok(t)) => {
                println!(
                    "{n}: bounds {:?}..{:?} vs {:?}..{:?}",
                    o.start(),
                    o.end(),
                    t.start(),
                    t.end()
                );
                for ((r, c, a), (_, _, b)) in o.cells().zip(t.cells()) {
                    if a != b {
                        println!("  ({r}, {c}): ours {a:?}, calamine {b:?}");
                        break;
                    }
                }
            }
        }
    }
}
