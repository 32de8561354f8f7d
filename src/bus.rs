//! The bus: named, typed endpoints that hand out the patterns' handles.
//!
//! A [`Bus`] is ZeroMQ's `inproc://` context for one program: threads meet at
//! endpoints named by strings (`"md"`, `"jobs"`, `"risk"`), each endpoint
//! carrying one [pattern](Pattern) and one message type. Whoever asks first
//! creates the endpoint; everyone after gets handles on the same one:
//!
//! ```text
//!  Bus (Arc, cheap to clone)
//!   └─ registry: name → (pattern, message type, Weak<endpoint>)   ← locked only here
//!
//!  bus.publisher::<Tick>("md")  ─┐
//!  bus.subscriber::<Tick>("md") ─┼─→ Arc<pubsub endpoint>  ← handles hold it;
//!  bus.subscriber::<Tick>("md") ─┘                           sending never
//!                                                            touches the registry
//! ```
//!
//! - **Any order.** Either side may bind or connect first. A side that has
//!   never connected does not count as gone: a pusher or publisher created
//!   before its peers buffers up to the endpoint's capacity (and then waits,
//!   like ZeroMQ at its high-water mark), a puller or subscriber created first
//!   waits. A subscriber that exists before a message is published receives
//!   it: no slow-joiner loss. Once every handle of a side that had connected
//!   has dropped, the other side sees it gone (a puller drains, then its
//!   `iter` ends; a requester gets an error), until a handle of that side
//!   connects again.
//! - **Typed.** Asking for an endpoint with another message type or another
//!   pattern than it was created with is an error naming both
//!   ([`BusError::TypeMismatch`], [`BusError::PatternMismatch`]); an empty or
//!   malformed name is [`BusError::InvalidName`]; a capacity that cannot
//!   make a ring of the endpoint's messages (0, too large, or more memory
//!   than the allocator gives) is [`BusError::Capacity`]. Nothing a caller
//!   passes makes the bus panic. (The handles it gives keep their own
//!   documented panics: [`pubsub::Publisher::subscriber`] on an endpoint
//!   whose capacity the allocator refuses, where [`Bus::subscriber`] answers
//!   with an error.)
//! - **Off the hot path.** The registry is a map under a lock, consulted only
//!   when a handle is made. A handle holds its endpoint directly, so a send or
//!   receive costs exactly what the pattern costs.
//! - **Cleaned up.** The registry holds endpoints weakly: when the last
//!   handle of an endpoint drops, the endpoint (and every message still in it)
//!   is freed, and its name is free for any pattern and type again. Only
//!   handles (publishers, subscribers, pushers, pullers, requesters,
//!   repliers) count: a [`pubsub::Topic`] does not keep its endpoint.
//!
//! Names are 1 to 255 bytes of ASCII letters, digits and `. _ - / :`, and
//! never contain `://`. One leading `inproc://` is ignored, so
//! `"inproc://md"` and `"md"` are one endpoint; a name that still holds
//! `://` after it (`"inproc://inproc://md"`, `"tcp://md"`) is
//! [`BusError::InvalidName`]. So every name [`Bus::endpoints`] lists leads
//! back to the endpoint it lists.
//!
//! ```
//! use ringbus::Bus;
//! use std::thread;
//!
//! let bus = Bus::new();
//!
//! // Workers connect before the ventilator exists: nothing is lost.
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let jobs = bus.puller::<u64>("jobs").unwrap();
//!         let results = bus.pusher::<u64>("results").unwrap();
//!         thread::spawn(move || {
//!             for job in jobs.iter() {
//!                 results.send(job * 2).unwrap();
//!             }
//!         })
//!     })
//!     .collect();
//!
//! let sink = bus.puller::<u64>("results").unwrap();
//! let ventilator = bus.pusher::<u64>("jobs").unwrap();
//! for job in 1..=100 {
//!     ventilator.send(job).unwrap();
//! }
//! drop(ventilator); // the workers' `iter` ends once the jobs are drained
//! for worker in workers {
//!     worker.join().unwrap();
//! }
//! let total: u64 = sink.try_iter().sum();
//! assert_eq!(total, 2 * (1..=100).sum::<u64>());
//! ```

use std::any::{type_name, Any, TypeId};
use std::collections::HashMap;
use std::error::Error;
use std::fmt;

