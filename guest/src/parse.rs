//! Parsing `ListOperationPlansForRegion` response bodies into typed plans.
//!
//! Rules (each has a test below):
//! - the body must be a JSON object of at most [`MAX_BODY_BYTES`]; duplicate keys and
//!   nesting deeper than serde_json's limit (128) are errors with line and column;
//! - `plans` missing or `null` means zero plans;
//! - for optional fields, `null` and a missing field mean the same;
//! - `plan_id`, `cluster_id`, `state` and `type` are required strings: anything else
//!   is an error naming the plan and field;
//! - unknown `type`, `state` and `target_type` values are kept as `other(raw)`;
//! - a bad timestamp or `end_time` before `start_time` is recorded in `plan.problems`
//!   (the policy denies on it), never raised and never dropped.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::bindings::exports::plangate::gate::plans::ParseError;
use crate::bindings::exports::plangate::gate::types::{
    Plan, PlanState, PlanType, StateReason, TargetType, Timestamp,
};
use crate::time;

/// The largest response body accepted: the API returns at most 100 plans
/// (about 600 bytes each), so 8 MiB leaves a wide margin and still bounds memory.
pub const MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

/// Parses a whole response body.
pub fn parse_response(body: &str) -> Result<Vec<Plan>, ParseError> {
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(error(format!(
            "response body is {} bytes, over the {} byte limit",
            body.len(),
            MAX_BODY_BYTES
        )));
    }
    let root: StrictValue = serde_json::from_str(body).map_err(|e| ParseError {
        message: format!("response is not valid JSON: {e}"),
        line: u32::try_from(e.line()).ok().filter(|l| *l > 0),
        column: u32::try_from(e.column()).ok().filter(|c| *c > 0),
    })?;
    let Value::Object(root) = root.0 else {
        return Err(error(format!(
            "response must be a JSON object with a \"plans\" array, found {}",
            kind(&root.0)
        )));
    };
    // An API error delivered as a body (whatever the HTTP status) is not "no plans".
    if !root.contains_key("plans") {
        let text = |keys: [&str; 2]| {
            keys.iter()
                .find_map(|k| root.get(*k).and_then(Value::as_str))
                .map(str::to_string)
        };
        if let Some(code) = text(["Code", "code"]) {
            let message = text(["Message", "message"]).unwrap_or_default();
            let request = text(["RequestId", "requestId"])
                .map(|r| format!(" (RequestId {r})"))
                .unwrap_or_default();
            return Err(error(format!(
                "response is an API error, not a list of plans: {code}: {message}{request}"
            )));
        }
        if let Some(key) = root.keys().find(|k| k.eq_ignore_ascii_case("plans")) {
            return Err(error(format!(
                "response has a field {key:?} but no \"plans\" (field names are case-sensitive)"
            )));
        }
    }
    let plans = match root.get("plans") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(error(format!(
                "field \"plans\" must be an array, found {}",
                kind(other)
            )));
        }
    };
    plans
        .iter()
        .enumerate()
        .map(|(i, v)| parse_plan(i, v).map_err(error))
        .collect()
}

fn error(message: String) -> ParseError {
    ParseError {
        message,
        line: None,
        column: None,
    }
}

