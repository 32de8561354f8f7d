//! Publish/subscribe with topic filters: ZeroMQ's PUB/SUB (byte prefixes) and
//! RabbitMQ's topic exchange (`*` and `#` patterns) over one bounded ring per
//! subscriber.
//!
//! # Semantics
//!
//! - A [`Publisher`] sends `(topic, message)`; every [`Subscriber`] whose
//!   filters match the topic gets its own clone (`T: Clone`; the last one
//!   gets the original). A message that matches nobody is dropped, as a
//!   ZeroMQ PUB socket does; every send returns how many subscribers it
//!   reached.
//! - Filters ([`filter`](self#filters)): [`Subscriber::subscribe_prefix`]
//!   (`""` matches everything) and [`Subscriber::subscribe`] with a pattern
//!   of dot-separated words where `*` is one word and `#` zero or more
//!   (`"#"` matches everything). A new subscriber has no filter and receives
//!   nothing until it subscribes. Filters change at run time, while
//!   publishers send.
//! - Topics are interned once ([`Publisher::topic`]) and then sent to by
//!   reference: the send path takes no lock and allocates nothing while no
//!   subscription changed.
//! - Each subscriber picks what happens when its ring is full
//!   ([`Overflow`]): [`Overflow::Block`] (the default) makes publishers wait
//!   for it, so it loses nothing; [`Overflow::DropNewest`] and
//!   [`Overflow::DropOldest`] never hold a publisher back and count what
//!   they lose ([`Subscriber::missed`]).
//! - [`Publisher::try_send`] and [`Publisher::send_timeout`] can stop half
//!   way, at a `Block` subscriber whose ring is full. They then return a
//!   [`Pending`] that knows exactly which subscribers already have the
//!   message: finishing it ([`Pending::send`], [`Pending::try_send`]) reaches
//!   only the others, so a retry never duplicates; dropping it gives up on
//!   them.
//! - Disconnection: subscribers drain what their ring holds, then get
//!   `Disconnected`, once every publisher is gone. A dropped subscriber
//!   stops holding publishers back at once and is no longer matched.
//!   Publishers never fail for lack of subscribers (ZeroMQ's PUB): a send
//!   that reaches nobody returns 0.
//!
//! # Data flow
//!
//! ```text
//!  Publisher::send(&topic, m)                       one mpmc ring per subscriber
//!  ───────────────────────────                      ────────────────────────────
//!  generation == topic's cached one?  ──yes──┐
//!       │ no (rare)                          │      ┌──────────────┐
//!       ▼                                    ├─ m ─▶│ S1 [· · a b] │─▶ S1.recv()
//!  lock registry, match topic against        │      └──────────────┘
//!  every subscriber's filter trie,           │      ┌──────────────┐
//!  cache (generation, match set)  ───────────┴─ m ─▶│ S3 [· c d m] │─▶ S3.recv()
//!                                                   └──────────────┘
//!  Subscriber::subscribe / unsubscribe / drop:      (S2 matched nothing:
//!  lock registry, change filters, generation += 1    it pays nothing)
//! ```
//!
//! - The endpoint keeps a registry (behind a lock) of subscribers and their
//!   filters, and a **generation** counter that every change of who matches
//!   what bumps, under the lock.
//! - A [`Topic`] caches the set of subscribers that matched it and the
//!   generation at which that set was computed. A send loads the generation;
//!   if it equals the cached one, the set is current and the send just walks
//!   it; otherwise it takes the lock once to recompute (shared by every
//!   `Topic` of the same name) and caches again.
//! - Delivery to one subscriber is a `try_send` into its bounded
//!   [`mpmc`](crate::mpmc) ring; a `Block` subscriber whose ring is full
//!   makes the publisher wait on that subscriber's "not full" signal (the
//!   park handshake of the other primitives).
//!
//! # Why no message is lost or duplicated (for `Block` subscribers)
//!
//! - **No slow-joiner loss.** A subscription change bumps the generation
//!   while holding the registry lock. If it happens before a send begins,
//!   the send's load of the generation comes after the bump in
//!   happens-before order, so by coherence it reads the bumped value (or a
//!   later one): it cannot equal the generation the topic cached before the
//!   change, and the send recomputes under the lock, which orders it after
//!   the change. (This is why that load may be `Relaxed`: every piece of data
//!   it guards is read either from the sender's own cache or under the lock.)
//! - **Exactly once.** A send walks a match set once, in order, and hands each
//!   live subscriber one copy through its ring, which (Vyukov) gives each
//!   message to exactly one read. A [`Pending`] resumes the same walk at the
//!   subscriber where it stopped, with the same match set, so a subscriber
//!   is never offered the message twice.
//! - **In order per publisher.** A publisher's sends into one ring claim
//!   increasing indices, and a subscriber reads its ring in index order.
//! - **Nothing after unsubscribe.** Each delivered message carries the
//!   generation of the match set that routed it. A subscriber remembers the
//!   generation of its last `unsubscribe`; a message routed by an older set
//!   (already in flight when the unsubscription happened) is checked against
//!   the current filters on receive and silently discarded if they no
//!   longer match. So once `unsubscribe` returns, `recv` never yields a
//!   message that only the removed filter matched.
//! - **Drain before disconnect.** The last publisher's drop decrements the
//!   publisher count with `Release` after all its ring writes; a subscriber
//!   that finds its ring empty and acquires a count of zero looks once more,
//!   so it sees every message before `Disconnected`.
//!
//! # Connecting in any order (the bus)
//!
//! A bus endpoint may mint subscribers before any publisher exists: they
//! wait (a side that never connected does not count as gone). Once
//! publishers existed and all are gone, subscribers see `Disconnected`; a
//! new publisher revives the endpoint. Publishers minted before any
//! subscriber send to nobody (the messages are dropped, as ZeroMQ does).
//!
//! # Filters
//!
//! A topic or a pattern is a list of words separated by `.`. The empty
//! string has no word; otherwise each `.` separates two words, which may be
//! empty (`"a..b"` is `a`, empty, `b`; `"a."` is `a`, empty). Pattern words
//! `*` (exactly one word, possibly empty) and `#` (zero or more words) must
//! stand alone: `"md.a*"` is a [`FilterError`]. A pattern without wildcards
//! matches exactly that topic; the pattern `""` matches only the empty
//! topic, while the prefix `""` matches every topic. Topics may not contain
//! `*` or `#`. Prefixes compare bytes: `"md.t"` matches `"md.ticks"`.
//! Subscribing twice to one filter is the same as once.
//!
//! # Example
//!
//! ```
//! use std::thread;
//! use ringbus::pubsub;
//!
//! let (publisher, mut apple) = pubsub::channel::<f64>(64);
//! apple.subscribe("md.*.AAPL").unwrap();
//! let mut everything = publisher.subscriber();
//! everything.subscribe("#").unwrap();
//!
//! let feed = thread::spawn(move || {
//!     let aapl = publisher.topic("md.ticks.AAPL").unwrap();
//!     let msft = publisher.topic("md.ticks.MSFT").unwrap();
//!     assert_eq!(publisher.send(&aapl, 189.5), 2); // both subscribers
//!     assert_eq!(publisher.send(&msft, 410.25), 1); // only `everything`
//! });
//! feed.join().unwrap();
//!
//! let tick = apple.recv().unwrap();
//! assert_eq!((tick.topic(), *tick), ("md.ticks.AAPL", 189.5));
//! assert!(apple.recv().is_err()); // the publisher is gone: disconnected
//! assert_eq!(everything.iter().count(), 2);
//! ```

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;

