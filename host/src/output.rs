//! Writing reports to standard output without panicking.
//!
//! `println!` panics when stdout is closed or full. Here a closed pipe (the reader
//! went away, as with `| head`) is not an error — the exit code still tells the
//! caller the answer — but any other failure (a full disk) is reported on stderr,
//! and the caller turns it into exit 2: a gate whose report was lost must not look
//! like it succeeded.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

/// Secret values seen in this process (credentials, tokens), to scrub from output.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers a secret so that [`redact`] removes it from anything printed — even
/// text plangate did not write itself, such as an API error that echoes a header.
pub fn register_secret(secret: &str) {
    // Very short values would redact ordinary words; real keys and tokens are long.
    if secret.len() >= 8 {
        let mut secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
        if !secrets.iter().any(|s| s == secret) {
            secrets.push(secret.to_string());
        }
    }
}

/// `text` with every registered secret replaced by `<redacted>`.
pub fn redact(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = text.to_string();
    for s in secrets.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "<redacted>");
        }
    }
    out
}

/// Writes `s` to stdout; `false` (after saying why on stderr) if it could not be written.
#[must_use]
pub fn emit(s: &str) -> bool {
    let s = redact(s);
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == ErrorKind::BrokenPipe => true,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            false
        }
    }
}

/// Replaces control characters in text from outside (plan ids, API messages, reasons)
/// with visible escapes, so it cannot move the cursor, recolour the terminal or forge
/// extra lines in logs. Tabs and newlines are kept only when `multiline`.
pub fn sanitize(s: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' if multiline => out.push(c),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_secrets_are_redacted() {
        register_secret("short");
        register_secret("sEcReT-value-1234");
        assert_eq!(
            redact("echo: x-acs-security-token: sEcReT-value-1234; short"),
            "echo: x-acs-security-token: <redacted>; short"
        );
    }

    #[test]
    fn control_characters_become_visible() {
        assert_eq!(sanitize("P-1\x1b[31m\x07", false), "P-1\\u{1b}[31m\\u{7}");
        assert_eq!(sanitize("a\nb", false), "a\\nb");
        assert_eq!(sanitize("a\nb\tc", true), "a\nb\tc");
        assert_eq!(sanitize("plain 文字", false), "plain 文字");
    }
}