/// A short description of a JSON value's type for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads one plan; `Err` only for problems that make the plan unidentifiable.
fn parse_plan(index: usize, v: &Value) -> Result<Plan, String> {
    let Value::Object(obj) = v else {
        return Err(format!(
            "plans[{index}] must be an object, found {}",
            kind(v)
        ));
    };
    let required = |field: &str, label: &str| -> Result<String, String> {
        match obj.get(field) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(Value::String(_)) => Err(format!("{label}: field \"{field}\" is empty")),
            None | Some(Value::Null) => Err(format!("{label}: field \"{field}\" is missing")),
            Some(other) => Err(format!(
                "{label}: field \"{field}\" must be a string, found {}",
                kind(other)
            )),
        }
    };
    let plan_id = required("plan_id", &format!("plans[{index}]"))?;
    let label = format!("plans[{index}] (plan {plan_id})");
    let optional = |field: &str| -> Result<Option<String>, String> {
        match obj.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "{label}: field \"{field}\" must be a string or null, found {}",
                kind(other)
            )),
        }
    };
    let cluster_id = required("cluster_id", &label)?;
    let state = plan_state(&required("state", &label)?);
    let plan_type = plan_type(&required("type", &label)?);
    let target_type = match optional("target_type")? {
        Some(t) => target_type(&t),
        None => TargetType::Other(String::new()),
    };
    let target_id = optional("target_id")?.unwrap_or_default();
    let task_id = optional("task_id")?.filter(|t| !t.is_empty());
    let state_reason = match obj.get("state_reason") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => {
            let text = |f: &str| match r.get(f) {
                Some(Value::String(s)) => Ok(s.clone()),
                None | Some(Value::Null) => Ok(String::new()),
                Some(other) => Err(format!(
                    "{label}: field \"state_reason.{f}\" must be a string, found {}",
                    kind(other)
                )),
            };
            Some(StateReason {
                code: text("code")?,
                message: text("message")?,
            })
        }
        Some(other) => {
            return Err(format!(
                "{label}: field \"state_reason\" must be an object or null, found {}",
                kind(other)
            ));
        }
    };

    let mut problems = Vec::new();
    let mut stamp = |field: &str| -> Option<Timestamp> {
        match obj.get(field) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => match time::parse_rfc3339(s) {
                Ok(ts) => Some(ts),
                Err(e) => {
                    problems.push(format!("{field}: {e}"));
                    None
                }
            },
            Some(other) => {
                problems.push(format!(
                    "{field}: must be an RFC 3339 string, found {}",
                    kind(other)
                ));
                None
            }
        }
    };
    let created = stamp("created");
    let start_time = stamp("start_time");
    let end_time = stamp("end_time");
    if let (Some(s), Some(e)) = (&start_time, &end_time)
        && (e.epoch_seconds, e.nanos) < (s.epoch_seconds, s.nanos)
    {
        problems.push(format!(
            "end_time {} is before start_time {}",
            time::format(e),
            time::format(s)
        ));
    }

    Ok(Plan {
        plan_id,
        cluster_id,
        region: None,
        created,
        start_time,
        end_time,
        state,
        state_reason,
        plan_type,
        target_type,
        target_id,
        task_id,
        problems,
    })
}

