//! Indicators: SQL declared in the pipeline files, run by polars over the
//! normalised tables. Figures are kept at full precision; rounding happens only
//! when a figure is written as Vietnamese text.

use crate::config::Config;
use crate::pipeline::Pipeline;
use polars::prelude::*;
use polars::sql::SQLContext;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct IndicatorValue {
    pub id: String,
    pub pipeline: String,
    pub label: String,
    pub unit: String,
    /// `None` when the query failed or returned NULL; see `error`.
    pub value: Option<f64>,
    pub error: Option<String>,
}

/// Replace `{name}` placeholders using `lookup`. Unknown names are an error.
pub fn substitute_placeholders(
    sql: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("unclosed '{' in sql".into());
        };
        let name = after[..close].trim();
        match lookup(name) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "unknown placeholder {{{name}}} (use period.from, period.to, commune.code or targets.<key>)"
                ));
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder values a run offers to indicator SQL.
pub fn placeholder(config: &Config, name: &str) -> Option<String> {
    match name {
        "period.from" => Some(format!("'{}'", config.period.from.format("%Y-%m-%d"))),
        "period.to" => Some(format!("'{}'", config.period.to.format("%Y-%m-%d"))),
        "commune.code" => Some(format!("'{}'", config.commune.code)),
        _ => name
            .strip_prefix("targets.")
            .and_then(|k| config.targets.get(k))
            .map(|v| format!("{v}")),
    }
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
    let v = as_f.f64().map_err(|e| e.to_string())?.get(0);
    Ok(v)
}

/// Run every indicator of `pipeline` over its frames (table name -> frame).
pub fn compute(
    pipeline: &Pipeline,
    frames: &[(String, DataFrame)],
    config: &Config,
) -> Vec<IndicatorValue> {
    let mut ctx = SQLContext::new();
    for (name, df) in frames {
        ctx.register(name, df.clone().lazy());
        ctx.register(&format!("{}_{}", pipeline.name, name), df.clone().lazy());
    }
    pipeline
        .indicators
        .iter()
        .map(|ind| {
            let _span = tracing::debug_span!("indicator", stage = "indicators", id = %ind.id).entered();
            let result = substitute_placeholders(&ind.sql, &|n| placeholder(config, n))
                .and_then(|sql| ctx.execute(&sql).and_then(|lf| lf.collect()).map_err(|e| e.to_string()))
                .and_then(|df| first_value(&df));
            let (value, error) = match result {
                Ok(Some(v)) => (Some(v), None),
                Ok(None) => (None, Some("the query returned NULL".to_string())),
                Err(e) => (None, Some(e)),
            };
            if let Some(e) = &error {
                tracing::error!(stage = "indicators", indicator = %ind.id, error = %e, "indicator failed");
            }
            IndicatorValue {
                id: ind.id.clone(),
                pipeline: pipeline.name.clone(),
                label: ind.label.clone(),
                unit: ind.unit.clone(),
                value,
                error,
            }
        })
        .collect()
}

/// A figure as plain text for CSV: integers without ".0", others at full precision.
pub fn plain_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn plain_numbers() {
        assert_eq!(plain_number(20213.0), "20213");
        assert_eq!(plain_number(89.98170173833486), "89.98170173833486");
    }
}
