//! Personal data stays in `private/`: every file under `public/` (and the
//! aggregate outputs at the top of `<out>`) is scanned for every name, ID and
//! card code the fixtures contain; `private/` is 0700 with 0600 files.

use crate::common::{read, run_fixtures};
use polars::prelude::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[test]
fn public_zone_holds_no_names_or_ids() {
    let run = run_fixtures();
    let out = &run.out;
    // Everything personal that the private tables and rejects hold.
    let secrets = crate::zones::secrets_of(out);
    let public = files_under(&out.join("public"));
    assert_eq!(
        public.len(),
        tonghop::pipeline::builtin()
            .unwrap()
            .iter()
            .map(|p| p.tables.len())
            .sum::<usize>(),
        "one public table per normalised table: {public:?}"
    );
    for f in &public {
        for v in crate::zones::texts_of(f) {
            assert!(!secrets.contains(&v), "{} leaks {v:?}", f.display());
        }
    }
    // The public BHYT table: hashed IDs (64 hex), birth years, no names.
    let bhyt = public
        .iter()
        .find(|p| p.to_string_lossy().contains("bhyt_persons"))
        .unwrap();
    let df = ParquetReader::new(std::fs::File::open(bhyt).unwrap())
        .finish()
        .unwrap();
    assert!(df.column("full_name").is_err());
    assert!(df.column("birth_date").is_err());
    assert_eq!(
        df.column("birth_date_year").unwrap().dtype(),
        &DataType::Int32
    );
    let ids = df.column("personal_id").unwrap().str().unwrap().clone();
    assert!(ids.iter().all(|s| s.is_some_and(|s| s.len() == 64)));
    assert_eq!(df.height(), 20213);
    // Aggregate outputs at the top hold no personal values either (all
    // ~40,000 searched at once: one by one took four minutes).
    let long: Vec<&String> = secrets.iter().filter(|s| s.chars().count() >= 9).collect();
    let long_secrets = aho_corasick::AhoCorasick::new(&long).unwrap();
    for name in [
        "indicators.csv",
        "indicators_by_village.csv",
        "run.json",
        "bao-cao.md",
        "bao-cao.html",
    ] {
        let text = read(&out.join(name));
        if let Some(m) = long_secrets.find(&text) {
            panic!("{name} leaks {:?}", &text[m.start()..m.end()]);
        }
    }
    // private/ is the statistician's: 0700 folders, 0600 files.
    let private = std::fs::canonicalize(out.join("private")).unwrap();
    assert_eq!(
        std::fs::metadata(&private).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for f in files_under(&private) {
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600,
            "{}",
            f.display()
        );
    }
}

#[test]
fn hashes_are_stable_and_keyed() {
    let a = tonghop::privacy::Pseudonymizer::with_key(b"0123456789abcdef-key-one");
    let b = tonghop::privacy::Pseudonymizer::with_key(b"0123456789abcdef-key-two");
    assert_eq!(a.hash("012190123456"), a.hash("012190123456"));
    assert_ne!(a.hash("012190123456"), b.hash("012190123456"));
}
