//! `plangate wait`: re-fetch and re-evaluate until the deploy is allowed or time runs out.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::cli::WaitArgs;
use crate::component::{Decision, Severity, Verdict};
use crate::error::{Exit, Undecided, render as render_error};
use crate::evaluate::{Evaluator, LoadedPolicy, context, horizon};
use crate::output::{emit, sanitize};
use crate::times::{format, human, parse_duration};

/// Runs `wait`: exit 0 once allowed, 1 on timeout, 2 on a setup error.
pub fn run(args: &WaitArgs) -> Exit {
    match wait(args) {
        Ok(exit) => exit,
        Err(e) => {
            eprint!("{}", render_error(&e));
            Exit::Undecided
        }
    }
}

/// One line about why the deploy is blocked right now.
fn blocking_summary(d: &Decision) -> String {
    let blockers: Vec<String> = d
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Deny)
        .map(|f| match &f.plan_id {
            Some(p) => format!("{} ({p})", f.rule),
            None => f.rule.clone(),
        })
        .collect();
    let next = d
        .next_clear_start
        .as_ref()
        .map_or("none within the horizon".into(), format);
    format!(
        "blocked by {}; next clear start {next}",
        blockers.join(", ")
    )
}

fn wait(args: &WaitArgs) -> anyhow::Result<Exit> {
    if args
        .source
        .response
        .as_deref()
        .is_some_and(|p| p.as_os_str() == "-")
    {
        return Err(crate::error::hinted(
            "wait re-reads the plans every interval, and standard input can be read only once",
            "pass --response FILE (plangate re-reads it), or drop --response to fetch from ACK",
        ));
    }
    let duration = parse_duration("--duration", &args.duration)?;
    let timeout = parse_duration("--timeout", &args.timeout)?.to_std()?;
    let interval = parse_duration("--interval", &args.interval)?.to_std()?;
    let horizon = horizon(&args.policy)?;
    let evaluator = Evaluator::new()?;
    let policy =
        evaluator.policy_with_plugins(args.policy.policy.as_deref(), &args.policy.plugins)?;
    let live = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let status = match check_now(&evaluator, &policy, args, duration, horizon) {
            Ok(d) if d.verdict != Verdict::Deny => {
                if live {
                    eprint!("\r\x1b[2K");
                }
                let line = format!(
                    "allowed after {} ({} checks): verdict {}\n",
                    human(chrono::TimeDelta::from_std(started.elapsed()).unwrap_or_default()),
                    attempt,
                    crate::render::verdict_name(d.verdict)
                );
                return Ok(if emit(&line) {
                    Exit::Allow
                } else {
                    Exit::Undecided
                });
            }
            Ok(d) => blocking_summary(&d),
            Err(Undecided::Setup(e)) => return Err(e),
            // A saved response that cannot be read will not get better by waiting.
            Err(Undecided::Plans(e)) if args.source.response.is_some() => return Err(e),
            // A fetch that failed now may succeed later; the deploy stays blocked.
            Err(Undecided::Plans(e)) => format!("could not fetch the plans ({e:#}); still blocked"),
        };
        let status = sanitize(&status, false);
        let left = timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            if live {
                eprint!("\r\x1b[2K");
            }
            let line = format!(
                "timed out after {}: {status}\n",
                human(chrono::TimeDelta::from_std(timeout).unwrap_or_default())
            );
            return Ok(if emit(&line) {
                Exit::Deny
            } else {
                Exit::Undecided
            });
        }
        let left_text = human(chrono::TimeDelta::from_std(left).unwrap_or_default());
        if live {
            eprint!("\r\x1b[2Kwaiting: {status}; {left_text} left");
            let _ = std::io::stderr().flush();
        } else {
            eprintln!("waiting: {status}; {left_text} left");
        }
        std::thread::sleep(interval.min(left).max(Duration::from_millis(10)));
    }
}

fn check_now(
    evaluator: &Evaluator,
    policy: &LoadedPolicy,
    args: &WaitArgs,
    duration: chrono::TimeDelta,
    horizon: chrono::TimeDelta,
) -> Result<Decision, Undecided> {
    let ctx = context(
        Utc::now().fixed_offset(),
        duration,
        args.source.cluster.as_deref(),
        horizon,
    )
    .map_err(Undecided::Setup)?;
    let (_, plans) = evaluator.load_plans(&args.source)?;
    evaluator
        .decide(policy, &plans, &ctx)
        .map_err(Undecided::Setup)
}
