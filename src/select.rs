//! Waiting on several receivers at once, of any message types: ZeroMQ's
//! `zmq_poll`, crossbeam's `Select`.
//!
//! Add receivers to a [`Select`]; [`Select::ready`] (or
//! [`ready_timeout`](Select::ready_timeout)) returns the index of one that
//! is *ready*: a receive on it would not block, because a message waits or
//! because its senders are gone. Then receive from it with a `try_` call.
//!
//! ```
//! use std::time::Duration;
//! use ringbus::{broadcast, mpmc, select::Select, TryRecvError};
//!
//! let (orders_tx, orders) = mpmc::channel::<u32>(8);
//! let (ticks_tx, mut ticks) = broadcast::channel::<f64>(8);
//! ticks_tx.send(101.5).unwrap();
//!
//! let mut sel = Select::new();
//! let o = sel.recv(&orders);
//! let t = sel.recv(&ticks);
//! let i = sel.ready_timeout(Duration::from_secs(1)).unwrap();
//! assert_eq!(i, t);
//! drop(sel); // the select borrows the receivers; `try_recv` on a subscriber takes `&mut`
//! assert_eq!(*ticks.try_recv().unwrap(), 101.5);
//! assert_eq!(orders.try_recv(), Err(TryRecvError::Empty));
//! # drop((orders_tx, o));
//! ```
//!
//! Readiness is a hint, as with `zmq_poll` and crossbeam's `ready`: with
//! other receivers on the same ring (mpmc, pipeline), another thread may
//! take the message first and the `try_recv` says `Empty`; call `ready`
//! again. A select takes no message itself, so none can be taken twice.
//!
//! # Algorithm
//!
//! 1. Scan the receivers, starting after the one returned last time; return
//!    the first that is ready. Rotating the start is what makes a select
//!    fair: a receiver that is always ready cannot hide another ready one
//!    for more than one call.
//! 2. If none is ready, wait as the receivers' [`Wait`] strategies allow:
//!    with [`Wait::Backoff`] or [`Wait::Park`] on all of them, register one
//!    thread token (a flag and a condition variable behind a waker) on every
//!    receiver's signal, run one `SeqCst` fence (the sleeper's half of the
//!    handshake in `wait`'s module doc), scan again, and park until a sender
//!    wakes the token or the deadline passes: zero CPU while all are idle.
//!    Then remove the registrations and go back to 1.
//!
//! ```text
//!   select thread                     sender of ring k
//!   ───────────────────────────       ──────────────────────────
//!   register token on ring 0..n       publish            (W_t)
//!   fence                   (F2)      fence              (F1)
//!   scan 0..n               (R_t)     load sleepers of k (R_s)
//!   none ready: park                  > 0: wake the token
//! ```
//!
//! Either `F1` or `F2` comes first in the fences' total order: the scan sees
//! the message, or the sender sees the registration and wakes the token. A
//! wake that comes before `park` leaves the token's flag set, so `park`
//! returns at once: no lost wake-up (loom model `select_registration` in
//! `loom-tests/tests/waiters.rs`).
//!
//! # Spin and Yield
//!
//! Senders on a [`Wait::Spin`] or [`Wait::Yield`] ring never look for
//! waiters (that is what keeps those strategies free on the hot path), so a
//! select that holds such a receiver cannot sleep: it polls, spinning if
//! every such receiver spins and yielding otherwise, until one is ready.

use std::error::Error;
use std::fmt;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::sync::{heavy_fence, spin_loop, yield_now, Backoff, WakeArc};
use crate::wait::task::Parker;
use crate::wait::{self, Signal, Wait};

/// The trait behind [`Selectable`], kept private so that only ringbus's
/// receivers implement it.
pub(crate) mod sealed {
    use crate::wait::{Signal, Wait};

    /// Where a receiver's receives wait (opaque outside the crate).
    #[derive(Clone, Copy, Debug)]
    pub struct SignalRef<'a>(pub(crate) &'a Signal);

    /// A receiving end as a select or a readiness fd sees it.
    pub trait Source {
        /// Where its receives wait.
        fn signal(&self) -> SignalRef<'_>;
        /// How its senders treat waiters.
        fn wait(&self) -> Wait;
        /// Whether a receive would not block: a message waits, or the
        /// senders are gone.
        fn is_ready(&self) -> bool;
    }
}

