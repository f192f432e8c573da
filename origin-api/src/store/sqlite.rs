//! SQLite backend: one database file in WAL mode, in which readers and the single writer
//! do not block each other.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{
    is_unique_violation, new_public_id, sql, NewSession, RecordRow, SessionRecord, SessionStore,
    StoreError, PUBLIC_ID_ATTEMPTS,
};

/// How long a connection waits for another one's write lock before failing with
/// SQLITE_BUSY. Writes are single short statements, so this only bounds bursts.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the pool. SQLite runs one writer at a time whatever the count;
/// the extra connections serve concurrent reads.
const MAX_CONNECTIONS: u32 = 8;

/// Session records in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database file of `url`, and its directory.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; only a power
            // loss can drop the last commits.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT);

        create_parent_directory(options.get_filename())?;

        // Each connection to `sqlite::memory:` opens its own empty database, so an
        // in-memory store gets one connection that is never closed while idle.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool_options = if in_memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
        };
        let pool = pool_options.connect_with(options).await?;
        Ok(SqliteStore { pool })
    }

    /// Applies the migrations under `migrations/sqlite`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn create_parent_directory(file: &Path) -> Result<(), StoreError> {
    let Some(parent) = file.parent() else {
        return Ok(());
    };
    if parent.as_os_str().is_empty() || parent.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDirectory {
        path: parent.display().to_string(),
        source,
    })
}

impl_session_store!(SqliteStore);
