//! Broadcast benchmarks: ringbus's `broadcast` ring (and its `lossy` form)
//! against its peers, in one run.
//!
//! Every ring holds 1024 `u64`s. The publisher sends `0..n`; every
//! subscriber checks that it saw each value once and in order. One criterion
//! iteration is one message, so the reported throughput is messages
//! delivered *per subscriber* per second.
//!
//! - `broadcast_1to1_spin`: publisher pinned to core 0, one subscriber pinned
//!   to core 1, every peer busy-spinning in its own way: ringbus's blocking
//!   `send`/`recv` with `Wait::Spin`, disruptor's `BusySpinWithSpinLoopHint`,
//!   and for peers without a spinning wait of their own (and the
//!   `ringbus_try_spin` row) `try_` calls in the loop `common::Spinner`
//!   shares. A spinning 1 → 1 ring settles in one of two steady states,
//!   hundreds of messages apart or right behind each other, with a 2–8×
//!   throughput gap between them; see `ringbus::wait::pace` (private) and
//!   docs/benchmarks.md.
//! - `broadcast_1to2`: one publisher and two subscribers, three threads on
//!   the two cores of the reference machine, unpinned, each peer with its
//!   default blocking wait. Peers that only spin (disruptor) are here too:
//!   this is the case where they collapse.
//! - `broadcast_pingpong`: publish→receive latency. A pinger on core 0
//!   publishes `i`, an echo subscriber on core 1 publishes it back on a
//!   second ring; one iteration is one round trip. The spsc ring pair is the
//!   reference the broadcast ring is held to.
//!
//! Peers: [disruptor] 4 (single producer, one handler per subscriber, on
//! threads it manages), `tokio::sync::broadcast`, the [bus] crate, and one
//! crossbeam-channel per subscriber (the naive fan-out: the publisher sends
//! each message once per subscriber).
//!
//! `tokio::sync::broadcast` never waits for a slow receiver (it drops the
//! oldest message), so its publisher is throttled here: it spins while the
//! slowest receiver has 1024 messages unread. `ringbus::broadcast::lossy`
//! never waits either, but it is measured unthrottled, as it would be used:
//! its subscribers count what they received plus what they were told they
//! missed (`Lagged(n)`), which must add up to `n`; the fraction received is
//! printed.
//!
//! After the criterion groups, the bench prints publish→receive latency
//! percentiles (half a round trip) for the ping-pong peers.
//!
//! Run with `cargo bench --bench broadcast`; see `docs/benchmarks.md`.
//!
//! [disruptor]: https://docs.rs/disruptor
//! [bus]: https://docs.rs/bus

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use disruptor::{BusySpinWithSpinLoopHint, Producer};
use ringbus::broadcast::{self, lossy};
use ringbus::{TryRecvError, TrySendError, Wait};

mod common;
use common::{pp_spsc, quantile, run, spin_for, timed, Seen, Spinner};

/// Slots in every ring of this file.
const CAPACITY: usize = 1024;

/// A named peer: delivers `n` messages to `subscribers` subscribers (or runs
/// `n` round trips) and returns the time.
type Peer = (&'static str, fn(u64, usize) -> Duration);

/// Checks the subscribers' tallies (`subscribers × n` messages, each
/// subscriber's in order) and returns the time.
#[track_caller]
fn finish(n: u64, subscribers: usize, peer: &str, (time, seen): (Duration, Seen)) -> Duration {
    assert_eq!(seen.count, n * subscribers as u64, "{peer}: wrong count");
    assert_eq!(
        seen.sum,
        common::expected_sum(n).wrapping_mul(subscribers as u64),
        "{peer}: wrong sum"
    );
    assert_eq!(seen.disorder, 0, "{peer}: out of order");
    time
}

/// Whether the threads of a run with `subscribers` subscribers are pinned:
/// only when each has a core of its own.
fn pinned(subscribers: usize) -> bool {
    subscribers == 1
}

// ---------------------------------------------------------------------------
// ringbus

/// ringbus `broadcast` with `wait`: blocking `send` / `recv`, so ringbus
/// waits its own way (with `Wait::Spin` it busy-spins, as disruptor's
/// handlers do with their wait strategy).
fn ringbus_blocking(n: u64, subscribers: usize, wait: Wait) -> Duration {
    let (tx, rx) = broadcast::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                for i in 0..n {
                    seen.take(*rx.recv().expect("ringbus: message lost"), i);
                }
                seen
            }
        })
        .collect();
    drop(rx);
    let produce = move || (0..n).for_each(|i| tx.send(i).expect("subscribers gone"));
    let pin = pinned(subscribers);
    finish(
        n,
        subscribers,
        "ringbus blocking",
        run(vec![produce], consume, pin),
    )
}

