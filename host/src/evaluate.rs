//! The evaluation pipeline shared by every command: compile the policy, parse the
//! bodies, evaluate — each step in the component, each evaluation in a fresh Store.

use std::path::Path;

use anyhow::{Result, anyhow};
use chrono::{DateTime, FixedOffset, TimeDelta};

use crate::ack::Fetched;
use crate::cli::{PolicyArgs, SourceArgs};
use crate::component::{Context, Decision, Gate, Limits, Plan, Window};
use crate::error::{Undecided, hinted};
use crate::source::{load_bodies, parse_regions, read_policy};
use crate::times::{parse_duration, to_timestamp};

/// A policy that compiled in the component.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The document text.
    pub doc: String,
    /// `default` or the file path, for reports.
    pub name: String,
    /// Its rule names, in document order.
    pub rules: Vec<String>,
}

/// The loaded gate component plus helpers to run the pipeline with it.
pub struct Evaluator {
    gate: Gate,
}

impl Evaluator {
    /// Compiles the embedded gate component.
    pub fn new() -> Result<Self> {
        Ok(Evaluator {
            gate: Gate::load(Limits::default())?,
        })
    }

    /// Loads and compiles `path`, or the default policy when `None`.
    pub fn policy(&self, path: Option<&Path>) -> Result<LoadedPolicy> {
        let mut session = self.gate.session()?;
        let (doc, name) = match path {
            Some(p) => (read_policy(p)?, p.display().to_string()),
            None => (session.default_policy()?, "default".to_string()),
        };
        match session.check_policy(&doc)? {
            Ok(rules) => Ok(LoadedPolicy { doc, name, rules }),
            Err(e) => Err(policy_error(&name, &e.message)),
        }
    }

    /// The largest response body the component accepts.
    pub fn max_body_bytes(&self) -> Result<u64> {
        self.gate.session()?.max_body_bytes()
    }

    /// Parses bodies into plans tagged with their region, de-duplicated per region.
    pub fn parse_bodies(&self, bodies: &[Fetched]) -> Result<Vec<Plan>, Undecided> {
        let mut session = self.gate.session().map_err(Undecided::Setup)?;
        let mut plans: Vec<Plan> = Vec::new();
        for fetched in bodies {
            let parsed = match session
                .parse_response(&fetched.body)
                .map_err(Undecided::Setup)?
            {
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
                let seen = plans.iter().any(|q| {
                    q.plan_id == p.plan_id && q.region.as_deref() == Some(fetched.region.as_str())
                });
                if !seen {
                    p.region = Some(fetched.region.clone());
                    plans.push(p);
                }
            }
        }
        Ok(plans)
    }

    /// Reads or fetches the plans described by `source`.
    pub fn load_plans(&self, source: &SourceArgs) -> Result<(Vec<String>, Vec<Plan>), Undecided> {
        let regions = parse_regions(&source.region).map_err(Undecided::Setup)?;
        let limit = self.max_body_bytes().map_err(Undecided::Setup)?;
        let bodies = load_bodies(source, &regions, limit)?;
        Ok((regions, self.parse_bodies(&bodies)?))
    }

    /// Evaluates `plans` with `policy` in a fresh store.
    pub fn decide(&self, policy: &LoadedPolicy, plans: &[Plan], ctx: &Context) -> Result<Decision> {
        let mut session = self.gate.session()?;
        match session.evaluate(&policy.doc, plans, ctx)? {
            Ok(d) => Ok(d),
            Err(e) => Err(policy_error(&policy.name, &e.message)),
        }
    }
}

/// The deploy question: a window, a cluster filter and a search horizon.
pub fn context(
    at: DateTime<FixedOffset>,
    duration: TimeDelta,
    cluster: Option<&str>,
    horizon: TimeDelta,
) -> Result<Context> {
    let end = at
        .checked_add_signed(duration)
        .ok_or_else(|| anyhow!("the deploy start plus its duration is out of range"))?;
    Ok(Context {
        deploy: Window {
            start: to_timestamp(at),
            end: to_timestamp(end),
        },
        cluster_id: cluster.map(str::to_string),
        horizon_seconds: horizon.num_seconds(),
    })
}

/// Parses `--horizon`.
pub fn horizon(args: &PolicyArgs) -> Result<TimeDelta> {
    parse_duration("--horizon", &args.horizon)
}

/// A policy compile error with a hint.
pub fn policy_error(name: &str, message: &str) -> anyhow::Error {
    hinted(
        format!("policy {name} is invalid: {message}"),
        "`plangate policy default` prints a valid policy to start from",
    )
}
