//! ACS3-HMAC-SHA256: Alibaba Cloud's V3 request signature.
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n
//!                    CanonicalHeaders \n SignedHeaders \n HexSHA256(body)
//! StringToSign     = "ACS3-HMAC-SHA256\n" + HexSHA256(CanonicalRequest)
//! Signature        = Hex(HMAC-SHA256(AccessKeySecret, StringToSign))
//! Authorization    = ACS3-HMAC-SHA256 Credential=<id>,SignedHeaders=<a;b>,Signature=<hex>
//! ```
//!
//! Signed headers are `host`, `content-type` and every `x-acs-*` header (names lowercased and
//! sorted, values trimmed, repeated names joined with `,` after sorting the values).

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The algorithm name that starts the string to sign and the `Authorization` header.
pub const ALGORITHM: &str = "ACS3-HMAC-SHA256";

/// Hex SHA-256 of an empty body: the `x-acs-content-sha256` of every GET.
pub const EMPTY_BODY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// RFC 3986 percent-encoding: only `A-Z a-z 0-9 - _ . ~` stay, hex digits are uppercase.
///
/// Used for path segments, query names and values, and form bodies.
pub fn percent_encode(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// The canonical URI: each `/`-separated segment percent-encoded; an empty path is `/`.
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(percent_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// The canonical query string: `name=value` pairs, encoded, sorted, joined with `&`.
///
/// This is also the query string that is sent, so what is signed is what is sent.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (percent_encode(k), percent_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lowercase hex SHA-256.
pub fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// What the signature covers.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// HTTP method, e.g. `GET`.
    pub method: &'a str,
    /// The path, unencoded (`/regions/cn-beijing/operation/plans`).
    pub path: &'a str,
    /// Query parameters, unencoded.
    pub query: &'a [(String, String)],
    /// Every header that is sent; only `host`, `content-type` and `x-acs-*` are signed.
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body (the `x-acs-content-sha256` value).
    pub payload_hash: &'a str,
}

/// The canonical request and the `;`-joined signed header names.
pub fn canonical_request(req: &Request<'_>) -> (String, String) {
    let mut signed: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in req.headers {
        let name = name.to_ascii_lowercase();
        if !(name == "host" || name == "content-type" || name.starts_with("x-acs-")) {
            continue;
        }
        let value = value.trim().to_string();
        match signed.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => signed.push((name, vec![value])),
        }
    }
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut canonical_headers = String::new();
    for (name, values) in &mut signed {
        values.sort();
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let signed_headers = signed
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        canonical_uri(req.path),
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        req.payload_hash
    );
    (canonical, signed_headers)
}

/// A computed signature.
#[derive(Clone)]
pub struct Signature {
    /// The `;`-joined signed header names.
    pub signed_headers: String,
    /// Hex HMAC-SHA256 of the string to sign.
    pub signature: String,
    /// The value of the `Authorization` header (names the AccessKeyId, not the secret).
    pub authorization: String,
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signature")
            .field("signed_headers", &self.signed_headers)
            .field("signature", &"<redacted>")
            .finish()
    }
}

