//! A broadcast ring whose publisher never waits: a subscriber that falls
//! more than `capacity` messages behind loses the oldest ones and is told how
//! many (ZeroMQ's PUB at its high-water mark, tokio's `broadcast`).
//!
//! # Semantics
//!
//! - [`Publisher::send`] always succeeds at once while a subscriber exists;
//!   it overwrites the oldest message when the ring is full.
//! - [`Subscriber::recv`] returns a copy of the message (`T: Copy`).
//! - A subscriber that fell behind by more than the ring holds gets
//!   [`TryRecvError::Lagged(n)`](TryRecvError::Lagged) once, with `n` exactly
//!   the number of messages it missed, then continues with the oldest message
//!   still held.
//! - Late joiners, clones and disconnection work as in
//!   [`broadcast`](super).
//!
//! ```
//! use ringbus::broadcast::lossy::{self, TryRecvError};
//!
//! let (publisher, mut subscriber) = lossy::channel::<u32>(4);
//! for i in 0..10 {
//!     publisher.send(i).unwrap(); // never waits
//! }
//! // 10 sent, 4 held: the subscriber missed 6, then reads 6..10.
//! assert_eq!(subscriber.try_recv(), Err(TryRecvError::Lagged(6)));
//! assert_eq!(subscriber.try_recv(), Ok(6));
//! ```
//!
//! # Algorithm: a sequence lock per slot
//!
//! The publisher may overwrite a slot while a subscriber copies it out, so
//! the slot is guarded by a sequence lock (Lamport's "concurrent reading and
//! writing", 1977; the form of Boehm, "Can seqlocks get along with
//! programming language memory models?", 2012):
//!
//! ```text
//!   publisher, sequence s → slot s & mask      subscriber, cursor c → slot c & mask
//!   ─────────────────────────────────────      ─────────────────────────────────────
//!   stamp = 2s + 1          (Relaxed)          v1 = stamp               (Acquire)
//!   fence(Release)                             if v1 == 2c + 2:
//!   words = value           (atomic, Relaxed)      copy = words         (atomic, Relaxed)
//!   stamp = 2s + 2          (Release)              fence(Acquire)
//!   tail = s + 1            (Release)              v2 = stamp           (Relaxed)
//!                                                  v1 == v2 → the copy is message c
//! ```
//!
//! Every word of the value is copied with an atomic instruction, so a read
//! that races a write is no data race (no undefined behaviour); it may see a
//! mix of two messages, but then it also sees a changed stamp and throws the
//! copy away: no torn value is ever returned. If the subscriber read a word
//! that the publisher wrote, the publisher's `Release` fence (after the odd
//! stamp) synchronises with the subscriber's `Acquire` fence, so `v2` sees
//! the odd stamp or later. Padding bytes are carried as `MaybeUninit` and
//! never read as integers, so any `T: Copy` is sound.
//!
//! A stamp past `2c + 2` names the message `w` that replaced `c` (`w` is
//! `(stamp - 1) / 2` for both the odd "writing" and the even "written"
//! stamps). Every message up to `w - capacity` is gone, and `w`'s slot is
//! being reused, so the oldest intact message is `w + 1 - capacity`: the
//! subscriber reports `Lagged(w + 1 - capacity - c)` and moves there.
//!
//! The publisher never looks at a subscriber's cursor to decide anything.
//! Each subscriber still reports its cursor, after every receive, in the
//! same table of one cache line per subscriber that the backpressured ring
//! uses (`cursors.rs`), so that [`Publisher::len`] can say what the slowest
//! one has not read: one store to the subscriber's own line per receive,
//! read by nobody on the send path.
//!
//! Sequences, cursors and stamps are `usize`s compared by wrapping
//! distance. On a 64-bit target that never runs out. On a 32-bit target
//! sequences wrap after 2^32 messages and stamps (twice the sequence) after
//! 2^31; the ring is tested past both, and with a subscriber more than 2^30
//! behind (`tests/wrap32.rs`, which CI runs on `i686`). What 32 bits cannot
//! do is measure a subscriber 2^31 or more behind: its receives say
//! `Empty`, as if it were ahead, until the publisher is 2^32 on, and the
//! `Lagged` count it gets then is short by a multiple of 2^32; and
//! [`Publisher::len`] stops counting one more than 2^30 behind (the cursor
//! table keeps 31 bits, see `cursors.rs`). At ten million messages a second
//! 2^31 is three and a half minutes of idling, so on 32-bit targets keep
//! lossy subscribers reading.

