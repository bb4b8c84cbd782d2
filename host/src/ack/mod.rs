//! Live mode: fetching `ListOperationPlansForRegion` from ACK with a signed request.
//!
//! - [`sign`]: the ACS3-HMAC-SHA256 (V3) signature;
//! - [`credentials`] and [`profile`]: the default credential chain, STS and ECS metadata;
//! - [`endpoint`]: `https://cs.{region}.aliyuncs.com` and `--endpoint` overrides;
//! - [`client`] and [`retry`]: timeouts, bounded retries with backoff, error reports, `-v`;
//! - [`list`]: the queries per region (why three) and the signed request.
//!
//! [`fetch`] ties them together: every region in its own thread, three queries each.

pub mod client;
pub mod credentials;
pub mod endpoint;
pub mod list;
pub mod profile;
pub mod retry;
pub mod sign;

use anyhow::{Result, anyhow};
use clap::Args;

use client::{Client, Settings};
use endpoint::Endpoint;

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

/// A problem the user must fix (credentials, endpoint, flags, a refused request): never
/// overridden by `--fail-open`. It may carry the error that shows the details (and a hint).
#[derive(Debug)]
pub struct ConfigError {
    message: String,
    source: Option<anyhow::Error>,
}

impl ConfigError {
    /// A configuration problem described by `message`.
    pub fn new(message: impl Into<String>) -> ConfigError {
        ConfigError {
            message: message.into(),
            source: None,
        }
    }

    /// A configuration problem whose details (and hint) are in `source`.
    pub fn caused_by(message: impl Into<String>, source: impl Into<anyhow::Error>) -> ConfigError {
        ConfigError {
            message: message.into(),
            source: Some(source.into()),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| -> &(dyn std::error::Error + 'static) { e.as_ref() })
    }
}

/// Fetches the plans of `regions` (filtered by `cluster` when given): three queries per region
/// (see [`list`]), regions concurrently. Bodies come back in region order, then query order.
///
/// Endpoints and tuning variables are checked before any credential lookup or request, so a
/// mistake there costs no network traffic.
pub fn fetch(regions: &[String], cluster: Option<&str>, args: &FetchArgs) -> Result<Vec<Fetched>> {
    let settings = Settings::from_env()?;
    let endpoints = regions
        .iter()
        .map(|region| {
            let endpoint = match &args.endpoint {
                Some(raw) => Endpoint::parse("--endpoint", raw, region)?,
                None => Endpoint::for_region(region),
            };
            Ok((region.as_str(), endpoint))
        })
        .collect::<Result<Vec<_>>>()?;
    let client = Client::new(settings, args.verbose > 0);
    let provider = credentials::shared(args.profile.as_deref(), &client)?;
    if client.verbose() {
        eprintln!("plangate: credentials: {}", provider.description);
    }
    let queries = list::queries(cluster);
    let results: Vec<Result<Vec<Fetched>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|(region, endpoint)| {
                let (client, provider, queries) = (&client, &provider, &queries);
                scope.spawn(move || {
                    queries
                        .iter()
                        .map(|q| {
                            let body = list::list(client, provider, endpoint, region, q)?;
                            Ok(Fetched {
                                region: region.to_string(),
                                label: format!("the ACK response for {}", q.describe(region)),
                                body,
                            })
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow!("a fetch thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}