use crate::sync::Arc;
use crate::wait::Wait;

mod delivery;
mod endpoint;
mod filter;
mod publisher;
mod subscriber;
mod task;

pub(crate) use endpoint::Endpoint;
#[cfg(ringbus_loom)]
#[allow(unused_imports)]
pub(crate) use endpoint::EndpointHook;
use endpoint::{Inbox, MatchSet, Route};

pub use delivery::Pending;
pub use filter::FilterError;
pub use publisher::Publisher;
pub use subscriber::{Iter, Subscriber, TryIter};

/// Creates a pub/sub endpoint whose subscribers have rings of at least
/// `capacity` messages, with the default [`Wait`], and returns a publisher
/// and a first subscriber (with no filter yet, and [`Overflow::Block`]).
///
/// # Panics
///
/// If `capacity` is 0, or if rounding it up or the byte size of a ring
/// overflows.
///
/// ```
/// let (publisher, mut subscriber) = ringbus::pubsub::channel::<u32>(16);
/// subscriber.subscribe_prefix("");
/// let topic = publisher.topic("any").unwrap();
/// assert_eq!(publisher.send(&topic, 7), 1);
/// assert_eq!(*subscriber.recv().unwrap(), 7);
/// ```
///
/// ```should_panic
/// let _ = ringbus::pubsub::channel::<u8>(0); // panics: capacity must be greater than 0
/// ```
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Publisher<T>, Subscriber<T>) {
    Builder::new(capacity).build()
}

