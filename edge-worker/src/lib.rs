//! Cloudflare Worker of edge-sessions: the entry point only.
//!
//! Layout: [`config`] reads bindings and [`crypto`] wraps Web Crypto. [`token`] signs and
//! verifies JWTs with it, and [`jwks`] fetches identity provider keys. [`cookie`] builds
//! and reads the session cookie, and [`origin`] calls the origin API. [`routes`] contains
//! the edge routes, and [`error`] maps every failure to a JSON response.

pub mod config;
pub mod cookie;
pub mod crypto;
pub mod error;
pub mod jwks;
pub mod origin;
pub mod routes;
pub mod token;

use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let config = match config::Config::from_env(&env) {
        Ok(config) => config,
        Err(err) => return error::Error::from(err).into_response(None),
    };

    match routes::handle(req, &config).await {
        Ok(response) => Ok(response),
        Err(err) => err.into_response(Some(&config.cookie)),
    }
}