/// A receiving end that a [`Select`] (or a readiness fd) can wait on: every
/// receiver, subscriber, puller and replier of ringbus.
///
/// Sealed: only ringbus's types implement it.
///
/// ```
/// fn wait_on<S: ringbus::select::Selectable>(rx: &S) -> usize {
///     let mut sel = ringbus::select::Select::new();
///     sel.recv(rx);
///     sel.ready()
/// }
/// let (tx, rx) = ringbus::spsc::channel(1);
/// tx.send(()).unwrap();
/// assert_eq!(wait_on(&rx), 0);
/// ```
pub trait Selectable: sealed::Source {}

/// [`Select::ready_timeout`] found no receiver ready in time.
///
/// ```
/// use std::time::Duration;
/// use ringbus::select::{Select, ReadyTimeoutError};
///
/// let (_tx, rx) = ringbus::mpmc::channel::<u8>(1);
/// let mut sel = Select::new();
/// sel.recv(&rx);
/// assert_eq!(sel.ready_timeout(Duration::from_millis(1)), Err(ReadyTimeoutError));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReadyTimeoutError;

impl fmt::Display for ReadyTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for a receiver to become ready")
    }
}

impl Error for ReadyTimeoutError {}

/// A set of receivers to wait on together; see the [module doc](self).
///
/// ```
/// use ringbus::{select::Select, spsc};
///
/// let (tx_a, rx_a) = spsc::channel::<u8>(4);
/// let (tx_b, rx_b) = spsc::channel::<&str>(4);
/// let mut sel = Select::new();
/// let a = sel.recv(&rx_a);
/// let b = sel.recv(&rx_b);
/// std::thread::spawn(move || tx_b.send("hello").unwrap());
/// let i = sel.ready();
/// assert_eq!(i, b);
/// assert_eq!(rx_b.try_recv(), Ok("hello"));
/// # drop((tx_a, a));
/// ```
pub struct Select<'a> {
    /// The receivers, by index.
    sources: Vec<&'a dyn sealed::Source>,
    /// Each receiver's registration of the token, while parked.
    keys: Vec<Option<u64>>,
    /// Where the scan starts: just after the receiver returned last.
    start: usize,
    /// The thread token, made on the first park.
    parker: Option<WakeArc<Parker>>,
}

impl<'a> Select<'a> {
    /// An empty set.
    ///
    /// ```
    /// let sel = ringbus::select::Select::new();
    /// assert!(sel.is_empty());
    /// ```
    pub fn new() -> Self {
        Select {
            sources: Vec::new(),
            keys: Vec::new(),
            start: 0,
            parker: None,
        }
    }

    /// Adds a receiver and returns its index (0, 1, 2, ... in the order of
    /// the calls).
    ///
    /// ```
    /// let (_tx, rx) = ringbus::spsc::channel::<u8>(1);
    /// let (_p, sub) = ringbus::broadcast::channel::<u8>(1);
    /// let mut sel = ringbus::select::Select::new();
    /// assert_eq!(sel.recv(&rx), 0);
    /// assert_eq!(sel.recv(&sub), 1);
    /// ```
    pub fn recv<S: Selectable>(&mut self, receiver: &'a S) -> usize {
        self.sources.push(receiver);
        self.keys.push(None);
        self.sources.len() - 1
    }

    /// The number of receivers added.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::spsc::channel::<u8>(1);
    /// let mut sel = ringbus::select::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// Whether no receiver was added.
    ///
    /// ```
    /// assert!(ringbus::select::Select::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// The index of a ready receiver, if one is ready now. Never waits.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// let mut sel = ringbus::select::Select::new();
    /// sel.recv(&rx);
    /// assert_eq!(sel.try_ready(), None);
    /// tx.send(1).unwrap();
    /// assert_eq!(sel.try_ready(), Some(0));
    /// ```
    pub fn try_ready(&mut self) -> Option<usize> {
        self.scan()
    }

