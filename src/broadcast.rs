//! A broadcast ring: one publisher, many subscribers, and every subscriber
//! sees every message, in order, read in place.
//!
//! # Semantics
//!
//! - [`Publisher::send`] waits while the slowest subscriber is `capacity`
//!   messages behind (backpressure, as in the LMAX Disruptor): nothing is
//!   ever lost. A subscriber that drops stops holding the publisher back at
//!   once.
//! - [`Subscriber::recv`] returns a [`Sample`], a guard that derefs to the
//!   `&T` in the ring: no copy, no clone. The subscriber moves on when the
//!   sample drops; [`Subscriber::recv_batch`] takes everything available in
//!   one go and moves on once.
//! - [`Publisher::subscribe`] makes a late joiner that sees what is published
//!   after the call; [`Subscriber::clone`] starts where the original stands.
//! - With no subscriber alive, a send hands the value back in
//!   `Disconnected`; a later `subscribe` receives what is sent after it.
//!   When the publisher drops, subscribers drain what is left, then get
//!   `Disconnected`.
//! - Every published message is dropped exactly once, not once per
//!   subscriber: when the last subscriber passes it (on that subscriber's
//!   thread: the move past it, the drop of its [`Sample`] or [`Batch`],
//!   or the subscriber's own drop, runs the message's `Drop`), or when the
//!   last handle drops. (When another thread's reap of it is still under
//!   way, the publisher may drop it instead, on finding the ring full.) A subscriber that leaves thus drops at once the
//!   unread messages nobody else needs. A `T` without drop glue, such as
//!   `u64`, is simply overwritten, at no cost. With drop glue, each move of
//!   a subscriber asks for a reap, an atomic round trip: read such messages
//!   with [`Subscriber::recv_batch`] in hot loops (one move per batch).
//! - [`Publisher::loan`] lends the next slot to be written in place.
//! - [`lossy`] is the variant whose publisher never waits: a subscriber that
//!   falls a whole ring behind loses messages and is told how many.
//! - [`Builder::build_multi`] makes the form for many publishing threads
//!   ([`MultiPublisher`], the Disruptor's multi-producer sequencer), with the
//!   same subscribers; [`MultiPublisher::subscribe`] makes a late joiner
//!   from any thread.
//!
//! # Algorithm
//!
//! The Disruptor's single-producer sequencer (Thompson et al., "Disruptor:
//! High performance alternative to bounded queues for exchanging data between
//! concurrent threads", LMAX, 2011) over a power-of-two array of slots:
//!
//! ```text
//!              slowest cursor            fastest cursor      tail (publisher)
//!                   │                          │                  │
//!   slots: [ · | · | a | b | c | d | e | f | g | h | · | · | · | · ]
//!                   └──── readable by someone ─────────┘└─ writable ─┘
//! ```
//!
//! - `tail` is the sequence of the next message. Only the publisher stores
//!   it, with `Release`, after writing the slot; a subscriber that acquires
//!   it may read every slot before it.
//! - Each subscriber's cursor (the next sequence it reads) lives in its own
//!   cache line of a table that subscribers join and leave while the
//!   publisher runs (see `cursors.rs` for why it needs no lock and no memory
//!   reclamation). A subscriber stores its cursor with `Release` after it is
//!   done with the slots before it.
//! - The publisher may write sequence `t` once every cursor is past
//!   `t - capacity`. It caches the slowest cursor it saw and scans the table
//!   (with `Acquire`) only when the cache says the ring is full.
//!
//! Why nothing is lost or duplicated: a slot is written only when no cursor
//! can reach its old message, and read only below a `tail` that was
//! published after the write; each subscriber's cursor moves one by one over
//! every sequence. For a `T` with drop glue, the subscriber that passes a
//! message last drops it, and the publisher gates on what was dropped
//! rather than on the cursors (see `reap.rs`).
//!
//! # Example
//!
//! ```
//! use std::thread;
//!
//! let (publisher, subscriber) = ringbus::broadcast::channel::<u64>(64);
//! let readers: Vec<_> = [subscriber.clone(), subscriber]
//!     .into_iter()
//!     .map(|mut subscriber| {
//!         thread::spawn(move || {
//!             let mut sum = 0;
//!             while let Ok(sample) = subscriber.recv() {
//!                 sum += *sample; // read in place
//!             }
//!             sum
//!         })
//!     })
//!     .collect();
//! for i in 0..1000 {
//!     publisher.send(i).unwrap();
//! }
//! drop(publisher);
//! for reader in readers {
//!     assert_eq!(reader.join().unwrap(), (0..1000).sum::<u64>());
//! }
//! ```

use std::cell::Cell;
use std::fmt;
use std::mem::{self, MaybeUninit};
use std::ops::Deref;
use std::time::{Duration, Instant};

use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::stats::{count_full_wait, BroadcastStats, SubscriberStats};
use crate::sync::{Arc, AtomicBool, AtomicUsize, CachePadded, Ordering, UnsafeCell};
use crate::wait::pace::Pace;
use crate::wait::{self, Signal, Wait};

mod cursors;
pub mod lossy;
mod multi;
mod reap;
mod task;

pub use multi::MultiPublisher;

use cursors::{Cursors, Entry};

/// Creates a broadcast ring of at least `capacity` slots with the default
/// [`Wait`] strategy, and returns the publisher and a first subscriber.
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of the ring
/// overflows.
///
/// ```
/// let (publisher, mut subscriber) = ringbus::broadcast::channel(8);
/// publisher.send("hello").unwrap();
/// assert_eq!(*subscriber.recv().unwrap(), "hello");
/// ```
///
/// ```should_panic
/// let _ = ringbus::broadcast::channel::<u8>(0); // panics: capacity must be greater than 0
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Publisher<T>, Subscriber<T>) {
    Builder::new(capacity).build()
}

/// Sets a broadcast ring's options, then builds it.
///
/// ```
/// use ringbus::{broadcast, Wait};
///
/// let (publisher, subscriber) = broadcast::Builder::new(1000).wait(Wait::Park).build::<u32>();
/// assert_eq!(publisher.capacity(), 1024);
/// # drop(subscriber);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    capacity: usize,
    wait: Wait,
}

impl Builder {
    /// Starts a ring of at least `capacity` slots (checked by
    /// [`build`](Builder::build)).
    pub fn new(capacity: usize) -> Self {
        Builder {
            capacity,
            wait: Wait::default(),
        }
    }

