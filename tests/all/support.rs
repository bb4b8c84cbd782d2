//! Helpers for running the real binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The plan in the API documentation's sample response.
pub const SAMPLE_PLAN: &str = "P-655c9c127e0e6603ef00****";
/// A cluster of the mixed fixture with a scheduled master upgrade and an executing CVE fix.
pub const C8: &str = "c8f3a1b2c3d4e5f60718293a4b5c6d7e8";
/// A cluster of the mixed fixture with canceled, failed, executed and add-on plans.
pub const C1: &str = "c1234567890abcdef1234567890abcdef";

/// The API documentation's sample response, as a path argument.
pub fn sample() -> String {
    fixture("seed-sample-response.json").display().to_string()
}

/// The mixed-region fixture, as a path argument.
pub fn mixed() -> String {
    fixture("region-mixed-response.json").display().to_string()
}

/// Path of a file in `tests/fixtures`.
pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// The compiled-component cache shared by the tests' runs of the binary.
pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("plangate-cache")
}

/// The result of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Parses stdout as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `plangate ARGS` with `stdin` piped in, with a clean colour environment.
pub fn plangate_stdin(args: &[&str], stdin: &[u8]) -> Run {
    run_with(args, stdin, &[])
}

/// Runs `plangate ARGS` with extra environment variables.
pub fn plangate_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    run_with(args, b"", env)
}

fn run_with(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plangate"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NO_COLOR")
        .env("PLANGATE_CACHE_DIR", cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn plangate");
    {
        let mut input = child.stdin.take().unwrap();
        // The binary may refuse to read everything; a broken pipe is fine then.
        let _ = input.write_all(stdin);
    }
    finish(child.wait_with_output().expect("wait for plangate"))
}

/// Runs `plangate ARGS` with empty stdin.
pub fn plangate(args: &[&str]) -> Run {
    plangate_stdin(args, b"")
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().expect("plangate was killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Writes `contents` to a temporary file and returns it (deleted on drop).
pub fn temp_file(contents: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(contents).unwrap();
    f.flush().unwrap();
    f
}
