//! JWS compact serialization (RFC 7515) for HMAC-signed tokens: decoding with a pinned
//! algorithm, key selection by `kid`, and encoding of the signing input.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::claims::{RegisteredClaims, Validation};

/// Maximum token length accepted, in bytes. A session JWT is about 400 bytes; the bound keeps
/// a hostile cookie or header from costing more than a small allocation.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Number of digest bytes that make up a key id (see [`key_id`]).
const KEY_ID_DIGEST_BYTES: usize = 8;

/// Signature algorithms a token may name. Checking the signature is the caller's job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256 (RFC 7518 section 3.2).
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3).
    RS256,
    /// ECDSA with P-256 and SHA-256 (RFC 7518 section 3.4).
    ES256,
}

impl Algorithm {
    /// Returns the `alg` header value of this algorithm.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256]
            .into_iter()
            .find(|algorithm| algorithm.as_str() == name)
    }
}

/// Reason a token was rejected. Every message is safe to show to the client that sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is not three dot-separated parts, or is longer than [`MAX_TOKEN_LEN`].
    #[error("the token is malformed: {0}")]
    Malformed(&'static str),
    /// A part is not base64url without padding.
    #[error("the token's {0} is not base64url without padding (RFC 7515 section 2)")]
    InvalidBase64(&'static str),
    /// The header is not a JSON object with a string `alg`.
    #[error("the token's header is not valid JSON: {0}")]
    InvalidHeader(String),
    /// The header names an algorithm outside the allowed set, `none` included.
    #[error("the token's algorithm `{found}` is not accepted; expected {expected}")]
    AlgorithmNotAllowed { found: String, expected: String },
    /// The header's `kid` matches neither the current nor the previous key.
    #[error("the token was signed with an unknown key (kid `{0}`); sign in again")]
    UnknownKeyId(String),
    /// The signature does not match the signing input under the selected key.
    #[error("the token's signature is invalid; sign in again")]
    InvalidSignature,
    /// The payload is not JSON, or a claim has the wrong type.
    #[error("the token's claims are invalid: {0}")]
    InvalidClaims(String),
    /// A claim that must be present is missing or empty.
    #[error("the token has no `{0}` claim")]
    MissingClaim(&'static str),
    /// `exp` is in the past by more than the leeway.
    #[error("the token has expired; sign in again")]
    ExpiredSignature,
    /// `nbf` is in the future by more than the leeway.
    #[error("the token is not valid yet (`nbf` is in the future); check the issuer's clock")]
    ImmatureSignature,
    /// `iat` is in the future by more than the leeway.
    #[error("the token was issued in the future (`iat`); check the issuer's clock")]
    IssuedInFuture,
    /// `exp` lies further ahead than any token may live, which is what an `exp` written
    /// in milliseconds instead of seconds looks like.
    #[error("the token's `exp` is too far in the future; NumericDate values are seconds, not milliseconds")]
    ExpiryTooFar,
    /// `iss` is missing or differs from the configured issuer.
    #[error("the token's issuer is not accepted; expected `{0}`")]
    InvalidIssuer(String),
    /// `aud` is missing or does not contain the configured audience.
    #[error("the token's audience is not accepted; expected `{0}`")]
    InvalidAudience(String),
}

/// The JOSE header of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Signature algorithm, as written by the signer.
    pub alg: String,
    /// Media type, `JWT` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Id of the signing key; see [`key_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

impl Header {
    /// Builds the header of a JWT signed with `algorithm` under the key `kid`.
    pub fn jwt(algorithm: Algorithm, kid: Option<String>) -> Self {
        Header {
            alg: algorithm.as_str().to_owned(),
            typ: Some("JWT".to_owned()),
            kid,
        }
    }
}

/// A token whose structure and algorithm were checked but whose signature was not.
#[derive(Debug)]
pub struct UnverifiedToken<'a> {
    header: Header,
    algorithm: Algorithm,
    signing_input: &'a str,
    signature: Vec<u8>,
    payload: Vec<u8>,
}

impl<'a> UnverifiedToken<'a> {
    /// Splits `token` and rejects it unless its header names exactly `algorithm`.
    ///
    /// The algorithm is checked before any key is chosen, so a header saying `none`
    /// or an asymmetric algorithm never reaches a signature check.
    pub fn decode(token: &'a str, algorithm: Algorithm) -> Result<Self, TokenError> {
        Self::decode_allowing(token, &[algorithm])
    }

    /// Splits `token` and rejects it unless its header names one of `allowed`. A set
    /// must never mix HMAC with public-key algorithms, or a public key could be
    /// presented as an HMAC secret.
    pub fn decode_allowing(token: &'a str, allowed: &[Algorithm]) -> Result<Self, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Malformed("it is longer than 8 KiB"));
        }

        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed(
                "expected three base64url parts separated by dots",
            ));
        };

        let header_json = decode_part(header_b64, "header")?;
        let header: Header = serde_json::from_slice(&header_json)
            .map_err(|err| TokenError::InvalidHeader(err.to_string()))?;
        let Some(algorithm) = Algorithm::from_name(&header.alg).filter(|alg| allowed.contains(alg))
        else {
            let expected: Vec<&str> = allowed.iter().map(|alg| alg.as_str()).collect();
            return Err(TokenError::AlgorithmNotAllowed {
                found: header.alg,
                expected: expected.join(" or "),
            });
        };

        let payload = decode_part(payload_b64, "payload")?;
        let signature = decode_part(signature_b64, "signature")?;
        let signing_input_len = header_b64.len() + 1 + payload_b64.len();

        Ok(UnverifiedToken {
            header,
            algorithm,
            signing_input: &token[..signing_input_len],
            signature,
            payload,
        })
    }

    /// Returns the algorithm the header names, one of those the caller allowed.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Returns the `kid` header, used to choose between the current and the previous key.
    pub fn kid(&self) -> Option<&str> {
        self.header.kid.as_deref()
    }

    /// Returns the bytes the signature covers: `BASE64URL(header) || '.' || BASE64URL(payload)`.
    pub fn signing_input(&self) -> &[u8] {
        self.signing_input.as_bytes()
    }

    /// Returns the decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Turns the caller's signature check into a verified token, or
    /// [`TokenError::InvalidSignature`] when `signature_valid` is false.
    pub fn accept_signature(self, signature_valid: bool) -> Result<VerifiedToken, TokenError> {
        if !signature_valid {
            return Err(TokenError::InvalidSignature);
        }
        Ok(VerifiedToken {
            payload: self.payload,
        })
    }
}

