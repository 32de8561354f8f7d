//! MPMC benchmarks: ringbus's `mpmc` ring against its peers, in one run.
//!
//! Producers send the `u64`s `0..n` (split in equal ranges) through a ring of
//! 1024 slots; each consumer takes its equal share and the tallies are
//! checked at the end of every batch: count and sum, and order too when there
//! is one producer and one consumer. One criterion iteration is one message.
//!
//! - `mpmc_1to1`: one producer pinned to core 0, one consumer on core 1.
//! - `mpmc_2to2`: two producers and two consumers, four threads on the two
//!   cores of the reference machine, unpinned: the scheduler places them.
//!   Spinning peers spin for a while then yield (see `common::Spinner`), so
//!   a thread whose partner has lost its core gives the core back.
//!
//! Run with `cargo bench --bench mpmc`; see `docs/benchmarks.md`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use ringbus::{mpmc, TryRecvError, TrySendError, Wait};

mod common;
use common::{run, Seen, Spinner};

/// Slots in every ring of this file.
const CAPACITY: usize = 1024;

/// A named peer: moves `n` messages from `producers` to `consumers` threads
/// and returns the time.
type Peer = (&'static str, fn(u64, usize, usize) -> Duration);

/// The values producer `k` of `parts` sends: its share of `0..n`.
fn share(n: u64, parts: usize, k: usize) -> std::ops::Range<u64> {
    let (parts, k) = (parts as u64, k as u64);
    n * k / parts..n * (k + 1) / parts
}

/// How many messages consumer `k` of `parts` takes.
fn quota(n: u64, parts: usize, k: usize) -> u64 {
    let range = share(n, parts, k);
    range.end - range.start
}

/// Checks the consumers' tallies and returns the time.
#[track_caller]
fn finish(n: u64, ordered: bool, peer: &str, (time, seen): (Duration, Seen)) -> Duration {
    seen.check(n, ordered, peer);
    time
}

/// ringbus `mpmc`, blocking `send` / `recv` with the default wait
/// (`Backoff`).
fn ringbus_blocking(n: u64, producers: usize, consumers: usize) -> Duration {
    let (tx, rx) = mpmc::channel::<u64>(CAPACITY);
    let produce: Vec<_> = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            move || share(n, producers, k).for_each(|i| tx.send(i).expect("receivers gone"))
        })
        .collect();
    let consume: Vec<_> = (0..consumers)
        .map(|k| {
            let rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                for _ in 0..quota(n, consumers, k) {
                    let value = rx.recv().expect("ringbus: message lost");
                    seen.take(value, seen.count);
                }
                seen
            }
        })
        .collect();
    drop((tx, rx));
    let pin = producers + consumers <= 2;
    finish(n, pin, "ringbus blocking", run(produce, consume, pin))
}

/// ringbus `mpmc`, `Wait::Spin`, `try_send` / `try_recv` in spin loops.
fn ringbus_spin(n: u64, producers: usize, consumers: usize) -> Duration {
    let (tx, rx) = mpmc::Builder::new(CAPACITY).wait(Wait::Spin).build::<u64>();
    let produce: Vec<_> = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            move || {
                for i in share(n, producers, k) {
                    let mut value = i;
                    let mut spin = Spinner::new();
                    loop {
                        match tx.try_send(value) {
                            Ok(()) => break,
                            Err(TrySendError::Full(v)) => value = v,
                            Err(TrySendError::Disconnected(_)) => panic!("receivers gone"),
                        }
                        spin.wait();
                    }
                }
            }
        })
        .collect();
    let consume: Vec<_> = (0..consumers)
        .map(|k| {
            let rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                for _ in 0..quota(n, consumers, k) {
                    let mut spin = Spinner::new();
                    let value = loop {
                        match rx.try_recv() {
                            Ok(v) => break v,
                            Err(TryRecvError::Empty) => spin.wait(),
                            Err(TryRecvError::Disconnected) => panic!("ringbus: message lost"),
                        }
                    };
                    seen.take(value, seen.count);
                }
                seen
            }
        })
        .collect();
    drop((tx, rx));
    let pin = producers + consumers <= 2;
    finish(n, pin, "ringbus spin", run(produce, consume, pin))
}

