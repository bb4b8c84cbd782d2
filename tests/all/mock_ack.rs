//! A mock ACK endpoint that checks the V3 signature of every request with its own
//! canonicalization (independent of the crate's signer), rejects stale dates and reused nonces,
//! serves plans like ACK (filters, 100 newest) and injects faults on request.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::mock_http::{Reply, Request, Server, percent_decode};

/// An AccessKey the mock accepts.
#[derive(Clone, Debug)]
pub struct Key {
    pub id: String,
    pub secret: String,
    /// Temporary keys must come with this `x-acs-security-token`.
    pub token: Option<String>,
}

impl Key {
    pub fn new(id: &str, secret: &str) -> Key {
        Key {
            id: id.into(),
            secret: secret.into(),
            token: None,
        }
    }

    pub fn sts(id: &str, secret: &str, token: &str) -> Key {
        Key {
            token: Some(token.into()),
            ..Key::new(id, secret)
        }
    }
}

/// Something to do instead of (or besides) a normal answer, to the next valid request.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// An API error: status, Code, optional `x-acs-retry-after`.
    Error {
        status: u16,
        code: &'static str,
        retry_after: Option<&'static str>,
    },
    /// A raw body with this status (e.g. an HTML 502 page, or non-JSON 200).
    Body(u16, &'static str),
    /// The normal answer, after a delay.
    Slow(Duration),
    /// The normal answer, cut in half.
    Truncate,
}

impl Fault {
    pub fn error(status: u16, code: &'static str) -> Fault {
        Fault::Error {
            status,
            code,
            retry_after: None,
        }
    }
}

/// What the mock made of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub request: Request,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    /// The status answered.
    pub status: u16,
    /// The error code answered, if any.
    pub code: Option<String>,
}

impl Seen {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn nonce(&self) -> &str {
        self.request.header("x-acs-signature-nonce").unwrap_or("")
    }

    pub fn signature(&self) -> &str {
        let auth = self.request.header("authorization").unwrap_or("");
        auth.rsplit("Signature=").next().unwrap_or("")
    }
}

struct State {
    keys: Vec<Key>,
    plans: HashMap<String, Vec<Value>>,
    default_plans: Vec<Value>,
    faults: VecDeque<Fault>,
    nonces: HashSet<String>,
    seen: Vec<Seen>,
    counter: u64,
}

/// The mock ACK endpoint.
pub struct MockAck {
    server: Server,
    state: Arc<Mutex<State>>,
}

/// The plans of a fixture file.
pub fn fixture_plans(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(crate::support::fixture(name)).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["plans"].as_array().unwrap().clone()
}

impl MockAck {
    /// Serves `plans` for every region to requests signed with one of `keys`.
    pub fn start(keys: Vec<Key>, plans: Vec<Value>) -> MockAck {
        MockAck::with_regions(keys, plans, HashMap::new())
    }

    /// As [`MockAck::start`], with other plans for some regions.
    pub fn with_regions(
        keys: Vec<Key>,
        default_plans: Vec<Value>,
        plans: HashMap<String, Vec<Value>>,
    ) -> MockAck {
        let state = Arc::new(Mutex::new(State {
            keys,
            plans,
            default_plans,
            faults: VecDeque::new(),
            nonces: HashSet::new(),
            seen: Vec::new(),
            counter: 0,
        }));
        let s = Arc::clone(&state);
        let server = Server::start(move |req| handle(&s, req));
        MockAck { server, state }
    }

