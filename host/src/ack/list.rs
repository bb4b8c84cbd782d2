//! The `ListOperationPlansForRegion` call: which queries to make, and the signed request.
//!
//! # Query strategy
//!
//! The API returns only the 100 most recent plans of a region (newest first), with optional
//! `cluster_id`, `type` and `state` filters. One unfiltered call could therefore miss a plan that
//! matters: a burst of 100 newer plans (say, finished node pool updates) would push a Scheduled
//! control-plane upgrade out of the answer, and the gate would allow a deploy it should deny.
//! So each region gets three calls, each with `cluster_id` when `--cluster` is given:
//!
//! 1. `state=Executing`: plans running now (the `executing` rule denies whatever their times);
//! 2. `state=Scheduled`: plans yet to run (`master-upgrade` and `maintenance`);
//! 3. no state filter: recent plans of every state (Failed, Canceled, ...) for the report and
//!    for custom policies.
//!
//! The answers are merged in that order and de-duplicated by plan id (by `check`), so when a plan
//! moves from Scheduled to Executing between two calls the Executing copy wins: the more
//! blocking state. A filtered answer that holds 100 plans may itself be cut off; that is an
//! error (the gate cannot know what it did not see) with a hint to narrow it with `--cluster`.

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};

use super::client::{Client, Method, Outgoing};
use super::credentials::{Credentials, Provider, route_for};
use super::endpoint::Endpoint;
use super::sign::{self, EMPTY_BODY_SHA256};
use crate::error::hinted;

/// The API operation.
pub const ACTION: &str = "ListOperationPlansForRegion";
/// The ACK OpenAPI version.
pub const VERSION: &str = "2015-12-15";
/// The most plans one answer holds.
pub const PAGE_LIMIT: usize = 100;

/// One call of the plan list for a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The `state` filter (`None`: every state).
    pub state: Option<&'static str>,
    /// The `cluster_id` filter.
    pub cluster: Option<String>,
}

impl Query {
    /// The query parameters, unencoded.
    pub fn params(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        if let Some(c) = &self.cluster {
            p.push(("cluster_id".to_string(), c.clone()));
        }
        if let Some(s) = self.state {
            p.push(("state".to_string(), s.to_string()));
        }
        p
    }

    /// `cn-beijing state=Scheduled cluster_id=c1`, for messages.
    pub fn describe(&self, region: &str) -> String {
        let mut s = region.to_string();
        match self.state {
            Some(state) => s.push_str(&format!(" state={state}")),
            None => s.push_str(" (all states)"),
        }
        if let Some(c) = &self.cluster {
            s.push_str(&format!(" cluster_id={c}"));
        }
        s
    }
}

/// The calls for one region, in merge order (see the module documentation).
pub fn queries(cluster: Option<&str>) -> Vec<Query> {
    let cluster = cluster.map(str::to_string);
    [Some("Executing"), Some("Scheduled"), None]
        .into_iter()
        .map(|state| Query {
            state,
            cluster: cluster.clone(),
        })
        .collect()
}

/// The path of the call.
pub fn path(region: &str) -> String {
    format!("/regions/{}/operation/plans", sign::percent_encode(region))
}

/// Builds one signed attempt: `date` and `nonce` must be fresh for every attempt.
pub fn request(
    creds: &Credentials,
    endpoint: &Endpoint,
    region: &str,
    params: &[(String, String)],
    date: DateTime<Utc>,
    nonce: &str,
) -> Outgoing {
    let path = path(region);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), endpoint.authority.clone()),
        ("x-acs-action".into(), ACTION.into()),
        ("x-acs-version".into(), VERSION.into()),
        (
            "x-acs-date".into(),
            date.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("x-acs-signature-nonce".into(), nonce.to_string()),
        ("x-acs-content-sha256".into(), EMPTY_BODY_SHA256.into()),
    ];
    if let Some(token) = &creds.security_token {
        headers.push(("x-acs-security-token".into(), token.expose().to_string()));
    }
    let signature = sign::sign(
        &sign::Request {
            method: "GET",
            path: &path,
            query: params,
            headers: &headers,
            payload_hash: EMPTY_BODY_SHA256,
        },
        &creds.access_key_id,
        creds.access_key_secret.expose(),
    );
    headers.push(("authorization".into(), signature.authorization));
    headers.push(("accept".into(), "application/json".into()));
    let query = sign::canonical_query(params);
    let url = if query.is_empty() {
        format!("{}{path}", endpoint.base())
    } else {
        format!("{}{path}?{query}", endpoint.base())
    };
    Outgoing {
        method: Method::Get,
        url,
        headers,
        body: None,
    }
}

/// A fresh signature nonce: 128 random bits in hex.
pub fn nonce() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow!("no randomness for the signature nonce: {e}"))?;
    Ok(hex::encode(bytes))
}

