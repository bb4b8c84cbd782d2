//! Evaluating plans against a compiled policy: findings, verdict, next clear start.
//!
//! Intervals are half-open: `[a, b)` and `[b, c)` do not overlap.
//!
//! Recurring rules (see [`crate::recurring`] for how occurrences are placed):
//! - a `freeze` rule gives one finding when the deploy window overlaps any of its
//!   occurrences: `conflict` is the earliest overlapping occurrence, written with
//!   the zone's offset at its start, and it clears at the first start from which a
//!   deploy of the same length overlaps none of its occurrences;
//! - when a policy has `allow-window` rules, a deploy window that does not lie
//!   inside one occurrence of one of them gets one deny finding named
//!   [`ALLOW_WINDOW`]; it clears at the earliest occurrence start, at or after the
//!   deploy start and within the horizon, of any allow window long enough for the
//!   deploy. A freeze (or any other deny) still denies inside an allow window.

use chrono::{DateTime, TimeDelta, Utc};

use crate::bindings::exports::plangate::gate::types::{
    Context, Decision, Finding, Plan, PlanState, Severity, Verdict, Window,
};
use crate::parse::{plan_state_name, plan_type_name, target_type_name};
use crate::policy::{Kind, Policy, Rule, utc};
use crate::recurring::{AllowCheck, FreezeCheck, LocalStart, Occurrence};
use crate::time::{self, to_utc, with_offset};

/// The rule name of findings about plans the API described badly.
pub const INVALID_PLAN: &str = "invalid-plan";
/// The rule name of the finding for a context that cannot be evaluated.
pub const INVALID_CONTEXT: &str = "invalid-context";
/// The rule name of the finding for a deploy outside every allow window.
pub const ALLOW_WINDOW: &str = "allow-window";
/// Upper bound on re-evaluations while searching for the next clear start.
const MAX_SEARCH_STEPS: usize = 100_000;

/// A finding plus the earliest deploy start at which its cause no longer applies
/// (`None`: not before the plan ends, which cannot be known).
struct Hit {
    finding: Finding,
    clears_at: Option<DateTime<Utc>>,
}

/// Findings a rule plugin returned (the host ran it), to merge into a decision.
#[derive(Debug, Clone)]
pub struct External {
    /// The plugin's name.
    pub plugin: String,
    /// The highest severity its findings may have.
    pub cap: Severity,
    /// What it returned for the requested deploy window.
    pub findings: Vec<Finding>,
}

/// A plugin finding as a hit, with its conflict window as instants (if it has one):
/// later in the next-clear-start search it applies only while the deploy overlaps it.
struct ExternalHit {
    hit: Hit,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Evaluates `plans` against `policy` for the deploy described by `ctx`.
pub fn evaluate(policy: &Policy, plans: &[Plan], ctx: &Context) -> Decision {
    evaluate_with(policy, plans, ctx, &[])
}

/// Evaluates like [`evaluate`], merging plugin findings as if a rule had made them.
pub fn evaluate_with(
    policy: &Policy,
    plans: &[Plan],
    ctx: &Context,
    external: &[External],
) -> Decision {
    let scope: Vec<&Plan> = plans
        .iter()
        .filter(|p| ctx.cluster_id.as_ref().is_none_or(|c| &p.cluster_id == c))
        .collect();
    let plans_considered = u32::try_from(scope.len()).unwrap_or(u32::MAX);

    let (Some(start), Some(end)) = (to_utc(&ctx.deploy.start), to_utc(&ctx.deploy.end)) else {
        return invalid_context(
            "the deploy window has an out-of-range timestamp",
            plans_considered,
        );
    };
    if end <= start {
        return invalid_context(
            "the deploy window must end after it starts",
            plans_considered,
        );
    }
    let duration = end - start;
    // Searches for allow-window occurrences stop here.
    let limit = TimeDelta::try_seconds(ctx.horizon_seconds.max(0))
        .and_then(|h| start.checked_add_signed(h))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);

    let external = external_hits(policy, external);
    let mut hits = hits_at(policy, &scope, start, duration, limit);
    hits.extend(external.iter().map(|e| Hit {
        finding: e.hit.finding.clone(),
        clears_at: e.hit.clears_at,
    }));
    hits.sort_by(|a, b| {
        rank(b.finding.severity)
            .cmp(&rank(a.finding.severity))
            .then_with(|| conflict_start(&a.finding).cmp(&conflict_start(&b.finding)))
    });
    let verdict = verdict_of(hits.iter().map(|h| h.finding.severity));
    let next_clear_start = next_clear_start(policy, &scope, start, duration, &hits, &external, ctx)
        .map(|t| with_offset(t, ctx.deploy.start.offset_minutes));
    Decision {
        verdict,
        findings: hits.into_iter().map(|h| h.finding).collect(),
        next_clear_start,
        plans_considered,
    }
}

fn rank(s: Severity) -> u8 {
    match s {
        Severity::Info => 0,
        Severity::Warn => 1,
        Severity::Deny => 2,
    }
}

fn conflict_start(f: &Finding) -> i64 {
    f.conflict
        .as_ref()
        .map_or(i64::MIN, |w| w.start.epoch_seconds)
}

/// deny if any deny, warn if any warn, else allow.
fn verdict_of(severities: impl Iterator<Item = Severity>) -> Verdict {
    match severities.map(rank).max() {
        Some(2) => Verdict::Deny,
        Some(1) => Verdict::Warn,
        _ => Verdict::Allow,
    }
}

fn invalid_context(message: &str, plans_considered: u32) -> Decision {
    Decision {
        verdict: Verdict::Deny,
        findings: vec![Finding {
            rule: INVALID_CONTEXT.into(),
            severity: Severity::Deny,
            plan_id: None,
            cluster_id: None,
            region: None,
            plan_type: None,
            state: None,
            target_type: None,
            target_id: None,
            conflict: None,
            message: message.into(),
        }],
        next_clear_start: None,
        plans_considered,
    }
}

