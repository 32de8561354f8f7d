//! PUSH/PULL: pushers hand jobs to the next free puller; each job is done
//! exactly once.
//!
//! ZeroMQ's pipeline pattern (`ZMQ_PUSH` / `ZMQ_PULL`) on one bounded
//! [`mpmc`] ring. A ventilator pushes jobs, any number of workers
//! pull them, and the workers push their results into a second pipeline that
//! a sink pulls from:
//!
//! ```text
//!                 jobs: one ring                     results: another ring
//!  ventilator ──► [ j7 j6 j5 j4 ] ──► worker 1 ──┐
//!   (Pusher)       tail      head  ─► worker 2 ──┼──► [ r3 r2 r1 ] ──► sink
//!                                  ─► worker 3 ──┘                   (Puller)
//!                   each job to exactly one        pushers fan in
//!                   worker: whoever is free
//! ```
//!
//! # Load balancing without a stall
//!
//! ZeroMQ's PUSH socket deals jobs round-robin to its connected pullers: a
//! slow worker gets every n-th job and the jobs queued behind it wait. Here
//! the pullers share one ring and take the job at its head when they are
//! ready, so a free worker always takes the next job and a slow one simply
//! takes fewer (the tests check it). When the ring is full, `send` waits
//! (`try_send` says [`Full`](crate::TrySendError::Full)): the backpressure of
//! ZeroMQ's high-water mark, without ever dropping a job.
//!
//! # Why a job is delivered exactly once
//!
//! A pusher claims a ring index with a compare-exchange and a puller claims
//! it with another; each index goes to one sender and one receiver, and the
//! slot's stamp orders the write before the read (the module doc of
//! [`mpmc`] spells it out). Nothing here adds state of its own:
//! a [`Pusher`] is an `mpmc` sender and a [`Puller`] an `mpmc` receiver.
//! Jobs left in the ring when the last handle drops are dropped once.
//!
//! # Connecting, disconnecting, reconnecting
//!
//! [`channel`] and [`Builder::build`] return a connected pair; clone either
//! end for more pushers or pullers. When every pusher is gone, pullers first
//! drain the ring, then see `Disconnected`; when every puller is gone, sends
//! fail and hand the job back.
//!
//! On the bus, where a name is bound and connected in any order, a side that
//! has *never* had a handle does not count as gone: a pusher that comes first
//! buffers up to the capacity and then waits (like ZeroMQ's high-water
//! mark), a puller that comes first waits. A side whose handles have all
//! dropped may connect again later; the pipeline then works as before.
//!
//! # Example: ventilator, two workers, sink
//!
//! ```
//! use std::thread;
//! use ringbus::pipeline;
//!
//! let (jobs, work) = pipeline::channel::<u64>(64);
//! let (results, sink) = pipeline::channel::<u64>(64);
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let (work, results) = (work.clone(), results.clone());
//!         thread::spawn(move || {
//!             for job in work {
//!                 results.send(job * job).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//! drop((work, results)); // the workers hold their own clones
//!
//! thread::spawn(move || (1..=100).for_each(|j| jobs.send(j).unwrap()));
//! // The sink ends when every worker has finished and dropped its pusher.
//! let total: u64 = sink.iter().sum();
//! workers.into_iter().for_each(|w| w.join().unwrap());
//! assert_eq!(total, (1..=100).map(|j| j * j).sum());
//! ```

use std::fmt;
use std::time::Duration;

use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::mpmc;
use crate::stats::Stats;
// The endpoint is shared through std's `Arc` even under loom: the bus keeps a
// `Weak<dyn Any + Send + Sync>` of it, which loom's `Arc` cannot give. The
// ring inside holds loom's `Arc`, so the models still see every handle's drop.
use crate::wait::Wait;
use std::sync::Arc;

mod iter;
mod task;
pub use iter::{IntoIter, Iter, TryIter};

/// Creates a pipeline of at least `capacity` jobs with the default [`Wait`]
/// strategy, and returns its two ends (both `Clone`).
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of the ring
/// overflows.
///
/// ```
/// let (push, pull) = ringbus::pipeline::channel::<&str>(8);
/// push.send("job").unwrap();
/// assert_eq!(pull.recv(), Ok("job"));
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Pusher<T>, Puller<T>) {
    Builder::new(capacity).build()
}

