//! One cell -> a typed value, as its column's type in the pipeline file
//! says ([`crate::pipeline::ColumnKind`]: one conversion each), or a reason
//! in Vietnamese. The parsers themselves are in `values`.

use crate::model::Period;
use crate::pipeline::{Column, ColumnKind, DateBound};
use crate::values::cell_text;
use crate::values::number::{self, NumberKind};
use crate::values::{Problem, Value, date, ident, text};
use calamine::{Data, DataType};
use chrono::NaiveDate;

fn vn_date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn bound(b: DateBound, period: &Period) -> NaiveDate {
    match b {
        DateBound::PeriodFrom => period.from,
        DateBound::PeriodTo => period.to,
        DateBound::Fixed(d) => d,
    }
}

/// Convert one source cell for `column`. Empty cells give `Value::Null`;
/// whether that is allowed is the caller's decision (required columns).
/// Derived columns are computed elsewhere and must not be passed here.
pub fn convert(cell: &Data, column: &Column, period: &Period) -> Result<Value, Problem> {
    let v = convert_unbounded(cell, column, period)?;
    let n = match v {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        _ => return Ok(v),
    };
    if let Some(min) = column.min
        && n < min
    {
        return Err(Problem::new(
            "below_min",
            format!(
                "{} {} nhỏ hơn mức tối thiểu {}",
                column.label,
                cell_text(cell),
                min
            ),
        ));
    }
    if let Some(max) = column.max
        && n > max
    {
        return Err(Problem::new(
            "above_max",
            format!(
                "{} {} lớn hơn mức tối đa {}",
                column.label,
                cell_text(cell),
                max
            ),
        ));
    }
    Ok(v)
}

/// The number part of `s` when it ends with one of the column's unit words
/// ("1,25 ha", "3,5ha", "850 triệu đồng").
fn without_unit<'a>(s: &'a str, units: &[String]) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    if units.is_empty() {
        return Cow::Borrowed(s);
    }
    let key = text::value_key(s);
    for u in units {
        if let Some(rest) = key.trim_end().strip_suffix(u.as_str()) {
            let rest = rest.trim_end();
            if rest.ends_with(|c: char| c.is_ascii_digit()) {
                return Cow::Owned(rest.to_string());
            }
        }
    }
    Cow::Borrowed(s)
}

