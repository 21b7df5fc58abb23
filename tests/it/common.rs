//! Helpers shared by the integration tests.

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the checkout (present for developers and CI).
pub fn shared() -> PathBuf {
    repo().join("..").join("shared")
}

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

pub struct Run {
    pub out: PathBuf,
    pub exit_code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the binary with `args` (plus `--config` of the repo unless given).
pub fn tonghop(args: &[&str]) -> Run {
    let out_arg = args
        .windows(2)
        .find(|w| w[0] == "--out")
        .map(|w| PathBuf::from(w[1]));
    let o = Command::new(env!("CARGO_BIN_EXE_tonghop"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run tonghop");
    Run {
        out: out_arg.unwrap_or_default(),
        exit_code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// One run over the committed fixtures, shared by the tests that only read its outputs.
pub fn run_fixtures() -> &'static Run {
    static RUN: OnceLock<(tempfile::TempDir, Run)> = OnceLock::new();
    &RUN.get_or_init(|| {
        let dir = tempdir();
        let out = dir.path().join("out");
        let run = tonghop(&["run", "--out", out.to_str().unwrap()]);
        (dir, run)
    })
    .1
}

pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
