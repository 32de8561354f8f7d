//! Live metrics: plain snapshots of a channel's counters, read from any
//! handle with `&self`, at any time, without slowing the channel down.
//!
//! # Where the numbers come from, and what they cost
//!
//! Most counters are free: a ring's own indices already count what went
//! through it. A sender's `tail` is the number of messages sent, a
//! receiver's `head` (a broadcast subscriber's cursor) the number received;
//! `depth` is what `len()` says. Reading them costs a load or two, and the
//! send and receive paths do nothing more than before.
//!
//! Counters that need state of their own are kept off the hot paths:
//!
//! - `full_waits` is bumped once per *blocked* send (a `send` or
//!   `send_timeout` that found the ring full and had to wait), on the waiting
//!   path, in a counter on a cache line of its own;
//! - a lossy subscriber's `lagged_events` and `missed` change only when it
//!   lags (its own fields, plus ring-wide totals for the publisher);
//! - pub/sub's `missed` (already counted by the overflow policies) and the
//!   req/rep outcomes (`replies`, `unanswered`, `timeouts`, one relaxed
//!   add per request, on a line of their own).
//!
//! # Exact, or a moment's picture
//!
//! Each counter is exact: once the traffic stops, `sent` is the number of
//! messages sent, `received` the number received, `missed` the number lost.
//! While traffic runs, a snapshot reads its counters one after another, so
//! they may come from slightly different instants (`received` may be read a
//! little later than `sent`); each counter alone never decreases from one
//! snapshot to the next. One exception: a pub/sub subscriber's `received` is
//! derived from three counters (what left its ring, less what `DropOldest`
//! publishers pushed out and what it discarded after an unsubscribe), so
//! while a `DropOldest` publisher is making room it may be off by one for a
//! moment; it is exact once the traffic stops. Counters are reported as
//! `u64`, but most are kept as, or derived from, the rings' `usize` indices,
//! so they wrap where those do: never, in practice, on 64-bit targets, and
//! after 2^32 messages on 32-bit ones.
//!
//! | pattern                | handle method                         | snapshot           |
//! |------------------------|---------------------------------------|--------------------|
//! | spsc, mpmc, pipeline   | `stats()` on either end               | [`Stats`]          |
//! | broadcast, lossy       | `Publisher::stats()`                  | [`BroadcastStats`] |
//! | broadcast, lossy       | `Subscriber::stats()`                 | [`SubscriberStats`]|
//! | pubsub                 | `Publisher::stats()`                  | [`PubSubStats`]    |
//! | pubsub                 | `Subscriber::stats()`                 | [`InboxStats`]     |
//! | reqrep                 | `stats()` on either end               | [`ReqRepStats`]    |
//! | bus                    | [`Bus::stats`](crate::Bus::stats)     | `Vec<`[`EndpointStats`](crate::bus::EndpointStats)`>` |
//!
//! Every handle's `stats()` reads atomics and takes no lock, with one
//! exception: a pub/sub *endpoint's* totals (`pubsub::Publisher::stats`, and
//! the pub/sub entries of `Bus::stats`) walk its subscribers under the
//! endpoint's registry lock, the one subscription changes take; sends never
//! wait for it unless a subscription just changed, and each subscriber's own
//! `stats()` is lock-free. `Bus::stats` holds the bus's registry lock only to
//! collect the live endpoints.
//!
//! ```
//! let (tx, rx) = ringbus::spsc::channel::<u32>(4);
//! for i in 0..3 {
//!     tx.send(i).unwrap();
//! }
//! rx.recv().unwrap();
//! let stats = rx.stats();
//! assert_eq!((stats.sent, stats.received, stats.depth), (3, 1, 2));
//! ```

use crate::sync::{AtomicUsize, Ordering};

/// The counters of a queue: [`spsc`](crate::spsc), [`mpmc`](crate::mpmc) and
/// [`pipeline`](crate::pipeline) (which is an mpmc ring).
///
/// ```
/// let (tx, rx) = ringbus::mpmc::channel::<u8>(2);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// assert_eq!(rx.recv(), Ok(1));
/// let stats = tx.stats();
/// assert_eq!(stats.sent, 2);
/// assert_eq!(stats.received, 1);
/// assert_eq!(stats.depth, 1);
/// assert_eq!(stats.capacity, 2);
/// assert_eq!(stats.full_waits, 0);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Messages sent into the ring (for mpmc: indices claimed by senders, a
    /// message being written counts).
    pub sent: u64,
    /// Messages taken out of the ring.
    pub received: u64,
    /// Sends that found the ring full and waited (`send`, `send_timeout`;
    /// counted once per send however long it waited, also when it then
    /// timed out). A `try_send` that fails with `Full` does not wait and is
    /// not counted.
    pub full_waits: u64,
    /// Messages in the ring now (`len()`).
    pub depth: usize,
    /// The number of slots.
    pub capacity: usize,
}

