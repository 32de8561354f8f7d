//! A bounded single-producer single-consumer ring: the fastest way to hand
//! messages from one thread to another.
//!
//! # Algorithm
//!
//! Lamport's ring buffer ("Specifying Concurrent Program Modules", 1983), in
//! the form of rtrb and of the LMAX Disruptor's single-producer sequencer:
//! two monotonically increasing indices over a power-of-two array of slots.
//!
//! ```text
//!            head (receiver writes)          tail (sender writes)
//!              │                               │
//!   slots: [ · | a | b | c | d | · | · | · ]   index & mask → slot
//!              └── readable: head..tail ──┘└── writable: tail..head+capacity
//! ```
//!
//! - `tail` is the next index the sender writes. Only the [`Sender`] stores
//!   it, with `Release`, after writing the slot: a receiver that loads the
//!   new `tail` with `Acquire` sees the message.
//! - `head` is the next index the receiver reads. Only the [`Receiver`]
//!   stores it, with `Release`, after moving the message out: a sender that
//!   loads the new `head` with `Acquire` overwrites the slot only after the
//!   read is complete.
//! - The indices are never reduced modulo the capacity (they wrap at
//!   `usize::MAX`); `tail - head` is the number of messages, from 0 (empty)
//!   to `capacity` (full), so a full ring and an empty ring never look alike.
//! - Each handle keeps its own index in a plain `Cell` (always in sync, it is
//!   the only writer) and a cached copy of the other side's index (stale, a
//!   lower bound). The fast path reads no shared atomic at all; the cache is
//!   refreshed only when the ring *looks* full (sender) or empty (receiver).
//!
//! Why nothing is lost or duplicated: a slot in `tail..head+capacity` is
//! touched only by the sender and a slot in `head..tail` only by the
//! receiver; each index moves forward by exactly the number of slots its
//! owner has finished with, and the other side acts on a slot only after it
//! has acquired the store that handed the slot over.
//!
//! # Disconnection and drop
//!
//! When the [`Sender`] drops, the [`Receiver`] first drains what is left,
//! then gets `Disconnected`. When the [`Receiver`] drops, sends fail and hand
//! the value back. Messages still in the ring when the last handle drops are
//! dropped then, exactly once.
//!
//! # Zero copy
//!
//! [`Sender::write_chunk_uninit`] lends the free slots themselves to be
//! written in place and [`Receiver::read_chunk`] lends the filled ones to be
//! read in place; see [`WriteChunkUninit`] and [`ReadChunk`].
//!
//! # Example
//!
//! ```
//! use std::thread;
//! use ringbus::{spsc, TryRecvError};
//!
//! let (tx, rx) = spsc::channel(2);
//! thread::spawn(move || {
//!     for word in ["zero", "copy", "ring"] {
//!         tx.send(word.to_string()).unwrap();
//!     }
//! });
//! let words: Vec<String> = rx.iter().collect();
//! assert_eq!(words, ["zero", "copy", "ring"]);
//! assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
//! ```

use std::cell::Cell;
use std::fmt;
use std::mem::MaybeUninit;
use std::time::Duration;

use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::stats::{count_full_wait, Stats};
use crate::sync::{Arc, AtomicBool, AtomicUsize, CachePadded, Ordering, UnsafeCell};
use crate::wait::pace::Pace;
use crate::wait::{self, Signal, Wait};

#[cfg(not(ringbus_loom))]
mod chunks;
mod task;
#[cfg(not(ringbus_loom))]
pub use chunks::{ChunkError, ReadChunk, WriteChunkUninit};

/// Creates a ring of at least `capacity` slots with the default [`Wait`]
/// strategy, and returns its two ends.
///
/// The capacity is rounded up to a power of two; [`Sender::capacity`] reports
/// the real figure.
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of the ring
/// overflows.
///
/// ```
/// let (tx, rx) = ringbus::spsc::channel::<u8>(3);
/// assert_eq!(tx.capacity(), 4);
/// tx.send(1).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
/// ```
///
/// ```should_panic
/// let _ = ringbus::spsc::channel::<u8>(0); // panics: capacity must be greater than 0
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    Builder::new(capacity).build()
}

