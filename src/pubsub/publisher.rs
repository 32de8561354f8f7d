//! The sending side: [`Publisher`], the walk over a match set, and
//! [`Pending`], a send stopped half way.

use std::error::Error;
use std::fmt;
use std::time::{Duration, Instant};

use super::filter::check_topic;
use super::{
    Endpoint, Envelope, FilterError, Inbox, MatchSet, Name, Overflow, Route, Subscriber,
    SubscriberOptions, Topic,
};
use crate::error::TrySendError;
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

/// How long a delivery may wait for a full `Block` subscriber.
#[derive(Clone, Copy)]
enum Mode {
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
    fn offer(&self, item: Envelope<T>, mode: Mode) -> Offered<T> {
        if !self.is_alive() {
            return Offered::Dropped;
        }
        let mut item = match self.tx.try_send(item) {
            Ok(()) => return self.delivered(),
            Err(TrySendError::Full(item)) => item,
            // The inbox holds a receiver: the ring never disconnects.
            Err(TrySendError::Disconnected(_)) => return Offered::Dropped,
        };
        match self.overflow {
            Overflow::Block => match mode {
                Mode::Try => Offered::Stuck(item),
                Mode::Until(deadline) => self.block(item, deadline),
            },
            Overflow::DropNewest => {
                // Relaxed: a counter read for reporting; no data with it.
                self.missed.fetch_add(1, Ordering::Relaxed);
                Offered::Dropped
            }
            Overflow::DropOldest => loop {
                // Make room by taking the oldest message ourselves (the
                // subscriber may take it first: then we take the next one
                // or find room). Each message taken here is counted.
                if let Ok(oldest) = self.rx.try_recv() {
                    self.missed.fetch_add(1, Ordering::Relaxed);
                    drop(oldest);
                }
                item = match self.tx.try_send(item) {
                    Ok(()) => return self.delivered(),
                    Err(err) => err.into_inner(),
                };
            },
        }
    }

    /// Wakes the subscriber after a delivery.
    #[inline]
    fn delivered(&self) -> Offered<T> {
        if self.wait.may_sleep() {
            self.not_empty.notify();
        }
        Offered::Delivered
    }

    /// Waits for room in a `Block` ring (or for the subscriber to leave).
    #[cold]
    fn block(&self, item: Envelope<T>, deadline: Option<Instant>) -> Offered<T> {
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
            (Some(true), _) => self.delivered(),
            (None, Some(item)) => Offered::Stuck(item),
            _ => Offered::Dropped,
        }
    }
}

/// Where a delivery stopped: the index of the subscriber that did not get
/// the message, how many got it before, and the message.
struct Stuck<T> {
    next: usize,
    delivered: usize,
    message: T,
}

/// Offers `message` to `set.inboxes[from..]` in order; `delivered` counts
/// the subscribers reached before `from`.
#[inline]
fn deliver<T: Clone>(
    set: &MatchSet<T>,
    name: &Name,
    generation: usize,
    message: T,
    from: usize,
    mut delivered: usize,
    mode: Mode,
) -> Result<usize, Stuck<T>> {
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
        match inbox.offer(item(message.clone()), mode) {
            Offered::Delivered => delivered += 1,
            Offered::Dropped => {}
            Offered::Stuck(_copy) => {
                return Err(Stuck {
                    next: i,
                    delivered,
                    message,
                })
            }
        }
    }
    if from > last {
        return Ok(delivered);
    }
    // The last subscriber gets the original.
    match inboxes[last].offer(item(message), mode) {
        Offered::Delivered => Ok(delivered + 1),
        Offered::Dropped => Ok(delivered),
        Offered::Stuck(item) => Err(Stuck {
            next: last,
            delivered,
            message: item.payload,
        }),
    }
}

impl<T> Publisher<T> {
    pub(super) fn new(endpoint: Arc<Endpoint<T>>) -> Self {
        Publisher { endpoint }
    }

    /// Interns `name` as a topic to send to. Do it once per topic (and per
    /// thread: a [`Topic`] is not `Sync`), not once per message: it takes
    /// the endpoint's lock and may allocate.
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
    /// [`Overflow::Block`], and no filter yet.
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

    /// A new subscriber with its own capacity and [`Overflow`].
    ///
    /// # Panics
    ///
    /// If the capacity is 0 or too large (see [`channel`](super::channel)).
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

    /// The match set for `topic`, from its cache when no subscription
    /// changed since; else recomputed (under the lock) and cached.
    #[inline]
    fn route<'t>(&self, topic: &'t Topic<T>) -> std::cell::Ref<'t, Route<T>> {
        // Relaxed: see the module doc ("No slow-joiner loss"). A bump that
        // happens before this load is seen by it (coherence); the data the
        // generation guards is either our own cache or read under the lock.
        let generation = self.endpoint.generation.load(Ordering::Relaxed);
        {
            let route = topic.route.borrow();
            if route.generation == generation && Arc::ptr_eq(&route.endpoint, &self.endpoint) {
                return route;
            }
        }
        self.refresh(topic);
        topic.route.borrow()
    }

    #[cold]
    fn refresh(&self, topic: &Topic<T>) {
        let route = Endpoint::route(&self.endpoint, &topic.name);
        *topic.route.borrow_mut() = route;
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

/// A send that stopped at a full `Block` subscriber: the message, and which
/// subscribers of the send's match set are still to get it.
///
/// Returned by [`Publisher::try_send`] and [`Publisher::send_timeout`].
/// The subscribers before the stopping point have the message already;
/// finishing the send reaches exactly the others (those still alive), so
/// no subscriber gets it twice. The match set is the one the send started
/// with: a subscriber that joins meanwhile does not get it. Dropping a
/// `Pending` drops the message and gives up on the rest.
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
    message: T,
    name: Name,
    generation: usize,
    set: Arc<MatchSet<T>>,
    next: usize,
    delivered: usize,
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
    fn resume(self, mode: Mode) -> Result<usize, Pending<T>> {
        let Pending {
            message,
            name,
            generation,
            set,
            next,
            delivered,
        } = self;
        deliver(&set, &name, generation, message, next, delivered, mode).map_err(|stuck| Pending {
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
