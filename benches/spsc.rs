//! SPSC benchmarks: ringbus's `spsc` ring against its peers, in one run.
//!
//! Two groups, each with every peer side by side (a number means little on a
//! shared machine without its peer beside it):
//!
//! - `spsc_throughput`: one producer pinned to core 0 sends `u64`s `0..n`
//!   through a ring of 1024 slots to one consumer pinned to core 1, which
//!   checks that every value arrives once and in order. One criterion
//!   iteration is one message; throughput is in messages per second.
//! - `spsc_pingpong`: a pinger on core 0 sends a value through one queue, an
//!   echo thread on core 1 sends it back through another; one iteration is
//!   one round trip, checked.
//!
//! Threads are spawned per criterion batch (`iter_custom`) and the clock runs
//! from the producer's release to the consumer's last message, so spawning
//! and joining are not counted.
//!
//! The two floors are not queues. `hand_lamport_ring` is the smallest correct
//! SPSC ring (Lamport's, with cached indices): what a general-purpose ring
//! can hope to match. `floor_two_atomics` is that ring with its slots taken
//! out, only the two index counters crossing between the cores: no ring
//! that moves data can beat it. In the ping-pong group the floor is two
//! atomics bounced between the cores, one cache-line transfer each way.
//!
//! Run with `cargo bench --bench spsc`; see `docs/benchmarks.md`.

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_utils::CachePadded;
use ringbus::spsc::{self, ChunkError};
use ringbus::{TryRecvError, TrySendError, Wait};

mod common;
use common::{pingpong, run, spin_for, Seen, Spinner};

/// Slots in every ring of this file.
const CAPACITY: usize = 1024;

/// A named peer: runs `n` messages (or round trips) and returns the time.
type Peer = (&'static str, fn(u64) -> Duration);

/// The most a chunked transfer moves at once.
const CHUNK: usize = 256;

// ---------------------------------------------------------------------------
// Throughput peers: each sends `0..n` from core 0 to core 1 and returns the
// time it took, after checking what arrived.

/// ringbus, `Wait::Spin`, `try_send` / `try_recv` in spin loops.
fn ringbus_spin(n: u64) -> Duration {
    let (tx, rx) = spsc::Builder::new(CAPACITY).wait(Wait::Spin).build::<u64>();
    let produce = move || {
        for i in 0..n {
            let mut value = i;
            let mut spin = Spinner::new();
            loop {
                match tx.try_send(value) {
                    Ok(()) => break,
                    Err(TrySendError::Full(v)) => value = v,
                    Err(TrySendError::Disconnected(_)) => panic!("receiver gone"),
                }
                spin.wait();
            }
        }
    };
    let consume = move || {
        let mut seen = Seen::default();
        for i in 0..n {
            let mut spin = Spinner::new();
            let value = loop {
                match rx.try_recv() {
                    Ok(v) => break v,
                    Err(TryRecvError::Empty) => spin.wait(),
                    Err(TryRecvError::Disconnected) => panic!("ringbus_spin: message lost"),
                }
            };
            seen.take(value, i);
        }
        seen
    };
    finish(n, "ringbus_spin", run(vec![produce], vec![consume], true))
}

/// ringbus, blocking `send` / `recv` with the given wait strategy.
fn ringbus_blocking(n: u64, wait: Wait) -> Duration {
    let (tx, rx) = spsc::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let produce = move || {
        for i in 0..n {
            tx.send(i).expect("receiver gone");
        }
    };
    let consume = move || {
        let mut seen = Seen::default();
        for i in 0..n {
            seen.take(rx.recv().expect("ringbus: message lost"), i);
        }
        seen
    };
    finish(
        n,
        "ringbus_blocking",
        run(vec![produce], vec![consume], true),
    )
}

/// ringbus, zero-copy chunks of up to [`CHUNK`] slots, spinning.
fn ringbus_chunks(n: u64) -> Duration {
    let (mut tx, mut rx) = spsc::Builder::new(CAPACITY).wait(Wait::Spin).build::<u64>();
    let produce = move || {
        let mut next = 0u64;
        let mut spin = Spinner::new();
        while next < n {
            let want = CHUNK.min((n - next) as usize);
            let chunk = match tx.write_chunk_uninit(want) {
                Ok(chunk) => chunk,
                Err(ChunkError::TooFewSlots(0)) => {
                    spin.wait();
                    continue;
                }
                Err(ChunkError::TooFewSlots(free)) => tx.write_chunk_uninit(free).unwrap(),
            };
            spin = Spinner::new();
            let mut chunk = chunk;
            let (first, second) = chunk.as_mut_slices();
            for slot in first.iter_mut().chain(second) {
                *slot = MaybeUninit::new(next);
                next += 1;
            }
            // SAFETY: every slot of the chunk was written just above.
            unsafe { chunk.commit_all() };
        }
    };
    let consume = move || {
        let mut seen = Seen::default();
        let mut spin = Spinner::new();
        while seen.count < n {
            let want = CHUNK.min((n - seen.count) as usize);
            let chunk = match rx.read_chunk(want) {
                Ok(chunk) => chunk,
                Err(ChunkError::TooFewSlots(0)) => {
                    if spin.is_long() {
                        assert!(!rx.is_disconnected() || !rx.is_empty(), "chunks: lost");
                    }
                    spin.wait();
                    continue;
                }
                Err(ChunkError::TooFewSlots(available)) => rx.read_chunk(available).unwrap(),
            };
            spin = Spinner::new();
            let (first, second) = chunk.as_slices();
            for &value in first.iter().chain(second) {
                let expected = seen.count;
                seen.take(value, expected);
            }
            chunk.commit_all();
        }
        seen
    };
    finish(n, "ringbus_chunks", run(vec![produce], vec![consume], true))
}

/// rtrb, spinning `push` / `pop`.
fn rtrb_spin(n: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    let produce = move || {
        for i in 0..n {
            let mut value = i;
            let mut spin = Spinner::new();
            while let Err(rtrb::PushError::Full(v)) = tx.push(value) {
                value = v;
                spin.wait();
            }
        }
    };
    let consume = move || {
        let mut seen = Seen::default();
        for i in 0..n {
            let mut spin = Spinner::new();
            let value = loop {
                match rx.pop() {
                    Ok(v) => break v,
                    Err(_) => {
                        // Checked only after a long wait, so that the hot
                        // path is the same as the other spinning peers'.
                        if spin.is_long() {
                            assert!(!rx.is_abandoned() || !rx.is_empty(), "rtrb: message lost");
                        }
                        spin.wait();
                    }
                }
            };
            seen.take(value, i);
        }
        seen
    };
    finish(n, "rtrb", run(vec![produce], vec![consume], true))
}

/// crossbeam-channel `bounded(1024)`, blocking `send` / `recv`.
fn crossbeam_channel(n: u64) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let produce = move || (0..n).for_each(|i| tx.send(i).expect("receiver gone"));
    let consume = move || {
        let mut seen = Seen::default();
        for i in 0..n {
            seen.take(rx.recv().expect("crossbeam: message lost"), i);
        }
        seen
    };
    finish(
        n,
        "crossbeam-channel",
        run(vec![produce], vec![consume], true),
    )
}

