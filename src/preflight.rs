//! What a configuration must satisfy before anything runs: the checks of
//! `tonghop check` and the refusals of `tonghop run`, for one commune and
//! for each commune of a province. One list of typed problems, so that
//! `check` and `run` cannot drift apart; the callers only print them.

use crate::config::Config;
use crate::pipeline::Pipeline;
use std::fmt;
use std::path::PathBuf;

/// One reason a configuration cannot run. Display is the sentence after
/// `tonghop: configuration error: ` (or after `tonghop: ` for a flag).
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// `--only` or `--allow-empty` names no pipeline.
    UnknownPipeline {
        flag: &'static str,
        name: String,
        known: Vec<String>,
    },
    /// The inbox folder is absent or a file.
    NoInbox { path: PathBuf, exists: bool },
    /// The holiday calendar does not load.
    Calendar(String),
    /// A target or parameter a pipeline's SQL needs is not in the config.
    MissingTarget {
        config: PathBuf,
        pipeline: String,
        key: String,
    },
    /// A query fails on empty typed tables (a misspelled column).
    Query {
        pipeline: String,
        source: String,
        problem: String,
    },
    /// An indicator or breakdown outside the SQL that Spark reads alike.
    NotPortable {
        pipeline: String,
        source: String,
        id: String,
        problem: String,
    },
}

