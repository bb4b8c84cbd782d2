//! When to try again: error classification, exponential backoff with jitter, `x-acs-retry-after`.
//!
//! A gate fails closed, so retries are bounded: at most [`Policy::max_attempts`] attempts per
//! request, waits growing from [`Policy::base`] and capped at [`Policy::cap`].

use std::time::Duration;

/// What to do after an API error response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Transient (throttling, 429, 5xx): try again after a backoff.
    Retry,
    /// The credentials, signature, clock or permissions are wrong: the user must fix it, and
    /// trying again cannot help. Reported as a [`super::ConfigError`].
    Denied,
    /// Any other error: reported, not retried.
    Fail,
}

/// Error codes that mean "slow down": retried whatever the HTTP status.
const THROTTLING: &[&str] = &["Throttling", "Throttling.User", "Throttling.Api"];

/// Error codes that mean the request was refused because of who sent it or how it was signed.
const DENIED: &[&str] = &[
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidAccessKeyId.NotFound",
    "InvalidAccessKeyId.Inactive",
    "InvalidAccessKeySecret",
    "InvalidSecurityToken.Expired",
    "InvalidSecurityToken.Malformed",
    "InvalidSecurityToken.MismatchWithAccessKey",
    "InvalidTimeStamp.Expired",
    "InvalidTimeStamp.Format",
    "Forbidden",
    "Forbidden.RAM",
    "Forbidden.AccessKeyDisabled",
    "NoPermission",
    "AuthenticationFail.OIDCToken.Expired",
    "AuthenticationFail.OIDCToken.Invalid",
    "AuthenticationFail.NoPermission",
];

/// Classifies an error response by its JSON error code first (ACK answers throttling with 400
/// as well as 429, so the status alone is not enough), then by its HTTP status.
pub fn classify(status: u16, code: Option<&str>) -> Class {
    if let Some(code) = code {
        if THROTTLING.contains(&code) || code.starts_with("Throttling.") {
            return Class::Retry;
        }
        if DENIED.contains(&code)
            || code.starts_with("Forbidden.")
            || code.starts_with("InvalidAccessKeyId.")
            || code.starts_with("InvalidSecurityToken.")
        {
            return Class::Denied;
        }
    }
    match status {
        401 | 403 => Class::Denied,
        429 | 500..=599 => Class::Retry,
        _ => Class::Fail,
    }
}

/// A hint for well-known error codes.
pub fn hint(status: u16, code: Option<&str>) -> Option<&'static str> {
    let code = code.unwrap_or("");
    Some(match code {
        "InvalidTimeStamp.Expired" | "InvalidTimeStamp.Format" => {
            "the request's x-acs-date was more than 15 minutes away from the server's clock: \
             this machine's clock is probably wrong; sync it (NTP, chrony, timedatectl) and retry"
        }
        "SignatureDoesNotMatch" | "IncompleteSignature" => {
            "the AccessKey secret does not belong to the AccessKeyId: check the secret \
             (ALIBABA_CLOUD_ACCESS_KEY_SECRET or the profile's access_key_secret) for a typo, \
             stray whitespace or a rotated key"
        }
        c if c.starts_with("InvalidAccessKeyId") => {
            "the AccessKeyId is unknown or disabled: check which credentials were used \
             (run with -v) and that the key is active in the RAM console"
        }
        c if c.starts_with("InvalidSecurityToken") => {
            "the STS security token is expired or does not match the AccessKeyId: \
             get fresh temporary credentials"
        }
        c if c.starts_with("Throttling") => {
            "ACK kept throttling the requests: retry later, or run fewer checks at once"
        }
        c if c.starts_with("Forbidden") || c == "NoPermission" => {
            "the RAM user or role lacks permission: grant it cs:ListOperationPlansForRegion \
             (for example with the AliyunCSReadOnlyAccess policy)"
        }
        _ if status == 401 || status == 403 => {
            "the request was refused: check the credentials (run with -v to see which source \
             was used) and the RAM permission cs:ListOperationPlansForRegion"
        }
        _ => return None,
    })
}

/// The retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The first backoff; each retry doubles it.
    pub base: Duration,
    /// The largest backoff.
    pub cap: Duration,
    /// The longest `x-acs-retry-after` that is honoured (longer ones are clamped to this).
    pub max_retry_after: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_attempts: 4,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(5),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl Policy {
    /// How long to wait after failed attempt number `attempt` (1-based).
    ///
    /// "Equal jitter": half of `min(cap, base * 2^(attempt-1))` plus a random part up to the
    /// other half, so concurrent gates spread out but never retry immediately. A server's
    /// `x-acs-retry-after` raises the wait to at least that long (clamped to
    /// [`Policy::max_retry_after`]).
    pub fn backoff(&self, attempt: u32, retry_after: Option<Duration>, random: u64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.cap);
        let half = exp / 2;
        let half_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
        let jitter = if half_ms == 0 {
            Duration::ZERO
        } else {
            Duration::from_millis(random % (half_ms + 1))
        };
        let wait = half + jitter;
        match retry_after {
            Some(ra) => wait.max(ra.min(self.max_retry_after)),
            None => wait,
        }
    }
}

