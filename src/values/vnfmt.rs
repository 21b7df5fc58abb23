//! Figures written the Vietnamese way: thousands with `.`, decimals with `,`,
//! rounded half-up at the precision the sentence asks for, small counts
//! zero-padded where the report does ("02 trường hợp").
//!
//! Rounding works on the decimal text of the figure, not on the binary
//! float: 2.675 is stored as 2.67499999…, and a report that says "2,68" is right.

/// How a placeholder asks for its figure: `{id}`, `{id:.2}`, `{id:02}`,
/// `{id:zero=không có}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    /// Digits after the decimal comma (0: a whole number).
    pub decimals: usize,
    /// Minimum digits of the integer part, padded with zeros.
    pub pad: usize,
    /// Words written instead of a zero ("không có").
    pub zero_words: Option<String>,
}

impl Spec {
    /// Parse the part after the colon of a placeholder.
    pub fn parse(s: &str) -> Result<Spec, String> {
        let mut spec = Spec::default();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if let Some(words) = part.strip_prefix("zero=") {
                spec.zero_words = Some(words.to_string());
            } else if let Some(d) = part.strip_prefix('.') {
                spec.decimals = d.parse().map_err(|_| format!("bad precision {part:?}"))?;
            } else if part.starts_with('0') && part.len() > 1 {
                spec.pad = part[1..]
                    .parse()
                    .map_err(|_| format!("bad zero padding {part:?}"))?;
            } else {
                return Err(format!(
                    "unknown format {part:?} (use .N, 0N or zero=words)"
                ));
            }
        }
        Ok(spec)
    }
}

/// Round half-up (away from zero) at `decimals`, working on the shortest
/// decimal text that round-trips the float.
pub fn round_half_up(v: f64, decimals: usize) -> (bool, String, String) {
    let negative = v < 0.0;
    let text = format!("{}", v.abs());
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i.to_string(), f.to_string()),
        None => (text.clone(), String::new()),
    };
    let mut digits: Vec<u8> = int_part
        .bytes()
        .chain(
            frac_part
                .bytes()
                .chain(std::iter::repeat(b'0'))
                .take(decimals),
        )
        .map(|b| b - b'0')
        .collect();
    let round_up = frac_part
        .as_bytes()
        .get(decimals)
        .is_some_and(|&b| b >= b'5');
    if round_up {
        let mut i = digits.len();
        loop {
            if i == 0 {
                digits.insert(0, 1);
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
    }
    let split = digits.len() - decimals;
    let to_s = |d: &[u8]| d.iter().map(|x| char::from(b'0' + x)).collect::<String>();
    let int_s = to_s(&digits[..split]);
    let frac_s = to_s(&digits[split..]);
    let is_zero = digits.iter().all(|d| *d == 0);
    (
        negative && !is_zero,
        if int_s.is_empty() { "0".into() } else { int_s },
        frac_s,
    )
}

fn group_thousands(int_digits: &str) -> String {
    let mut out = String::with_capacity(int_digits.len() + int_digits.len() / 3);
    for (i, c) in int_digits.chars().enumerate() {
        if i > 0 && (int_digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// Format `v` as the report writes it.
pub fn format_vn(v: f64, spec: &Spec) -> String {
    let (negative, int_digits, frac) = round_half_up(v, spec.decimals);
    if let Some(words) = &spec.zero_words
        && int_digits.bytes().all(|b| b == b'0')
        && frac.bytes().all(|b| b == b'0')
    {
        return words.clone();
    }
    let padded = if int_digits.len() < spec.pad {
        format!("{int_digits:0>width$}", width = spec.pad)
    } else {
        int_digits
    };
    let mut s = String::new();
    if negative {
        s.push('-');
    }
    s.push_str(&group_thousands(&padded));
    if spec.decimals > 0 {
        s.push(',');
        s.push_str(&frac);
    }
    s
}

/// A figure as the report writes it where no sentence gives a precision
/// (the terminal summary, charts): rates (`%`) with two decimals, other
/// fractions with up to three, whole numbers as they are.
pub fn figure(v: f64, unit: &str) -> String {
    let decimals = if unit.trim() == "%" {
        2
    } else if v.fract() == 0.0 {
        0
    } else {
        3
    };
    format_vn(
        v,
        &Spec {
            decimals,
            ..Spec::default()
        },
    )
}

/// A figure in a sentence without a precision of its own: whole numbers as
/// they are, others to two decimals ("21.957", "1,25").
pub fn number(v: f64) -> String {
    let decimals = if v.fract() == 0.0 { 0 } else { 2 };
    format_vn(
        v,
        &Spec {
            decimals,
            ..Spec::default()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64, spec: &str) -> String {
        format_vn(v, &Spec::parse(spec).unwrap())
    }

    /// Every figure format the seed report uses.
    #[test]
    fn seed_report_formats() {
        assert_eq!(f(20213.0, ""), "20.213");
        assert_eq!(f(12253.0, ""), "12.253");
        assert_eq!(f(2200.0, ""), "2.200");
        assert_eq!(f(19670.0, ""), "19.670");
        assert_eq!(f(21860.0, ""), "21.860");
        assert_eq!(f(19670.0 / 21860.0 * 100.0, ".2"), "89,98");
        assert_eq!(f(844.0 / 18826.0 * 100.0, ".2"), "4,48");
        assert_eq!(f(844.0 / 18826.0 * 100.0 / 16.5 * 100.0, ".1"), "27,2");
        assert_eq!(f(3077.0 / 3876.0 * 100.0, ".1"), "79,4");
        assert_eq!(f(10_000_000.0, ""), "10.000.000");
        assert_eq!(f(2.0, "02"), "02");
        assert_eq!(f(3.0, "02"), "03");
        assert_eq!(f(111.0, "02"), "111");
        assert_eq!(f(0.0, "zero=không có"), "không có");
        assert_eq!(f(4.0, "zero=không có"), "4");
        assert_eq!(f(5844.299, ".3"), "5.844,299");
        assert_eq!(f(120_287.595, ".3"), "120.287,595");
        assert_eq!(f(23618.0 / 50110.0 * 100.0, ".2"), "47,13");
        assert_eq!(f(160.35, ".2"), "160,35");
    }

    #[test]
    fn half_up_on_the_decimal_text() {
        assert_eq!(f(2.675, ".2"), "2,68");
        assert_eq!(f(0.5, ""), "1");
        assert_eq!(f(1.5, ""), "2");
        assert_eq!(f(2.5, ""), "3");
        assert_eq!(f(99.96, ".1"), "100,0");
        assert_eq!(f(999.5, ""), "1.000");
        assert_eq!(f(-1234.5, ""), "-1.235");
        assert_eq!(f(-0.004, ".2"), "0,00");
        assert_eq!(f(1e-7, ".2"), "0,00");
    }

    #[test]
    fn spec_errors() {
        assert!(Spec::parse(".x").is_err());
        assert!(Spec::parse("abc").is_err());
        assert_eq!(Spec::parse(".2").unwrap().decimals, 2);
    }
}
