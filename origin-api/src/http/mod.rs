//! The HTTP API: the router, its shared state, and one module per resource.

mod admin;
mod error;
mod extract;
mod health;
mod sessions;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, MatchedPath};
use axum::http::{Method, Request, Uri};
use axum::Router;
use session_core::Validation;
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::Level;

use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::store::Store;
use crate::token::TokenVerifier;

pub use error::{Error, Result};

/// Largest request body accepted, in bytes. A larger one gets 413. An ensure request
/// is a few hundred bytes, and the margin covers long user agents, truncated after parsing.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;

/// Shared state of every handler. Cloning is cheap because the parts are reference-counted.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Store of the session records.
    pub store: Store,
    /// Verifier of session JWTs.
    pub tokens: Arc<TokenVerifier>,
    /// Session lifetimes and the secrets of the edge and admin routes.
    pub settings: Arc<Settings>,
    /// Source of the current time.
    pub clock: Clock,
}

/// The parts of [`Config`] that handlers read.
#[derive(Debug)]
pub struct Settings {
    /// Session lifetime, in seconds.
    pub session_max_age: i64,
    /// Minimum time between two sliding-expiry extensions, in seconds.
    pub session_update_age: i64,
    /// Value of `X-Edge-Secret` that marks a request from the edge worker.
    pub edge_shared_secret: Option<Secret>,
    /// Bearer token of the admin routes; `None` turns them off.
    pub admin_token: Option<Secret>,
}

impl AppState {
    /// Builds the state from a validated `config`.
    pub fn new(config: &Config, store: Store, clock: Clock) -> Self {
        let validation = Validation {
            issuer: config.auth_issuer.clone(),
            audience: config.auth_audience.clone(),
            leeway: config.token_leeway,
            max_lifetime: Validation::DEFAULT_MAX_LIFETIME,
        };
        let tokens = TokenVerifier::new(
            config.auth_secret().as_bytes(),
            config.auth_secret_previous.as_ref().map(Secret::as_bytes),
            validation,
        );
        let settings = Settings {
            session_max_age: seconds(config.session_max_age),
            session_update_age: seconds(config.session_update_age),
            edge_shared_secret: config.edge_shared_secret.clone(),
            admin_token: config.admin_token.clone(),
        };

        AppState {
            store,
            tokens: Arc::new(tokens),
            settings: Arc::new(settings),
            clock,
        }
    }
}

/// Converts a configured number of seconds, saturating values beyond `i64::MAX`.
fn seconds(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Builds the router of the whole API.
pub fn app(state: AppState) -> Router {
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            // The matched route, not the raw path, so ids in paths stay out of the span name.
            let path = request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str);
            tracing::info_span!("request", method = %request.method(), path)
        })
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(
            DefaultOnResponse::new()
                .level(Level::INFO)
                .latency_unit(LatencyUnit::Millis),
        )
        // A 5xx cause is logged where it happens; a second, cause-less line adds nothing.
        .on_failure(());

    Router::new()
        .merge(sessions::router())
        .merge(admin::router())
        .merge(health::router())
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT_BYTES))
        .layer(trace)
        .with_state(state)
}

async fn route_not_found(uri: Uri) -> Error {
    Error::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed(method: Method, uri: Uri) -> Error {
    Error::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_owned(),
    }
}
