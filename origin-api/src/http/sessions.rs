//! `/v1/sessions`: creating the record of a session JWT, reading, extending and
//! revoking the caller's sessions.

use std::net::IpAddr;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use session_core::wire::{EnsureRequest, EnsureResponse, RevokedCount, SessionList, TouchResponse};
use session_core::TokenError;
use tracing::{debug, instrument, warn};

use super::extract::{truncate_user_agent, ClientContext, JsonBody, LiveSession, VerifiedCaller};
use super::{AppState, Error, Result};
use crate::store::{NewSession, SessionStore};

/// Routes of the caller's own sessions.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/sessions/ensure", post(ensure))
        .route("/v1/sessions/current", get(current).delete(sign_out))
        .route("/v1/sessions/current/touch", post(touch))
        .route("/v1/sessions", get(list).delete(revoke_others))
        .route("/v1/sessions/{id}", delete(revoke_one))
}

/// `POST /v1/sessions/ensure`: creates the record of the caller's JWT unless it
/// exists. Never revives a revoked or expired record.
#[instrument(skip_all, fields(user_id = %caller.claims.sub))]
async fn ensure(
    State(state): State<AppState>,
    caller: VerifiedCaller,
    client: ClientContext,
    JsonBody(body): JsonBody<EnsureRequest>,
) -> Result<(StatusCode, Json<EnsureResponse>)> {
    let now = state.clock.now();
    let (ip, user_agent) = client_metadata(client, body)?;

    // The record lives no longer than the JWT, nor longer than SESSION_MAX_AGE.
    let expires_at = caller
        .claims
        .exp
        .min(now.saturating_add(state.settings.session_max_age));
    if expires_at <= now {
        return Err(TokenError::ExpiredSignature.into());
    }

    let new = NewSession {
        user_id: caller.claims.sub.clone(),
        token_hash: caller.token_hash,
        ip,
        user_agent,
        created_at: now,
        expires_at,
        token_expires_at: caller.claims.exp,
    };
    let (created, record) = state.store.ensure(&new).await?;

    if record.user_id != caller.claims.sub {
        warn!(session_id = %record.id, "session token is already recorded for another user");
        return Err(Error::SessionConflict);
    }
    if !record.is_live(now) {
        debug!(session_id = %record.id, "ensure of a revoked or expired session rejected");
        return Err(Error::SessionNotLive);
    }

    debug!(session_id = %record.id, created, "session ensured");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let response = EnsureResponse {
        created,
        session: record.view(true),
    };
    Ok((status, Json(response)))
}

/// Picks the client IP and user agent to record. The body's values count only on
/// requests from the edge worker; other callers get what the connection shows.
/// `X-Forwarded-For` is never read, because any direct caller can set it.
fn client_metadata(
    client: ClientContext,
    body: EnsureRequest,
) -> Result<(Option<String>, Option<String>)> {
    let body_ip = body
        .ip
        .map(|ip| {
            ip.trim()
                .parse::<IpAddr>()
                .map_err(|_| Error::InvalidIp(ip))
        })
        .transpose()?;

    let (ip, user_agent) = if client.from_edge {
        let user_agent = body.user_agent.as_deref().map(truncate_user_agent);
        (body_ip, user_agent)
    } else {
        (client.peer_ip, client.user_agent)
    };

    let ip = ip.map(|ip| ip.to_canonical().to_string());
    let user_agent = user_agent.filter(|user_agent| !user_agent.is_empty());
    Ok((ip, user_agent))
}

/// `GET /v1/sessions/current`: the caller's session.
async fn current(session: LiveSession) -> Json<session_core::wire::SessionView> {
    Json(session.record.view(true))
}

/// `POST /v1/sessions/current/touch`: sliding expiry. Moves `expires_at` to
/// now + `SESSION_MAX_AGE`, at most once per `SESSION_UPDATE_AGE`.
#[instrument(skip_all, fields(user_id = %session.claims.sub, session_id = %session.record.id))]
async fn touch(State(state): State<AppState>, session: LiveSession) -> Result<Json<TouchResponse>> {
    let now = state.clock.now();
    let settings = &state.settings;
    let new_expires_at = now.saturating_add(settings.session_max_age);

    let extended = state
        .store
        .touch(
            &session.record.token_hash,
            now,
            new_expires_at,
            settings.session_update_age,
        )
        .await?;

    let record = if extended {
        debug!(expires_at = new_expires_at, "session extended");
        state
            .store
            .find_by_token_hash(&session.record.token_hash)
            .await?
            .filter(|record| record.is_live(now))
            .ok_or(Error::SessionNotLive)?
    } else {
        debug!("session touched too recently to extend");
        session.record
    };

    Ok(Json(TouchResponse {
        extended,
        session: record.view(true),
    }))
}

/// `DELETE /v1/sessions/current`: signs the caller out by revoking their session.
#[instrument(skip_all, fields(user_id = %session.claims.sub, session_id = %session.record.id))]
async fn sign_out(State(state): State<AppState>, session: LiveSession) -> Result<StatusCode> {
    let now = state.clock.now();
    state
        .store
        .revoke(&session.record.user_id, &session.record.id, now)
        .await?;
    debug!("session revoked by its owner");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/sessions`: the caller's live sessions, newest first.
#[instrument(skip_all, fields(user_id = %session.claims.sub))]
async fn list(State(state): State<AppState>, session: LiveSession) -> Result<Json<SessionList>> {
    let records = state
        .store
        .list_live(&session.record.user_id, state.clock.now())
        .await?;

    let sessions = records
        .iter()
        .map(|record| record.view(record.id == session.record.id))
        .collect();
    Ok(Json(SessionList { sessions }))
}

/// `DELETE /v1/sessions/{id}`: revokes one of the caller's sessions. Someone else's
/// id gets the same 404 as an unknown one, so ids cannot be probed.
#[instrument(skip_all, fields(user_id = %session.claims.sub))]
async fn revoke_one(
    State(state): State<AppState>,
    session: LiveSession,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode> {
    let Path(id) = path.map_err(|rejection| Error::InvalidPath(rejection.body_text()))?;
    let found = state
        .store
        .revoke(&session.record.user_id, &id, state.clock.now())
        .await?;
    if !found {
        debug!(session_id = %id, "no such session for this user");
        return Err(Error::SessionNotFound(id));
    }

    debug!(session_id = %id, "session revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `DELETE /v1/sessions`.
#[derive(Debug, Deserialize)]
struct RevokeQuery {
    scope: Option<String>,
}

/// `DELETE /v1/sessions?scope=others`: revokes all the caller's sessions but the
/// current one. The explicit scope guards against a bare DELETE signing out everything.
#[instrument(skip_all, fields(user_id = %session.claims.sub))]
async fn revoke_others(
    State(state): State<AppState>,
    session: LiveSession,
    query: Result<Query<RevokeQuery>, QueryRejection>,
) -> Result<Json<RevokedCount>> {
    let scope = match query {
        Ok(Query(query)) => query.scope,
        Err(rejection) => Some(rejection.body_text()),
    };
    if scope.as_deref() != Some("others") {
        return Err(Error::InvalidScope(scope));
    }

    let revoked = state
        .store
        .revoke_others(
            &session.record.user_id,
            &session.record.token_hash,
            state.clock.now(),
        )
        .await?;
    debug!(revoked, "other sessions revoked");
    Ok(Json(RevokedCount { revoked }))
}