fn convert_unbounded(cell: &Data, column: &Column, period: &Period) -> Result<Value, Problem> {
    if crate::shape::is_empty(cell) {
        return Ok(Value::Null);
    }
    if let Data::Error(e) = cell {
        return Err(Problem::new(
            "formula_error",
            format!("Ô có lỗi công thức ({e:?}), không có giá trị"),
        ));
    }
    let shown = cell_text(cell);
    let numeric_cell = matches!(cell, Data::Float(_) | Data::Int(_));
    match &column.kind {
        ColumnKind::Text => Ok(Value::Text(match cell {
            Data::DateTime(_) => cell
                .as_date()
                .map(vn_date)
                .unwrap_or_else(|| shown.into_owned()),
            _ => text::clean(&shown).into_owned(),
        })),
        ColumnKind::Id {
            digits,
            pad_numeric,
        } => id_value(&shown, *digits, numeric_cell, *pad_numeric, &column.label),
        ColumnKind::PersonalId { .. } => id_value(&shown, 12, numeric_cell, 1, &column.label),
        ColumnKind::Code {
            pattern,
            uppercase,
            remove_spaces,
            ..
        } => {
            let mut v = text::clean(&shown).into_owned();
            if *remove_spaces {
                v.retain(|c| !c.is_whitespace());
            }
            if *uppercase {
                v = v.to_uppercase();
            }
            if pattern.is_match(&v) {
                Ok(Value::Text(v))
            } else {
                Err(Problem::new(
                    "invalid_code",
                    format!("{} không đúng cấu trúc quy định", column.label),
                ))
            }
        }
        ColumnKind::Integer | ColumnKind::Money => {
            let f = match cell {
                Data::Float(f) => Some(*f),
                Data::Int(i) => Some(*i as f64),
                Data::String(s) => {
                    number::parse_number(&without_unit(s, &column.units), NumberKind::Whole)
                }
                _ => None,
            };
            match f {
                None => Err(Problem::new(
                    "invalid_number",
                    format!("Không đọc được số '{}'", text::clean(&shown)),
                )),
                Some(f) => match number::as_whole(f) {
                    Some(i) => Ok(Value::Int(i)),
                    None => Err(Problem::new(
                        "invalid_number",
                        format!("'{}' không phải số nguyên", text::clean(&shown)),
                    )),
                },
            }
        }
        ColumnKind::Decimal => {
            let f = match cell {
                Data::Float(f) => Some(*f),
                Data::Int(i) => Some(*i as f64),
                Data::String(s) => {
                    number::parse_number(&without_unit(s, &column.units), NumberKind::Decimal)
                }
                _ => None,
            };
            f.map(Value::Float).ok_or_else(|| {
                Problem::new(
                    "invalid_number",
                    format!("Không đọc được số '{}'", text::clean(&shown)),
                )
            })
        }
        ColumnKind::Month => {
            let m = match cell {
                Data::Float(f) if f.fract() == 0.0 => Some(*f as i64),
                Data::Int(i) => Some(*i),
                Data::String(s) => date::parse_month(s).map(i64::from),
                _ => None,
            };
            match m {
                Some(m) if (1..=12).contains(&m) => Ok(Value::Int(m)),
                _ => Err(Problem::new(
                    "invalid_month",
                    format!(
                        "Không đọc được tháng '{}' (ghi Tháng 1 … Tháng 12)",
                        text::clean(&shown)
                    ),
                )),
            }
        }
        ColumnKind::Context { .. } => Err(Problem::new(
            "internal",
            "a context column is not read from a cell".to_string(),
        )),
        ColumnKind::Date {
            not_after,
            not_before,
            keep_text,
            ..
        } => {
            let d = match cell {
                Data::DateTime(_) | Data::DateTimeIso(_) => cell.as_date(),
                Data::Float(f) => date::from_serial_1900(*f),
                Data::Int(i) => date::from_serial_1900(*i as f64),
                Data::String(s) if *keep_text => {
                    match date::date_in_text(s, chrono::Datelike::year(&period.to)) {
                        Ok(Some(d)) => Some(d),
                        Ok(None) => return Ok(Value::Null),
                        Err(date::NoSuchDate) => None,
                    }
                }
                Data::String(s) => date::parse_date_text(&text::clean(s)),
                _ => None,
            };
            let Some(d) = d else {
                let t = text::clean(&shown);
                let year_only = t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit());
                return Err(Problem::new(
                    "invalid_date",
                    if year_only {
                        "Chỉ có năm, thiếu ngày và tháng (ghi dạng ngày/tháng/năm)".to_string()
                    } else {
                        "Không đọc được ngày (ghi dạng ngày/tháng/năm, ví dụ 15/01/2026)"
                            .to_string()
                    },
                ));
            };
            if let Some(b) = not_after.map(|b| bound(b, period))
                && d > b
            {
                return Err(Problem::new(
                    "date_after_period",
                    format!("{} sau ngày chốt số liệu {}", column.label, vn_date(b)),
                ));
            }
            if let Some(b) = not_before.map(|b| bound(b, period))
                && d < b
            {
                return Err(Problem::new(
                    "date_before_period",
                    format!("{} trước ngày {}", column.label, vn_date(b)),
                ));
            }
            Ok(Value::Date(d))
        }
        ColumnKind::Enum {
            lookup,
            shown: allowed,
            ..
        } => {
            let key = text::value_key(&shown);
            match lookup.get(&key) {
                Some(canon) => Ok(Value::Text(canon.clone())),
                None => Err(Problem::new(
                    "unknown_enum",
                    format!(
                        "Giá trị '{}' không có trong danh mục của cột {} (hợp lệ: {})",
                        text::clean(&shown),
                        column.label,
                        allowed
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )),
            }
        }
        ColumnKind::Derived { .. } | ColumnKind::Age { .. } | ColumnKind::Deadline { .. } => {
            Ok(Value::Null)
        }
    }
}

fn id_value(
    shown: &str,
    digits: usize,
    numeric_cell: bool,
    pad: usize,
    label: &str,
) -> Result<Value, Problem> {
    match ident::clean_digits(shown, digits, numeric_cell, pad) {
        Ok(s) => Ok(Value::Text(s)),
        Err(ident::IdError::NotDigits) => Err(Problem::new(
            "invalid_id",
            format!("{label} phải có {digits} chữ số (ô này có ký tự không phải chữ số)"),
        )),
        Err(ident::IdError::WrongLength { found }) => Err(Problem::new(
            "invalid_id",
            format!("{label} phải có {digits} chữ số (ô này có {found} chữ số)"),
        )),
    }
}