/// Sets a ring's options, then builds it.
///
/// ```
/// use ringbus::{spsc, Wait};
///
/// let (tx, rx) = spsc::Builder::new(1000).wait(Wait::Spin).build::<u64>();
/// assert_eq!(rx.capacity(), 1024);
/// # drop((tx, rx));
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

    /// How either side waits when it blocks (default: [`Wait::Backoff`]).
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
    #[track_caller]
    pub fn build<T>(self) -> (Sender<T>, Receiver<T>) {
        let ring = Arc::new(Ring::new(self.capacity, self.wait));
        let sender = Sender {
            ring: ring.clone(),
            tail: Cell::new(0),
            head: Cell::new(0),
            pace: Cell::new(Pace::default()),
            #[cfg(feature = "async")]
            sink: Default::default(),
        };
        let receiver = Receiver {
            ring,
            head: Cell::new(0),
            tail: Cell::new(0),
            pace: Cell::new(Pace::default()),
            #[cfg(feature = "async")]
            stream: Default::default(),
        };
        (sender, receiver)
    }
}

/// The memory both ends share.
struct Ring<T> {
    /// The next index the receiver reads. Stored only by the receiver.
    head: CachePadded<AtomicUsize>,
    /// The next index the sender writes. Stored only by the sender.
    tail: CachePadded<AtomicUsize>,
    /// Set when the sender drops: after the receiver drains, it disconnects.
    sender_gone: AtomicBool,
    /// Set when the receiver drops: sends fail from then on.
    receiver_gone: AtomicBool,
    /// Where a receiver parks while the ring is empty.
    not_empty: CachePadded<Signal>,
    /// Where a sender parks while the ring is full.
    not_full: CachePadded<Signal>,
    /// Sends that found the ring full and waited (metrics). Written only by
    /// the sender, on its waiting path, on a line of its own. Boxed: the
    /// ring keeps the size and layout it had without metrics (one pointer,
    /// read only when counting, fits in its last, read-mostly line), so the
    /// hot path's instructions are unchanged (three flag bytes sit 8 bytes
    /// further into the same line).
    full_waits: Box<CachePadded<AtomicUsize>>,
    /// How a blocked side waits; whether the other side must notify.
    wait: Wait,
    /// `capacity - 1`: maps an index to its slot.
    mask: usize,
    /// The slots. `head..tail` hold messages; the rest are uninitialised or
    /// moved out.
    slots: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// The ring moves `T`s from the sender's thread to the receiver's.
// SAFETY: so `T: Send`; each slot is accessed by one side at a time, handed
// over by Release/Acquire on `head` or `tail`, so no `T: Sync` is needed.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    #[track_caller]
    fn new(capacity: usize, wait: Wait) -> Self {
        let slots = crate::capacity::slots::<T>(capacity);
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            sender_gone: AtomicBool::new(false),
            receiver_gone: AtomicBool::new(false),
            not_empty: CachePadded::new(Signal::new()),
            not_full: CachePadded::new(Signal::new()),
            full_waits: Box::new(CachePadded::new(AtomicUsize::new(0))),
            wait,
            mask: slots - 1,
            slots: crate::capacity::alloc_empty(slots),
        }
    }

    #[inline]
    fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The snapshot for indices `tail` and `head`.
    fn stats(&self, tail: usize, head: usize) -> Stats {
        // Relaxed: a counter read for reporting; no data travels with it.
        let full_waits = self.full_waits.load(Ordering::Relaxed);
        Stats::new(tail, head, full_waits, self.capacity())
    }

    #[inline]
    fn slot(&self, index: usize) -> &UnsafeCell<MaybeUninit<T>> {
        // `& mask` keeps the index in bounds, so the check below never fails
        // and the optimiser removes it.
        &self.slots[index & self.mask]
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means both handles are gone, and dropping the
        // last `Arc` ordered their final stores before this point.
        let head = self.head.load(Ordering::Relaxed);
        // Relaxed: as `head` above (`&mut self`).
        let tail = self.tail.load(Ordering::Relaxed);
        let ring = &*self;
        crate::leftovers::drop_each(head, tail, &|index| {
            // SAFETY: `head..tail` are exactly the slots that hold a message
            // nobody has taken; `drop_each` visits each once.
            ring.slot(index)
                .with_mut(|slot| unsafe { (*slot).assume_init_drop() });
        });
    }
}

