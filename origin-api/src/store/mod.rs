//! Session records and where they are kept: the [`SessionStore`] trait and its SQLite
//! and PostgreSQL backends, chosen by the scheme of `DATABASE_URL`.
//!
//! Both backends run the same SQL, because SQLite also accepts `$N` placeholders
//! and `INSERT ... ON CONFLICT DO NOTHING`. Times are seconds since the epoch.

/// Implements [`SessionStore`] for a store with a `pool` field. Both backends run the
/// same SQL through sqlx and differ only in the pool type. sqlx has no object-safe
/// executor over both, so the impl is stamped out once per pool type.
macro_rules! impl_session_store {
    ($store:ident) => {
        impl SessionStore for $store {
            async fn ensure(&self, new: &NewSession) -> Result<(bool, SessionRecord), StoreError> {
                let mut created = None;
                for _ in 0..PUBLIC_ID_ATTEMPTS {
                    let result = sqlx::query(sql::INSERT)
                        .bind(new_public_id())
                        .bind(&new.user_id)
                        .bind(&new.token_hash)
                        .bind(&new.ip)
                        .bind(&new.user_agent)
                        .bind(new.created_at)
                        .bind(new.expires_at)
                        .bind(new.token_expires_at)
                        .execute(&self.pool)
                        .await;
                    match result {
                        Ok(done) => {
                            created = Some(done.rows_affected() == 1);
                            break;
                        }
                        Err(err) if is_unique_violation(&err) => continue,
                        Err(err) => return Err(err.into()),
                    }
                }
                let created = created.ok_or(StoreError::IdCollision)?;

                let record = self
                    .find_by_token_hash(&new.token_hash)
                    .await?
                    .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
                Ok((created, record))
            }

            async fn find_by_token_hash(
                &self,
                token_hash: &str,
            ) -> Result<Option<SessionRecord>, StoreError> {
                let row: Option<RecordRow> = sqlx::query_as(&sql::select_by_token_hash())
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(SessionRecord::from))
            }

            async fn touch(
                &self,
                token_hash: &str,
                now: i64,
                new_expires_at: i64,
                update_age: i64,
            ) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::TOUCH)
                    .bind(token_hash)
                    .bind(now)
                    .bind(new_expires_at)
                    .bind(update_age)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_live(
                &self,
                user_id: &str,
                now: i64,
            ) -> Result<Vec<SessionRecord>, StoreError> {
                let rows: Vec<RecordRow> = sqlx::query_as(&sql::select_live_for_user())
                    .bind(user_id)
                    .bind(now)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(SessionRecord::from).collect())
            }

            async fn revoke(&self, user_id: &str, id: &str, now: i64) -> Result<bool, StoreError> {
                let done = sqlx::query(sql::REVOKE)
                    .bind(user_id)
                    .bind(id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn revoke_others(
                &self,
                user_id: &str,
                keep_token_hash: &str,
                now: i64,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::REVOKE_OTHERS)
                    .bind(user_id)
                    .bind(keep_token_hash)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn revoke_all_for_user(
                &self,
                user_id: &str,
                now: i64,
            ) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::REVOKE_ALL)
                    .bind(user_id)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn delete_expired(&self, cutoff: i64) -> Result<u64, StoreError> {
                let done = sqlx::query(sql::DELETE_EXPIRED)
                    .bind(cutoff)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

mod postgres;
mod sqlite;

use std::future::Future;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use session_core::wire::SessionView;

use crate::config::{ConfigError, DatabaseKind};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// Random bytes in a public session id; 16 bytes give 22 base64url characters.
const PUBLIC_ID_BYTES: usize = 16;

/// Attempts at drawing an unused public id before giving up. With 128 random bits
/// a second attempt is already astronomically rare.
const PUBLIC_ID_ATTEMPTS: usize = 3;

/// A session to record, as built from a verified JWT and the request.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Owner: the JWT's `sub`.
    pub user_id: String,
    /// Hex SHA-256 of the JWT's `sid`.
    pub token_hash: String,
    /// Client IP address, when known.
    pub ip: Option<String>,
    /// Client user agent, already truncated.
    pub user_agent: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Time after which the session is no longer live.
    pub expires_at: i64,
    /// The JWT's `exp`; the record is kept at least this long.
    pub token_expires_at: i64,
}

/// One stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// Public random id, unrelated to the token.
    pub id: String,
    /// Owner of the session.
    pub user_id: String,
    /// Hex SHA-256 of the session token.
    pub token_hash: String,
    /// Client IP address at creation.
    pub ip: Option<String>,
    /// Client user agent at creation.
    pub user_agent: Option<String>,
    /// Creation time.
    pub created_at: i64,
    /// Time of the last sliding-expiry extension, or of creation.
    pub last_seen_at: i64,
    /// Time after which the session is no longer live.
    pub expires_at: i64,
    /// The `exp` of the JWT that created the record.
    pub token_expires_at: i64,
    /// Revocation time, when revoked.
    pub revoked_at: Option<i64>,
}