/// Parses `x-acs-retry-after`: a whole number of **milliseconds**, as Alibaba Cloud's own SDKs
/// (Darabonba) read it. Zero, negative or unparsable values are ignored.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    match value.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Some(Duration::from_millis(ms)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_recognised_by_code_whatever_the_status() {
        for code in ["Throttling", "Throttling.User", "Throttling.Api"] {
            assert_eq!(classify(400, Some(code)), Class::Retry, "{code}");
            assert_eq!(classify(403, Some(code)), Class::Retry, "{code}");
        }
        assert_eq!(classify(400, Some("Throttling.Concurrent")), Class::Retry);
    }

    #[test]
    fn server_errors_and_429_are_retried() {
        assert_eq!(classify(429, None), Class::Retry);
        assert_eq!(classify(500, Some("InternalError")), Class::Retry);
        assert_eq!(classify(502, None), Class::Retry);
        assert_eq!(classify(503, Some("ServiceUnavailable")), Class::Retry);
        assert_eq!(classify(504, None), Class::Retry);
    }

    #[test]
    fn auth_signature_and_permission_errors_are_not_retried() {
        for code in [
            "SignatureDoesNotMatch",
            "InvalidAccessKeyId.NotFound",
            "InvalidAccessKeyId.Inactive",
            "InvalidSecurityToken.Expired",
            "InvalidTimeStamp.Expired",
            "Forbidden.RAM",
            "Forbidden.SomethingNew",
            "NoPermission",
        ] {
            assert_eq!(classify(400, Some(code)), Class::Denied, "{code}");
        }
        assert_eq!(classify(401, None), Class::Denied);
        assert_eq!(classify(403, Some("UnknownThing")), Class::Denied);
        // A permission error with a 5xx status is still not retried.
        assert_eq!(classify(500, Some("Forbidden.RAM")), Class::Denied);
    }

    #[test]
    fn other_client_errors_fail_without_retry() {
        assert_eq!(classify(400, Some("InvalidParameter")), Class::Fail);
        assert_eq!(classify(404, None), Class::Fail);
        assert_eq!(classify(400, Some("SignatureNonceUsed")), Class::Fail);
        assert_eq!(classify(302, None), Class::Fail);
    }

    #[test]
    fn hints_for_clock_skew_and_secrets() {
        assert!(
            hint(400, Some("InvalidTimeStamp.Expired"))
                .unwrap()
                .contains("clock")
        );
        assert!(
            hint(400, Some("SignatureDoesNotMatch"))
                .unwrap()
                .contains("secret")
        );
        assert!(
            hint(403, Some("Forbidden.RAM"))
                .unwrap()
                .contains("cs:ListOperationPlansForRegion")
        );
        assert!(hint(403, None).is_some());
        assert_eq!(hint(400, Some("InvalidParameter")), None);
    }

    #[test]
    fn backoff_doubles_with_equal_jitter_and_is_capped() {
        let p = Policy::default();
        // No randomness: exactly half of the exponential step.
        assert_eq!(p.backoff(1, None, 0), Duration::from_millis(100));
        assert_eq!(p.backoff(2, None, 0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, None, 0), Duration::from_millis(400));
        // Full randomness: the whole step.
        assert_eq!(p.backoff(1, None, 100), Duration::from_millis(200));
        assert_eq!(p.backoff(3, None, 400), Duration::from_millis(800));
        // Capped at 5 s, even for absurd attempt numbers.
        assert_eq!(
            p.backoff(10, None, u64::MAX - 7),
            Duration::from_millis(2500 + 8)
        );
        assert!(p.backoff(1000, None, 2500) <= Duration::from_secs(5));
        for r in [0, 1, 99, 12345, u64::MAX] {
            let d = p.backoff(2, None, r);
            assert!(d >= Duration::from_millis(200) && d <= Duration::from_millis(400));
        }
    }

    #[test]
    fn retry_after_raises_the_wait_but_is_clamped() {
        let p = Policy::default();
        assert_eq!(
            p.backoff(1, Some(Duration::from_millis(1500)), 0),
            Duration::from_millis(1500)
        );
        // A shorter hint than the backoff does not shorten it.
        assert_eq!(
            p.backoff(3, Some(Duration::from_millis(1)), 0),
            Duration::from_millis(400)
        );
        assert_eq!(
            p.backoff(1, Some(Duration::from_secs(3600)), 0),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn retry_after_is_milliseconds() {
        assert_eq!(parse_retry_after("2000"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 80 "), Some(Duration::from_millis(80)));
        assert_eq!(parse_retry_after("0"), None);
        assert_eq!(parse_retry_after("-5"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_retry_after(""), None);
    }
}
