//! The HTTP client: timeouts, bounded retries, error reports and `-v` request logging.
//!
//! Every attempt is built afresh by the caller (a new nonce, date and signature for signed
//! requests), sent, and classified ([`super::retry`]). Nothing here ever prints a header value
//! or a request body, so secrets cannot leak through logging.

use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use super::ConfigError;
use super::retry::{self, Class, Policy};
use crate::error::hinted;

/// The largest response body read (the component refuses more anyway).
pub const MAX_BODY_BYTES: u64 = 8 * 1024 * 1024;

/// Timeouts and the retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Connecting (TCP + TLS) to ACK or STS.
    pub connect_timeout: Duration,
    /// Waiting for the response head, and again for the whole body.
    pub read_timeout: Duration,
    /// Connecting to the ECS metadata service: short, it is not there off ECS.
    pub metadata_connect_timeout: Duration,
    /// Reading from the ECS metadata service.
    pub metadata_read_timeout: Duration,
    /// Retries.
    pub policy: Policy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(30),
            metadata_connect_timeout: Duration::from_secs(1),
            metadata_read_timeout: Duration::from_secs(2),
            policy: Policy::default(),
        }
    }
}

impl Settings {
    /// The defaults, adjusted by the hidden tuning variables `PLANGATE_CONNECT_TIMEOUT_MS`,
    /// `PLANGATE_READ_TIMEOUT_MS`, `PLANGATE_RETRY_BASE_MS` and `PLANGATE_MAX_ATTEMPTS`
    /// (used by the tests to run quickly; rarely needed otherwise).
    pub fn from_env() -> Result<Settings> {
        let mut s = Settings::default();
        if let Some(ms) = env_u64("PLANGATE_CONNECT_TIMEOUT_MS")? {
            s.connect_timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = env_u64("PLANGATE_READ_TIMEOUT_MS")? {
            s.read_timeout = Duration::from_millis(ms.max(1));
        }
        if let Some(ms) = env_u64("PLANGATE_RETRY_BASE_MS")? {
            s.policy.base = Duration::from_millis(ms);
        }
        if let Some(n) = env_u64("PLANGATE_MAX_ATTEMPTS")? {
            s.policy.max_attempts = u32::try_from(n.clamp(1, 10)).unwrap_or(1);
        }
        Ok(s)
    }
}

fn env_u64(name: &str) -> Result<Option<u64>> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
            ConfigError::new(format!(
                "{name}={v:?} is not a whole number of milliseconds"
            ))
            .into()
        }),
        Err(_) => Ok(None),
    }
}

/// Which connection settings a request uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// A public endpoint: proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`) apply.
    Public,
    /// A loopback endpoint: never through a proxy.
    Loopback,
    /// The ECS metadata service: no proxy, short timeouts.
    Metadata,
}

/// HTTP methods used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// PUT (the IMDSv2 token)
    Put,
    /// POST (STS)
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
        }
    }
}

