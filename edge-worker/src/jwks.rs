//! Identity provider keys from a JWKS URL (RFC 7517): fetched, cached in the isolate,
//! and fetched again when stale or when a token names a key the cached set lacks.

use std::cell::RefCell;

use serde::Deserialize;
use serde_json::Value;
use session_core::{Algorithm, TokenError};
use worker::{
    console_log, console_warn, AbortSignal, Date, Fetch, Headers, Method, Request, RequestInit, Url,
};

use crate::crypto::PublicKey;
use crate::error::Error;

/// Age after which a cached key set is fetched again, in milliseconds.
const CACHE_TTL_MS: u64 = 10 * 60 * 1000;

/// Minimum time between two fetches caused by an unknown `kid`, in milliseconds, so a
/// stream of tokens with made-up key ids cannot make the worker hammer the provider.
const MIN_REFETCH_MS: u64 = 30 * 1000;

/// Time before a JWKS fetch is abandoned, in milliseconds.
const FETCH_TIMEOUT_MS: u32 = 5_000;

/// Largest JWKS document accepted, in bytes. Providers publish a handful of keys.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// A key set as last fetched from one URL.
struct CachedKeySet {
    url: String,
    fetched_at_ms: u64,
    keys: Vec<Value>,
}

thread_local! {
    // The wasm of a Worker runs on one thread. Concurrent requests interleave only at
    // `await` points, and no borrow of the cache spans one. The cache lives as long
    // as the isolate.
    static CACHE: RefCell<Option<CachedKeySet>> = const { RefCell::new(None) };
}

/// Body of a JWKS URL.
#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

/// Finds and imports the key that verifies a token with `kid` and `algorithm`.
pub async fn verification_key(
    url: &Url,
    kid: Option<&str>,
    algorithm: Algorithm,
) -> Result<PublicKey, Error> {
    let now = Date::now().as_millis();
    let cached = CACHE.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|set| set.url == url.as_str())
            .map(|set| {
                (
                    now.saturating_sub(set.fetched_at_ms),
                    find_key(&set.keys, kid, algorithm),
                )
            })
    });

    let jwk = match cached {
        Some((age, Some(jwk))) if age < CACHE_TTL_MS => jwk,
        Some((age, None)) if age < MIN_REFETCH_MS => return Err(unknown_key(kid)),
        Some((_, stale)) => match fetch_and_cache(url, now).await {
            Ok(keys) => find_key(&keys, kid, algorithm).ok_or_else(|| unknown_key(kid))?,
            // A provider outage should not sign everyone out while a known key still works.
            Err(err) => {
                let jwk = stale.ok_or(err)?;
                console_warn!("identity JWKS refresh failed; using the cached key set");
                jwk
            }
        },
        None => {
            let keys = fetch_and_cache(url, now).await?;
            find_key(&keys, kid, algorithm).ok_or_else(|| unknown_key(kid))?
        }
    };

    PublicKey::import_jwk(&jwk.to_string(), algorithm)
        .await
        .map_err(|err| {
            Error::IdentityProviderUnavailable(format!(
                "a key of its JWKS could not be imported: {err}"
            ))
        })
}

/// Picks the key for `kid` among those usable with `algorithm`. A token without `kid`
/// is accepted only when exactly one key fits.
fn find_key(keys: &[Value], kid: Option<&str>, algorithm: Algorithm) -> Option<Value> {
    let mut usable = keys.iter().filter(|key| fits(key, algorithm));
    match kid {
        Some(kid) => usable.find(|key| key["kid"].as_str() == Some(kid)).cloned(),
        None => {
            let first = usable.next()?;
            usable.next().is_none().then(|| first.clone())
        }
    }
}

/// Returns whether a JWK can verify `algorithm`: the right key type and curve, a `use` of
/// `sig` when present, and an `alg` equal to `algorithm` when present.
fn fits(key: &Value, algorithm: Algorithm) -> bool {
    let type_fits = match algorithm {
        Algorithm::RS256 => key["kty"] == "RSA",
        Algorithm::ES256 => key["kty"] == "EC" && key["crv"] == "P-256",
        _ => false,
    };
    let use_fits = key.get("use").is_none_or(|value| value == "sig");
    let alg_fits = key
        .get("alg")
        .is_none_or(|value| value == algorithm.as_str());
    type_fits && use_fits && alg_fits
}