/// Sets a pub/sub endpoint's options, then builds it.
///
/// ```
/// use ringbus::{pubsub, Wait};
///
/// let (publisher, subscriber) = pubsub::Builder::new(100).wait(Wait::Park).build::<u64>();
/// assert_eq!(subscriber.capacity(), 128);
/// # drop(publisher);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    capacity: usize,
    wait: Wait,
}

impl Builder {
    /// Starts an endpoint whose subscribers' rings hold at least `capacity`
    /// messages unless their [`SubscriberOptions`] say otherwise.
    ///
    /// ```
    /// let (p, s) = ringbus::pubsub::Builder::new(8).build::<u8>();
    /// # drop((p, s));
    /// ```
    pub fn new(capacity: usize) -> Self {
        Builder {
            capacity,
            wait: Wait::default(),
        }
    }

    /// How publishers and subscribers wait when they block (default:
    /// [`Wait::Backoff`]).
    ///
    /// ```
    /// let (p, s) = ringbus::pubsub::Builder::new(8).wait(ringbus::Wait::Yield).build::<u8>();
    /// # drop((p, s));
    /// ```
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// Creates the endpoint and returns a publisher and a first subscriber.
    ///
    /// # Panics
    ///
    /// If the capacity is 0, or if rounding it up or the byte size of a ring
    /// overflows.
    ///
    /// ```
    /// let (publisher, subscriber) = ringbus::pubsub::Builder::new(4).build::<String>();
    /// assert_eq!(publisher.subscriber_count(), 1);
    /// # drop(subscriber);
    /// ```
    #[track_caller]
    pub fn build<T>(self) -> (Publisher<T>, Subscriber<T>) {
        let endpoint = Endpoint::new(self.capacity, self.wait);
        let subscriber = Endpoint::mint_subscriber(&endpoint, SubscriberOptions::new());
        (Endpoint::mint_publisher(&endpoint), subscriber)
    }
}

/// What a subscriber's full ring does to a message sent to it.
///
/// ```
/// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
///
/// let (publisher, _s) = pubsub::channel::<u32>(4);
/// let mut latest = publisher.subscriber_with(
///     SubscriberOptions::new().capacity(2).overflow(Overflow::DropOldest),
/// );
/// latest.subscribe("#").unwrap();
/// let topic = publisher.topic("t").unwrap();
/// for i in 0..5 {
///     publisher.send(&topic, i); // never waits for `latest`
/// }
/// assert_eq!(latest.missed(), 3);
/// assert_eq!(latest.try_iter().map(|m| *m).collect::<Vec<_>>(), [3, 4]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Overflow {
    /// Publishers wait until the subscriber makes room: nothing is lost.
    #[default]
    Block,
    /// The message that does not fit is dropped and counted in
    /// [`Subscriber::missed`]; the ring keeps the oldest.
    DropNewest,
    /// The oldest message in the ring is dropped (and counted) to make room:
    /// the ring keeps the latest. A publisher never waits for the
    /// subscriber, not even while it is in the middle of taking a message:
    /// if the ring stays full for a few microseconds after the oldest was
    /// dropped (a receive, or another publisher's send, is under way on a
    /// thread that was descheduled), the new message is dropped instead,
    /// and counted.
    DropOldest,
}

