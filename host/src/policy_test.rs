//! `plangate test DIR`: policy test cases in TOML, each evaluated by the component.
//!
//! A file holds defaults at the top level and cases in `[[case]]` tables (or is one
//! case itself when it has none). Paths are relative to the file.
//!
//! ```toml
//! policy = "../policies/friday-freeze.toml"   # or "default"
//! response = "../responses/quiet.json"
//! duration = "1h"
//!
//! [[case]]
//! name = "friday evening is frozen"
//! at = "2026-12-04T19:00:00+08:00"
//! expect_verdict = "deny"
//! expect_rules = ["friday-evening"]
//! expect_next_clear_start = "2026-12-07T08:00:00+08:00"   # or "none"
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Deserialize;

use crate::ack::Fetched;
use crate::cli::TestArgs;
use crate::error::{Exit, Undecided, render as render_error};
use crate::evaluate::{Evaluator, LoadedPolicy, context};
use crate::output::emit;
use crate::render::verdict_name;
use crate::source::read_response;
use crate::times::{format, parse_at, parse_duration};

/// Fields a case may set; top-level values are defaults for every case in the file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFields {
    name: Option<String>,
    policy: Option<String>,
    response: Option<String>,
    region: Option<String>,
    cluster: Option<String>,
    at: Option<String>,
    duration: Option<String>,
    horizon: Option<String>,
    expect_verdict: Option<String>,
    expect_rules: Option<Vec<String>>,
    expect_next_clear_start: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(flatten)]
    defaults: CaseFields,
    #[serde(default, rename = "case")]
    cases: Vec<CaseFields>,
}

impl CaseFields {
    fn or(self, d: &CaseFields) -> CaseFields {
        CaseFields {
            name: self.name.or_else(|| d.name.clone()),
            policy: self.policy.or_else(|| d.policy.clone()),
            response: self.response.or_else(|| d.response.clone()),
            region: self.region.or_else(|| d.region.clone()),
            cluster: self.cluster.or_else(|| d.cluster.clone()),
            at: self.at.or_else(|| d.at.clone()),
            duration: self.duration.or_else(|| d.duration.clone()),
            horizon: self.horizon.or_else(|| d.horizon.clone()),
            expect_verdict: self.expect_verdict.or_else(|| d.expect_verdict.clone()),
            expect_rules: self.expect_rules.or_else(|| d.expect_rules.clone()),
            expect_next_clear_start: self
                .expect_next_clear_start
                .or_else(|| d.expect_next_clear_start.clone()),
        }
    }
}

/// Runs every case under `args.dir`; exit 0 if all pass, 1 if any fails, 2 if none were found.
pub fn run(args: &TestArgs) -> Exit {
    match run_all(&args.dir) {
        Ok((passed, failed)) => {
            if !emit(&format!("{passed} passed, {failed} failed\n")) {
                Exit::Undecided
            } else if failed > 0 {
                Exit::Deny
            } else {
                Exit::Allow
            }
        }
        Err(e) => {
            eprint!("{}", render_error(&e));
            Exit::Undecided
        }
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if path.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read test directory {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "toml") && is_case_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// A `.toml` file is a case file when it has a case-file key at the top level and is
/// not a policy document (`version`) or a Cargo manifest. A case file with a
/// misspelled key is then rejected by the strict parser instead of being skipped.
fn is_case_file(p: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(p) else {
        return true;
    };
    let Ok(table) = toml::from_str::<toml::Table>(&text) else {
        // Unparsable: a case file if it looks like one, so the error is reported.
        return text.contains("expect") || text.contains("[[case]]");
    };
    let foreign = ["version", "package", "workspace"];
    let ours = ["case", "response", "at", "policy", "expect_verdict"];
    !foreign.iter().any(|k| table.contains_key(*k))
        && (ours.iter().any(|k| table.contains_key(*k))
            || table.keys().any(|k| k.starts_with("expect")))
}

fn run_all(dir: &Path) -> Result<(usize, usize)> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    if files.is_empty() {
        bail!(
            "no test case files (*.toml with expect_verdict) under {}",
            dir.display()
        );
    }
    let evaluator = Evaluator::new()?;
    let mut policies: BTreeMap<PathBuf, LoadedPolicy> = BTreeMap::new();
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let cases = match load_cases(&file) {
            Ok(c) => c,
            Err(e) => {
                failed += 1;
                let _ = emit(&format!("FAIL  {}: {e:#}\n", file.display()));
                continue;
            }
        };
        for (i, case) in cases.into_iter().enumerate() {
            let label = format!(
                "{}: {}",
                file.display(),
                case.name
                    .clone()
                    .unwrap_or_else(|| format!("case {}", i + 1))
            );
            match run_case(&evaluator, &mut policies, &file, &case) {
                Ok(None) => {
                    passed += 1;
                    let _ = emit(&format!("ok    {label}\n"));
                }
                Ok(Some(why)) => {
                    failed += 1;
                    let _ = emit(&format!("FAIL  {label}: {why}\n"));
                }
                Err(e) => {
                    failed += 1;
                    let _ = emit(&format!("FAIL  {label}: {e:#}\n"));
                }
            }
        }
    }
    Ok((passed, failed))
}

