//! Claim sets of the session JWT and the identity token, and the time, issuer and
//! audience checks of RFC 7519 section 4.1.

use serde::{Deserialize, Serialize};

use crate::jwt::TokenError;

/// Longest accepted `sub` or `sid`, in bytes.
const MAX_ID_LEN: usize = 255;

/// Claims of the session JWT that the cookie holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// User id, copied from the identity token's `sub`.
    pub sub: String,
    /// Session token: a fresh UUID v4 for every sign-in. The origin stores only its SHA-256.
    pub sid: String,
    /// Issue time, in seconds since the epoch.
    pub iat: i64,
    /// Expiry, in seconds since the epoch.
    pub exp: i64,
    /// Issuer, checked against the configured one.
    pub iss: String,
    /// Display name, copied from the identity token when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address, copied from the identity token when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl SessionClaims {
    /// Rejects claims whose `sub` or `sid` is empty or longer than 255 bytes.
    pub fn check_ids(&self) -> Result<(), TokenError> {
        check_id(&self.sub, "sub")?;
        check_id(&self.sid, "sid")
    }
}

/// Claims read from an identity provider's token at sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct IdentityClaims {
    /// User id at the identity provider.
    pub sub: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
}

impl IdentityClaims {
    /// Rejects an identity whose `sub` is empty or longer than 255 bytes.
    pub fn check_ids(&self) -> Result<(), TokenError> {
        check_id(&self.sub, "sub")
    }
}

fn check_id(value: &str, claim: &'static str) -> Result<(), TokenError> {
    if value.is_empty() {
        return Err(TokenError::MissingClaim(claim));
    }
    if value.len() > MAX_ID_LEN {
        return Err(TokenError::InvalidClaims(format!(
            "`{claim}` is longer than {MAX_ID_LEN} bytes"
        )));
    }
    Ok(())
}

/// The `aud` claim: one string or an array of strings (RFC 7519 section 4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    fn contains(&self, expected: &str) -> bool {
        match self {
            Audience::One(aud) => aud == expected,
            Audience::Many(auds) => auds.iter().any(|aud| aud == expected),
        }
    }
}

/// The registered claims every validation reads, whatever the rest of the claim set.
/// NumericDate values may be fractional (RFC 7519 section 2), hence `f64`.
#[derive(Debug, Deserialize)]
pub(crate) struct RegisteredClaims {
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    iss: Option<String>,
    aud: Option<Audience>,
}

/// Requirements a token must meet besides its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// Required `iss`.
    pub issuer: String,
    /// Required member of `aud`; `None` leaves `aud` unchecked.
    pub audience: Option<String>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
    /// Maximum time a token may still have to live, in seconds. A larger `exp` is
    /// rejected, which also catches `exp` written in milliseconds.
    pub max_lifetime: u64,
}

impl Validation {
    /// Default clock-skew leeway, in seconds.
    pub const DEFAULT_LEEWAY: u64 = 30;

    /// Default longest remaining lifetime: 400 days, the cap browsers put on a
    /// cookie's Max-Age (RFC 6265bis section 5.5), so no session outlives its cookie.
    pub const DEFAULT_MAX_LIFETIME: u64 = 400 * 24 * 60 * 60;

    /// Builds a validation for `issuer` with no audience and the default leeway and
    /// maximum lifetime.
    pub fn new(issuer: impl Into<String>) -> Self {
        Validation {
            issuer: issuer.into(),
            audience: None,
            leeway: Self::DEFAULT_LEEWAY,
            max_lifetime: Self::DEFAULT_MAX_LIFETIME,
        }
    }

