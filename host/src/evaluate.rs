//! The evaluation pipeline shared by every command: compile the policy, parse the
//! bodies, evaluate — each step in the component, each evaluation in a fresh Store.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, Result, anyhow, bail};
use chrono::{DateTime, FixedOffset, TimeDelta};

use crate::ack::Fetched;
use crate::cli::{PolicyArgs, SourceArgs};
use crate::component::{
    Context, Decision, Gate, Limits, Plan, PluginFindings, Severity, TICKS_PER_SECOND, Window,
};
use crate::error::{Undecided, hinted};
use crate::plugin::{Plugin, PluginHost, PluginLimits};
use crate::source::{load_bodies, parse_regions, read_policy};
use crate::times::{parse_duration, to_timestamp};

/// A policy that compiled in the component, with its plugins loaded.
#[derive(Clone)]
pub struct LoadedPolicy {
    /// The document text.
    pub doc: String,
    /// `default` or the file path, for reports.
    pub name: String,
    /// Its rule names, in document order (plus `--plugin` names).
    pub rules: Vec<String>,
    /// Plugins to run: the policy's `kind = "plugin"` rules, then `--plugin` files.
    pub plugins: Vec<(Arc<Plugin>, Severity)>,
}

/// The loaded gate component plus helpers to run the pipeline with it.
pub struct Evaluator {
    gate: Gate,
    plugin_host: OnceLock<PluginHost>,
}

impl Evaluator {
    /// Loads the embedded gate component.
    pub fn new() -> Result<Self> {
        Ok(Evaluator {
            gate: Gate::load(Limits::default())?,
            plugin_host: OnceLock::new(),
        })
    }

    /// Loads and compiles `path`, or the default policy when `None`.
    pub fn policy(&self, path: Option<&Path>) -> Result<LoadedPolicy> {
        self.policy_with_plugins(path, &[])
    }

    /// Loads `path` (or the default policy) and the plugins it names, plus `extra`
    /// plugin files (each named after its file stem).
    pub fn policy_with_plugins(
        &self,
        path: Option<&Path>,
        extra: &[PathBuf],
    ) -> Result<LoadedPolicy> {
        let mut session = self.gate.session()?;
        let (doc, name) = match path {
            Some(p) => (read_policy(p)?, p.display().to_string()),
            None => (session.default_policy()?, "default".to_string()),
        };
        let compiled = session
            .compile(&doc)?
            .map_err(|e| policy_error(&name, &e.message))?;
        let mut rules = session.rule_names(&compiled)?;
        let specs = session.plugin_specs(&compiled)?;
        let base = path.and_then(Path::parent).unwrap_or(Path::new("."));
        let mut plugins = Vec::new();
        for spec in specs {
            let file = base.join(&spec.path);
            let plugin = self
                .plugin_host()?
                .load(&spec.name, &file, spec.config)
                .with_context(|| format!("policy {name}: cannot load plugin {}", spec.name))?;
            plugins.push((Arc::new(plugin), spec.severity_cap));
        }
        for file in extra {
            let stem = file
                .file_stem()
                .and_then(|s| s.to_str())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    anyhow!(
                        "--plugin {}: cannot name a plugin after this path",
                        file.display()
                    )
                })?;
            if rules.iter().any(|r| r == stem) {
                bail!(
                    "--plugin {}: the policy already has a rule named {stem}",
                    file.display()
                );
            }
            let plugin = self.plugin_host()?.load(stem, file, "{}".into())?;
            rules.push(stem.to_string());
            plugins.push((Arc::new(plugin), Severity::Deny));
        }
        Ok(LoadedPolicy {
            doc,
            name,
            rules,
            plugins,
        })
    }

    fn plugin_host(&self) -> Result<&PluginHost> {
        if let Some(host) = self.plugin_host.get() {
            return Ok(host);
        }
        let host = PluginHost::new(
            self.gate.engine(),
            TICKS_PER_SECOND,
            PluginLimits::from_env()?,
        )?;
        Ok(self.plugin_host.get_or_init(|| host))
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
            // Plans from earlier bodies of the same region (live mode asks several
            // times per region); duplicates within one body are all kept and judged.
            let earlier = plans.len();
            let parsed = match session
                .parse_response(&fetched.body)
                .map_err(Undecided::Setup)?
            {
                Ok(parsed) => parsed,
                Err(e) => {
                    // serde_json's messages already say "at line L column C".
                    let at = match (e.line, e.column) {
                        (Some(l), Some(c)) if !e.message.contains(" at line ") => {
                            format!(" (line {l}, column {c})")
                        }
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
                let seen = plans[..earlier].iter().any(|q| {
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

    /// Evaluates `plans` with `policy` in a fresh store, after running its plugins
    /// (each in its own sandbox). A plugin failure is an error: fail closed.
    pub fn decide(&self, policy: &LoadedPolicy, plans: &[Plan], ctx: &Context) -> Result<Decision> {
        let mut extra = Vec::with_capacity(policy.plugins.len());
        for (plugin, cap) in &policy.plugins {
            extra.push(PluginFindings {
                plugin: plugin.name.clone(),
                severity_cap: *cap,
                findings: self.plugin_host()?.evaluate(plugin, plans, ctx)?,
            });
        }
        let mut session = self.gate.session()?;
        let compiled = session
            .compile(&policy.doc)?
            .map_err(|e| policy_error(&policy.name, &e.message))?;
        session.evaluate(&compiled, plans, ctx, &extra)
    }
}

/// The answer to one question, with what was asked.
pub struct Answer {
    /// The regions the plans came from.
    pub regions: Vec<String>,
    /// The policy that decided.
    pub policy: LoadedPolicy,
    /// The deploy window, cluster filter and horizon.
    pub ctx: Context,
    /// The search horizon.
    pub horizon: TimeDelta,
    /// The component's decision.
    pub decision: Decision,
    /// How many plans were read or fetched, before the cluster filter.
    pub plans_total: usize,
}

/// Asks end to end whether a deploy of `duration` may start at `at` (`at_flag` names
/// the flag in messages): flags, then the policy (so a broken one is reported before
/// any plans are read), then the plans, then the decision.
pub fn answer(
    source: &SourceArgs,
    policy: &PolicyArgs,
    at_flag: &str,
    at: &str,
    duration: &str,
) -> Result<Answer, Undecided> {
    let setup = Undecided::Setup;
    let at = crate::times::parse_at(at, chrono::Utc::now())
        .with_context(|| format!("invalid {at_flag}"))
        .map_err(setup)?;
    let duration = parse_duration("--duration", duration).map_err(setup)?;
    let horizon = horizon(policy).map_err(setup)?;
    let ctx = context(at, duration, source.cluster.as_deref(), horizon).map_err(setup)?;
    let evaluator = Evaluator::new().map_err(setup)?;
    let loaded = evaluator
        .policy_with_plugins(policy.policy.as_deref(), &policy.plugins)
        .map_err(setup)?;
    let (regions, plans) = evaluator.load_plans(source)?;
    let decision = evaluator.decide(&loaded, &plans, &ctx).map_err(setup)?;
    Ok(Answer {
        regions,
        policy: loaded,
        ctx,
        horizon,
        decision,
        plans_total: plans.len(),
    })
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
