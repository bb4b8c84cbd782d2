//! Rendering a decision for people (text) and programs (JSON). Rendering only:
//! every judgement was made by the component.

use std::fmt::Write as _;

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::check::blocks;
use crate::component::{
    Decision, Finding, PlanState, PlanType, Severity, TargetType, Verdict, Window,
};
use crate::error::Exit;
use crate::output::sanitize;
use crate::times::{format, human, to_datetime};

/// What was asked, for the report header.
#[derive(Debug, Clone)]
pub struct Request {
    /// Regions the plans came from.
    pub regions: Vec<String>,
    /// The cluster filter, if any.
    pub cluster: Option<String>,
    /// The deploy window.
    pub deploy: Window,
    /// Where the policy came from: `default` or a path.
    pub policy: String,
    /// The policy's rule names, in document order.
    pub rules: Vec<String>,
    /// How far the next-clear-start search looked, in seconds.
    pub horizon_seconds: i64,
}

/// A decision with what was asked and what the flags made of it.
#[derive(Debug, Clone)]
pub struct Report {
    /// What was asked.
    pub request: Request,
    /// The component's answer.
    pub decision: Decision,
    /// The process exit code.
    pub exit: Exit,
    /// `--fail-on-warn` was given.
    pub fail_on_warn: bool,
    /// The `--break-glass` reason, if given.
    pub break_glass: Option<String>,
}

impl Report {
    /// Whether the decision blocks the deploy under the flags (before any break-glass).
    pub fn blocked(&self) -> bool {
        self.decision
            .findings
            .iter()
            .any(|f| blocks(f.severity, self.fail_on_warn))
    }

    /// The findings a break-glass overrode (empty without one).
    pub fn overridden(&self) -> Vec<&Finding> {
        match self.break_glass {
            Some(_) => self
                .decision
                .findings
                .iter()
                .filter(|f| blocks(f.severity, self.fail_on_warn))
                .collect(),
            None => Vec::new(),
        }
    }
}

/// The verdict's lowercase name.
pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Allow => "allow",
        Verdict::Warn => "warn",
        Verdict::Deny => "deny",
    }
}

/// The severity's lowercase name.
pub fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Deny => "deny",
    }
}

/// The API spelling of a plan type.
pub fn plan_type_name(t: &PlanType) -> &str {
    match t {
        PlanType::CveFix => "CVE_FIX",
        PlanType::ContainerdUpgrade => "CONTAINERD_UPGRADE",
        PlanType::ClusterUpgradeMaster => "CLUSTER_UPGRADE_MASTER",
        PlanType::ClusterUpgradeAddon => "CLUSTER_UPGRADE_ADDON",
        PlanType::NodepoolConfig => "NODEPOOL_CONFIG",
        PlanType::KubeletUpgrade => "KUBELET_UPGRADE",
        PlanType::NodepoolUpdateOs => "NODEPOOL_UPDATE_OS",
        PlanType::ImageUpgrade => "IMAGE_UPGRADE",
        PlanType::Other(raw) => raw,
    }
}

/// The API spelling of a plan state.
pub fn plan_state_name(s: &PlanState) -> &str {
    match s {
        PlanState::Scheduled => "Scheduled",
        PlanState::Failed => "Failed",
        PlanState::ValidatingFailed => "ValidatingFailed",
        PlanState::Executing => "Executing",
        PlanState::Canceled => "Canceled",
        PlanState::Executed => "Executed",
        PlanState::Other(raw) => raw,
    }
}

/// The API spelling of a target type.
pub fn target_type_name(t: &TargetType) -> &str {
    match t {
        TargetType::Cluster => "cluster",
        TargetType::Nodepool => "nodepool",
        TargetType::Addon => "addon",
        TargetType::Other(raw) => raw,
    }
}

fn window_json(w: &Window) -> Value {
    json!({ "start": format(&w.start), "end": format(&w.end) })
}

