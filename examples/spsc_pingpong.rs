//! The README's demo: ringbus's `spsc` ring beside `std::sync::mpsc`.
//!
//! Two threads, pinned to cores 0 and 1 when the platform allows, pass `u64`s
//! through rings of 1024 slots:
//!
//! 1. **Throughput**: one thread sends `N` messages (default 10 million), the
//!    other receives and checks them; ringbus with its default wait
//!    (`Backoff`) and with `Wait::Spin`, against `std::sync::mpsc::
//!    sync_channel(1024)`. Each is run three times; the median is shown.
//! 2. **Ping-pong latency**: one thread sends a value, the other sends it
//!    back through a second queue; `N / 100` round trips (default 100 000),
//!    each timed with `Instant`, then sorted for percentiles. The last row
//!    is the floor, not a queue: two atomics bounced between the cores, one
//!    cache-line transfer each way, what the hardware allows.
//!
//! ```sh
//! cargo run --release --example spsc_pingpong            # N = 10 000 000
//! cargo run --release --example spsc_pingpong -- 200000  # a short run
//! RINGBUS_DEMO_MESSAGES=200000 cargo run --release --example spsc_pingpong
//! ```
//!
//! Every message is checked (count and order); the program exits with status
//! 1 if one was lost, duplicated or reordered.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;
use ringbus::{spsc, TryRecvError, TrySendError, Wait};

/// Slots in every queue.
const CAPACITY: usize = 1024;

/// Runs a number of round trips and returns each one's time.
type LatencyRun = fn(usize) -> Result<Vec<Duration>, String>;

/// How many times each throughput run is repeated (the median is shown).
const RUNS: usize = 3;

fn main() {
    let messages = match message_count() {
        Ok(n) => n,
        Err(msg) => {
            eprintln!("error: {msg}");
            eprintln!("usage: spsc_pingpong [MESSAGES]  (or RINGBUS_DEMO_MESSAGES=N)");
            std::process::exit(2);
        }
    };
    let round_trips = (messages / 100).max(1_000);
    let pinned = can_pin();

    println!("ringbus spsc demo: u64 messages, queues of {CAPACITY} slots");
    println!(
        "threads: {}",
        if pinned {
            "pinned to cores 0 and 1"
        } else {
            "not pinned (fewer than 2 cores, or pinning unsupported)"
        }
    );
    println!();

    // -- 1. Throughput -----------------------------------------------------
    println!("1. throughput, {messages} messages one way (median of {RUNS} runs)");
    let mut failed = false;
    let mut rate = |name: &str, run: &dyn Fn(u64) -> Result<Duration, String>| -> f64 {
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            match run(messages) {
                Ok(t) => times.push(t),
                Err(msg) => {
                    eprintln!("FAILED: {name}: {msg}");
                    failed = true;
                    return 0.0;
                }
            }
        }
        times.sort();
        let mmsg = messages as f64 / times[RUNS / 2].as_secs_f64() / 1e6;
        println!("   {name:<34} {mmsg:>8.1} Mmsg/s");
        mmsg
    };
    let backoff = rate("ringbus spsc, send/recv (Backoff)", &|n| {
        ringbus_throughput(n, Wait::Backoff)
    });
    let spin = rate("ringbus spsc, try_ spin (Spin)", &|n| {
        ringbus_throughput(n, Wait::Spin)
    });
    let std = rate("std::sync::mpsc::sync_channel", &std_throughput);
    if std > 0.0 {
        println!(
            "   ratio vs std: Backoff {:.1}x, Spin {:.1}x",
            backoff / std,
            spin / std
        );
    }
    println!();

    // -- 2. Latency ----------------------------------------------------------
    println!("2. ping-pong round trip, {round_trips} round trips");
    println!(
        "   {:<34} {:>8} {:>8} {:>8} {:>8}",
        "", "p50", "p99", "p99.9", "max"
    );
    let peers: [(&str, LatencyRun); 4] = [
        ("ringbus spsc, Spin", |n| ringbus_pingpong(n, Wait::Spin)),
        ("ringbus spsc, Backoff (default)", |n| {
            ringbus_pingpong(n, Wait::Backoff)
        }),
        ("std::sync::mpsc::sync_channel", std_pingpong),
        ("floor: two atomics, no queue", floor_pingpong),
    ];
    for (name, run) in peers {
        match run(round_trips as usize) {
            Ok(mut samples) => {
                samples.sort();
                let at = |q: f64| {
                    let i = ((samples.len() as f64 * q).ceil() as usize).max(1) - 1;
                    samples[i.min(samples.len() - 1)]
                };
                println!(
                    "   {name:<34} {:>8} {:>8} {:>8} {:>8}",
                    show(at(0.50)),
                    show(at(0.99)),
                    show(at(0.999)),
                    show(*samples.last().unwrap()),
                );
            }
            Err(msg) => {
                eprintln!("FAILED: {name}: {msg}");
                failed = true;
            }
        }
    }

    if failed {
        eprintln!("some messages were lost or corrupted");
        std::process::exit(1);
    }
    println!();
    println!("all messages arrived, once each, in order");
}

