//! Announcements between replicas ([`Store::announce`](credlock_store::Store::announce),
//! [`StoreSet::watch`](credlock_store::StoreSet::watch)) over PostgreSQL's `LISTEN`/`NOTIFY`.
//!
//! **Sending.** An announcement is one statement, so one transaction: it inserts a row into
//! `credlock_events` (a number from a sequence, the key, the event, the sending set's
//! origin) and calls `pg_notify('credlock_events', '<seq> <origin> <event> <key>')`, which
//! PostgreSQL delivers to every listening connection when that transaction commits.
//! `announce` only queues it (once per key and event waiting) and wakes the set's sender
//! thread, which sends the queue in order; so a lock, which announces, never waits for the
//! database. One the database does not take (it is away) stays first in the queue and is
//! tried again with a backoff (50 ms doubling to 2 s) until it goes through: delayed, not
//! lost, while the process lives (and for 30 s after the set is dropped).
//!
//! **Hearing.** A watch runs one thread with one connection of its own (outside the pool,
//! named `<application_name> listener` in `pg_stat_activity`) that `LISTEN`s and waits for
//! notifications, a poll at a time; each one from another origin is parsed and handed to the
//! listener. A connection lost (the server restarted, the backend was terminated, a query
//! on it failed) is made again with a backoff (50 ms doubling to 2 s). Once it listens again,
//! the thread reads the rows numbered from a little before the highest it had seen (the
//! slack covers an announcement whose transaction took its number earlier but committed
//! later) and hands over those it had not: every announcement committed while it was cut
//! off, exactly once, before any new one. It says [`Notice::Missed`] when it cannot know:
//! it was cut off for longer than rows are kept (an hour; pruned by the listeners), or it
//! never listened before; and, without waiting to be back, once it has been cut off for
//! [`DEAF_GRACE`] (10 s), so that a key held here outlives a lock it did not hear by no more
//! than that even when the listener cannot get back.
//!
//! The thread runs no tokio runtime of its callers (it is a plain thread), and every use of
//! a client goes through [`off_runtime`] all the same.

use std::collections::{BTreeSet, VecDeque};
use std::hash::{BuildHasher as _, Hasher as _};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use credlock_store::{Error, Listener, Notice, StoreEvent, StoreKey, Watch};
use postgres::Client;
use postgres::fallible_iterator::FallibleIterator as _;

use crate::pool::{Pool, off_runtime};

/// The channel every announcement is sent on.
const CHANNEL: &str = "credlock_events";

/// One announcement: the row and the notification, in one statement (one transaction).
const SEND: &str = "WITH e AS (
         INSERT INTO credlock_events (key, event, origin) VALUES ($1, $2, $3) RETURNING seq
     )
     SELECT pg_notify('credlock_events', e.seq::text || ' ' || $3::text || ' ' || $2::text || ' ' || $1::text)
     FROM e";

/// How long the listener thread waits for a notification before it looks at its other
/// duties (stop, heartbeat).
const POLL: Duration = Duration::from_millis(200);
/// How often an idle listening connection is checked with a query (a half-open TCP
/// connection shows no error until something is sent).
const HEARTBEAT: Duration = Duration::from_secs(5);
/// The first wait before connecting (or sending) again; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Rows older than this are pruned; a listener cut off for more than half of it cannot
/// know what it missed.
const RETENTION_SECS: u64 = 3600;
/// How often a listener prunes old rows.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How far below the highest number seen a catch-up reads again.
const SLACK: i64 = 256;
/// How many numbers of rows handed over (or sent from here) are remembered, so that a
/// catch-up hands none over twice.
const SEEN_MAX: usize = 4096;
/// How long a listener may stay cut off before it says [`Notice::Missed`] without waiting to
/// be back: a key held elsewhere outlives a lock it did not hear by no more than this.
const DEAF_GRACE: Duration = Duration::from_secs(10);
/// How long the sender of a set that is gone goes on trying to send what is left.
const ORPHAN_TRIES: Duration = Duration::from_secs(30);
/// How long [`watch`] waits for the first connection before returning (the thread goes on
/// trying either way).
const FIRST_WAIT: Duration = Duration::from_secs(10);

