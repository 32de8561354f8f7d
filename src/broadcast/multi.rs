//! The multi-publisher form of the broadcast ring: many threads publish into
//! one ring, with the same [`Subscriber`](super::Subscriber)s.
//!
//! # Algorithm
//!
//! The Disruptor's multi-producer sequencer. `tail` no longer says what is
//! published: it counts *claimed* sequences. A publisher claims the next
//! sequence with one compare-exchange on `tail` (after checking, against
//! the slowest cursor, that its slot is free), writes the slot, and marks it
//! in a per-slot array with `s + 1` (`Release`). Claims complete out of
//! order, so a subscriber reads forward from its cursor while the marks say
//! "written" (`Acquire`), and stops at the first gap:
//!
//! ```text
//!   claimed:  … 7   8   9  10      tail = 11
//!   marks:      8   9   ·  11      (9 still being written by a slower thread)
//!               └─┬─┘
//!         readable: 7, 8; then wait for 9
//! ```
//!
//! Why nothing is lost or duplicated: the compare-exchange hands every
//! sequence to exactly one publisher; a claim is made only when the slowest
//! cursor is past the slot's previous message, so no publisher overwrites
//! what a subscriber may still read (the cursor scan is the one of
//! [`Publisher`](super::Publisher)); a subscriber reads sequence `s` only
//! after acquiring its mark, and the mark `s + 1` cannot be mistaken for an
//! earlier or later lap's.
//!
//! # A late joiner
//!
//! [`Publisher::subscribe`](super::Publisher::subscribe) joins at its own
//! tail, which cannot move meanwhile. Here other threads claim while a
//! subscriber joins, and a publisher that scanned the cursors just before
//! the join could claim up to a ring past what it saw. So the joiner first
//! holds a place at or before the tail, then reads the tail with a
//! read-modify-write (`Release`) and moves there. A claim's successful
//! compare-exchange is `Acquire`: the claim of a sequence at or past that
//! tail comes after the read-modify-write in `tail`'s order, so it
//! synchronises with it, and the joiner's entry happens before its mark.
//! So a scan that sees a cursor past the joiner's tail (someone acquired
//! such a mark) or a reaper that acquires one sees the joiner too; a scan
//! that misses it saw only cursors before that tail, so nothing it lets a
//! publisher overwrite is a message the joiner will read. A scan that sees
//! no cursor at all, while the joiner is counted among the subscribers,
//! says `Full` until the entry shows: with no cursor to gate on, a claim a
//! ring past another publisher's unfinished claim would write the same
//! slot. And since a cursor also tells the publishers that everything
//! before it was written, the joiner waits for the claims in flight below
//! each place it reports (`wait_written`; `Subscriber::join_multi`; loom
//! models
//! `multi_publisher_subscribe_while_publishing`, `…_while_reaping` and
//! `…_alone`).

use std::cell::Cell;
use std::fmt;
use std::mem;
use std::time::{Duration, Instant};

use super::{Ring, Subscriber};
use crate::error::{SendError, SendTimeoutError, TrySendError};
use crate::stats::{count_full_wait, BroadcastStats};
use crate::sync::{Arc, Ordering};
use crate::wait;

/// One past the last message readable in order from `cursor`: the first
/// sequence whose slot is not marked written.
#[inline]
pub(super) fn readable_end<T>(ring: &Ring<T>, cursor: usize) -> usize {
    let mut end = cursor;
    while end.wrapping_sub(cursor) < ring.capacity()
        // Acquire: pairs with the publisher's Release store of the mark; its
        // write of the slot happens before our read.
        && ring.published[end & ring.mask].load(Ordering::Acquire) == end.wrapping_add(1)
    {
        end = end.wrapping_add(1);
    }
    end
}

/// Waits until every message claimed before `end`, back to `start`, is
/// written (its slot marked with it or a later lap).
///
/// A cursor, and a publisher's gate on it, say that everything before it
/// was written: a claim a lap later may then take the slot. A subscriber
/// joining through `subscribe` does not read its way there, so it waits for
/// the claims in flight (each a few stores away, on another thread) before
/// it reports a place; without it, loom found two claims a lap apart
/// writing one slot.
pub(super) fn wait_written<T>(ring: &Ring<T>, start: usize, end: usize) {
    let mut sequence = start;
    while sequence != end {
        // Acquire: pairs with the publisher's Release store of the mark in
        // `MultiPublisher::write`; its write of the slot happens before the
        // claims our cursor will let through. The first lap's marks start
        // out as written (see `Ring::new`).
        let mark = ring.published[sequence & ring.mask].load(Ordering::Acquire);
        if (mark.wrapping_sub(sequence.wrapping_add(1)) as isize) < 0 {
            crate::sync::yield_now();
            continue;
        }
        sequence = sequence.wrapping_add(1);
    }
}

