//! Pipeline benchmarks: ventilator → 2 workers → sink, ringbus's `pipeline`
//! against its peers built the same way, in one run.
//!
//! The ventilator sends the `u64` jobs `0..n` into a queue of 1024; two
//! workers take jobs as they are free and push each one into a second queue
//! of 1024; the sink takes `n` results and checks their count and sum. Four
//! threads on the two cores of the reference machine, unpinned: the
//! scheduler places them, so every peer's blocking wait matters. One
//! criterion iteration is one job; the time runs from the ventilator's start
//! to the sink's last result.
//!
//! A second group, `pipeline_1to2to1_pinned`, runs ringbus, crossbeam-channel
//! and (with `--features zmq`) ZeroMQ with the threads pinned by hand, in the
//! two placements four threads can take on two cores (the workers are
//! interchangeable): `ends_apart` (ventilator and worker 1 on core 0, worker
//! 2 and sink on core 1) and `ends_together` (ventilator and sink on core 0,
//! both workers on core 1). The scheduler puts an unpinned run mostly in one
//! of them, so these rows show how much of its spread is placement.
//!
//! Peers: crossbeam-channel and flume (bounded, cloned receivers), and
//! `std::sync::mpsc::sync_channel`, whose receiver cannot be shared, so the
//! workers take turns on it behind a `Mutex` (the usual thread-pool idiom).
//! With `--features zmq`, ZeroMQ `inproc://` PUSH/PULL sockets in the same
//! shape (send and receive high-water marks of 1024): ZeroMQ's PUSH deals
//! jobs round-robin, where the others let the free worker take the next job.
//!
//! After the criterion groups, `side_by_side` runs ringbus,
//! crossbeam-channel and ZeroMQ in rounds, every peer once a round, in each
//! placement, and prints the ratios issue 5's targets are about (see
//! `common::Rounds`); `cargo bench --features zmq --bench pipeline --
//! side_by_side` runs it alone.
//!
//! Run with `cargo bench --bench pipeline` (add `--features zmq` for the
//! ZeroMQ peer); see `docs/benchmarks.md`.

use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use ringbus::pipeline;

mod common;
use common::{pin, Rounds, Seen};

/// Slots in every queue of this file.
const CAPACITY: usize = 1024;

/// A named peer: moves `n` jobs through ventilator → workers → sink, its
/// threads pinned as the [`Placement`] says (`None`: unpinned), and returns
/// the time.
type Peer = (&'static str, fn(u64, Option<Placement>) -> Duration);

/// Workers between the ventilator and the sink.
const WORKERS: usize = 2;

/// Where a pinned run puts each thread: the core of the ventilator, of
/// each worker and of the sink.
#[derive(Clone, Copy, Debug)]
struct Placement {
    /// The placement's name in a benchmark id.
    name: &'static str,
    ventilator: usize,
    workers: [usize; WORKERS],
    sink: usize,
}

/// Core 0: ventilator and worker 1; core 1: worker 2 and sink.
const ENDS_APART: Placement = Placement {
    name: "ends_apart",
    ventilator: 0,
    workers: [0, 1],
    sink: 1,
};

/// Core 0: ventilator and sink; core 1: both workers.
const ENDS_TOGETHER: Placement = Placement {
    name: "ends_together",
    ventilator: 0,
    workers: [1, 1],
    sink: 0,
};

/// Runs a ventilator, `workers` and a sink on their own threads, pinned as
/// `placement` says (or left to the scheduler) and released together by a
/// barrier. Returns the time
/// from the ventilator's start to the sink's end, read on those threads, and
/// checks what the sink saw.
fn run<V, W, S>(
    n: u64,
    peer: &str,
    placement: Option<Placement>,
    ventilator: V,
    workers: Vec<W>,
    sink: S,
) -> Duration
where
    V: FnOnce() + Send,
    W: FnOnce() + Send,
    S: FnOnce() -> Seen + Send,
{
    assert_eq!(workers.len(), WORKERS, "{peer}: one closure per worker");
    let barrier = Barrier::new(WORKERS + 2);
    let barrier = &barrier;
    let (start, (seen, end)) = thread::scope(|s| {
        let workers: Vec<_> = workers
            .into_iter()
            .enumerate()
            .map(|(k, work)| {
                s.spawn(move || {
                    if let Some(cores) = placement {
                        pin(cores.workers[k]);
                    }
                    barrier.wait();
                    work();
                })
            })
            .collect();
        let sink = s.spawn(move || {
            if let Some(cores) = placement {
                pin(cores.sink);
            }
            barrier.wait();
            let seen = sink();
            (seen, Instant::now())
        });
        let ventilator = s.spawn(move || {
            if let Some(cores) = placement {
                pin(cores.ventilator);
            }
            barrier.wait();
            let start = Instant::now();
            ventilator();
            start
        });
        let start = ventilator.join().expect("ventilator panicked");
        let sink = sink.join().expect("sink panicked");
        for w in workers {
            w.join().expect("worker panicked");
        }
        (start, sink)
    });
    seen.check(n, false, peer);
    end.duration_since(start)
}

/// The sink's loop: `n` results from `recv`, tallied.
#[inline]
fn collect(n: u64, mut recv: impl FnMut() -> u64) -> Seen {
    let mut seen = Seen::default();
    for _ in 0..n {
        seen.take(recv(), 0);
    }
    seen
}

/// ringbus `pipeline`, default wait (`Backoff`).
fn ringbus_pipeline(n: u64, placement: Option<Placement>) -> Duration {
    let (jobs, work) = pipeline::channel::<u64>(CAPACITY);
    let (results, sink) = pipeline::channel::<u64>(CAPACITY);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (work, results) = (work.clone(), results.clone());
            move || {
                for job in work {
                    results.send(job).expect("sink gone");
                }
            }
        })
        .collect();
    drop((work, results));
    let ventilate = move || (0..n).for_each(|j| jobs.send(j).expect("workers gone"));
    let sink = move || collect(n, || sink.recv().expect("ringbus: job lost"));
    run(n, "ringbus pipeline", placement, ventilate, workers, sink)
}

