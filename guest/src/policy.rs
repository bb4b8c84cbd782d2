//! Policy documents: the default policy, and compiling a TOML or JSON document into
//! typed rules. Every rejection names the rule (index and name) and the field.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::bindings::exports::plangate::gate::types::{Plan, PlanState, Severity, Timestamp};
use crate::cron::Schedule;
use crate::parse;
use crate::recurring::{MAX_DURATION_DAYS, Recurrence};
use crate::time;
use crate::zone;

/// The default policy, as a document: what `plangate check` uses without `--policy`.
pub const DEFAULT_POLICY: &str = r#"# plangate default policy
version = 1

# A control-plane upgrade that is scheduled or running, widened by 30 minutes on
# each side, must not overlap the deploy window.
[[rule]]
kind = "plan-window"
name = "master-upgrade"
severity = "deny"
types = ["CLUSTER_UPGRADE_MASTER"]
states = ["Scheduled", "Executing"]
margin_before = "30m"
margin_after = "30m"

# A plan that is executing blocks deploys whatever its times: plans can run
# past their end_time.
[[rule]]
kind = "executing"
name = "executing"
severity = "deny"

# Any other scheduled or running maintenance overlapping the deploy window is
# worth a warning.
[[rule]]
kind = "plan-window"
name = "maintenance"
severity = "warn"
exclude_types = ["CLUSTER_UPGRADE_MASTER"]
states = ["Scheduled", "Executing"]
"#;

/// The plan types this version knows, in API spelling.
const KNOWN_TYPES: &[&str] = &[
    "CVE_FIX",
    "CONTAINERD_UPGRADE",
    "CLUSTER_UPGRADE_MASTER",
    "CLUSTER_UPGRADE_ADDON",
    "NODEPOOL_CONFIG",
    "KUBELET_UPGRADE",
    "NODEPOOL_UPDATE_OS",
    "IMAGE_UPGRADE",
];

/// The plan states, in API spelling.
const KNOWN_STATES: &[&str] = &[
    "Scheduled",
    "Executing",
    "Executed",
    "Failed",
    "ValidatingFailed",
    "Canceled",
];

/// A compiled policy: rules in document order.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The rules, in document order.
    pub rules: Vec<Rule>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Unique within the policy; findings carry it.
    pub name: String,
    /// The severity of its findings.
    pub severity: Severity,
    /// What it checks.
    pub kind: Kind,
}

/// The rule kinds and their settings.
#[derive(Debug, Clone)]
pub enum Kind {
    /// A third-party rule component the host runs; its severity is a cap.
    Plugin {
        /// The component's path as written (relative to the policy file).
        path: String,
        /// Its configuration as JSON text.
        config: String,
    },
    /// A matching plan whose `[start - before, end + after)` overlaps the deploy window.
    PlanWindow {
        /// Which plans the rule looks at.
        filter: PlanFilter,
        /// Widening before the plan's start.
        margin_before: TimeDelta,
        /// Widening after the plan's end.
        margin_after: TimeDelta,
    },
    /// Any matching plan in state Executing, whatever its times.
    Executing {
        /// Which plans the rule looks at.
        filter: PlanFilter,
    },
    /// A matching Failed/ValidatingFailed plan whose end lies within `lookback` before the deploy start (or later).
    RecentFailure {
        /// Which plans the rule looks at.
        filter: PlanFilter,
        /// How far back a failure still counts.
        lookback: TimeDelta,
    },
    /// A one-off period in which deploys are not allowed.
    Exclusion {
        /// First instant of the period.
        start: Timestamp,
        /// First instant after the period.
        end: Timestamp,
    },
    /// A recurring period in which deploys are not allowed: the deploy window must
    /// not overlap any occurrence.
    Freeze(Recurrence),
    /// A recurring period deploys must fit in: when a policy has any allow-window
    /// rule, the whole deploy window must lie inside one occurrence of one of them.
    AllowWindow(Recurrence),
}

