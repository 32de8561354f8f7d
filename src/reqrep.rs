//! REQ/REP: a requester sends a request and waits for its own reply; any
//! number of repliers share the requests.
//!
//! ZeroMQ's request-reply pattern (`ZMQ_REQ` / `ZMQ_REP`) in one process.
//! Requests travel through one bounded [`mpmc`] ring, so each is
//! taken by exactly one replier (the next free one). Each request carries a
//! ticket, [`ReplyTo`], to the reply slot of the requester that sent it:
//!
//! ```text
//!   requester A ─┐  [slot A]◄───────────────────────────┐ reply (ticket A#7)
//!   requester B ─┼─► request ring: [ B#3 | A#7 ] ──► replier 1 ─┘
//!   requester C ─┘  [slot C]◄───┐              └──► replier 2
//!                               └──────────────────── reply (ticket C#2)
//!
//!   a ticket = (the requester's slot, the request's sequence number)
//! ```
//!
//! # Why a reply cannot go astray
//!
//! A requester owns one reply slot, made with it and kept for its life (a
//! clone of a [`Requester`] is an independent requester with its own slot).
//! A reply is written only through the ticket that came with the request,
//! so it can only reach the requester that asked. Within that requester,
//! the slot's state word holds the sequence number of the one request it is
//! waiting for; a ticket writes only after a compare-exchange from
//! "waiting for *my* number", so the late reply to a request that timed out
//! finds a newer number and is handed back to its replier
//! ([`ReplyError`]), never returned for the next request. A requester has
//! one request in flight at a time: `request` takes `&self`, and a
//! `Requester` is `Send` but not `Sync`. (Only code that a waiting request
//! runs on its own thread, such as a waker its send wakes, can make another
//! request on the same requester meanwhile: that one takes the slot over,
//! and the waiting one ends with [`RequestError::Unanswered`].)
//!
//! Nothing is allocated per request: the ticket is a clone of the slot's
//! `Arc` and the request moves through the ring in place.
//!
//! # No reply, no hang
//!
//! A requester learns that no reply will come, instead of waiting for ever:
//!
//! - if every replier is gone when it asks, the request comes back
//!   ([`RequestError::Disconnected`]);
//! - if the replier that took it drops the [`Request`] (or its `ReplyTo`)
//!   without replying, at once ([`RequestError::Unanswered`]);
//! - if every replier leaves while the request waits in the ring, the last
//!   one to leave drains the ring and drops what it finds, which tells each
//!   requester ([`RequestError::Unanswered`]).
//!
//! The last case races: a requester may queue its request just as the last
//! replier leaves and drains. Each side writes, then fences, then reads what
//! the other wrote (the store-buffering pattern):
//!
//! ```text
//!   requester                            last replier, leaving
//!   ─────────────────────────────        ─────────────────────────────
//!   claim a ring index, write  (W_q)     repliers -= 1 (now 0)   (W_r)
//!   fence(SeqCst)              (F_q)     fence(SeqCst)           (F_r)
//!   load repliers              (R_r)     load the ring's tail    (R_q)
//!   if 0: cancel, Unanswered             drain up to that tail, dropping
//! ```
//!
//! The fences are totally ordered. If `F_q` comes first, `R_q` sees the
//! index claimed by `W_q` and the drain waits for and drops that request; if
//! `F_r` comes first, `R_r` sees the count at 0 and the requester cancels its
//! own request. Either way it learns. (On Linux the requester's fence is a
//! compiler fence and the leaving replier pays a `membarrier(2)`, as in
//! [`Wait`]'s sleep/wake handshake.) The loom model
//! `loom-tests/tests/reqrep.rs` checks this and fails when either fence is
//! removed.
//!
//! # Connecting, disconnecting, reconnecting
//!
//! [`channel`] and [`Builder::build`] return a connected pair. When every
//! requester is gone, repliers first take what is queued, then see
//! `Disconnected`. On the bus, where a name is bound and connected in any
//! order, a side that has *never* had a handle does not count as gone: a
//! requester that comes first queues its request and waits for a replier; a
//! replier that comes first waits for requests. A side whose handles have
//! all dropped may connect again later.
//!
//! # Example
//!
//! ```
//! use std::thread;
//! use ringbus::reqrep;
//!
//! let (requester, replier) = reqrep::channel::<u64, u64>(16);
//! let server = thread::spawn(move || {
//!     for request in replier.iter() {
//!         let n = *request.payload();
//!         request.reply(n * n).unwrap();
//!     }
//! });
//! let clients: Vec<_> = (0..2u64)
//!     .map(|c| {
//!         let requester = requester.clone(); // its own reply slot
//!         thread::spawn(move || {
//!             for i in 0..100 {
//!                 let n = c * 1000 + i;
//!                 assert_eq!(requester.request(n), Ok(n * n));
//!             }
//!         })
//!     })
//!     .collect();
//! drop(requester);
//! clients.into_iter().for_each(|c| c.join().unwrap());
//! server.join().unwrap(); // `iter` ends once every requester is gone
//! ```

