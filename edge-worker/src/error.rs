//! The Worker's one error type and its mapping to a JSON response with the right status.

use session_core::wire::ErrorBody;
use session_core::TokenError;
use worker::{console_error, console_warn, Response};

use crate::config::ConfigError;
use crate::cookie::CookieSettings;
use crate::crypto::CryptoError;

/// Everything that can end a request early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Worker's bindings are missing or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A Web Crypto call failed.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// The request body is not the JSON the route expects.
    #[error("the request body is not valid JSON for this route: {0}")]
    InvalidJson(String),
    /// The request body is not declared as JSON.
    #[error("the request body must be sent with `Content-Type: application/json`, not `{0}`")]
    UnsupportedMediaType(String),
    /// The request body is larger than the route accepts.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// The identity token presented at sign-in failed verification.
    #[error("the identity token was rejected: {0}")]
    InvalidIdentityToken(TokenError),
    /// The request carries no session cookie and no bearer token.
    #[error("no session: sign in first, or send the session JWT in the cookie or as `Authorization: Bearer`")]
    MissingSession,
    /// The identity provider's JWKS could not be fetched or used.
    #[error("the identity provider is unavailable: {0}; try again shortly")]
    IdentityProviderUnavailable(String),
    /// The session JWT failed verification.
    #[error("the session token was rejected: {0}")]
    InvalidSession(TokenError),
    /// The origin reports the session revoked, expired or unknown.
    #[error("the session was revoked or has expired; sign in again")]
    SessionNotLive,
    /// The origin could not be reached, timed out or failed.
    #[error("the session service is unavailable ({0}); try again shortly")]
    OriginUnavailable(String),
    /// The origin refused a session the Worker had just signed.
    #[error("the origin rejected the new session (status {status}); check that AUTH_SECRET and AUTH_ISSUER match on the Worker and the origin")]
    OriginRejected { status: u16 },
    /// The path names a session id that cannot exist: not base64url, or too long.
    #[error("no session has the id `{0}`; use an `id` from GET /api/sessions")]
    InvalidSessionId(String),
    /// No route has this path.
    #[error("no route matches `{0}`")]
    NotFound(String),
    /// The route exists but not for this method.
    #[error("`{method}` is not allowed on `{path}`; use {allowed}")]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: &'static str,
    },
    /// The Workers runtime failed in a way the request did not cause.
    #[error("the worker runtime failed: {0}")]
    Runtime(#[from] worker::Error),
}

impl Error {
    /// Returns the HTTP status of this error.
    pub fn status(&self) -> u16 {
        match self {
            Error::InvalidJson(_) => 400,
            Error::InvalidIdentityToken(_) | Error::MissingSession => 401,
            Error::InvalidSession(_) | Error::SessionNotLive => 401,
            Error::NotFound(_) | Error::InvalidSessionId(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::PayloadTooLarge { .. } => 413,
            Error::UnsupportedMediaType(_) => 415,
            Error::OriginRejected { .. } => 502,
            Error::OriginUnavailable(_) | Error::IdentityProviderUnavailable(_) => 503,
            Error::Config(_) | Error::Crypto(_) | Error::Runtime(_) => 500,
        }
    }

    /// Returns the machine-readable `error` code of the body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Config(_) => "configuration_error",
            Error::Crypto(_) | Error::Runtime(_) => "internal_error",
            Error::InvalidJson(_) => "invalid_json",
            Error::UnsupportedMediaType(_) => "unsupported_media_type",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::InvalidIdentityToken(_) => "invalid_identity_token",
            Error::MissingSession => "missing_session",
            Error::InvalidSession(_) => "invalid_token",
            Error::SessionNotLive => "session_not_live",
            Error::OriginUnavailable(_) => "origin_unavailable",
            Error::IdentityProviderUnavailable(_) => "identity_provider_unavailable",
            Error::OriginRejected { .. } => "origin_rejected",
            Error::InvalidSessionId(_) => "session_not_found",
            Error::NotFound(_) => "not_found",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
        }
    }

    /// Whether the browser should drop its session cookie: the cookie is no good.
    fn clears_cookie(&self) -> bool {
        matches!(self, Error::InvalidSession(_) | Error::SessionNotLive)
    }

    /// Logs the error at its level and builds the JSON response. `cookie` is `None`
    /// only when the configuration itself failed to load.
    pub fn into_response(self, cookie: Option<&CookieSettings>) -> worker::Result<Response> {
        let status = self.status();
        match &self {
            // A runtime failure's text may come from JavaScript, so it is logged but a
            // client sees only a generic message.
            Error::Crypto(_) | Error::Runtime(_) => {
                console_error!("request failed: status={status} error={self}")
            }
            _ if status >= 500 => console_error!("request failed: status={status} error={self}"),
            Error::InvalidSession(
                TokenError::InvalidSignature | TokenError::AlgorithmNotAllowed { .. },
            )
            | Error::InvalidIdentityToken(
                TokenError::InvalidSignature | TokenError::AlgorithmNotAllowed { .. },
            ) => {
                console_warn!("token rejected: status={status} error={self}")
            }
            _ => {}
        }

        let message = match &self {
            Error::Crypto(_) | Error::Runtime(_) => {
                "the worker failed to handle the request; try again".to_owned()
            }
            _ => self.to_string(),
        };
        let body = ErrorBody {
            error: self.code().to_owned(),
            message,
        };

        let mut response = Response::from_json(&body)?.with_status(status);
        let headers = response.headers_mut();
        headers.set("cache-control", "no-store")?;
        // RFC 6750 section 3.1: a request without credentials gets no error code.
        match &self {
            Error::MissingSession => headers.set("www-authenticate", "Bearer")?,
            _ if status == 401 => {
                headers.set("www-authenticate", "Bearer error=\"invalid_token\"")?
            }
            _ => {}
        }
        if let (true, Some(cookie)) = (self.clears_cookie(), cookie) {
            headers.append("set-cookie", &cookie.clear())?;
        }
        if let Error::MethodNotAllowed { allowed, .. } = &self {
            headers.set("allow", allowed)?;
        }
        Ok(response)
    }
}
