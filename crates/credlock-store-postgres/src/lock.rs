//! [`Store::lock`](credlock_store::Store::lock): a session-level advisory lock on the key,
//! held on a connection of its own until the guard is dropped (a crashed holder's
//! connection closes, which releases it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use credlock_store::{Error, StoreKind, StoreLock};
use postgres::Client;
use postgres::error::SqlState;

use crate::pool::{Pool, off_runtime};

/// Takes the advisory lock of `key`, waiting up to `timeout`.
pub(crate) fn acquire(pool: &Arc<Pool>, key: &str, timeout: Duration) -> Result<StoreLock, Error> {
    off_runtime(|| acquire_here(pool, key, timeout))
}

fn acquire_here(pool: &Arc<Pool>, key: &str, timeout: Duration) -> Result<StoreLock, Error> {
    let mut client = pool.take()?;
    let start = Instant::now();
    let millis = timeout.as_millis().clamp(1, i32::MAX as u128);
    let wait = format!("SET lock_timeout = {millis}");
    let taken = client
        .batch_execute(&wait)
        .and_then(|()| client.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&key]));
    let reset = client.batch_execute("RESET lock_timeout");
    match taken {
        Ok(_) => {}
        Err(e) if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => {
            pool.put(client);
            return Err(Error::LockTimeout {
                path: pool.name.join(key),
                waited: start.elapsed(),
            });
        }
        Err(e) => return Err(pool.error("taking an advisory lock", e)),
    }
    reset.map_err(|e| pool.error("taking an advisory lock", e))?;
    Ok(StoreLock::new(
        StoreKind::Postgres,
        Held {
            pool: Arc::clone(pool),
            client: Some(client),
            key: key.to_owned(),
        },
    ))
}

/// The held lock: released, and its connection returned, when dropped.
struct Held {
    pool: Arc<Pool>,
    client: Option<Client>,
    key: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Some(mut client) = self.client.take() else {
            return;
        };
        off_runtime(|| {
            let released = client.execute(
                "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                &[&self.key],
            );
            // A connection whose unlock failed may still hold the lock: close it (which
            // releases it) rather than reuse it.
            if released.is_ok() {
                self.pool.put(client);
            }
        });
    }
}
