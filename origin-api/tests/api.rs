//! The HTTP API through `app()`, run against SQLite and PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{
    claims_at, default_flags, ensure_request, send, token, Backend, TestApp, TestResponse,
    ADMIN_TOKEN, AUTH_SECRET, EDGE_SECRET, PEER_IP, PREVIOUS_SECRET, START, TOKEN_LIFETIME,
};
use origin_api::store::SessionStore;
use origin_api::token::{sign, sign_with_header, token_hash};
use serde_json::json;
use session_core::wire::MAX_USER_AGENT_CHARS;
use session_core::{Algorithm, Header};

/// Asserts the JSON error shape: status, `error` code and a non-empty `message`.
fn assert_error(response: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!(response.status, status, "status of {:?}", response.body);
    assert_eq!(
        response.body["error"], code,
        "error code of {:?}",
        response.body
    );
    assert!(
        response.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message of {:?}",
        response.body
    );
}

/// Builds a JSON `POST /v1/sessions/ensure` with `token`, `body` and extra headers.
fn ensure_with_body(
    token: &str,
    body: serde_json::Value,
    headers: &[(&str, &str)],
) -> Request<Body> {
    let mut builder = ensure_request(token).header("content-type", "application/json");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Body::from(body.to_string()))
        .expect("valid request")
}

backend_tests!(
    ensure_creates_then_finds,
    ensure_concurrent_requests_create_one_row,
    ensure_caps_expiry_at_session_max_age,
    ensure_accepts_empty_body_without_content_type,
    ensure_rejects_malformed_json,
    ensure_rejects_unknown_body_field,
    ensure_rejects_wrong_content_type,
    ensure_rejects_oversized_body,
    ensure_rejects_invalid_body_ip,
    ensure_records_peer_and_user_agent_without_edge_secret,
    ensure_trusts_body_with_edge_secret,
    ensure_ignores_body_with_wrong_edge_secret,
    ensure_ignores_forwarded_for,
    ensure_truncates_long_user_agent_on_char_boundary,
    ensure_stores_non_utf8_user_agent_lossily,
    ensure_after_revoke_is_rejected,
    ensure_after_expiry_is_rejected,
    ensure_of_token_recorded_for_other_user_conflicts,
    missing_token_is_rejected,
    malformed_authorization_is_rejected,
    wrongly_signed_token_is_rejected,
    expired_token_is_rejected,
    alg_none_token_is_rejected,
    rs256_token_is_rejected,
    unknown_kid_is_rejected,
    previous_secret_token_is_accepted,
    wrong_issuer_is_rejected,
    current_returns_live_session,
    current_without_record_is_rejected,
    current_after_sign_out_is_rejected,
    touch_extends_after_update_age,
    touch_of_revoked_session_is_rejected,
    list_is_newest_first_with_current_marked,
    revoke_one_revokes_own_session,
    revoke_one_twice_is_idempotent,
    revoke_unknown_id_is_not_found,
    revoke_other_users_session_is_not_found,
    revoke_others_keeps_current,
    revoke_without_scope_is_rejected,
    revoke_with_wrong_scope_is_rejected,
    admin_without_token_is_rejected,
    admin_with_wrong_token_is_rejected,
    admin_with_right_token_revokes_all,
    admin_routes_are_off_without_admin_token,
    unknown_route_is_json_404,
    wrong_method_is_json_405,
    healthz_is_ok,
    readyz_is_ok,
    readyz_is_unavailable_when_database_closed,
    revoke_with_non_utf8_id_is_bad_request,
    revoke_with_undecodable_scope_is_rejected,
    ensure_edge_secret_ignored_when_not_configured,
    sign_out_of_unknown_session_is_rejected,
);

async fn ensure_creates_then_finds(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-1");

    let first = app.ensure(&token).await;
    let second = app.ensure(&token).await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(first.body["created"], true);
    assert_eq!(first.body["session"]["user_id"], "alice");
    assert_eq!(first.body["session"]["current"], true);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body["created"], false);
    assert_eq!(second.body["session"]["id"], first.body["session"]["id"]);
}

