//! The run configuration (`config/tonghop.toml`): which commune and period,
//! where the inbox and outputs are, plan targets. Parsed strictly: an unknown
//! key is an error naming the key. Relative paths resolve against the folder
//! of the config file, so the file works from any working directory.

use chrono::NaiveDate;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    commune: RawCommune,
    run: RawRun,
    period: RawPeriod,
    #[serde(default)]
    targets: BTreeMap<String, f64>,
    /// Numbers and dates pipelines may read (e.g.
    /// "land.deadline_extension_days" = 10, "tasks.counted_to" = 2026-06-08).
    #[serde(default)]
    params: BTreeMap<String, RawParam>,
    calendar: Option<RawCalendar>,
    #[serde(default)]
    limits: Limits,
    privacy: Option<RawPrivacy>,
    /// The commune's own spellings for built-in columns, keyed by
    /// `pipeline.table.column`: more header texts, and more spellings of an
    /// enum's values (see [`Spellings`]).
    #[serde(default)]
    aliases: BTreeMap<String, RawSpellings>,
    /// The commune's villages (bản, thôn), with the spellings accepted.
    #[serde(default)]
    villages: Vec<RawVillage>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawParam {
    Number(f64),
    Date(toml::value::Datetime),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVillage {
    name: String,
    #[serde(default)]
    variants: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawSpellings {
    /// `"bhyt.persons.full_name" = ["Tên người tham gia"]`
    Headers(Vec<String>),
    /// `"bhyt.persons.sex" = { headers = ["Phái"], values = { nu = ["Gái"] } }`
    Full(RawSpellingsFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpellingsFull {
    #[serde(default)]
    headers: Vec<String>,
    #[serde(default)]
    values: BTreeMap<String, Vec<String>>,
}

pub use crate::pipeline::Spellings;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrivacy {
    /// A file holding the HMAC key for the public zone's hashed IDs.
    key_file: Option<PathBuf>,
}

/// What one workbook may cost. Exceeding a limit rejects that workbook, with
/// the limit named, and leaves the rest of the run unaffected.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Size of the file on disk.
    pub max_file_bytes: u64,
    /// Uncompressed size of any one part of a zip-based workbook (xlsx, ods),
    /// read from the archive directory before anything is inflated.
    pub max_part_bytes: u64,
    /// Used range (rows × columns) of one sheet.
    pub max_cells_per_sheet: u64,
    /// Accepted rows of one table from one workbook.
    pub max_rows_per_table: u64,
    /// Wall time spent on one workbook, checked between sheets and rows.
    pub max_seconds_per_file: u64,
    /// Read each workbook in a child process of its own, with this address
    /// space (bytes), killed after `max_seconds_per_file`: a reader that
    /// aborts, loops or allocates without bound costs only that workbook.
    /// 0 reads in-process.
    pub isolate_memory_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 200 * 1024 * 1024,
            max_part_bytes: 1024 * 1024 * 1024,
            max_cells_per_sheet: 20_000_000,
            max_rows_per_table: 2_000_000,
            max_seconds_per_file: 600,
            isolate_memory_bytes: 8 * 1024 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    /// Folder of `<year>.toml` holiday files.
    holidays: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCommune {
    code: String,
    name: String,
    province: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRun {
    inbox: PathBuf,
    out: PathBuf,
    pipelines: Option<PathBuf>,
    /// When a workbook that was read before fails now, keep its last good
    /// rows (marked stale in run.json) instead of dropping them. Default true.
    keep_stale: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriod {
    from: toml::value::Datetime,
    to: toml::value::Datetime,
}

#[derive(Debug, Clone)]
pub struct Commune {
    pub code: String,
    pub name: String,
    pub province: String,
}

pub use crate::model::Period;

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub commune: Commune,
    pub inbox: PathBuf,
    pub out: PathBuf,
    /// `None`: the definitions compiled into the binary.
    pub pipelines: Option<PathBuf>,
    pub keep_stale: bool,
    pub period: Period,
    pub targets: BTreeMap<String, f64>,
    pub params: BTreeMap<String, f64>,
    /// `[params]` given as dates: cut-off dates of a count that are not the
    /// period's ends. SQL reads them as `{params.<key>}`.
    pub param_dates: BTreeMap<String, NaiveDate>,
    /// Folder of the working-day calendar (`<year>.toml`); default
    /// `holidays/` beside the config file.
    pub holidays: PathBuf,
    pub limits: Limits,
    /// File with the HMAC key (else TONGHOP_HMAC_KEY, else a generated key).
    pub privacy_key_file: Option<PathBuf>,
    /// `[aliases]`: `pipeline.table.column` -> the commune's extra spellings.
    pub aliases: BTreeMap<String, Spellings>,
    /// `[[villages]]`: empty when the config lists none (names then stay as written).
    pub villages: std::sync::Arc<crate::villages::Villages>,
}

fn to_date(key: &str, v: &toml::value::Datetime) -> Result<NaiveDate, String> {
    match (&v.date, &v.time) {
        (Some(d), None) => {
            NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                .ok_or_else(|| format!("{key}: {v} is not a valid date"))
        }
        _ => Err(format!(
            "{key}: {v}: write a plain date such as 2026-06-19 (no time)"
        )),
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read config: {e}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, String> {
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let mut problems = Vec::new();
        let code = raw.commune.code.trim().to_string();
        if code.len() != 5 || !code.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!(
                "commune.code = {:?}: expected the 5-digit administrative unit code",
                raw.commune.code
            ));
        }
        let from = to_date("period.from", &raw.period.from);
        let to = to_date("period.to", &raw.period.to);
        let period = match (from, to) {
            (Ok(from), Ok(to)) if from <= to => Some(Period { from, to }),
            (Ok(from), Ok(to)) => {
                problems.push(format!("period: from = {from} is after to = {to}"));
                None
            }
            (a, b) => {
                problems.extend(a.err());
                problems.extend(b.err());
                None
            }
        };
        let mut params = BTreeMap::new();
        let mut param_dates = BTreeMap::new();
        for (k, v) in &raw.params {
            match v {
                RawParam::Number(n) => {
                    params.insert(k.clone(), *n);
                }
                RawParam::Date(d) => match to_date(&format!("params.\"{k}\""), d) {
                    Ok(d) => {
                        param_dates.insert(k.clone(), d);
                    }
                    Err(e) => problems.push(e),
                },
            }
        }
        for v in &raw.villages {
            if crate::villages::key(&v.name).is_empty() {
                problems.push(format!("villages: name = {:?} is empty", v.name));
            }
        }
        let villages = crate::villages::Villages::new(
            &raw.villages
                .iter()
                .map(|v| (v.name.clone(), v.variants.clone()))
                .collect::<Vec<_>>(),
        );
        if !problems.is_empty() {
            return Err(format!("{}: {}", path.display(), problems.join("; ")));
        }
        Ok(Config {
            villages: std::sync::Arc::new(villages),
            path: path.to_path_buf(),
            commune: Commune {
                code,
                name: raw.commune.name,
                province: raw.commune.province,
            },
            inbox: resolve(&raw.run.inbox),
            out: resolve(&raw.run.out),
            pipelines: raw.run.pipelines.as_deref().map(resolve),
            keep_stale: raw.run.keep_stale.unwrap_or(true),
            period: period.expect("checked above"),
            targets: raw.targets,
            params,
            param_dates,
            limits: raw.limits,
            privacy_key_file: raw.privacy.and_then(|p| p.key_file).map(|f| resolve(&f)),
            aliases: raw
                .aliases
                .into_iter()
                .map(|(k, v)| {
                    let s = match v {
                        RawSpellings::Headers(headers) => Spellings {
                            headers,
                            ..Spellings::default()
                        },
                        RawSpellings::Full(f) => Spellings {
                            headers: f.headers,
                            values: f.values,
                        },
                    };
                    (k, s)
                })
                .collect(),
            holidays: raw
                .calendar
                .map(|c| resolve(&c.holidays))
                .unwrap_or_else(|| base.join("holidays")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[commune]
code = "03637"
name = "Mường Kim"
province = "Lai Châu"
[run]
inbox = "../fixtures/inbox"
out = "../out"
[period]
from = 2026-01-01
to = 2026-06-19
[targets]
"livestock.main_herd" = 21860
"livestock.herd_growth_pct" = 16.5
"#;

    #[test]
    fn parses_and_resolves_relative_paths() {
        let c = Config::parse(Path::new("/srv/x/config/tonghop.toml"), GOOD).unwrap();
        assert_eq!(c.inbox, PathBuf::from("/srv/x/config/../fixtures/inbox"));
        assert_eq!(c.period.to, NaiveDate::from_ymd_opt(2026, 6, 19).unwrap());
        assert_eq!(c.targets["livestock.main_herd"], 21860.0);
        assert_eq!(c.period.partition(), "2026-01-01_2026-06-19");
    }

    #[test]
    fn unknown_key_is_named() {
        let bad = GOOD.replace("out = \"../out\"", "out = \"../out\"\noutput = \"x\"");
        let e = Config::parse(Path::new("c.toml"), &bad).unwrap_err();
        assert!(e.contains("unknown field `output`"), "{e}");
    }

    #[test]
    fn bad_code_and_reversed_period() {
        let bad = GOOD
            .replace("\"03637\"", "\"3637\"")
            .replace("from = 2026-01-01", "from = 2026-07-01");
        let e = Config::parse(Path::new("c.toml"), &bad).unwrap_err();
        assert!(e.contains("5-digit"), "{e}");
        assert!(e.contains("is after"), "{e}");
    }
}

/// What row conversion needs from the run: the period, the working-day
/// calendar and the numeric parameters.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub period: Period,
    pub calendar: crate::calendar::Calendar,
    pub params: BTreeMap<String, f64>,
    pub limits: Limits,
    pub villages: std::sync::Arc<crate::villages::Villages>,
}

impl RunContext {
    /// Only a period (tests, benchmarks, the corpus check): weekends-only calendar.
    pub fn for_period(period: Period) -> RunContext {
        RunContext {
            period,
            calendar: crate::calendar::Calendar::default(),
            params: BTreeMap::new(),
            limits: Limits::default(),
            villages: Default::default(),
        }
    }

    pub fn from_config(config: &Config) -> Result<RunContext, String> {
        Ok(RunContext {
            period: config.period,
            calendar: crate::calendar::Calendar::load(&config.holidays)?,
            params: config.params.clone(),
            limits: config.limits,
            villages: config.villages.clone(),
        })
    }
}

/// A province file: `[province] code, name, communes` (commune config paths
/// or globs, relative to the file), `[run] out`, optional `[privacy]
/// key_file`. Every commune keeps its own config (inbox, period, targets,
/// params); the province run gives them one output tree and one HMAC key.
#[derive(Debug, Clone)]
pub struct ProvinceConfig {
    pub path: PathBuf,
    pub code: String,
    pub name: String,
    pub out: PathBuf,
    /// The commune config files, in the order listed (globs sorted).
    pub communes: Vec<PathBuf>,
    pub privacy_key_file: Option<PathBuf>,
    /// The province's own plan figures (a province target is set by the
    /// province, not summed from the communes': a growth rate is no sum).
    pub targets: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvinceFile {
    province: RawProvince,
    run: RawProvinceRun,
    privacy: Option<RawPrivacy>,
    #[serde(default)]
    targets: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvince {
    code: String,
    name: String,
    communes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvinceRun {
    out: PathBuf,
}

/// Whether a config file's text is a province file (has a `[province]` table).
pub fn is_province_text(text: &str) -> bool {
    text.parse::<toml::Table>()
        .is_ok_and(|t| t.get("province").is_some_and(toml::Value::is_table))
}

impl ProvinceConfig {
    /// `Ok(None)`: the file is a commune config.
    pub fn load(path: &Path) -> Result<Option<ProvinceConfig>, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read config: {e}", path.display()))?;
        if !is_province_text(&text) {
            return Ok(None);
        }
        Self::parse(path, &text).map(Some)
    }

    pub fn parse(path: &Path, text: &str) -> Result<ProvinceConfig, String> {
        let raw: RawProvinceFile =
            toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };
        let mut problems = Vec::new();
        let code = raw.province.code.trim().to_string();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!(
                "province.code = {:?}: expected the 2-digit province code",
                raw.province.code
            ));
        }
        let mut communes = Vec::new();
        for pattern in &raw.province.communes {
            let full = resolve(Path::new(pattern));
            if pattern.contains(['*', '?', '[']) {
                let mut found: Vec<PathBuf> = match glob::glob(&full.to_string_lossy()) {
                    Ok(paths) => paths.filter_map(Result::ok).collect(),
                    Err(e) => {
                        problems.push(format!("province.communes: {pattern:?}: {e}"));
                        continue;
                    }
                };
                found.sort();
                if found.is_empty() {
                    problems.push(format!("province.communes: {pattern:?} matches no file"));
                }
                communes.extend(found);
            } else {
                communes.push(full);
            }
        }
        if raw.province.communes.is_empty() {
            problems.push("province.communes: the list is empty".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        communes.retain(|c| seen.insert(c.clone()));
        if !problems.is_empty() {
            return Err(format!("{}: {}", path.display(), problems.join("; ")));
        }
        Ok(ProvinceConfig {
            path: path.to_path_buf(),
            code,
            name: raw.province.name,
            out: resolve(&raw.run.out),
            communes,
            privacy_key_file: raw.privacy.and_then(|p| p.key_file).map(|f| resolve(&f)),
            targets: raw.targets,
        })
    }
}

#[cfg(test)]
mod province_tests {
    use super::*;

    #[test]
    fn province_file_lists_its_communes() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.toml", "a.toml", "skip.txt"] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        let text = "[province]\ncode = \"12\"\nname = \"Lai Châu\"\ncommunes = [\"*.toml\", \"a.toml\"]\n[run]\nout = \"out\"\n";
        assert!(is_province_text(text));
        let p = ProvinceConfig::parse(&dir.path().join("province.toml"), text).unwrap();
        let names: Vec<_> = p
            .communes
            .iter()
            .map(|c| c.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.toml", "b.toml"]);
        assert_eq!(p.out, dir.path().join("out"));
        let bad = text
            .replace("\"12\"", "\"120\"")
            .replace("*.toml", "*.nope");
        let e = ProvinceConfig::parse(&dir.path().join("p.toml"), &bad).unwrap_err();
        assert!(e.contains("2-digit province code"), "{e}");
        assert!(e.contains("matches no file"), "{e}");
        assert!(!is_province_text(GOOD_COMMUNE));
    }

    const GOOD_COMMUNE: &str = "[commune]\ncode = \"03637\"\n";
}
