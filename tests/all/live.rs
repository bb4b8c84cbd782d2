//! Live mode end to end: the real binary against loopback mocks of ACK, STS and the ECS metadata
//! service. The mock ACK endpoint verifies every signature with its own code (mock_ack.rs).
//!
//! Every run has a cleared environment, HOME in a temporary directory, and either a mock
//! metadata service or ALIBABA_CLOUD_ECS_METADATA_DISABLED=true: nothing leaves 127.0.0.1.

use std::collections::HashMap;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::mock_ack::{Fault, Key, MockAck, fixture_plans, hand_signed_request};
use crate::mock_http::{Reply, Server, decode_form, send_raw};
use crate::support::{Run, fixture, temp_file};

const AK: &str = "LTAI5tPlangateTestKeyId";
const SK: &str = "Sk-plangate-secret-8f14e45fceea167a";
const REGION: &str = "cn-hangzhou";
/// `region-mixed-response.json` at this instant: an Executing plan and a master upgrade deny.
const MIXED_AT: &str = "2026-12-03T14:30:00+08:00";
const C8: &str = "c8f3a1b2c3d4e5f60718293a4b5c6d7e8";

/// Runs the binary with only PATH, a temporary HOME, fast retries and `env`.
fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_plangate"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("PLANGATE_RETRY_BASE_MS", "5")
        // A shared cache of the compiled component (the fresh HOME would start cold each run).
        .env(
            "PLANGATE_CACHE_DIR",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("live-component-cache"),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !env.iter().any(|(k, _)| *k == "ALIBABA_CLOUD_IMDS_ENDPOINT") {
        cmd.env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn plangate");
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("plangate {args:?} did not finish in 60 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().expect("plangate was killed by a signal"),
        stdout: out_reader.join().unwrap(),
        stderr: err_reader.join().unwrap(),
    }
}

/// The environment for static keys.
fn keys_env(ak: &'static str, sk: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ak),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", sk),
    ]
}

/// `check --region R --endpoint MOCK ARGS`.
fn check(mock_url: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["check", "--region", REGION, "--endpoint", mock_url];
    args.extend_from_slice(extra);
    run(&args, env)
}

/// The same check on a saved body.
fn check_saved(body_file: &str, extra: &[&str]) -> Run {
    let mut args = vec!["check", "--region", REGION, "--response", body_file];
    args.extend_from_slice(extra);
    run(&args, &[])
}

fn assert_no_secrets(r: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(!r.stdout.contains(s), "secret {s:?} in stdout: {r:?}");
        assert!(!r.stderr.contains(s), "secret {s:?} in stderr: {r:?}");
    }
}

fn states(mock: &MockAck) -> Vec<Option<String>> {
    mock.seen()
        .iter()
        .map(|s| s.param("state").map(str::to_string))
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn live_verdict_matches_the_saved_response_verdict() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    let mixed = fixture("region-mixed-response.json").display().to_string();
    for cluster in [None, Some(C8)] {
        let mut extra = vec!["--at", MIXED_AT, "--format", "json"];
        if let Some(c) = cluster {
            extra.extend(["--cluster", c]);
        }
        let before = mock.seen().len();
        let live = check(&mock.url(), &extra, &keys_env(AK, SK));
        let saved = check_saved(&mixed, &extra);
        assert_eq!(live.code, 1, "{live:?}");
        assert_eq!(live.code, saved.code);
        assert_eq!(live.json(), saved.json(), "live {live:?}\nsaved {saved:?}");
        assert_eq!(live.stderr, "");

        let seen = &mock.seen()[before..];
        assert_eq!(seen.len(), 3, "three queries per region");
        let asked: Vec<_> = seen
            .iter()
            .map(|s| s.param("state").map(str::to_string))
            .collect();
        assert_eq!(asked, [s("Executing"), s("Scheduled"), None]);
        for q in seen {
            assert_eq!(q.status, 200, "{q:?}");
            assert_eq!(q.request.path, "/regions/cn-hangzhou/operation/plans");
            assert_eq!(q.param("cluster_id"), cluster, "{:?}", q.query);
            assert_eq!(
                q.request.header("x-acs-action"),
                Some("ListOperationPlansForRegion")
            );
            assert_eq!(q.request.header("x-acs-version"), Some("2015-12-15"));
            assert_eq!(q.request.header("x-acs-security-token"), None);
        }
    }
    let nonces: std::collections::HashSet<_> =
        mock.seen().iter().map(|s| s.nonce().to_string()).collect();
    assert_eq!(nonces.len(), 6, "a fresh nonce per request");
}