/// How one subscriber is made: its ring's capacity and its [`Overflow`].
///
/// ```
/// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
///
/// let (publisher, _s) = pubsub::channel::<u8>(64);
/// let options = SubscriberOptions::new().capacity(1000).overflow(Overflow::DropNewest);
/// let subscriber = publisher.subscriber_with(options);
/// assert_eq!(subscriber.capacity(), 1024);
/// assert_eq!(subscriber.overflow(), Overflow::DropNewest);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SubscriberOptions {
    capacity: Option<usize>,
    overflow: Overflow,
}

impl SubscriberOptions {
    /// The endpoint's capacity and [`Overflow::Block`].
    ///
    /// ```
    /// let options = ringbus::pubsub::SubscriberOptions::new();
    /// assert_eq!(options, Default::default());
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// A ring of at least `capacity` messages (rounded up to a power of
    /// two) instead of the endpoint's. A capacity of 0, or one too large for
    /// a ring of the endpoint's messages, makes
    /// [`Publisher::subscriber_with`] panic, as for every ring, and
    /// [`Bus::subscriber_with`](crate::Bus::subscriber_with) return
    /// [`BusError::Capacity`](crate::bus::BusError::Capacity).
    ///
    /// ```
    /// let options = ringbus::pubsub::SubscriberOptions::new().capacity(3);
    /// # drop(options);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// The capacity a subscriber made with these options gets: its own, or
    /// else the endpoint's `default`.
    pub(crate) fn capacity_or(&self, default: usize) -> usize {
        self.capacity.unwrap_or(default)
    }

    /// What a full ring does (default [`Overflow::Block`]).
    ///
    /// ```
    /// use ringbus::pubsub::{Overflow, SubscriberOptions};
    /// let options = SubscriberOptions::new().overflow(Overflow::DropOldest);
    /// # drop(options);
    /// ```
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }
}

/// An interned topic string, shared by every message sent to the topic.
///
/// `Arc<Box<str>>` rather than `Arc<str>` because loom's `Arc` cannot hold
/// unsized values.
type Name = Arc<Box<str>>;

/// A received message: its topic and its payload (which it derefs to).
///
/// ```
/// let (publisher, mut subscriber) = ringbus::pubsub::channel(4);
/// subscriber.subscribe("a.b").unwrap();
/// publisher.send(&publisher.topic("a.b").unwrap(), vec![1, 2]);
/// let message = subscriber.recv().unwrap();
/// assert_eq!(message.topic(), "a.b");
/// assert_eq!(message.len(), 2); // derefs to the payload
/// assert_eq!(message.into_payload(), [1, 2]);
/// ```
pub struct Message<T> {
    /// The interned topic (an `Arc` clone made by the subscriber, no
    /// allocation).
    topic: Name,
    /// The payload.
    payload: T,
}

/// What a subscriber's ring holds: the payload, which topic it was sent
/// to, and the generation of the match set that routed it (see the module
/// doc, "Nothing after unsubscribe").
///
/// The topic travels as a bare pointer to the endpoint's interned name, so
/// that a send touches no reference count (an `Arc` clone per delivery made
/// the count's cache line bounce between the publisher's core and the
/// subscriber's); the subscriber makes the `Arc` when it hands out the
/// [`Message`].
struct Envelope<T> {
    /// `Arc::as_ptr` of a name interned in the registry of the endpoint
    /// whose subscriber's ring holds this envelope. The registry never lets
    /// go of a name, and only that subscriber (which holds the endpoint)
    /// dereferences the pointer.
    topic: *const Box<str>,
    generation: usize,
    payload: T,
}

