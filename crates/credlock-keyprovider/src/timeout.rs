//! [`WithTimeout`]: a provider that can hang never hangs its caller.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};
use std::{fmt, thread};

use zeroize::Zeroizing;

use crate::{KEY_LEN, KeyProvider, ProviderError, ProviderIdentity};

/// [`WithTimeout`]'s default deadline for one `apply`: 2 seconds.
///
/// A local HSM signs in about a millisecond and a network HSM in tens of milliseconds; an
/// unlock that has already spent a few hundred milliseconds in the KDF can afford 2 s more
/// before the user sees an error, and a provider that has not answered in 2 s is stuck.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(2);

/// [`WithTimeout`]'s default bound on calls waiting for the worker: 16.
pub const DEFAULT_QUEUE: usize = 16;

/// One call for the worker: the input, when its caller stops waiting, where to answer.
struct Job {
    input: Zeroizing<[u8; KEY_LEN]>,
    deadline: Instant,
    reply: SyncSender<Result<Zeroizing<[u8; KEY_LEN]>, ProviderError>>,
}

/// Runs a provider's `apply` on one long-lived worker thread, and gives up waiting after a
/// deadline ([`DEFAULT_DEADLINE`], 2 s, unless set with [`WithTimeout::with_limits`]).
///
/// - A provider that hangs never hangs the caller: past the deadline `apply` returns
///   [`ProviderError::TimedOut`].
/// - Threads do not pile up: there is exactly one worker, and at most `queue` calls wait for
///   it ([`DEFAULT_QUEUE`], 16); a call that finds the queue full gets
///   [`ProviderError::Busy`] at once. A call whose caller has already timed out is dropped by
///   the worker without calling the provider.
/// - Calls run one at a time on the worker, in order. Providers answer in microseconds (file,
///   keyring) or about a millisecond (an HSM), far less than a KDF, so one worker is not the
///   bottleneck of an unlock.
/// - If the provider panics, that call and every later one get
///   [`ProviderError::Unavailable`].
///
/// Dropping the `WithTimeout` closes the queue; the worker ends after its current call (it is
/// not joined, so a drop never blocks on a stuck provider).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use credlock_keyprovider::{KeyProvider, ProviderKey, WithTimeout, reference_apply};
/// # use credlock_keyprovider::{ProviderError, ProviderIdentity};
/// # use zeroize::Zeroizing;
/// # #[derive(Debug)] struct Mem(ProviderKey);
/// # impl KeyProvider for Mem {
/// #     fn identity(&self) -> ProviderIdentity { ProviderIdentity::new("mem", "k") }
/// #     fn apply(&self, i: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
/// #         Ok(self.0.apply(i))
/// #     }
/// # }
///
/// let inner = Mem(ProviderKey::from_bytes([9u8; 32]));
/// let p = WithTimeout::with_limits(inner, Duration::from_millis(500), 4)?;
/// assert_eq!(*p.apply(&[1u8; 32])?, *reference_apply(&[9u8; 32], &[1u8; 32]));
/// assert_eq!(p.deadline(), Duration::from_millis(500));
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub struct WithTimeout<P> {
    inner: Arc<P>,
    identity: ProviderIdentity,
    jobs: SyncSender<Job>,
    deadline: Duration,
    queue: usize,
}

impl<P: KeyProvider + 'static> WithTimeout<P> {
    /// Wraps `inner` with the default deadline ([`DEFAULT_DEADLINE`]) and queue bound
    /// ([`DEFAULT_QUEUE`]), and starts the worker thread.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Unavailable`] if the worker thread cannot be started.
    ///
    /// # Example
    ///
    /// See [`WithTimeout`].
    pub fn new(inner: P) -> Result<Self, ProviderError> {
        Self::with_limits(inner, DEFAULT_DEADLINE, DEFAULT_QUEUE)
    }

    /// Wraps `inner` with a deadline per call and a bound on waiting calls (at least 1), and
    /// starts the worker thread.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Unavailable`] if the worker thread cannot be started.
    ///
    /// # Example
    ///
    /// See [`WithTimeout`].
    pub fn with_limits(inner: P, deadline: Duration, queue: usize) -> Result<Self, ProviderError> {
        let queue = queue.max(1);
        let inner = Arc::new(inner);
        let identity = inner.identity();
        let (jobs, rx) = mpsc::sync_channel::<Job>(queue);
        let worker = Arc::clone(&inner);
        thread::Builder::new()
            .name("credlock-keyprovider".into())
            .spawn(move || {
                for job in rx {
                    if Instant::now() >= job.deadline {
                        continue; // its caller has stopped waiting
                    }
                    let out = worker.apply(&job.input);
                    // The caller may have timed out meanwhile: then nobody reads this.
                    let _ = job.reply.try_send(out);
                }
            })
            .map_err(|e| ProviderError::Unavailable {
                provider: identity.to_string(),
                reason: format!("cannot start the worker thread ({:?})", e.kind()),
            })?;
        Ok(Self {
            inner,
            identity,
            jobs,
            deadline,
            queue,
        })
    }

    /// The deadline of one call.
    ///
    /// # Example
    ///
    /// See [`WithTimeout`].
    #[must_use]
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The bound on calls waiting for the worker.
    ///
    /// # Example
    ///
    /// See [`WithTimeout`].
    #[must_use]
    pub fn queue_limit(&self) -> usize {
        self.queue
    }

    /// The wrapped provider.
    ///
    /// # Example
    ///
    /// See [`WithTimeout`].
    #[must_use]
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: KeyProvider + 'static> KeyProvider for WithTimeout<P> {
    fn identity(&self) -> ProviderIdentity {
        self.identity.clone()
    }

    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError> {
        let provider = || self.identity.to_string();
        let (reply, answer) = mpsc::sync_channel(1);
        let deadline = Instant::now() + self.deadline;
        let job = Job {
            input: Zeroizing::new(*input),
            deadline,
            reply,
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(ProviderError::Busy {
                    provider: provider(),
                    queued: self.queue,
                });
            }
            Err(TrySendError::Disconnected(_)) => return Err(worker_gone(provider())),
        }
        match answer.recv_timeout(self.deadline) {
            Ok(out) => out,
            Err(RecvTimeoutError::Timeout) => Err(ProviderError::TimedOut {
                provider: provider(),
                after: self.deadline,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(worker_gone(provider())),
        }
    }
}

fn worker_gone(provider: String) -> ProviderError {
    ProviderError::Unavailable {
        provider,
        reason: "the provider's worker thread has stopped (the provider panicked)".into(),
    }
}

impl<P: fmt::Debug> fmt::Debug for WithTimeout<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithTimeout")
            .field("inner", &self.inner)
            .field("deadline", &self.deadline)
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}
