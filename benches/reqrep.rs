//! Request/reply benchmarks: the round trip of ringbus's `reqrep` against
//! its peers, in one run.
//!
//! A requester pinned to core 0 sends the `u64` `i` and waits for the reply;
//! a replier pinned to core 1 sends it back. One criterion iteration is one
//! round trip; every reply is checked. After the criterion group the bench
//! prints round-trip percentiles (p50/p90/p99/p99.9) for every peer.
//!
//! Peers:
//! - `reqrep_*`: `reqrep::Requester::request` and `Replier::recv` +
//!   `Request::reply`, default wait (`Backoff`) and `Wait::Spin`;
//! - `spsc_pair_*`: two ringbus `spsc` rings, one each way, the same two
//!   waits. The reference: a request/reply is held to within 1.3× of this
//!   round trip at p50 (a request, with its ticket, is 24 bytes to the
//!   pair's 8: see `spsc_pair_spin_24b`);
//! - `spsc_pair_spin_24b`: the same spsc pair with `Wait::Spin`, carrying
//!   24-byte messages (`[u64; 3]`) out and `u64`s back: the sizes of a
//!   `u64` request with its ticket (`ReplyTo`: the slot pointer and the
//!   sequence number) and of its reply. Not a target, a reading aid: it
//!   shows how much of the gap to `spsc_pair_spin` is the request's size
//!   alone;
//! - `crossbeam_pair`: two crossbeam-channel `bounded(1024)`, blocking;
//! - `zmq_inproc_req_rep` (with `--features zmq`): ZeroMQ REQ/REP sockets
//!   over `inproc://`.
//!
//! Run with `cargo bench --bench reqrep` (add `--features zmq` for the
//! ZeroMQ peer); `RINGBUS_BENCH_ROUNDS=N` sets the round trips per
//! percentile row (default 200 000), taken in `RINGBUS_BENCH_REPEATS`
//! rounds (default 10) that run the peers in turn. `cargo bench --bench
//! reqrep -- percentiles` prints the percentiles alone. See
//! `docs/benchmarks.md`.

use std::time::Duration;

use criterion::{criterion_group, Criterion};
use ringbus::{reqrep, Wait};

mod common;
use common::{
    core_to_core_ns, env_or, median, near_median, pp_spsc, quantile, spin_for, timed, FAR_CORES_NS,
};

/// Slots in every ring of this file.
const CAPACITY: usize = 1024;

/// ringbus `reqrep` with `wait`.
fn pp_reqrep(n: u64, wait: Wait, record: bool) -> (Duration, Vec<u64>) {
    let (requester, replier) = reqrep::Builder::new(CAPACITY)
        .wait(wait)
        .build::<u64, u64>();
    let spin = wait == Wait::Spin;
    let ping = move |i| requester.request(i).expect("replier gone");
    let echo = move || {
        let request = if spin {
            spin_for(|| replier.try_recv().ok())
        } else {
            replier.recv().expect("requester gone")
        };
        let v = *request.payload();
        request.reply(v).expect("requester stopped waiting");
    };
    timed(n, "ringbus reqrep", record, ping, echo)
}

/// Two ringbus `spsc` rings with `Wait::Spin`: `[u64; 3]` out (the size of a
/// request with its ticket), whose first word comes back as a `u64`.
fn pp_spsc_24b(n: u64, record: bool) -> (Duration, Vec<u64>) {
    let (ping_tx, ping_rx) = ringbus::spsc::Builder::new(CAPACITY)
        .wait(Wait::Spin)
        .build::<[u64; 3]>();
    let (pong_tx, pong_rx) = ringbus::spsc::Builder::new(CAPACITY)
        .wait(Wait::Spin)
        .build::<u64>();
    let ping = move |i| {
        ping_tx
            .try_send([i, !i, i])
            .expect("a ping-pong ring is never full");
        spin_for(|| pong_rx.try_recv().ok())
    };
    let echo = move || {
        let v = spin_for(|| ping_rx.try_recv().ok());
        pong_tx
            .try_send(v[0])
            .expect("a ping-pong ring is never full");
    };
    timed(n, "ringbus spsc pair, 24-byte requests", record, ping, echo)
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
    timed(n, "crossbeam pair", record, ping, echo)
}

/// ZeroMQ REQ/REP over `inproc://`, 8-byte messages received into a buffer
/// (no allocation per message on our side).
#[cfg(feature = "zmq")]
fn pp_zmq(n: u64, record: bool) -> (Duration, Vec<u64>) {
    let context = zmq::Context::new();
    let rep = context.socket(zmq::REP).expect("zmq socket");
    rep.bind("inproc://reqrep").expect("zmq bind");
    let req = context.socket(zmq::REQ).expect("zmq socket");
    req.connect("inproc://reqrep").expect("zmq connect");
    let mut ping_buf = [0u8; 8];
    let ping = move |i: u64| {
        req.send(&i.to_le_bytes()[..], 0).expect("zmq send");
        req.recv_into(&mut ping_buf, 0).expect("zmq recv");
        u64::from_le_bytes(ping_buf)
    };
    let mut echo_buf = [0u8; 8];
    let echo = move || {
        rep.recv_into(&mut echo_buf, 0).expect("zmq recv");
        rep.send(&echo_buf[..], 0).expect("zmq send");
    };
    let result = timed(n, "zmq req/rep", record, ping, echo);
    drop(context);
    result
}

