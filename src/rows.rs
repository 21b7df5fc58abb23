//! One data row -> typed records, errors and warnings, each located at the
//! cell it concerns. A long-layout row gives one record; a wide-layout row
//! gives one record per group ("Trâu", "Bò", …). A long row is one fact and
//! is accepted or rejected as a whole. In a wide row each count cell is its
//! own fact: a bad count cell is excluded alone (its record keeps NULL there)
//! and the village's other counts stand; a bad identifying cell still
//! rejects the whole row.

use crate::config::RunContext;
use crate::ingest::Grid;
use crate::pipeline::{ColumnKind, Table};
use crate::shape::HeaderMatch;
use crate::values::{self, Problem, Value, ident};
use calamine::Data;

/// A problem and where it is: the logical column, the 0-based source cell,
/// and the header text shown to the statistician.
#[derive(Debug, Clone)]
pub struct Located {
    pub column: usize,
    pub cell: Option<(u32, u32)>,
    pub header: String,
    pub problem: Problem,
}

/// What a row's context columns read: the sheet's name and the section
/// heading above the row.
#[derive(Debug, Clone, Copy, Default)]
pub struct Surround<'a> {
    pub sheet: &'a str,
    pub heading: Option<&'a str>,
    pub subheading: Option<&'a str>,
}