/// Which plans a rule applies to. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct PlanFilter {
    /// API type names; empty = any type, unknown API values included.
    pub types: Vec<String>,
    /// API type names the rule never applies to.
    pub exclude_types: Vec<String>,
    /// API state names; empty = any state.
    pub states: Vec<String>,
    /// Target types (`cluster`, `nodepool`, `addon`, ...).
    pub target_types: Vec<String>,
    /// Cluster id globs (`*`, `?`).
    pub clusters: Vec<String>,
    /// Target id globs (`*`, `?`).
    pub target_ids: Vec<String>,
}

impl PlanFilter {
    /// Whether the rule applies to `plan`. A state this version does not know
    /// matches whenever the filter lists an active state (fail closed).
    pub fn matches(&self, plan: &Plan) -> bool {
        let type_name = parse::plan_type_name(&plan.plan_type);
        let state_name = parse::plan_state_name(&plan.state);
        let state_ok = self.states.is_empty()
            || self.states.iter().any(|s| s == state_name)
            || (matches!(plan.state, PlanState::Other(_))
                && self
                    .states
                    .iter()
                    .any(|s| s == "Scheduled" || s == "Executing"));
        (self.types.is_empty() || self.types.iter().any(|t| t == type_name))
            && !self.exclude_types.iter().any(|t| t == type_name)
            && state_ok
            && (self.target_types.is_empty()
                || self
                    .target_types
                    .iter()
                    .any(|t| t == parse::target_type_name(&plan.target_type)))
            && (self.clusters.is_empty() || self.clusters.iter().any(|g| glob(g, &plan.cluster_id)))
            && (self.target_ids.is_empty()
                || self.target_ids.iter().any(|g| glob(g, &plan.target_id)))
    }
}

/// Matches `text` against a glob with `*` (any run) and `?` (any one character).
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Compiles a policy document: JSON when it starts with `{`, TOML otherwise.
pub fn compile(doc: &str) -> Result<Policy, String> {
    let root: Value = if doc.trim_start().starts_with('{') {
        serde_json::from_str(doc).map_err(|e| format!("policy is not valid JSON: {e}"))?
    } else {
        toml::from_str(doc).map_err(|e| format!("policy is not valid TOML: {e}"))?
    };
    let Value::Object(mut root) = root else {
        return Err("policy must be a table/object".into());
    };
    match root.remove("version") {
        Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
        Some(other) => {
            return Err(format!(
                "field version: only version = 1 is supported, found {other}"
            ));
        }
        None => return Err("field version is missing: start the policy with `version = 1`".into()),
    }
    root.remove("description");
    let rules = match root.remove("rule") {
        None => Vec::new(),
        Some(Value::Array(rules)) => rules,
        Some(_) => return Err("field rule must be an array of tables ([[rule]])".into()),
    };
    if let Some(field) = root.keys().next() {
        return Err(format!(
            "unknown top-level field {field:?} (expected version, description, rule)"
        ));
    }
    let mut compiled: Vec<Rule> = Vec::with_capacity(rules.len());
    for (i, raw) in rules.into_iter().enumerate() {
        let rule = compile_rule(raw).map_err(|(name, e)| match name {
            Some(n) => format!("rule {} ({n}): {e}", i + 1),
            None => format!("rule {}: {e}", i + 1),
        })?;
        if compiled.iter().any(|r| r.name == rule.name) {
            return Err(format!(
                "rule {} ({}): another rule already has this name; give each rule a unique name",
                i + 1,
                rule.name
            ));
        }
        compiled.push(rule);
    }
    Ok(Policy { rules: compiled })
}

/// Plan-selecting fields shared by the plan rule kinds.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFilter {
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    exclude_types: Vec<String>,
    #[serde(default)]
    states: Option<Vec<String>>,
    #[serde(default)]
    target_types: Vec<String>,
    #[serde(default)]
    clusters: Vec<String>,
    #[serde(default)]
    target_ids: Vec<String>,
}

