//! A bounded multi-producer multi-consumer ring: any number of threads send,
//! any number receive, and each message is taken by exactly one receiver.
//!
//! # Algorithm
//!
//! Dmitry Vyukov's bounded MPMC queue ("Bounded MPMC queue", 1024cores.net,
//! 2010), the algorithm behind crossbeam's `ArrayQueue` and the array flavor
//! of crossbeam-channel. Two shared indices, `tail` (senders claim it) and
//! `head` (receivers claim it), run forward over a power-of-two array of
//! slots. Each slot carries a **stamp** that says whose turn it is:
//!
//! ```text
//!   the slot of index i (i & mask), lap by lap (cap = capacity):
//!
//!     stamp == 2i           free: the sender that claims index i may write
//!     stamp == 2i + 1       full: the receiver that claims index i may read
//!     stamp == 2(i + cap)   free again, for the sender of index i + cap
//!
//!   capacity 4, head = 5, tail = 7: the messages of indices 5 and 6 wait
//!
//!   slot:          0        1        2        3
//!   stamp:     [  2·8  |  2·5+1 |  2·6+1 |  2·7  ]
//!                free     full     full     free
//!              (for 8)  (head)            (tail)
//! ```
//!
//! (Doubling the index keeps "full for index i" and "free for index i + 1"
//! apart even when the capacity is 1, which Vyukov's original `i + 1`
//! encoding cannot.)
//!
//! A sender loads `tail = t`, then the stamp of slot `t`:
//!
//! - `stamp == 2t`: the slot is free for this lap. Claim index `t` by a
//!   compare-exchange of `tail` from `t` to `t + 1`; the winner alone writes
//!   the value, then stores `stamp = 2t + 1` with `Release`.
//! - `stamp < 2t` (the previous lap's message is still there, or being read):
//!   the ring is full.
//! - `stamp > 2t`: another sender already claimed `t`; reload `tail`.
//!
//! A receiver mirrors it on `head = h`: it reads when `stamp == 2h + 1`,
//! claims `h` by compare-exchange, moves the value out, and stores
//! `stamp = 2(h + cap)` with `Release`; `stamp < 2h + 1` means empty.
//!
//! Why nothing is lost or duplicated: the compare-exchange hands each index
//! to exactly one sender and exactly one receiver; the stamp then orders the
//! two (the receiver reads only after acquiring `stamp = t + 1`, the next
//! lap's sender writes only after acquiring `stamp = h + cap`). Indices are
//! never reduced modulo the capacity, so stamps of different laps never look
//! alike; they compare by wrapping difference.
//!
//! # Disconnection and drop
//!
//! Handles count themselves. When the last [`Sender`] drops, receivers drain
//! what is left, then get `Disconnected`; when the last [`Receiver`] drops,
//! sends fail and hand the value back. Messages left in the ring are dropped
//! with it, exactly once.
//!
//! # Example
//!
//! ```
//! use std::thread;
//!
//! let (tx, rx) = ringbus::mpmc::channel::<u32>(64);
//! let producers: Vec<_> = (0..2)
//!     .map(|p| {
//!         let tx = tx.clone();
//!         thread::spawn(move || (0..100).for_each(|i| tx.send(p * 1000 + i).unwrap()))
//!     })
//!     .collect();
//! drop(tx);
//! let consumers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let rx = rx.clone();
//!         thread::spawn(move || rx.iter().count())
//!     })
//!     .collect();
//! drop(rx);
//! producers.into_iter().for_each(|p| p.join().unwrap());
//! let received: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
//! assert_eq!(received, 200);
//! ```

use std::fmt;
use std::mem::MaybeUninit;
use std::time::{Duration, Instant};

use crate::capacity::CapacityError;
use crate::error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
use crate::stats::{count_full_wait, Stats};
use crate::sync::{Arc, AtomicUsize, Backoff, CachePadded, Mutex, Ordering, UnsafeCell};
use crate::wait::pace::SharedPace;
use crate::wait::{self, Signal, Wait};

pub(crate) mod task;

/// Creates a ring of at least `capacity` slots with the default [`Wait`]
/// strategy, and returns its two ends (both `Clone`).
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of the ring
/// overflows.
///
/// ```
/// let (tx, rx) = ringbus::mpmc::channel::<u8>(3);
/// assert_eq!(tx.capacity(), 4);
/// tx.clone().send(1).unwrap();
/// assert_eq!(rx.clone().recv(), Ok(1));
/// ```
///
/// ```should_panic
/// let _ = ringbus::mpmc::channel::<u8>(0); // panics: capacity must be greater than 0
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    Builder::new(capacity).build()
}