/// crossbeam-channel `bounded(1024)` each way.
fn crossbeam(n: u64, placement: Option<Placement>) -> Duration {
    let (jobs, work) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let (results, sink) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (work, results) = (work.clone(), results.clone());
            move || {
                for job in work {
                    results.send(job).expect("sink gone");
                }
            }
        })
        .collect();
    drop((work, results));
    let ventilate = move || (0..n).for_each(|j| jobs.send(j).expect("workers gone"));
    let sink = move || collect(n, || sink.recv().expect("crossbeam: job lost"));
    run(n, "crossbeam-channel", placement, ventilate, workers, sink)
}

/// flume `bounded(1024)` each way.
fn flume_bounded(n: u64, placement: Option<Placement>) -> Duration {
    let (jobs, work) = flume::bounded::<u64>(CAPACITY);
    let (results, sink) = flume::bounded::<u64>(CAPACITY);
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (work, results) = (work.clone(), results.clone());
            move || {
                for job in work {
                    results.send(job).expect("sink gone");
                }
            }
        })
        .collect();
    drop((work, results));
    let ventilate = move || (0..n).for_each(|j| jobs.send(j).expect("workers gone"));
    let sink = move || collect(n, || sink.recv().expect("flume: job lost"));
    run(n, "flume", placement, ventilate, workers, sink)
}

/// `std::sync::mpsc::sync_channel(1024)` each way; the workers share the job
/// receiver behind a `Mutex`.
fn std_mpsc(n: u64, placement: Option<Placement>) -> Duration {
    let (jobs, work) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
    let (results, sink) = std::sync::mpsc::sync_channel::<u64>(CAPACITY);
    let work = Mutex::new(work);
    let work = &work;
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let results = results.clone();
            move || loop {
                // The guard is a temporary: the lock is released before the
                // job is forwarded.
                let job = work.lock().expect("poisoned").recv();
                match job {
                    Ok(job) => results.send(job).expect("sink gone"),
                    Err(_) => break,
                }
            }
        })
        .collect();
    drop(results);
    let ventilate = move || (0..n).for_each(|j| jobs.send(j).expect("workers gone"));
    let sink = move || collect(n, || sink.recv().expect("std mpsc: job lost"));
    run(n, "std mpsc", placement, ventilate, workers, sink)
}

