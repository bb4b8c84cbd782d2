//! Credentials: the default chain, STS AssumeRoleWithOIDC, the ECS metadata service, refresh.
//!
//! The chain (first that yields wins; `--profile NAME` skips straight to step 3):
//! 1. environment: `ALIBABA_CLOUD_ACCESS_KEY_ID` / `_SECRET` / `_SECURITY_TOKEN`, or the legacy
//!    `ALICLOUD_ACCESS_KEY` / `ALICLOUD_SECRET_KEY` / `ALICLOUD_SECURITY_TOKEN`;
//! 2. OIDC (RRSA): `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
//!    `ALIBABA_CLOUD_OIDC_TOKEN_FILE` (+ `ALIBABA_CLOUD_ROLE_SESSION_NAME`);
//! 3. the aliyun CLI profile (`ALIBABA_CLOUD_CONFIG_FILE` or `~/.aliyun/config.json`);
//! 4. the credentials INI file (`ALIBABA_CLOUD_CREDENTIALS_FILE` or `~/.alibabacloud/credentials`);
//! 5. the ECS instance RAM role (metadata service; off with
//!    `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`).
//!
//! A source that is half configured (an AccessKeyId without its secret, a missing profile named
//! by `--profile`) is a [`ConfigError`], not a reason to fall through to the next one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::ConfigError;
use super::client::{Client, Method, Outgoing, Reply, Route};
use super::endpoint::Endpoint;
use super::profile::{self, OidcSpec, Spec, Wanted};
use super::retry::{self, Class};
use super::sign::percent_encode;
use crate::error::Hinted;

/// Temporary credentials are fetched again this long before they expire.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The default ECS metadata service.
pub const DEFAULT_IMDS: &str = "http://100.100.100.200";

/// A secret string: shown as `<redacted>` by `Debug`, and has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        let s = s.into();
        crate::output::register_secret(&s);
        Secret(s)
    }

    /// The secret itself, for signing and sending only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// An AccessKey pair, with the STS token and expiry of temporary credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// AccessKeyId (not secret, but only its first characters are shown).
    pub access_key_id: String,
    /// AccessKeySecret.
    pub access_key_secret: Secret,
    /// STS security token, for temporary credentials.
    pub security_token: Option<Secret>,
    /// When temporary credentials expire.
    pub expiration: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &mask(&self.access_key_id))
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token)
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// The first four characters and `****`.
pub fn mask(id: &str) -> String {
    let head: String = id.chars().take(4).collect();
    format!("{head}****")
}

impl Credentials {
    /// Whether these should be fetched again at `now`.
    fn stale(&self, now: DateTime<Utc>) -> bool {
        self.expiration.is_some_and(|exp| {
            exp - chrono::Duration::from_std(REFRESH_BEFORE).unwrap_or_default() <= now
        })
    }
}

/// Where credentials come from, once the chain has picked a source.
#[derive(Debug)]
enum Kind {
    Static(Credentials),
    Oidc { spec: OidcSpec, sts: Endpoint },
    Ecs { imds: String, role: Option<String> },
}

/// A resolved credential source that caches and refreshes temporary credentials.
#[derive(Debug)]
pub struct Provider {
    kind: Kind,
    /// Where the credentials come from, for `-v` and messages (never a secret).
    pub description: String,
    cache: Mutex<Option<Credentials>>,
}

impl Provider {
    fn new(kind: Kind, description: String) -> Provider {
        Provider {
            kind,
            description,
            cache: Mutex::new(None),
        }
    }