use std::fmt;
use std::mem::{size_of, MaybeUninit};
use std::ptr;
use std::time::{Duration, Instant};

use super::cursors::{Cursors, Entry};

mod task;
use crate::error::{SendError, SendTimeoutError, TrySendError};
use crate::stats::{BroadcastStats, SubscriberStats};
use crate::sync::{fence, Arc, AtomicBool, AtomicUsize, AtomicWord, CachePadded, Ordering};
use crate::wait::{self, Signal, Wait};

/// The number of machine words a `T` takes.
const fn words<T>() -> usize {
    size_of::<T>().div_ceil(size_of::<usize>())
}

/// Creates a lossy broadcast ring of at least `capacity` slots with the
/// default [`Wait`] strategy (for subscribers; the publisher never waits).
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of the ring
/// overflows.
///
/// ```
/// let (publisher, mut subscriber) = ringbus::broadcast::lossy::channel(8);
/// publisher.send(1.5f64).unwrap();
/// assert_eq!(subscriber.recv(), Ok(1.5));
/// ```
#[track_caller]
pub fn channel<T: Copy>(capacity: usize) -> (Publisher<T>, Subscriber<T>) {
    Builder::new(capacity).build()
}

/// Sets a lossy ring's options, then builds it.
///
/// ```
/// use ringbus::{broadcast::lossy, Wait};
///
/// let (publisher, subscriber) = lossy::Builder::new(100).wait(Wait::Park).build::<u8>();
/// assert_eq!(subscriber.capacity(), 128);
/// # drop(publisher);
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

    /// How subscribers wait for a message (default: [`Wait::Backoff`]).
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
    pub fn build<T: Copy>(self) -> (Publisher<T>, Subscriber<T>) {
        // A slot is its stamp and its words.
        let slots = crate::capacity::slots::<(usize, T)>(self.capacity);
        let ring = Arc::new(Ring {
            tail: CachePadded::new(AtomicUsize::new(0)),
            cursors: Cursors::new(),
            publisher_gone: AtomicBool::new(false),
            not_empty: CachePadded::new(Signal::new()),
            lags: CachePadded::new(Lags {
                events: AtomicUsize::new(0),
                missed: AtomicUsize::new(0),
            }),
            wait: self.wait,
            mask: slots - 1,
            stamps: crate::capacity::alloc(slots, |_| AtomicUsize::new(0)),
            words: crate::capacity::alloc(slots * words::<T>(), |_| AtomicWord::new()),
            _values: std::marker::PhantomData,
        });
        let publisher = Publisher {
            ring: ring.clone(),
            tail: std::cell::Cell::new(0),
        };
        let subscriber = Subscriber::join(ring, 0, 0);
        (publisher, subscriber)
    }
}

/// The memory the publisher and the subscribers share.
struct Ring<T> {
    /// The sequence of the next message. Stored only by the publisher.
    tail: CachePadded<AtomicUsize>,
    /// The subscribers' cursors, as far as they have told (after each
    /// receive), and how many subscribers are alive. The publisher never
    /// waits for them: it reads the table only for [`Publisher::len`].
    cursors: Cursors,
    /// Set when the publisher drops.
    publisher_gone: AtomicBool,
    /// Where subscribers park while they have read everything.
    not_empty: CachePadded<Signal>,
    /// Every subscriber's lag reports, summed (metrics). Bumped only when a
    /// subscriber lags, on a line of its own.
    lags: CachePadded<Lags>,
    /// How subscribers wait.
    wait: Wait,
    /// `capacity - 1`: maps a sequence to its slot.
    mask: usize,
    /// Per slot: `2s + 1` while message `s` is written, `2s + 2` once it is,
    /// 0 before the first.
    stamps: Box<[AtomicUsize]>,
    /// Per slot, `words::<T>()` words holding the message's bytes.
    words: Box<[AtomicWord]>,
    _values: std::marker::PhantomData<T>,
}