/// The earliest start `>= start` with no deny hit, within the horizon.
///
/// At a blocked start `t`, every deny hit stays until its `clears_at`, so no start
/// before the latest of them can be clear: jump there and evaluate again.
fn next_clear_start(
    policy: &Policy,
    scope: &[&Plan],
    start: DateTime<Utc>,
    duration: TimeDelta,
    first: &[Hit],
    external: &[ExternalHit],
    ctx: &Context,
) -> Option<DateTime<Utc>> {
    let horizon = start
        .checked_add_signed(TimeDelta::try_seconds(ctx.horizon_seconds.max(0))?)
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let mut t = start;
    let mut owned;
    let mut hits = first;
    for _ in 0..MAX_SEARCH_STEPS {
        let mut next = None::<DateTime<Utc>>;
        for h in hits.iter().filter(|h| h.finding.severity == Severity::Deny) {
            let c = h.clears_at?;
            next = Some(next.map_or(c, |n| n.max(c)));
        }
        let Some(next) = next else { return Some(t) };
        // Always move forward, even if a rule reports a clear time that is not later.
        t = next.max(t.checked_add_signed(TimeDelta::seconds(1))?);
        if t > horizon || t.checked_add_signed(duration).is_none() {
            return None;
        }
        owned = hits_at(policy, scope, t, duration, horizon);
        // A plugin finding applies later only while the deploy overlaps its window.
        let end = t.checked_add_signed(duration)?;
        for ext in external {
            if ext.window.is_none_or(|(ws, we)| t < we && ws < end) {
                owned.push(Hit {
                    finding: ext.hit.finding.clone(),
                    clears_at: ext.hit.clears_at,
                });
            }
        }
        hits = &owned;
    }
    None
}

/// Plugin findings as hits: the rule is prefixed with the plugin's name, the severity
/// capped by the plugin's cap and by the policy's plugin rule of that name, if any.
/// Each comes with its conflict window (as instants), if it has one.
fn external_hits(policy: &Policy, external: &[External]) -> Vec<ExternalHit> {
    let mut out = Vec::new();
    for ext in external {
        let policy_cap = policy
            .rules
            .iter()
            .find(|r| r.name == ext.plugin && matches!(r.kind, Kind::Plugin { .. }))
            .map(|r| r.severity);
        for f in &ext.findings {
            let mut finding = f.clone();
            finding.rule = if f.rule.is_empty() || f.rule == ext.plugin {
                ext.plugin.clone()
            } else {
                format!("{}/{}", ext.plugin, f.rule)
            };
            let mut severity = f.severity;
            for cap in std::iter::once(ext.cap).chain(policy_cap) {
                if rank(cap) < rank(severity) {
                    severity = cap;
                }
            }
            finding.severity = severity;
            let window = f
                .conflict
                .as_ref()
                .and_then(|w| Some((to_utc(&w.start)?, to_utc(&w.end)?)));
            out.push(ExternalHit {
                hit: Hit {
                    finding,
                    clears_at: window.map(|(_, end)| end),
                },
                window,
            });
        }
    }
    out
}

/// Every finding for a deploy of `duration` starting at `start`; searches for the
/// next allow-window occurrence stop at `limit`.
fn hits_at(
    policy: &Policy,
    scope: &[&Plan],
    start: DateTime<Utc>,
    duration: TimeDelta,
    limit: DateTime<Utc>,
) -> Vec<Hit> {
    let end = start + duration;
    let mut hits = Vec::new();
    for plan in scope.iter().filter(|p| !p.problems.is_empty()) {
        hits.push(Hit {
            finding: plan_finding(
                INVALID_PLAN,
                Severity::Deny,
                plan,
                None,
                format!(
                    "plan {} cannot be placed in time ({}); denying until the API data is fixed",
                    plan.plan_id,
                    plan.problems.join("; ")
                ),
            ),
            clears_at: None,
        });
    }
    for rule in &policy.rules {
        rule_hits(rule, scope, start, end, limit, &mut hits);
    }
    hits.extend(allow_window_hit(policy, start, end, limit));
    hits
}

/// The deny hit for a deploy window outside every allow window, if the policy has
/// allow windows and none holds it.
fn allow_window_hit(
    policy: &Policy,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: DateTime<Utc>,
) -> Option<Hit> {
    let allows: Vec<_> = policy
        .rules
        .iter()
        .filter_map(|r| match &r.kind {
            Kind::AllowWindow(rec) => Some((r, rec)),
            _ => None,
        })
        .collect();
    if allows.is_empty() {
        return None;
    }
    let mut next: Option<(&Rule, Occurrence)> = None;
    for (rule, rec) in &allows {
        match rec.check_allow(start, end, limit) {
            AllowCheck::Inside(_) => return None,
            AllowCheck::Outside { next: Some(o) } => {
                if next.as_ref().is_none_or(|(_, n)| o.start < n.start) {
                    next = Some((rule, o));
                }
            }
            AllowCheck::Outside { next: None } => {}
        }
    }
    let names = allows
        .iter()
        .map(|(r, rec)| format!("{} ({})", r.name, rec.describe()))
        .collect::<Vec<_>>()
        .join(", ");
    let duration = end - start;
    let then = match &next {
        Some((rule, o)) => format!(
            "; the next one that can hold it starts {} ({})",
            format_at(o.start, o.offset_minutes),
            rule.name
        ),
        None if allows.iter().all(|(_, rec)| rec.duration < duration) => {
            format!("; none is long enough for a {} deploy", human(duration))
        }
        None => "; none that can hold it starts within the search horizon".into(),
    };
    Some(Hit {
        finding: Finding {
            rule: ALLOW_WINDOW.into(),
            severity: Severity::Deny,
            plan_id: None,
            cluster_id: None,
            region: None,
            plan_type: None,
            state: None,
            target_type: None,
            target_id: None,
            conflict: None,
            message: format!(
                "the deploy window is not inside one occurrence of an allow window: {names}{then}"
            ),
        },
        clears_at: next.map(|(_, o)| o.start),
    })
}

/// An instant in RFC 3339 with the given offset.
fn format_at(instant: DateTime<Utc>, offset_minutes: i16) -> String {
    time::format(&with_offset(instant, offset_minutes))
}

/// A finding that involves no plan.
fn rule_finding(rule: &Rule, conflict: Option<Window>, message: String) -> Finding {
    Finding {
        rule: rule.name.clone(),
        severity: rule.severity,
        plan_id: None,
        cluster_id: None,
        region: None,
        plan_type: None,
        state: None,
        target_type: None,
        target_id: None,
        conflict,
        message,
    }
}

