//! A run never publishes a worse picture than the last release: a changed
//! hashing key, an empty or unmounted inbox, `--only`, a full disk, a
//! read-only or unwritable output folder, and a crash at each step of
//! publishing (deterministic kill points).

use crate::common::{read, setup, tempdir};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Outcome {
    pub code: i32,
    pub signal: Option<i32>,
    pub report: serde_json::Value,
    pub stdout: String,
    pub stderr: String,
}

/// `tonghop run --config CFG EXTRA…` with `env`; reads `<cfg dir>/out/run.json`.
fn run_env(cfg: &Path, extra: &[&str], env: &[(&str, &str)]) -> Outcome {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tonghop"));
    c.args(["run", "--config", cfg.to_str().unwrap()])
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().unwrap();
    let report = std::fs::read_to_string(cfg.parent().unwrap().join("out/run.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    Outcome {
        code: o.status.code().unwrap_or(-1),
        signal: o.status.signal(),
        report,
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(cfg: &Path, extra: &[&str]) -> Outcome {
    run_env(cfg, extra, &[])
}

fn current(out: &Path) -> PathBuf {
    std::fs::read_link(out.join("current")).unwrap()
}

fn status_of<'a>(report: &'a serde_json::Value, pipeline: &str) -> &'a serde_json::Value {
    report["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == pipeline)
        .unwrap_or_else(|| panic!("{pipeline} not in run.json pipelines"))
}

/// Indicator rows of `indicators.csv` whose id starts with `prefix`.
fn rows_of(out: &Path, prefix: &str) -> Vec<String> {
    read(&out.join("indicators.csv"))
        .lines()
        .filter(|l| l.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_changed_hmac_key_is_refused_unless_rekey() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let key_a = [("TONGHOP_HMAC_KEY", "0123456789abcdef-key-A")];
    let key_b = [("TONGHOP_HMAC_KEY", "0123456789abcdef-key-B")];
    let first = run_env(&cfg, &["--only", "livestock"], &key_a);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let fp = first.report["key_fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(fp.len(), 16, "{fp}");
    assert!(!read(&out.join("run.json")).contains("key-A"));
    let published = current(&out);
    // Another key: refused before anything is written.
    let refused = run_env(&cfg, &["--only", "livestock"], &key_b);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("the HMAC key changed") && refused.stderr.contains("--rekey"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains(&fp), "{}", refused.stderr);
    assert_eq!(current(&out), published);
    assert_eq!(
        std::fs::read_dir(out.join("releases")).unwrap().count(),
        1,
        "a refused run leaves no release"
    );
    // --rekey with --only would leave old hashes in the carried tables.
    let only = run_env(&cfg, &["--rekey", "--only", "livestock"], &key_b);
    assert_eq!(only.code, 2, "{}", only.stderr);
    assert!(only.stderr.contains("without --only"), "{}", only.stderr);
    // On purpose: published, with the new fingerprint.
    let rekeyed = run_env(&cfg, &["--rekey"], &key_b);
    assert_eq!(rekeyed.code, 0, "{}", rekeyed.stderr);
    let fp_b = rekeyed.report["key_fingerprint"].as_str().unwrap();
    assert_ne!(fp_b, fp);
    assert_eq!(run_env(&cfg, &[], &key_b).code, 0);
    // A generated key file that disappears is refused too (not silently
    // replaced by a new one).
    let dir = tempdir();
    let cfg = setup(dir.path());
    assert_eq!(run(&cfg, &["--only", "livestock"]).code, 0);
    std::fs::remove_file(dir.path().join("out/state/hmac.key")).unwrap();
    let gone = run(&cfg, &["--only", "livestock"]);
    assert_eq!(gone.code, 2, "{}", gone.stderr);
    assert!(
        gone.stderr.contains("the HMAC key is missing"),
        "{}",
        gone.stderr
    );
    assert!(!dir.path().join("out/state/hmac.key").exists());
}

#[test]
fn a_missing_inbox_is_a_configuration_error_naming_it() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    std::fs::remove_dir_all(dir.path().join("inbox")).unwrap();
    let r = run(&cfg, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("inbox folder") && r.stderr.contains("does not exist"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("inbox"), "{}", r.stderr);
    assert!(!dir.path().join("out/current").exists());
}

#[test]
fn an_emptied_pipeline_fails_and_keeps_its_last_figures_marked_stale() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let first = run(&cfg, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let first_id = first.report["run_id"].as_str().unwrap().to_string();
    let bhyt_before: Vec<String> = rows_of(&out, "bhyt.");
    assert_eq!(bhyt_before.len(), 4);
    // The share is not mounted: the bhyt folder is there but empty.
    let bhyt = dir.path().join("inbox/bhyt");
    std::fs::rename(&bhyt, dir.path().join("bhyt-away")).unwrap();
    std::fs::create_dir(&bhyt).unwrap();
    let r = run(&cfg, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let st = status_of(&r.report, "bhyt");
    assert_eq!(st["status"], "missing_inputs");
    assert_eq!(st["computed_by"], first_id.as_str());
    assert!(
        r.stdout.contains("FAILED bhyt: thiếu tệp / missing inputs"),
        "{}",
        r.stdout
    );
    // Same figures, marked with the run they came from; nothing is zero.
    let rows = rows_of(&out, "bhyt.");
    assert_eq!(rows.len(), 4);
    for (now, before) in rows.iter().zip(&bhyt_before) {
        // the same line, with the run it came from in `stale_since` (6th
        // from the end: 4 exclusion counts, the commune and the period follow)
        let mut fields: Vec<&str> = before.split(',').collect();
        let at = fields.len() - 7;
        assert_eq!(fields[at], "", "{before}");
        fields[at] = &first_id;
        assert_eq!(*now, fields.join(","));
    }
    assert!(rows[0].starts_with("bhyt.cards_total,20213,"), "{rows:?}");
    assert!(r.stdout.contains("[cũ / stale: run"), "{}", r.stdout);
    // The other pipelines are computed as usual.
    assert_eq!(status_of(&r.report, "vneid")["status"], "computed");
    let vneid = &rows_of(&out, "vneid.")[0];
    assert!(vneid.contains(",vneid,,"), "{vneid}");
    // The table is still published, its rows and rejects too.
    let df = polars::prelude::ParquetReader::new(
        std::fs::File::open(out.join(
            "private/tables/bhyt_persons/commune=03637/period=2026-01-01_2026-06-19/part-0.parquet",
        ))
        .unwrap(),
    );
    use polars::prelude::SerReader;
    assert_eq!(df.finish().unwrap().height(), 20213);
    assert!(read(&out.join("private/rejects.csv")).contains("\nbhyt,persons,"));
    assert!(
        read(&out.join("bao-cao.md")).contains(&format!("là của lần chạy {first_id} (số liệu cũ)")),
        "{}",
        read(&out.join("bao-cao.md"))
    );
    let files = r.report["files"].as_array().unwrap();
    assert!(
        files
            .iter()
            .filter(|f| f["pipeline"] == "bhyt")
            .all(|f| f["carried"] == true && f["stale"] == true)
    );
    // Told on purpose that the department has no files: no figures, exit 0.
    let r = run(&cfg, &["--allow-empty", "bhyt"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(status_of(&r.report, "bhyt")["status"], "no_workbooks");
    assert!(rows_of(&out, "bhyt.cards_total")[0].starts_with("bhyt.cards_total,,"));
    // The files come back: computed again from the cache.
    std::fs::remove_dir(&bhyt).unwrap();
    std::fs::rename(dir.path().join("bhyt-away"), &bhyt).unwrap();
    let r = run(&cfg, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(rows_of(&out, "bhyt."), bhyt_before);
}

#[test]
fn a_first_run_with_an_empty_pipeline_folder_says_no_workbooks() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    std::fs::remove_dir_all(dir.path().join("inbox/land")).unwrap();
    let r = run(&cfg, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(status_of(&r.report, "land")["status"], "no_workbooks");
    assert!(
        r.stdout.contains("land: chưa có tệp / no workbooks"),
        "{}",
        r.stdout
    );
    // No figure, not zero.
    let land = rows_of(&out, "land.");
    assert!(!land.is_empty());
    for row in &land {
        assert!(row.split(',').nth(1) == Some(""), "{row}");
    }
    assert!(
        read(&out.join("bao-cao.md")).contains("(chưa có số liệu)"),
        "{}",
        read(&out.join("bao-cao.md"))
    );
}

#[test]
fn a_workbook_at_the_top_of_the_inbox_is_listed_as_ignored() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let inbox = dir.path().join("inbox");
    std::fs::copy(
        inbox.join("land/Sổ theo dõi đất đai 6 tháng 2026.xlsx"),
        inbox.join("Sổ đất đai gửi nhầm chỗ.xlsx"),
    )
    .unwrap();
    std::fs::create_dir_all(inbox.join("dat dai")).unwrap();
    std::fs::copy(
        inbox.join("land/Sổ theo dõi đất đai 6 tháng 2026.xlsx"),
        inbox.join("dat dai/sổ.xlsx"),
    )
    .unwrap();
    let r = run(&cfg, &["--only", "land"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ignored = r.report["ignored_files"].as_array().unwrap();
    let top = ignored
        .iter()
        .find(|i| i["path"] == "Sổ đất đai gửi nhầm chỗ.xlsx")
        .unwrap_or_else(|| panic!("{ignored:?}"));
    assert!(
        top["reason"]
            .as_str()
            .unwrap()
            .contains("not in a pipeline folder"),
        "{top}"
    );
    let other = ignored
        .iter()
        .find(|i| i["path"] == "dat dai/sổ.xlsx")
        .unwrap_or_else(|| panic!("{ignored:?}"));
    assert!(other["reason"].as_str().unwrap().contains("no pipeline's"));
    assert!(
        r.stdout.contains("ignored Sổ đất đai gửi nhầm chỗ.xlsx:"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ignored dat dai/sổ.xlsx:"),
        "{}",
        r.stdout
    );
    // Counted once: the land figures are those of the one land workbook.
    assert!(read(&dir.path().join("out/indicators.csv")).contains("land.dossiers_received,111,"));
}

#[test]
fn only_never_removes_the_other_pipelines_outputs() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let full = run(&cfg, &[]);
    assert_eq!(full.code, 0, "{}", full.stderr);
    let full_id = full.report["run_id"].as_str().unwrap().to_string();
    let indicators = read(&out.join("indicators.csv"));
    let rejects = read(&out.join("private/rejects.csv"));
    let by_village = read(&out.join("indicators_by_village.csv"));
    let feedback = |out: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(out.join("private/phan-hoi"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let feedback_full = feedback(&out);
    let tables = |out: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(out.join("public/tables"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let tables_full = tables(&out);
    assert_eq!(
        tables_full.len(),
        tonghop::pipeline::builtin()
            .unwrap()
            .iter()
            .map(|p| p.tables.len())
            .sum::<usize>()
    );

    let only = run(&cfg, &["--only", "bhyt"]);
    assert_eq!(only.code, 0, "{}", only.stderr);
    let only_id = only.report["run_id"].as_str().unwrap();
    assert_ne!(only_id, full_id);
    // Every figure, breakdown, reject, feedback workbook and table is still there.
    assert_eq!(read(&out.join("indicators.csv")), indicators);
    assert_eq!(read(&out.join("indicators_by_village.csv")), by_village);
    assert_eq!(read(&out.join("private/rejects.csv")), rejects);
    assert_eq!(feedback(&out), feedback_full);
    assert_eq!(tables(&out), tables_full);
    // run.json says which run computed each pipeline.
    assert_eq!(status_of(&only.report, "bhyt")["computed_by"], only_id);
    for p in ["vneid", "land", "livestock"] {
        let st = status_of(&only.report, p);
        assert_eq!(st["status"], "carried", "{p}");
        assert_eq!(st["computed_by"], full_id.as_str(), "{p}");
    }
    // Every workbook of the other ten pipelines: 17 in the inbox, 4 BHYT lists.
    assert_eq!(only.report["totals"]["files_carried"], 13);
    assert_eq!(
        only.report["totals"]["rows_read"],
        full.report["totals"]["rows_read"]
    );
    // Another period with --only would publish fewer figures (the others'
    // are the old period's): refused, nothing touched.
    let published = current(&out);
    let other = dir.path().join("other-period.toml");
    std::fs::write(
        &other,
        read(&cfg).replace("to = 2026-06-19", "to = 2026-06-30"),
    )
    .unwrap();
    let refused = run(&other, &["--only", "bhyt"]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("--only keeps the other pipelines' outputs")
            && refused.stderr.contains("period 2026-01-01 – 2026-06-19"),
        "{}",
        refused.stderr
    );
    assert_eq!(current(&out), published);
    // Carried again by the next --only run: still the run that computed them.
    let again = run(&cfg, &["--only", "land", "--full"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(
        status_of(&again.report, "vneid")["computed_by"],
        full_id.as_str()
    );
    assert_eq!(status_of(&again.report, "bhyt")["computed_by"], only_id);
    assert_eq!(read(&out.join("indicators.csv")), indicators);
}

/// A tmpfs mounted for one test, unmounted when dropped; `None` (the test
/// skips, saying why) where mounting is not possible, except in CI.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, options: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must be able to mount a tmpfs (runs as root)"
            );
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs(at.to_path_buf()))
    }

    fn remount(&self, options: &str) {
        let s = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(s.success(), "remount {options}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn release_names(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out.join("releases"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A config writing to `<dir>/disk/out`, on a small tmpfs.
fn on_tmpfs(dir: &Path, size: &str) -> Option<(PathBuf, Tmpfs)> {
    let cfg = setup(dir);
    let disk = Tmpfs::mount(&dir.join("disk"), &format!("size={size}"))?;
    let text = read(&cfg).replace("out = \"out\"", "out = \"disk/out\"");
    std::fs::write(&cfg, text).unwrap();
    Some((dir.join("disk/out"), disk))
}

#[test]
fn a_full_disk_keeps_the_previous_release_and_the_next_run_succeeds() {
    let dir = tempdir();
    let Some((out, _disk)) = on_tmpfs(dir.path(), "24m") else {
        return;
    };
    let cfg = dir.path().join("tonghop.toml");
    let first = run(&cfg, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let good = read(&out.join("indicators.csv"));
    let published = current(&out);
    let releases = release_names(&out);
    // Leave 1.5 MB: less than a release needs (about 3.5 MB).
    let st = free_bytes(&out);
    let filler = dir.path().join("disk/filler");
    std::fs::write(&filler, vec![0u8; (st - 1_500_000) as usize]).unwrap();
    let r = run(&cfg, &["--full"]);
    // A fatal run error: its own exit code, not a workbook's.
    assert_eq!(r.code, 4, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("đĩa đầy / disk full: tmpfs mounted at"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("while writing "), "{}", r.stderr);
    assert!(r.stderr.contains("disk/out/"), "{}", r.stderr);
    // The previous release is current, whole and readable; the unfinished
    // one is gone.
    assert_eq!(current(&out), published);
    assert_eq!(read(&out.join("indicators.csv")), good);
    assert_eq!(release_names(&out), releases);
    assert!(out.join("current/.complete").exists());
    // With room again, the next run succeeds.
    std::fs::remove_file(&filler).unwrap();
    let r = run(&cfg, &["--full"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_ne!(current(&out), published);
    assert_eq!(read(&out.join("indicators.csv")), good);
}

/// Free bytes of the file system holding `p`.
fn free_bytes(p: &Path) -> u64 {
    let o = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(p)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Every path under `dir` with its size and modification time.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            v.push((e.path(), m.len(), m.modified().unwrap()));
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    v.sort();
    v
}

#[test]
fn a_read_only_output_folder_is_refused_naming_it_and_nothing_is_touched() {
    let dir = tempdir();
    let Some((out, disk)) = on_tmpfs(dir.path(), "24m") else {
        return;
    };
    let cfg = dir.path().join("tonghop.toml");
    assert_eq!(run(&cfg, &["--only", "livestock"]).code, 0);
    disk.remount("ro");
    let before = snapshot(&out);
    let r = run(&cfg, &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("output folder"))
        .unwrap();
    assert!(
        line.contains("cannot write to the output folder")
            && line.contains("disk/out")
            && line.contains("read-only file system"),
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&out), before);
    disk.remount("rw");
}

#[test]
fn an_unwritable_output_folder_is_refused_naming_the_permission() {
    // Root may write anywhere: run tonghop as `nobody` on a folder of root's.
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 || Command::new("setpriv").arg("--version").output().is_err()
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root with setpriv"
        );
        eprintln!("skipped: needs root and setpriv to run as another user");
        return;
    }
    let dir = tempdir();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = setup(dir.path());
    // The holidays and the binary where `nobody` can read them.
    crate::common::copy_dir(
        &crate::common::repo().join("config/holidays"),
        &dir.path().join("holidays"),
    );
    let text = read(&cfg);
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("holidays =") {
                "holidays = \"holidays\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&cfg, text).unwrap();
    let exe = dir.path().join("tonghop");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_tonghop"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_tonghop"), &exe).unwrap();
    }
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args(["run", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("cannot write to the output folder")
            && err.contains("permission denied (mode 755, owner uid 0; this run is uid 65534)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        0,
        "nothing touched"
    );
}

#[test]
fn a_crash_at_each_step_of_publishing_leaves_a_whole_release() {
    let dir = tempdir();
    let cfg = setup(dir.path());
    let out = dir.path().join("out");
    let first = run(&cfg, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let good = read(&out.join("indicators.csv"));
    for point in ["read", "tables", "outputs", "complete", "switched"] {
        let before = current(&out);
        let r = run_env(&cfg, &["--full"], &[("TONGHOP_FAULT_ABORT_AT", point)]);
        // It really died there (SIGABRT), not after finishing.
        assert_eq!(r.signal, Some(libc::SIGABRT), "{point}: {}", r.stderr);
        assert!(
            r.stderr
                .contains(&format!("TONGHOP_FAULT_ABORT_AT={point}: aborting here")),
            "{point}: {}",
            r.stderr
        );
        let now = current(&out);
        if point == "switched" {
            // Switched: the new release is current, and it is complete.
            assert_ne!(now, before, "{point}");
        } else {
            assert_eq!(now, before, "{point}");
        }
        assert!(out.join(&now).join(".complete").exists(), "{point}");
        assert_eq!(read(&out.join("indicators.csv")), good, "{point}");
        let report: serde_json::Value = serde_json::from_str(&read(&out.join("run.json"))).unwrap();
        assert_eq!(report["exit_code"], 0, "{point}");
        // The next run is clean: completes and leaves no unfinished release.
        let next = run(&cfg, &[]);
        assert_eq!(next.code, 0, "after {point}: {}", next.stderr);
        for e in std::fs::read_dir(out.join("releases")).unwrap().flatten() {
            assert!(
                e.path().join(".complete").exists(),
                "after {point}: {} left behind",
                e.path().display()
            );
        }
        assert_eq!(read(&out.join("indicators.csv")), good, "after {point}");
    }
}