/// ringbus `broadcast`, `Wait::Spin`, subscribers taking every available
/// message at once (`recv_batch`: one cursor store per batch, as the
/// Disruptor's handlers do).
fn ringbus_batch_spin(n: u64, subscribers: usize) -> Duration {
    let (tx, rx) = broadcast::Builder::new(CAPACITY)
        .wait(Wait::Spin)
        .build::<u64>();
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                while seen.count < n {
                    let batch = rx.recv_batch().expect("ringbus: message lost");
                    for &value in batch.iter() {
                        seen.take(value, seen.count);
                    }
                }
                seen
            }
        })
        .collect();
    drop(rx);
    let produce = move || (0..n).for_each(|i| tx.send(i).expect("subscribers gone"));
    let pin = pinned(subscribers);
    finish(
        n,
        subscribers,
        "ringbus batch",
        run(vec![produce], consume, pin),
    )
}

/// ringbus `broadcast`, `Wait::Spin`, but `try_send` / `try_recv` in the
/// spin loop every spinning peer of these benches shares (`common::Spinner`)
/// instead of ringbus's own wait: no pacing (see `wait::pace`), so the run
/// settles wherever the two loops' code shapes put it.
fn ringbus_try_spin(n: u64, subscribers: usize) -> Duration {
    let (tx, rx) = broadcast::Builder::new(CAPACITY)
        .wait(Wait::Spin)
        .build::<u64>();
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                for i in 0..n {
                    let value = spin_for(|| match rx.try_recv() {
                        Ok(sample) => Some(*sample),
                        Err(TryRecvError::Empty) => None,
                        Err(TryRecvError::Disconnected) => panic!("ringbus: message lost"),
                    });
                    seen.take(value, i);
                }
                seen
            }
        })
        .collect();
    drop(rx);
    let produce = move || {
        for i in 0..n {
            let mut value = i;
            let mut spin = Spinner::new();
            loop {
                match tx.try_send(value) {
                    Ok(()) => break,
                    Err(TrySendError::Full(v)) => value = v,
                    Err(TrySendError::Disconnected(_)) => panic!("subscribers gone"),
                }
                spin.wait();
            }
        }
    };
    let pin = pinned(subscribers);
    finish(
        n,
        subscribers,
        "ringbus try spin",
        run(vec![produce], consume, pin),
    )
}

/// ringbus `broadcast::lossy` with `wait`: the publisher never waits, so a
/// subscriber may be lapped; it counts what it missed. Checks that received
/// plus missed is `n` for every subscriber, that what it received came in
/// order, and records the fraction received.
fn ringbus_lossy(n: u64, subscribers: usize, wait: Wait) -> Duration {
    let (tx, rx) = lossy::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let received = &*Box::leak(Box::new(AtomicU64::new(0)));
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = rx.clone();
            move || {
                let (mut got, mut missed, mut last) = (0u64, 0u64, None::<u64>);
                loop {
                    let value = match rx.recv() {
                        Ok(v) => v,
                        Err(lossy::RecvError::Lagged(k)) => {
                            missed += k;
                            continue;
                        }
                        Err(lossy::RecvError::Disconnected) => break,
                    };
                    assert!(last.map_or(true, |l| value > l), "lossy: out of order");
                    last = Some(value);
                    got += 1;
                }
                assert_eq!(got + missed, n, "lossy: received + missed != sent");
                // Relaxed: a tally, read after the join.
                received.fetch_add(got, Ordering::Relaxed);
                // The tally the common checker expects: every value once.
                Seen {
                    count: n,
                    sum: common::expected_sum(n),
                    disorder: 0,
                }
            }
        })
        .collect();
    drop(rx);
    let produce = move || (0..n).for_each(|i| tx.send(i).expect("lossy send"));
    let pin = pinned(subscribers);
    let time = finish(
        n,
        subscribers,
        "ringbus lossy",
        run(vec![produce], consume, pin),
    );
    // Relaxed: tallies, read after the joins.
    LOSSY_RECEIVED.fetch_add(received.load(Ordering::Relaxed), Ordering::Relaxed);
    // Relaxed: a tally.
    LOSSY_SENT.fetch_add(n * subscribers as u64, Ordering::Relaxed);
    time
}