fn rule_hits(
    rule: &Rule,
    scope: &[&Plan],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    limit: DateTime<Utc>,
    out: &mut Vec<Hit>,
) {
    match &rule.kind {
        Kind::PlanWindow {
            filter,
            margin_before,
            margin_after,
        } => {
            for plan in scope
                .iter()
                .filter(|p| p.problems.is_empty() && filter.matches(p))
            {
                let (Some(ps), Some(pe)) = (&plan.start_time, &plan.end_time) else {
                    // An active plan we cannot place could be anywhere: fail closed.
                    out.push(Hit {
                        finding: plan_finding(
                            &rule.name,
                            rule.severity,
                            plan,
                            None,
                            format!(
                                "{} plan {} ({}) has no {}; it cannot be ruled out",
                                plan_type_name(&plan.plan_type),
                                plan.plan_id,
                                plan_state_name(&plan.state),
                                if plan.start_time.is_none() {
                                    "start_time"
                                } else {
                                    "end_time"
                                }
                            ),
                        ),
                        clears_at: None,
                    });
                    continue;
                };
                let cs = utc(ps) - *margin_before;
                let ce = utc(pe) + *margin_after;
                if start < ce && cs < end {
                    let conflict = Window {
                        start: with_offset(cs, ps.offset_minutes),
                        end: with_offset(ce, ps.offset_minutes),
                    };
                    let margins = if margin_before.is_zero() && margin_after.is_zero() {
                        String::new()
                    } else {
                        format!(
                            " (with margins -{}/+{})",
                            human(*margin_before),
                            human(*margin_after)
                        )
                    };
                    let unknown = match &plan.state {
                        PlanState::Other(raw) => {
                            format!("; its state {raw:?} is unknown and treated as active")
                        }
                        _ => String::new(),
                    };
                    out.push(Hit {
                        finding: plan_finding(
                            &rule.name,
                            rule.severity,
                            plan,
                            Some(conflict),
                            format!(
                                "{} plan {} ({}){} runs {} to {}{}, overlapping the deploy window{}",
                                plan_type_name(&plan.plan_type),
                                plan.plan_id,
                                plan_state_name(&plan.state),
                                target_desc(plan),
                                time::format(ps),
                                time::format(pe),
                                margins,
                                unknown
                            ),
                        ),
                        clears_at: Some(ce),
                    });
                }
            }
        }
        Kind::Executing { filter } => {
            for plan in scope.iter().filter(|p| filter.matches(p)) {
                let conflict = match (&plan.start_time, &plan.end_time) {
                    (Some(s), Some(e)) => Some(Window { start: *s, end: *e }),
                    _ => None,
                };
                out.push(Hit {
                    finding: plan_finding(
                        &rule.name,
                        rule.severity,
                        plan,
                        conflict,
                        match &plan.state {
                            PlanState::Other(raw) => format!(
                                "{} plan {}{} is in state {raw:?}, which this version does not know; \
                                 it may be running, so deploys wait until its state is known",
                                plan_type_name(&plan.plan_type),
                                plan.plan_id,
                                target_desc(plan)
                            ),
                            _ => format!(
                                "{} plan {}{} is executing now; deploys wait until it finishes, whatever its scheduled end",
                                plan_type_name(&plan.plan_type),
                                plan.plan_id,
                                target_desc(plan)
                            ),
                        },
                    ),
                    clears_at: None,
                });
            }
        }
        Kind::RecentFailure { filter, lookback } => {
            for plan in scope.iter().filter(|p| filter.matches(p)) {
                let Some(pe) = &plan.end_time else { continue };
                let failed_end = utc(pe);
                if failed_end + *lookback > start {
                    let reason = plan
                        .state_reason
                        .as_ref()
                        .map(|r| format!(": {} {}", r.code, r.message))
                        .unwrap_or_default();
                    out.push(Hit {
                        finding: plan_finding(
                            &rule.name,
                            rule.severity,
                            plan,
                            None,
                            format!(
                                "{} plan {} ended {} at {}{} (within {} before the deploy)",
                                plan_type_name(&plan.plan_type),
                                plan.plan_id,
                                plan_state_name(&plan.state),
                                time::format(pe),
                                reason,
                                human(*lookback)
                            ),
                        ),
                        clears_at: Some(failed_end + *lookback),
                    });
                }
            }
        }
        // The host runs plugins; their findings arrive through `evaluate_with`.
        Kind::Plugin { .. } => {}
        Kind::Exclusion { start: xs, end: xe } => {
            if start < utc(xe) && utc(xs) < end {
                out.push(Hit {
                    finding: Finding {
                        rule: rule.name.clone(),
                        severity: rule.severity,
                        plan_id: None,
                        cluster_id: None,
                        region: None,
                        plan_type: None,
                        state: None,
                        target_type: None,
                        target_id: None,
                        conflict: Some(Window {
                            start: *xs,
                            end: *xe,
                        }),
                        message: format!(
                            "the deploy window overlaps the exclusion period {} to {}",
                            time::format(xs),
                            time::format(xe)
                        ),
                    },
                    clears_at: Some(utc(xe)),
                });
            }
        }
        Kind::Freeze(rec) => match rec.check_freeze(start, end, limit) {
            FreezeCheck::Clear => {}
            FreezeCheck::Overlaps {
                first,
                count,
                clears_at,
            } => {
                let more = match count {
                    0 | 1 => String::new(),
                    2 => "; 1 more occurrence overlaps it too".into(),
                    n => format!("; {} more occurrences overlap it too", n - 1),
                };
                let local = first.local.format("%Y-%m-%d %H:%M");
                let dst = match first.local_start {
                    LocalStart::Unique => String::new(),
                    LocalStart::Skipped => format!(
                        "; local {local} does not exist (DST gap), so it starts when the gap ends"
                    ),
                    LocalStart::Repeated => {
                        format!("; local {local} happens twice (DST overlap), so it covers both")
                    }
                };
                out.push(Hit {
                    finding: rule_finding(
                        rule,
                        Some(Window {
                            start: with_offset(first.start, first.offset_minutes),
                            end: with_offset(first.end, first.offset_minutes),
                        }),
                        format!(
                            "the deploy window overlaps the {} freeze {} to {} ({}){more}{dst}",
                            rule.name,
                            format_at(first.start, first.offset_minutes),
                            format_at(first.end, first.offset_minutes),
                            rec.describe()
                        ),
                    ),
                    clears_at,
                });
            }
            FreezeCheck::Unknown(why) => out.push(Hit {
                finding: rule_finding(
                    rule,
                    None,
                    format!("{why} ({}); denying to be safe", rec.describe()),
                ),
                clears_at: None,
            }),
        },
        // Judged for all allow windows together, in `allow_window_hit`.
        Kind::AllowWindow(_) => {}
    }
}

/// ` on nodepool np-1`, or nothing when the API gave no target.
fn target_desc(plan: &Plan) -> String {
    let ty = target_type_name(&plan.target_type);
    match (ty.is_empty(), plan.target_id.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" on a {ty}"),
        (true, false) => format!(" on {}", plan.target_id),
        (false, false) => format!(" on {ty} {}", plan.target_id),
    }
}