fn unknown_key(kid: Option<&str>) -> Error {
    Error::InvalidIdentityToken(TokenError::UnknownKeyId(kid.unwrap_or("none").to_owned()))
}

async fn fetch_and_cache(url: &Url, now: u64) -> Result<Vec<Value>, Error> {
    let keys = fetch(url).await?;
    console_log!("fetched the identity JWKS: keys={}", keys.len());
    CACHE.with(|cache| {
        *cache.borrow_mut() = Some(CachedKeySet {
            url: url.as_str().to_owned(),
            fetched_at_ms: now,
            keys: keys.clone(),
        });
    });
    Ok(keys)
}

async fn fetch(url: &Url) -> Result<Vec<Value>, Error> {
    let unavailable = |detail: String| Error::IdentityProviderUnavailable(detail);

    let headers = Headers::new();
    headers.set("accept", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(url.as_str(), &init)?;

    let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(FETCH_TIMEOUT_MS));
    let mut response = match Fetch::Request(request).send_with_signal(&signal).await {
        Ok(response) => response,
        Err(_) if signal.aborted() => {
            return Err(unavailable(format!(
                "its JWKS URL did not respond within {FETCH_TIMEOUT_MS} ms"
            )));
        }
        Err(err) => {
            return Err(unavailable(format!(
                "its JWKS URL could not be reached: {err}"
            )))
        }
    };

    let status = response.status_code();
    if status != 200 {
        return Err(unavailable(format!(
            "its JWKS URL responded with status {status}"
        )));
    }
    let body = response
        .bytes()
        .await
        .map_err(|err| unavailable(format!("its JWKS response was cut off: {err}")))?;
    if body.len() > MAX_JWKS_BYTES {
        return Err(unavailable(format!(
            "its JWKS is larger than {MAX_JWKS_BYTES} bytes"
        )));
    }

    let set: KeySet = serde_json::from_slice(&body)
        .map_err(|err| unavailable(format!("its JWKS is not a JSON object with `keys`: {err}")))?;
    Ok(set.keys)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys() -> Vec<Value> {
        vec![
            json!({"kty": "RSA", "kid": "rsa-1", "use": "sig", "alg": "RS256", "n": "x", "e": "AQAB"}),
            json!({"kty": "RSA", "kid": "rsa-enc", "use": "enc", "n": "x", "e": "AQAB"}),
            json!({"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": "x", "y": "y"}),
            json!({"kty": "EC", "kid": "ec-384", "crv": "P-384", "x": "x", "y": "y"}),
        ]
    }

    #[test]
    fn find_key_table() {
        let cases = [
            (Some("rsa-1"), Algorithm::RS256, Some("rsa-1")),
            (Some("ec-1"), Algorithm::ES256, Some("ec-1")),
            (Some("rsa-1"), Algorithm::ES256, None),
            (Some("ec-1"), Algorithm::RS256, None),
            (Some("rsa-enc"), Algorithm::RS256, None),
            (Some("ec-384"), Algorithm::ES256, None),
            (Some("missing"), Algorithm::RS256, None),
            (None, Algorithm::RS256, Some("rsa-1")),
            (None, Algorithm::ES256, Some("ec-1")),
        ];
        for (kid, algorithm, expected) in cases {
            let found = find_key(&keys(), kid, algorithm);
            assert_eq!(
                found.as_ref().and_then(|key| key["kid"].as_str()),
                expected,
                "{kid:?} {algorithm:?}"
            );
        }
    }

    #[test]
    fn key_without_kid_is_ambiguous_among_several() {
        let mut keys = keys();
        keys.push(json!({"kty": "RSA", "kid": "rsa-2", "n": "x", "e": "AQAB"}));
        assert_eq!(find_key(&keys, None, Algorithm::RS256), None);
    }
}
