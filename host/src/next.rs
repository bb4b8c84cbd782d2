//! `plangate next`: the earliest clear start for a deploy of a given duration.

use anyhow::Context as _;
use chrono::Utc;
use serde_json::json;

use crate::check::print;
use crate::cli::{Format, NextArgs};
use crate::error::{Exit, Undecided, render as render_error};
use crate::evaluate::{Evaluator, context, horizon};
use crate::render::finding_json;
use crate::times::{format, human, parse_at, parse_duration};

/// Runs `next`: prints the instant and exits 0, or says "none" and exits 1.
pub fn run(args: &NextArgs) -> Exit {
    match next(args) {
        Ok(exit) => exit,
        Err(u) => {
            eprint!("{}", render_error(u.error()));
            Exit::Undecided
        }
    }
}

fn next(args: &NextArgs) -> Result<Exit, Undecided> {
    let setup = Undecided::Setup;
    let after = parse_at(&args.after, Utc::now())
        .context("invalid --after")
        .map_err(setup)?;
    let duration = parse_duration("--duration", &args.duration).map_err(setup)?;
    let horizon = horizon(&args.policy).map_err(setup)?;
    let ctx = context(after, duration, args.source.cluster.as_deref(), horizon).map_err(setup)?;
    let evaluator = Evaluator::new().map_err(setup)?;
    let policy = evaluator
        .policy_with_plugins(args.policy.policy.as_deref(), &args.policy.plugins)
        .map_err(setup)?;
    let (_, plans) = evaluator.load_plans(&args.source)?;
    let d = evaluator.decide(&policy, &plans, &ctx).map_err(setup)?;
    let exit = if d.next_clear_start.is_some() {
        Exit::Allow
    } else {
        Exit::Deny
    };
    let out = match args.format {
        Format::Json => format!(
            "{:#}\n",
            json!({
                "schema_version": 1,
                "next_clear_start": d.next_clear_start.as_ref().map(format),
                "after": format(&ctx.deploy.start),
                "duration_seconds": duration.num_seconds(),
                "horizon_seconds": horizon.num_seconds(),
                "policy": policy.name,
                "blocking_at_after": d.findings.iter().map(finding_json).collect::<Vec<_>>(),
            })
        ),
        Format::Text => match &d.next_clear_start {
            Some(t) => format!("{}\n", format(t)),
            None => format!(
                "none within {} of {}\n",
                human(horizon),
                format(&ctx.deploy.start)
            ),
        },
    };
    print(&out);
    Ok(exit)
}
