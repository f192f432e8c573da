//! JSON bodies exchanged by the edge worker, the origin API and direct callers.
//! Times are seconds since the epoch.

use serde::{Deserialize, Serialize};

/// Header that proves a request came from the edge worker; its value is
/// `EDGE_SHARED_SECRET`.
pub const EDGE_SECRET_HEADER: &str = "x-edge-secret";

/// Maximum length of a stored user agent, in characters; longer ones are truncated.
pub const MAX_USER_AGENT_CHARS: usize = 512;

/// Body of `POST /v1/sessions/ensure`. Both fields are trusted only on requests that
/// carry [`EDGE_SECRET_HEADER`]; otherwise the origin records the connection's own peer address and `User-Agent`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsureRequest {
    /// Client IP address as the edge saw it (`CF-Connecting-IP`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Client `User-Agent` as the edge saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Public view of one session record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Public random id, used to revoke the session; unrelated to the session token.
    pub id: String,
    /// Owner of the session.
    pub user_id: String,
    /// Client IP address at creation, when known.
    pub ip: Option<String>,
    /// Client user agent at creation, when known.
    pub user_agent: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Time of the last sliding-expiry extension, or of creation.
    pub last_seen_at: i64,
    /// Time after which the session is no longer live.
    pub expires_at: i64,
    /// Whether this is the session of the token that made the request.
    pub current: bool,
}

/// Response of `POST /v1/sessions/ensure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnsureResponse {
    /// True when this call created the record (status 201), false when it existed (200).
    pub created: bool,
    /// The session record.
    pub session: SessionView,
}

/// Response of `POST /v1/sessions/current/touch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchResponse {
    /// True when this call moved `expires_at` forward.
    pub extended: bool,
    /// The session record after the call.
    pub session: SessionView,
}

/// Response of `GET /v1/sessions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    /// Live sessions of the caller, newest first.
    pub sessions: Vec<SessionView>,
}

/// Response of the routes that revoke several sessions at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokedCount {
    /// Number of sessions this call revoked.
    pub revoked: u64,
}

/// Body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Stable machine-readable code, such as `invalid_token`.
    pub error: String,
    /// Description of what failed and what to do about it.
    pub message: String,
}
