//! Delivery: the walk over a match set that offers a message to each
//! subscriber as its overflow policy says, and [`Pending`], a walk stopped
//! half way at a full `Block` subscriber and resumable without duplicates.

use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};

use super::{Envelope, Inbox, MatchSet, Name, Overflow, Publisher};
use crate::error::TrySendError;
use crate::sync::{spin_loop, Arc, Ordering};
use crate::unwind::HeldPanic;
use crate::wait;

/// How many times a `DropOldest` delivery looks for room before it drops
/// the new message: `2^SETTLE_STEPS - 1` spin-loop hints in all, a few
/// microseconds. (Under loom each hint is a scheduling point: fewer.)
const SETTLE_STEPS: u32 = if cfg!(ringbus_loom) { 2 } else { 8 };

/// How long a delivery may wait for a full `Block` subscriber.
#[derive(Clone, Copy)]
pub(super) enum Mode {
    /// Not at all.
    Try,
    /// Until the deadline (`None`: for ever).
    Until(Option<Instant>),
}

/// What offering a message to one subscriber did.
enum Offered<T> {
    /// It is in the subscriber's ring.
    Delivered,
    /// Dropped: the subscriber is gone, or its `DropNewest` ring was full.
    Dropped,
    /// A `Block` ring stayed full: here it is back.
    Stuck(Envelope<T>),
}

impl<T> Inbox<T> {
    /// Offers `item` to this subscriber as its overflow policy says.
    #[inline]
    fn offer(&self, item: Envelope<T>, mode: Mode, held: &mut HeldPanic) -> Offered<T> {
        if !self.is_alive() {
            held.discard(item);
            return Offered::Dropped;
        }
        let item = match self.tx.try_send(item) {
            Ok(()) => return self.delivered(held),
            Err(TrySendError::Full(item)) => item,
            // The inbox holds a receiver: the ring never disconnects.
            Err(TrySendError::Disconnected(item)) => {
                held.discard(item);
                return Offered::Dropped;
            }
        };
        match self.overflow {
            Overflow::Block => match mode {
                Mode::Try => Offered::Stuck(item),
                Mode::Until(deadline) => self.block(item, deadline, held),
            },
            Overflow::DropNewest => {
                // Relaxed: a counter read for reporting; no data with it.
                self.missed.fetch_add(1, Ordering::Relaxed);
                held.discard(item);
                Offered::Dropped
            }
            Overflow::DropOldest => self.replace_oldest(item, held),
        }
    }

    /// Makes room for `item` in a full `DropOldest` ring by dropping the
    /// oldest message, without ever waiting for the subscriber.
    ///
    /// The oldest is taken only while the ring holds `capacity` messages: if
    /// the subscriber has claimed a slot and is still moving its message
    /// out, taking more would not free that slot any sooner (each take would
    /// lose one more message and the ring would stay full). Such a receive,
    /// or another publisher's send, ends within a few instructions unless
    /// its thread was descheduled, so the send looks again a few times,
    /// pausing a little longer each time (at most a few microseconds in
    /// all); if the ring is still full then, `item` itself is dropped, and
    /// counted: the feed does not wait for a lossy subscriber.
    fn replace_oldest(&self, mut item: Envelope<T>, held: &mut HeldPanic) -> Offered<T> {
        for step in 0..SETTLE_STEPS {
            if self.rx.len() >= self.rx.capacity() {
                if let Ok(oldest) = self.rx.try_recv() {
                    // Relaxed: a counter; no data travels with it.
                    self.missed.fetch_add(1, Ordering::Relaxed);
                    held.discard(oldest);
                }
            }
            item = match self.tx.try_send(item) {
                Ok(()) => return self.delivered(held),
                Err(err) => err.into_inner(),
            };
            for _ in 0..1u32 << step {
                spin_loop();
            }
        }
        // Relaxed: counters, as above. `given_up` (on the inbox's line of
        // rare tallies) tells this loss from those that pushed a message
        // out of the ring, for `stats`.
        self.tallies.given_up.fetch_add(1, Ordering::Relaxed);
        self.missed.fetch_add(1, Ordering::Relaxed);
        held.discard(item);
        Offered::Dropped
    }

    /// Wakes the subscriber after a delivery, or, if it has left meanwhile,
    /// counts the message as dropped and drops what its ring holds.
    #[inline]
    fn delivered(&self, held: &mut HeldPanic) -> Offered<T> {
        // A second look at the flag, after the message is in: a subscriber
        // drops its unread messages as it leaves (`Subscriber::drop`), and a
        // send that had seen it alive may have taken the room that drain
        // made. Our claim acquired the drain's stamp store, which comes
        // after the flag's store, so then this load sees `false`.
        if !self.is_alive() {
            return self.abandoned(held);
        }
        if self.wait.may_sleep() {
            // A waker's `wake` is user code too: its panic waits with the
            // others, so the walk goes on.
            self.not_empty.notify_holding(held);
        }
        Offered::Delivered
    }