async fn ensure_concurrent_requests_create_one_row(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-concurrent");

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let router = app.router();
        let request = ensure_request(&token)
            .body(Body::empty())
            .expect("valid request");
        tasks.push(tokio::spawn(send(router, request)));
    }
    let mut created = 0;
    let mut found = 0;
    for task in tasks {
        let response = task.await.expect("task did not panic");
        match response.status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => found += 1,
            other => panic!("unexpected status {other}: {:?}", response.body),
        }
    }

    assert_eq!(created, 1, "exactly one request created the session");
    assert_eq!(found, 99, "every other request found it");
    let live = app.store().list_live("alice", START).await.expect("list");
    assert_eq!(live.len(), 1, "exactly one row exists");
}

async fn ensure_caps_expiry_at_session_max_age(backend: Backend) {
    let mut flags = default_flags();
    flags.extend(["--session-max-age".to_owned(), "600".to_owned()]);
    let app = TestApp::with_flags(backend, &flags).await;

    let response = app.ensure(&token("alice", "sid-1")).await;

    assert_eq!(response.body["session"]["expires_at"], START + 600);
}

async fn ensure_accepts_empty_body_without_content_type(backend: Backend) {
    let app = TestApp::new(backend).await;

    let response = app.ensure(&token("alice", "sid-1")).await;

    assert_eq!(response.status, StatusCode::CREATED);
}

async fn ensure_rejects_malformed_json(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_request(&token("alice", "sid-1"))
        .header("content-type", "application/json")
        .body(Body::from("{\"ip\": "))
        .expect("valid request");

    let response = app.send(request).await;

    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_json");
}

async fn ensure_rejects_unknown_body_field(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"ipaddress": "192.0.2.1"}),
        &[],
    );

    let response = app.send(request).await;

    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_json");
}

async fn ensure_rejects_wrong_content_type(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_request(&token("alice", "sid-1"))
        .header("content-type", "text/plain")
        .body(Body::from("{}"))
        .expect("valid request");

    let response = app.send(request).await;

    assert_error(
        &response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

async fn ensure_rejects_oversized_body(backend: Backend) {
    let app = TestApp::new(backend).await;
    let huge = "a".repeat(origin_api::http::BODY_LIMIT_BYTES + 1);
    let request = ensure_with_body(&token("alice", "sid-1"), json!({"user_agent": huge}), &[]);

    let response = app.send(request).await;

    assert_error(
        &response,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

async fn ensure_rejects_invalid_body_ip(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"ip": "not-an-ip"}),
        &[("x-edge-secret", EDGE_SECRET)],
    );

    let response = app.send(request).await;

    assert_error(&response, StatusCode::UNPROCESSABLE_ENTITY, "invalid_ip");
    let message = response.body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not-an-ip"),
        "message names the value: {message}"
    );
}

async fn ensure_records_peer_and_user_agent_without_edge_secret(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"ip": "203.0.113.9", "user_agent": "claimed-agent"}),
        &[("user-agent", "real-agent/1.0")],
    );

    let response = app.send(request).await;

    assert_eq!(response.body["session"]["ip"], PEER_IP);
    assert_eq!(response.body["session"]["user_agent"], "real-agent/1.0");
}

async fn ensure_trusts_body_with_edge_secret(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"ip": "2001:db8::1", "user_agent": "browser/2.0"}),
        &[("x-edge-secret", EDGE_SECRET), ("user-agent", "worker")],
    );

    let response = app.send(request).await;

    assert_eq!(response.body["session"]["ip"], "2001:db8::1");
    assert_eq!(response.body["session"]["user_agent"], "browser/2.0");
}

async fn ensure_ignores_body_with_wrong_edge_secret(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"ip": "203.0.113.9", "user_agent": "claimed-agent"}),
        &[
            ("x-edge-secret", "wrong-secret-wrong-secret-wrong-secret"),
            ("user-agent", "real"),
        ],
    );

    let response = app.send(request).await;

    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(response.body["session"]["ip"], PEER_IP);
    assert_eq!(response.body["session"]["user_agent"], "real");
}

async fn ensure_ignores_forwarded_for(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = ensure_request(&token("alice", "sid-1"))
        .header("x-forwarded-for", "198.51.100.7")
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_eq!(response.body["session"]["ip"], PEER_IP);
}

async fn ensure_truncates_long_user_agent_on_char_boundary(backend: Backend) {
    let app = TestApp::new(backend).await;
    let long_agent = "ü日".repeat(MAX_USER_AGENT_CHARS);
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"user_agent": long_agent}),
        &[("x-edge-secret", EDGE_SECRET)],
    );

    let response = app.send(request).await;

    let stored = response.body["session"]["user_agent"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(stored.chars().count(), MAX_USER_AGENT_CHARS);
    assert!(
        long_agent.starts_with(stored),
        "the stored agent is a prefix"
    );
}

