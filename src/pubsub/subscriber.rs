//! The receiving side: [`Subscriber`], its filters and its ring.

use std::fmt;
use std::time::{Duration, Instant};

use super::filter::Filters;
use super::{Endpoint, Envelope, FilterError, Inbox, Message, Overflow};
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::sync::{Arc, Ordering};
use crate::wait;

/// A receiving end of a [`pubsub`](super) endpoint: its own ring, its own
/// filters, its own [`Overflow`] policy.
///
/// It starts with no filter (it receives nothing) and subscribes at any
/// time, while publishers send. Messages arrive in each publisher's order.
/// `Send` and `Sync` when `T: Send`.
///
/// ```
/// let (publisher, mut subscriber) = ringbus::pubsub::channel::<&str>(8);
/// subscriber.subscribe_prefix("md.");
/// subscriber.subscribe("orders.#").unwrap();
/// for (topic, text) in [("md.ticks", "a"), ("news", "b"), ("orders.new.eu", "c")] {
///     publisher.send(&publisher.topic(topic).unwrap(), text);
/// }
/// let got: Vec<_> = subscriber.try_iter().map(|m| (m.topic().to_owned(), *m)).collect();
/// assert_eq!(got, [("md.ticks".to_owned(), "a"), ("orders.new.eu".to_owned(), "c")]);
/// ```
pub struct Subscriber<T> {
    pub(super) endpoint: Arc<Endpoint<T>>,
    pub(super) inbox: Arc<Inbox<T>>,
    /// This subscriber's id in the registry.
    id: u64,
    /// A copy of the filters, for the receive-side check of messages routed
    /// before the last unsubscription.
    filters: Filters,
    /// The generation of the last unsubscription: messages routed by an
    /// older match set are checked against `filters` on receive.
    unsubscribed_at: usize,
    /// The waker registration of this subscriber as a `Stream` (feature
    /// `async`).
    #[cfg(feature = "async")]
    pub(super) stream: crate::future::sealed::Slot,
}

impl<T> Subscriber<T> {
    pub(super) fn new(endpoint: Arc<Endpoint<T>>, inbox: Arc<Inbox<T>>, id: u64) -> Self {
        Subscriber {
            endpoint,
            inbox,
            id,
            filters: Filters::default(),
            unsubscribed_at: 0,
            #[cfg(feature = "async")]
            stream: Default::default(),
        }
    }

    /// Subscribes to the topics that match `pattern`: dot-separated words,
    /// where `*` matches exactly one word and `#` zero or more (RabbitMQ's
    /// topic exchange). Returns false if it was subscribed already.
    ///
    /// Once this returns, every message sent afterwards (in happens-before
    /// order) to a matching topic reaches this subscriber.
    ///
    /// # Errors
    ///
    /// [`FilterError::MixedWildcard`] if a word mixes `*` or `#` with other
    /// characters.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(8);
    /// assert_eq!(s.subscribe("md.*.AAPL"), Ok(true));
    /// assert_eq!(s.subscribe("md.*.AAPL"), Ok(false));
    /// assert!(s.subscribe("md.a*").is_err());
    /// for topic in ["md.ticks.AAPL", "md.AAPL", "md.ticks.MSFT"] {
    ///     publisher.send(&publisher.topic(topic).unwrap(), ());
    /// }
    /// assert_eq!(s.try_iter().count(), 1);
    /// ```
    pub fn subscribe(&mut self, pattern: &str) -> Result<bool, FilterError> {
        if !self.filters.add_pattern(pattern)? {
            return Ok(false);
        }
        self.endpoint.edit_filters(self.id, |filters| {
            // Validated by the local copy above.
            filters.add_pattern(pattern).unwrap_or(false)
        });
        Ok(true)
    }

    /// Subscribes to every topic that starts with the bytes of `prefix`
    /// (ZeroMQ's filter; `""` matches every topic). Returns false if it was
    /// subscribed already.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(8);
    /// assert!(s.subscribe_prefix("md.t"));
    /// publisher.send(&publisher.topic("md.ticks").unwrap(), 1);
    /// publisher.send(&publisher.topic("md").unwrap(), 2);
    /// assert_eq!(s.try_iter().map(|m| *m).collect::<Vec<_>>(), [1]);
    /// ```
    pub fn subscribe_prefix(&mut self, prefix: &str) -> bool {
        if !self.filters.add_prefix(prefix) {
            return false;
        }
        self.endpoint
            .edit_filters(self.id, |filters| filters.add_prefix(prefix));
        true
    }