const FILTER_FIELDS: &[&str] = &[
    "types",
    "exclude_types",
    "states",
    "target_types",
    "clusters",
    "target_ids",
];

fn compile_rule(raw: Value) -> Result<Rule, (Option<String>, String)> {
    let Value::Object(mut obj) = raw else {
        return Err((None, "must be a table".into()));
    };
    let name = match obj.remove("name") {
        None => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => return Err((None, "field name must be a non-empty string".into())),
    };
    let fail = |e: String| (name.clone(), e);
    let kind = match obj.remove("kind") {
        Some(Value::String(k)) => k,
        Some(_) => return Err(fail("field kind must be a string".into())),
        None => return Err(fail("field kind is missing".into())),
    };
    let name = name.unwrap_or_else(|| kind.clone());
    let fail = |e: String| (Some(name.clone()), e);
    // Findings carry rule names: they must not pass for built-in or plugin findings.
    let reserved = [crate::eval::INVALID_PLAN, crate::eval::INVALID_CONTEXT];
    if reserved.contains(&name.as_str())
        || (name == crate::eval::ALLOW_WINDOW && kind != "allow-window")
    {
        return Err(fail(format!(
            "field name: {name:?} is the name of a built-in finding; choose another"
        )));
    }
    if name.contains('/') {
        return Err(fail(
            "field name: '/' is reserved for plugin findings (plugin/rule); choose another".into(),
        ));
    }
    let severity = match obj.remove("severity") {
        None => None,
        Some(Value::String(s)) => Some(match s.as_str() {
            "deny" => Severity::Deny,
            "warn" => Severity::Warn,
            "info" => Severity::Info,
            other => {
                return Err(fail(format!(
                    "field severity: {other:?} is not one of deny, warn, info"
                )));
            }
        }),
        Some(_) => return Err(fail("field severity must be a string".into())),
    };
    obj.remove("description");

    let (kind, default_severity) = match kind.as_str() {
        "plan-window" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                margin_before: Option<String>,
                margin_after: Option<String>,
            }
            let filter = take_filter(&mut obj, Some(&["Scheduled", "Executing"])).map_err(fail)?;
            let raw: Raw = fields(obj).map_err(fail)?;
            (
                Kind::PlanWindow {
                    filter,
                    margin_before: duration_or_zero("margin_before", raw.margin_before)
                        .map_err(fail)?,
                    margin_after: duration_or_zero("margin_after", raw.margin_after)
                        .map_err(fail)?,
                },
                Severity::Deny,
            )
        }
        "executing" => {
            let mut filter = take_filter(&mut obj, None).map_err(fail)?;
            if !filter.states.is_empty() {
                return Err(fail(
                    "field states: an executing rule always looks at Executing plans".into(),
                ));
            }
            filter.states = vec!["Executing".into()];
            let _: Empty = fields(obj).map_err(fail)?;
            (Kind::Executing { filter }, Severity::Deny)
        }
        "recent-failure" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                lookback: Option<String>,
            }
            let filter =
                take_filter(&mut obj, Some(&["Failed", "ValidatingFailed"])).map_err(fail)?;
            let raw: Raw = fields(obj).map_err(fail)?;
            let lookback = match raw.lookback {
                Some(l) => {
                    time::parse_duration(&l).map_err(|e| fail(format!("field lookback: {e}")))?
                }
                None => TimeDelta::hours(24),
            };
            (Kind::RecentFailure { filter, lookback }, Severity::Warn)
        }
        "exclusion" => {
            let start = instant_field(&mut obj, "start").map_err(fail)?;
            let end = instant_field(&mut obj, "end").map_err(fail)?;
            if (end.epoch_seconds, end.nanos) <= (start.epoch_seconds, start.nanos) {
                return Err(fail("field end: must be after start".into()));
            }
            let _: Empty = fields(obj).map_err(fail)?;
            (Kind::Exclusion { start, end }, Severity::Deny)
        }
        "freeze" => (Kind::Freeze(recurrence(obj).map_err(fail)?), Severity::Deny),
        "plugin" => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Raw {
                path: Option<String>,
                #[serde(default)]
                config: Option<Value>,
            }
            let raw: Raw = fields(obj).map_err(fail)?;
            let path = match raw.path {
                Some(p) if !p.trim().is_empty() => p,
                _ => {
                    return Err(fail(
                        "field path is missing: name the plugin's .wasm file".into(),
                    ));
                }
            };
            let config = match raw.config {
                None | Some(Value::Null) => "{}".to_string(),
                Some(v @ Value::Object(_)) => v.to_string(),
                Some(_) => {
                    return Err(fail(
                        "field config: must be a table (or a JSON object)".into(),
                    ));
                }
            };
            (Kind::Plugin { path, config }, Severity::Deny)
        }
        "allow-window" => {
            if severity.is_some_and(|s| s != Severity::Deny) {
                return Err(fail(
                    "field severity: a deploy outside every allow window is always denied; \
                     remove severity (or write \"deny\")"
                        .into(),
                ));
            }
            (
                Kind::AllowWindow(recurrence(obj).map_err(fail)?),
                Severity::Deny,
            )
        }
        other => {
            return Err(fail(format!(
                "unknown kind {other:?} (expected plan-window, executing, recent-failure, exclusion, freeze, allow-window, plugin)"
            )));
        }
    };
    Ok(Rule {
        name,
        severity: severity.unwrap_or(default_severity),
        kind,
    })
}

