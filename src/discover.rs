//! Which files a run reads: every workbook under `<inbox>/<pipeline>/`,
//! sorted by relative path (the order duplicates are settled in); anything
//! else is listed as ignored, with the reason.

use crate::pipeline::Pipeline;
use crate::record::IgnoredFile;
use std::path::{Path, PathBuf};

/// Extensions read as workbooks (compared case-insensitively).
pub const WORKBOOK_EXTENSIONS: [&str; 5] = ["xlsx", "xlsm", "xls", "xlsb", "ods"];

fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file under `dir`, recursively, sorted by relative path.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(p),
                Ok(_) => out.push(p),
                Err(_) => {}
            }
        }
    }
    out.sort();
    out
}

/// Split an inbox into the workbooks of each selected pipeline and the files
/// that are ignored (with why): besides the pipelines' own folders, files at
/// the top of the inbox and in folders that are no pipeline's (`known`: all
/// pipeline names) are listed, so a workbook dropped in the wrong place is
/// seen, not silently skipped.
pub fn discover(
    inbox: &Path,
    pipelines: &[&Pipeline],
    known: &[&str],
) -> (Vec<(usize, PathBuf, String)>, Vec<IgnoredFile>) {
    let mut work = Vec::new();
    let mut ignored = Vec::new();
    let folders = known
        .iter()
        .map(|k| format!("{k}/"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut top: Vec<_> = std::fs::read_dir(inbox)
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    top.sort_by_key(|e| e.file_name());
    for e in top {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with('.') || (is_dir && known.contains(&name.as_str())) {
            continue;
        }
        let reason = if is_dir {
            format!(
                "ở thư mục không thuộc bộ phận nào / in folder {name}/, which is no pipeline's (known: {folders})"
            )
        } else {
            format!(
                "ở ngoài thư mục các bộ phận / at the top of the inbox, not in a pipeline folder ({folders}): move it into one"
            )
        };
        let paths = if is_dir {
            walk(&e.path())
        } else {
            vec![e.path()]
        };
        for path in paths {
            ignored.push(IgnoredFile {
                path: rel_string(path.strip_prefix(inbox).unwrap_or(&path)),
                reason: reason.clone(),
            });
        }
    }
    for (pi, p) in pipelines.iter().enumerate() {
        let dir = inbox.join(&p.name);
        for path in walk(&dir) {
            let rel = rel_string(path.strip_prefix(inbox).unwrap_or(&path));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase())
                .unwrap_or_default();
            if name.starts_with("~$") {
                ignored.push(IgnoredFile {
                    path: rel,
                    reason: "Excel owner (lock) file".into(),
                });
            } else if name.starts_with('.') {
                ignored.push(IgnoredFile {
                    path: rel,
                    reason: "hidden file".into(),
                });
            } else if WORKBOOK_EXTENSIONS.contains(&ext.as_str()) {
                work.push((pi, path, rel));
            } else {
                ignored.push(IgnoredFile {
                    path: rel,
                    reason: format!(
                        "not a workbook extension ({})",
                        if ext.is_empty() { "none" } else { &ext }
                    ),
                });
            }
        }
    }
    (work, ignored)
}