/// Whether no message lies at or past `cursor` below `tail` (wrapping
/// indices: `tail` at or behind `cursor`).
#[inline]
fn nothing_past(tail: usize, cursor: usize) -> bool {
    (tail.wrapping_sub(cursor) as isize) <= 0
}

/// Lag reports of every subscriber of a ring, summed.
struct Lags {
    /// `Lagged` reports made.
    events: AtomicUsize,
    /// Messages missed (the sum of the reports' `n`).
    missed: AtomicUsize,
}

/// One subscriber's lag reports. Written only by its owner (receiving takes
/// `&mut self`).
#[derive(Clone, Copy, Debug, Default)]
struct Lag {
    /// `Lagged` reports made to this subscriber.
    events: u64,
    /// Messages it missed (the sum of its reports' `n`).
    missed: u64,
}

// SAFETY: the ring holds copies of `T` written on the publisher's thread and
// copied out on the subscribers': `T: Send` suffices (no `&T` is shared).
// Every access to the words is atomic.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as for `Send`.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T: Copy> Ring<T> {
    #[inline]
    fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// The words of the slot of `sequence`.
    #[inline]
    fn slot_words(&self, sequence: usize) -> &[AtomicWord] {
        let start = (sequence & self.mask) * words::<T>();
        &self.words[start..start + words::<T>()]
    }

    /// Copies `value` into the words of `sequence`'s slot, word by word.
    #[inline]
    fn store_value(&self, sequence: usize, value: T) {
        let source = ptr::addr_of!(value).cast::<u8>();
        for (index, word) in self.slot_words(sequence).iter().enumerate() {
            let offset = index * size_of::<usize>();
            let len = size_of::<usize>().min(size_of::<T>() - offset);
            // Under loom a word is a plain `AtomicUsize` (`sync::AtomicWord`),
            // which must hold an initialised integer: the bytes past the end
            // of a `T` smaller than the word (a `u8` in the models) start as
            // zeros there.
            let mut bytes = if cfg!(ringbus_loom) {
                MaybeUninit::new(0usize)
            } else {
                MaybeUninit::<usize>::uninit()
            };
            // SAFETY: `offset + len <= size_of::<T>()`, and `bytes` has room
            // for `len <= size_of::<usize>()` bytes; an untyped copy may carry
            // uninitialised (padding) bytes into a `MaybeUninit`.
            unsafe {
                ptr::copy_nonoverlapping(source.add(offset), bytes.as_mut_ptr().cast::<u8>(), len);
            }
            // Relaxed: ordered by the fence and the stamps (module doc).
            word.store(bytes, Ordering::Relaxed);
        }
    }

    /// Copies the words of `sequence`'s slot out. The result is a valid `T`
    /// only if the sequence lock confirms nobody wrote meanwhile.
    #[inline]
    fn load_value(&self, sequence: usize) -> MaybeUninit<T> {
        let mut value = MaybeUninit::<T>::uninit();
        let target = value.as_mut_ptr().cast::<u8>();
        for (index, word) in self.slot_words(sequence).iter().enumerate() {
            let offset = index * size_of::<usize>();
            let len = size_of::<usize>().min(size_of::<T>() - offset);
            // Relaxed: ordered by the fence and the stamps (module doc).
            let bytes = word.load(Ordering::Relaxed);
            // SAFETY: as in `store_value`, in the other direction.
            unsafe {
                ptr::copy_nonoverlapping(bytes.as_ptr().cast::<u8>(), target.add(offset), len);
            }
        }
        value
    }
}

