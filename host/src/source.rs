//! Where plans come from: a saved response (`--response FILE|-`) or ACK itself.
//! This module only moves bytes; parsing is the component's.

use std::io::Read;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow};

use crate::ack::{self, Fetched};
use crate::cli::SourceArgs;
use crate::error::{Undecided, hinted};

/// Splits `--region a,b` and checks each id; duplicates are dropped.
pub fn parse_regions(raw: &str) -> Result<Vec<String>> {
    let mut regions: Vec<String> = Vec::new();
    for r in raw.split(',').map(str::trim) {
        validate_region(r)?;
        if !regions.iter().any(|x| x == r) {
            regions.push(r.to_string());
        }
    }
    Ok(regions)
}

/// Region ids are lowercase letters, digits and dashes (they become part of a host name).
fn validate_region(region: &str) -> Result<()> {
    let ok = !region.is_empty()
        && region.len() <= 64
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(hinted(
            format!("--region {region:?} is not a region id"),
            "region ids look like cn-beijing or ap-southeast-1",
        ))
    }
}

/// The raw bodies to parse: the `--response` file, or one or more ACK responses per region.
pub fn load_bodies(
    source: &SourceArgs,
    regions: &[String],
    limit: u64,
) -> Result<Vec<Fetched>, Undecided> {
    match &source.response {
        Some(path) => {
            if regions.len() != 1 {
                return Err(Undecided::Setup(hinted(
                    "--response holds one region's plans, but several regions were given",
                    "pass one --region with --response, or drop --response to fetch every region",
                )));
            }
            let body = read_response(path, limit)?;
            Ok(vec![Fetched {
                region: regions[0].clone(),
                label: describe(path),
                body,
            }])
        }
        None => ack::fetch(regions, source.cluster.as_deref(), &source.fetch).map_err(|e| {
            if e.chain().any(|c| c.is::<ack::ConfigError>()) {
                Undecided::Setup(e)
            } else {
                Undecided::Plans(e)
            }
        }),
    }
}

/// `standard input` or `response file PATH`, for messages.
pub fn describe(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".into()
    } else {
        format!("response file {}", path.display())
    }
}

/// Reads a response body, refusing more than `limit` bytes without reading it all.
///
/// A file that cannot be opened is the user's to fix ([`Undecided::Setup`]: a typo in
/// a path must not fail open); a body that cannot be read or used is
/// [`Undecided::Plans`] ("could not decide").
pub fn read_response(path: &Path, limit: u64) -> Result<String, Undecided> {
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            Undecided::Setup(hinted(
                format!("cannot open {}: {e}", describe(path)),
                "pass a saved ListOperationPlansForRegion body, or - for standard input",
            ))
        })?;
        Box::new(file)
    };
    read_body(reader, path, limit).map_err(Undecided::Plans)
}

/// Reads at most `limit` bytes of UTF-8 from `reader` (the response at `path`).
fn read_body(mut reader: Box<dyn Read>, path: &Path, limit: u64) -> Result<String> {
    let mut bytes = Vec::new();
    reader
        .by_ref()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", describe(path)))?;
    if bytes.len() as u64 > limit {
        return Err(hinted(
            format!("{} is larger than the {limit} byte limit", describe(path)),
            "a ListOperationPlansForRegion response holds at most 100 plans; is this the right file?",
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            describe(path),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads a policy file (at most 1 MiB of UTF-8).
pub fn read_policy(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| {
        hinted(
            format!("cannot read policy file {}: {e}", path.display()),
            "`plangate policy default > policy.toml` writes the default policy to start from",
        )
    })?;
    if bytes.len() > 1 << 20 {
        return Err(anyhow!(
            "policy file {} is larger than 1 MiB",
            path.display()
        ));
    }
    String::from_utf8(bytes)
        .map_err(|_| anyhow!("policy file {} is not UTF-8 text", path.display()))
}
