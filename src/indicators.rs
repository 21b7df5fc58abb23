//! Indicators: SQL declared in the pipeline files, run by polars over the
//! normalised tables. Figures are kept at full precision; rounding happens only
//! when a figure is written as Vietnamese text.

use crate::extract::Finding;
pub use crate::model::{BreakdownRow, CheckResult, IndicatorValue};
pub use crate::pipeline::template::{placeholder_names, substitute_placeholders};

use crate::config::Config;
use crate::pipeline::Pipeline;
use polars::prelude::*;
use polars::sql::SQLContext;

/// Targets and parameters that the selected pipelines need and the config
/// lacks, as (pipeline, "[section] \"key\"") pairs. Checked before anything runs: a missing plan figure
/// is a configuration error, not a failed indicator. A pipeline the
/// commune has no inbox folder for computes nothing and needs nothing.
pub fn missing_targets(pipelines: &[&Pipeline], config: &Config) -> Vec<(String, String)> {
    let mut missing: Vec<(String, String)> = Vec::new();
    for p in pipelines {
        if !config.inbox.join(&p.name).is_dir() {
            continue;
        }
        // Parameters read by computed columns, e.g. a deadline extension.
        for t in &p.tables {
            for c in &t.columns {
                if let crate::pipeline::ColumnKind::Deadline {
                    extra_days_param: Some(key),
                    ..
                } = &c.kind
                {
                    let shown = format!("[params] \"{key}\"");
                    if !config.params.contains_key(key) && !missing.iter().any(|(_, k)| *k == shown)
                    {
                        missing.push((p.name.clone(), shown));
                    }
                }
            }
        }
        let sqls = p
            .indicators
            .iter()
            .map(|i| &i.sql)
            .chain(p.breakdowns.iter().map(|b| &b.sql))
            .chain(p.checks.iter().map(|c| &c.sql));
        for sql in sqls {
            for name in placeholder_names(sql) {
                let lacking = if let Some(key) = name.strip_prefix("params.") {
                    (!config.params.contains_key(key) && !config.param_dates.contains_key(key))
                        .then(|| format!("[params] \"{key}\""))
                } else if let Some(key) = name.strip_prefix("targets.") {
                    (!config.targets.contains_key(key)).then(|| format!("[targets] \"{key}\""))
                } else {
                    None
                };
                if let Some(shown) = lacking
                    && !missing.iter().any(|(_, k)| *k == shown)
                {
                    missing.push((p.name.clone(), shown));
                }
            }
        }
    }
    missing
}

/// The placeholder values a run offers to indicator SQL.
pub fn placeholder(config: &Config, name: &str) -> Option<String> {
    match name {
        "period.from" => Some(format!("'{}'", config.period.from.format("%Y-%m-%d"))),
        "period.to" => Some(format!("'{}'", config.period.to.format("%Y-%m-%d"))),
        "commune.code" => Some(format!("'{}'", config.commune.code)),
        _ => {
            if let Some(k) = name.strip_prefix("params.") {
                return match (config.params.get(k), config.param_dates.get(k)) {
                    (Some(v), _) => Some(format!("{v}")),
                    (None, Some(d)) => Some(format!("'{}'", d.format("%Y-%m-%d"))),
                    (None, None) => None,
                };
            }
            name.strip_prefix("targets.")
                .and_then(|k| config.targets.get(k))
                .map(|v| format!("{v}"))
        }
    }
}

/// A figure at 12 significant digits. polars' SQL sums floats in an order
/// that varies from run to run (measured: the 37 forest areas gave
/// 54.999999999999986 or 54.99999999999999 from the same Parquet file), so
/// the last bits are noise; cut at 12 digits, the same rows give the same
/// figure on every run (55), far beyond any precision a report writes.
pub fn settle(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let digits = 11 - v.abs().log10().floor() as i32;
    if !(-300..=300).contains(&digits) {
        return v;
    }
    let m = 10f64.powi(digits.abs());
    let r = if digits >= 0 {
        (v * m).round() / m
    } else {
        (v / m).round() * m
    };
    if r.is_finite() { r } else { v }
}

fn first_value(df: &DataFrame) -> Result<Option<f64>, String> {
    let col = df
        .columns()
        .first()
        .ok_or("the query returned no columns")?;
    if df.height() != 1 {
        return Err(format!(
            "the query returned {} rows; an indicator needs exactly one",
            df.height()
        ));
    }
    let as_f = col.cast(&DataType::Float64).map_err(|e| e.to_string())?;
    let v = as_f.f64().map_err(|e| e.to_string())?.get(0).map(settle);
    Ok(v)
}

