//! The pipelines' indicator SQL for an existing distributed engine (Apache
//! Spark): the portable subset both engines read alike, and each indicator
//! rewritten to compute every commune (or every province period) in one
//! query over the published public tables.
//!
//! The rewrite keeps the indicator's meaning per commune exactly:
//! `FROM t WHERE w` becomes a LEFT JOIN of the communes table to `t` on the
//! commune, the period and `w`, grouped by the commune, so a commune with no
//! matching row still gets its row (COUNT 0, SUM and MIN NULL, as polars gives).
//! Every aggregate reads only joined rows: `COUNT(*)` counts the table's
//! `commune_code`, any other argument `a` becomes
//! `CASE WHEN __t.commune_code IS NULL THEN NULL ELSE a END`.
//! Placeholders become columns of the communes table: `{period.from}` the
//! period's first day, `{targets.x}` the commune's target.

use crate::pipeline::{Pipeline, Privacy, Table};
use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments,
    Query, SelectItem, SetExpr, Statement, TableFactor, Value, VisitMut, VisitorMut,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use std::ops::ControlFlow;

/// Column of every public table with the commune's code as text.
pub const CODE: &str = crate::model::COMMUNE_CODE;

/// Functions both engines read alike (aggregates first).
const AGGREGATES: &[&str] = &["count", "sum", "avg", "min", "max"];
const SCALARS: &[&str] = &[
    "coalesce", "nullif", "round", "abs", "lower", "upper", "trim", "length", "year", "month",
];

/// Why `sql` would not mean the same on Spark as on the embedded engine;
/// empty when it is portable.
pub fn portability_problems(sql: &str) -> Vec<String> {
    let text = match crate::pipeline::template::substitute_placeholders(sql, &|n| {
        // A target is a number of the config: it may be 0, so a divisor
        // that is one needs its guard too.
        Some(if n.starts_with("period.") {
            "'2000-01-01'".to_string()
        } else {
            "__placeholder".to_string()
        })
    }) {
        Ok(t) => t,
        Err(e) => return vec![e],
    };
    let mut stmts = match Parser::parse_sql(&GenericDialect {}, &text) {
        Ok(s) => s,
        Err(e) => return vec![format!("cannot parse the SQL: {e}")],
    };
    let mut v = Portability::default();
    let _ = stmts.visit(&mut v);
    v.problems.dedup();
    v.problems
}

#[derive(Default)]
struct Portability {
    problems: Vec<String>,
}