// Not `crate::sync`: the registry is a plain locked map, outside the loom
// models (loom's `Arc` has no `Weak` and no unsized coercion).
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use crate::capacity::CapacityError;
use crate::{pipeline, pubsub, reqrep, Wait};

mod stats;

use stats::{reader, Observe, Reader};
pub use stats::{EndpointCounters, EndpointStats};

/// A registry of named endpoints, shared by the threads of one program.
///
/// Cloning is cheap (one reference count) and every clone sees the same
/// endpoints. See the [module documentation](self) for the rules.
///
/// ```
/// let bus = ringbus::Bus::new();
/// let other_thread_view = bus.clone();
/// let tx = bus.pusher::<&str>("greetings").unwrap();
/// let rx = other_thread_view.puller::<&str>("greetings").unwrap();
/// tx.send("hello").unwrap();
/// assert_eq!(rx.recv(), Ok("hello"));
/// ```
#[derive(Clone)]
pub struct Bus {
    inner: Arc<Registry>,
}

/// The endpoints and the options new ones are built with.
struct Registry {
    /// Slots per endpoint ring (per subscriber for pub/sub).
    capacity: usize,
    /// How blocked handles of new endpoints wait.
    wait: Wait,
    /// Live endpoints by name; dead ones are pruned whenever a handle is made.
    endpoints: Mutex<HashMap<Box<str>, Entry>>,
}

/// What the registry knows about one endpoint.
struct Entry {
    pattern: Pattern,
    /// The endpoint's concrete type: pattern and message type together.
    type_id: TypeId,
    /// The message type's name, for errors.
    message: &'static str,
    /// The endpoint, alive while any of its handles is.
    endpoint: Weak<dyn Any + Send + Sync>,
    /// Reads the endpoint's counters (made for its concrete type).
    stats: Reader,
}

/// The messaging pattern an endpoint carries.
///
/// ```
/// use ringbus::bus::{BusError, Pattern};
///
/// let bus = ringbus::Bus::new();
/// let _jobs = bus.pusher::<u32>("jobs").unwrap();
/// match bus.publisher::<u32>("jobs") {
///     Err(BusError::PatternMismatch { expected, found, .. }) => {
///         assert_eq!(expected, Pattern::PubSub);
///         assert_eq!(found, Pattern::Pipeline);
///     }
///     _ => unreachable!(),
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Publish/subscribe with topic filters ([`pubsub`]).
    PubSub,
    /// Push/pull, load-balanced ([`pipeline`]).
    Pipeline,
    /// Request/reply ([`reqrep`]).
    ReqRep,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pattern::PubSub => "pub/sub",
            Pattern::Pipeline => "pipeline",
            Pattern::ReqRep => "req/rep",
        })
    }
}