    /// How the publisher and the subscribers wait when they block (default:
    /// [`Wait::Backoff`]).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Allocates the ring and returns the publisher and a first subscriber.
    ///
    /// # Panics
    ///
    /// If the capacity is 0, if rounding it up to a power of two or the byte
    /// size of the ring overflows, or if the allocator refuses the ring's
    /// memory (where an infallible allocation would abort the process).
    #[track_caller]
    pub fn build<T>(self) -> (Publisher<T>, Subscriber<T>) {
        let ring = Arc::new(Ring::new(self.capacity, self.wait, false));
        let publisher = Publisher {
            ring: ring.clone(),
            tail: Cell::new(0),
            gate: Cell::new(0),
            pace: Cell::new(Pace::default()),
            lent: Cell::new(false),
            #[cfg(feature = "async")]
            sink: Default::default(),
        };
        let subscriber = Subscriber::join(ring, 0);
        (publisher, subscriber)
    }

    /// Allocates the ring for many publishing threads (the Disruptor's
    /// multi-producer sequencer) and returns a first publisher, to clone for
    /// each thread, and a first subscriber.
    ///
    /// # Panics
    ///
    /// As [`build`](Builder::build).
    ///
    /// ```
    /// let (publisher, mut subscriber) =
    ///     ringbus::broadcast::Builder::new(64).build_multi::<(u8, u32)>();
    /// let threads: Vec<_> = (0..2u8)
    ///     .map(|id| {
    ///         let publisher = publisher.clone();
    ///         std::thread::spawn(move || (0..100).for_each(|i| publisher.send((id, i)).unwrap()))
    ///     })
    ///     .collect();
    /// drop(publisher);
    /// let mut next = [0u32; 2];
    /// while let Ok(sample) = subscriber.recv() {
    ///     let (id, i) = *sample;
    ///     assert_eq!(i, next[id as usize]); // each publisher's order is kept
    ///     next[id as usize] += 1;
    /// }
    /// assert_eq!(next, [100, 100]);
    /// # threads.into_iter().for_each(|t| t.join().unwrap());
    /// ```
    #[track_caller]
    pub fn build_multi<T>(self) -> (MultiPublisher<T>, Subscriber<T>) {
        let ring = Arc::new(Ring::new(self.capacity, self.wait, true));
        let publisher = MultiPublisher::new(ring.clone());
        let subscriber = Subscriber::join(ring, 0);
        (publisher, subscriber)
    }
}

/// The memory the publisher and the subscribers share.
struct Ring<T> {
    /// The sequence of the next message. Stored only by the publisher.
    tail: CachePadded<AtomicUsize>,
    /// The subscribers' cursors.
    cursors: Cursors,
    /// Set when the publisher drops.
    publisher_gone: AtomicBool,
    /// For a `T` with drop glue: every message before this sequence has
    /// been dropped (its slot is empty), and only slots before it may be
    /// written again. Stored only by the reaper (see `reap.rs`).
    reaped: CachePadded<AtomicUsize>,
    /// For a `T` with drop glue: reaps asked for since the running reaper
    /// began its pass; 0 when no reap runs (see `reap.rs`).
    requests: CachePadded<AtomicUsize>,
    /// Where subscribers park while they have read everything.
    not_empty: CachePadded<Signal>,
    /// Where the publisher parks while the slowest subscriber is a whole ring
    /// behind.
    not_full: CachePadded<Signal>,
    /// Sends and loans that waited for the slowest subscriber (metrics).
    /// Bumped only on the waiting path, on a line of its own.
    full_waits: CachePadded<AtomicUsize>,
    /// How a blocked side waits; whether the other side must notify.
    wait: Wait,
    /// `capacity - 1`: maps a sequence to its slot.
    mask: usize,
    /// The slots. For a `T` with drop glue, exactly the sequences from
    /// `reaped` to `tail` hold messages; for any other `T`, a slot is simply
    /// overwritten.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
    /// Multi-publisher form only (else empty): per slot, `s + 1` once
    /// message `s` is written there (at first, `i - capacity + 1` in slot
    /// `i`). With several publishers `tail` counts
    /// claimed sequences, which may be written out of order; subscribers read
    /// up to the first slot not yet marked (see `multi.rs`).
    published: Box<[AtomicUsize]>,
    /// Multi-publisher form only: live publishers; the last one to drop
    /// sets `publisher_gone`.
    publishers: AtomicUsize,
}

// Messages are written on the publisher's thread, read through `&T` on every
// subscriber's thread at once, and dropped on whichever thread drops them.
// SAFETY: hence `T: Send + Sync`; slot access is ordered by `tail` and the
// cursors (see the module doc).
unsafe impl<T: Send + Sync> Send for Ring<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send + Sync> Sync for Ring<T> {}

impl<T> Ring<T> {
    #[track_caller]
    fn new(capacity: usize, wait: Wait, multi: bool) -> Self {
        let slots = crate::capacity::slots::<T>(capacity);
        // The multi-publisher form keeps a mark per slot too: check that
        // array's size as well, before anything is allocated (a zero-sized
        // `T` passes the first check at any capacity).
        let published = if multi {
            crate::capacity::slots::<AtomicUsize>(capacity)
        } else {
            0
        };
        Ring {
            tail: CachePadded::new(AtomicUsize::new(0)),
            cursors: Cursors::new(),
            publisher_gone: AtomicBool::new(false),
            reaped: CachePadded::new(AtomicUsize::new(0)),
            requests: CachePadded::new(AtomicUsize::new(0)),
            not_empty: CachePadded::new(Signal::new()),
            not_full: CachePadded::new(Signal::new()),
            full_waits: CachePadded::new(AtomicUsize::new(0)),
            wait,
            mask: slots - 1,
            slots: crate::capacity::alloc_empty(slots),
            // Sequence `i - capacity` "written" in slot `i`: a joiner finds
            // the lap before the first written (`multi::wait_written`), and
            // no reader takes it for sequence `i` (`s + 1` marks `s`).
            published: crate::capacity::alloc(published, |i| {
                AtomicUsize::new(i.wrapping_sub(slots).wrapping_add(1))
            }),
            publishers: AtomicUsize::new(1),
        }
    }

    #[inline]
    fn capacity(&self) -> usize {
        self.mask + 1
    }

    #[inline]
    fn slot(&self, sequence: usize) -> &UnsafeCell<MaybeUninit<T>> {
        &self.slots[sequence & self.mask]
    }

    /// The publisher-side snapshot, for `tail` and a `depth` already read.
    fn stats(&self, tail: usize, depth: usize) -> BroadcastStats {
        BroadcastStats {
            sent: tail as u64,
            // Relaxed: a counter read for reporting; no data with it.
            full_waits: self.full_waits.load(Ordering::Relaxed) as u64,
            depth,
            capacity: self.capacity(),
            subscribers: self.cursors.live(),
            lagged_events: 0,
            missed: 0,
        }
    }

