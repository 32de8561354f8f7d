//! The sending side: [`Publisher`].

use std::fmt;
use std::time::Duration;

use super::delivery::{deliver, Mode, Pending};
use super::filter::check_topic;
use super::{Endpoint, FilterError, Route, Subscriber, SubscriberOptions, Topic};
use crate::sync::{Arc, Ordering};
use crate::wait;

/// The sending end of a [`pubsub`](super) endpoint. Clone it for more
/// publishing threads; subscribers disconnect when the last clone drops.
///
/// `Send` and `Sync` when `T: Send`. Sending needs `T: Clone` (one clone per
/// matching subscriber but the last).
///
/// ```
/// use std::thread;
///
/// let (publisher, mut subscriber) = ringbus::pubsub::channel::<u32>(64);
/// subscriber.subscribe("jobs.*").unwrap();
/// let workers: Vec<_> = (0..2)
///     .map(|w| {
///         let publisher = publisher.clone();
///         thread::spawn(move || {
///             let topic = publisher.topic(&format!("jobs.{w}")).unwrap();
///             (0..10).for_each(|i| assert_eq!(publisher.send(&topic, i), 1));
///         })
///     })
///     .collect();
/// drop(publisher);
/// workers.into_iter().for_each(|w| w.join().unwrap());
/// assert_eq!(subscriber.iter().count(), 20);
/// ```
pub struct Publisher<T> {
    endpoint: Arc<Endpoint<T>>,
}

impl<T> Publisher<T> {
    pub(super) fn new(endpoint: Arc<Endpoint<T>>) -> Self {
        Publisher { endpoint }
    }

    /// Interns `name` as a topic to send to. Do it once per topic (and per
    /// thread: a [`Topic`] is not `Sync`), not once per message: it takes
    /// the endpoint's lock and may allocate.
    ///
    /// An interned name stays with the endpoint until the endpoint goes (its
    /// last handle drops): a program that makes topics without bound (one
    /// per order id, say) grows the endpoint's memory without bound. Keep
    /// topics to a bounded set and put such ids in the message.
    ///
    /// # Errors
    ///
    /// [`FilterError::WildcardInTopic`] if `name` contains `*` or `#`.
    ///
    /// ```
    /// use ringbus::pubsub::{self, FilterError};
    ///
    /// let (publisher, _s) = pubsub::channel::<u8>(4);
    /// assert!(publisher.topic("md.ticks.AAPL").is_ok());
    /// assert!(publisher.topic("").is_ok()); // the empty topic has no word
    /// assert_eq!(
    ///     publisher.topic("md.#").unwrap_err(),
    ///     FilterError::WildcardInTopic { byte: 3 }
    /// );
    /// ```
    pub fn topic(&self, name: &str) -> Result<Topic<T>, FilterError> {
        check_topic(name)?;
        let route = Endpoint::route(&self.endpoint, name);
        Ok(Topic {
            name: route.name.clone(),
            route: std::cell::RefCell::new(route),
        })
    }

    /// A new subscriber on this endpoint with the endpoint's capacity and
    /// [`Overflow::Block`](super::Overflow::Block), and no filter yet.
    ///
    /// # Panics
    ///
    /// If the allocator refuses the subscriber's ring. The capacity was
    /// checked when the endpoint was made, but not the memory: on an
    /// endpoint whose capacity is vast, [`Bus::subscriber`](crate::Bus::subscriber)
    /// answers [`BusError::Capacity`](crate::BusError::Capacity) instead.
    ///
    /// ```
    /// let (publisher, _first) = ringbus::pubsub::channel::<u8>(4);
    /// let mut second = publisher.subscriber();
    /// second.subscribe("#").unwrap();
    /// assert_eq!(publisher.send(&publisher.topic("a").unwrap(), 1), 1);
    /// ```
    pub fn subscriber(&self) -> Subscriber<T> {
        Endpoint::mint_subscriber(&self.endpoint, SubscriberOptions::new())
    }

