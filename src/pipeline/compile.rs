//! Raw pipeline file -> checked [`Pipeline`]. Every problem is reported at
//! once, each naming the file, the key path and what to do.

use super::raw::{ColumnRaw, PipelineFile, TableRaw, UniqueRaw};
use super::{Column, ColumnKind, ContextFrom, DateBound, Indicator, Pipeline, Storage, Table};
use crate::values::text::{header_key, value_key};
use regex::Regex;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Load every `*.toml` in a folder, sorted by name.
/// The `*.toml` files of a pipeline folder, sorted, as (path, text).
pub(super) fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, Vec<String>> {
    let mut paths: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(vec![format!(
                "{}: cannot read pipeline folder: {e}",
                dir.display()
            )]);
        }
    };
    paths.sort();
    if paths.is_empty() {
        return Err(vec![format!(
            "{}: no pipeline files (*.toml) found",
            dir.display()
        )]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        match std::fs::read_to_string(&p) {
            Ok(text) => out.push((p.display().to_string(), text)),
            Err(e) => errors.push(format!("{}: {e}", p.display())),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

pub fn load_dir(dir: &Path) -> Result<Vec<Pipeline>, Vec<String>> {
    super::load(Some(dir), &super::Aliases::new())
}

fn is_snake(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_lowercase()
}

/// Parse and check one pipeline file's text. `origin` names it in messages.
pub fn compile_pipeline(origin: &str, text: &str) -> Result<Pipeline, Vec<String>> {
    compile_pipeline_with(origin, text, &super::Aliases::new())
}

/// Add a commune's spellings (`[aliases]` keys of this pipeline) to the
/// raw definition, so they are checked like its own.
fn apply_aliases(
    raw: &mut PipelineFile,
    aliases: &super::Aliases,
    errors: &mut Vec<String>,
) -> String {
    let name = raw.pipeline.name.clone();
    let mut applied = String::new();
    for (key, sp) in aliases {
        let Some(rest) = key.strip_prefix(&format!("{name}.")) else {
            continue;
        };
        let at = format!("[aliases] \"{key}\"");
        let Some((table, column)) = rest.split_once('.') else {
            errors.push(format!("{at}: write the key as pipeline.table.column"));
            continue;
        };
        let tables: Vec<String> = raw.tables.iter().map(|t| t.name.clone()).collect();
        let Some(t) = raw.tables.iter_mut().find(|t| t.name == table) else {
            errors.push(format!(
                "{at}: pipeline {name} has no table '{table}' (tables: {})",
                tables.join(", ")
            ));
            continue;
        };
        let columns: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
        let Some(c) = t.columns.iter_mut().find(|c| c.name == column) else {
            errors.push(format!(
                "{at}: table {name}.{table} has no column '{column}' (columns: {})",
                columns.join(", ")
            ));
            continue;
        };
        if c.kind == "derived" && !sp.headers.is_empty() {
            errors.push(format!(
                "{at}: '{column}' is derived, not read from the sheet: it takes no header aliases"
            ));
        }
        c.aliases.extend(sp.headers.iter().cloned());
        if !sp.values.is_empty() {
            match c.values.as_mut() {
                None => errors.push(format!("{at}: values: '{column}' is not an enum column")),
                Some(values) => {
                    for (canonical, more) in &sp.values {
                        match values.get_mut(canonical) {
                            Some(v) => v.extend(more.iter().cloned()),
                            None => errors.push(format!(
                                "{at}: values: '{canonical}' is not a value of '{column}' (values: {})",
                                values.keys().cloned().collect::<Vec<_>>().join(", ")
                            )),
                        }
                    }
                }
            }
        }
        applied.push_str(&format!("{key}={sp:?}\n"));
    }
    applied
}

/// [`compile_pipeline`] with a commune's extra spellings (see
/// [`super::Spellings`]); they are part of the definition's fingerprint, so
/// workbooks read without them are read again.
pub fn compile_pipeline_with(
    origin: &str,
    text: &str,
    aliases: &super::Aliases,
) -> Result<Pipeline, Vec<String>> {
    let mut raw: PipelineFile = toml::from_str(text).map_err(|e| vec![format!("{origin}: {e}")])?;
    let mut errors = Vec::new();
    let applied = apply_aliases(&mut raw, aliases, &mut errors);
    let name = raw.pipeline.name.clone();
    if !is_snake(&name) {
        errors.push(format!(
            "{origin}: pipeline.name = {name:?}: use lower_snake_case"
        ));
    }
    if raw.tables.is_empty() {
        errors.push(format!(
            "{origin}: [[tables]]: a pipeline needs at least one table"
        ));
    }
    let mut tables = Vec::new();
    let mut table_names = HashSet::new();
    for (ti, t) in raw.tables.iter().enumerate() {
        let at = format!("{origin}: tables[{ti}] ({})", t.name);
        if !table_names.insert(t.name.clone()) {
            errors.push(format!("{at}: table name is used twice"));
        }
        if !is_snake(&t.name) {
            errors.push(format!("{at}: name: use lower_snake_case"));
        }
        if let Some(table) = compile_table(&at, t, &mut errors) {
            tables.push(table);
        }
    }
    let mut indicators = Vec::new();
    let mut ids = HashSet::new();
    for (ii, ind) in raw.indicators.iter().enumerate() {
        let at = format!("{origin}: indicators[{ii}] ({})", ind.id);
        let prefix = format!("{name}.");
        match ind.id.strip_prefix(&prefix) {
            Some(rest) if is_snake(rest) => {}
            _ => errors.push(format!("{at}: id must be '{name}.<lower_snake_case>'")),
        }
        if !ids.insert(ind.id.clone()) {
            errors.push(format!("{at}: indicator id is used twice"));
        }
        if let Err(e) = check_sql(&ind.sql) {
            errors.push(format!("{at}: sql does not parse: {e}"));
        }
        indicators.push(Indicator {
            id: ind.id.clone(),
            label: ind.label.clone(),
            unit: ind.unit.clone(),
            description: ind.description.clone(),
            sql: ind.sql.clone(),
        });
    }
    let mut breakdowns = Vec::new();
    for (bi, b) in raw.breakdowns.iter().enumerate() {
        let at = format!("{origin}: breakdowns[{bi}] ({})", b.id);
        if !b.id.starts_with(&format!("{name}.")) {
            errors.push(format!("{at}: id must start with '{name}.'"));
        }
        if !is_snake(&b.by) {
            errors.push(format!("{at}: by = {:?}: use lower_snake_case", b.by));
        }
        if let Err(e) = check_sql(&b.sql) {
            errors.push(format!("{at}: sql does not parse: {e}"));
        }
        let column_label = tables
            .iter()
            .flat_map(|t: &super::Table| &t.columns)
            .find(|c| c.name == b.by)
            .map(|c| c.label.clone());
        let by_label = match (&b.by_label, column_label) {
            (Some(l), _) => l.clone(),
            (None, Some(l)) => l,
            (None, None) => {
                errors.push(format!(
                    "{at}: by = {:?} is no column of a table: give by_label, the dimension's name for people",
                    b.by
                ));
                b.by.clone()
            }
        };
        breakdowns.push(super::Breakdown {
            id: b.id.clone(),
            by: b.by.clone(),
            by_label,
            label: b.label.clone(),
            unit: b.unit.clone(),
            sql: b.sql.clone(),
        });
    }
    let mut checks = Vec::new();
    for (ci, c) in raw.checks.iter().enumerate() {
        let at = format!("{origin}: checks[{ci}] ({})", c.id);
        if !c.id.starts_with(&format!("{name}.")) {
            errors.push(format!("{at}: id must start with '{name}.'"));
        }
        if let Err(e) = check_sql(&c.sql) {
            errors.push(format!("{at}: sql does not parse: {e}"));
        }
        let severity = match c.severity.as_deref() {
            None | Some("warning") => crate::model::Severity::Warning,
            Some("error") => crate::model::Severity::Error,
            Some(other) => {
                errors.push(format!(
                    "{at}: severity = {other:?}: use \"warning\" or \"error\""
                ));
                crate::model::Severity::Warning
            }
        };
        checks.push(super::Check {
            id: c.id.clone(),
            description: c.description.clone(),
            sql: c.sql.clone(),
            severity,
        });
    }
    for (pi, p) in raw.paragraphs.iter().enumerate() {
        if let Err(e) = super::template::parse_template(&p.template) {
            errors.push(format!("{origin}: paragraphs[{pi}]: {e}"));
        }
    }
    let mut test_names = HashSet::new();
    for t in &raw.tests {
        let at = format!("{origin}: tests.{}", t.name);
        if !test_names.insert(t.name.as_str()) {
            errors.push(format!("{at}: the name is used twice"));
        }
        if t.cells.is_empty() == t.workbook.is_none() {
            errors.push(format!("{at}: give either cells or workbook"));
        }
        for id in t.indicators.keys() {
            if !indicators.iter().any(|i| &i.id == id) {
                errors.push(format!(
                    "{at}: indicators: no indicator {id:?} in this pipeline"
                ));
            }
        }
        for f in t.findings.iter().flatten() {
            if !(1..=2).contains(&f.split_whitespace().count()) {
                errors.push(format!(
                    "{at}: findings: {f:?}: write \"<cell> <code>\", e.g. \"F12 invalid_date\" (or the code alone for a finding of no cell)"
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let fingerprint = if applied.is_empty() {
        hex(&Sha256::digest(text.as_bytes()))
    } else {
        hex(&Sha256::digest(
            format!("{text}\n# aliases\n{applied}").as_bytes(),
        ))
    };
    Ok(Pipeline {
        name,
        order: raw.pipeline.order.unwrap_or(1000),
        title: raw.pipeline.title,
        description: raw.pipeline.description,
        source: origin.to_string(),
        fingerprint,
        tables,
        indicators,
        breakdowns,
        checks,
        paragraphs: raw.paragraphs.into_iter().map(|p| p.template).collect(),
        tests: raw.tests,
    })
}

/// A statement-level parse check. Placeholders like `{period.to}` are
/// replaced by a literal first; unknown tables are caught when the indicator runs.
fn check_sql(sql: &str) -> Result<(), String> {
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;
    let probe = super::template::substitute_placeholders(sql, &|_| Some("0".to_string()))?;
    let statements = Parser::parse_sql(&GenericDialect {}, &probe).map_err(|e| e.to_string())?;
    match statements.as_slice() {
        [sqlparser::ast::Statement::Query(_)] => Ok(()),
        _ => Err("an indicator must be exactly one SELECT statement".into()),
    }
}

pub fn hex(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    hex_into(bytes, &mut out);
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// Lower-case hex of `bytes` into `out` (twice as long), without allocating.
pub fn hex_into(bytes: &[u8], out: &mut [u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
    }
}

fn parse_bound(
    at: &str,
    key: &str,
    v: &Option<String>,
    errors: &mut Vec<String>,
) -> Option<DateBound> {
    let v = v.as_ref()?;
    match v.as_str() {
        "period.from" => Some(DateBound::PeriodFrom),
        "period.to" => Some(DateBound::PeriodTo),
        other => match chrono::NaiveDate::parse_from_str(other, "%Y-%m-%d") {
            Ok(d) => Some(DateBound::Fixed(d)),
            Err(_) => {
                errors.push(format!("{at}: {key} = {other:?}: use \"period.from\", \"period.to\" or a date yyyy-mm-dd"));
                None
            }
        },
    }
}

fn compile_table(at: &str, t: &TableRaw, errors: &mut Vec<String>) -> Option<Table> {
    let before = errors.len();
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, c) in t.columns.iter().enumerate() {
        if names.insert(c.name.as_str(), i).is_some() {
            errors.push(format!("{at}: columns: '{}' is declared twice", c.name));
        }
        if !is_snake(&c.name) {
            errors.push(format!(
                "{at}: columns.{}: name: use lower_snake_case",
                c.name
            ));
        }
    }
    // Aliases must be unique within a table, or a header cell would be ambiguous.
    let mut alias_owner: HashMap<String, &str> = HashMap::new();
    for c in &t.columns {
        for a in &c.aliases {
            let k = header_key(a);
            if let Some(prev) = alias_owner.insert(k.clone(), &c.name)
                && prev != c.name
            {
                errors.push(format!(
                    "{at}: alias {a:?} of column '{}' is also an alias of column '{prev}'",
                    c.name
                ));
            }
        }
    }
    let mut columns = Vec::new();
    for c in &t.columns {
        let cat = format!("{at}: columns.{}", c.name);
        if let Some(kind) = compile_kind(&cat, c, &names, errors) {
            let derived = !kind.is_source();
            let copied = c.copy_of.is_some();
            if derived && !c.aliases.is_empty() {
                errors.push(format!(
                    "{cat}: a derived column has no aliases (it is not read from the sheet)"
                ));
            }
            // A wide table's group column may be named only by the groups ("Tháng 3").
            let group = t.wide.as_ref().is_some_and(|w| w.group_column == c.name);
            if !derived && !copied && !group && c.aliases.is_empty() {
                errors.push(format!("{cat}: aliases: give at least one header spelling"));
            }
            columns.push(Column {
                name: c.name.clone(),
                label: c.label.clone(),
                description: c.description.clone(),
                aliases: c.aliases.clone(),
                alias_keys: c.aliases.iter().map(|a| header_key(a)).collect(),
                required: c.required,
                warn_on_invalid: match c.on_invalid.as_deref() {
                    None | Some("reject") => false,
                    Some("warn") => true,
                    Some(other) => {
                        errors.push(format!(
                            "{cat}: on_invalid = {other:?}: use \"reject\" or \"warn\""
                        ));
                        false
                    }
                },
                privacy: match c.privacy.as_deref() {
                    None => super::Privacy::Keep,
                    Some("drop") => super::Privacy::Drop,
                    Some("hash") => super::Privacy::Hash,
                    Some("year") => super::Privacy::Year,
                    Some(other) => {
                        errors.push(format!(
                            "{cat}: privacy = {other:?}: use \"drop\", \"hash\" or \"year\""
                        ));
                        super::Privacy::Keep
                    }
                },
                min: c.min,
                max: c.max,
                list: match c.list.as_deref() {
                    None => None,
                    Some("villages") if c.kind == "text" => Some("villages".to_string()),
                    Some("villages") => {
                        errors.push(format!("{cat}: list = \"villages\" needs type = \"text\""));
                        None
                    }
                    Some(other) => {
                        errors.push(format!(
                            "{cat}: list = {other:?}: the commune config has one list, \"villages\""
                        ));
                        None
                    }
                },
                units: c.units.iter().map(|u| value_key(u)).collect(),
                copy_of: None,
                max_column: None,
                additive: c.additive.unwrap_or(true),
                rule_warns: match c.rule_severity.as_deref() {
                    None | Some("error") => false,
                    Some("warning") => true,
                    Some(other) => {
                        errors.push(format!(
                            "{cat}: rule_severity = {other:?}: use \"error\" or \"warning\""
                        ));
                        false
                    }
                },
                kind,
            });
        }
    }
    // Column references resolved once every column is known.
    for (col, raw) in columns.iter_mut().zip(&t.columns) {
        let cat = format!("{at}: columns.{}", raw.name);
        let reference = |key: &str, v: &Option<String>, errors: &mut Vec<String>| {
            let v = v.as_ref()?;
            let found = names.get(v.as_str()).copied();
            if found.is_none() {
                errors.push(format!(
                    "{cat}: {key} = {v:?}: no such column in this table"
                ));
            }
            found
        };
        col.copy_of = reference("copy_of", &raw.copy_of, errors);
        col.max_column = reference("max_column", &raw.max_column, errors);
        if let Some(o) = col.copy_of {
            if !col.aliases.is_empty() {
                errors.push(format!(
                    "{cat}: copy_of reads the other column's cell: give it no aliases"
                ));
            }
            if t.columns[o].copy_of.is_some() {
                errors.push(format!(
                    "{cat}: copy_of must name a column read from the sheet"
                ));
            }
        }
        if col.max_column.is_some() && !matches!(col.kind.storage(), Storage::Int | Storage::Float)
        {
            errors.push(format!("{cat}: max_column needs a number column"));
        }
        if !col.units.is_empty()
            && !matches!(
                col.kind,
                ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Money
            )
        {
            errors.push(format!(
                "{cat}: units apply to integer, decimal and money columns, not to type \"{}\"",
                raw.kind
            ));
        }
    }
    let keys: Vec<&String> = match &t.unique {
        Some(UniqueRaw::One(u)) => vec![u],
        Some(UniqueRaw::Many(us)) => us.iter().collect(),
        None => Vec::new(),
    };
    let mut unique = Vec::new();
    for u in keys {
        match names.get(u.as_str()) {
            Some(&i) if !unique.contains(&i) => unique.push(i),
            Some(_) => errors.push(format!("{at}: unique: {u:?} is named twice")),
            None => errors.push(format!("{at}: unique = {u:?}: no such column")),
        }
    }
    if matches!(&t.unique, Some(UniqueRaw::Many(us)) if us.is_empty()) {
        errors.push(format!("{at}: unique = []: name at least one column"));
    }
    let min_header_matches = t.min_header_matches.unwrap_or(2).max(1);
    let mut one_of = Vec::new();
    for (gi, group) in t.one_of.iter().enumerate() {
        let mut idx = Vec::new();
        for n in group {
            match names.get(n.as_str()) {
                Some(&i) => idx.push(i),
                None => errors.push(format!("{at}: one_of[{gi}]: no column {n:?}")),
            }
        }
        if group.len() < 2 {
            errors.push(format!("{at}: one_of[{gi}]: name at least two columns"));
        }
        one_of.push(idx);
    }
    let wide_group = match &t.wide {
        Some(w) => match names.get(w.group_column.as_str()) {
            Some(&i) => Some(i),
            None => {
                errors.push(format!(
                    "{at}: wide.group_column = {:?}: no such column",
                    w.group_column
                ));
                None
            }
        },
        None => None,
    };
    let mut warn_when = Vec::new();
    for (wi, w) in t.warn_when.iter().enumerate() {
        match (names.get(w.column.as_str()), names.get(w.missing.as_str())) {
            (Some(&column), Some(&missing)) => warn_when.push(super::WarnWhen {
                column,
                equals: w.equals.clone(),
                missing,
                code: w.code.clone(),
                reason: w.reason.clone(),
            }),
            _ => errors.push(format!(
                "{at}: warn_when[{wi}]: no column {:?} or {:?}",
                w.column, w.missing
            )),
        }
    }
    if errors.len() > before {
        return None;
    }
    Some(Table {
        name: t.name.clone(),
        description: t.description.clone(),
        grain: t.grain.clone(),
        unique,
        min_header_matches,
        one_of,
        wide_group,
        warn_when,
        columns,
    })
}

fn compile_kind(
    at: &str,
    c: &ColumnRaw,
    names: &HashMap<&str, usize>,
    errors: &mut Vec<String>,
) -> Option<ColumnKind> {
    let col_ref = |key: &str, v: &Option<String>, errors: &mut Vec<String>| -> Option<usize> {
        let v = v.as_ref()?;
        match names.get(v.as_str()) {
            Some(&i) => Some(i),
            None => {
                errors.push(format!("{at}: {key} = {v:?}: no such column in this table"));
                None
            }
        }
    };
    // Keys that mean nothing for the column's type are refused, not ignored:
    // `digits` on a date, `min` on a text.
    let kind_name = if c.source.is_some() {
        "context"
    } else {
        c.kind.as_str()
    };
    let keys: [(&str, bool, &[&str]); 27] = [
        ("digits", c.digits.is_some(), &["id"]),
        ("pad_numeric", c.pad_numeric.is_some(), &["id"]),
        ("pattern", c.pattern.is_some(), &["code"]),
        ("uppercase", c.uppercase, &["code"]),
        ("remove_spaces", c.remove_spaces, &["code"]),
        ("province_chars", c.province_chars.is_some(), &["code"]),
        ("min", c.min.is_some(), &["integer", "decimal", "money"]),
        ("max", c.max.is_some(), &["integer", "decimal", "money"]),
        (
            "units",
            !c.units.is_empty(),
            &["integer", "decimal", "money"],
        ),
        (
            "additive",
            c.additive.is_some(),
            &["integer", "decimal", "money"],
        ),
        (
            "max_column",
            c.max_column.is_some(),
            &["integer", "decimal", "money"],
        ),
        ("not_after", c.not_after.is_some(), &["date"]),
        ("not_before", c.not_before.is_some(), &["date"]),
        ("after_period", c.after_period.is_some(), &["date"]),
        (
            "not_before_column",
            c.not_before_column.is_some(),
            &["date"],
        ),
        ("on_text", c.on_text.is_some(), &["date"]),
        ("values", c.values.is_some(), &["enum", "context"]),
        (
            "birth_date_column",
            c.birth_date_column.is_some(),
            &["personal_id"],
        ),
        ("sex_column", c.sex_column.is_some(), &["personal_id"]),
        ("sex_values", c.sex_values.is_some(), &["personal_id"]),
        ("chars", c.chars.is_some(), &["derived"]),
        ("map", c.map.is_some(), &["derived"]),
        ("default", c.default.is_some(), &["derived"]),
        ("working_days", c.working_days.is_some(), &["deadline"]),
        ("given", c.given.is_some(), &["deadline"]),
        (
            "extra_days_param",
            c.extra_days_param.is_some(),
            &["deadline"],
        ),
        ("from", c.from.is_some(), &["derived", "age", "deadline"]),
    ];
    for (key, set, types) in keys {
        if set && !types.contains(&kind_name) {
            errors.push(format!(
                "{at}: {key} does not apply to type \"{}\" (only to {})",
                c.kind,
                types.join(", ")
            ));
        }
    }
    if let Some(src) = &c.source {
        let from = match src.as_str() {
            "heading" => ContextFrom::Heading,
            "subheading" => ContextFrom::Subheading,
            "sheet" => ContextFrom::Sheet,
            other => {
                errors.push(format!(
                    "{at}: source = {other:?}: use \"heading\", \"subheading\" or \"sheet\""
                ));
                return None;
            }
        };
        if !c.aliases.is_empty() {
            errors.push(format!(
                "{at}: source = {src:?}: the value is not read under a header, give no aliases"
            ));
        }
        let (spellings, labels) = match (c.kind.as_str(), &c.values) {
            ("text", None) => (Vec::new(), Default::default()),
            ("enum", Some(values)) => {
                let labels: std::collections::BTreeMap<String, String> = values
                    .iter()
                    .map(|(canon, sp)| (canon.clone(), sp.first().unwrap_or(canon).clone()))
                    .collect();
                let mut spellings: Vec<(String, String)> = values
                    .iter()
                    .flat_map(|(canon, sp)| sp.iter().map(move |s| (value_key(s), canon.clone())))
                    .filter(|(k, _)| !k.is_empty())
                    .collect();
                spellings.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
                (spellings, labels)
            }
            _ => {
                errors.push(format!(
                    "{at}: source = {src:?} needs type = \"text\", or type = \"enum\" with values"
                ));
                return None;
            }
        };
        return Some(ColumnKind::Context {
            from,
            spellings,
            labels,
        });
    }
    let kind = match c.kind.as_str() {
        "text" => ColumnKind::Text,
        "id" => ColumnKind::Id {
            digits: match c.digits {
                Some(d) if d > 0 => d,
                _ => {
                    errors.push(format!("{at}: type \"id\" needs digits = <width>"));
                    return None;
                }
            },
            pad_numeric: c.pad_numeric.unwrap_or(0),
        },
        "personal_id" => {
            let birth_date = col_ref("birth_date_column", &c.birth_date_column, errors);
            let sex = match (col_ref("sex_column", &c.sex_column, errors), &c.sex_values) {
                (Some(i), Some([m, f])) => Some((i, m.clone(), f.clone())),
                (Some(_), None) => {
                    errors.push(format!(
                        "{at}: sex_column needs sex_values = [\"<male>\", \"<female>\"]"
                    ));
                    None
                }
                _ => None,
            };
            ColumnKind::PersonalId { birth_date, sex }
        }
        "code" => {
            let Some(p) = &c.pattern else {
                errors.push(format!("{at}: type \"code\" needs pattern = \"<regex>\""));
                return None;
            };
            let pattern = match Regex::new(p) {
                Ok(r) => r,
                Err(e) => {
                    errors.push(format!("{at}: pattern: {e}"));
                    return None;
                }
            };
            ColumnKind::Code {
                pattern,
                uppercase: c.uppercase,
                remove_spaces: c.remove_spaces,
                province_chars: c.province_chars.map(|[a, b]| (a, b)),
            }
        }
        "integer" => ColumnKind::Integer,
        "decimal" => ColumnKind::Decimal,
        "money" => ColumnKind::Money,
        "date" => ColumnKind::Date {
            not_after: parse_bound(at, "not_after", &c.not_after, errors),
            not_before: parse_bound(at, "not_before", &c.not_before, errors),
            skip_after_period: match c.after_period.as_deref() {
                None => false,
                Some("skip") => true,
                Some(other) => {
                    errors.push(format!(
                        "{at}: after_period = {other:?}: the only choice is \"skip\""
                    ));
                    false
                }
            },
            not_before_column: col_ref("not_before_column", &c.not_before_column, errors),
            keep_text: match c.on_text.as_deref() {
                None => false,
                Some("keep") => true,
                Some(other) => {
                    errors.push(format!(
                        "{at}: on_text = {other:?}: the only choice is \"keep\""
                    ));
                    false
                }
            },
        },
        "month" => ColumnKind::Month,
        "age" => {
            let Some(from) = col_ref("from", &c.from, errors) else {
                if c.from.is_none() {
                    errors.push(format!("{at}: type \"age\" needs from = \"<date column>\""));
                }
                return None;
            };
            ColumnKind::Age { from }
        }
        "deadline" => {
            let Some(from) = col_ref("from", &c.from, errors) else {
                if c.from.is_none() {
                    errors.push(format!(
                        "{at}: type \"deadline\" needs from = \"<date column>\""
                    ));
                }
                return None;
            };
            let Some(working_days) = c.working_days else {
                errors.push(format!("{at}: type \"deadline\" needs working_days = <n>"));
                return None;
            };
            ColumnKind::Deadline {
                from,
                given: col_ref("given", &c.given, errors),
                working_days,
                extra_days_param: c.extra_days_param.clone(),
            }
        }
        "enum" => {
            let Some(values) = &c.values else {
                errors.push(format!(
                    "{at}: type \"enum\" needs values = {{ canonical = [\"spelling\", …] }}"
                ));
                return None;
            };
            let mut lookup = foldhash::HashMap::default();
            let labels: std::collections::BTreeMap<String, String> = values
                .iter()
                .map(|(canon, spellings)| {
                    (canon.clone(), spellings.first().unwrap_or(canon).clone())
                })
                .collect();
            let shown = labels.values().cloned().collect();
            for (canon, spellings) in values {
                for s in spellings.iter().chain(std::iter::once(canon)) {
                    if let Some(prev) = lookup.insert(value_key(s), canon.clone())
                        && &prev != canon
                    {
                        errors.push(format!(
                            "{at}: values: {s:?} maps to both '{prev}' and '{canon}'"
                        ));
                    }
                }
            }
            ColumnKind::Enum {
                lookup,
                shown,
                labels,
            }
        }
        "derived" => {
            let Some(from) = col_ref("from", &c.from, errors) else {
                if c.from.is_none() {
                    errors.push(format!("{at}: type \"derived\" needs from = \"<column>\""));
                }
                return None;
            };
            let mut map = foldhash::HashMap::default();
            for (canon, keys) in c.map.iter().flatten() {
                for k in keys {
                    if let Some(prev) = map.insert(k.clone(), canon.clone()) {
                        errors.push(format!(
                            "{at}: map: {k:?} maps to both '{prev}' and '{canon}'"
                        ));
                    }
                }
            }
            ColumnKind::Derived {
                from,
                chars: c.chars.map(|[a, b]| (a, b)),
                map,
                default: c.default.clone(),
            }
        }
        other => {
            errors.push(format!(
                "{at}: type = {other:?}: use one of text, id, personal_id, code, integer, decimal, money, date, month, enum, derived"
            ));
            return None;
        }
    };
    Some(kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pipelines_compile() {
        let ps = crate::pipeline::builtin().expect("built-in pipelines compile");
        assert!(ps.iter().any(|p| p.name == "bhyt"));
    }

    #[test]
    fn reports_every_problem_at_once() {
        let text = r#"
[pipeline]
name = "x"
title = "X"
[[tables]]
name = "t"
grain = "one row per thing"
unique = "nope"
[[tables.columns]]
name = "a"
label = "A"
aliases = ["Tên"]
type = "strange"
[[tables.columns]]
name = "b"
label = "B"
aliases = ["TÊN"]
type = "text"
"#;
        let errs = compile_pipeline("x.toml", text).unwrap_err();
        let all = errs.join("\n");
        assert!(all.contains("unique = \"nope\": no such column"), "{all}");
        assert!(all.contains("type = \"strange\""), "{all}");
        assert!(
            all.contains("alias \"TÊN\" of column 'b' is also an alias of column 'a'"),
            "{all}"
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let text = "[pipeline]\nname = \"x\"\ntitle = \"X\"\ncolour = 1\n";
        let errs = compile_pipeline("x.toml", text).unwrap_err();
        assert!(errs[0].contains("colour"), "{errs:?}");
    }
}
