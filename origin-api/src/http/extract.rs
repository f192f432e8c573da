//! Extractors: the caller's session JWT, its live session record, the admin token,
//! the client metadata of a request, and a JSON body. Their rejections are
//! [`Error`], so they use the API's own error shape.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use session_core::wire::{EDGE_SECRET_HEADER, MAX_USER_AGENT_CHARS};
use session_core::{SessionClaims, TokenError};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tracing::{debug, instrument, warn};

use super::{AppState, Error, Result};
use crate::store::{SessionRecord, SessionStore};
use crate::token::token_hash;

/// The claims of a verified session JWT, whether or not its record exists yet.
#[derive(Debug)]
pub struct VerifiedCaller {
    /// The verified claims.
    pub claims: SessionClaims,
    /// Hex SHA-256 of `claims.sid`, the key of the session record.
    pub token_hash: String,
}

impl FromRequestParts<AppState> for VerifiedCaller {
    type Rejection = Error;

    #[instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let token = bearer_token(&parts.headers)?;
        let claims = state
            .tokens
            .verify(token, state.clock.now())
            .inspect_err(log_rejected_token)?;

        debug!(user_id = %claims.sub, "session token verified");
        let token_hash = token_hash(&claims.sid);
        Ok(VerifiedCaller { claims, token_hash })
    }
}

/// A caller whose JWT verifies and whose session record is live.
#[derive(Debug)]
pub struct LiveSession {
    /// The verified claims.
    pub claims: SessionClaims,
    /// The caller's own session record.
    pub record: SessionRecord,
}

impl FromRequestParts<AppState> for LiveSession {
    type Rejection = Error;

    #[instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let caller = VerifiedCaller::from_request_parts(parts, state).await?;
        let user_id = caller.claims.sub.as_str();

        let Some(record) = state.store.find_by_token_hash(&caller.token_hash).await? else {
            debug!(user_id, "no session record for this token");
            return Err(Error::SessionNotLive);
        };
        if record.user_id != caller.claims.sub {
            warn!(user_id, session_id = %record.id, "token's session is recorded for another user");
            return Err(Error::SessionNotLive);
        }
        if !record.is_live(state.clock.now()) {
            debug!(user_id, session_id = %record.id, "session is revoked or expired");
            return Err(Error::SessionNotLive);
        }

        Ok(LiveSession {
            claims: caller.claims,
            record,
        })
    }
}

/// A request that carries `Authorization: Bearer <ADMIN_TOKEN>`. When `ADMIN_TOKEN`
/// is unset the admin routes act as if they did not exist (404).
#[derive(Debug)]
pub struct AdminCaller;

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = Error;

    #[instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let Some(expected) = &state.settings.admin_token else {
            return Err(Error::RouteNotFound(parts.uri.path().to_owned()));
        };

        let presented = bearer_token(&parts.headers)?;
        if !secrets_equal(presented.as_bytes(), expected.as_bytes()) {
            warn!("admin request with a wrong admin token");
            return Err(Error::InvalidAdminToken);
        }
        Ok(AdminCaller)
    }
}

/// Client metadata of a request: the TCP peer and the `User-Agent`
/// header, and whether it proved with `X-Edge-Secret` that the edge worker sent it.
#[derive(Debug)]
pub struct ClientContext {
    /// Address of the TCP peer, when the connection info is available.
    pub peer_ip: Option<IpAddr>,
    /// The request's own `User-Agent`, decoded lossily and truncated.
    pub user_agent: Option<String>,
    /// True when `X-Edge-Secret` matched `EDGE_SHARED_SECRET`.
    pub from_edge: bool,
}

impl FromRequestParts<AppState> for ClientContext {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        let peer_ip = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .ok()
            // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
            .map(|ConnectInfo(addr)| addr.ip().to_canonical());

        let user_agent = parts
            .headers
            .get(USER_AGENT)
            .map(|value| truncate_user_agent(&String::from_utf8_lossy(value.as_bytes())));