    /// A new subscriber with its own capacity and [`Overflow`](super::Overflow).
    ///
    /// # Panics
    ///
    /// If the capacity is 0 or too large (see [`channel`](super::channel)),
    /// or if the allocator refuses the ring.
    ///
    /// ```
    /// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
    ///
    /// let (publisher, _s) = pubsub::channel::<u8>(4);
    /// let lossy = publisher.subscriber_with(SubscriberOptions::new().overflow(Overflow::DropNewest));
    /// assert_eq!(lossy.overflow(), Overflow::DropNewest);
    /// ```
    #[track_caller]
    pub fn subscriber_with(&self, options: SubscriberOptions) -> Subscriber<T> {
        Endpoint::mint_subscriber(&self.endpoint, options)
    }

    /// The ring size a new subscriber gets unless its options say otherwise:
    /// the endpoint's capacity rounded up to a power of two. (A publisher has
    /// no ring of its own; each subscriber reports its own `len`.)
    ///
    /// ```
    /// let (publisher, _s) = ringbus::pubsub::channel::<u8>(100);
    /// assert_eq!(publisher.capacity(), 128);
    /// ```
    pub fn capacity(&self) -> usize {
        // Cannot overflow: `Endpoint::new` checked it.
        self.endpoint.capacity.next_power_of_two()
    }

    /// The most messages any live subscriber has not read yet: the length
    /// of the deepest subscriber's ring, as a broadcast publisher's `len`
    /// is its slowest subscriber's. It walks the subscribers under the
    /// endpoint's lock, like [`stats`](Self::stats): for inspection, not for
    /// a hot path.
    ///
    /// ```
    /// let (publisher, mut a) = ringbus::pubsub::channel::<u8>(4);
    /// let mut b = publisher.subscriber();
    /// a.subscribe("#").unwrap();
    /// b.subscribe("md.#").unwrap();
    /// assert!(publisher.is_empty());
    /// publisher.send(&publisher.topic("md.x").unwrap(), 1); // to a and b
    /// publisher.send(&publisher.topic("news").unwrap(), 2); // to a
    /// assert_eq!(publisher.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.endpoint.backlog().0
    }

    /// Whether no live subscriber has a message to read (see
    /// [`len`](Self::len)).
    ///
    /// ```
    /// let (publisher, _s) = ringbus::pubsub::channel::<u8>(4);
    /// assert!(publisher.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some [`Overflow::Block`](super::Overflow::Block) subscriber's
    /// ring is full: a send routed to it would wait, and a `try_send` would
    /// return a [`Pending`](super::Pending). Lossy subscribers never make a
    /// send wait, so a full lossy ring does not count. Takes the endpoint's
    /// lock, like [`len`](Self::len).
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel::<u8>(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// assert!(!publisher.is_full());
    /// publisher.send(&t, 1);
    /// assert!(publisher.is_full());
    /// assert!(publisher.try_send(&t, 2).is_err()); // Pending: s is full
    /// ```
    pub fn is_full(&self) -> bool {
        self.endpoint.backlog().1
    }

    /// The number of live subscribers (takes the endpoint's lock).
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::pubsub::channel::<u8>(4);
    /// assert_eq!(publisher.subscriber_count(), 1);
    /// drop(subscriber);
    /// assert_eq!(publisher.subscriber_count(), 0);
    /// ```
    pub fn subscriber_count(&self) -> usize {
        self.endpoint.subscriber_count()
    }

    /// A snapshot of the endpoint's counters (see
    /// [`PubSubStats`](crate::PubSubStats)): every subscriber's, summed,
    /// with those of subscribers that left as they left.
    ///
    /// It walks the subscribers under the endpoint's lock (the one
    /// subscription changes take; a send takes it only after a change), so
    /// it may wait for a `subscribe` in progress, but never for a send, and
    /// no send waits for it unless a subscription just changed. Each
    /// subscriber's own [`Subscriber::stats`] takes no lock.
    ///
    /// ```
    /// let (publisher, mut a) = ringbus::pubsub::channel::<u8>(4);
    /// let mut b = publisher.subscriber();
    /// a.subscribe("#").unwrap();
    /// b.subscribe("md.#").unwrap();
    /// publisher.send(&publisher.topic("md.x").unwrap(), 1); // to a and b
    /// publisher.send(&publisher.topic("news").unwrap(), 2); // to a
    /// let stats = publisher.stats();
    /// assert_eq!((stats.delivered, stats.depth, stats.subscribers), (3, 3, 2));
    /// ```
    pub fn stats(&self) -> crate::PubSubStats {
        self.endpoint.stats()
    }

    /// The match set for `topic`, from its cache when no subscription
    /// changed since; else recomputed (under the lock) and cached.
    #[inline]
    fn route<'t>(&self, topic: &'t Topic<T>) -> Routed<'t, T> {
        // Relaxed: see the module doc ("No slow-joiner loss"). A bump that
        // happens before this load is seen by it (coherence); the data the
        // generation guards is either our own cache or read under the lock.
        let generation = self.endpoint.generation.load(Ordering::Relaxed);
        {
            let route = topic.route.borrow();
            // The identity check keeps a route of another endpoint (whose
            // name and inboxes are not ours) from being used here.
            if route.generation == generation
                && Arc::ptr_eq(&route.identity, &self.endpoint.identity)
            {
                return Routed::Cached(route);
            }
        }
        self.refresh(topic)
    }

    #[cold]
    fn refresh<'t>(&self, topic: &'t Topic<T>) -> Routed<'t, T> {
        let route = Endpoint::route(&self.endpoint, &topic.name);
        match topic.route.try_borrow_mut() {
            Ok(mut cache) => *cache = route,
            // A send on this topic is under way on this thread (a `clone`
            // or `drop` of the message sends again): it holds the cache, so
            // this one uses its own route and leaves the cache alone.
            Err(_) => return Routed::Fresh(route),
        }
        Routed::Cached(topic.route.borrow())
    }
}

