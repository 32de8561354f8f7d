//! The shared state of a pub/sub endpoint: the registry of subscribers and
//! their filters behind a lock, the generation counter, each subscriber's
//! inbox, and the bus hook.

use std::collections::HashMap;
use std::ops::DerefMut;

use super::filter::Filters;
use super::{Envelope, Name, Overflow, Publisher, Subscriber, SubscriberOptions};
use crate::capacity::CapacityError;
use crate::mpmc;
use crate::stats::{InboxStats, PubSubStats};
use crate::sync::{Arc, AtomicBool, AtomicUsize, CachePadded, Mutex, Ordering};
use crate::wait::{Signal, Wait};

/// A match set and the generation at which it was computed.
pub(super) struct Route<T> {
    /// The topic's name as interned by `endpoint` (a `Topic` made by another
    /// endpoint has its own).
    pub(super) name: Name,
    /// The identity of the endpoint the set belongs to: a topic may be sent
    /// through any publisher of any endpoint of its type, which uses the
    /// route only if it is its own endpoint's (`Publisher::route`), so
    /// `name` and `set` always come from the endpoint that delivers.
    ///
    /// Not the endpoint itself: a `Topic` is not a handle and must not keep
    /// its endpoint alive (the bus frees an endpoint, and its name, when
    /// the last handle drops). Holding the identity's `Arc` keeps its
    /// address from being reused by another endpoint while the route lives,
    /// so the check cannot take a new endpoint for a dead one.
    pub(super) identity: Arc<Identity>,
    /// The endpoint's generation when `set` was computed, under its lock.
    pub(super) generation: usize,
    /// The subscribers whose filters matched the topic at `generation`.
    pub(super) set: Arc<MatchSet<T>>,
}

impl<T> Clone for Route<T> {
    fn clone(&self) -> Self {
        Route {
            name: self.name.clone(),
            identity: self.identity.clone(),
            generation: self.generation,
            set: self.set.clone(),
        }
    }
}

/// What tells endpoints apart: each endpoint allocates one and compares it
/// by address only (see `Route::identity`).
pub(super) struct Identity;

/// The subscribers a topic reaches, in registration order.
pub(super) struct MatchSet<T> {
    pub(super) inboxes: Vec<Arc<Inbox<T>>>,
}

/// One subscriber's receiving side, shared with the publishers that route
/// to it.
pub(super) struct Inbox<T> {
    /// Publishers' end of the ring. The ring is built with `Wait::Spin` and
    /// used only through `try_` calls: waiting and waking happen on the two
    /// signals below, so that disconnection and subscriber drop can wake too.
    pub(super) tx: mpmc::Sender<Envelope<T>>,
    /// The subscriber's end; `DropOldest` publishers also take from it.
    pub(super) rx: mpmc::Receiver<Envelope<T>>,
    /// What a full ring does.
    pub(super) overflow: Overflow,
    /// How both sides wait.
    pub(super) wait: Wait,
    /// False once the subscriber dropped: publishers skip it and stop
    /// waiting for it.
    pub(super) alive: AtomicBool,
    /// Messages routed here but dropped by the overflow policy.
    pub(super) missed: CachePadded<AtomicUsize>,
    /// Rare events counted for the metrics, on a line of their own.
    pub(super) tallies: CachePadded<Tallies>,
    /// Where the subscriber sleeps while its ring is empty.
    pub(super) not_empty: CachePadded<Signal>,
    /// Where `Block` publishers sleep while the ring is full.
    pub(super) not_full: CachePadded<Signal>,
}

/// What an inbox counts besides its ring's indices and `missed`: both on
/// slow paths only.
pub(super) struct Tallies {
    /// Messages the subscriber took from its ring but discarded (routed
    /// before an unsubscription that they no longer pass).
    pub(super) discarded: AtomicUsize,
    /// Deliveries that waited because this `Block` ring was full.
    pub(super) full_waits: AtomicUsize,
    /// New messages a `DropOldest` delivery dropped because no room came
    /// (also counted in `missed`; the rest of its `missed` were pushed out
    /// of the ring).
    pub(super) given_up: AtomicUsize,
}

