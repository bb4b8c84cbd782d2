//! Live mode: fetching `ListOperationPlansForRegion` from ACK with a signed request.
//!
//! Not implemented yet: [`fetch`] reports that live mode is unavailable.

use anyhow::Result;
use clap::Args;

/// Flags for fetching plans from ACK (flattened into every command that needs plans).
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// Override the API endpoint (e.g. a VPC endpoint); plain http:// only for loopback.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The aliyun CLI profile to take credentials from.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Show each request (method, URL, status, attempt, timing). Never shows secrets.
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// One response body fetched from ACK.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The region it came from.
    pub region: String,
    /// What was asked, for messages (e.g. `cn-beijing state=Scheduled`).
    pub label: String,
    /// The raw response body.
    pub body: String,
}

/// A problem the user must fix (credentials, endpoint, flags): never overridden by `--fail-open`.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Fetches the plans of `regions` (filtered by `cluster` when given).
pub fn fetch(regions: &[String], cluster: Option<&str>, args: &FetchArgs) -> Result<Vec<Fetched>> {
    let _ = (regions, cluster, args);
    Err(crate::error::hinted(
        "fetching plans from ACK is not available in this build",
        "pass --response FILE with a saved ListOperationPlansForRegion body (or - for stdin)",
    ))
}
