//! plangate: a deploy gate for Alibaba Cloud ACK operation plans.
//!
//! The rules live in a WebAssembly component (`guest/`, built by `build.rs`); this
//! crate runs it in wasmtime ([`component`]), reads flags ([`cli`]), orchestrates a
//! check ([`check`], [`evaluate`]) and renders decisions ([`render`], [`report_ci`]).

pub mod ack;
pub mod cache;
pub mod check;
pub mod cli;
pub mod component;
pub mod error;
pub mod evaluate;
pub mod next;
pub mod output;
pub mod plans;
pub mod plugin;
pub mod policy_test;
pub mod render;
pub mod report_ci;
pub mod source;
pub mod times;
pub mod wait;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, ComponentCommand, PolicyCommand};
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
        Command::Next(args) => next::run(args),
        Command::Wait(args) => wait::run(args),
        Command::Plans(args) => plans::run(args),
        Command::Test(args) => policy_test::run(args),
        Command::Component(ComponentCommand::Path) => {
            match cache::export_component("plangate-gate", component::GATE_COMPONENT) {
                Ok(path) => done(output::emit(&format!("{}\n", path.display()))),
                Err(e) => fail(&e),
            }
        }
        Command::Component(ComponentCommand::Wit) => done(output::emit(component::GATE_WIT)),
        Command::Policy(PolicyCommand::Default) => match policy_default() {
            Ok(doc) => done(output::emit(&doc)),
            Err(e) => fail(&e),
        },
        Command::Policy(PolicyCommand::Check { file }) => {
            match evaluate::Evaluator::new().and_then(|e| e.policy(Some(file))) {
                Ok(policy) => {
                    let names = policy.rules;
                    let rules = match names.len() {
                        0 => "no rules".to_string(),
                        1 => format!("1 rule: {}", names[0]),
                        n => format!("{n} rules: {}", names.join(", ")),
                    };
                    done(output::emit(&format!(
                        "{}: valid, {rules}\n",
                        file.display()
                    )))
                }
                Err(e) => fail(&e),
            }
        }
    };
    ExitCode::from(exit as u8)
}

/// Exit 0 if the output was written, 2 if it was lost.
fn done(written: bool) -> Exit {
    if written {
        Exit::Allow
    } else {
        Exit::Undecided
    }
}

/// The default policy document, from the component.
fn policy_default() -> anyhow::Result<String> {
    let gate = component::Gate::load(component::Limits::default())?;
    gate.session()?.default_policy()
}

fn fail(e: &anyhow::Error) -> Exit {
    eprint!("{}", error::render(e));
    Exit::Undecided
}