/// The sending side of a set (shared by its clones and the stores they hand out): the
/// set's origin, and the announcements not sent yet, which one thread of the set's sends
/// in order.
#[derive(Debug)]
pub(crate) struct Announcer {
    origin: String,
    queue: Mutex<Queue>,
    /// Wakes the sender: something to send.
    wake: Condvar,
}

/// The announcements not sent yet, and whether the sender thread runs.
#[derive(Debug, Default)]
struct Queue {
    pending: VecDeque<(String, StoreEvent)>,
    sender: bool,
}

impl Announcer {
    pub(crate) fn new() -> Self {
        Self {
            origin: new_origin(),
            queue: Mutex::new(Queue::default()),
            wake: Condvar::new(),
        }
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `event` for `key` (once: the same event for the same key already waiting is
    /// not queued twice) and wakes the sender, starting it if it does not run. Never waits
    /// for the database; sends in place only if no thread can be started.
    pub(crate) fn announce(
        self: &Arc<Self>,
        pool: &Arc<Pool>,
        key: &str,
        event: StoreEvent,
    ) -> Result<(), Error> {
        let mut queue = self.queue();
        if !queue.pending.iter().any(|(k, e)| k == key && *e == event) {
            queue.pending.push_back((key.to_owned(), event));
        }
        if queue.sender {
            self.wake.notify_one();
            return Ok(());
        }
        let (me, thread_pool) = (Arc::clone(self), Arc::clone(pool));
        let started = std::thread::Builder::new()
            .name(String::from("credlock-pg-announcer"))
            .spawn(move || off_runtime(|| me.send_all(&thread_pool)));
        if started.is_ok() {
            queue.sender = true;
            return Ok(());
        }
        // No thread: send what waits here and now.
        while let Some((key, event)) = queue.pending.front() {
            send(pool, &self.origin, key, *event)?;
            queue.pending.pop_front();
        }
        Ok(())
    }

    /// The sender thread: sends the queue in order, waiting [`MIN_BACKOFF`] (doubling to
    /// [`MAX_BACKOFF`]) after a failure before it tries the same one again. Ends once the
    /// set is gone (this thread holds the last reference) and the queue is empty, or has
    /// failed for [`ORPHAN_TRIES`] since.
    fn send_all(self: &Arc<Self>, pool: &Pool) {
        let mut backoff = MIN_BACKOFF;
        let mut orphaned: Option<Instant> = None;
        let mut queue = self.queue();
        loop {
            let orphan = Arc::strong_count(self) == 1;
            if orphan && orphaned.get_or_insert_with(Instant::now).elapsed() > ORPHAN_TRIES {
                queue.sender = false;
                return;
            }
            let Some((key, event)) = queue.pending.pop_front() else {
                if orphan {
                    queue.sender = false;
                    return;
                }
                queue = self
                    .wake
                    .wait_timeout(queue, Duration::from_secs(1))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
                continue;
            };
            drop(queue);
            let sent = send(pool, &self.origin, &key, event);
            if sent.is_err() {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            } else {
                backoff = MIN_BACKOFF;
            }
            queue = self.queue();
            let again = queue.pending.front() == Some(&(key.clone(), event));
            if sent.is_err() && !again {
                // First again: the order holds (the same one queued meanwhile stands for it).
                queue.pending.push_front((key, event));
            }
        }
    }
}

/// One announcement: its row and its notification, in one statement.
fn send(pool: &Pool, origin: &str, key: &str, event: StoreEvent) -> Result<(), Error> {
    pool.with("announcing an event", |c| {
        c.execute(SEND, &[&key, &event.as_str(), &origin])
            .map(|_| ())
    })
}

/// An origin no other set shares: the process, the time, a counter and the standard
/// library's per-process random hash keys.
fn new_origin() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::hash::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}{:08x}", h.finish(), std::process::id())
}

