//! Connections: how long a client may take, and how many may be open at once.
//!
//! - **Header read**: hyper's HTTP/1 connection closes a connection whose request head has
//!   not fully arrived within [`Limits::header_read_timeout`] of hyper starting to wait for
//!   it. hyper starts that timer whenever it waits for a head, so the same timeout closes a
//!   silent new connection, one trickling its headers a byte at a time, and an idle
//!   keep-alive connection waiting for its next request.
//! - **Request**: tower-http's `TimeoutLayer` answers 408 to a request not answered within
//!   [`Limits::request_timeout`] of its head, and `RequestBodyTimeoutLayer` fails a body
//!   that stalls longer than [`Limits::body_timeout`] between two chunks (see
//!   [`super::router`]).
//! - **Connections**: at most [`Limits::max_connections`] are open. At the cap, a new
//!   connection takes the place of the oldest one that is answering no request (silent,
//!   trickling headers, or idle between requests), which is closed; only when every open
//!   connection is being answered does the accept loop wait for one to end. So silent and
//!   slow clients cannot hold every slot: a client that sends its request at once is served
//!   at once, however many of them there are, and the server never runs out of file
//!   descriptors (the cap is kept below the process's limit, see [`Limits::fit`]).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::http::Request;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};
use tower::Service as _;

/// How long clients may take and how many connections may be open.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// The longest wait for a request head (and between two requests on a connection).
    pub(crate) header_read_timeout: Duration,
    /// The longest time from a request's head to its answer.
    pub(crate) request_timeout: Duration,
    /// The longest pause between two chunks of a request body.
    pub(crate) body_timeout: Duration,
    /// The most connections open at once.
    pub(crate) max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            // Above a key derivation at the real cost waiting its turn on the blocking pool.
            request_timeout: Duration::from_secs(30),
            body_timeout: Duration::from_secs(10),
            max_connections: 512,
        }
    }
}

/// File descriptors kept for everything but client connections: the listener, vault files
/// and their locks, database connections, the log.
const RESERVED_FDS: u64 = 64;

impl Limits {
    /// These limits with the connection cap lowered, if need be, to fit in this process's
    /// limit on open files (less [`RESERVED_FDS`]); the cap it was lowered from, if it was.
    pub(crate) fn fit(mut self) -> (Self, Option<usize>) {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let room = soft.map_or(usize::MAX, |n| {
            usize::try_from(n.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX)
        });
        if self.max_connections > room {
            let asked = self.max_connections;
            self.max_connections = room;
            return (self, Some(asked));
        }
        (self, None)
    }
}

/// One open connection: how many of its requests are being answered, and the signal that
/// closes it.
#[derive(Debug, Default)]
struct Slot {
    busy: AtomicUsize,
    shed: Notify,
}

/// The open connections, oldest first.
#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

#[derive(Debug)]
struct Connections {
    max: usize,
    table: Mutex<Table>,
    /// Signalled when a connection ends.
    freed: Notify,
}

impl Connections {
    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection. At the cap, the oldest connection answering no request
    /// is closed to make room; `None` if every open connection is answering one.
    fn admit(&self) -> Option<(u64, Arc<Slot>)> {
        let mut table = self.table();
        if table.open.len() >= self.max {
            let oldest_idle = table
                .open
                .iter()
                .find(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
                .map(|(id, _)| *id)?;
            if let Some(slot) = table.open.remove(&oldest_idle) {
                slot.shed.notify_one();
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let slot = Arc::new(Slot::default());
        table.open.insert(id, Arc::clone(&slot));
        Some((id, slot))
    }

    /// Connection `id` ended.
    fn close(&self, id: u64) {
        self.table().open.remove(&id);
        self.freed.notify_one();
    }
}

/// Counts one request of a connection as being answered, until its response body is sent
/// (or dropped).
#[derive(Debug)]
struct Busy(Arc<Slot>);

impl Busy {
    fn enter(slot: &Arc<Slot>) -> Self {
        slot.busy.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(slot))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that keeps its request counted as being answered until it is sent.
#[derive(Debug)]
struct Tracked {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets the
/// open connections finish the requests they are answering.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let connections = Arc::new(Connections {
        max: limits.max_connections.max(1),
        table: Mutex::default(),
        freed: Notify::new(),
    });
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (stream, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (despite the cap) or a connection reset before
                    // it was accepted: try again once a connection ends, or shortly.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::select! {
                        () = connections.freed.notified() => {}
                        () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                    continue;
                }
            },
        };
        let (id, slot) = loop {
            if let Some(admitted) = connections.admit() {
                break admitted;
            }
            // Every connection is answering a request: wait for one to end.
            connections.freed.notified().await;
        };
        let connections = Arc::clone(&connections);
        let (http, router, stopping) = (http.clone(), router.clone(), stopping.clone());
        tokio::spawn(async move {
            connection(&http, stream, addr, router, &slot, stopping).await;
            connections.close(id);
        });
    }
    let _ = stop.send(true);
    while !connections.table().open.is_empty() {
        connections.freed.notified().await;
    }
    Ok(())
}

/// Serves one connection until it ends, is closed to make room, or the server stops (then
/// it finishes what it is answering).
async fn connection(
    http: &http1::Builder,
    stream: TcpStream,
    addr: SocketAddr,
    router: Router,
    slot: &Arc<Slot>,
    mut stopping: watch::Receiver<bool>,
) {
    let counted = Arc::clone(slot);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(addr));
        let busy = Busy::enter(&counted);
        // A `Router` is always ready: no `poll_ready` is needed before `call`.
        let answer = router.clone().call(request);
        async move {
            let response = answer.await?;
            Ok::<_, Infallible>(response.map(|body| Tracked { body, _busy: busy }))
        }
    });
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let mut draining = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = slot.shed.notified() => return,
            _ = stopping.changed(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