impl Problem {
    /// A usage error of the command line rather than of the configuration.
    pub fn is_usage(&self) -> bool {
        matches!(self, Problem::UnknownPipeline { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::UnknownPipeline { flag, name, known } => write!(
                f,
                "{flag} {name}: no such pipeline (known: {})",
                known.join(", ")
            ),
            Problem::NoInbox { path, exists } => write!(
                f,
                "không tìm thấy thư mục hộp thư đến / inbox folder {} {} (is the share mounted?)",
                path.display(),
                if *exists {
                    "is not a folder"
                } else {
                    "does not exist"
                }
            ),
            Problem::Calendar(e) => write!(f, "holiday calendar: {e}"),
            Problem::MissingTarget {
                config,
                pipeline,
                key,
            } => write!(
                f,
                "{}: {key} is missing; pipeline '{pipeline}' needs it",
                config.display()
            ),
            Problem::Query {
                pipeline,
                source,
                problem,
            } => write!(f, "{pipeline} ({source}): {problem}"),
            Problem::NotPortable {
                pipeline,
                source,
                id,
                problem,
            } => write!(f, "{pipeline} ({source}): {id}: {problem}"),
        }
    }
}

/// The first stage that finds anything: a later stage would only repeat
/// the earlier problem in other words (a query needing a missing target
/// fails its dry run too).
fn first_failing(stages: &[&dyn Fn() -> Vec<Problem>]) -> Vec<Problem> {
    stages
        .iter()
        .map(|stage| stage())
        .find(|problems| !problems.is_empty())
        .unwrap_or_default()
}

fn calendar(config: &Config) -> Vec<Problem> {
    match crate::calendar::Calendar::load(&config.holidays) {
        Ok(_) => Vec::new(),
        Err(e) => vec![Problem::Calendar(e.to_string())],
    }
}

fn missing_targets(config: &Config, pipelines: &[&Pipeline]) -> Vec<Problem> {
    crate::indicators::missing_targets(pipelines, config)
        .into_iter()
        .map(|(pipeline, key)| Problem::MissingTarget {
            config: config.path.clone(),
            pipeline,
            key,
        })
        .collect()
}

fn not_portable(pipelines: &[&Pipeline]) -> Vec<Problem> {
    let mut out = Vec::new();
    for p in pipelines {
        let sqls = (p.indicators.iter().map(|i| (&i.id, &i.sql)))
            .chain(p.breakdowns.iter().map(|b| (&b.id, &b.sql)));
        for (id, sql) in sqls {
            out.extend(
                crate::spark::portability_problems(sql)
                    .into_iter()
                    .map(|problem| Problem::NotPortable {
                        pipeline: p.name.clone(),
                        source: p.source.clone(),
                        id: id.clone(),
                        problem,
                    }),
            );
        }
    }
    out
}

fn failing_queries(config: &Config, pipelines: &[&Pipeline]) -> Vec<Problem> {
    let mut out = Vec::new();
    for p in pipelines {
        out.extend(
            crate::indicators::dry_run(p, config)
                .into_iter()
                .map(|problem| Problem::Query {
                    pipeline: p.name.clone(),
                    source: p.source.clone(),
                    problem,
                }),
        );
    }
    out
}

/// `tonghop check` of one commune's configuration: the holiday calendar,
/// every target the pipelines need, Spark portability, then every query
/// on empty typed tables. The inbox is not looked at: a configuration is
/// often checked away from the server that holds it.
pub fn check(config: &Config, pipelines: &[&Pipeline]) -> Vec<Problem> {
    first_failing(&[
        &|| calendar(config),
        &|| missing_targets(config, pipelines),
        &|| not_portable(pipelines),
        &|| failing_queries(config, pipelines),
    ])
}

/// What refuses a run of the `selected` pipelines before it touches
/// anything: the inbox, the holiday calendar, the targets they need.
pub fn before_run(config: &Config, selected: &[&Pipeline]) -> Vec<Problem> {
    first_failing(&[
        &|| {
            if config.inbox.is_dir() {
                Vec::new()
            } else {
                vec![Problem::NoInbox {
                    path: config.inbox.clone(),
                    exists: config.inbox.exists(),
                }]
            }
        },
        &|| calendar(config),
        &|| missing_targets(config, selected),
    ])
}

/// The first name in `--only` / `--allow-empty` that is no pipeline.
pub fn unknown_pipeline(
    pipelines: &[Pipeline],
    only: &[String],
    allow_empty: &[String],
) -> Option<Problem> {
    let named = (only.iter().map(|n| ("--only", n)))
        .chain(allow_empty.iter().map(|n| ("--allow-empty", n)));
    for (flag, name) in named {
        if !pipelines.iter().any(|p| &p.name == name) {
            return Some(Problem::UnknownPipeline {
                flag,
                name: name.clone(),
                known: pipelines.iter().map(|p| p.name.clone()).collect(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_read_as_the_operator_sees_them() {
        let inbox = Problem::NoInbox {
            path: "/srv/inbox".into(),
            exists: false,
        };
        assert_eq!(
            inbox.to_string(),
            "không tìm thấy thư mục hộp thư đến / inbox folder /srv/inbox does not exist (is the share mounted?)"
        );
        let target = Problem::MissingTarget {
            config: "config/tonghop.toml".into(),
            pipeline: "livestock".into(),
            key: "[targets] \"livestock.main_herd\"".into(),
        };
        assert_eq!(
            target.to_string(),
            "config/tonghop.toml: [targets] \"livestock.main_herd\" is missing; pipeline 'livestock' needs it"
        );
        let flag = Problem::UnknownPipeline {
            flag: "--only",
            name: "weather".into(),
            known: vec!["bhyt".into(), "land".into()],
        };
        assert!(flag.is_usage() && !target.is_usage());
        assert_eq!(
            flag.to_string(),
            "--only weather: no such pipeline (known: bhyt, land)"
        );
    }

    #[test]
    fn the_first_failing_stage_is_reported_alone() {
        let calls = std::cell::Cell::new(0);
        let got = first_failing(&[
            &|| {
                calls.set(calls.get() + 1);
                Vec::new()
            },
            &|| {
                calls.set(calls.get() + 1);
                vec![Problem::Calendar("a".into()), Problem::Calendar("b".into())]
            },
            &|| {
                calls.set(calls.get() + 1);
                vec![Problem::Calendar("never".into())]
            },
        ]);
        assert_eq!(
            got,
            [Problem::Calendar("a".into()), Problem::Calendar("b".into())]
        );
        assert_eq!(calls.get(), 2, "a stage after the failing one ran");
    }
}
