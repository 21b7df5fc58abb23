//! Vietnamese order for names people read (villages, species, age bands):
//! ICU4X's collation with the Vietnamese tailoring ("Ă" after "A", "Đ"
//! after "D", tones as secondary differences), not byte order, in which
//! "Đ" sorts after "Z" and "Á" after every unaccented name.

use icu_collator::options::CollatorOptions;
use icu_collator::{Collator, CollatorBorrowed};
use std::cmp::Ordering;
use std::sync::OnceLock;

fn collator() -> &'static CollatorBorrowed<'static> {
    static C: OnceLock<CollatorBorrowed<'static>> = OnceLock::new();
    C.get_or_init(|| {
        let vi: icu_locale_core::Locale = "vi".parse().expect("the locale id 'vi' parses");
        Collator::try_new((&vi).into(), CollatorOptions::default())
            .expect("compiled collation data has Vietnamese")
    })
}

/// Compare as a Vietnamese dictionary does; byte order breaks ties, so the
/// order is total and stable.
pub fn vietnamese(a: &str, b: &str) -> Ordering {
    collator().compare(a, b).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_order() {
        let mut v = vec![
            "Phiêng Áng",
            "Đông Pao",
            "Nà Ngò",
            "Bản Lướt",
            "Ăn Khe",
            "An Lộc",
            "Pá Khoang",
            "Nà Cóc",
        ];
        v.sort_by(|a, b| vietnamese(a, b));
        assert_eq!(
            v,
            [
                "An Lộc",
                "Ăn Khe",
                "Bản Lướt",
                "Đông Pao",
                "Nà Cóc",
                "Nà Ngò",
                "Pá Khoang",
                "Phiêng Áng"
            ]
        );
        // Byte order would put "Đông Pao" last and "Ăn Khe" after "Phiêng Áng".
        let mut bytes = v.clone();
        bytes.sort();
        assert_ne!(bytes, v);
    }
}