    /// Removes a pattern subscription. Returns false if there was none.
    ///
    /// Once this returns, no message arrives that only this pattern matched,
    /// even one already on its way. (The words of the pattern stay in the
    /// subscriber's filter trie for the subscriber's life, ready for a
    /// later subscription: a subscriber that subscribes to ever new patterns
    /// grows.)
    ///
    /// # Errors
    ///
    /// [`FilterError::MixedWildcard`] for a malformed pattern.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(8);
    /// s.subscribe("a.#").unwrap();
    /// let topic = publisher.topic("a.b").unwrap();
    /// publisher.send(&topic, 1); // in the ring already...
    /// assert_eq!(s.unsubscribe("a.#"), Ok(true));
    /// publisher.send(&topic, 2);
    /// assert!(s.try_recv().is_err()); // ...and discarded on receive
    /// ```
    pub fn unsubscribe(&mut self, pattern: &str) -> Result<bool, FilterError> {
        if !self.filters.remove_pattern(pattern)? {
            return Ok(false);
        }
        let generation = self.endpoint.edit_filters(self.id, |filters| {
            filters.remove_pattern(pattern).unwrap_or(false)
        });
        self.unsubscribed(generation);
        Ok(true)
    }

    /// Removes a prefix subscription. Returns false if there was none.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(8);
    /// s.subscribe_prefix("");
    /// assert!(s.unsubscribe_prefix(""));
    /// assert_eq!(publisher.send(&publisher.topic("x").unwrap(), 1), 0);
    /// ```
    pub fn unsubscribe_prefix(&mut self, prefix: &str) -> bool {
        if !self.filters.remove_prefix(prefix) {
            return false;
        }
        let generation = self
            .endpoint
            .edit_filters(self.id, |filters| filters.remove_prefix(prefix));
        self.unsubscribed(generation);
        true
    }

    fn unsubscribed(&mut self, generation: Option<usize>) {
        if let Some(generation) = generation {
            self.unsubscribed_at = generation;
        }
    }

    /// The number of filters (prefixes and patterns).
    ///
    /// ```
    /// let (_p, mut s) = ringbus::pubsub::channel::<u8>(8);
    /// s.subscribe("a").unwrap();
    /// s.subscribe_prefix("b");
    /// assert_eq!(s.filter_count(), 2);
    /// ```
    pub fn filter_count(&self) -> usize {
        self.filters.len()
    }

