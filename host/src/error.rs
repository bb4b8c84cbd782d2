//! Errors the CLI reports: what went wrong, then a hint; and the exit codes.

use std::fmt;

/// Process exit codes: the gate's contract with pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Allowed (warnings allowed).
    Allow = 0,
    /// Blocked.
    Deny = 1,
    /// Could not decide: bad flags, bad policy, unreadable response, component failure.
    Undecided = 2,
}

/// An error message with a hint on what to do about it.
#[derive(Debug)]
pub struct Hinted {
    /// What went wrong.
    pub message: String,
    /// What to try.
    pub hint: String,
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hinted {}

/// Builds an `anyhow::Error` that carries a hint.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    Hinted {
        message: message.into(),
        hint: hint.into(),
    }
    .into()
}

/// Why `check` could not decide. Only [`Undecided::Plans`] may be overridden by `--fail-open`:
/// a bad flag or policy is the user's to fix, never a reason to allow.
#[derive(Debug)]
pub enum Undecided {
    /// Flags, policy or component problems.
    Setup(anyhow::Error),
    /// The plans could not be read, fetched or parsed.
    Plans(anyhow::Error),
}

impl Undecided {
    /// The underlying error.
    pub fn error(&self) -> &anyhow::Error {
        match self {
            Undecided::Setup(e) | Undecided::Plans(e) => e,
        }
    }

    /// The underlying error, for callers that do not branch on the kind.
    pub fn into_error(self) -> anyhow::Error {
        match self {
            Undecided::Setup(e) | Undecided::Plans(e) => e,
        }
    }
}

/// Renders an error chain as `error: ...`, `  caused by: ...` lines and a final `hint:`.
/// Text from outside (API messages, file contents) may be in it: control characters
/// are made visible and registered secrets are redacted.
pub fn render(e: &anyhow::Error) -> String {
    let clean = |s: String| crate::output::sanitize(&crate::output::redact(&s), true);
    let mut out = format!("error: {}\n", clean(e.to_string()));
    for cause in e.chain().skip(1) {
        out.push_str(&format!("  caused by: {}\n", clean(cause.to_string())));
    }
    if let Some(h) = e.chain().find_map(|c| c.downcast_ref::<Hinted>()) {
        out.push_str(&format!("hint: {}\n", clean(h.hint.clone())));
    }
    out
}