/// The sending end of an [`spsc`](self) ring. Not `Clone`: there is one
/// producer.
///
/// `Send` when `T: Send`, never `Sync`: it caches indices in `Cell`s.
pub struct Sender<T> {
    ring: Arc<Ring<T>>,
    /// The next index to write. Always in sync with `ring.tail`: this handle
    /// is its only writer.
    tail: Cell<usize>,
    /// The receiver's `head` as last seen. Stale (a lower bound): refreshed
    /// when the ring looks full.
    head: Cell<usize>,
    /// Whether to pause before polling `head` again (see `wait::pace`).
    pace: Cell<Pace>,
    /// The state of this sender as a `Sink` (feature `async`).
    #[cfg(feature = "async")]
    sink: crate::future::SinkState<T>,
}

/// The receiving end of an [`spsc`](self) ring. Not `Clone`: there is one
/// consumer.
///
/// `Send` when `T: Send`, never `Sync`: it caches indices in `Cell`s.
pub struct Receiver<T> {
    ring: Arc<Ring<T>>,
    /// The next index to read. Always in sync with `ring.head`: this handle is
    /// its only writer.
    head: Cell<usize>,
    /// The sender's `tail` as last seen. Stale (a lower bound): refreshed when
    /// the ring looks empty.
    tail: Cell<usize>,
    /// Whether to pause before polling `tail` again (see `wait::pace`).
    pace: Cell<Pace>,
    /// The waker registration of this receiver as a `Stream` (feature
    /// `async`).
    #[cfg(feature = "async")]
    stream: crate::future::sealed::Slot,
}

