//! plangate: a deploy gate for Alibaba Cloud ACK operation plans.
//!
//! The rules live in a WebAssembly component (`guest/`, built by `build.rs`); this
//! crate runs it in wasmtime ([`component`]), reads flags ([`cli`]), orchestrates a
//! check ([`check`]) and renders decisions ([`render`]).

pub mod ack;
pub mod check;
pub mod cli;
pub mod component;
pub mod error;
pub mod render;
pub mod times;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, PolicyCommand};
use error::Exit;

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are successes; every usage error is "could not decide".
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(Exit::Undecided as u8),
            };
        }
    };
    let exit = match &cli.command {
        Command::Check(args) => check::run(args),
        Command::Policy(PolicyCommand::Default) => match check::policy_default() {
            Ok(doc) => {
                print!("{doc}");
                Exit::Allow
            }
            Err(e) => fail(&e),
        },
        Command::Policy(PolicyCommand::Check { file }) => match check::policy_check(file) {
            Ok(names) => {
                println!(
                    "{}: valid, {} rules: {}",
                    file.display(),
                    names.len(),
                    names.join(", ")
                );
                Exit::Allow
            }
            Err(e) => fail(&e),
        },
    };
    ExitCode::from(exit as u8)
}

fn fail(e: &anyhow::Error) -> Exit {
    eprint!("{}", error::render(e));
    Exit::Undecided
}
