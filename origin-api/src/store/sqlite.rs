//! SQLite backend: one database file in WAL mode, so readers never wait for the writer.

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

impl SessionStore for SqliteStore {
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

    async fn list_live(&self, user_id: &str, now: i64) -> Result<Vec<SessionRecord>, StoreError> {
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

    async fn revoke_all_for_user(&self, user_id: &str, now: i64) -> Result<u64, StoreError> {
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