impl<T: Copy> Ring<T> {
    /// The receive of a subscriber at `cursor` whose cached tail is `tail`.
    fn try_recv(
        &self,
        cursor: &mut usize,
        tail: &mut usize,
        lag: &mut Lag,
    ) -> Result<T, TryRecvError> {
        loop {
            // "Nothing past the cursor", not `tail == cursor`: after a skip
            // the cursor may stand *ahead* of the tail this thread has seen.
            // The stamp that told of the overwrite is stored `Relaxed` (odd)
            // before the publisher's later `tail` stores, so the refreshed
            // `tail` may still be older than the message the stamp names.
            // Taking `tail - cursor` as a distance then would report a lag
            // of "minus one lap" (`Lagged(usize::MAX - 1)`, and the cursor
            // moved back): the loom model `lossy_received_plus_missed_is_
            // everything` (loom-tests/tests/stats.rs) found it.
            if nothing_past(*tail, *cursor) {
                // Acquire: pairs with the publisher's Release store of `tail`.
                *tail = self.tail.load(Ordering::Acquire);
                if nothing_past(*tail, *cursor) {
                    // Acquire: pairs with the Release store in
                    // `Publisher::drop`, after its last `tail` store.
                    if !self.publisher_gone.load(Ordering::Acquire) {
                        return Err(TryRecvError::Empty);
                    }
                    // Acquire: pairs with the publisher's Release store of
                    // `tail`; the flag's Acquire above ordered its last one first.
                    *tail = self.tail.load(Ordering::Acquire);
                    if nothing_past(*tail, *cursor) {
                        return Err(TryRecvError::Disconnected);
                    }
                }
            }
            let capacity = self.capacity();
            if tail.wrapping_sub(*cursor) > capacity {
                // Everything before `tail - capacity` is overwritten.
                return Err(self.skip_to(cursor, tail.wrapping_sub(capacity), lag));
            }
            match self.read(cursor) {
                Ok(value) => return Ok(value),
                Err(Some(oldest)) => {
                    // The slot names the message that replaced ours, but later
                    // slots may be newer still: with a fresh `tail`, skip
                    // everything already gone in one report. Acquire: as above.
                    *tail = self.tail.load(Ordering::Acquire);
                    let by_tail = tail.wrapping_sub(capacity);
                    let oldest = if (by_tail.wrapping_sub(oldest) as isize) > 0 {
                        by_tail
                    } else {
                        oldest
                    };
                    return Err(self.skip_to(cursor, oldest, lag));
                }
                Err(None) => {
                    // The slot's stamp looks older than our message: it was
                    // overwritten so often since that the stamp, twice the
                    // sequence, wrapped past half its range (2^30 messages
                    // on a 32-bit target; never, in practice, on 64 bits).
                    // The fresh `tail` then shows us more than a ring
                    // behind, and the next turn skips. Acquire: as above.
                    *tail = self.tail.load(Ordering::Acquire);
                    debug_assert!(
                        tail.wrapping_sub(*cursor) > capacity,
                        "a published slot showed an older stamp"
                    );
                }
            }
        }
    }

    /// Copies message `cursor` out under the sequence lock. `Err(Some(o))`:
    /// it was overwritten, `o` is the oldest message still intact.
    #[inline]
    fn read(&self, cursor: &mut usize) -> Result<T, Option<usize>> {
        let ring = self;
        let expected = cursor.wrapping_mul(2).wrapping_add(2);
        let stamp = &ring.stamps[*cursor & ring.mask];
        // Acquire: pairs with the publisher's Release store of the even stamp;
        // the words it wrote happen before our copy.
        let before = stamp.load(Ordering::Acquire);
        let seen = if before == expected {
            let copy = ring.load_value(*cursor);
            // Pairs with the publisher's Release fence: if we copied a word of
            // a later message, the load below sees its odd stamp (or later).
            fence(Ordering::Acquire);
            // Relaxed: ordered by the fence above.
            let after = stamp.load(Ordering::Relaxed);
            if after == before {
                *cursor = cursor.wrapping_add(1);
                // SAFETY: the stamp did not move while we copied, so every
                // word is the one the publisher wrote for this message: the
                // bytes of a valid `T` (module doc).
                return Ok(unsafe { copy.assume_init() });
            }
            after
        } else {
            before
        };
        if (seen.wrapping_sub(expected) as isize) < 0 {
            // Older than our message as a signed distance: not written yet
            // (which cannot happen: our cached `tail` came from an Acquire
            // load, after the even stamp), or overwritten 2^(usize::BITS - 2)
            // messages or more later. The caller looks at a fresh `tail`.
            return Err(None);
        }
        // Overwritten by message `w`, being written (`seen = 2w + 1`) or
        // written (`2w + 2`), `w - cursor` messages on: half the stamps'
        // distance, rounded up. Not `(seen - 1) / 2`: a stamp keeps only
        // `2w` modulo `2^usize::BITS`, so that loses `w`'s top bit, and on a
        // 32-bit target every message past 2^31 was read as 2^31 earlier
        // (`tests/wrap32.rs` found it: a `Lagged` of 2^31 + 1 instead of 127).
        let ahead = seen.wrapping_sub(expected).div_ceil(2);
        let w = cursor.wrapping_add(ahead);
        Err(Some(w.wrapping_add(1).wrapping_sub(ring.capacity())))
    }