/// One finding as a JSON object (README: `findings[]`).
pub fn finding_json(f: &Finding) -> Value {
    json!({
        "rule": f.rule,
        "severity": severity_name(f.severity),
        "plan_id": f.plan_id,
        "cluster_id": f.cluster_id,
        "region": f.region,
        "plan_type": f.plan_type.as_ref().map(plan_type_name),
        "state": f.state.as_ref().map(plan_state_name),
        "target_type": f.target_type.as_ref().map(target_type_name),
        "target_id": f.target_id,
        "conflict": f.conflict.as_ref().map(window_json),
        "message": f.message,
    })
}

/// The JSON report (schema documented in README.md, `schema_version` 1).
pub fn json_report(report: &Report) -> Value {
    let (req, d) = (&report.request, &report.decision);
    let duration = d_seconds(&req.deploy);
    let break_glass = report.break_glass.as_ref().map(|reason| {
        json!({
            "reason": reason,
            "overridden": report.overridden().into_iter().map(finding_json).collect::<Vec<_>>(),
        })
    });
    json!({
        "schema_version": 1,
        "verdict": verdict_name(d.verdict),
        "exit_code": report.exit as i32,
        "fail_on_warn": report.fail_on_warn,
        "break_glass": break_glass,
        "regions": req.regions,
        "cluster_id": req.cluster,
        "policy": req.policy,
        "deploy": {
            "start": format(&req.deploy.start),
            "end": format(&req.deploy.end),
            "duration_seconds": duration,
        },
        "plans_considered": d.plans_considered,
        "findings": d.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "next_clear_start": d.next_clear_start.as_ref().map(format),
        "horizon_seconds": req.horizon_seconds,
    })
}

/// The length of a window in seconds.
pub fn d_seconds(w: &Window) -> i64 {
    w.end.epoch_seconds - w.start.epoch_seconds
}

/// Colours for the text report; all empty when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    red: &'static str,
    yellow: &'static str,
    green: &'static str,
    bold: &'static str,
    dim: &'static str,
    reset: &'static str,
}

impl Palette {
    /// ANSI colours on, or everything plain.
    pub fn new(colour: bool) -> Self {
        if colour {
            Palette {
                red: "\x1b[1;31m",
                yellow: "\x1b[1;33m",
                green: "\x1b[1;32m",
                bold: "\x1b[1m",
                dim: "\x1b[2m",
                reset: "\x1b[0m",
            }
        } else {
            Palette {
                red: "",
                yellow: "",
                green: "",
                bold: "",
                dim: "",
                reset: "",
            }
        }
    }

    fn verdict(&self, v: Verdict) -> &'static str {
        match v {
            Verdict::Allow => self.green,
            Verdict::Warn => self.yellow,
            Verdict::Deny => self.red,
        }
    }
}