/// Maps the API's `state` string.
pub fn plan_state(raw: &str) -> PlanState {
    match raw {
        "Scheduled" => PlanState::Scheduled,
        "Failed" => PlanState::Failed,
        "ValidatingFailed" => PlanState::ValidatingFailed,
        "Executing" => PlanState::Executing,
        "Canceled" => PlanState::Canceled,
        "Executed" => PlanState::Executed,
        other => PlanState::Other(other.to_string()),
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

/// Maps the API's `type` string.
pub fn plan_type(raw: &str) -> PlanType {
    match raw {
        "CVE_FIX" => PlanType::CveFix,
        "CONTAINERD_UPGRADE" => PlanType::ContainerdUpgrade,
        "CLUSTER_UPGRADE_MASTER" => PlanType::ClusterUpgradeMaster,
        "CLUSTER_UPGRADE_ADDON" => PlanType::ClusterUpgradeAddon,
        "NODEPOOL_CONFIG" => PlanType::NodepoolConfig,
        "KUBELET_UPGRADE" => PlanType::KubeletUpgrade,
        "NODEPOOL_UPDATE_OS" => PlanType::NodepoolUpdateOs,
        "IMAGE_UPGRADE" => PlanType::ImageUpgrade,
        other => PlanType::Other(other.to_string()),
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

/// Maps the API's `target_type` string.
pub fn target_type(raw: &str) -> TargetType {
    match raw {
        "cluster" => TargetType::Cluster,
        "nodepool" => TargetType::Nodepool,
        "addon" => TargetType::Addon,
        other => TargetType::Other(other.to_string()),
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

/// A JSON value whose objects are checked for duplicate keys while parsing
/// (serde_json's own `Value` silently keeps the last one).
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut seen = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            if seen.insert(key.clone(), v).is_some() {
                return Err(de::Error::custom(format!("duplicate key \"{key}\"")));
            }
        }
        Ok(Value::Object(seen.into_iter().collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = include_str!("../../tests/fixtures/seed-sample-response.json");
    const MIXED: &str = include_str!("../../tests/fixtures/region-mixed-response.json");

    fn one(plan: &str) -> Result<Plan, ParseError> {
        parse_response(&format!("{{\"plans\":[{plan}]}}")).map(|mut v| v.remove(0))
    }

    const BASE: &str = r#""plan_id":"P-1","cluster_id":"c1","state":"Scheduled","type":"CVE_FIX""#;

    #[test]
    fn parses_the_documented_sample() {
        let plans = parse_response(SAMPLE).unwrap();
        assert_eq!(plans.len(), 1);
        let p = &plans[0];
        assert_eq!(p.plan_id, "P-655c9c127e0e6603ef00****");
        assert_eq!(p.cluster_id, "c29ced64b3dfe4f33b57ca0aa9f68****");
        assert_eq!(p.state, PlanState::Scheduled);
        assert_eq!(p.plan_type, PlanType::ClusterUpgradeMaster);
        assert_eq!(p.target_type, TargetType::Cluster);
        assert_eq!(p.start_time.as_ref().unwrap().epoch_seconds, 1_700_637_480);
        assert_eq!(p.end_time.as_ref().unwrap().epoch_seconds, 1_700_647_200);
        assert_eq!(p.task_id.as_deref(), Some("T-681ac448b23ced010600****"));
        assert_eq!(p.state_reason.as_ref().unwrap().code, "CanceledByUser");
        assert!(p.problems.is_empty());
    }

    #[test]
    fn parses_the_mixed_region_fixture() {
        let plans = parse_response(MIXED).unwrap();
        assert!(plans.len() >= 6);
        assert!(plans.iter().any(|p| p.state == PlanState::Executing));
        assert!(plans.iter().any(|p| p.state == PlanState::Canceled));
    }

    #[test]
    fn plans_missing_or_null_is_zero_plans() {
        assert!(parse_response("{}").unwrap().is_empty());
        assert!(parse_response(r#"{"plans":null}"#).unwrap().is_empty());
        assert!(parse_response(r#"{"plans":[]}"#).unwrap().is_empty());
    }

    #[test]
    fn error_bodies_and_miscased_plans_are_errors_not_zero_plans() {
        let e = parse_response(
            r#"{"code":"Forbidden.RAM","message":"no permission","requestId":"R-1"}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "response is an API error, not a list of plans: Forbidden.RAM: no permission (RequestId R-1)"
        );
        let e = parse_response(r#"{"Plans":[]}"#).unwrap_err();
        assert!(
            e.message.contains("field \"Plans\" but no \"plans\""),
            "{}",
            e.message
        );
        // A body with other fields and no plans is still zero plans.
        assert!(
            parse_response(r#"{"request_id":"R-2"}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn null_and_missing_optional_fields_are_the_same() {
        let a = one(&format!("{{{BASE}}}")).unwrap();
        let b = one(&format!(
            "{{{BASE},\"created\":null,\"start_time\":null,\"end_time\":null,\"state_reason\":null,\
             \"target_type\":null,\"target_id\":null,\"task_id\":null}}"
        ))
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.start_time, None);
        assert_eq!(a.target_type, TargetType::Other(String::new()));
    }

    #[test]
    fn unknown_enum_values_are_kept() {
        let p = one(
            r#"{"plan_id":"P-1","cluster_id":"c1","state":"Paused","type":"GPU_DRIVER_UPGRADE","target_type":"gpu"}"#,
        )
        .unwrap();
        assert_eq!(p.state, PlanState::Other("Paused".into()));
        assert_eq!(p.plan_type, PlanType::Other("GPU_DRIVER_UPGRADE".into()));
        assert_eq!(p.target_type, TargetType::Other("gpu".into()));
    }

    #[test]
    fn non_string_ids_are_errors_naming_plan_and_field() {
        let e = one(r#"{"plan_id":123,"cluster_id":"c1","state":"Scheduled","type":"CVE_FIX"}"#)
            .unwrap_err();
        assert_eq!(
            e.message,
            "plans[0]: field \"plan_id\" must be a string, found a number"
        );
        let e = one(r#"{"plan_id":"P-9","cluster_id":["c"],"state":"Scheduled","type":"CVE_FIX"}"#)
            .unwrap_err();
        assert_eq!(
            e.message,
            "plans[0] (plan P-9): field \"cluster_id\" must be a string, found an array"
        );
        let e = one(r#"{"cluster_id":"c","state":"Scheduled","type":"CVE_FIX"}"#).unwrap_err();
        assert_eq!(e.message, "plans[0]: field \"plan_id\" is missing");
        let e =
            one(r#"{"plan_id":"P-9","cluster_id":"c","state":null,"type":"CVE_FIX"}"#).unwrap_err();
        assert!(e.message.contains("\"state\" is missing"), "{}", e.message);
    }

    #[test]
    fn not_json_or_not_an_object_are_errors() {
        let e = parse_response("<html>502 Bad Gateway</html>").unwrap_err();
        assert!(
            e.message.starts_with("response is not valid JSON"),
            "{}",
            e.message
        );
        assert_eq!((e.line, e.column), (Some(1), Some(1)));
        let e = parse_response("[1,2]").unwrap_err();
        assert!(e.message.contains("found an array"), "{}", e.message);
        let e = parse_response(r#"{"plans":{"a":1}}"#).unwrap_err();
        assert!(
            e.message.contains("\"plans\" must be an array"),
            "{}",
            e.message
        );
        let e = parse_response(r#"{"plans":[1]}"#).unwrap_err();
        assert_eq!(e.message, "plans[0] must be an object, found a number");
        let e = parse_response("{\"plans\":[").unwrap_err();
        assert!(e.message.contains("EOF"), "{}", e.message);
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let e =
            parse_response("{\"plans\":[{\n\"plan_id\":\"a\",\n\"plan_id\":\"b\"}]}").unwrap_err();
        assert!(
            e.message.contains("duplicate key \"plan_id\""),
            "{}",
            e.message
        );
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let body = format!("{{\"x\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        let e = parse_response(&body).unwrap_err();
        assert!(e.message.contains("recursion limit"), "{}", e.message);
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let body = " ".repeat(MAX_BODY_BYTES as usize + 1);
        let e = parse_response(&body).unwrap_err();
        assert!(
            e.message.contains("over the 8388608 byte limit"),
            "{}",
            e.message
        );
    }

    #[test]
    fn bad_timestamps_are_plan_problems_not_errors() {
        let p = one(&format!(
            "{{{BASE},\"start_time\":\"2026-12-03T10:00:00\",\"end_time\":\"2026-02-30T10:00:00Z\",\"created\":5}}"
        ))
        .unwrap();
        assert_eq!(p.problems.len(), 3, "{:?}", p.problems);
        assert!(p.problems[0].starts_with("created: must be an RFC 3339 string"));
        assert!(p.problems[1].contains("no UTC offset"));
        assert!(p.problems[2].starts_with("end_time:"));
        assert_eq!(p.start_time, None);
    }

    #[test]
    fn end_before_start_is_a_plan_problem() {
        let p = one(&format!(
            "{{{BASE},\"start_time\":\"2026-12-03T10:00:00Z\",\"end_time\":\"2026-12-03T17:59:59+08:00\"}}"
        ))
        .unwrap();
        assert_eq!(
            p.problems,
            vec![
                "end_time 2026-12-03T17:59:59+08:00 is before start_time 2026-12-03T10:00:00+00:00"
            ]
        );
    }

    #[test]
    fn names_round_trip() {
        for raw in [
            "CVE_FIX",
            "CLUSTER_UPGRADE_MASTER",
            "IMAGE_UPGRADE",
            "NEW_THING",
        ] {
            assert_eq!(plan_type_name(&plan_type(raw)), raw);
        }
        for raw in ["Scheduled", "ValidatingFailed", "Executed", "Paused"] {
            assert_eq!(plan_state_name(&plan_state(raw)), raw);
        }
        for raw in ["cluster", "nodepool", "addon", "vm"] {
            assert_eq!(target_type_name(&target_type(raw)), raw);
        }
    }
}
