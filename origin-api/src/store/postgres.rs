//! PostgreSQL backend: a plain connection pool. Several origin processes may share
//! one database, because all state lives in it.

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::{
    is_unique_violation, new_public_id, sql, NewSession, RecordRow, SessionRecord, SessionStore,
    StoreError, PUBLIC_ID_ATTEMPTS,
};

/// Connections in the pool of one origin process.
const MAX_CONNECTIONS: u32 = 10;

/// Session records in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database of `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect(url)
            .await?;
        Ok(PostgresStore { pool })
    }

    /// Applies the migrations under `migrations/postgres`.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl SessionStore for PostgresStore {
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