/// A round-trip peer: `n` round trips, recorded or not.
type PingPong = (&'static str, fn(u64, bool) -> (Duration, Vec<u64>));

fn peers() -> Vec<PingPong> {
    #[allow(unused_mut)]
    let mut peers: Vec<PingPong> = vec![
        ("reqrep_spin", |n, r| pp_reqrep(n, Wait::Spin, r)),
        ("spsc_pair_spin", |n, r| pp_spsc(n, CAPACITY, Wait::Spin, r)),
        ("spsc_pair_spin_24b", pp_spsc_24b),
        ("reqrep_backoff", |n, r| pp_reqrep(n, Wait::Backoff, r)),
        ("spsc_pair_backoff", |n, r| {
            pp_spsc(n, CAPACITY, Wait::Backoff, r)
        }),
        ("crossbeam_pair_blocking", pp_crossbeam),
    ];
    #[cfg(feature = "zmq")]
    peers.push(("zmq_inproc_req_rep", pp_zmq));
    peers
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("reqrep_round_trip");
    for (name, peer) in peers() {
        group.bench_function(name, |b| b.iter_custom(|n| peer(n, false).0));
    }
    group.finish();
}

/// Prints round-trip percentiles for every peer: `RINGBUS_BENCH_ROUNDS`
/// (default 200 000) round trips each, after 20 000 unrecorded, taken in
/// `RINGBUS_BENCH_REPEATS` (default 10) rounds that run every peer in turn.
/// This machine changes speed for minutes at a time; in rounds, every peer
/// gets its share of each state, and the ratios are taken within a round.
fn percentiles() {
    let total = env_or("RINGBUS_BENCH_ROUNDS", 200_000).max(1);
    let repeats = env_or("RINGBUS_BENCH_REPEATS", 10).clamp(1, total);
    let per_round = total / repeats;
    let peers = peers();
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); peers.len()];
    // `p50s[round][peer]`, and each round's core-to-core round trip.
    let (mut p50s, mut c2c): (Vec<Vec<u64>>, Vec<u64>) = (Vec::new(), Vec::new());
    for (_, peer) in &peers {
        peer(20_000, false);
    }
    for _ in 0..repeats {
        c2c.push(core_to_core_ns());
        let round = peers
            .iter()
            .zip(&mut samples)
            .map(|((_, peer), all)| {
                let (_, mut these) = peer(per_round, true);
                let p50 = quantile(&mut these, 0.5);
                all.append(&mut these);
                p50
            })
            .collect();
        p50s.push(round);
    }
    eprintln!(
        "\nrequest→reply round trip, ns ({} round trips a peer in {repeats} rounds, pinned)",
        per_round * repeats
    );
    eprintln!("core-to-core round trip before each round, ns: {c2c:?}");
    eprintln!(
        "{:<24} {:>8} {:>8} {:>8} {:>8}",
        "peer", "p50", "p90", "p99", "p99.9"
    );
    // Each peer's p50 over all its samples, for the ratios below.
    let mut p50_all = Vec::new();
    for ((name, _), all) in peers.iter().zip(&mut samples) {
        let p50 = quantile(all, 0.5);
        p50_all.push(p50);
        eprintln!(
            "{:<24} {:>8} {:>8} {:>8} {:>8}",
            name,
            p50,
            quantile(all, 0.9),
            quantile(all, 0.99),
            quantile(all, 0.999),
        );
    }
    let column = |name: &str| peers.iter().position(|(n, _)| *n == name);
    // The p50 of `a` over that of `b`: of all samples, and the median and
    // range of the rounds' own ratios.
    let ratio = |a: &str, b: &str, what: &str| {
        let (Some(a_at), Some(b_at)) = (column(a), column(b)) else {
            return;
        };
        let all = p50_all[a_at] as f64 / p50_all[b_at] as f64;
        let by_round: Vec<(f64, u64)> = p50s
            .iter()
            .zip(&c2c)
            .map(|(r, &ns)| (r[a_at] as f64 / r[b_at] as f64, ns))
            .collect();
        let near = near_median(&by_round).map_or(String::new(), |(near, mid)| {
            format!("; the {near} rounds with the cores near (c2c < {FAR_CORES_NS} ns): median {mid:.2}")
        });
        let mut rounds: Vec<f64> = by_round.iter().map(|&(r, _)| r).collect();
        let mid = median(&mut rounds);
        eprintln!(
            "{a} p50 / {b} p50 = {all:.2}; rounds: median {mid:.2}, {:.2}–{:.2}{near} ({what})",
            rounds[0],
            rounds[rounds.len() - 1],
        );
    };
    ratio("reqrep_spin", "spsc_pair_spin", "target ≤ 1.30");
    ratio("reqrep_backoff", "spsc_pair_backoff", "target ≤ 1.30");
    ratio(
        "reqrep_spin",
        "spsc_pair_spin_24b",
        "same message sizes; not a target",
    );
}

criterion_group! {
    name = benches;
    config = common::config()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = round_trip
}

fn main() {
    benches();
    if common::wanted("percentiles") {
        percentiles();
    }
    Criterion::default().configure_from_args().final_summary();
}
