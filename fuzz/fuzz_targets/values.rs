#![no_main]
//! Every text parser on arbitrary text: no panic, and the invariants hold.
use libfuzzer_sys::fuzz_target;
use tonghop_fuzz::{date, ident, legacy, number, text};

fuzz_target!(|s: &str| {
    let cleaned = text::clean(s);
    assert_eq!(text::clean(&cleaned), cleaned, "clean is idempotent");
    let key = text::header_key(s);
    assert_eq!(text::header_key(&key), key, "header_key is idempotent");
    let _ = text::value_key(s);
    for kind in [number::NumberKind::Whole, number::NumberKind::Decimal] {
        if let Some(v) = number::parse_number(s, kind) {
            assert!(v.is_finite() || s.len() > 300, "{s:?} -> {v}");
        }
    }
    if let Some(d) = date::parse_date_text(s) {
        assert_eq!(date::parse_date_text(&d.format("%d/%m/%Y").to_string()), Some(d));
    }
    if let Ok(id) = ident::clean_digits(s, 12, false, 1) {
        assert_eq!(id.len(), 12);
        let _ = ident::decode_personal_id(&id);
    }
    if let Some(e) = legacy::detect_cell(s) {
        let _ = legacy::decode(s, e);
    }
});
