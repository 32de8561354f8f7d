//! Helpers shared by the benchmark files: thread pinning, the spin loop every
//! spinning peer uses, running a producer/consumer pair and checking what the
//! consumers received.

// Each bench file uses a different subset of these helpers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use criterion::Criterion;

/// Pins the calling thread to core `index` (modulo the number of cores).
///
/// Falls back to leaving the thread where the scheduler puts it when the
/// platform cannot pin or has fewer than two cores; says so once.
pub fn pin(index: usize) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    let pinned = match core_affinity::get_core_ids() {
        Some(cores) if cores.len() >= 2 => {
            core_affinity::set_for_current(cores[index % cores.len()])
        }
        _ => false,
    };
    // Relaxed: a warn-once flag.
    if !pinned && !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("note: could not pin threads to cores; running unpinned");
    }
}

/// How a spinning peer waits between two failed tries: a spin-loop hint for
/// the first 1024 tries of one operation, then `yield_now`.
///
/// The yield only matters when the other side lost its core (another process,
/// or more threads than cores): a pure spin would then burn a whole time
/// slice. Every spinning peer uses this same loop, so the comparison stays
/// fair.
pub struct Spinner(u32);

impl Spinner {
    /// A fresh wait for one operation.
    #[inline]
    pub fn new() -> Self {
        Spinner(0)
    }

    /// Whether this wait has gone on long enough to yield: the place for
    /// slow checks (has the other side gone?) that must stay off the hot
    /// path.
    #[inline]
    pub fn is_long(&self) -> bool {
        self.0 >= 1024
    }

