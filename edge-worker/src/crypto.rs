//! Web Crypto behind small typed functions: UUIDs, SHA-256, HMAC-SHA-256, and RS256 and
//! ES256 public keys imported from a JWK.
//! Randomness and MACs come from the runtime's `crypto` global; nothing falls back to
//! a Rust implementation.

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array};
use session_core::Algorithm;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto, WorkerGlobalScope};

/// A Web Crypto call that failed; the text is the runtime's exception.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Web Crypto {operation} failed: {detail}")]
pub struct CryptoError {
    operation: &'static str,
    detail: String,
}

impl CryptoError {
    fn from_js(operation: &'static str, value: JsValue) -> Self {
        let detail = value
            .dyn_ref::<js_sys::Error>()
            .map(|err| String::from(err.message()))
            .or_else(|| value.as_string())
            .unwrap_or_else(|| format!("{value:?}"));
        CryptoError { operation, detail }
    }
}

fn crypto() -> Result<Crypto, CryptoError> {
    let global: WorkerGlobalScope = js_sys::global().unchecked_into();
    global
        .crypto()
        .map_err(|err| CryptoError::from_js("access", err))
}

fn subtle() -> Result<SubtleCrypto, CryptoError> {
    Ok(crypto()?.subtle())
}

/// Draws a random UUID v4 with `crypto.randomUUID()`.
pub fn random_uuid() -> Result<String, CryptoError> {
    Ok(crypto()?.random_uuid())
}

/// Computes SHA-256 of `data` with `crypto.subtle.digest`.
pub async fn sha256(data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let promise = subtle()?
        .digest_with_str_and_u8_array("SHA-256", data)
        .map_err(|err| CryptoError::from_js("digest", err))?;
    let buffer = JsFuture::from(promise)
        .await
        .map_err(|err| CryptoError::from_js("digest", err))?;
    Ok(bytes_of(&buffer))
}

/// An HMAC-SHA-256 key imported into Web Crypto, usable to sign and verify.
#[derive(Debug, Clone)]
pub struct HmacKey {
    key: CryptoKey,
}

impl HmacKey {
    /// Imports `secret` as a raw, non-extractable HMAC-SHA-256 key.
    pub async fn import(secret: &[u8]) -> Result<Self, CryptoError> {
        let key_data = Uint8Array::from(secret);
        let usages = Array::of2(&"sign".into(), &"verify".into());
        let promise = subtle()?
            .import_key_with_object(
                "raw",
                &key_data,
                &algorithm_object(&[("name", "HMAC"), ("hash", "SHA-256")])?,
                false,
                &usages,
            )
            .map_err(|err| CryptoError::from_js("importKey", err))?;
        let key = JsFuture::from(promise)
            .await
            .map_err(|err| CryptoError::from_js("importKey", err))?;
        Ok(HmacKey {
            key: key.unchecked_into(),
        })
    }

    /// Computes the MAC of `data`.
    pub async fn sign(&self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let promise = subtle()?
            .sign_with_str_and_u8_array("HMAC", &self.key, data)
            .map_err(|err| CryptoError::from_js("sign", err))?;
        let signature = JsFuture::from(promise)
            .await
            .map_err(|err| CryptoError::from_js("sign", err))?;
        Ok(bytes_of(&signature))
    }

    /// Checks `signature` over `data`; Web Crypto compares in constant time.
    pub async fn verify(&self, signature: &[u8], data: &[u8]) -> Result<bool, CryptoError> {
        let promise = subtle()?
            .verify_with_str_and_u8_array_and_u8_array("HMAC", &self.key, signature, data)
            .map_err(|err| CryptoError::from_js("verify", err))?;
        let valid = JsFuture::from(promise)
            .await
            .map_err(|err| CryptoError::from_js("verify", err))?;
        Ok(valid.as_bool() == Some(true))
    }
}

/// A public key from an identity provider's JWKS, usable to verify RS256 or ES256.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: CryptoKey,
    algorithm: Algorithm,
}

impl PublicKey {
    /// Imports one JWK (RFC 7517), given as JSON, as a verification key for `algorithm`.
    pub async fn import_jwk(jwk_json: &str, algorithm: Algorithm) -> Result<Self, CryptoError> {
        let jwk: Object = js_sys::JSON::parse(jwk_json)
            .map_err(|err| CryptoError::from_js("importKey", err))?
            .unchecked_into();
        let import_algorithm = match algorithm {
            Algorithm::ES256 => algorithm_object(&[("name", "ECDSA"), ("namedCurve", "P-256")])?,
            _ => algorithm_object(&[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")])?,
        };
        let usages = Array::of1(&"verify".into());
        let promise = subtle()?
            .import_key_with_object("jwk", &jwk, &import_algorithm, false, &usages)
            .map_err(|err| CryptoError::from_js("importKey", err))?;
        let key = JsFuture::from(promise)
            .await
            .map_err(|err| CryptoError::from_js("importKey", err))?;
        Ok(PublicKey {
            key: key.unchecked_into(),
            algorithm,
        })
    }

    /// Checks a JWS `signature` over `data`. ES256 signatures are the raw 64-byte
    /// `r || s` that both JWS (RFC 7518 section 3.4) and Web Crypto use.
    pub async fn verify(&self, signature: &[u8], data: &[u8]) -> Result<bool, CryptoError> {
        let verify_algorithm = match self.algorithm {
            Algorithm::ES256 => algorithm_object(&[("name", "ECDSA"), ("hash", "SHA-256")])?,
            _ => algorithm_object(&[("name", "RSASSA-PKCS1-v1_5")])?,
        };
        let promise = subtle()?
            .verify_with_object_and_u8_array_and_u8_array(
                &verify_algorithm,
                &self.key,
                signature,
                data,
            )
            .map_err(|err| CryptoError::from_js("verify", err))?;
        let valid = JsFuture::from(promise)
            .await
            .map_err(|err| CryptoError::from_js("verify", err))?;
        Ok(valid.as_bool() == Some(true))
    }
}

fn algorithm_object(fields: &[(&str, &str)]) -> Result<Object, CryptoError> {
    let object = Object::new();
    for (key, value) in fields {
        Reflect::set(&object, &(*key).into(), &(*value).into())
            .map_err(|err| CryptoError::from_js("algorithm", err))?;
    }
    Ok(object)
}

fn bytes_of(buffer: &JsValue) -> Vec<u8> {
    let buffer: &ArrayBuffer = buffer.unchecked_ref();
    Uint8Array::new(buffer).to_vec()
}