impl<T> Inbox<T> {
    /// A snapshot of this subscriber's counters. The ring's indices count
    /// what went in (`delivered`) and out; what came out is what the
    /// subscriber received, plus what `DropOldest` publishers pushed out
    /// (counted in `missed`, with the new messages they gave up on) and
    /// what it discarded.
    pub(super) fn stats(&self) -> InboxStats {
        let ring = self.rx.stats();
        // Relaxed: counters read for reporting; no data travels with them.
        let missed = self.missed.load(Ordering::Relaxed) as u64;
        // Relaxed: as `missed` above, a counter.
        let discarded = self.tallies.discarded.load(Ordering::Relaxed) as u64;
        let pushed_out = if self.overflow == Overflow::DropOldest {
            // Relaxed: as `missed` above, a counter. Saturating: the two
            // counters are read one after the other.
            missed.saturating_sub(self.tallies.given_up.load(Ordering::Relaxed) as u64)
        } else {
            0
        };
        InboxStats {
            delivered: ring.sent,
            // Saturating: a `DropOldest` publisher takes from the ring before
            // it counts the loss, so for a moment the ring says more.
            received: ring.received.saturating_sub(pushed_out + discarded),
            missed,
            // Relaxed: a counter read for reporting; no data travels with it.
            full_waits: self.tallies.full_waits.load(Ordering::Relaxed) as u64,
            depth: ring.depth,
            capacity: ring.capacity,
        }
    }

    #[inline]
    pub(super) fn is_alive(&self) -> bool {
        // Relaxed: no data travels with the flag. A publisher that misses a
        // fresh `false` delivers into a ring nobody reads, and looks again
        // after it (`Inbox::delivered`): a claim of a slot the leaving
        // subscriber freed acquires its stamp, stored after the flag. One
        // parked on `not_full` is woken after the store (see
        // `Subscriber::drop`) and the park handshake's fences order it.
        self.alive.load(Ordering::Relaxed)
    }
}

/// The shared state of one pub/sub endpoint: what every handle holds, and
/// what the bus keeps (as a `Weak`) under a name.
pub(crate) struct Endpoint<T> {
    /// Bumped under `registry`'s lock whenever who-matches-what changes.
    pub(super) generation: CachePadded<AtomicUsize>,
    /// `2 × live publishers`, plus 1 once any publisher existed. Subscribers
    /// are disconnected exactly when it reads 1.
    pub(super) publishers: CachePadded<AtomicUsize>,
    /// Subscribers, their filters, and the interned topics.
    pub(super) registry: Mutex<Registry<T>>,
    /// The default capacity of a subscriber's ring.
    pub(super) capacity: usize,
    /// How blocked sides wait.
    pub(super) wait: Wait,
    /// This endpoint's identity, for the routes of its topics.
    pub(super) identity: Arc<Identity>,
}

/// What subscription changes update, under the endpoint's lock.
pub(super) struct Registry<T> {
    /// Live subscribers in creation order.
    pub(super) members: Vec<Member<T>>,
    /// Interned topics with their latest match set. Never shrinks while the
    /// endpoint lives: an envelope carries its topic as a bare pointer to a
    /// name in here (`Envelope::topic`), which is sound only because no name
    /// is let go before the endpoint. Evicting names would need a way to
    /// know that no envelope in any ring still points at them.
    pub(super) topics: HashMap<Box<str>, Interned<T>>,
    /// The id of the next subscriber.
    pub(super) next_id: u64,
    /// The counters of the subscribers that have left, summed as they left.
    pub(super) retired: PubSubStats,
}