/// Sets a ring's options, then builds it.
///
/// ```
/// use ringbus::{mpmc, Wait};
///
/// let (tx, rx) = mpmc::Builder::new(100).wait(Wait::Yield).build::<u64>();
/// assert_eq!(tx.capacity(), 128);
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

    /// How senders and receivers wait when they block (default:
    /// [`Wait::Backoff`]).
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
        (Sender::new(ring.clone()), Receiver::new(ring))
    }

    /// [`build`](Self::build), or why the capacity cannot make the ring,
    /// the allocator's refusal included (for the bus, which must not panic).
    // The bus (not built under loom) is the only caller.
    #[cfg_attr(ringbus_loom, allow(dead_code))]
    pub(crate) fn try_build<T>(self) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
        let ring = Arc::new(Ring::try_new(self.capacity, self.wait)?);
        Ok((Sender::new(ring.clone()), Receiver::new(ring)))
    }
}

/// One slot: a message and the stamp that says whose turn it is.
struct Slot<T> {
    /// `2i` (free for the sender of index `i`) or `2i + 1` (full, for the
    /// receiver of index `i`), where `i` is the index that maps to this slot
    /// in the current lap. See the module doc.
    stamp: AtomicUsize,
    /// The message, initialised exactly while `stamp == 2i + 1`.
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    /// Slot `i` of a new ring: free for the sender of index `i`.
    fn free(i: usize) -> Self {
        Slot {
            stamp: AtomicUsize::new(free_stamp(i)),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// The memory every handle shares.
struct Ring<T> {
    /// The next index a receiver claims. Compare-exchanged by receivers.
    head: CachePadded<AtomicUsize>,
    /// The next index a sender claims. Compare-exchanged by senders.
    tail: CachePadded<AtomicUsize>,
    /// Live handles of each side; written only on clone and drop.
    handles: CachePadded<Handles>,
    /// Where receivers park while the ring is empty.
    not_empty: CachePadded<Signal>,
    /// Where senders park while the ring is full.
    not_full: CachePadded<Signal>,
    /// Sends that found the ring full and waited (metrics). Bumped only on
    /// the waiting path, on a line of its own.
    full_waits: CachePadded<AtomicUsize>,
    /// How a blocked side waits; whether the other side must notify.
    wait: Wait,
    /// `capacity - 1`: maps an index to its slot.
    mask: usize,
    /// The slots.
    slots: Box<[Slot<T>]>,
}

/// How many handles of each side are alive.
struct Handles {
    /// Live [`Sender`]s; 0 means disconnected for receivers. 0 is not
    /// final: a ring from [`channel`] has no sender left to clone, but a
    /// bus endpoint's [`Anchor::sender`] mints one after every earlier
    /// sender dropped, raising the count from 0 and reconnecting the side.
    /// Nothing relies on 0 staying 0: a receiver that reads 0 looks at the
    /// ring once more and says `Disconnected` only if that look finds it
    /// empty, which was true when it read 0; a sender minted later is seen
    /// by the next receive.
    senders: AtomicUsize,
    /// Live [`Receiver`]s; 0 means disconnected for senders. Like
    /// `senders`, it rises from 0 when [`Anchor::receiver`] mints a receiver
    /// after every earlier one dropped.
    receivers: AtomicUsize,
}

// The ring moves `T`s between threads. Each slot's value is accessed by one
// thread at a time: the one whose compare-exchange claimed its index, after
// acquiring the stamp that handed the slot over.
// SAFETY: hence `T: Send` and no `T: Sync`.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Ring<T> {}

/// Signed distance from `b` to `a` for wrapping indices and stamps.
#[inline]
fn diff(a: usize, b: usize) -> isize {
    a.wrapping_sub(b) as isize
}

/// The stamp of a slot free for the sender of `index`. A slot is at least 8
/// bytes (its stamp), so a ring has at most `2^60` slots and doubled
/// distances stay far from the sign bit.
#[inline]
fn free_stamp(index: usize) -> usize {
    index.wrapping_mul(2)
}

/// The stamp of a slot holding the message of `index`.
#[inline]
fn full_stamp(index: usize) -> usize {
    index.wrapping_mul(2) | 1
}

impl<T> Ring<T> {
    #[track_caller]
    fn new(capacity: usize, wait: Wait) -> Self {
        let slots = crate::capacity::slots::<Slot<T>>(capacity);
        Ring::with_slots(crate::capacity::alloc(slots, Slot::free), wait)
    }

    /// [`new`](Self::new), or why `capacity` cannot make the ring.
    fn try_new(capacity: usize, wait: Wait) -> Result<Self, CapacityError> {
        let slots = crate::capacity::try_slots::<Slot<T>>(capacity)?;
        Ok(Ring::with_slots(
            crate::capacity::try_alloc(slots, Slot::free)?,
            wait,
        ))
    }

    fn with_slots(slots: Box<[Slot<T>]>, wait: Wait) -> Self {
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            handles: CachePadded::new(Handles {
                senders: AtomicUsize::new(1),
                receivers: AtomicUsize::new(1),
            }),
            not_empty: CachePadded::new(Signal::new()),
            not_full: CachePadded::new(Signal::new()),
            full_waits: CachePadded::new(AtomicUsize::new(0)),
            wait,
            mask: slots.len() - 1,
            slots,
        }
    }

    #[inline]
    fn capacity(&self) -> usize {
        self.mask + 1
    }

    #[inline]
    fn slot(&self, index: usize) -> &Slot<T> {
        &self.slots[index & self.mask]
    }

    /// Claims a free slot, or says why there is none. On success the caller
    /// owns index `t` and must [`write`](Self::write) it.
    #[inline]
    fn start_send(&self) -> Result<usize, TrySendError<()>> {
        // Relaxed: the count carries no data. A send racing the last
        // receiver's drop succeeds and the ring's drop disposes of it.
        if self.handles.receivers.load(Ordering::Relaxed) == 0 {
            return Err(TrySendError::Disconnected(()));
        }
        let backoff = Backoff::new();
        // Relaxed: only a hint where to look; the stamp decides.
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(tail);
            // Acquire: pairs with the Release store of the receiver that
            // emptied this slot on the previous lap (`stamp = 2(h + cap)`):
            // its read happens before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            match diff(stamp, free_stamp(tail)) {
                // Free for this lap: claim index `tail`.
                0 => {
                    // Relaxed: the compare-exchange only picks one sender;
                    // the stamp loaded above carried the synchronisation.
                    match self.tail.compare_exchange_weak(
                        tail,
                        tail.wrapping_add(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => return Ok(tail),
                        Err(current) => {
                            tail = current;
                            backoff.spin();
                        }
                    }
                }
                // The previous lap's message is still in the slot: full.
                d if d < 0 => return Err(TrySendError::Full(())),
                // Another sender claimed `tail` already: look again.
                _ => {
                    backoff.spin();
                    // Relaxed: a hint where to look, as above; the stamp decides.
                    tail = self.tail.load(Ordering::Relaxed);
                }
            }
        }
    }

    /// Whether the slot of index `tail` looks free for its lap (or claimed
    /// already): a hint for pacing (`wait::pace`), nothing more.
    fn looks_free(&self, tail: usize) -> bool {
        // Relaxed: a timing hint; no slot is claimed or read through it.
        diff(
            self.slot(tail).stamp.load(Ordering::Relaxed),
            free_stamp(tail),
        ) >= 0
    }

    /// Whether the message of index `head` looks written (or taken
    /// already): a hint for pacing (`wait::pace`), nothing more.
    fn looks_full(&self, head: usize) -> bool {
        // Relaxed: a timing hint; no slot is claimed or read through it.
        diff(
            self.slot(head).stamp.load(Ordering::Relaxed),
            full_stamp(head),
        ) >= 0
    }

    /// Writes `value` into the slot of index `tail` and publishes it.
    ///
    /// # Safety
    ///
    /// `tail` must come from a successful [`start_send`](Self::start_send)
    /// that has not been written yet.
    #[inline]
    unsafe fn write(&self, tail: usize, value: T) {
        let slot = self.slot(tail);
        // SAFETY: our compare-exchange claimed index `tail`, and the stamp we
        // acquired said the slot is free (its last message was moved out), so
        // no other thread touches it until we store the stamp below.
        slot.value.with_mut(|v| unsafe { (*v).write(value) });
        // Release: pairs with the Acquire stamp load of the receiver that
        // claims `tail`: the write above happens before its read.
        slot.stamp.store(full_stamp(tail), Ordering::Release);
        if self.wait.may_sleep() {
            self.not_empty.notify();
        }
    }

    /// Claims a full slot, or says why there is none. On success the caller
    /// owns index `h` and must [`read`](Self::read) it.
    #[inline]
    fn start_recv(&self) -> Result<usize, TryRecvError> {
        let backoff = Backoff::new();
        // Relaxed: only a hint where to look; the stamp decides.
        let mut head = self.head.load(Ordering::Relaxed);
        let mut seen_disconnected = false;
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the Release store of the sender that filled
            // this slot (`stamp = 2t + 1`): its write happens before our read.
            let stamp = slot.stamp.load(Ordering::Acquire);
            match diff(stamp, full_stamp(head)) {
                // Full for this lap: claim index `head`.
                0 => {
                    // Relaxed: as in `start_send`.
                    match self.head.compare_exchange_weak(
                        head,
                        head.wrapping_add(1),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    ) {
                        Ok(_) => return Ok(head),
                        Err(current) => {
                            head = current;
                            backoff.spin();
                        }
                    }
                }
                // Nothing sent into this slot for this lap yet: empty.
                d if d < 0 => {
                    if seen_disconnected {
                        return Err(TryRecvError::Disconnected);
                    }
                    // Acquire: pairs with the last sender's AcqRel decrement
                    // in `Sender::drop`; every sender's stamp stores happen
                    // before we see 0...
                    if self.handles.senders.load(Ordering::Acquire) != 0 {
                        return Err(TryRecvError::Empty);
                    }
                    // ...so one more look sees every message: drain first.
                    seen_disconnected = true;
                    // Relaxed: a hint where to look; the stamp decides.
                    head = self.head.load(Ordering::Relaxed);
                }
                // Another receiver claimed `head` already: look again.
                _ => {
                    backoff.spin();
                    // Relaxed: a hint where to look, as above; the stamp decides.
                    head = self.head.load(Ordering::Relaxed);
                }
            }
        }
    }

