//! Origin API of edge-sessions: the server that owns session records.
//!
//! The edge worker signs session JWTs and forwards session creation here; users'
//! backends call the same routes directly. The crate is laid out as:
//!
//! - [`config`]: the command-line flags and their environment fallbacks.
//! - [`token`]: HS256 signing and verification of the session JWT, with key rotation.
//! - [`store`]: the [`store::SessionStore`] trait and its SQLite and PostgreSQL backends.
//! - [`http`]: the axum router, one module per resource, the extractors and the error type.
//! - [`sweeper`]: the background task that deletes expired records.
//! - [`clock`]: the time source, replaceable so tests can move time without sleeping.
//!
//! `main.rs` only wires these together.

pub mod clock;
pub mod config;
pub mod http;
pub mod store;
pub mod sweeper;
pub mod token;

pub use clock::Clock;
pub use config::Config;
pub use http::{app, AppState};
pub use store::{SessionStore, Store};
