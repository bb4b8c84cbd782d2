//! `plangate check`: read the plans, evaluate the policy in the component, render.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow};
use chrono::Utc;
use serde_json::json;

use crate::ack::{self, Fetched};
use crate::cli::{CheckArgs, ColorChoice, Format};
use crate::component::{Context, Decision, Gate, Limits, Plan, Verdict, Window};
use crate::error::{Exit, Undecided, hinted, render as render_error};
use crate::render::{Palette, Request, json_report, text_report};
use crate::times::{parse_at, parse_duration, to_timestamp};

/// Runs `check` and prints its report; returns the exit code.
pub fn run(args: &CheckArgs) -> Exit {
    match decide(args) {
        Ok((req, decision)) => {
            let exit = match decision.verdict {
                Verdict::Deny => Exit::Deny,
                Verdict::Allow | Verdict::Warn => Exit::Allow,
            };
            let out = match args.format {
                Format::Json => format!("{:#}\n", json_report(&req, &decision, exit as i32)),
                Format::Text => text_report(&req, &decision, palette(args.color)),
            };
            print(&out);
            exit
        }
        Err(Undecided::Plans(e)) if args.fail_open => {
            let message = format!("{e:#}");
            eprint!("{}", render_error(&e));
            eprintln!(
                "warning: FAIL-OPEN: could not decide, allowing the deploy only because --fail-open was given"
            );
            match args.format {
                Format::Json => print(&format!(
                    "{:#}\n",
                    json!({
                        "schema_version": 1,
                        "verdict": "allow",
                        "exit_code": 0,
                        "fail_open": true,
                        "error": message,
                    })
                )),
                Format::Text => print(&format!(
                    "ALLOW (FAIL-OPEN)  could not decide: {message}\n\
                     The deploy is allowed only because --fail-open was given. Nothing was checked.\n"
                )),
            }
            Exit::Allow
        }
        Err(u) => {
            eprint!("{}", render_error(u.error()));
            Exit::Undecided
        }
    }
}

fn print(s: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (e.g. `| head`) is not worth a panic.
    let _ = out.write_all(s.as_bytes()).and_then(|_| out.flush());
}

fn palette(choice: ColorChoice) -> Palette {
    let on = match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    Palette::new(on)
}

/// Everything up to the decision; errors say whether the plans or the setup failed.
pub fn decide(args: &CheckArgs) -> Result<(Request, Decision), Undecided> {
    let setup = Undecided::Setup;
    let regions = parse_regions(&args.region).map_err(setup)?;
    let at = parse_at(&args.at, Utc::now())
        .context("invalid --at")
        .map_err(setup)?;
    let duration = parse_duration("--duration", &args.duration).map_err(setup)?;
    let horizon = parse_duration("--horizon", &args.horizon).map_err(setup)?;
    let end = at
        .checked_add_signed(duration)
        .ok_or_else(|| anyhow!("--at plus --duration is out of range"))
        .map_err(setup)?;

    let gate = Gate::load(Limits::default()).map_err(setup)?;
    let mut session = gate.session().map_err(setup)?;
    let (policy_doc, policy_name) = match &args.policy {
        Some(path) => (
            read_policy(path).map_err(setup)?,
            path.display().to_string(),
        ),
        None => (
            session.default_policy().map_err(setup)?,
            "default".to_string(),
        ),
    };
    // Compile first: a broken policy is reported before any plans are read.
    if let Err(e) = session.check_policy(&policy_doc).map_err(setup)? {
        return Err(setup(policy_error(&policy_name, &e.message)));
    }

    let limit = session.max_body_bytes().map_err(setup)?;
    let bodies = load_bodies(args, &regions, limit)?;
    let mut plans: Vec<Plan> = Vec::new();
    for fetched in bodies {
        let parsed = match session.parse_response(&fetched.body).map_err(setup)? {
            Ok(parsed) => parsed,
            Err(e) => {
                let at = match (e.line, e.column) {
                    (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
                    _ => String::new(),
                };
                return Err(Undecided::Plans(hinted(
                    format!(
                        "{} is not a usable ListOperationPlansForRegion response: {}{at}",
                        fetched.label, e.message
                    ),
                    "the gate cannot decide on a response it cannot read; check the file or the API call that produced it",
                )));
            }
        };
        // Several queries per region can return the same plan: keep the first copy.
        for mut p in parsed {
            if plans
                .iter()
                .any(|q| q.plan_id == p.plan_id && q.region.as_deref() == Some(&fetched.region))
            {
                continue;
            }
            p.region = Some(fetched.region.clone());
            plans.push(p);
        }
    }

    let deploy = Window {
        start: to_timestamp(at),
        end: to_timestamp(end),
    };
    let ctx = Context {
        deploy,
        cluster_id: args.cluster.clone(),
        horizon_seconds: horizon.num_seconds(),
    };
    let decision = match session.evaluate(&policy_doc, &plans, &ctx).map_err(setup)? {
        Ok(d) => d,
        Err(e) => return Err(setup(policy_error(&policy_name, &e.message))),
    };
    let req = Request {
        regions,
        cluster: args.cluster.clone(),
        deploy,
        policy: policy_name,
        horizon_seconds: horizon.num_seconds(),
    };
    Ok((req, decision))
}

fn policy_error(name: &str, message: &str) -> anyhow::Error {
    hinted(
        format!("policy {name} is invalid: {message}"),
        "`plangate policy default` prints a valid policy to start from",
    )
}

/// Where the plans come from: the `--response` file, or ACK itself.
fn load_bodies(
    args: &CheckArgs,
    regions: &[String],
    limit: u64,
) -> Result<Vec<Fetched>, Undecided> {
    match &args.response {
        Some(path) => {
            if regions.len() != 1 {
                return Err(Undecided::Setup(hinted(
                    "--response holds one region's plans, but several regions were given",
                    "pass one --region with --response, or drop --response to fetch every region",
                )));
            }
            let body = read_response(path, limit).map_err(Undecided::Plans)?;
            Ok(vec![Fetched {
                region: regions[0].clone(),
                label: describe(path),
                body,
            }])
        }
        None => ack::fetch(regions, args.cluster.as_deref(), &args.fetch).map_err(|e| {
            if e.chain().any(|c| c.is::<ack::ConfigError>()) {
                Undecided::Setup(e)
            } else {
                Undecided::Plans(e)
            }
        }),
    }
}

/// Splits `--region a,b` and checks each id; duplicates are dropped.
fn parse_regions(raw: &str) -> Result<Vec<String>> {
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

fn describe(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".into()
    } else {
        format!("response file {}", path.display())
    }
}

/// Reads the response body, refusing more than `limit` bytes without reading it all.
fn read_response(path: &Path, limit: u64) -> Result<String> {
    let mut reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            hinted(
                format!("cannot open {}: {e}", describe(path)),
                "pass a saved ListOperationPlansForRegion body, or - for standard input",
            )
        })?;
        Box::new(file)
    };
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

/// Reads a policy file.
fn read_policy(path: &Path) -> Result<String> {
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

/// `plangate policy check FILE`: exit 0 with the rule names, or 2 with the error.
pub fn policy_check(path: &Path) -> Result<Vec<String>> {
    let doc = read_policy(path)?;
    let gate = Gate::load(Limits::default())?;
    let mut session = gate.session()?;
    match session.check_policy(&doc)? {
        Ok(names) => Ok(names),
        Err(e) => Err(policy_error(&path.display().to_string(), &e.message)),
    }
}

/// `plangate policy default`.
pub fn policy_default() -> Result<String> {
    let gate = Gate::load(Limits::default())?;
    gate.session()?.default_policy()
}
