//! Identifiers: digit strings of a fixed width, and the Vietnamese 12-digit
//! personal identification number (số định danh cá nhân).
//!
//! An identifier is a string, never a number: Excel drops the leading zero of
//! "012190123456" when the cell is numeric, so a numeric cell one digit short is
//! padded back, while a *text* cell one digit short is a typing error and is
//! refused (the person who typed it as text saw all the digits).

use chrono::{Datelike, NaiveDate};

/// Remove the separators people type inside identifiers: spaces (any kind),
/// dots and hyphens.
pub fn strip_separators(raw: &str) -> String {
    raw.chars()
        .filter(|c| {
            !(c.is_whitespace() || matches!(c, '.' | '-' | '\u{00A0}' | '\u{200B}' | '\u{FEFF}'))
        })
        .collect()
}

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdError {
    NotDigits,
    WrongLength { found: usize },
}

/// Clean a digit identifier of `width` digits. `numeric_cell` says the value
/// came from a number cell, whose lost leading zeros may be restored: up to
/// `pad_numeric` missing digits are added back.
pub fn clean_digits(
    raw: &str,
    width: usize,
    numeric_cell: bool,
    pad_numeric: usize,
) -> Result<String, IdError> {
    let s = strip_separators(raw);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IdError::NotDigits);
    }
    if s.len() == width {
        return Ok(s);
    }
    if numeric_cell && s.len() < width && width - s.len() <= pad_numeric {
        return Ok(format!("{s:0>width$}"));
    }
    Err(IdError::WrongLength { found: s.len() })
}

/// The 63 province codes of the pre-2025 scheme, used as the first three
/// digits of personal IDs (and, as their last two digits, in BHYT card codes).
/// IDs keep their prefix after the 2025 merger, so this list stays valid.
pub const PROVINCE_CODES: [u16; 63] = [
    1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31, 33, 34, 35, 36, 37,
    38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58, 60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77,
    79, 80, 82, 83, 84, 86, 87, 89, 91, 92, 93, 94, 95, 96,
];

pub fn is_province_code(code: u16) -> bool {
    PROVINCE_CODES.contains(&code)
}

/// Sex encoded in the century digit of a personal ID: even is male, odd female.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdSex {
    Male,
    Female,
}

/// What a well-formed 12-digit personal ID says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonalId {
    pub province: u16,
    pub sex: IdSex,
    pub birth_year: i32,
}

/// Decode `PPP G YY RRRRRR`. The caller has already checked 12 digits.
pub fn decode_personal_id(id: &str) -> Option<PersonalId> {
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let province: u16 = id[0..3].parse().ok()?;
    let g: i32 = id[3..4].parse().ok()?;
    let yy: i32 = id[4..6].parse().ok()?;
    Some(PersonalId {
        province,
        sex: if g % 2 == 0 {
            IdSex::Male
        } else {
            IdSex::Female
        },
        birth_year: 1900 + 100 * (g / 2) + yy,
    })
}

/// Birth-year agreement between an ID and a birth date.
pub fn birth_year_matches(id: &PersonalId, birth: NaiveDate) -> bool {
    id.birth_year == birth.year()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_lost_zero_only_for_numeric_cells() {
        assert_eq!(
            clean_digits("12190123456", 12, true, 1).unwrap(),
            "012190123456"
        );
        assert_eq!(
            clean_digits("12190123456", 12, false, 1),
            Err(IdError::WrongLength { found: 11 })
        );
        assert_eq!(
            clean_digits("012 190 123 456", 12, false, 1).unwrap(),
            "012190123456"
        );
        assert_eq!(
            clean_digits("012.190.123.456", 12, false, 1).unwrap(),
            "012190123456"
        );
        assert_eq!(
            clean_digits("012-190-123-456", 12, false, 1).unwrap(),
            "012190123456"
        );
        assert_eq!(
            clean_digits("01219012345A", 12, false, 1),
            Err(IdError::NotDigits)
        );
        assert_eq!(
            clean_digits("0121901234567", 12, false, 1),
            Err(IdError::WrongLength { found: 13 })
        );
        assert_eq!(
            clean_digits("1219012345", 12, true, 1),
            Err(IdError::WrongLength { found: 10 })
        );
    }

    #[test]
    fn decodes_century_sex_and_year() {
        let id = decode_personal_id("012190123456").unwrap();
        assert_eq!(id.province, 12);
        assert_eq!(id.sex, IdSex::Female);
        assert_eq!(id.birth_year, 1990);
        let id = decode_personal_id("012215123456").unwrap();
        assert_eq!(id.sex, IdSex::Male);
        assert_eq!(id.birth_year, 2015);
        assert!(is_province_code(12));
        assert!(!is_province_code(99));
        assert!(!is_province_code(3));
    }
}
