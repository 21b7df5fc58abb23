//! Property tests for the pure parsers and for header detection on synthetic
//! grids (run with the normal test suite).

use crate::ingest::Grid;
use crate::report::vnfmt::{Spec, format_vn};
use crate::shape::find_header;
use crate::values::date::parse_date_text;
use crate::values::ident::clean_digits;
use crate::values::number::{NumberKind, parse_number};
use crate::values::text::header_key;
use calamine::{Data, Range};
use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;
use unicode_normalization::UnicodeNormalization;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whole numbers written the Vietnamese way read back exactly.
    #[test]
    fn whole_numbers_round_trip(n in -1_000_000_000_000i64..1_000_000_000_000i64) {
        let text = format_vn(n as f64, &Spec::default());
        prop_assert_eq!(parse_number(&text, NumberKind::Whole), Some(n as f64), "{}", text);
        prop_assert_eq!(parse_number(&format!("{text} đồng"), NumberKind::Whole), Some(n as f64));
    }

    /// Decimals with a comma and grouped thousands read back.
    #[test]
    fn decimals_round_trip(int in 0u64..10_000_000, frac in 0u32..100) {
        let v = int as f64 + f64::from(frac) / 100.0;
        let text = format_vn(v, &Spec { decimals: 2, ..Spec::default() });
        let back = parse_number(&text, NumberKind::Decimal).unwrap();
        prop_assert!((back - v).abs() < 1e-6, "{} -> {}", text, back);
    }

    /// Every accepted text form of every date reads back as that date.
    #[test]
    fn dates_round_trip(days in 0i64..73_000) {
        let d = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Duration::days(days);
        for text in [
            d.format("%d/%m/%Y").to_string(),
            format!("{}/{}/{}", d.day(), d.month(), d.year()),
            d.format("%d-%m-%Y").to_string(),
            d.format("%d.%m.%Y").to_string(),
            d.format("%Y-%m-%d").to_string(),
            d.format("%d/%m/%Y 08:30").to_string(),
        ] {
            prop_assert_eq!(parse_date_text(&text), Some(d), "{}", text);
        }
    }

    /// Separators typed inside a 12-digit ID are removed; the digits stay.
    #[test]
    fn ids_with_separators(digits in "[0-9]{12}", seps in proptest::collection::vec(prop_oneof![Just(" "), Just("."), Just("-"), Just("")], 12)) {
        let typed: String = digits.chars().zip(&seps).map(|(c, s)| format!("{c}{s}")).collect();
        prop_assert_eq!(clean_digits(&typed, 12, false, 1), Ok(digits.clone()));
    }

    /// Header keys ignore case, Unicode form, spacing and trailing marks.
    #[test]
    fn header_keys_are_stable(words in proptest::collection::vec("[a-zA-Zàáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]{1,8}", 1..5)) {
        let plain = words.join(" ");
        let key = header_key(&plain);
        prop_assert_eq!(header_key(&key), key.clone());
        let nfd: String = plain.nfd().collect();
        prop_assert_eq!(header_key(&nfd), key.clone());
        prop_assert_eq!(header_key(&format!("  {}\u{00A0}:", plain.to_uppercase())), key.clone());
        prop_assert_eq!(header_key(&format!("{} (*)", words.join("\n"))), key);
    }

    /// The BHYT header is found under any title block, in any column order
    /// and any case, and each column maps to its logical column.
    #[test]
    fn header_found_in_synthetic_grids(title_rows in 0u32..12, order in Just((0..5usize).collect::<Vec<_>>()).prop_shuffle(), upper in any::<bool>()) {
        let headers = ["Họ và tên", "Ngày sinh", "Số định danh cá nhân", "Mã thẻ BHYT", "Bản"];
        let logical = ["full_name", "birth_date", "personal_id", "card_code", "village"];
        let mut r: Range<Data> = Range::new((0, 0), (title_rows + 3, 5));
        for t in 0..title_rows {
            r.set_value((t, 0), Data::String(format!("DÒNG TIÊU ĐỀ {t}")));
        }
        for (c, &h) in order.iter().enumerate() {
            let text = if upper { headers[h].to_uppercase() } else { headers[h].to_string() };
            r.set_value((title_rows, c as u32), Data::String(text));
            r.set_value((title_rows + 1, c as u32), Data::String(format!("giá trị {c}")));
        }
        let grid = Grid::new(r, Vec::new());
        let pipelines = crate::pipeline::builtin().unwrap();
        let table = &pipelines.iter().find(|p| p.name == "bhyt").unwrap().tables[0];
        let h = find_header(&grid, table).unwrap();
        prop_assert_eq!(h.row, title_rows);
        for (c, &hi) in order.iter().enumerate() {
            let li = table.columns.iter().position(|col| col.name == logical[hi]).unwrap();
            prop_assert_eq!(h.columns[li], Some(c as u32));
        }
    }
}