/// Builds `n` plans in `state`, created one minute apart after `base_created`.
fn burst(n: usize, state: &str, base_created: &str) -> Vec<Value> {
    let base = chrono::DateTime::parse_from_rfc3339(base_created).unwrap();
    (0..n)
        .map(|i| {
            let created = base + chrono::Duration::minutes(i as i64 + 1);
            json!({
                "plan_id": format!("P-burst-{i:04}"),
                "cluster_id": format!("c-burst-{:02}", i % 7),
                "created": created.to_rfc3339(),
                "start_time": "2023-11-20T01:00:00+08:00",
                "end_time": "2023-11-20T02:00:00+08:00",
                "state": state,
                "type": "NODEPOOL_UPDATE_OS",
                "target_type": "nodepool",
                "target_id": format!("np-{i}"),
                "task_id": ""
            })
        })
        .collect()
}

#[test]
fn a_burst_of_newer_plans_cannot_hide_a_scheduled_master_upgrade() {
    // The sample's Scheduled master upgrade, then 120 newer Executed plans: one unfiltered call
    // (the 100 newest) would not contain it.
    let mut plans = fixture_plans("seed-sample-response.json");
    let executed = burst(120, "Executed", "2023-11-21T20:05:00+08:00");
    plans.extend(executed.iter().cloned());
    let mock = MockAck::start(vec![Key::new(AK, SK)], plans);
    let extra = ["--at", "2023-11-22T15:00:00+08:00", "--format", "json"];
    let live = check(&mock.url(), &extra, &keys_env(AK, SK));
    assert_eq!(live.code, 1, "{live:?}");
    let j = live.json();
    assert_eq!(j["verdict"], "deny");
    assert_eq!(j["findings"][0]["rule"], "master-upgrade");
    assert_eq!(j["findings"][0]["plan_id"], "P-655c9c127e0e6603ef00****");
    assert_eq!(j["plans_considered"], 101, "1 Scheduled + the 100 newest");

    // What a single unfiltered call returns: the 100 newest, all Executed. It allows.
    let newest: Vec<Value> = executed[20..].to_vec();
    let one_call = temp_file(json!({ "plans": newest }).to_string().as_bytes());
    let naive = check_saved(one_call.path().to_str().unwrap(), &extra);
    assert_eq!(naive.code, 0, "{naive:?}");
    assert_eq!(naive.json()["verdict"], "allow");
}

#[test]
fn a_full_filtered_answer_is_not_trusted() {
    let plans = burst(130, "Scheduled", "2023-11-21T20:05:00+08:00");
    let mock = MockAck::start(vec![Key::new(AK, SK)], plans);
    let r = check(
        &mock.url(),
        &["--at", "2023-11-22T15:00:00+08:00"],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.contains("state=Scheduled returned 100 plans"),
        "{r:?}"
    );
    assert!(r.stderr.contains("hint: pass --cluster"), "{r:?}");
}