/// Compiles the fields of a recurring rule (`schedule`, `duration`, `timezone`, all
/// required); any other field is rejected.
fn recurrence(obj: Map<String, Value>) -> Result<Recurrence, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        schedule: Option<Value>,
        duration: Option<Value>,
        timezone: Option<Value>,
    }
    let raw: Raw = fields(obj)?;
    let text = |field: &str, v: Option<Value>, example: &str| match v {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("field {field} must be a string like {example}")),
        None => Err(format!(
            "field {field} is missing (e.g. {field} = {example})"
        )),
    };
    let schedule = text("schedule", raw.schedule, "\"0 18 * * 5\"")?;
    let duration = text("duration", raw.duration, "\"8h\"")?;
    let timezone = text("timezone", raw.timezone, "\"Asia/Shanghai\"")?;
    let schedule = Schedule::parse(&schedule).map_err(|e| format!("field schedule: {e}"))?;
    let duration = time::parse_duration(&duration).map_err(|e| format!("field duration: {e}"))?;
    if duration <= TimeDelta::zero() {
        return Err("field duration: must be longer than zero".into());
    }
    if duration > TimeDelta::days(MAX_DURATION_DAYS) {
        return Err(format!(
            "field duration: {} is longer than the {MAX_DURATION_DAYS} days a recurring window may last",
            crate::eval::human(duration)
        ));
    }
    let zone = zone::parse_zone(&timezone).map_err(|e| format!("field timezone: {e}"))?;
    Ok(Recurrence {
        schedule,
        duration,
        zone,
    })
}

/// A kind with no fields of its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

/// Deserializes the remaining fields of a rule into a kind's struct.
fn fields<T: DeserializeOwned>(obj: Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(obj)).map_err(|e| e.to_string())
}