/// A finding about one plan, carrying the plan's identity.
fn plan_finding(
    rule: &str,
    severity: Severity,
    plan: &Plan,
    conflict: Option<Window>,
    message: String,
) -> Finding {
    Finding {
        rule: rule.to_string(),
        severity,
        plan_id: Some(plan.plan_id.clone()),
        cluster_id: Some(plan.cluster_id.clone()),
        region: plan.region.clone(),
        plan_type: Some(plan.plan_type.clone()),
        state: Some(plan.state.clone()),
        target_type: Some(plan.target_type.clone()),
        target_id: Some(plan.target_id.clone()),
        conflict,
        message,
    }
}

/// `1h30m`-style rendering of a duration.
pub fn human(d: TimeDelta) -> String {
    let secs = d.num_seconds();
    if secs == 0 {
        return "0s".into();
    }
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_response;
    use crate::policy::{DEFAULT_POLICY, compile};
    use crate::time::parse_rfc3339;

    const SAMPLE: &str = include_str!("../../tests/fixtures/seed-sample-response.json");
    const MIXED: &str = include_str!("../../tests/fixtures/region-mixed-response.json");

    fn ctx(at: &str, minutes: i64, cluster: Option<&str>) -> Context {
        let start = parse_rfc3339(at).unwrap();
        let end = with_offset(
            to_utc(&start).unwrap() + TimeDelta::minutes(minutes),
            start.offset_minutes,
        );
        Context {
            deploy: Window { start, end },
            cluster_id: cluster.map(str::to_string),
            horizon_seconds: 14 * 24 * 3600,
        }
    }

    fn run(body: &str, at: &str, minutes: i64, cluster: Option<&str>) -> Decision {
        let policy = compile(DEFAULT_POLICY).unwrap();
        evaluate(
            &policy,
            &parse_response(body).unwrap(),
            &ctx(at, minutes, cluster),
        )
    }

    fn rules(d: &Decision) -> Vec<(String, String)> {
        d.findings
            .iter()
            .map(|f| (f.rule.clone(), f.plan_id.clone().unwrap_or_default()))
            .collect()
    }

    fn next(d: &Decision) -> Option<String> {
        d.next_clear_start.as_ref().map(time::format)
    }

    /// One plan of the given type/state/window, on cluster c1.
    fn plan_body(ty: &str, state: &str, start: &str, end: &str) -> String {
        format!(
            r#"{{"plans":[{{"plan_id":"P-1","cluster_id":"c1","state":"{state}","type":"{ty}",
            "target_type":"cluster","target_id":"c1","start_time":"{start}","end_time":"{end}"}}]}}"#
        )
    }

    const MASTER: &str = "CLUSTER_UPGRADE_MASTER";

    #[test]
    fn sample_is_denied_by_the_master_upgrade_with_margins() {
        let d = run(SAMPLE, "2023-11-22T15:00:00+08:00", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            rules(&d),
            [("master-upgrade".into(), "P-655c9c127e0e6603ef00****".into())]
        );
        let w = d.findings[0].conflict.as_ref().unwrap();
        assert_eq!(time::format(&w.start), "2023-11-22T14:48:00+08:00");
        assert_eq!(time::format(&w.end), "2023-11-22T18:30:00+08:00");
        assert_eq!(next(&d).as_deref(), Some("2023-11-22T18:30:00+08:00"));
        assert_eq!(d.plans_considered, 1);
    }

    #[test]
    fn touching_the_margin_on_either_side_does_not_overlap() {
        let body = plan_body(
            MASTER,
            "Scheduled",
            "2026-12-03T12:00:00Z",
            "2026-12-03T14:00:00Z",
        );
        // Deploy [10:30, 11:30) ends exactly where [11:30, 14:30) starts.
        let d = run(&body, "2026-12-03T10:30:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Allow);
        assert!(d.findings.is_empty());
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T10:30:00+00:00"));
        // Deploy starting exactly at 14:30 touches the end.
        let d = run(&body, "2026-12-03T14:30:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Allow);
    }

    #[test]
    fn one_second_of_overlap_on_either_side_denies() {
        let body = plan_body(
            MASTER,
            "Scheduled",
            "2026-12-03T12:00:00Z",
            "2026-12-03T14:00:00Z",
        );
        let d = run(&body, "2026-12-03T10:30:01Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T14:30:00+00:00"));
        let d = run(&body, "2026-12-03T14:29:59Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T14:30:00+00:00"));
    }

    #[test]
    fn other_types_warn_without_margins() {
        let body = plan_body(
            "CVE_FIX",
            "Scheduled",
            "2026-12-03T12:00:00Z",
            "2026-12-03T14:00:00Z",
        );
        // Within the 30 minutes a master upgrade would get, but a CVE fix has none.
        assert_eq!(
            run(&body, "2026-12-03T11:00:00Z", 60, None).verdict,
            Verdict::Allow
        );
        assert_eq!(
            run(&body, "2026-12-03T14:00:00Z", 60, None).verdict,
            Verdict::Allow
        );
        let d = run(&body, "2026-12-03T13:59:59Z", 60, None);
        assert_eq!(d.verdict, Verdict::Warn);
        assert_eq!(rules(&d), [("maintenance".into(), "P-1".into())]);
        // A warn does not block, so the next clear start is the requested start.
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T13:59:59+00:00"));
    }

    #[test]
    fn unknown_types_warn_and_unknown_states_count_as_active() {
        let body = plan_body(
            "RUNTIME_MIGRATION",
            "Scheduled",
            "2026-12-03T12:00:00Z",
            "2026-12-03T14:00:00Z",
        );
        assert_eq!(
            run(&body, "2026-12-03T13:00:00Z", 60, None).verdict,
            Verdict::Warn
        );
        let body = plan_body(
            MASTER,
            "Paused",
            "2026-12-03T12:00:00Z",
            "2026-12-03T14:00:00Z",
        );
        let d = run(&body, "2026-12-03T13:00:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert!(
            d.findings[0].message.contains("\"Paused\" is unknown"),
            "{}",
            d.findings[0].message
        );
    }

    #[test]
    fn terminal_states_never_block() {
        for state in ["Canceled", "Executed", "Failed", "ValidatingFailed"] {
            let body = plan_body(
                MASTER,
                state,
                "2026-12-03T12:00:00Z",
                "2026-12-03T14:00:00Z",
            );
            let d = run(&body, "2026-12-03T13:00:00Z", 60, None);
            assert_eq!(d.verdict, Verdict::Allow, "{state}");
            assert!(d.findings.is_empty(), "{state}");
        }
    }

    #[test]
    fn executing_long_past_its_end_still_denies_and_never_clears() {
        let body = plan_body(
            "KUBELET_UPGRADE",
            "Executing",
            "2026-11-01T00:00:00Z",
            "2026-11-01T02:00:00Z",
        );
        let d = run(&body, "2026-12-03T13:00:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(rules(&d), [("executing".into(), "P-1".into())]);
        assert_eq!(d.next_clear_start, None);
    }

    #[test]
    fn mixed_region_cluster_filter_and_region_wide() {
        // Cluster c8f3...: master upgrade 14:00-17:00+08 (Scheduled) and an Executing CVE fix.
        let c8 = "c8f3a1b2c3d4e5f60718293a4b5c6d7e8";
        let d = run(MIXED, "2026-12-03T10:00:00+08:00", 60, Some(c8));
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            rules(&d),
            [("executing".into(), "P-6750a1c2e3f4a5b6c7d80003".into())]
        );
        assert_eq!(d.next_clear_start, None);
        assert_eq!(d.plans_considered, 4);

        // Cluster c123...: canceled master upgrade, failed/executed plans, addon upgrade 19-20.
        let c1 = "c1234567890abcdef1234567890abcdef";
        let d = run(MIXED, "2026-12-03T16:00:00+08:00", 60, Some(c1));
        assert_eq!(d.verdict, Verdict::Allow);
        assert_eq!(d.plans_considered, 4);
        let d = run(MIXED, "2026-12-03T18:30:00+08:00", 60, Some(c1));
        assert_eq!(d.verdict, Verdict::Warn);
        assert_eq!(
            rules(&d),
            [("maintenance".into(), "P-6750a1c2e3f4a5b6c7d80006".into())]
        );

        // Region-wide sees every cluster's plans.
        let d = run(MIXED, "2026-12-03T14:30:00+08:00", 60, None);
        assert_eq!(d.plans_considered, 8);
        let mut names = rules(&d);
        names.sort();
        assert_eq!(
            names,
            [
                ("executing".into(), "P-6750a1c2e3f4a5b6c7d80003".into()),
                ("master-upgrade".into(), "P-6750a1c2e3f4a5b6c7d80001".into()),
            ]
        );
    }

    #[test]
    fn unknown_cluster_has_no_plans_and_is_allowed() {
        let d = run(MIXED, "2026-12-03T10:00:00+08:00", 60, Some("c-none"));
        assert_eq!(d.verdict, Verdict::Allow);
        assert_eq!(d.plans_considered, 0);
    }

    #[test]
    fn next_clear_start_chains_through_adjacent_plans() {
        let body = r#"{"plans":[
          {"plan_id":"A","cluster_id":"c1","state":"Scheduled","type":"CLUSTER_UPGRADE_MASTER","start_time":"2026-12-03T12:00:00Z","end_time":"2026-12-03T13:00:00Z"},
          {"plan_id":"B","cluster_id":"c1","state":"Scheduled","type":"CLUSTER_UPGRADE_MASTER","start_time":"2026-12-03T14:00:00Z","end_time":"2026-12-03T15:00:00Z"}]}"#;
        // A clears at 13:30, but [13:30, 14:30) hits B's margin [13:30, 15:30).
        let d = run(body, "2026-12-03T12:00:00Z", 60, None);
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T15:30:00+00:00"));
        // A 30-minute deploy fits nowhere between A and B either: [13:30,14:00) touches B's margin start.
        let d = run(body, "2026-12-03T12:00:00Z", 30, None);
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T15:30:00+00:00"));
    }

    #[test]
    fn next_clear_start_beyond_the_horizon_is_none() {
        let body = plan_body(
            MASTER,
            "Scheduled",
            "2026-12-03T12:00:00Z",
            "2026-12-30T12:00:00Z",
        );
        let d = run(&body, "2026-12-03T12:00:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(d.next_clear_start, None);
    }

    #[test]
    fn plan_problems_deny_naming_the_plan() {
        let body = r#"{"plans":[{"plan_id":"P-bad","cluster_id":"c1","state":"Scheduled","type":"CVE_FIX",
            "start_time":"2026-12-03T12:00:00","end_time":"2026-12-03T13:00:00Z"}]}"#;
        let d = run(body, "2027-01-01T00:00:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(rules(&d), [("invalid-plan".into(), "P-bad".into())]);
        assert!(
            d.findings[0].message.contains("no UTC offset"),
            "{}",
            d.findings[0].message
        );
        assert_eq!(d.next_clear_start, None);
        // ... but only for the cluster it belongs to.
        let d = run(body, "2027-01-01T00:00:00Z", 60, Some("c2"));
        assert_eq!(d.verdict, Verdict::Allow);
    }

    #[test]
    fn active_plans_without_times_fail_closed() {
        let body = r#"{"plans":[{"plan_id":"P-x","cluster_id":"c1","state":"Scheduled","type":"CLUSTER_UPGRADE_MASTER","start_time":"2026-12-03T12:00:00Z"}]}"#;
        let d = run(body, "2027-01-01T00:00:00Z", 60, None);
        assert_eq!(d.verdict, Verdict::Deny);
        assert!(d.findings[0].message.contains("has no end_time"));
    }

    #[test]
    fn exclusions_and_recent_failures() {
        let policy = compile(
            r#"version = 1
[[rule]]
kind = "exclusion"
name = "launch-day"
start = "2026-12-24T00:00:00+08:00"
end = "2026-12-27T00:00:00+08:00"
[[rule]]
kind = "recent-failure"
lookback = "24h"
"#,
        )
        .unwrap();
        let d = evaluate(&policy, &[], &ctx("2026-12-26T23:00:00+08:00", 60, None));
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(d.findings[0].rule, "launch-day");
        assert_eq!(next(&d).as_deref(), Some("2026-12-27T00:00:00+08:00"));
        let d = evaluate(&policy, &[], &ctx("2026-12-23T23:00:00+08:00", 60, None));
        assert_eq!(d.verdict, Verdict::Allow, "touching the exclusion start");

        let body = plan_body(
            "KUBELET_UPGRADE",
            "Failed",
            "2026-12-02T10:00:00Z",
            "2026-12-02T12:00:00Z",
        );
        let plans = parse_response(&body).unwrap();
        let d = evaluate(&policy, &plans, &ctx("2026-12-03T11:59:59Z", 60, None));
        assert_eq!(d.verdict, Verdict::Warn);
        assert_eq!(d.findings[0].rule, "recent-failure");
        let d = evaluate(&policy, &plans, &ctx("2026-12-03T12:00:00Z", 60, None));
        assert_eq!(d.verdict, Verdict::Allow);
    }

    #[test]
    fn invalid_contexts_deny() {
        let policy = compile(DEFAULT_POLICY).unwrap();
        let d = evaluate(&policy, &[], &ctx("2026-12-03T12:00:00Z", 0, None));
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(d.findings[0].rule, INVALID_CONTEXT);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human(TimeDelta::minutes(30)), "30m");
        assert_eq!(human(TimeDelta::minutes(90)), "1h30m");
        assert_eq!(human(TimeDelta::seconds(3601)), "1h1s");
    }

    // ---- recurring rules: freeze and allow-window ----

    const FRIDAY_EVENING: &str = r#"