    /// One past the last message readable in order from `cursor`, as far as
    /// this thread can tell.
    #[inline]
    fn readable_end(&self, cursor: usize) -> usize {
        if self.published.is_empty() {
            // Acquire: pairs with the publisher's Release store of `tail`;
            // its writes of the slots before it happen before our reads.
            self.tail.load(Ordering::Acquire)
        } else {
            multi::readable_end(self, cursor)
        }
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        if !mem::needs_drop::<T>() {
            // Nothing to drop, and nobody kept count of what was reaped.
            return;
        }
        // Relaxed (both): `&mut self`: every handle is gone, and dropping the
        // last `Arc` ordered their stores before this point. With many
        // publishers `tail` counts claims, but every claim was written at
        // once, so the messages run up to it here too.
        let tail = self.tail.load(Ordering::Relaxed);
        let reaped = self.reaped.load(Ordering::Relaxed);
        let ring = &*self;
        // The sequences from `reaped` to `tail` hold the messages that some
        // subscriber had not passed, or that nobody reaped yet.
        crate::leftovers::drop_each(reaped, tail, &|sequence| {
            let slot = ring.slot(sequence);
            // SAFETY: so each holds a message; `drop_each` visits each once.
            slot.with_mut(|slot| unsafe { (*slot).assume_init_drop() });
        });
    }
}

/// The sending end of a [`broadcast`](self) ring. Not `Clone`: there is one
/// publisher.
///
/// `Send` when `T: Send + Sync`; not `Sync` (it caches the gate in `Cell`s).
pub struct Publisher<T> {
    ring: Arc<Ring<T>>,
    /// The next sequence to write; always in sync with `ring.tail`.
    tail: Cell<usize>,
    /// The first sequence whose slot may not be free, as last seen: the
    /// slowest cursor (or, for a `T` with drop glue, `reaped`). A lower
    /// bound, refreshed when the ring looks full.
    gate: Cell<usize>,
    /// Whether to pause before polling the cursors again (see `wait::pace`).
    pace: Cell<Pace>,
    /// Whether a [`Loan`] holds the slot at `tail`. Loans and sends take
    /// `&self`, so two could meet on this thread (the publisher is not
    /// `Sync`); the one that finds the slot lent panics instead of writing
    /// into it.
    lent: Cell<bool>,
    /// The state of this publisher as a `Sink` (feature `async`).
    #[cfg(feature = "async")]
    sink: crate::future::SinkState<T>,
}