    /// Queues faults for the next valid requests, in order.
    pub fn fault(&self, faults: &[Fault]) -> &Self {
        self.state
            .lock()
            .unwrap()
            .faults
            .extend(faults.iter().cloned());
        self
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    pub fn max_in_flight(&self) -> usize {
        self.server.max_in_flight()
    }
}

fn error_body(code: &str, message: &str, request_id: &str) -> Value {
    // ACK (a ROA API) answers with lower-case keys.
    json!({"code": code, "message": message, "requestId": request_id})
}

fn handle(state: &Mutex<State>, req: &Request) -> Reply {
    let mut st = state.lock().unwrap();
    st.counter += 1;
    let request_id = format!("MOCK-REQ-{}", st.counter);
    let query: Vec<(String, String)> = req.query_pairs();
    let verdict = verify(&mut st, req);
    let (reply, code) = match verdict {
        Err((status, code, message)) => (
            Reply::json(status, &error_body(code, &message, &request_id)),
            Some(code.to_string()),
        ),
        Ok(region) => {
            let plans = st.plans.get(&region).unwrap_or(&st.default_plans).clone();
            let body = list_body(&plans, &query);
            let ok = Reply::json(200, &body);
            match st.faults.pop_front() {
                None => (ok, None),
                Some(Fault::Error {
                    status,
                    code,
                    retry_after,
                }) => {
                    let mut r = Reply::json(
                        status,
                        &error_body(code, &format!("injected {code}"), &request_id),
                    );
                    if let Some(ra) = retry_after {
                        r = r.with_header("x-acs-retry-after", ra);
                    }
                    (r, Some(code.to_string()))
                }
                Some(Fault::Body(status, text)) => (Reply::new(status, "text/html", text), None),
                Some(Fault::Slow(d)) => (Reply { delay: d, ..ok }, None),
                Some(Fault::Truncate) => (
                    Reply {
                        truncate: true,
                        ..ok
                    },
                    None,
                ),
            }
        }
    };
    let status = reply.status;
    st.seen.push(Seen {
        request: req.clone(),
        query,
        status,
        code,
    });
    reply.with_header("x-acs-request-id", &request_id)
}

/// ACK's filters: `cluster_id` and `state`; newest first (by `created`); at most 100.
fn list_body(plans: &[Value], query: &[(String, String)]) -> Value {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let mut out: Vec<Value> = plans
        .iter()
        .filter(|p| get("cluster_id").is_none_or(|c| p["cluster_id"] == c))
        .filter(|p| get("state").is_none_or(|s| p["state"] == s))
        .cloned()
        .collect();
    let created = |p: &Value| {
        chrono::DateTime::parse_from_rfc3339(p["created"].as_str().unwrap_or(""))
            .map(|t| t.timestamp())
            .unwrap_or(0)
    };
    out.sort_by_key(|p| std::cmp::Reverse(created(p)));
    out.truncate(100);
    json!({ "plans": out })
}

type Refusal = (u16, &'static str, String);

/// Checks a request the way the API gateway would; returns the region of the path.
fn verify(st: &mut State, req: &Request) -> Result<String, Refusal> {
    let bad = |code: &'static str, msg: &str| Err((400, code, msg.to_string()));
    if req.method != "GET" {
        return bad("InvalidMethod", "GET only");
    }
    let region = req
        .path
        .strip_prefix("/regions/")
        .and_then(|r| r.strip_suffix("/operation/plans"))
        .map(percent_decode);
    let Some(region) = region else {
        return Err((
            404,
            "InvalidAction.NotFound",
            format!("no route {}", req.path),
        ));
    };
    if req.header("x-acs-action") != Some("ListOperationPlansForRegion") {
        return bad("InvalidAction", "wrong x-acs-action");
    }
    if req.header("x-acs-version") != Some("2015-12-15") {
        return bad("InvalidVersion", "wrong x-acs-version");
    }
    let Some(auth) = req.header("authorization") else {
        return bad("MissingAuthorization", "no Authorization header");
    };
    let Some(fields) = auth.strip_prefix("ACS3-HMAC-SHA256 ") else {
        return bad("IncompleteSignature", "unknown algorithm");
    };
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in fields.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return bad("IncompleteSignature", "bad Authorization field"),
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return bad("IncompleteSignature", "Authorization lacks a field");
    };
    let Some(key) = st.keys.iter().find(|k| k.id == credential).cloned() else {
        return Err((
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.".into(),
        ));
    };
    if let Some(token) = &key.token
        && req.header("x-acs-security-token") != Some(token.as_str())
    {
        return bad("InvalidSecurityToken.Malformed", "bad security token");
    }

    // Every header that must be signed is signed; the list is sorted and unique.
    let names: Vec<&str> = signed_headers.split(';').collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    if sorted != names || !names.contains(&"host") {
        return bad(
            "IncompleteSignature",
            "SignedHeaders not sorted or lacks host",
        );
    }
    for (n, _) in &req.headers {
        let n = n.to_ascii_lowercase();
        if n.starts_with("x-acs-") && !names.contains(&n.as_str()) {
            return bad("IncompleteSignature", "an x-acs-* header is not signed");
        }
    }

    let body_hash = hex::encode(Sha256::digest(&req.body));
    if req.header("x-acs-content-sha256") != Some(body_hash.as_str()) {
        return bad(
            "InvalidContentSha256",
            "x-acs-content-sha256 does not match the body",
        );
    }

    let date = req.header("x-acs-date").unwrap_or("");
    let Ok(when) = NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%SZ") else {
        return bad(
            "InvalidTimeStamp.Format",
            "x-acs-date is not yyyy-MM-ddTHH:mm:ssZ",
        );
    };
    let skew = (Utc::now().naive_utc() - when).num_seconds().abs();
    if skew > 15 * 60 {
        return bad(
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        );
    }

