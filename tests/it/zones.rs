//! Personal data stays private everywhere under `<out>`, not only in
//! `public/`: every file outside `private/` and `state/` (releases, the run
//! history, temporary leftovers, the aggregates) is scanned for every name,
//! raw ID, card code and full birth date of the fixtures; and a run started
//! under the usual umask 022 leaves every file that holds personal data
//! 0600 in 0700 folders.

use crate::common::{setup, tempdir};
use polars::prelude::*;
use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file and folder under `dir` (symlinks not followed: the stable
/// names point into the releases, which are walked themselves).
fn entries_under(dir: &Path) -> Vec<(PathBuf, bool)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            continue;
        }
        if t.is_dir() {
            out.push((p.clone(), true));
            out.extend(entries_under(&p));
        } else {
            out.push((p, false));
        }
    }
    out
}

fn personal_columns() -> HashSet<String> {
    let mut cols = HashSet::new();
    for p in tonghop::pipeline::builtin().unwrap() {
        for t in &p.tables {
            for c in &t.columns {
                if c.privacy != tonghop::pipeline::Privacy::Keep {
                    cols.insert(c.name.clone());
                }
            }
        }
    }
    cols
}

/// Every personal value of a run: the private tables' personal columns
/// (names, IDs, card codes; birth dates as ISO and as the sheets write
/// them) and the values of rejected personal cells. Dates that also occur
/// in a non-personal date column (a dossier received on someone's
/// birthday) are left out: seeing them is no leak.
pub fn secrets_of(out: &Path) -> HashSet<String> {
    let personal = personal_columns();
    let mut secrets = HashSet::new();
    let mut other_dates = HashSet::new();
    let private = out.join("private");
    for (f, is_dir) in entries_under(&private) {
        if is_dir || f.extension().is_none_or(|e| e != "parquet") {
            continue;
        }
        let df = ParquetReader::new(std::fs::File::open(&f).unwrap())
            .finish()
            .unwrap();
        let is_rejects = f.file_name().unwrap() == "rejects.parquet";
        if is_rejects {
            let cols = df.column("column").unwrap().str().unwrap().clone();
            let vals = df.column("value").unwrap().str().unwrap().clone();
            for (c, v) in cols.iter().zip(vals.iter()) {
                if let (Some(c), Some(v)) = (c, v)
                    && personal.contains(c)
                    && v.trim().chars().count() >= 6
                {
                    secrets.insert(v.trim().to_string());
                }
            }
            continue;
        }
        for c in df.columns() {
            let name = c.name().as_str();
            if c.dtype() == &DataType::Date {
                let dates: Vec<chrono::NaiveDate> =
                    c.date().unwrap().as_date_iter().flatten().collect();
                for d in dates {
                    let forms = [
                        d.format("%Y-%m-%d").to_string(),
                        d.format("%d/%m/%Y").to_string(),
                    ];
                    if personal.contains(name) {
                        secrets.extend(forms);
                    } else {
                        other_dates.extend(forms);
                    }
                }
            } else if personal.contains(name) {
                let s = c.cast(&DataType::String).unwrap();
                secrets.extend(
                    s.str()
                        .unwrap()
                        .iter()
                        .flatten()
                        .filter(|s| s.chars().count() >= 6)
                        .map(str::to_string),
                );
            }
        }
    }
    secrets.retain(|s| !other_dates.contains(s));
    secrets
}

/// The text a person or a program could get out of a file: the values of
/// a Parquet file, the XML of an xlsx, the bytes of anything else.
pub fn texts_of(path: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(b"PAR1") {
        let df = ParquetReader::new(std::io::Cursor::new(bytes))
            .finish()
            .unwrap();
        let mut out = Vec::new();
        for c in df.columns() {
            if let Ok(s) = c.cast(&DataType::String) {
                out.extend(s.str().unwrap().iter().flatten().map(str::to_string));
            }
        }
        return out;
    }
    if bytes.starts_with(b"PK") {
        let mut zip = ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut out = Vec::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let mut s = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut s).unwrap();
            out.push(String::from_utf8_lossy(&s).into_owned());
        }
        return out;
    }
    vec![String::from_utf8_lossy(&bytes).into_owned()]
}

fn under_private_or_state(out: &Path, p: &Path) -> bool {
    p.strip_prefix(out)
        .unwrap()
        .components()
        .any(|c| c.as_os_str() == "private" || c.as_os_str() == "state")
}

/// The leak scan: nothing personal in any file under `out` outside
/// `private/` and `state/`. Returns how many files were scanned.
pub fn assert_no_leak(out: &Path) -> usize {
    assert_no_leak_of_at_least(out, 30_000)
}

