//! Credential files users already have: the aliyun CLI's `~/.aliyun/config.json` and the
//! Alibaba Cloud SDKs' `~/.alibabacloud/credentials` INI file.
//!
//! Parsing only: what a profile asks for ([`Spec`]); [`super::credentials`] turns it into keys.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use serde::Deserialize;

use super::ConfigError;
use super::credentials::Secret;

/// How a profile gets its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A fixed AccessKey pair, with an STS token for temporary keys.
    Static {
        /// AccessKeyId.
        access_key_id: String,
        /// AccessKeySecret.
        access_key_secret: Secret,
        /// STS security token (StsToken mode).
        security_token: Option<Secret>,
    },
    /// The ECS instance RAM role, from the metadata service (`None`: ask it for the name).
    EcsRamRole {
        /// The role name.
        role_name: Option<String>,
    },
    /// AssumeRoleWithOIDC (RRSA).
    Oidc(OidcSpec),
}

/// The inputs of STS AssumeRoleWithOIDC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSpec {
    /// `acs:ram::<account>:role/<name>`.
    pub role_arn: String,
    /// `acs:ram::<account>:oidc-provider/<name>`.
    pub provider_arn: String,
    /// The file holding the OIDC token (re-read on every refresh: it is rotated).
    pub token_file: PathBuf,
    /// The session name, if configured.
    pub session_name: Option<String>,
}

#[derive(Deserialize)]
struct CliConfig {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<CliProfile>,
}

// No Debug: it holds secrets.
#[derive(Deserialize, Default)]
#[serde(default)]
struct CliProfile {
    name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    ram_role_name: String,
    ram_role_arn: String,
    role_session_name: String,
    oidc_provider_arn: String,
    oidc_token_file: String,
}