/// `N` from the first argument, else `RINGBUS_DEMO_MESSAGES`, else 10 million.
fn message_count() -> Result<u64, String> {
    let raw = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("RINGBUS_DEMO_MESSAGES").ok());
    match raw {
        None => Ok(10_000_000),
        Some(s) => match s.replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("not a positive message count: {s:?}")),
        },
    }
}

/// Whether this machine lets us pin two threads to two cores.
fn can_pin() -> bool {
    core_affinity::get_core_ids().is_some_and(|cores| cores.len() >= 2)
}

/// Pins the calling thread to core `index`, if it can.
fn pin(index: usize) {
    if let Some(cores) = core_affinity::get_core_ids() {
        if cores.len() >= 2 {
            core_affinity::set_for_current(cores[index]);
        }
    }
}

/// A duration as `1234 ns` or `12.3 µs`.
fn show(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns < 10_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{:.1} µs", ns as f64 / 1e3)
    } else {
        format!("{:.1} ms", ns as f64 / 1e6)
    }
}

/// Runs `produce` on core 0 and `consume` on core 1, released together;
/// returns the time from the producer's start to the consumer's end, and what
/// the consumer returned.
fn pair<R: Send>(
    produce: impl FnOnce() + Send,
    consume: impl FnOnce() -> R + Send,
) -> (Duration, R) {
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    thread::scope(|s| {
        let consumer = s.spawn(move || {
            pin(1);
            barrier.wait();
            let result = consume();
            (Instant::now(), result)
        });
        let producer = s.spawn(move || {
            pin(0);
            barrier.wait();
            let start = Instant::now();
            produce();
            start
        });
        let start = producer.join().expect("producer panicked");
        let (end, result) = consumer.join().expect("consumer panicked");
        (end.saturating_duration_since(start), result)
    })
}

/// Checks that the consumer counted `n` messages, each in order.
fn verify(n: u64, (time, (count, in_order)): (Duration, (u64, bool))) -> Result<Duration, String> {
    if count != n {
        return Err(format!("received {count} of {n} messages"));
    }
    if !in_order {
        return Err("messages out of order or corrupted".into());
    }
    Ok(time)
}

