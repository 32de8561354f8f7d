//! What the lab measures: every ringbus primitive and pattern, with
//! `Wait::Spin` and the default `Wait::Backoff`, and the peers of
//! `docs/benchmarks.md`, each as a [`Subject`] with a latency run (a
//! ping-pong) and a throughput run (a one-way stream).

use std::time::Instant;

use hdrhistogram::Histogram;
use ringbus::broadcast::{self, lossy};
use ringbus::{mpmc, pipeline, pubsub, reqrep, spsc, Wait};

use crate::endpoints::{DisruptorRx, DisruptorTx, Event, Mode, Rx, TopicPublisher, Tx};
use crate::harness::{pingpong, spin, stream, Check, Unit, CAPACITY};

/// Which plot a subject goes on: the busy-spinning subjects, or those
/// that wait the default (blocking) way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Busy-spinning on both threads (`Wait::Spin`, `try_` spin loops).
    Spin,
    /// The default or blocking wait (`Wait::Backoff`, `recv`).
    Default,
}

/// A throughput figure: messages (or round trips) per second, and what to
/// say beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rate {
    /// Per second.
    pub per_sec: f64,
    /// A caveat (lossy delivery, round trips rather than messages).
    pub note: Option<String>,
}

impl Rate {
    fn plain(per_sec: f64) -> Rate {
        Rate {
            per_sec,
            note: None,
        }
    }
}

/// Runs `rounds` recorded round trips after `warmup` unrecorded ones.
pub type LatencyRun = fn(rounds: u64, warmup: u64) -> Result<Histogram<u64>, String>;
/// Moves `n` messages (or round trips) and says how fast.
pub type RateRun = fn(n: u64) -> Result<Rate, String>;

/// One line of the table and of the plots.
pub struct Subject {
    /// What is measured, e.g. `ringbus spsc`.
    pub name: &'static str,
    /// How it waits, e.g. `Spin`, `Backoff (default)`, `blocking`.
    pub wait: &'static str,
    /// Which plot.
    pub family: Family,
    /// ringbus itself, or a peer.
    pub ringbus: bool,
    /// Whether the latency figures are one way or a whole round trip.
    pub unit: Unit,
    /// The latency run.
    pub latency: LatencyRun,
    /// The throughput run.
    pub rate: RateRun,
}

// ---------------------------------------------------------------------------
// Generic drivers

/// A ping-pong over two queues made by `make`, one each way.
pub(crate) fn pair_latency<S: Tx, R: Rx>(
    rounds: u64,
    warmup: u64,
    mode: Mode,
    mut make: impl FnMut() -> (S, R),
) -> Result<Histogram<u64>, String> {
    let (mut ping_tx, mut ping_rx) = make();
    let (mut pong_tx, mut pong_rx) = make();
    pingpong(
        rounds,
        warmup,
        Unit::OneWay,
        move |i| {
            ping_tx.put(i, mode)?;
            pong_rx.take(mode)
        },
        move || {
            let v = ping_rx.take(mode)?;
            pong_tx.put(v, mode)
        },
    )
}

/// `n` messages one way through a queue made by `make`, each checked.
pub(crate) fn pair_rate<S: Tx, R: Rx>(
    n: u64,
    mode: Mode,
    make: impl FnOnce() -> (S, R),
) -> Result<Rate, String> {
    let (mut tx, mut rx) = make();
    stream(
        n,
        move |n| (0..n).try_for_each(|i| tx.put(i, mode)),
        move |n| {
            let mut check = Check::default();
            (0..n).try_for_each(|_| check.take(rx.take(mode)?))
        },
    )
    .map(Rate::plain)
}

/// `Mode::Spin` for `Wait::Spin`, the blocking calls otherwise.
fn mode(wait: Wait) -> Mode {
    if wait == Wait::Spin {
        Mode::Spin
    } else {
        Mode::Block
    }
}

// ---------------------------------------------------------------------------
// ringbus

fn spsc(wait: Wait) -> (spsc::Sender<u64>, spsc::Receiver<u64>) {
    spsc::Builder::new(CAPACITY).wait(wait).build()
}

fn mpmc(wait: Wait) -> (mpmc::Sender<u64>, mpmc::Receiver<u64>) {
    mpmc::Builder::new(CAPACITY).wait(wait).build()
}

fn broadcast(wait: Wait) -> (broadcast::Publisher<u64>, broadcast::Subscriber<u64>) {
    broadcast::Builder::new(CAPACITY).wait(wait).build()
}

fn lossy(wait: Wait) -> (lossy::Publisher<u64>, lossy::Subscriber<u64>) {
    lossy::Builder::new(CAPACITY).wait(wait).build()
}

/// A publisher and one subscriber to its one topic, `lab.ping`.
fn pubsub(wait: Wait) -> (TopicPublisher, pubsub::Subscriber<u64>) {
    let (publisher, mut subscriber) = pubsub::Builder::new(CAPACITY).wait(wait).build();
    subscriber.subscribe("lab.ping").expect("a valid pattern");
    let topic = publisher.topic("lab.ping").expect("a valid topic");
    (TopicPublisher { publisher, topic }, subscriber)
}

