//! What each figure could not use. Every record a table lacks (a rejected
//! row, an unreadable cell, a duplicate, a row dated after the period) is
//! kept with the values that were readable, in a "shadow" table beside the
//! real one. Each indicator's and breakdown's own query is then asked which
//! of those records it would have counted: the same FROM, its WHERE made
//! lenient (a condition that cannot be decided on the readable values counts
//! as met), and, for an unreadable cell, only the figures whose query reads
//! that column. So a bad poultry cell does not mark the main-herd figure,
//! and a bad goat cell in bản Hua Pầu marks Hua Pầu's row of the breakdown.

pub use crate::model::Exclusions;

use crate::config::Config;
use crate::extract::Exclusion;
use crate::indicators::{BreakdownRow, IndicatorValue, placeholder, substitute_placeholders};
use crate::pipeline::{Pipeline, Table};
use polars::prelude::*;
use polars::sql::SQLContext;
use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement, TableFactor};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use std::collections::BTreeMap;

/// The shadow table of `table`: its excluded records (`build_frame` layout)
/// plus `_exclusion`, `_column`, `_cell` and `_what`.
pub fn shadow_frame(
    table: &Table,
    parts: &[(&crate::extract::Excluded, &str, &[String])],
    duplicates: Vec<DataFrame>,
) -> PolarsResult<DataFrame> {
    let batches: Vec<crate::table::SourcedBatch<'_>> = parts
        .iter()
        .map(|(e, file, sheets)| crate::table::SourcedBatch {
            batch: &e.batch,
            file,
            sheet_names: sheets,
        })
        .collect();
    let mut df = crate::table::build_frame(table, &batches)?;
    let text = |f: fn(&crate::extract::Excluded, usize) -> &str| -> Vec<&str> {
        parts
            .iter()
            .flat_map(|(e, _, _)| (0..e.len()).map(move |i| f(e, i)))
            .collect()
    };
    df.with_column(Column::new(
        "_exclusion".into(),
        text(|e, i| e.kind[i].code()),
    ))?;
    df.with_column(Column::new("_column".into(), text(|e, i| &e.column[i])))?;
    df.with_column(Column::new("_cell".into(), text(|e, i| &e.cell[i])))?;
    df.with_column(Column::new("_what".into(), text(|e, i| &e.what[i])))?;
    for mut d in duplicates {
        let n = d.height();
        d.with_column(Column::new(
            "_exclusion".into(),
            vec![Exclusion::Duplicate.code(); n],
        ))?;
        for name in ["_column", "_cell", "_what"] {
            d.with_column(Column::new(name.into(), vec![""; n]))?;
        }
        df.vstack_mut(&d)?;
    }
    Ok(df)
}

/// The query that lists the shadow records `sql` would have counted, or
/// `None` when `sql` is not one SELECT over one table (then every shadow
/// record of the tables it names is listed). `by`: the breakdown's key,
/// selected as the query selects it.
fn lenient(sql: &str, by: Option<&str>, extra: &[String]) -> Option<String> {
    let stmts = Parser::parse_sql(&GenericDialect {}, sql).ok()?;
    let [Statement::Query(q)] = stmts.as_slice() else {
        return None;
    };
    if q.with.is_some() {
        return None;
    }
    let SetExpr::Select(sel) = q.body.as_ref() else {
        return None;
    };
    if sel.from.len() != 1 || !sel.from[0].joins.is_empty() {
        return None;
    }
    let TableFactor::Table { name, .. } = &sel.from[0].relation else {
        return None;
    };
    let mut cols: Vec<String> = base_columns(extra);
    if let Some(by) = by {
        let item = sel.projection.iter().find_map(|p| match p {
            SelectItem::ExprWithAlias { expr, alias } if alias.value == by => {
                Some(format!("{expr} AS _key"))
            }
            SelectItem::UnnamedExpr(Expr::Identifier(id)) if id.value == by => {
                Some(format!("{id} AS _key"))
            }
            _ => None,
        })?;
        cols.push(item);
    }
    let filter = sel
        .selection
        .as_ref()
        .map(|w| format!(" WHERE COALESCE(({w}), TRUE)"))
        .unwrap_or_default();
    Some(format!("SELECT {} FROM {name}{filter}", cols.join(", ")))
}