    /// Opens an envelope taken from the ring: the message, or `None` if it
    /// no longer passes this subscriber's filters (only possible for one
    /// routed before the last unsubscription).
    #[inline]
    fn open(&self, envelope: Envelope<T>) -> Option<Message<T>> {
        // SAFETY: the pointer is to a name interned in our endpoint's
        // registry, which never lets go of it, and we hold the endpoint
        // (see `Envelope::topic`).
        let topic: &str = unsafe { &*envelope.topic };
        let routed_after = envelope.generation.wrapping_sub(self.unsubscribed_at) as isize >= 0;
        if !routed_after && !self.filters.matches(topic) {
            // Relaxed: a counter read for reporting (rare: only messages
            // routed before an unsubscription come here).
            self.inbox.tallies.discarded.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // As above, the `Name` is alive; the pointer came from `Arc::as_ptr`,
        // the pointer `Arc::into_raw` returns (that is how `into_raw` is
        // written).
        // SAFETY: counting one more reference first makes the `Arc` that
        // `from_raw` builds own that reference.
        let topic = unsafe {
            Arc::increment_strong_count(envelope.topic);
            Arc::from_raw(envelope.topic)
        };
        Some(Message {
            topic,
            payload: envelope.payload,
        })
    }

    /// Takes the oldest message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if the ring is empty, [`TryRecvError::Disconnected`]
    /// if it is empty and every publisher is gone.
    ///
    /// ```
    /// use ringbus::TryRecvError;
    ///
    /// let (publisher, mut s) = ringbus::pubsub::channel(4);
    /// s.subscribe("#").unwrap();
    /// assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Empty);
    /// publisher.send(&publisher.topic("t").unwrap(), 1);
    /// drop(publisher);
    /// assert_eq!(*s.try_recv().unwrap(), 1);
    /// assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Disconnected);
    /// ```
    pub fn try_recv(&self) -> Result<Message<T>, TryRecvError> {
        loop {
            if let Some(message) = self.open(self.take()?) {
                return Ok(message);
            }
        }
    }

    /// Takes the oldest envelope from the ring, unopened, and wakes a
    /// publisher waiting for room. It drops no message (a discarded one is
    /// dropped by [`open`](Self::open)), but its wake may run a waker's
    /// code, so a parked `recv`, whose re-check runs under the `not_empty`
    /// lock, takes with [`take_quietly`](Self::take_quietly) and wakes after
    /// its wait.
    fn take(&self) -> Result<Envelope<T>, TryRecvError> {
        let envelope = self.take_quietly()?;
        self.made_room();
        Ok(envelope)
    }

    /// [`take`](Self::take) without waking the publishers waiting for room:
    /// the attempt of a parked `recv`, which runs under the `not_empty`
    /// lock. Waking there would run a waker's code (a run-on-wake executor
    /// polls a send task inside `wake`) under that lock, and the send's
    /// notification of `not_empty` would deadlock on it. The caller calls
    /// [`made_room`](Self::made_room) once the wait is over.
    fn take_quietly(&self) -> Result<Envelope<T>, TryRecvError> {
        let envelope = match self.inbox.rx.try_recv() {
            Ok(envelope) => envelope,
            Err(_) => {
                if !self.endpoint.publishers_gone() {
                    return Err(TryRecvError::Empty);
                }
                // Every publisher is gone and their writes are visible
                // (see `publishers_gone`): one more look drains.
                match self.inbox.rx.try_recv() {
                    Ok(envelope) => envelope,
                    Err(_) => return Err(TryRecvError::Disconnected),
                }
            }
        };
        Ok(envelope)
    }

    /// Wakes a publisher waiting for room in this `Block` ring.
    fn made_room(&self) {
        if self.inbox.overflow == Overflow::Block && self.inbox.wait.may_sleep() {
            self.inbox.not_full.notify();
        }
    }

    /// Takes the oldest message, waiting while the ring is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and every publisher gone.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(4);
    /// s.subscribe("#").unwrap();
    /// std::thread::spawn(move || publisher.send(&publisher.topic("t").unwrap(), 5));
    /// assert_eq!(*s.recv().unwrap(), 5);
    /// assert!(s.recv().is_err());
    /// ```
    pub fn recv(&self) -> Result<Message<T>, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    /// Takes the oldest message, waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if nothing came in time,
    /// [`RecvTimeoutError::Disconnected`] once the ring is empty and every
    /// publisher gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::RecvTimeoutError;
    ///
    /// let (_publisher, s) = ringbus::pubsub::channel::<u8>(4);
    /// let err = s.recv_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err, RecvTimeoutError::Timeout);
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Message<T>, RecvTimeoutError> {
        self.recv_until(wait::deadline(timeout))
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<Message<T>, RecvTimeoutError> {
        loop {
            // The wait takes envelopes only: a parked attempt runs under the
            // `not_empty` lock (see `take`).
            let got = wait::block(
                self.inbox.wait,
                &self.inbox.not_empty,
                deadline,
                || match self.take_quietly() {
                    Ok(envelope) => Some(Ok(envelope)),
                    Err(TryRecvError::Disconnected) => Some(Err(RecvTimeoutError::Disconnected)),
                    Err(TryRecvError::Empty) => None,
                },
            );
            match got {
                // Outside the lock: publishers waiting for room are woken,
                // and a discarded message is dropped, here.
                Some(Ok(envelope)) => {
                    self.made_room();
                    if let Some(message) = self.open(envelope) {
                        return Ok(message);
                    }
                }
                Some(Err(disconnected)) => return Err(disconnected),
                None => return Err(RecvTimeoutError::Timeout),
            }
        }
    }

    /// An iterator over the messages already waiting; never waits.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(4);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// (0..3).for_each(|i| { publisher.send(&t, i); });
    /// assert_eq!(s.try_iter().map(|m| *m).collect::<Vec<_>>(), [0, 1, 2]);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { subscriber: self }
    }

    /// An iterator that waits for each message and ends once the ring is
    /// empty and every publisher gone.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(4);
    /// s.subscribe("#").unwrap();
    /// std::thread::spawn(move || {
    ///     let t = publisher.topic("t").unwrap();
    ///     (0..10).for_each(|i| { publisher.send(&t, i); });
    /// });
    /// assert_eq!(s.iter().count(), 10);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { subscriber: self }
    }

    /// How many messages routed to this subscriber its [`Overflow`] policy
    /// dropped (always 0 for [`Overflow::Block`]). Every message routed here
    /// is either received or counted here, exactly once.
    ///
    /// ```
    /// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
    ///
    /// let (publisher, _s) = pubsub::channel::<u8>(4);
    /// let options = SubscriberOptions::new().capacity(1).overflow(Overflow::DropNewest);
    /// let mut s = publisher.subscriber_with(options);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// assert_eq!(publisher.send(&t, 1), 1);
    /// assert_eq!(publisher.send(&t, 2), 0); // full: dropped
    /// assert_eq!(s.missed(), 1);
    /// assert_eq!(*s.recv().unwrap(), 1);
    /// ```
    pub fn missed(&self) -> usize {
        // Relaxed: a counter; each increment is one dropped message.
        self.inbox.missed.load(Ordering::Relaxed)
    }

