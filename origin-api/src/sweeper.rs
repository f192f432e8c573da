//! Background deletion of expired session records.

use std::time::Duration;

use tracing::{debug, error, info};

use crate::clock::Clock;
use crate::store::{SessionStore, Store, StoreError};

/// Deletes the records that expired more than `leeway` seconds before `now`, and
/// returns how many it deleted. The leeway keeps a record while a token with the
/// same `exp` could still pass verification.
pub async fn sweep_once(store: &Store, now: i64, leeway: i64) -> Result<u64, StoreError> {
    store.delete_expired(now.saturating_sub(leeway)).await
}

/// Runs [`sweep_once`] every `interval` until the task is dropped or aborted. A
/// failed sweep is logged and retried at the next tick.
pub async fn run(store: Store, clock: Clock, interval: Duration, leeway: i64) {
    let mut ticker = tokio::time::interval(interval);
    // A sweep that falls behind (a slow database) is not worth catching up on.
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    loop {
        ticker.tick().await;
        match sweep_once(&store, clock.now(), leeway).await {
            Ok(0) => debug!("sweep deleted no expired sessions"),
            Ok(deleted) => info!(deleted, "sweep deleted expired sessions"),
            Err(err) => {
                error!(error = %err, "sweep of expired sessions failed; retrying at the next interval")
            }
        }
    }
}
