//! Session JWT signing and verification, and identity token verification, with the
//! checks from `session_core` and the MAC from Web Crypto.

use session_core::jwt::{self, key_id};
use session_core::{
    Algorithm, Header, IdentityClaims, SessionClaims, TokenError, UnverifiedToken, Validation,
};

use crate::config::{Config, IdentityKeys};
use crate::crypto::{self, CryptoError, HmacKey};
use crate::error::Error;
use crate::jwks;

/// The session keys: the current one signs and verifies, the previous one only verifies.
#[derive(Debug)]
pub struct SessionKeys {
    current: (String, HmacKey),
    previous: Option<(String, HmacKey)>,
}

impl SessionKeys {
    /// Imports `AUTH_SECRET` and `AUTH_SECRET_PREVIOUS` and derives their key ids.
    pub async fn load(config: &Config) -> Result<Self, CryptoError> {
        let current = import_with_kid(config.auth_secret.expose()).await?;
        let previous = match &config.auth_secret_previous {
            Some(secret) => Some(import_with_kid(secret.expose()).await?),
            None => None,
        };
        Ok(SessionKeys { current, previous })
    }

    /// Signs `claims` with the current key.
    pub async fn sign(&self, claims: &SessionClaims) -> Result<String, CryptoError> {
        let (kid, key) = &self.current;
        let header = Header::jwt(Algorithm::HS256, Some(kid.clone()));
        let input = jwt::signing_input(&header, claims);
        let signature = key.sign(input.as_bytes()).await?;
        Ok(jwt::compact(&input, &signature))
    }

    /// Verifies a session JWT: algorithm, key by `kid` (none means the current key),
    /// signature, then claims at `now` (seconds since the epoch).
    pub async fn verify(
        &self,
        token: &str,
        validation: &Validation,
        now: i64,
    ) -> Result<SessionClaims, Error> {
        let unverified =
            UnverifiedToken::decode(token, Algorithm::HS256).map_err(Error::InvalidSession)?;

        let key = match unverified.kid() {
            None => &self.current.1,
            Some(kid) if kid == self.current.0 => &self.current.1,
            Some(kid) => match &self.previous {
                Some((previous_kid, key)) if kid == previous_kid => key,
                _ => {
                    return Err(Error::InvalidSession(TokenError::UnknownKeyId(
                        kid.to_owned(),
                    )))
                }
            },
        };

        let valid = key
            .verify(unverified.signature(), unverified.signing_input())
            .await?;
        let claims: SessionClaims = unverified
            .accept_signature(valid)
            .and_then(|token| token.claims(validation, now))
            .map_err(Error::InvalidSession)?;
        claims.check_ids().map_err(Error::InvalidSession)?;
        Ok(claims)
    }
}

/// Verifies an identity token: HS256 with `IDENTITY_SECRET`, or RS256 or ES256 with a
/// key of `IDENTITY_JWKS_URL`. Only the configured kind of algorithm is accepted.
pub async fn verify_identity(
    token: &str,
    config: &Config,
    now: i64,
) -> Result<IdentityClaims, Error> {
    let (valid, unverified) = match &config.identity_keys {
        IdentityKeys::Secret(secret) => {
            let unverified = UnverifiedToken::decode(token, Algorithm::HS256)
                .map_err(Error::InvalidIdentityToken)?;
            let key = HmacKey::import(secret.expose()).await?;
            let valid = key
                .verify(unverified.signature(), unverified.signing_input())
                .await?;
            (valid, unverified)
        }
        IdentityKeys::Jwks(url) => {
            let unverified =
                UnverifiedToken::decode_allowing(token, &[Algorithm::RS256, Algorithm::ES256])
                    .map_err(Error::InvalidIdentityToken)?;
            let key = jwks::verification_key(url, unverified.kid(), unverified.algorithm()).await?;
            let valid = key
                .verify(unverified.signature(), unverified.signing_input())
                .await?;
            (valid, unverified)
        }
    };

    let claims: IdentityClaims = unverified
        .accept_signature(valid)
        .and_then(|token| token.claims(&config.identity_validation(), now))
        .map_err(Error::InvalidIdentityToken)?;
    claims.check_ids().map_err(Error::InvalidIdentityToken)?;
    Ok(claims)
}

async fn import_with_kid(secret: &[u8]) -> Result<(String, HmacKey), CryptoError> {
    let kid = key_id(&crypto::sha256(secret).await?);
    let key = HmacKey::import(secret).await?;
    Ok((kid, key))
}