    /// A delivery to a subscriber that left during it: nobody will read the
    /// ring, so drop what it holds now instead of when the last route to it
    /// lets go.
    #[cold]
    fn abandoned(&self, held: &mut HeldPanic) -> Offered<T> {
        self.drain(held);
        Offered::Dropped
    }

    /// Drops every message waiting in the ring (the subscriber is gone). If
    /// a message's `Drop` panics, the others are still dropped, and then the
    /// (first) panic goes on.
    pub(super) fn drop_unread(&self) {
        let mut held = HeldPanic::default();
        self.drain(&mut held);
        held.resume();
    }

    /// Takes every message out of the ring and drops it through `held`.
    fn drain(&self, held: &mut HeldPanic) {
        while let Ok(message) = self.rx.try_recv() {
            held.discard(message);
        }
    }

    /// Waits for room in a `Block` ring (or for the subscriber to leave).
    #[cold]
    fn block(
        &self,
        item: Envelope<T>,
        deadline: Option<Instant>,
        held: &mut HeldPanic,
    ) -> Offered<T> {
        // Relaxed: a counter read for reporting; no data travels with it.
        self.tallies.full_waits.fetch_add(1, Ordering::Relaxed);
        let mut slot = Some(item);
        let done = wait::block(self.wait, &self.not_full, deadline, || {
            if !self.is_alive() {
                return Some(false);
            }
            let item = slot.take()?;
            match self.tx.try_send(item) {
                Ok(()) => Some(true),
                Err(err) => {
                    slot = Some(err.into_inner());
                    None
                }
            }
        });
        match (done, slot.take()) {
            (Some(true), _) => self.delivered(held),
            (None, Some(item)) => Offered::Stuck(item),
            (_, item) => {
                held.discard(item);
                Offered::Dropped
            }
        }
    }
}

/// Where a delivery stopped: the index of the subscriber that did not get
/// the message, how many got it before, and the message.
pub(super) struct Stuck<T> {
    pub(super) next: usize,
    pub(super) delivered: usize,
    pub(super) message: T,
}

/// Offers `message` to `set.inboxes[from..]` in order; `delivered` counts
/// the subscribers reached before `from`.
///
/// The `Drop`s a delivery runs (of a message pushed out of a `DropOldest`
/// ring, refused by a full `DropNewest` one, or left in the ring of a
/// subscriber that left) and the wakes of the subscribers' wakers are user
/// code, and one that panics does not stop the walk: its panic is resumed
/// once the walk is over. Cut short, the
/// walk would cost the subscribers after that one the message (a `Block`
/// subscriber with room included), and a lossy one would count neither the
/// new message nor the one it pushed out. A walk that stops at a full
/// `Block` subscriber (`try_send`, `send_timeout`) and has caught a panic
/// resumes it all the same: the message drops with it, and the
/// subscribers from the full one on do not get it.
#[inline]
pub(super) fn deliver<T: Clone>(
    set: &MatchSet<T>,
    name: &Name,
    generation: usize,
    message: T,
    from: usize,
    mut delivered: usize,
    mode: Mode,
) -> Result<usize, Stuck<T>> {
    let mut held = HeldPanic::default();
    let walk = || {
        let inboxes = &set.inboxes;
        let Some(last) = inboxes.len().checked_sub(1) else {
            return Ok(delivered);
        };
        let topic = Arc::as_ptr(name);
        let item = |payload| Envelope {
            topic,
            generation,
            payload,
        };
        for (i, inbox) in inboxes.iter().enumerate().take(last).skip(from) {
            if !inbox.is_alive() {
                continue;
            }
            match inbox.offer(item(message.clone()), mode, &mut held) {
                Offered::Delivered => delivered += 1,
                Offered::Dropped => {}
                Offered::Stuck(copy) => {
                    held.discard(copy);
                    return Err(Stuck {
                        next: i,
                        delivered,
                        message,
                    });
                }
            }
        }
        if from > last {
            return Ok(delivered);
        }
        // The last subscriber gets the original.
        match inboxes[last].offer(item(message), mode, &mut held) {
            Offered::Delivered => Ok(delivered + 1),
            Offered::Dropped => Ok(delivered),
            Offered::Stuck(item) => Err(Stuck {
                next: last,
                delivered,
                message: item.payload,
            }),
        }
    };
    let walked = walk();
    held.resume();
    walked
}

