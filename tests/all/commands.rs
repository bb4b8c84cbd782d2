//! The other commands and output formats: next, plans, wait, test, github, junit,
//! --fail-on-warn and --break-glass.

use crate::support::{C1, SAMPLE_PLAN, mixed, plangate, sample, temp_file};

fn at_sample(extra: &[&str]) -> crate::support::Run {
    let s = sample();
    let mut args = vec![
        "check",
        "--region",
        "cn-hangzhou",
        "--response",
        &s,
        "--at",
        "2023-11-22T15:00:00+08:00",
    ];
    args.extend_from_slice(extra);
    plangate(&args)
}

#[test]
fn github_format_emits_workflow_commands() {
    let r = at_sample(&["--format", "github"]);
    assert_eq!(r.code, 1, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{r:?}");
    assert!(
        lines[0].starts_with("::error title=plangate deny%3A master-upgrade::CLUSTER_UPGRADE_MASTER plan P-655c9c127e0e6603ef00****"),
        "{r:?}"
    );
    assert!(
        lines[0].ends_with("(conflict 2023-11-22T14:48:00+08:00 .. 2023-11-22T18:30:00+08:00)"),
        "{r:?}"
    );
    assert_eq!(
        lines[1],
        "::notice title=plangate::DENY for 2023-11-22T15:00:00+08:00 to 2023-11-22T16:00:00+08:00 (1 findings, exit 1); next clear start: 2023-11-22T18:30:00+08:00"
    );
}

#[test]
fn junit_format_has_one_case_per_rule() {
    let r = at_sample(&["--format", "junit"]);
    assert_eq!(r.code, 1, "{r:?}");
    let x = &r.stdout;
    assert!(x.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"plangate\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"0\">"), "{x}");
    for rule in ["master-upgrade", "executing", "maintenance", "invalid-plan"] {
        assert_eq!(
            x.matches(&format!("name=\"{rule}\"")).count(),
            1,
            "{rule}: {x}"
        );
    }
    assert!(x.contains("<failure type=\"deny\" message=\"CLUSTER_UPGRADE_MASTER plan P-655c9c127e0e6603ef00****"), "{x}");
    assert!(
        x.contains("<property name=\"next_clear_start\" value=\"2023-11-22T18:30:00+08:00\"/>"),
        "{x}"
    );
    assert_eq!(x.matches("<failure").count(), 1, "{x}");
}

#[test]
fn fail_on_warn_turns_a_warning_into_exit_1() {
    let m = mixed();
    let base = [
        "check",
        "--region",
        "cn-hangzhou",
        "--response",
        &m,
        "--cluster",
        C1,
        "--at",
        "2026-12-03T19:30:00+08:00",
    ];
    let r = plangate(&base);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("WARN  "), "{r:?}");
    let mut args = base.to_vec();
    args.push("--fail-on-warn");
    let r = plangate(&args);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.starts_with("WARN (blocking: --fail-on-warn)"),
        "{r:?}"
    );
    args.extend(["--format", "json"]);
    let j = plangate(&args).json();
    assert_eq!(j["verdict"], "warn");
    assert_eq!(j["exit_code"], 1);
    assert_eq!(j["fail_on_warn"], true);
}