#[test]
fn regions_are_fetched_concurrently_and_merged() {
    let mut regions = HashMap::new();
    regions.insert(
        "cn-shanghai".to_string(),
        fixture_plans("seed-sample-response.json"),
    );
    let mock = MockAck::with_regions(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
        regions,
    );
    // Every answer takes 150 ms, so regions fetched one after the other never overlap.
    mock.fault(&[Fault::Slow(Duration::from_millis(150)); 6]);
    let r = run(
        &[
            "check",
            "--region",
            "cn-hangzhou,cn-shanghai",
            "--endpoint",
            &mock.url(),
            "--at",
            MIXED_AT,
            "--format",
            "json",
        ],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["regions"], json!(["cn-hangzhou", "cn-shanghai"]));
    assert_eq!(
        j["plans_considered"], 9,
        "8 in cn-hangzhou + 1 in cn-shanghai"
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 6);
    for region in ["cn-hangzhou", "cn-shanghai"] {
        let path = format!("/regions/{region}/operation/plans");
        assert_eq!(seen.iter().filter(|s| s.request.path == path).count(), 3);
    }
    assert!(
        mock.max_in_flight() >= 2,
        "regions were fetched one at a time"
    );
}

#[test]
fn throttling_is_retried_with_a_fresh_signature_honouring_retry_after() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    mock.fault(&[
        // Throttling with a 400 status: recognised by its Code.
        Fault::Error {
            status: 400,
            code: "Throttling.User",
            retry_after: Some("120"),
        },
        Fault::error(429, "Throttling.Api"),
    ]);
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--format", "json", "-v"],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["verdict"], "deny");
    let seen = mock.seen();
    assert_eq!(seen.len(), 5, "3 queries + 2 retries");
    assert_eq!(
        states(&mock),
        [
            s("Executing"),
            s("Executing"),
            s("Executing"),
            s("Scheduled"),
            None
        ]
    );
    let codes: Vec<_> = seen.iter().map(|s| s.code.clone()).collect();
    assert_eq!(
        codes[..3],
        [s("Throttling.User"), s("Throttling.Api"), None]
    );
    // Each attempt was signed anew: new nonce, new signature (the mock refuses reused nonces).
    assert_ne!(seen[0].nonce(), seen[1].nonce());
    assert_ne!(seen[1].signature(), seen[2].signature());
    assert!(
        r.stderr.contains("attempt 1/4: 400 Throttling.User"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("attempt 2/4: 429 Throttling.Api"),
        "{r:?}"
    );
    assert!(r.stderr.contains("attempt 3/4: 200"), "{r:?}");
    // x-acs-retry-after: 120 (milliseconds) raised the first wait above the 5 ms base.
    let first_wait: u64 = r
        .stderr
        .lines()
        .find(|l| l.contains("attempt 1/4"))
        .and_then(|l| l.rsplit("retrying in ").next())
        .and_then(|t| t.trim_end_matches(" ms").parse().ok())
        .unwrap();
    assert!((120..1000).contains(&first_wait), "{first_wait} ms: {r:?}");
    assert_no_secrets(&r, &[SK]);
}

#[test]
fn server_errors_are_retried() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    mock.fault(&[
        Fault::error(500, "InternalError"),
        Fault::Body(503, "<html>Service Unavailable</html>"),
    ]);
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--format", "json"],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["plans_considered"], 8);
    assert_eq!(mock.seen().len(), 5);
}

#[test]
fn exhausted_retries_fail_closed_or_open_loudly() {
    for fail_open in [false, true] {
        let mock = MockAck::start(
            vec![Key::new(AK, SK)],
            fixture_plans("region-mixed-response.json"),
        );
        mock.fault(&[Fault::error(503, "ServiceUnavailable"); 4]);
        let mut extra = vec!["--at", MIXED_AT, "--format", "json"];
        if fail_open {
            extra.push("--fail-open");
        }
        let r = check(&mock.url(), &extra, &keys_env(AK, SK));
        assert_eq!(mock.seen().len(), 4, "4 attempts, then no further queries");
        assert!(
            r.stderr.contains(
                "ListOperationPlansForRegion cn-hangzhou state=Executing failed \
                 (gave up after 4 attempts)"
            ),
            "{r:?}"
        );
        assert!(
            r.stderr.contains(
                "HTTP 503, Code ServiceUnavailable, Message injected ServiceUnavailable, \
                 RequestId MOCK-REQ-4"
            ),
            "{r:?}"
        );
        if fail_open {
            assert_eq!(r.code, 0, "{r:?}");
            let j = r.json();
            assert_eq!(j["fail_open"], true);
            assert_eq!(j["verdict"], "allow");
            assert!(r.stderr.contains("FAIL-OPEN"), "{r:?}");
        } else {
            assert_eq!(r.code, 2, "{r:?}");
            assert_eq!(r.stdout, "");
        }
    }
}