/// Why the bus could not hand out an endpoint.
///
/// ```
/// use ringbus::bus::BusError;
///
/// let bus = ringbus::Bus::new();
/// let _ticks = bus.publisher::<f64>("md").unwrap();
/// let err = bus.subscriber::<u64>("md").unwrap_err();
/// assert!(matches!(err, BusError::TypeMismatch { .. }));
/// assert_eq!(
///     err.to_string(),
///     "endpoint \"md\" carries f64, not u64"
/// );
/// assert!(matches!(bus.pusher::<u8>(""), Err(BusError::InvalidName { .. })));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BusError {
    /// The name is empty, too long, has a character outside
    /// `A-Z a-z 0-9 . _ - / :`, or contains `://` once one leading
    /// `inproc://` is set aside.
    InvalidName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The endpoint exists with the same pattern but another message type.
    /// The types are named by `std::any::type_name`; two distinct types of
    /// one name (two closures of one function, two versions of one crate)
    /// get that name with `" (distinct type #k of this name)"` after it.
    TypeMismatch {
        /// The endpoint.
        name: String,
        /// The message type asked for.
        expected: &'static str,
        /// The message type the endpoint carries.
        found: &'static str,
    },
    /// The endpoint exists with another pattern.
    PatternMismatch {
        /// The endpoint.
        name: String,
        /// The pattern asked for.
        expected: Pattern,
        /// The pattern the endpoint carries.
        found: Pattern,
    },
    /// A ring of the endpoint cannot have the capacity asked for: it is 0,
    /// does not round up to a power of two within the largest ring, makes
    /// a ring of the endpoint's messages larger than `isize::MAX` bytes, or
    /// asks for more memory than the allocator gives (checked by a fallible
    /// allocation, so a huge capacity is an error, not an abort). The
    /// capacity is the bus's ([`Builder::capacity`]) when an
    /// endpoint is created, or the one in the
    /// [`SubscriberOptions`](pubsub::SubscriberOptions) given to
    /// [`Bus::subscriber_with`].
    ///
    /// ```
    /// use ringbus::bus::BusError;
    /// use ringbus::pubsub::SubscriberOptions;
    ///
    /// let bus = ringbus::Bus::new();
    /// let options = SubscriberOptions::new().capacity(0);
    /// let err = bus.subscriber_with::<u64>("md", options).unwrap_err();
    /// assert!(matches!(err, BusError::Capacity { capacity: 0, .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "endpoint \"md\" cannot have a ring of capacity 0: a capacity must be greater than 0"
    /// );
    ///
    /// // Too large for the endpoint's messages: an error at every endpoint.
    /// let huge = ringbus::Bus::builder().capacity(usize::MAX / 2).build();
    /// assert!(matches!(huge.pusher::<u64>("jobs"), Err(BusError::Capacity { .. })));
    ///
    /// // Small enough to be a ring, too large for any machine (512 PiB; on
    /// // 64-bit targets).
    /// # #[cfg(target_pointer_width = "64")] {
    /// let vast = ringbus::Bus::builder().capacity(1 << 55).build();
    /// let err = vast.pusher::<u64>("jobs").unwrap_err();
    /// assert!(err.to_string().contains("the allocator refused"), "{err}");
    /// # }
    /// ```
    Capacity {
        /// The endpoint.
        name: String,
        /// The capacity asked for.
        capacity: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::InvalidName { name, reason } => {
                write!(f, "invalid endpoint name {name:?}: {reason}")
            }
            BusError::TypeMismatch {
                name,
                expected,
                found,
            } => write!(f, "endpoint {name:?} carries {found}, not {expected}"),
            BusError::PatternMismatch {
                name,
                expected,
                found,
            } => write!(f, "endpoint {name:?} is {found}, not {expected}"),
            BusError::Capacity {
                name,
                capacity,
                reason,
            } => write!(
                f,
                "endpoint {name:?} cannot have a ring of capacity {capacity}: {reason}"
            ),
        }
    }
}

impl Error for BusError {}

/// Sets a bus's options, then builds it.
///
/// ```
/// use ringbus::{Bus, Wait};
///
/// let bus = Bus::builder().capacity(64).wait(Wait::Park).build();
/// let tx = bus.pusher::<u8>("small").unwrap();
/// assert_eq!(tx.capacity(), 64);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Builder {
    capacity: usize,
    wait: Wait,
}

impl Builder {
    /// Slots in each endpoint's ring (for pub/sub: in each subscriber's),
    /// rounded up to a power of two; default 1024.
    ///
    /// Whether a ring of that many messages can be built depends on the
    /// message type, so the capacity is checked when an endpoint is created:
    /// if it is 0, too large for the endpoint's messages or more than the
    /// allocator gives, creating a handle returns [`BusError::Capacity`]
    /// (where the primitives' builders panic).
    ///
    /// ```
    /// use ringbus::bus::BusError;
    ///
    /// let bus = ringbus::Bus::builder().capacity(0).build();
    /// assert!(matches!(bus.puller::<u8>("jobs"), Err(BusError::Capacity { .. })));
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// How blocked handles of the bus's endpoints wait (default:
    /// [`Wait::Backoff`]).
    pub fn wait(mut self, wait: Wait) -> Self {
        self.wait = wait;
        self
    }

    /// The bus. It never panics: the capacity is checked, with the size of
    /// each endpoint's messages, when the endpoint is created (see
    /// [`capacity`](Builder::capacity)).
    ///
    /// ```
    /// let bus = ringbus::Bus::builder().capacity(16).build();
    /// assert_eq!(bus.pusher::<u8>("jobs").unwrap().capacity(), 16);
    /// ```
    pub fn build(self) -> Bus {
        Bus {
            inner: Arc::new(Registry {
                capacity: self.capacity,
                wait: self.wait,
                endpoints: Mutex::new(HashMap::new()),
            }),
        }
    }
}

