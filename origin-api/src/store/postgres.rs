//! PostgreSQL backend: a plain connection pool. Several origin processes may share
//! one database, because all state lives in it.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};

use super::{
    is_unique_violation, new_public_id, sql, NewSession, RecordRow, SessionRecord, SessionStore,
    StoreError, PUBLIC_ID_ATTEMPTS,
};

/// Connections in the pool of one origin process.
const MAX_CONNECTIONS: u32 = 10;

/// Time to wait for a connection before a request fails with 503, and before start-up
/// gives up on an unreachable server.
const ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Session records in a PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to the database of `url`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;

        // One direct connection first, because its error names the cause (refused,
        // unknown database, bad password) where the pool reports only a timeout.
        let probe = tokio::time::timeout(ACQUIRE_TIMEOUT, PgConnection::connect_with(&options))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
        probe.close().await?;

        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
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