/// A token whose signature was checked; its claims are still to be validated.
#[derive(Debug)]
pub struct VerifiedToken {
    payload: Vec<u8>,
}

impl VerifiedToken {
    /// Validates the registered claims against `validation` at `now` (seconds since the
    /// epoch), then deserializes the whole claim set as `C`.
    pub fn claims<C: DeserializeOwned>(
        &self,
        validation: &Validation,
        now: i64,
    ) -> Result<C, TokenError> {
        let registered: RegisteredClaims = serde_json::from_slice(&self.payload)
            .map_err(|err| TokenError::InvalidClaims(err.to_string()))?;
        validation.check(&registered, now)?;

        serde_json::from_slice(&self.payload)
            .map_err(|err| TokenError::InvalidClaims(err.to_string()))
    }
}

/// Returns the signing input of a token with `header` and `claims`, ready to be signed.
pub fn signing_input<C: Serialize>(header: &Header, claims: &C) -> String {
    let header_json = serde_json::to_vec(header).expect("a header always serializes");
    let claims_json = serde_json::to_vec(claims).expect("claims of plain fields always serialize");

    let mut input = URL_SAFE_NO_PAD.encode(header_json);
    input.push('.');
    input.push_str(&URL_SAFE_NO_PAD.encode(claims_json));
    input
}

/// Appends `signature` to `signing_input`, giving the compact serialization.
pub fn compact(signing_input: &str, signature: &[u8]) -> String {
    let mut token = String::with_capacity(signing_input.len() + 1 + signature.len() * 4 / 3 + 2);
    token.push_str(signing_input);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    token
}

/// Derives the `kid` of an HMAC key from the SHA-256 digest of the key: the first eight
/// digest bytes in base64url. The id names the key without revealing it, and both sides
/// derive the same id from the same secret without sharing any other setting.
pub fn key_id(secret_sha256: &[u8]) -> String {
    let prefix = &secret_sha256[..KEY_ID_DIGEST_BYTES.min(secret_sha256.len())];
    URL_SAFE_NO_PAD.encode(prefix)
}