/// A live subscriber as the registry sees it.
pub(super) struct Member<T> {
    pub(super) id: u64,
    pub(super) inbox: Arc<Inbox<T>>,
    /// The registry's copy of the subscriber's filters (the subscriber keeps
    /// its own for the receive-side check).
    pub(super) filters: Filters,
}

/// An interned topic name and its match set.
pub(super) struct Interned<T> {
    pub(super) name: Name,
    pub(super) generation: usize,
    pub(super) set: Arc<MatchSet<T>>,
}

impl<T> Endpoint<T> {
    /// An endpoint whose subscribers' rings hold at least `capacity`
    /// messages by default, with no handle yet.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0 or too large (see [`channel`]).
    #[track_caller]
    pub(crate) fn new(capacity: usize, wait: Wait) -> Arc<Self> {
        // Checked now, so that a bad capacity panics where it was given.
        crate::capacity::slots::<Envelope<T>>(capacity);
        Arc::new(Endpoint {
            generation: CachePadded::new(AtomicUsize::new(0)),
            publishers: CachePadded::new(AtomicUsize::new(0)),
            registry: Mutex::new(Registry {
                members: Vec::new(),
                topics: HashMap::new(),
                next_id: 0,
                retired: PubSubStats::default(),
            }),
            capacity,
            wait,
            identity: Arc::new(Identity),
        })
    }

    /// Locks the registry (a panic elsewhere while holding it leaves it
    /// consistent: every change is a single push, remove or filter edit).
    pub(super) fn lock(&self) -> impl DerefMut<Target = Registry<T>> + '_ {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bumps the generation; call with the lock held. Returns the new one.
    pub(super) fn bump(&self, _held: &mut Registry<T>) -> usize {
        // Relaxed: writers are serialised by the lock; readers outside it
        // need only coherence (see the module doc, "No slow-joiner loss").
        let next = self.generation.load(Ordering::Relaxed).wrapping_add(1);
        // Relaxed: serialised by the lock, as above.
        self.generation.store(next, Ordering::Relaxed);
        next
    }

    /// A new publisher (reviving the endpoint if every publisher had gone).
    pub(super) fn mint_publisher(this: &Arc<Self>) -> Publisher<T> {
        // Relaxed: a count; the disconnection it signals is ordered by the
        // AcqRel decrement in `Publisher::drop`. Count first, then the
        // "ever" bit, so the state never reads 1 (gone) while one is minted.
        this.publishers.fetch_add(2, Ordering::Relaxed);
        // Relaxed: as the count above.
        this.publishers.fetch_or(1, Ordering::Relaxed);
        Publisher::new(this.clone())
    }

    /// A new subscriber, with no filter.
    ///
    /// # Panics
    ///
    /// If the capacity (the options' or else the endpoint's) is 0 or too
    /// large.
    #[track_caller]
    pub(super) fn mint_subscriber(this: &Arc<Self>, options: SubscriberOptions) -> Subscriber<T> {
        let ring = Endpoint::inbox_ring(this, options).build();
        Endpoint::join(this, options, ring)
    }

    /// [`mint_subscriber`](Self::mint_subscriber), or why the options'
    /// capacity (or else the endpoint's) cannot make the subscriber's ring,
    /// the allocator's refusal included (for the bus, which must not panic).
    pub(super) fn try_mint_subscriber(
        this: &Arc<Self>,
        options: SubscriberOptions,
    ) -> Result<Subscriber<T>, CapacityError> {
        let ring = Endpoint::inbox_ring(this, options).try_build()?;
        Ok(Endpoint::join(this, options, ring))
    }

    /// The builder of a new subscriber's ring. Waiting and waking happen on
    /// the inbox's own signals, so the ring itself only spins.
    fn inbox_ring(this: &Arc<Self>, options: SubscriberOptions) -> mpmc::Builder {
        mpmc::Builder::new(options.capacity_or(this.capacity)).wait(Wait::Spin)
    }