    // The canonical request, computed here from the raw request.
    let canonical_path = req
        .path
        .split('/')
        .map(|seg| encode(&percent_decode(seg)))
        .collect::<Vec<_>>()
        .join("/");
    let mut query: Vec<(String, String)> = req
        .query_pairs()
        .iter()
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in &names {
        let mut values: Vec<&str> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            return bad("IncompleteSignature", "a signed header is missing");
        }
        values.sort();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method, canonical_path, canonical_query, canonical_headers, signed_headers, body_hash
    );
    let expected = mock_signature(&key.secret, &canonical);
    if expected != signature {
        return bad(
            "SignatureDoesNotMatch",
            "Specified signature is not matched with our calculation.",
        );
    }

    let nonce = req.header("x-acs-signature-nonce").unwrap_or("");
    if nonce.len() < 16 {
        return bad(
            "MissingSignatureNonce",
            "x-acs-signature-nonce is missing or short",
        );
    }
    if !st.nonces.insert(nonce.to_string()) {
        return bad(
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        );
    }
    Ok(region)
}

/// Hex HMAC-SHA256 over the string to sign.
pub fn mock_signature(secret: &str, canonical: &str) -> String {
    let string_to_sign = format!(
        "ACS3-HMAC-SHA256\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// RFC 3986 unreserved characters stay, the rest is %XX (uppercase).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Builds a raw, correctly signed request by hand (for testing the mock itself).
pub fn hand_signed_request(
    addr: std::net::SocketAddr,
    key: &Key,
    region: &str,
    date: &str,
    nonce: &str,
) -> Vec<u8> {
    let host = addr.to_string();
    let path = format!("/regions/{region}/operation/plans");
    let empty = hex::encode(Sha256::digest(b""));
    let headers = [
        ("host", host.as_str()),
        ("x-acs-action", "ListOperationPlansForRegion"),
        ("x-acs-content-sha256", empty.as_str()),
        ("x-acs-date", date),
        ("x-acs-signature-nonce", nonce),
        ("x-acs-version", "2015-12-15"),
    ];
    let signed = headers
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let canonical = format!("GET\n{path}\n\n{canonical_headers}\n{signed}\n{empty}");
    let sig = mock_signature(&key.secret, &canonical);
    let mut raw = format!("GET {path} HTTP/1.1\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str(&format!(
        "authorization: ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed},Signature={sig}\r\n\r\n",
        key.id
    ));
    raw.into_bytes()
}