    /// Moves the cursor to `oldest` and says how many messages were missed,
    /// counting the report (the lagging path only).
    #[cold]
    fn skip_to(&self, cursor: &mut usize, oldest: usize, lag: &mut Lag) -> TryRecvError {
        let missed = oldest.wrapping_sub(*cursor);
        *cursor = oldest;
        lag.events += 1;
        lag.missed += missed as u64;
        // Relaxed: counters read for reporting; no data travels with them.
        self.lags.events.fetch_add(1, Ordering::Relaxed);
        // Relaxed: as above, a counter.
        self.lags.missed.fetch_add(missed, Ordering::Relaxed);
        TryRecvError::Lagged(missed as u64)
    }
}

/// The sending end of a [`lossy`](self) ring. Not `Clone`: there is one
/// publisher. It never waits.
///
/// `Send` when `T: Send`; not `Sync`.
pub struct Publisher<T> {
    ring: Arc<Ring<T>>,
    /// The next sequence to write; always in sync with `ring.tail`.
    tail: std::cell::Cell<usize>,
}

impl<T: Copy> Publisher<T> {
    /// Publishes `value` at once, overwriting the oldest message if the ring
    /// is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if there is no subscriber.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel(1);
    /// publisher.send(1).unwrap();
    /// publisher.send(2).unwrap(); // overwrites 1
    /// drop(subscriber);
    /// assert_eq!(publisher.send(3), Err(ringbus::SendError(3)));
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        let ring = &*self.ring;
        // Acquire (in `live`): pairs with the Release decrement in
        // `Cursors::leave`, which `Subscriber::drop` calls.
        if ring.cursors.live() == 0 {
            return Err(SendError(value));
        }
        let sequence = self.tail.get();
        let stamp = &ring.stamps[sequence & ring.mask];
        // Relaxed: made visible to a reader of the words by the fence below.
        stamp.store(sequence.wrapping_mul(2).wrapping_add(1), Ordering::Relaxed);
        // Pairs with the subscriber's Acquire fence: a subscriber that copied
        // any word stored below then sees the odd stamp (or later).
        fence(Ordering::Release);
        ring.store_value(sequence, value);
        // Release: pairs with the subscriber's Acquire load of the stamp.
        stamp.store(sequence.wrapping_mul(2).wrapping_add(2), Ordering::Release);
        let tail = sequence.wrapping_add(1);
        // Release: pairs with the subscribers' Acquire load of `tail`; the
        // stamp above happens before they look at the slot.
        ring.tail.store(tail, Ordering::Release);
        self.tail.set(tail);
        if ring.wait.may_sleep() {
            ring.not_empty.notify();
        }
        Ok(())
    }

    /// [`send`](Self::send) under the name every other sender has: a lossy
    /// publisher is never full, so this never says `Full`.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Disconnected`] holding the value if there is no
    /// subscriber.
    ///
    /// ```
    /// use ringbus::TrySendError;
    ///
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel(1);
    /// assert_eq!(publisher.try_send(1), Ok(()));
    /// assert_eq!(publisher.try_send(2), Ok(())); // overwrites 1
    /// drop(subscriber);
    /// assert_eq!(publisher.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.send(value)
            .map_err(|SendError(value)| TrySendError::Disconnected(value))
    }

    /// [`send`](Self::send) under the name every other sender has: a lossy
    /// publisher never waits, so the timeout never runs out.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Disconnected`] holding the value if there is no
    /// subscriber.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::SendTimeoutError;
    ///
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel(1);
    /// assert_eq!(publisher.send_timeout(1, Duration::ZERO), Ok(()));
    /// drop(subscriber);
    /// let err = publisher.send_timeout(2, Duration::ZERO);
    /// assert_eq!(err, Err(SendTimeoutError::Disconnected(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        let _ = timeout;
        self.send(value)
            .map_err(|SendError(value)| SendTimeoutError::Disconnected(value))
    }

    /// Makes a subscriber that receives what is published after this call.
    ///
    /// ```
    /// let (publisher, _first) = ringbus::broadcast::lossy::channel(4);
    /// publisher.send(1).unwrap();
    /// let mut late = publisher.subscribe();
    /// publisher.send(2).unwrap();
    /// assert_eq!(late.recv(), Ok(2));
    /// ```
    pub fn subscribe(&self) -> Subscriber<T> {
        Subscriber::join(self.ring.clone(), self.tail.get(), self.tail.get())
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::lossy::channel::<u8>(3);
    /// assert_eq!(publisher.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// What the slowest subscriber has not read yet and the ring still
    /// holds (at most the capacity; 0 with no subscriber). Each subscriber
    /// reports its cursor after each receive; the publisher never waits
    /// for it, it only reads the reports here.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::lossy::channel(2);
    /// for i in 0..5 {
    ///     publisher.send(i).unwrap();
    /// }
    /// assert_eq!(publisher.len(), 2); // 3 of the 5 are overwritten
    /// assert!(subscriber.try_recv().is_err()); // Lagged(3)
    /// assert_eq!(subscriber.try_recv(), Ok(3));
    /// assert_eq!(publisher.len(), 1);
    /// assert_eq!(subscriber.try_recv(), Ok(4));
    /// assert!(publisher.is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.ring.cursors.lag(self.tail.get()).min(self.capacity())
    }

    /// Whether every subscriber has read everything published (true with
    /// no subscriber).
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::lossy::channel(2);
    /// assert!(publisher.is_empty());
    /// publisher.send(1u8).unwrap();
    /// assert!(!publisher.is_empty());
    /// subscriber.recv().unwrap();
    /// assert!(publisher.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Always false: a lossy publisher is never full, it overwrites.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::lossy::channel(1);
    /// publisher.send(1).unwrap();
    /// assert!(!publisher.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        false
    }

    /// The number of subscribers alive now.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel::<u8>(2);
    /// assert_eq!(publisher.subscribers(), 1);
    /// drop(subscriber);
    /// assert_eq!(publisher.subscribers(), 0);
    /// ```
    pub fn subscribers(&self) -> usize {
        self.ring.cursors.live()
    }

    /// A snapshot of the ring's counters (see [`BroadcastStats`]): `sent` is
    /// exact; `lagged_events` and `missed` sum every subscriber's `Lagged`
    /// reports so far (exact once they are made; a subscriber that fell
    /// behind learns it, and is counted, on its next receive). `full_waits`
    /// is always 0: this publisher never waits. No lock, nothing added to
    /// the send path.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::lossy::channel(2);
    /// for i in 0..5 {
    ///     publisher.send(i).unwrap();
    /// }
    /// assert!(subscriber.try_recv().is_err()); // Lagged(3)
    /// let stats = publisher.stats();
    /// assert_eq!((stats.sent, stats.lagged_events, stats.missed), (5, 1, 3));
    /// ```
    pub fn stats(&self) -> BroadcastStats {
        BroadcastStats {
            sent: self.tail.get() as u64,
            full_waits: 0,
            depth: self.len(),
            capacity: self.capacity(),
            subscribers: self.subscribers(),
            // Relaxed: counters read for reporting.
            lagged_events: self.ring.lags.events.load(Ordering::Relaxed) as u64,
            missed: self.ring.lags.missed.load(Ordering::Relaxed) as u64,
        }
    }
}