impl VisitorMut for Portability {
    type Break = ();
    fn pre_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        match e {
            Expr::Value(v) => {
                if let Value::Number(n, _) = &v.value
                    && n.contains(['.', 'e', 'E'])
                {
                    self.problems.push(format!(
                        "{n}: Spark reads a decimal literal as DECIMAL and rounds what it touches; write CAST({} AS DOUBLE)",
                        n.trim_end_matches(".0")
                    ));
                }
            }
            Expr::Cast {
                data_type,
                kind: CastKind::Cast,
                ..
            } => {
                if let DataType::Varchar(None) | DataType::Text | DataType::Char(None) = data_type {
                    self.problems.push(format!(
                        "CAST(… AS {data_type}): Spark refuses {data_type} without a length; write CAST(… AS STRING)"
                    ));
                }
            }
            Expr::Cast { kind, .. } => {
                self.problems.push(format!(
                    "{kind:?} casts are not portable; write CAST(… AS type)"
                ));
            }
            Expr::BinaryOp {
                op: BinaryOperator::Divide,
                right,
                ..
            } if !guarded(right) => {
                self.problems.push(format!(
                    "… / {right}: Spark fails the whole query on a zero divisor where polars gives inf; write … / NULLIF({right}, 0)"
                ));
            }
            Expr::Function(f) => {
                let name = f.name.to_string().to_lowercase();
                if !AGGREGATES.contains(&name.as_str()) && !SCALARS.contains(&name.as_str()) {
                    self.problems.push(format!(
                        "{name}(): not in the portable subset ({}, {})",
                        AGGREGATES.join(", "),
                        SCALARS.join(", ")
                    ));
                }
                if f.over.is_some() || f.filter.is_some() {
                    self.problems
                        .push(format!("{name}() with OVER or FILTER is not portable"));
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

/// A divisor that cannot be zero, or is NULL when it would be.
fn guarded(e: &Expr) -> bool {
    match e {
        Expr::Nested(x) => guarded(x),
        Expr::Value(v) => {
            matches!(&v.value, Value::Number(n, _) if n.parse::<f64>().is_ok_and(|x| x != 0.0))
        }
        Expr::Function(f) => f.name.to_string().eq_ignore_ascii_case("nullif"),
        Expr::Cast { expr, .. } => guarded(expr),
        _ => false,
    }
}

/// Which rows an indicator is computed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// One row per commune and period: the table rows of that commune.
    Commune,
    /// One row per period: the rows of every commune, persons counted once
    /// (the views `<table>__province`).
    Province,
}

/// The communes table the queries join: its name and columns. Targets are
/// `__target_<n>`, numbered by [`target_column`].
pub const COMMUNES: &str = "__communes";
pub const PROVINCES: &str = "__provinces";

/// The communes table's column for a key of `[targets]` or `[params]`:
/// `__target_<key>` / `__param_<key>`, the key's other characters as `_`.
fn key_column(prefix: &str, key: &str) -> String {
    let mut s = String::from(prefix);
    for c in key.chars() {
        s.push(if c.is_ascii_alphanumeric() { c } else { '_' });
    }
    s
}

/// The communes table's column for a target key.
pub fn target_column(key: &str) -> String {
    key_column("__target_", key)
}

/// The communes table's column for a `[params]` key (a cut-off date).
pub fn param_column(key: &str) -> String {
    key_column("__param_", key)
}

/// Every key after `prefix` ("targets.", "params.") the pipelines'
/// indicator SQL names, sorted.
fn placeholder_keys(pipelines: &[&Pipeline], prefix: &str) -> Vec<String> {
    let mut keys: Vec<String> = pipelines
        .iter()
        .flat_map(|p| p.indicators.iter())
        .flat_map(|i| crate::pipeline::template::placeholder_names(&i.sql))
        .filter_map(|n| n.strip_prefix(prefix).map(str::to_string))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// Every `[params]` key the pipelines' indicator SQL names.
pub fn param_keys(pipelines: &[&Pipeline]) -> Vec<String> {
    placeholder_keys(pipelines, "params.")
}

/// The communes table's column that says whether the commune has figures
/// for a pipeline (its workbooks arrived).
pub fn has_column(pipeline: &str) -> String {
    format!(
        "__has_{}",
        pipeline.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    )
}

/// The public table's view name in Spark.
pub fn view_name(pipeline: &str, table: &str) -> String {
    format!("{pipeline}_{table}")
}

/// The unique key columns that identify a person across communes (all
/// hashed IDs): rows of two communes with the same key are one person,
/// counted once in the province's figures. Other keys (dossier numbers)
/// are each commune's own numbering.
pub fn province_key(table: &Table) -> Option<&str> {
    let [u] = table.unique.as_slice() else {
        return None;
    };
    let c = &table.columns[*u];
    (c.privacy == Privacy::Hash).then_some(c.name.as_str())
}

/// The Spark view of a table's rows for the province: the first commune
/// (by code) of each person, in each period.
pub fn province_view(pipeline: &Pipeline, table: &Table) -> String {
    let v = view_name(&pipeline.name, &table.name);
    match province_key(table) {
        Some(key) => format!(
            "SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY period, {key} ORDER BY {CODE}) AS __n FROM {v}) WHERE {key} IS NULL OR __n = 1"
        ),
        None => format!("SELECT * FROM {v}"),
    }
}

/// The columns of the communes (and provinces) table, in order.
pub fn communes_columns(
    pipelines: &[&Pipeline],
    targets: &[String],
    params: &[String],
) -> Vec<String> {
    let mut cols: Vec<String> = ["__commune", "__period", "__from", "__to"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    cols.extend(targets.iter().map(|t| target_column(t)));
    cols.extend(params.iter().map(|t| param_column(t)));
    cols.extend(pipelines.iter().map(|p| has_column(&p.name)));
    cols
}

/// Every target key the pipelines' SQL names.
pub fn target_keys(pipelines: &[&Pipeline]) -> Vec<String> {
    placeholder_keys(pipelines, "targets.")
}

/// The query with its placeholders as the communes table's columns
/// (`{period.to}` is `__c.__to`), parsed: its one SELECT. `what` names the
/// query in errors ("an indicator", "a breakdown").
fn spark_select(sql: &str, what: &str) -> Result<sqlparser::ast::Select, String> {
    let text = crate::pipeline::template::substitute_placeholders(sql, &|n| match n {
        "period.from" => Some("__c.__from".into()),
        "period.to" => Some("__c.__to".into()),
        "commune.code" => Some("__c.__commune".into()),
        _ => n
            .strip_prefix("targets.")
            .map(|k| format!("__c.{}", target_column(k)))
            .or_else(|| {
                n.strip_prefix("params.")
                    .map(|k| format!("__c.{}", param_column(k)))
            }),
    })?;
    let stmts = Parser::parse_sql(&GenericDialect {}, &text).map_err(|e| e.to_string())?;
    let [Statement::Query(q)] = stmts.as_slice() else {
        return Err(format!("{what} is one SELECT"));
    };
    let Query { body, with, .. } = q.as_ref();
    if with.is_some() {
        return Err("WITH is not rewritten for all communes".into());
    }
    let SetExpr::Select(sel) = body.as_ref() else {
        return Err(format!("{what} is one SELECT (no UNION)"));
    };
    Ok(sel.as_ref().clone())
}

/// The communes (or provinces) table, the ON condition that ties a row to
/// its commune, and the view a scope reads `table` from.
fn scope_source(pipeline: &Pipeline, table: &str, scope: Scope) -> (&'static str, String, String) {
    match scope {
        Scope::Commune => (
            COMMUNES,
            format!("__t.{CODE} = __c.__commune AND "),
            view_name(&pipeline.name, table),
        ),
        Scope::Province => (
            PROVINCES,
            String::new(),
            format!("{}__province", view_name(&pipeline.name, table)),
        ),
    }
}

/// One indicator's query over every commune (or province period) at once:
/// columns `commune`, `period`, `value`.
pub fn rewrite(
    pipeline: &Pipeline,
    sql: &str,
    scope: Scope,
    all_columns: &[String],
) -> Result<String, String> {
    let sel = spark_select(sql, "an indicator")?;
    let group_by_empty = match &sel.group_by {
        sqlparser::ast::GroupByExpr::Expressions(e, _) => e.is_empty(),
        sqlparser::ast::GroupByExpr::All(_) => false,
    };
    if !group_by_empty || sel.having.is_some() || sel.projection.len() != 1 {
        return Err("an indicator selects one value, without GROUP BY or HAVING".into());
    }
    let value = match &sel.projection[0] {
        SelectItem::ExprWithAlias { expr, .. } | SelectItem::UnnamedExpr(expr) => expr.clone(),
        _ => return Err("an indicator selects one expression".into()),
    };
    let has = format!("__c.{}", has_column(&pipeline.name));
    let group_by = all_columns
        .iter()
        .map(|c| format!("__c.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let head = |value: &str| {
        format!(
            "SELECT __c.__commune AS commune, __c.__period AS period, CASE WHEN {has} THEN {value} END AS value"
        )
    };
    if sel.from.is_empty() {
        let communes = match scope {
            Scope::Commune => COMMUNES,
            Scope::Province => PROVINCES,
        };
        return Ok(format!("{} FROM {communes} __c", head(&value.to_string())));
    }
    if sel.from.len() != 1 || !sel.from[0].joins.is_empty() {
        return Err("an indicator reads one table (no joins)".into());
    }
    let TableFactor::Table { name, alias, .. } = &sel.from[0].relation else {
        return Err("an indicator reads one table".into());
    };
    if alias.is_some() {
        return Err("a table alias is not rewritten for all communes".into());
    }
    let table = name.to_string();
    if !pipeline.tables.iter().any(|t| t.name == table) {
        return Err(format!("no table {table} in pipeline {}", pipeline.name));
    }
    let (communes, on_commune, source) = scope_source(pipeline, &table, scope);
    let mut value = value;
    let _ = value.visit(&mut JoinedOnly);
    let filter = sel
        .selection
        .as_ref()
        .map(|w| format!(" AND ({w})"))
        .unwrap_or_default();
    Ok(format!(
        "{} FROM {communes} __c LEFT JOIN {source} __t ON {on_commune}__t.period = __c.__period{filter} GROUP BY {group_by}",
        head(&value.to_string())
    ))
}

/// One breakdown's query over every commune (or province period) at once:
/// columns `commune`, `period`, `member` (the dimension's value as text,
/// NULL for an unknown one) and `value`, one row per member that has rows
/// (as the embedded breakdowns give a value only to those).
pub fn rewrite_breakdown(pipeline: &Pipeline, sql: &str, scope: Scope) -> Result<String, String> {
    let sel = spark_select(sql, "a breakdown")?;
    let group = match &sel.group_by {
        sqlparser::ast::GroupByExpr::Expressions(e, _) if e.len() == 1 => e[0].clone(),
        _ => return Err("a breakdown groups by one expression".into()),
    };
    if sel.having.is_some() || sel.projection.len() != 2 {
        return Err("a breakdown selects its member and value, without HAVING".into());
    }
    let mut member = None;
    let mut value = None;
    for item in &sel.projection {
        match item {
            SelectItem::ExprWithAlias { expr, alias }
                if alias.value.eq_ignore_ascii_case("value") =>
            {
                value = Some(expr.clone());
            }
            SelectItem::ExprWithAlias { expr, .. } | SelectItem::UnnamedExpr(expr) => {
                member = Some(expr.clone());
            }
            _ => return Err("a breakdown selects two expressions".into()),
        }
    }
    let (Some(member), Some(value)) = (member, value) else {
        return Err("a breakdown selects a member and `… AS value`".into());
    };
    if sel.from.len() != 1 || !sel.from[0].joins.is_empty() {
        return Err("a breakdown reads one table (no joins)".into());
    }
    // One table, or a subquery that only adds columns to one table's rows
    // and filters them ("SELECT CASE … END AS age_band FROM citizens WHERE
    // …"): its columns join the view's, its filter joins the ON.
    let (name, extra, inner_filter) = match &sel.from[0].relation {
        TableFactor::Table { name, alias, .. } => {
            if alias.is_some() {
                return Err("a table alias is not rewritten for all communes".into());
            }
            (name.to_string(), None, None)
        }
        TableFactor::Derived {
            subquery,
            lateral: false,
            ..
        } => {
            let Query { body, with, .. } = subquery.as_ref();
            let SetExpr::Select(inner) = body.as_ref() else {
                return Err("a breakdown's subquery is one SELECT".into());
            };
            let plain_group = match &inner.group_by {
                sqlparser::ast::GroupByExpr::Expressions(e, _) => e.is_empty(),
                sqlparser::ast::GroupByExpr::All(_) => false,
            };
            if with.is_some()
                || !plain_group
                || inner.having.is_some()
                || inner.from.len() != 1
                || !inner.from[0].joins.is_empty()
            {
                return Err("a breakdown's subquery reads one table, without GROUP BY".into());
            }
            let TableFactor::Table {
                name, alias: None, ..
            } = &inner.from[0].relation
            else {
                return Err("a breakdown's subquery reads one table, without alias".into());
            };
            let items: Vec<String> = inner
                .projection
                .iter()
                .filter(|i| !matches!(i, SelectItem::Wildcard(_)))
                .map(|i| i.to_string())
                .collect();
            (
                name.to_string(),
                (!items.is_empty()).then(|| items.join(", ")),
                inner.selection.as_ref().map(|w| w.to_string()),
            )
        }
        _ => return Err("a breakdown reads one table".into()),
    };
    let table = name;
    if !pipeline.tables.iter().any(|t| t.name == table) {
        return Err(format!("no table {table} in pipeline {}", pipeline.name));
    }
    let (communes, on_commune, base) = scope_source(pipeline, &table, scope);
    // Spaces around the view's name: the driver finds missing views by it.
    let source = match extra {
        Some(cols) => format!("(SELECT *, {cols} FROM {base} )"),
        None => base,
    };
    let has = format!("__c.{}", has_column(&pipeline.name));
    let filter: String = inner_filter
        .into_iter()
        .chain(sel.selection.as_ref().map(|w| w.to_string()))
        .map(|w| format!(" AND ({w})"))
        .collect();
    Ok(format!(
        "SELECT __c.__commune AS commune, __c.__period AS period, CAST({member} AS STRING) AS member, {value} AS value FROM {communes} __c JOIN {source} __t ON {on_commune}__t.period = __c.__period{filter} WHERE {has} GROUP BY __c.__commune, __c.__period, {group}"
    ))
}

/// Aggregates read joined rows only (SUM of no row is NULL in both engines).
struct JoinedOnly;

impl VisitorMut for JoinedOnly {
    type Break = ();
    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let Expr::Function(f) = e else {
            return ControlFlow::Continue(());
        };
        let name = f.name.to_string().to_lowercase();
        if !AGGREGATES.contains(&name.as_str()) {
            return ControlFlow::Continue(());
        }
        if let FunctionArguments::List(list) = &mut f.args {
            for a in &mut list.args {
                let arg = match a {
                    FunctionArg::Unnamed(x) | FunctionArg::Named { arg: x, .. } => x,
                    FunctionArg::ExprNamed { arg: x, .. } => x,
                };
                let joined = Expr::Identifier(sqlparser::ast::Ident::new(format!("__t.{CODE}")));
                *arg = match std::mem::replace(arg, FunctionArgExpr::Wildcard) {
                    FunctionArgExpr::Wildcard => FunctionArgExpr::Expr(joined),
                    FunctionArgExpr::Expr(x) => FunctionArgExpr::Expr(
                        Parser::new(&GenericDialect {})
                            .try_with_sql(&format!(
                                "CASE WHEN __t.{CODE} IS NULL THEN NULL ELSE {x} END"
                            ))
                            .and_then(|mut p| p.parse_expr())
                            .unwrap_or(x),
                    ),
                    other => other,
                };
            }
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_subset_names_what_spark_reads_otherwise() {
        let p = portability_problems(
            "SELECT 100.0 * SUM(x) / COUNT(*) AS value, CAST(s AS VARCHAR) FROM t",
        );
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p.iter().any(|m| m.contains("CAST(100 AS DOUBLE)")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("NULLIF(COUNT(*), 0)")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("AS STRING")), "{p:?}");
        assert!(
            portability_problems(
                "SELECT CAST(100 AS DOUBLE) * SUM(x) / NULLIF(COUNT(*), 0) AS value FROM t WHERE d <= {period.to}"
            )
            .is_empty()
        );
        assert!(portability_problems("SELECT MEDIAN(x) AS value FROM t")[0].contains("median"));
    }

    /// A commune with no matching row gets SUM NULL from Spark's LEFT JOIN
    /// and GROUP BY: the embedded engine must say the same.
    #[test]
    fn polars_sums_no_row_to_null() {
        use polars::prelude::*;
        use polars::sql::SQLContext;
        let mut ctx = SQLContext::new();
        ctx.register("t", df!("x" => [1i64, 2]).unwrap().lazy());
        let out = ctx
            .execute("SELECT SUM(x) AS value FROM t WHERE x > 100")
            .unwrap()
            .collect()
            .unwrap();
        let v = out
            .column("value")
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap();
        assert_eq!(v.f64().unwrap().get(0), None);
    }

    #[test]
    fn a_breakdown_for_every_commune_and_member_with_rows() {
        let pipelines = crate::pipeline::load(None, &Default::default()).unwrap();
        let herd = pipelines.iter().find(|p| p.name == "livestock").unwrap();
        let q = rewrite_breakdown(
            herd,
            "SELECT CAST(species AS STRING) AS species, SUM(head_now) AS value FROM herd WHERE head_now > 0 GROUP BY species",
            Scope::Commune,
        )
        .unwrap();
        assert_eq!(
            q,
            "SELECT __c.__commune AS commune, __c.__period AS period, CAST(CAST(species AS STRING) AS STRING) AS member, SUM(head_now) AS value \
FROM __communes __c JOIN livestock_herd __t ON __t.commune_code = __c.__commune AND __t.period = __c.__period AND (head_now > 0) \
WHERE __c.__has_livestock GROUP BY __c.__commune, __c.__period, species"
        );
        let q = rewrite_breakdown(
            herd,
            "SELECT village, SUM(head_now) AS value FROM herd GROUP BY village",
            Scope::Province,
        )
        .unwrap();
        assert!(q.contains("FROM __provinces __c JOIN livestock_herd__province __t ON __t.period = __c.__period WHERE"), "{q}");
        // A subquery that adds a column and filters: its column joins the
        // view's, its filter the ON; one that groups is refused, said.
        let q = rewrite_breakdown(
            herd,
            "SELECT b, COUNT(*) AS value FROM (SELECT CASE WHEN head_now > 10 THEN 'big' ELSE 'small' END AS b FROM herd WHERE head_now > 0) AS t GROUP BY b",
            Scope::Commune,
        )
        .unwrap();
        assert!(
            q.contains("JOIN (SELECT *, CASE WHEN head_now > 10 THEN 'big' ELSE 'small' END AS b FROM livestock_herd ) __t ON __t.commune_code = __c.__commune AND __t.period = __c.__period AND (head_now > 0) WHERE"),
            "{q}"
        );
        let e = rewrite_breakdown(
            herd,
            "SELECT b, COUNT(*) AS value FROM (SELECT village AS b FROM herd GROUP BY village) AS t GROUP BY b",
            Scope::Commune,
        )
        .unwrap_err();
        assert!(e.contains("without GROUP BY"), "{e}");
    }

    #[test]
    fn one_query_for_every_commune_keeps_each_communes_meaning() {
        let pipelines = crate::pipeline::load(None, &Default::default()).unwrap();
        let land = pipelines.iter().find(|p| p.name == "land").unwrap();
        let cols = communes_columns(&[land], &[], &[]);
        let q = rewrite(
            land,
            "SELECT COUNT(*) AS value FROM dossiers WHERE received_date <= {period.to}",
            Scope::Commune,
            &cols,
        )
        .unwrap();
        assert_eq!(
            q,
            "SELECT __c.__commune AS commune, __c.__period AS period, CASE WHEN __c.__has_land THEN COUNT(__t.commune_code) END AS value \
FROM __communes __c LEFT JOIN land_dossiers __t ON __t.commune_code = __c.__commune AND __t.period = __c.__period AND (received_date <= __c.__to) \
GROUP BY __c.__commune, __c.__period, __c.__from, __c.__to, __c.__has_land"
        );
        let q = rewrite(
            land,
            "SELECT SUM(CASE WHEN x THEN 1 ELSE 0 END) AS value FROM fines",
            Scope::Province,
            &cols,
        )
        .unwrap();
        assert!(
            q.contains("SUM(CASE WHEN __t.commune_code IS NULL THEN NULL ELSE CASE WHEN x THEN 1 ELSE 0 END END)"),
            "{q}"
        );
        assert!(q.contains("FROM __provinces __c LEFT JOIN land_fines__province __t ON __t.period = __c.__period GROUP BY"), "{q}");
        assert!(
            rewrite(
                land,
                "SELECT v, COUNT(*) AS value FROM fines GROUP BY v",
                Scope::Commune,
                &cols
            )
            .is_err()
        );
    }
}