/// Runs one query with retries (each attempt re-signed with fresh credentials, date and nonce)
/// and returns the response body.
pub fn list(
    client: &Client,
    provider: &Provider,
    endpoint: &Endpoint,
    region: &str,
    query: &Query,
) -> Result<String> {
    let what = format!("{ACTION} {}", query.describe(region));
    let params = query.params();
    let attempts = client.settings().policy.max_attempts;
    let reply = client.send(&what, route_for(endpoint), attempts, || {
        let creds = provider.credentials(client)?;
        Ok(request(
            &creds,
            endpoint,
            region,
            &params,
            Utc::now(),
            &nonce()?,
        ))
    })?;
    let body = Client::success(&what, reply)?;
    if query.state.is_some() && plan_count(&body).is_some_and(|n| n >= PAGE_LIMIT) {
        return Err(hinted(
            format!(
                "{what} returned {PAGE_LIMIT} plans, the most the API returns: \
                 older plans in that state may be missing, so the gate cannot decide"
            ),
            "pass --cluster to narrow the query to one cluster",
        ));
    }
    Ok(body)
}

/// How many plans an answer holds (`None` if it is not a plan list: the parser will say why).
fn plan_count(body: &str) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Count {
        plans: Vec<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Count>(body)
        .ok()
        .map(|c| c.plans.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ack::credentials::Secret;
    use chrono::TimeZone;

    fn creds(token: Option<&str>) -> Credentials {
        Credentials {
            access_key_id: "YourAccessKeyId".into(),
            access_key_secret: Secret::new("YourAccessKeySecret"),
            security_token: token.map(Secret::new),
            expiration: None,
        }
    }

    fn vector_c_request(token: Option<&str>, params: &[(&str, &str)]) -> Outgoing {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        request(
            &creds(token),
            &Endpoint::for_region("cn-beijing"),
            "cn-beijing",
            &params,
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            "0123456789abcdef0123456789abcdef",
        )
    }

    fn header<'a>(o: &'a Outgoing, name: &str) -> &'a str {
        o.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap()
    }

    #[test]
    fn the_request_signs_like_vector_c() {
        let o = vector_c_request(None, &[]);
        assert_eq!(
            o.url,
            "https://cs.cn-beijing.aliyuncs.com/regions/cn-beijing/operation/plans"
        );
        assert_eq!(header(&o, "host"), "cs.cn-beijing.aliyuncs.com");
        assert_eq!(header(&o, "x-acs-date"), "2025-01-01T00:00:00Z");
        assert_eq!(header(&o, "x-acs-content-sha256"), EMPTY_BODY_SHA256);
        assert!(header(&o, "authorization").ends_with(
            "Signature=6b54e52506e3742fb15ed75e21d0e38def3997ad6d331ae3408fce575fde2543"
        ));
        let o = vector_c_request(
            None,
            &[
                ("cluster_id", "c02b3e03be10643e8a644a843ffcb****"),
                ("state", "Scheduled"),
                ("type", "CLUSTER_UPGRADE_MASTER"),
            ],
        );
        assert!(o.url.ends_with(
            "?cluster_id=c02b3e03be10643e8a644a843ffcb%2A%2A%2A%2A&state=Scheduled&type=CLUSTER_UPGRADE_MASTER"
        ));
        assert!(header(&o, "authorization").ends_with(
            "Signature=16b459e6ad5ebc0cc7dd455a96c3d43389e0ef579a98ef3df1a68b41c0fb07e2"
        ));
        let o = vector_c_request(Some("YourSecurityToken"), &[]);
        assert_eq!(header(&o, "x-acs-security-token"), "YourSecurityToken");
        assert_eq!(
            header(&o, "authorization"),
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;\
             x-acs-content-sha256;x-acs-date;x-acs-security-token;x-acs-signature-nonce;\
             x-acs-version,Signature=a52cea84ee7a69b5466921b6bf8021ce41b75b3a02639cbe552fd76dfad39de6"
        );
    }

    #[test]
    fn three_queries_per_region_most_blocking_first() {
        let q = queries(Some("c1"));
        assert_eq!(
            q.iter().map(|q| q.params()).collect::<Vec<_>>(),
            vec![
                vec![
                    ("cluster_id".to_string(), "c1".to_string()),
                    ("state".to_string(), "Executing".to_string())
                ],
                vec![
                    ("cluster_id".to_string(), "c1".to_string()),
                    ("state".to_string(), "Scheduled".to_string())
                ],
                vec![("cluster_id".to_string(), "c1".to_string())],
            ]
        );
        assert_eq!(
            q[1].describe("cn-beijing"),
            "cn-beijing state=Scheduled cluster_id=c1"
        );
        let q = queries(None);
        assert!(q[2].params().is_empty());
        assert_eq!(q[2].describe("cn-beijing"), "cn-beijing (all states)");
    }

    #[test]
    fn nonces_are_fresh_128_bit_hex() {
        let a = nonce().unwrap();
        let b = nonce().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn plan_counts() {
        assert_eq!(plan_count(r#"{"plans":[{},{},{}]}"#), Some(3));
        assert_eq!(plan_count(r#"{"plans":[]}"#), Some(0));
        assert_eq!(plan_count("<html>"), None);
    }
}