    /// Registers a subscriber whose ring is `(tx, rx)`, with no filter.
    fn join(
        this: &Arc<Self>,
        options: SubscriberOptions,
        (tx, rx): (mpmc::Sender<Envelope<T>>, mpmc::Receiver<Envelope<T>>),
    ) -> Subscriber<T> {
        let inbox = Arc::new(Inbox {
            tx,
            rx,
            overflow: options.overflow,
            wait: this.wait,
            alive: AtomicBool::new(true),
            missed: CachePadded::new(AtomicUsize::new(0)),
            tallies: CachePadded::new(Tallies {
                discarded: AtomicUsize::new(0),
                full_waits: AtomicUsize::new(0),
                given_up: AtomicUsize::new(0),
            }),
            not_empty: CachePadded::new(Signal::new()),
            not_full: CachePadded::new(Signal::new()),
        });
        let mut registry = this.lock();
        let id = registry.next_id;
        registry.next_id += 1;
        registry.members.push(Member {
            id,
            inbox: inbox.clone(),
            filters: Filters::default(),
        });
        // No bump: a subscriber without filters matches nothing.
        drop(registry);
        Subscriber::new(this.clone(), inbox, id)
    }

    /// Whether publishers existed and all are gone.
    #[inline]
    pub(super) fn publishers_gone(&self) -> bool {
        // Acquire: pairs with the AcqRel decrement in `Publisher::drop`:
        // every ring write of every publisher happens before we read 1.
        self.publishers.load(Ordering::Acquire) == 1
    }

    /// Changes subscriber `id`'s filters with `edit` if `edit` says it
    /// changed something; returns the new generation.
    pub(super) fn edit_filters(
        &self,
        id: u64,
        edit: impl FnOnce(&mut Filters) -> bool,
    ) -> Option<usize> {
        let mut registry = self.lock();
        let member = registry.members.iter_mut().find(|m| m.id == id)?;
        if !edit(&mut member.filters) {
            return None;
        }
        Some(self.bump(&mut registry))
    }

    /// Removes subscriber `id` (its inbox is already marked dead).
    pub(super) fn leave(&self, id: u64) {
        let mut registry = self.lock();
        if let Some(member) = registry.members.iter().find(|m| m.id == id) {
            let last = member.inbox.stats();
            add(&mut registry.retired, &last);
        }
        registry.members.retain(|m| m.id != id);
        // Let go of the dead inbox in every interned match set now, rather
        // than when each topic is next sent to.
        for interned in registry.topics.values_mut() {
            if interned.set.inboxes.iter().any(|i| !i.is_alive()) {
                let live = interned
                    .set
                    .inboxes
                    .iter()
                    .filter(|i| i.is_alive())
                    .cloned()
                    .collect();
                interned.set = Arc::new(MatchSet { inboxes: live });
            }
        }
        self.bump(&mut registry);
    }

    /// The current route of topic `name` (interning it if new). Takes the
    /// lock: called when a topic's cache is stale.
    pub(super) fn route(this: &Arc<Self>, name: &str) -> Route<T> {
        let mut registry = this.lock();
        // Relaxed: under the lock, which orders every bump before us.
        let generation = this.generation.load(Ordering::Relaxed);
        let Registry {
            members, topics, ..
        } = &mut *registry;
        // The key's allocation is fine here: this is the slow path.
        let interned = topics.entry(name.into()).or_insert_with(|| Interned {
            name: Arc::new(name.into()),
            generation: generation.wrapping_sub(1),
            set: Arc::new(MatchSet {
                inboxes: Vec::new(),
            }),
        });
        if interned.generation != generation {
            let inboxes = members
                .iter()
                .filter(|m| m.filters.matches(name))
                .map(|m| m.inbox.clone())
                .collect();
            interned.set = Arc::new(MatchSet { inboxes });
            interned.generation = generation;
        }
        Route {
            name: interned.name.clone(),
            identity: this.identity.clone(),
            generation,
            set: interned.set.clone(),
        }
    }