async fn ensure_stores_non_utf8_user_agent_lossily(backend: Backend) {
    let app = TestApp::new(backend).await;
    let agent =
        axum::http::HeaderValue::from_bytes(b"agent \xff\xfe/1").expect("obs-text is allowed");
    let request = ensure_request(&token("alice", "sid-1"))
        .header("user-agent", agent)
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_eq!(response.status, StatusCode::CREATED);
    assert_eq!(
        response.body["session"]["user_agent"],
        "agent \u{fffd}\u{fffd}/1"
    );
}

async fn ensure_after_revoke_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-1");
    app.ensure(&token).await;
    app.delete("/v1/sessions/current", &token).await;
    let before = app
        .store()
        .find_by_token_hash(&token_hash("sid-1"))
        .await
        .expect("find");

    let response = app.ensure(&token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    let after = app
        .store()
        .find_by_token_hash(&token_hash("sid-1"))
        .await
        .expect("find");
    assert_eq!(after, before, "the row is unchanged");
}

async fn ensure_after_expiry_is_rejected(backend: Backend) {
    let mut flags = default_flags();
    flags.extend(["--session-max-age".to_owned(), "600".to_owned()]);
    let app = TestApp::with_flags(backend, &flags).await;
    let token = token("alice", "sid-1");
    app.ensure(&token).await;
    // The record expires after 600 s while the JWT still verifies for an hour.
    app.clock.advance(601);

    let response = app.ensure(&token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn ensure_of_token_recorded_for_other_user_conflicts(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.ensure(&token("alice", "shared-sid")).await;

    let response = app.ensure(&token("bob", "shared-sid")).await;

    assert_error(&response, StatusCode::CONFLICT, "session_conflict");
}

async fn missing_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = Request::get("/v1/sessions/current")
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "missing_token");
    assert_eq!(response.headers["www-authenticate"], "Bearer");
}

async fn malformed_authorization_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let cases = [
        "Basic YWxpY2U6c2VjcmV0",
        "Bearer",
        "Bearer not-a-jwt",
        "Bearer a.b.c",
    ];

    for value in cases {
        let request = Request::post("/v1/sessions/ensure")
            .header("authorization", value)
            .body(Body::empty())
            .expect("valid request");
        let response = app.send(request).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED, "{value}");
        assert_eq!(response.body["error"], "invalid_token", "{value}");
    }
}

async fn wrongly_signed_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let claims = claims_at("alice", "sid-1", START);
    // Same kid as the real key, so the signature check is what fails.
    let header = Header::jwt(
        Algorithm::HS256,
        Some(origin_api::token::kid_for(AUTH_SECRET.as_bytes())),
    );
    let forged = sign_with_header(
        b"another-secret-another-secret-0123456789",
        &header,
        &claims,
    );

    let response = app.ensure(&forged).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    let challenge = response.headers["www-authenticate"]
        .to_str()
        .unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(challenge.contains("signature is invalid"), "{challenge}");
}

async fn expired_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-1");
    app.clock.advance(TOKEN_LIFETIME + 31);

    let response = app.ensure(&token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    assert_eq!(
        response.body["message"],
        "the token has expired; sign in again"
    );
}

async fn alg_none_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let claims = serde_json::to_vec(&claims_at("alice", "sid-1", START)).expect("claims serialize");
    let unsigned = format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims));

    let response = app.ensure(&unsigned).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn rs256_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let header = Header {
        alg: "RS256".to_owned(),
        typ: Some("JWT".to_owned()),
        kid: None,
    };
    let token = sign_with_header(
        AUTH_SECRET.as_bytes(),
        &header,
        &claims_at("alice", "sid-1", START),
    );

    let response = app.ensure(&token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn unknown_kid_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let header = Header::jwt(Algorithm::HS256, Some("unknown-kid".to_owned()));
    let token = sign_with_header(
        AUTH_SECRET.as_bytes(),
        &header,
        &claims_at("alice", "sid-1", START),
    );

    let response = app.ensure(&token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
    let message = response.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("unknown key"), "{message}");
}