/// Messages lossy subscribers received and could have received, over every
/// run of the current lossy peer (printed and reset after its benchmark).
static LOSSY_RECEIVED: AtomicU64 = AtomicU64::new(0);
static LOSSY_SENT: AtomicU64 = AtomicU64::new(0);

fn report_lossy(peer: &str) {
    // Relaxed: tallies, on the bench thread.
    let got = LOSSY_RECEIVED.swap(0, Ordering::Relaxed);
    // Relaxed: a tally.
    let sent = LOSSY_SENT.swap(0, Ordering::Relaxed);
    if sent > 0 {
        eprintln!(
            "{peer}: subscribers received {:.1}% of the messages (the rest reported as Lagged)",
            100.0 * got as f64 / sent as f64
        );
    }
}

// ---------------------------------------------------------------------------
// Peers

/// disruptor 4, single producer, one handler per subscriber on threads the
/// disruptor spawns, `BusySpinWithSpinLoopHint`. Timed from the first
/// publish to the drop of the producer, which returns when every handler has
/// processed every event and its thread has stopped.
fn disruptor(n: u64, subscribers: usize) -> Duration {
    struct Event {
        value: u64,
    }
    let tallies: Arc<Mutex<Vec<Seen>>> = Arc::new(Mutex::new(Vec::new()));
    let handler = |tallies: Arc<Mutex<Vec<Seen>>>| {
        let mut seen = Seen::default();
        move |e: &Event, sequence: i64, _end_of_batch: bool| {
            seen.take(e.value, sequence as u64);
            if seen.count == n {
                tallies.lock().unwrap().push(seen);
            }
        }
    };
    let pin = pinned(subscribers);
    let builder =
        disruptor::build_single_producer(CAPACITY, || Event { value: 0 }, BusySpinWithSpinLoopHint);
    use disruptor::ProcessorSettings;
    let builder = if pin { builder.pin_at_core(1) } else { builder };
    // The builder's type changes with the number of handlers (one or many
    // consumers), so each count this file uses is spelled out.
    let builder = builder.handle_events_with(handler(tallies.clone()));
    /// Publishes `0..n` from a thread of its own (pinned to core 0 when
    /// `pin`; never the caller's thread, whose affinity the next run's
    /// `pin_at_core` check reads) and returns the time until the producer's
    /// drop has seen every handler finish.
    fn publish_all<P: Producer<Event> + Send>(mut producer: P, n: u64, pin: bool) -> Duration {
        std::thread::scope(|s| {
            s.spawn(move || {
                if pin {
                    common::pin(0);
                }
                let start = Instant::now();
                for i in 0..n {
                    producer.publish(|e| e.value = i);
                }
                drop(producer);
                start.elapsed()
            })
            .join()
            .expect("disruptor publisher panicked")
        })
    }
    let time = match subscribers {
        1 => publish_all(builder.build(), n, pin),
        2 => publish_all(
            builder.handle_events_with(handler(tallies.clone())).build(),
            n,
            pin,
        ),
        _ => unimplemented!("disruptor peer with {subscribers} subscribers"),
    };
    let seen = tallies
        .lock()
        .unwrap()
        .iter()
        .fold(Seen::default(), |a, b| a.merge(*b));
    finish(n, subscribers, "disruptor", (time, seen))
}

/// `tokio::sync::broadcast` (1024), throttled so that nothing is lost: the
/// publisher spins while the slowest receiver has a full ring unread.
/// Receivers use `blocking_recv`, or a `try_recv` spin loop when `spin`.
fn tokio_broadcast(n: u64, subscribers: usize, spin: bool) -> Duration {
    use tokio::sync::broadcast::error::TryRecvError as TokioTryRecv;
    let (tx, rx) = tokio::sync::broadcast::channel::<u64>(CAPACITY);
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = rx.resubscribe();
            move || {
                let mut seen = Seen::default();
                for i in 0..n {
                    let value = if spin {
                        spin_for(|| match rx.try_recv() {
                            Ok(v) => Some(v),
                            Err(TokioTryRecv::Empty) => None,
                            Err(e) => panic!("tokio: {e}"),
                        })
                    } else {
                        rx.blocking_recv().expect("tokio: message lost")
                    };
                    seen.take(value, i);
                }
                seen
            }
        })
        .collect();
    drop(rx);
    let produce = move || {
        for i in 0..n {
            let mut spin = Spinner::new();
            while tx.len() >= CAPACITY {
                spin.wait();
            }
            tx.send(i).expect("tokio: receivers gone");
        }
    };
    let pin = pinned(subscribers);
    finish(n, subscribers, "tokio", run(vec![produce], consume, pin))
}