#[test]
fn refusals_are_not_retried_and_not_failed_open() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    // A wrong secret: the mock's own verification says SignatureDoesNotMatch.
    let r = check(
        &mock.url(),
        &["--fail-open", "-v"],
        &keys_env(AK, "not-the-right-secret"),
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "");
    assert_eq!(mock.seen().len(), 1, "no retry");
    assert_eq!(
        mock.seen()[0].code.as_deref(),
        Some("SignatureDoesNotMatch")
    );
    assert!(r.stderr.contains("was refused"), "{r:?}");
    assert!(
        r.stderr
            .contains("HTTP 400, Code SignatureDoesNotMatch, Message Specified signature"),
        "{r:?}"
    );
    assert!(r.stderr.contains("RequestId MOCK-REQ-1"), "{r:?}");
    assert!(r.stderr.contains("hint: the AccessKey secret"), "{r:?}");
    assert!(!r.stderr.contains("FAIL-OPEN"), "{r:?}");
    assert_no_secrets(&r, &["not-the-right-secret"]);

    // An unknown key: 404 with a Code that says why.
    let r = check(&mock.url(), &["--fail-open"], &keys_env("LTAIunknown", SK));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(mock.seen().len(), 2);
    assert!(
        r.stderr
            .contains("HTTP 404, Code InvalidAccessKeyId.NotFound"),
        "{r:?}"
    );

    // RAM permission and clock skew, with their hints.
    mock.fault(&[
        Fault::error(403, "Forbidden.RAM"),
        Fault::error(400, "InvalidTimeStamp.Expired"),
    ]);
    let r = check(&mock.url(), &["--fail-open"], &keys_env(AK, SK));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(mock.seen().len(), 3);
    assert!(
        r.stderr.contains(
            "HTTP 403, Code Forbidden.RAM, Message injected Forbidden.RAM, RequestId MOCK-REQ-3"
        ),
        "{r:?}"
    );
    assert!(r.stderr.contains("cs:ListOperationPlansForRegion"), "{r:?}");
    let r = check(&mock.url(), &["--fail-open"], &keys_env(AK, SK));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(mock.seen().len(), 4);
    assert!(r.stderr.contains("Code InvalidTimeStamp.Expired"), "{r:?}");
    assert!(r.stderr.contains("clock"), "{r:?}");
}

#[test]
fn slow_responses_time_out_and_are_retried() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    mock.fault(&[Fault::Slow(Duration::from_millis(900))]);
    let mut env = keys_env(AK, SK);
    env.push(("PLANGATE_READ_TIMEOUT_MS", "300"));
    let started = Instant::now();
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--format", "json", "-v"],
        &env,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        mock.seen().len(),
        4,
        "the slow attempt, its retry, two more queries"
    );
    assert!(r.stderr.contains("attempt 1/4: error: timeout"), "{r:?}");
    assert!(r.stderr.contains("attempt 2/4: 200"), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn truncated_bodies_fail_closed_after_retries() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    mock.fault(&[Fault::Truncate; 4]);
    let r = check(&mock.url(), &["--at", MIXED_AT], &keys_env(AK, SK));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(mock.seen().len(), 4);
    assert!(r.stderr.contains("gave up after 4 attempts"), "{r:?}");
    assert!(
        r.stderr
            .contains("caused by: the connection closed before the whole response arrived"),
        "{r:?}"
    );

    mock.fault(&[Fault::Truncate; 4]);
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--fail-open"],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("ALLOW (FAIL-OPEN)"), "{r:?}");
}