/// Signs `req` with the AccessKey pair.
pub fn sign(req: &Request<'_>, access_key_id: &str, access_key_secret: &str) -> Signature {
    let (canonical, signed_headers) = canonical_request(req);
    let string_to_sign = format!("{ALGORITHM}\n{}", hex_sha256(canonical.as_bytes()));
    let signature = hex::encode(hmac_sha256(
        access_key_secret.as_bytes(),
        string_to_sign.as_bytes(),
    ));
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
    );
    Signature {
        signed_headers,
        signature,
        authorization,
    }
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length")
    };
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// Vector A: the V3 documentation's worked example.
    #[test]
    fn vector_a_official_worked_example() {
        let query = pairs(&[
            (
                "ImageId",
                "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd",
            ),
            ("RegionId", "cn-shanghai"),
        ]);
        let headers = pairs(&[
            ("host", "ecs.cn-shanghai.aliyuncs.com"),
            ("x-acs-action", "RunInstances"),
            ("x-acs-version", "2014-05-26"),
            ("x-acs-date", "2023-10-26T10:22:32Z"),
            ("x-acs-signature-nonce", "3156853299f313e23d1673dc12e1703d"),
            ("x-acs-content-sha256", EMPTY_BODY_SHA256),
        ]);
        let req = Request {
            method: "POST",
            path: "/",
            query: &query,
            headers: &headers,
            payload_hash: EMPTY_BODY_SHA256,
        };
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(
            hex_sha256(canonical.as_bytes()),
            "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
        );
        assert_eq!(
            signed,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
        let s = sign(&req, "YourAccessKeyId", "YourAccessKeySecret");
        assert_eq!(
            s.signature,
            "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
        assert_eq!(
            s.authorization,
            "ACS3-HMAC-SHA256 Credential=YourAccessKeyId,SignedHeaders=host;x-acs-action;\
             x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,\
             Signature=06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
        );
    }

    /// Vector B: the official library's unit test (empty method and path, repeated header).
    #[test]
    fn vector_b_official_library_test() {
        let query = pairs(&[("test", "ok"), ("empty", "")]);
        let headers = pairs(&[("x-acs-test", "http"), ("x-acs-TEST", "https")]);
        let req = Request {
            method: "",
            path: "",
            query: &query,
            headers: &headers,
            payload_hash: "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23",
        };
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(
            canonical,
            "\n/\nempty=&test=ok\nx-acs-test:http,https\n\nx-acs-test\n\
             55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"
        );
        assert_eq!(signed, "x-acs-test");
        assert_eq!(
            sign(&req, "acesskey", "secret").authorization,
            "ACS3-HMAC-SHA256 Credential=acesskey,SignedHeaders=x-acs-test,\
             Signature=4ab59fffe3c5738ff8a2729f90cc04fe18b02a4b15b2102cbaf92f9ff3df2ea3"
        );
    }

    fn vector_c(query: &[(&str, &str)], extra_headers: &[(&str, &str)]) -> Signature {
        let query = pairs(query);
        let mut headers = pairs(&[
            ("host", "cs.cn-beijing.aliyuncs.com"),
            ("x-acs-action", "ListOperationPlansForRegion"),
            ("x-acs-version", "2015-12-15"),
            ("x-acs-date", "2025-01-01T00:00:00Z"),
            ("x-acs-signature-nonce", "0123456789abcdef0123456789abcdef"),
            ("x-acs-content-sha256", EMPTY_BODY_SHA256),
        ]);
        headers.extend(pairs(extra_headers));
        let req = Request {
            method: "GET",
            path: "/regions/cn-beijing/operation/plans",
            query: &query,
            headers: &headers,
            payload_hash: EMPTY_BODY_SHA256,
        };
        sign(&req, "YourAccessKeyId", "YourAccessKeySecret")
    }

    #[test]
    fn vector_c1_plain_list_call() {
        let s = vector_c(&[], &[]);
        assert_eq!(
            s.signature,
            "6b54e52506e3742fb15ed75e21d0e38def3997ad6d331ae3408fce575fde2543"
        );
        assert_eq!(
            s.signed_headers,
            "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
        );
    }

    #[test]
    fn vector_c2_filtered_list_call() {
        let query = [
            ("cluster_id", "c02b3e03be10643e8a644a843ffcb****"),
            ("state", "Scheduled"),
            ("type", "CLUSTER_UPGRADE_MASTER"),
        ];
        assert_eq!(
            canonical_query(&pairs(&query)),
            "cluster_id=c02b3e03be10643e8a644a843ffcb%2A%2A%2A%2A&state=Scheduled&type=CLUSTER_UPGRADE_MASTER"
        );
        assert_eq!(
            vector_c(&query, &[]).signature,
            "16b459e6ad5ebc0cc7dd455a96c3d43389e0ef579a98ef3df1a68b41c0fb07e2"
        );
        // Order of the parameters does not matter: the canonical form sorts them.
        let reversed = [query[2], query[1], query[0]];
        assert_eq!(
            vector_c(&reversed, &[]).signature,
            "16b459e6ad5ebc0cc7dd455a96c3d43389e0ef579a98ef3df1a68b41c0fb07e2"
        );
    }

    #[test]
    fn vector_c3_sts_token_is_signed() {
        let s = vector_c(&[], &[("x-acs-security-token", "YourSecurityToken")]);
        assert_eq!(
            s.signature,
            "a52cea84ee7a69b5466921b6bf8021ce41b75b3a02639cbe552fd76dfad39de6"
        );
        assert!(s.signed_headers.contains("x-acs-security-token"));
    }

    #[test]
    fn encoding_line() {
        let query = pairs(&[
            ("cluster_id", "c0"),
            ("note", "a b*c~d+e/f!('x')"),
            ("empty", ""),
        ]);
        assert_eq!(
            canonical_query(&query),
            "cluster_id=c0&empty=&note=a%20b%2Ac~d%2Be%2Ff%21%28%27x%27%29"
        );
    }

    #[test]
    fn percent_encoding_is_rfc3986_with_uppercase_hex() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode(" "), "%20");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("/?#[]@"), "%2F%3F%23%5B%5D%40");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn canonical_uri_encodes_segments_and_defaults_to_slash() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(
            canonical_uri("/regions/cn-beijing/operation/plans"),
            "/regions/cn-beijing/operation/plans"
        );
        assert_eq!(canonical_uri("/a b/c*d"), "/a%20b/c%2Ad");
    }

    #[test]
    fn unsigned_headers_are_ignored_and_values_trimmed() {
        let headers = pairs(&[
            ("Host", " cs.cn-beijing.aliyuncs.com "),
            ("User-Agent", "plangate"),
            ("Authorization", "anything"),
            ("Content-Type", "application/json"),
        ]);
        let req = Request {
            method: "GET",
            path: "/",
            query: &[],
            headers: &headers,
            payload_hash: EMPTY_BODY_SHA256,
        };
        let (canonical, signed) = canonical_request(&req);
        assert_eq!(signed, "content-type;host");
        assert!(canonical.contains("\nhost:cs.cn-beijing.aliyuncs.com\n"));
        assert!(!canonical.contains("plangate"));
    }

    #[test]
    fn debug_of_a_signature_hides_it() {
        let s = vector_c(&[], &[]);
        assert!(!format!("{s:?}").contains(&s.signature));
    }
}