/// [`assert_no_leak`], for a tree holding at least `min` personal values
/// (a province fixture is small).
pub fn assert_no_leak_of_at_least(out: &Path, min: usize) -> usize {
    let secrets = secrets_of(out);
    assert!(
        secrets.len() > min,
        "{} personal values collected",
        secrets.len()
    );
    // Cells hold whole values; the text outputs are searched by substring
    // for the longer ones (a 6-letter name can be part of an ordinary word).
    let long: Vec<&String> = secrets.iter().filter(|s| s.chars().count() >= 9).collect();
    let finder = aho_corasick::AhoCorasick::new(&long).unwrap();
    let mut scanned = 0;
    for (f, is_dir) in entries_under(out) {
        if is_dir || under_private_or_state(out, &f) {
            continue;
        }
        scanned += 1;
        let parquet = std::fs::read(&f).unwrap().starts_with(b"PAR1");
        for text in texts_of(&f) {
            if parquet {
                assert!(
                    !secrets.contains(text.trim()),
                    "{} leaks {text:?}",
                    f.display()
                );
            } else if let Some(m) = finder.find(&text) {
                panic!("{} leaks {:?}", f.display(), long[m.pattern().as_usize()]);
            }
        }
    }
    scanned
}

#[test]
fn nothing_personal_outside_private_and_state() {
    let run = crate::common::run_fixtures();
    assert_eq!(run.exit_code, 0, "{}", run.stderr);
    let scanned = assert_no_leak(&run.out);
    // The public tables, the aggregates, run.json and the history at least.
    assert!(scanned >= 15, "only {scanned} files scanned");
}

/// `tonghop run` under a given umask, through the shell as a crontab line
/// would start it.
fn run_under_umask(umask: &str, cfg: &Path, extra: &str) -> (i32, String) {
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask {umask} && exec \"$0\" run --config \"$1\" {extra}"
        ))
        .arg(env!("CARGO_BIN_EXE_tonghop"))
        .arg(cfg)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
}

/// May this entry be readable by others? `public/`, the aggregates and the
/// run records, and the folders leading to them.
fn may_be_public(out: &Path, p: &Path, is_dir: bool) -> bool {
    let rel = p.strip_prefix(out).unwrap();
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let name = parts.last().unwrap().as_str();
    let top_file = |n: &str| {
        n == "run.json"
            || n == "tong-hop.xlsx"
            || n.starts_with("bao-cao.")
            || n.starts_with("indicators.")
            || n.starts_with("indicators_by_")
    };
    match parts
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["releases"] | ["runs"] => is_dir,
        ["runs", _] => !is_dir,
        ["releases", _] => is_dir,
        ["releases", _, "public", ..] => true,
        ["releases", _, _] => !is_dir && top_file(name),
        _ => false,
    }
}

#[test]
fn personal_data_is_private_whatever_the_umask() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let (code, err) = run_under_umask("022", &cfg, "");
    assert_eq!(code, 0, "{err}");
    let all = entries_under(&out);
    let mut private_files = 0;
    let mut wrong = Vec::new();
    for (p, is_dir) in &all {
        let m = mode(p);
        let public = may_be_public(&out, p, *is_dir);
        // Public: readable as the operator's umask 022 says; the rest private.
        let want = match (public, *is_dir) {
            (true, true) => 0o755,
            (true, false) => 0o644,
            (false, true) => 0o700,
            (false, false) => 0o600,
        };
        if m != want {
            wrong.push(format!("{} is {m:o}, not {want:o}", p.display()));
        }
        private_files += usize::from(!public && !is_dir);
    }
    assert!(
        wrong.is_empty(),
        "{} of {} entries have the wrong mode:\n{}",
        wrong.len(),
        all.len(),
        wrong.join("\n")
    );
    // The cache (outcomes and parts of 10 workbooks), the key, private tables,
    // rejects and feedback.
    let cache: Vec<_> = all
        .iter()
        .filter(|(p, d)| !d && p.starts_with(out.join("state/cache")))
        .collect();
    assert!(cache.len() >= 20, "{cache:?}");
    assert!(private_files >= 30, "{private_files} private files");
    assert_eq!(mode(&out.join("state")), 0o700);
    assert_eq!(mode(&out.join("state/hmac.key")), 0o600);

    // Folders and files an older version left open are closed again.
    let cache_dir = out.join("state/cache/bhyt");
    std::fs::set_permissions(&cache_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&cache[0].0, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(out.join("state"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let (code, err) = run_under_umask("022", &cfg, "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&out.join("state")), 0o700);
    assert_eq!(mode(&cache_dir), 0o700);
    for (p, is_dir) in entries_under(&out) {
        if !may_be_public(&out, &p, is_dir) {
            assert_eq!(mode(&p) & 0o077, 0, "{} is {:o}", p.display(), mode(&p));
        }
    }
}

#[test]
fn public_outputs_follow_the_operators_umask() {
    // systemd's UMask=0027: the public outputs for the group only.
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let (code, err) = run_under_umask("027", &cfg, "--only livestock");
    assert_eq!(code, 0, "{err}");
    let current = std::fs::canonicalize(out.join("current")).unwrap();
    assert_eq!(mode(&current), 0o750);
    assert_eq!(mode(&current.join("indicators.csv")), 0o640);
    assert_eq!(mode(&current.join("private")), 0o700);
    assert_eq!(mode(&current.join("private/rejects.csv")), 0o600);
    // The key is never readable by the group.
    assert_eq!(mode(&out.join("state/hmac.key")), 0o600);
}