/// Columns of `sessions` in the order [`SessionRecord::from`] reads them.
type RecordRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
    Option<i64>,
);

impl From<RecordRow> for SessionRecord {
    fn from(row: RecordRow) -> Self {
        let (
            id,
            user_id,
            token_hash,
            ip,
            user_agent,
            created_at,
            last_seen_at,
            expires_at,
            token_expires_at,
            revoked_at,
        ) = row;
        SessionRecord {
            id,
            user_id,
            token_hash,
            ip,
            user_agent,
            created_at,
            last_seen_at,
            expires_at,
            token_expires_at,
            revoked_at,
        }
    }
}

impl SessionRecord {
    /// Checks that the session is neither revoked nor expired at `now`.
    pub fn is_live(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }

    /// Builds the public view of the record. `current` marks the caller's own session.
    pub fn view(&self, current: bool) -> SessionView {
        SessionView {
            id: self.id.clone(),
            user_id: self.user_id.clone(),
            ip: self.ip.clone(),
            user_agent: self.user_agent.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.expires_at,
            current,
        }
    }
}

/// Failure of a store operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or returned an error.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    /// The embedded migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),

    /// The database server could not be reached when the origin started.
    #[error("could not connect to the database `{url}`: {source}; check that the server is running and that DATABASE_URL is right")]
    Connect { url: String, source: sqlx::Error },

    /// Every drawn public id was already taken.
    #[error("could not draw an unused public session id in {PUBLIC_ID_ATTEMPTS} attempts")]
    IdCollision,

    /// The database URL could not be used.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The directory of the SQLite file could not be created.
    #[error("could not create the directory `{path}` for the SQLite database: {source}")]
    CreateDirectory {
        path: String,
        source: std::io::Error,
    },
}

/// Storage of session records. Methods take `now` from the caller, so a single
/// clock governs the whole server and tests can move it.
pub trait SessionStore {
    /// Creates the record for `new.token_hash` unless one exists, then returns
    /// `(created, record)`. Concurrent calls for one token create exactly one row.
    fn ensure(
        &self,
        new: &NewSession,
    ) -> impl Future<Output = Result<(bool, SessionRecord), StoreError>> + Send;