    /// Moves the message of index `head` out and frees its slot for the next
    /// lap.
    ///
    /// # Safety
    ///
    /// `head` must come from a successful [`start_recv`](Self::start_recv)
    /// that has not been read yet.
    #[inline]
    unsafe fn read(&self, head: usize) -> T {
        let slot = self.slot(head);
        // SAFETY: our compare-exchange claimed index `head`, and the stamp we
        // acquired said its sender finished writing; no other thread touches
        // the slot until we store the stamp below.
        let value = slot.value.with(|v| unsafe { (*v).assume_init_read() });
        // Release: pairs with the Acquire stamp load of the sender of index
        // `head + cap`: our read happens before its write.
        let next_lap = head.wrapping_add(self.capacity());
        // Release: see the comment above `next_lap`.
        slot.stamp.store(free_stamp(next_lap), Ordering::Release);
        if self.wait.may_sleep() {
            self.not_full.notify();
        }
        value
    }

    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.start_send() {
            Ok(tail) => {
                // SAFETY: `start_send` just claimed `tail`.
                unsafe { self.write(tail, value) };
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Disconnected(())) => Err(TrySendError::Disconnected(value)),
        }
    }

    /// Sends `value`, waiting (paced by the sender's `pace`) while the ring
    /// is full, until `deadline` if there is one.
    fn send_until(
        &self,
        value: T,
        deadline: Option<Instant>,
        pace: &SharedPace,
    ) -> Result<(), SendTimeoutError<T>> {
        let attempt = || match self.start_send() {
            Ok(tail) => Some(Ok(tail)),
            Err(TrySendError::Disconnected(())) => Some(Err(())),
            Err(TrySendError::Full(())) => None,
        };
        // One look without waiting: a sender that finds room pays nothing
        // for the pacing.
        let claimed = attempt().or_else(|| {
            // Counted once, here: this send waits from now on.
            count_full_wait(&self.full_waits, &mut false);
            pace.block(self.wait, &self.not_full, deadline, attempt, |claimed| {
                // A pacing hint: after a pause, was the slot after ours free
                // too?
                claimed.map_or(true, |tail| self.looks_free(tail.wrapping_add(1)))
            })
        });
        match claimed {
            Some(Ok(tail)) => {
                // SAFETY: `start_send` claimed `tail`.
                unsafe { self.write(tail, value) };
                Ok(())
            }
            Some(Err(())) => Err(SendTimeoutError::Disconnected(value)),
            None => Err(SendTimeoutError::Timeout(value)),
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        let head = self.start_recv()?;
        // SAFETY: `start_recv` just claimed `head`.
        Ok(unsafe { self.read(head) })
    }

    /// Takes a message, waiting (paced by the receiver's `pace`) while the
    /// ring is empty, until `deadline` if there is one.
    fn recv_until(
        &self,
        deadline: Option<Instant>,
        pace: &SharedPace,
    ) -> Result<T, RecvTimeoutError> {
        let attempt = || match self.start_recv() {
            Ok(head) => Some(Ok(head)),
            Err(TryRecvError::Disconnected) => Some(Err(())),
            Err(TryRecvError::Empty) => None,
        };
        // One look without waiting, as in `send_until`.
        let claimed = attempt().or_else(|| {
            pace.block(self.wait, &self.not_empty, deadline, attempt, |claimed| {
                // A pacing hint: after a pause, was the message after ours
                // written too?
                claimed.map_or(true, |head| self.looks_full(head.wrapping_add(1)))
            })
        });
        match claimed {
            // SAFETY: `start_recv` claimed `head`.
            Some(Ok(head)) => Ok(unsafe { self.read(head) }),
            Some(Err(())) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }

    /// The number of messages in the ring: a consistent snapshot of `tail -
    /// head`, clamped to `0..=capacity` (claimed but unfinished operations
    /// count as done).
    fn len(&self) -> usize {
        loop {
            // Relaxed: a snapshot of two counters; re-reading `tail` detects
            // that it moved in between.
            let tail = self.tail.load(Ordering::Relaxed);
            // Relaxed: part of the snapshot above.
            let head = self.head.load(Ordering::Relaxed);
            // Relaxed: the re-read of the snapshot above.
            if self.tail.load(Ordering::Relaxed) == tail {
                let len = diff(tail, head).max(0) as usize;
                return len.min(self.capacity());
            }
        }
    }
}

impl<T> Ring<T> {
    /// A snapshot of the counters: the indices count claims, so a message
    /// being written counts as sent and one being read as received.
    fn stats(&self) -> Stats {
        // Relaxed: counters read for reporting, no data travels with them.
        // `head` first: it never passes `tail`, so the `tail` read after it
        // is normally at least as large (a relaxed pair promises nothing
        // across the two words; `Stats::new` clamps the depth).
        let head = self.head.load(Ordering::Relaxed);
        // Relaxed: as `head`, a snapshot for reporting.
        let tail = self.tail.load(Ordering::Relaxed);
        // Relaxed: a counter read for reporting.
        let full_waits = self.full_waits.load(Ordering::Relaxed);
        Stats::new(tail, head, full_waits, self.capacity())
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means every handle is gone, and dropping the
        // last `Arc` ordered their final stores before this point. Every index
        // in `head..tail` was claimed and written by a sender and claimed by
        // no receiver.
        let head = self.head.load(Ordering::Relaxed);
        // Relaxed: as `head` above (`&mut self`).
        let tail = self.tail.load(Ordering::Relaxed);
        let ring = &*self;
        crate::leftovers::drop_each(head, tail, &|index| {
            // SAFETY: see above; `drop_each` visits each such message once.
            ring.slot(index)
                .value
                .with_mut(|v| unsafe { (*v).assume_init_drop() });
        });
    }
}

/// The number of slots of a ring of at least `capacity` messages of type
/// `T`, or why there can be no such ring: the check [`Builder::build`] makes
/// (and panics on), for callers that must not panic (the bus).
// The bus (not built under loom) is the only caller.
#[cfg_attr(ringbus_loom, allow(dead_code))]
pub(crate) fn try_slots<T>(capacity: usize) -> Result<usize, CapacityError> {
    crate::capacity::try_slots::<Slot<T>>(capacity)
}

/// A ring that mints its handles on demand: the bus's endpoints, where either
/// side may connect first and may come back after leaving.
///
/// The ring is built with one sender and one receiver, the *seeds*, kept here
/// until the first handle of that side is asked for: while a side's seed is
/// held, the other side does not see it as gone (a sender with no receiver yet
/// buffers and then waits; a receiver with no sender yet waits). Once a side's
/// minted handles have all dropped, the other side sees it disconnected, as
/// with [`channel`]; minting another handle of that side reconnects it.
///
/// Minting takes a lock (connect time only); the handles it returns are the
/// ordinary lock-free [`Sender`] and [`Receiver`].
// The bus (not built under loom) mints handles through these.
#[cfg_attr(ringbus_loom, allow(dead_code))]
pub(crate) struct Anchor<T> {
    ring: Arc<Ring<T>>,
    /// The seed sender, until the first sender is asked for.
    sender_seed: Mutex<Option<Sender<T>>>,
    /// The seed receiver, until the first receiver is asked for.
    receiver_seed: Mutex<Option<Receiver<T>>>,
}

impl<T> Anchor<T> {
    /// A ring of at least `capacity` slots, no side connected yet.
    ///
    /// # Panics
    ///
    /// As [`Builder::build`].
    #[track_caller]
    pub(crate) fn new(capacity: usize, wait: Wait) -> Self {
        Anchor::with_pair(Builder::new(capacity).wait(wait).build())
    }

    /// [`new`](Self::new), or why `capacity` cannot make the ring (for the
    /// bus, which must not panic).
    pub(crate) fn try_new(capacity: usize, wait: Wait) -> Result<Self, CapacityError> {
        Ok(Anchor::with_pair(
            Builder::new(capacity).wait(wait).try_build()?,
        ))
    }

    fn with_pair((tx, rx): (Sender<T>, Receiver<T>)) -> Self {
        Anchor {
            ring: tx.ring.clone(),
            sender_seed: Mutex::new(Some(tx)),
            receiver_seed: Mutex::new(Some(rx)),
        }
    }

    /// A sender: the seed if no sender was minted yet, else a new one.
    pub(crate) fn sender(&self) -> Sender<T> {
        let mut seed = self.sender_seed.lock().unwrap_or_else(|p| p.into_inner());
        seed.take().unwrap_or_else(|| {
            // Relaxed: a count, as in `Sender::clone`. Rising from 0 (every
            // minted sender gone) reconnects the side; no data travels with
            // the count, messages are ordered by the slot stamps.
            self.ring.handles.senders.fetch_add(1, Ordering::Relaxed);
            Sender::new(self.ring.clone())
        })
    }

    /// The ring's counters (for the bus's endpoint stats).
    pub(crate) fn stats(&self) -> Stats {
        self.ring.stats()
    }

    /// A receiver: the seed if no receiver was minted yet, else a new one.
    pub(crate) fn receiver(&self) -> Receiver<T> {
        let mut seed = self.receiver_seed.lock().unwrap_or_else(|p| p.into_inner());
        seed.take().unwrap_or_else(|| {
            // Relaxed: as in `sender`.
            self.ring.handles.receivers.fetch_add(1, Ordering::Relaxed);
            Receiver::new(self.ring.clone())
        })
    }
}

/// A sending end of an [`mpmc`](self) ring. Clone it for more producers;
/// the receivers disconnect when the last clone drops.
///
/// `Send` and `Sync` when `T: Send`.
pub struct Sender<T> {
    ring: Arc<Ring<T>>,
    /// Whether to pause before polling again (see `wait::pace`).
    pace: SharedPace,
    /// The state of this sender as a `Sink` (feature `async`).
    #[cfg(feature = "async")]
    sink: crate::future::SinkState<T>,
}

/// A receiving end of an [`mpmc`](self) ring. Clone it for more consumers:
/// each message goes to exactly one of them. Senders disconnect when the
/// last clone drops.
///
/// `Send` and `Sync` when `T: Send`.
pub struct Receiver<T> {
    ring: Arc<Ring<T>>,
    /// Whether to pause before polling again (see `wait::pace`).
    pace: SharedPace,
    /// The waker registration of this receiver as a `Stream` (feature
    /// `async`).
    #[cfg(feature = "async")]
    stream: crate::future::sealed::Slot,
}

impl<T> Sender<T> {
    /// A handle on `ring`; the caller has counted it.
    fn new(ring: Arc<Ring<T>>) -> Self {
        Sender {
            ring,
            pace: SharedPace::default(),
            #[cfg(feature = "async")]
            sink: Default::default(),
        }
    }

    /// Sends `value` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the ring is full, [`TrySendError::Disconnected`]
    /// if every receiver is gone; either way the value comes back.
    ///
    /// ```
    /// use ringbus::TrySendError;
    ///
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// assert_eq!(tx.try_send(10), Ok(()));
    /// assert_eq!(tx.try_send(20), Err(TrySendError::Full(20)));
    /// drop(rx);
    /// assert_eq!(tx.try_send(30), Err(TrySendError::Disconnected(30)));
    /// ```
    #[inline]
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.ring.try_send(value)
    }

    /// Sends `value`, waiting while the ring is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// let consumer = std::thread::spawn(move || rx.iter().sum::<u32>());
    /// for i in 1..=100 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(consumer.join().unwrap(), 5050);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.ring
            .send_until(value, None, &self.pace)
            .map_err(|err| match err {
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
    /// [`SendTimeoutError::Disconnected`] if every receiver is gone; either
    /// way the value comes back.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::SendTimeoutError;
    ///
    /// let (tx, _rx) = ringbus::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// let err = tx.send_timeout(2, Duration::from_millis(1));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.ring
            .send_until(value, wait::deadline(timeout), &self.pace)
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::mpmc::channel::<u8>(100);
    /// assert_eq!(tx.capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of messages in the ring. A snapshot: other handles may
    /// change it at any time.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether the ring holds no message.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::mpmc::channel::<u8>(4);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the ring is full.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether every receiver is gone, so that every send fails.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel::<u8>(1);
    /// drop(rx);
    /// assert!(tx.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        // Relaxed: a count, no data travels with it.
        self.ring.handles.receivers.load(Ordering::Relaxed) == 0
    }

    /// A snapshot of the ring's counters, shared by every handle (see
    /// [`Stats`]). No lock, nothing added to the send path.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(4);
    /// let other = tx.clone();
    /// tx.send(1).unwrap();
    /// other.send(2).unwrap();
    /// assert_eq!(rx.recv(), Ok(1));
    /// let stats = tx.stats();
    /// assert_eq!((stats.sent, stats.received, stats.depth), (2, 1, 1));
    /// ```
    pub fn stats(&self) -> Stats {
        self.ring.stats()
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender on the same ring.
    fn clone(&self) -> Self {
        // Relaxed: we hold a sender, so the count is at least 1 and cannot
        // reach 0 meanwhile; nothing is published through it.
        self.ring.handles.senders.fetch_add(1, Ordering::Relaxed);
        Sender::new(self.ring.clone())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        // AcqRel: the release half makes this sender's stamp stores visible
        // to a receiver that acquires the count 0 (pairs with the Acquire load
        // in `start_recv`); the acquire half continues the release sequence of
        // the senders that dropped before us.
        if self.ring.handles.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Wake parked receivers so that they see the disconnection.
            self.ring.not_empty.notify();
        }
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
    /// A handle on `ring`; the caller has counted it.
    fn new(ring: Arc<Ring<T>>) -> Self {
        Receiver {
            ring,
            pace: SharedPace::default(),
            #[cfg(feature = "async")]
            stream: Default::default(),
        }
    }

    /// This handle, its waits made for the other side's answer: a
    /// request/reply replier's next request comes from a requester that
    /// just got its reply, so it spins longer before it yields
    /// (`wait::patience`). Its clones wait as usual.
    pub(crate) fn for_round_trips(mut self) -> Self {
        self.pace = SharedPace::for_round_trips();
        self
    }

    /// Takes the oldest message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if the ring is empty and a sender alive,
    /// [`TryRecvError::Disconnected`] if it is empty and every sender gone.
    ///
    /// ```
    /// use ringbus::TryRecvError;
    ///
    /// let (tx, rx) = ringbus::mpmc::channel(2);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.ring.try_recv()
    }

    /// Takes the oldest message, waiting while the ring is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and every sender gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// std::thread::spawn(move || tx.send("hi").unwrap());
    /// assert_eq!(rx.recv(), Ok("hi"));
    /// assert_eq!(rx.recv(), Err(ringbus::RecvError));
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.ring
            .recv_until(None, &self.pace)
            .map_err(|_| RecvError)
    }

    /// Takes the oldest message, waiting at most `timeout` while the ring is
    /// empty.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing came in time,
    /// [`RecvTimeoutError::Disconnected`] once the ring is empty and every
    /// sender gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::RecvTimeoutError;
    ///
    /// let (tx, rx) = ringbus::mpmc::channel::<u8>(1);
    /// let timeout = Duration::from_millis(1);
    /// assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(timeout), Err(RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.ring.recv_until(wait::deadline(timeout), &self.pace)
    }

    /// An iterator over the messages already in the ring: it never waits, and
    /// ends at the first `Empty` or `Disconnected`.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// An iterator that waits for each message and ends when the ring is
    /// empty and every sender gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(4);
    /// std::thread::spawn(move || (0..10).for_each(|i| tx.send(i).unwrap()));
    /// assert_eq!(rx.iter().count(), 10);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::mpmc::channel::<u8>(5);
    /// assert_eq!(rx.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of messages waiting. A snapshot: other handles may change
    /// it at any time.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(4);
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether no message is waiting.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::mpmc::channel::<u8>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the ring is full.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether every sender is gone. Messages they sent may still wait.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// tx.send(1).unwrap();
    /// drop(tx);
    /// assert!(rx.is_disconnected());
    /// assert_eq!(rx.recv(), Ok(1));
    /// ```
    pub fn is_disconnected(&self) -> bool {
        // Acquire: pairs with the AcqRel decrement in `Sender::drop`.
        self.ring.handles.senders.load(Ordering::Acquire) == 0
    }

    /// A snapshot of the ring's counters, shared by every handle (see
    /// [`Stats`]). No lock, nothing added to the receive path.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// let sender = std::thread::spawn(move || (0..5).for_each(|i| tx.send(i).unwrap()));
    /// assert_eq!(rx.iter().count(), 5);
    /// sender.join().unwrap();
    /// let stats = rx.stats();
    /// assert_eq!((stats.sent, stats.received, stats.depth), (5, 5, 0));
    /// ```
    pub fn stats(&self) -> Stats {
        self.ring.stats()
    }
}