/// A context column's value: the text as it is, or the canonical value of
/// the longest spelling the text contains ("NHIỆM VỤ DO UBND TỈNH GIAO"
/// contains "ubnd tỉnh").
fn context_value(col: &crate::pipeline::Column, text: Option<&str>) -> Result<Value, Problem> {
    use crate::pipeline::ContextFrom;
    let ColumnKind::Context {
        from,
        spellings,
        labels,
    } = &col.kind
    else {
        return Ok(Value::Null);
    };
    let place = match from {
        ContextFrom::Heading | ContextFrom::Subheading => "dòng tiêu đề mục phía trên",
        ContextFrom::Sheet => "tên sheet",
    };
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return if col.required {
            Err(Problem::new(
                "missing_value",
                format!("Thiếu {} (lấy từ {place}): không có {place}", col.label),
            ))
        } else {
            Ok(Value::Null)
        };
    };
    if spellings.is_empty() {
        return Ok(Value::Text(crate::values::text::clean(text).into_owned()));
    }
    let key = crate::values::text::value_key(text);
    match spellings.iter().find(|(s, _)| key.contains(s.as_str())) {
        Some((_, canon)) => Ok(Value::Text(canon.clone())),
        None => Err(Problem::new(
            "unknown_enum",
            format!(
                "{} '{text}' ({place}) không chứa giá trị nào của danh mục (hợp lệ: {})",
                col.label,
                labels.values().cloned().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// The outcome of one data row.
pub struct RowOutcome {
    pub records: Vec<Vec<Value>>,
    pub errors: Vec<Located>,
    /// Wide rows only: cells excluded on their own, with the values of the
    /// record they belong to as far as they were readable.
    pub cell_errors: Vec<(Vec<Value>, Located)>,
    pub warnings: Vec<Located>,
    /// A date marked `after_period = "skip"` lies after period.to: the row is
    /// outside this report (skipped and counted, whatever else is wrong with it).
    pub out_of_period: bool,
}

/// Convert the cells of the mapped source columns of `row`: values, errors,
/// and warnings (unreadable values of `on_invalid = "warn"` columns).
type Converted = (Vec<Value>, Vec<(usize, Problem)>, Vec<(usize, Problem)>);

fn convert_cells(
    table: &Table,
    grid: &Grid,
    header: &HeaderMatch,
    row: u32,
    ctx: &RunContext,
    surround: &Surround,
) -> Converted {
    let mut values = vec![Value::Null; table.columns.len()];
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for (i, col) in table.columns.iter().enumerate() {
        if let ColumnKind::Context { from, .. } = &col.kind {
            let text = match from {
                crate::pipeline::ContextFrom::Heading => surround.heading,
                crate::pipeline::ContextFrom::Subheading => surround.subheading,
                crate::pipeline::ContextFrom::Sheet => Some(surround.sheet),
            };
            match context_value(col, text) {
                Ok(v) => values[i] = v,
                Err(p) => problems.push((i, p)),
            }
        }
    }
    for (i, col) in table.source_columns() {
        let Some(src) = header.columns[i] else {
            continue;
        };
        match crate::cells::convert(grid.data(row, src), col, &ctx.period) {
            Ok(Value::Null) if col.required => {
                problems.push((
                    i,
                    Problem::new(
                        "missing_value",
                        format!("Thiếu {} (cột bắt buộc)", col.label),
                    ),
                ));
            }
            Ok(Value::Text(t)) if col.list.is_some() && !ctx.villages.is_empty() => {
                use crate::villages::Match;
                match ctx.villages.lookup(&t) {
                    Match::Known(name) => values[i] = Value::Text(name.to_string()),
                    Match::Unknown => warnings.push((
                        i,
                        Problem::new(
                            "unknown_village",
                            format!(
                                "{} '{t}' không có trong danh sách bản của xã ([[villages]] trong tệp cấu hình); các bản: {}",
                                col.label,
                                ctx.villages.names.join(", ")
                            ),
                        ),
                    )),
                    Match::Ambiguous(names) => warnings.push((
                        i,
                        Problem::new(
                            "unknown_village",
                            format!(
                                "{} '{t}' khớp với nhiều bản trong danh sách của xã: {}; ghi rõ tên bản",
                                col.label,
                                names.join(", ")
                            ),
                        ),
                    )),
                }
            }
            Ok(v) => values[i] = v,
            Err(p) if col.warn_on_invalid => warnings.push((i, p)),
            Err(p) => problems.push((i, p)),
        }
    }
    (values, problems, warnings)
}

/// Computed columns and cross-column rules of one record. Returns whether
/// the record is out of period.
fn finish_record(
    table: &Table,
    values: &mut [Value],
    ctx: &RunContext,
    problems: &mut Vec<(usize, Problem)>,
    warnings: &mut Vec<(usize, Problem)>,
) -> bool {
    let period = &ctx.period;
    let mut out_of_period = false;
    for (i, col) in table.columns.iter().enumerate() {
        match &col.kind {
            ColumnKind::Derived { from, .. } => {
                values[i] = crate::cells::derive(&values[*from], &col.kind);
            }
            ColumnKind::Deadline {
                from,
                given,
                working_days,
                extra_days_param,
            } => {
                if let Some(g) = given
                    && let Value::Date(d) = values[*g]
                {
                    values[i] = Value::Date(d);
                } else if let Value::Date(start) = values[*from] {
                    let extra = extra_days_param
                        .as_ref()
                        .and_then(|p| ctx.params.get(p))
                        .map_or(0, |v| v.max(0.0) as u32);
                    let due = ctx.calendar.add_working_days(start, working_days + extra);
                    if !ctx.calendar.covers(start, due) {
                        warnings.push((
                            i,
                            Problem::new(
                                "no_holiday_calendar",
                                format!(
                                    "Chưa có lịch nghỉ lễ cho giai đoạn {} – {}; {} chỉ trừ thứ Bảy, Chủ nhật",
                                    start.format("%d/%m/%Y"),
                                    due.format("%d/%m/%Y"),
                                    col.label
                                ),
                            ),
                        ));
                    }
                    values[i] = Value::Date(due);
                }
            }
            ColumnKind::Age { from } => {
                if let Value::Date(birth) = values[*from] {
                    values[i] = Value::Int(i64::from(values::date::age_at(birth, period.to)));
                }
            }
            ColumnKind::Date {
                skip_after_period,
                not_before_column,
                ..
            } => {
                if let Value::Date(d) = values[i] {
                    out_of_period |= *skip_after_period && d > period.to;
                    if let Some(other) = not_before_column
                        && let Value::Date(o) = values[*other]
                        && d < o
                    {
                        let p = Problem::new(
                            "date_order",
                            format!(
                                "{} ({}) trước {} ({})",
                                col.label,
                                d.format("%d/%m/%Y"),
                                table.columns[*other].label,
                                o.format("%d/%m/%Y")
                            ),
                        );
                        rule_finding(col, i, p, problems, warnings);
                    }
                }
            }
            _ => {}
        }
        if let Some(other) = col.max_column {
            let num = |v: &Value| match v {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) => Some(*f),
                _ => None,
            };
            if let (Some(v), Some(limit)) = (num(&values[i]), num(&values[other]))
                && v > limit
            {
                let p = Problem::new(
                    "above_column",
                    format!(
                        "{} {} lớn hơn {} {}",
                        col.label,
                        crate::values::vnfmt::number(v),
                        table.columns[other].label,
                        crate::values::vnfmt::number(limit)
                    ),
                );
                rule_finding(col, i, p, problems, warnings);
            }
        }
    }
    out_of_period
}

/// A cross-column rule's finding: a warning when the column says
/// `rule_severity = "warning"`, else an error that rejects the row.
fn rule_finding(
    col: &crate::pipeline::Column,
    i: usize,
    p: Problem,
    problems: &mut Vec<(usize, Problem)>,
    warnings: &mut Vec<(usize, Problem)>,
) {
    if col.rule_warns {
        warnings.push((i, p));
    } else {
        problems.push((i, p));
    }
}

fn locate_long(header: &HeaderMatch, row: u32, list: Vec<(usize, Problem)>) -> Vec<Located> {
    list.into_iter()
        .map(|(column, problem)| Located {
            column,
            cell: header.columns[column].map(|c| (row, c)),
            header: header.header_text[column].clone(),
            problem,
        })
        .collect()
}

/// Convert one data row of a long-layout sheet.
pub fn convert_long_row(
    table: &Table,
    grid: &Grid,
    header: &HeaderMatch,
    row: u32,
    ctx: &RunContext,
    surround: &Surround,
) -> RowOutcome {
    let (mut values, mut problems, mut warnings) =
        convert_cells(table, grid, header, row, ctx, surround);
    let out_of_period = finish_record(table, &mut values, ctx, &mut problems, &mut warnings);
    problems.sort_by_key(|(i, _)| *i);
    if problems.is_empty() {
        cross_checks(table, &values, &mut warnings);
    }
    RowOutcome {
        records: vec![values],
        errors: locate_long(header, row, problems),
        cell_errors: Vec::new(),
        warnings: locate_long(header, row, warnings),
        out_of_period,
    }
}

/// Convert one data row of a wide-layout sheet: one record per group. In a
/// group, a blank measure next to a readable one is 0 (the clerk leaves zero
/// counts empty); a group whose measures are all blank gives no record. An
/// unreadable measure is excluded alone: the record keeps NULL in it (and a
/// group with no readable measure gives no record), the row is accepted.
pub fn convert_wide_row(
    table: &Table,
    grid: &Grid,
    header: &HeaderMatch,
    row: u32,
    ctx: &RunContext,
    surround: &Surround,
) -> RowOutcome {
    let period = &ctx.period;
    let group_col = table.wide_group.expect("wide header only for wide tables");
    let (base, base_problems, base_warnings) =
        convert_cells(table, grid, header, row, ctx, surround);
    let mut errors = locate_long(header, row, base_problems);
    let mut warnings = locate_long(header, row, base_warnings);
    let mut cell_errors = Vec::new();
    let mut records = Vec::new();
    let mut out_of_period = false;
    for g in &header.groups {
        let mut values = base.clone();
        let group_header =
            |column: usize, cell: Option<(u32, u32)>, measure: Option<usize>| Located {
                column,
                cell,
                header: match measure {
                    Some(m) => format!("{} / {}", g.label, table.columns[m].label),
                    None => g.label.clone(),
                },
                problem: Problem::new("", ""),
            };
        let mut good = false;
        let mut blanks = Vec::new();
        let mut bad = Vec::new();
        for &(m, src) in &g.measures {
            match crate::cells::convert(grid.data(row, src), &table.columns[m], period) {
                Ok(Value::Null) => blanks.push(m),
                Ok(v) => {
                    good = true;
                    values[m] = v;
                }
                Err(p) => bad.push(Located {
                    problem: p,
                    ..group_header(m, Some((row, src)), Some(m))
                }),
            }
        }
        if !good {
            if let Ok(v) = crate::cells::convert(
                &Data::String(g.label.clone()),
                &table.columns[group_col],
                period,
            ) {
                values[group_col] = v;
            }
            finish_record(table, &mut values, ctx, &mut Vec::new(), &mut Vec::new());
            cell_errors.extend(bad.into_iter().map(|l| (values.clone(), l)));
            continue;
        }
        for m in blanks {
            values[m] = Value::Int(0);
        }
        match crate::cells::convert(
            &Data::String(g.label.clone()),
            &table.columns[group_col],
            period,
        ) {
            Ok(v) => values[group_col] = v,
            // The group header itself is unknown ("Thỏ" not in the mapping):
            // that group's cells are refused in every row, loudly; the
            // row's other groups stand.
            Err(p) => {
                cell_errors.push((
                    values.clone(),
                    Located {
                        problem: p,
                        ..group_header(group_col, Some((header.row, g.header_col)), None)
                    },
                ));
                continue;
            }
        }
        let mut problems = Vec::new();
        let mut w = Vec::new();
        out_of_period |= finish_record(table, &mut values, ctx, &mut problems, &mut w);
        cross_checks(table, &values, &mut w);
        // A rule on a measure ("Tháng 3" above the monthly rate) names the
        // measure's own cell.
        let locate = |list: Vec<(usize, Problem)>| -> Vec<Located> {
            list.into_iter()
                .map(
                    |(column, problem)| match g.measures.iter().find(|(m, _)| *m == column) {
                        Some(&(m, src)) => Located {
                            problem,
                            ..group_header(m, Some((row, src)), Some(m))
                        },
                        None => locate_long(header, row, vec![(column, problem)])
                            .pop()
                            .expect("one in, one out"),
                    },
                )
                .collect()
        };
        errors.extend(locate(problems));
        warnings.extend(locate(w));
        cell_errors.extend(bad.into_iter().map(|l| (values.clone(), l)));
        records.push(values);
    }
    RowOutcome {
        records,
        errors,
        cell_errors,
        warnings,
        out_of_period,
    }
}

fn province_known(code: &str) -> bool {
    code.parse::<u16>().is_ok_and(ident::is_province_code)
}

/// Checks that flag a value without rejecting the row.
fn cross_checks(table: &Table, values: &[Value], warnings: &mut Vec<(usize, Problem)>) {
    for w in &table.warn_when {
        if values[w.column].as_text() == Some(w.equals.as_str())
            && matches!(values[w.missing], Value::Null)
        {
            warnings.push((w.missing, Problem::new(w.code.clone(), w.reason.clone())));
        }
    }
    for (i, col) in table.columns.iter().enumerate() {
        match &col.kind {
            ColumnKind::PersonalId { birth_date, sex } => {
                let Some(id) = values[i].as_text() else {
                    continue;
                };
                let Some(decoded) = ident::decode_personal_id(id) else {
                    continue;
                };
                if !province_known(&id[0..3]) {
                    warnings.push((
                        i,
                        Problem::new(
                            "unknown_province",
                            format!(
                                "Mã tỉnh '{}' ở đầu {} không có trong danh mục 63 tỉnh",
                                &id[0..3],
                                col.label
                            ),
                        ),
                    ));
                }
                if let Some(b) = birth_date
                    && let Value::Date(d) = values[*b]
                    && !ident::birth_year_matches(&decoded, d)
                {
                    warnings.push((
                        i,
                        Problem::new(
                            "id_birth_year_mismatch",
                            format!("Năm sinh theo {} khác năm của ngày sinh", col.label),
                        ),
                    ));
                }
                if let Some((s, male, female)) = sex
                    && let Some(v) = values[*s].as_text()
                {
                    let expected = match decoded.sex {
                        ident::IdSex::Male => male,
                        ident::IdSex::Female => female,
                    };
                    if (v == male || v == female) && v != expected {
                        // Say it in the file's words ("Nam", "Nữ"), not the codes.
                        let shown = |code: &str| match &table.columns[*s].kind {
                            ColumnKind::Enum { labels, .. } => labels
                                .get(code)
                                .cloned()
                                .unwrap_or_else(|| code.to_string()),
                            _ => code.to_string(),
                        };
                        warnings.push((
                            i,
                            Problem::new(
                                "id_sex_mismatch",
                                format!(
                                    "Giới tính theo {} là '{}', khác cột {} '{}'",
                                    col.label,
                                    shown(expected),
                                    table.columns[*s].label.to_lowercase(),
                                    shown(v)
                                ),
                            ),
                        ));
                    }
                }
            }
            ColumnKind::Code {
                province_chars: Some((a, b)),
                ..
            } => {
                let Some(code) = values[i].as_text() else {
                    continue;
                };
                let piece: String = code.chars().skip(*a).take(b.saturating_sub(*a)).collect();
                if !province_known(&piece) {
                    warnings.push((
                        i,
                        Problem::new(
                            "unknown_province",
                            format!(
                                "Mã tỉnh '{piece}' trong {} không có trong danh mục 63 tỉnh",
                                col.label
                            ),
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}
