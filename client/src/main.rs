//! The `hookline` command line: parses arguments and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use hookline::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    hookline::logging::init(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