/// The handle a [`Watch`] holds: dropping it stops the thread (within [`POLL`]).
struct Stop(Arc<AtomicBool>);

impl Drop for Stop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Starts the listener thread for `listener`; returns once it listens (or its first
/// attempt failed, or [`FIRST_WAIT`] passed).
pub(crate) fn watch(
    pool: &Arc<Pool>,
    announcer: &Announcer,
    listener: Listener,
) -> Result<Watch, Error> {
    let stop = Arc::new(AtomicBool::new(false));
    let (ready, first) = mpsc::channel();
    let mut thread = Thread {
        pool: Arc::clone(pool),
        origin: announcer.origin.clone(),
        listener,
        stop: Arc::clone(&stop),
        ready: Some(ready),
        mark: None,
        seen: BTreeSet::new(),
        last_pruned: None,
    };
    std::thread::Builder::new()
        .name(String::from("credlock-pg-listener"))
        .spawn(move || off_runtime(move || thread.run()))
        .map_err(|e| Error::Database {
            path: pool.name.clone(),
            backend: "postgres",
            op: "starting the listener thread",
            source: Box::new(e),
        })?;
    let _ = first.recv_timeout(FIRST_WAIT);
    Ok(Watch::new(Stop(stop)))
}

/// The listener thread's state.
struct Thread {
    pool: Arc<Pool>,
    /// The set's origin: its own announcements are not handed over.
    origin: String,
    listener: Listener,
    stop: Arc<AtomicBool>,
    /// Told once the first attempt to listen is over.
    ready: Option<mpsc::Sender<()>>,
    /// The highest row number known here; `None` before the first time it listened.
    mark: Option<i64>,
    /// Row numbers handed over or skipped lately (the newest [`SEEN_MAX`]).
    seen: BTreeSet<i64>,
    last_pruned: Option<Instant>,
}

/// Why a listening connection ended.
enum Ended {
    Stopped,
    Lost,
}

impl Thread {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(&mut self) {
        let mut backoff = MIN_BACKOFF;
        // When this thread last knew it was listening; `None` before it ever did.
        let mut last_heard: Option<Instant> = None;
        let mut failed_first = false;
        // Whether this outage was said to be [`Notice::Missed`] already.
        let mut said_missed = false;
        while !self.stopped() {
            let listening = self.listen().and_then(|mut client| {
                self.catch_up(&mut client)
                    .map_err(|e| self.pool.error("catching up on announcements", e))?;
                Ok(client)
            });
            let ready = self.ready.take();
            let Ok(mut client) = listening else {
                failed_first |= ready.is_some();
                if let Some(ready) = ready {
                    let _ = ready.send(());
                }
                if !said_missed && last_heard.is_some_and(|at| at.elapsed() >= DEAF_GRACE) {
                    said_missed = true;
                    self.deliver(Notice::Missed);
                }
                self.sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            };
            if let Some(ready) = ready {
                let _ = ready.send(());
            }
            backoff = MIN_BACKOFF;
            // Cut off for longer than rows are kept, or deaf since the watch began: what
            // was missed cannot be known.
            let lost_track = match last_heard {
                None => failed_first,
                Some(at) => at.elapsed().as_secs() > RETENTION_SECS / 2,
            };
            if lost_track {
                self.deliver(Notice::Missed);
            }
            said_missed = false;
            if let Ended::Stopped = self.serve(&mut client, &mut last_heard) {
                return;
            }
        }
    }

    /// Sleeps `d`, waking early to stop.
    fn sleep(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.stopped() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            std::thread::sleep(left.min(POLL));
        }
    }

    /// A new connection that listens.
    fn listen(&self) -> Result<Client, Error> {
        let mut client = self.pool.connect_apart("listener")?;
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .map_err(|e| self.pool.error("listening for announcements", e))?;
        Ok(client)
    }

    /// Hands over the rows committed since this thread last heard (all of them: the
    /// connection listens already, so whatever commits from now on is notified). The first
    /// time, only notes where the rows stand: what came before the watch is not news.
    fn catch_up(&mut self, client: &mut Client) -> Result<(), postgres::Error> {
        let Some(mark) = self.mark else {
            let rows = client.query(
                "SELECT seq FROM credlock_events ORDER BY seq DESC LIMIT $1",
                &[&SLACK],
            )?;
            self.seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
            self.mark = Some(self.seen.last().copied().unwrap_or(0));
            return Ok(());
        };
        let rows = client.query(
            "SELECT seq, origin, event, key FROM credlock_events WHERE seq > $1 ORDER BY seq",
            &[&(mark - SLACK)],
        )?;
        for row in rows {
            let (seq, origin, event, key): (i64, &str, &str, &str) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            self.heard(seq, origin, event, key);
        }
        Ok(())
    }

    /// Waits for notifications on `client`, one poll at a time, until the connection is
    /// lost or the watch stops; between polls, checks the connection with a query every
    /// [`HEARTBEAT`].
    fn serve(&mut self, client: &mut Client, last_heard: &mut Option<Instant>) -> Ended {
        let mut last_query = Instant::now();
        loop {
            *last_heard = Some(Instant::now());
            if self.stopped() {
                return Ended::Stopped;
            }
            let polled = client.notifications().timeout_iter(POLL).next();
            match polled {
                Ok(Some(n)) => self.heard_payload(n.payload()),
                // A poll that timed out; or the connection ended.
                Ok(None) if !client.is_closed() => {}
                Ok(None) | Err(_) => return Ended::Lost,
            }
            if last_query.elapsed() >= HEARTBEAT {
                if client.batch_execute("SELECT 1").is_err() {
                    return Ended::Lost;
                }
                last_query = Instant::now();
                self.prune(client);
            }
        }
    }

    /// Deletes rows past their retention, every [`PRUNE_EVERY`].
    fn prune(&mut self, client: &mut Client) {
        if self
            .last_pruned
            .is_some_and(|at| at.elapsed() < PRUNE_EVERY)
        {
            return;
        }
        self.last_pruned = Some(Instant::now());
        let _ = client.batch_execute(&format!(
            "DELETE FROM credlock_events WHERE at < now() - interval '{RETENTION_SECS} seconds'"
        ));
    }

    /// A notification's payload: `<seq> <origin> <event> <key>`.
    fn heard_payload(&mut self, payload: &str) {
        let mut parts = payload.splitn(4, ' ');
        let (Some(seq), Some(origin), Some(event), Some(key)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let Ok(seq) = seq.parse() else { return };
        self.heard(seq, origin, event, key);
    }

    /// Hands over one announcement, unless it is this set's own or was handed over already.
    fn heard(&mut self, seq: i64, origin: &str, event: &str, key: &str) {
        if !self.seen.insert(seq) {
            return;
        }
        if self.seen.len() > SEEN_MAX {
            self.seen.pop_first();
        }
        self.mark = Some(self.mark.map_or(seq, |m| m.max(seq)));
        if origin == self.origin {
            return;
        }
        let key = match StoreKey::new(key) {
            Ok(k) if k.as_str() == key => k,
            // Not a key this crate wrote: nothing to act on.
            _ => return,
        };
        let notice = match StoreEvent::parse(event) {
            Some(event) => Notice::Announced { key, event },
            None => Notice::Unrecognised { key },
        };
        self.deliver(notice);
    }

    /// Calls the listener; a panic in it does not end the watch.
    fn deliver(&self, notice: Notice) {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| (self.listener)(notice)));
    }
}