#[test]
fn non_json_bodies_fail_closed() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    mock.fault(&[Fault::Body(200, "<html>maintenance</html>")]);
    let r = check(&mock.url(), &["--at", MIXED_AT], &keys_env(AK, SK));
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(mock.seen().len(), 3, "a 200 is not retried");
    assert!(
        r.stderr
            .contains("the ACK response for cn-hangzhou state=Executing"),
        "{r:?}"
    );
    assert!(r.stderr.contains("not valid JSON"), "{r:?}");

    mock.fault(&[Fault::Body(200, "<html>maintenance</html>")]);
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--fail-open", "--format", "json"],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.json()["fail_open"], true);
}

#[test]
fn sts_credentials_from_the_environment_are_signed_and_never_shown() {
    let token = "CAIS-sts-token-value-5b2f9a";
    let mock = MockAck::start(
        vec![Key::sts("STS.TmpKeyId", "tmp-secret-1a2b3c", token)],
        fixture_plans("region-mixed-response.json"),
    );
    let env = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.TmpKeyId"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "tmp-secret-1a2b3c"),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", token),
    ];
    let r = check(&mock.url(), &["--at", MIXED_AT, "-v", "-v"], &env);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "credentials: environment (ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_SECURITY_TOKEN)"
        ),
        "{r:?}"
    );
    assert_eq!(
        mock.seen()[0].request.header("x-acs-security-token"),
        Some(token)
    );
    assert_no_secrets(&r, &["tmp-secret-1a2b3c", token]);

    // The legacy names work too.
    let legacy = [
        ("ALICLOUD_ACCESS_KEY", "STS.TmpKeyId"),
        ("ALICLOUD_SECRET_KEY", "tmp-secret-1a2b3c"),
        ("ALICLOUD_SECURITY_TOKEN", token),
    ];
    let r = check(&mock.url(), &["--at", MIXED_AT], &legacy);
    assert_eq!(r.code, 1, "{r:?}");
}

fn mock_sts(
    oidc_token: &'static str,
    id: &'static str,
    secret: &'static str,
    token: &'static str,
    lifetime: chrono::Duration,
) -> Server {
    Server::start(move |req| {
        let form: HashMap<String, String> = decode_form(&String::from_utf8_lossy(&req.body))
            .into_iter()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str);
        let ok = req.method == "POST"
            && req.path == "/"
            && req.header("content-type") == Some("application/x-www-form-urlencoded")
            && field("Action") == Some("AssumeRoleWithOIDC")
            && field("Format") == Some("JSON")
            && field("Version") == Some("2015-04-01")
            && field("Timestamp").is_some_and(|t| t.ends_with('Z'))
            && field("RoleArn") == Some("acs:ram::1234:role/plangate")
            && field("OIDCProviderArn") == Some("acs:ram::1234:oidc-provider/ack-rrsa")
            && field("RoleSessionName") == Some("ci-gate")
            && field("OIDCToken") == Some(oidc_token);
        if !ok {
            return Reply::json(
                400,
                &json!({"Code": "AuthenticationFail.OIDCToken.Invalid", "Message": "bad", "RequestId": "STS-1"}),
            );
        }
        let expiration = (chrono::Utc::now() + lifetime)
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        Reply::json(
            200,
            &json!({
                "RequestId": "STS-OK",
                "Credentials": {
                    "AccessKeyId": id,
                    "AccessKeySecret": secret,
                    "SecurityToken": token,
                    "Expiration": expiration
                },
                "AssumedRoleUser": {"Arn": "acs:ram::1234:role/plangate/ci-gate", "AssumedRoleId": "1"}
            }),
        )
    })
}