    /// Current credentials: cached ones unless they expire within [`REFRESH_BEFORE`].
    pub fn credentials(&self, client: &Client) -> Result<Credentials> {
        if let Kind::Static(c) = &self.kind {
            return Ok(c.clone());
        }
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref()
            && !c.stale(Utc::now())
        {
            return Ok(c.clone());
        }
        let fresh = match &self.kind {
            Kind::Static(c) => c.clone(),
            Kind::Oidc { spec, sts } => assume_role_with_oidc(client, spec, sts)?,
            Kind::Ecs { imds, role } => ecs_credentials(client, imds, role.as_deref())?,
        };
        *cache = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Reads environment variables (a parameter so that the chain can be tested without the process
/// environment).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

fn var(env: Env<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

static SHARED: Mutex<Option<(Option<String>, Arc<Provider>)>> = Mutex::new(None);

/// The provider for this process: resolved once per `--profile` value and reused (so a `wait`
/// loop refreshes temporary credentials instead of assuming the role on every poll).
pub fn shared(profile_flag: Option<&str>, client: &Client) -> Result<Arc<Provider>> {
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((flag, p)) = shared.as_ref()
        && flag.as_deref() == profile_flag
    {
        return Ok(Arc::clone(p));
    }
    let env = |name: &str| std::env::var(name).ok();
    let provider = Arc::new(resolve(&env, profile_flag, client)?);
    *shared = Some((profile_flag.map(str::to_string), Arc::clone(&provider)));
    Ok(provider)
}

/// Runs the default chain.
pub fn resolve(env: Env<'_>, profile_flag: Option<&str>, client: &Client) -> Result<Provider> {
    let mut tried: Vec<String> = Vec::new();
    if let Some(name) = profile_flag {
        let Some(p) = from_cli_config(env, Wanted::Flag(name), &mut tried)? else {
            return Err(ConfigError::caused_by(
                format!("--profile {name}: no aliyun CLI config file"),
                Hinted {
                    message: tried.join("; "),
                    hint: "run `aliyun configure --profile NAME`, or set ALIBABA_CLOUD_CONFIG_FILE"
                        .into(),
                },
            )
            .into());
        };
        return Ok(p);
    }
    if let Some(p) = from_env(env, &mut tried)? {
        return Ok(p);
    }
    if let Some(p) = from_oidc_env(env, &mut tried)? {
        return Ok(p);
    }
    let env_profile = var(env, "ALIBABA_CLOUD_PROFILE");
    let wanted = match env_profile.as_deref() {
        Some(name) => Wanted::Env(name),
        None => Wanted::Current,
    };
    if let Some(p) = from_cli_config(env, wanted, &mut tried)? {
        return Ok(p);
    }
    if let Some(p) = from_ini(env, &mut tried)? {
        return Ok(p);
    }
    if let Some(p) = from_imds(env, client, &mut tried)? {
        return Ok(p);
    }
    Err(ConfigError::caused_by(
        "no Alibaba Cloud credentials found",
        Hinted {
            message: format!("tried: {}", tried.join("; ")),
            hint: "set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, run \
                   `aliyun configure`, or pass --response FILE to check a saved response"
                .into(),
        },
    )
    .into())
}

fn from_env(env: Env<'_>, tried: &mut Vec<String>) -> Result<Option<Provider>> {
    for (id, secret, token) in [
        (
            "ALIBABA_CLOUD_ACCESS_KEY_ID",
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
        ),
        (
            "ALICLOUD_ACCESS_KEY",
            "ALICLOUD_SECRET_KEY",
            "ALICLOUD_SECURITY_TOKEN",
        ),
    ] {
        let Some(access_key_id) = var(env, id) else {
            tried.push(format!("environment: {id} not set"));
            continue;
        };
        let Some(access_key_secret) = var(env, secret) else {
            return Err(ConfigError::new(format!("{id} is set but {secret} is not")).into());
        };
        let security_token = var(env, token).map(Secret::new);
        let description = format!(
            "environment ({id}{})",
            if security_token.is_some() {
                format!(", {token}")
            } else {
                String::new()
            }
        );
        return Ok(Some(Provider::new(
            Kind::Static(Credentials {
                access_key_id: access_key_id.trim().to_string(),
                access_key_secret: Secret::new(access_key_secret.trim()),
                security_token,
                expiration: None,
            }),
            description,
        )));
    }
    Ok(None)
}

fn from_oidc_env(env: Env<'_>, tried: &mut Vec<String>) -> Result<Option<Provider>> {
    let names = [
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
    ];
    let values: Vec<Option<String>> = names.iter().map(|n| var(env, n)).collect();
    if values.iter().all(Option::is_none) {
        tried.push("OIDC: ALIBABA_CLOUD_ROLE_ARN not set".into());
        return Ok(None);
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    if !missing.is_empty() {
        return Err(ConfigError::new(format!(
            "OIDC (RRSA) credentials are half configured: {} not set",
            missing.join(", ")
        ))
        .into());
    }
    let mut values = values.into_iter().map(Option::unwrap_or_default);
    let mut next = || values.next().unwrap_or_default();
    let spec = OidcSpec {
        role_arn: next(),
        provider_arn: next(),
        token_file: PathBuf::from(next()),
        session_name: var(env, "ALIBABA_CLOUD_ROLE_SESSION_NAME"),
    };
    oidc_provider(env, spec, "environment (ALIBABA_CLOUD_ROLE_ARN)").map(Some)
}

fn oidc_provider(env: Env<'_>, spec: OidcSpec, source: &str) -> Result<Provider> {
    let sts = sts_endpoint(env)?;
    let description = format!(
        "OIDC role {} via STS {} ({source})",
        spec.role_arn,
        sts.base()
    );
    Ok(Provider::new(Kind::Oidc { spec, sts }, description))
}

/// `ALIBABA_CLOUD_STS_ENDPOINT` (host or URL), else `sts.{ALIBABA_CLOUD_STS_REGION}.aliyuncs.com`,
/// else `sts.aliyuncs.com`.
fn sts_endpoint(env: Env<'_>) -> Result<Endpoint> {
    if let Some(raw) = var(env, "ALIBABA_CLOUD_STS_ENDPOINT") {
        return Endpoint::parse("ALIBABA_CLOUD_STS_ENDPOINT", &raw, "");
    }
    let host = match var(env, "ALIBABA_CLOUD_STS_REGION") {
        Some(region) => format!("sts.{}.aliyuncs.com", region.trim()),
        None => "sts.aliyuncs.com".to_string(),
    };
    Endpoint::parse("ALIBABA_CLOUD_STS_REGION", &host, "")
}

fn home(env: Env<'_>) -> Option<PathBuf> {
    var(env, "HOME").map(PathBuf::from)
}

/// Reads a file that may be absent: `Ok(None)` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ConfigError::new(format!("cannot read {}: {e}", path.display())).into()),
    }
}

fn from_cli_config(
    env: Env<'_>,
    wanted: Wanted<'_>,
    tried: &mut Vec<String>,
) -> Result<Option<Provider>> {
    let (path, explicit) = match var(env, "ALIBABA_CLOUD_CONFIG_FILE") {
        Some(p) => (PathBuf::from(p), true),
        None => match home(env) {
            Some(h) => (h.join(".aliyun").join("config.json"), false),
            None => {
                tried.push("aliyun CLI config: HOME not set".into());
                return Ok(None);
            }
        },
    };
    let shown = path.display().to_string();
    let Some(text) = read_optional(&path)? else {
        if explicit {
            return Err(ConfigError::new(format!(
                "ALIBABA_CLOUD_CONFIG_FILE={shown} does not exist"
            ))
            .into());
        }
        tried.push(format!("aliyun CLI config: {shown} not found"));
        return Ok(None);
    };
    let Some((name, spec)) = profile::cli_profile(&text, &shown, wanted)? else {
        tried.push(format!(
            "aliyun CLI config: {shown} has no profile named by ALIBABA_CLOUD_PROFILE"
        ));
        return Ok(None);
    };
    provider_for(
        env,
        spec,
        &format!("aliyun CLI profile {name:?} in {shown}"),
    )
    .map(Some)
}

fn from_ini(env: Env<'_>, tried: &mut Vec<String>) -> Result<Option<Provider>> {
    let (path, explicit) = match var(env, "ALIBABA_CLOUD_CREDENTIALS_FILE") {
        Some(p) => (PathBuf::from(p), true),
        None => match home(env) {
            Some(h) => (h.join(".alibabacloud").join("credentials"), false),
            None => {
                tried.push("credentials file: HOME not set".into());
                return Ok(None);
            }
        },
    };
    let shown = path.display().to_string();
    let Some(text) = read_optional(&path)? else {
        if explicit {
            return Err(ConfigError::new(format!(
                "ALIBABA_CLOUD_CREDENTIALS_FILE={shown} does not exist"
            ))
            .into());
        }
        tried.push(format!("credentials file: {shown} not found"));
        return Ok(None);
    };
    let section = var(env, "ALIBABA_CLOUD_PROFILE").unwrap_or_else(|| "default".into());
    let Some(spec) = profile::ini_profile(&text, &shown, &section)? else {
        tried.push(format!(
            "credentials file: {shown} has no enabled [{section}] section"
        ));
        return Ok(None);
    };
    provider_for(env, spec, &format!("section [{section}] of {shown}")).map(Some)
}

fn provider_for(env: Env<'_>, spec: Spec, source: &str) -> Result<Provider> {
    Ok(match spec {
        Spec::Static {
            access_key_id,
            access_key_secret,
            security_token,
        } => Provider::new(
            Kind::Static(Credentials {
                access_key_id,
                access_key_secret,
                security_token,
                expiration: None,
            }),
            source.to_string(),
        ),
        Spec::EcsRamRole { role_name } => {
            let imds = imds_base(env)?;
            let description = format!(
                "ECS RAM role {} from {imds} ({source})",
                role_name.as_deref().unwrap_or("(from metadata)")
            );
            Provider::new(
                Kind::Ecs {
                    imds,
                    role: role_name,
                },
                description,
            )
        }
        Spec::Oidc(spec) => oidc_provider(env, spec, source)?,
    })
}

/// `ALIBABA_CLOUD_IMDS_ENDPOINT` or [`DEFAULT_IMDS`]; plain http is normal here.
fn imds_base(env: Env<'_>) -> Result<String> {
    let Some(raw) = var(env, "ALIBABA_CLOUD_IMDS_ENDPOINT") else {
        return Ok(DEFAULT_IMDS.to_string());
    };
    let raw = raw.trim().trim_end_matches('/');
    let ok = raw
        .strip_prefix("http://")
        .or_else(|| raw.strip_prefix("https://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.contains(['/', '?', '#', '@']));
    if ok {
        Ok(raw.to_string())
    } else {
        Err(ConfigError::new(format!(
            "ALIBABA_CLOUD_IMDS_ENDPOINT={raw:?} is not http(s)://host[:port]"
        ))
        .into())
    }
}

fn from_imds(env: Env<'_>, client: &Client, tried: &mut Vec<String>) -> Result<Option<Provider>> {
    if var(env, "ALIBABA_CLOUD_ECS_METADATA_DISABLED").is_some_and(|v| v.trim() == "true") {
        tried.push("ECS RAM role: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true".into());
        return Ok(None);
    }
    let imds = imds_base(env)?;
    // One quick attempt: off ECS nothing answers, and the chain should not stall.
    match imds_role_name(client, &imds, 1) {
        Ok(Some(role)) => {
            let description = format!("ECS RAM role {role} from {imds}");
            Ok(Some(Provider::new(
                Kind::Ecs {
                    imds,
                    role: Some(role),
                },
                description,
            )))
        }
        Ok(None) => {
            tried.push(format!("ECS RAM role: {imds} reports no RAM role attached"));
            Ok(None)
        }
        Err(e) => {
            tried.push(format!(
                "ECS RAM role: metadata service {imds} not reachable ({})",
                e.root_cause()
            ));
            Ok(None)
        }
    }
}

/// IMDSv2: a session token for the metadata requests; `None` if the service does not hand one
/// out (IMDSv1 only). Errors only when the service cannot be reached.
fn imds_token(client: &Client, imds: &str, attempts: u32) -> Result<Option<Secret>> {
    let url = format!("{imds}/latest/api/token");
    let reply = client.send("ECS metadata token", Route::Metadata, attempts, || {
        Ok(Outgoing {
            method: Method::Put,
            url: url.clone(),
            headers: vec![(
                "X-aliyun-ecs-metadata-token-ttl-seconds".into(),
                "21600".into(),
            )],
            body: None,
        })
    })?;
    Ok(reply
        .is_success()
        .then(|| Secret::new(reply.body.trim()))
        .filter(|t| !t.expose().is_empty()))
}

fn imds_get(
    client: &Client,
    what: &str,
    url: &str,
    token: Option<&Secret>,
    attempts: u32,
) -> Result<Reply> {
    client.send(what, Route::Metadata, attempts, || {
        let mut headers = Vec::new();
        if let Some(t) = token {
            headers.push((
                "X-aliyun-ecs-metadata-token".to_string(),
                t.expose().to_string(),
            ));
        }
        Ok(Outgoing {
            method: Method::Get,
            url: url.to_string(),
            headers,
            body: None,
        })
    })
}

/// The RAM role attached to the instance; `None` when there is none (404 or empty).
fn imds_role_name(client: &Client, imds: &str, attempts: u32) -> Result<Option<String>> {
    let token = imds_token(client, imds, attempts)?;
    let url = format!("{imds}/latest/meta-data/ram/security-credentials/");
    let reply = imds_get(
        client,
        "ECS metadata role name",
        &url,
        token.as_ref(),
        attempts,
    )?;
    if reply.status == 404 {
        return Ok(None);
    }
    let body = Client::success("ECS metadata role name", reply)?;
    Ok(body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EcsCredentials {
    #[serde(default)]
    code: Option<String>,
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

fn ecs_credentials(client: &Client, imds: &str, role: Option<&str>) -> Result<Credentials> {
    let attempts = client.settings().policy.max_attempts;
    let what = "ECS RAM role credentials";
    let role = match role {
        Some(r) => r.to_string(),
        None => imds_role_name(client, imds, attempts)
            .with_context(|| format!("{what}: cannot reach the metadata service {imds}"))?
            .ok_or_else(|| {
                ConfigError::new(format!(
                    "{what}: the instance has no RAM role attached ({imds})"
                ))
            })?,
    };
    let token = imds_token(client, imds, attempts)
        .with_context(|| format!("{what}: cannot reach the metadata service {imds}"))?;
    let url = format!(
        "{imds}/latest/meta-data/ram/security-credentials/{}",
        percent_encode(&role)
    );
    let reply = imds_get(client, what, &url, token.as_ref(), attempts)?;
    if reply.status == 404 {
        return Err(ConfigError::new(format!(
            "{what}: the metadata service has no role {role:?} (is it attached to this instance?)"
        ))
        .into());
    }
    let body = Client::success(what, reply)?;
    let c: EcsCredentials = serde_json::from_str(&body)
        .map_err(|e| anyhow!("{what}: unexpected answer from the metadata service: {e}"))?;
    if let Some(code) = c.code.as_deref()
        && code != "Success"
    {
        return Err(anyhow!("{what}: the metadata service answered Code {code}"));
    }
    Ok(Credentials {
        access_key_id: c.access_key_id,
        access_key_secret: Secret::new(c.access_key_secret),
        security_token: Some(Secret::new(c.security_token)),
        expiration: Some(parse_expiration(&c.expiration, what)?),
    })
}

fn parse_expiration(s: &str, what: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| anyhow!("{what}: Expiration {s:?} is not an RFC 3339 time: {e}"))
}

#[derive(Deserialize)]
struct StsResponse {
    #[serde(rename = "Credentials")]
    credentials: StsCredentials,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StsCredentials {
    access_key_id: String,
    access_key_secret: String,
    security_token: String,
    expiration: String,
}

/// STS `AssumeRoleWithOIDC`: an unsigned POST (the OIDC token is the proof) with a form body.
fn assume_role_with_oidc(client: &Client, spec: &OidcSpec, sts: &Endpoint) -> Result<Credentials> {
    let what = format!("STS AssumeRoleWithOIDC for {}", spec.role_arn);
    let token = std::fs::read_to_string(&spec.token_file).map_err(|e| {
        ConfigError::new(format!(
            "cannot read the OIDC token file {}: {e}",
            spec.token_file.display()
        ))
    })?;
    let token = Secret::new(token.trim());
    if token.expose().is_empty() {
        return Err(ConfigError::new(format!(
            "the OIDC token file {} is empty",
            spec.token_file.display()
        ))
        .into());
    }
    let session = spec
        .session_name
        .clone()
        .unwrap_or_else(|| format!("plangate-{}", Utc::now().timestamp()));
    let route = route_for(sts);
    let url = format!("{}/", sts.base());
    let attempts = client.settings().policy.max_attempts;
    let reply = client.send(&what, route, attempts, || {
        let form = [
            ("Action", "AssumeRoleWithOIDC"),
            ("Format", "JSON"),
            ("Version", "2015-04-01"),
            (
                "Timestamp",
                &Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ),
            ("RoleArn", &spec.role_arn),
            ("OIDCProviderArn", &spec.provider_arn),
            ("OIDCToken", token.expose()),
            ("RoleSessionName", &session),
            ("DurationSeconds", "3600"),
        ]
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        Ok(Outgoing {
            method: Method::Post,
            url: url.clone(),
            headers: vec![
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: Some(form),
        })
    })?;
    let (status, code) = (
        reply.status,
        super::client::ErrorBody::parse(&reply.body).code,
    );
    let body = match Client::success(&what, reply) {
        Ok(body) => body,
        // STS refusing the token or role is for the user to fix, whatever the exact code.
        Err(e)
            if (400..500).contains(&status)
                && retry::classify(status, code.as_deref()) != Class::Retry
                && !e.chain().any(|c| c.is::<ConfigError>()) =>
        {
            return Err(ConfigError::caused_by(format!("{what} was refused"), e).into());
        }
        Err(e) => return Err(e),
    };
    let r: StsResponse = serde_json::from_str(&body)
        .map_err(|e| anyhow!("{what}: unexpected answer from STS: {e}"))?;
    Ok(Credentials {
        access_key_id: r.credentials.access_key_id,
        access_key_secret: Secret::new(r.credentials.access_key_secret),
        security_token: Some(Secret::new(r.credentials.security_token)),
        expiration: Some(parse_expiration(&r.credentials.expiration, &what)?),
    })
}

/// Loopback endpoints bypass proxies.
pub fn route_for(endpoint: &Endpoint) -> Route {
    let host = endpoint
        .authority
        .rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && !p.contains(']'))
        .map_or(endpoint.authority.as_str(), |(h, _)| h);
    if super::endpoint::is_loopback(host) {
        Route::Loopback
    } else {
        Route::Public
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::ack::client::Settings;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| map.get(name).cloned()
    }

    fn client() -> Client {
        Client::new(Settings::default(), false)
    }

    const NO_IMDS: (&str, &str) = ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true");

    fn resolve_with(pairs: &[(&str, &str)], flag: Option<&str>) -> Result<Provider> {
        let env = env_of(pairs);
        resolve(&env, flag, &client())
    }

    fn static_of(p: &Provider) -> &Credentials {
        match &p.kind {
            Kind::Static(c) => c,
            other => panic!("not static: {other:?}"),
        }
    }

    #[test]
    fn environment_comes_first() {
        let p = resolve_with(
            &[
                ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKENV"),
                ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SKENV"),
                ("ALIBABA_CLOUD_SECURITY_TOKEN", "TKENV"),
                ("ALICLOUD_ACCESS_KEY", "LEGACY"),
                ("ALICLOUD_SECRET_KEY", "LEGACYSK"),
                NO_IMDS,
            ],
            None,
        )
        .unwrap();
        let c = static_of(&p);
        assert_eq!(c.access_key_id, "AKENV");
        assert_eq!(c.access_key_secret.expose(), "SKENV");
        assert_eq!(c.security_token.as_ref().unwrap().expose(), "TKENV");
        assert!(p.description.contains("ALIBABA_CLOUD_ACCESS_KEY_ID"));
    }

    #[test]
    fn legacy_environment_names() {
        let p = resolve_with(
            &[
                ("ALICLOUD_ACCESS_KEY", "LEGACY"),
                ("ALICLOUD_SECRET_KEY", "LEGACYSK"),
                NO_IMDS,
            ],
            None,
        )
        .unwrap();
        assert_eq!(static_of(&p).access_key_id, "LEGACY");
        assert!(static_of(&p).security_token.is_none());
    }

    #[test]
    fn half_configured_sources_are_config_errors() {
        let e = resolve_with(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "AK"), NO_IMDS], None).unwrap_err();
        assert!(e.is::<ConfigError>());
        assert!(
            e.to_string()
                .contains("ALIBABA_CLOUD_ACCESS_KEY_SECRET is not"),
            "{e}"
        );
        let e = resolve_with(
            &[("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/r"), NO_IMDS],
            None,
        )
        .unwrap_err();
        assert!(e.is::<ConfigError>());
        assert!(
            e.to_string()
                .contains("ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE not set"),
            "{e}"
        );
    }

    #[test]
    fn nothing_found_lists_what_was_tried() {
        let home = tempfile::tempdir().unwrap();
        let h = home.path().to_str().unwrap();
        let e = resolve_with(&[("HOME", h), NO_IMDS], None).unwrap_err();
        assert!(e.chain().any(|c| c.is::<ConfigError>()));
        let text = crate::error::render(&e);
        for part in [
            "error: no Alibaba Cloud credentials found",
            "ALIBABA_CLOUD_ACCESS_KEY_ID not set",
            "ALICLOUD_ACCESS_KEY not set",
            "ALIBABA_CLOUD_ROLE_ARN not set",
            ".aliyun/config.json not found",
            ".alibabacloud/credentials not found",
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
            "hint: set ALIBABA_CLOUD_ACCESS_KEY_ID",
        ] {
            assert!(text.contains(part), "{part:?} missing in {text}");
        }
    }

    #[test]
    fn profile_flag_goes_to_the_cli_config_only() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        std::fs::write(
            &config,
            r#"{"current":"a","profiles":[
                {"name":"a","mode":"AK","access_key_id":"AKA","access_key_secret":"SA"},
                {"name":"b","mode":"AK","access_key_id":"AKB","access_key_secret":"SB"}]}"#,
        )
        .unwrap();
        let cfg = config.to_str().unwrap();
        let base = [
            ("ALIBABA_CLOUD_CONFIG_FILE", cfg),
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "AKENV"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "SKENV"),
            NO_IMDS,
        ];
        assert_eq!(
            static_of(&resolve_with(&base, Some("b")).unwrap()).access_key_id,
            "AKB"
        );
        // Without the flag the environment wins.
        assert_eq!(
            static_of(&resolve_with(&base, None).unwrap()).access_key_id,
            "AKENV"
        );
        // Without the environment: the file's current profile, or ALIBABA_CLOUD_PROFILE.
        let p = resolve_with(&[("ALIBABA_CLOUD_CONFIG_FILE", cfg), NO_IMDS], None).unwrap();
        assert_eq!(static_of(&p).access_key_id, "AKA");
        assert!(
            p.description.contains("aliyun CLI profile \"a\""),
            "{}",
            p.description
        );
        let p = resolve_with(
            &[
                ("ALIBABA_CLOUD_CONFIG_FILE", cfg),
                ("ALIBABA_CLOUD_PROFILE", "b"),
                NO_IMDS,
            ],
            None,
        )
        .unwrap();
        assert_eq!(static_of(&p).access_key_id, "AKB");
        let e = resolve_with(&base, Some("zzz")).unwrap_err();
        assert!(e.is::<ConfigError>(), "{e:#}");
        let e = resolve_with(
            &[
                ("ALIBABA_CLOUD_CONFIG_FILE", "/nonexistent/config.json"),
                NO_IMDS,
            ],
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
    }

    #[test]
    fn ini_file_and_profile_section() {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join(".alibabacloud");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join("credentials"),
            "[default]\ntype = access_key\naccess_key_id = AKINI\naccess_key_secret = SKINI\n\
             [other]\ntype = access_key\naccess_key_id = AKO\naccess_key_secret = SKO\n",
        )
        .unwrap();
        let h = home.path().to_str().unwrap();
        let p = resolve_with(&[("HOME", h), NO_IMDS], None).unwrap();
        assert_eq!(static_of(&p).access_key_id, "AKINI");
        let p = resolve_with(
            &[("HOME", h), ("ALIBABA_CLOUD_PROFILE", "other"), NO_IMDS],
            None,
        )
        .unwrap();
        assert_eq!(static_of(&p).access_key_id, "AKO");
        assert!(p.description.contains("[other]"));
    }

    #[test]
    fn oidc_from_environment_points_at_sts() {
        let p = resolve_with(
            &[
                ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/r"),
                (
                    "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
                    "acs:ram::1:oidc-provider/p",
                ),
                ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/tmp/token"),
                ("ALIBABA_CLOUD_STS_REGION", "cn-beijing"),
                NO_IMDS,
            ],
            None,
        )
        .unwrap();
        match &p.kind {
            Kind::Oidc { spec, sts } => {
                assert_eq!(sts.base(), "https://sts.cn-beijing.aliyuncs.com");
                assert_eq!(spec.token_file, PathBuf::from("/tmp/token"));
                assert_eq!(spec.session_name, None);
            }
            other => panic!("{other:?}"),
        }
        let env = env_of(&[("ALIBABA_CLOUD_STS_ENDPOINT", "http://10.1.1.1")]);
        assert!(sts_endpoint(&env).unwrap_err().is::<ConfigError>());
        let env = env_of(&[]);
        assert_eq!(
            sts_endpoint(&env).unwrap().base(),
            "https://sts.aliyuncs.com"
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let c = Credentials {
            access_key_id: "LTAI5tABCDEFG".into(),
            access_key_secret: Secret::new("very-secret"),
            security_token: Some(Secret::new("sts-token-value")),
            expiration: None,
        };
        let p = Provider::new(Kind::Static(c.clone()), "test".into());
        for text in [format!("{c:?}"), format!("{p:?}"), format!("{c:#?}")] {
            assert!(!text.contains("very-secret"), "{text}");
            assert!(!text.contains("sts-token-value"), "{text}");
            assert!(!text.contains("LTAI5tABCDEFG"), "{text}");
            assert!(text.contains("LTAI****"), "{text}");
        }
    }

    #[test]
    fn temporary_credentials_go_stale_five_minutes_before_expiry() {
        let now = Utc::now();
        let mut c = Credentials {
            access_key_id: "a".into(),
            access_key_secret: Secret::new("b"),
            security_token: None,
            expiration: None,
        };
        assert!(!c.stale(now));
        c.expiration = Some(now + chrono::Duration::minutes(30));
        assert!(!c.stale(now));
        c.expiration = Some(now + chrono::Duration::minutes(4));
        assert!(c.stale(now));
        c.expiration = Some(now - chrono::Duration::minutes(1));
        assert!(c.stale(now));
    }

    #[test]
    fn loopback_endpoints_bypass_proxies() {
        let e = |s: &str| Endpoint::parse("x", s, "r").unwrap();
        assert_eq!(route_for(&e("http://127.0.0.1:80")), Route::Loopback);
        assert_eq!(route_for(&e("http://[::1]:80")), Route::Loopback);
        assert_eq!(route_for(&e("http://[::1]")), Route::Loopback);
        assert_eq!(route_for(&e("http://localhost")), Route::Loopback);
        assert_eq!(
            route_for(&e("https://cs.cn-beijing.aliyuncs.com")),
            Route::Public
        );
    }
}
