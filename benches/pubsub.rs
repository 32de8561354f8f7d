//! Pub/sub benchmarks: ringbus's `pubsub` against its peers, in one run.
//!
//! One publisher sends `0..n` (`u64`) round-robin over 64 topics,
//! `md.g{k % 4}.s{k}`; four subscribers each want one quarter of them
//! (subscriber `j` the group `g{j}`), so every message reaches exactly one
//! subscriber and subscriber `j` must see `j, j + 4, j + 8, …` in order
//! (checked). One criterion iteration is one published message. Five threads
//! on the reference machine's two cores, unpinned, every peer with its
//! default blocking wait; rings and queues hold 1024 messages per
//! subscriber.
//!
//! - `pubsub_1to4_64topics`: one filter per subscriber.
//! - `pubsub_1to4_1000filters`: the same traffic, but each subscriber also
//!   holds 999 filters that match nothing.
//!
//! Peers:
//! - `ringbus`: `pubsub` with interned topics (`Publisher::topic`); the
//!   subscribers' filters are patterns `md.g{j}.*` (and `x.{j}.{i}.*`).
//! - `crossbeam_filter_each_send`: one crossbeam-channel `bounded(1024)` per
//!   subscriber; the publisher checks every subscriber's prefix filters
//!   (`md.g{j}.`, `x.{j}.{i}.`) against the topic on every send (what a
//!   hand-rolled fan-out does without a cache).
//! - `crossbeam_routing_table`: the same channels, with the topic → subscriber
//!   table computed once before the run (the best a hand-rolled fan-out can
//!   do when topics and filters are fixed in advance).
//! - `zmq_xpub_nodrop` (with `--features zmq`): libzmq inproc XPUB → four SUB
//!   sockets with prefix subscriptions, `ZMQ_XPUB_NODROP` set so the
//!   publisher blocks at the high-water mark (1024) instead of dropping, as
//!   the `Block` subscribers here do; each message is one frame, topic then
//!   8 payload bytes. The publisher waits for the four subscriptions before
//!   it starts (no slow-joiner loss).
//!
//! After the criterion groups, `side_by_side` runs the peers in rounds,
//! every peer once a round (`common::Rounds`), and prints ringbus over
//! ZeroMQ; `cargo bench --features zmq --bench pubsub -- side_by_side` runs
//! it alone.
//!
//! Run with `cargo bench --bench pubsub` (add `--features zmq` for the
//! ZeroMQ peer).

use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};
use ringbus::pubsub;

mod common;
use common::{run, Rounds, Seen};

/// Messages each subscriber's ring or queue holds.
const CAPACITY: usize = 1024;
/// Topics the publisher cycles through.
const TOPICS: u64 = 64;
/// Subscribers; subscriber `j` wants the topics `k` with `k % 4 == j`.
const SUBSCRIBERS: u64 = 4;

/// The name of topic `k`.
fn topic_name(k: u64) -> String {
    format!("md.g{}.s{k}", k % SUBSCRIBERS)
}

/// Subscriber `j`'s filters: one that matches its quarter, then `extra`
/// that match nothing. `pattern` picks `md.g{j}.*` over the prefix
/// `md.g{j}.`.
fn filters(j: u64, extra: usize, pattern: bool) -> Vec<String> {
    let tail = if pattern { "*" } else { "" };
    let mut out = vec![format!("md.g{j}.{tail}")];
    out.extend((0..extra).map(|i| format!("x.{j}.{i}.{tail}")));
    out
}

/// What subscriber `j` must receive of `0..n`.
fn expected_count(n: u64, j: u64) -> u64 {
    if n > j {
        (n - j).div_ceil(SUBSCRIBERS)
    } else {
        0
    }
}

/// Checks every subscriber's tally and returns the time.
#[track_caller]
fn finish(n: u64, peer: &str, (time, seen): (Duration, Seen)) -> Duration {
    assert_eq!(seen.count, n, "{peer}: wrong number of messages");
    assert_eq!(seen.sum, common::expected_sum(n), "{peer}: wrong sum");
    assert_eq!(seen.disorder, 0, "{peer}: out of order");
    time
}

/// A consumer for subscriber `j` that takes messages from `next` until it
/// has its share of `0..n`.
fn consumer(n: u64, j: u64, mut next: impl FnMut() -> u64) -> impl FnOnce() -> Seen {
    move || {
        let mut seen = Seen::default();
        for c in 0..expected_count(n, j) {
            seen.take(next(), j + SUBSCRIBERS * c);
        }
        seen
    }
}