/// Everything computed from one pipeline's normalised tables.
#[derive(Debug, Default)]
pub struct Computed {
    pub indicators: Vec<IndicatorValue>,
    pub breakdowns: Vec<BreakdownRow>,
    pub checks: Vec<CheckResult>,
}

/// How the SQL is run over its frames.
#[derive(Debug, Default)]
pub struct Evaluation<'a> {
    /// Collect with polars' streaming engine: the frames are scans too big
    /// to hold (a province), read in morsels. Falls back to the in-memory
    /// engine for a query the streaming engine cannot run.
    pub streaming: bool,
    /// (table, column): tables whose non-null `column` values are known
    /// unique, so `COUNT(DISTINCT column)` over them is `COUNT(column)` and
    /// needs no set of every value.
    pub unique: &'a [(&'a str, &'a str)],
}

fn execute(
    ctx: &mut SQLContext,
    sql: &str,
    config: &Config,
    how: &Evaluation<'_>,
) -> Result<DataFrame, String> {
    let sql = substitute_placeholders(sql, &|n| placeholder(config, n))?;
    let sql = count_distinct_of_unique(&sql, how.unique).unwrap_or(sql);
    let lf = ctx.execute(&sql).map_err(|e| e.to_string())?;
    if !how.streaming {
        return lf.collect().map_err(|e| e.to_string());
    }
    let streamed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        lf.collect_with_engine(Engine::Streaming)
    }));
    let why = match streamed {
        Ok(Ok(r)) => return Ok(r.unwrap_single()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "it panicked".to_string(),
    };
    tracing::warn!(stage = "indicators", sql = %sql, error = %why, "the streaming engine could not run the query; run in memory");
    // A fresh plan: the first one is optimised for the other engine.
    ctx.execute(&sql)
        .and_then(|lf| lf.collect())
        .map_err(|e| e.to_string())
}

/// `sql` with `COUNT(DISTINCT c)` written `COUNT(c)` where it reads one
/// table of `unique` (matched by its registered name exactly; list both
/// `<name>` and `<pipeline>_<name>`) whose non-null `c` values are unique: the same number, counted without
/// holding every value. `None` (leave it as it is) unless the statement is
/// one plain SELECT over that one table, with no join, set operation, CTE
/// or subquery anywhere, and the rewrite changes something.
pub fn count_distinct_of_unique(sql: &str, unique: &[(&str, &str)]) -> Option<String> {
    use sqlparser::ast::{
        DuplicateTreatment, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments,
        SetExpr, Statement, TableFactor, visit_expressions, visit_expressions_mut,
    };
    use std::ops::ControlFlow;
    if unique.is_empty() {
        return None;
    }
    let mut statements =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect {}, sql).ok()?;
    let [Statement::Query(query)] = statements.as_mut_slice() else {
        return None;
    };
    if query.with.is_some() {
        return None;
    }
    let nested = visit_expressions(&*query, |e| match e {
        SqlExpr::Subquery(_) | SqlExpr::Exists { .. } | SqlExpr::InSubquery { .. } => {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    });
    if nested.is_break() {
        return None;
    }
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let [from] = select.from.as_slice() else {
        return None;
    };
    if !from.joins.is_empty() {
        return None;
    }
    let TableFactor::Table {
        name, args: None, ..
    } = &from.relation
    else {
        return None;
    };
    let table = name.to_string().to_lowercase();
    let columns: Vec<&str> = unique
        .iter()
        .filter(|(t, _)| table == t.to_lowercase())
        .map(|(_, c)| *c)
        .collect();
    if columns.is_empty() {
        return None;
    }
    let mut changed = false;
    let _ = visit_expressions_mut(&mut select.projection, |e| {
        if let SqlExpr::Function(f) = e
            && f.name.to_string().eq_ignore_ascii_case("count")
            && f.over.is_none()
            && f.filter.is_none()
            && let FunctionArguments::List(list) = &mut f.args
            && list.duplicate_treatment == Some(DuplicateTreatment::Distinct)
            && list.clauses.is_empty()
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice()
        {
            let counted = match arg {
                SqlExpr::Identifier(i) => Some(i.value.to_lowercase()),
                SqlExpr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.to_lowercase()),
                _ => None,
            };
            if counted.is_some_and(|c| columns.iter().any(|k| k.eq_ignore_ascii_case(&c))) {
                list.duplicate_treatment = None;
                changed = true;
            }
        }
        ControlFlow::<()>::Continue(())
    });
    changed.then(|| statements[0].to_string())
}

