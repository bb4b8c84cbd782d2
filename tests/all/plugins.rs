//! Rule plugins end to end: the Rust and Python examples change decisions, and
//! hostile or broken plugins are stopped with exit 2 naming the plugin.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::support::{C1, mixed, plangate, plangate_env, temp_file};

/// A plugin component built by host/build.rs.
fn built(name: &str) -> String {
    format!("{}/plugins/{name}.wasm", env!("OUT_DIR"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python example, built once per test run with componentize-py (installed by scripts/setup).
fn python_plugin() -> &'static str {
    static BUILT: OnceLock<String> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("addon-guard.wasm");
        let status = Command::new("componentize-py")
            .current_dir(root().join("examples/plugins/addon-guard"))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("-d")
            .arg(root().join("wit"))
            .args(["-w", "rule", "componentize", "app", "-o"])
            .arg(&out)
            .status()
            .expect(
                "componentize-py is not installed: run scripts/setup (pip install componentize-py)",
            );
        assert!(
            status.success(),
            "componentize-py failed to build the Python plugin"
        );
        out.display().to_string()
    })
}

/// `check` on the mixed fixture for cluster C1 at `at`, JSON output.
fn check_c1(at: &str, extra: &[&str]) -> crate::support::Run {
    let m = mixed();
    let mut args = vec![
        "check",
        "--region",
        "cn-hangzhou",
        "--response",
        &m,
        "--cluster",
        C1,
        "--at",
        at,
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    plangate(&args)
}

#[test]
fn the_rust_example_plugin_denies_after_a_recent_node_pool_failure() {
    // P-...0004: a Failed kubelet upgrade of a node pool of C1 ended 2026-11-25T05:00+08:00.
    let at = "2026-11-28T10:00:00+08:00";
    let r = check_c1(at, &[]);
    assert_eq!(
        (r.code, r.json()["verdict"].as_str()),
        (0, Some("allow")),
        "{r:?}"
    );

    let plugin = built("nodepool-failures");
    let r = check_c1(at, &["--plugin", &plugin]);
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(
        j["findings"][0]["rule"],
        "nodepool-failures/nodepool-failed-recently"
    );
    assert_eq!(j["findings"][0]["plan_id"], "P-6750a1c2e3f4a5b6c7d80004");
    assert_eq!(j["findings"][0]["severity"], "deny");
    // It clears when the failure is 7 days old.
    assert_eq!(j["next_clear_start"], "2026-12-02T05:00:00+08:00");

    // Named in a policy: configuration and a severity cap apply.
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&plugin, dir.path().join("np.wasm")).unwrap();
    let policy = |extra: &str| {
        let path = dir.path().join("policy.toml");
        std::fs::write(
            &path,
            format!("version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"np\"\npath = \"np.wasm\"\n{extra}"),
        )
        .unwrap();
        path.display().to_string()
    };
    let p = policy("[rule.config]\nlookback = \"2d\"\n");
    let r = check_c1(at, &["--policy", &p]);
    assert_eq!(
        (r.code, r.json()["verdict"].as_str()),
        (0, Some("allow")),
        "2d lookback: {r:?}"
    );
    let p = policy("severity = \"warn\"\n");
    let r = check_c1(at, &["--policy", &p]);
    assert_eq!(r.code, 0, "{r:?}");
    let j = r.json();
    assert_eq!(j["verdict"], "warn");
    assert_eq!(j["findings"][0]["rule"], "np/nodepool-failed-recently");
    let p = policy("[rule.config]\nlookback = \"a while\"\n");
    let r = check_c1(at, &["--policy", &p]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("plugin np returned an error: invalid configuration: lookback"),
        "{r:?}"
    );
}