/// Sets a pipeline's options, then builds it.
///
/// ```
/// use ringbus::{pipeline, Wait};
///
/// let (push, pull) = pipeline::Builder::new(100).wait(Wait::Park).build::<u32>();
/// assert_eq!(push.capacity(), 128);
/// # drop(pull);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    capacity: usize,
    wait: Wait,
}

impl Builder {
    /// Starts a pipeline of at least `capacity` jobs (checked by
    /// [`build`](Builder::build)).
    ///
    /// ```
    /// let (push, _pull) = ringbus::pipeline::Builder::new(3).build::<u8>();
    /// assert_eq!(push.capacity(), 4);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Builder {
            capacity,
            wait: Wait::default(),
        }
    }

    /// How pushers and pullers wait when they block (default:
    /// [`Wait::Backoff`]).
    ///
    /// ```
    /// use ringbus::{pipeline, Wait};
    ///
    /// let (push, pull) = pipeline::Builder::new(4).wait(Wait::Yield).build();
    /// push.send(1u8).unwrap();
    /// assert_eq!(pull.recv(), Ok(1));
    /// ```
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Allocates the ring and returns its two ends.
    ///
    /// # Panics
    ///
    /// If the capacity is 0, if rounding it up to a power of two or the byte
    /// size of the ring overflows, or if the allocator refuses the ring's
    /// memory (where an infallible allocation would abort the process).
    ///
    /// ```should_panic
    /// let _ = ringbus::pipeline::Builder::new(0).build::<u8>(); // capacity must be > 0
    /// ```
    #[track_caller]
    pub fn build<T>(self) -> (Pusher<T>, Puller<T>) {
        let endpoint = Endpoint::new(self.capacity, self.wait);
        (endpoint.pusher(), endpoint.puller())
    }
}

/// A pipeline's shared state, as the bus keeps it: the ring, and the means
/// to mint either end on demand. Every handle holds an `Arc` of it, so a
/// registry's `Weak` dies with the last handle.
pub(crate) struct Endpoint<T> {
    /// The jobs, and the seeds that keep a never-connected side from looking
    /// gone.
    anchor: mpmc::Anchor<T>,
}

// The bus (not built under loom) mints handles through these.
#[cfg_attr(ringbus_loom, allow(dead_code))]
impl<T> Endpoint<T> {
    /// A pipeline of at least `capacity` jobs with no end connected yet.
    ///
    /// # Panics
    ///
    /// As [`Builder::build`].
    #[track_caller]
    pub(crate) fn new(capacity: usize, wait: Wait) -> Arc<Self> {
        Arc::new(Endpoint {
            anchor: mpmc::Anchor::new(capacity, wait),
        })
    }

    /// [`new`](Self::new), or why `capacity` cannot make its ring (for the
    /// bus, which must not panic).
    pub(crate) fn try_new(
        capacity: usize,
        wait: Wait,
    ) -> Result<Arc<Self>, crate::capacity::CapacityError> {
        Ok(Arc::new(Endpoint {
            anchor: mpmc::Anchor::try_new(capacity, wait)?,
        }))
    }

    /// A new pusher; connects (or reconnects) the pushing side.
    pub(crate) fn pusher(self: &Arc<Self>) -> Pusher<T> {
        Pusher {
            tx: self.anchor.sender(),
            _endpoint: self.clone(),
        }
    }

    /// The ring's counters (for the bus's endpoint stats).
    pub(crate) fn stats(&self) -> Stats {
        self.anchor.stats()
    }

    /// A new puller; connects (or reconnects) the pulling side.
    pub(crate) fn puller(self: &Arc<Self>) -> Puller<T> {
        Puller {
            rx: self.anchor.receiver(),
            _endpoint: self.clone(),
        }
    }
}

/// The pushing end of a [`pipeline`](self): hands jobs to the pullers.
/// Clone it for more pushers.
///
/// `Send` and `Sync` when `T: Send`.
///
/// ```
/// let (push, pull) = ringbus::pipeline::channel(4);
/// let other = push.clone();
/// push.send(1).unwrap();
/// other.send(2).unwrap();
/// assert_eq!(pull.try_iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Pusher<T> {
    tx: mpmc::Sender<T>,
    /// Keeps the endpoint (and a bus registry's `Weak` of it) alive.
    _endpoint: Arc<Endpoint<T>>,
}

