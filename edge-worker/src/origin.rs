//! Calls from the Worker to the origin API, with the caller's session JWT, the edge
//! shared secret and a timeout.

use session_core::wire::{EnsureRequest, EDGE_SECRET_HEADER};
use worker::{AbortSignal, Fetch, Headers, Method, Request, RequestInit};

use crate::config::Config;
use crate::error::Error;

/// A response from the origin with a status below 500.
#[derive(Debug)]
pub struct OriginResponse {
    /// HTTP status.
    pub status: u16,
    /// Body bytes, JSON unless the status is 204.
    pub body: Vec<u8>,
}

impl OriginResponse {
    /// Parses the body as `T`; a body the Worker cannot read counts as an origin failure.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|err| {
            Error::OriginUnavailable(format!("the origin sent an unreadable body: {err}"))
        })
    }
}

/// Client for the origin API of one request.
pub struct Origin<'a> {
    config: &'a Config,
}

impl<'a> Origin<'a> {
    /// Builds a client from the Worker's configuration.
    pub fn new(config: &'a Config) -> Self {
        Origin { config }
    }

    /// `POST /v1/sessions/ensure` with the client's IP and user agent in the body.
    pub async fn ensure(&self, jwt: &str, client: &EnsureRequest) -> Result<OriginResponse, Error> {
        let body = serde_json::to_string(client).expect("two optional strings always serialize");
        self.call(Method::Post, "/v1/sessions/ensure", jwt, Some(body))
            .await
    }

    /// `GET /v1/sessions/current`.
    pub async fn current(&self, jwt: &str) -> Result<OriginResponse, Error> {
        self.call(Method::Get, "/v1/sessions/current", jwt, None)
            .await
    }

    /// `POST /v1/sessions/current/touch`: the sliding-expiry extension.
    pub async fn touch(&self, jwt: &str) -> Result<OriginResponse, Error> {
        self.call(Method::Post, "/v1/sessions/current/touch", jwt, None)
            .await
    }

    /// `DELETE /v1/sessions/current`: sign-out.
    pub async fn revoke_current(&self, jwt: &str) -> Result<OriginResponse, Error> {
        self.call(Method::Delete, "/v1/sessions/current", jwt, None)
            .await
    }

    /// `GET /v1/sessions`.
    pub async fn list(&self, jwt: &str) -> Result<OriginResponse, Error> {
        self.call(Method::Get, "/v1/sessions", jwt, None).await
    }

    /// `DELETE /v1/sessions/{id}`; `id` must already be checked to be URL-safe.
    pub async fn revoke(&self, jwt: &str, id: &str) -> Result<OriginResponse, Error> {
        self.call(Method::Delete, &format!("/v1/sessions/{id}"), jwt, None)
            .await
    }

    /// `DELETE /v1/sessions?scope=others`.
    pub async fn revoke_others(&self, jwt: &str) -> Result<OriginResponse, Error> {
        self.call(Method::Delete, "/v1/sessions?scope=others", jwt, None)
            .await
    }

    /// Sends one request. A network failure, a timeout or a 5xx becomes
    /// [`Error::OriginUnavailable`]; any other status is returned to the caller.
    async fn call(
        &self,
        method: Method,
        path: &str,
        jwt: &str,
        body: Option<String>,
    ) -> Result<OriginResponse, Error> {
        let url = format!(
            "{}{path}",
            self.config.origin_url.as_str().trim_end_matches('/')
        );

        let headers = Headers::new();
        headers.set("authorization", &format!("Bearer {jwt}"))?;
        headers.set("accept", "application/json")?;
        if body.is_some() {
            headers.set("content-type", "application/json")?;
        }
        if let Some(secret) = &self.config.edge_shared_secret {
            headers.set(EDGE_SECRET_HEADER, secret.expose_str())?;
        }

        let mut init = RequestInit::new();
        init.with_method(method)
            .with_headers(headers)
            .with_body(body.map(Into::into));
        let request = Request::new_with_init(&url, &init)?;

        let timeout_ms = self.config.origin_timeout_ms;
        let signal = AbortSignal::from(web_sys::AbortSignal::timeout_with_u32(timeout_ms));
        let mut response = match Fetch::Request(request).send_with_signal(&signal).await {
            Ok(response) => response,
            Err(_) if signal.aborted() => {
                return Err(Error::OriginUnavailable(format!(
                    "the origin did not respond within {timeout_ms} ms"
                )));
            }
            Err(err) => {
                return Err(Error::OriginUnavailable(format!(
                    "the origin could not be reached: {err}"
                )))
            }
        };

        let status = response.status_code();
        if status >= 500 {
            return Err(Error::OriginUnavailable(format!(
                "the origin responded with status {status}"
            )));
        }
        let body = response.bytes().await.map_err(|err| {
            Error::OriginUnavailable(format!("the origin's response was cut off: {err}"))
        })?;
        Ok(OriginResponse { status, body })
    }
}