fn cell_string(c: &polars::prelude::Column, i: usize) -> String {
    match c.get(i) {
        Ok(AnyValue::Null) | Err(_) => String::new(),
        Ok(AnyValue::String(s)) => s.to_string(),
        Ok(v) => v.to_string().trim_matches('"').to_string(),
    }
}

/// Run every indicator, breakdown and check of `pipeline` over its frames
/// (table name -> frame). Tables are registered under their own name and as
/// `<pipeline>_<table>`.
pub fn compute(pipeline: &Pipeline, frames: &[(String, LazyFrame)], config: &Config) -> Computed {
    compute_with(pipeline, frames, config, &Evaluation::default())
}

/// [`compute`], the SQL run as `how` says.
pub fn compute_with(
    pipeline: &Pipeline,
    frames: &[(String, LazyFrame)],
    config: &Config,
    how: &Evaluation<'_>,
) -> Computed {
    let mut ctx = SQLContext::new();
    for (name, lf) in frames {
        ctx.register(name, lf.clone());
        ctx.register(&format!("{}_{}", pipeline.name, name), lf.clone());
    }
    let mut out = Computed::default();
    for ind in &pipeline.indicators {
        let _span = tracing::debug_span!("indicator", stage = "indicators", id = %ind.id).entered();
        // NULL (a rate over no rows) is "no figure", not a failure.
        let (value, error) = match execute(&mut ctx, &ind.sql, config, how)
            .and_then(|df| first_value(&df))
        {
            Ok(v) => (v, None),
            Err(e) => {
                tracing::error!(stage = "indicators", indicator = %ind.id, error = %e, "indicator failed");
                (None, Some(e))
            }
        };
        out.indicators.push(IndicatorValue {
            id: ind.id.clone(),
            pipeline: pipeline.name.clone(),
            label: ind.label.clone(),
            unit: ind.unit.clone(),
            value,
            error,
            stale_since: None,
            excluded: Default::default(),
            commune: String::new(),
            period: String::new(),
        });
    }
    for b in &pipeline.breakdowns {
        let result = execute(&mut ctx, &b.sql, config, how).and_then(|df| {
            let key = df
                .column(&b.by)
                .map_err(|_| format!("the query has no column '{}'", b.by))?;
            let value = df
                .column("value")
                .map_err(|_| "the query has no column 'value'".to_string())?
                .cast(&DataType::Float64)
                .map_err(|e| e.to_string())?;
            let value = value.f64().map_err(|e| e.to_string())?;
            let mut rows: Vec<BreakdownRow> = (0..df.height())
                .map(|i| BreakdownRow {
                    id: b.id.clone(),
                    pipeline: pipeline.name.clone(),
                    by: b.by.clone(),
                    key: cell_string(key, i),
                    value: value.get(i).map(settle),
                    unit: b.unit.clone(),
                    label: b.label.clone(),
                    excluded: Default::default(),
                    commune: String::new(),
                    period: String::new(),
                })
                .collect();
            // One row per village of the commune's list, whether or not it
            // has rows (a village with none has no figure, not 0).
            let listed = pipeline
                .tables
                .iter()
                .flat_map(|t| &t.columns)
                .any(|c| c.name == b.by && c.list.is_some());
            if listed {
                for name in &config.villages.names {
                    if !rows.iter().any(|r| r.key == *name) {
                        rows.push(BreakdownRow {
                            id: b.id.clone(),
                            pipeline: pipeline.name.clone(),
                            by: b.by.clone(),
                            key: name.clone(),
                            value: None,
                            unit: b.unit.clone(),
                            label: b.label.clone(),
                            excluded: Default::default(),
                            commune: String::new(),
                            period: String::new(),
                        });
                    }
                }
            }
            // Members in Vietnamese order, by the names people read.
            let shown = |key: &str| {
                pipeline
                    .member_label(&b.by, key)
                    .map_or_else(|| key.to_string(), |l| l.into_owned())
            };
            // Rows whose member is unknown (NULL: an unlisted village) last;
            // numbers (months) in numeric order, names in Vietnamese order.
            rows.sort_by(|x, y| {
                let number = |k: &str| k.parse::<i64>().ok();
                x.key.is_empty().cmp(&y.key.is_empty()).then_with(|| {
                    match (number(&x.key), number(&y.key)) {
                        (Some(a), Some(b)) => a.cmp(&b),
                        _ => crate::collate::vietnamese(&shown(&x.key), &shown(&y.key)),
                    }
                })
            });
            Ok(rows)
        });
        match result {
            Ok(mut rows) => out.breakdowns.append(&mut rows),
            Err(e) => {
                tracing::error!(stage = "indicators", breakdown = %b.id, error = %e, "breakdown failed");
                out.indicators.push(IndicatorValue {
                    id: format!("{} (by {})", b.id, b.by),
                    pipeline: pipeline.name.clone(),
                    label: b.label.clone(),
                    unit: b.unit.clone(),
                    value: None,
                    error: Some(e),
                    stale_since: None,
                    excluded: Default::default(),
                    commune: String::new(),
                    period: String::new(),
                });
            }
        }
    }
    for c in &pipeline.checks {
        let result = execute(&mut ctx, &c.sql, config, how);
        let check = match result {
            Ok(df) => {
                let examples = (0..df.height().min(20))
                    .map(|i| {
                        df.columns()
                            .iter()
                            .map(|col| format!("{}={}", col.name(), cell_string(col, i)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .collect();
                CheckResult {
                    severity: c.severity,
                    id: c.id.clone(),
                    pipeline: pipeline.name.clone(),
                    description: c.description.clone(),
                    passed: df.height() == 0,
                    violations: df.height(),
                    examples,
                    error: None,
                }
            }
            Err(e) => CheckResult {
                severity: c.severity,
                id: c.id.clone(),
                pipeline: pipeline.name.clone(),
                description: c.description.clone(),
                passed: false,
                violations: 0,
                examples: Vec::new(),
                error: Some(e),
            },
        };
        if !check.passed {
            tracing::warn!(stage = "indicators", check = %check.id, violations = check.violations, error = ?check.error, "data check failed");
        }
        out.checks.push(check);
    }
    out
}

/// Read `indicators.csv` back: indicator id -> value (rows without a value are left out).
pub fn parse_csv(text: &str) -> std::collections::HashMap<String, f64> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let id = f.next()?.to_string();
            f.next()?.parse().ok().map(|v| (id, v))
        })
        .collect()
}

/// Every indicator, breakdown and check of `pipeline` run on empty typed
/// tables (the columns and types a run gives them): a misspelled column, a
/// table that does not exist or a type that does not fit fails here, at
/// `tonghop check`, not in the nightly run. Targets and parameters the
/// config lacks are given stand-in values (their absence is reported on its
/// own). Returns one "<id>: <error>" line per failing query.
pub fn dry_run(pipeline: &Pipeline, config: &Config) -> Vec<String> {
    let mut config = config.clone();
    let sqls = pipeline
        .indicators
        .iter()
        .map(|i| &i.sql)
        .chain(pipeline.breakdowns.iter().map(|b| &b.sql))
        .chain(pipeline.checks.iter().map(|c| &c.sql));
    for sql in sqls {
        for name in placeholder_names(sql) {
            if let Some(k) = name.strip_prefix("targets.") {
                config.targets.entry(k.to_string()).or_insert(1.0);
            }
            if let Some(k) = name.strip_prefix("params.")
                && !config.params.contains_key(k)
            {
                config
                    .param_dates
                    .entry(k.to_string())
                    .or_insert(config.period.to);
            }
        }
    }
    let mut frames = Vec::new();
    for t in &pipeline.tables {
        match crate::table::build_frame(t, &[]) {
            Ok(df) => frames.push((t.name.clone(), df.lazy())),
            Err(e) => return vec![format!("{}.{}: {e}", pipeline.name, t.name)],
        }
    }
    // The failures are the answer here, not log lines.
    let computed =
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            compute(pipeline, &frames, &config)
        });
    let mut out = Vec::new();
    // Failed breakdowns are listed with the indicators, as "<id> (by <dim>)".
    for i in &computed.indicators {
        if let Some(e) = &i.error {
            out.push(format!("{}: {e}", i.id));
        }
    }
    for c in &computed.checks {
        if let Some(e) = &c.error {
            out.push(format!("{}: {e}", c.id));
        }
    }
    out
}