/// One attempt's request. Built anew for each attempt.
pub struct Outgoing {
    /// The method.
    pub method: Method,
    /// The full URL. It must not contain secrets: it is shown by `-v` and in errors.
    pub url: String,
    /// Headers (values may be secret: they are never shown).
    pub headers: Vec<(String, String)>,
    /// A form or text body (may be secret: it is never shown).
    pub body: Option<String>,
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Outgoing")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &names)
            .field("body", &self.body.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A final HTTP response: a success, a non-retryable error, or the last of the retries.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body as text.
    pub body: String,
    /// The `x-acs-request-id` header, if any.
    pub request_id: Option<String>,
    /// How many attempts it took.
    pub attempts: u32,
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Sends requests with retries; one per `fetch`, shared by its threads.
pub struct Client {
    public: ureq::Agent,
    loopback: ureq::Agent,
    metadata: ureq::Agent,
    settings: Settings,
    verbose: bool,
}

impl Client {
    /// A client with `settings`; `verbose` logs every attempt to stderr.
    pub fn new(settings: Settings, verbose: bool) -> Client {
        let agent = |connect: Duration, read: Duration, proxied: bool| -> ureq::Agent {
            let mut b = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .max_redirects_will_error(false)
                .timeout_connect(Some(connect))
                .timeout_recv_response(Some(read))
                .timeout_recv_body(Some(read))
                .user_agent(concat!("plangate/", env!("CARGO_PKG_VERSION")));
            if !proxied {
                b = b.proxy(None);
            }
            ureq::Agent::new_with_config(b.build())
        };
        Client {
            public: agent(settings.connect_timeout, settings.read_timeout, true),
            loopback: agent(settings.connect_timeout, settings.read_timeout, false),
            metadata: agent(
                settings.metadata_connect_timeout,
                settings.metadata_read_timeout,
                false,
            ),
            settings,
            verbose,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether `-v` logging is on.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Sends a request built by `build` (called once per attempt), retrying transport errors,
    /// throttling, 429 and 5xx up to `max_attempts` times. Returns the final response (success or
    /// not: see [`Client::success`]); an error only when no response came back.
    ///
    /// `what` names the call in messages (e.g. `ListOperationPlansForRegion cn-beijing`).
    pub fn send(
        &self,
        what: &str,
        route: Route,
        max_attempts: u32,
        mut build: impl FnMut() -> Result<Outgoing>,
    ) -> Result<Reply> {
        let agent = match route {
            Route::Public => &self.public,
            Route::Loopback => &self.loopback,
            Route::Metadata => &self.metadata,
        };
        let max = max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let req = build()?;
            let started = Instant::now();
            let outcome = exchange(agent, &req);
            let elapsed = started.elapsed().as_millis();
            let (retry, retry_after, shown) = match &outcome {
                Ok((reply, retry_after)) => {
                    let code = if reply.is_success() {
                        None
                    } else {
                        ErrorBody::parse(&reply.body).code
                    };
                    let retry = !reply.is_success()
                        && retry::classify(reply.status, code.as_deref()) == Class::Retry;
                    let shown = match &code {
                        Some(c) => format!("{} {}", reply.status, clean(c, 80)),
                        None => reply.status.to_string(),
                    };
                    (retry, *retry_after, shown)
                }
                Err(e) => (
                    transport_retryable(e, &req.url),
                    None,
                    format!("error: {e}"),
                ),
            };
            let wait = (retry && attempt < max).then(|| {
                self.settings
                    .policy
                    .backoff(attempt, retry_after, getrandom::u64().unwrap_or(0))
            });
            if self.verbose {
                let then = match wait {
                    Some(w) => format!("; retrying in {} ms", w.as_millis()),
                    None => String::new(),
                };
                eprintln!(
                    "plangate: {} {} attempt {attempt}/{max}: {shown} in {elapsed} ms{then}",
                    req.method.as_str(),
                    req.url
                );
            }
            if let Some(w) = wait {
                std::thread::sleep(w);
                continue;
            }
            return match outcome {
                Ok((mut reply, _)) => {
                    reply.attempts = attempt;
                    Ok(reply)
                }
                Err(e) => Err(transport_error(what, &req.url, e, attempt)),
            };
        }
    }

    /// The body of a 2xx reply, or the API error it carries: status, Code, Message and
    /// RequestId; a [`ConfigError`] when the request was refused (credentials, signature, clock,
    /// permissions), so `--fail-open` cannot hide it.
    pub fn success(what: &str, reply: Reply) -> Result<String> {
        if reply.is_success() {
            return Ok(reply.body);
        }
        Err(api_error(what, &reply))
    }
}

/// Sends one request and reads the whole body.
fn exchange(agent: &ureq::Agent, req: &Outgoing) -> Result<(Reply, Option<Duration>), ureq::Error> {
    let mut response = match req.method {
        Method::Get => {
            let mut b = agent.get(&req.url);
            for (n, v) in &req.headers {
                b = b.header(n, v);
            }
            b.call()?
        }
        Method::Put | Method::Post => {
            let mut b = if req.method == Method::Put {
                agent.put(&req.url)
            } else {
                agent.post(&req.url)
            };
            for (n, v) in &req.headers {
                b = b.header(n, v);
            }
            match &req.body {
                Some(body) => b.send(body.as_str())?,
                None => b.send_empty()?,
            }
        }
    };
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let retry_after = header("x-acs-retry-after")
        .as_deref()
        .and_then(retry::parse_retry_after);
    let request_id = header("x-acs-request-id");
    let bytes = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_vec()?;
    // Invalid UTF-8 is kept visible (replacement characters) for the parser to reject.
    let body = String::from_utf8_lossy(&bytes).into_owned();
    Ok((
        Reply {
            status,
            body,
            request_id,
            attempts: 1,
        },
        retry_after,
    ))
}

/// Transport errors worth another attempt: timeouts, resets, early EOF (a truncated body),
/// refused connections, name resolution. TLS and certificate errors are not: they will not heal.
fn transport_retryable(e: &ureq::Error, url: &str) -> bool {
    !is_tls(e, url)
        && matches!(
            e,
            ureq::Error::Io(_)
                | ureq::Error::Timeout(_)
                | ureq::Error::ConnectionFailed
                | ureq::Error::HostNotFound
                | ureq::Error::Protocol(_)
        )
}

/// TLS failures: ureq's own TLS errors, and rustls errors, which reach us as I/O errors of kind
/// `InvalidData` (a bad certificate, a server that does not speak TLS).
fn is_tls(e: &ureq::Error, url: &str) -> bool {
    match e {
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => true,
        ureq::Error::Io(io) => {
            url.starts_with("https://") && io.kind() == std::io::ErrorKind::InvalidData
        }
        _ => false,
    }
}

fn transport_error(what: &str, url: &str, e: ureq::Error, attempts: u32) -> anyhow::Error {
    let tls = is_tls(&e, url);
    let after = if attempts > 1 {
        format!(" (gave up after {attempts} attempts)")
    } else {
        String::new()
    };
    let message = format!("{what}: request to {url} failed{after}");
    if tls {
        return hinted(
            format!("{message}: TLS failed: {e}"),
            "the endpoint did not complete a verified TLS handshake: check --endpoint (is it \
             https?), the system clock, and any proxy that intercepts TLS",
        );
    }
    if let ureq::Error::BodyExceedsLimit(_) = e {
        return anyhow!("{message}: the response is larger than {MAX_BODY_BYTES} bytes");
    }
    let why = match &e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Some("the connection closed before the whole response arrived (truncated)")
        }
        ureq::Error::Timeout(_) => Some("no complete answer within the timeout"),
        _ => None,
    };
    match why {
        Some(why) => anyhow::Error::new(e).context(why).context(message),
        None => anyhow::Error::new(e).context(message),
    }
}

/// The error fields of an Alibaba Cloud error body: RPC style (`Code`, `Message`, `RequestId`)
/// or ROA style (`code`, `message`, `requestId`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// The error code, e.g. `Throttling.User`.
    pub code: Option<String>,
    /// The message.
    pub message: Option<String>,
    /// The request id, for support tickets.
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// Reads the error fields; a body that is not a JSON object yields nothing.
    pub fn parse(body: &str) -> ErrorBody {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body)
        else {
            return ErrorBody::default();
        };
        let field = |names: &[&str]| {
            names.iter().find_map(|n| match map.get(*n) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            })
        };
        ErrorBody {
            code: field(&["Code", "code"]),
            message: field(&["Message", "message", "msg"]),
            request_id: field(&["RequestId", "requestId", "request_id"]),
        }
    }
}