/// Removes and validates the plan filter fields; `default_states` applies when `states` is absent.
fn take_filter(
    obj: &mut Map<String, Value>,
    default_states: Option<&[&str]>,
) -> Result<PlanFilter, String> {
    let mut part = Map::new();
    for f in FILTER_FIELDS {
        if let Some(v) = obj.remove(*f) {
            part.insert((*f).to_string(), v);
        }
    }
    let raw: RawFilter = fields(part)?;
    for (field, list) in [("types", &raw.types), ("exclude_types", &raw.exclude_types)] {
        for t in list {
            check_type_name(t).map_err(|e| format!("field {field}: {e}"))?;
        }
    }
    let states = match raw.states {
        Some(states) => {
            for s in &states {
                if !KNOWN_STATES.contains(&s.as_str()) {
                    return Err(format!(
                        "field states: unknown state {s:?} (expected one of {})",
                        KNOWN_STATES.join(", ")
                    ));
                }
            }
            states
        }
        None => default_states
            .unwrap_or_default()
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    for t in &raw.target_types {
        if t.is_empty() {
            return Err("field target_types: empty target type".into());
        }
    }
    Ok(PlanFilter {
        types: raw.types,
        exclude_types: raw.exclude_types,
        states,
        target_types: raw.target_types,
        clusters: raw.clusters,
        target_ids: raw.target_ids,
    })
}

/// Accepts known plan types and new UPPER_SNAKE ones, but rejects near-misses of
/// known names: a typo would silently match nothing, which fails open.
fn check_type_name(t: &str) -> Result<(), String> {
    if KNOWN_TYPES.contains(&t) {
        return Ok(());
    }
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(format!(
            "{t:?} is not a plan type (API spelling, e.g. CLUSTER_UPGRADE_MASTER)"
        ));
    }
    if let Some(near) = KNOWN_TYPES.iter().find(|k| edit_distance(k, t) <= 2) {
        return Err(format!("unknown plan type {t:?}; did you mean {near}?"));
    }
    Ok(())
}

/// Levenshtein distance between two strings, in characters.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn duration_or_zero(field: &str, raw: Option<String>) -> Result<TimeDelta, String> {
    match raw {
        None => Ok(TimeDelta::zero()),
        Some(s) => time::parse_duration(&s).map_err(|e| format!("field {field}: {e}")),
    }
}

/// Reads an RFC 3339 instant field; accepts a TOML datetime as well as a string.
fn instant_field(obj: &mut Map<String, Value>, field: &str) -> Result<Timestamp, String> {
    let raw = match obj.remove(field) {
        Some(Value::String(s)) => s,
        // toml's serde representation of a native datetime value.
        Some(Value::Object(m)) if m.len() == 1 => match m.into_iter().next() {
            Some((k, Value::String(s))) if k.contains("datetime") => s,
            _ => return Err(format!("field {field}: must be an RFC 3339 timestamp")),
        },
        Some(_) => return Err(format!("field {field}: must be an RFC 3339 timestamp")),
        None => return Err(format!("field {field} is missing")),
    };
    time::parse_rfc3339(&raw).map_err(|e| format!("field {field}: {e}"))
}

