//! HS256 signing and verification of the session JWT, with the key chosen by `kid`
//! so that a previous secret stays valid while keys rotate.

use std::fmt;

use hmac::{Hmac, Mac};
use session_core::jwt::{self, key_id};
use session_core::{Algorithm, Header, SessionClaims, TokenError, UnverifiedToken, Validation};
use sha2::{Digest, Sha256};
use tracing::instrument;

type HmacSha256 = Hmac<Sha256>;

/// An HMAC key and the `kid` derived from it.
#[derive(Clone)]
struct Key {
    kid: String,
    secret: Vec<u8>,
}

impl Key {
    fn new(secret: &[u8]) -> Self {
        Key {
            kid: kid_for(secret),
            secret: secret.to_vec(),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Verifies session JWTs against the current key and, during rotation, the previous one.
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    current: Key,
    previous: Option<Key>,
    validation: Validation,
}

impl TokenVerifier {
    /// Builds a verifier for `current` (`AUTH_SECRET`) and optionally `previous`
    /// (`AUTH_SECRET_PREVIOUS`), both used as raw bytes.
    pub fn new(current: &[u8], previous: Option<&[u8]>, validation: Validation) -> Self {
        TokenVerifier {
            current: Key::new(current),
            previous: previous.map(Key::new),
            validation,
        }
    }

    /// Verifies `token` at `now` (seconds since the epoch) and returns its claims.
    ///
    /// The algorithm is pinned to HS256 before any key is chosen. A token without `kid`
    /// is checked against the current key; a `kid` naming neither key is rejected.
    #[instrument(skip_all, fields(kid))]
    pub fn verify(&self, token: &str, now: i64) -> Result<SessionClaims, TokenError> {
        let unverified = UnverifiedToken::decode(token, Algorithm::HS256)?;
        tracing::Span::current().record("kid", unverified.kid());

        let key = match unverified.kid() {
            None => &self.current,
            Some(kid) if kid == self.current.kid => &self.current,
            Some(kid) => match &self.previous {
                Some(previous) if kid == previous.kid => previous,
                _ => return Err(TokenError::UnknownKeyId(kid.to_owned())),
            },
        };

        let mut mac =
            HmacSha256::new_from_slice(&key.secret).expect("HMAC accepts keys of any length");
        mac.update(unverified.signing_input());
        // verify_slice compares in constant time, so timing reveals nothing about the MAC.
        let signature_valid = mac.verify_slice(unverified.signature()).is_ok();

        let verified = unverified.accept_signature(signature_valid)?;
        let claims: SessionClaims = verified.claims(&self.validation, now)?;
        claims.check_ids()?;
        Ok(claims)
    }
}

/// Signs `claims` as an HS256 session JWT under `secret`, with the `kid` the edge
/// worker would write. The server itself never issues tokens; tests and tools do.
pub fn sign(secret: &[u8], claims: &SessionClaims) -> String {
    sign_with_header(
        secret,
        &Header::jwt(Algorithm::HS256, Some(kid_for(secret))),
        claims,
    )
}

/// Signs `claims` under `secret` with an arbitrary `header`, whatever its `alg` names.
pub fn sign_with_header(secret: &[u8], header: &Header, claims: &SessionClaims) -> String {
    let input = jwt::signing_input(header, claims);
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(input.as_bytes());
    jwt::compact(&input, &mac.finalize().into_bytes())
}

/// Derives the `kid` of an HMAC key from SHA-256 of the key, as the worker does.
pub fn kid_for(secret: &[u8]) -> String {
    key_id(&Sha256::digest(secret))
}

/// Computes the value stored for a session token: lowercase hex SHA-256 of the `sid` claim.
pub fn token_hash(sid: &str) -> String {
    let digest = Sha256::digest(sid.as_bytes());
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;
    const SECRET: &[u8] = b"current-secret-current-secret-0123456789";
    const PREVIOUS: &[u8] = b"previous-secret-previous-secret-0123456789";

    fn claims() -> SessionClaims {
        SessionClaims {
            sub: "user-1".into(),
            sid: "sid-1".into(),
            iat: NOW,
            exp: NOW + 3600,
            iss: "edge-sessions".into(),
            name: None,
            email: None,
        }
    }

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(SECRET, Some(PREVIOUS), Validation::new("edge-sessions"))
    }

    #[test]
    fn signed_token_verifies() {
        let token = sign(SECRET, &claims());
        assert_eq!(verifier().verify(&token, NOW), Ok(claims()));
    }

    #[test]
    fn previous_key_verifies() {
        let token = sign(PREVIOUS, &claims());
        assert_eq!(verifier().verify(&token, NOW), Ok(claims()));
    }

    #[test]
    fn token_without_kid_uses_current_key() {
        let header = Header::jwt(Algorithm::HS256, None);
        let token = sign_with_header(SECRET, &header, &claims());
        assert_eq!(verifier().verify(&token, NOW), Ok(claims()));
    }

    #[test]
    fn kidless_previous_key_token_rejected() {
        let header = Header::jwt(Algorithm::HS256, None);
        let token = sign_with_header(PREVIOUS, &header, &claims());
        assert_eq!(
            verifier().verify(&token, NOW),
            Err(TokenError::InvalidSignature)
        );
    }

    #[test]
    fn unknown_kid_is_rejected() {
        let header = Header::jwt(Algorithm::HS256, Some("someone-else".into()));
        let token = sign_with_header(SECRET, &header, &claims());
        assert_eq!(
            verifier().verify(&token, NOW),
            Err(TokenError::UnknownKeyId("someone-else".into()))
        );
    }

    #[test]
    fn token_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