/// `std::sync::mpsc::sync_channel(1024)`, blocking `send` / `recv`.
fn std_sync_channel(n: u64) -> Duration {
    let (tx, rx) = mpsc::sync_channel::<u64>(CAPACITY);
    let produce = move || (0..n).for_each(|i| tx.send(i).expect("receiver gone"));
    let consume = move || {
        let mut seen = Seen::default();
        for i in 0..n {
            seen.take(rx.recv().expect("std: message lost"), i);
        }
        seen
    };
    finish(
        n,
        "std sync_channel",
        run(vec![produce], vec![consume], true),
    )
}

/// flume `bounded(1024)`, blocking `send` / `recv`.
fn flume_bounded(n: u64) -> Duration {
    let (tx, rx) = flume::bounded::<u64>(CAPACITY);
    let produce = move || (0..n).for_each(|i| tx.send(i).expect("receiver gone"));
    let consume = move || {
        let mut seen = Seen::default();
        for i in 0..n {
            seen.take(rx.recv().expect("flume: message lost"), i);
        }
        seen
    };
    finish(n, "flume", run(vec![produce], vec![consume], true))
}

/// The smallest correct SPSC ring: Lamport's, each side caching the other's
/// index. No disconnection, no wait strategy, `u64` only.
struct HandRing {
    /// Next index to read; stored by the consumer only.
    head: CachePadded<AtomicUsize>,
    /// Next index to write; stored by the producer only.
    tail: CachePadded<AtomicUsize>,
    /// The slots; `head..tail` hold values.
    slots: Box<[UnsafeCell<u64>]>,
}

// SAFETY: a slot is written only by the producer while outside `head..tail`
// and read only by the consumer while inside; the Release/Acquire pairs on
// `tail` and `head` hand each slot over.
unsafe impl Sync for HandRing {}

impl HandRing {
    fn new() -> Self {
        HandRing {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: (0..CAPACITY).map(|_| UnsafeCell::new(0)).collect(),
        }
    }

    #[inline]
    fn slot(&self, index: usize) -> *mut u64 {
        self.slots[index & (CAPACITY - 1)].get()
    }
}

/// The producer's side of a [`HandRing`].
struct HandTx<'a> {
    ring: &'a HandRing,
    tail: usize,
    head: usize,
}

