//! The main crate's pure parsers and workbook reader, compiled here without
//! polars so that fuzzing them is cheap. The files are the main crate's own.

#[path = "../../src/values/text.rs"]
pub mod text;
#[path = "../../src/values/number.rs"]
pub mod number;
#[path = "../../src/values/date.rs"]
pub mod date;
#[path = "../../src/values/ident.rs"]
pub mod ident;
#[path = "../../src/values/legacy.rs"]
pub mod legacy;
#[path = "../../src/model.rs"]
pub mod model;
#[path = "../../src/ingest.rs"]
pub mod ingest;
#[path = "../../src/xlsx_merges.rs"]
pub mod xlsx_merges;
#[path = "../../src/xlsx_cells.rs"]
pub mod xlsx_cells;
#[path = "../../src/markup.rs"]
pub mod markup;
#[path = "../../src/ods_merges.rs"]
pub mod ods_merges;

/// The module paths the included files expect (`crate::values::…`).
pub mod values {
    pub use crate::{date, ident, legacy, number, text};
}