impl Default for Bus {
    fn default() -> Self {
        Bus::new()
    }
}

impl Bus {
    /// A bus with the default options: 1024 slots per ring,
    /// [`Wait::Backoff`].
    ///
    /// ```
    /// let bus = ringbus::Bus::new();
    /// assert!(bus.endpoints().is_empty());
    /// ```
    pub fn new() -> Self {
        Bus::builder().build()
    }

    /// Options for a new bus.
    ///
    /// ```
    /// let bus = ringbus::Bus::builder().capacity(8).build();
    /// # drop(bus);
    /// ```
    pub fn builder() -> Builder {
        Builder {
            capacity: 1024,
            wait: Wait::default(),
        }
    }

    /// A publisher on the pub/sub endpoint `name`.
    ///
    /// ```
    /// let bus = ringbus::Bus::new();
    /// let mut sub = bus.subscriber::<u32>("md").unwrap();
    /// sub.subscribe("md.*.AAPL").unwrap();
    /// let publisher = bus.publisher::<u32>("md").unwrap();
    /// let topic = publisher.topic("md.XNAS.AAPL").unwrap();
    /// assert_eq!(publisher.send(&topic, 42), 1); // reached one subscriber
    /// assert_eq!(*sub.recv().unwrap().payload(), 42);
    /// ```
    pub fn publisher<T: Clone + Send + 'static>(
        &self,
        name: &str,
    ) -> Result<pubsub::Publisher<T>, BusError> {
        Ok(self.pubsub::<T>(name)?.publisher())
    }

    /// A subscriber on the pub/sub endpoint `name`, with no filter yet (it
    /// receives nothing until it subscribes) and the default options
    /// ([`Overflow::Block`](pubsub::Overflow::Block): publishers wait for it).
    ///
    /// ```
    /// let bus = ringbus::Bus::new();
    /// let mut sub = bus.subscriber::<&str>("alerts").unwrap();
    /// sub.subscribe("#").unwrap();
    /// let publisher = bus.publisher::<&str>("alerts").unwrap();
    /// publisher.send(&publisher.topic("disk.full").unwrap(), "sda1");
    /// let message = sub.recv().unwrap();
    /// assert_eq!((message.topic(), *message.payload()), ("disk.full", "sda1"));
    /// ```
    pub fn subscriber<T: Clone + Send + 'static>(
        &self,
        name: &str,
    ) -> Result<pubsub::Subscriber<T>, BusError> {
        self.subscriber_with(name, pubsub::SubscriberOptions::new())
    }

    /// A subscriber on the pub/sub endpoint `name` with its own options
    /// (ring capacity, overflow policy).
    ///
    /// # Errors
    ///
    /// As [`subscriber`](Bus::subscriber); also [`BusError::Capacity`] if
    /// the options' capacity is 0 or too large for a ring of `T`s (where
    /// [`Publisher::subscriber_with`](pubsub::Publisher::subscriber_with)
    /// panics).
    ///
    /// ```
    /// use ringbus::pubsub::{Overflow, SubscriberOptions};
    ///
    /// let bus = ringbus::Bus::new();
    /// let options = SubscriberOptions::new().overflow(Overflow::DropOldest);
    /// let sub = bus.subscriber_with::<u64>("md", options).unwrap();
    /// # drop(sub);
    /// ```
    pub fn subscriber_with<T: Clone + Send + 'static>(
        &self,
        name: &str,
        options: pubsub::SubscriberOptions,
    ) -> Result<pubsub::Subscriber<T>, BusError> {
        // A key is its own key (see `validate`), so the error can name the
        // endpoint as the other errors do.
        let key = validate(name)?;
        self.pubsub::<T>(key)?
            .try_subscriber(options)
            .map_err(|err| BusError::Capacity {
                name: key.to_string(),
                capacity: options.capacity_or(self.inner.capacity),
                reason: err.reason(),
            })
    }

    /// A pusher on the pipeline endpoint `name`.
    ///
    /// ```
    /// let bus = ringbus::Bus::new();
    /// let push = bus.pusher::<u32>("jobs").unwrap();
    /// push.send(1).unwrap(); // buffered until a puller connects
    /// let pull = bus.puller::<u32>("jobs").unwrap();
    /// assert_eq!(pull.recv(), Ok(1));
    /// ```
    pub fn pusher<T: Send + 'static>(&self, name: &str) -> Result<pipeline::Pusher<T>, BusError> {
        Ok(self.pipeline::<T>(name)?.pusher())
    }

    /// A puller on the pipeline endpoint `name`; each job goes to exactly one
    /// puller.
    ///
    /// ```
    /// let bus = ringbus::Bus::new();
    /// let pull = bus.puller::<u32>("jobs").unwrap();
    /// assert!(pull.try_recv().is_err()); // no job yet, and no pusher
    /// ```
    pub fn puller<T: Send + 'static>(&self, name: &str) -> Result<pipeline::Puller<T>, BusError> {
        Ok(self.pipeline::<T>(name)?.puller())
    }

    /// A requester on the req/rep endpoint `name`.
    ///
    /// ```
    /// use std::thread;
    ///
    /// let bus = ringbus::Bus::new();
    /// let requester = bus.requester::<u32, u32>("square").unwrap();
    /// let replier = bus.replier::<u32, u32>("square").unwrap();
    /// let server = thread::spawn(move || {
    ///     let request = replier.recv().unwrap();
    ///     let x = *request.payload();
    ///     request.reply(x * x).unwrap();
    /// });
    /// assert_eq!(requester.request(7).unwrap(), 49);
    /// server.join().unwrap();
    /// ```
    pub fn requester<Req: Send + 'static, Rep: Send + 'static>(
        &self,
        name: &str,
    ) -> Result<reqrep::Requester<Req, Rep>, BusError> {
        Ok(self.reqrep::<Req, Rep>(name)?.requester())
    }

    /// A replier on the req/rep endpoint `name`; repliers share the requests.
    ///
    /// ```
    /// let bus = ringbus::Bus::new();
    /// let replier = bus.replier::<String, usize>("len").unwrap();
    /// assert!(replier.try_recv().is_err()); // nothing asked yet
    /// ```
    pub fn replier<Req: Send + 'static, Rep: Send + 'static>(
        &self,
        name: &str,
    ) -> Result<reqrep::Replier<Req, Rep>, BusError> {
        Ok(self.reqrep::<Req, Rep>(name)?.replier())
    }

    /// The live endpoints, sorted by name: each name with its pattern and
    /// message type. An endpoint whose handles are all gone is not listed
    /// (a [`pubsub::Topic`] is not a handle).
    ///
    /// ```
    /// use ringbus::bus::Pattern;
    ///
    /// let bus = ringbus::Bus::new();
    /// let push = bus.pusher::<u8>("jobs").unwrap();
    /// assert_eq!(bus.endpoints(), vec![("jobs".to_string(), Pattern::Pipeline, "u8")]);
    /// drop(push);
    /// assert!(bus.endpoints().is_empty());
    /// ```
    pub fn endpoints(&self) -> Vec<(String, Pattern, &'static str)> {
        let mut endpoints = self.registry();
        prune(&mut endpoints);
        let mut list: Vec<_> = endpoints
            .iter()
            .map(|(name, entry)| (name.to_string(), entry.pattern, entry.message))
            .collect();
        list.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        list
    }

    /// Every live endpoint with its counters, sorted by name.
    ///
    /// The registry lock is held only to collect the live endpoints; each
    /// endpoint's counters are read after it is released, without a lock
    /// (pub/sub totals walk that endpoint's subscribers under its own lock,
    /// which sends do not take; see [`pubsub::Publisher::stats`]). Each entry
    /// is a snapshot of its own (see [`stats`](crate::stats)).
    ///
    /// ```
    /// use ringbus::bus::{EndpointCounters, Pattern};
    ///
    /// let bus = ringbus::Bus::new();
    /// let mut md = bus.subscriber::<f64>("md").unwrap();
    /// md.subscribe("#").unwrap();
    /// let publisher = bus.publisher::<f64>("md").unwrap();
    /// publisher.send(&publisher.topic("AAPL").unwrap(), 189.5);
    /// let push = bus.pusher::<u32>("jobs").unwrap();
    /// push.send(1).unwrap();
    ///
    /// let stats = bus.stats();
    /// let names: Vec<_> = stats.iter().map(|e| (e.name.as_str(), e.pattern)).collect();
    /// assert_eq!(names, [("jobs", Pattern::Pipeline), ("md", Pattern::PubSub)]);
    /// match stats[1].counters {
    ///     EndpointCounters::PubSub(s) => assert_eq!((s.delivered, s.subscribers), (1, 1)),
    ///     _ => unreachable!(),
    /// }
    /// ```
    pub fn stats(&self) -> Vec<EndpointStats> {
        let mut endpoints = self.registry();
        prune(&mut endpoints);
        let live: Vec<_> = endpoints
            .iter()
            .filter_map(|(name, entry)| {
                let endpoint = entry.endpoint.upgrade()?;
                Some((
                    name.to_string(),
                    entry.pattern,
                    entry.message,
                    entry.stats,
                    endpoint,
                ))
            })
            .collect();
        drop(endpoints);
        let mut list: Vec<_> = live
            .into_iter()
            .filter_map(|(name, pattern, message, stats, endpoint)| {
                Some(EndpointStats {
                    counters: stats(&*endpoint)?,
                    name,
                    pattern,
                    message,
                })
            })
            .collect();
        list.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        list
    }

    fn pubsub<T: Clone + Send + 'static>(
        &self,
        name: &str,
    ) -> Result<Arc<pubsub::Endpoint<T>>, BusError> {
        self.endpoint(name, Pattern::PubSub, type_name::<T>(), |capacity, wait| {
            pubsub::Endpoint::try_new(capacity, wait)
        })
    }

    fn pipeline<T: Send + 'static>(
        &self,
        name: &str,
    ) -> Result<Arc<pipeline::Endpoint<T>>, BusError> {
        self.endpoint(
            name,
            Pattern::Pipeline,
            type_name::<T>(),
            |capacity, wait| pipeline::Endpoint::try_new(capacity, wait),
        )
    }

    fn reqrep<Req: Send + 'static, Rep: Send + 'static>(
        &self,
        name: &str,
    ) -> Result<Arc<reqrep::Endpoint<Req, Rep>>, BusError> {
        self.endpoint(
            name,
            Pattern::ReqRep,
            type_name::<(Req, Rep)>(),
            |capacity, wait| reqrep::Endpoint::try_new(capacity, wait),
        )
    }

    /// The endpoint `name` of type `E`, created by `make` if there is none
    /// (`make` checks the capacity with the sizes of the endpoint's rings;
    /// the bus mints every handle through a path that reports an
    /// allocator's refusal as [`BusError::Capacity`]).
    fn endpoint<E: Observe + Send + Sync + 'static>(
        &self,
        name: &str,
        pattern: Pattern,
        message: &'static str,
        make: impl FnOnce(usize, Wait) -> Result<Arc<E>, CapacityError>,
    ) -> Result<Arc<E>, BusError> {
        let name = validate(name)?;
        let mut endpoints = self.registry();
        prune(&mut endpoints);
        if let Some(entry) = endpoints.get(name) {
            if entry.pattern != pattern {
                return Err(BusError::PatternMismatch {
                    name: name.to_string(),
                    expected: pattern,
                    found: entry.pattern,
                });
            }
            if entry.type_id != TypeId::of::<E>() {
                // Two types of one name (two closures of one function, two
                // versions of one crate) get names that tell them apart.
                let (found, expected) = if entry.message == message {
                    (
                        distinct(entry.message, entry.type_id),
                        distinct(message, TypeId::of::<E>()),
                    )
                } else {
                    (entry.message, message)
                };
                return Err(BusError::TypeMismatch {
                    name: name.to_string(),
                    expected,
                    found,
                });
            }
            // `prune` left only live entries, and we hold the lock.
            if let Some(endpoint) = entry.endpoint.upgrade() {
                if let Ok(endpoint) = endpoint.downcast::<E>() {
                    return Ok(endpoint);
                }
            }
        }
        let endpoint =
            make(self.inner.capacity, self.inner.wait).map_err(|err| BusError::Capacity {
                name: name.to_string(),
                capacity: self.inner.capacity,
                reason: err.reason(),
            })?;
        let erased: Arc<dyn Any + Send + Sync> = endpoint.clone();
        endpoints.insert(
            name.into(),
            Entry {
                pattern,
                type_id: TypeId::of::<E>(),
                message,
                endpoint: Arc::downgrade(&erased),
                stats: reader::<E>,
            },
        );
        Ok(endpoint)
    }

    fn registry(&self) -> MutexGuard<'_, HashMap<Box<str>, Entry>> {
        // A panic while the lock was held cannot leave the map half-updated
        // (every change is one `insert` or `retain`): carry on.
        self.inner
            .endpoints
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