/// Builds the error for a non-2xx reply.
fn api_error(what: &str, reply: &Reply) -> anyhow::Error {
    let info = ErrorBody::parse(&reply.body);
    let dash = |v: &Option<String>, max: usize| v.as_deref().map_or("-".into(), |s| clean(s, max));
    let request_id = info.request_id.clone().or_else(|| reply.request_id.clone());
    let mut detail = format!(
        "HTTP {}, Code {}, Message {}, RequestId {}",
        reply.status,
        dash(&info.code, 100),
        dash(&info.message, 500),
        dash(&request_id, 100),
    );
    if info.code.is_none() && !reply.body.trim().is_empty() {
        detail.push_str(&format!(
            " (body is not an API error: {:?})",
            clean(reply.body.trim(), 120)
        ));
    }
    let class = retry::classify(reply.status, info.code.as_deref());
    let detail = match retry::hint(reply.status, info.code.as_deref()) {
        Some(h) => hinted(detail, h),
        None => anyhow!(detail),
    };
    match class {
        Class::Denied => ConfigError::caused_by(format!("{what} was refused"), detail).into(),
        Class::Retry if reply.attempts > 1 => detail.context(format!(
            "{what} failed (gave up after {} attempts)",
            reply.attempts
        )),
        Class::Retry | Class::Fail => detail.context(format!("{what} failed")),
    }
}

