//! Example plangate rule plugin (Rust): deny a deploy when any node pool of the
//! target cluster has a Failed or ValidatingFailed plan that ended within the
//! last `lookback` (default 7 days) before the deploy start. A failing node pool
//! often means capacity the deploy will need is not healthy.
//!
//! Configuration (JSON): `{"lookback": "7d"}`.

// Generated code: wit-bindgen lowers the 11-field finding record into many arguments.
#[allow(clippy::too_many_arguments)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../wit",
        world: "rule",
    });
}

use bindings::plangate::gate::types::{
    Context, Finding, Plan, PlanState, Severity, TargetType, Timestamp, Window,
};

/// The plugin's configuration.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    #[serde(default = "default_lookback")]
    lookback: String,
}

fn default_lookback() -> String {
    "7d".into()
}

/// The plugin.
pub struct NodepoolFailures;

/// Finds failed node-pool plans of the cluster in scope within `lookback` seconds before the deploy.
pub fn judge(plans: &[Plan], ctx: &Context, lookback: i64) -> Vec<Finding> {
    let start = ctx.deploy.start.epoch_seconds;
    plans
        .iter()
        .filter(|p| ctx.cluster_id.as_ref().is_none_or(|c| &p.cluster_id == c))
        .filter(|p| matches!(p.target_type, TargetType::Nodepool))
        .filter(|p| matches!(p.state, PlanState::Failed | PlanState::ValidatingFailed))
        .filter_map(|p| {
            let end = p.end_time.or(p.start_time)?;
            let recent = end.epoch_seconds <= start && start - end.epoch_seconds < lookback;
            recent.then(|| Finding {
                rule: "nodepool-failed-recently".into(),
                severity: Severity::Deny,
                plan_id: Some(p.plan_id.clone()),
                cluster_id: Some(p.cluster_id.clone()),
                region: p.region.clone(),
                plan_type: Some(p.plan_type.clone()),
                state: Some(p.state.clone()),
                target_type: Some(p.target_type.clone()),
                target_id: Some(p.target_id.clone()),
                // Blocks until the failure is older than the lookback.
                conflict: Some(Window {
                    start: end,
                    end: Timestamp {
                        epoch_seconds: end.epoch_seconds + lookback,
                        ..end
                    },
                }),
                message: format!(
                    "node pool {} of cluster {} had a failed plan {} ({}) less than {}s before the deploy",
                    p.target_id,
                    p.cluster_id,
                    p.plan_id,
                    p.state_reason
                        .as_ref()
                        .map_or("no reason given".to_string(), |r| format!("{}: {}", r.code, r.message)),
                    lookback
                ),
            })
        })
        .collect()
}

/// Reads the JSON configuration; returns the lookback in seconds.
pub fn parse_lookback(config: &str) -> Result<i64, String> {
    let text = if config.trim().is_empty() {
        "{}"
    } else {
        config
    };
    let config: Config =
        serde_json::from_str(text).map_err(|e| format!("invalid configuration: {e}"))?;
    let lookback = humantime::parse_duration(&config.lookback)
        .map_err(|e| format!("invalid configuration: lookback {:?}: {e}", config.lookback))?;
    i64::try_from(lookback.as_secs()).map_err(|_| "invalid configuration: lookback too long".into())
}

impl bindings::Guest for NodepoolFailures {
    fn evaluate(plans: Vec<Plan>, ctx: Context, config: String) -> Result<Vec<Finding>, String> {
        Ok(judge(&plans, &ctx, parse_lookback(&config)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration() {
        assert_eq!(parse_lookback(""), Ok(7 * 86400));
        assert_eq!(parse_lookback(r#"{"lookback":"36h"}"#), Ok(36 * 3600));
        assert!(
            parse_lookback(r#"{"lookback":"soon"}"#)
                .unwrap_err()
                .contains("lookback")
        );
        assert!(
            parse_lookback(r#"{"look":"1d"}"#)
                .unwrap_err()
                .contains("unknown field")
        );
    }
}

#[cfg(target_arch = "wasm32")]
bindings::export!(NodepoolFailures with_types_in bindings);