impl fmt::Debug for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bus")
            .field("capacity", &self.inner.capacity)
            .field("wait", &self.inner.wait)
            .field("endpoints", &self.endpoints())
            .finish()
    }
}

/// `message`, the `type_name` of the type `id`, made distinct from other
/// types of the same name for a [`BusError::TypeMismatch`] between two of
/// them: `"m (distinct type #k of this name)"`, numbered in the order such
/// errors first meet the types. Each type's label is made once and kept for
/// the life of the program, so the error keeps its `&'static str` fields
/// and the memory is bounded by the types that ever clash (a cold path: an
/// error, not a message).
fn distinct(message: &'static str, id: TypeId) -> &'static str {
    static LABELS: Mutex<Vec<(TypeId, &'static str, &'static str)>> = Mutex::new(Vec::new());
    let mut labels = LABELS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, _, label)) = labels.iter().find(|(known, _, _)| *known == id) {
        return label;
    }
    let k = 1 + labels.iter().filter(|(_, m, _)| *m == message).count();
    let label: &'static str =
        Box::leak(format!("{message} (distinct type #{k} of this name)").into_boxed_str());
    labels.push((id, message, label));
    label
}

/// Forgets endpoints whose handles are all gone.
fn prune(endpoints: &mut HashMap<Box<str>, Entry>) {
    endpoints.retain(|_, entry| entry.endpoint.strong_count() > 0);
}