async fn previous_secret_token_is_accepted(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = sign(
        PREVIOUS_SECRET.as_bytes(),
        &claims_at("alice", "sid-1", START),
    );

    let response = app.ensure(&token).await;

    assert_eq!(response.status, StatusCode::CREATED);
}

async fn wrong_issuer_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let mut claims = claims_at("alice", "sid-1", START);
    claims.iss = "someone-else".to_owned();
    let token = sign(AUTH_SECRET.as_bytes(), &claims);

    let response = app.ensure(&token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn current_returns_live_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-1");
    let ensured = app.ensure(&token).await;

    let response = app.get("/v1/sessions/current", &token).await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["id"], ensured.body["session"]["id"]);
    assert_eq!(response.body["current"], true);
}

async fn current_without_record_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;

    let response = app
        .get("/v1/sessions/current", &token("alice", "sid-1"))
        .await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn current_after_sign_out_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-1");
    app.ensure(&token).await;

    let sign_out = app.delete("/v1/sessions/current", &token).await;
    let response = app.get("/v1/sessions/current", &token).await;

    assert_eq!(sign_out.status, StatusCode::NO_CONTENT);
    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn touch_extends_after_update_age(backend: Backend) {
    let mut flags = default_flags();
    flags.extend(["--session-max-age", "1000", "--session-update-age", "100"].map(str::to_owned));
    let app = TestApp::with_flags(backend, &flags).await;
    let token = token("alice", "sid-1");
    app.ensure(&token).await;

    app.clock.advance(99);
    let early = app.post("/v1/sessions/current/touch", &token).await;
    app.clock.advance(1);
    let on_time = app.post("/v1/sessions/current/touch", &token).await;

    assert_eq!(early.status, StatusCode::OK);
    assert_eq!(early.body["extended"], false);
    assert_eq!(early.body["session"]["expires_at"], START + 1000);
    assert_eq!(on_time.body["extended"], true);
    assert_eq!(on_time.body["session"]["last_seen_at"], START + 100);
    assert_eq!(on_time.body["session"]["expires_at"], START + 1100);
}

async fn touch_of_revoked_session_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = token("alice", "sid-1");
    app.ensure(&token).await;
    app.delete("/v1/sessions/current", &token).await;

    let response = app.post("/v1/sessions/current/touch", &token).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn list_is_newest_first_with_current_marked(backend: Backend) {
    let app = TestApp::new(backend).await;
    let older = token("alice", "sid-1");
    app.ensure(&older).await;
    app.clock.advance(10);
    let newer = common::token("alice", "sid-2");
    app.ensure(&newer).await;
    app.ensure(&common::token("bob", "sid-3")).await;

    let response = app.get("/v1/sessions", &older).await;

    let sessions = response.body["sessions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(sessions.len(), 2, "only alice's sessions: {sessions:?}");
    assert_eq!(sessions[0]["created_at"], START + 10, "newest first");
    assert_eq!(sessions[0]["current"], false);
    assert_eq!(
        sessions[1]["current"], true,
        "the caller's session is marked"
    );
}

async fn revoke_one_revokes_own_session(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    let other = token("alice", "sid-2");
    app.ensure(&caller).await;
    let other_id = app.ensure(&other).await.body["session"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let response = app
        .delete(&format!("/v1/sessions/{other_id}"), &caller)
        .await;

    assert_eq!(response.status, StatusCode::NO_CONTENT);
    let after = app.get("/v1/sessions/current", &other).await;
    assert_error(&after, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn revoke_one_twice_is_idempotent(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;
    let other_id = app.ensure(&token("alice", "sid-2")).await.body["session"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let uri = format!("/v1/sessions/{other_id}");

    app.delete(&uri, &caller).await;
    let again = app.delete(&uri, &caller).await;

    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

async fn revoke_unknown_id_is_not_found(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;

    let response = app.delete("/v1/sessions/no-such-session", &caller).await;

    assert_error(&response, StatusCode::NOT_FOUND, "session_not_found");
}

async fn revoke_other_users_session_is_not_found(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = token("alice", "sid-1");
    let bob = token("bob", "sid-2");
    app.ensure(&alice).await;
    let bob_id = app.ensure(&bob).await.body["session"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let response = app.delete(&format!("/v1/sessions/{bob_id}"), &alice).await;

    assert_error(&response, StatusCode::NOT_FOUND, "session_not_found");
    let bob_session = app.get("/v1/sessions/current", &bob).await;
    assert_eq!(
        bob_session.status,
        StatusCode::OK,
        "bob's session stays live"
    );
}

async fn revoke_others_keeps_current(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;
    app.ensure(&token("alice", "sid-2")).await;
    app.ensure(&token("alice", "sid-3")).await;

    let response = app.delete("/v1/sessions?scope=others", &caller).await;
    let list = app.get("/v1/sessions", &caller).await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["revoked"], 2);
    assert_eq!(list.body["sessions"].as_array().map(Vec::len), Some(1));
}

async fn revoke_without_scope_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;

    let response = app.delete("/v1/sessions", &caller).await;

    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let message = response.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("scope=others"), "{message}");
}

async fn revoke_with_wrong_scope_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;

    let response = app.delete("/v1/sessions?scope=all", &caller).await;

    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
    let message = response.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("`all`"), "names the value: {message}");
    assert!(message.contains("scope=others"), "names the fix: {message}");
}

async fn admin_without_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = Request::delete("/v1/users/alice/sessions")
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "missing_token");
}

