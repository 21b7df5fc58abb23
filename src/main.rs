//! The `tonghop` command: parse arguments, call the library, map the outcome
//! to an exit code (0 ok, 1 some workbook failed, 2 usage or config error,
//! 3 output folder busy, 4 the run failed; see `tonghop --help`).

/// mimalloc rather than glibc's malloc: a run allocates millions of small
/// strings per workbook and frees them when the workbook is written out;
/// glibc kept those pages (RSS grew ~20 MB per workbook on the benchmark),
/// mimalloc gives them back and is faster at this pattern.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(tonghop::cli::main());
}
