//! Working days: Monday to Friday, minus the public holidays and days off of
//! a calendar kept as data, one file per year (`config/holidays/2026.toml`),
//! so a new year or a changed Tết schedule needs no rebuild.
//!
//! The days off are set each year by a government notice (a holiday on a
//! weekend moves to the next working day; Tết spans are decided case by case),
//! so they are listed, never computed. A file may also list weekend days that
//! were declared working days (make-up Saturdays).

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};
use std::path::Path;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    /// Days off that fall on working days (weekend days may be listed; they change nothing).
    holidays: Vec<toml::value::Datetime>,
    #[serde(default)]
    working_weekends: Vec<toml::value::Datetime>,
}

#[derive(Debug, Clone, Default)]
pub struct Calendar {
    holidays: HashSet<NaiveDate>,
    working_weekends: HashSet<NaiveDate>,
    /// Years that have a calendar file.
    pub years: BTreeSet<i32>,
}

impl Calendar {
    /// A stable text of the whole calendar, for cache keys.
    pub fn fingerprint(&self) -> String {
        let mut h: Vec<&NaiveDate> = self.holidays.iter().collect();
        h.sort();
        let mut w: Vec<&NaiveDate> = self.working_weekends.iter().collect();
        w.sort();
        format!("{h:?}|{w:?}")
    }
}

fn to_date(v: &toml::value::Datetime) -> Option<NaiveDate> {
    let d = v.date?;
    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

impl Calendar {
    /// Load every `<year>.toml` in `dir`. A missing folder is an empty calendar
    /// (weekends only); a malformed file is an error naming it.
    pub fn load(dir: &Path) -> Result<Calendar, String> {
        let mut cal = Calendar::default();
        let Ok(rd) = std::fs::read_dir(dir) else {
            return Ok(cal);
        };
        let mut paths: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            cal.add_file(&p.display().to_string(), &text)?;
        }
        Ok(cal)
    }

    /// Add one year file's text (`origin` names it in errors).
    pub fn add_file(&mut self, origin: &str, text: &str) -> Result<(), String> {
        let f: YearFile = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        for (key, list, set) in [
            ("holidays", &f.holidays, &mut self.holidays),
            (
                "working_weekends",
                &f.working_weekends,
                &mut self.working_weekends,
            ),
        ] {
            for v in list {
                let d = to_date(v).ok_or_else(|| format!("{origin}: {key}: {v} is not a date"))?;
                if d.year() != f.year {
                    return Err(format!("{origin}: {key}: {d} is not in year {}", f.year));
                }
                set.insert(d);
            }
        }
        self.years.insert(f.year);
        Ok(())
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.working_weekends.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// The date `n` working days after `start`; the start day itself is not
    /// counted (a dossier received on Monday with a 1-day limit is due Tuesday).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        while left > 0 {
            d = d.succ_opt().expect("date in range");
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Whether a computation from `start` over `n` working days stays within
    /// years the calendar covers (otherwise only weekends were skipped).
    pub fn covers(&self, start: NaiveDate, end: NaiveDate) -> bool {
        (start.year()..=end.year()).all(|y| self.years.contains(&y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cal() -> Calendar {
        let mut c = Calendar::default();
        c.add_file("2026.toml", include_str!("../config/holidays/2026.toml"))
            .unwrap();
        c.add_file("2025.toml", include_str!("../config/holidays/2025.toml"))
            .unwrap();
        c
    }

    #[test]
    fn weekends_and_holidays_are_not_working_days() {
        let c = cal();
        assert!(c.is_working_day(d(2026, 6, 19))); // Friday
        assert!(!c.is_working_day(d(2026, 6, 20))); // Saturday
        assert!(!c.is_working_day(d(2026, 1, 1))); // New Year, Thursday
        assert!(!c.is_working_day(d(2026, 2, 18))); // Tết
        assert!(!c.is_working_day(d(2026, 4, 27))); // in lieu of Hùng Vương
        assert!(c.is_working_day(d(2026, 2, 23))); // back after Tết
    }

    #[test]
    fn counting_starts_the_day_after() {
        let c = cal();
        assert_eq!(c.add_working_days(d(2026, 6, 15), 1), d(2026, 6, 16));
        assert_eq!(c.add_working_days(d(2026, 6, 19), 1), d(2026, 6, 22));
        assert_eq!(c.add_working_days(d(2026, 6, 15), 0), d(2026, 6, 15));
    }

    #[test]
    fn ranges_across_tet() {
        let c = cal();
        // Fri 13/02 + 1 working day: the Tết week 16–20/02 is skipped.
        assert_eq!(c.add_working_days(d(2026, 2, 13), 1), d(2026, 2, 23));
        // 20 working days from 02/02/2026: 9 in February before Tết, the
        // rest from 23/02 on.
        assert_eq!(c.add_working_days(d(2026, 2, 2), 20), d(2026, 3, 9));
        // 30 working days (20 + 10 mountainous extension) from 20/01/2026.
        assert_eq!(c.add_working_days(d(2026, 1, 20), 30), d(2026, 3, 10));
    }

    #[test]
    fn ranges_across_year_end() {
        let c = cal();
        // Wed 24/12/2025 + 5: 25, 26, 29, 30, 31 December.
        assert_eq!(c.add_working_days(d(2025, 12, 24), 5), d(2025, 12, 31));
        // + 6: 01/01/2026 is a holiday, so Friday 02/01.
        assert_eq!(c.add_working_days(d(2025, 12, 24), 6), d(2026, 1, 2));
        assert!(c.covers(d(2025, 12, 24), d(2026, 1, 2)));
        assert!(!c.covers(d(2026, 12, 24), d(2027, 1, 2)));
    }

    #[test]
    fn a_holiday_on_a_weekend_changes_nothing_and_make_up_days_count() {
        let mut c = Calendar::default();
        // 2028-09-02 is a Saturday: listing it does not remove a working day.
        c.add_file(
            "2028.toml",
            "year = 2028\nholidays = [2028-09-02, 2028-09-04]\nworking_weekends = [2028-09-09]\n",
        )
        .unwrap();
        // Fri 01/09 + 1: Sat 02 (weekend), Sun 03, Mon 04 (the moved day off), so Tue 05.
        assert_eq!(c.add_working_days(d(2028, 9, 1), 1), d(2028, 9, 5));
        // Fri 08/09 + 1: the make-up Saturday 09/09 counts.
        assert_eq!(c.add_working_days(d(2028, 9, 8), 1), d(2028, 9, 9));
    }

    #[test]
    fn rejects_dates_outside_the_year() {
        let mut c = Calendar::default();
        let e = c
            .add_file("2026.toml", "year = 2026\nholidays = [2025-01-01]\n")
            .unwrap_err();
        assert!(e.contains("not in year 2026"), "{e}");
    }
}
