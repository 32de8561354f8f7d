//! ringbus: a lock-free, in-process message bus.
//!
//! ZeroMQ's `inproc://` patterns without ZeroMQ's cost, built on bounded ring
//! buffers shared by the threads of one program. This release holds the
//! bottom layers:
//!
//! - [`spsc`]: a bounded single-producer single-consumer ring (Lamport), with
//!   zero-copy chunks for writing and reading in place;
//! - [`mpmc`]: a bounded multi-producer multi-consumer ring (Vyukov);
//! - [`broadcast`]: one publisher, many subscribers, each sees every message
//!   in order, read in place (the LMAX Disruptor's ring);
//! - [`pubsub`]: publishers and subscribers with topic filters (ZeroMQ
//!   prefixes, RabbitMQ `*`/`#` patterns), one ring per subscriber;
//! - [`pipeline`]: PUSH/PULL, jobs load-balanced over workers, each done once;
//! - [`reqrep`]: REQ/REP, a request waits for its own reply;
//! - [`Bus`]: named, typed endpoints handing out those patterns, connected
//!   in any order (ZeroMQ's `inproc://` context);
//! - `future` (feature `async`): `Stream` and `Sink` wrappers; every
//!   handle also has `recv_async`/`send_async` without the feature;
//! - [`select`]: wait on several receivers at once (`zmq_poll`);
//! - `readiness` (Linux): an eventfd that is readable when messages wait,
//!   for someone else's `epoll` loop (ZeroMQ's `ZMQ_FD`);
//! - [`Wait`]: how a blocked side waits (spin, yield, backoff, park);
//! - [`stats`]: live counters (sent, received, full waits, lag, depth,
//!   subscribers) read from any handle without a lock;
//! - one family of errors, in the shape of `std::sync::mpsc`'s.
//!
//! Every lock-free algorithm here is checked with [loom] models (see
//! `loom-tests/` in the repository), and sending or receiving allocates
//! nothing and takes no lock.
//!
//! ```
//! use std::thread;
//!
//! let (tx, rx) = ringbus::spsc::channel::<u64>(1024);
//! let producer = thread::spawn(move || {
//!     for i in 0..10_000 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! // `iter` ends when the sender is gone and the ring is drained.
//! let sum: u64 = rx.iter().sum();
//! producer.join().unwrap();
//! assert_eq!(sum, (0..10_000).sum());
//! ```
//!
//! [loom]: https://docs.rs/loom

#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

pub mod broadcast;
// The registry holds endpoints through std's `Weak`, which loom's `Arc` lacks;
// it has no lock-free code to model.
#[cfg(not(ringbus_loom))]
pub mod bus;
mod capacity;
pub mod error;
#[cfg(feature = "async")]
pub mod future;
mod leftovers;
pub mod mpmc;
pub mod pipeline;
pub mod pubsub;
#[cfg(any(target_os = "linux", ringbus_loom))]
pub mod readiness;
pub mod reqrep;
pub mod select;
pub mod spsc;
pub mod stats;
mod sync;
mod unwind;
mod wait;

#[cfg(not(ringbus_loom))]
pub use bus::{Bus, BusError};
pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use stats::{BroadcastStats, InboxStats, PubSubStats, ReqRepStats, Stats, SubscriberStats};
pub use wait::Wait;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The guide's examples (`docs/guide.md`), compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideDoctests;
