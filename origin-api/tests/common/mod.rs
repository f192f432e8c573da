//! Helpers shared by the integration suites: a fresh database per test on SQLite or
//! PostgreSQL, a clock the test moves, signed tokens and a one-shot HTTP client.

#![allow(dead_code)] // Each suite uses a different subset of the helpers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use origin_api::{app, AppState, Clock, Config, Store};
use session_core::SessionClaims;
use sqlx::{Connection, Executor, PgConnection};
use tower::ServiceExt;

/// Secrets of the test server; each is at least 32 bytes, as the server requires.
pub const AUTH_SECRET: &str = "test-auth-secret-0123456789abcdef-current";
pub const PREVIOUS_SECRET: &str = "test-auth-secret-0123456789abcdef-previous";
pub const EDGE_SECRET: &str = "test-edge-secret-0123456789abcdef0123";
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef0123";

/// Start time of every test clock, in seconds since the epoch (2027-01-15).
pub const START: i64 = 1_800_000_000;

/// Lifetime of the tokens [`token`] signs, in seconds.
pub const TOKEN_LIFETIME: i64 = 3600;

/// Address the mock connection reports as the TCP peer.
pub const PEER_IP: &str = "127.0.0.1";

/// PostgreSQL server the suites create their databases on.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Database backend a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Stamps out each listed `async fn NAME(backend: Backend)` as a test per backend:
/// `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// A migrated, empty database that is removed when the value is dropped.
pub struct TestDb {
    pub store: Store,
    /// Declared after `store`, so the pool is dropped before the database goes.
    _cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl TestDb {
    /// Creates a fresh database on `backend` and runs the migrations.
    pub async fn new(backend: Backend) -> TestDb {
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory can be created");
                // A missing subdirectory checks that the store creates it.
                let path = dir.path().join("db").join("sessions.db");
                (format!("sqlite:{}", path.display()), Cleanup::Sqlite(dir))
            }
            Backend::Postgres => create_postgres_database().await,
        };

        let store = Store::connect(&url)
            .await
            .unwrap_or_else(|err| panic!("connecting to the test database failed: {err}"));
        store
            .migrate()
            .await
            .unwrap_or_else(|err| panic!("migrating the test database failed: {err}"));
        TestDb {
            store,
            _cleanup: cleanup,
        }
    }
}

fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

async fn create_postgres_database() -> (String, Cleanup) {
    let admin_url = postgres_admin_url();
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "PostgreSQL is unreachable at {admin_url}: {err}. Start it (for example \
             `service postgresql start`) or set TEST_POSTGRES_URL to a server where the \
             user may CREATE DATABASE."
            )
        });

    let database = format!("origin_api_test_{:016x}", rand::random::<u64>());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap_or_else(|err| panic!("CREATE DATABASE {database} failed: {err}"));
    admin.close().await.ok();

    let (server, _) = admin_url
        .rsplit_once('/')
        .expect("TEST_POSTGRES_URL has the form postgres://USER@HOST:PORT/DATABASE");
    let url = format!("{server}/{database}");
    (
        url,
        Cleanup::Postgres {
            admin_url,
            database,
        },
    )
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Cleanup::Postgres {
            admin_url,
            database,
        } = self
        else {
            return;
        };
        let (admin_url, database) = (admin_url.clone(), database.clone());

        // Drop runs inside the test's runtime, which cannot block on a future, so the
        // best-effort DROP DATABASE gets a thread and a runtime of its own.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime can be built");
            runtime.block_on(async {
                let Ok(mut admin) = PgConnection::connect(&admin_url).await else {
                    return;
                };
                let sql = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
                if let Err(err) = admin.execute(sql.as_str()).await {
                    eprintln!("dropping test database {database} failed: {err}");
                }
            });
        });
        dropper.join().ok();
    }
}

/// A clock that does not move until the test advances it.
#[derive(Debug, Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn new() -> Self {
        TestClock(Arc::new(AtomicI64::new(START)))
    }

    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }

    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub fn clock(&self) -> Clock {
        let time = Arc::clone(&self.0);
        Clock::from_fn(move || time.load(Ordering::SeqCst))
    }
}

