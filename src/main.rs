//! The `rspd` binary: parses the command line and hands over to [`rspd::cli`].
#![forbid(unsafe_code)]

use clap::Parser;

fn main() -> std::process::ExitCode {
    rspd::cli::run(rspd::cli::Cli::parse())
}