#[test]
fn break_glass_allows_and_records_the_audit_trail_everywhere() {
    let reason = "INC-4711 hotfix, approved by on-call";
    let r = at_sample(&["--break-glass", reason]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with("DENY (OVERRIDDEN BY BREAK-GLASS)"),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(&format!("break-glass: {reason}")),
        "{r:?}"
    );
    assert!(
        r.stdout
            .contains(&format!("overridden: master-upgrade ({SAMPLE_PLAN})")),
        "{r:?}"
    );
    assert!(r.stderr.contains("BREAK-GLASS"), "{r:?}");

    let j = at_sample(&["--break-glass", reason, "--format", "json"]).json();
    assert_eq!(j["verdict"], "deny");
    assert_eq!(j["exit_code"], 0);
    assert_eq!(j["break_glass"]["reason"], reason);
    assert_eq!(j["break_glass"]["overridden"][0]["rule"], "master-upgrade");
    assert_eq!(j["break_glass"]["overridden"][0]["plan_id"], SAMPLE_PLAN);

    let r = at_sample(&["--break-glass", reason, "--format", "github"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(
            "::warning title=plangate deny overridden by break-glass%3A master-upgrade::"
        ),
        "{r:?}"
    );
    assert!(r.stdout.contains("::warning title=plangate break-glass::reason: INC-4711 hotfix, approved by on-call; overridden findings: 1"), "{r:?}");
    assert!(!r.stdout.contains("::error"), "{r:?}");

    let r = at_sample(&["--break-glass", reason, "--format", "junit"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("failures=\"0\" errors=\"0\" skipped=\"1\""),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(
            "<skipped message=\"overridden by break-glass: INC-4711 hotfix, approved by on-call\"/>"
        ),
        "{r:?}"
    );
    assert!(
        r.stdout.contains(
            "<property name=\"break_glass_reason\" value=\"INC-4711 hotfix, approved by on-call\"/>"
        ),
        "{r:?}"
    );

    let r = at_sample(&["--break-glass", "  "]);
    assert_eq!(r.code, 2, "an empty reason is refused: {r:?}");
    assert!(r.stderr.contains("--break-glass needs a reason"), "{r:?}");
}

#[test]
fn next_prints_the_earliest_clear_start() {
    let s = sample();
    let r = plangate(&[
        "next",
        "--region",
        "cn-hangzhou",
        "--response",
        &s,
        "--after",
        "2023-11-22T15:00:00+08:00",
        "--duration",
        "1h",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "2023-11-22T18:30:00+08:00\n");
    let r = plangate(&[
        "next",
        "--region",
        "cn-hangzhou",
        "--response",
        &s,
        "--after",
        "2023-11-22T15:00:00+08:00",
        "--duration",
        "1h",
        "--format",
        "json",
    ]);
    let j = r.json();
    assert_eq!(j["next_clear_start"], "2023-11-22T18:30:00+08:00");
    assert_eq!(j["blocking_at_after"][0]["rule"], "master-upgrade");
    // Before the margin opens, the requested start itself is clear.
    let r = plangate(&[
        "next",
        "--region",
        "cn-hangzhou",
        "--response",
        &s,
        "--after",
        "2023-11-22T12:00:00+08:00",
        "--duration",
        "30m",
    ]);
    assert_eq!(r.stdout, "2023-11-22T12:00:00+08:00\n");
    // An executing plan never clears by time.
    let m = mixed();
    let r = plangate(&[
        "next",
        "--region",
        "cn-hangzhou",
        "--response",
        &m,
        "--cluster",
        "c8f3a1b2c3d4e5f60718293a4b5c6d7e8",
        "--after",
        "2026-12-03T10:00:00+08:00",
        "--duration",
        "1h",
        "--horizon",
        "2d",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.stdout, "none within 2d of 2026-12-03T10:00:00+08:00\n");
}

#[test]
fn plans_lists_and_filters() {
    let m = mixed();
    let r = plangate(&["plans", "--region", "cn-hangzhou", "--response", &m]);
    assert_eq!(r.code, 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 9, "header + 8 plans: {r:?}");
    assert!(lines[0].starts_with("START"), "{r:?}");
    // Sorted by start time: the failed kubelet upgrade of 2026-11-25 is after the 11-12 one.
    assert!(lines[1].contains("P-6750a1c2e3f4a5b6c7d80007"), "{r:?}");
    let r = plangate(&[
        "plans",
        "--region",
        "cn-hangzhou",
        "--response",
        &m,
        "--state",
        "Scheduled",
        "--type",
        "CLUSTER_UPGRADE_MASTER",
        "--format",
        "json",
    ]);
    let j = r.json();
    let list = j.as_array().unwrap();
    assert_eq!(list.len(), 1, "{r:?}");
    assert_eq!(list[0]["plan_id"], "P-6750a1c2e3f4a5b6c7d80001");
    assert_eq!(list[0]["start_time"], "2026-12-03T14:00:00+08:00");
    assert_eq!(list[0]["region"], "cn-hangzhou");
    let r = plangate(&[
        "plans",
        "--region",
        "cn-hangzhou",
        "--response",
        &m,
        "--cluster",
        C1,
        "--format",
        "json",
    ]);
    assert_eq!(r.json().as_array().unwrap().len(), 4, "{r:?}");
}

#[test]
fn wait_returns_when_the_plans_clear_and_times_out_otherwise() {
    // An executing plan blocks whatever the time: wait must time out with exit 1.
    let executing =
        br#"{"plans":[{"plan_id":"P-run","cluster_id":"c1","state":"Executing","type":"CVE_FIX",
        "start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-01T01:00:00Z"}]}"#;
    let f = temp_file(executing);
    let path = f.path().to_str().unwrap().to_string();
    let r = plangate(&[
        "wait",
        "--region",
        "cn-hangzhou",
        "--response",
        &path,
        "--duration",
        "1h",
        "--timeout",
        "1s",
        "--interval",
        "200ms",
    ]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .starts_with("timed out after 1s: blocked by executing (P-run)"),
        "{r:?}"
    );
    assert!(
        r.stderr.lines().count() >= 2,
        "one plain status line per check: {r:?}"
    );
    assert!(
        r.stderr.contains("waiting: blocked by executing (P-run)"),
        "{r:?}"
    );

    // The plan finishes while we wait: rewrite the file after a moment.
    let writer = {
        let path = path.clone();
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            std::fs::write(&path, br#"{"plans":[]}"#).unwrap();
        })
    };
    let r = plangate(&[
        "wait",
        "--region",
        "cn-hangzhou",
        "--response",
        &path,
        "--duration",
        "1h",
        "--timeout",
        "30s",
        "--interval",
        "250ms",
    ]);
    writer.join().unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("allowed after "), "{r:?}");

    // Standard input cannot be re-read.
    let r = plangate(&[
        "wait",
        "--region",
        "cn-hangzhou",
        "--response",
        "-",
        "--duration",
        "1h",
        "--timeout",
        "5s",
    ]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("standard input can be read only once"),
        "{r:?}"
    );

    // A bad policy is not something to wait out.
    let bad = temp_file(b"version = 1\n[[rule]]\nkind = \"nope\"\n");
    let r = plangate(&[
        "wait",
        "--region",
        "cn-hangzhou",
        "--response",
        &path,
        "--duration",
        "1h",
        "--timeout",
        "5s",
        "--policy",
        bad.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn policy_tests_report_passes_and_failures() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let r = plangate(&["test", examples]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .lines()
            .last()
            .unwrap()
            .ends_with(" passed, 0 failed"),
        "{r:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let sample = sample();
    std::fs::write(
        dir.path().join("cases.toml"),
        format!(
            "response = {sample:?}\n\
             [[case]]\nname = \"right\"\nat = \"2023-11-22T15:00:00+08:00\"\nexpect_verdict = \"deny\"\nexpect_rules = [\"master-upgrade\"]\n\
             [[case]]\nname = \"wrong verdict\"\nat = \"2023-11-22T15:00:00+08:00\"\nexpect_verdict = \"allow\"\n\
             [[case]]\nname = \"wrong next\"\nat = \"2023-11-22T15:00:00+08:00\"\nexpect_verdict = \"deny\"\nexpect_next_clear_start = \"2023-11-22T18:00:00+08:00\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.toml"),
        "expect_verdict = \"deny\"\nunknown_field = 1\n",
    )
    .unwrap();
    let r = plangate(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("ok    "), "{r:?}");
    assert!(
        r.stdout
            .contains("cases.toml: wrong verdict: expected verdict allow, got deny"),
        "{r:?}"
    );
    assert!(r.stdout.contains("cases.toml: wrong next: expected next clear start 2023-11-22T18:00:00+08:00, got 2023-11-22T18:30:00+08:00"), "{r:?}");
    assert!(r.stdout.contains("broken.toml: invalid test file"), "{r:?}");
    assert_eq!(r.stdout.lines().last().unwrap(), "1 passed, 3 failed");

    let empty = tempfile::tempdir().unwrap();
    let r = plangate(&["test", empty.path().to_str().unwrap()]);
    assert_eq!(r.code, 2, "{r:?}");
}

#[test]
fn policy_tests_do_not_skip_a_case_file_with_a_typo() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample();
    std::fs::write(
        dir.path().join("typo.toml"),
        format!("response = {sample:?}\nat = \"2023-11-22T15:00:00+08:00\"\nexpected_verdict = \"deny\"\n"),
    )
    .unwrap();
    // A policy document beside it is not a case.
    std::fs::write(dir.path().join("policy.toml"), "version = 1\n").unwrap();
    let r = plangate(&["test", dir.path().to_str().unwrap()]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("typo.toml: invalid test file"), "{r:?}");
    assert!(r.stdout.contains("expected_verdict"), "{r:?}");
    assert_eq!(r.stdout.lines().last().unwrap(), "0 passed, 1 failed");
}
