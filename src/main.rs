//! The `tonghop` command: parse arguments, call the library, map the outcome
//! to an exit code (0 ok, 1 some workbook failed, 2 usage or config error).

fn main() {
    std::process::exit(tonghop::cli::main());
}