/// The registry key for `name`, or why it is not a name.
fn validate(name: &str) -> Result<&str, BusError> {
    let invalid = |reason| BusError::InvalidName {
        name: name.to_string(),
        reason,
    };
    let key = name.strip_prefix("inproc://").unwrap_or(name);
    if key.is_empty() {
        return Err(invalid("a name must not be empty"));
    }
    if key.len() > 255 {
        return Err(invalid("a name must be at most 255 bytes"));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':');
    if !key.chars().all(allowed) {
        return Err(invalid(
            "a name may hold only ASCII letters, digits and . _ - / :",
        ));
    }
    // Otherwise "inproc://inproc://md" would make the key "inproc://md",
    // which, passed back (as `endpoints()` lists it), names "md". Refusing
    // every `://` makes a key its own key, and keeps other schemes
    // ("tcp://md") from passing for names.
    if key.contains("://") {
        return Err(invalid(
            "a name must not contain :// (one leading inproc:// is ignored)",
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(validate("md"), Ok("md"));
        assert_eq!(validate("inproc://md"), Ok("md"));
        assert_eq!(validate("a/b:c.d_e-f"), Ok("a/b:c.d_e-f"));
        for bad in [
            "",
            "inproc://",
            "has space",
            "tab\t",
            "é",
            "a*b",
            "inproc://inproc://md",
            "inproc://inproc://",
            "tcp://md",
            "a://b",
            "md://",
        ] {
            assert!(
                matches!(validate(bad), Err(BusError::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(validate(&"x".repeat(255)).is_ok());
        assert!(validate(&"x".repeat(256)).is_err());
        // `:` and `/` alone are fine, just not `://`.
        assert_eq!(validate("a:/b//c:"), Ok("a:/b//c:"));
        assert_eq!(validate("inproc://a:/b"), Ok("a:/b"));
    }

    /// A key is its own key: a name `endpoints()` lists leads back to it.
    #[test]
    fn keys_round_trip() {
        for name in ["md", "inproc://md", "a/b:c", "inproc://x:/y", "inproc:/md"] {
            let key = validate(name).unwrap();
            assert_eq!(validate(key), Ok(key), "{name:?}");
            assert_eq!(validate(&format!("inproc://{key}")), Ok(key), "{name:?}");
        }
    }
}