impl<T> Publisher<T> {
    /// Publishes `value` if the slowest subscriber leaves room, without
    /// waiting.
    ///
    /// # Panics
    ///
    /// If it has room to write while a [`Loan`] of this publisher is alive
    /// (one slot is lent at a time: see [`loan`](Self::loan)); publish or
    /// drop the loan first. (A send that finds no subscriber, or no room,
    /// returns its error as usual.)
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the slowest subscriber is a whole ring
    /// behind, [`TrySendError::Disconnected`] if there is no subscriber;
    /// either way the value comes back.
    ///
    /// ```
    /// use ringbus::TrySendError;
    ///
    /// let (publisher, subscriber) = ringbus::broadcast::channel(1);
    /// assert_eq!(publisher.try_send(1), Ok(()));
    /// assert_eq!(publisher.try_send(2), Err(TrySendError::Full(2)));
    /// drop(subscriber);
    /// assert_eq!(publisher.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    #[inline(always)]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.start_send_reaping() {
            Ok(()) => {
                self.write(value);
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Disconnected(())) => Err(TrySendError::Disconnected(value)),
        }
    }

    /// Publishes `value`, waiting while the slowest subscriber is a whole
    /// ring behind.
    ///
    /// # Panics
    ///
    /// If it has room to write while a [`Loan`] of this publisher is alive
    /// (one slot is lent at a time: see [`loan`](Self::loan)); publish or
    /// drop the loan first. (A send that finds no subscriber, or no room,
    /// returns its error as usual.)
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if there is no subscriber.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(1);
    /// let reader = std::thread::spawn(move || {
    ///     let mut seen = Vec::new();
    ///     while let Ok(sample) = subscriber.recv() {
    ///         seen.push(*sample);
    ///     }
    ///     seen
    /// });
    /// for i in 0..5 {
    ///     publisher.send(i).unwrap(); // waits for the reader
    /// }
    /// drop(publisher);
    /// assert_eq!(reader.join().unwrap(), [0, 1, 2, 3, 4]);
    /// ```
    #[inline(always)]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None).map_err(|err| match err {
            SendTimeoutError::Disconnected(value) | SendTimeoutError::Timeout(value) => {
                SendError(value)
            }
        })
    }

    /// Publishes `value`, waiting at most `timeout` while the slowest
    /// subscriber is a whole ring behind.
    ///
    /// # Panics
    ///
    /// If it has room to write while a [`Loan`] of this publisher is alive
    /// (one slot is lent at a time: see [`loan`](Self::loan)); publish or
    /// drop the loan first. (A send that finds no subscriber, or no room,
    /// returns its error as usual.)
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if there was no room in time,
    /// [`SendTimeoutError::Disconnected`] if there is no subscriber; either
    /// way the value comes back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::SendTimeoutError;
    ///
    /// let (publisher, _subscriber) = ringbus::broadcast::channel(1);
    /// publisher.send(1).unwrap();
    /// let err = publisher.send_timeout(2, Duration::from_millis(1));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, wait::deadline(timeout))
    }

    #[inline(always)]
    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        match self.wait_for_room(deadline) {
            Some(Ok(())) => {
                self.write(value);
                Ok(())
            }
            Some(Err(())) => Err(SendTimeoutError::Disconnected(value)),
            None => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Waits until the slot at `tail` may be written (`Some(Ok)`), there is
    /// no subscriber (`Some(Err)`), or `deadline` passes (`None`).
    #[inline(always)]
    fn wait_for_room(&self, deadline: Option<Instant>) -> Option<Result<(), ()>> {
        if self.gate_open() {
            // Room for sure: no poll of the cursors, no wait.
            return Some(if self.ring.cursors.live() == 0 {
                Err(())
            } else {
                Ok(())
            });
        }
        self.wait_gate_closed(deadline)
    }

    /// `wait_for_room` once the cached gate is closed: kept out of line so
    /// that the send fast path stays small.
    #[inline(never)]
    fn wait_gate_closed(&self, deadline: Option<Instant>) -> Option<Result<(), ()>> {
        let ring = &*self.ring;
        if mem::needs_drop::<T>() {
            // Once, before waiting, outside the `not_full` lock (see
            // `start_send_reaping`).
            ring.reap();
        }
        let mut pace = self.pace.get();
        let mut waited = false;
        let found = pace.block(ring.wait, &ring.not_full, deadline, || {
            match self.start_send() {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Disconnected(())) => Some(Err(())),
                Err(TrySendError::Full(())) => {
                    count_full_wait(&ring.full_waits, &mut waited);
                    None
                }
            }
        });
        self.pace.set(pace);
        found
    }

    /// `start_send`, and for a `T` with drop glue a reap of its own if the
    /// ring looks full. Messages every subscriber has passed may still wait
    /// for a pass owed by a thread that is busy, maybe this very one: a
    /// message's `Drop`, run by a reap, that sends here again (see
    /// `reap.rs`). Never under the `not_full` lock, where the waiting
    /// re-check calls plain `start_send`.
    #[inline]
    fn start_send_reaping(&self) -> Result<(), TrySendError<()>> {
        match self.start_send() {
            Err(TrySendError::Full(())) if mem::needs_drop::<T>() => {
                self.ring.reap();
                self.start_send()
            }
            other => other,
        }
    }

    /// Checks that a subscriber exists and that every cursor is past the
    /// message in the slot at `tail`.
    #[inline]
    fn start_send(&self) -> Result<(), TrySendError<()>> {
        let room = self.has_room();
        // After the scan: a subscriber whose entry the scan saw free is
        // uncounted here too (see `Cursors::leave`), so a send never succeeds
        // once the last subscriber has gone.
        if self.ring.cursors.live() == 0 {
            return Err(TrySendError::Disconnected(()));
        }
        if !room {
            return Err(TrySendError::Full(()));
        }
        Ok(())
    }

    /// Whether the slot at `tail` may be reused, rescanning the cursors only
    /// when the cached gate says no.
    #[inline]
    fn has_room(&self) -> bool {
        if self.gate_open() {
            return true;
        }
        // The cached gate is a lower bound: the ring is *possibly* full.
        if mem::needs_drop::<T>() {
            // The gate is what was reaped (see `reap.rs`); the publisher
            // never reaps here (it may be under the `not_full` lock).
            self.gate.set(self.ring.reaped());
            return self.gate_open();
        }
        let tail = self.tail.get();
        let capacity = self.ring.capacity();
        let lag = self.ring.cursors.lag(tail);
        self.gate.set(tail.wrapping_sub(lag));
        // It *really* is full only if the slowest is a whole ring behind.
        lag < capacity
    }

    /// Whether the cached gate alone shows room at `tail` (no cursor read).
    #[inline]
    fn gate_open(&self) -> bool {
        self.tail.get().wrapping_sub(self.gate.get()) < self.ring.capacity()
    }

    /// Writes `value` at `tail` and publishes it. Only after `has_room`.
    #[inline(always)]
    fn write(&self, value: T) {
        self.assert_not_lent();
        let slot = self.ring.slot(self.tail.get());
        // `has_room` saw every cursor past the slot's old message (its
        // Acquire scan pairs with the subscribers' Release cursor stores) or,
        // for a `T` with drop glue, the message reaped (its Acquire load of
        // `reaped` pairs with the reaper's Release store, after the move).
        // SAFETY: so no subscriber reads the slot, which holds nothing to
        // drop, until `tail` moves past it.
        slot.with_mut(|slot| unsafe { (*slot).write(value) });
        self.publish();
    }

    /// Panics if a [`Loan`] holds the slot at `tail`: writing there would
    /// break the loan's exclusive access.
    #[inline(always)]
    #[track_caller]
    fn assert_not_lent(&self) {
        if self.lent.get() {
            lent_twice();
        }
    }

    /// Lends the slot at `tail`. Only after `has_room` said yes: the slot
    /// holds nothing to drop (see `write`).
    fn lend(&self) -> Loan<'_, T> {
        self.lent.set(true);
        Loan {
            publisher: self,
            written: false,
        }
    }

    /// Publishes the (written) slot at `tail`.
    #[inline(always)]
    fn publish(&self) {
        let ring = &*self.ring;
        let tail = self.tail.get().wrapping_add(1);
        // Release: pairs with the subscribers' Acquire loads of `tail`; the
        // write of the slot happens before their reads.
        ring.tail.store(tail, Ordering::Release);
        self.tail.set(tail);
        if ring.wait.may_sleep() {
            ring.not_empty.notify();
        }
    }

    /// Lends the next slot to be written in place, waiting while the slowest
    /// subscriber is a whole ring behind.
    ///
    /// Nothing is published until [`Loan::publish`]; a loan dropped
    /// unpublished publishes nothing and drops what was written in it. With
    /// no subscriber alive the loan is granted at once and what it publishes
    /// is never received (as with `send`, which would hand the value back).
    ///
    /// # Panics
    ///
    /// If another loan of this publisher is still alive, or (from a send)
    /// while this one is: one slot is lent at a time. Publish or drop the
    /// loan first. (Like sending, lending takes `&self`; the publisher is
    /// not `Sync`, so this can only happen on the publisher's own thread.)
    /// A loan leaked with `mem::forget` stays alive for good, as a leaked
    /// `RefCell` borrow does: every later send or loan panics.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel::<[u64; 4]>(8);
    /// let mut loan = publisher.loan();
    /// let frame = loan.write([0; 4]);
    /// frame[2] = 42; // fill in place
    /// loan.publish();
    /// assert_eq!(subscriber.recv().unwrap()[2], 42);
    /// ```
    #[track_caller]
    pub fn loan(&self) -> Loan<'_, T> {
        self.assert_not_lent();
        if self.wait_for_room(None) == Some(Err(())) {
            // No subscriber: the slot is lent all the same.
            self.free_slot_unsubscribed();
        }
        self.lend()
    }

    /// Makes the slot at `tail` free when no subscriber is left. Without
    /// drop glue the gate is open then (no cursor holds it back). With it,
    /// the messages published since the last reap are reaped here (nobody
    /// reads them); if another thread's reap is running, it serves this
    /// request, so we wait for it a moment. Not from `wait_for_room`, which
    /// may run under the `not_full` lock the reaper notifies.
    #[cold]
    fn free_slot_unsubscribed(&self) {
        if !mem::needs_drop::<T>() {
            // The last leaver's uncount, which `wait_for_room` acquired,
            // ordered its reads before our write.
            return;
        }
        while !self.gate_open() {
            self.ring.reap();
            self.gate.set(self.ring.reaped());
            if !self.gate_open() {
                crate::sync::yield_now();
            }
        }
    }

    /// Lends the next slot if there is room now.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the slowest subscriber is a whole ring
    /// behind, [`TrySendError::Disconnected`] if there is no subscriber.
    ///
    /// # Panics
    ///
    /// As [`loan`](Self::loan): if another loan of this publisher is alive.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel::<u8>(1);
    /// let mut loan = publisher.try_loan().unwrap();
    /// loan.write(1);
    /// drop(loan); // unpublished: nothing is sent, the 1 is dropped
    /// assert!(publisher.try_loan().unwrap().publish() == false); // nothing written
    /// publisher.send(2).unwrap();
    /// assert_eq!(*subscriber.recv().unwrap(), 2);
    /// ```
    #[track_caller]
    pub fn try_loan(&self) -> Result<Loan<'_, T>, TrySendError<()>> {
        self.assert_not_lent();
        self.start_send_reaping()?;
        Ok(self.lend())
    }

    /// Makes a subscriber that receives every message published after this
    /// call (a late joiner).
    ///
    /// ```
    /// let (publisher, first) = ringbus::broadcast::channel(8);
    /// publisher.send(1).unwrap();
    /// let mut late = publisher.subscribe();
    /// publisher.send(2).unwrap();
    /// assert_eq!(*late.recv().unwrap(), 2);
    /// # drop(first);
    /// ```
    pub fn subscribe(&self) -> Subscriber<T> {
        if mem::needs_drop::<T>() {
            // Messages published after the last subscriber's reap, which
            // nobody will pass (see `reap.rs`). Before the join, so that a
            // `Drop` that panics leaves no subscriber behind to drop (and
            // reap, and maybe panic again) while unwinding.
            self.ring.reap();
        }
        // On the publisher's thread: `tail` cannot move meanwhile.
        Subscriber::join(self.ring.clone(), self.tail.get())
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::channel::<u8>(100);
    /// assert_eq!(publisher.capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of messages the slowest subscriber has not read (0 without
    /// subscribers).
    ///
    /// ```
    /// let (publisher, mut fast) = ringbus::broadcast::channel(8);
    /// let slow = fast.clone();
    /// publisher.send(1).unwrap();
    /// publisher.send(2).unwrap();
    /// drop(fast.recv().unwrap());
    /// assert_eq!(publisher.len(), 2); // `slow` has read nothing
    /// # drop(slow);
    /// ```
    pub fn len(&self) -> usize {
        let lag = self.ring.cursors.lag(self.tail.get());
        if !mem::needs_drop::<T>() {
            // The slowest cursor is the gate, as in `has_room`. (With drop
            // glue the gate is `reaped`, which may still be behind it.)
            self.gate.set(self.tail.get().wrapping_sub(lag));
        }
        lag
    }

    /// Whether every subscriber has read everything.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::channel::<u8>(8);
    /// assert!(publisher.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether [`try_send`](Self::try_send) would now say `Full`.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::channel(1);
    /// publisher.send(1).unwrap();
    /// assert!(publisher.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self.start_send_reaping(), Err(TrySendError::Full(())))
    }

    /// The number of subscribers alive now.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::channel::<u8>(8);
    /// let other = publisher.subscribe();
    /// assert_eq!(publisher.subscribers(), 2);
    /// drop((subscriber, other));
    /// assert_eq!(publisher.subscribers(), 0);
    /// ```
    pub fn subscribers(&self) -> usize {
        self.ring.cursors.live()
    }

    /// A snapshot of the ring's counters (see [`BroadcastStats`]): `sent` is
    /// this handle's own sequence, exact; `depth` scans the cursors as
    /// [`len`](Self::len) does. No lock, nothing added to the send path.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(4);
    /// publisher.send(1).unwrap();
    /// publisher.send(2).unwrap();
    /// drop(subscriber.recv().unwrap());
    /// let stats = publisher.stats();
    /// assert_eq!((stats.sent, stats.depth, stats.subscribers), (2, 1, 1));
    /// assert_eq!(stats.full_waits, 0);
    /// ```
    pub fn stats(&self) -> BroadcastStats {
        let depth = self.len();
        self.ring.stats(self.tail.get(), depth)
    }
}