/// The route a send uses: the topic's cached one, or (in a send made from
/// inside another send on the same topic) one of its own.
enum Routed<'t, T> {
    Cached(std::cell::Ref<'t, Route<T>>),
    Fresh(Route<T>),
}

impl<T> std::ops::Deref for Routed<'_, T> {
    type Target = Route<T>;

    fn deref(&self) -> &Route<T> {
        match self {
            Routed::Cached(route) => route,
            Routed::Fresh(route) => route,
        }
    }
}

impl<T: Clone> Publisher<T> {
    /// Sends `message` to every subscriber whose filters match `topic`,
    /// waiting for each `Block` subscriber whose ring is full. Returns how
    /// many subscribers got it (0: it matched nobody and was dropped).
    ///
    /// Lossy subscribers (`DropNewest`, `DropOldest`) never make it wait; a
    /// subscriber that drops while the send waits for it is skipped.
    ///
    /// # Panics
    ///
    /// If the `Drop` of a message the delivery drops panics (one a
    /// `DropOldest` ring pushes out, a copy a full `DropNewest` ring
    /// refuses, what a subscriber that left meanwhile had unread): the
    /// panic goes on once every subscriber was offered the message.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::pubsub::channel(1);
    /// subscriber.subscribe("t").unwrap();
    /// let topic = publisher.topic("t").unwrap();
    /// let reader = std::thread::spawn(move || subscriber.iter().map(|m| *m).sum::<u32>());
    /// for i in 1..=100 {
    ///     assert_eq!(publisher.send(&topic, i), 1); // waits for room
    /// }
    /// drop(publisher);
    /// assert_eq!(reader.join().unwrap(), 5050);
    /// ```
    #[inline]
    pub fn send(&self, topic: &Topic<T>, message: T) -> usize {
        let route = self.route(topic);
        let sent = deliver(
            &route.set,
            &route.name,
            route.generation,
            message,
            0,
            0,
            Mode::Until(None),
        );
        // Without a deadline a delivery never stops half way.
        sent.unwrap_or_else(|stuck| stuck.delivered)
    }

