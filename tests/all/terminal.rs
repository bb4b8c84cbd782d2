//! Behaviour on a terminal, via a pseudo-terminal from `script` (util-linux):
//! colour only on a terminal and never with NO_COLOR; `wait` redraws one status line.

use std::process::Command;

use crate::support::{cache_dir, fixture, temp_file};

/// Runs `plangate ARGS` on a pseudo-terminal; returns everything it wrote there.
fn on_tty(args: &[&str], env: &[(&str, &str)]) -> String {
    let bin = env!("CARGO_BIN_EXE_plangate");
    let quoted: Vec<String> = std::iter::once(bin)
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect();
    let out = Command::new("script")
        .args(["-qec", &quoted.join(" "), "/dev/null"])
        .env_remove("NO_COLOR")
        .env("PLANGATE_CACHE_DIR", cache_dir())
        .envs(env.iter().copied())
        .output()
        .expect("`script` (util-linux) runs commands on a pseudo-terminal");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn text_is_coloured_on_a_terminal_unless_no_color() {
    let sample = fixture("seed-sample-response.json").display().to_string();
    let args = [
        "check",
        "--region",
        "cn-hangzhou",
        "--response",
        &sample,
        "--at",
        "2023-11-22T15:00:00+08:00",
    ];
    let tty = on_tty(&args, &[]);
    assert!(
        tty.starts_with("\x1b[1;31mDENY\x1b[0m  deploy to"),
        "{tty:?}"
    );
    let plain = on_tty(&args, &[("NO_COLOR", "1")]);
    assert!(plain.starts_with("DENY  deploy to"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    let mut never = args.to_vec();
    never.extend(["--color", "never"]);
    assert!(!on_tty(&never, &[]).contains('\x1b'));
}

#[test]
fn wait_redraws_a_live_status_line_on_a_terminal() {
    let f = temp_file(
        br#"{"plans":[{"plan_id":"P-run","cluster_id":"c1","state":"Executing","type":"CVE_FIX",
        "start_time":"2026-01-01T00:00:00Z","end_time":"2026-01-01T01:00:00Z"}]}"#,
    );
    let path = f.path().to_str().unwrap().to_string();
    let tty = on_tty(
        &[
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
            "300ms",
        ],
        &[],
    );
    // Each check rewrites the same line: carriage return + erase line, no newline in between.
    let redraws = tty
        .matches("\r\x1b[2Kwaiting: blocked by executing (P-run)")
        .count();
    assert!(redraws >= 2, "{tty:?}");
    assert!(tty.contains("left"), "{tty:?}");
    assert!(
        tty.contains("timed out after 1s: blocked by executing (P-run)"),
        "{tty:?}"
    );
}