/// The pulling end of a [`pipeline`](self): takes the next job. Clone it for
/// more workers; each job goes to exactly one of them.
///
/// `Send` and `Sync` when `T: Send`.
///
/// ```
/// let (push, pull) = ringbus::pipeline::channel(4);
/// let worker = pull.clone();
/// push.send("a").unwrap();
/// push.send("b").unwrap();
/// assert_eq!(worker.recv(), Ok("a"));
/// assert_eq!(pull.recv(), Ok("b"));
/// ```
pub struct Puller<T> {
    rx: mpmc::Receiver<T>,
    /// Keeps the endpoint (and a bus registry's `Weak` of it) alive.
    _endpoint: Arc<Endpoint<T>>,
}

impl<T> Pusher<T> {
    /// Pushes `job` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the ring is full,
    /// [`TrySendError::Disconnected`] if every puller is gone; either way the
    /// job comes back.
    ///
    /// ```
    /// use ringbus::TrySendError;
    ///
    /// let (push, pull) = ringbus::pipeline::channel(1);
    /// assert_eq!(push.try_send(1), Ok(()));
    /// assert_eq!(push.try_send(2), Err(TrySendError::Full(2)));
    /// drop(pull);
    /// assert_eq!(push.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    #[inline]
    pub fn try_send(&self, job: T) -> Result<(), TrySendError<T>> {
        self.tx.try_send(job)
    }

    /// Pushes `job`, waiting while the ring is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the job if every puller is gone.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(1);
    /// let worker = std::thread::spawn(move || pull.iter().sum::<u32>());
    /// for job in 1..=10 {
    ///     push.send(job).unwrap(); // waits while the worker is behind
    /// }
    /// drop(push);
    /// assert_eq!(worker.join().unwrap(), 55);
    /// ```
    #[inline]
    pub fn send(&self, job: T) -> Result<(), SendError<T>> {
        self.tx.send(job)
    }

    /// Pushes `job`, waiting at most `timeout` while the ring is full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if the ring stayed full,
    /// [`SendTimeoutError::Disconnected`] if every puller is gone; either way
    /// the job comes back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::SendTimeoutError;
    ///
    /// let (push, _pull) = ringbus::pipeline::channel(1);
    /// push.send(1).unwrap();
    /// let err = push.send_timeout(2, Duration::from_millis(1));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, job: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.tx.send_timeout(job, timeout)
    }

    /// The number of jobs the ring holds at most, a power of two.
    ///
    /// ```
    /// let (push, _pull) = ringbus::pipeline::channel::<u8>(100);
    /// assert_eq!(push.capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        self.tx.capacity()
    }

    /// The number of jobs waiting for a puller. A snapshot: other handles may
    /// change it at any time.
    ///
    /// ```
    /// let (push, _pull) = ringbus::pipeline::channel(4);
    /// push.send(1).unwrap();
    /// assert_eq!(push.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// Whether no job is waiting.
    ///
    /// ```
    /// let (push, _pull) = ringbus::pipeline::channel::<u8>(4);
    /// assert!(push.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// Whether the ring is full, so that `send` would wait.
    ///
    /// ```
    /// let (push, _pull) = ringbus::pipeline::channel(1);
    /// push.send(1).unwrap();
    /// assert!(push.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.tx.is_full()
    }

    /// Whether every puller is gone, so that every push fails.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel::<u8>(1);
    /// drop(pull);
    /// assert!(push.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.tx.is_disconnected()
    }

    /// A snapshot of the pipeline's counters, shared by every pusher and
    /// puller (see [`Stats`]): `sent` jobs pushed, `received` jobs pulled,
    /// `full_waits` pushes that waited for room. No lock, nothing added to
    /// the send path.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(4);
    /// push.send("job").unwrap();
    /// assert_eq!(push.stats().depth, 1);
    /// pull.recv().unwrap();
    /// let stats = push.stats();
    /// assert_eq!((stats.sent, stats.received, stats.depth), (1, 1, 0));
    /// ```
    pub fn stats(&self) -> Stats {
        self.tx.stats()
    }
}