/// The `bus` crate (`Bus::new(1024)`), blocking `broadcast` / `recv`.
fn bus_crate(n: u64, subscribers: usize) -> Duration {
    let mut bus = bus::Bus::<u64>::new(CAPACITY);
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = bus.add_rx();
            move || {
                let mut seen = Seen::default();
                for i in 0..n {
                    seen.take(rx.recv().expect("bus: message lost"), i);
                }
                seen
            }
        })
        .collect();
    let produce = move || (0..n).for_each(|i| bus.broadcast(i));
    let pin = pinned(subscribers);
    finish(n, subscribers, "bus", run(vec![produce], consume, pin))
}

/// One crossbeam-channel `bounded(1024)` per subscriber; the publisher sends
/// every message to each. Blocking `send` / `recv`, or `try_` spin loops when
/// `spin`.
fn crossbeam_fanout(n: u64, subscribers: usize, spin: bool) -> Duration {
    let (txs, consume): (Vec<_>, Vec<_>) = (0..subscribers)
        .map(|_| {
            let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
            let consume = move || {
                let mut seen = Seen::default();
                for i in 0..n {
                    let value = if spin {
                        spin_for(|| rx.try_recv().ok())
                    } else {
                        rx.recv().expect("crossbeam: message lost")
                    };
                    seen.take(value, i);
                }
                seen
            };
            (tx, consume)
        })
        .unzip();
    let produce = move || {
        for i in 0..n {
            for tx in &txs {
                if spin {
                    let mut spin = Spinner::new();
                    while tx.try_send(i).is_err() {
                        spin.wait();
                    }
                } else {
                    tx.send(i).expect("crossbeam: receiver gone");
                }
            }
        }
    };
    let pin = pinned(subscribers);
    finish(
        n,
        subscribers,
        "crossbeam fan-out",
        run(vec![produce], consume, pin),
    )
}

// ---------------------------------------------------------------------------
// Messages with drop glue

/// A `u64` with a `Drop` of its own: the ring must drop each once, when the
/// last subscriber passes it (see `src/broadcast/reap.rs`). The drop itself
/// costs nothing; what is measured is the reaping.
#[derive(Clone)]
struct Tagged(u64);

impl Drop for Tagged {
    fn drop(&mut self) {
        std::hint::black_box(self.0);
    }
}

/// ringbus `broadcast` of [`Tagged`], `Wait::Backoff`: `recv` (one reap per
/// message) or `recv_batch` (one reap per batch).
fn ringbus_tagged(n: u64, subscribers: usize, batch: bool) -> Duration {
    let (tx, rx) = broadcast::channel::<Tagged>(CAPACITY);
    let consume: Vec<_> = (0..subscribers)
        .map(|_| {
            let mut rx = rx.clone();
            move || {
                let mut seen = Seen::default();
                while seen.count < n {
                    if batch {
                        let batch = rx.recv_batch().expect("ringbus: message lost");
                        for value in batch.iter() {
                            seen.take(value.0, seen.count);
                        }
                    } else {
                        let value = rx.recv().expect("ringbus: message lost");
                        seen.take(value.0, seen.count);
                    }
                }
                seen
            }
        })
        .collect();
    drop(rx);
    let produce = move || (0..n).for_each(|i| assert!(tx.send(Tagged(i)).is_ok()));
    let pin = pinned(subscribers);
    finish(
        n,
        subscribers,
        "ringbus tagged",
        run(vec![produce], consume, pin),
    )
}

/// One crossbeam channel per subscriber, each sent its own clone of the
/// [`Tagged`] message (which its receiver drops).
fn crossbeam_tagged(n: u64, subscribers: usize) -> Duration {
    let (txs, consume): (Vec<_>, Vec<_>) = (0..subscribers)
        .map(|_| {
            let (tx, rx) = crossbeam_channel::bounded::<Tagged>(CAPACITY);
            let consume = move || {
                let mut seen = Seen::default();
                for i in 0..n {
                    seen.take(rx.recv().expect("crossbeam: message lost").0, i);
                }
                seen
            };
            (tx, consume)
        })
        .unzip();
    let produce = move || {
        for i in 0..n {
            for tx in &txs {
                assert!(tx.send(Tagged(i)).is_ok(), "crossbeam: receiver gone");
            }
        }
    };
    let pin = pinned(subscribers);
    finish(
        n,
        subscribers,
        "crossbeam tagged",
        run(vec![produce], consume, pin),
    )
}