    /// Finds the record of a token hash, live or not.
    fn find_by_token_hash(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<SessionRecord>, StoreError>> + Send;

    /// Extends a live session to `new_expires_at` and sets `last_seen_at` to `now`,
    /// but only when `last_seen_at` is at least `update_age` seconds old. Returns
    /// whether it extended.
    fn touch(
        &self,
        token_hash: &str,
        now: i64,
        new_expires_at: i64,
        update_age: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Live sessions of `user_id`, newest first (`created_at`, then `id`, descending).
    fn list_live(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Vec<SessionRecord>, StoreError>> + Send;

    /// Revokes session `id` if `user_id` owns it. Returns false when no such session
    /// belongs to the user; an already revoked one counts as found and keeps its
    /// first revocation time.
    fn revoke(
        &self,
        user_id: &str,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes every live session of `user_id` except the one of `keep_token_hash`.
    /// Returns how many it revoked.
    fn revoke_others(
        &self,
        user_id: &str,
        keep_token_hash: &str,
        now: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Revokes every live session of `user_id`. Returns how many it revoked.
    fn revoke_all_for_user(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes the records whose `expires_at` and token expiry are both before
    /// `cutoff`. Revoked records whose token could still verify are kept, so the
    /// token can never create its session again. Returns how many it deleted.
    fn delete_expired(&self, cutoff: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Runs one round trip to the database.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The store selected by `DATABASE_URL`.
#[derive(Debug, Clone)]
pub enum Store {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl Store {
    /// Connects to `database_url` (`sqlite:PATH` or `postgres://...`).
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        let store = match DatabaseKind::of(database_url)? {
            DatabaseKind::Sqlite => SqliteStore::connect(database_url).await.map(Store::Sqlite),
            DatabaseKind::Postgres => PostgresStore::connect(database_url)
                .await
                .map(Store::Postgres),
        };
        store.map_err(|err| match err {
            StoreError::Database(source) => StoreError::Connect {
                url: crate::config::redact_password(database_url),
                source,
            },
            other => other,
        })
    }

    /// Applies the embedded migrations of the backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(store) => store.migrate().await,
            Store::Postgres(store) => store.migrate().await,
        }
    }

    /// Closes the connection pool, waiting for connections in use.
    pub async fn close(&self) {
        match self {
            Store::Sqlite(store) => store.close().await,
            Store::Postgres(store) => store.close().await,
        }
    }
}

/// Forwards every trait method to the backend the enum holds.
macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Sqlite($store) => $call.await,
            Store::Postgres($store) => $call.await,
        }
    };
}

impl SessionStore for Store {
    async fn ensure(&self, new: &NewSession) -> Result<(bool, SessionRecord), StoreError> {
        dispatch!(self, store => store.ensure(new))
    }

    async fn find_by_token_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        dispatch!(self, store => store.find_by_token_hash(token_hash))
    }

    async fn touch(
        &self,
        token_hash: &str,
        now: i64,
        new_expires_at: i64,
        update_age: i64,
    ) -> Result<bool, StoreError> {
        dispatch!(self, store => store.touch(token_hash, now, new_expires_at, update_age))
    }

    async fn list_live(&self, user_id: &str, now: i64) -> Result<Vec<SessionRecord>, StoreError> {
        dispatch!(self, store => store.list_live(user_id, now))
    }

    async fn revoke(&self, user_id: &str, id: &str, now: i64) -> Result<bool, StoreError> {
        dispatch!(self, store => store.revoke(user_id, id, now))
    }

    async fn revoke_others(
        &self,
        user_id: &str,
        keep_token_hash: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        dispatch!(self, store => store.revoke_others(user_id, keep_token_hash, now))
    }

    async fn revoke_all_for_user(&self, user_id: &str, now: i64) -> Result<u64, StoreError> {
        dispatch!(self, store => store.revoke_all_for_user(user_id, now))
    }

    async fn delete_expired(&self, cutoff: i64) -> Result<u64, StoreError> {
        dispatch!(self, store => store.delete_expired(cutoff))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        dispatch!(self, store => store.ping())
    }
}

/// Draws a public session id: 16 random bytes as 22 base64url characters.
fn new_public_id() -> String {
    let bytes: [u8; PUBLIC_ID_BYTES] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks whether `err` is a unique-constraint violation, which for the insert of
/// [`sql::INSERT`] can only come from the public id, because a token hash
/// conflict is absorbed by `ON CONFLICT DO NOTHING`.
fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// SQL shared by both backends.
mod sql {
    pub const COLUMNS: &str = "id, user_id, token_hash, ip, user_agent, created_at, \
         last_seen_at, expires_at, token_expires_at, revoked_at";

    pub const INSERT: &str = "INSERT INTO sessions \
         (id, user_id, token_hash, ip, user_agent, created_at, last_seen_at, expires_at, token_expires_at, created_seq) \
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, (SELECT COALESCE(MAX(created_seq), 0) + 1 FROM sessions)) \
         ON CONFLICT (token_hash) DO NOTHING";

    pub fn select_by_token_hash() -> String {
        format!("SELECT {COLUMNS} FROM sessions WHERE token_hash = $1")
    }

    pub fn select_live_for_user() -> String {
        format!(
            "SELECT {COLUMNS} FROM sessions \
             WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
             ORDER BY created_at DESC, created_seq DESC, id DESC"
        )
    }

    pub const TOUCH: &str = "UPDATE sessions SET last_seen_at = $2, expires_at = $3 \
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 \
         AND last_seen_at <= $2 - $4";

    pub const REVOKE: &str = "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $3) \
         WHERE user_id = $1 AND id = $2";

    pub const REVOKE_OTHERS: &str = "UPDATE sessions SET revoked_at = $3 \
         WHERE user_id = $1 AND token_hash <> $2 AND revoked_at IS NULL AND expires_at > $3";

    pub const REVOKE_ALL: &str = "UPDATE sessions SET revoked_at = $2 \
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2";

    pub const DELETE_EXPIRED: &str =
        "DELETE FROM sessions WHERE expires_at < $1 AND token_expires_at < $1";
}