// ---------------------------------------------------------------------------
// ringbus

fn ringbus(n: u64, extra: usize) -> Duration {
    let (publisher, first) = pubsub::channel::<u64>(CAPACITY);
    let mut subscribers = vec![first];
    subscribers.extend((1..SUBSCRIBERS).map(|_| publisher.subscriber()));
    for (j, s) in subscribers.iter_mut().enumerate() {
        for f in filters(j as u64, extra, true) {
            s.subscribe(&f).unwrap();
        }
    }
    let consume: Vec<_> = subscribers
        .into_iter()
        .enumerate()
        .map(|(j, s)| consumer(n, j as u64, move || *s.recv().expect("ringbus: lost")))
        .collect();
    let topics: Vec<_> = (0..TOPICS)
        .map(|k| publisher.topic(&topic_name(k)).unwrap())
        .collect();
    let produce = move || {
        for i in 0..n {
            let reached = publisher.send(&topics[(i % TOPICS) as usize], i);
            debug_assert_eq!(reached, 1);
        }
    };
    finish(n, "ringbus", run(vec![produce], consume, false))
}

// ---------------------------------------------------------------------------
// crossbeam-channel, one per subscriber

fn crossbeam(n: u64, extra: usize, routing_table: bool) -> Duration {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..SUBSCRIBERS)
        .map(|_| crossbeam_channel::bounded::<u64>(CAPACITY))
        .unzip();
    let consume: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(j, rx)| consumer(n, j as u64, move || rx.recv().expect("crossbeam: lost")))
        .collect();
    let names: Vec<String> = (0..TOPICS).map(topic_name).collect();
    let prefixes: Vec<Vec<String>> = (0..SUBSCRIBERS).map(|j| filters(j, extra, false)).collect();
    let matching = |topic: &str| -> Vec<usize> {
        (0..prefixes.len())
            .filter(|&j| prefixes[j].iter().any(|p| topic.starts_with(p.as_str())))
            .collect()
    };
    let table: Vec<Vec<usize>> = names.iter().map(|t| matching(t)).collect();
    let produce = move || {
        for i in 0..n {
            let k = (i % TOPICS) as usize;
            if routing_table {
                for &j in &table[k] {
                    senders[j].send(i).expect("crossbeam: receiver gone");
                }
            } else {
                let topic = names[k].as_str();
                for (j, filters) in prefixes.iter().enumerate() {
                    if filters.iter().any(|p| topic.starts_with(p.as_str())) {
                        senders[j].send(i).expect("crossbeam: receiver gone");
                    }
                }
            }
        }
    };
    let peer = if routing_table {
        "crossbeam routing table"
    } else {
        "crossbeam filter each send"
    };
    finish(n, peer, run(vec![produce], consume, false))
}

// ---------------------------------------------------------------------------
// ZeroMQ inproc XPUB/SUB

#[cfg(feature = "zmq")]
mod zeromq {
    use std::os::raw::{c_int, c_void};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    extern "C" {
        // libzmq's own entry point (linked by the `zmq` crate): the crate's
        // safe API has no setter for `ZMQ_XPUB_NODROP`.
        fn zmq_setsockopt(
            socket: *mut c_void,
            option: c_int,
            value: *const c_void,
            len: usize,
        ) -> c_int;
    }

    /// `ZMQ_XPUB_NODROP` (zmq.h): block at the high-water mark, do not drop.
    const ZMQ_XPUB_NODROP: c_int = 69;