#[test]
fn the_python_example_plugin_guards_an_add_on_upgrade() {
    let plugin = python_plugin();
    // The add-on upgrade P-...0006 runs 19:00-20:00+08:00; a deploy at 17:30 for 1h
    // does not overlap it, but the plugin keeps an hour clear around it.
    let at = "2026-12-03T17:30:00+08:00";
    let r = check_c1(at, &[]);
    assert_eq!(
        (r.code, r.json()["verdict"].as_str()),
        (0, Some("allow")),
        "{r:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"addon-guard\"\npath = {plugin:?}\n\
             [rule.config]\naddons = [\"nginx-ingress-controller\"]\nmargin = \"1h\"\n"
        ),
    )
    .unwrap();
    let p = policy.display().to_string();
    let r = check_c1(at, &["--policy", &p]);
    assert_eq!(r.code, 1, "{r:?}");
    let j = r.json();
    assert_eq!(j["findings"][0]["rule"], "addon-guard/guarded-addon");
    assert_eq!(j["findings"][0]["plan_id"], "P-6750a1c2e3f4a5b6c7d80006");
    assert_eq!(
        j["findings"][0]["conflict"]["start"],
        "2026-12-03T18:00:00+08:00"
    );
    assert_eq!(j["next_clear_start"], "2026-12-03T21:00:00+08:00");

    // A configuration error is the plugin's error, and the gate cannot decide.
    std::fs::write(
        &policy,
        format!(
            "version = 1\n[[rule]]\nkind = \"plugin\"\nname = \"addon-guard\"\npath = {plugin:?}\n"
        ),
    )
    .unwrap();
    let r = check_c1(at, &["--policy", &p]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("plugin addon-guard returned an error: invalid configuration"),
        "{r:?}"
    );
}

#[test]
fn a_plugin_that_never_returns_is_stopped_at_its_time_limit() {
    let m = mixed();
    let r = plangate_env(
        &[
            "check",
            "--region",
            "cn-hangzhou",
            "--response",
            &m,
            "--plugin",
            &built("test-spin"),
        ],
        &[("PLANGATE_PLUGIN_TIMEOUT", "500ms")],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("plugin test-spin ran out of time while evaluating (limit 500ms)"),
        "{r:?}"
    );
    assert_eq!(r.stdout, "");
}

#[test]
fn a_plugin_that_allocates_without_bound_is_stopped_at_its_memory_cap() {
    let m = mixed();
    let r = plangate_env(
        &[
            "check",
            "--region",
            "cn-hangzhou",
            "--response",
            &m,
            "--plugin",
            &built("test-hog"),
        ],
        &[("PLANGATE_PLUGIN_MEMORY_MIB", "64")],
    );
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("plugin test-hog hit its memory limit"),
        "{r:?}"
    );
    assert!(r.stderr.contains("64 MiB"), "{r:?}");
}

#[test]
fn broken_plugins_fail_closed_naming_the_plugin() {
    let m = mixed();
    let run = |plugin: &str| {
        plangate(&[
            "check",
            "--region",
            "cn-hangzhou",
            "--response",
            &m,
            "--plugin",
            plugin,
        ])
    };

    // Not a component at all.
    let junk = temp_file(b"not wasm");
    let r = run(junk.path().to_str().unwrap());
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("is not a valid component"), "{r:?}");

    // A component that imports something plangate does not provide.
    let dir = tempfile::tempdir().unwrap();
    let thief = dir.path().join("thief.wasm");
    std::fs::write(
        &thief,
        wat::parse_str(
            r#"(component (import "acme:net/exfiltrate" (instance (export "send" (func)))))"#,
        )
        .unwrap(),
    )
    .unwrap();
    let r = run(thief.to_str().unwrap());
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("plugin thief needs an import plangate does not provide"),
        "{r:?}"
    );
    assert!(r.stderr.contains("acme:net/exfiltrate"), "{r:?}");

    // A component that is not a rule (the gate itself): no `evaluate` export.
    let gate = dir.path().join("gate.wasm");
    std::fs::write(&gate, plangate::component::GATE_COMPONENT).unwrap();
    let r = run(gate.to_str().unwrap());
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("plugin gate failed while starting"),
        "{r:?}"
    );

    // A missing file.
    let r = run("/nonexistent/plugin.wasm");
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("plugin plugin: cannot read /nonexistent/plugin.wasm"),
        "{r:?}"
    );

    // --fail-open never covers a plugin failure.
    let r = plangate(&[
        "check",
        "--region",
        "cn-hangzhou",
        "--response",
        &m,
        "--fail-open",
        "--plugin",
        junk.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 2, "{r:?}");
}
