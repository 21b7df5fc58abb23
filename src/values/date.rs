//! Dates as departments type them.
//!
//! Date cells (1900 or 1904 system, with or without a time part) are decoded by
//! calamine; this module handles text dates and bare serial numbers. Vietnamese
//! order is day/month/year; the only year-first form accepted is ISO
//! `yyyy-mm-dd`. A year alone ("1985") is not a date: the caller rejects it
//! rather than inventing 1 January.

use chrono::{Datelike, NaiveDate};

/// Parse a text date: `dd/mm/yyyy`, `d/m/yyyy`, `dd-mm-yyyy`, `dd.mm.yyyy`,
/// `yyyy-mm-dd`, optionally followed by a time (`15/01/2026 08:30`), which is
/// dropped. Two-digit years are refused: a birth year "90" is ambiguous.
pub fn parse_date_text(raw: &str) -> Option<NaiveDate> {
    let s = raw.trim();
    let date_part = s
        .split(|c: char| c.is_whitespace() || c == 'T')
        .find(|p| !p.is_empty())?;
    let sep = date_part.chars().find(|c| matches!(c, '/' | '-' | '.'))?;
    let parts: Vec<&str> = date_part.split(sep).collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let n = |p: &str| p.parse::<u32>().ok();
    let (y, m, d) = if parts[0].len() == 4 {
        if sep != '-' {
            return None;
        }
        (n(parts[0])?, n(parts[1])?, n(parts[2])?)
    } else {
        if parts[2].len() != 4 || parts[0].len() > 2 || parts[1].len() > 2 {
            return None;
        }
        (n(parts[2])?, n(parts[1])?, n(parts[0])?)
    };
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
}

/// An Excel serial day number (1900 system) shown without a date format.
/// Only values that land between 1900 and 2100 are taken.
pub fn from_serial_1900(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=73_051.0).contains(&serial) {
        return None;
    }
    // Excel's day 60 is the non-existent 29/02/1900; serials after it are off by one.
    let days = serial.floor() as i64;
    let base = NaiveDate::from_ymd_opt(1899, 12, 31)?;
    let adjusted = if days > 60 { days - 1 } else { days };
    base.checked_add_signed(chrono::Duration::days(adjusted))
}

/// Whole years between `birth` and `at`, counted by birthdays: a person born on
/// 29 February has their birthday on 1 March in common years.
pub fn age_at(birth: NaiveDate, at: NaiveDate) -> i32 {
    let mut age = at.year() - birth.year();
    let birthday_this_year = NaiveDate::from_ymd_opt(at.year(), birth.month(), birth.day())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(at.year(), 3, 1).expect("1 March exists"));
    if at < birthday_this_year {
        age -= 1;
    }
    age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn text_forms() {
        assert_eq!(parse_date_text("15/01/2026"), Some(d(2026, 1, 15)));
        assert_eq!(parse_date_text("5/1/2026"), Some(d(2026, 1, 5)));
        assert_eq!(parse_date_text("15-01-2026"), Some(d(2026, 1, 15)));
        assert_eq!(parse_date_text("15.01.2026"), Some(d(2026, 1, 15)));
        assert_eq!(parse_date_text("2026-01-15"), Some(d(2026, 1, 15)));
        assert_eq!(parse_date_text(" 15/01/2026 08:30 "), Some(d(2026, 1, 15)));
        assert_eq!(parse_date_text("2026-01-15T08:30:00"), Some(d(2026, 1, 15)));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for s in [
            "1985",
            "31/02/1990",
            "15/13/2026",
            "15/01/26",
            "2026/01/15",
            "abc",
            "",
            "1/2/3/2026",
        ] {
            assert_eq!(parse_date_text(s), None, "{s:?}");
        }
    }

    #[test]
    fn serials() {
        assert_eq!(from_serial_1900(1.0), Some(d(1900, 1, 1)));
        assert_eq!(from_serial_1900(61.0), Some(d(1900, 3, 1)));
        assert_eq!(from_serial_1900(46_192.0), Some(d(2026, 6, 19)));
        assert_eq!(from_serial_1900(0.0), None);
    }

    #[test]
    fn age_by_birthday_with_leap_days() {
        let at = d(2026, 6, 19);
        assert_eq!(age_at(d(2012, 6, 19), at), 14);
        assert_eq!(age_at(d(2012, 6, 20), at), 13);
        assert_eq!(age_at(d(2020, 2, 29), d(2026, 2, 28)), 5);
        assert_eq!(age_at(d(2020, 2, 29), d(2026, 3, 1)), 6);
        assert_eq!(age_at(d(2020, 2, 29), d(2024, 2, 29)), 4);
    }
}