impl<T> Clone for Pusher<T> {
    /// Another pusher into the same pipeline.
    fn clone(&self) -> Self {
        Pusher {
            tx: self.tx.clone(),
            _endpoint: self._endpoint.clone(),
        }
    }
}

impl<T> fmt::Debug for Pusher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pusher")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl<T> Puller<T> {
    /// Takes the next job if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no job waits and a pusher is alive (or none
    /// ever connected), [`TryRecvError::Disconnected`] if no job waits and
    /// every pusher is gone.
    ///
    /// ```
    /// use ringbus::TryRecvError;
    ///
    /// let (push, pull) = ringbus::pipeline::channel(2);
    /// assert_eq!(pull.try_recv(), Err(TryRecvError::Empty));
    /// push.send(1).unwrap();
    /// drop(push);
    /// assert_eq!(pull.try_recv(), Ok(1));
    /// assert_eq!(pull.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.rx.try_recv()
    }

    /// Takes the next job, waiting while there is none.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once no job waits and every pusher is gone.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(1);
    /// std::thread::spawn(move || push.send("job").unwrap());
    /// assert_eq!(pull.recv(), Ok("job"));
    /// assert_eq!(pull.recv(), Err(ringbus::RecvError));
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<T, RecvError> {
        self.rx.recv()
    }

    /// Takes the next job, waiting at most `timeout` while there is none.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if no job came in time,
    /// [`RecvTimeoutError::Disconnected`] once no job waits and every pusher
    /// is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::RecvTimeoutError;
    ///
    /// let (push, pull) = ringbus::pipeline::channel::<u8>(1);
    /// let timeout = Duration::from_millis(1);
    /// assert_eq!(pull.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// drop(push);
    /// assert_eq!(pull.recv_timeout(timeout), Err(RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// An iterator over the jobs already waiting: it never waits, and ends
    /// at the first `Empty` or `Disconnected`.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(4);
    /// push.send(1).unwrap();
    /// push.send(2).unwrap();
    /// assert_eq!(pull.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { puller: self }
    }

    /// An iterator that waits for each job and ends when no job waits and
    /// every pusher is gone.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(4);
    /// std::thread::spawn(move || (0..10).for_each(|j| push.send(j).unwrap()));
    /// assert_eq!(pull.iter().count(), 10);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { puller: self }
    }

    /// The number of jobs the ring holds at most, a power of two.
    ///
    /// ```
    /// let (_push, pull) = ringbus::pipeline::channel::<u8>(5);
    /// assert_eq!(pull.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.rx.capacity()
    }

    /// The number of jobs waiting. A snapshot: other handles may change it
    /// at any time.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(4);
    /// push.send(()).unwrap();
    /// assert_eq!(pull.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no job is waiting.
    ///
    /// ```
    /// let (_push, pull) = ringbus::pipeline::channel::<u8>(4);
    /// assert!(pull.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Whether the ring is full.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(1);
    /// push.send(1).unwrap();
    /// assert!(pull.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.rx.is_full()
    }

    /// Whether every pusher is gone. Jobs they pushed may still wait.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(1);
    /// push.send(1).unwrap();
    /// drop(push);
    /// assert!(pull.is_disconnected());
    /// assert_eq!(pull.recv(), Ok(1));
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.rx.is_disconnected()
    }

    /// A snapshot of the pipeline's counters, shared by every pusher and
    /// puller (see [`Stats`]). No lock, nothing added to the receive path.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(4);
    /// let worker = pull.clone();
    /// push.send(1).unwrap();
    /// push.send(2).unwrap();
    /// worker.recv().unwrap();
    /// pull.recv().unwrap();
    /// assert_eq!(worker.stats().received, 2); // both workers' jobs
    /// ```
    pub fn stats(&self) -> Stats {
        self.rx.stats()
    }
}

impl<T> Clone for Puller<T> {
    /// Another worker on the same pipeline; each job goes to one of them.
    fn clone(&self) -> Self {
        Puller {
            rx: self.rx.clone(),
            _endpoint: self._endpoint.clone(),
        }
    }
}

impl<T> fmt::Debug for Puller<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Puller")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(ringbus_loom)))]
mod tests;
