//! How every subject is driven: pinned threads, the one spin loop, the
//! ping-pong that fills a histogram, the one-way stream that gives a rate,
//! and a watchdog that turns a lost message into a failure, not a hang.

use std::sync::mpsc;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// Slots in every ring and queue of the lab.
pub const CAPACITY: usize = 1024;

/// Whether this machine lets the lab pin two threads to two cores.
pub fn can_pin() -> bool {
    core_affinity::get_core_ids().is_some_and(|cores| cores.len() >= 2)
}

/// Pins the calling thread to core `index` (modulo the core count), if it can.
pub fn pin(index: usize) {
    if let Some(cores) = core_affinity::get_core_ids() {
        if cores.len() >= 2 {
            core_affinity::set_for_current(cores[index % cores.len()]);
        }
    }
}

/// How a spinning subject waits between two failed tries: a spin-loop hint
/// for the first 1024 tries, then `yield_now` (the other side may have lost
/// its core). The same loop as `benches/common`'s `Spinner`, used by every
/// spinning subject, ringbus's and the peers', so none spins better than
/// another.
#[derive(Debug, Default)]
pub struct Spinner(u32);

impl Spinner {
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

/// Spins (with [`Spinner`]) until `f` returns a value or an error.
#[inline]
pub fn spin<T>(mut f: impl FnMut() -> Result<Option<T>, String>) -> Result<T, String> {
    let mut spinner = Spinner::default();
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        spinner.wait();
    }
}

/// A histogram of nanoseconds from 1 ns to 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("valid histogram bounds")
}

/// What a ping-pong measures per sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Half a round trip: publish → receive, one way.
    OneWay,
    /// A whole round trip (request → reply).
    RoundTrip,
}

/// Runs `warmup + rounds` round trips. The pinger (core 0) calls `ping(i)`,
/// which sends `i` and returns what came back; the echo thread (core 1)
/// calls `echo()` once per round trip. Each round trip is timed with
/// `Instant` around `ping`; after the warm-up, half of it (`Unit::OneWay`)
/// or all of it (`Unit::RoundTrip`) goes into the histogram, in ns.
///
/// An echo that is not `i` (a lost, duplicated or reordered message) is an
/// error, and so is any error either side returns.
pub fn pingpong<P, E>(
    rounds: u64,
    warmup: u64,
    unit: Unit,
    mut ping: P,
    mut echo: E,
) -> Result<Histogram<u64>, String>
where
    P: FnMut(u64) -> Result<u64, String> + Send,
    E: FnMut() -> Result<(), String> + Send,
{
    let total = warmup + rounds;
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    thread::scope(|s| {
        let echoer = s.spawn(move || {
            pin(1);
            barrier.wait();
            for _ in 0..total {
                echo()?;
            }
            Ok::<(), String>(())
        });
        let pinger = s.spawn(move || {
            pin(0);
            let mut hist = histogram();
            barrier.wait();
            for i in 0..total {
                let start = Instant::now();
                let back = ping(i)?;
                let ns = start.elapsed().as_nanos() as u64;
                if back != i {
                    return Err(format!(
                        "round trip {i} came back as {back}: a message was lost, duplicated or reordered"
                    ));
                }
                if i >= warmup {
                    let sample = match unit {
                        Unit::OneWay => ns / 2,
                        Unit::RoundTrip => ns,
                    };
                    hist.saturating_record(sample.max(1));
                }
            }
            Ok(hist)
            // `ping` drops with this thread: an echo still waiting sees its
            // peer gone (where the subject can tell).
        });
        let hist = pinger.join().map_err(|_| "pinger panicked".to_string())?;
        let echoed = echoer
            .join()
            .map_err(|_| "echo thread panicked".to_string())?;
        let hist = hist?;
        echoed?;
        Ok(hist)
    })
}

/// Checks a one-way stream: every value `0..n` once, in order.
#[derive(Debug, Default)]
pub struct Check {
    next: u64,
}

impl Check {
    /// Records `value`, which must be the next expected one.
    #[inline]
    pub fn take(&mut self, value: u64) -> Result<(), String> {
        if value != self.next {
            return Err(format!(
                "expected message {} but got {value}: a message was lost, duplicated or reordered",
                self.next
            ));
        }
        self.next += 1;
        Ok(())
    }
}