impl<T> Drop for Publisher<T> {
    fn drop(&mut self) {
        // Release: pairs with the subscribers' Acquire load of the flag; the
        // last `tail` store happens before they see it.
        self.ring.publisher_gone.store(true, Ordering::Release);
        self.ring.not_empty.notify();
    }
}

impl<T> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("tail", &self.tail.get())
            .finish_non_exhaustive()
    }
}

/// A receiving end of a [`lossy`](self) ring: it sees every message published
/// while it exists, in order, unless it falls a whole ring behind.
///
/// `Send` and `Sync` when `T: Send`.
pub struct Subscriber<T> {
    ring: Arc<Ring<T>>,
    /// The next sequence to read.
    cursor: usize,
    /// Where `cursor` is reported to the publisher (for its `len`).
    entry: Entry,
    /// The publisher's `tail` as last seen: a lower bound.
    tail: usize,
    /// Where the cursor started: it moved `cursor - start` messages on,
    /// `lag.missed` of them by skipping.
    start: usize,
    /// This subscriber's `Lagged` reports.
    lag: Lag,
    /// The waker registration of this subscriber as a `Stream` (feature
    /// `async`).
    #[cfg(feature = "async")]
    stream: crate::future::sealed::Slot,
}

impl<T: Copy> Subscriber<T> {
    /// A copy of the oldest unread message, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if everything is read and the publisher alive,
    /// [`TryRecvError::Disconnected`] if everything is read and the publisher
    /// gone, [`TryRecvError::Lagged`] (once) if messages were overwritten
    /// before this subscriber read them.
    ///
    /// ```
    /// use ringbus::broadcast::lossy::{self, TryRecvError};
    ///
    /// let (publisher, mut subscriber) = lossy::channel::<u8>(2);
    /// assert_eq!(subscriber.try_recv(), Err(TryRecvError::Empty));
    /// publisher.send(1).unwrap();
    /// drop(publisher);
    /// assert_eq!(subscriber.try_recv(), Ok(1));
    /// assert_eq!(subscriber.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let result = self
            .ring
            .try_recv(&mut self.cursor, &mut self.tail, &mut self.lag);
        self.report();
        result
    }

    /// A copy of the oldest unread message, waiting while there is none.
    ///
    /// # Errors
    ///
    /// [`RecvError::Disconnected`] once everything is read and the publisher
    /// gone; [`RecvError::Lagged`] (once) if messages were overwritten before
    /// this subscriber read them.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::lossy::channel(4);
    /// std::thread::spawn(move || publisher.send(7u16).unwrap());
    /// assert_eq!(subscriber.recv(), Ok(7));
    /// ```
    pub fn recv(&mut self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|err| match err {
            RecvTimeoutError::Lagged(n) => RecvError::Lagged(n),
            RecvTimeoutError::Disconnected | RecvTimeoutError::Timeout => RecvError::Disconnected,
        })
    }

    /// A copy of the oldest unread message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing came in time, otherwise as
    /// [`recv`](Self::recv).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::broadcast::lossy::{self, RecvTimeoutError};
    ///
    /// let (_publisher, mut subscriber) = lossy::channel::<u8>(4);
    /// let err = subscriber.recv_timeout(Duration::from_millis(1));
    /// assert_eq!(err, Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(wait::deadline(timeout))
    }

    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let ring = &*self.ring;
        let (cursor, tail, lag) = (&mut self.cursor, &mut self.tail, &mut self.lag);
        let result = wait::block(ring.wait, &ring.not_empty, deadline, || {
            match ring.try_recv(cursor, tail, lag) {
                Ok(value) => Some(Ok(value)),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvTimeoutError::Lagged(n))),
            }
        });
        self.report();
        result.unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// Tells the publisher where this subscriber stands (for its `len`): one
    /// store to this subscriber's own cache line.
    #[inline]
    fn report(&self) {
        // The lossy publisher never waits for a cursor; it needs only the
        // number (for `len`).
        self.ring.cursors.report(&self.entry, self.cursor);
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (_p, subscriber) = ringbus::broadcast::lossy::channel::<u8>(3);
    /// assert_eq!(subscriber.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of unread messages the ring still holds for this
    /// subscriber (at most the capacity).
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel(2);
    /// for i in 0..5 {
    ///     publisher.send(i).unwrap();
    /// }
    /// assert_eq!(subscriber.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        // Acquire: pairs with the publisher's Release store of `tail`.
        let tail = self.ring.tail.load(Ordering::Acquire);
        tail.wrapping_sub(self.cursor).min(self.capacity())
    }

    /// Whether this subscriber has read everything published.
    ///
    /// ```
    /// let (_p, subscriber) = ringbus::broadcast::lossy::channel::<u8>(2);
    /// assert!(subscriber.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the next message will overwrite one this subscriber has not
    /// read.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel(1);
    /// publisher.send(1).unwrap();
    /// assert!(subscriber.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether the publisher is gone. Messages it published may still wait.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::lossy::channel::<u8>(2);
    /// drop(publisher);
    /// assert!(subscriber.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        // Acquire: pairs with the Release store in `Publisher::drop`.
        self.ring.publisher_gone.load(Ordering::Acquire)
    }

    /// A snapshot of this subscriber's counters (see [`SubscriberStats`]):
    /// `received`, `lagged_events` and `missed` are exact (this subscriber
    /// keeps them itself); `sent`, `depth` and `subscribers` are as of their
    /// loads. Messages overwritten before this subscriber noticed count in
    /// `missed` only once it is told (`Lagged`), on its next receive. No lock,
    /// nothing added to the receive path.
    ///
    /// ```
    /// use ringbus::broadcast::lossy::{self, TryRecvError};
    ///
    /// let (publisher, mut subscriber) = lossy::channel(4);
    /// for i in 0..6 {
    ///     publisher.send(i).unwrap();
    /// }
    /// assert_eq!(subscriber.try_recv(), Err(TryRecvError::Lagged(2)));
    /// while subscriber.try_recv().is_ok() {}
    /// let stats = subscriber.stats();
    /// assert_eq!((stats.received, stats.missed, stats.lagged_events), (4, 2, 1));
    /// assert_eq!(stats.received + stats.missed, stats.sent);
    /// ```
    pub fn stats(&self) -> SubscriberStats {
        let moved = self.cursor.wrapping_sub(self.start) as u64;
        SubscriberStats {
            received: moved.wrapping_sub(self.lag.missed),
            // Acquire: pairs with the publisher's Release store of `tail`.
            sent: self.ring.tail.load(Ordering::Acquire) as u64,
            depth: self.len(),
            capacity: self.capacity(),
            subscribers: self.ring.cursors.live(),
            lagged_events: self.lag.events,
            missed: self.lag.missed,
        }
    }
}