    /// This subscriber's overflow policy.
    ///
    /// ```
    /// let (_p, s) = ringbus::pubsub::channel::<u8>(4);
    /// assert_eq!(s.overflow(), ringbus::pubsub::Overflow::Block);
    /// ```
    pub fn overflow(&self) -> Overflow {
        self.inbox.overflow
    }

    /// The size of this subscriber's ring, a power of two.
    ///
    /// ```
    /// let (_p, s) = ringbus::pubsub::channel::<u8>(5);
    /// assert_eq!(s.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.inbox.rx.capacity()
    }

    /// The number of messages waiting in this subscriber's ring (a
    /// snapshot; it may count messages a later unsubscription discards).
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(4);
    /// s.subscribe("#").unwrap();
    /// publisher.send(&publisher.topic("t").unwrap(), ());
    /// assert_eq!(s.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.inbox.rx.len()
    }

    /// Whether no message is waiting.
    ///
    /// ```
    /// let (_p, s) = ringbus::pubsub::channel::<u8>(4);
    /// assert!(s.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this subscriber's ring is full.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// publisher.send(&publisher.topic("t").unwrap(), ());
    /// assert!(s.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }

    /// Whether publishers existed and every one is gone. Messages they sent
    /// may still wait.
    ///
    /// ```
    /// let (publisher, s) = ringbus::pubsub::channel::<u8>(1);
    /// assert!(!s.is_disconnected());
    /// drop(publisher);
    /// assert!(s.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.endpoint.publishers_gone()
    }

    /// A snapshot of this subscriber's counters (see
    /// [`InboxStats`](crate::InboxStats)): `delivered` counts what reached
    /// its ring, `missed` what its overflow policy lost. No lock, nothing
    /// added to the send or receive path.
    ///
    /// ```
    /// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
    ///
    /// let (publisher, _s) = pubsub::channel::<u8>(4);
    /// let options = SubscriberOptions::new().capacity(2).overflow(Overflow::DropOldest);
    /// let mut latest = publisher.subscriber_with(options);
    /// latest.subscribe("#").unwrap();
    /// let topic = publisher.topic("t").unwrap();
    /// for i in 0..5 {
    ///     publisher.send(&topic, i);
    /// }
    /// assert_eq!(*latest.recv().unwrap(), 3); // 0, 1, 2 pushed out
    /// let stats = latest.stats();
    /// assert_eq!((stats.delivered, stats.received, stats.missed), (5, 1, 3));
    /// assert_eq!(stats.depth, 1);
    /// ```
    pub fn stats(&self) -> crate::InboxStats {
        self.inbox.stats()
    }
}

impl<T> Drop for Subscriber<T> {
    fn drop(&mut self) {
        #[cfg(feature = "async")]
        crate::future::cancel_stream(self, |r| &mut r.stream);
        // Relaxed: see `Inbox::is_alive`; `notify` below fences before it
        // looks for parked publishers.
        self.inbox.alive.store(false, Ordering::Relaxed);
        self.inbox.not_full.notify();
        self.endpoint.leave(self.id);
        // Drop the unread messages now, not when the inbox itself goes:
        // a `Topic`'s cached route may hold the inbox until its next send,
        // and the endpoint is already gone for everyone else. `leave` has
        // released the endpoint's lock, so a message whose `Drop` uses the
        // bus is fine. A send that saw `alive` before our store may still
        // put a message into the room this makes; it looks at `alive` again
        // after its delivery (`Inbox::delivered`), sees `false` (its claim
        // acquired our release of the slot), and drops the ring's contents
        // itself without counting the subscriber as reached.
        self.inbox.drop_unread();
    }
}

impl<T> fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("filters", &self.filter_count())
            .field("overflow", &self.overflow())
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// An iterator over the messages already waiting, from
/// [`Subscriber::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    subscriber: &'a Subscriber<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = Message<T>;

    fn next(&mut self) -> Option<Message<T>> {
        self.subscriber.try_recv().ok()
    }
}

/// A waiting iterator over the messages, from [`Subscriber::iter`]; ends
/// once the ring is empty and every publisher gone.
#[derive(Debug)]
pub struct Iter<'a, T> {
    subscriber: &'a Subscriber<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = Message<T>;

    fn next(&mut self) -> Option<Message<T>> {
        self.subscriber.recv().ok()
    }
}
