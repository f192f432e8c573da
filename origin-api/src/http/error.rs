//! The one error type of the HTTP API and its mapping to a status, a code and a
//! JSON body. Every message is safe to show to the client that caused it.

use axum::http::header::WWW_AUTHENTICATE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use session_core::wire::ErrorBody;
use session_core::TokenError;

use super::BODY_LIMIT_BYTES;
use crate::store::StoreError;

/// Result of a handler or an extractor.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Longest `error_description` put in a `WWW-Authenticate` header, in bytes. Token
/// errors can quote a client-chosen `kid` or `alg`; the JSON body keeps the whole message.
const MAX_ERROR_DESCRIPTION_BYTES: usize = 200;

/// Failure of a request, as the client sees it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request has no `Authorization` header.
    #[error("the request has no `Authorization: Bearer <token>` header; sign in first")]
    MissingToken,

    /// The session JWT failed verification.
    #[error(transparent)]
    InvalidToken(#[from] TokenError),

    /// The JWT verified, but its session is unknown, revoked or expired.
    #[error("the session is unknown, revoked or expired; sign in again")]
    SessionNotLive,

    /// The bearer token of an admin route does not match `ADMIN_TOKEN`.
    #[error("the admin token is invalid; send `Authorization: Bearer <ADMIN_TOKEN>`")]
    InvalidAdminToken,

    /// No session with this id belongs to the caller.
    #[error("session `{0}` was not found among your sessions")]
    SessionNotFound(String),

    /// The session token is already recorded for another user.
    #[error("this session token is already recorded for another user; sign in again")]
    SessionConflict,

    /// The body is not valid JSON, or not the expected shape.
    #[error("the request body is invalid JSON: {0}")]
    InvalidJson(String),

    /// The body could not be read from the connection.
    #[error("the request body could not be read: {0}")]
    BodyUnreadable(String),

    /// A non-empty body without a JSON content type.
    #[error("the request body must be JSON; send `Content-Type: application/json`")]
    UnsupportedMediaType,

    /// The body is larger than [`BODY_LIMIT_BYTES`].
    #[error("the request body is larger than {BODY_LIMIT_BYTES} bytes")]
    PayloadTooLarge,

    /// The `ip` field of the body is not an IP address.
    #[error("`{0}` is not an IP address; send an IPv4 or IPv6 address in `ip`")]
    InvalidIp(String),

    /// The `scope` query parameter of `DELETE /v1/sessions` is missing or unknown.
    #[error("{}", scope_message(.0.as_deref()))]
    InvalidScope(Option<String>),

    /// A path parameter could not be decoded, such as percent-encoded bytes that
    /// are not UTF-8.
    #[error("the request path is invalid: {0}")]
    InvalidPath(String),

    /// No route matches the path (or the admin routes are off).
    #[error("no route matches `{0}`")]
    RouteNotFound(String),

    /// The path exists, but not for this method.
    #[error("`{path}` does not accept {method}")]
    MethodNotAllowed { method: String, path: String },

    /// The database failed. The client sees a generic message, and the cause is logged.
    #[error("the database is unavailable; try again later")]
    Database(#[from] StoreError),
}

fn scope_message(scope: Option<&str>) -> String {
    match scope {
        None => "the query parameter `scope` is missing; send `scope=others` to revoke \
                 all your sessions but the current one"
            .to_owned(),
        Some(value) => format!(
            "the query parameter `scope` is `{value}`; the only accepted value is `scope=others`"
        ),
    }
}

impl Error {
    /// Returns the HTTP status of the error.
    pub fn status_code(&self) -> StatusCode {
        match self {
            Error::MissingToken
            | Error::InvalidToken(_)
            | Error::SessionNotLive
            | Error::InvalidAdminToken => StatusCode::UNAUTHORIZED,
            Error::SessionNotFound(_) | Error::RouteNotFound(_) => StatusCode::NOT_FOUND,
            Error::SessionConflict => StatusCode::CONFLICT,
            Error::InvalidJson(_)
            | Error::BodyUnreadable(_)
            | Error::InvalidScope(_)
            | Error::InvalidPath(_) => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::InvalidIp(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Error::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Returns the stable machine-readable code of the error, the `error` field of the body.
    pub fn code(&self) -> &'static str {
        match self {
            Error::MissingToken => "missing_token",
            Error::InvalidToken(_) | Error::SessionNotLive | Error::InvalidAdminToken => {
                "invalid_token"
            }
            Error::SessionNotFound(_) => "session_not_found",
            Error::SessionConflict => "session_conflict",
            Error::InvalidJson(_) => "invalid_json",
            Error::BodyUnreadable(_) => "invalid_body",
            Error::UnsupportedMediaType => "unsupported_media_type",
            Error::PayloadTooLarge => "payload_too_large",
            Error::InvalidIp(_) => "invalid_ip",
            Error::InvalidScope(_) => "invalid_scope",
            Error::InvalidPath(_) => "invalid_path",
            Error::RouteNotFound(_) => "not_found",
            Error::MethodNotAllowed { .. } => "method_not_allowed",
            Error::Database(_) => "database_unavailable",
        }
    }

    /// Builds the `WWW-Authenticate` challenge of a 401 (RFC 6750 section 3).
    fn challenge(&self) -> Option<HeaderValue> {
        match self {
            Error::MissingToken => Some(HeaderValue::from_static("Bearer")),
            Error::InvalidToken(_) | Error::SessionNotLive | Error::InvalidAdminToken => {
                let description = error_description(&self.to_string());
                let value =
                    format!("Bearer error=\"invalid_token\", error_description=\"{description}\"");
                Some(
                    HeaderValue::from_str(&value).unwrap_or_else(|_| {
                        HeaderValue::from_static("Bearer error=\"invalid_token\"")
                    }),
                )
            }
            _ => None,
        }
    }
}

/// Reduces `message` to the characters RFC 6750 section 3 allows in
/// `error_description` (printable ASCII without `"` and `\`), replacing the rest with `?`.
fn error_description(message: &str) -> String {
    let mut description = String::with_capacity(message.len().min(MAX_ERROR_DESCRIPTION_BYTES));
    for c in message.chars() {
        if description.len() >= MAX_ERROR_DESCRIPTION_BYTES {
            break;
        }
        let allowed = matches!(c, ' '..='~') && c != '"' && c != '\\';
        description.push(if allowed { c } else { '?' });
    }
    description
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Database(cause) = &self {
            tracing::error!(error = %cause, "request failed on the database");
        }

        let body = ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        };
        let mut response = (self.status_code(), Json(body)).into_response();
        if let Some(challenge) = self.challenge() {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_description_replaces_quotes_and_non_ascii() {
        assert_eq!(error_description("kid `a\"b\\é`"), "kid `a?b??`");
    }

    #[test]
    fn error_description_is_bounded() {
        let long = "x".repeat(1000);
        assert_eq!(error_description(&long).len(), MAX_ERROR_DESCRIPTION_BYTES);
    }
}
