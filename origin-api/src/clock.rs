//! The time source of the server, in whole seconds since the Unix epoch.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time in seconds since the epoch.
///
/// Production uses [`Clock::system`]; tests pass a closure over a counter they control.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> i64 + Send + Sync>);

impl Clock {
    /// Creates a clock that reads the machine's wall clock.
    pub fn system() -> Self {
        Clock(Arc::new(|| {
            let elapsed = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("the system clock is set after 1970");
            i64::try_from(elapsed.as_secs()).expect("seconds since 1970 fit in an i64")
        }))
    }

    /// Creates a clock that calls `now` for the time.
    pub fn from_fn(now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        Clock(Arc::new(now))
    }

    /// Returns the current time, in seconds since the epoch.
    pub fn now(&self) -> i64 {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Clock").field(&self.now()).finish()
    }
}