/// Text from a server, made safe to print: control characters escaped, length bounded.
pub fn clean(s: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str, attempts: u32) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            request_id: Some("HDR-ID".into()),
            attempts,
        }
    }

    #[test]
    fn error_bodies_in_both_styles() {
        let rpc =
            ErrorBody::parse(r#"{"Code":"Throttling.User","Message":"slow","RequestId":"R1"}"#);
        assert_eq!(rpc.code.as_deref(), Some("Throttling.User"));
        assert_eq!(rpc.message.as_deref(), Some("slow"));
        assert_eq!(rpc.request_id.as_deref(), Some("R1"));
        let roa =
            ErrorBody::parse(r#"{"code":"ErrorQueryCluster","message":"m","requestId":"R2"}"#);
        assert_eq!(roa.code.as_deref(), Some("ErrorQueryCluster"));
        assert_eq!(roa.request_id.as_deref(), Some("R2"));
        assert_eq!(ErrorBody::parse("<html>"), ErrorBody::default());
        assert_eq!(ErrorBody::parse("[1]"), ErrorBody::default());
    }

    #[test]
    fn api_errors_show_status_code_message_and_request_id() {
        let e = Client::success(
            "ListOperationPlansForRegion cn-beijing",
            reply(
                400,
                r#"{"code":"InvalidParameter","message":"bad state","requestId":"R-9"}"#,
                1,
            ),
        )
        .unwrap_err();
        let text = format!("{e:#}");
        assert_eq!(
            text,
            "ListOperationPlansForRegion cn-beijing failed: HTTP 400, Code InvalidParameter, \
             Message bad state, RequestId R-9"
        );
        assert!(!e.chain().any(|c| c.is::<ConfigError>()));
    }

    #[test]
    fn refusals_are_config_errors_with_hints() {
        let e = Client::success(
            "X",
            reply(
                400,
                r#"{"Code":"SignatureDoesNotMatch","Message":"no","RequestId":"R"}"#,
                1,
            ),
        )
        .unwrap_err();
        assert!(e.chain().any(|c| c.is::<ConfigError>()));
        let rendered = crate::error::render(&e);
        assert!(rendered.contains("error: X was refused"), "{rendered}");
        assert!(
            rendered.contains("Code SignatureDoesNotMatch"),
            "{rendered}"
        );
        assert!(
            rendered.contains("hint: the AccessKey secret"),
            "{rendered}"
        );
        let e = Client::success("X", reply(400, r#"{"Code":"InvalidTimeStamp.Expired"}"#, 1))
            .unwrap_err();
        assert!(crate::error::render(&e).contains("clock"));
        let e = Client::success("X", reply(403, "", 1)).unwrap_err();
        assert!(e.chain().any(|c| c.is::<ConfigError>()));
        assert!(format!("{e:#}").contains("RequestId HDR-ID"), "{e:#}");
    }

    #[test]
    fn exhausted_retries_say_so_and_show_non_json_bodies() {
        let e = Client::success("X", reply(502, "<html>Bad Gateway</html>\n", 4)).unwrap_err();
        let text = format!("{e:#}");
        assert!(
            text.starts_with("X failed (gave up after 4 attempts): HTTP 502, Code -"),
            "{text}"
        );
        assert!(text.contains("\"<html>Bad Gateway</html>\""), "{text}");
        assert!(!e.chain().any(|c| c.is::<ConfigError>()));
    }

    #[test]
    fn server_text_is_cleaned() {
        assert_eq!(clean("a\u{1b}[31mb\n", 100), "a\\u{1b}[31mb\\n");
        assert_eq!(clean("abcdef", 3), "abc…");
    }

    #[test]
    fn outgoing_debug_hides_values() {
        let o = Outgoing {
            method: Method::Post,
            url: "https://sts.aliyuncs.com".into(),
            headers: vec![("authorization".into(), "SECRETSIG".into())],
            body: Some("OIDCToken=SECRETTOKEN".into()),
        };
        let d = format!("{o:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert!(d.contains("authorization"));
    }
}