    /// Waits a little before the next try.
    #[inline]
    pub fn wait(&mut self) {
        if self.0 < 1024 {
            self.0 += 1;
            std::hint::spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// `0 + 1 + … + (n - 1)`, wrapping: what a consumer of the values `0..n`
/// must have summed.
pub fn expected_sum(n: u64) -> u64 {
    if n % 2 == 0 {
        (n / 2).wrapping_mul(n.wrapping_sub(1))
    } else {
        n.wrapping_mul((n - 1) / 2)
    }
}

/// What a consumer saw: how many messages, their wrapping sum, and the XOR of
/// every (received ^ expected) for peers whose order is known (0 when every
/// message came in order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Seen {
    /// Messages received.
    pub count: u64,
    /// Wrapping sum of the values.
    pub sum: u64,
    /// OR of `value ^ expected` over the messages (order check).
    pub disorder: u64,
}

impl Seen {
    /// Records `value` as the message expected to be `expected`.
    #[inline]
    pub fn take(&mut self, value: u64, expected: u64) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(value);
        self.disorder |= value ^ expected;
    }

    /// Adds another consumer's tally.
    pub fn merge(self, other: Seen) -> Seen {
        Seen {
            count: self.count + other.count,
            sum: self.sum.wrapping_add(other.sum),
            disorder: self.disorder | other.disorder,
        }
    }

    /// Panics unless exactly the values `0..n` arrived (in order if
    /// `ordered`).
    #[track_caller]
    pub fn check(self, n: u64, ordered: bool, peer: &str) {
        assert_eq!(self.count, n, "{peer}: wrong number of messages");
        assert_eq!(self.sum, expected_sum(n), "{peer}: wrong sum of messages");
        if ordered {
            assert_eq!(self.disorder, 0, "{peer}: messages out of order");
        }
    }
}

/// Runs `producers` and `consumers`, each on its own thread, released
/// together by a barrier. Returns the time from the first producer's start
/// to the last consumer's end (both read on the worker threads, so the
/// spawning thread's scheduling does not count), and the consumers' tallies
/// merged.
///
/// Thread `k` (producers first, then consumers) is pinned to core `k` when
/// `pin_threads` is set; otherwise the scheduler places them.
pub fn run<P, C>(producers: Vec<P>, consumers: Vec<C>, pin_threads: bool) -> (Duration, Seen)
where
    P: FnOnce() + Send,
    C: FnOnce() -> Seen + Send,
{
    let barrier = Barrier::new(producers.len() + consumers.len());
    let barrier = &barrier;
    let n_producers = producers.len();
    thread::scope(|s| {
        let producers: Vec<_> = producers
            .into_iter()
            .enumerate()
            .map(|(k, produce)| {
                s.spawn(move || {
                    if pin_threads {
                        pin(k);
                    }
                    barrier.wait();
                    let start = Instant::now();
                    produce();
                    start
                })
            })
            .collect();
        let consumers: Vec<_> = consumers
            .into_iter()
            .enumerate()
            .map(|(k, consume)| {
                s.spawn(move || {
                    if pin_threads {
                        pin(n_producers + k);
                    }
                    barrier.wait();
                    let seen = consume();
                    (seen, Instant::now())
                })
            })
            .collect();
        let mut start: Option<Instant> = None;
        for p in producers {
            let t = p.join().expect("producer panicked");
            start = Some(start.map_or(t, |s| s.min(t)));
        }
        let start = start.expect("at least one producer");
        let mut seen = Seen::default();
        let mut end = start;
        for c in consumers {
            let (s, t) = c.join().expect("consumer panicked");
            seen = seen.merge(s);
            end = end.max(t);
        }
        (end.duration_since(start), seen)
    })
}

/// Criterion settings that keep the whole `cargo bench` to a few minutes.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

/// Runs `n` round trips: `ping(i)` sends `i` and returns the echo;
/// `echo()` serves one round trip. The pinger runs on core 0 and is timed,
/// the echo thread on core 1; every echo is checked.
pub fn pingpong<P, E>(n: u64, peer: &str, ping: P, echo: E) -> Duration
where
    P: FnMut(u64) -> u64 + Send,
    E: FnMut() + Send,
{
    pingpong_with(n, peer, ping, echo, None)
}

/// Like [`pingpong`], and also records every round trip's time in
/// nanoseconds (`Instant` read around each ping: about 20 ns of overhead per
/// sample, the same for every peer). Returns the samples, unsorted.
pub fn pingpong_samples<P, E>(n: u64, peer: &str, ping: P, echo: E) -> Vec<u64>
where
    P: FnMut(u64) -> u64 + Send,
    E: FnMut() + Send,
{
    let mut samples = Vec::with_capacity(n as usize);
    pingpong_with(n, peer, ping, echo, Some(&mut samples));
    samples
}

fn pingpong_with<P, E>(
    n: u64,
    peer: &str,
    mut ping: P,
    mut echo: E,
    samples: Option<&mut Vec<u64>>,
) -> Duration
where
    P: FnMut(u64) -> u64 + Send,
    E: FnMut() + Send,
{
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    let (time, seen) = thread::scope(|s| {
        let echoer = s.spawn(move || {
            pin(1);
            barrier.wait();
            for _ in 0..n {
                echo();
            }
        });
        let pinger = s.spawn(move || {
            pin(0);
            barrier.wait();
            let start = Instant::now();
            let mut seen = Seen::default();
            match samples {
                None => {
                    for i in 0..n {
                        seen.take(ping(i), i);
                    }
                }
                Some(samples) => {
                    for i in 0..n {
                        let t = Instant::now();
                        seen.take(ping(i), i);
                        samples.push(t.elapsed().as_nanos() as u64);
                    }
                }
            }
            (start.elapsed(), seen)
        });
        echoer.join().expect("echo thread panicked");
        pinger.join().expect("pinger panicked")
    });
    seen.check(n, true, peer);
    time
}

/// The `q`-quantile (0.0..=1.0) of `samples`, which it sorts.
pub fn quantile(samples: &mut [u64], q: f64) -> u64 {
    samples.sort_unstable();
    let rank = ((samples.len() as f64 - 1.0) * q).round() as usize;
    samples[rank]
}

/// Spins until `f` returns `Some`, with the same [`Spinner`] every spinning
/// peer uses.
#[inline]
pub fn spin_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let mut spin = Spinner::new();
    loop {
        if let Some(v) = f() {
            return v;
        }
        spin.wait();
    }
}

/// Runs the ping-pong, with per-round-trip samples when `record`.
pub fn timed<P, E>(n: u64, peer: &str, record: bool, ping: P, echo: E) -> (Duration, Vec<u64>)
where
    P: FnMut(u64) -> u64 + Send,
    E: FnMut() + Send,
{
    if record {
        let start = Instant::now();
        let samples = pingpong_samples(n, peer, ping, echo);
        (start.elapsed(), samples)
    } else {
        (pingpong(n, peer, ping, echo), Vec::new())
    }
}