impl<T> Clone for Receiver<T> {
    /// Another receiver on the same ring; each message goes to one of them.
    fn clone(&self) -> Self {
        // Relaxed: as in `Sender::clone`.
        self.ring.handles.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver::new(self.ring.clone())
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        #[cfg(feature = "async")]
        crate::future::cancel_stream(self, |r| &mut r.stream);
        // AcqRel: symmetric with `Sender::drop`; senders read the count
        // Relaxed, since no data travels with it.
        if self.ring.handles.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Wake parked senders so that they see the disconnection.
            self.ring.not_full.notify();
        }
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
/// the ring is empty and every sender gone.
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

/// A waiting iterator that owns a [`Receiver`]; ends when the ring is empty
/// and every sender gone.
///
/// ```
/// let (tx, rx) = ringbus::mpmc::channel(8);
/// (0..3).for_each(|i| tx.send(i).unwrap());
/// drop(tx);
/// assert_eq!(rx.into_iter().collect::<Vec<_>>(), [0, 1, 2]);
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

#[cfg(all(test, not(ringbus_loom)))]
mod tests {
    use super::*;

    #[test]
    fn anchor_sender_first_buffers_until_a_receiver_connects() {
        let anchor = Anchor::<u32>::new(2, Wait::Park);
        let tx = anchor.sender();
        assert_eq!(tx.try_send(1), Ok(()));
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        let rx = anchor.receiver();
        assert_eq!(rx.try_recv(), Ok(1));
        assert_eq!(rx.try_recv(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn anchor_receiver_first_waits_for_a_sender() {
        let anchor = Anchor::<u32>::new(2, Wait::Park);
        let rx = anchor.receiver();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        assert!(!rx.is_disconnected());
        let tx = anchor.sender();
        tx.send(7).unwrap();
        assert_eq!(rx.recv(), Ok(7));
    }

    #[test]
    fn anchor_side_disconnects_when_its_minted_handles_drop_and_reconnects() {
        let anchor = Anchor::<u32>::new(4, Wait::Park);
        let rx = anchor.receiver();
        let tx = anchor.sender();
        let tx2 = anchor.sender();
        tx.send(1).unwrap();
        drop(tx);
        tx2.send(2).unwrap();
        drop(tx2);
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        assert_eq!(rx.recv(), Err(RecvError));
        // A sender connecting again revives the side.
        let tx3 = anchor.sender();
        assert!(!rx.is_disconnected());
        tx3.send(3).unwrap();
        assert_eq!(rx.recv(), Ok(3));
        drop(rx);
        assert_eq!(tx3.try_send(4), Err(TrySendError::Disconnected(4)));
        let rx2 = anchor.receiver();
        tx3.send(5).unwrap();
        assert_eq!(rx2.recv(), Ok(5));
    }

    /// A ring whose first index is `start` instead of 0, as if `start`
    /// messages had passed: each slot free for the sender of the index that
    /// maps to it in the lap from `start`.
    fn channel_from<T>(capacity: usize, start: usize) -> (Sender<T>, Receiver<T>) {
        let slots = crate::capacity::slots::<Slot<T>>(capacity);
        let mask = slots - 1;
        let slots = crate::capacity::alloc(slots, |j| {
            Slot::free(start.wrapping_add(j.wrapping_sub(start) & mask))
        });
        let ring = Ring::with_slots(slots, Wait::Park);
        // Relaxed: the ring is not shared yet.
        ring.head.store(start, Ordering::Relaxed);
        // Relaxed: as above.
        ring.tail.store(start, Ordering::Relaxed);
        let ring = Arc::new(ring);
        (Sender::new(ring.clone()), Receiver::new(ring))
    }

    /// Indices wrap at `2^usize::BITS` and stamps (twice the index) at
    /// half that. Started just before each wrap, the ring fills to exactly
    /// its capacity and drains in varying steps across it, every message in
    /// order, the lengths right at the full and empty edges. (Driving a
    /// ring there for real takes 2^32 messages on 32 bits, 92 s, and is out
    /// of reach on 64.) On a thread of its own, because a ring that gets
    /// the wrap wrong may spin for ever in a claim loop instead of failing.
    #[test]
    fn runs_across_the_wraps_of_its_indices_and_stamps() {
        let (done, finished) = std::sync::mpsc::channel();
        crate::sync::thread::spawn(move || {
            across_the_wraps();
            done.send(()).unwrap();
        });
        let outcome = finished.recv_timeout(std::time::Duration::from_secs(10));
        assert_eq!(outcome, Ok(()), "panicked or hung: see its output");
    }

    fn across_the_wraps() {
        const CAPACITY: usize = 8;
        for start in [usize::MAX - 2 * CAPACITY + 3, usize::MAX / 2 - CAPACITY - 1] {
            let (tx, rx) = channel_from::<usize>(CAPACITY, start);
            let (mut sent, mut received) = (0, 0);
            for round in 0..4 * CAPACITY {
                while tx.try_send(sent).is_ok() {
                    sent += 1;
                }
                assert_eq!(sent - received, CAPACITY, "start {start:#x}");
                assert!(tx.is_full() && rx.len() == CAPACITY);
                for _ in 0..=round % CAPACITY {
                    assert_eq!(rx.try_recv(), Ok(received), "start {start:#x}");
                    received += 1;
                }
                assert_eq!(tx.len(), sent - received);
            }
            while let Ok(value) = rx.try_recv() {
                assert_eq!(value, received, "start {start:#x}");
                received += 1;
            }
            assert_eq!(received, sent);
            assert!(rx.is_empty() && !tx.is_full());
        }
    }

    /// The pacing hints (`wait::pace`) see what a claim would: a message
    /// written, a slot free for its lap, across a lap of the ring.
    #[test]
    fn pacing_hints_see_written_messages_and_free_slots() {
        let (tx, rx) = channel::<u32>(4);
        let ring = &*tx.ring;
        assert!(ring.looks_free(0) && ring.looks_free(3) && !ring.looks_full(0));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert!(ring.looks_full(0) && ring.looks_full(1) && !ring.looks_full(2));
        assert!(
            ring.looks_free(2) && !ring.looks_free(4),
            "slot 0's message"
        );
        assert_eq!(rx.recv(), Ok(1));
        assert!(ring.looks_free(4), "slot 0 free for the next lap");
        assert!(ring.looks_full(0), "index 0 taken already counts as ready");
        assert!(!ring.looks_full(4), "index 4 not written yet");
    }

    #[test]
    fn anchor_drop_with_seeds_drops_buffered_messages() {
        let anchor = Anchor::<std::sync::Arc<()>>::new(4, Wait::Park);
        let probe = std::sync::Arc::new(());
        anchor.sender().send(probe.clone()).unwrap();
        assert_eq!(std::sync::Arc::strong_count(&probe), 2);
        drop(anchor);
        assert_eq!(std::sync::Arc::strong_count(&probe), 1);
    }
}
