//! Command-line interface: flags and subcommands (clap).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A deploy gate for Alibaba Cloud ACK: may I deploy to cluster X from T for D?
#[derive(Debug, Parser)]
#[command(
    name = "plangate",
    version,
    about,
    after_help = "Exit codes: 0 allow (warnings allowed), 1 deny, 2 could not decide."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decide whether a deploy may start: allow (exit 0), deny (exit 1) or could not decide (exit 2).
    Check(Box<CheckArgs>),
    /// Show or validate policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `plangate policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the default policy as a TOML document.
    Default,
    /// Validate a policy document (TOML or JSON); exit 2 naming the rule and field if it is invalid.
    Check {
        /// The policy file.
        file: PathBuf,
    },
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A short report for people.
    Text,
    /// One JSON object (schema in README.md).
    Json,
}

/// When to colour text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Flags of `plangate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The ACK region, e.g. cn-beijing; several as cn-beijing,cn-shanghai.
    #[arg(long, value_name = "REGION[,REGION...]")]
    pub region: String,
    /// Only consider plans of this cluster (default: every cluster of the region).
    #[arg(long, value_name = "CLUSTER_ID")]
    pub cluster: Option<String>,
    /// When the deploy starts: RFC 3339 with an offset, or `now`.
    #[arg(long, value_name = "TIME", default_value = "now")]
    pub at: String,
    /// How long the deploy takes (90m, 1h30m, ...).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub duration: String,
    /// How far ahead to search for the next clear start.
    #[arg(long, value_name = "DURATION", default_value = "14d")]
    pub horizon: String,
    /// A saved ListOperationPlansForRegion response body, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub response: Option<PathBuf>,
    /// A policy document (TOML or JSON); default: the built-in policy (`plangate policy default`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// If the plans cannot be read or fetched, allow the deploy (exit 0) and say so loudly.
    #[arg(long)]
    pub fail_open: bool,
    /// Fetching from ACK (used when --response is not given).
    #[command(flatten)]
    pub fetch: crate::ack::FetchArgs,
}