[[rule]]
kind = "freeze"
name = "friday-evening"
schedule = "0 18 * * 5"
duration = "62h"
timezone = "Asia/Shanghai"
severity = "deny"
"#;

    const BUSINESS_HOURS: &str = r#"
[[rule]]
kind = "allow-window"
name = "business-hours"
schedule = "0 9 * * 1-5"
duration = "8h"
timezone = "Europe/Berlin"
"#;

    fn with_rules(rules: &[&str]) -> Policy {
        compile(&format!("version = 1\n{}", rules.concat())).unwrap()
    }

    fn at(policy: &Policy, start: &str, minutes: i64) -> Decision {
        evaluate(policy, &[], &ctx(start, minutes, None))
    }

    fn instant(s: &str) -> DateTime<Utc> {
        to_utc(&parse_rfc3339(s).unwrap()).unwrap()
    }

    fn next_utc(d: &Decision) -> Option<DateTime<Utc>> {
        d.next_clear_start.as_ref().and_then(to_utc)
    }

    fn conflict(d: &Decision) -> (String, String) {
        let w = d.findings[0].conflict.as_ref().unwrap();
        (time::format(&w.start), time::format(&w.end))
    }

    #[test]
    fn friday_evening_freeze_clears_monday_morning_shanghai() {
        let p = with_rules(&[FRIDAY_EVENING]);
        // Friday 2026-12-04 19:00 Shanghai, a 1h deploy.
        let d = at(&p, "2026-12-04T19:00:00+08:00", 60);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(d.findings.len(), 1);
        assert_eq!(d.findings[0].rule, "friday-evening");
        assert_eq!(
            conflict(&d),
            (
                "2026-12-04T18:00:00+08:00".into(),
                "2026-12-07T08:00:00+08:00".into()
            )
        );
        assert!(
            d.findings[0]
                .message
                .contains("(\"0 18 * * 5\" for 62h in Asia/Shanghai)"),
            "{}",
            d.findings[0].message
        );
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T08:00:00+08:00"));
        // Touching: a deploy ending at 18:00 Friday, or starting at 08:00 Monday, is clear.
        assert_eq!(
            at(&p, "2026-12-04T17:00:00+08:00", 60).verdict,
            Verdict::Allow
        );
        assert_eq!(
            at(&p, "2026-12-07T08:00:00+08:00", 60).verdict,
            Verdict::Allow
        );
        assert_eq!(
            at(&p, "2026-12-04T17:00:01+08:00", 60).verdict,
            Verdict::Deny
        );
        // Asked in UTC, the answer is the same instant written in UTC.
        let d = at(&p, "2026-12-04T11:00:00Z", 60);
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T00:00:00+00:00"));
    }

    #[test]
    fn midnight_crossing_freeze_denies_saturday_morning_by_local_weekday() {
        let p = with_rules(&[r#"
[[rule]]
kind = "freeze"
name = "late-friday"
schedule = "0 23 * * 5"
duration = "3h"
timezone = "Asia/Shanghai"
"#]);
        // Saturday 01:00 Shanghai is inside Friday 23:00 + 3h.
        let d = at(&p, "2026-12-05T01:00:00+08:00", 30);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            conflict(&d),
            (
                "2026-12-04T23:00:00+08:00".into(),
                "2026-12-05T02:00:00+08:00".into()
            )
        );
        assert_eq!(next(&d).as_deref(), Some("2026-12-05T02:00:00+08:00"));
        // Thursday 23:00 Shanghai (Thursday 15:00Z) is not Friday there.
        assert_eq!(at(&p, "2026-12-03T15:00:00Z", 30).verdict, Verdict::Allow);
        // Friday 15:00Z is Friday 23:00 in Shanghai.
        assert_eq!(at(&p, "2026-12-04T15:00:00Z", 30).verdict, Verdict::Deny);
    }

    #[test]
    fn london_freeze_is_08z_in_summer_09z_in_winter_with_the_local_offset() {
        let p = with_rules(&[r#"
[[rule]]
kind = "freeze"
name = "standup"
schedule = "0 9 * * *"
duration = "1h"
timezone = "Europe/London"
"#]);
        // Asked in winter time about a deploy on the far side of the March change.
        let d = at(&p, "2026-03-30T07:30:00Z", 60);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            conflict(&d),
            (
                "2026-03-30T09:00:00+01:00".into(),
                "2026-03-30T10:00:00+01:00".into()
            )
        );
        assert_eq!(next_utc(&d), Some(instant("2026-03-30T09:00:00Z")));
        // In winter the same freeze is 09:00Z-10:00Z.
        let d = at(&p, "2026-03-27T08:30:00Z", 60);
        assert_eq!(
            conflict(&d),
            (
                "2026-03-27T09:00:00+00:00".into(),
                "2026-03-27T10:00:00+00:00".into()
            )
        );
        assert_eq!(next_utc(&d), Some(instant("2026-03-27T10:00:00Z")));
        // 08:00Z-09:00Z touches the winter occurrence and is clear; it is the summer one.
        assert_eq!(at(&p, "2026-03-27T08:00:00Z", 60).verdict, Verdict::Allow);
        assert_eq!(at(&p, "2026-03-30T08:00:00Z", 60).verdict, Verdict::Deny);
        // Autumn: asked in summer time (+01:00) about Monday after the change.
        let d = at(&p, "2026-10-23T12:00:00+01:00", 3 * 24 * 60 + 22 * 60);
        // [Fri 11:00Z, Tue 09:00Z) overlaps Saturday (09:00 BST = 08:00Z), Sunday and
        // Monday (09:00 GMT = 09:00Z, after the change); Tuesday's 09:00Z only touches.
        assert_eq!(
            conflict(&d),
            (
                "2026-10-24T09:00:00+01:00".into(),
                "2026-10-24T10:00:00+01:00".into()
            )
        );
        assert!(d.findings[0].message.contains("2 more occurrences"));
        let d = at(&p, "2026-10-26T08:30:00Z", 60);
        assert_eq!(
            conflict(&d),
            (
                "2026-10-26T09:00:00+00:00".into(),
                "2026-10-26T10:00:00+00:00".into()
            )
        );
    }

    #[test]
    fn new_york_gap_and_overlap_in_findings() {
        let p = with_rules(&[r#"
[[rule]]
kind = "freeze"
name = "nightly"
schedule = "30 1,2 * * *"
duration = "20m"
timezone = "America/New_York"
"#]);
        // 2026-03-08 02:30 does not exist: it starts at 03:00 EDT = 07:00Z.
        let d = at(&p, "2026-03-08T07:10:00Z", 5);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            conflict(&d),
            (
                "2026-03-08T03:00:00-04:00".into(),
                "2026-03-08T03:20:00-04:00".into()
            )
        );
        assert!(d.findings[0].message.contains("does not exist"));
        assert_eq!(next_utc(&d), Some(instant("2026-03-08T07:20:00Z")));
        // 2026-11-01 01:30 happens at 05:30Z (EDT) and 06:30Z (EST): the freeze covers
        // [05:30Z, 06:50Z), so 06:00Z is denied although neither 20m occurrence covers it.
        // Both ends are written with the offset at the start (EDT): 06:50Z is 01:50 EST.
        let d = at(&p, "2026-11-01T06:00:00Z", 10);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            conflict(&d),
            (
                "2026-11-01T01:30:00-04:00".into(),
                "2026-11-01T02:50:00-04:00".into()
            )
        );
        assert!(d.findings[0].message.contains("happens twice"));
        // 06:50Z is clear until 02:30 EST = 07:30Z.
        assert_eq!(next_utc(&d), Some(instant("2026-11-01T06:50:00Z")));
        assert_eq!(at(&p, "2026-11-01T06:50:00Z", 40).verdict, Verdict::Allow);
        assert_eq!(at(&p, "2026-11-01T06:50:00Z", 41).verdict, Verdict::Deny);
    }

    #[test]
    fn allow_window_boundaries_are_half_open() {
        let p = with_rules(&[BUSINESS_HOURS]);
        // Friday 2026-12-04, Berlin is +01:00.
        let d = at(&p, "2026-12-04T16:00:00+01:00", 60);
        assert_eq!(d.verdict, Verdict::Allow, "ends exactly at 17:00");
        assert!(d.findings.is_empty());
        let d = at(&p, "2026-12-04T09:00:00+01:00", 60);
        assert_eq!(d.verdict, Verdict::Allow, "starts exactly at 09:00");
        let d = at(&p, "2026-12-04T16:00:01+01:00", 60);
        assert_eq!(d.verdict, Verdict::Deny, "one second past 17:00");
        assert_eq!(d.findings[0].rule, ALLOW_WINDOW);
        assert_eq!(d.findings[0].severity, Severity::Deny);
        assert_eq!(d.findings[0].conflict, None);
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T09:00:00+01:00"));
        let d = at(&p, "2026-12-04T08:59:59+01:00", 60);
        assert_eq!(d.verdict, Verdict::Deny, "one second before 09:00");
        assert_eq!(next(&d).as_deref(), Some("2026-12-04T09:00:00+01:00"));
        // Saturday is outside.
        assert_eq!(
            at(&p, "2026-12-05T10:00:00+01:00", 60).verdict,
            Verdict::Deny
        );
    }

    #[test]
    fn allow_window_friday_evening_waits_for_monday_across_dst_changes() {
        let p = with_rules(&[BUSINESS_HOURS]);
        // An ordinary week: Friday 17:30 Berlin -> Monday 09:00 Berlin.
        let d = at(&p, "2026-12-04T17:30:00+01:00", 60);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T09:00:00+01:00"));
        let m = &d.findings[0].message;
        assert!(
            m.contains("business-hours (\"0 9 * * 1-5\" for 8h in Europe/Berlin)"),
            "{m}"
        );
        assert!(
            m.contains(
                "the next one that can hold it starts 2026-12-07T09:00:00+01:00 (business-hours)"
            ),
            "{m}"
        );
        // Autumn change (Sunday 2026-10-25): Friday 17:30 CEST -> Monday 09:00 CET = 08:00Z.
        let d = at(&p, "2026-10-23T17:30:00+02:00", 60);
        assert_eq!(next_utc(&d), Some(instant("2026-10-26T08:00:00Z")));
        assert_eq!(next(&d).as_deref(), Some("2026-10-26T10:00:00+02:00"));
        // Spring change (Sunday 2026-03-29): Friday 17:30 CET -> Monday 09:00 CEST = 07:00Z.
        let d = at(&p, "2026-03-27T17:30:00+01:00", 60);
        assert_eq!(next_utc(&d), Some(instant("2026-03-30T07:00:00Z")));
        // The finding names the occurrence with Berlin's offset on that day.
        assert!(
            d.findings[0].message.contains("2026-03-30T09:00:00+02:00"),
            "{}",
            d.findings[0].message
        );
    }

    #[test]
    fn deny_beats_allow_and_next_clear_start_goes_through_a_freeze_into_an_allow_window() {
        let p = with_rules(&[
            BUSINESS_HOURS,
            r#"
[[rule]]
kind = "freeze"
name = "monday-morning"
schedule = "0 9 * * MON"
duration = "2h"
timezone = "Europe/Berlin"
"#,
        ]);
        // Inside business hours, inside the freeze: denied by the freeze alone.
        let d = at(&p, "2026-12-07T09:30:00+01:00", 60);
        assert_eq!(d.verdict, Verdict::Deny);
        let names: Vec<_> = d.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(names, ["monday-morning"]);
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T11:00:00+01:00"));
        // Friday evening: the allow window says Monday 09:00, the freeze then says 11:00.
        let d = at(&p, "2026-12-04T17:30:00+01:00", 60);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T11:00:00+01:00"));
        // A warn-level freeze does not block.
        let p = with_rules(&[
            BUSINESS_HOURS,
            r#"
[[rule]]
kind = "freeze"
name = "lunch"
schedule = "0 12 * * *"
duration = "1h"
timezone = "Europe/Berlin"
severity = "warn"
"#,
        ]);
        let d = at(&p, "2026-12-07T12:15:00+01:00", 30);
        assert_eq!(d.verdict, Verdict::Warn);
        assert_eq!(next(&d).as_deref(), Some("2026-12-07T12:15:00+01:00"));
    }

    #[test]
    fn allow_windows_of_several_rules_combine_but_one_occurrence_must_hold_the_deploy() {
        let p = with_rules(&[
            BUSINESS_HOURS,
            r#"
[[rule]]
kind = "allow-window"
name = "shanghai-evening"
schedule = "0 20 * * *"
duration = "2h"
timezone = "Asia/Shanghai"
"#,
        ]);
        // 20:30 Shanghai = 13:30 Berlin on a Saturday: only the Shanghai window holds it.
        let d = at(&p, "2026-12-05T20:30:00+08:00", 60);
        assert_eq!(d.verdict, Verdict::Allow);
        // Monday 15:30-17:30 Berlin = 22:30-00:30 Shanghai: neither holds it whole,
        // though each holds part of it.
        let d = at(&p, "2026-12-07T15:30:00+01:00", 120);
        assert_eq!(d.verdict, Verdict::Deny);
        let m = &d.findings[0].message;
        assert!(
            m.contains("business-hours (") && m.contains("shanghai-evening ("),
            "{m}"
        );
        // The earliest start that fits: Tuesday 09:00 Berlin (08:00Z) beats Tuesday
        // 20:00 Shanghai (12:00Z).
        assert_eq!(next_utc(&d), Some(instant("2026-12-08T08:00:00Z")));
    }

    #[test]
    fn allow_window_with_nothing_within_the_horizon_or_too_short() {
        let p = with_rules(&[r#"
[[rule]]
kind = "allow-window"
name = "new-year"
schedule = "0 0 1 1 *"
duration = "24h"
timezone = "UTC"
"#]);
        let d = at(&p, "2026-12-03T12:00:00Z", 60);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(
            d.next_clear_start, None,
            "2027-01-01 is past the 14-day horizon"
        );
        assert!(
            d.findings[0].message.contains("within the search horizon"),
            "{}",
            d.findings[0].message
        );
        let d = at(&p, "2026-12-25T12:00:00Z", 60);
        assert_eq!(next(&d).as_deref(), Some("2027-01-01T00:00:00+00:00"));
        let d = at(&p, "2026-12-25T12:00:00Z", 25 * 60);
        assert_eq!(d.next_clear_start, None);
        assert!(
            d.findings[0]
                .message
                .contains("none is long enough for a 25h deploy"),
            "{}",
            d.findings[0].message
        );
    }

    #[test]
    fn busy_freeze_schedule_stays_bounded() {
        let p = with_rules(&[r#"
[[rule]]
kind = "freeze"
name = "every-five"
schedule = "*/5 * * * *"
duration = "1m"
timezone = "Europe/Berlin"
"#]);
        // A 3m deploy fits between 10:01 and 10:05.
        let d = at(&p, "2026-12-03T10:00:30Z", 3);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T10:01:00+00:00"));
        assert_eq!(at(&p, "2026-12-03T10:01:00Z", 4).verdict, Verdict::Allow);
        // A 10m deploy never fits: none within the 14-day horizon, after bounded work.
        let d = at(&p, "2026-12-03T10:00:30Z", 10);
        assert_eq!(d.verdict, Verdict::Deny);
        assert_eq!(d.findings.len(), 1);
        assert!(d.findings[0].message.contains("2 more occurrences"));
        assert_eq!(d.next_clear_start, None);
        // With an allow window too, and across the DST change in March.
        let p = with_rules(&[
            BUSINESS_HOURS,
            r#"
[[rule]]
kind = "freeze"
name = "every-five"
schedule = "*/5 * * * *"
duration = "1m"
timezone = "Europe/Berlin"
"#,
        ]);
        let d = at(&p, "2026-03-27T17:30:00+01:00", 3);
        assert_eq!(next(&d).as_deref(), Some("2026-03-30T08:01:00+01:00"));
    }

    #[test]
    fn the_default_policy_has_no_allow_windows_so_anything_clear_is_allowed() {
        let d = run(r#"{"plans":[]}"#, "2026-12-05T03:00:00+08:00", 60, None);
        assert_eq!(d.verdict, Verdict::Allow);
        assert!(d.findings.is_empty());
    }

    fn plugin_finding(rule: &str, severity: Severity, window: Option<(&str, &str)>) -> Finding {
        Finding {
            rule: rule.into(),
            severity,
            plan_id: None,
            cluster_id: None,
            region: None,
            plan_type: None,
            state: None,
            target_type: None,
            target_id: None,
            conflict: window.map(|(s, e)| Window {
                start: parse_rfc3339(s).unwrap(),
                end: parse_rfc3339(e).unwrap(),
            }),
            message: "from a plugin".into(),
        }
    }

    #[test]
    fn plugin_findings_merge_named_capped_and_clearing_at_their_window() {
        let policy = compile(
            "version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"capped\"\npath = \"c.wasm\"\nseverity = \"warn\"\n",
        )
        .unwrap();
        let ext = vec![
            External {
                plugin: "np".into(),
                cap: Severity::Deny,
                findings: vec![plugin_finding(
                    "failed-recently",
                    Severity::Deny,
                    Some(("2026-12-01T00:00:00Z", "2026-12-03T15:00:00Z")),
                )],
            },
            External {
                plugin: "capped".into(),
                cap: Severity::Deny,
                findings: vec![plugin_finding("capped", Severity::Deny, None)],
            },
        ];
        let d = evaluate_with(&policy, &[], &ctx("2026-12-03T12:00:00Z", 60, None), &ext);
        assert_eq!(d.verdict, Verdict::Deny);
        let got: Vec<_> = d
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.severity))
            .collect();
        assert_eq!(
            got,
            [
                ("np/failed-recently", Severity::Deny),
                ("capped", Severity::Warn)
            ]
        );
        // The deny clears where its window ends; the capped warn never blocks.
        assert_eq!(next(&d).as_deref(), Some("2026-12-03T15:00:00+00:00"));

        // A deny without a window never clears by time.
        let ext = vec![External {
            plugin: "np".into(),
            cap: Severity::Deny,
            findings: vec![plugin_finding("np", Severity::Deny, None)],
        }];
        let d = evaluate_with(&policy, &[], &ctx("2026-12-03T12:00:00Z", 60, None), &ext);
        assert_eq!(d.findings[0].rule, "np");
        assert_eq!(d.next_clear_start, None);

        // A warn cap turns a plugin's deny into a warning.
        let ext = vec![External {
            plugin: "np".into(),
            cap: Severity::Warn,
            findings: vec![plugin_finding("x", Severity::Deny, None)],
        }];
        let d = evaluate_with(&policy, &[], &ctx("2026-12-03T12:00:00Z", 60, None), &ext);
        assert_eq!(d.verdict, Verdict::Warn);
    }
}
