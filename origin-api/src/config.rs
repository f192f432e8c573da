//! Command-line flags with environment fallbacks, and the checks that run before the
//! server starts.

use std::fmt;
use std::net::SocketAddr;

use clap::Parser;

/// Shortest accepted secret, in bytes. RFC 7518 section 3.2 requires HS256 keys of at
/// least the hash output size, 32 bytes, and the other secrets share the bound.
pub const MIN_SECRET_BYTES: usize = 32;

/// Settings of the origin API. Every flag falls back to the environment variable
/// named in its help.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "origin-api",
    version,
    about,
    after_help = "Logging: RUST_LOG sets the log filter (tracing-subscriber EnvFilter syntax), default `info`.\n\
                  Secrets passed as flags are visible to other users in `ps`; prefer the environment variables."
)]
pub struct Config {
    /// Address and port to serve HTTP on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen_addr: SocketAddr,

    /// Database to store sessions in: `sqlite:PATH` (the file and its directory are
    /// created when missing) or `postgres://USER@HOST/DATABASE`.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite:data/edge-sessions.db",
        hide_env_values = true
    )]
    pub database_url: String,

    /// HMAC key of the session JWT, shared with the edge worker. Required, at least 32 bytes.
    #[arg(long, env = "AUTH_SECRET", hide_env_values = true)]
    pub auth_secret: Option<Secret>,

    /// Previous HMAC key, accepted for verification only while keys rotate. At least
    /// 32 bytes when set. Default: none.
    #[arg(long, env = "AUTH_SECRET_PREVIOUS", hide_env_values = true)]
    pub auth_secret_previous: Option<Secret>,

    /// Required `iss` claim of session JWTs.
    #[arg(long, env = "AUTH_ISSUER", default_value = "edge-sessions")]
    pub auth_issuer: String,

    /// Required member of the `aud` claim. Default: none, and `aud` is not checked.
    #[arg(long, env = "AUTH_AUDIENCE")]
    pub auth_audience: Option<String>,

    /// Shared secret the edge worker sends in `X-Edge-Secret`; only requests that carry
    /// it may supply the client IP and user agent in the body. At least 32 bytes when
    /// set. Default: none, and body client metadata is never trusted.
    #[arg(long, env = "EDGE_SHARED_SECRET", hide_env_values = true)]
    pub edge_shared_secret: Option<Secret>,

    /// Bearer token of the admin routes. At least 32 bytes when set. Default: none,
    /// and the admin routes return 404.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,

    /// Session lifetime, in seconds. Default: 30 days.
    #[arg(long, env = "SESSION_MAX_AGE", default_value_t = 2_592_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub session_max_age: u64,

    /// Minimum time between two sliding-expiry extensions of a session, in seconds.
    /// Default: 1 day.
    #[arg(long, env = "SESSION_UPDATE_AGE", default_value_t = 86_400)]
    pub session_update_age: u64,

    /// Clock skew tolerated on the JWT's `exp`, `nbf` and `iat`, in seconds.
    #[arg(long, env = "TOKEN_LEEWAY", default_value_t = 30)]
    pub token_leeway: u64,

    /// Time between two sweeps of expired session records, in seconds.
    #[arg(long, env = "SWEEP_INTERVAL", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub sweep_interval: u64,
}

/// Reason the configuration was rejected. Each message names the variable to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required secret is not set.
    #[error("{var} is missing; set it to a random string of at least {MIN_SECRET_BYTES} bytes (generate one with `openssl rand -base64 48`)")]
    MissingSecret { var: &'static str },

    /// A secret is shorter than [`MIN_SECRET_BYTES`].
    #[error("{var} is {len} bytes long; it must be at least {MIN_SECRET_BYTES} bytes (generate one with `openssl rand -base64 48`)")]
    ShortSecret { var: &'static str, len: usize },

    /// `DATABASE_URL` names neither SQLite nor PostgreSQL.
    #[error(
        "DATABASE_URL `{0}` is not supported; use `sqlite:PATH` or `postgres://USER@HOST/DATABASE`"
    )]
    UnsupportedDatabaseUrl(String),

    /// The flags could not be parsed.
    #[error(transparent)]
    Args(#[from] clap::Error),
}

impl Config {
    /// Parses `args` (the program name first) with environment fallbacks, then
    /// checks the secrets and the database URL.
    pub fn from_args<I, T>(args: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Config::try_parse_from(args)?.validated()
    }

    /// Checks what clap cannot: secret lengths and the database URL scheme.
    pub fn validated(self) -> Result<Config, ConfigError> {
        let Some(auth_secret) = &self.auth_secret else {
            return Err(ConfigError::MissingSecret { var: "AUTH_SECRET" });
        };
        check_secret_length("AUTH_SECRET", auth_secret)?;

        let optional_secrets = [
            ("AUTH_SECRET_PREVIOUS", &self.auth_secret_previous),
            ("EDGE_SHARED_SECRET", &self.edge_shared_secret),
            ("ADMIN_TOKEN", &self.admin_token),
        ];
        for (var, secret) in optional_secrets {
            if let Some(secret) = secret {
                check_secret_length(var, secret)?;
            }
        }

        DatabaseKind::of(&self.database_url)?;
        Ok(self)
    }

    /// Returns the current HMAC key, which [`Config::validated`] guarantees is set.
    pub fn auth_secret(&self) -> &Secret {
        self.auth_secret
            .as_ref()
            .expect("Config::validated rejects a missing AUTH_SECRET")
    }
}

fn check_secret_length(var: &'static str, secret: &Secret) -> Result<(), ConfigError> {
    let len = secret.as_bytes().len();
    if len < MIN_SECRET_BYTES {
        return Err(ConfigError::ShortSecret { var, len });
    }
    Ok(())
}

/// The database backend a `DATABASE_URL` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    /// `sqlite:PATH`, `sqlite://PATH` or `sqlite::memory:`.
    Sqlite,
    /// `postgres://...` or `postgresql://...`.
    Postgres,
}

impl DatabaseKind {
    /// Picks the backend from the URL scheme.
    pub fn of(url: &str) -> Result<DatabaseKind, ConfigError> {
        if url.starts_with("sqlite:") {
            Ok(DatabaseKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseKind::Postgres)
        } else {
            Err(ConfigError::UnsupportedDatabaseUrl(redact_password(url)))
        }
    }
}

/// Replaces the password of a `scheme://user:password@host` URL with `[redacted]`,
/// so the URL can go into an error message.
pub(crate) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

/// A secret read from the command line or the environment. `Debug` prints
/// `[redacted]`, so a logged `Config` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Returns the secret's UTF-8 bytes, which are used as the key.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_password_hides_only_the_password() {
        assert_eq!(
            redact_password("mysql://app:hunter2@db/x"),
            "mysql://app:[redacted]@db/x"
        );
        assert_eq!(redact_password("mysql://app@db/x"), "mysql://app@db/x");
        assert_eq!(redact_password("file.db"), "file.db");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::from("a-very-secret-value");
        assert_eq!(format!("{secret:?}"), "[redacted]");
    }
}