impl<T> Sender<T> {
    /// Sends `value` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the ring is full, [`TrySendError::Disconnected`]
    /// if the receiver is gone; either way the value comes back.
    ///
    /// ```
    /// use ringbus::TrySendError;
    ///
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// assert_eq!(tx.try_send(10), Ok(()));
    /// assert_eq!(tx.try_send(20), Err(TrySendError::Full(20)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(30), Err(TrySendError::Disconnected(30)));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.start_send() {
            Ok(()) => {
                // SAFETY: `start_send` just found the slot at `tail` free.
                unsafe { self.write(value) };
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Disconnected(())) => Err(TrySendError::Disconnected(value)),
        }
    }

    /// Sends `value`, waiting while the ring is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if the receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// let consumer = std::thread::spawn(move || rx.iter().sum::<u32>());
    /// for i in 1..=100 {
    ///     tx.send(i).unwrap(); // waits for the consumer when the ring is full
    /// }
    /// drop(tx);
    /// assert_eq!(consumer.join().unwrap(), 5050);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None).map_err(|err| match err {
            SendTimeoutError::Disconnected(value) | SendTimeoutError::Timeout(value) => {
                SendError(value)
            }
        })
    }

    /// Sends `value`, waiting at most `timeout` while the ring is full.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if the ring stayed full,
    /// [`SendTimeoutError::Disconnected`] if the receiver is gone; either way
    /// the value comes back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::SendTimeoutError;
    ///
    /// let (tx, _rx) = ringbus::spsc::channel(1);
    /// tx.send('a').unwrap();
    /// let err = tx.send_timeout('b', Duration::from_millis(1));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout('b')));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, wait::deadline(timeout))
    }

    #[inline(always)]
    fn send_until(
        &self,
        value: T,
        deadline: Option<std::time::Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        let ring = &*self.ring;
        // Fast path: the cached `head` still shows room (no poll of the
        // receiver's line). Relaxed: as in `start_send`.
        let started = if !ring.receiver_gone.load(Ordering::Relaxed) && self.free_cached() > 0 {
            Some(Ok(()))
        } else {
            self.wait_for_room(deadline)
        };
        match started {
            Some(Ok(())) => {
                // SAFETY: the slot at `tail` is free: the cached `head` (a
                // lower bound, from an Acquire load) shows room, or
                // `wait_for_room`'s `start_send` found it.
                unsafe { self.write(value) };
                Ok(())
            }
            Some(Err(())) => Err(SendTimeoutError::Disconnected(value)),
            None => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// `send_until` once the cached `head` shows the ring full: polls the
    /// receiver's `head` until there is room, paced (see `wait::pace`). Out
    /// of line, so that the send fast path stays small.
    #[inline(never)]
    fn wait_for_room(&self, deadline: Option<std::time::Instant>) -> Option<Result<(), ()>> {
        let ring = &*self.ring;
        let mut pace = self.pace.get();
        let mut waited = false;
        let started = pace.block(ring.wait, &ring.not_full, deadline, || {
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
        started
    }

    /// Free slots from `tail` by the cached `head`: a lower bound, no poll.
    #[inline(always)]
    fn free_cached(&self) -> usize {
        self.ring.capacity() - self.tail.get().wrapping_sub(self.head.get())
    }

    /// Checks that the slot at `tail` is free and that the receiver is alive.
    #[inline]
    fn start_send(&self) -> Result<(), TrySendError<()>> {
        let ring = &*self.ring;
        // Relaxed: the flag carries no data. A send that races the receiver's
        // drop succeeds, and the ring's own drop disposes of the message.
        if ring.receiver_gone.load(Ordering::Relaxed) {
            return Err(TrySendError::Disconnected(()));
        }
        if self.free(1) == 0 {
            return Err(TrySendError::Full(()));
        }
        Ok(())
    }

    /// The number of free slots from `tail`, refreshing the cached `head`
    /// only when the cache says there are fewer than `wanted`.
    #[inline]
    fn free(&self, wanted: usize) -> usize {
        let ring = &*self.ring;
        let tail = self.tail.get();
        let cached = ring.capacity() - tail.wrapping_sub(self.head.get());
        if cached >= wanted {
            return cached;
        }
        // The cached head is a lower bound: the ring is only *possibly* full.
        // Acquire: pairs with the receiver's Release store of `head`, so its
        // reads of the slots we are about to reuse happen before our writes.
        let head = ring.head.load(Ordering::Acquire);
        self.head.set(head);
        ring.capacity() - tail.wrapping_sub(head)
    }

    /// Writes `value` at `tail` and publishes it.
    ///
    /// # Safety
    ///
    /// [`start_send`](Self::start_send) must have returned `Ok` since the last
    /// write: the slot at `tail` is free and the receiver will not touch it
    /// until `tail` moves past it.
    #[inline]
    unsafe fn write(&self, value: T) {
        let slot = self.ring.slot(self.tail.get());
        // SAFETY: the caller's contract: the slot is outside `head..tail`, so
        // only this handle may touch it, and it holds no message to leak.
        slot.with_mut(|slot| unsafe { (*slot).write(value) });
        self.publish(1);
    }

    /// Hands the `count` slots from `tail` (all written) to the receiver.
    #[inline]
    fn publish(&self, count: usize) {
        let ring = &*self.ring;
        let tail = self.tail.get().wrapping_add(count);
        // Release: pairs with the receiver's Acquire load of `tail`; the
        // writes to the slots happen before its reads.
        ring.tail.store(tail, Ordering::Release);
        self.tail.set(tail);
        if ring.wait.may_sleep() {
            ring.not_empty.notify();
        }
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::spsc::channel::<u8>(100);
    /// assert_eq!(tx.capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of messages in the ring (sent, not yet received).
    ///
    /// A snapshot: the receiver may take messages at any time.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(tx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        // Acquire: pairs with the receiver's Release store of `head`.
        let head = self.ring.head.load(Ordering::Acquire);
        self.head.set(head);
        self.tail.get().wrapping_sub(head)
    }

    /// Whether the ring holds no message.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::spsc::channel::<i32>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the ring is full: a [`try_send`](Self::try_send) now would
    /// fail with `Full` unless the receiver takes a message first.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether the receiver is gone, so that every send fails.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel::<i32>(1);
    /// drop(rx);
    /// assert!(tx.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        // Relaxed: a flag, no data travels with it.
        self.ring.receiver_gone.load(Ordering::Relaxed)
    }

    /// A snapshot of the ring's counters (see [`Stats`]): `sent` is this
    /// handle's own index, exact; `received` and `depth` are as of the load
    /// of the receiver's index. No lock, nothing added to the send path.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(2);
    /// tx.send('a').unwrap();
    /// tx.send('b').unwrap();
    /// rx.recv().unwrap();
    /// let stats = tx.stats();
    /// assert_eq!((stats.sent, stats.received, stats.depth), (2, 1, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        // Acquire: pairs with the receiver's Release store of `head` (only a
        // number is read through it).
        let head = self.ring.head.load(Ordering::Acquire);
        self.ring.stats(self.tail.get(), head)
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // Release: pairs with the receiver's Acquire load of the flag; every
        // `tail` store of this handle happens before a receiver sees it set.
        self.ring.sender_gone.store(true, Ordering::Release);
        // Wake a parked receiver so that it sees the disconnection.
        self.ring.not_empty.notify();
        // Last: the sink's held item may panic as it drops, and the
        // disconnection above must have happened by then.
        #[cfg(feature = "async")]
        crate::future::cancel_sink(self, |s| &mut s.sink);
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Takes the oldest message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if the ring is empty and the sender alive,
    /// [`TryRecvError::Disconnected`] if it is empty and the sender gone.
    ///
    /// ```
    /// use ringbus::TryRecvError;
    ///
    /// let (tx, rx) = ringbus::spsc::channel(2);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1)); // drained first,
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected)); // then disconnected
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.start_recv()?;
        // SAFETY: `start_recv` just found a message at `head`.
        Ok(unsafe { self.read() })
    }

    /// Takes the oldest message, waiting while the ring is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and the sender gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// std::thread::spawn(move || tx.send("hi").unwrap());
    /// assert_eq!(rx.recv(), Ok("hi"));
    /// assert_eq!(rx.recv(), Err(ringbus::RecvError));
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Takes the oldest message, waiting at most `timeout` while the ring is
    /// empty.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing came in time,
    /// [`RecvTimeoutError::Disconnected`] once the ring is empty and the
    /// sender gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::RecvTimeoutError;
    ///
    /// let (tx, rx) = ringbus::spsc::channel::<u8>(1);
    /// let timeout = Duration::from_millis(1);
    /// assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(wait::deadline(timeout))
    }

    #[inline(always)]
    fn recv_until(&self, deadline: Option<std::time::Instant>) -> Result<T, RecvTimeoutError> {
        // Fast path: the cached `tail` still shows a message (no poll of the
        // sender's line).
        let started = if self.tail.get() != self.head.get() {
            Some(Ok(()))
        } else {
            self.wait_caught_up(deadline)
        };
        match started {
            // SAFETY: a message waits at `head`: the cached `tail` (from an
            // Acquire load of the sender's Release store) is past it, or
            // `wait_caught_up`'s `start_recv` found one.
            Some(Ok(())) => Ok(unsafe { self.read() }),
            Some(Err(())) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// `recv_until` once the cached `tail` is used up: polls the sender's
    /// `tail` until a message comes, paced (see `wait::pace`). Out of line,
    /// so that the receive fast path stays small.
    #[inline(never)]
    fn wait_caught_up(&self, deadline: Option<std::time::Instant>) -> Option<Result<(), ()>> {
        let ring = &*self.ring;
        let mut pace = self.pace.get();
        let started = pace.block(ring.wait, &ring.not_empty, deadline, || {
            match self.start_recv() {
                Ok(()) => Some(Ok(())),
                Err(TryRecvError::Disconnected) => Some(Err(())),
                Err(TryRecvError::Empty) => None,
            }
        });
        self.pace.set(pace);
        started
    }

    /// Checks that a message waits at `head`, refreshing the cached `tail`.
    #[inline]
    fn start_recv(&self) -> Result<(), TryRecvError> {
        if self.available(1) > 0 {
            return Ok(());
        }
        // Empty. Acquire: pairs with the sender's Release store of the flag in
        // its `drop`, which comes after its last store of `tail`...
        if self.ring.sender_gone.load(Ordering::Acquire) {
            // ...so this refresh sees the final `tail`: drain, then disconnect.
            if self.available(1) > 0 {
                return Ok(());
            }
            return Err(TryRecvError::Disconnected);
        }
        Err(TryRecvError::Empty)
    }

    /// The number of messages readable from `head`, refreshing the cached
    /// `tail` only when the cache says there are fewer than `wanted`.
    #[inline]
    fn available(&self, wanted: usize) -> usize {
        let head = self.head.get();
        let cached = self.tail.get().wrapping_sub(head);
        if cached >= wanted {
            return cached;
        }
        // *Possibly* empty. Acquire: pairs with the sender's Release store of
        // `tail`; its writes to the slots before `tail` happen before our reads.
        let tail = self.ring.tail.load(Ordering::Acquire);
        self.tail.set(tail);
        tail.wrapping_sub(head)
    }

    /// Moves the message at `head` out and releases its slot.
    ///
    /// # Safety
    ///
    /// [`start_recv`](Self::start_recv) must have returned `Ok` since the last
    /// read: the slot at `head` holds a message that only this handle may
    /// touch.
    #[inline]
    unsafe fn read(&self) -> T {
        let ring = &*self.ring;
        let head = self.head.get();
        let slot = ring.slot(head);
        // SAFETY: the caller's contract: `head` is in `head..tail`, the slot
        // was initialised before the `tail` store we acquired, and `head`
        // moves past it next, so moving the value out reads it once.
        let value = slot.with(|slot| unsafe { (*slot).assume_init_read() });
        self.release(1);
        value
    }

    /// Hands the `count` slots from `head` (all emptied) back to the sender.
    #[inline]
    fn release(&self, count: usize) {
        let ring = &*self.ring;
        let head = self.head.get().wrapping_add(count);
        // Release: pairs with the sender's Acquire load of `head`; our reads
        // of the slots happen before it reuses them.
        ring.head.store(head, Ordering::Release);
        self.head.set(head);
        if ring.wait.may_sleep() {
            ring.not_full.notify();
        }
    }

    /// The oldest message, left in the ring; `None` if there is none.
    ///
    /// Takes `&mut self` so that no receive can move the message out while
    /// the reference lives.
    ///
    /// ```
    /// let (tx, mut rx) = ringbus::spsc::channel(2);
    /// assert_eq!(rx.peek(), None);
    /// tx.send(String::from("look")).unwrap();
    /// assert_eq!(rx.peek().map(String::as_str), Some("look"));
    /// assert_eq!(rx.recv().unwrap(), "look"); // still there
    /// ```
    pub fn peek(&mut self) -> Option<&T> {
        if self.available(1) == 0 {
            return None;
        }
        let slot = self.ring.slot(self.head.get());
        // `head` is in `head..tail`: the sender published the slot (we
        // acquired its `tail` store) and will not touch it until `head` moves.
        // SAFETY: so it holds a message, and `&mut self` keeps `head` still
        // while the returned borrow lives.
        Some(slot.with(|slot| unsafe { (*slot).assume_init_ref() }))
    }

    /// An iterator over the messages already in the ring: it never waits, and
    /// ends at the first `Empty` or `Disconnected`.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// An iterator that waits for each message and ends when the ring is
    /// empty and the sender gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(4);
    /// std::thread::spawn(move || (0..10).for_each(|i| tx.send(i).unwrap()));
    /// assert_eq!(rx.iter().count(), 10);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::spsc::channel::<u8>(5);
    /// assert_eq!(rx.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of messages waiting to be received.
    ///
    /// A snapshot: the sender may add messages at any time.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(4);
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        // Acquire: pairs with the sender's Release store of `tail`.
        let tail = self.ring.tail.load(Ordering::Acquire);
        self.tail.set(tail);
        tail.wrapping_sub(self.head.get())
    }

    /// Whether no message is waiting.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::spsc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the ring is full.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether the sender is gone. Messages it sent may still wait in the
    /// ring.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_disconnected());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_disconnected(&self) -> bool {
        // Acquire: pairs with the Release store in `Sender::drop`.
        self.ring.sender_gone.load(Ordering::Acquire)
    }

    /// A snapshot of the ring's counters (see [`Stats`]): `received` is this
    /// handle's own index, exact; `sent` and `depth` are as of the load of
    /// the sender's index. No lock, nothing added to the receive path.
    ///
    /// ```
    /// let (tx, rx) = ringbus::spsc::channel(1);
    /// let sender = std::thread::spawn(move || (0..3).for_each(|i| tx.send(i).unwrap()));
    /// assert_eq!(rx.iter().count(), 3);
    /// sender.join().unwrap();
    /// let stats = rx.stats();
    /// assert_eq!((stats.sent, stats.received, stats.depth), (3, 3, 0));
    /// assert!(stats.full_waits <= 2); // how often the sender found it full
    /// ```
    pub fn stats(&self) -> Stats {
        // Acquire: pairs with the sender's Release store of `tail`.
        let tail = self.ring.tail.load(Ordering::Acquire);
        self.ring.stats(tail, self.head.get())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        #[cfg(feature = "async")]
        crate::future::cancel_stream(self, |r| &mut r.stream);
        // Relaxed: a flag, no data travels with it (see `start_send`).
        self.ring.receiver_gone.store(true, Ordering::Relaxed);
        // Wake a parked sender so that it sees the disconnection.
        self.ring.not_full.notify();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// An iterator over the messages already waiting, from
/// [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// A waiting iterator over the messages, from [`Receiver::iter`]; ends when
/// the ring is empty and the sender gone.
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

/// A waiting iterator that owns the [`Receiver`]; ends when the ring is empty
/// and the sender gone.
///
/// ```
/// let (tx, rx) = ringbus::spsc::channel(8);
/// for i in 0..3 {
///     tx.send(i).unwrap();
/// }
/// drop(tx);
/// let all: Vec<i32> = rx.into_iter().collect();
/// assert_eq!(all, [0, 1, 2]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