/// Two ringbus `spsc` rings of `capacity` with `wait`, one each way: the
/// reference round trip the broadcast and req/rep benches compare with.
pub fn pp_spsc(n: u64, capacity: usize, wait: ringbus::Wait, record: bool) -> (Duration, Vec<u64>) {
    let (ping_tx, ping_rx) = ringbus::spsc::Builder::new(capacity)
        .wait(wait)
        .build::<u64>();
    let (pong_tx, pong_rx) = ringbus::spsc::Builder::new(capacity)
        .wait(wait)
        .build::<u64>();
    let spin = wait == ringbus::Wait::Spin;
    let ping = move |i| {
        if spin {
            ping_tx.try_send(i).expect("a ping-pong ring is never full");
            spin_for(|| pong_rx.try_recv().ok())
        } else {
            ping_tx.send(i).unwrap();
            pong_rx.recv().unwrap()
        }
    };
    let echo = move || {
        if spin {
            let v = spin_for(|| ping_rx.try_recv().ok());
            pong_tx.try_send(v).expect("a ping-pong ring is never full");
        } else {
            pong_tx.send(ping_rx.recv().unwrap()).unwrap();
        }
    };
    timed(n, "ringbus spsc pair", record, ping, echo)
}

/// A core-to-core round trip at or above this many nanoseconds marks a
/// round in which the host had put the two cores far apart (see
/// [`core_to_core_ns`]).
pub const FAR_CORES_NS: u64 = 150;

/// The round trip of one cache line between cores 0 and 1, in nanoseconds:
/// one thread on each, 20 000 handoffs of an atomic counter, spinning (and
/// yielding after 1024 tries, as [`Spinner`] does, so that a busy machine
/// gives a large figure rather than a long wait).
///
/// On a virtual machine this is where the host has put the two virtual
/// cores, and it changes for seconds or minutes at a time: on the Zen 4
/// guest of docs/benchmarks.md, 50–90 ns most of the time and 320–360 ns in
/// stretches, during which the pipeline ran at a third of its rate,
/// crossbeam-channel at a third and ZeroMQ at a half. The rounds print it,
/// so that a ratio can be read with the state it was taken in.
pub fn core_to_core_ns() -> u64 {
    #[repr(align(128))]
    struct Line(AtomicU64);
    const HANDOFFS: u64 = 20_000;
    let line = Line(AtomicU64::new(0));
    let line = &line.0;
    let time = thread::scope(|s| {
        s.spawn(move || {
            pin(1);
            for i in 0..HANDOFFS {
                // Acquire: pairs with the pinger's Release store below.
                let mut spin = Spinner::new();
                while line.load(Ordering::Acquire) != 2 * i + 1 {
                    spin.wait();
                }
                // Release: pairs with the pinger's Acquire load below.
                line.store(2 * i + 2, Ordering::Release);
            }
        });
        let pinger = s.spawn(move || {
            pin(0);
            let start = Instant::now();
            for i in 0..HANDOFFS {
                // Release: pairs with the echo's Acquire load above.
                line.store(2 * i + 1, Ordering::Release);
                // Acquire: pairs with the echo's Release store above.
                let mut spin = Spinner::new();
                while line.load(Ordering::Acquire) != 2 * i + 2 {
                    spin.wait();
                }
            }
            start.elapsed()
        });
        pinger.join().expect("core-to-core pinger panicked")
    });
    (time.as_nanos() / u128::from(HANDOFFS)) as u64
}

/// A comparison in rounds: each round runs every peer once, in turn, so a
/// machine that changes speed for minutes at a time slows every peer of a
/// round alike, and ratios are taken within a round. Each round also
/// measures [`core_to_core_ns`] before its peers run.
///
/// Run only when the bench is run whole or asked for by name ([`wanted`]);
/// sized by `RINGBUS_BENCH_REPEATS` (rounds, default 10) and
/// `RINGBUS_BENCH_MESSAGES` (messages per peer per round).
pub struct Rounds {
    /// Each peer's name.
    names: Vec<&'static str>,
    /// `rates[round][peer]`, in millions of messages a second.
    rates: Vec<Vec<f64>>,
    /// Each round's core-to-core round trip, in nanoseconds.
    c2c: Vec<u64>,
}