    /// The endpoint's counters: every live subscriber's, plus those of the
    /// subscribers that left (as they left). Takes the registry lock, which
    /// sends do not take while no subscription changes.
    pub(crate) fn stats(&self) -> PubSubStats {
        let registry = self.lock();
        let mut total = registry.retired;
        total.depth = 0;
        for member in &registry.members {
            let inbox = member.inbox.stats();
            add(&mut total, &inbox);
            total.depth += inbox.depth;
        }
        total.subscribers = registry.members.len();
        drop(registry);
        // Relaxed: a snapshot of a count (`2 × live`, plus the "ever" bit).
        total.publishers = self.publishers.load(Ordering::Relaxed) / 2;
        total
    }

    /// The most messages a live subscriber's ring holds, and whether a
    /// `Block` subscriber's ring is full (takes the lock).
    pub(super) fn backlog(&self) -> (usize, bool) {
        let registry = self.lock();
        let mut deepest = 0;
        let mut blocking = false;
        for member in &registry.members {
            let ring = &member.inbox.rx;
            let len = ring.len();
            deepest = deepest.max(len);
            blocking |= member.inbox.overflow == Overflow::Block && len >= ring.capacity();
        }
        (deepest, blocking)
    }

    /// The number of live subscribers (takes the lock).
    pub(super) fn subscriber_count(&self) -> usize {
        self.lock().members.len()
    }

    /// Wakes every subscriber (the last publisher left).
    ///
    /// The inboxes are gathered under the lock and woken after it: a wake
    /// may run a waker's code (a run-on-wake executor polls its task inside
    /// `wake`), which may drop a subscriber or subscribe, and both take this
    /// lock. (Once per endpoint's last publisher, so the list's allocation
    /// is off every hot path.)
    pub(super) fn wake_subscribers(&self) {
        let inboxes: Vec<Arc<Inbox<T>>> = (self.lock().members.iter())
            .map(|member| Arc::clone(&member.inbox))
            .collect();
        // A wake that panics (a waker's code, or the `Drop` of a subscriber
        // it drops) must not leave the subscribers after it asleep: every
        // inbox is notified, then the first panic goes on.
        let mut held = crate::unwind::HeldPanic::default();
        for inbox in inboxes {
            held.run(|| inbox.not_empty.notify());
        }
        held.resume();
    }
}

/// Adds one subscriber's counters to `total`.
fn add(total: &mut PubSubStats, inbox: &InboxStats) {
    total.delivered += inbox.delivered;
    total.received += inbox.received;
    total.missed += inbox.missed;
    total.full_waits += inbox.full_waits;
}

/// The bus hook: `Endpoint::try_new(capacity, wait)`, and
/// `endpoint.publisher()` and `endpoint.try_subscriber(options)` on an
/// `Arc<Endpoint<T>>`; none of them panics.
#[cfg(not(ringbus_loom))]
// The bus (not built under loom) mints handles through these.
#[cfg_attr(ringbus_loom, allow(dead_code))]
impl<T> Endpoint<T> {
    /// [`new`](Self::new), or why `capacity` cannot make the ring of a
    /// subscriber with the default options (for the bus, which must not
    /// panic). The memory is not tried here: the bus mints each subscriber
    /// with [`try_subscriber`](Self::try_subscriber), which reports an
    /// allocator's refusal, while `Publisher::subscriber` panics on it (its
    /// documented `# Panics`).
    pub(crate) fn try_new(capacity: usize, wait: Wait) -> Result<Arc<Self>, CapacityError> {
        mpmc::try_slots::<Envelope<T>>(capacity)?;
        Ok(Endpoint::new(capacity, wait))
    }

