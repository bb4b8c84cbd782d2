//! CI formats for `check`: GitHub Actions workflow commands and JUnit XML.

use std::fmt::Write as _;

use crate::component::{Finding, Severity, Verdict};
use crate::render::{Report, plan_type_name, severity_name, verdict_name};
use crate::times::format;

/// Escapes a workflow command's message (`%`, CR, LF).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn finding_text(f: &Finding) -> String {
    match &f.conflict {
        Some(w) => format!(
            "{} (conflict {} .. {})",
            f.message,
            format(&w.start),
            format(&w.end)
        ),
        None => f.message.clone(),
    }
}

/// `::error` per blocking finding, `::warning` per warning, `::notice` for info and the summary.
pub fn github_report(report: &Report) -> String {
    let d = &report.decision;
    let overridden = report.overridden();
    let mut out = String::new();
    for f in &d.findings {
        let is_overridden = overridden.iter().any(|o| std::ptr::eq(*o, f));
        let blocking = crate::check::blocks(f.severity, report.fail_on_warn);
        let (command, title) = if is_overridden {
            (
                "warning",
                format!(
                    "plangate {} overridden by break-glass: {}",
                    severity_name(f.severity),
                    f.rule
                ),
            )
        } else if blocking {
            (
                "error",
                format!("plangate {}: {}", severity_name(f.severity), f.rule),
            )
        } else if f.severity == Severity::Warn {
            ("warning", format!("plangate warn: {}", f.rule))
        } else {
            ("notice", format!("plangate info: {}", f.rule))
        };
        let _ = writeln!(
            out,
            "::{command} title={}::{}",
            escape_property(&title),
            escape_data(&finding_text(f))
        );
    }
    if let Some(reason) = &report.break_glass {
        let _ = writeln!(
            out,
            "::warning title={}::{}",
            escape_property("plangate break-glass"),
            escape_data(&format!(
                "reason: {reason}; overridden findings: {}",
                overridden.len()
            ))
        );
    }
    let next = match &d.next_clear_start {
        Some(t) => format(t),
        None => "none within the horizon".into(),
    };
    let _ = writeln!(
        out,
        "::notice title=plangate::{}",
        escape_data(&format!(
            "{} for {} to {} ({} findings, exit {}); next clear start: {next}",
            verdict_name(d.verdict).to_uppercase(),
            format(&report.request.deploy.start),
            format(&report.request.deploy.end),
            d.findings.len(),
            report.exit as i32
        ))
    );
    out
}

/// Escapes XML text and attribute values; drops characters XML 1.0 cannot carry.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML with one test case per rule: a rule with blocking findings fails, an
/// overridden one is skipped with the break-glass reason, warnings go to system-out.
pub fn junit_report(report: &Report) -> String {
    let d = &report.decision;
    let overridden = report.overridden();
    // Every rule of the policy, plus built-in or synthesized rules that produced findings.
    let mut rules: Vec<String> = report.request.rules.clone();
    if !rules.iter().any(|r| r == "invalid-plan") {
        rules.push("invalid-plan".into());
    }
    for f in &d.findings {
        if !rules.contains(&f.rule) {
            rules.push(f.rule.clone());
        }
    }
    let mut cases = String::new();
    let (mut failures, mut skipped) = (0, 0);
    for rule in &rules {
        let findings: Vec<&Finding> = d.findings.iter().filter(|f| &f.rule == rule).collect();
        let blocking: Vec<&&Finding> = findings
            .iter()
            .filter(|f| crate::check::blocks(f.severity, report.fail_on_warn))
            .collect();
        let _ = write!(
            cases,
            "    <testcase classname=\"plangate.{}\" name=\"{}\">",
            xml_escape(&report.request.policy),
            xml_escape(rule)
        );
        let details: String = findings
            .iter()
            .map(|f| {
                let plan = f
                    .plan_id
                    .as_ref()
                    .map(|p| {
                        format!(
                            " plan={p} type={}",
                            f.plan_type.as_ref().map_or("-", plan_type_name)
                        )
                    })
                    .unwrap_or_default();
                format!("{}{plan}: {}\n", severity_name(f.severity), finding_text(f))
            })
            .collect();
        if !blocking.is_empty()
            && blocking
                .iter()
                .all(|b| overridden.iter().any(|o| std::ptr::eq(*o, **b)))
        {
            skipped += 1;
            let _ = write!(
                cases,
                "\n      <skipped message=\"overridden by break-glass: {}\"/>\n      <system-out>{}</system-out>\n    ",
                xml_escape(report.break_glass.as_deref().unwrap_or_default()),
                xml_escape(&details)
            );
        } else if !blocking.is_empty() {
            failures += 1;
            let _ = write!(
                cases,
                "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                severity_name(blocking[0].severity),
                xml_escape(&blocking[0].message),
                xml_escape(&details)
            );
        } else if !findings.is_empty() {
            let _ = write!(
                cases,
                "\n      <system-out>{}</system-out>\n    ",
                xml_escape(&details)
            );
        }
        cases.push_str("</testcase>\n");
    }
    let mut props = vec![
        ("verdict", verdict_name(d.verdict).to_string()),
        ("exit_code", (report.exit as i32).to_string()),
        ("deploy_start", format(&report.request.deploy.start)),
        ("deploy_end", format(&report.request.deploy.end)),
        (
            "next_clear_start",
            d.next_clear_start.as_ref().map(format).unwrap_or_default(),
        ),
        ("plans_considered", d.plans_considered.to_string()),
    ];
    if let Some(reason) = &report.break_glass {
        props.push(("break_glass_reason", reason.clone()));
    }
    let props: String = props
        .iter()
        .map(|(k, v)| {
            format!(
                "      <property name=\"{k}\" value=\"{}\"/>\n",
                xml_escape(v)
            )
        })
        .collect();
    let name = format!(
        "plangate check {}{}",
        report.request.regions.join(","),
        report
            .request
            .cluster
            .as_ref()
            .map(|c| format!(" {c}"))
            .unwrap_or_default()
    );
    let verdict_word = match d.verdict {
        Verdict::Allow => "allow",
        Verdict::Warn => "warn",
        Verdict::Deny => "deny",
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"plangate\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n  \
         <testsuite name=\"{name}\" tests=\"{n}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">\n    \
         <properties>\n{props}    </properties>\n{cases}    <system-out>verdict: {verdict_word}</system-out>\n  </testsuite>\n</testsuites>\n",
        n = rules.len(),
        name = xml_escape(&name),
    )
}

/// The JUnit report for a fail-open allow: one skipped case that says so.
pub fn junit_fail_open(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"plangate\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n  \
         <testsuite name=\"plangate check\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n    \
         <testcase classname=\"plangate\" name=\"fail-open\">\n      \
         <skipped message=\"FAIL-OPEN: could not decide; allowed only because --fail-open was given: {}\"/>\n    \
         </testcase>\n  </testsuite>\n</testsuites>\n",
        xml_escape(message)
    )
}