impl<T> Clone for Subscriber<T> {
    /// Another subscriber that starts where this one stands.
    fn clone(&self) -> Self {
        Subscriber::join(self.ring.clone(), self.cursor, self.tail)
    }
}

impl<T> Subscriber<T> {
    /// A new subscriber at `cursor`, counted and entered in the table.
    fn join(ring: Arc<Ring<T>>, cursor: usize, tail: usize) -> Self {
        Subscriber {
            entry: ring.cursors.join(cursor),
            ring,
            cursor,
            tail,
            start: cursor,
            lag: Lag::default(),
            #[cfg(feature = "async")]
            stream: Default::default(),
        }
    }
}

impl<T> Drop for Subscriber<T> {
    fn drop(&mut self) {
        #[cfg(feature = "async")]
        self.stream.0.cancel(&self.ring.not_empty);
        // Uncounts it (Release, paired with the Acquire in `live`, which the
        // publisher's send reads) and frees its entry.
        self.ring.cursors.leave(&self.entry);
    }
}

impl<T> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

/// [`Subscriber::try_recv`] found no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Everything is read; the publisher is alive.
    Empty,
    /// Everything is read; the publisher is gone.
    Disconnected,
    /// This many messages were overwritten before this subscriber read them;
    /// the next receive returns the oldest message still held.
    Lagged(u64),
}