/// A send that stopped at a full `Block` subscriber: the message, and which
/// subscribers of the send's match set are still to get it.
///
/// Returned by [`Publisher::try_send`](super::Publisher::try_send) and [`Publisher::send_timeout`](super::Publisher::send_timeout).
/// The subscribers before the stopping point have the message already;
/// finishing the send reaches exactly the others (those still alive), so
/// no subscriber gets it twice. The match set is the one the send started
/// with: a subscriber that joins meanwhile does not get it. Dropping a
/// `Pending` drops the message and gives up on the rest.
///
/// A `Pending` counts as a publisher of its endpoint: subscribers see
/// `Disconnected` only once it is finished or dropped, so a message it
/// delivers after the last [`Publisher`](super::Publisher) dropped is still
/// drained before the end.
///
/// ```
/// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
///
/// let (publisher, mut slow) = pubsub::channel(1);
/// slow.subscribe("#").unwrap();
/// let mut fast = publisher.subscriber_with(SubscriberOptions::new().capacity(8));
/// fast.subscribe("#").unwrap();
/// let topic = publisher.topic("t").unwrap();
/// publisher.send(&topic, 0);
/// let pending = publisher.try_send(&topic, 1).unwrap_err(); // `slow` is full
/// assert_eq!(pending.delivered(), 0);
/// slow.recv().unwrap();
/// assert_eq!(pending.send(), 2); // `slow` then `fast`, once each
/// assert_eq!(fast.try_iter().map(|m| *m).collect::<Vec<_>>(), [0, 1]);
/// ```
pub struct Pending<T> {
    /// Keeps the subscribers connected until the send is finished or
    /// given up (a publisher registration of its own).
    pub(super) publisher: Publisher<T>,
    pub(super) message: T,
    pub(super) name: Name,
    pub(super) generation: usize,
    pub(super) set: Arc<MatchSet<T>>,
    pub(super) next: usize,
    pub(super) delivered: usize,
}

impl<T> Pending<T> {
    /// How many subscribers got the message so far.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// assert_eq!(publisher.try_send(&t, 2).unwrap_err().delivered(), 0);
    /// ```
    pub fn delivered(&self) -> usize {
        self.delivered
    }

    /// The message.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// assert_eq!(publisher.try_send(&t, 2).unwrap_err().message(), &2);
    /// ```
    pub fn message(&self) -> &T {
        &self.message
    }

    /// The topic the message was sent to.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// assert_eq!(publisher.try_send(&t, 2).unwrap_err().topic(), "t");
    /// ```
    pub fn topic(&self) -> &str {
        &self.name
    }

    /// Gives up on the remaining subscribers and returns the message.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// assert_eq!(publisher.try_send(&t, 2).unwrap_err().into_inner(), 2);
    /// ```
    pub fn into_inner(self) -> T {
        self.message
    }
}

impl<T: Clone> Pending<T> {
    pub(super) fn resume(self, mode: Mode) -> Result<usize, Pending<T>> {
        let Pending {
            publisher,
            message,
            name,
            generation,
            set,
            next,
            delivered,
        } = self;
        deliver(&set, &name, generation, message, next, delivered, mode).map_err(|stuck| Pending {
            publisher,
            message: stuck.message,
            name,
            generation,
            set,
            next: stuck.next,
            delivered: stuck.delivered,
        })
    }

    /// Offers the message to the remaining subscribers without waiting.
    /// Returns the total number reached (before and now).
    ///
    /// # Panics
    ///
    /// As [`Publisher::try_send`](super::Publisher::try_send).
    ///
    /// # Errors
    ///
    /// The `Pending` again if a `Block` subscriber is still full.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// let pending = publisher.try_send(&t, 2).unwrap_err();
    /// let pending = pending.try_send().unwrap_err(); // still full
    /// s.recv().unwrap();
    /// assert_eq!(pending.try_send(), Ok(1));
    /// ```
    pub fn try_send(self) -> Result<usize, Pending<T>> {
        self.resume(Mode::Try)
    }

    /// Delivers to the remaining subscribers, waiting for room. Returns the
    /// total number reached.
    ///
    /// # Panics
    ///
    /// As [`Publisher::send`](super::Publisher::send).
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// let pending = publisher.try_send(&t, 2).unwrap_err();
    /// drop(s); // a subscriber that leaves is skipped
    /// assert_eq!(pending.send(), 0);
    /// ```
    pub fn send(self) -> usize {
        self.resume(Mode::Until(None))
            .unwrap_or_else(|pending| pending.delivered)
    }

    /// Delivers to the remaining subscribers, waiting at most `timeout` for
    /// room. Returns the total number reached.
    ///
    /// # Panics
    ///
    /// As [`Publisher::try_send`](super::Publisher::try_send).
    ///
    /// # Errors
    ///
    /// The `Pending` again if the time ran out.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// let pending = publisher.try_send(&t, 2).unwrap_err();
    /// assert!(pending.send_timeout(Duration::from_millis(1)).is_err());
    /// ```
    pub fn send_timeout(self, timeout: Duration) -> Result<usize, Pending<T>> {
        self.resume(Mode::Until(wait::deadline(timeout)))
    }
}

impl<T> fmt::Debug for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending")
            .field("topic", &self.topic())
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Pending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "send to `{}` stopped at a full subscriber after reaching {}",
            self.topic(),
            self.delivered
        )
    }
}

impl<T> Error for Pending<T> {}

impl<T> PartialEq for Pending<T> {
    /// Two pendings are equal when they are the same unfinished send (used
    /// by `assert_eq!` on results); the message is not compared.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.set, &other.set)
            && self.next == other.next
            && self.delivered == other.delivered
    }
}
