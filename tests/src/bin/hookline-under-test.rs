//! The `hookline` command line, built inside this crate so end-to-end tests
//! can run it as a process (`CARGO_BIN_EXE_hookline-under-test`).

fn main() -> std::process::ExitCode {
    hookline::cli::main()
}
