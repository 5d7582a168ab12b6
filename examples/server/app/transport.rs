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
//!   connection takes the place of the one that has gone longest without sending a byte
//!   among those answering no request (silent, trickling headers, or idle between
//!   requests), which is closed; only when every open connection is being answered does the
//!   accept loop wait for one to end. So silent clients cannot hold every slot, and a fresh
//!   connection whose request head is on its way is not the one closed while an older one
//!   sits silent: a client that sends its request at once is served at once, however many
//!   of them there are, and the server never runs out of file descriptors (the cap is kept
//!   below the process's limit, see [`Limits::fit`]). "Longest" is by a logical clock that
//!   ticks at each connection's arrival and at each read that brings bytes, so the choice
//!   depends on the order of events, not on timing.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
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

/// One open connection: how many of its requests are being answered, when it last sent a
/// byte (on the [`Connections`]' logical clock), and the signal that closes it.
#[derive(Debug, Default)]
struct Slot {
    busy: AtomicUsize,
    last_heard: AtomicU64,
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
    /// The logical clock: one tick per arrival and per read that brought bytes.
    clock: AtomicU64,
    /// Signalled when a connection ends.
    freed: Notify,
}

impl Connections {
    fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            table: Mutex::default(),
            clock: AtomicU64::new(0),
            freed: Notify::new(),
        }
    }

    /// `slot`'s connection sent bytes now.
    fn heard(&self, slot: &Slot) {
        let now = self.clock.fetch_add(1, Ordering::SeqCst);
        slot.last_heard.store(now, Ordering::SeqCst);
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection (its arrival counts as hearing from it). At the cap, the
    /// connection answering no request that has gone longest without sending a byte is
    /// closed to make room; `None` if every open connection is answering one.
    fn admit(&self) -> Option<(u64, Arc<Slot>)> {
        let mut table = self.table();
        if table.open.len() >= self.max {
            let silent_longest = table
                .open
                .iter()
                .filter(|(_, slot)| slot.busy.load(Ordering::SeqCst) == 0)
                .min_by_key(|(_, slot)| slot.last_heard.load(Ordering::SeqCst))
                .map(|(id, _)| *id)?;
            if let Some(slot) = table.open.remove(&silent_longest) {
                slot.shed.notify_one();
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let slot = Arc::new(Slot::default());
        self.heard(&slot);
        table.open.insert(id, Arc::clone(&slot));
        Some((id, slot))
    }

    /// Connection `id` ended.
    fn close(&self, id: u64) {
        self.table().open.remove(&id);
        self.freed.notify_one();
    }
}

/// A connection's stream that tells the [`Connections`] whenever bytes arrive on it.
#[derive(Debug)]
struct Heard<S> {
    stream: S,
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Heard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.connections.heard(&this.slot);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Heard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
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
    let connections = Arc::new(Connections::new(limits.max_connections));
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
        let stream = Heard {
            stream,
            slot: Arc::clone(&slot),
            connections: Arc::clone(&connections),
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
    stream: Heard<TcpStream>,
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::{Busy, Connections, Heard};

    fn is_open(connections: &Connections, id: u64) -> bool {
        connections.table().open.contains_key(&id)
    }

    #[test]
    fn at_the_cap_the_connection_silent_the_longest_gives_way() {
        let connections = Connections::new(3);
        let (old, old_slot) = connections.admit().unwrap();
        let (silent, _) = connections.admit().unwrap();
        let (fresh, _) = connections.admit().unwrap();
        // The oldest connection sends bytes; the second has said nothing since it arrived.
        connections.heard(&old_slot);
        let (newest, _) = connections.admit().unwrap();
        assert!(
            !is_open(&connections, silent),
            "the longest silent one is closed"
        );
        for id in [old, fresh, newest] {
            assert!(is_open(&connections, id));
        }
        // Next: the fresh connection (arrived before the old one last spoke), then the
        // newest; never the one that spoke last.
        let _ = connections.admit().unwrap();
        assert!(!is_open(&connections, fresh));
        assert!(is_open(&connections, old) && is_open(&connections, newest));
    }

    #[test]
    fn a_connection_being_answered_is_never_closed_and_a_full_table_of_them_admits_none() {
        let connections = Connections::new(2);
        let (first, first_slot) = connections.admit().unwrap();
        let (second, second_slot) = connections.admit().unwrap();
        let busy = Busy::enter(&first_slot);
        let (third, _) = connections.admit().unwrap();
        assert!(
            is_open(&connections, first),
            "busy, though silent the longest"
        );
        assert!(!is_open(&connections, second));
        let _second_busy = Busy::enter(&second_slot);
        let third_slot = connections.table().open[&third].clone();
        let _third_busy = Busy::enter(&third_slot);
        assert!(
            connections.admit().is_none(),
            "every open connection is answering"
        );
        drop(busy);
        assert!(connections.admit().is_some());
        assert!(!is_open(&connections, first));
    }

    #[tokio::test]
    async fn bytes_read_from_a_stream_count_as_hearing_from_it_and_an_end_does_not() {
        let connections = Arc::new(Connections::new(2));
        let (_, slot) = connections.admit().unwrap();
        let (_, other) = connections.admit().unwrap();
        let (mut client, server) = tokio::io::duplex(64);
        let mut heard = Heard {
            stream: server,
            slot: Arc::clone(&slot),
            connections: Arc::clone(&connections),
        };
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let mut buf = [0_u8; 64];
        assert!(heard.read(&mut buf).await.unwrap() > 0);
        let (last, other_last) = (
            slot.last_heard.load(std::sync::atomic::Ordering::SeqCst),
            other.last_heard.load(std::sync::atomic::Ordering::SeqCst),
        );
        assert!(last > other_last, "heard after the other arrived");
        drop(client);
        assert_eq!(heard.read(&mut buf).await.unwrap(), 0);
        assert_eq!(
            slot.last_heard.load(std::sync::atomic::Ordering::SeqCst),
            last,
            "the end of the stream is no byte"
        );
        // So at the cap the other connection, silent since it arrived, gives way.
        let _ = connections.admit().unwrap();
        assert_eq!(connections.table().open.len(), 2);
        assert!(
            connections
                .table()
                .open
                .values()
                .any(|s| Arc::ptr_eq(s, &slot))
        );
    }
}