        Ok(ClientContext {
            peer_ip,
            user_agent,
            from_edge: is_from_edge(&parts.headers, state),
        })
    }
}

/// Checks that `X-Edge-Secret` is present and equals `EDGE_SHARED_SECRET`.
fn is_from_edge(headers: &HeaderMap, state: &AppState) -> bool {
    let Some(presented) = headers.get(EDGE_SECRET_HEADER) else {
        return false;
    };
    let Some(expected) = &state.settings.edge_shared_secret else {
        debug!("X-Edge-Secret ignored because EDGE_SHARED_SECRET is not set");
        return false;
    };

    if secrets_equal(presented.as_bytes(), expected.as_bytes()) {
        true
    } else {
        warn!("X-Edge-Secret does not match EDGE_SHARED_SECRET; treating the request as a direct call");
        false
    }
}

/// Truncates a user agent to [`MAX_USER_AGENT_CHARS`] characters, on a character boundary.
pub fn truncate_user_agent(user_agent: &str) -> String {
    match user_agent.char_indices().nth(MAX_USER_AGENT_CHARS) {
        Some((end, _)) => user_agent[..end].to_owned(),
        None => user_agent.to_owned(),
    }
}

/// Compares two secrets in constant time. Hashing first makes the comparison
/// independent of the lengths too.
fn secrets_equal(presented: &[u8], expected: &[u8]) -> bool {
    Sha256::digest(presented)
        .ct_eq(&Sha256::digest(expected))
        .into()
}

/// Extracts the token of an `Authorization: Bearer <token>` header. The scheme name is
/// case-insensitive (RFC 7235 section 2.1).
fn bearer_token(headers: &HeaderMap) -> Result<&str> {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return Err(Error::MissingToken);
    };
    let malformed = || {
        Error::InvalidToken(TokenError::Malformed(
            "the Authorization header is not `Bearer <token>`",
        ))
    };

    let value = value.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(malformed());
    }
    Ok(token)
}

/// Logs a rejected token at a level that matches how suspicious the failure is.
fn log_rejected_token(err: &TokenError) {
    match err {
        TokenError::InvalidSignature
        | TokenError::AlgorithmNotAllowed { .. }
        | TokenError::UnknownKeyId(_) => warn!(error = %err, "session token rejected"),
        _ => debug!(error = %err, "session token rejected"),
    }
}

/// A JSON request body. An empty body counts as `T::default()`, so a caller with
/// nothing to send may omit both the body and its `Content-Type`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Default,
{
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self> {
        let is_json = has_json_content_type(request.headers());

        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge,
                    _ => Error::BodyUnreadable(rejection.body_text()),
                })?;

        if bytes.is_empty() {
            return Ok(JsonBody(T::default()));
        }
        if !is_json {
            return Err(Error::UnsupportedMediaType);
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|err| Error::InvalidJson(err.to_string()))
    }
}

/// Checks that `Content-Type` is `application/json` or `application/*+json`, parameters allowed.
fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers_with(name: axum::http::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            name,
            HeaderValue::from_str(value).expect("test header is valid"),
        );
        headers
    }

    #[test]
    fn json_content_types() {
        let cases = [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/jsonp", false),
        ];
        for (value, expected) in cases {
            let headers = headers_with(CONTENT_TYPE, value);
            assert_eq!(has_json_content_type(&headers), expected, "{value}");
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let headers = headers_with(AUTHORIZATION, "bearer abc");
        assert_eq!(bearer_token(&headers).ok(), Some("abc"));
    }

    #[test]
    fn basic_scheme_is_malformed() {
        let headers = headers_with(AUTHORIZATION, "Basic abc");
        assert!(matches!(
            bearer_token(&headers),
            Err(Error::InvalidToken(TokenError::Malformed(_)))
        ));
    }

    #[test]
    fn user_agent_truncates_on_char_boundary() {
        let long = "é".repeat(MAX_USER_AGENT_CHARS + 10);
        let truncated = truncate_user_agent(&long);
        assert_eq!(truncated.chars().count(), MAX_USER_AGENT_CHARS);
    }
}
