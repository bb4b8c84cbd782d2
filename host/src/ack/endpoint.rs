//! Endpoints: the default `https://cs.{region}.aliyuncs.com`, and `--endpoint` overrides.

use std::net::IpAddr;

use anyhow::Result;

use super::ConfigError;

/// Where requests go: scheme and authority only (the API path is fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host` or `host:port` (IPv6 in brackets), exactly as sent in the `Host` header.
    pub authority: String,
}

impl Endpoint {
    /// The default ACK endpoint of a region.
    pub fn for_region(region: &str) -> Endpoint {
        Endpoint {
            scheme: "https",
            authority: format!("cs.{region}.aliyuncs.com"),
        }
    }

    /// Parses an endpoint override (`https://host[:port]`, `http://127.0.0.1:port`, or a bare
    /// `host[:port]`, meaning https). `{region}` in the text is replaced by `region`.
    ///
    /// `what` names the setting in messages (e.g. `--endpoint`). Plain http is only accepted for
    /// loopback hosts: credentials and plans must not cross a network unencrypted. A path other
    /// than `/`, a query, a fragment or user info is refused: the signed path is the API's.
    pub fn parse(what: &str, raw: &str, region: &str) -> Result<Endpoint> {
        let text = raw.trim().replace("{region}", region);
        let bad = |why: &str| -> anyhow::Error {
            ConfigError::new(format!("{what} {raw:?} is not usable: {why}")).into()
        };
        let (scheme, rest) = match text.split_once("://") {
            Some((s, rest)) if s.eq_ignore_ascii_case("https") => ("https", rest),
            Some((s, rest)) if s.eq_ignore_ascii_case("http") => ("http", rest),
            Some((s, _)) => return Err(bad(&format!("unsupported scheme {s:?}"))),
            None => ("https", text.as_str()),
        };
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if !(path.is_empty() || path == "/") {
            return Err(bad(
                "give only scheme, host and port (no path, query or fragment)",
            ));
        }
        if authority.contains('@') {
            return Err(bad("user info in the URL is not supported"));
        }
        let host = host_of(authority).ok_or_else(|| bad("no valid host and port"))?;
        if scheme == "http" && !is_loopback(host) {
            return Err(bad(
                "plain http:// is only allowed for loopback hosts (127.0.0.0/8, ::1, localhost); use https://",
            ));
        }
        Ok(Endpoint {
            scheme,
            authority: authority.to_ascii_lowercase(),
        })
    }

    /// The base URL, e.g. `https://cs.cn-beijing.aliyuncs.com`.
    pub fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// The host part of `host[:port]` / `[v6][:port]`, if the authority is well formed.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (v6, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if let Some(p) = port
        && p.parse::<u16>().ok().is_none_or(|p| p == 0)
    {
        return None;
    }
    let host_ok = !host.is_empty()
        && (authority.starts_with('[')
            || host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
    host_ok.then_some(host)
}

/// 127.0.0.0/8, ::1 and `localhost`.
pub fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(raw: &str) -> Endpoint {
        Endpoint::parse("--endpoint", raw, "cn-beijing").unwrap()
    }

    fn err(raw: &str) -> String {
        let e = Endpoint::parse("--endpoint", raw, "cn-beijing").unwrap_err();
        assert!(e.is::<ConfigError>(), "{e:#}");
        e.to_string()
    }

    #[test]
    fn default_is_the_regional_https_endpoint() {
        assert_eq!(
            Endpoint::for_region("ap-southeast-1").base(),
            "https://cs.ap-southeast-1.aliyuncs.com"
        );
    }

    #[test]
    fn overrides() {
        assert_eq!(
            ok("https://cs-vpc.{region}.aliyuncs.com/").base(),
            "https://cs-vpc.cn-beijing.aliyuncs.com"
        );
        assert_eq!(
            ok("proxy.internal:8443").base(),
            "https://proxy.internal:8443"
        );
        assert_eq!(ok("http://127.0.0.1:8080").base(), "http://127.0.0.1:8080");
        assert_eq!(ok("http://127.8.9.10:1").base(), "http://127.8.9.10:1");
        assert_eq!(ok("http://[::1]:9000").base(), "http://[::1]:9000");
        assert_eq!(ok("HTTP://LocalHost:9000").base(), "http://localhost:9000");
        assert_eq!(ok("https://[2001:db8::1]").authority, "[2001:db8::1]");
    }

    #[test]
    fn plain_http_only_for_loopback() {
        assert!(err("http://cs.cn-beijing.aliyuncs.com").contains("only allowed for loopback"));
        assert!(err("http://10.0.0.1:80").contains("only allowed for loopback"));
        assert!(err("http://[2001:db8::1]:80").contains("only allowed for loopback"));
        assert!(err("http://localhost.evil.example").contains("only allowed for loopback"));
    }

    #[test]
    fn malformed_endpoints_are_config_errors() {
        assert!(err("ftp://x").contains("unsupported scheme"));
        assert!(err("https://x/api").contains("no path"));
        assert!(err("https://x?a=b").contains("no path"));
        assert!(err("https://user:pw@x").contains("user info"));
        assert!(err("https://").contains("no valid host"));
        assert!(err("https://x:0").contains("no valid host"));
        assert!(err("https://x:99999").contains("no valid host"));
        assert!(err("https://[::1").contains("no valid host"));
        assert!(err("https://a b").contains("no valid host"));
    }
}