/// A figure as plain text for CSV: integers without ".0", others at full precision.
pub fn plain_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The columns a set of queries may read: every identifier they name, or
/// `None` when one selects a wildcard (`SELECT *`, `t.*`), so that all
/// columns are needed. Read from sqlparser's tokens, so `100.0 * SUM(x)`
/// and `COUNT(*)` are no wildcard.
pub fn columns_read<'a>(
    sqls: impl IntoIterator<Item = &'a str>,
) -> Option<std::collections::HashSet<String>> {
    use sqlparser::dialect::GenericDialect;
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let mut words = std::collections::HashSet::new();
    for sql in sqls {
        let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
            // The pipeline file was checked when loaded; be safe anyway.
            return None;
        };
        let mut prev: Option<&Token> = None;
        for t in tokens.iter().filter(|t| !matches!(t, Token::Whitespace(_))) {
            match t {
                Token::Word(w) => {
                    words.insert(w.value.to_lowercase());
                }
                Token::Mul => {
                    let wildcard = match prev {
                        None | Some(Token::Comma | Token::Period) => true,
                        Some(Token::Word(w)) => matches!(
                            w.keyword,
                            Keyword::SELECT | Keyword::DISTINCT | Keyword::ALL
                        ),
                        _ => false,
                    };
                    if wildcard {
                        return None;
                    }
                }
                _ => {}
            }
            prev = Some(t);
        }
    }
    Some(words)
}