/// Spins (then yields, should the other side have lost its core) until `f`
/// returns `Some`.
fn spin_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let mut tries = 0u32;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if tries < 1024 {
            tries += 1;
            std::hint::spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

fn ringbus_throughput(n: u64, wait: Wait) -> Result<Duration, String> {
    let (tx, rx) = spsc::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let spin = wait == Wait::Spin;
    let produce = move || {
        for i in 0..n {
            if spin {
                let mut value = i;
                spin_for(|| match tx.try_send(value) {
                    Ok(()) => Some(()),
                    Err(TrySendError::Full(v)) => {
                        value = v;
                        None
                    }
                    Err(TrySendError::Disconnected(_)) => Some(()),
                });
            } else if tx.send(i).is_err() {
                return;
            }
        }
    };
    let consume = move || {
        let mut expected = 0u64;
        let mut in_order = true;
        loop {
            let received = if spin {
                spin_for(|| match rx.try_recv() {
                    Ok(v) => Some(Some(v)),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => Some(None),
                })
            } else {
                rx.recv().ok()
            };
            let Some(value) = received else { break };
            in_order &= value == expected;
            expected += 1;
        }
        (expected, in_order)
    };
    verify(n, pair(produce, consume))
}

fn std_throughput(n: u64) -> Result<Duration, String> {
    let (tx, rx) = mpsc::sync_channel::<u64>(CAPACITY);
    let produce = move || {
        for i in 0..n {
            if tx.send(i).is_err() {
                return;
            }
        }
    };
    let consume = move || {
        let mut expected = 0u64;
        let mut in_order = true;
        for value in rx.iter() {
            in_order &= value == expected;
            expected += 1;
        }
        (expected, in_order)
    };
    verify(n, pair(produce, consume))
}

/// Times `n` round trips: the echo thread (core 1) runs `echo` until it
/// returns `false`; the pinger (core 0) runs `ping(i)`, which must return the
/// echo of `i`, or `None` if the other side is gone.
fn pingpong(
    n: usize,
    mut ping: impl FnMut(u64) -> Option<u64> + Send,
    mut echo: impl FnMut() -> bool + Send,
) -> Result<Vec<Duration>, String> {
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    let samples = thread::scope(|s| {
        s.spawn(move || {
            pin(1);
            barrier.wait();
            while echo() {}
        });
        let pinger = s.spawn(move || {
            pin(0);
            barrier.wait();
            let mut samples = Vec::with_capacity(n);
            for i in 0..n as u64 {
                let start = Instant::now();
                let back = ping(i);
                let rtt = start.elapsed();
                if back != Some(i) {
                    return Err(format!("round trip {i} came back as {back:?}"));
                }
                samples.push(rtt);
            }
            Ok(samples)
            // `ping` (and its sender) drops here: the echo thread stops.
        });
        pinger.join().expect("pinger panicked")
    })?;
    Ok(samples)
}

fn ringbus_pingpong(n: usize, wait: Wait) -> Result<Vec<Duration>, String> {
    let (ping_tx, ping_rx) = spsc::Builder::new(CAPACITY).wait(wait).build::<u64>();
    let (pong_tx, pong_rx) = spsc::Builder::new(CAPACITY).wait(wait).build::<u64>();
    if wait == Wait::Spin {
        pingpong(
            n,
            move |i| {
                ping_tx.try_send(i).ok()?;
                spin_for(|| match pong_rx.try_recv() {
                    Ok(v) => Some(Some(v)),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => Some(None),
                })
            },
            move || {
                let got = spin_for(|| match ping_rx.try_recv() {
                    Ok(v) => Some(Some(v)),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => Some(None),
                });
                got.is_some_and(|v| pong_tx.try_send(v).is_ok())
            },
        )
    } else {
        pingpong(
            n,
            move |i| {
                ping_tx.send(i).ok()?;
                pong_rx.recv().ok()
            },
            move || ping_rx.recv().is_ok_and(|v| pong_tx.send(v).is_ok()),
        )
    }
}

fn std_pingpong(n: usize) -> Result<Vec<Duration>, String> {
    let (ping_tx, ping_rx) = mpsc::sync_channel::<u64>(CAPACITY);
    let (pong_tx, pong_rx) = mpsc::sync_channel::<u64>(CAPACITY);
    pingpong(
        n,
        move |i| {
            ping_tx.send(i).ok()?;
            pong_rx.recv().ok()
        },
        move || ping_rx.recv().is_ok_and(|v| pong_tx.send(v).is_ok()),
    )
}

/// The floor: the pinger stores `i + 1` in `ping` and spins until `pong`
/// holds it; the echo thread copies `ping` to `pong` whenever it moves.
/// Zero means "stop".
fn floor_pingpong(n: usize) -> Result<Vec<Duration>, String> {
    let ping = Arc::new(CachePadded::new(AtomicU64::new(u64::MAX)));
    let pong = Arc::new(CachePadded::new(AtomicU64::new(u64::MAX)));
    let (ping_echo, pong_echo) = (ping.clone(), pong.clone());
    let mut last = u64::MAX;
    /// Stops the echo thread when the pinger is done (or panics).
    struct Stop(Arc<CachePadded<AtomicU64>>);
    impl Drop for Stop {
        fn drop(&mut self) {
            // Release: pairs with the echo's Acquire load of `ping`, which
            // reads 0 as "stop".
            self.0.store(0, Ordering::Release);
        }
    }
    let stop = Stop(ping.clone());
    pingpong(
        n,
        move |i| {
            let _stop = &stop;
            // Release/Acquire: the number is the whole message.
            ping.store(i + 1, Ordering::Release);
            // Acquire: pairs with the echo's Release store of `pong`.
            let back = spin_for(|| match pong.load(Ordering::Acquire) {
                v if v == i + 1 => Some(v),
                _ => None,
            });
            Some(back - 1)
        },
        move || {
            // Acquire: pairs with the pinger's Release store of `ping`.
            let v = spin_for(|| match ping_echo.load(Ordering::Acquire) {
                v if v != last => Some(v),
                _ => None,
            });
            last = v;
            // Release: pairs with the pinger's Acquire load of `pong`.
            pong_echo.store(v, Ordering::Release);
            v != 0
        },
    )
}