use std::cell::Cell;
use std::fmt;
use std::time::{Duration, Instant};

use crate::error::{SendTimeoutError, TryRecvError};
use crate::mpmc;
use crate::stats::ReqRepStats;
use crate::sync::{heavy_fence, light_fence, yield_now, Arc, AtomicUsize, CachePadded, Ordering};

/// How handles share their [`Endpoint`]: std's `Arc` even under loom, since
/// the bus keeps a `Weak<dyn Any + Send + Sync>` of it, which loom's `Arc`
/// cannot give. The ring and the reply slots inside hold loom's `Arc`, so the
/// models still see every handle's drop.
pub(crate) type Shared<T> = std::sync::Arc<T>;
use crate::wait::{self, Wait};

mod error;
mod replier;
mod slot;
mod task;

pub use error::{ReplyError, RequestError};
pub use replier::{Iter, Replier, Request, TryIter};
pub use slot::ReplyTo;

use slot::{Outcome, Seq, Slot};

/// Creates a request/reply channel whose request ring holds at least
/// `capacity` requests, with the default [`Wait`] strategy, and returns its
/// two ends (both `Clone`).
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of the ring
/// overflows.
///
/// ```
/// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(8);
/// std::thread::spawn(move || {
///     let request = replier.recv().unwrap();
///     let reply = *request.payload() + 1;
///     request.reply(reply).unwrap();
/// });
/// assert_eq!(requester.request(41), Ok(42));
/// ```
#[track_caller]
pub fn channel<Req, Rep>(capacity: usize) -> (Requester<Req, Rep>, Replier<Req, Rep>) {
    Builder::new(capacity).build()
}

/// Sets a request/reply channel's options, then builds it.
///
/// ```
/// use ringbus::{reqrep, Wait};
///
/// let (requester, replier) = reqrep::Builder::new(100).wait(Wait::Park).build::<u8, u8>();
/// assert_eq!(requester.capacity(), 128);
/// # drop(replier);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    capacity: usize,
    wait: Wait,
}

impl Builder {
    /// Starts a channel whose request ring holds at least `capacity`
    /// requests (checked by [`build`](Builder::build)).
    ///
    /// ```
    /// let (requester, _replier) = ringbus::reqrep::Builder::new(3).build::<u8, u8>();
    /// assert_eq!(requester.capacity(), 4);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Builder {
            capacity,
            wait: Wait::default(),
        }
    }

    /// How requesters wait for room and for replies, and repliers for
    /// requests (default: [`Wait::Backoff`]).
    ///
    /// ```
    /// use ringbus::{reqrep, Wait};
    ///
    /// let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Yield).build::<u8, u8>();
    /// std::thread::spawn(move || replier.recv().unwrap().reply(2).unwrap());
    /// assert_eq!(requester.request(1), Ok(2));
    /// ```
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Allocates the request ring and returns the two ends.
    ///
    /// # Panics
    ///
    /// If the capacity is 0, if rounding it up to a power of two or the byte
    /// size of the ring overflows, or if the allocator refuses the ring's
    /// memory (where an infallible allocation would abort the process).
    ///
    /// ```should_panic
    /// let _ = ringbus::reqrep::Builder::new(0).build::<u8, u8>(); // capacity must be > 0
    /// ```
    #[track_caller]
    pub fn build<Req, Rep>(self) -> (Requester<Req, Rep>, Replier<Req, Rep>) {
        let endpoint = Endpoint::new(self.capacity, self.wait);
        (endpoint.requester(), endpoint.replier())
    }
}