    pub(crate) fn check(&self, claims: &RegisteredClaims, now: i64) -> Result<(), TokenError> {
        let now = now as f64;
        let leeway = self.leeway as f64;

        let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
        if !exp.is_finite() || exp + leeway < now {
            return Err(TokenError::ExpiredSignature);
        }
        if exp > now + self.max_lifetime as f64 + leeway {
            return Err(TokenError::ExpiryTooFar);
        }
        if let Some(nbf) = claims.nbf {
            if !nbf.is_finite() || nbf > now + leeway {
                return Err(TokenError::ImmatureSignature);
            }
        }
        if let Some(iat) = claims.iat {
            if !iat.is_finite() || iat > now + leeway {
                return Err(TokenError::IssuedInFuture);
            }
        }

        if claims.iss.as_deref() != Some(self.issuer.as_str()) {
            return Err(TokenError::InvalidIssuer(self.issuer.clone()));
        }
        if let Some(expected) = &self.audience {
            let matches = claims
                .aud
                .as_ref()
                .is_some_and(|aud| aud.contains(expected));
            if !matches {
                return Err(TokenError::InvalidAudience(expected.clone()));
            }
        }

        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn validation() -> Validation {
        Validation::new("edge-sessions")
    }

    fn check(claims: serde_json::Value, validation: &Validation) -> Result<(), TokenError> {
        let registered: RegisteredClaims = serde_json::from_value(claims).unwrap();
        validation.check(&registered, NOW)
    }

    #[test]
    fn time_claims_table() {
        let leeway = Validation::DEFAULT_LEEWAY as i64;
        let max = Validation::DEFAULT_MAX_LIFETIME as i64;
        let cases: &[(&str, serde_json::Value, Result<(), TokenError>)] = &[
            ("exp_in_future_ok", json!({"exp": NOW + 60}), Ok(())),
            ("exp_now_ok", json!({"exp": NOW}), Ok(())),
            (
                "exp_in_past_but_in_leeway_ok",
                json!({"exp": NOW - leeway}),
                Ok(()),
            ),
            (
                "exp_past_leeway_rejected",
                json!({"exp": NOW - leeway - 1}),
                Err(TokenError::ExpiredSignature),
            ),
            (
                "exp_fractional_in_leeway_ok",
                json!({"exp": NOW as f64 - 29.5}),
                Ok(()),
            ),
            (
                "exp_missing_rejected",
                json!({}),
                Err(TokenError::MissingClaim("exp")),
            ),
            ("exp_at_max_lifetime_ok", json!({"exp": NOW + max}), Ok(())),
            (
                "exp_past_max_lifetime_in_leeway_ok",
                json!({"exp": NOW + max + leeway}),
                Ok(()),
            ),
            (
                "exp_past_max_lifetime_rejected",
                json!({"exp": NOW + max + leeway + 1}),
                Err(TokenError::ExpiryTooFar),
            ),
            (
                "exp_in_milliseconds_rejected",
                json!({"exp": (NOW + 60) * 1000}),
                Err(TokenError::ExpiryTooFar),
            ),
            (
                "nbf_in_past_ok",
                json!({"exp": NOW + 60, "nbf": NOW - 60}),
                Ok(()),
            ),
            (
                "nbf_in_future_but_in_leeway_ok",
                json!({"exp": NOW + 60, "nbf": NOW + leeway}),
                Ok(()),
            ),
            (
                "nbf_past_leeway_rejected",
                json!({"exp": NOW + 60, "nbf": NOW + leeway + 1}),
                Err(TokenError::ImmatureSignature),
            ),
            (
                "iat_in_future_but_in_leeway_ok",
                json!({"exp": NOW + 60, "iat": NOW + leeway}),
                Ok(()),
            ),
            (
                "iat_past_leeway_rejected",
                json!({"exp": NOW + 60, "iat": NOW + leeway + 1}),
                Err(TokenError::IssuedInFuture),
            ),
            (
                "iat_in_past_ok",
                json!({"exp": NOW + 60, "iat": NOW - 3600}),
                Ok(()),
            ),
        ];

        for (case, claims, expected) in cases {
            let mut claims = claims.clone();
            claims["iss"] = json!("edge-sessions");
            assert_eq!(&check(claims, &validation()), expected, "{case}");
        }
    }

    #[test]
    fn zero_leeway_rejects_one_second_late() {
        let strict = Validation {
            leeway: 0,
            ..validation()
        };
        let result = check(json!({"exp": NOW - 1, "iss": "edge-sessions"}), &strict);
        assert_eq!(result, Err(TokenError::ExpiredSignature));
    }

    #[test]
    fn issuer_table() {
        let expected = Err(TokenError::InvalidIssuer("edge-sessions".to_owned()));
        let cases = [
            (
                "matching_issuer_ok",
                json!({"exp": NOW, "iss": "edge-sessions"}),
                Ok(()),
            ),
            (
                "other_issuer_rejected",
                json!({"exp": NOW, "iss": "someone-else"}),
                expected.clone(),
            ),
            (
                "missing_issuer_rejected",
                json!({"exp": NOW}),
                expected.clone(),
            ),
            (
                "issuer_case_differs_rejected",
                json!({"exp": NOW, "iss": "Edge-Sessions"}),
                expected,
            ),
        ];
        for (case, claims, expected) in cases {
            assert_eq!(check(claims, &validation()), expected, "{case}");
        }
    }

    #[test]
    fn audience_table() {
        let with_audience = Validation {
            audience: Some("app".to_owned()),
            ..validation()
        };
        let rejected = Err(TokenError::InvalidAudience("app".to_owned()));
        let cases = [
            ("single_matching_ok", json!("app"), Ok(())),
            ("array_containing_ok", json!(["other", "app"]), Ok(())),
            ("single_other_rejected", json!("other"), rejected.clone()),
            ("array_without_rejected", json!(["other"]), rejected.clone()),
            ("missing_rejected", serde_json::Value::Null, rejected),
        ];
        for (case, aud, expected) in cases {
            let mut claims = json!({"exp": NOW, "iss": "edge-sessions"});
            if !aud.is_null() {
                claims["aud"] = aud;
            }
            assert_eq!(check(claims, &with_audience), expected, "{case}");
        }
    }

    #[test]
    fn audience_unchecked_when_not_configured() {
        let result = check(
            json!({"exp": NOW, "iss": "edge-sessions", "aud": "anything"}),
            &validation(),
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn session_ids_must_be_present_and_bounded() {
        let claims = SessionClaims {
            sub: "user".into(),
            sid: String::new(),
            iat: NOW,
            exp: NOW + 60,
            iss: "edge-sessions".into(),
            name: None,
            email: None,
        };
        assert_eq!(claims.check_ids(), Err(TokenError::MissingClaim("sid")));

        let long_sub = SessionClaims {
            sub: "u".repeat(256),
            sid: "s".into(),
            ..claims
        };
        assert!(matches!(
            long_sub.check_ids(),
            Err(TokenError::InvalidClaims(_))
        ));
    }
}