/// A derived column's value from its source value.
pub fn derive(source: &Value, kind: &ColumnKind) -> Value {
    let ColumnKind::Derived {
        chars,
        map,
        default,
        ..
    } = kind
    else {
        return Value::Null;
    };
    let Some(s) = source.as_text() else {
        return Value::Null;
    };
    let piece: String = match chars {
        Some((a, b)) => s.chars().skip(*a).take(b.saturating_sub(*a)).collect(),
        None => s.to_string(),
    };
    match map.get(&piece) {
        Some(v) => Value::Text(v.clone()),
        None => match default {
            Some(d) => Value::Text(d.clone()),
            None => Value::Text(piece),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::compile_pipeline;

    fn columns() -> Vec<Column> {
        let text = r#"
[pipeline]
name = "t"
title = "T"
[[tables]]
name = "x"
grain = "g"
[[tables.columns]]
name = "card_code"
label = "Mã thẻ BHYT"
aliases = ["Mã thẻ"]
type = "code"
pattern = "^[A-Z]{2}[1-5][0-9]{2}[0-9]{10}$"
uppercase = true
remove_spaces = true
[[tables.columns]]
name = "birth_date"
label = "Ngày sinh"
aliases = ["Ngày sinh"]
type = "date"
not_after = "period.to"
[[tables.columns]]
name = "sex"
label = "Giới tính"
aliases = ["Giới tính"]
type = "enum"
values = { nam = ["Nam"], nu = ["Nữ", "Nu"] }
[[tables.columns]]
name = "fine"
label = "Số tiền"
aliases = ["Số tiền"]
type = "money"
[[tables.columns]]
name = "group"
label = "Nhóm"
type = "derived"
from = "card_code"
chars = [0, 2]
map = { ethnic_minority = ["DT"], poor = ["HN", "CN"] }
default = "other"
"#;
        compile_pipeline("t.toml", text)
            .unwrap()
            .tables
            .remove(0)
            .columns
    }

    fn period() -> Period {
        Period {
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 6, 19).unwrap(),
        }
    }

    #[test]
    fn card_codes() {
        let c = &columns()[0];
        let p = period();
        assert_eq!(
            convert(&Data::String("dt2 12 1234567890".into()), c, &p),
            Ok(Value::Text("DT2121234567890".into()))
        );
        assert_eq!(
            convert(&Data::String("DT6121234567890".into()), c, &p)
                .unwrap_err()
                .code,
            "invalid_code"
        );
        assert_eq!(
            convert(&Data::String("DT212123456789".into()), c, &p)
                .unwrap_err()
                .code,
            "invalid_code"
        );
    }

    #[test]
    fn dates_and_bounds() {
        let c = &columns()[1];
        let p = period();
        assert_eq!(
            convert(&Data::String("19/06/2026".into()), c, &p),
            Ok(Value::Date(NaiveDate::from_ymd_opt(2026, 6, 19).unwrap()))
        );
        let e = convert(&Data::String("20/06/2026".into()), c, &p).unwrap_err();
        assert_eq!(e.code, "date_after_period");
        assert_eq!(e.reason, "Ngày sinh sau ngày chốt số liệu 19/06/2026");
        let e = convert(&Data::String("1985".into()), c, &p).unwrap_err();
        assert_eq!(e.code, "invalid_date");
        assert!(e.reason.starts_with("Chỉ có năm, thiếu ngày"));
        assert_eq!(convert(&Data::Empty, c, &p), Ok(Value::Null));
    }

    #[test]
    fn enums_are_case_and_form_insensitive() {
        let c = &columns()[2];
        let p = period();
        assert_eq!(
            convert(&Data::String("NỮ".into()), c, &p),
            Ok(Value::Text("nu".into()))
        );
        let nfd: String = unicode_normalization::UnicodeNormalization::nfd("Nữ").collect();
        assert_eq!(
            convert(&Data::String(nfd), c, &p),
            Ok(Value::Text("nu".into()))
        );
        assert_eq!(
            convert(&Data::String(" nam ".into()), c, &p),
            Ok(Value::Text("nam".into()))
        );
        let e = convert(&Data::String("Khác".into()), c, &p).unwrap_err();
        assert_eq!(e.code, "unknown_enum");
        // The spellings the pipeline file accepts, not its internal codes.
        assert!(e.reason.contains("(hợp lệ: Nam, Nữ)"), "{}", e.reason);
    }

    #[test]
    fn money_as_text_with_currency() {
        let c = &columns()[3];
        let p = period();
        assert_eq!(
            convert(&Data::String("7.500.000 đ".into()), c, &p),
            Ok(Value::Int(7_500_000))
        );
        assert_eq!(
            convert(&Data::Float(10_000_000.0), c, &p),
            Ok(Value::Int(10_000_000))
        );
        assert_eq!(
            convert(&Data::String("7,5".into()), c, &p)
                .unwrap_err()
                .code,
            "invalid_number"
        );
    }

    #[test]
    fn derived_group() {
        let cols = columns();
        assert_eq!(
            derive(&Value::Text("HN2121234567890".into()), &cols[4].kind),
            Value::Text("poor".into())
        );
        assert_eq!(
            derive(&Value::Text("GD4121234567890".into()), &cols[4].kind),
            Value::Text("other".into())
        );
        assert_eq!(derive(&Value::Null, &cols[4].kind), Value::Null);
    }
}
