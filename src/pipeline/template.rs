//! The two template languages of a pipeline file, parsed here so that a
//! file is checked when it is loaded: report sentences with
//! `{indicator:format}` figures, and SQL with `{period.to}`-style
//! placeholders.

use crate::values::vnfmt::Spec;

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Figure { id: String, spec: Spec },
}

/// Split a template into text and placeholders.
pub fn parse_template(t: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            out.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("unclosed '{{' in {t:?}"))?;
        let inner = &after[..close];
        let (id, spec) = match inner.split_once(':') {
            Some((id, spec)) => (id.trim(), Spec::parse(spec)?),
            None => (inner.trim(), Spec::default()),
        };
        if id.is_empty() {
            return Err(format!("empty placeholder in {t:?}"));
        }
        out.push(Piece::Figure {
            id: id.to_string(),
            spec,
        });
        rest = &after[close + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest.to_string()));
    }
    Ok(out)
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
                    "unknown placeholder {{{name}}} (use period.from, period.to, commune.code, targets.<key> or params.<key>)"
                ));
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The placeholder names used in `sql` (`{period.to}` -> "period.to").
pub fn placeholder_names(sql: &str) -> Vec<String> {
    let out = std::cell::RefCell::new(Vec::new());
    let _ = substitute_placeholders(sql, &|n| {
        out.borrow_mut().push(n.to_string());
        Some(String::new())
    });
    out.into_inner()
}