/// A failed `[[checks]]` rule as a finding: no cell of its own, the rule's
/// id as the header, the violations and the first examples in the reason.
pub fn check_finding(c: &crate::indicators::CheckResult) -> Finding {
    let reason = match &c.error {
        Some(e) => format!("{}: không chạy được kiểm tra ({e})", c.description),
        None => format!(
            "{}: {} dòng vi phạm{}",
            c.description,
            c.violations,
            if c.examples.is_empty() {
                String::new()
            } else {
                format!(
                    " (ví dụ: {})",
                    c.examples
                        .iter()
                        .take(3)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            }
        ),
    };
    Finding {
        pipeline: c.pipeline.clone(),
        table: String::new(),
        file: String::new(),
        sheet: String::new(),
        row: 0,
        cell: String::new(),
        column: String::new(),
        header: c.id.clone(),
        value: c.violations.to_string(),
        severity: c.severity,
        code: "check_failed".into(),
        reason,
        related: String::new(),
        excludes: String::new(),
    }
}

/// A pipeline's indicators with no value: no workbooks is no figure, not a
/// zero.
pub fn no_figures(pipeline: &Pipeline) -> impl Iterator<Item = IndicatorValue> + '_ {
    pipeline.indicators.iter().map(|ind| IndicatorValue {
        excluded: Default::default(),
        commune: String::new(),
        period: String::new(),
        id: ind.id.clone(),
        pipeline: pipeline.name.clone(),
        label: ind.label.clone(),
        unit: ind.unit.clone(),
        value: None,
        error: None,
        stale_since: None,
    })
}

/// The table as the pipeline's SQL reads it: the written Parquet, narrowed
/// to the columns the queries name and read once, instead of scanned again
/// by every indicator (a province's table is millions of rows; its one or
/// two queried columns are a fraction of it). A query with `*` gets the lazy
/// scan of everything.
pub fn sql_input(pipeline: &Pipeline, lazy: LazyFrame) -> anyhow::Result<LazyFrame> {
    match sql_columns(pipeline, lazy)? {
        (lazy, true) => Ok(lazy.collect()?.lazy()),
        (lazy, false) => Ok(lazy),
    }
}

