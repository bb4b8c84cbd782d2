//! `plangate check` end to end on saved responses.

use serde_json::Value;

use crate::support::{
    C1, C8, SAMPLE_PLAN, fixture, mixed, plangate, plangate_stdin, sample, temp_file,
};

fn check(response: &str, extra: &[&str]) -> crate::support::Run {
    let mut args = vec!["check", "--region", "cn-hangzhou", "--response", response];
    args.extend_from_slice(extra);
    plangate(&args)
}

fn rules(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["plan_id"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn sample_is_denied_in_text() {
    let r = check(
        &sample(),
        &["--at", "2023-11-22T15:00:00+08:00", "--duration", "1h"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let first = r.stdout.lines().next().unwrap();
    assert_eq!(
        first,
        "DENY  deploy to all clusters in cn-hangzhou, 2023-11-22T15:00:00+08:00 to 2023-11-22T16:00:00+08:00 (1h)"
    );
    assert!(
        r.stdout
            .contains("1 plan considered, 1 finding, policy: default"),
        "{r:?}"
    );
    let row = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("deny"))
        .unwrap();
    for cell in [
        "master-upgrade",
        SAMPLE_PLAN,
        "CLUSTER_UPGRADE_MASTER",
        "Scheduled",
        "c29ced64b3dfe4f33b57ca0aa9f68****",
        "2023-11-22T14:48:00+08:00 .. 2023-11-22T18:30:00+08:00",
    ] {
        assert!(row.contains(cell), "row lacks {cell}: {row}");
    }
    assert!(
        r.stdout.contains(
            "next clear start: 2023-11-22T18:30:00+08:00 (3h30m after the requested start)"
        ),
        "{r:?}"
    );
    assert!(!r.stdout.contains('\x1b'), "no colour when not a terminal");
    assert_eq!(r.stderr, "");
}

#[test]
fn sample_is_denied_in_json() {
    let r = check(
        &sample(),
        &[
            "--at",
            "2023-11-22T15:00:00+08:00",
            "--duration",
            "1h",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["schema_version"], 1);
    assert_eq!(j["verdict"], "deny");
    assert_eq!(j["exit_code"], 1);
    assert_eq!(j["regions"], serde_json::json!(["cn-hangzhou"]));
    assert_eq!(j["cluster_id"], Value::Null);
    assert_eq!(j["policy"], "default");
    assert_eq!(j["plans_considered"], 1);
    assert_eq!(j["deploy"]["start"], "2023-11-22T15:00:00+08:00");
    assert_eq!(j["deploy"]["end"], "2023-11-22T16:00:00+08:00");
    assert_eq!(j["deploy"]["duration_seconds"], 3600);
    assert_eq!(j["next_clear_start"], "2023-11-22T18:30:00+08:00");
    assert_eq!(j["horizon_seconds"], 14 * 86400);
    let f = &j["findings"][0];
    assert_eq!(f["rule"], "master-upgrade");
    assert_eq!(f["severity"], "deny");
    assert_eq!(f["plan_id"], SAMPLE_PLAN);
    assert_eq!(f["cluster_id"], "c29ced64b3dfe4f33b57ca0aa9f68****");
    assert_eq!(f["region"], "cn-hangzhou");
    assert_eq!(f["plan_type"], "CLUSTER_UPGRADE_MASTER");
    assert_eq!(f["state"], "Scheduled");
    assert_eq!(f["target_type"], "cluster");
    assert_eq!(f["conflict"]["start"], "2023-11-22T14:48:00+08:00");
    assert_eq!(f["conflict"]["end"], "2023-11-22T18:30:00+08:00");
    assert!(f["message"].as_str().unwrap().contains(SAMPLE_PLAN));
    assert_eq!(j["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn the_next_clear_start_is_allowed() {
    let r = check(
        &sample(),
        &[
            "--at",
            "2023-11-22T10:30:00Z",
            "--duration",
            "1h",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["verdict"], "allow");
    assert_eq!(j["findings"], serde_json::json!([]));
    assert_eq!(j["next_clear_start"], "2023-11-22T10:30:00+00:00");
    // One second earlier overlaps the margin.
    let r = check(
        &sample(),
        &["--at", "2023-11-22T10:29:59Z", "--duration", "1h"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    // Ending exactly where the margin starts (14:48+08 = 06:48Z) does not overlap.
    let r = check(
        &sample(),
        &["--at", "2023-11-22T05:48:00Z", "--duration", "1h"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("ALLOW"), "{r:?}");
}

#[test]
fn executing_plan_denies_its_cluster_with_no_clear_start() {
    let r = check(
        &mixed(),
        &[
            "--cluster",
            C8,
            "--at",
            "2026-12-03T10:00:00+08:00",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(
        rules(&j),
        [(
            "executing".to_string(),
            "P-6750a1c2e3f4a5b6c7d80003".to_string()
        )]
    );
    assert_eq!(j["next_clear_start"], Value::Null);
    assert_eq!(j["plans_considered"], 4);
    assert_eq!(j["cluster_id"], C8);
    let r = check(
        &mixed(),
        &["--cluster", C8, "--at", "2026-12-03T10:00:00+08:00"],
    );
    assert!(
        r.stdout.contains("next clear start: none within 14d"),
        "{r:?}"
    );
}

#[test]
fn maintenance_warns_but_allows() {
    let r = check(
        &mixed(),
        &[
            "--cluster",
            C1,
            "--at",
            "2026-12-03T18:30:00+08:00",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["verdict"], "warn");
    assert_eq!(
        rules(&j),
        [(
            "maintenance".to_string(),
            "P-6750a1c2e3f4a5b6c7d80006".to_string()
        )]
    );
    assert_eq!(j["findings"][0]["plan_type"], "CLUSTER_UPGRADE_ADDON");
    assert_eq!(j["next_clear_start"], "2026-12-03T18:30:00+08:00");
    let r = check(
        &mixed(),
        &["--cluster", C1, "--at", "2026-12-03T18:30:00+08:00"],
    );
    assert!(r.stdout.starts_with("WARN"), "{r:?}");
}

#[test]
fn canceled_master_upgrade_does_not_block() {
    // P-...0005 is a Canceled master upgrade 16:30-18:30 on C1.
    let r = check(
        &mixed(),
        &[
            "--cluster",
            C1,
            "--at",
            "2026-12-03T16:00:00+08:00",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["verdict"], "allow");
}

#[test]
fn region_wide_sees_every_cluster() {
    let r = check(
        &mixed(),
        &["--at", "2026-12-03T14:30:00+08:00", "--format", "json"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["plans_considered"], 8);
    // Deny findings come first, ordered by conflict start.
    assert_eq!(
        rules(&j),
        [
            (
                "executing".to_string(),
                "P-6750a1c2e3f4a5b6c7d80003".to_string()
            ),
            (
                "master-upgrade".to_string(),
                "P-6750a1c2e3f4a5b6c7d80001".to_string()
            ),
        ]
    );
    let r = check(&mixed(), &["--at", "2026-12-03T14:30:00+08:00"]);
    assert!(
        r.stdout.contains("CLUSTER"),
        "region-wide table shows the cluster: {r:?}"
    );
}

#[test]
fn response_from_stdin() {
    let body = std::fs::read(fixture("seed-sample-response.json")).unwrap();
    let r = plangate_stdin(
        &[
            "check",
            "--region",
            "cn-hangzhou",
            "--response",
            "-",
            "--at",
            "2023-11-22T15:00:00+08:00",
            "--format",
            "json",
        ],
        &body,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["findings"][0]["plan_id"], SAMPLE_PLAN);
}

#[test]
fn a_plan_with_a_bad_timestamp_denies_naming_it() {
    let f = temp_file(
        br#"{"plans":[{"plan_id":"P-bad","cluster_id":"c1","state":"Scheduled","type":"CVE_FIX",
        "start_time":"2026-12-03T12:00:00","end_time":"2026-12-03T13:00:00Z"}]}"#,
    );
    let r = check(
        f.path().to_str().unwrap(),
        &["--at", "2027-01-01T00:00:00Z", "--format", "json"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(
        rules(&j),
        [("invalid-plan".to_string(), "P-bad".to_string())]
    );
    assert!(
        j["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("start_time")
    );
}

#[test]
fn malformed_responses_exit_2_saying_where() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"{\"plans\": [\n  {\"plan_id\": }\n]}",
            "at line 2 column 15",
        ),
        (b"<html>502</html>", "not valid JSON"),
        (b"[]", "must be a JSON object"),
        (b"", "EOF while parsing"),
        (
            br#"{"plans":[{"plan_id":7,"cluster_id":"c","state":"Scheduled","type":"CVE_FIX"}]}"#,
            "plans[0]: field \"plan_id\" must be a string, found a number",
        ),
        (
            br#"{"plans":[{"plan_id":"P","plan_id":"Q"}]}"#,
            "duplicate key \"plan_id\"",
        ),
        (br#"{"plans":"none"}"#, "\"plans\" must be an array"),
        (b"\xff\xfe{}", "not UTF-8"),
    ];
    for (body, expected) in cases {
        let f = temp_file(body);
        let r = check(
            f.path().to_str().unwrap(),
            &["--at", "2026-12-03T10:00:00Z"],
        );
        assert_eq!(r.code, 2, "{r:?}");
        assert_eq!(r.stdout, "", "nothing on stdout when undecided: {r:?}");
        assert!(r.stderr.starts_with("error: "), "{r:?}");
        assert!(
            r.stderr.contains(expected),
            "expected {expected:?} in {r:?}"
        );
    }
}

#[test]
fn deep_nesting_and_huge_bodies_are_refused() {
    let deep = format!("{{\"plans\":{}{}}}", "[".repeat(50_000), "]".repeat(50_000));
    let r = plangate_stdin(
        &["check", "--region", "cn-hangzhou", "--response", "-"],
        deep.as_bytes(),
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("recursion limit exceeded"), "{r:?}");

    let huge = vec![b' '; 9 * 1024 * 1024];
    let r = plangate_stdin(
        &["check", "--region", "cn-hangzhou", "--response", "-"],
        &huge,
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("larger than the 8388608 byte limit"),
        "{r:?}"
    );
}

#[test]
fn bad_flags_exit_2_with_a_hint() {
    let s = sample();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--at", "2026-12-03T10:00:00"],
            "not an RFC 3339 instant with an offset",
        ),
        (&["--at", "tomorrow"], "not an RFC 3339 instant"),
        (
            &["--duration", "forever"],
            "--duration \"forever\" is not a duration",
        ),
        (&["--duration", "0s"], "--duration must be longer than zero"),
        (
            &["--duration", "1ns"],
            "--duration must be at least one second",
        ),
        (
            &["--at", "2026-12-03 15:00:00+08:00"],
            "write a 'T' between date and time",
        ),
        (&["--cluster", ""], "must not be empty"),
        (&["--horizon=-3d"], "--horizon"),
        (&["--format", "yaml"], "invalid value 'yaml'"),
    ];
    for (extra, expected) in cases {
        let r = check(&s, extra);
        assert_eq!(r.code, 2, "{extra:?}: {r:?}");
        assert!(
            r.stderr.contains(expected),
            "{extra:?}: expected {expected:?} in {r:?}"
        );
    }
    let r = plangate(&["check", "--region", "CN Beijing", "--response", &s]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("hint: region ids look like cn-beijing"),
        "{r:?}"
    );
    let r = plangate(&["check", "--response", &s]);
    assert_eq!(r.code, 2, "missing --region: {r:?}");
    let r = plangate(&[
        "check",
        "--region",
        "cn-hangzhou",
        "--response",
        "/nonexistent/plans.json",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("cannot open response file /nonexistent/plans.json"),
        "{r:?}"
    );
    assert!(r.stderr.contains("hint: "), "{r:?}");
    let r = plangate(&["check", "--region", "cn-hangzhou"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = plangate(&["frobnicate"]);
    assert_eq!(r.code, 2, "{r:?}");
    let r = plangate(&["--help"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("Exit codes: 0 allow"), "{r:?}");
}

#[test]
fn fail_open_allows_unreadable_plans_loudly_but_never_a_bad_policy() {
    let f = temp_file(b"not json");
    let r = check(f.path().to_str().unwrap(), &["--fail-open"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("ALLOW (FAIL-OPEN)"), "{r:?}");
    assert!(r.stderr.contains("FAIL-OPEN"), "{r:?}");
    let r = check(
        f.path().to_str().unwrap(),
        &["--fail-open", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["fail_open"], true);
    assert_eq!(j["verdict"], "allow");
    assert!(j["error"].as_str().unwrap().contains("not valid JSON"));

    let policy = temp_file(b"version = 1\n[[rule]]\nkind = \"nope\"\n");
    let r = check(
        &sample(),
        &["--fail-open", "--policy", policy.path().to_str().unwrap()],
    );
    assert_eq!(r.code, 2, "{r:?}");
    let r = check(&sample(), &["--fail-open", "--duration", "zzz"]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn policies_from_files() {
    let policy = temp_file(b"version = 1\n[[rule]]\nkind = \"plan-window\"\nname = \"strict\"\nmargin_before = \"2h\"\n");
    let p = policy.path().to_str().unwrap();
    // 13:18 local is 2h before the sample plan's start (15:18): a 1h deploy at 12:30 now overlaps.
    let r = check(
        &sample(),
        &[
            "--at",
            "2023-11-22T12:30:00+08:00",
            "--policy",
            p,
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(rules(&j), [("strict".to_string(), SAMPLE_PLAN.to_string())]);
    assert_eq!(j["policy"], p);
    assert_eq!(
        j["findings"][0]["conflict"]["start"],
        "2023-11-22T13:18:00+08:00"
    );

    let bad = temp_file(
        b"version = 1\n[[rule]]\nkind = \"plan-window\"\nname = \"x\"\nmargin_before = \"soon\"\n",
    );
    let r = check(&sample(), &["--policy", bad.path().to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("rule 1 (x): field margin_before"),
        "{r:?}"
    );
}

#[test]
fn policy_default_round_trips_through_policy_check() {
    let r = plangate(&["policy", "default"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("name = \"master-upgrade\""), "{r:?}");
    let f = temp_file(r.stdout.as_bytes());
    let r = plangate(&["policy", "check", f.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .ends_with("valid, 3 rules: master-upgrade, executing, maintenance\n"),
        "{r:?}"
    );
    let bad = temp_file(b"version = 1\n[[rule]]\nkind = \"freeze-ish\"\n");
    let r = plangate(&["policy", "check", bad.path().to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("unknown kind \"freeze-ish\""), "{r:?}");
}

#[test]
fn duplicate_plan_ids_in_one_body_are_all_judged() {
    // A Canceled copy first must not hide the Executing master upgrade behind it.
    let f = temp_file(
        br#"{"plans":[
        {"plan_id":"P-1","cluster_id":"c1","state":"Canceled","type":"CLUSTER_UPGRADE_MASTER","start_time":"2026-12-03T06:00:00Z","end_time":"2026-12-03T08:00:00Z"},
        {"plan_id":"P-1","cluster_id":"c1","state":"Executing","type":"CLUSTER_UPGRADE_MASTER","start_time":"2026-12-03T06:00:00Z","end_time":"2026-12-03T08:00:00Z"}]}"#,
    );
    let r = check(
        f.path().to_str().unwrap(),
        &["--at", "2026-12-03T07:00:00Z", "--format", "json"],
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["plans_considered"], 2);
    assert_eq!(
        rules(&j),
        [
            ("master-upgrade".to_string(), "P-1".to_string()),
            ("executing".to_string(), "P-1".to_string())
        ]
    );
}

#[test]
fn api_error_bodies_and_unknown_clusters_are_not_silently_allowed() {
    let f = temp_file(br#"{"code":"Forbidden.RAM","message":"no permission","requestId":"R-9"}"#);
    let r = check(f.path().to_str().unwrap(), &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("response is an API error, not a list of plans: Forbidden.RAM: no permission (RequestId R-9)"),
        "{r:?}"
    );
    let r = check(
        &mixed(),
        &["--cluster", "c-typo", "--at", "2026-12-03T10:00:00+08:00"],
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stderr
            .contains("warning: none of the 8 plans is for cluster c-typo"),
        "{r:?}"
    );
}

#[test]
fn a_mistyped_response_path_never_fails_open() {
    let r = check("/nonexistent/plans.json", &["--fail-open"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("cannot open response file /nonexistent/plans.json"),
        "{r:?}"
    );
}

#[test]
fn text_from_the_api_cannot_drive_the_terminal() {
    let f = temp_file(
        b"{\"plans\":[{\"plan_id\":\"P-\\u001b[2J\\u0007evil\",\"cluster_id\":\"c1\",\"state\":\"Executing\",\"type\":\"CVE_FIX\"}]}",
    );
    let r = check(f.path().to_str().unwrap(), &["--color", "never"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        !r.stdout.contains('\x1b') && !r.stdout.contains('\x07'),
        "{r:?}"
    );
    assert!(r.stdout.contains("P-\\u{1b}[2J\\u{7}evil"), "{r:?}");
}

#[test]
fn closed_or_full_stdout_is_not_a_panic() {
    use std::process::{Command, Stdio};
    // A reader that goes away (`| head`): the exit code still tells the answer.
    let mut child = Command::new(env!("CARGO_BIN_EXE_plangate"))
        .args(["policy", "default"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A full disk loses the report: exit 2, never the verdict's code.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_plangate"))
        .args([
            "check",
            "--region",
            "cn-hangzhou",
            "--at",
            "2023-11-22T15:00:00+08:00",
            "--response",
        ])
        .arg(fixture("seed-sample-response.json"))
        .env("PLANGATE_CACHE_DIR", crate::support::cache_dir())
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write to standard output"));
}
