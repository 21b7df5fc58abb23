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

fn last_day_of_month(year: i32, month: u32) -> Option<NaiveDate> {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)?.pred_opt()
}

fn roman_or_digit(s: &str) -> Option<u32> {
    match s {
        "i" | "1" => Some(1),
        "ii" | "2" => Some(2),
        "iii" | "3" => Some(3),
        "iv" | "4" => Some(4),
        _ => None,
    }
}

/// A date written inside a text, as deadlines are: "Trước 30/6" (the day,
/// in `year`), "Trước ngày 15/5/2026", "Quý II/2026" (the quarter's last
/// day), "Tháng 4/2026" or "tháng 4 năm 2026" (the month's last day).
/// `Ok(None)` for a text with no date in it ("Thường xuyên"), `Err` for a
/// date that does not exist ("Trước 31/2").
pub fn date_in_text(raw: &str, year: i32) -> Result<Option<NaiveDate>, NoSuchDate> {
    found_date_in_text(raw, year)
        .map(Some)
        .or_else(|e| match e {
            Found::Nothing => Ok(None),
            Found::Invalid => Err(NoSuchDate),
        })
}

/// A text that writes a date which does not exist ("31/02/2026").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchDate;

enum Found {
    Nothing,
    Invalid,
}

fn found_date_in_text(raw: &str, year: i32) -> Result<NaiveDate, Found> {
    use std::sync::LazyLock;
    static DAY: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"(?:^|[^\d/])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}))?(?:$|[^\d/])")
            .expect("valid regex")
    });
    static QUARTER: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"quý\s*(iv|iii|ii|i|[1-4])\s*(?:/|năm|-)?\s*(\d{4})?")
            .expect("valid regex")
    });
    static MONTH: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(r"tháng\s*(\d{1,2})\s*(?:/|năm|-)?\s*(\d{4})?").expect("valid regex")
    });
    let t = super::text::value_key(raw);
    if let Some(d) = parse_date_text(&t) {
        return Ok(d);
    }
    let year_of = |m: Option<regex::Match>| {
        m.and_then(|y| y.as_str().parse::<i32>().ok())
            .unwrap_or(year)
    };
    let num = |s: &str| s.parse::<u32>().map_err(|_| Found::Invalid);
    if let Some(c) = DAY.captures(&t) {
        let (d, m) = (num(&c[1])?, num(&c[2])?);
        return NaiveDate::from_ymd_opt(year_of(c.get(3)), m, d).ok_or(Found::Invalid);
    }
    if let Some(c) = QUARTER.captures(&t) {
        let q = roman_or_digit(&c[1]).ok_or(Found::Invalid)?;
        return last_day_of_month(year_of(c.get(2)), q * 3).ok_or(Found::Invalid);
    }
    if let Some(c) = MONTH.captures(&t) {
        let m = num(&c[1])?;
        if !(1..=12).contains(&m) {
            return Err(Found::Invalid);
        }
        return last_day_of_month(year_of(c.get(2)), m).ok_or(Found::Invalid);
    }
    Err(Found::Nothing)
}

/// A month of the year as a header or a cell writes it: "Tháng 3",
/// "tháng 03/2026", "T3", "3". `None` when it is not one.
pub fn parse_month(raw: &str) -> Option<u32> {
    let t = super::text::value_key(raw);
    let t = t.trim();
    let rest = t
        .strip_prefix("tháng")
        .or_else(|| t.strip_prefix('t'))
        .unwrap_or(t)
        .trim_start();
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let tail = rest[digits.len()..].trim();
    let is_year = |y: &str| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit());
    let tail_ok = tail.is_empty()
        || is_year(tail)
        || tail
            .strip_prefix('/')
            .or_else(|| tail.strip_prefix("năm"))
            .is_some_and(|y| {
                let y = y.trim();
                y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit())
            });
    let m: u32 = digits.parse().ok()?;
    ((1..=12).contains(&m) && tail_ok).then_some(m)
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

#[cfg(test)]
mod text_date_tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn deadlines_written_as_text() {
        assert_eq!(date_in_text("Trước 30/6", 2026), Ok(d(2026, 6, 30)));
        assert_eq!(
            date_in_text("Trước ngày 15/5/2026", 2026),
            Ok(d(2026, 5, 15))
        );
        assert_eq!(date_in_text("Quý II/2026", 2026), Ok(d(2026, 6, 30)));
        assert_eq!(date_in_text("quý 4 năm 2025", 2026), Ok(d(2025, 12, 31)));
        assert_eq!(date_in_text("Tháng 4/2026", 2026), Ok(d(2026, 4, 30)));
        assert_eq!(date_in_text("tháng 2", 2028), Ok(d(2028, 2, 29)));
        assert_eq!(date_in_text("Thường xuyên", 2026), Ok(None));
        assert_eq!(date_in_text("Trước 31/2", 2026), Err(NoSuchDate));
        assert_eq!(date_in_text("31/02/2026", 2026), Err(NoSuchDate));
        assert_eq!(date_in_text("15/03/2026", 2026), Ok(d(2026, 3, 15)));
    }

    #[test]
    fn months_as_headers_write_them() {
        assert_eq!(parse_month("Tháng 1"), Some(1));
        assert_eq!(parse_month("THÁNG 06/2026"), Some(6));
        assert_eq!(parse_month("T12"), Some(12));
        assert_eq!(parse_month("tháng 3 năm 2026"), Some(3));
        assert_eq!(parse_month("7"), Some(7));
        assert_eq!(parse_month("Tháng 13"), None);
        assert_eq!(parse_month("Tổng"), None);
        assert_eq!(parse_month("Cộng 6 tháng"), None);
    }
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