/// A publishing end of a multi-publisher [`broadcast`](super) ring, from
/// [`Builder::build_multi`](super::Builder::build_multi). Clone it for each
/// publishing thread; subscribers disconnect when the last clone drops.
///
/// Every subscriber sees every message, and the messages of one publisher
/// in the order it sent them. Add a subscriber with
/// [`subscribe`](Self::subscribe) (a late joiner) or by cloning one.
///
/// `Send` when `T: Send + Sync`; not `Sync` (it caches the gate in a `Cell`).
pub struct MultiPublisher<T> {
    ring: Arc<Ring<T>>,
    /// The slowest cursor as this handle last saw it: a lower bound.
    gate: Cell<usize>,
    /// The state of this publisher as a `Sink` (feature `async`).
    #[cfg(feature = "async")]
    pub(super) sink: crate::future::SinkState<T>,
}

impl<T> MultiPublisher<T> {
    pub(super) fn new(ring: Arc<Ring<T>>) -> Self {
        MultiPublisher {
            ring,
            gate: Cell::new(0),
            #[cfg(feature = "async")]
            sink: Default::default(),
        }
    }

    /// The shared ring (for the async send in `broadcast::task`).
    pub(super) fn ring(&self) -> &Ring<T> {
        &self.ring
    }

    /// Publishes `value` if the slowest subscriber leaves room, without
    /// waiting.
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
    /// let (publisher, subscriber) = ringbus::broadcast::Builder::new(1).build_multi();
    /// let other = publisher.clone();
    /// assert_eq!(publisher.try_send(1), Ok(()));
    /// assert_eq!(other.try_send(2), Err(TrySendError::Full(2)));
    /// drop(subscriber);
    /// assert_eq!(other.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut claimed = self.claim();
        if matches!(claimed, Err(TrySendError::Full(()))) && mem::needs_drop::<T>() {
            // As `Publisher::start_send_reaping`; `has_room` makes the same
            // reap, so that `is_full` answers what this would.
            self.ring.reap();
            claimed = self.claim();
        }
        match claimed {
            Ok(sequence) => {
                self.write(sequence, value);
                Ok(())
            }
            Err(TrySendError::Full(())) => Err(TrySendError::Full(value)),
            Err(TrySendError::Disconnected(())) => Err(TrySendError::Disconnected(value)),
        }
    }

    /// Publishes `value`, waiting while the slowest subscriber is a whole
    /// ring behind.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if there is no subscriber.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::Builder::new(4).build_multi();
    /// publisher.send('x').unwrap();
    /// assert_eq!(*subscriber.recv().unwrap(), 'x');
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.send_until(value, None).map_err(|err| match err {
            SendTimeoutError::Disconnected(value) | SendTimeoutError::Timeout(value) => {
                SendError(value)
            }
        })
    }

    /// Publishes `value`, waiting at most `timeout` for room.
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
    /// let (publisher, _subscriber) = ringbus::broadcast::Builder::new(1).build_multi();
    /// publisher.send(1).unwrap();
    /// let err = publisher.send_timeout(2, Duration::from_millis(1));
    /// assert_eq!(err, Err(SendTimeoutError::Timeout(2)));
    /// ```
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(value, wait::deadline(timeout))
    }

    fn send_until(&self, value: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let ring = &*self.ring;
        if mem::needs_drop::<T>() {
            // Reaps once if the ring looks full: before waiting, outside the
            // `not_full` lock (as `Publisher::start_send_reaping`). Only the
            // reap matters here; the claim below decides.
            let _ = self.has_room();
        }
        let mut waited = false;
        let claimed = wait::block(ring.wait, &ring.not_full, deadline, || match self.claim() {
            Ok(sequence) => Some(Ok(sequence)),
            Err(TrySendError::Disconnected(())) => Some(Err(())),
            Err(TrySendError::Full(())) => {
                count_full_wait(&ring.full_waits, &mut waited);
                None
            }
        });
        match claimed {
            Some(Ok(sequence)) => {
                self.write(sequence, value);
                Ok(())
            }
            Some(Err(())) => Err(SendTimeoutError::Disconnected(value)),
            None => Err(SendTimeoutError::Timeout(value)),
        }
    }

    /// Claims the next sequence if its slot is free and a subscriber exists.
    fn claim(&self) -> Result<usize, TrySendError<()>> {
        let ring = &*self.ring;
        // Relaxed: only where to start; the compare-exchange decides.
        let mut current = ring.tail.load(Ordering::Relaxed);
        loop {
            self.check_room(current)?;
            // The claim picks one publisher per sequence; the scan above
            // (Acquire) ordered the subscribers' reads of the slot's old
            // message before our reuse of it. Acquire on success: pairs with
            // the Release read-modify-write of a subscriber joining through
            // `subscribe` (`Subscriber::join_multi`) if this claim comes
            // after it, so that its entry happens before our mark: whoever
            // acquires the mark (a subscriber whose cursor a later scan
            // reads, a reaper) then sees the joiner. Relaxed on failure:
            // only where to try next.
            match ring.tail.compare_exchange_weak(
                current,
                current.wrapping_add(1),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(current),
                Err(actual) => current = actual,
            }
        }
    }

    /// Checks that a subscriber exists and that the slot of sequence
    /// `current` is free.
    fn check_room(&self, current: usize) -> Result<(), TrySendError<()>> {
        let ring = &*self.ring;
        let capacity = ring.capacity();
        // The cached gate is a lower bound: *possibly* full.
        let room = if current.wrapping_sub(self.gate.get()) < capacity {
            true
        } else if mem::needs_drop::<T>() {
            // With drop glue the gate is what was reaped (see `reap.rs`).
            self.gate.set(ring.reaped());
            // `reaped` past a stale `current`: other publishers claimed
            // more, and subscribers read and reaped it, since `current` was
            // loaded. As a wrapped distance it would look a whole ring
            // behind (`Full` with the ring nearly empty, as `Cursors::lag`
            // once did); there is room, and the compare-exchange will fail
            // and retry with the fresh `tail`.
            let behind = current.wrapping_sub(self.gate.get());
            (behind as isize) < 0 || behind < capacity
        } else if let Some(lag) = ring.cursors.slowest(current) {
            self.gate.set(current.wrapping_sub(lag));
            lag < capacity
        } else {
            // No cursor at all: either nobody subscribes (`Disconnected`
            // below), or a subscriber is joining through `subscribe` and
            // its entry is not visible yet. With no cursor to gate on, a
            // claim a ring past another publisher's claim still being
            // written would write the same slot; so wait for the entry.
            false
        };
        // After the scan, as in `Publisher::start_send`.
        if ring.cursors.live() == 0 {
            return Err(TrySendError::Disconnected(()));
        }
        if !room {
            return Err(TrySendError::Full(()));
        }
        Ok(())
    }

    /// Writes the claimed `sequence` and marks it written.
    fn write(&self, sequence: usize, value: T) {
        let ring = &*self.ring;
        let slot = ring.slot(sequence);
        // The claim saw every cursor past the slot's old message (the gate
        // check's Acquire scan pairs with the Release cursor stores) or, for
        // a `T` with drop glue, that message reaped (`Ring::reaped`'s
        // Acquire load pairs with the reaper's Release store, after the
        // move). The compare-exchange gave the sequence to this claim alone.
        // SAFETY: so only this claim touches the slot until its mark, and
        // the slot holds nothing to drop.
        slot.with_mut(|slot| unsafe { (*slot).write(value) });
        // Release: pairs with the subscribers' Acquire load of the mark in
        // `readable_end`; the write above happens before their reads.
        ring.published[sequence & ring.mask].store(sequence.wrapping_add(1), Ordering::Release);
        if ring.wait.may_sleep() {
            ring.not_empty.notify();
        }
    }

    /// Makes a subscriber that receives every message claimed after this
    /// call (a late joiner), from whichever publisher. With no subscriber
    /// left, it is how the ring gets one again. It may wait for messages
    /// that other threads have claimed to be written (a few stores each),
    /// never for room.
    ///
    /// ```
    /// let (publisher, first) = ringbus::broadcast::Builder::new(8).build_multi();
    /// publisher.send(1).unwrap();
    /// drop(first);
    /// assert!(publisher.send(2).is_err()); // nobody listens
    /// let mut late = publisher.subscribe();
    /// publisher.clone().send(3).unwrap();
    /// assert_eq!(*late.recv().unwrap(), 3);
    /// ```
    pub fn subscribe(&self) -> Subscriber<T> {
        if mem::needs_drop::<T>() {
            // As `Publisher::subscribe`: messages published after the last
            // subscriber's reap, which nobody will pass.
            self.ring.reap();
        }
        Subscriber::join_multi(self.ring.clone())
    }

    /// The number of slots, a power of two.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::Builder::new(3).build_multi::<u8>();
    /// assert_eq!(publisher.capacity(), 4);
    /// ```
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The number of claimed messages the slowest subscriber has not read.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::Builder::new(4).build_multi();
    /// publisher.send(1).unwrap();
    /// assert_eq!(publisher.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        // Relaxed: a snapshot.
        let tail = self.ring.tail.load(Ordering::Relaxed);
        match self.ring.cursors.slowest(tail) {
            Some(lag) => {
                if !mem::needs_drop::<T>() {
                    // As in `Publisher::len`.
                    self.gate.set(tail.wrapping_sub(lag));
                }
                lag
            }
            // No cursor seen: nothing unread, and no gate either. A
            // subscriber may be joining (its entry not visible yet), and a
            // gate at `tail` would let this publisher's next claim run a
            // ring past another publisher's claim still being written, the
            // case `check_room` waits out.
            None => 0,
        }
    }

    /// Whether every subscriber has read everything claimed.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::Builder::new(4).build_multi::<u8>();
    /// assert!(publisher.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a `try_send` would now say `Full`. For a `T` with drop glue
    /// it first reaps what every subscriber has passed, if the ring looks
    /// full, as `try_send` does.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::Builder::new(1).build_multi();
    /// publisher.send(1).unwrap();
    /// assert!(publisher.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self.has_room(), Err(TrySendError::Full(())))
    }

    /// `check_room` at the tail now, and for a `T` with drop glue a reap of
    /// its own if the ring looks full, as `try_send` does: messages every
    /// subscriber has passed may still wait for a pass owed by a busy
    /// thread, maybe this one (see `reap.rs`). Never under the `not_full`
    /// lock.
    fn has_room(&self) -> Result<(), TrySendError<()>> {
        // Relaxed: a snapshot, as in `claim`.
        let current = self.ring.tail.load(Ordering::Relaxed);
        match self.check_room(current) {
            Err(TrySendError::Full(())) if mem::needs_drop::<T>() => {
                self.ring.reap();
                // Relaxed: as above.
                self.check_room(self.ring.tail.load(Ordering::Relaxed))
            }
            other => other,
        }
    }

    /// The number of subscribers alive now.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::broadcast::Builder::new(4).build_multi::<u8>();
    /// assert_eq!(publisher.subscribers(), 1);
    /// # drop(subscriber);
    /// ```
    pub fn subscribers(&self) -> usize {
        self.ring.cursors.live()
    }

    /// A snapshot of the ring's counters, shared by every publisher (see
    /// [`BroadcastStats`]): `sent` counts claimed sequences (a message being
    /// written counts), summed over all publishers. No lock, nothing added
    /// to the send path.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::broadcast::Builder::new(4).build_multi();
    /// let other = publisher.clone();
    /// publisher.send(1).unwrap();
    /// other.send(2).unwrap();
    /// assert_eq!(publisher.stats().sent, 2);
    /// assert_eq!(other.stats().depth, 2);
    /// ```
    pub fn stats(&self) -> BroadcastStats {
        // Relaxed: a snapshot of a counter.
        let tail = self.ring.tail.load(Ordering::Relaxed);
        let depth = self.len();
        self.ring.stats(tail, depth)
    }
}

