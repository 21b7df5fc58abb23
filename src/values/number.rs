//! Numbers typed by hand in Vietnamese format.
//!
//! Vietnamese writes thousands with `.` and decimals with `,`: "1.234" is one
//! thousand two hundred and thirty-four, "1.234,5" has a decimal part, and
//! "10.000.000 đồng" is ten million. Cells also carry units and currency words.
//! The rules, in order:
//! 1. strip spaces, a trailing `%`, and currency words (đ, đồng, vnđ, vnd);
//! 2. if both `.` and `,` occur, the later one is the decimal separator;
//! 3. only `.`: groups of exactly three digits after each dot ("1.234",
//!    "10.000.000") are thousands; anything else ("2.5") is a decimal point;
//! 4. only `,`: a decimal comma ("89,98"), except for whole-number columns where
//!    "1,234" in three-digit groups is read as English thousands.

use super::text::clean;

/// What the caller expects, which settles the one ambiguous case (rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Whole,
    Decimal,
}

const CURRENCY_WORDS: [&str; 5] = ["vnđ", "vnd", "đồng", "đ", "dong"];

fn strip_units(s: &str) -> (String, bool) {
    let lower = clean(s).to_lowercase();
    let mut t = lower.trim().to_string();
    let mut percent = false;
    if let Some(rest) = t.strip_suffix('%') {
        t = rest.trim_end().to_string();
        percent = true;
    }
    for w in CURRENCY_WORDS {
        if let Some(rest) = t.strip_suffix(w) {
            t = rest.trim_end().to_string();
            break;
        }
    }
    t.retain(|c| !c.is_whitespace());
    (t, percent)
}

fn is_grouped(s: &str, sep: char) -> bool {
    let mut parts = s.split(sep);
    let first = parts.next().unwrap_or("");
    let first_ok =
        !first.is_empty() && first.len() <= 3 && first.bytes().all(|b| b.is_ascii_digit());
    let mut any = false;
    for p in parts {
        any = true;
        if p.len() != 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    first_ok && any
}

/// Parse a number written as text. Returns `None` when the text is not a number.
/// A percentage keeps its face value: "89,98%" is 89.98.
pub fn parse_number(raw: &str, kind: NumberKind) -> Option<f64> {
    let (t, _percent) = strip_units(raw);
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
    {
        return None;
    }
    let has_dot = body.contains('.');
    let has_comma = body.contains(',');
    let normalised: String = match (has_dot, has_comma) {
        (false, false) => body.to_string(),
        (true, true) => {
            let last_dot = body.rfind('.')?;
            let last_comma = body.rfind(',')?;
            let (group, dec) = if last_comma > last_dot {
                ('.', ',')
            } else {
                (',', '.')
            };
            let int_part = &body[..body.rfind(dec)?];
            let frac = &body[body.rfind(dec)? + 1..];
            if !is_grouped(int_part, group) && int_part.contains(group) {
                return None;
            }
            if frac.contains(group) || frac.contains(dec) {
                return None;
            }
            format!("{}.{}", int_part.replace(group, ""), frac)
        }
        (true, false) => {
            if is_grouped(body, '.') {
                body.replace('.', "")
            } else if body.matches('.').count() == 1 {
                body.to_string()
            } else {
                return None;
            }
        }
        (false, true) => {
            if kind == NumberKind::Whole && is_grouped(body, ',') {
                body.replace(',', "")
            } else if body.matches(',').count() == 1 {
                body.replace(',', ".")
            } else {
                return None;
            }
        }
    };
    if normalised.starts_with('.') || normalised.ends_with('.') {
        return None;
    }
    let v: f64 = normalised.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// A float that is a whole number and fits an i64 exactly (no fraction, no
/// precision lost), as Excel stores integer counts.
pub fn as_whole(v: f64) -> Option<i64> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 {
        Some(v as i64)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberKind::*;

    #[test]
    fn vietnamese_grouping_and_decimals() {
        assert_eq!(parse_number("1.234", Whole), Some(1234.0));
        assert_eq!(parse_number("10.000.000", Whole), Some(10_000_000.0));
        assert_eq!(parse_number("1.234,5", Decimal), Some(1234.5));
        assert_eq!(parse_number("89,98%", Decimal), Some(89.98));
        assert_eq!(parse_number("7.500.000 đ", Whole), Some(7_500_000.0));
        assert_eq!(parse_number("10.000.000 đồng", Whole), Some(10_000_000.0));
        assert_eq!(parse_number("2.000.000 VNĐ", Whole), Some(2_000_000.0));
        assert_eq!(parse_number(" 1 204 ", Whole), Some(1204.0));
        assert_eq!(parse_number("1\u{00A0}204", Whole), Some(1204.0));
        assert_eq!(parse_number("-3", Whole), Some(-3.0));
        assert_eq!(parse_number("2.5", Decimal), Some(2.5));
        assert_eq!(parse_number("0,5", Decimal), Some(0.5));
    }

    #[test]
    fn english_thousands_only_for_whole_columns() {
        assert_eq!(parse_number("1,234", Whole), Some(1234.0));
        assert_eq!(parse_number("1,234", Decimal), Some(1.234));
        assert_eq!(parse_number("1,234.5", Decimal), Some(1234.5));
    }

    #[test]
    fn rejects_non_numbers() {
        for s in ["", "abc", "1.2.3", "12a", "1,2,3", "--1", ".5.", "1.23.456"] {
            assert_eq!(parse_number(s, Whole), None, "{s:?}");
        }
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(as_whole(12.0), Some(12));
        assert_eq!(as_whole(12.5), None);
        assert_eq!(as_whole(f64::NAN), None);
        assert_eq!(as_whole(12_345_678_901.0), Some(12_345_678_901));
    }
}