/// `Endpoint::repliers` bit 0: a replier has connected at least once.
const EVER: usize = 1;
/// `Endpoint::repliers` counts live repliers in steps of 2 (above `EVER`).
const ONE: usize = 2;

/// A request/reply channel's shared state, as the bus keeps it. Every handle
/// holds an `Arc` of it, so a registry's `Weak` dies with the last handle.
pub(crate) struct Endpoint<Req, Rep> {
    /// The request ring, and the seeds that keep a never-connected side from
    /// looking gone.
    anchor: mpmc::Anchor<Request<Req, Rep>>,
    /// `live repliers * ONE | EVER`: exactly `EVER` means every replier that
    /// ever connected is gone. Changed only when a replier connects or
    /// leaves; read by requesters after their fence (see the module doc).
    repliers: CachePadded<AtomicUsize>,
    /// How requests ended (metrics): bumped by requesters once per request,
    /// after it ended, on a line of its own.
    outcomes: CachePadded<Outcomes>,
    /// How every side waits; also given to each requester's slot.
    wait: Wait,
}

/// How the requests that were queued ended.
struct Outcomes {
    /// Answered.
    replies: AtomicUsize,
    /// Told that no reply will come.
    unanswered: AtomicUsize,
    /// Timed out while queued or served.
    timeouts: AtomicUsize,
}

// The bus (not built under loom) mints handles through these.
#[cfg_attr(ringbus_loom, allow(dead_code))]
impl<Req, Rep> Endpoint<Req, Rep> {
    /// A channel whose ring holds at least `capacity` requests, with no end
    /// connected yet.
    ///
    /// # Panics
    ///
    /// As [`Builder::build`].
    #[track_caller]
    pub(crate) fn new(capacity: usize, wait: Wait) -> Shared<Self> {
        Self::with_anchor(mpmc::Anchor::new(capacity, wait), wait)
    }

    /// [`new`](Self::new), or why `capacity` cannot make its ring (for the
    /// bus, which must not panic).
    pub(crate) fn try_new(
        capacity: usize,
        wait: Wait,
    ) -> Result<Shared<Self>, crate::capacity::CapacityError> {
        Ok(Self::with_anchor(
            mpmc::Anchor::try_new(capacity, wait)?,
            wait,
        ))
    }

    fn with_anchor(anchor: mpmc::Anchor<Request<Req, Rep>>, wait: Wait) -> Shared<Self> {
        Shared::new(Endpoint {
            anchor,
            repliers: CachePadded::new(AtomicUsize::new(0)),
            outcomes: CachePadded::new(Outcomes {
                replies: AtomicUsize::new(0),
                unanswered: AtomicUsize::new(0),
                timeouts: AtomicUsize::new(0),
            }),
            wait,
        })
    }

    /// A new requester with its own reply slot; connects the requesting side.
    pub(crate) fn requester(self: &Shared<Self>) -> Requester<Req, Rep> {
        Requester {
            tx: self.anchor.sender(),
            slot: Arc::new(Slot::new(self.wait)),
            seq: Cell::new(0),
            endpoint: self.clone(),
        }
    }

    /// A new replier; connects (or reconnects) the replying side.
    pub(crate) fn replier(self: &Shared<Self>) -> Replier<Req, Rep> {
        self.join();
        Replier::new(self.anchor.receiver(), self.clone())
    }

    /// A snapshot of the channel's counters (see [`ReqRepStats`]).
    pub(crate) fn stats(&self) -> ReqRepStats {
        let ring = self.anchor.stats();
        let outcomes = &*self.outcomes;
        // Relaxed: counters read for reporting; no data travels with them.
        let load = |counter: &AtomicUsize| counter.load(Ordering::Relaxed) as u64;
        ReqRepStats {
            requests: ring.sent,
            taken: ring.received,
            replies: load(&outcomes.replies),
            unanswered: load(&outcomes.unanswered),
            timeouts: load(&outcomes.timeouts),
            full_waits: ring.full_waits,
            depth: ring.depth,
            capacity: ring.capacity,
        }
    }