/// crossbeam-channel `bounded(1024)`, blocking `send` / `recv`.
fn crossbeam_channel(n: u64, producers: usize, consumers: usize) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let produce: Vec<_> = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            move || share(n, producers, k).for_each(|i| tx.send(i).expect("receivers gone"))
        })
        .collect();
    let consume: Vec<_> = (0..consumers)
        .map(|k| {
            let rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                for _ in 0..quota(n, consumers, k) {
                    let value = rx.recv().expect("crossbeam: message lost");
                    seen.take(value, seen.count);
                }
                seen
            }
        })
        .collect();
    drop((tx, rx));
    let pin = producers + consumers <= 2;
    finish(n, pin, "crossbeam-channel", run(produce, consume, pin))
}

/// flume `bounded(1024)`, blocking `send` / `recv`.
fn flume_bounded(n: u64, producers: usize, consumers: usize) -> Duration {
    let (tx, rx) = flume::bounded::<u64>(CAPACITY);
    let produce: Vec<_> = (0..producers)
        .map(|k| {
            let tx = tx.clone();
            move || share(n, producers, k).for_each(|i| tx.send(i).expect("receivers gone"))
        })
        .collect();
    let consume: Vec<_> = (0..consumers)
        .map(|k| {
            let rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                for _ in 0..quota(n, consumers, k) {
                    let value = rx.recv().expect("flume: message lost");
                    seen.take(value, seen.count);
                }
                seen
            }
        })
        .collect();
    drop((tx, rx));
    let pin = producers + consumers <= 2;
    finish(n, pin, "flume", run(produce, consume, pin))
}

/// crossbeam-queue `ArrayQueue` (Vyukov's queue, no waiting built in),
/// spinning `push` / `pop`. It has no disconnection, so producers count
/// themselves out and a consumer that finds the queue empty after every
/// producer finished reports the loss instead of spinning for ever.
fn array_queue(n: u64, producers: usize, consumers: usize) -> Duration {
    let queue = ArrayQueue::<u64>::new(CAPACITY);
    let done = AtomicUsize::new(0);
    let (queue, done) = (&queue, &done);
    let produce: Vec<_> = (0..producers)
        .map(|k| {
            move || {
                for i in share(n, producers, k) {
                    let mut value = i;
                    let mut spin = Spinner::new();
                    while let Err(v) = queue.push(value) {
                        value = v;
                        spin.wait();
                    }
                }
                // Release: pairs with the consumers' Acquire load below.
                done.fetch_add(1, Ordering::Release);
            }
        })
        .collect();
    let consume: Vec<_> = (0..consumers)
        .map(|k| {
            move || {
                let mut seen = Seen::default();
                for _ in 0..quota(n, consumers, k) {
                    let mut spin = Spinner::new();
                    let value = loop {
                        if let Some(v) = queue.pop() {
                            break v;
                        }
                        if spin.is_long() {
                            // Acquire: pairs with the producers' Release increments of `done`.
                            let finished = done.load(Ordering::Acquire) == producers;
                            assert!(!finished || !queue.is_empty(), "ArrayQueue: message lost");
                        }
                        spin.wait();
                    };
                    seen.take(value, seen.count);
                }
                seen
            }
        })
        .collect();
    let pin = producers + consumers <= 2;
    finish(n, pin, "ArrayQueue", run(produce, consume, pin))
}

const PEERS: [Peer; 5] = [
    ("ringbus_backoff_send_recv", ringbus_blocking),
    ("ringbus_spin", ringbus_spin),
    ("crossbeam_channel", crossbeam_channel),
    ("array_queue_spin", array_queue),
    ("flume", flume_bounded),
];

fn one_to_one(c: &mut Criterion) {
    let mut group = c.benchmark_group("mpmc_1to1");
    group.throughput(Throughput::Elements(1));
    for (name, peer) in PEERS {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, 1, 1)));
    }
    group.finish();
}

fn two_to_two(c: &mut Criterion) {
    let mut group = c.benchmark_group("mpmc_2to2");
    group.throughput(Throughput::Elements(1));
    for (name, peer) in PEERS {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, 2, 2)));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = one_to_one, two_to_two
}
criterion_main!(benches);