/// Which aliyun CLI profile to use and why (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted<'a> {
    /// `--profile NAME`: must exist.
    Flag(&'a str),
    /// `ALIBABA_CLOUD_PROFILE`: used if present (it may name an INI section instead).
    Env(&'a str),
    /// The file's `current` profile, or `default`.
    Current,
}

/// Reads the profile from an aliyun CLI `config.json`. `Ok(None)` when the profile named by
/// `ALIBABA_CLOUD_PROFILE` is not in the file (the INI file may have it).
pub fn cli_profile(text: &str, path: &str, wanted: Wanted<'_>) -> Result<Option<(String, Spec)>> {
    let config: CliConfig = serde_json::from_str(text)
        .map_err(|e| ConfigError::new(format!("aliyun CLI config {path} is not valid: {e}")))?;
    let name = match wanted {
        Wanted::Flag(n) | Wanted::Env(n) => n.to_string(),
        Wanted::Current if config.current.is_empty() => "default".to_string(),
        Wanted::Current => config.current.clone(),
    };
    let Some(p) = config.profiles.iter().find(|p| p.name == name) else {
        if let Wanted::Env(_) = wanted {
            return Ok(None);
        }
        let names: Vec<&str> = config.profiles.iter().map(|p| p.name.as_str()).collect();
        return Err(ConfigError::new(format!(
            "aliyun CLI config {path} has no profile {name:?} (profiles: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
        .into());
    };
    let what = format!("profile {name:?} in {path}");
    let need = |field: &str, value: &str| -> Result<String> {
        if value.trim().is_empty() {
            Err(ConfigError::new(format!("{what} (mode {}) has no {field}", p.mode)).into())
        } else {
            Ok(value.trim().to_string())
        }
    };
    let spec = match p.mode.as_str() {
        "AK" | "" => Spec::Static {
            access_key_id: need("access_key_id", &p.access_key_id)?,
            access_key_secret: Secret::new(need("access_key_secret", &p.access_key_secret)?),
            security_token: None,
        },
        "StsToken" => Spec::Static {
            access_key_id: need("access_key_id", &p.access_key_id)?,
            access_key_secret: Secret::new(need("access_key_secret", &p.access_key_secret)?),
            security_token: Some(Secret::new(need("sts_token", &p.sts_token)?)),
        },
        "EcsRamRole" => Spec::EcsRamRole {
            role_name: non_empty(&p.ram_role_name),
        },
        "OIDC" => Spec::Oidc(OidcSpec {
            role_arn: need("ram_role_arn", &p.ram_role_arn)?,
            provider_arn: need("oidc_provider_arn", &p.oidc_provider_arn)?,
            token_file: PathBuf::from(need("oidc_token_file", &p.oidc_token_file)?),
            session_name: non_empty(&p.role_session_name),
        }),
        other => {
            return Err(ConfigError::new(format!(
                "{what} uses mode {other:?}, which plangate does not support \
                 (supported: AK, StsToken, EcsRamRole, OIDC)"
            ))
            .into());
        }
    };
    Ok(Some((name, spec)))
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Reads `section` from an Alibaba Cloud credentials INI file. `Ok(None)` when the section is
/// missing or has `enable = false`.
pub fn ini_profile(text: &str, path: &str, section: &str) -> Result<Option<Spec>> {
    let sections = parse_ini(text).with_context(|| format!("credentials file {path}"))?;
    let Some((_, fields)) = sections.iter().find(|(name, _)| name == section) else {
        return Ok(None);
    };
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    if get("enable").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
        return Ok(None);
    }
    let what = format!("section [{section}] of {path}");
    let need = |key: &str| -> Result<String> {
        get(key)
            .map(str::to_string)
            .ok_or_else(|| ConfigError::new(format!("{what} has no {key}")).into())
    };
    let spec = match get("type") {
        Some("access_key") => Spec::Static {
            access_key_id: need("access_key_id")?,
            access_key_secret: Secret::new(need("access_key_secret")?),
            security_token: None,
        },
        Some("ecs_ram_role") => Spec::EcsRamRole {
            role_name: get("role_name").map(str::to_string),
        },
        Some(other) => {
            return Err(ConfigError::new(format!(
                "{what} has type {other:?}, which plangate does not support \
                 (supported: access_key, ecs_ram_role)"
            ))
            .into());
        }
        None => return Err(ConfigError::new(format!("{what} has no type")).into()),
    };
    Ok(Some(spec))
}

type Section = (String, Vec<(String, String)>);

/// A small INI reader: `[section]`, `key = value`, `#` and `;` comment lines, optional quotes.
fn parse_ini(text: &str) -> Result<Vec<Section>> {
    let mut sections: Vec<Section> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let Some(name) = name.strip_suffix(']') else {
                return Err(
                    ConfigError::new(format!("line {}: unclosed section header", i + 1)).into(),
                );
            };
            sections.push((name.trim().to_string(), Vec::new()));
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ConfigError::new(format!("line {}: expected key = value", i + 1)).into());
        };
        let Some((_, fields)) = sections.last_mut() else {
            return Err(
                ConfigError::new(format!("line {}: key outside any [section]", i + 1)).into(),
            );
        };
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        fields.push((key.trim().to_string(), value.to_string()));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"{
      "current": "work",
      "profiles": [
        {"name": "default", "mode": "AK", "access_key_id": "AKDEF", "access_key_secret": "SKDEF",
         "region_id": "cn-hangzhou", "output_format": "json", "language": "en"},
        {"name": "work", "mode": "StsToken", "access_key_id": "STS.ID", "access_key_secret": "SK2",
         "sts_token": "TOKEN2"},
        {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "my-role"},
        {"name": "ecs-auto", "mode": "EcsRamRole"},
        {"name": "rrsa", "mode": "OIDC", "ram_role_arn": "acs:ram::1:role/r",
         "oidc_provider_arn": "acs:ram::1:oidc-provider/p", "oidc_token_file": "/var/run/token",
         "role_session_name": "s1"},
        {"name": "sso", "mode": "CloudSSO"},
        {"name": "half", "mode": "AK", "access_key_id": "AK"}
      ],
      "meta_path": ""
    }"#;

    fn cli(wanted: Wanted<'_>) -> Result<Option<(String, Spec)>> {
        cli_profile(CONFIG, "/h/.aliyun/config.json", wanted)
    }

    #[test]
    fn cli_current_profile_and_modes() {
        let (name, spec) = cli(Wanted::Current).unwrap().unwrap();
        assert_eq!(name, "work");
        assert_eq!(
            spec,
            Spec::Static {
                access_key_id: "STS.ID".into(),
                access_key_secret: Secret::new("SK2"),
                security_token: Some(Secret::new("TOKEN2")),
            }
        );
        let (_, spec) = cli(Wanted::Flag("default")).unwrap().unwrap();
        assert_eq!(
            spec,
            Spec::Static {
                access_key_id: "AKDEF".into(),
                access_key_secret: Secret::new("SKDEF"),
                security_token: None,
            }
        );
        assert_eq!(
            cli(Wanted::Flag("ecs")).unwrap().unwrap().1,
            Spec::EcsRamRole {
                role_name: Some("my-role".into())
            }
        );
        assert_eq!(
            cli(Wanted::Env("ecs-auto")).unwrap().unwrap().1,
            Spec::EcsRamRole { role_name: None }
        );
        assert_eq!(
            cli(Wanted::Flag("rrsa")).unwrap().unwrap().1,
            Spec::Oidc(OidcSpec {
                role_arn: "acs:ram::1:role/r".into(),
                provider_arn: "acs:ram::1:oidc-provider/p".into(),
                token_file: "/var/run/token".into(),
                session_name: Some("s1".into()),
            })
        );
    }

    #[test]
    fn cli_problems_are_config_errors() {
        let e = cli(Wanted::Flag("nope")).unwrap_err();
        assert!(e.is::<ConfigError>());
        assert!(e.to_string().contains("has no profile \"nope\""), "{e}");
        assert!(e.to_string().contains("default, work, ecs"), "{e}");
        let e = cli(Wanted::Flag("sso")).unwrap_err();
        assert!(e.to_string().contains("mode \"CloudSSO\""), "{e}");
        let e = cli(Wanted::Flag("half")).unwrap_err();
        assert!(e.to_string().contains("has no access_key_secret"), "{e}");
        let e = cli_profile("{not json", "f", Wanted::Current).unwrap_err();
        assert!(e.is::<ConfigError>());
        assert!(e.to_string().contains("is not valid"), "{e}");
        // A profile named by ALIBABA_CLOUD_PROFILE may live in the INI file instead.
        assert!(cli(Wanted::Env("elsewhere")).unwrap().is_none());
    }

    #[test]
    fn cli_without_current_uses_default() {
        let text = r#"{"profiles":[{"name":"default","mode":"AK","access_key_id":"A","access_key_secret":"S"}]}"#;
        let (name, _) = cli_profile(text, "f", Wanted::Current).unwrap().unwrap();
        assert_eq!(name, "default");
    }

    const INI: &str = "\
# comment
[default]
enable = true
type = access_key
access_key_id = AKINI
access_key_secret = \"SK INI\"

; another comment
[ecs]
type = ecs_ram_role
role_name=EcsRole

[off]
enable = false
type = access_key

[rsa]
type = rsa_key_pair

[broken]
type = access_key
access_key_id = X
";

    #[test]
    fn ini_sections() {
        assert_eq!(
            ini_profile(INI, "c", "default").unwrap(),
            Some(Spec::Static {
                access_key_id: "AKINI".into(),
                access_key_secret: Secret::new("SK INI"),
                security_token: None,
            })
        );
        assert_eq!(
            ini_profile(INI, "c", "ecs").unwrap(),
            Some(Spec::EcsRamRole {
                role_name: Some("EcsRole".into())
            })
        );
        assert_eq!(ini_profile(INI, "c", "off").unwrap(), None);
        assert_eq!(ini_profile(INI, "c", "missing").unwrap(), None);
    }

    #[test]
    fn ini_problems_are_config_errors() {
        let e = ini_profile(INI, "c", "rsa").unwrap_err();
        assert!(e.is::<ConfigError>());
        assert!(e.to_string().contains("type \"rsa_key_pair\""), "{e}");
        let e = ini_profile(INI, "c", "broken").unwrap_err();
        assert!(e.to_string().contains("has no access_key_secret"), "{e}");
        let e = ini_profile("key = v\n", "c", "default").unwrap_err();
        assert!(e.chain().any(|c| c.is::<ConfigError>()));
        assert!(
            format!("{e:#}").contains("line 1: key outside any [section]"),
            "{e:#}"
        );
        let e = ini_profile("[default\n", "c", "default").unwrap_err();
        assert!(
            format!("{e:#}").contains("unclosed section header"),
            "{e:#}"
        );
        let e = ini_profile("[default]\njunk\n", "c", "default").unwrap_err();
        assert!(
            format!("{e:#}").contains("line 2: expected key = value"),
            "{e:#}"
        );
    }
}