/// ZeroMQ `inproc://` PUSH/PULL: ventilator PUSH → 2 workers PULL/PUSH →
/// sink PULL. ZeroMQ has no disconnection a worker could wait for, and an
/// end-of-work message per worker could reach the same worker twice (PUSH
/// skips a peer whose queue is full), so the sink raises a flag once it has
/// every result, and the workers, receiving with a 10 ms timeout, stop when
/// they see it (after the timed part).
#[cfg(feature = "zmq")]
fn zmq_push_pull(n: u64, placement: Option<Placement>) -> Duration {
    use std::sync::atomic::{AtomicBool, Ordering};

    let context = zmq::Context::new();
    let socket = |kind| {
        let socket = context.socket(kind).expect("zmq socket");
        socket.set_sndhwm(CAPACITY as i32).expect("zmq sndhwm");
        socket.set_rcvhwm(CAPACITY as i32).expect("zmq rcvhwm");
        socket
    };
    let jobs = socket(zmq::PUSH);
    jobs.bind("inproc://jobs").expect("zmq bind");
    let sink = socket(zmq::PULL);
    sink.bind("inproc://results").expect("zmq bind");
    let done = AtomicBool::new(false);
    let done = &done;
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let work = socket(zmq::PULL);
            work.set_rcvtimeo(10).expect("zmq rcvtimeo");
            work.connect("inproc://jobs").expect("zmq connect");
            let results = socket(zmq::PUSH);
            results.connect("inproc://results").expect("zmq connect");
            move || {
                let mut buf = [0u8; 8];
                loop {
                    match work.recv_into(&mut buf, 0) {
                        Ok(_) => results.send(&buf[..], 0).expect("zmq send"),
                        // Relaxed: a stop flag; the results went through
                        // the sockets.
                        Err(zmq::Error::EAGAIN) if done.load(Ordering::Relaxed) => break,
                        Err(zmq::Error::EAGAIN) => {}
                        Err(err) => panic!("zmq recv: {err}"),
                    }
                }
            }
        })
        .collect();
    let ventilate = move || {
        for j in 0..n {
            jobs.send(&j.to_le_bytes()[..], 0).expect("zmq send");
        }
    };
    let sink = move || {
        let mut buf = [0u8; 8];
        let seen = collect(n, || {
            sink.recv_into(&mut buf, 0).expect("zmq recv");
            u64::from_le_bytes(buf)
        });
        // Relaxed: a stop flag; the join orders the rest.
        done.store(true, Ordering::Relaxed);
        seen
    };
    run(n, "zmq push/pull", placement, ventilate, workers, sink)
}

/// The peers of a group: ringbus and crossbeam-channel, then flume and std
/// when `all`, then ZeroMQ with `--features zmq`.
fn peers(all: bool) -> Vec<Peer> {
    let mut peers: Vec<Peer> = vec![
        ("ringbus_pipeline_backoff", ringbus_pipeline),
        ("crossbeam_channel", crossbeam),
    ];
    if all {
        peers.push(("flume", flume_bounded));
        peers.push(("std_sync_channel_mutex", std_mpsc));
    }
    #[cfg(feature = "zmq")]
    peers.push(("zmq_inproc_push_pull", zmq_push_pull));
    peers
}

fn ventilator_workers_sink(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline_1to2to1");
    group.throughput(Throughput::Elements(1));
    for (name, peer) in peers(true) {
        group.bench_function(name, |b| {
            b.iter_custom(|n| peer(n, None));
        });
    }
    group.finish();
}

/// The same pipeline pinned by hand, in both placements, for the peers of
/// issue 5's targets.
fn ventilator_workers_sink_pinned(c: &mut Criterion) {
    let mut group = c.benchmark_group("pipeline_1to2to1_pinned");
    group.throughput(Throughput::Elements(1));
    let peers = peers(false);
    for placement in [ENDS_APART, ENDS_TOGETHER] {
        for (name, peer) in &peers {
            group.bench_function(format!("{name}/{}", placement.name), |b| {
                b.iter_custom(|n| peer(n, Some(placement)));
            });
        }
    }
    group.finish();
}

/// The peers of issue 5's targets side by side in every placement, in
/// rounds ([`Rounds`]), with the ratios the targets are about.
fn side_by_side() {
    let peers = peers(false);
    for (name, placement) in [
        ("unpinned", None),
        (ENDS_APART.name, Some(ENDS_APART)),
        (ENDS_TOGETHER.name, Some(ENDS_TOGETHER)),
    ] {
        let runs: Vec<_> = peers
            .iter()
            .map(|&(peer, run)| (peer, move |n| run(n, placement)))
            .collect();
        let rounds = Rounds::run(
            &format!("pipeline ventilator → 2 workers → sink, {name}"),
            5_000_000,
            &runs,
        );
        rounds.ratio("ringbus_pipeline_backoff", "crossbeam_channel", 1.5);
        rounds.ratio("ringbus_pipeline_backoff", "zmq_inproc_push_pull", 10.0);
    }
}

criterion_group! {
    name = benches;
    config = common::config();
    targets = ventilator_workers_sink, ventilator_workers_sink_pinned
}

fn main() {
    benches();
    if common::wanted("side_by_side") {
        side_by_side();
    }
    Criterion::default().configure_from_args().final_summary();
}
