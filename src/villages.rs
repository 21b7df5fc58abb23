//! One name per village. The commune config lists its villages (`[[villages]]`
//! with a canonical `name` and accepted `variants`); a column declared
//! `list = "villages"` in a pipeline file is matched against that list on a
//! normalised key (NFC, case, spacing, the "bản" / "thôn" / "xóm" / "tổ"
//! prefix), so "Bản Lướt", "BẢN LƯỚT", "bản Lướt" and "Lướt" are one village.
//! A name that matches none, or more than one, is an `unknown_village`
//! warning and never becomes a village of its own (the row still counts in
//! the commune's figures; it has no place in the by-village breakdowns).

use crate::values::text::value_key;
use foldhash::HashMap;

/// Words a village name may start with that are not part of it.
const PREFIXES: [&str; 6] = ["bản", "thôn", "xóm", "tổ dân phố", "tổ", "khu"];

/// The comparison key of a village name: "  BẢN  Lướt " -> "lướt".
pub fn key(name: &str) -> String {
    let k = value_key(name);
    let mut k = k.trim().trim_end_matches(['.', ',']).to_string();
    loop {
        let before = k.len();
        for p in PREFIXES {
            if let Some(rest) = k.strip_prefix(p)
                && let Some(rest) = rest.strip_prefix([' ', ':', '.'])
            {
                k = rest.trim_start().to_string();
                break;
            }
        }
        if k.len() == before {
            break;
        }
    }
    k
}

#[derive(Debug, Clone, Default)]
pub struct Villages {
    /// Canonical names, in the config's order.
    pub names: Vec<String>,
    /// key -> indices into `names` (more than one: ambiguous).
    by_key: HashMap<String, Vec<usize>>,
}

/// How a written name matched.
#[derive(Debug, PartialEq, Eq)]
pub enum Match<'a> {
    Known(&'a str),
    Unknown,
    Ambiguous(Vec<&'a str>),
}

impl Villages {
    /// `(name, variants)` as the config lists them. A key shared by two
    /// villages is ambiguous (reported when a cell uses it).
    pub fn new(list: &[(String, Vec<String>)]) -> Villages {
        let mut v = Villages::default();
        for (i, (name, variants)) in list.iter().enumerate() {
            v.names.push(crate::values::text::clean(name).into_owned());
            for spelling in std::iter::once(name).chain(variants) {
                let ids = v.by_key.entry(key(spelling)).or_default();
                if !ids.contains(&i) {
                    ids.push(i);
                }
            }
        }
        v
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn lookup(&self, written: &str) -> Match<'_> {
        match self.by_key.get(&key(written)).map(Vec::as_slice) {
            Some([i]) => Match::Known(&self.names[*i]),
            Some(many) if !many.is_empty() => {
                Match::Ambiguous(many.iter().map(|i| self.names[*i].as_str()).collect())
            }
            _ => Match::Unknown,
        }
    }

    /// For the cache key: the list as matched.
    pub fn fingerprint(&self) -> String {
        let mut keys: Vec<(&String, &Vec<usize>)> = self.by_key.iter().collect();
        keys.sort();
        format!("{:?}|{keys:?}", self.names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list() -> Villages {
        Villages::new(&[
            ("Bản Lướt".into(), vec![]),
            ("Pá Khoang".into(), vec!["Pa Khoang".into()]),
            ("Nà Ngò".into(), vec![]),
            ("Nà Ngò 2".into(), vec!["Nà Ngò".into()]),
        ])
    }

    #[test]
    fn four_spellings_one_village() {
        use unicode_normalization::UnicodeNormalization;
        let v = list();
        let nfd: String = "Bản Lướt".nfd().collect();
        assert_ne!(nfd, "Bản Lướt");
        for w in [
            "Bản Lướt",
            "BẢN LƯỚT",
            "bản Lướt",
            "Lướt",
            " Bản\u{a0}Lướt ",
            &nfd,
            "Thôn Lướt",
        ] {
            assert_eq!(v.lookup(w), Match::Known("Bản Lướt"), "{w:?}");
        }
        assert_eq!(v.lookup("Pa Khoang"), Match::Known("Pá Khoang"));
        assert_eq!(v.lookup("Bản Pá Khoang"), Match::Known("Pá Khoang"));
        assert_eq!(v.lookup("Mường So"), Match::Unknown);
        assert_eq!(
            v.lookup("Nà Ngò"),
            Match::Ambiguous(vec!["Nà Ngò", "Nà Ngò 2"])
        );
    }
}