impl HandTx<'_> {
    #[inline]
    fn try_push(&mut self, value: u64) -> bool {
        if self.tail.wrapping_sub(self.head) == CAPACITY {
            // Acquire: pairs with the consumer's Release store of `head`.
            self.head = self.ring.head.load(Ordering::Acquire);
            if self.tail.wrapping_sub(self.head) == CAPACITY {
                return false;
            }
        }
        // SAFETY: the slot is outside `head..tail`: the consumer is done with
        // it and will not read it before the store of `tail` below.
        unsafe { *self.ring.slot(self.tail) = value };
        self.tail = self.tail.wrapping_add(1);
        // Release: pairs with the consumer's Acquire load of `tail`.
        self.ring.tail.store(self.tail, Ordering::Release);
        true
    }
}

/// The consumer's side of a [`HandRing`].
struct HandRx<'a> {
    ring: &'a HandRing,
    head: usize,
    tail: usize,
}

impl HandRx<'_> {
    #[inline]
    fn try_pop(&mut self) -> Option<u64> {
        if self.head == self.tail {
            // Acquire: pairs with the producer's Release store of `tail`.
            self.tail = self.ring.tail.load(Ordering::Acquire);
            if self.head == self.tail {
                return None;
            }
        }
        // SAFETY: the slot is inside `head..tail`: the producer wrote it
        // before the `tail` store we acquired and will not touch it until
        // `head` moves past it.
        let value = unsafe { *self.ring.slot(self.head) };
        self.head = self.head.wrapping_add(1);
        // Release: pairs with the producer's Acquire load of `head`.
        self.ring.head.store(self.head, Ordering::Release);
        Some(value)
    }
}

/// The hand-written Lamport ring, spinning.
fn hand_ring(n: u64) -> Duration {
    let ring = HandRing::new();
    let ring = &ring;
    let produce = move || {
        let mut tx = HandTx {
            ring,
            tail: 0,
            head: 0,
        };
        for i in 0..n {
            let mut spin = Spinner::new();
            while !tx.try_push(i) {
                spin.wait();
            }
        }
    };
    let consume = move || {
        let mut rx = HandRx {
            ring,
            head: 0,
            tail: 0,
        };
        let mut seen = Seen::default();
        for i in 0..n {
            let mut spin = Spinner::new();
            let value = loop {
                match rx.try_pop() {
                    Some(v) => break v,
                    None => spin.wait(),
                }
            };
            seen.take(value, i);
        }
        seen
    };
    finish(n, "hand ring", run(vec![produce], vec![consume], true))
}

/// The floor: the hand ring without its slots. The producer publishes the
/// count of messages "sent" (`published`), at most [`CAPACITY`] ahead of the
/// consumer's count (`consumed`); the consumer takes each number as it sees
/// it and publishes its own count, one store per message on each side. Only
/// the two counters cross between the cores: this is what the index protocol
/// of any ring costs, with no payload.
fn floor_two_atomics(n: u64) -> Duration {
    let published = CachePadded::new(AtomicU64::new(0));
    let consumed = CachePadded::new(AtomicU64::new(0));
    let (published, consumed) = (&published, &consumed);
    let produce = move || {
        let mut seen_consumed = 0u64;
        for i in 1..=n {
            let mut spin = Spinner::new();
            while i - seen_consumed > CAPACITY as u64 {
                // Acquire: pairs with the consumer's Release store.
                seen_consumed = consumed.load(Ordering::Acquire);
                spin.wait();
            }
            // Release: pairs with the consumer's Acquire load.
            published.store(i, Ordering::Release);
        }
    };
    let consume = move || {
        let mut seen = Seen::default();
        let mut seen_published = 0u64;
        for i in 1..=n {
            let mut spin = Spinner::new();
            while seen_published < i {
                // Acquire: pairs with the producer's Release store.
                seen_published = published.load(Ordering::Acquire);
                if seen_published < i {
                    spin.wait();
                }
            }
            // "Receive" message `i - 1`: the number just seen published.
            seen.take(i - 1, i - 1);
            // Release: pairs with the producer's Acquire load.
            consumed.store(i, Ordering::Release);
        }
        seen
    };
    finish(n, "floor", run(vec![produce], vec![consume], true))
}