/// [`Subscriber::recv`] found no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvError {
    /// Everything is read; the publisher is gone.
    Disconnected,
    /// This many messages were overwritten before this subscriber read them;
    /// the next receive returns the oldest message still held.
    Lagged(u64),
}

/// [`Subscriber::recv_timeout`] found no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvTimeoutError {
    /// Nothing came in time.
    Timeout,
    /// Everything is read; the publisher is gone.
    Disconnected,
    /// This many messages were overwritten before this subscriber read them;
    /// the next receive returns the oldest message still held.
    Lagged(u64),
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Disconnected => {
                f.write_str("receiving on an empty and disconnected channel")
            }
            TryRecvError::Lagged(n) => write!(f, "subscriber lagged: {n} messages missed"),
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Disconnected => {
                f.write_str("receiving on an empty and disconnected channel")
            }
            RecvError::Lagged(n) => write!(f, "subscriber lagged: {n} messages missed"),
        }
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out waiting on an empty channel"),
            RecvTimeoutError::Disconnected => {
                f.write_str("receiving on an empty and disconnected channel")
            }
            RecvTimeoutError::Lagged(n) => write!(f, "subscriber lagged: {n} messages missed"),
        }
    }
}

impl std::error::Error for TryRecvError {}
impl std::error::Error for RecvError {}
impl std::error::Error for RecvTimeoutError {}
