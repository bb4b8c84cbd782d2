//! `plangate next`: the earliest clear start for a deploy of a given duration.

use serde_json::json;

use crate::cli::{Format, NextArgs};
use crate::error::{Exit, Undecided, render as render_error};
use crate::evaluate::{Answer, answer};
use crate::output::emit;
use crate::render::finding_json;
use crate::times::{format, human};

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
    let Answer {
        policy,
        ctx,
        horizon,
        decision: d,
        ..
    } = answer(
        &args.source,
        &args.policy,
        "--after",
        &args.after,
        &args.duration,
    )?;
    let duration =
        chrono::TimeDelta::seconds(ctx.deploy.end.epoch_seconds - ctx.deploy.start.epoch_seconds);
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
    Ok(if emit(&out) { exit } else { Exit::Undecided })
}