fn base_columns(extra: &[String]) -> Vec<String> {
    [
        "_exclusion",
        "_column",
        "_cell",
        "_what",
        "source_file",
        "source_sheet",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["CAST(source_row AS VARCHAR) AS _row".to_string()])
    .chain(
        extra
            .iter()
            .map(|c| format!("CAST({c} AS VARCHAR) AS _dim_{c}")),
    )
    .collect()
}

fn text_at(df: &DataFrame, name: &str, i: usize) -> String {
    match df.column(name).ok().and_then(|c| c.get(i).ok()) {
        Some(AnyValue::String(s)) => s.to_string(),
        Some(AnyValue::StringOwned(s)) => s.to_string(),
        Some(AnyValue::Null) | None => String::new(),
        Some(v) => v.to_string().trim_matches('"').to_string(),
    }
}

/// "Dê / Số con hiện có, Tên bản: Hua Pầu – tệp.xls, Biểu!L12"; for a
/// rejected row "dòng 12, Tên bản: Nà Ngò – tệp.xls, Biểu". A dimension
/// already named by the header (the species of a wide group) is not repeated.
fn example(df: &DataFrame, i: usize, dims: &[(String, String)], pipeline: &Pipeline) -> String {
    let file = text_at(df, "source_file", i);
    let file = file.split_once('/').map_or(file.as_str(), |(_, f)| f);
    let sheet = text_at(df, "source_sheet", i);
    let cell = text_at(df, "_cell", i);
    let what = text_at(df, "_what", i);
    let mut place: Vec<String> = Vec::new();
    for (name, label) in dims {
        let v = text_at(df, &format!("_dim_{name}"), i);
        let shown = pipeline
            .member_label(name, &v)
            .map_or_else(|| v.clone(), |l| l.into_owned());
        if !shown.is_empty() && !what.contains(&shown) {
            place.push(format!("{label}: {shown}"));
        }
    }
    let head = if cell.is_empty() {
        format!("dòng {}", text_at(df, "_row", i))
    } else {
        what.clone()
    };
    let mut s = head;
    for p in place {
        s.push_str(", ");
        s.push_str(&p);
    }
    if cell.is_empty() {
        format!("{s} – {file}, {sheet}")
    } else {
        format!("{s} – {file}, {sheet}!{cell}")
    }
}

/// The shadow records a query would have counted: per key ("" for an
/// indicator), what it lacks.
fn tally(
    pipeline: &Pipeline,
    ctx: &mut SQLContext,
    sql: &str,
    by: Option<&str>,
    config: &Config,
    tables: &[String],
    dims: &[(String, String)],
) -> BTreeMap<String, Exclusions> {
    let mut out = BTreeMap::new();
    let Ok(sql) = substitute_placeholders(sql, &|n| placeholder(config, n)) else {
        return out;
    };
    // None: the query reads every column (a wildcard).
    let read = crate::indicators::columns_read([sql.as_str()]);
    let reads = |w: &str| read.as_ref().is_none_or(|r| r.contains(&w.to_lowercase()));
    let extra: Vec<String> = dims.iter().map(|(n, _)| n.clone()).collect();
    let queries: Vec<String> = match lenient(&sql, by, &extra) {
        Some(q) => vec![q],
        None => tables
            .iter()
            .filter(|t| reads(t))
            .map(|t| format!("SELECT {} FROM {t}", base_columns(&extra).join(", ")))
            .collect(),
    };
    for q in queries {
        let df = match ctx.execute(&q).and_then(|lf| lf.collect()) {
            Ok(df) => df,
            Err(e) => {
                tracing::debug!(stage = "indicators", query = %q, error = %e, "exclusions not attributed");
                continue;
            }
        };
        for i in 0..df.height() {
            let kind = text_at(&df, "_exclusion", i);
            if kind == "cell" && !reads(&text_at(&df, "_column", i)) {
                continue;
            }
            let wanted = kind == "cell" || kind == "rejected";
            let e = wanted.then(|| example(&df, i, dims, pipeline));
            let key = if by.is_some() {
                text_at(&df, "_key", i)
            } else {
                String::new()
            };
            out.entry(key)
                .or_insert_with(Exclusions::default)
                .add(&kind, e);
        }
    }
    out
}

