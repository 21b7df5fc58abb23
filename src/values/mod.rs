//! Pure value parsers: text and numbers as Vietnamese offices write them ->
//! typed values, or a reason in Vietnamese. Nothing here knows about
//! pipelines or departments; `cells` applies these to a column's type.

pub mod date;
pub mod ident;
pub mod legacy;
pub mod number;
pub mod text;
pub mod vnfmt;

use calamine::Data;
use chrono::NaiveDate;

/// A converted cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Date(NaiveDate),
}

impl Value {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Why a cell was refused (or flagged): a stable code for machines and a
/// sentence for the statistician.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: std::borrow::Cow<'static, str>,
    pub reason: String,
}

impl Problem {
    pub fn new(
        code: impl Into<std::borrow::Cow<'static, str>>,
        reason: impl Into<String>,
    ) -> Problem {
        Problem {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

/// A cell as the statistician sees its text ("1.204", "12", "#DIV/0!").
/// The text of a cell as a person sees it, borrowed when it is text.
pub fn cell_text(d: &Data) -> std::borrow::Cow<'_, str> {
    match d {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => {
            std::borrow::Cow::Borrowed(s.as_str())
        }
        Data::Float(f) => std::borrow::Cow::Owned(if f.fract() == 0.0 && f.abs() < 1e15 {
            format!("{}", *f as i64)
        } else {
            f.to_string()
        }),
        Data::Int(i) => std::borrow::Cow::Owned(i.to_string()),
        Data::Bool(b) => std::borrow::Cow::Owned(b.to_string()),
        Data::DateTime(dt) => std::borrow::Cow::Owned(dt.as_f64().to_string()),
        Data::Error(e) => std::borrow::Cow::Owned(format!("#{e:?}")),
        Data::Empty => std::borrow::Cow::Borrowed(""),
    }
}

/// Empty, or only spaces (NBSP, zero-width included).
pub fn is_empty(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => text::is_blank(s),
        _ => false,
    }
}
