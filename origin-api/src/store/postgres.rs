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

impl_session_store!(PostgresStore);