fn load_cases(file: &Path) -> Result<Vec<CaseFields>> {
    let text = std::fs::read_to_string(file).context("cannot read the file")?;
    let parsed: CaseFile = toml::from_str(&text).map_err(|e| anyhow!("invalid test file: {e}"))?;
    if parsed.cases.is_empty() {
        Ok(vec![parsed.defaults])
    } else {
        Ok(parsed
            .cases
            .into_iter()
            .map(|c| c.or(&parsed.defaults))
            .collect())
    }
}

/// `Ok(None)` = pass, `Ok(Some(reason))` = an expectation failed.
fn run_case(
    evaluator: &Evaluator,
    policies: &mut BTreeMap<PathBuf, LoadedPolicy>,
    file: &Path,
    case: &CaseFields,
) -> Result<Option<String>> {
    let base = file.parent().unwrap_or(Path::new("."));
    let need = |v: &Option<String>, field: &str| {
        v.clone().ok_or_else(|| anyhow!("field {field} is missing"))
    };
    let policy = match case.policy.as_deref() {
        None | Some("default") => {
            let key = PathBuf::from("<default>");
            if !policies.contains_key(&key) {
                policies.insert(key.clone(), evaluator.policy(None)?);
            }
            policies[&key].clone()
        }
        Some(p) => {
            let path = base.join(p);
            if !policies.contains_key(&path) {
                policies.insert(path.clone(), evaluator.policy(Some(&path))?);
            }
            policies[&path].clone()
        }
    };
    let response = base.join(need(&case.response, "response")?);
    let body =
        read_response(&response, evaluator.max_body_bytes()?).map_err(Undecided::into_error)?;
    let plans = evaluator
        .parse_bodies(&[Fetched {
            region: case.region.clone().unwrap_or_else(|| "test".into()),
            label: format!("response file {}", response.display()),
            body,
        }])
        .map_err(Undecided::into_error)?;
    let at = parse_at(&need(&case.at, "at")?, chrono::Utc::now()).context("field at")?;
    let duration = parse_duration("duration", case.duration.as_deref().unwrap_or("1h"))?;
    let horizon = parse_duration("horizon", case.horizon.as_deref().unwrap_or("14d"))?;
    let ctx = context(at, duration, case.cluster.as_deref(), horizon)?;
    let d = evaluator.decide(&policy, &plans, &ctx)?;

    let mut problems = Vec::new();
    let verdict = verdict_name(d.verdict);
    let expected = need(&case.expect_verdict, "expect_verdict")?;
    if !["allow", "warn", "deny"].contains(&expected.as_str()) {
        bail!("field expect_verdict: {expected:?} is not allow, warn or deny");
    }
    if verdict != expected {
        problems.push(format!("expected verdict {expected}, got {verdict}"));
    }
    let got_rules: BTreeSet<&str> = d.findings.iter().map(|f| f.rule.as_str()).collect();
    if let Some(rules) = &case.expect_rules {
        let want: BTreeSet<&str> = rules.iter().map(String::as_str).collect();
        if want != got_rules {
            problems.push(format!("expected rules {want:?}, got {got_rules:?}"));
        }
    }
    if let Some(expected) = &case.expect_next_clear_start {
        let got = d.next_clear_start.as_ref().map(format);
        let ok = match (expected.as_str(), &got) {
            ("none", None) => true,
            (_, Some(g)) => {
                let want = parse_at(expected, chrono::Utc::now())
                    .context("field expect_next_clear_start")?;
                let got_t = parse_at(g, chrono::Utc::now())?;
                want == got_t
            }
            _ => false,
        };
        if !ok {
            problems.push(format!(
                "expected next clear start {expected}, got {}",
                got.unwrap_or_else(|| "none".into())
            ));
        }
    }
    Ok(if problems.is_empty() {
        None
    } else {
        Some(format!("{} (findings: {got_rules:?})", problems.join("; ")))
    })
}
