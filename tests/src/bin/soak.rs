//! `soak`: deliveries through a real relay and client, both killed with
//! SIGKILL at random and restarted, with the local app down at times; exits
//! non-zero on any loss, double store or accepted delivery left unforwarded.
//!
//! cargo run --release -p hookline-tests --bin soak -- [--quick] [--deliveries N]
//!     [--client-kills N] [--relay-kills N] [--app-outages N] [--seed S]

use std::process::ExitCode;

use hookline_tests::soak::{self, options};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let options = match options::parse(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e:#}");
            return ExitCode::from(2);
        }
    };
    match soak::run(&options).await {
        Ok((report, facts)) => {
            print!("{}", soak::output::render(&report, &facts));
            if soak::output::passed(&report, &facts) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("soak: {e:#} (seed {})", options.seed);
            ExitCode::FAILURE
        }
    }
}
