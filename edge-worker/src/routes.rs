//! The edge routes: sign-in (the JWT callback), the session view with sliding expiry,
//! sign-out, and the sessions manager forwarded to the origin.

use serde::{Deserialize, Serialize};
use session_core::wire::{EnsureRequest, EnsureResponse, SessionView, TouchResponse};
use session_core::SessionClaims;
use worker::{console_log, Date, Method, Request, Response};

use crate::config::Config;
use crate::cookie;
use crate::crypto;
use crate::error::Error;
use crate::origin::{Origin, OriginResponse};
use crate::token::{self, SessionKeys};

/// Largest request body a route reads, in bytes.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Maximum length of a public session id in a path; the origin's ids are 22 characters.
const MAX_SESSION_ID_LEN: usize = 64;

/// Body of `POST /auth/signin`.
#[derive(Debug, Deserialize)]
struct SignInRequest {
    /// The identity token the user signed in with.
    id_token: String,
}

/// The signed-in user, as the session JWT carries it.
#[derive(Debug, Serialize)]
struct UserView {
    id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

/// Body of a successful sign-in and of `GET /auth/session`.
#[derive(Debug, Serialize)]
struct SessionResponse {
    user: UserView,
    session: SessionView,
    /// Expiry of the session JWT now in the cookie, in seconds since the epoch.
    expires_at: i64,
}

/// Dispatches a request to its route.
pub async fn handle(req: Request, config: &Config) -> Result<Response, Error> {
    let path = req.path();
    let method = req.method();

    match path.as_str() {
        "/auth/signin" => allow(&method, Method::Post, &path, "POST")?,
        "/auth/session" => allow(&method, Method::Get, &path, "GET")?,
        "/auth/signout" => allow(&method, Method::Post, &path, "POST")?,
        "/api/sessions/ensure" => allow(&method, Method::Post, &path, "POST")?,
        "/api/sessions" => allow(&method, Method::Get, &path, "GET")?,
        "/api/sessions/revoke-others" => allow(&method, Method::Post, &path, "POST")?,
        _ => {}
    }

    match path.as_str() {
        "/auth/signin" => sign_in(req, config).await,
        "/auth/session" => session(&req, config).await,
        "/auth/signout" => sign_out(&req, config).await,
        "/api/sessions/ensure" => ensure(&req, config).await,
        "/api/sessions" => list(&req, config).await,
        "/api/sessions/revoke-others" => revoke_others(&req, config).await,
        _ => match path.strip_prefix("/api/sessions/") {
            Some(id) => {
                allow(&method, Method::Delete, &path, "DELETE")?;
                if !is_session_id(id) {
                    return Err(Error::InvalidSessionId(id.to_owned()));
                }
                revoke(&req, config, id).await
            }
            None => Err(Error::NotFound(path)),
        },
    }
}

/// `POST /auth/signin`: verify the identity token, mint a session with a fresh
/// `crypto.randomUUID()`, record it at the origin, and only then set the cookie.
async fn sign_in(mut req: Request, config: &Config) -> Result<Response, Error> {
    let body: SignInRequest = read_json(&mut req).await?;
    let now = now();
    let identity = token::verify_identity(&body.id_token, config, now).await?;

    let claims = SessionClaims {
        sub: identity.sub,
        sid: crypto::random_uuid()?,
        iat: now,
        exp: now.saturating_add(config.session_max_age as i64),
        iss: config.auth_issuer.clone(),
        name: identity.name,
        email: identity.email,
    };
    let keys = SessionKeys::load(config).await?;
    let jwt = keys.sign(&claims).await?;

    let origin = Origin::new(config);
    let answer = origin.ensure(&jwt, &client_metadata(&req)?).await?;
    if !matches!(answer.status, 200 | 201) {
        return Err(Error::OriginRejected {
            status: answer.status,
        });
    }
    let ensured: EnsureResponse = answer.json()?;
    console_log!("signed in: session_id={}", ensured.session.id);

    let body = session_response(&claims, ensured.session);
    let mut response = json_response(&body, 200)?;
    response.headers_mut().append(
        "set-cookie",
        &config.cookie.session(&jwt, config.session_max_age),
    )?;
    Ok(response)
}

/// `GET /auth/session`: the session's public view once the origin confirms it is live.
/// A JWT older than `SESSION_UPDATE_AGE` is extended at the origin and re-issued.
async fn session(req: &Request, config: &Config) -> Result<Response, Error> {
    let (jwt, mut claims, keys) = authenticate(req, config).await?;
    let origin = Origin::new(config);
    let now = now();

    let due_for_update = now.saturating_sub(claims.iat) >= config.session_update_age as i64;
    if !due_for_update {
        let answer = require_live(origin.current(&jwt).await?)?;
        let view: SessionView = answer.json()?;
        return json_response(&session_response(&claims, view), 200);
    }

    let answer = require_live(origin.touch(&jwt).await?)?;
    let touched: TouchResponse = answer.json()?;
    claims.iat = now;
    claims.exp = now.saturating_add(config.session_max_age as i64);
    let renewed = keys.sign(&claims).await?;

    let mut response = json_response(&session_response(&claims, touched.session), 200)?;
    response.headers_mut().append(
        "set-cookie",
        &config.cookie.session(&renewed, config.session_max_age),
    )?;
    Ok(response)
}

/// `POST /auth/signout`: revoke the session at the origin, then drop the cookie.
/// A session that is no longer live at the origin still signs out cleanly.
async fn sign_out(req: &Request, config: &Config) -> Result<Response, Error> {
    let (jwt, _claims, _keys) = authenticate(req, config).await?;
    let answer = Origin::new(config).revoke_current(&jwt).await?;
    if !matches!(answer.status, 204 | 401) {
        return Err(Error::OriginRejected {
            status: answer.status,
        });
    }

    let mut response = Response::empty()?.with_status(204);
    let headers = response.headers_mut();
    headers.set("cache-control", "no-store")?;
    headers.append("set-cookie", &config.cookie.clear())?;
    Ok(response)
}

/// `POST /api/sessions/ensure`: make sure the record of the caller's JWT exists.
async fn ensure(req: &Request, config: &Config) -> Result<Response, Error> {
    let (jwt, _claims, _keys) = authenticate(req, config).await?;
    let answer = Origin::new(config)
        .ensure(&jwt, &client_metadata(req)?)
        .await?;
    forward(answer)
}

/// `GET /api/sessions`.
async fn list(req: &Request, config: &Config) -> Result<Response, Error> {
    let (jwt, _claims, _keys) = authenticate(req, config).await?;
    forward(Origin::new(config).list(&jwt).await?)
}

/// `DELETE /api/sessions/{id}`.
async fn revoke(req: &Request, config: &Config, id: &str) -> Result<Response, Error> {
    let (jwt, _claims, _keys) = authenticate(req, config).await?;
    forward(Origin::new(config).revoke(&jwt, id).await?)
}

/// `POST /api/sessions/revoke-others`.
async fn revoke_others(req: &Request, config: &Config) -> Result<Response, Error> {
    let (jwt, _claims, _keys) = authenticate(req, config).await?;
    forward(Origin::new(config).revoke_others(&jwt).await?)
}

/// Reads the session JWT from the cookie or an `Authorization: Bearer` header and
/// verifies it at the edge, so a request with a bad token never reaches the origin.
async fn authenticate(
    req: &Request,
    config: &Config,
) -> Result<(String, SessionClaims, SessionKeys), Error> {
    let jwt = session_jwt(req, config)?.ok_or(Error::MissingSession)?;
    let keys = SessionKeys::load(config).await?;
    let claims = keys
        .verify(&jwt, &config.session_validation(), now())
        .await?;
    Ok((jwt, claims, keys))
}

fn session_jwt(req: &Request, config: &Config) -> Result<Option<String>, Error> {
    let headers = req.headers();
    if let Some(authorization) = headers.get("authorization")? {
        if let Some(token) = authorization.strip_prefix("Bearer ") {
            return Ok(Some(token.trim().to_owned()));
        }
    }
    let cookies = headers.get("cookie")?.unwrap_or_default();
    Ok(cookie::read(&cookies, &config.cookie.name)
        .filter(|value| !value.is_empty())
        .map(str::to_owned))
}

/// Turns the origin's 401 into [`Error::SessionNotLive`], which also drops the cookie.
fn require_live(answer: OriginResponse) -> Result<OriginResponse, Error> {
    match answer.status {
        200 => Ok(answer),
        401 => Err(Error::SessionNotLive),
        status => Err(Error::OriginRejected { status }),
    }
}

/// Passes the origin's response through; a 401 also drops the cookie.
fn forward(answer: OriginResponse) -> Result<Response, Error> {
    if answer.status == 401 {
        return Err(Error::SessionNotLive);
    }
    let mut response = if answer.body.is_empty() {
        Response::empty()?
    } else {
        let mut response = Response::from_bytes(answer.body)?;
        response
            .headers_mut()
            .set("content-type", "application/json")?;
        response
    };
    response = response.with_status(answer.status);
    response.headers_mut().set("cache-control", "no-store")?;
    Ok(response)
}

/// Collects the client's IP (`CF-Connecting-IP`) and user agent, sent to the origin in the body
/// because header values outside Latin-1 do not survive every hop.
fn client_metadata(req: &Request) -> Result<EnsureRequest, Error> {
    let headers = req.headers();
    Ok(EnsureRequest {
        ip: headers.get("cf-connecting-ip")?,
        user_agent: headers.get("user-agent")?,
    })
}

fn session_response(claims: &SessionClaims, session: SessionView) -> SessionResponse {
    SessionResponse {
        user: UserView {
            id: claims.sub.clone(),
            name: claims.name.clone(),
            email: claims.email.clone(),
        },
        session,
        expires_at: claims.exp,
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(req: &mut Request) -> Result<T, Error> {
    let content_type = req.headers().get("content-type")?.unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/json") {
        return Err(Error::UnsupportedMediaType(content_type));
    }

    let declared_len = req
        .headers()
        .get("content-length")?
        .and_then(|len| len.parse::<usize>().ok());
    if declared_len.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let body = req.bytes().await?;
    if body.len() > MAX_BODY_BYTES {
        return Err(Error::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }

    serde_json::from_slice(&body).map_err(|err| Error::InvalidJson(err.to_string()))
}

fn json_response<T: Serialize>(body: &T, status: u16) -> Result<Response, Error> {
    let mut response = Response::from_json(body)?.with_status(status);
    response.headers_mut().set("cache-control", "no-store")?;
    Ok(response)
}

fn allow(
    method: &Method,
    expected: Method,
    path: &str,
    allowed: &'static str,
) -> Result<(), Error> {
    if *method == expected {
        return Ok(());
    }
    Err(Error::MethodNotAllowed {
        method: method.to_string(),
        path: path.to_owned(),
        allowed,
    })
}

/// Returns whether `id` looks like a public session id: base64url characters only, so it can
/// be put into the origin's URL as it is.
fn is_session_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_SESSION_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Current time in seconds since the epoch.
fn now() -> i64 {
    (Date::now().as_millis() / 1000) as i64
}

#[cfg(test)]
mod tests {
    use super::is_session_id;

    #[test]
    fn session_id_table() {
        let cases = [
            ("AbC_-09xyz", true),
            ("", false),
            ("../admin", false),
            ("a/b", false),
            ("a?scope=others", false),
            ("a%2Fb", false),
        ];
        for (id, expected) in cases {
            assert_eq!(is_session_id(id), expected, "{id:?}");
        }
        assert!(!is_session_id(&"a".repeat(65)));
    }
}
