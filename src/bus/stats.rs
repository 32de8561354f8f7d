//! [`Bus::stats`](super::Bus::stats): every endpoint's counters, by name.
//!
//! The bus keeps each endpoint as a type-erased `Weak`; next to it, the
//! registry stores a reader (a plain function made for the endpoint's
//! concrete type when it was created) that downcasts it and reads its
//! counters. `Bus::stats` takes the registry lock only to collect the live
//! endpoints, then reads each one's counters after letting go of it.

use std::any::Any;

use super::Pattern;
use crate::stats::{PubSubStats, ReqRepStats, Stats};
use crate::{pipeline, pubsub, reqrep};

/// One endpoint of a [`Bus`](super::Bus) and its counters, from
/// [`Bus::stats`](super::Bus::stats).
///
/// ```
/// use ringbus::bus::{EndpointCounters, Pattern};
///
/// let bus = ringbus::Bus::new();
/// let push = bus.pusher::<u32>("jobs").unwrap();
/// push.send(7).unwrap();
/// let all = bus.stats();
/// assert_eq!(all.len(), 1);
/// assert_eq!((all[0].name.as_str(), all[0].pattern, all[0].message), ("jobs", Pattern::Pipeline, "u32"));
/// match all[0].counters {
///     EndpointCounters::Pipeline(stats) => assert_eq!((stats.sent, stats.depth), (1, 1)),
///     _ => unreachable!(),
/// }
/// ```
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStats {
    /// The endpoint's name (without an `inproc://` prefix).
    pub name: String,
    /// The pattern it carries.
    pub pattern: Pattern,
    /// Its message type (for req/rep, `(Req, Rep)`), as `type_name` spells it.
    pub message: &'static str,
    /// Its counters.
    pub counters: EndpointCounters,
}

/// An endpoint's counters, by pattern.
///
/// ```
/// use ringbus::bus::EndpointCounters;
///
/// let bus = ringbus::Bus::new();
/// let _replier = bus.replier::<u8, u8>("echo").unwrap();
/// let stats = bus.stats();
/// assert!(matches!(stats[0].counters, EndpointCounters::ReqRep(s) if s.requests == 0));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointCounters {
    /// Publish/subscribe: every subscriber's counters summed.
    PubSub(PubSubStats),
    /// Push/pull: the job ring's counters.
    Pipeline(Stats),
    /// Request/reply: the request ring's counters and how requests ended.
    ReqRep(ReqRepStats),
}

/// An endpoint type the bus can read counters from.
pub(super) trait Observe {
    fn counters(&self) -> EndpointCounters;
}

impl<T: 'static> Observe for pubsub::Endpoint<T> {
    fn counters(&self) -> EndpointCounters {
        EndpointCounters::PubSub(self.stats())
    }
}

impl<T: 'static> Observe for pipeline::Endpoint<T> {
    fn counters(&self) -> EndpointCounters {
        EndpointCounters::Pipeline(self.stats())
    }
}

impl<Req: 'static, Rep: 'static> Observe for reqrep::Endpoint<Req, Rep> {
    fn counters(&self) -> EndpointCounters {
        EndpointCounters::ReqRep(self.stats())
    }
}

/// Reads an erased endpoint's counters; stored in the registry.
pub(super) type Reader = fn(&(dyn Any + Send + Sync)) -> Option<EndpointCounters>;

/// The [`Reader`] for endpoints of type `E`.
pub(super) fn reader<E: Observe + 'static>(
    endpoint: &(dyn Any + Send + Sync),
) -> Option<EndpointCounters> {
    endpoint.downcast_ref::<E>().map(E::counters)
}