    /// Sends `message` like [`send`](Self::send), but stops at the first
    /// `Block` subscriber whose ring is full instead of waiting.
    ///
    /// # Panics
    ///
    /// As [`send`](Self::send). If the send also stopped at a full `Block`
    /// subscriber, the message drops with the panic (no `Pending` is
    /// returned), so the subscribers from that one on do not get it.
    ///
    /// # Errors
    ///
    /// A [`Pending`] holding the message and where it stopped: the
    /// subscribers before that point have it, the others do not. Finish it
    /// with [`Pending::send`] or [`Pending::try_send`] (they reach only the
    /// others), or drop it to give up on them. To keep each subscriber's
    /// messages in this publisher's order, finish or drop it before the
    /// next send.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::pubsub::channel(1);
    /// subscriber.subscribe("#").unwrap();
    /// let topic = publisher.topic("t").unwrap();
    /// assert_eq!(publisher.try_send(&topic, 1), Ok(1));
    /// let pending = publisher.try_send(&topic, 2).unwrap_err(); // ring full
    /// assert_eq!(pending.delivered(), 0);
    /// assert_eq!(*subscriber.recv().unwrap(), 1);
    /// assert_eq!(pending.try_send(), Ok(1)); // now it fits
    /// assert_eq!(*subscriber.recv().unwrap(), 2);
    /// ```
    #[inline]
    pub fn try_send(&self, topic: &Topic<T>, message: T) -> Result<usize, Pending<T>> {
        self.send_in(topic, message, Mode::Try)
    }

    /// Sends `message` like [`send`](Self::send), waiting at most `timeout`
    /// in all for full `Block` subscribers.
    ///
    /// # Panics
    ///
    /// As [`try_send`](Self::try_send).
    ///
    /// # Errors
    ///
    /// A [`Pending`] if the time ran out, as for
    /// [`try_send`](Self::try_send).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (publisher, mut subscriber) = ringbus::pubsub::channel(1);
    /// subscriber.subscribe("#").unwrap();
    /// let topic = publisher.topic("t").unwrap();
    /// publisher.send(&topic, 1);
    /// let pending = publisher.send_timeout(&topic, 2, Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(pending.into_inner(), 2);
    /// ```
    pub fn send_timeout(
        &self,
        topic: &Topic<T>,
        message: T,
        timeout: Duration,
    ) -> Result<usize, Pending<T>> {
        self.send_in(topic, message, Mode::Until(wait::deadline(timeout)))
    }

    #[inline]
    fn send_in(&self, topic: &Topic<T>, message: T, mode: Mode) -> Result<usize, Pending<T>> {
        let route = self.route(topic);
        deliver(
            &route.set,
            &route.name,
            route.generation,
            message,
            0,
            0,
            mode,
        )
        .map_err(|stuck| Pending {
            publisher: Endpoint::mint_publisher(&self.endpoint),
            message: stuck.message,
            name: route.name.clone(),
            generation: route.generation,
            set: route.set.clone(),
            next: stuck.next,
            delivered: stuck.delivered,
        })
    }
}

impl<T> Clone for Publisher<T> {
    /// Another publisher on the same endpoint.
    fn clone(&self) -> Self {
        Endpoint::mint_publisher(&self.endpoint)
    }
}

impl<T> Drop for Publisher<T> {
    fn drop(&mut self) {
        // AcqRel: the release half orders this publisher's ring writes before
        // a subscriber's Acquire load that reads "gone" (`publishers_gone`);
        // the acquire half continues the release sequence of the publishers
        // that dropped before us. 3 = one publisher left, and the "ever" bit.
        if self.endpoint.publishers.fetch_sub(2, Ordering::AcqRel) == 3 {
            self.endpoint.wake_subscribers();
        }
    }
}

impl<T> fmt::Debug for Publisher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}