impl<T> Drop for Publisher<T> {
    fn drop(&mut self) {
        // Release: pairs with the subscribers' Acquire load of the flag; the
        // last `tail` store happens before they see it.
        self.ring.publisher_gone.store(true, Ordering::Release);
        self.ring.not_empty.notify();
        // Last: the sink's held item may panic as it drops, and the
        // disconnection above must have happened by then.
        #[cfg(feature = "async")]
        crate::future::cancel_sink(self, |s| &mut s.sink);
    }
}

impl<T> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("subscribers", &self.subscribers())
            .finish_non_exhaustive()
    }
}

/// The next slot of a broadcast ring, lent to be written in place, from
/// [`Publisher::loan`].
///
/// Write it with [`write`](Self::write) (which returns `&mut T` to go on
/// filling in place), or through [`as_uninit_mut`](Self::as_uninit_mut) and
/// [`assume_init`](Self::assume_init); then [`publish`](Self::publish).
/// Dropped unpublished, it publishes nothing and drops what was written.
pub struct Loan<'a, T> {
    publisher: &'a Publisher<T>,
    /// Whether the slot holds a value written through this loan.
    written: bool,
}

impl<T> Loan<'_, T> {
    /// Puts `value` in the slot (dropping what an earlier `write` put there)
    /// and returns it, to be modified in place.
    pub fn write(&mut self, value: T) -> &mut T {
        self.clear();
        let slot = self.publisher.ring.slot(self.publisher.tail.get());
        self.written = true;
        // While `lent` is set the publisher neither writes this slot nor
        // lends it again (`assert_not_lent`), and subscribers stop before it.
        // SAFETY: so only this loan touches the slot, which is empty: `loan`
        // found it free (see `Publisher::write`) and `clear` dropped any
        // earlier write.
        slot.with_mut(|slot| unsafe { (*slot).write(value) })
    }

    /// The slot itself, uninitialised unless written; initialise it, then
    /// call [`assume_init`](Self::assume_init).
    pub fn as_uninit_mut(&mut self) -> &mut MaybeUninit<T> {
        self.clear();
        let slot = self.publisher.ring.slot(self.publisher.tail.get());
        // SAFETY: as in `write`: only this loan may touch the slot, and the
        // returned borrow ends before the loan does.
        slot.with_mut(|slot| unsafe { &mut *slot })
    }

    /// Declares the slot initialised.
    ///
    /// # Safety
    ///
    /// The slot must have been fully initialised through
    /// [`as_uninit_mut`](Self::as_uninit_mut).
    pub unsafe fn assume_init(&mut self) {
        self.written = true;
    }

    /// Publishes the slot to every subscriber. Returns whether something was
    /// published: `false` if nothing was written.
    pub fn publish(self) -> bool {
        if !self.written {
            return false;
        }
        let publisher = self.publisher;
        // The loan ends here, and its `Drop` must not run later: the publish
        // below may wake a waker whose code sends on this publisher (a
        // run-on-wake executor polls its task inside `wake`) or takes a new
        // loan of the next slot and keeps it; a `Drop` after that would clear
        // `lent` under the new loan. (A loan owns nothing else to drop.)
        std::mem::forget(self);
        publisher.lent.set(false);
        // The slot is the subscribers' now.
        publisher.publish();
        true
    }

    /// Drops a value written through this loan, if any. The value is moved
    /// out of the slot before its `Drop` runs: that code may send on this
    /// publisher (from `Loan::drop`, once the loan has ended) and must find
    /// the slot empty, not half-dropped.
    fn clear(&mut self) {
        if self.written {
            self.written = false;
            let slot = self.publisher.ring.slot(self.publisher.tail.get());
            // SAFETY: the slot holds the value this loan wrote, which no
            // subscriber can see (`tail` has not moved past it); moved out
            // once, here.
            let value = slot.with(|slot| unsafe { (*slot).assume_init_read() });
            drop(value);
        }
    }
}

