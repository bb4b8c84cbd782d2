//! `plangate plans`: a readable table (or JSON) of the region's operation plans.

use serde_json::{Value, json};

use crate::cli::{Format, PlansArgs};
use crate::component::{Plan, Timestamp};
use crate::error::{Exit, render as render_error};
use crate::evaluate::Evaluator;
use crate::output::{emit, sanitize};
use crate::render::{plan_state_name, plan_type_name, target_type_name};
use crate::times::format;

/// Runs `plans`: exit 0 with the listing, 2 if the plans cannot be read.
pub fn run(args: &PlansArgs) -> Exit {
    let loaded = Evaluator::new()
        .map_err(crate::error::Undecided::Setup)
        .and_then(|e| e.load_plans(&args.source));
    let mut plans = match loaded {
        Ok((_, plans)) => plans,
        Err(u) => {
            eprint!("{}", render_error(u.error()));
            return Exit::Undecided;
        }
    };
    let wanted = |list: &[String], value: &str| {
        list.is_empty() || list.iter().any(|w| w.eq_ignore_ascii_case(value))
    };
    plans.retain(|p| {
        args.source
            .cluster
            .as_ref()
            .is_none_or(|c| &p.cluster_id == c)
            && wanted(&args.types, plan_type_name(&p.plan_type))
            && wanted(&args.states, plan_state_name(&p.state))
    });
    plans.sort_by_key(|p| p.start_time.map_or(i64::MIN, |t| t.epoch_seconds));
    let out = match args.format {
        Format::Json => format!(
            "{:#}\n",
            Value::Array(plans.iter().map(plan_json).collect())
        ),
        Format::Text => table(&plans),
    };
    if emit(&out) {
        Exit::Allow
    } else {
        Exit::Undecided
    }
}

fn ts(t: &Option<Timestamp>) -> String {
    t.as_ref().map_or("-".into(), format)
}

/// One plan in the API's field names (plus `region` and `problems`).
fn plan_json(p: &Plan) -> Value {
    json!({
        "plan_id": p.plan_id,
        "cluster_id": p.cluster_id,
        "region": p.region,
        "type": plan_type_name(&p.plan_type),
        "state": plan_state_name(&p.state),
        "start_time": p.start_time.as_ref().map(format),
        "end_time": p.end_time.as_ref().map(format),
        "created": p.created.as_ref().map(format),
        "target_type": target_type_name(&p.target_type),
        "target_id": p.target_id,
        "task_id": p.task_id,
        "state_reason": p.state_reason.as_ref().map(|r| json!({"code": r.code, "message": r.message})),
        "problems": p.problems,
    })
}

fn table(plans: &[Plan]) -> String {
    if plans.is_empty() {
        return "no plans\n".into();
    }
    let mut rows = vec![
        ["START", "END", "STATE", "TYPE", "TARGET", "CLUSTER", "PLAN"]
            .map(String::from)
            .to_vec(),
    ];
    for p in plans {
        let mut state = plan_state_name(&p.state).to_string();
        if !p.problems.is_empty() {
            state.push_str(" (!)");
        }
        let row = [
            ts(&p.start_time),
            ts(&p.end_time),
            state,
            plan_type_name(&p.plan_type).to_string(),
            format!("{} {}", target_type_name(&p.target_type), p.target_id),
            p.cluster_id.clone(),
            p.plan_id.clone(),
        ];
        rows.push(row.iter().map(|c| sanitize(c, false)).collect());
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(c, cell)| format!("{cell:<w$}", w = widths[c]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    let problems: Vec<String> = plans
        .iter()
        .filter(|p| !p.problems.is_empty())
        .map(|p| {
            sanitize(
                &format!("(!) {}: {}", p.plan_id, p.problems.join("; ")),
                false,
            )
        })
        .collect();
    if !problems.is_empty() {
        out.push('\n');
        out.push_str(&problems.join("\n"));
        out.push('\n');
    }
    out
}