    pub(super) fn xpub_nodrop(n: u64, extra: usize) -> Duration {
        static ENDPOINT: AtomicUsize = AtomicUsize::new(0);
        let address = format!(
            "inproc://pubsub-bench-{}",
            // Relaxed: a unique name counter.
            ENDPOINT.fetch_add(1, Ordering::Relaxed)
        );
        let context = zmq::Context::new();
        let mut publisher = context.socket(zmq::XPUB).unwrap();
        publisher.set_sndhwm(CAPACITY as i32).unwrap();
        publisher.set_linger(0).unwrap();
        let on: c_int = 1;
        // SAFETY: a live socket pointer, an option libzmq documents as an
        // int, and a pointer to an int with its size.
        let rc = unsafe {
            zmq_setsockopt(
                publisher.as_mut_ptr(),
                ZMQ_XPUB_NODROP,
                (&on as *const c_int).cast(),
                std::mem::size_of::<c_int>(),
            )
        };
        assert_eq!(rc, 0, "zmq: ZMQ_XPUB_NODROP refused");
        publisher.bind(&address).unwrap();
        let subscribers: Vec<_> = (0..SUBSCRIBERS)
            .map(|j| {
                let s = context.socket(zmq::SUB).unwrap();
                s.set_rcvhwm(CAPACITY as i32).unwrap();
                s.set_linger(0).unwrap();
                s.connect(&address).unwrap();
                for f in filters(j, extra, false) {
                    s.set_subscribe(f.as_bytes()).unwrap();
                }
                s
            })
            .collect();
        // Every subscription reaches the XPUB as a message: wait for all.
        let mut buffer = [0u8; 64];
        for _ in 0..SUBSCRIBERS as usize * (extra + 1) {
            publisher.recv_into(&mut buffer, 0).unwrap();
        }
        let consume: Vec<_> = subscribers
            .into_iter()
            .enumerate()
            .map(|(j, s)| {
                let mut buffer = [0u8; 64];
                consumer(n, j as u64, move || {
                    let len = s.recv_into(&mut buffer, 0).expect("zmq: recv");
                    let payload: [u8; 8] = buffer[len - 8..len].try_into().unwrap();
                    u64::from_le_bytes(payload)
                })
            })
            .collect();
        let frames: Vec<Vec<u8>> = (0..TOPICS).map(|k| topic_name(k).into_bytes()).collect();
        let produce = move || {
            let mut frame = [0u8; 64];
            for i in 0..n {
                let topic = &frames[(i % TOPICS) as usize];
                frame[..topic.len()].copy_from_slice(topic);
                frame[topic.len()..topic.len() + 8].copy_from_slice(&i.to_le_bytes());
                publisher
                    .send(&frame[..topic.len() + 8], 0)
                    .expect("zmq: send");
            }
        };
        finish(n, "zmq", run(vec![produce], consume, false))
    }
}

// ---------------------------------------------------------------------------
// Groups

/// A named peer: publishes `n` messages with `extra` idle filters per
/// subscriber and returns the time.
type Peer = (&'static str, fn(u64, usize) -> Duration);

fn peers() -> Vec<Peer> {
    let peers: Vec<Peer> = vec![
        ("ringbus", ringbus),
        ("crossbeam_filter_each_send", |n, e| crossbeam(n, e, false)),
        ("crossbeam_routing_table", |n, e| crossbeam(n, e, true)),
    ];
    #[cfg(feature = "zmq")]
    let peers = {
        let mut peers = peers;
        peers.push(("zmq_xpub_nodrop", zeromq::xpub_nodrop));
        peers
    };
    peers
}

fn group(c: &mut Criterion, name: &str, extra: usize) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(1));
    for (peer, f) in peers() {
        group.bench_function(peer, |b| b.iter_custom(|n| f(n, extra)));
    }
    group.finish();
}

fn one_filter(c: &mut Criterion) {
    group(c, "pubsub_1to4_64topics", 0);
}

fn thousand_filters(c: &mut Criterion) {
    group(c, "pubsub_1to4_1000filters", 999);
}

criterion_group! {
    name = benches;
    config = common::config()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = one_filter, thousand_filters
}

/// ringbus and its peers side by side, with one filter per subscriber and
/// with 1,000, in rounds ([`Rounds`]), with the ratio issue 5's target is
/// about.
fn side_by_side() {
    for (name, extra) in [("64topics", 0), ("1000filters", 999)] {
        // Checking 1,000 filters a send, `crossbeam_filter_each_send` moves
        // ~0.1 M/s: minutes a round. The criterion group has it.
        let runs: Vec<_> = peers()
            .into_iter()
            .filter(|&(peer, _)| extra == 0 || peer != "crossbeam_filter_each_send")
            .map(|(peer, run)| (peer, move |n| run(n, extra)))
            .collect();
        let rounds = Rounds::run(&format!("pub/sub 1 → 4, {name}"), 2_000_000, &runs);
        rounds.ratio("ringbus", "zmq_xpub_nodrop", 20.0);
    }
}

fn main() {
    benches();
    if common::wanted("side_by_side") {
        side_by_side();
    }
    Criterion::default().configure_from_args().final_summary();
}