async fn admin_with_wrong_token_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;

    let response = app
        .delete(
            "/v1/users/alice/sessions",
            "wrong-admin-token-wrong-admin-token",
        )
        .await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn admin_with_right_token_revokes_all(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alice = token("alice", "sid-1");
    app.ensure(&alice).await;
    app.ensure(&token("alice", "sid-2")).await;

    let response = app.delete("/v1/users/alice/sessions", ADMIN_TOKEN).await;
    let after = app.get("/v1/sessions/current", &alice).await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body["revoked"], 2);
    assert_error(&after, StatusCode::UNAUTHORIZED, "invalid_token");
}

async fn admin_routes_are_off_without_admin_token(backend: Backend) {
    let app = TestApp::with_flags(backend, &[]).await;

    let response = app.delete("/v1/users/alice/sessions", ADMIN_TOKEN).await;

    assert_error(&response, StatusCode::NOT_FOUND, "not_found");
}

async fn unknown_route_is_json_404(backend: Backend) {
    let app = TestApp::new(backend).await;

    let response = app.get("/v1/nothing-here", "irrelevant").await;

    assert_error(&response, StatusCode::NOT_FOUND, "not_found");
}

async fn wrong_method_is_json_405(backend: Backend) {
    let app = TestApp::new(backend).await;

    let response = app.get("/v1/sessions/ensure", "irrelevant").await;

    assert_error(
        &response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}

async fn healthz_is_ok(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = Request::get("/healthz")
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.body, json!({"status": "ok"}));
}

async fn readyz_is_ok(backend: Backend) {
    let app = TestApp::new(backend).await;
    let request = Request::get("/readyz")
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_eq!(response.status, StatusCode::OK);
}

async fn readyz_is_unavailable_when_database_closed(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.store().close().await;
    let request = Request::get("/readyz")
        .body(Body::empty())
        .expect("valid request");

    let response = app.send(request).await;

    assert_error(
        &response,
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
    );
    assert_eq!(
        response.body["message"],
        "the database is unavailable; try again later"
    );
}

async fn revoke_with_non_utf8_id_is_bad_request(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;

    let response = app.delete("/v1/sessions/%FF", &caller).await;

    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_path");
}

async fn revoke_with_undecodable_scope_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;
    let caller = token("alice", "sid-1");
    app.ensure(&caller).await;

    let response = app.delete("/v1/sessions?scope=%FF", &caller).await;

    assert_error(&response, StatusCode::BAD_REQUEST, "invalid_scope");
}

async fn ensure_edge_secret_ignored_when_not_configured(backend: Backend) {
    let app = TestApp::with_flags(backend, &[]).await;
    let request = ensure_with_body(
        &token("alice", "sid-1"),
        json!({"ip": "203.0.113.9"}),
        &[("x-edge-secret", EDGE_SECRET)],
    );

    let response = app.send(request).await;

    assert_eq!(response.body["session"]["ip"], PEER_IP);
}

async fn sign_out_of_unknown_session_is_rejected(backend: Backend) {
    let app = TestApp::new(backend).await;

    let response = app
        .delete("/v1/sessions/current", &token("alice", "sid-1"))
        .await;

    assert_error(&response, StatusCode::UNAUTHORIZED, "invalid_token");
}