/// Whether `cargo bench -- <filter>` asks for the group or mode `name`: yes
/// on a run with no filter, or when a filter is part of `name`.
pub fn wanted(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// A number from the environment variable `var`, or `default`.
pub fn env_or(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

impl Rounds {
    /// Runs the rounds: every peer moves `n` messages (`RINGBUS_BENCH_MESSAGES`,
    /// or `messages`) per round, and prints its rate, a line per round.
    pub fn run<F: Fn(u64) -> Duration>(
        title: &str,
        messages: u64,
        peers: &[(&'static str, F)],
    ) -> Self {
        let repeats = env_or("RINGBUS_BENCH_REPEATS", 10).max(1);
        let n = env_or("RINGBUS_BENCH_MESSAGES", messages).max(1);
        let names: Vec<_> = peers.iter().map(|(name, _)| *name).collect();
        eprintln!("\n{title}: {repeats} rounds of {n} messages a peer, M/s");
        eprintln!(
            "{:<6}{:>8}{}",
            "round",
            "c2c ns",
            Self::row(names.iter().map(|s| s.to_string()))
        );
        let (mut rates, mut c2c) = (Vec::new(), Vec::new());
        for round in 1..=repeats {
            let ns = core_to_core_ns();
            let rate: Vec<f64> = peers
                .iter()
                .map(|(_, peer)| n as f64 / peer(n).as_secs_f64() / 1e6)
                .collect();
            eprintln!(
                "{round:<6}{ns:>8}{}",
                Self::row(rate.iter().map(|r| format!("{r:.2}")))
            );
            rates.push(rate);
            c2c.push(ns);
        }
        let rounds = Rounds { names, rates, c2c };
        let medians = (0..rounds.names.len()).map(|p| {
            let mut column: Vec<f64> = rounds.rates.iter().map(|r| r[p]).collect();
            format!("{:.2}", median(&mut column))
        });
        eprintln!("{:<14}{}", "median", Self::row(medians));
        rounds
    }

    /// The peers' columns, wide enough for the longest name.
    fn row(cells: impl Iterator<Item = String>) -> String {
        cells.map(|c| format!(" {c:>26}")).collect()
    }

    /// Prints `fast`'s rate over `slow`'s: the median of the rounds'
    /// ratios, the lowest and highest, how many rounds reach `target`, and
    /// whether the median does; then the same median over the rounds whose
    /// cores were near ([`FAR_CORES_NS`]), if some were far.
    pub fn ratio(&self, fast: &str, slow: &str, target: f64) {
        let column = |name: &str| self.names.iter().position(|n| *n == name);
        let (Some(f), Some(s)) = (column(fast), column(slow)) else {
            return;
        };
        let ratios: Vec<(f64, u64)> = self
            .rates
            .iter()
            .zip(&self.c2c)
            .map(|(r, &ns)| (r[f] / r[s], ns))
            .collect();
        let mut all: Vec<f64> = ratios.iter().map(|&(r, _)| r).collect();
        let reached = all.iter().filter(|&&r| r >= target).count();
        let mid = median(&mut all);
        eprintln!(
            "{fast} / {slow}: median {mid:.2}× (rounds {:.2}–{:.2}×, {reached} of {} at ≥ {target}×): target {}",
            all[0],
            all[all.len() - 1],
            all.len(),
            if mid >= target { "met" } else { "NOT met" },
        );
        if let Some((near, mid)) = near_median(&ratios) {
            eprintln!(
                "    {} of {} rounds had the cores far apart (c2c ≥ {FAR_CORES_NS} ns); the other {near}: median {mid:.2}×",
                all.len() - near,
                all.len(),
            );
        }
    }
}

/// Of `(ratio, core-to-core ns)` pairs, one a round: how many rounds had
/// the cores near ([`FAR_CORES_NS`]) and the median of their ratios; `None`
/// when all rounds or none did, where it would say nothing new.
pub fn near_median(ratios: &[(f64, u64)]) -> Option<(usize, f64)> {
    let mut near: Vec<f64> = ratios
        .iter()
        .filter(|&&(_, ns)| ns < FAR_CORES_NS)
        .map(|&(r, _)| r)
        .collect();
    if near.is_empty() || near.len() == ratios.len() {
        return None;
    }
    Some((near.len(), median(&mut near)))
}

/// The median of `values`, which it sorts; the mean of the middle two for an
/// even count.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 0 {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    }
}
