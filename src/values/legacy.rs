//! Text typed with legacy Vietnamese fonts: TCVN3 (ABC; `.VnTime`) and
//! VNI-Windows (`VNI-Times`). Such text arrives in a Unicode workbook as
//! Latin-1 mojibake: "Mêng Kim" for "Mường Kim", "B¶n" for "Bản",
//! "Tieáng Vieät" for "Tiếng Việt". The conversion table is data
//! (`data/legacy-vietnamese.tsv`, with its source).
//!
//! Detection, per sheet: legacy text never contains a character above U+00FF
//! (it is all bytes 0x00–0xFF shown as Latin-1), and it contains characters no
//! Vietnamese Unicode text uses (TCVN3: "µ ¸ ¶ · ¹ ¨ © ª « ¬ ® ¡ ¢ £ ¤ ¥ ¦ §"
//! and the soft hyphen that is its "ư"; VNI: "ø û ï ë å ä ñ ö æ î …"). A
//! sheet whose text is all Latin-1 and carries such markers is decoded whole;
//! in a mixed sheet only the cells that carry markers and nothing above U+00FF
//! are. Decoding must happen before any clean-up: TCVN3's "ư" is U+00AD,
//! which `text::clean` would otherwise drop as invisible.

use std::collections::HashMap;
use std::sync::OnceLock;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Tcvn3,
    Vni,
}

struct Table {
    /// legacy sequence (1 or 2 chars) -> Unicode letter
    tcvn3: HashMap<String, char>,
    vni: HashMap<String, char>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            tcvn3: HashMap::new(),
            vni: HashMap::new(),
        };
        for line in include_str!("../../data/legacy-vietnamese.tsv").lines() {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            if let [u, v, tc] = cols.as_slice()
                && let Some(uc) = u.chars().next()
            {
                t.vni.insert((*v).to_string(), uc);
                t.tcvn3.insert((*tc).to_string(), uc);
            }
        }
        t
    })
}

const TCVN3_MARKERS: &str = "µ¸¶·¹¨©ª«¬®¡¢£¤¥¦§\u{AD}";
const VNI_MARKERS: &str = "øûïëåäñöæîØÛÏËÅÄÑÖÆÎ";

fn only_latin1(s: &str) -> bool {
    s.chars().all(|c| (c as u32) <= 0xFF)
}

/// Count the markers of each encoding in `s`.
pub fn markers(s: &str) -> (usize, usize) {
    // Every marker is outside ASCII; most cells (IDs, codes, dates) are not.
    if s.is_ascii() {
        return (0, 0);
    }
    let t = s.chars().filter(|c| TCVN3_MARKERS.contains(*c)).count();
    let v = s.chars().filter(|c| VNI_MARKERS.contains(*c)).count();
    (t, v)
}

/// The encoding of one cell, when it carries markers and nothing Unicode-only.
pub fn detect_cell(s: &str) -> Option<Encoding> {
    if !only_latin1(s) {
        return None;
    }
    match markers(s) {
        (0, 0) => None,
        (t, v) if t >= v => Some(Encoding::Tcvn3),
        _ => Some(Encoding::Vni),
    }
}

/// The encoding of a whole sheet (all its text cells), if it is uniformly legacy.
pub fn detect_sheet<'a>(texts: impl Iterator<Item = &'a str>) -> Option<Encoding> {
    let (mut t, mut v) = (0, 0);
    for s in texts {
        if !only_latin1(s) {
            return None;
        }
        let (a, b) = markers(s);
        t += a;
        v += b;
    }
    match (t, v) {
        (0, 0) => None,
        (t, v) if t >= v => Some(Encoding::Tcvn3),
        _ => Some(Encoding::Vni),
    }
}

/// Decode legacy text to NFC Unicode: longest match first (a base letter and
/// its tone mark before either alone).
pub fn decode(s: &str, enc: Encoding) -> String {
    let map = match enc {
        Encoding::Tcvn3 => &table().tcvn3,
        Encoding::Vni => &table().vni,
    };
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 8);
    let mut i = 0;
    let mut key = String::with_capacity(8);
    while i < chars.len() {
        if i + 1 < chars.len() {
            key.clear();
            key.push(chars[i]);
            key.push(chars[i + 1]);
            if let Some(c) = map.get(&key) {
                out.push(*c);
                i += 2;
                continue;
            }
        }
        key.clear();
        key.push(chars[i]);
        match map.get(&key) {
            Some(c) => out.push(*c),
            None => out.push(chars[i]),
        }
        i += 1;
    }
    out.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_pairs() {
        assert_eq!(decode("M\u{AD}êng Kim", Encoding::Tcvn3), "Mường Kim");
        assert_eq!(decode("B¶n", Encoding::Tcvn3), "Bản");
        assert_eq!(decode("Tªn b¶n", Encoding::Tcvn3), "Tên bản");
        assert_eq!(decode("Tieáng Vieät", Encoding::Vni), "Tiếng Việt");
        assert_eq!(decode("Möôøng Kim", Encoding::Vni), "Mường Kim");
        assert_eq!(decode("Ñaát ñai", Encoding::Vni), "Đất đai");
    }

    #[test]
    fn detection() {
        assert_eq!(detect_cell("B¶n"), Some(Encoding::Tcvn3));
        assert_eq!(detect_cell("M\u{AD}êng Kim"), Some(Encoding::Tcvn3));
        assert_eq!(detect_cell("Tieáng Vieät"), Some(Encoding::Vni));
        // Unicode Vietnamese is never taken for legacy text.
        assert_eq!(detect_cell("Mường Kim"), None);
        assert_eq!(detect_cell("Bản"), None);
        assert_eq!(detect_cell("Pá Khoang"), None);
        assert_eq!(
            detect_sheet(["Tªn b¶n", "Pa Khoang", "12"].into_iter()),
            Some(Encoding::Tcvn3)
        );
        assert_eq!(detect_sheet(["Tên bản", "B¶n"].into_iter()), None);
    }

    #[test]
    fn every_letter_round_trips() {
        for line in include_str!("../../data/legacy-vietnamese.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
        {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(decode(cols[1], Encoding::Vni), cols[0], "VNI {line}");
            assert_eq!(decode(cols[2], Encoding::Tcvn3), cols[0], "TCVN3 {line}");
        }
    }
}