#[test]
fn oidc_role_is_assumed_through_sts() {
    let oidc = "eyJhbGciOiJSUzI1NiJ9.oidc-token-body.sig";
    let (id, secret, token) = ("STS.FromOidc", "oidc-tmp-secret-77", "oidc-sts-token-88");
    let sts = mock_sts(oidc, id, secret, token, chrono::Duration::hours(1));
    let mock = MockAck::start(
        vec![Key::sts(id, secret, token)],
        fixture_plans("region-mixed-response.json"),
    );
    let token_file = temp_file(format!("{oidc}\n").as_bytes());
    let sts_url = sts.url();
    let env = [
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1234:role/plangate"),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1234:oidc-provider/ack-rrsa",
        ),
        (
            "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
            token_file.path().to_str().unwrap(),
        ),
        ("ALIBABA_CLOUD_ROLE_SESSION_NAME", "ci-gate"),
        ("ALIBABA_CLOUD_STS_ENDPOINT", sts_url.as_str()),
    ];
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--format", "json", "-v"],
        &env,
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.json()["plans_considered"], 8);
    assert_eq!(
        sts.seen().len(),
        1,
        "assumed once, reused for the three queries"
    );
    assert_eq!(mock.seen().len(), 3);
    assert!(
        r.stderr
            .contains(&format!("POST {sts_url}/ attempt 1/4: 200")),
        "{r:?}"
    );
    assert_no_secrets(&r, &[oidc, secret, token]);

    // Credentials that expire within 5 minutes are fetched again before each use.
    let short = mock_sts(oidc, id, secret, token, chrono::Duration::minutes(3));
    let short_url = short.url();
    let mut env_short = env.to_vec();
    env_short[4] = ("ALIBABA_CLOUD_STS_ENDPOINT", short_url.as_str());
    let r = check(&mock.url(), &["--at", MIXED_AT], &env_short);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(short.seen().len(), 3, "refreshed for every query");
    assert_eq!(mock.seen().len(), 6);

    // A token STS refuses: a configuration error, even with --fail-open.
    let bad = temp_file(b"some-other-token");
    let mut env = env.to_vec();
    env[2] = (
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        bad.path().to_str().unwrap(),
    );
    let r = check(&mock.url(), &["--fail-open"], &env);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("STS AssumeRoleWithOIDC for acs:ram::1234:role/plangate was refused"),
        "{r:?}"
    );
    assert!(
        r.stderr
            .contains("Code AuthenticationFail.OIDCToken.Invalid"),
        "{r:?}"
    );
    assert_eq!(mock.seen().len(), 6, "ACK was not called");
    assert_no_secrets(&r, &["some-other-token"]);
}