/// 1 → 2 with messages that have drop glue, against the same ring with
/// `u64` in the same run.
fn one_to_two_drop_glue(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast_1to2_drop_glue");
    group.throughput(Throughput::Elements(1));
    let peers: [Peer; 4] = [
        ("ringbus_u64_backoff", |n, s| {
            ringbus_blocking(n, s, Wait::Backoff)
        }),
        ("ringbus_tagged_recv", |n, s| ringbus_tagged(n, s, false)),
        ("ringbus_tagged_recv_batch", |n, s| {
            ringbus_tagged(n, s, true)
        }),
        ("crossbeam_tagged_per_subscriber", crossbeam_tagged),
    ];
    for (name, peer) in peers {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, 2)));
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// Groups

fn one_to_one_spin(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast_1to1_spin");
    group.throughput(Throughput::Elements(1));
    let peers: [Peer; 7] = [
        ("ringbus_spin", |n, s| ringbus_blocking(n, s, Wait::Spin)),
        ("ringbus_batch_spin", ringbus_batch_spin),
        ("ringbus_try_spin", ringbus_try_spin),
        ("ringbus_lossy_spin", |n, s| ringbus_lossy(n, s, Wait::Spin)),
        ("disruptor_busy_spin", disruptor),
        ("tokio_try_recv_spin", |n, s| tokio_broadcast(n, s, true)),
        ("crossbeam_try_spin", |n, s| crossbeam_fanout(n, s, true)),
    ];
    for (name, peer) in peers {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, 1)));
        report_lossy(name);
    }
    group.finish();
}

fn one_to_two(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast_1to2");
    group.throughput(Throughput::Elements(1));
    let peers: [Peer; 6] = [
        ("ringbus_backoff", |n, s| {
            ringbus_blocking(n, s, Wait::Backoff)
        }),
        ("ringbus_lossy_backoff", |n, s| {
            ringbus_lossy(n, s, Wait::Backoff)
        }),
        ("crossbeam_per_subscriber", |n, s| {
            crossbeam_fanout(n, s, false)
        }),
        ("bus", bus_crate),
        ("tokio_blocking_recv", |n, s| tokio_broadcast(n, s, false)),
        ("disruptor_busy_spin", disruptor),
    ];
    for (name, peer) in peers {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, 2)));
        report_lossy(name);
    }
    group.finish();
}

// ---------------------------------------------------------------------------
// Ping-pong: publish→receive latency

/// Two broadcast rings with `wait`, one each way. With `Wait::Spin` and
/// `!own_wait`, `try_` calls in the shared spin loop (as the spsc reference
/// does); otherwise blocking `send` / `recv`, which wait ringbus's own way
/// (paced: see `wait::pace`).
fn pp_broadcast(n: u64, wait: Wait, own_wait: bool, record: bool) -> (Duration, Vec<u64>) {
    let (ping_tx, mut ping_rx) = broadcast::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let (pong_tx, mut pong_rx) = broadcast::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let spin = wait == Wait::Spin && !own_wait;
    let ping = move |i| {
        if spin {
            ping_tx.try_send(i).expect("a ping-pong ring is never full");
            spin_for(|| pong_rx.try_recv().ok().map(|s| *s))
        } else {
            ping_tx.send(i).unwrap();
            let value = *pong_rx.recv().unwrap();
            value
        }
    };
    let echo = move || {
        let v = if spin {
            spin_for(|| ping_rx.try_recv().ok().map(|s| *s))
        } else {
            let value = *ping_rx.recv().unwrap();
            value
        };
        if spin {
            pong_tx.try_send(v).expect("a ping-pong ring is never full");
        } else {
            pong_tx.send(v).unwrap();
        }
    };
    timed(n, "ringbus broadcast", record, ping, echo)
}

/// Two lossy rings, spinning.
fn pp_lossy(n: u64, record: bool) -> (Duration, Vec<u64>) {
    let (ping_tx, mut ping_rx) = lossy::Builder::new(CAPACITY)
        .wait(Wait::Spin)
        .build::<u64>();
    let (pong_tx, mut pong_rx) = lossy::Builder::new(CAPACITY)
        .wait(Wait::Spin)
        .build::<u64>();
    let ping = move |i| {
        ping_tx.send(i).unwrap();
        spin_for(|| pong_rx.try_recv().ok())
    };
    let echo = move || {
        let v = spin_for(|| ping_rx.try_recv().ok());
        pong_tx.send(v).unwrap();
    };
    timed(n, "ringbus lossy", record, ping, echo)
}