impl<T> Drop for Loan<'_, T> {
    fn drop(&mut self) {
        // The slot is free for the next send or loan first: the value
        // dropped by `clear` may run code that sends on this publisher.
        self.publisher.lent.set(false);
        self.clear();
    }
}

/// The panic of a second loan, or of a send, while a loan is alive.
#[cold]
#[inline(never)]
#[track_caller]
fn lent_twice() -> ! {
    panic!(
        "ringbus: a Loan of this broadcast publisher is still alive; \
         publish or drop it before sending or lending again"
    )
}

impl<T> fmt::Debug for Loan<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loan")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

/// A receiving end of a [`broadcast`](self) ring: it sees every message
/// published while it exists, in order.
///
/// Clone it for another subscriber that starts where this one stands.
/// `Send` and `Sync` when `T: Send + Sync`.
pub struct Subscriber<T> {
    ring: Arc<Ring<T>>,
    /// This subscriber's entry in the cursor table.
    entry: Entry,
    /// The next sequence to read; always in sync with the entry.
    cursor: usize,
    /// The publisher's `tail` as last seen: a lower bound.
    tail: usize,
    /// Where the cursor started: `cursor - start` messages were received.
    start: usize,
    /// Whether to pause before polling again (see `wait::pace`).
    pace: Pace,
    /// The waker registration of this subscriber as a `Stream` (feature
    /// `async`).
    #[cfg(feature = "async")]
    stream: crate::future::sealed::Slot,
}

impl<T> Subscriber<T> {
    fn join(ring: Arc<Ring<T>>, position: usize) -> Self {
        let entry = ring.cursors.join(position);
        Subscriber {
            ring,
            entry,
            cursor: position,
            tail: position,
            start: position,
            pace: Pace::default(),
            #[cfg(feature = "async")]
            stream: Default::default(),
        }
    }

    /// Joins a multi-publisher ring at its tail, from any thread, while
    /// publishers claim sequences on others (`MultiPublisher::subscribe`).
    ///
    /// The tail read with a plain load may already be stale when the entry
    /// appears, and a publisher that scanned the cursors before could then
    /// claim a whole ring past it. So the entry first holds a place at or
    /// before the true tail (`first`), and the subscriber then moves to the
    /// tail as a read-modify-write sees it. That read-modify-write continues
    /// every claim's release sequence and heads one of its own: a claim made
    /// after it (its compare-exchange is `Acquire`) comes after our entry,
    /// and so does anyone who acquires its mark; a scan that missed
    /// us only saw cursors at or before that tail, so nothing it lets a
    /// publisher overwrite lies at or past it (a scan that saw no cursor at
    /// all says `Full`, see `multi.rs`). Before each place it reports, it
    /// waits for the claims in flight below it to be written, since the
    /// publishers take a cursor as proof of that (`multi::wait_written`).
    /// `first` may even lie behind `reaped` for a moment; the reaper leaves
    /// such a cursor alone (see `reap.rs`).
    fn join_multi(ring: Arc<Ring<T>>) -> Self {
        // Relaxed: any value at or before the read-modify-write's below
        // will do (this thread reads `tail` in modification order).
        let first = ring.tail.load(Ordering::Relaxed);
        // A cursor says that everything before it was written (see
        // `multi::wait_written`): wait for the last lap's claims in flight.
        multi::wait_written(&ring, first.wrapping_sub(ring.capacity()), first);
        let mut subscriber = Subscriber::join(ring, first);
        // Release: pairs with every later claim's Acquire compare-exchange
        // (read-modify-writes continue this one's release sequence), so our
        // entry happens before those claims. Our reads need nothing from
        // here: the marks order them.
        let tail = subscriber.ring.tail.fetch_add(0, Ordering::Release);
        multi::wait_written(&subscriber.ring, first, tail);
        subscriber.start = tail;
        subscriber.tail = tail;
        // Moves the cursor from `first` to `tail`: a report, and a reap or a
        // wake-up of a publisher that `first` held back.
        subscriber.advance(tail.wrapping_sub(first));
        subscriber
    }