#[test]
fn aliyun_cli_profiles_and_the_credentials_ini() {
    let mock = MockAck::start(
        vec![
            Key::new("LTAIdefaultProfile", "cli-default-secret"),
            Key::sts("STS.workProfile", "cli-work-secret", "cli-work-token"),
            Key::new("LTAIiniKey", "ini-secret"),
        ],
        fixture_plans("region-mixed-response.json"),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        json!({
            "current": "default",
            "profiles": [
                {"name": "default", "mode": "AK", "access_key_id": "LTAIdefaultProfile",
                 "access_key_secret": "cli-default-secret", "region_id": "cn-hangzhou"},
                {"name": "work", "mode": "StsToken", "access_key_id": "STS.workProfile",
                 "access_key_secret": "cli-work-secret", "sts_token": "cli-work-token"}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let secrets = [
        "cli-default-secret",
        "cli-work-secret",
        "cli-work-token",
        "ini-secret",
    ];

    // The file's current profile.
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "-v"],
        &[("ALIBABA_CLOUD_CONFIG_FILE", cfg)],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr
            .contains("credentials: aliyun CLI profile \"default\""),
        "{r:?}"
    );
    assert_no_secrets(&r, &secrets);
    // --profile picks another one (an STS token: signed and sent).
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--profile", "work", "-v"],
        &[("ALIBABA_CLOUD_CONFIG_FILE", cfg)],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(
        mock.seen()
            .last()
            .unwrap()
            .request
            .header("x-acs-security-token"),
        Some("cli-work-token")
    );
    assert_no_secrets(&r, &secrets);
    // A missing profile is a configuration error.
    let r = check(
        &mock.url(),
        &["--profile", "nope", "--fail-open"],
        &[("ALIBABA_CLOUD_CONFIG_FILE", cfg)],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("has no profile \"nope\" (profiles: default, work)"),
        "{r:?}"
    );

    // The credentials INI file.
    let ini = temp_file(
        b"[default]\ntype = access_key\naccess_key_id = LTAIiniKey\naccess_key_secret = ini-secret\n",
    );
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "-v"],
        &[(
            "ALIBABA_CLOUD_CREDENTIALS_FILE",
            ini.path().to_str().unwrap(),
        )],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("credentials: section [default] of"),
        "{r:?}"
    );
    assert_no_secrets(&r, &secrets);
    let ids: Vec<String> = mock
        .seen()
        .iter()
        .map(|s| {
            let auth = s.request.header("authorization").unwrap();
            auth.split("Credential=")
                .nth(1)
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 9);
    assert!(ids[..3].iter().all(|i| i == "LTAIdefaultProfile"));
    assert!(ids[3..6].iter().all(|i| i == "STS.workProfile"));
    assert!(ids[6..].iter().all(|i| i == "LTAIiniKey"));
}

#[test]
fn ecs_ram_role_from_the_metadata_service() {
    let (id, secret, token) = ("STS.EcsRoleKey", "ecs-tmp-secret-31", "ecs-sts-token-41");
    let session = "imds-session-token-59";
    let imds = Server::start(move |req| {
        let authed = req.header("X-aliyun-ecs-metadata-token") == Some(session);
        match (req.method.as_str(), req.path.as_str()) {
            ("PUT", "/latest/api/token")
                if req
                    .header("X-aliyun-ecs-metadata-token-ttl-seconds")
                    .is_some() =>
            {
                Reply::new(200, "text/plain", session)
            }
            (_, _) if !authed => Reply::new(401, "text/plain", "token required"),
            ("GET", "/latest/meta-data/ram/security-credentials/") => {
                Reply::new(200, "text/plain", "plangate-role")
            }
            ("GET", "/latest/meta-data/ram/security-credentials/plangate-role") => Reply::json(
                200,
                &json!({
                    "AccessKeyId": id,
                    "AccessKeySecret": secret,
                    "SecurityToken": token,
                    "Expiration": (chrono::Utc::now() + chrono::Duration::hours(6))
                        .format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "LastUpdated": "2026-12-03T00:00:00Z",
                    "Code": "Success"
                }),
            ),
            _ => Reply::new(404, "text/plain", "not found"),
        }
    });
    let mock = MockAck::start(
        vec![Key::sts(id, secret, token)],
        fixture_plans("region-mixed-response.json"),
    );
    let imds_url = imds.url();
    let r = check(
        &mock.url(),
        &["--at", MIXED_AT, "--format", "json", "-v"],
        &[("ALIBABA_CLOUD_IMDS_ENDPOINT", imds_url.as_str())],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("credentials: ECS RAM role plangate-role"),
        "{r:?}"
    );
    let calls: Vec<(String, String)> = imds
        .seen()
        .iter()
        .map(|q| (q.method.clone(), q.path.clone()))
        .collect();
    assert_eq!(
        calls[0],
        ("PUT".to_string(), "/latest/api/token".to_string())
    );
    assert_eq!(calls[1].1, "/latest/meta-data/ram/security-credentials/");
    assert_eq!(
        calls.last().unwrap().1,
        "/latest/meta-data/ram/security-credentials/plangate-role"
    );
    assert_eq!(mock.seen().len(), 3);
    assert!(mock.seen().iter().all(|s| s.status == 200));
    assert_no_secrets(&r, &[secret, token, session]);
}

#[test]
fn no_credentials_is_a_configuration_error_even_with_fail_open() {
    let mock = MockAck::start(vec![Key::new(AK, SK)], vec![]);
    let r = check(&mock.url(), &["--fail-open"], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr
            .contains("error: no Alibaba Cloud credentials found"),
        "{r:?}"
    );
    assert!(
        r.stderr.contains("ALIBABA_CLOUD_ACCESS_KEY_ID not set"),
        "{r:?}"
    );
    assert!(r.stderr.contains(".aliyun/config.json not found"), "{r:?}");
    assert!(
        r.stderr
            .contains("ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"),
        "{r:?}"
    );
    assert!(r.stderr.contains("hint: "), "{r:?}");
    assert_eq!(mock.seen().len(), 0);

    let r = check(
        &mock.url(),
        &["--fail-open"],
        &[("ALIBABA_CLOUD_ACCESS_KEY_ID", AK)],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains(
            "ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"
        ),
        "{r:?}"
    );
}

#[test]
fn plain_http_endpoints_must_be_loopback() {
    let r = run(
        &[
            "check",
            "--region",
            REGION,
            "--endpoint",
            "http://cs.cn-hangzhou.aliyuncs.com",
            "--fail-open",
        ],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("plain http:// is only allowed for loopback hosts"),
        "{r:?}"
    );
    assert!(!r.stderr.contains("FAIL-OPEN"), "{r:?}");
}

#[test]
fn the_mock_itself_refuses_replays_stale_dates_and_tampering() {
    let mock = MockAck::start(
        vec![Key::new(AK, SK)],
        fixture_plans("region-mixed-response.json"),
    );
    let key = Key::new(AK, SK);
    let now = chrono::Utc::now();
    let fresh = now.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let (status, body) = send_raw(
        mock.addr(),
        &hand_signed_request(
            mock.addr(),
            &key,
            REGION,
            &fresh,
            "00112233445566778899aabbccddeeff",
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["plans"]
            .as_array()
            .unwrap()
            .len(),
        8
    );

    // A request the binary sent, replayed byte for byte.
    let r = check(&mock.url(), &["--at", MIXED_AT], &keys_env(AK, SK));
    assert_eq!(r.code, 1, "{r:?}");
    let sent = mock
        .seen()
        .iter()
        .find(|s| s.param("state") == Some("Scheduled"))
        .unwrap()
        .request
        .raw
        .clone();
    let (status, body) = send_raw(mock.addr(), &sent);
    assert_eq!(status, 400);
    assert!(body.contains("SignatureNonceUsed"), "{body}");

    // Tampered: the state filter changed after signing.
    let tampered = String::from_utf8(sent)
        .unwrap()
        .replace("state=Scheduled", "state=Executing");
    assert!(tampered.contains("?state=Executing"), "{tampered}");
    let (status, body) = send_raw(mock.addr(), tampered.as_bytes());
    assert_eq!(status, 400);
    assert!(body.contains("SignatureDoesNotMatch"), "{body}");

    // Correctly signed, but 20 minutes old.
    let stale = (now - chrono::Duration::minutes(20))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let (status, body) = send_raw(
        mock.addr(),
        &hand_signed_request(
            mock.addr(),
            &key,
            REGION,
            &stale,
            "ffeeddccbbaa99887766554433221100",
        ),
    );
    assert_eq!(status, 400);
    assert!(body.contains("InvalidTimeStamp.Expired"), "{body}");
}

/// A server that answers a TLS handshake with plain HTTP; counts connections.
fn not_tls_server() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::Write;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&count);
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && seen.load(Ordering::SeqCst) < 8 {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 1024];
                    let _ = stream.read(&mut buf);
                    let _ =
                        stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (addr, count)
}

#[test]
fn tls_failures_are_not_retried_and_may_fail_open() {
    let (addr, connections) = not_tls_server();
    let endpoint = format!("https://{addr}");
    let r = check(&endpoint, &["--at", MIXED_AT], &keys_env(AK, SK));
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("TLS failed"), "{r:?}");
    assert!(
        r.stderr
            .contains("hint: the endpoint did not complete a verified TLS handshake"),
        "{r:?}"
    );
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "not retried"
    );
    let r = check(
        &endpoint,
        &["--at", MIXED_AT, "--fail-open"],
        &keys_env(AK, SK),
    );
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("ALLOW (FAIL-OPEN)"), "{r:?}");
    assert_no_secrets(&r, &[SK]);
}