/// Streams `n` messages one way: `produce(n)` on core 0 sends `0..n`,
/// `consume(n)` on core 1 receives and checks them. Returns messages per
/// second, from the producer's release to the consumer's last message.
pub fn stream<P, C>(n: u64, produce: P, consume: C) -> Result<f64, String>
where
    P: FnOnce(u64) -> Result<(), String> + Send,
    C: FnOnce(u64) -> Result<(), String> + Send,
{
    let barrier = Barrier::new(2);
    let barrier = &barrier;
    let (start, end) = thread::scope(|s| {
        let consumer = s.spawn(move || {
            pin(1);
            barrier.wait();
            consume(n)?;
            Ok::<Instant, String>(Instant::now())
        });
        let producer = s.spawn(move || {
            pin(0);
            barrier.wait();
            let start = Instant::now();
            produce(n)?;
            Ok::<Instant, String>(start)
        });
        let start = producer.join().map_err(|_| "producer panicked".to_string());
        let end = consumer.join().map_err(|_| "consumer panicked".to_string());
        (start, end)
    });
    let (start, end) = (start??, end??);
    let secs = end.saturating_duration_since(start).as_secs_f64();
    Ok(n as f64 / secs.max(1e-9))
}

/// Ends the process with status 1 if it is not dropped within `limit`: a
/// blocking peer that lost a message would otherwise wait forever.
pub struct Watchdog(Option<mpsc::Sender<()>>);

impl Watchdog {
    /// Starts watching `what`.
    pub fn start(what: String, limit: Duration) -> Watchdog {
        let (done, wait) = mpsc::channel::<()>();
        thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
                eprintln!(
                    "FAILED: {what} did not finish within {limit:?}: a message was lost \
                     (or the machine stalled)"
                );
                std::process::exit(1);
            }
        });
        Watchdog(Some(done))
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_catches_loss_and_duplicates() {
        let mut check = Check::default();
        assert!(check.take(0).is_ok());
        assert!(check.take(1).is_ok());
        assert!(check.take(1).is_err(), "a duplicate");
        let mut check = Check::default();
        assert!(check.take(1).is_err(), "a loss");
    }

    #[test]
    fn pingpong_records_half_round_trips_and_catches_a_wrong_echo() {
        let (tx, rx) = mpsc::sync_channel::<u64>(1);
        let (back_tx, back_rx) = mpsc::sync_channel::<u64>(1);
        let hist = pingpong(
            100,
            10,
            Unit::OneWay,
            move |i| {
                tx.send(i).map_err(|e| e.to_string())?;
                back_rx.recv().map_err(|e| e.to_string())
            },
            move || {
                let v = rx.recv().map_err(|e| e.to_string())?;
                back_tx.send(v).map_err(|e| e.to_string())
            },
        )
        .unwrap();
        assert_eq!(hist.len(), 100);

        let (tx, rx) = mpsc::sync_channel::<u64>(1);
        let (back_tx, back_rx) = mpsc::sync_channel::<u64>(1);
        let err = pingpong(
            10,
            0,
            Unit::RoundTrip,
            move |i| {
                tx.send(i).map_err(|e| e.to_string())?;
                back_rx.recv().map_err(|e| e.to_string())
            },
            move || {
                let v = rx.recv().map_err(|e| e.to_string())?;
                back_tx.send(v + 1).map_err(|e| e.to_string())
            },
        );
        assert!(err.is_err());
    }

    #[test]
    fn stream_reports_a_rate_and_fails_on_a_loss() {
        let (tx, rx) = mpsc::sync_channel::<u64>(16);
        let rate = stream(
            1000,
            move |n| (0..n).try_for_each(|i| tx.send(i).map_err(|e| e.to_string())),
            move |n| {
                let mut check = Check::default();
                (0..n).try_for_each(|_| check.take(rx.recv().map_err(|e| e.to_string())?))
            },
        )
        .unwrap();
        assert!(rate > 0.0);

        let (tx, rx) = mpsc::sync_channel::<u64>(16);
        let lost = stream(
            10,
            move |n| {
                (0..n)
                    .filter(|i| *i != 3)
                    .try_for_each(|i| tx.send(i).map_err(|e| e.to_string()))
            },
            move |_| {
                let mut check = Check::default();
                rx.iter().try_for_each(|v| check.take(v))
            },
        );
        assert!(lost.is_err());
    }
}