    /// The oldest unread message, if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if this subscriber has read everything and the
    /// publisher is alive, [`TryRecvError::Disconnected`] if it has read
    /// everything and the publisher is gone.
    ///
    /// ```
    /// use ringbus::TryRecvError;
    ///
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(4);
    /// assert_eq!(subscriber.try_recv().unwrap_err(), TryRecvError::Empty);
    /// publisher.send(1).unwrap();
    /// drop(publisher);
    /// assert_eq!(*subscriber.try_recv().unwrap(), 1);
    /// assert_eq!(subscriber.try_recv().unwrap_err(), TryRecvError::Disconnected);
    /// ```
    #[inline(always)]
    pub fn try_recv(&mut self) -> Result<Sample<'_, T>, TryRecvError> {
        self.start_recv()?;
        Ok(self.sample())
    }

    /// The oldest unread message, waiting while there is none.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once everything is read and the publisher is gone.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(4);
    /// std::thread::spawn(move || publisher.send(String::from("in place")).unwrap());
    /// let sample = subscriber.recv().unwrap();
    /// assert_eq!(sample.as_str(), "in place"); // a `&String` in the ring
    /// ```
    #[inline(always)]
    pub fn recv(&mut self) -> Result<Sample<'_, T>, RecvError> {
        match self.wait_for_message(None) {
            Some(Ok(())) => Ok(self.sample()),
            _ => Err(RecvError),
        }
    }

    /// The oldest unread message, waiting at most `timeout` while there is
    /// none.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing came in time,
    /// [`RecvTimeoutError::Disconnected`] once everything is read and the
    /// publisher is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::RecvTimeoutError;
    ///
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel::<u8>(4);
    /// let timeout = Duration::from_millis(1);
    /// assert_eq!(subscriber.recv_timeout(timeout).unwrap_err(), RecvTimeoutError::Timeout);
    /// drop(publisher);
    /// assert_eq!(subscriber.recv_timeout(timeout).unwrap_err(), RecvTimeoutError::Disconnected);
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Sample<'_, T>, RecvTimeoutError> {
        match self.wait_for_message(wait::deadline(timeout)) {
            Some(Ok(())) => Ok(self.sample()),
            Some(Err(())) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// Every message available now, in one batch, without waiting.
    ///
    /// The subscriber moves past all of them once, when the batch drops: the
    /// Disruptor's batching, one cursor store and one wake-up for the lot.
    ///
    /// # Errors
    ///
    /// As [`try_recv`](Self::try_recv): `Empty` or `Disconnected` when there
    /// is nothing to read.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(8);
    /// for i in 1..=3 {
    ///     publisher.send(i).unwrap();
    /// }
    /// let batch = subscriber.try_recv_batch().unwrap();
    /// assert_eq!(batch.iter().sum::<i32>(), 6);
    /// drop(batch);
    /// assert!(subscriber.try_recv().is_err());
    /// ```
    #[inline]
    pub fn try_recv_batch(&mut self) -> Result<Batch<'_, T>, TryRecvError> {
        self.start_recv()?;
        Ok(self.batch())
    }

    /// Every message available, in one batch, waiting for at least one.
    ///
    /// For messages with drop glue this is also the cheap way to read in a
    /// hot loop: the subscriber moves once per batch, so it asks for one
    /// reap (see the module doc) per batch instead of one per message. In
    /// `broadcast_1to2_drop_glue` (docs/benchmarks.md) that is 69 M
    /// messages/s per subscriber against 3.8 M with `recv`.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once everything is read and the publisher is gone.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(8);
    /// std::thread::spawn(move || (0..100).for_each(|i| publisher.send(i).unwrap()));
    /// let mut seen = 0;
    /// while let Ok(batch) = subscriber.recv_batch() {
    ///     for &value in &batch {
    ///         assert_eq!(value, seen);
    ///         seen += 1;
    ///     }
    /// }
    /// assert_eq!(seen, 100);
    /// ```
    #[inline(always)]
    pub fn recv_batch(&mut self) -> Result<Batch<'_, T>, RecvError> {
        match self.wait_for_message(None) {
            Some(Ok(())) => Ok(self.batch()),
            _ => Err(RecvError),
        }
    }

    /// Waits until a message waits at the cursor (`Some(Ok)`), everything is
    /// read and the publisher gone (`Some(Err)`), or `deadline` passes
    /// (`None`).
    #[inline(always)]
    fn wait_for_message(&mut self, deadline: Option<Instant>) -> Option<Result<(), ()>> {
        if self.tail != self.cursor {
            // Known available: no poll, no wait.
            return Some(Ok(()));
        }
        self.wait_caught_up(deadline)
    }

    /// `wait_for_message` once every message known available is read: kept
    /// out of line so that the receive fast path stays small.
    #[inline(never)]
    fn wait_caught_up(&mut self, deadline: Option<Instant>) -> Option<Result<(), ()>> {
        let ring = &*self.ring;
        let cursor = self.cursor;
        let tail = &mut self.tail;
        self.pace.block(ring.wait, &ring.not_empty, deadline, || {
            match start_recv(ring, cursor, tail) {
                Ok(()) => Some(Ok(())),
                Err(TryRecvError::Disconnected) => Some(Err(())),
                Err(TryRecvError::Empty) => None,
            }
        })
    }

    /// Checks that a message waits at the cursor.
    #[inline]
    fn start_recv(&mut self) -> Result<(), TryRecvError> {
        start_recv(&self.ring, self.cursor, &mut self.tail)
    }

    /// A sample of the message at the cursor. Only after `start_recv`.
    #[inline(always)]
    fn sample(&mut self) -> Sample<'_, T> {
        let slot = self.ring.slot(self.cursor);
        // The cursor is below the `tail` we acquired. No publisher reuses the
        // slot (it gates on our cursor, or on `reaped`, which stays below it)
        // and no reaper drops it (a reap stops below the slowest cursor)
        // before our cursor passes it, which happens when the sample drops
        // (it borrows the subscriber).
        // SAFETY: so the slot holds a published message for the sample's life.
        let value: *const T = slot.with(|slot| unsafe { (*slot).as_ptr() });
        Sample {
            subscriber: self,
            value,
        }
    }

    /// A batch of every message available now. Only after `start_recv`.
    #[inline]
    fn batch(&mut self) -> Batch<'_, T> {
        // Look at what was published since `tail` was cached: a batch takes
        // everything there is, not only what this subscriber last saw. (For
        // the multi-publisher form the scan goes on from the cached end; it
        // stops within a lap of the cursor, as the publishers gate on it.)
        self.tail = self.ring.readable_end(self.tail);
        let len = self.tail.wrapping_sub(self.cursor);
        Batch {
            subscriber: self,
            len,
        }
    }

    /// Moves the cursor `count` messages on, releasing their slots.
    #[inline(always)]
    fn advance(&mut self, count: usize) {
        self.cursor = self.cursor.wrapping_add(count);
        // Our reads of the slots happen before the publisher reuses them
        // (`report` stores with Release, paired with the scan's Acquire).
        self.ring.cursors.report(&self.entry, self.cursor);
        if mem::needs_drop::<T>() {
            // Drop what every subscriber has now passed; the reaper wakes
            // the publisher, which waits for `reaped` to move.
            self.ring.reap();
        } else if self.ring.wait.may_sleep() {
            self.ring.not_full.notify();
        }
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (_p, subscriber) = ringbus::broadcast::channel::<u8>(5);
    /// assert_eq!(subscriber.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of messages this subscriber has not read yet.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::channel(8);
    /// publisher.send(1).unwrap();
    /// assert_eq!(subscriber.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring
            .readable_end(self.cursor)
            .wrapping_sub(self.cursor)
    }

    /// Whether this subscriber has read everything published.
    ///
    /// ```
    /// let (_p, subscriber) = ringbus::broadcast::channel::<u8>(8);
    /// assert!(subscriber.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this subscriber is a whole ring behind (it holds the
    /// publisher back).
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::channel(1);
    /// publisher.send(1).unwrap();
    /// assert!(subscriber.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether the publisher is gone. Messages it published may still wait.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::channel::<u8>(8);
    /// drop(publisher);
    /// assert!(subscriber.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        // Acquire: pairs with the Release store in `Publisher::drop`.
        self.ring.publisher_gone.load(Ordering::Acquire)
    }

    /// A snapshot of this subscriber's counters (see [`SubscriberStats`]):
    /// `received` is exact (a sample counts once dropped); `sent`, `depth`
    /// and `subscribers` are as of their loads. No lock, nothing added to
    /// the receive path.
    ///
    /// ```
    /// let (publisher, mut first) = ringbus::broadcast::channel(8);
    /// publisher.send(1).unwrap();
    /// let mut late = publisher.subscribe(); // sees what comes after
    /// publisher.send(2).unwrap();
    /// while first.try_recv().is_ok() {}
    /// drop(late.recv().unwrap());
    /// assert_eq!(first.stats().received, 2);
    /// assert_eq!(late.stats().received, 1);
    /// assert_eq!((late.stats().sent, late.stats().subscribers), (2, 2));
    /// ```
    pub fn stats(&self) -> SubscriberStats {
        let end = self.ring.readable_end(self.cursor);
        SubscriberStats {
            received: self.cursor.wrapping_sub(self.start) as u64,
            // Acquire: pairs with the publisher's Release store of `tail`
            // (with many publishers: claimed sequences).
            sent: self.ring.tail.load(Ordering::Acquire) as u64,
            depth: end.wrapping_sub(self.cursor),
            capacity: self.capacity(),
            subscribers: self.ring.cursors.live(),
            lagged_events: 0,
            missed: 0,
        }
    }
}