    /// A new publisher (reviving the endpoint if every publisher had gone).
    pub(crate) fn publisher(self: &Arc<Self>) -> Publisher<T> {
        Endpoint::mint_publisher(self)
    }

    /// A new subscriber with no filter, or why the options' capacity (or
    /// else the endpoint's) cannot make its ring.
    pub(crate) fn try_subscriber(
        self: &Arc<Self>,
        options: SubscriberOptions,
    ) -> Result<Subscriber<T>, CapacityError> {
        Endpoint::try_mint_subscriber(self, options)
    }
}

/// The bus hook under loom, whose `Arc` cannot be a method receiver
/// (`self: &Arc<Self>` needs std's `Arc`): the same calls through a trait,
/// which code built with the loom cfg imports.
#[cfg(ringbus_loom)]
#[allow(unreachable_pub, dead_code)]
pub(crate) trait EndpointHook<T> {
    /// See the std build's `Endpoint::publisher`.
    fn publisher(&self) -> Publisher<T>;
    /// See the std build's `Endpoint::try_subscriber`.
    fn try_subscriber(&self, options: SubscriberOptions) -> Result<Subscriber<T>, CapacityError>;
}

#[cfg(ringbus_loom)]
impl<T> EndpointHook<T> for Arc<Endpoint<T>> {
    fn publisher(&self) -> Publisher<T> {
        Endpoint::mint_publisher(self)
    }

    fn try_subscriber(&self, options: SubscriberOptions) -> Result<Subscriber<T>, CapacityError> {
        Endpoint::try_mint_subscriber(self, options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TryRecvError;

    /// The bus keeps endpoints as `dyn Any + Send + Sync`; the handles move
    /// between threads.
    #[test]
    fn endpoint_and_handles_are_send_and_sync() {
        fn send_sync<X: Send + Sync + 'static>() {}
        fn send<X: Send + 'static>() {}
        send_sync::<Endpoint<String>>();
        send_sync::<crate::pubsub::Publisher<String>>();
        send_sync::<crate::pubsub::Subscriber<String>>();
        send_sync::<crate::pubsub::Message<String>>();
        send::<crate::pubsub::Topic<String>>();
        send::<crate::pubsub::Pending<String>>();
    }

    /// The bus hook: a subscriber minted before any publisher waits (it is
    /// not disconnected); once publishers existed and all left, it is; a new
    /// publisher revives it.
    #[test]
    fn endpoint_connects_in_any_order_and_revives() {
        let endpoint = Endpoint::<u32>::new(4, Wait::Park);
        let mut subscriber = endpoint.try_subscriber(SubscriberOptions::new()).unwrap();
        subscriber.subscribe("#").unwrap();
        assert_eq!(subscriber.try_recv().unwrap_err(), TryRecvError::Empty);
        assert!(!subscriber.is_disconnected());

        let publisher = endpoint.publisher();
        let topic = publisher.topic("t").unwrap();
        assert_eq!(publisher.send(&topic, 1), 1);
        drop(publisher);
        assert_eq!(*subscriber.try_recv().unwrap(), 1);
        assert_eq!(
            subscriber.try_recv().unwrap_err(),
            TryRecvError::Disconnected
        );

        let publisher = endpoint.publisher();
        assert!(!subscriber.is_disconnected());
        assert_eq!(publisher.send(&topic, 2), 1);
        assert_eq!(*subscriber.recv().unwrap(), 2);

        // A publisher with no subscriber at all sends to nobody.
        let lonely = Endpoint::<u32>::new(4, Wait::Park);
        let publisher = lonely.publisher();
        assert_eq!(publisher.send(&publisher.topic("t").unwrap(), 1), 0);
        let mut late = lonely.try_subscriber(SubscriberOptions::new()).unwrap();
        late.subscribe("t").unwrap();
        assert_eq!(publisher.send(&publisher.topic("t").unwrap(), 2), 1);
        assert_eq!(*late.recv().unwrap(), 2);
    }
}
