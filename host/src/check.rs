//! `plangate check`: decide, then render in the chosen format and map to an exit code.

use std::io::IsTerminal;

use serde_json::json;

use crate::cli::{CheckArgs, CheckFormat, ColorChoice};
use crate::component::{Severity, Verdict};
use crate::error::{Exit, Undecided, hinted, render as render_error};
use crate::evaluate::{Answer, answer};
use crate::output::{emit, sanitize};
use crate::render::{Palette, Report, Request, json_report, text_report};
use crate::report_ci::{github_report, junit_report};

/// Runs `check` and prints its report; returns the exit code.
pub fn run(args: &CheckArgs) -> Exit {
    match decide(args) {
        Ok(report) => {
            let out = match args.format {
                CheckFormat::Json => format!("{:#}\n", json_report(&report)),
                CheckFormat::Text => text_report(&report, palette(args.color)),
                CheckFormat::Github => github_report(&report),
                CheckFormat::Junit => junit_report(&report),
            };
            if let Some(reason) = &report.break_glass
                && report.blocked()
            {
                eprintln!(
                    "warning: BREAK-GLASS: a blocked deploy is allowed because --break-glass was given: {}",
                    sanitize(reason, false)
                );
            }
            if emit(&out) {
                report.exit
            } else {
                Exit::Undecided
            }
        }
        Err(Undecided::Plans(e)) if args.fail_open => {
            if fail_open(args, &e) {
                Exit::Allow
            } else {
                Exit::Undecided
            }
        }
        Err(u) => {
            eprint!("{}", render_error(u.error()));
            Exit::Undecided
        }
    }
}

/// Prints the loud fail-open report in the requested format; `false` if it was lost.
fn fail_open(args: &CheckArgs, e: &anyhow::Error) -> bool {
    let message = format!("{e:#}");
    eprint!("{}", render_error(e));
    eprintln!(
        "warning: FAIL-OPEN: could not decide, allowing the deploy only because --fail-open was given"
    );
    let out = match args.format {
        CheckFormat::Json => format!(
            "{:#}\n",
            json!({
                "schema_version": 1,
                "verdict": "allow",
                "exit_code": 0,
                "fail_open": true,
                "error": message,
            })
        ),
        CheckFormat::Text => format!(
            "ALLOW (FAIL-OPEN)  could not decide: {message}\n\
             The deploy is allowed only because --fail-open was given. Nothing was checked.\n"
        ),
        CheckFormat::Github => format!(
            "::warning title=plangate FAIL-OPEN::{}\n",
            crate::report_ci::escape_data(&format!(
                "could not decide ({message}); the deploy is allowed only because --fail-open was given"
            ))
        ),
        CheckFormat::Junit => crate::report_ci::junit_fail_open(&message),
    };
    emit(&out)
}

/// Colour on a terminal unless NO_COLOR is set (or the flag says otherwise).
pub fn palette(choice: ColorChoice) -> Palette {
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

/// Everything up to the report; errors say whether the plans or the setup failed.
pub fn decide(args: &CheckArgs) -> Result<Report, Undecided> {
    let break_glass = match &args.break_glass {
        Some(r) if r.trim().is_empty() => {
            return Err(Undecided::Setup(hinted(
                "--break-glass needs a reason",
                "say why, e.g. --break-glass \"hotfix for INC-1234, approved by on-call\"",
            )));
        }
        other => other.clone(),
    };
    let Answer {
        regions,
        policy,
        ctx,
        horizon,
        decision,
        plans_total,
    } = answer(&args.source, &args.policy, "--at", &args.at, &args.duration)?;
    if let Some(cluster) = &args.source.cluster
        && decision.plans_considered == 0
        && plans_total > 0
    {
        eprintln!(
            "warning: none of the {plans_total} plans is for cluster {}; is the cluster id right?",
            sanitize(cluster, false)
        );
    }

    let blocked = decision.verdict == Verdict::Deny
        || (decision.verdict == Verdict::Warn && args.fail_on_warn);
    let exit = match (blocked, &break_glass) {
        (true, None) => Exit::Deny,
        _ => Exit::Allow,
    };
    Ok(Report {
        request: Request {
            regions,
            cluster: args.source.cluster.clone(),
            deploy: ctx.deploy,
            policy: policy.name,
            rules: policy.rules,
            horizon_seconds: horizon.num_seconds(),
        },
        decision,
        exit,
        fail_on_warn: args.fail_on_warn,
        break_glass,
    })
}

/// Whether a finding blocks under these flags (what `--break-glass` overrides).
pub fn blocks(severity: Severity, fail_on_warn: bool) -> bool {
    severity == Severity::Deny || (severity == Severity::Warn && fail_on_warn)
}