/// Attach to each of the pipeline's figures what it could not use.
/// `shadows`: table name -> shadow frame (see [`shadow_frame`]).
pub fn attach(
    pipeline: &Pipeline,
    shadows: &[(String, DataFrame)],
    config: &Config,
    indicators: &mut [IndicatorValue],
    breakdowns: &mut [BreakdownRow],
) {
    if shadows.iter().all(|(_, df)| df.height() == 0) {
        return;
    }
    let mut ctx = SQLContext::new();
    let mut tables = Vec::new();
    for (name, df) in shadows {
        ctx.register(name, df.clone().lazy());
        ctx.register(&format!("{}_{}", pipeline.name, name), df.clone().lazy());
        tables.push(name.clone());
        tables.push(format!("{}_{}", pipeline.name, name));
    }
    // The dimensions the report names a place by (the breakdowns' keys),
    // where every shadow table has them.
    let mut dims: Vec<(String, String)> = Vec::new();
    for b in &pipeline.breakdowns {
        if dims.iter().any(|(n, _)| *n == b.by) {
            continue;
        }
        let present = shadows
            .iter()
            .all(|(_, df)| df.height() == 0 || df.column(&b.by).is_ok());
        let label = pipeline
            .tables
            .iter()
            .flat_map(|t| &t.columns)
            .find(|c| c.name == b.by)
            .map(|c| c.label.clone());
        if present && let Some(label) = label {
            dims.push((b.by.clone(), label));
        }
    }
    for ind in pipeline.indicators.iter() {
        let mut t = tally(pipeline, &mut ctx, &ind.sql, None, config, &tables, &dims);
        if let Some(e) = t.remove("")
            && let Some(v) = indicators
                .iter_mut()
                .find(|v| v.id == ind.id && v.pipeline == pipeline.name)
        {
            v.excluded = e;
        }
    }
    for b in &pipeline.breakdowns {
        let t = tally(
            pipeline,
            &mut ctx,
            &b.sql,
            Some(&b.by),
            config,
            &tables,
            &[],
        );
        for row in breakdowns
            .iter_mut()
            .filter(|r| r.id == b.id && r.pipeline == pipeline.name && r.by == b.by)
        {
            if let Some(e) = t.get(&row.key) {
                row.excluded = e.clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_keeps_from_and_where_drops_the_aggregate() {
        let q = lenient(
            "SELECT SUM(head_now) AS value FROM herd WHERE herd_group = 'main_herd'",
            None,
            &[],
        )
        .unwrap();
        assert!(
            q.ends_with("FROM herd WHERE COALESCE((herd_group = 'main_herd'), TRUE)"),
            "{q}"
        );
        assert!(!q.contains("SUM"), "{q}");
        let q = lenient(
            "SELECT CAST(species AS VARCHAR) AS species, SUM(head_now) AS value FROM herd GROUP BY species",
            Some("species"),
            &[],
        )
        .unwrap();
        assert!(q.contains("CAST(species AS VARCHAR) AS _key"), "{q}");
        assert!(!q.contains("GROUP BY"), "{q}");
        // Not one SELECT over one table: the caller falls back to whole tables.
        assert!(lenient("SELECT a FROM x JOIN y ON x.k = y.k", None, &[]).is_none());
        assert!(lenient("WITH t AS (SELECT 1) SELECT * FROM t", None, &[]).is_none());
    }
}