/// The columns of `lazy` the pipeline's SQL reads, still lazy (for frames
/// too big to hold, which every query scans again), and whether that is
/// fewer than all.
pub fn sql_columns(pipeline: &Pipeline, lazy: LazyFrame) -> anyhow::Result<(LazyFrame, bool)> {
    let sqls = pipeline
        .indicators
        .iter()
        .map(|i| i.sql.as_str())
        .chain(pipeline.breakdowns.iter().map(|b| b.sql.as_str()))
        .chain(pipeline.checks.iter().map(|c| c.sql.as_str()));
    let Some(words) = columns_read(sqls) else {
        return Ok((lazy, false));
    };
    let mut lazy = lazy;
    let schema = lazy.collect_schema()?;
    let used: Vec<Expr> = schema
        .iter_names()
        .filter(|n| words.contains(&n.to_lowercase()))
        .map(|n| col(n.clone()))
        .collect();
    if used.is_empty() {
        return Ok((lazy, false));
    }
    Ok((lazy.select(used), true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_settled_at_twelve_digits() {
        assert_eq!(settle(54.999999999999986), 55.0);
        assert_eq!(settle(54.99999999999999), 55.0);
        assert_eq!(settle(39.28571428571427), settle(39.28571428571428));
        assert_eq!(settle(99529.104), 99529.104);
        assert_eq!(settle(5844.299000000001), 5844.299);
        assert_eq!(settle(1743250000.0), 1743250000.0);
        assert_eq!(settle(0.0), 0.0);
        assert_eq!(settle(-4.48316158504196), -4.48316158504);
        assert_eq!(settle(0.1 + 0.2), 0.3);
    }

    #[test]
    fn count_distinct_of_a_unique_column_is_a_count() {
        let unique = [("persons", "personal_id"), ("bhyt_persons", "personal_id")];
        let rw = |sql: &str| count_distinct_of_unique(sql, &unique);
        assert_eq!(
            rw("SELECT COUNT(DISTINCT personal_id) AS value FROM persons WHERE g = 'a'").as_deref(),
            Some("SELECT COUNT(personal_id) AS value FROM persons WHERE g = 'a'")
        );
        assert_eq!(
            rw("SELECT village, COUNT(DISTINCT p.personal_id) AS value FROM bhyt_persons AS p GROUP BY village")
                .as_deref(),
            Some("SELECT village, COUNT(p.personal_id) AS value FROM bhyt_persons AS p GROUP BY village")
        );
        // Left alone: another column, another table, a join, a subquery,
        // nothing to change.
        assert_eq!(
            rw("SELECT COUNT(DISTINCT village) AS value FROM persons"),
            None
        );
        assert_eq!(
            rw("SELECT COUNT(DISTINCT personal_id) AS value FROM citizens"),
            None
        );
        // A table whose name merely ends like a deduplicated one's.
        assert_eq!(
            rw("SELECT COUNT(DISTINCT personal_id) AS value FROM old_persons"),
            None
        );
        // A window counts as it runs: COUNT(x) OVER (ORDER BY …) is not
        // COUNT(DISTINCT x) OVER (…).
        assert_eq!(
            rw("SELECT COUNT(DISTINCT personal_id) OVER (ORDER BY village) AS value FROM persons"),
            None
        );
        assert_eq!(
            rw(
                "SELECT COUNT(DISTINCT personal_id) AS value FROM persons JOIN c ON persons.x = c.x"
            ),
            None
        );
        assert_eq!(
            rw(
                "SELECT COUNT(DISTINCT personal_id) AS value FROM persons WHERE x IN (SELECT x FROM c)"
            ),
            None
        );
        assert_eq!(rw("SELECT COUNT(*) AS value FROM persons"), None);
        assert_eq!(
            count_distinct_of_unique("SELECT COUNT(DISTINCT personal_id) FROM persons", &[]),
            None
        );
    }

    #[test]
    fn placeholders() {
        let s = substitute_placeholders("WHERE d <= {period.to} AND x = { a }", &|n| match n {
            "period.to" => Some("'2026-06-19'".into()),
            "a" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s, "WHERE d <= '2026-06-19' AND x = 1");
        assert!(
            substitute_placeholders("{nope}", &|_| None)
                .unwrap_err()
                .contains("unknown placeholder {nope}")
        );
    }

    #[test]
    fn columns_read_from_the_tokens() {
        let read = columns_read([
            "SELECT 100.0 * SUM(head_now) / {targets.x} AS value FROM herd WHERE herd_group = 'main_herd'",
            "SELECT COUNT(*) AS value FROM persons",
        ])
        .unwrap();
        for w in ["head_now", "herd_group", "herd", "persons"] {
            assert!(read.contains(w), "{w}: {read:?}");
        }
        assert!(
            !read.contains("main_herd"),
            "a string is no column: {read:?}"
        );
        assert!(columns_read(["SELECT * FROM herd"]).is_none());
        assert!(columns_read(["SELECT DISTINCT * FROM herd"]).is_none());
        assert!(columns_read(["SELECT village, t.* FROM herd AS t"]).is_none());
        assert!(columns_read(["SELECT a * b AS value FROM t"]).is_some());
    }

    #[test]
    fn plain_numbers() {
        assert_eq!(plain_number(20213.0), "20213");
        assert_eq!(plain_number(89.98170173833486), "89.98170173833486");
    }
}
