//! Session JWT handling and wire types shared by the edge worker and the origin API.
//!
//! Both halves of edge-sessions verify the same session JWT, so the parts that do not
//! depend on where the code runs live here once:
//!
//! - [`jwt`] splits a JWS compact token, pins its algorithm and picks the key by `kid`.
//!   Computing and checking the HMAC is left to the caller, because the worker must use
//!   Web Crypto while the origin uses a native implementation.
//! - [`claims`] contains the claim sets and checks `exp`, `nbf`, `iat`, `iss` and `aud`.
//! - [`wire`] contains the JSON bodies the worker and the origin exchange.

pub mod claims;
pub mod jwt;
pub mod wire;

pub use claims::{Audience, IdentityClaims, SessionClaims, Validation};
pub use jwt::{Algorithm, Header, TokenError, UnverifiedToken, VerifiedToken};