/// The counters of a broadcast ring, as its publisher sees them
/// ([`broadcast`](crate::broadcast), its multi-publisher form, and
/// [`lossy`](crate::broadcast::lossy)).
///
/// ```
/// let (publisher, subscriber) = ringbus::broadcast::channel::<u8>(4);
/// let _late = publisher.subscribe();
/// publisher.send(1).unwrap();
/// let stats = publisher.stats();
/// assert_eq!((stats.sent, stats.subscribers, stats.depth), (1, 2, 1));
/// # drop(subscriber);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BroadcastStats {
    /// Messages published.
    pub sent: u64,
    /// Sends (and loans) that waited for the slowest subscriber; always 0 for
    /// a lossy publisher, which never waits.
    pub full_waits: u64,
    /// What the slowest subscriber has not read (the publisher's `len`; for
    /// a lossy publisher, at most the capacity: older messages are gone).
    pub depth: usize,
    /// The number of slots.
    pub capacity: usize,
    /// Subscribers alive now.
    pub subscribers: usize,
    /// Lossy only: `Lagged` reports made to all subscribers so far.
    pub lagged_events: u64,
    /// Lossy only: messages all subscribers missed so far (the sum of the
    /// `n` in every `Lagged(n)`).
    pub missed: u64,
}

/// The counters of one broadcast or lossy subscriber.
///
/// `received` counts from where the subscriber started: its creation for
/// the first subscriber and for a late joiner, the position of the original
/// for a clone. A [`Sample`](crate::broadcast::Sample) or
/// [`Batch`](crate::broadcast::Batch) counts once it is dropped.
///
/// ```
/// use ringbus::broadcast::lossy::{self, TryRecvError};
///
/// let (publisher, mut subscriber) = lossy::channel::<u32>(2);
/// for i in 0..5 {
///     publisher.send(i).unwrap();
/// }
/// assert_eq!(subscriber.try_recv(), Err(TryRecvError::Lagged(3)));
/// assert_eq!(subscriber.try_recv(), Ok(3));
/// let stats = subscriber.stats();
/// assert_eq!((stats.received, stats.lagged_events, stats.missed), (1, 1, 3));
/// assert_eq!((stats.sent, stats.depth), (5, 1));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SubscriberStats {
    /// Messages this subscriber received.
    pub received: u64,
    /// Messages published into the ring so far (by every publisher, since
    /// the ring was made).
    pub sent: u64,
    /// Messages waiting for this subscriber now (`len()`).
    pub depth: usize,
    /// The number of slots.
    pub capacity: usize,
    /// Subscribers of the ring alive now.
    pub subscribers: usize,
    /// Lossy only: how many times this subscriber was told `Lagged`.
    pub lagged_events: u64,
    /// Lossy only: messages this subscriber missed (the sum of its
    /// `Lagged(n)`).
    pub missed: u64,
}

/// The counters of a [`pubsub`](crate::pubsub) endpoint: every subscriber's,
/// summed, including the subscribers that have left.
///
/// A publish call that matched nobody leaves no trace: counting calls would
/// cost every send a shared read-modify-write.
///
/// ```
/// let (publisher, mut subscriber) = ringbus::pubsub::channel::<u8>(4);
/// subscriber.subscribe("#").unwrap();
/// let topic = publisher.topic("t").unwrap();
/// publisher.send(&topic, 1);
/// publisher.send(&topic, 2);
/// subscriber.recv().unwrap();
/// let stats = publisher.stats();
/// assert_eq!((stats.delivered, stats.received, stats.depth), (2, 1, 1));
/// assert_eq!((stats.publishers, stats.subscribers), (1, 1));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PubSubStats {
    /// Copies put into subscribers' rings.
    pub delivered: u64,
    /// Messages subscribers received.
    pub received: u64,
    /// Messages subscribers lost to their overflow policy.
    pub missed: u64,
    /// Sends that waited for a full `Block` subscriber (once per subscriber
    /// waited for).
    pub full_waits: u64,
    /// Messages waiting in subscribers' rings now (summed).
    pub depth: usize,
    /// Publishers alive now.
    pub publishers: usize,
    /// Subscribers alive now.
    pub subscribers: usize,
}