impl Default for TestClock {
    fn default() -> Self {
        Self::new()
    }
}

/// Claims of a session of `user` with session token `sid`, issued at `now`.
pub fn claims_at(user: &str, sid: &str, now: i64) -> SessionClaims {
    SessionClaims {
        sub: user.to_owned(),
        sid: sid.to_owned(),
        iat: now,
        exp: now + TOKEN_LIFETIME,
        iss: "edge-sessions".to_owned(),
        name: None,
        email: None,
    }
}

/// Signs a session JWT of `user` with session token `sid`, issued at [`START`] under
/// [`AUTH_SECRET`].
pub fn token(user: &str, sid: &str) -> String {
    origin_api::token::sign(AUTH_SECRET.as_bytes(), &claims_at(user, sid, START))
}

/// Flags of the usual test server: every secret set, default lifetimes.
pub fn default_flags() -> Vec<String> {
    [
        "--auth-secret-previous",
        PREVIOUS_SECRET,
        "--edge-shared-secret",
        EDGE_SECRET,
        "--admin-token",
        ADMIN_TOKEN,
    ]
    .map(str::to_owned)
    .to_vec()
}

/// A router over a fresh database, with a clock the test controls.
pub struct TestApp {
    pub db: TestDb,
    pub clock: TestClock,
    router: Router,
}

/// Status, headers and JSON body (`Null` when empty) of a response.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: serde_json::Value,
}

impl TestApp {
    /// Builds a test server with [`default_flags`].
    pub async fn new(backend: Backend) -> TestApp {
        TestApp::with_flags(backend, &default_flags()).await
    }

    /// Builds a test server configured by `flags` on top of `--auth-secret`.
    pub async fn with_flags(backend: Backend, flags: &[String]) -> TestApp {
        let mut args = vec![
            "origin-api".to_owned(),
            "--auth-secret".to_owned(),
            AUTH_SECRET.to_owned(),
        ];
        args.extend_from_slice(flags);
        let config = Config::from_args(args).expect("the test flags are valid");

        let db = TestDb::new(backend).await;
        let clock = TestClock::new();
        let state = AppState::new(&config, db.store.clone(), clock.clock());
        let peer: SocketAddr = format!("{PEER_IP}:40000").parse().expect("valid address");
        let router = app(state).layer(MockConnectInfo(peer));
        TestApp { db, clock, router }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// Sends `request` through the router and reads the whole response.
    pub async fn send(&self, request: Request<Body>) -> TestResponse {
        send(self.router.clone(), request).await
    }

    /// Returns the router, for tests that send from several tasks.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// `POST /v1/sessions/ensure` with `token` and no body.
    pub async fn ensure(&self, token: &str) -> TestResponse {
        self.send(
            ensure_request(token)
                .body(Body::empty())
                .expect("valid request"),
        )
        .await
    }

    /// `GET uri` with `token`.
    pub async fn get(&self, uri: &str, token: &str) -> TestResponse {
        self.send(authorized("GET", uri, token)).await
    }

    /// `DELETE uri` with `token`.
    pub async fn delete(&self, uri: &str, token: &str) -> TestResponse {
        self.send(authorized("DELETE", uri, token)).await
    }

    /// `POST uri` with `token` and no body.
    pub async fn post(&self, uri: &str, token: &str) -> TestResponse {
        self.send(authorized("POST", uri, token)).await
    }
}

/// Sends `request` through `router` and reads the whole response.
pub async fn send(router: Router, request: Request<Body>) -> TestResponse {
    let response = router
        .oneshot(request)
        .await
        .expect("the router never fails");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body can be read")
        .to_bytes();
    let body = if bytes.is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|err| {
            panic!(
                "response body is not JSON ({err}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    TestResponse {
        status,
        headers,
        body,
    }
}

/// Starts a `POST /v1/sessions/ensure` request carrying `token`.
pub fn ensure_request(token: &str) -> axum::http::request::Builder {
    Request::post("/v1/sessions/ensure").header("authorization", format!("Bearer {token}"))
}

/// Builds an empty-bodied `method uri` request carrying `token`.
pub fn authorized(method: &str, uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("valid request")
}