/// The text report: verdict first, then a table of findings, then the next clear start.
pub fn text_report(report: &Report, p: Palette) -> String {
    let (req, d) = (&report.request, &report.decision);
    let mut out = String::new();
    let mut verdict = verdict_name(d.verdict).to_uppercase();
    if report.break_glass.is_some() && report.blocked() {
        verdict.push_str(" (OVERRIDDEN BY BREAK-GLASS)");
    } else if report.fail_on_warn && d.verdict == Verdict::Warn {
        verdict.push_str(" (blocking: --fail-on-warn)");
    }
    let scope = match &req.cluster {
        Some(c) => format!("cluster {c} in {}", req.regions.join(", ")),
        None => format!("all clusters in {}", req.regions.join(", ")),
    };
    let duration = human(TimeDelta::seconds(d_seconds(&req.deploy)));
    let _ = writeln!(
        out,
        "{}{verdict}{}  deploy to {scope}, {} to {} ({duration})",
        p.verdict(d.verdict),
        p.reset,
        format(&req.deploy.start),
        format(&req.deploy.end),
    );
    let plural = |n: usize, w: &str| {
        if n == 1 {
            format!("{n} {w}")
        } else {
            format!("{n} {w}s")
        }
    };
    let _ = writeln!(
        out,
        "{}{} considered, {}, policy: {}{}",
        p.dim,
        plural(d.plans_considered as usize, "plan"),
        plural(d.findings.len(), "finding"),
        req.policy,
        p.reset
    );

    if !d.findings.is_empty() {
        let region_wide = req.cluster.is_none();
        let multi_region = req.regions.len() > 1;
        let mut rows: Vec<Vec<String>> = vec![{
            let mut h = vec!["SEVERITY", "RULE", "PLAN", "TYPE", "STATE"];
            if multi_region {
                h.push("REGION");
            }
            if region_wide {
                h.push("CLUSTER");
            }
            h.push("CONFLICT");
            h.into_iter().map(String::from).collect()
        }];
        for f in &d.findings {
            let mut row = vec![
                severity_name(f.severity).to_string(),
                f.rule.clone(),
                f.plan_id.clone().unwrap_or_else(|| "-".into()),
                f.plan_type.as_ref().map_or("-", plan_type_name).to_string(),
                f.state.as_ref().map_or("-", plan_state_name).to_string(),
            ];
            for cell in &mut row {
                *cell = sanitize(cell, false);
            }
            if multi_region {
                row.push(sanitize(f.region.as_deref().unwrap_or("-"), false));
            }
            if region_wide {
                row.push(sanitize(f.cluster_id.as_deref().unwrap_or("-"), false));
            }
            row.push(f.conflict.as_ref().map_or("-".into(), |w| {
                format!("{} .. {}", format(&w.start), format(&w.end))
            }));
            rows.push(row);
        }
        let widths: Vec<usize> = (0..rows[0].len())
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        out.push('\n');
        for (i, row) in rows.iter().enumerate() {
            let mut line = String::from("  ");
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                let (pre, post) = match (i, c) {
                    (0, _) => (p.bold, p.reset),
                    (_, 0) => match d.findings[i - 1].severity {
                        Severity::Deny => (p.red, p.reset),
                        Severity::Warn => (p.yellow, p.reset),
                        Severity::Info => ("", ""),
                    },
                    _ => ("", ""),
                };
                line.push_str(pre);
                line.push_str(cell);
                line.push_str(post);
                if c + 1 < row.len() {
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push('\n');
        for f in &d.findings {
            let _ = writeln!(
                out,
                "  - {}: {}",
                sanitize(&f.rule, false),
                sanitize(&f.message, false)
            );
        }
    }

    if let Some(reason) = &report.break_glass {
        let overridden: Vec<String> = report
            .overridden()
            .iter()
            .map(|f| match &f.plan_id {
                Some(id) => sanitize(&format!("{} ({id})", f.rule), false),
                None => sanitize(&f.rule, false),
            })
            .collect();
        let _ = writeln!(
            out,
            "\n{}break-glass:{} {}",
            p.red,
            p.reset,
            sanitize(reason, false)
        );
        let _ = writeln!(
            out,
            "overridden: {}",
            if overridden.is_empty() {
                "nothing (the deploy was not blocked)".to_string()
            } else {
                overridden.join(", ")
            }
        );
    }

    out.push('\n');
    match &d.next_clear_start {
        Some(t)
            if t.epoch_seconds == req.deploy.start.epoch_seconds && d.verdict != Verdict::Deny =>
        {
            let _ = writeln!(out, "next clear start: {} (the requested start)", format(t));
        }
        Some(t) => {
            let wait = to_datetime(t)
                .zip(to_datetime(&req.deploy.start))
                .map(|(a, b)| human(a.signed_duration_since(b)))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "next clear start: {}{}{} ({wait} after the requested start)",
                p.bold,
                format(t),
                p.reset
            );
        }
        None => {
            let _ = writeln!(
                out,
                "next clear start: none within {} of the requested start",
                human(TimeDelta::seconds(req.horizon_seconds))
            );
        }
    }
    out
}