/// The UTC instant of a compiled timestamp (always in range: it was parsed).
pub fn utc(ts: &Timestamp) -> DateTime<Utc> {
    time::to_utc(ts).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(doc: &str) -> String {
        compile(doc).unwrap_err()
    }

    #[test]
    fn the_default_policy_compiles_to_three_rules() {
        let p = compile(DEFAULT_POLICY).unwrap();
        let names: Vec<_> = p.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["master-upgrade", "executing", "maintenance"]);
        match &p.rules[0].kind {
            Kind::PlanWindow {
                margin_before,
                margin_after,
                filter,
            } => {
                assert_eq!(margin_before.num_minutes(), 30);
                assert_eq!(margin_after.num_minutes(), 30);
                assert_eq!(filter.types, ["CLUSTER_UPGRADE_MASTER"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(p.rules[2].severity, Severity::Warn);
    }

    #[test]
    fn json_documents_have_the_same_structure() {
        let p = compile(
            r#"{"version":1,"rule":[{"kind":"executing","severity":"warn"},
               {"kind":"exclusion","name":"launch","start":"2026-12-24T00:00:00+08:00","end":"2026-12-27T00:00:00+08:00"}]}"#,
        )
        .unwrap();
        assert_eq!(p.rules[0].name, "executing");
        assert_eq!(p.rules[0].severity, Severity::Warn);
        assert_eq!(p.rules[1].severity, Severity::Deny);
    }

    #[test]
    fn toml_datetimes_are_accepted_for_exclusions() {
        let p = compile(
            "version = 1\n[[rule]]\nkind = \"exclusion\"\nstart = 2026-12-24T00:00:00+08:00\nend = 2026-12-27T00:00:00Z\n",
        )
        .unwrap();
        match &p.rules[0].kind {
            Kind::Exclusion { start, .. } => assert_eq!(start.offset_minutes, 480),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejections_name_the_rule_and_field() {
        let e = err(
            "version = 1\n[[rule]]\nkind = \"plan-window\"\nname = \"x\"\nmargin_before = \"3 fortnights and a bit\"\n",
        );
        assert!(e.starts_with("rule 1 (x): field margin_before:"), "{e}");
        let e = err(
            "version = 1\n[[rule]]\nkind = \"plan-window\"\nname = \"x\"\nmargn_before = \"30m\"\n",
        );
        assert!(
            e.starts_with("rule 1 (x): unknown field `margn_before`"),
            "{e}"
        );
        let e = err("version = 1\n[[rule]]\nkind = \"blackout\"\n");
        assert!(
            e.starts_with("rule 1 (blackout): unknown kind \"blackout\""),
            "{e}"
        );
        let e = err("version = 1\n[[rule]]\nkind = \"executing\"\nseverity = \"fatal\"\n");
        assert!(e.contains("field severity"), "{e}");
        let e = err("version = 1\n[[rule]]\nkind = \"plan-window\"\nstates = [\"Schedule\"]\n");
        assert!(e.contains("unknown state \"Schedule\""), "{e}");
        let e = err(
            "version = 1\n[[rule]]\nkind = \"plan-window\"\ntypes = [\"CLUSTER_UPGRADE_MASTR\"]\n",
        );
        assert!(e.contains("did you mean CLUSTER_UPGRADE_MASTER"), "{e}");
        let e =
            err("version = 1\n[[rule]]\nkind = \"executing\"\n[[rule]]\nkind = \"executing\"\n");
        assert!(e.starts_with("rule 2 (executing): another rule"), "{e}");
        assert!(err("version = 2\n").contains("version"));
        assert!(err("[[rule]]\nkind = \"executing\"\n").contains("version is missing"));
        assert!(err("version = 1\nrules = []\n").contains("unknown top-level field \"rules\""));
        assert!(err("version = 1\n[[rule]\n").starts_with("policy is not valid TOML"));
        assert!(err("{\"version\":1,").starts_with("policy is not valid JSON"));
    }

    #[test]
    fn new_plan_types_are_allowed() {
        compile("version = 1\n[[rule]]\nkind = \"plan-window\"\ntypes = [\"RUNTIME_MIGRATION\"]\n")
            .unwrap();
    }

    #[test]
    fn plugin_rules_carry_path_config_and_cap() {
        let p = compile(
            "version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"np\"\npath = \"plugins/np.wasm\"\nseverity = \"warn\"\n[rule.config]\nlookback = \"7d\"\n",
        )
        .unwrap();
        assert_eq!(p.rules[0].severity, Severity::Warn);
        match &p.rules[0].kind {
            Kind::Plugin { path, config } => {
                assert_eq!(path, "plugins/np.wasm");
                assert_eq!(config, r#"{"lookback":"7d"}"#);
            }
            other => panic!("unexpected {other:?}"),
        }
        let p = compile("version = 1\n[[rule]]\nkind = \"plugin\"\npath = \"x.wasm\"\n").unwrap();
        assert_eq!(p.rules[0].severity, Severity::Deny);
        match &p.rules[0].kind {
            Kind::Plugin { config, .. } => assert_eq!(config, "{}"),
            other => panic!("unexpected {other:?}"),
        }
        let e = err("version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"np\"\n");
        assert!(e.starts_with("rule 1 (np): field path is missing"), "{e}");
        let e = err(
            "version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"np\"\npath = \"x\"\nconfig = 3\n",
        );
        assert!(
            e.starts_with("rule 1 (np): field config: must be a table"),
            "{e}"
        );
        let e = err(
            "version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"np\"\npath = \"x\"\nconfg = {}\n",
        );
        assert!(e.starts_with("rule 1 (np): unknown field `confg`"), "{e}");
    }

    #[test]
    fn reserved_rule_names_are_rejected() {
        let e = err("version = 1\n[[rule]]\nkind = \"executing\"\nname = \"invalid-plan\"\n");
        assert!(e.contains("built-in finding"), "{e}");
        let e = err("version = 1\n[[rule]]\nkind = \"executing\"\nname = \"allow-window\"\n");
        assert!(e.contains("built-in finding"), "{e}");
        let e = err("version = 1\n[[rule]]\nkind = \"executing\"\nname = \"np/x\"\n");
        assert!(e.contains("reserved for plugin findings"), "{e}");
        let e = err(
            "version = 1\n[[rule]]\nkind = \"plan-window\"\nname = \"x\"\nmargin_before = \"100000000d\"\n",
        );
        assert!(e.starts_with("rule 1 (x): field margin_before:"), "{e}");
    }

    #[test]
    fn globs() {
        assert!(glob("c8f3*", "c8f3a1b2"));
        assert!(glob("*", ""));
        assert!(glob("np-?", "np-1"));
        assert!(!glob("np-?", "np-12"));
        assert!(glob("*b*d", "abcd"));
        assert!(!glob("c1*", "c2"));
    }

    const RECURRING: &str = r#"version = 1
[[rule]]
kind = "freeze"               # recurring deny window
name = "friday-evening"
schedule = "0 18 * * 5"
duration = "62h"
timezone = "Asia/Shanghai"    # IANA names only
severity = "deny"

[[rule]]
kind = "allow-window"
name = "business-hours"
schedule = "0 9 * * 1-5"
duration = "8h"
timezone = "Europe/Berlin"
"#;

    /// A policy with one freeze rule named x, with `fields` after its kind.
    fn freeze(fields: &str) -> String {
        format!("version = 1\n[[rule]]\nkind = \"freeze\"\nname = \"x\"\n{fields}")
    }

    const OK_FIELDS: &str =
        "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"Asia/Shanghai\"\n";

    #[test]
    fn freeze_and_allow_window_compile_with_their_defaults() {
        let p = compile(RECURRING).unwrap();
        match &p.rules[0].kind {
            Kind::Freeze(r) => {
                assert_eq!(r.schedule.source(), "0 18 * * 5");
                assert_eq!(r.duration.num_hours(), 62);
                assert_eq!(r.zone.name(), "Asia/Shanghai");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(p.rules[0].severity, Severity::Deny);
        assert!(matches!(p.rules[1].kind, Kind::AllowWindow(_)));
        assert_eq!(p.rules[1].severity, Severity::Deny);
        // A freeze may warn; its default is deny.
        let p = compile(&freeze(&format!("{OK_FIELDS}severity = \"warn\"\n"))).unwrap();
        assert_eq!(p.rules[0].severity, Severity::Warn);
        let p = compile(&freeze(OK_FIELDS)).unwrap();
        assert_eq!(p.rules[0].severity, Severity::Deny);
    }

    #[test]
    fn recurring_rules_as_json_and_beside_toml_datetimes() {
        let p = compile(
            r#"{"version":1,"rule":[
              {"kind":"freeze","name":"friday-evening","schedule":"0 18 * * 5","duration":"62h","timezone":"Asia/Shanghai"},
              {"kind":"allow-window","name":"business-hours","schedule":"0 9 * * 1-5","duration":"8h","timezone":"Europe/Berlin","description":"office"}]}"#,
        )
        .unwrap();
        assert!(matches!(p.rules[0].kind, Kind::Freeze(_)));
        assert!(matches!(p.rules[1].kind, Kind::AllowWindow(_)));
        let e = compile(
            r#"{"version":1,"rule":[{"kind":"freeze","name":"f","schedule":"0 18 * * 5","duration":"62h","timezone":"CST"}]}"#,
        )
        .unwrap_err();
        assert!(e.starts_with("rule 1 (f): field timezone: \"CST\""), "{e}");
        let p = compile(&format!(
            "{}\n[[rule]]\nkind = \"exclusion\"\nstart = 2026-12-24T00:00:00+08:00\nend = 2026-12-27T00:00:00Z\n",
            freeze(OK_FIELDS)
        ))
        .unwrap();
        assert!(matches!(p.rules[1].kind, Kind::Exclusion { .. }));
    }

    #[test]
    fn recurring_rejections_name_the_rule_and_field() {
        let cases = [
            (
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"CST\"\n",
                "rule 1 (x): field timezone: \"CST\" is not accepted: an ambiguous abbreviation",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"EST\"\n",
                "rule 1 (x): field timezone: \"EST\" is not accepted",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"Asia/Shangai\"\n",
                "rule 1 (x): field timezone: unknown time zone \"Asia/Shangai\"; did you mean Asia/Shanghai?",
            ),
            (
                "schedule = \"0 18 * * 8\"\nduration = \"62h\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field schedule: \"0 18 * * 8\": day-of-week field: 8 is out of range 0-7",
            ),
            (
                "schedule = \"0 0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field schedule: \"0 0 18 * * 5\" has 6 fields",
            ),
            (
                "schedule = \"0 18 L * *\"\nduration = \"62h\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field schedule: \"0 18 L * *\": day-of-month field:",
            ),
            (
                "schedule = \"@reboot\"\nduration = \"62h\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field schedule: \"@reboot\": unknown macro",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"0s\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field duration: must be longer than zero",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"-5m\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field duration: \"-5m\" is not a duration",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"a while\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field duration: \"a while\" is not a duration",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"400d\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field duration: \"400d\" is longer than 366 days",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezon = \"UTC\"\n",
                "rule 1 (x): unknown field `timezon`",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\n",
                "rule 1 (x): field timezone is missing",
            ),
            (
                "schedule = \"0 18 * * 5\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field duration is missing",
            ),
            (
                "schedule = 5\nduration = \"62h\"\ntimezone = \"UTC\"\n",
                "rule 1 (x): field schedule must be a string",
            ),
            (
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"UTC\"\nstates = [\"Scheduled\"]\n",
                "rule 1 (x): unknown field `states`",
            ),
        ];
        for (fields, prefix) in cases {
            let e = err(&freeze(fields));
            assert!(e.starts_with(prefix), "{fields}\n=> {e}");
        }
        // UTC and Etc/UTC are fine.
        for tz in ["UTC", "Etc/UTC"] {
            compile(&freeze(&format!(
                "schedule = \"0 18 * * 5\"\nduration = \"62h\"\ntimezone = \"{tz}\"\n"
            )))
            .unwrap();
        }
        // An allow window always denies outside itself.
        let e = err(
            "version = 1\n[[rule]]\nkind = \"allow-window\"\nname = \"b\"\nschedule = \"0 9 * * 1-5\"\nduration = \"8h\"\ntimezone = \"UTC\"\nseverity = \"warn\"\n",
        );
        assert!(e.starts_with("rule 1 (b): field severity:"), "{e}");
        // The unknown-kind message lists every kind.
        let e = err("version = 1\n[[rule]]\nkind = \"blackout\"\n");
        assert!(
            e.ends_with(
                "(expected plan-window, executing, recent-failure, exclusion, freeze, allow-window, plugin)"
            ),
            "{e}"
        );
        // Two unnamed allow windows need names.
        let aw = "[[rule]]\nkind = \"allow-window\"\nschedule = \"0 9 * * 1-5\"\nduration = \"8h\"\ntimezone = \"UTC\"\n";
        let e = err(&format!("version = 1\n{aw}{aw}"));
        assert!(e.starts_with("rule 2 (allow-window): another rule"), "{e}");
    }
}
