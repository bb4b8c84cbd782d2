//! The plangate gate component: parses ACK `ListOperationPlansForRegion` responses
//! and evaluates deploy policies. Pure computation: no I/O, no clock, no imports.
//!
//! The logic lives in plain modules ([`parse`], [`policy`], [`eval`], [`time`],
//! [`cron`], [`zone`], [`recurring`]) that are unit-tested natively; [`Component`]
//! only adapts them to the WIT exports.

pub mod cron;
pub mod eval;
pub mod parse;
pub mod policy;
pub mod recurring;
pub mod time;
pub mod zone;

/// Types and export traits generated from `wit/plangate.wit`.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "gate",
        additional_derives: [PartialEq],
    });
}

use bindings::exports::plangate::gate::types::{Context, Decision, Plan};
use bindings::exports::plangate::gate::{plans, policy as policy_iface};

/// The component's implementation of the `gate` world.
pub struct Component;

impl plans::Guest for Component {
    fn max_body_bytes() -> u64 {
        parse::MAX_BODY_BYTES
    }

    fn parse_response(body: String) -> Result<Vec<Plan>, plans::ParseError> {
        parse::parse_response(&body)
    }
}

impl policy_iface::Guest for Component {
    type Engine = Engine;

    fn default_policy() -> String {
        policy::DEFAULT_POLICY.to_string()
    }
}

/// A compiled policy, exported as the WIT `engine` resource.
pub struct Engine(policy::Policy);

impl policy_iface::GuestEngine for Engine {
    fn compile(doc: String) -> Result<policy_iface::Engine, policy_iface::PolicyError> {
        policy::compile(&doc)
            .map(|p| policy_iface::Engine::new(Engine(p)))
            .map_err(|message| policy_iface::PolicyError { message })
    }

    fn rule_names(&self) -> Vec<String> {
        self.0.rules.iter().map(|r| r.name.clone()).collect()
    }

    fn plugins(&self) -> Vec<policy_iface::PluginSpec> {
        self.0
            .rules
            .iter()
            .filter_map(|r| match &r.kind {
                policy::Kind::Plugin { path, config } => Some(policy_iface::PluginSpec {
                    name: r.name.clone(),
                    path: path.clone(),
                    config: config.clone(),
                    severity_cap: r.severity,
                }),
                _ => None,
            })
            .collect()
    }

    fn evaluate(&self, plans: Vec<Plan>, ctx: Context) -> Decision {
        eval::evaluate(&self.0, &plans, &ctx)
    }

    fn evaluate_with_plugins(
        &self,
        plans: Vec<Plan>,
        ctx: Context,
        extra: Vec<policy_iface::PluginFindings>,
    ) -> Decision {
        let external: Vec<eval::External> = extra
            .into_iter()
            .map(|e| eval::External {
                plugin: e.plugin,
                cap: e.severity_cap,
                findings: e.findings,
            })
            .collect();
        eval::evaluate_with(&self.0, &plans, &ctx, &external)
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(Component with_types_in bindings);
