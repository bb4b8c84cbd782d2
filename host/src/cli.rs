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
    /// Print the earliest start at which a deploy of this duration is clear (exit 1 if none within the horizon).
    Next(Box<NextArgs>),
    /// Re-check until the deploy is allowed (exit 0) or the timeout passes (exit 1).
    Wait(Box<WaitArgs>),
    /// List the region's operation plans.
    Plans(Box<PlansArgs>),
    /// Run policy test cases (TOML files) in a directory; ends with "N passed, N failed".
    Test(TestArgs),
    /// Show or validate policy documents.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The gate component itself, for other hosts.
    #[command(subcommand)]
    Component(ComponentCommand),
}

/// `plangate component ...`
#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// Write the gate component (.wasm) to the cache directory and print its path.
    Path,
    /// Print the WIT contract the component implements.
    Wit,
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

/// Rejects an empty or blank value (an unset `$CLUSTER` must not mean "no cluster").
fn non_empty(raw: &str) -> Result<String, String> {
    let v = raw.trim();
    if v.is_empty() {
        Err("must not be empty (an unset variable?); leave the flag out for region-wide".into())
    } else {
        Ok(v.to_string())
    }
}

/// Where plans come from: a saved response or ACK.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The ACK region, e.g. cn-beijing; several as cn-beijing,cn-shanghai.
    #[arg(long, value_name = "REGION[,REGION...]")]
    pub region: String,
    /// Only consider plans of this cluster (default: every cluster of the region).
    #[arg(long, value_name = "CLUSTER_ID", value_parser = non_empty)]
    pub cluster: Option<String>,
    /// A saved ListOperationPlansForRegion response body, or `-` for standard input.
    #[arg(long, value_name = "FILE")]
    pub response: Option<PathBuf>,
    /// Fetching from ACK (used when --response is not given).
    #[command(flatten)]
    pub fetch: crate::ack::FetchArgs,
}

/// Which policy decides, and how far ahead to look for a clear start.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A policy document (TOML or JSON); default: the built-in policy (`plangate policy default`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// How far ahead to search for the next clear start.
    #[arg(long, value_name = "DURATION", default_value = "14d")]
    pub horizon: String,
    /// A rule plugin component (the WIT `rule` world) to run beside the policy's rules;
    /// named after the file, configuration `{}`, findings up to deny. Repeatable.
    #[arg(long = "plugin", value_name = "FILE.wasm")]
    pub plugins: Vec<PathBuf>,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A short report for people.
    Text,
    /// One JSON object (schema in README.md).
    Json,
    /// GitHub Actions workflow commands (::error / ::warning / ::notice).
    Github,
    /// JUnit XML, one test case per rule.
    Junit,
}

/// Output formats of the listing commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    Text,
    /// For programs.
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
    /// Where the plans come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Which policy decides.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// When the deploy starts: RFC 3339 with an offset, or `now`.
    #[arg(long, value_name = "TIME", default_value = "now")]
    pub at: String,
    /// How long the deploy takes (90m, 1h30m, ...).
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub duration: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// If the plans cannot be read or fetched, allow the deploy (exit 0) and say so loudly.
    #[arg(long)]
    pub fail_open: bool,
    /// Treat a warn verdict as blocking (exit 1).
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Allow a blocked deploy anyway; the reason and every overridden finding are recorded in the output.
    #[arg(long, value_name = "REASON")]
    pub break_glass: Option<String>,
}

/// Flags of `plangate next`.
#[derive(Debug, Args)]
pub struct NextArgs {
    /// Where the plans come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Which policy decides.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How long the deploy takes.
    #[arg(long, value_name = "DURATION")]
    pub duration: String,
    /// Search from this instant (RFC 3339 with an offset, or `now`).
    #[arg(long, value_name = "TIME", default_value = "now")]
    pub after: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Flags of `plangate wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Where the plans come from (re-read or re-fetched every interval).
    #[command(flatten)]
    pub source: SourceArgs,
    /// Which policy decides.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// How long the deploy takes.
    #[arg(long, value_name = "DURATION")]
    pub duration: String,
    /// Give up (exit 1) after this long.
    #[arg(long, value_name = "DURATION")]
    pub timeout: String,
    /// How often to re-check.
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub interval: String,
}

/// Flags of `plangate plans`.
#[derive(Debug, Args)]
pub struct PlansArgs {
    /// Where the plans come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// Only plans of these types (API spelling, e.g. CLUSTER_UPGRADE_MASTER); repeatable.
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Only plans in these states (e.g. Scheduled); repeatable.
    #[arg(long = "state", value_name = "STATE")]
    pub states: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Flags of `plangate test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// A directory of test case files (*.toml, searched recursively), or one file.
    pub dir: PathBuf,
}