fn pipeline(wait: Wait) -> (pipeline::Pusher<u64>, pipeline::Puller<u64>) {
    pipeline::Builder::new(CAPACITY).wait(wait).build()
}

/// `broadcast::lossy` streams unthrottled, as it is used: the publisher
/// never waits, so the subscriber may be lapped. Received plus reported
/// missed (`Lagged(n)`) must be `n`, and what arrives must be in order; the
/// rate is messages published per second, with the share received.
fn lossy_rate(n: u64, wait: Wait) -> Result<Rate, String> {
    let (mut tx, mut rx) = lossy(wait);
    let got = std::sync::atomic::AtomicU64::new(0);
    let got = &got;
    let rate = stream(
        n,
        move |n| (0..n).try_for_each(|i| tx.put(i, Mode::Spin)),
        move |n| {
            let (mut received, mut missed, mut next) = (0u64, 0u64, 0u64);
            loop {
                let step = if wait == Wait::Spin {
                    spin(|| match rx.try_recv() {
                        Ok(v) => Ok(Some(Ok(v))),
                        Err(lossy::TryRecvError::Empty) => Ok(None),
                        Err(lossy::TryRecvError::Lagged(k)) => Ok(Some(Err(Some(k)))),
                        Err(lossy::TryRecvError::Disconnected) => Ok(Some(Err(None))),
                    })?
                } else {
                    match rx.recv() {
                        Ok(v) => Ok(v),
                        Err(lossy::RecvError::Lagged(k)) => Err(Some(k)),
                        Err(lossy::RecvError::Disconnected) => Err(None),
                    }
                };
                match step {
                    Ok(v) if v >= next => {
                        received += 1;
                        next = v + 1;
                    }
                    Ok(v) => {
                        return Err(format!(
                            "lossy: {v} after {}: duplicated or reordered",
                            next - 1
                        ))
                    }
                    Err(Some(k)) => missed += k,
                    Err(None) => break,
                }
            }
            if received + missed != n {
                return Err(format!(
                    "lossy: received {received} + reported missed {missed} != {n} sent"
                ));
            }
            // Relaxed: read after the join.
            got.store(received, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        },
    )?;
    // Relaxed: the join ordered the store.
    let received = got.load(std::sync::atomic::Ordering::Relaxed);
    let note = if received == n {
        "published; all received".to_string()
    } else {
        let share = 100.0 * received as f64 / n as f64;
        format!("published; {share:.1}% received, the rest reported as lagged")
    };
    Ok(Rate {
        per_sec: rate,
        note: Some(note),
    })
}

/// reqrep: a requester on core 0, a replier on core 1; the figures are whole
/// round trips.
fn reqrep_latency(rounds: u64, warmup: u64, wait: Wait) -> Result<Histogram<u64>, String> {
    let (requester, replier) = reqrep::Builder::new(CAPACITY)
        .wait(wait)
        .build::<u64, u64>();
    let spin_recv = wait == Wait::Spin;
    pingpong(
        rounds,
        warmup,
        Unit::RoundTrip,
        move |i| requester.request(i).map_err(|e| format!("request: {e}")),
        move || {
            let request = if spin_recv {
                spin(|| match replier.try_recv() {
                    Ok(r) => Ok(Some(r)),
                    Err(ringbus::TryRecvError::Empty) => Ok(None),
                    Err(ringbus::TryRecvError::Disconnected) => Err("requester gone".to_string()),
                })?
            } else {
                replier.recv().map_err(|_| "requester gone".to_string())?
            };
            let v = *request.payload();
            request
                .reply(v)
                .map_err(|_| "requester stopped waiting".to_string())
        },
    )
}

/// Round trips per second: `n` requests, one at a time.
pub(crate) fn round_trip_rate(
    n: u64,
    latency: impl FnOnce(u64) -> Result<Histogram<u64>, String>,
) -> Result<Rate, String> {
    let start = Instant::now();
    latency(n)?;
    Ok(Rate {
        per_sec: n as f64 / start.elapsed().as_secs_f64(),
        note: Some("round trips/s, one request in flight".to_string()),
    })
}

// ---------------------------------------------------------------------------
// Peers

fn rtrb() -> (rtrb::Producer<u64>, rtrb::Consumer<u64>) {
    rtrb::RingBuffer::new(CAPACITY)
}

fn crossbeam() -> (
    crossbeam_channel::Sender<u64>,
    crossbeam_channel::Receiver<u64>,
) {
    crossbeam_channel::bounded(CAPACITY)
}

fn flume() -> (flume::Sender<u64>, flume::Receiver<u64>) {
    flume::bounded(CAPACITY)
}

fn std_sync() -> (
    std::sync::mpsc::SyncSender<u64>,
    std::sync::mpsc::Receiver<u64>,
) {
    std::sync::mpsc::sync_channel(CAPACITY)
}

fn tokio_broadcast() -> (
    tokio::sync::broadcast::Sender<u64>,
    tokio::sync::broadcast::Receiver<u64>,
) {
    tokio::sync::broadcast::channel(CAPACITY)
}

fn bus_crate() -> (bus::Bus<u64>, bus::BusReader<u64>) {
    let mut bus = bus::Bus::new(CAPACITY);
    let reader = bus.add_rx();
    (bus, reader)
}

/// disruptor 4, single producer, one `EventPoller` polled by the lab's own
/// pinned thread (so it is pinned and spins like every other subject).
fn disruptor() -> (
    DisruptorTx<disruptor::SingleProducer<Event, disruptor::SingleConsumerBarrier>>,
    DisruptorRx,
) {
    let builder = disruptor::build_single_producer(
        CAPACITY,
        || Event { value: 0 },
        disruptor::BusySpinWithSpinLoopHint,
    );
    let (poller, builder) = builder.new_event_poller();
    (DisruptorTx(builder.build()), DisruptorRx(poller))
}

// ---------------------------------------------------------------------------
// The list

/// A subject built from a queue maker and a mode.
macro_rules! queue {
    ($name:expr, $wait:expr, $family:expr, $ringbus:expr, $mode:expr, $make:expr) => {
        Subject {
            name: $name,
            wait: $wait,
            family: $family,
            ringbus: $ringbus,
            unit: Unit::OneWay,
            latency: |r, w| pair_latency(r, w, $mode, $make),
            rate: |n| pair_rate(n, $mode, $make),
        }
    };
}

/// The seven ringbus subjects with one wait (a path such as `Wait::Spin`:
/// `fn` pointers cannot capture a variable, so the wait is spelled into each).
macro_rules! ringbus_with {
    ($wait:path, $label:expr, $family:expr) => {
        vec![
            queue!("ringbus spsc", $label, $family, true, mode($wait), || spsc(
                $wait
            )),
            queue!("ringbus mpmc", $label, $family, true, mode($wait), || mpmc(
                $wait
            )),
            queue!(
                "ringbus broadcast",
                $label,
                $family,
                true,
                mode($wait),
                || { broadcast($wait) }
            ),
            Subject {
                rate: |n| lossy_rate(n, $wait),
                ..queue!(
                    "ringbus broadcast::lossy",
                    $label,
                    $family,
                    true,
                    mode($wait),
                    || { lossy($wait) }
                )
            },
            queue!(
                "ringbus pubsub, 1 topic",
                $label,
                $family,
                true,
                mode($wait),
                || { pubsub($wait) }
            ),
            queue!(
                "ringbus pipeline",
                $label,
                $family,
                true,
                mode($wait),
                || { pipeline($wait) }
            ),
            Subject {
                name: "ringbus reqrep (round trip)",
                wait: $label,
                family: $family,
                ringbus: true,
                unit: Unit::RoundTrip,
                latency: |r, w| reqrep_latency(r, w, $wait),
                rate: |n| round_trip_rate(n, |n| reqrep_latency(n, 0, $wait)),
            },
        ]
    };
}

/// Every ringbus subject, with `Wait::Spin` and with the default `Backoff`.
pub fn ringbus_subjects() -> Vec<Subject> {
    let mut out = ringbus_with!(Wait::Spin, "Spin", Family::Spin);
    out.extend(ringbus_with!(
        Wait::Backoff,
        "Backoff (default)",
        Family::Default
    ));
    out
}

/// The peers of `docs/benchmarks.md`, each in its natural wait (and
/// crossbeam-channel and tokio broadcast both ways).
pub fn peer_subjects() -> Vec<Subject> {
    let (spin, block) = (Family::Spin, Family::Default);
    #[allow(unused_mut)] // pushed to with `--features zmq`
    let mut out = vec![
        queue!("rtrb", "spin", spin, false, Mode::Spin, rtrb),
        queue!(
            "crossbeam-channel",
            "try_ spin",
            spin,
            false,
            Mode::Spin,
            crossbeam
        ),
        queue!(
            "tokio broadcast",
            "try_recv spin",
            spin,
            false,
            Mode::Spin,
            tokio_broadcast
        ),
        queue!(
            "disruptor (EventPoller)",
            "spin",
            spin,
            false,
            Mode::Spin,
            disruptor
        ),
        queue!(
            "crossbeam-channel",
            "blocking",
            block,
            false,
            Mode::Block,
            crossbeam
        ),
        queue!("flume", "blocking", block, false, Mode::Block, flume),
        queue!(
            "std sync_channel",
            "blocking",
            block,
            false,
            Mode::Block,
            std_sync
        ),
        queue!(
            "tokio broadcast",
            "blocking_recv",
            block,
            false,
            Mode::Block,
            tokio_broadcast
        ),
        queue!("bus", "blocking", block, false, Mode::Block, bus_crate),
    ];
    #[cfg(feature = "zmq")]
    out.extend(crate::zeromq::subjects());
    out
}
