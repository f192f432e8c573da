//! `/v1/users/{user_id}/sessions`: admin operations, authorized by `ADMIN_TOKEN`.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::routing::delete;
use axum::{Json, Router};
use session_core::wire::RevokedCount;
use tracing::{info, instrument};

use super::extract::AdminCaller;
use super::{AppState, Error, Result};
use crate::store::SessionStore;

/// Builds the admin routes. They return 404 while `ADMIN_TOKEN` is unset.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/users/{user_id}/sessions", delete(revoke_all_for_user))
}

/// `DELETE /v1/users/{user_id}/sessions`: signs a user out everywhere.
#[instrument(skip_all)]
async fn revoke_all_for_user(
    State(state): State<AppState>,
    _admin: AdminCaller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RevokedCount>> {
    let Path(user_id) = path.map_err(|rejection| Error::InvalidPath(rejection.body_text()))?;
    let revoked = state
        .store
        .revoke_all_for_user(&user_id, state.clock.now())
        .await?;
    info!(user_id, revoked, "admin revoked all sessions of a user");
    Ok(Json(RevokedCount { revoked }))
}
