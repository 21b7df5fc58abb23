//! The rooms of `src/` in one-way layers (see ../shared/DESIGN.md): a room
//! may use rooms of its own layer or below, never above, and no two rooms
//! use each other (directly or round a longer loop). Read from the source:
//! every `crate::<room>` path outside `#[cfg(test)]` code is an edge.

use std::collections::{BTreeMap, BTreeSet};

/// Lowest first. A new room must be placed here.
const LAYERS: &[(&str, &[&str])] = &[
    // pure parsers, shared types, small tools
    (
        "0 values · model · util",
        &[
            "values", "model", "record", "util", "timing", "collate", "villages",
        ],
    ),
    ("1 pipeline · config", &["pipeline", "config", "calendar"]),
    (
        "2 ingest · shape · table",
        &[
            "ingest",
            "markup",
            "ods_merges",
            "xlsx_cells",
            "xlsx_merges",
            "shape",
            "table",
            "cells",
            "outcome",
            "discover",
        ],
    ),
    (
        "3 validate · state",
        &[
            "rows",
            "crossfoot",
            "dedupe",
            "cache",
            "parts",
            "release",
            "privacy",
        ],
    ),
    ("4 the per-workbook pass", &["extract", "isolate", "pass"]),
    (
        "5 indicators · publish · report",
        &[
            "indicators",
            "compute",
            "exclusions",
            "publish",
            "report",
            "inspect",
            "spark",
        ],
    ),
    (
        "6 run",
        &["run", "carry", "preflight", "province", "selftest"],
    ),
    ("7 cli", &["cli"]),
];

/// Rooms compiled only for tests.
const TEST_ONLY: &[&str] = &["props"];

fn room_of(path: &std::path::Path, src: &std::path::Path) -> String {
    let rel = path.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The code outside `#[cfg(test)]` items (a test module is the file's tail
/// in this code base: everything from the first `#[cfg(test)]` on).
fn production(text: &str) -> &str {
    text.find("#[cfg(test)]").map_or(text, |i| &text[..i])
}

fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let src = crate::common::repo().join("src");
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    let path_re = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let group_re = regex::Regex::new(r"crate::\{([^}]*)\}").unwrap();
    let word_re = regex::Regex::new(r"(?:^|[\s,{])([a-z_]+)(?:::|\s*[,}]|\s*$)").unwrap();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let room = room_of(&p, &src);
            if room == "main" || room == "lib" || TEST_ONLY.contains(&room.as_str()) {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code: String = production(&text)
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect::<Vec<_>>()
                .join("\n");
            let mut used: BTreeSet<String> = path_re
                .captures_iter(&code)
                .map(|c| c[1].to_string())
                .collect();
            for g in group_re.captures_iter(&code) {
                for w in word_re.captures_iter(&g[1]) {
                    used.insert(w[1].to_string());
                }
            }
            used.remove(&room);
            out.entry(room).or_default().extend(used);
        }
    }
    out
}

#[test]
fn rooms_use_only_their_layer_and_below_and_never_each_other() {
    let layer: BTreeMap<&str, usize> = LAYERS
        .iter()
        .enumerate()
        .flat_map(|(i, (_, rooms))| rooms.iter().map(move |r| (*r, i)))
        .collect();
    let edges = edges();
    let mut problems = Vec::new();
    for (room, used) in &edges {
        let Some(&mine) = layer.get(room.as_str()) else {
            problems.push(format!(
                "{room}: not placed in a layer (tests/it/layers.rs)"
            ));
            continue;
        };
        for u in used {
            match layer.get(u.as_str()) {
                None => problems.push(format!("{room} uses {u}, which is no room")),
                Some(&theirs) if theirs > mine => problems.push(format!(
                    "{room} (layer {}) uses {u} (layer {}): an upward edge",
                    LAYERS[mine].0, LAYERS[theirs].0
                )),
                _ => {}
            }
        }
    }
    // Cycles, also within a layer: depth-first search.
    fn visit<'a>(
        n: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(i) = path.iter().position(|p| *p == n) {
            cycles.push(format!("{} -> {n}", path[i..].join(" -> ")));
            return;
        }
        if !done.insert(n) {
            return;
        }
        path.push(n);
        for m in edges.get(n).into_iter().flatten() {
            visit(m, edges, path, done, cycles);
        }
        path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for n in edges.keys() {
        visit(n, &edges, &mut Vec::new(), &mut done, &mut cycles);
    }
    problems.extend(cycles.into_iter().map(|c| format!("cycle: {c}")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The test sees edges: a made-up upward use is found.
#[test]
fn the_layer_check_finds_an_upward_edge() {
    let code = "use crate::run::RunOutcome;\nfn f() { crate::{cli, values}::x(); }";
    let re = regex::Regex::new(r"crate::([a-z_]+)").unwrap();
    let found: Vec<&str> = re
        .captures_iter(code)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    assert_eq!(found, ["run"]);
    assert_eq!(
        production("a\n#[cfg(test)]\nmod tests { use crate::cli; }"),
        "a\n"
    );
}