    /// Counts one ended request in `counter` (one of `outcomes`).
    #[inline]
    fn count(counter: &AtomicUsize) {
        // Relaxed: a counter read for reporting; no data travels with it.
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a replier in, and marks the side as connected once.
    fn join(&self) {
        // SeqCst: rare (connect time). A requester that reads the new count
        // sends to a ring this replier reads.
        let mut current = self.repliers.load(Ordering::SeqCst);
        loop {
            match self.repliers.compare_exchange_weak(
                current,
                (current + ONE) | EVER,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Counts a replier out; true if it was the last one, which must then
    /// call [`drain`](Self::drain).
    fn leave(&self) -> bool {
        // SeqCst: the write W_r of the module doc's handshake.
        self.repliers.fetch_sub(ONE, Ordering::SeqCst) == ONE | EVER
    }

    /// Whether every replier that ever connected is gone.
    #[inline]
    fn repliers_gone(&self) -> bool {
        // Relaxed: before a send it is only an early answer; after one, the
        // fence pair of the module doc orders it (see `Requester::request`).
        self.repliers.load(Ordering::Relaxed) == EVER
    }

    /// Drops the requests queued before the last replier left, so that their
    /// requesters learn no reply will come. Called by the last replier after
    /// [`leave`](Self::leave), through its receiver `rx`.
    fn drain(&self, rx: &mpmc::Receiver<Request<Req, Rep>>) {
        // F_r: pairs with F_q in `Requester::request` (module doc). The heavy
        // half of the asymmetric pair: requesters pay only a compiler fence.
        heavy_fence();
        // R_q: the ring's tail, read after F_r (inside `len`): every index a
        // requester claimed before its F_q is below it.
        self.drain_rest(rx, rx.len());
    }

    /// The loop of [`drain`](Self::drain): drops up to `left` queued
    /// requests. If a request's `Drop` panics, the requests after it are
    /// still dropped while the panic unwinds (a second panic aborts, as in
    /// std's collections), so no requester behind it waits for ever.
    fn drain_rest(&self, rx: &mpmc::Receiver<Request<Req, Rep>>, mut left: usize) {
        /// The rest of the drain, made only if a request's drop panics.
        struct Rest<'a, Req, Rep> {
            endpoint: &'a Endpoint<Req, Rep>,
            rx: &'a mpmc::Receiver<Request<Req, Rep>>,
            left: usize,
        }

        impl<Req, Rep> Drop for Rest<'_, Req, Rep> {
            fn drop(&mut self) {
                self.endpoint.drain_rest(self.rx, self.left);
            }
        }

        while left > 0 && self.repliers_gone() {
            match rx.try_recv() {
                // Dropping the request drops its ticket: its requester learns.
                Ok(request) => {
                    left -= 1;
                    let rest = Rest {
                        endpoint: self,
                        rx,
                        left,
                    };
                    drop(request);
                    // Not panicking: the loop goes on by itself.
                    std::mem::forget(rest);
                }
                // A requester claimed an index and is writing it (bounded),
                // or a replier that connected since took it.
                Err(TryRecvError::Empty) if !rx.is_empty() => yield_now(),
                Err(_) => return,
            }
        }
    }
}

/// The requesting end of a [`reqrep`](self) channel: sends a request and
/// waits for its reply.
///
/// Each requester has its own reply slot, so it has one request in flight at
/// a time: it is `Send` (when `Req` and `Rep` are) but not `Sync`. Clone it
/// for another, independent requester (another slot, made by the clone).
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<ringbus::reqrep::Requester<u8, u8>>(); // one request in flight: not `Sync`
/// ```
///
/// ```
/// let (requester, replier) = ringbus::reqrep::channel::<u32, u32>(4);
/// let other = requester.clone();
/// std::thread::spawn(move || {
///     for request in &replier {
///         let n = *request.payload();
///         request.reply(n + 100).unwrap();
///     }
/// });
/// assert_eq!(requester.request(1), Ok(101));
/// assert_eq!(other.request(2), Ok(102));
/// ```
pub struct Requester<Req, Rep> {
    /// Into the request ring.
    tx: mpmc::Sender<Request<Req, Rep>>,
    /// Where this requester's replies land.
    slot: Arc<Slot<Rep>>,
    /// The sequence number of the last request made. A `Cell`, which also
    /// keeps the requester from being `Sync`.
    seq: Cell<Seq>,
    /// Keeps the endpoint (and a bus registry's `Weak` of it) alive.
    endpoint: Shared<Endpoint<Req, Rep>>,
}

impl<Req, Rep> Requester<Req, Rep> {
    /// Sends `request` and waits for its reply (waiting first for room in
    /// the ring if it is full).
    ///
    /// # Errors
    ///
    /// [`RequestError::Disconnected`] with the request if every replier is
    /// gone; [`RequestError::Unanswered`] if the request was queued but
    /// dropped without a reply (by the replier that took it, or because
    /// every replier left).
    ///
    /// ```
    /// use ringbus::reqrep::{self, RequestError};
    ///
    /// let (requester, replier) = reqrep::channel::<&str, usize>(4);
    /// let server = std::thread::spawn(move || {
    ///     let request = replier.recv().unwrap();
    ///     let len = request.payload().len();
    ///     request.reply(len).unwrap();
    ///     drop(replier.recv().unwrap()); // dropped without a reply
    /// });
    /// assert_eq!(requester.request("hello"), Ok(5));
    /// assert_eq!(requester.request("again"), Err(RequestError::Unanswered));
    /// server.join().unwrap();
    /// assert_eq!(requester.request("gone"), Err(RequestError::Disconnected("gone")));
    /// ```
    pub fn request(&self, request: Req) -> Result<Rep, RequestError<Req>> {
        self.request_until(request, None)
    }

    /// Sends `request` and waits at most `timeout` in all (for room in the
    /// ring, then for the reply).
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request), and [`RequestError::Timeout`] when the
    /// time is up: with the request if the ring stayed full, else without;
    /// a reply that comes later is discarded, never returned for another
    /// request.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::reqrep::{self, RequestError};
    ///
    /// let (requester, replier) = reqrep::channel::<u32, u32>(1);
    /// let timeout = Duration::from_millis(5);
    /// // Nobody serves yet: the request is queued, the reply does not come.
    /// assert_eq!(requester.request_timeout(1, timeout), Err(RequestError::Timeout(None)));
    /// // The ring (capacity 1) is still full: this one is never queued.
    /// assert_eq!(requester.request_timeout(2, timeout), Err(RequestError::Timeout(Some(2))));
    ///
    /// // The late reply to request 1 is turned away...
    /// assert!(replier.recv().unwrap().reply(10).is_err());
    /// // ...and the next request gets its own reply.
    /// std::thread::spawn(move || {
    ///     let request = replier.recv().unwrap();
    ///     let n = *request.payload();
    ///     request.reply(n * 10).unwrap();
    /// });
    /// assert_eq!(requester.request_timeout(3, Duration::from_secs(60)), Ok(30));
    /// ```
    pub fn request_timeout(
        &self,
        request: Req,
        timeout: Duration,
    ) -> Result<Rep, RequestError<Req>> {
        self.request_until(request, Some(wait::deadline(timeout)))
    }

    /// `deadline`: `None` waits for ever; `Some(None)` is a timeout too far
    /// away to represent, also for ever.
    fn request_until(
        &self,
        request: Req,
        deadline: Option<Option<Instant>>,
    ) -> Result<Rep, RequestError<Req>> {
        let endpoint = &*self.endpoint;
        if endpoint.repliers_gone() {
            return Err(RequestError::Disconnected(request));
        }
        let seq = self.seq.get().wrapping_add(1);
        self.seq.set(seq);
        self.slot.arm(seq);
        let request = Request::new(request, ReplyTo::new(self.slot.clone(), seq));
        // W_q: the send claims an index and writes the request.
        let sent = match deadline.flatten() {
            None => self
                .tx
                .send(request)
                .map_err(|err| SendTimeoutError::Disconnected(err.0)),
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                self.tx.send_timeout(request, left)
            }
        };
        if let Err(err) = sent {
            let timed_out = err.is_timeout();
            let (payload, reply_to) = err.into_inner().into_parts();
            reply_to.disarm();
            return Err(if timed_out {
                RequestError::Timeout(Some(payload))
            } else {
                RequestError::Disconnected(payload)
            });
        }
        // F_q: pairs with F_r in `Endpoint::drain` (module doc). On Linux a
        // compiler fence; the leaving replier pays the membarrier.
        light_fence();
        // R_r: if the last replier left before our fence, it may not have
        // seen our request: stop waiting for it ourselves.
        if endpoint.repliers_gone() {
            return match self.slot.cancel(seq) {
                None => {
                    Endpoint::<Req, Rep>::count(&endpoint.outcomes.unanswered);
                    Err(RequestError::Unanswered)
                }
                Some(outcome) => self.resolve(outcome),
            };
        }
        // The reply is the replier's answer: spin about a round trip before
        // yielding (`wait::patience`).
        let patience = wait::Patience::for_round_trip();
        let outcome = wait::block_with(
            patience,
            endpoint.wait,
            &self.slot.signal,
            deadline.flatten(),
            || self.slot.poll(seq),
        );
        match outcome {
            Some(outcome) => self.resolve(outcome),
            None => match self.slot.cancel(seq) {
                None => {
                    Endpoint::<Req, Rep>::count(&endpoint.outcomes.timeouts);
                    Err(RequestError::Timeout(None))
                }
                // The outcome arrived as the time ran out: take it.
                Some(outcome) => self.resolve(outcome),
            },
        }
    }