/// Checks what the consumer saw and returns the time.
#[track_caller]
fn finish(n: u64, peer: &str, (time, seen): (Duration, Seen)) -> Duration {
    seen.check(n, true, peer);
    time
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("spsc_throughput");
    group.throughput(Throughput::Elements(1));
    let peers: [Peer; 11] = [
        ("ringbus_spin", ringbus_spin),
        ("ringbus_chunks_spin", ringbus_chunks),
        ("ringbus_backoff_send_recv", |n| {
            ringbus_blocking(n, Wait::Backoff)
        }),
        ("ringbus_park_send_recv", |n| {
            ringbus_blocking(n, Wait::Park)
        }),
        ("ringbus_yield_send_recv", |n| {
            ringbus_blocking(n, Wait::Yield)
        }),
        ("rtrb_spin", rtrb_spin),
        ("crossbeam_channel", crossbeam_channel),
        ("std_sync_channel", std_sync_channel),
        ("flume", flume_bounded),
        ("hand_lamport_ring", hand_ring),
        ("floor_two_atomics", floor_two_atomics),
    ];
    for (name, peer) in peers {
        group.bench_function(name, |b| b.iter_custom(peer));
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// Ping-pong peers: the pinger (core 0) sends `i`, the echo thread (core 1)
// sends it back; `n` round trips, timed on the pinger.

fn pp_ringbus(n: u64, wait: Wait) -> Duration {
    let (ping_tx, ping_rx) = spsc::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let (pong_tx, pong_rx) = spsc::Builder::new(CAPACITY).wait(wait).build::<u64>();
    if wait == Wait::Spin {
        pingpong(
            n,
            "ringbus spin",
            move |i| {
                ping_tx.try_send(i).expect("a ping-pong ring is never full");
                spin_for(|| pong_rx.try_recv().ok())
            },
            move || {
                let v = spin_for(|| ping_rx.try_recv().ok());
                pong_tx.try_send(v).expect("a ping-pong ring is never full");
            },
        )
    } else {
        pingpong(
            n,
            "ringbus blocking",
            move |i| {
                ping_tx.send(i).unwrap();
                pong_rx.recv().unwrap()
            },
            move || pong_tx.send(ping_rx.recv().unwrap()).unwrap(),
        )
    }
}

fn pp_rtrb(n: u64) -> Duration {
    let (mut ping_tx, mut ping_rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    let (mut pong_tx, mut pong_rx) = rtrb::RingBuffer::<u64>::new(CAPACITY);
    pingpong(
        n,
        "rtrb",
        move |i| {
            ping_tx.push(i).unwrap();
            spin_for(|| pong_rx.pop().ok())
        },
        move || {
            let v = spin_for(|| ping_rx.pop().ok());
            pong_tx.push(v).unwrap();
        },
    )
}

fn pp_crossbeam(n: u64) -> Duration {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    pingpong(
        n,
        "crossbeam-channel",
        move |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        },
        move || pong_tx.send(ping_rx.recv().unwrap()).unwrap(),
    )
}

fn pp_std(n: u64) -> Duration {
    let (ping_tx, ping_rx) = mpsc::sync_channel::<u64>(CAPACITY);
    let (pong_tx, pong_rx) = mpsc::sync_channel::<u64>(CAPACITY);
    pingpong(
        n,
        "std sync_channel",
        move |i| {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        },
        move || pong_tx.send(ping_rx.recv().unwrap()).unwrap(),
    )
}

/// The floor: two atomics bounced between the cores. The pinger stores
/// `i + 1` in `ping` and spins until `pong` says `i + 1`; the echo thread
/// spins until `ping` moves and copies it to `pong`. One cache-line transfer
/// each way per round trip, nothing else.
fn pp_floor(n: u64) -> Duration {
    let ping = CachePadded::new(AtomicU64::new(0));
    let pong = CachePadded::new(AtomicU64::new(0));
    let (ping, pong) = (&ping, &pong);
    let mut echoed = 0u64;
    pingpong(
        n,
        "floor",
        move |i| {
            // Release/Acquire: the value is the message; no other data.
            ping.store(i + 1, Ordering::Release);
            // Acquire: pairs with the echo's Release store of `pong`.
            spin_for(|| match pong.load(Ordering::Acquire) {
                v if v > i => Some(v - 1),
                _ => None,
            })
        },
        move || {
            // Acquire: pairs with the pinger's Release store of `ping`.
            let v = spin_for(|| match ping.load(Ordering::Acquire) {
                v if v > echoed => Some(v),
                _ => None,
            });
            echoed = v;
            // Release: pairs with the pinger's Acquire load of `pong`.
            pong.store(v, Ordering::Release);
        },
    )
}

fn latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("spsc_pingpong");
    let peers: [Peer; 6] = [
        ("ringbus_spin", |n| pp_ringbus(n, Wait::Spin)),
        ("ringbus_backoff", |n| pp_ringbus(n, Wait::Backoff)),
        ("rtrb_spin", pp_rtrb),
        ("crossbeam_channel", pp_crossbeam),
        ("std_sync_channel", pp_std),
        ("floor_two_atomics", pp_floor),
    ];
    for (name, peer) in peers {
        group.bench_function(name, |b| b.iter_custom(peer));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = throughput, latency
}
criterion_main!(benches);