impl<T> Clone for MultiPublisher<T> {
    /// Another publisher on the same ring, for another thread.
    fn clone(&self) -> Self {
        // Relaxed: we hold a publisher, so the count cannot reach 0 meanwhile.
        self.ring.publishers.fetch_add(1, Ordering::Relaxed);
        MultiPublisher {
            ring: self.ring.clone(),
            gate: Cell::new(self.gate.get()),
            #[cfg(feature = "async")]
            sink: Default::default(),
        }
    }
}

impl<T> Drop for MultiPublisher<T> {
    fn drop(&mut self) {
        // AcqRel: the last publisher's flag store below then happens after
        // every publisher's marks (release sequence of the count).
        if self.ring.publishers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Release: pairs with the subscribers' Acquire load of the flag.
            self.ring.publisher_gone.store(true, Ordering::Release);
            self.ring.not_empty.notify();
        }
        // Last: the sink's held item may panic as it drops, and the
        // disconnection above must have happened by then.
        #[cfg(feature = "async")]
        crate::future::cancel_sink(self, |s| &mut s.sink);
    }
}

impl<T> fmt::Debug for MultiPublisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MultiPublisher")
            .field("capacity", &self.capacity())
            .field("subscribers", &self.subscribers())
            .finish_non_exhaustive()
    }
}
