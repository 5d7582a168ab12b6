//! Connections: how to make one (with the app's TLS connector), a small pool, and errors.
//!
//! The `postgres` client is blocking: it drives a small tokio runtime of its own, and its
//! `block_on` panics on a thread that already runs inside a tokio runtime ("Cannot start a
//! runtime from within a runtime"), even in its `Drop`. So everything that touches a client
//! here (connecting, a query, closing) goes through [`off_runtime`], which runs it on a
//! short-lived thread of its own when the caller is inside a runtime, and in place otherwise:
//! a store called from async code blocks its caller, as every blocking call does, but never
//! panics.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};

use credlock_store::Error;
use postgres::config::Host;
use postgres::{Client, Config};

/// Makes a new connection with a configuration (the TLS connector captured).
pub(crate) type Connect = dyn Fn(&Config) -> Result<Client, postgres::Error> + Send + Sync;

/// Idle connections kept for reuse.
const POOL_MAX: usize = 8;

/// One database: how to connect, and idle connections.
pub(crate) struct Pool {
    connect: Box<Connect>,
    config: Config,
    /// `postgres://user@host:port/dbname`, never a password: what errors name.
    pub(crate) name: PathBuf,
    idle: Mutex<Vec<Client>>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Pool {
    pub(crate) fn new(config: &Config, connect: Box<Connect>) -> Self {
        Self {
            connect,
            config: config.clone(),
            name: describe(config),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection, or a new one.
    pub(crate) fn take(&self) -> Result<Client, Error> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(c) if !c.is_closed() => Ok(c),
            _ => (self.connect)(&self.config).map_err(|e| self.error("connecting", e)),
        }
    }

    /// A new connection of its own, outside the pool, whose `application_name` is the
    /// configuration's (`credlock` if it has none) followed by ` ` and `suffix`: an operator
    /// (or a test) tells it apart in `pg_stat_activity`.
    pub(crate) fn connect_apart(&self, suffix: &str) -> Result<Client, Error> {
        let mut config = self.config.clone();
        let name = format!(
            "{} {suffix}",
            self.config.get_application_name().unwrap_or("credlock")
        );
        config.application_name(&name);
        (self.connect)(&config).map_err(|e| self.error("connecting", e))
    }

    /// Returns a connection for reuse (a closed one is dropped).
    pub(crate) fn put(&self, client: Client) {
        if client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL_MAX {
            idle.push(client);
        }
    }

    /// Runs `f` on a pooled connection (off any tokio runtime, see the module docs).
    pub(crate) fn with<T: Send>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, Error> {
        off_runtime(|| {
            let mut client = self.take()?;
            let result = f(&mut client).map_err(|e| self.error(op, e));
            self.put(client);
            result
        })
    }

    /// The store's error for a failure of the driver: [`Error::Unavailable`] when the server
    /// could not be reached or ended the connection (worth trying again), [`Error::Database`]
    /// otherwise.
    pub(crate) fn error(&self, op: &'static str, e: postgres::Error) -> Error {
        let (path, backend, source) = (self.name.clone(), "postgres", Box::new(e));
        if unavailable(&source) {
            Error::Unavailable {
                path,
                backend,
                op,
                source,
            }
        } else {
            Error::Database {
                path,
                backend,
                op,
                source,
            }
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing a client runs its runtime: not on a thread inside another one.
        let idle = std::mem::take(self.idle.get_mut().unwrap_or_else(PoisonError::into_inner));
        off_runtime(move || drop(idle));
    }
}

/// Whether `e` says the server is away rather than that the operation is wrong: the
/// connection is closed; the server said so (SQLSTATE class 08, connection exception;
/// 57P01 to 57P03, shutting down or not accepting connections yet; 53300, too many
/// connections); the socket failed (refused, reset, no such socket, unreachable); or the
/// connection timed out.
fn unavailable(e: &postgres::Error) -> bool {
    use std::io::ErrorKind as K;
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let code = code.code();
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<std::io::Error>());
    match io {
        Some(io) => matches!(
            io.kind(),
            K::ConnectionRefused
                | K::ConnectionReset
                | K::ConnectionAborted
                | K::NotConnected
                | K::BrokenPipe
                | K::UnexpectedEof
                | K::TimedOut
                | K::NotFound
                | K::AddrNotAvailable
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::NetworkDown
        ),
        // The driver's own connect timeout carries no cause.
        None => e.to_string() == "timeout waiting for server",
    }
}

/// Runs `f` where the blocking `postgres` client may run its own runtime: on a thread of its
/// own when the caller is inside a tokio runtime (a worker, a `block_on`, a blocking-pool
/// thread), in place otherwise. A panic in `f` is resumed in the caller.
pub(crate) fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(value) => value,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

/// `postgres://user@host:port/dbname` (a socket directory for a Unix socket), without the
/// password.
fn describe(config: &Config) -> PathBuf {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => String::from("localhost"),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    PathBuf::from(format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    ))
}