/// The counters of one [`pubsub`](crate::pubsub) subscriber (its inbox).
///
/// ```
/// use ringbus::pubsub::{self, Overflow, SubscriberOptions};
///
/// let (publisher, _s) = pubsub::channel::<u8>(4);
/// let options = SubscriberOptions::new().capacity(2).overflow(Overflow::DropNewest);
/// let mut subscriber = publisher.subscriber_with(options);
/// subscriber.subscribe("#").unwrap();
/// let topic = publisher.topic("t").unwrap();
/// for i in 0..5 {
///     publisher.send(&topic, i);
/// }
/// let stats = subscriber.stats();
/// assert_eq!((stats.delivered, stats.missed, stats.depth), (2, 3, 2));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct InboxStats {
    /// Messages put into this subscriber's ring (with `DropOldest`, those
    /// later pushed out count here and in `missed`).
    pub delivered: u64,
    /// Messages this subscriber received.
    pub received: u64,
    /// Messages lost to the overflow policy: refused by a full `DropNewest`
    /// ring, or pushed out of a full `DropOldest` one (or, when a receive
    /// under way kept it full for a few microseconds, not put in). Once
    /// nothing is in flight, `received + missed + depth` is every message
    /// routed to this subscriber (less those it discarded after an
    /// unsubscription).
    pub missed: u64,
    /// Sends that waited because this (`Block`) subscriber's ring was full.
    pub full_waits: u64,
    /// Messages waiting now (`len()`).
    pub depth: usize,
    /// The number of slots.
    pub capacity: usize,
}

/// The counters of a [`reqrep`](crate::reqrep) channel.
///
/// ```
/// let (requester, replier) = ringbus::reqrep::channel::<u32, u32>(4);
/// let server = std::thread::spawn(move || {
///     let request = replier.recv().unwrap();
///     let n = *request.payload();
///     request.reply(n + 1).unwrap();
///     replier
/// });
/// assert_eq!(requester.request(1), Ok(2));
/// let replier = server.join().unwrap();
/// let stats = replier.stats();
/// assert_eq!((stats.requests, stats.taken, stats.replies), (1, 1, 1));
/// assert_eq!((stats.unanswered, stats.timeouts), (0, 0));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReqRepStats {
    /// Requests queued in the request ring.
    pub requests: u64,
    /// Requests taken out of the ring (by repliers, or dropped by the last
    /// replier's drain).
    pub taken: u64,
    /// Requests that got their reply.
    pub replies: u64,
    /// Requests that learned no reply would come
    /// ([`RequestError::Unanswered`](crate::reqrep::RequestError::Unanswered)).
    pub unanswered: u64,
    /// Requests that timed out after being queued (`Timeout(None)`).
    pub timeouts: u64,
    /// Requests that found the ring full and waited for room.
    pub full_waits: u64,
    /// Requests waiting in the ring now.
    pub depth: usize,
    /// The number of slots of the request ring.
    pub capacity: usize,
}

/// Builds the snapshots (fields are `pub` to read, the types
/// `#[non_exhaustive]` so that only this crate builds them).
impl Stats {
    pub(crate) fn new(sent: usize, received: usize, full_waits: usize, capacity: usize) -> Self {
        let depth = sent.wrapping_sub(received);
        Stats {
            sent: sent as u64,
            received: received as u64,
            full_waits: full_waits as u64,
            // A moment's picture: the two indices were read one after the
            // other; keep the depth in range.
            depth: if depth as isize <= 0 {
                0
            } else {
                depth.min(capacity)
            },
            capacity,
        }
    }
}

/// Counts a blocked send once. Call it each time an attempt of one send
/// finds the ring full; `waited` (false when the send starts) makes every
/// call after the first free. Only on the waiting path.
#[inline]
pub(crate) fn count_full_wait(counter: &AtomicUsize, waited: &mut bool) {
    if !*waited {
        *waited = true;
        // Relaxed: a counter read for reporting; no data travels with it.
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