    /// Waits until a receiver is ready and returns its index. With no
    /// receiver added it never returns (as crossbeam's).
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel::<u8>(1);
    /// let mut sel = ringbus::select::Select::new();
    /// sel.recv(&rx);
    /// drop(tx); // disconnected counts as ready: `try_recv` says so at once
    /// assert_eq!(sel.ready(), 0);
    /// ```
    pub fn ready(&mut self) -> usize {
        loop {
            if let Some(index) = self.wait_until(None) {
                return index;
            }
        }
    }

    /// Waits at most `timeout` for a ready receiver.
    ///
    /// # Errors
    ///
    /// [`ReadyTimeoutError`] if none became ready in time.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// let mut sel = ringbus::select::Select::new();
    /// sel.recv(&rx);
    /// assert!(sel.ready_timeout(Duration::from_millis(1)).is_err());
    /// tx.send(7).unwrap();
    /// assert_eq!(sel.ready_timeout(Duration::from_millis(1)), Ok(0));
    /// ```
    pub fn ready_timeout(&mut self, timeout: Duration) -> Result<usize, ReadyTimeoutError> {
        match wait::deadline(timeout) {
            Some(deadline) => self.wait_until(Some(deadline)).ok_or(ReadyTimeoutError),
            None => Ok(self.ready()),
        }
    }

    /// Waits until `deadline` at most for a ready receiver.
    ///
    /// # Errors
    ///
    /// [`ReadyTimeoutError`] if none became ready in time.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let (_tx, rx) = ringbus::spsc::channel::<u8>(1);
    /// let mut sel = ringbus::select::Select::new();
    /// sel.recv(&rx);
    /// let deadline = Instant::now() + Duration::from_millis(1);
    /// assert!(sel.ready_deadline(deadline).is_err());
    /// ```
    pub fn ready_deadline(&mut self, deadline: Instant) -> Result<usize, ReadyTimeoutError> {
        self.wait_until(Some(deadline)).ok_or(ReadyTimeoutError)
    }

    /// One ready receiver, scanning from `start` (the rotation that makes a
    /// select fair).
    fn scan(&mut self) -> Option<usize> {
        let n = self.sources.len();
        for k in 0..n {
            let index = (self.start + k) % n;
            if self.sources[index].is_ready() {
                self.start = (index + 1) % n;
                return Some(index);
            }
        }
        None
    }

    /// Step 2 of the module doc, until a receiver is ready or `deadline`.
    fn wait_until(&mut self, deadline: Option<Instant>) -> Option<usize> {
        // Can every sender wake us? Then park; else poll.
        let may_sleep = self.sources.iter().all(|s| s.wait().may_sleep());
        let all_spin = self.sources.iter().all(|s| s.wait() != Wait::Yield);
        let backoff = Backoff::new();
        loop {
            if let Some(index) = self.scan() {
                return Some(index);
            }
            if let Some(deadline) = deadline {
                if Instant::now() >= deadline {
                    return None;
                }
            }
            if !may_sleep {
                if all_spin {
                    spin_loop();
                } else {
                    yield_now();
                }
            } else if !backoff.is_completed() {
                backoff.snooze();
            } else if let Some(index) = self.park(deadline) {
                return Some(index);
            }
        }
    }

    /// Registers the token everywhere, re-checks, parks; `Some` if the
    /// re-check found a ready receiver.
    #[cold]
    fn park(&mut self, deadline: Option<Instant>) -> Option<usize> {
        let parker = self.parker.get_or_insert_with(Parker::new).clone();
        parker.reset();
        let waker = Waker::from(parker.clone());
        for (source, key) in self.sources.iter().zip(&mut self.keys) {
            register(source.signal().0, key, &waker);
        }
        // F2, once for all the registrations above.
        heavy_fence();
        let found = self.scan();
        if found.is_none() {
            parker.park(deadline);
        }
        for (source, key) in self.sources.iter().zip(&mut self.keys) {
            source.signal().0.unregister(key);
        }
        found
    }
}

/// Registers `waker` on `signal` without its own fence (the caller fences
/// once for all).
fn register(signal: &Signal, key: &mut Option<u64>, waker: &Waker) {
    signal.register_unfenced(key, waker);
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

impl fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("len", &self.sources.len())
            .finish_non_exhaustive()
    }
}
