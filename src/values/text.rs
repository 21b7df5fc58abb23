//! Text clean-up shared by every stage: invisible characters, spaces, Unicode form.
//!
//! Department workbooks mix NFC and NFD (text pasted from PDFs and old fonts),
//! non-breaking spaces and zero-width characters copied from web pages. Two strings
//! a statistician sees as equal must compare equal after [`clean`], and header
//! text must compare equal after [`header_key`].

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Characters that are invisible in Excel and never meaningful in our data.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Whitespace as a person sees it, including the non-breaking kinds.
fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{00A0}' | '\u{202F}' | '\u{2007}')
}

/// Is `s` empty once cleaned (only spaces and invisible characters)? Stops
/// at the first visible character, so it costs nothing on real values.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| is_space(c) || is_invisible(c))
}

/// Printable ASCII with single inner spaces: already clean (one pass over
/// the bytes; most ID, code and number cells).
fn is_clean_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut prev_space = false;
    for &c in b {
        match c {
            b' ' if prev_space => return false,
            b' ' => prev_space = true,
            0x21..=0x7e => prev_space = false,
            _ => return false,
        }
    }
    true
}

/// Trim, drop invisible characters, collapse every run of (any kind of) space to
/// one ASCII space, and put the result in NFC. Borrows when nothing changes,
/// which is the common case for clean cells.
pub fn clean(s: &str) -> Cow<'_, str> {
    if is_clean_ascii(s) {
        return Cow::Borrowed(s);
    }
    // One pass over the characters, then the NFC check (non-ASCII only).
    let mut needs_work = s.starts_with(' ') || s.ends_with(' ');
    let mut prev_space = false;
    for c in s.chars() {
        if c == ' ' {
            needs_work |= prev_space;
            prev_space = true;
        } else {
            needs_work |= is_invisible(c) || is_space(c);
            prev_space = false;
        }
        if needs_work {
            break;
        }
    }
    let needs_work = needs_work || !matches!(is_nfc_quick(s.chars()), IsNormalized::Yes);
    if !needs_work {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    // Filter first, compose last: removing an invisible character or a space
    // between a letter and its combining mark lets them compose, and doing
    // it in the other order made `clean` not idempotent (found by fuzzing).
    for c in s.chars() {
        if is_invisible(c) {
            continue;
        }
        if is_space(c) {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
    }
    Cow::Owned(out.nfc().collect())
}

/// The comparison key of a header cell or an alias: cleaned, lower case, with
/// parenthesised parts ("(đồng)", "(*)", "(1)"), a trailing colon or asterisk,
/// and separators (`,` `/` `;` `:` line breaks) reduced to single spaces.
///
/// Matching is exact on this key, never by substring: "Không khớp" must not
/// match an alias "khớp", and "Ngày sinh" must not match "Ngày sinh của mẹ".
pub fn header_key(s: &str) -> String {
    let cleaned = clean(s);
    let mut out = String::with_capacity(cleaned.len());
    let mut depth = 0usize;
    for c in cleaned.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            ',' | '/' | ';' | ':' | '*' | '\n' | '\r' | '\t' | '-' | '–' | '.' => out.push(' '),
            _ => out.extend(c.to_lowercase()),
        }
    }
    let collapsed: Vec<&str> = out.split_whitespace().collect();
    // Removing brackets can bring combining marks together: compose again so
    // the key is canonical (and `header_key` idempotent; found by fuzzing).
    collapsed.join(" ").nfc().collect()
}

/// Lower-case comparison key for enum values and row markers: cleaned, lower
/// case, NFC. Keeps punctuation.
pub fn value_key(s: &str) -> String {
    clean(s).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_borrows_clean_text() {
        assert!(matches!(clean("Pá Khoang"), Cow::Borrowed(_)));
    }

    #[test]
    fn clean_removes_invisible_and_nbsp_and_composes() {
        let nfd = "Pa\u{0301}\u{00A0}\u{00A0}Khoang\u{200B} ";
        assert_eq!(clean(nfd), "Pá Khoang");
        assert_eq!(clean("  Lò   Văn\tA "), "Lò Văn A");
    }

    #[test]
    fn clean_is_idempotent_on_the_fuzzer_finding() {
        // Regression from fuzz/artifacts/values: spaces and invisible
        // characters between letters and combining marks.
        let s = "\\VäV7äV)äV),\u{c},\u{c}M\u{311}))\u{321}";
        let once = clean(s).into_owned();
        assert_eq!(clean(&once), once);
        let key = header_key(s);
        assert_eq!(header_key(&key), key);
        let s2 = "a \u{200B}\u{301}";
        let once = clean(s2).into_owned();
        assert_eq!(clean(&once), once);
    }

    #[test]
    fn header_key_handles_the_usual_mess() {
        assert_eq!(header_key("HỌ VÀ TÊN"), "họ và tên");
        assert_eq!(header_key("Ngày\nsinh"), "ngày sinh");
        assert_eq!(header_key("Số CCCD (*)"), "số cccd");
        assert_eq!(header_key("Số tiền phạt (đồng)"), "số tiền phạt");
        assert_eq!(header_key("Thôn/Bản:"), "thôn bản");
        assert_eq!(header_key("Thôn, bản"), "thôn bản");
        assert_eq!(header_key("Ngày, tháng, năm sinh"), "ngày tháng năm sinh");
        // NFD input (decomposed accents) gives the same key as NFC.
        let nfd: String = "Ngày sinh".nfd().collect();
        assert_eq!(header_key(&nfd), "ngày sinh");
        assert_eq!(header_key("Mã\u{00A0}thẻ  BHYT"), "mã thẻ bhyt");
    }
}