impl<T> Clone for Subscriber<T> {
    /// Another subscriber that starts where this one stands: it will see
    /// every message this one has not read yet, and all later ones.
    ///
    /// ```
    /// let (publisher, mut first) = ringbus::broadcast::channel(8);
    /// publisher.send(1).unwrap();
    /// let mut second = first.clone();
    /// assert_eq!(*first.recv().unwrap(), 1);
    /// assert_eq!(*second.recv().unwrap(), 1);
    /// ```
    fn clone(&self) -> Self {
        // `&self` borrows this subscriber: its cursor, which holds the
        // publisher back from our position, cannot move until we joined.
        Subscriber::join(self.ring.clone(), self.cursor)
    }
}

impl<T> Drop for Subscriber<T> {
    fn drop(&mut self) {
        #[cfg(feature = "async")]
        self.stream.0.cancel(&self.ring.not_empty);
        self.ring.cursors.leave(&self.entry);
        if mem::needs_drop::<T>() {
            // This subscriber's unread messages, if nobody else needs them.
            self.ring.reap();
        }
        // The publisher may be waiting for this subscriber: wake it.
        self.ring.not_full.notify();
    }
}

impl<T> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// Checks that a message waits at `cursor`, refreshing the subscriber's
/// cached `tail` (a lower bound of the publisher's) when it says there is
/// none.
#[inline]
fn start_recv<T>(ring: &Ring<T>, cursor: usize, tail: &mut usize) -> Result<(), TryRecvError> {
    if *tail != cursor {
        return Ok(());
    }
    // *Possibly* empty: look at what the publisher has released since.
    *tail = ring.readable_end(cursor);
    if *tail != cursor {
        return Ok(());
    }
    // Acquire: pairs with the Release store in `Publisher::drop` (or the last
    // `MultiPublisher::drop`), after its last publication...
    if ring.publisher_gone.load(Ordering::Acquire) {
        // ...so this refresh sees everything: drain, then disconnect.
        *tail = ring.readable_end(cursor);
        if *tail != cursor {
            return Ok(());
        }
        return Err(TryRecvError::Disconnected);
    }
    Err(TryRecvError::Empty)
}

/// A message in the ring, lent to a subscriber by [`Subscriber::recv`]; it
/// derefs to the `&T` in place. The subscriber moves on when it drops.
pub struct Sample<'a, T> {
    subscriber: &'a mut Subscriber<T>,
    value: *const T,
}

impl<T> Deref for Sample<'_, T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: see `Subscriber::sample`: the message stays in place and
        // initialised until this sample drops.
        unsafe { &*self.value }
    }
}

impl<T> Drop for Sample<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.subscriber.advance(1);
    }
}

impl<T: fmt::Debug> fmt::Debug for Sample<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

// SAFETY: a sample is a `&T` plus a `&mut Subscriber<T>`, which are `Send`
// when `T: Sync` and the subscriber is `Send` (`T: Send + Sync`).
unsafe impl<T: Send + Sync> Send for Sample<'_, T> {}
// SAFETY: shared access to a sample only reads the `&T`.
unsafe impl<T: Send + Sync> Sync for Sample<'_, T> {}

/// Every message available to a subscriber at once, read in place, from
/// [`Subscriber::recv_batch`]. The subscriber moves past all of them when the
/// batch drops.
pub struct Batch<'a, T> {
    subscriber: &'a mut Subscriber<T>,
    len: usize,
}

impl<'a, T> Batch<'a, T> {
    /// The messages, oldest first: two slices when the batch wraps around the
    /// end of the ring, else the second is empty.
    #[cfg(not(ringbus_loom))]
    pub fn as_slices(&self) -> (&[T], &[T]) {
        let ring = &*self.subscriber.ring;
        let start = self.subscriber.cursor & ring.mask;
        let first = self.len.min(ring.capacity() - start);
        let base = ring.slots.as_ptr().cast::<T>();
        // The two ranges lie within the array (`UnsafeCell<MaybeUninit<T>>`
        // has the layout of `T`) and are disjoint since `len <= capacity`.
        // SAFETY: and the `len` slots from the cursor hold published messages
        // that stay until the batch drops (as for `Sample`).
        unsafe {
            (
                std::slice::from_raw_parts(base.add(start), first),
                std::slice::from_raw_parts(base, self.len - first),
            )
        }
    }

    /// The messages, oldest first.
    #[inline]
    pub fn iter(&self) -> BatchIter<'_, T> {
        BatchIter {
            ring: &self.subscriber.ring,
            next: self.subscriber.cursor,
            end: self.subscriber.cursor.wrapping_add(self.len),
        }
    }

    /// The number of messages in the batch (at least 1).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the batch holds no message (never, as returned by the
    /// subscriber).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Drop for Batch<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.subscriber.advance(self.len);
    }
}

impl<T> fmt::Debug for Batch<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<'b, T> IntoIterator for &'b Batch<'_, T> {
    type Item = &'b T;
    type IntoIter = BatchIter<'b, T>;

    fn into_iter(self) -> BatchIter<'b, T> {
        self.iter()
    }
}

/// The messages of a [`Batch`], oldest first.
pub struct BatchIter<'b, T> {
    ring: &'b Ring<T>,
    next: usize,
    end: usize,
}

impl<'b, T> Iterator for BatchIter<'b, T> {
    type Item = &'b T;

    #[inline]
    fn next(&mut self) -> Option<&'b T> {
        if self.next == self.end {
            return None;
        }
        let slot = self.ring.slot(self.next);
        self.next = self.next.wrapping_add(1);
        // SAFETY: the slot lies in the batch, whose messages stay in place
        // and initialised while the batch (which this iterator borrows)
        // lives.
        Some(slot.with(|slot| unsafe { (*slot).assume_init_ref() }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end.wrapping_sub(self.next);
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for BatchIter<'_, T> {}

impl<T> fmt::Debug for BatchIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchIter")
            .field("left", &self.end.wrapping_sub(self.next))
            .finish()
    }
}