fn decode_part(part: &str, name: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::InvalidBase64(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn token_with_header(header_json: &str) -> String {
        format!(
            "{}.{}.{}",
            b64(header_json),
            b64(r#"{"sub":"u"}"#),
            b64("sig")
        )
    }

    #[test]
    fn decode_rejects_wrong_shapes() {
        let cases = [
            ("", "empty"),
            ("a.b", "two parts"),
            ("a.b.c.d", "four parts"),
        ];
        for (token, case) in cases {
            let err = UnverifiedToken::decode(token, Algorithm::HS256).unwrap_err();
            assert!(
                matches!(
                    err,
                    TokenError::Malformed(_)
                        | TokenError::InvalidBase64(_)
                        | TokenError::InvalidHeader(_)
                ),
                "{case}: {err:?}"
            );
        }
    }

    #[test]
    fn decode_rejects_oversized_token() {
        let token = "a".repeat(MAX_TOKEN_LEN + 1);
        let err = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap_err();
        assert!(matches!(err, TokenError::Malformed(_)));
    }

    #[test]
    fn decode_rejects_other_algorithms() {
        for alg in ["none", "None", "RS256", "ES256", "HS512", "hs256", ""] {
            let token = token_with_header(&format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#));
            let err = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap_err();
            assert_eq!(
                err,
                TokenError::AlgorithmNotAllowed {
                    found: alg.to_owned(),
                    expected: "HS256".to_owned()
                },
                "alg {alg:?}"
            );
        }
    }

    #[test]
    fn decode_allowing_accepts_any_listed_algorithm() {
        let allowed = [Algorithm::RS256, Algorithm::ES256];
        for algorithm in allowed {
            let token = token_with_header(&format!(r#"{{"alg":"{}"}}"#, algorithm.as_str()));
            let decoded = UnverifiedToken::decode_allowing(&token, &allowed).unwrap();
            assert_eq!(decoded.algorithm(), algorithm);
        }
    }

    #[test]
    fn decode_allowing_rejects_hmac_for_public_keys() {
        let token = token_with_header(r#"{"alg":"HS256"}"#);
        let err = UnverifiedToken::decode_allowing(&token, &[Algorithm::RS256, Algorithm::ES256])
            .unwrap_err();
        assert_eq!(
            err,
            TokenError::AlgorithmNotAllowed {
                found: "HS256".to_owned(),
                expected: "RS256 or ES256".to_owned()
            }
        );
    }

    #[test]
    fn decode_rejects_padded_base64() {
        let header = format!("{}=", b64(r#"{"alg":"HS256"}"#));
        let token = format!("{header}.{}.{}", b64("{}"), b64("sig"));
        let err = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap_err();
        assert_eq!(err, TokenError::InvalidBase64("header"));
    }

    #[test]
    fn decode_rejects_standard_base64_alphabet() {
        // "+" and "/" belong to the standard alphabet, not to base64url.
        let token = format!("{}.{}.ab+/", b64(r#"{"alg":"HS256"}"#), b64("{}"));
        let err = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap_err();
        assert_eq!(err, TokenError::InvalidBase64("signature"));
    }

    #[test]
    fn decode_rejects_header_without_alg() {
        let token = token_with_header(r#"{"typ":"JWT"}"#);
        let err = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap_err();
        assert!(matches!(err, TokenError::InvalidHeader(_)));
    }

    #[test]
    fn decode_exposes_signing_input_and_kid() {
        let header = Header::jwt(Algorithm::HS256, Some("k1".to_owned()));
        let input = signing_input(&header, &serde_json::json!({"sub": "u"}));
        let token = compact(&input, b"signature-bytes");

        let decoded = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap();
        assert_eq!(decoded.signing_input(), input.as_bytes());
        assert_eq!(decoded.signature(), b"signature-bytes");
        assert_eq!(decoded.kid(), Some("k1"));
    }

    #[test]
    fn failed_signature_check_is_rejected() {
        let token = token_with_header(r#"{"alg":"HS256"}"#);
        let decoded = UnverifiedToken::decode(&token, Algorithm::HS256).unwrap();
        assert_eq!(
            decoded.accept_signature(false).unwrap_err(),
            TokenError::InvalidSignature
        );
    }

    #[test]
    fn key_id_is_eleven_base64url_chars() {
        assert_eq!(key_id(&[0u8; 32]), "AAAAAAAAAAA");
    }
}
