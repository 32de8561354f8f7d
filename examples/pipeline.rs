//! Ventilator → workers → sink, the pipeline of a model server (the shape of
//! bert-as-service): one thread hands out jobs, N workers each take the next
//! job when they are free, and a sink collects the results.
//!
//! ```text
//!                         ┌─► worker 0 ─┐
//!   ventilator ─► jobs ───┼─► worker 1 ─┼──► results ─► sink
//!    (Pusher)   pipeline  └─► worker … ─┘    pipeline   (Puller)
//! ```
//!
//! Each job carries the instant it was ventilated; a worker does a little
//! work on it (a few hundred rounds of a xorshift, standing in for the
//! model) and pushes the result into a second pipeline. The sink measures
//! every job's ventilate→sink latency and checks that every job came back
//! exactly once. The ventilator pushes as fast as the rings take jobs, so
//! the run measures the pipeline at saturation: latency includes the time a
//! job waits in the (bounded) job ring behind the others.
//!
//! ```sh
//! cargo run --release --example pipeline                 # 4 000 000 jobs, 2 workers
//! RINGBUS_JOBS=100000 cargo run --release --example pipeline
//! RINGBUS_WORKERS=4 cargo run --release --example pipeline -- 500000
//! ```
//!
//! Prints jobs per second, the latency percentiles and each worker's share;
//! exits with status 1 if a job was lost or delivered twice, 2 on bad
//! arguments.

use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use ringbus::pipeline;

/// Jobs each ring holds.
const CAPACITY: usize = 256;

/// Rounds of xorshift a worker runs per job: the "model".
const WORK_ROUNDS: u32 = 300;

/// A job as the ventilator sends it.
struct Job {
    id: u64,
    ventilated: Instant,
}

/// A job's result as a worker sends it to the sink.
struct Done {
    id: u64,
    ventilated: Instant,
    worker: usize,
    /// The work's output, so that the work is not optimised away.
    output: u64,
}

fn main() -> ExitCode {
    let (jobs, workers) = match (count("RINGBUS_JOBS", 1, 4_000_000), workers()) {
        (Ok(jobs), Ok(workers)) => (jobs, workers),
        (Err(msg), _) | (_, Err(msg)) => {
            eprintln!("error: {msg}");
            eprintln!("usage: pipeline [JOBS]  (or RINGBUS_JOBS=N; RINGBUS_WORKERS=N, default 2)");
            return ExitCode::from(2);
        }
    };
    println!(
        "ringbus pipeline demo: ventilator → {workers} workers → sink, {jobs} jobs, \
         rings of {CAPACITY}, {WORK_ROUNDS} xorshift rounds per job"
    );

    let (ventilator, work) = pipeline::channel::<Job>(CAPACITY);
    let (results, sink) = pipeline::channel::<Done>(CAPACITY);
    let handles: Vec<_> = (0..workers)
        .map(|worker| {
            let (work, results) = (work.clone(), results.clone());
            thread::spawn(move || {
                for job in work {
                    let output = model(job.id);
                    let done = Done {
                        id: job.id,
                        ventilated: job.ventilated,
                        worker,
                        output,
                    };
                    if results.send(done).is_err() {
                        break; // the sink is gone
                    }
                }
            })
        })
        .collect();
    // The workers hold their own clones: the sink's `iter` ends once they
    // are all done, and they are done once the ventilator has gone.
    drop((work, results));

    let start = Instant::now();
    let feeder = thread::spawn(move || {
        for id in 0..jobs {
            let job = Job {
                id,
                ventilated: Instant::now(),
            };
            if ventilator.send(job).is_err() {
                break; // every worker is gone
            }
        }
    });

    let mut seen = vec![0u8; jobs as usize];
    let mut latencies = Vec::with_capacity(jobs as usize);
    let mut shares = vec![0u64; workers];
    let mut checksum = 0u64;
    for done in &sink {
        latencies.push(done.ventilated.elapsed().as_nanos() as u64);
        if let Some(n) = seen.get_mut(done.id as usize) {
            *n = n.saturating_add(1);
        }
        shares[done.worker] += 1;
        checksum = checksum.wrapping_add(done.output);
    }
    let elapsed = start.elapsed();
    feeder.join().expect("ventilator panicked");
    handles
        .into_iter()
        .for_each(|h| h.join().expect("worker panicked"));

    report(jobs, elapsed, &mut latencies, &shares, checksum);
    let lost = seen.iter().filter(|&&n| n == 0).count();
    let twice = seen.iter().filter(|&&n| n > 1).count();
    if lost == 0 && twice == 0 {
        println!("check: all {jobs} jobs came back exactly once");
        ExitCode::SUCCESS
    } else {
        println!("check FAILED: {lost} jobs lost, {twice} delivered more than once");
        ExitCode::from(1)
    }
}

/// The work a worker does on a job.
fn model(id: u64) -> u64 {
    let mut x = id.wrapping_add(1);
    for _ in 0..WORK_ROUNDS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Prints throughput, latency percentiles and each worker's share.
fn report(jobs: u64, elapsed: Duration, latencies: &mut [u64], shares: &[u64], checksum: u64) {
    let secs = elapsed.as_secs_f64();
    println!(
        "throughput: {:.2} M jobs/s ({jobs} jobs in {:.3} s)",
        jobs as f64 / secs / 1e6,
        secs
    );
    if !latencies.is_empty() {
        latencies.sort_unstable();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        println!(
            "latency ventilate→sink (µs): p50 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
            at(0.5) as f64 / 1e3,
            at(0.99) as f64 / 1e3,
            at(0.999) as f64 / 1e3,
            at(1.0) as f64 / 1e3,
        );
    }
    let shares: Vec<String> = shares
        .iter()
        .enumerate()
        .map(|(w, n)| format!("worker {w}: {:.1}%", *n as f64 * 100.0 / jobs.max(1) as f64))
        .collect();
    println!("shares: {}  (checksum {checksum:016x})", shares.join(", "));
}

/// A positive count from the first argument, else from `var`, else `default`.
fn count(var: &str, arg: usize, default: u64) -> Result<u64, String> {
    let raw = std::env::args()
        .nth(arg)
        .or_else(|| std::env::var(var).ok());
    match raw {
        None => Ok(default),
        Some(s) => match s.replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 && n <= u32::MAX as u64 => Ok(n),
            _ => Err(format!("not a job count in 1..=2^32-1: {s:?}")),
        },
    }
}

/// The number of workers, from `RINGBUS_WORKERS` (default 2).
fn workers() -> Result<usize, String> {
    match std::env::var("RINGBUS_WORKERS") {
        Err(_) => Ok(2),
        Ok(s) => match s.parse::<usize>() {
            Ok(n) if (1..=256).contains(&n) => Ok(n),
            _ => Err(format!("not a worker count in 1..=256: {s:?}")),
        },
    }
}