// SAFETY: the pointer is to an immutable, `Sync` string kept alive by the
// endpoint (see the field); the envelope moves a `T` between threads, hence
// `T: Send`.
unsafe impl<T: Send> Send for Envelope<T> {}

impl<T> Message<T> {
    /// The topic this message was sent to.
    ///
    /// ```
    /// # let (publisher, mut subscriber) = ringbus::pubsub::channel(4);
    /// # subscriber.subscribe("#").unwrap();
    /// publisher.send(&publisher.topic("x.y").unwrap(), 1);
    /// assert_eq!(subscriber.recv().unwrap().topic(), "x.y");
    /// ```
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The payload.
    ///
    /// ```
    /// # let (publisher, mut subscriber) = ringbus::pubsub::channel(4);
    /// # subscriber.subscribe("#").unwrap();
    /// publisher.send(&publisher.topic("x").unwrap(), 5);
    /// assert_eq!(subscriber.recv().unwrap().payload(), &5);
    /// ```
    pub fn payload(&self) -> &T {
        &self.payload
    }

    /// Takes the payload out.
    ///
    /// ```
    /// # let (publisher, mut subscriber) = ringbus::pubsub::channel(4);
    /// # subscriber.subscribe("#").unwrap();
    /// publisher.send(&publisher.topic("x").unwrap(), String::from("hi"));
    /// let text: String = subscriber.recv().unwrap().into_payload();
    /// assert_eq!(text, "hi");
    /// ```
    pub fn into_payload(self) -> T {
        self.payload
    }
}

impl<T> Deref for Message<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.payload
    }
}

impl<T: fmt::Debug> fmt::Debug for Message<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic())
            .field("payload", &self.payload)
            .finish()
    }
}

/// A topic interned by [`Publisher::topic`], to send to with
/// [`Publisher::send`].
///
/// It caches which subscribers match it, revalidated on each send by one
/// load of the endpoint's generation counter. It is `Send` but not `Sync`:
/// each thread keeps its own (clone it: clones share the interned name).
///
/// A topic works with any publisher of its message type: sent through a
/// publisher of another endpoint, it is interned there. It is not a handle
/// and does not keep its endpoint alive: once every publisher and
/// subscriber of a [bus](crate::bus) endpoint is gone, the endpoint is
/// freed and its name is free again, even while topics made there live on.
/// Until its next send, a topic may still hold the (empty) rings of
/// subscribers that have gone: a subscriber drops its unread messages
/// when it drops.
///
/// ```
/// let (publisher, mut subscriber) = ringbus::pubsub::channel(4);
/// let topic = publisher.topic("orders.new").unwrap();
/// assert_eq!(topic.name(), "orders.new");
/// assert_eq!(publisher.send(&topic, 1), 0); // no filter yet: nobody
/// subscriber.subscribe("orders.#").unwrap();
/// assert_eq!(publisher.send(&topic, 2), 1); // the cache noticed
///
/// // The topic does not hold the endpoint: the bus frees the name.
/// let bus = ringbus::Bus::new();
/// let md = bus.publisher::<u32>("md").unwrap();
/// let tick = md.topic("tick").unwrap();
/// drop(md);
/// assert!(bus.endpoints().is_empty());
/// assert!(bus.pusher::<u32>("md").is_ok()); // any pattern again
/// # drop(tick);
/// ```
pub struct Topic<T> {
    /// The interned name.
    name: Name,
    /// The match set this topic last used, and where it came from.
    route: RefCell<Route<T>>,
}

impl<T> Topic<T> {
    /// The topic's name.
    ///
    /// ```
    /// let (publisher, _s) = ringbus::pubsub::channel::<u8>(4);
    /// assert_eq!(publisher.topic("a").unwrap().name(), "a");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T> Clone for Topic<T> {
    /// Another handle on the same interned topic, with the same cache.
    fn clone(&self) -> Self {
        Topic {
            name: self.name.clone(),
            route: RefCell::new(self.route.borrow().clone()),
        }
    }
}

impl<T> fmt::Debug for Topic<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Topic").field("name", &self.name()).finish()
    }
}