    #[inline]
    fn resolve(&self, outcome: Outcome<Rep>) -> Result<Rep, RequestError<Req>> {
        let outcomes = &self.endpoint.outcomes;
        match outcome {
            Outcome::Reply(reply) => {
                Endpoint::<Req, Rep>::count(&outcomes.replies);
                Ok(reply)
            }
            Outcome::Gone => {
                Endpoint::<Req, Rep>::count(&outcomes.unanswered);
                Err(RequestError::Unanswered)
            }
        }
    }

    /// The number of requests the ring holds at most, a power of two.
    ///
    /// ```
    /// let (requester, _replier) = ringbus::reqrep::channel::<u8, u8>(100);
    /// assert_eq!(requester.capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        self.tx.capacity()
    }

    /// The number of requests (of every requester) waiting for a replier. A
    /// snapshot: other handles may change it at any time.
    ///
    /// ```
    /// let (requester, _replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert_eq!(requester.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.tx.len()
    }

    /// Whether no request waits for a replier.
    ///
    /// ```
    /// let (requester, _replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert!(requester.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tx.is_empty()
    }

    /// Whether the request ring is full, so that a request would first wait
    /// for room.
    ///
    /// ```
    /// let (requester, _replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert!(!requester.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.tx.is_full()
    }

    /// Whether every replier is gone, so that a request fails at once.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert!(!requester.is_disconnected());
    /// drop(replier);
    /// assert!(requester.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.endpoint.repliers_gone()
    }

    /// A snapshot of the channel's counters, shared by every requester and
    /// replier (see [`ReqRepStats`]). No lock.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// let timeout = Duration::from_millis(1);
    /// assert!(requester.request_timeout(1, timeout).is_err()); // nobody serves
    /// drop(replier.recv().unwrap()); // taken, dropped unanswered
    /// let stats = requester.stats();
    /// assert_eq!((stats.requests, stats.taken, stats.timeouts), (1, 1, 1));
    /// assert_eq!((stats.replies, stats.unanswered, stats.depth), (0, 0, 0));
    /// ```
    pub fn stats(&self) -> ReqRepStats {
        self.endpoint.stats()
    }
}

impl<Req, Rep> Clone for Requester<Req, Rep> {
    /// Another, independent requester on the same channel, with a reply slot
    /// of its own (the one allocation of a requester).
    fn clone(&self) -> Self {
        Requester {
            tx: self.tx.clone(),
            slot: Arc::new(Slot::new(self.endpoint.wait)),
            seq: Cell::new(0),
            endpoint: self.endpoint.clone(),
        }
    }
}

impl<Req, Rep> fmt::Debug for Requester<Req, Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requester")
            .field("requests", &self.seq.get())
            .field("queued", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(all(test, not(ringbus_loom)))]
mod tests;
