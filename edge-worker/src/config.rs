//! Worker configuration, read from `[vars]`, secrets and `.dev.vars` bindings on every
//! request (a Worker gets its `Env` per request).

use std::fmt;

use session_core::Validation;
use worker::{Env, Url};

use crate::cookie::{self, CookieSettings};

/// Shortest accepted secret, in bytes: HS256 keys below the hash size weaken the MAC
/// (RFC 7518 section 3.2).
pub const MIN_SECRET_LEN: usize = 32;

/// Invalid or missing binding. Each message names the binding and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required plain binding is not set.
    #[error("the binding {binding} is not set; add it under [vars] in wrangler.toml (or to .dev.vars for local runs)")]
    Missing { binding: &'static str },
    /// A required secret is not set.
    #[error("the secret {binding} is not set; add it with `wrangler secret put {binding}` (or to .dev.vars for local runs)")]
    MissingSecret { binding: &'static str },
    /// A secret is shorter than [`MIN_SECRET_LEN`] bytes.
    #[error("the secret {binding} is {len} bytes long; it must be at least {MIN_SECRET_LEN} bytes (for example `openssl rand -base64 48`)")]
    SecretTooShort { binding: &'static str, len: usize },
    /// Both or neither of the identity key bindings are set.
    #[error("set exactly one of IDENTITY_SECRET (the identity provider's HS256 key, as a secret) or IDENTITY_JWKS_URL (its JWKS for RS256 or ES256), not {0}")]
    IdentityKeySource(&'static str),
    /// A binding has a value of the wrong form.
    #[error("the binding {binding} has the invalid value `{value}`; expected {expected}")]
    Invalid {
        binding: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// A secret string whose `Debug` output hides the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Returns the secret's bytes, for key import.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Returns the secret as text, for headers sent to the origin.
    pub fn expose_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Everything the Worker reads from its bindings.
#[derive(Debug, Clone)]
pub struct Config {
    /// HMAC key of the session JWT, `AUTH_SECRET`; shared with the origin.
    pub auth_secret: Secret,
    /// Older session key accepted for verification only, `AUTH_SECRET_PREVIOUS`.
    pub auth_secret_previous: Option<Secret>,
    /// `iss` of session JWTs, `AUTH_ISSUER`; default `edge-sessions`.
    pub auth_issuer: String,
    /// Source of identity token keys: `IDENTITY_SECRET` or `IDENTITY_JWKS_URL`.
    pub identity_keys: IdentityKeys,
    /// Required `iss` of identity tokens, `IDENTITY_ISSUER`.
    pub identity_issuer: String,
    /// Required `aud` of identity tokens, `IDENTITY_AUDIENCE`; unchecked when unset.
    pub identity_audience: Option<String>,
    /// Base URL of the origin API, `ORIGIN_URL`.
    pub origin_url: Url,
    /// Proof sent to the origin that a request comes from this Worker, `EDGE_SHARED_SECRET`.
    /// Without it the origin records the Worker's address instead of the client's.
    pub edge_shared_secret: Option<Secret>,
    /// Time before the origin call is abandoned with a 503, in milliseconds,
    /// `ORIGIN_TIMEOUT_MS`; default 5000.
    pub origin_timeout_ms: u32,
    /// Session lifetime in seconds, `SESSION_MAX_AGE`; default 30 days.
    pub session_max_age: u64,
    /// Age in seconds after which the session JWT is re-issued, `SESSION_UPDATE_AGE`;
    /// default one day.
    pub session_update_age: u64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds, `TOKEN_LEEWAY`; default 30.
    pub token_leeway: u64,
    /// Session cookie name and `Secure` flag, `COOKIE_NAME` and `COOKIE_SECURE`.
    pub cookie: CookieSettings,
}

impl Config {
    /// Reads and checks every binding.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let lookup = |name: &str| env.var(name).ok().map(|value| value.to_string());
        Self::from_lookup(lookup)
    }

    /// Reads and checks every binding through `lookup`, which returns a binding's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.is_empty());

        let origin_url = http_url(required(&get, "ORIGIN_URL")?, "ORIGIN_URL")?;

        let identity_secret = optional_secret(&get, "IDENTITY_SECRET")?;
        let identity_jwks_url = get("IDENTITY_JWKS_URL")
            .map(|url| http_url(url, "IDENTITY_JWKS_URL"))
            .transpose()?;
        let identity_keys = match (identity_secret, identity_jwks_url) {
            (Some(secret), None) => IdentityKeys::Secret(secret),
            (None, Some(url)) => IdentityKeys::Jwks(url),
            (Some(_), Some(_)) => return Err(ConfigError::IdentityKeySource("both")),
            (None, None) => return Err(ConfigError::IdentityKeySource("neither")),
        };

        let cookie_name = get("COOKIE_NAME").unwrap_or_else(|| "edge_session".to_owned());
        if !cookie::is_valid_name(&cookie_name) {
            return Err(ConfigError::Invalid {
                binding: "COOKIE_NAME",
                value: cookie_name,
                expected: "a cookie name of letters, digits and `-_.!#$%&'*+^`|~`",
            });
        }

        Ok(Config {
            auth_secret: secret(&get, "AUTH_SECRET")?,
            auth_secret_previous: optional_secret(&get, "AUTH_SECRET_PREVIOUS")?,
            auth_issuer: get("AUTH_ISSUER").unwrap_or_else(|| "edge-sessions".to_owned()),
            identity_keys,
            identity_issuer: required(&get, "IDENTITY_ISSUER")?,
            identity_audience: get("IDENTITY_AUDIENCE"),
            origin_url,
            edge_shared_secret: optional_secret(&get, "EDGE_SHARED_SECRET")?,
            origin_timeout_ms: number(&get, "ORIGIN_TIMEOUT_MS", 5_000)?,
            session_max_age: number(&get, "SESSION_MAX_AGE", 30 * 24 * 60 * 60)?,
            session_update_age: number(&get, "SESSION_UPDATE_AGE", 24 * 60 * 60)?,
            token_leeway: number(&get, "TOKEN_LEEWAY", Validation::DEFAULT_LEEWAY)?,
            cookie: CookieSettings {
                name: cookie_name,
                secure: boolean(&get, "COOKIE_SECURE", true)?,
            },
        })
    }

    /// The checks a session JWT must pass besides its signature.
    pub fn session_validation(&self) -> Validation {
        Validation {
            leeway: self.token_leeway,
            ..Validation::new(self.auth_issuer.clone())
        }
    }

    /// The checks an identity token must pass besides its signature.
    pub fn identity_validation(&self) -> Validation {
        Validation {
            audience: self.identity_audience.clone(),
            leeway: self.token_leeway,
            ..Validation::new(self.identity_issuer.clone())
        }
    }
}

/// Source of the keys that verify identity tokens. HMAC and public-key algorithms are
/// never accepted together, so a public key cannot be replayed as an HMAC secret.
#[derive(Debug, Clone)]
pub enum IdentityKeys {
    /// HS256 with a shared secret.
    Secret(Secret),
    /// RS256 or ES256 with the public keys of a JWKS URL (RFC 7517).
    Jwks(Url),
}

fn http_url(value: String, binding: &'static str) -> Result<Url, ConfigError> {
    Url::parse(&value)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
        .ok_or(ConfigError::Invalid {
            binding,
            value,
            expected: "an http:// or https:// URL such as http://127.0.0.1:8080",
        })
}

fn required(
    get: &impl Fn(&str) -> Option<String>,
    binding: &'static str,
) -> Result<String, ConfigError> {
    get(binding).ok_or(ConfigError::Missing { binding })
}

fn secret(
    get: &impl Fn(&str) -> Option<String>,
    binding: &'static str,
) -> Result<Secret, ConfigError> {
    optional_secret(get, binding)?.ok_or(ConfigError::MissingSecret { binding })
}

fn optional_secret(
    get: &impl Fn(&str) -> Option<String>,
    binding: &'static str,
) -> Result<Option<Secret>, ConfigError> {
    let Some(value) = get(binding) else {
        return Ok(None);
    };
    if value.len() < MIN_SECRET_LEN {
        return Err(ConfigError::SecretTooShort {
            binding,
            len: value.len(),
        });
    }
    Ok(Some(Secret(value)))
}

fn number<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    binding: &'static str,
    default: T,
) -> Result<T, ConfigError> {
    let Some(value) = get(binding) else {
        return Ok(default);
    };
    value.trim().parse().map_err(|_| ConfigError::Invalid {
        binding,
        value,
        expected: "a whole non-negative number",
    })
}

fn boolean(
    get: &impl Fn(&str) -> Option<String>,
    binding: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    let Some(value) = get(binding) else {
        return Ok(default);
    };
    match value.trim() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ConfigError::Invalid {
            binding,
            value,
            expected: "`true` or `false`",
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn base() -> HashMap<&'static str, String> {
        HashMap::from([
            ("AUTH_SECRET", SECRET.to_owned()),
            ("IDENTITY_SECRET", SECRET.to_owned()),
            ("IDENTITY_ISSUER", "https://idp.example".to_owned()),
            ("ORIGIN_URL", "http://127.0.0.1:8080".to_owned()),
        ])
    }

    fn load(vars: &HashMap<&'static str, String>) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_apply() {
        let config = load(&base()).unwrap();
        assert_eq!(config.auth_issuer, "edge-sessions");
        assert_eq!(config.session_max_age, 2_592_000);
        assert_eq!(config.session_update_age, 86_400);
        assert_eq!(config.origin_timeout_ms, 5_000);
        assert_eq!(
            config.cookie,
            CookieSettings {
                name: "edge_session".to_owned(),
                secure: true
            }
        );
    }

    #[test]
    fn missing_secret_names_binding() {
        let mut vars = base();
        vars.remove("AUTH_SECRET");
        assert_eq!(
            load(&vars).unwrap_err(),
            ConfigError::MissingSecret {
                binding: "AUTH_SECRET"
            }
        );
    }

    #[test]
    fn empty_secret_counts_as_missing() {
        let mut vars = base();
        vars.insert("AUTH_SECRET", String::new());
        assert_eq!(
            load(&vars).unwrap_err(),
            ConfigError::MissingSecret {
                binding: "AUTH_SECRET"
            }
        );
    }

    #[test]
    fn identity_keys_from_jwks_url() {
        let mut vars = base();
        vars.remove("IDENTITY_SECRET");
        vars.insert(
            "IDENTITY_JWKS_URL",
            "https://idp.example/jwks.json".to_owned(),
        );
        let config = load(&vars).unwrap();
        assert!(
            matches!(config.identity_keys, IdentityKeys::Jwks(url) if url.as_str() == "https://idp.example/jwks.json")
        );
    }

    #[test]
    fn identity_keys_need_exactly_one_source() {
        let mut both = base();
        both.insert(
            "IDENTITY_JWKS_URL",
            "https://idp.example/jwks.json".to_owned(),
        );
        assert_eq!(
            load(&both).unwrap_err(),
            ConfigError::IdentityKeySource("both")
        );

        let mut neither = base();
        neither.remove("IDENTITY_SECRET");
        assert_eq!(
            load(&neither).unwrap_err(),
            ConfigError::IdentityKeySource("neither")
        );
    }

    #[test]
    fn missing_plain_binding_names_wrangler_toml() {
        let mut vars = base();
        vars.remove("ORIGIN_URL");
        let err = load(&vars).unwrap_err();
        assert_eq!(
            err,
            ConfigError::Missing {
                binding: "ORIGIN_URL"
            }
        );
        assert!(err.to_string().contains("wrangler.toml"), "{err}");
    }

    #[test]
    fn short_secret_is_rejected() {
        let mut vars = base();
        vars.insert("EDGE_SHARED_SECRET", "short".to_owned());
        assert_eq!(
            load(&vars).unwrap_err(),
            ConfigError::SecretTooShort {
                binding: "EDGE_SHARED_SECRET",
                len: 5
            }
        );
    }

    #[test]
    fn invalid_values_are_named() {
        let cases = [
            ("ORIGIN_URL", "not a url"),
            ("ORIGIN_URL", "ftp://127.0.0.1"),
            ("SESSION_MAX_AGE", "-1"),
            ("ORIGIN_TIMEOUT_MS", "5s"),
            ("COOKIE_SECURE", "yes"),
            ("COOKIE_NAME", "bad name"),
        ];
        for (binding, value) in cases {
            let mut vars = base();
            vars.insert(binding, value.to_owned());
            let err = load(&vars).unwrap_err();
            assert!(
                matches!(&err, ConfigError::Invalid { binding: b, value: v, .. } if *b == binding && v == value),
                "{binding}={value}: {err:?}"
            );
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let config = load(&base()).unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains(SECRET), "{printed}");
    }
}