/// A `bus` each way, blocking.
fn pp_bus(n: u64, record: bool) -> (Duration, Vec<u64>) {
    let mut ping_tx = bus::Bus::<u64>::new(CAPACITY);
    let mut ping_rx = ping_tx.add_rx();
    let mut pong_tx = bus::Bus::<u64>::new(CAPACITY);
    let mut pong_rx = pong_tx.add_rx();
    let ping = move |i| {
        ping_tx.broadcast(i);
        pong_rx.recv().unwrap()
    };
    let echo = move || pong_tx.broadcast(ping_rx.recv().unwrap());
    timed(n, "bus", record, ping, echo)
}

/// A tokio broadcast each way, `try_recv` spin loops.
fn pp_tokio(n: u64, record: bool) -> (Duration, Vec<u64>) {
    let (ping_tx, mut ping_rx) = tokio::sync::broadcast::channel::<u64>(CAPACITY);
    let (pong_tx, mut pong_rx) = tokio::sync::broadcast::channel::<u64>(CAPACITY);
    let ping = move |i| {
        ping_tx.send(i).unwrap();
        spin_for(|| pong_rx.try_recv().ok())
    };
    let echo = move || {
        let v = spin_for(|| ping_rx.try_recv().ok());
        pong_tx.send(v).unwrap();
    };
    timed(n, "tokio", record, ping, echo)
}

/// A crossbeam channel each way, blocking.
fn pp_crossbeam(n: u64, record: bool) -> (Duration, Vec<u64>) {
    let (ping_tx, ping_rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let (pong_tx, pong_rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let ping = move |i| {
        ping_tx.send(i).unwrap();
        pong_rx.recv().unwrap()
    };
    let echo = move || pong_tx.send(ping_rx.recv().unwrap()).unwrap();
    timed(n, "crossbeam", record, ping, echo)
}

/// A ping-pong peer: `n` round trips, recorded or not.
type PingPong = (&'static str, fn(u64, bool) -> (Duration, Vec<u64>));

const PINGPONG: [PingPong; 9] = [
    ("broadcast_spin", |n, r| {
        pp_broadcast(n, Wait::Spin, false, r)
    }),
    ("broadcast_spin_recv", |n, r| {
        pp_broadcast(n, Wait::Spin, true, r)
    }),
    ("spsc_spin", |n, r| pp_spsc(n, CAPACITY, Wait::Spin, r)),
    ("lossy_spin", pp_lossy),
    ("tokio_try_recv_spin", pp_tokio),
    ("broadcast_backoff", |n, r| {
        pp_broadcast(n, Wait::Backoff, true, r)
    }),
    ("spsc_backoff", |n, r| {
        pp_spsc(n, CAPACITY, Wait::Backoff, r)
    }),
    ("crossbeam_blocking", pp_crossbeam),
    ("bus_blocking", pp_bus),
];

fn latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("broadcast_pingpong");
    for (name, peer) in PINGPONG {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, false).0));
    }
    group.finish();
}

/// Prints publish→receive latency percentiles (half of each round trip) for
/// every ping-pong peer: 200 000 round trips each, after 20 000 unrecorded.
fn percentiles() {
    let rounds = std::env::var("RINGBUS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000u64);
    eprintln!("\npublish→receive latency, ns (half a round trip; {rounds} round trips, pinned)");
    eprintln!(
        "{:<22} {:>8} {:>8} {:>8} {:>8}",
        "peer", "p50", "p90", "p99", "p99.9"
    );
    for (name, peer) in PINGPONG {
        peer(20_000, false);
        let (_, mut samples) = peer(rounds, true);
        let q = |s: &mut [u64], q| quantile(s, q) as f64 / 2.0;
        eprintln!(
            "{:<22} {:>8.0} {:>8.0} {:>8.0} {:>8.0}",
            name,
            q(&mut samples, 0.5),
            q(&mut samples, 0.9),
            q(&mut samples, 0.99),
            q(&mut samples, 0.999),
        );
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = one_to_one_spin, one_to_two, one_to_two_drop_glue, latency
}

fn main() {
    benches();
    // `cargo bench -- <filter>` runs only some groups; print the
    // percentiles only on a full run or when asked for by name.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if filter.is_empty() || filter.iter().any(|f| "percentiles".contains(f.as_str())) {
        percentiles();
    }
    Criterion::default().configure_from_args().final_summary();
}
