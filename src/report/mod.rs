//! What the statistician reads: the report text in Vietnamese (`bao-cao.md`),
//! the same on screen and A4 with charts (`bao-cao.html`), the Excel summary
//! (`tong-hop.xlsx`), one feedback workbook per source file
//! with problems (`phan-hoi/`), and `reconcile`, which checks a report draft
//! against the computed figures and against its own arithmetic.

pub mod html;
pub mod reconcile;
pub mod terminal;
pub mod text;
/// Figures written the Vietnamese way (in `values`, which the pipeline files
/// also need to check their sentences).
pub use crate::values::vnfmt;
pub mod workbook;
