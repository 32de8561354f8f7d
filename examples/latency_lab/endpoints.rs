//! One interface over every subject's two ends, so that one ping-pong and one
//! stream drive them all: [`Tx::put`] sends a `u64`, [`Rx::take`] receives
//! one, each either spinning on the `try_` form with the lab's [`Spinner`]
//! ([`Mode::Spin`]) or calling the blocking form ([`Mode::Block`], which for
//! ringbus is the ring's own `Wait`).

use ringbus::broadcast::{self, lossy};
use ringbus::{mpmc, pipeline, pubsub, spsc, TryRecvError, TrySendError};

use crate::harness::{spin, Spinner, CAPACITY};

/// How an end waits when it cannot go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `try_` operations in the lab's spin loop.
    Spin,
    /// The blocking operation (`send`, `recv`).
    Block,
}

/// A sending end.
pub trait Tx: Send {
    /// Sends `value`, waiting as `mode` says while the queue is full.
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String>;
}

/// A receiving end.
pub trait Rx: Send {
    /// Receives the next value, waiting as `mode` says while there is none.
    fn take(&mut self, mode: Mode) -> Result<u64, String>;
}

fn gone() -> String {
    "the other side is gone".to_string()
}

/// A ringbus `try_send` in the spin loop, or `send`.
fn ringbus_put(
    value: u64,
    mode: Mode,
    mut try_send: impl FnMut(u64) -> Result<(), TrySendError<u64>>,
    send: impl FnOnce(u64) -> Result<(), ringbus::SendError<u64>>,
) -> Result<(), String> {
    match mode {
        Mode::Block => send(value).map_err(|_| gone()),
        Mode::Spin => {
            let mut value = value;
            spin(|| match try_send(value) {
                Ok(()) => Ok(Some(())),
                Err(TrySendError::Full(v)) => {
                    value = v;
                    Ok(None)
                }
                Err(TrySendError::Disconnected(_)) => Err(gone()),
            })
        }
    }
}

/// A ringbus `try_recv` in the spin loop.
fn ringbus_spin_take(
    mut try_recv: impl FnMut() -> Result<u64, TryRecvError>,
) -> Result<u64, String> {
    spin(|| match try_recv() {
        Ok(v) => Ok(Some(v)),
        Err(TryRecvError::Empty) => Ok(None),
        Err(TryRecvError::Disconnected) => Err(gone()),
    })
}

// ---------------------------------------------------------------------------
// ringbus

impl Tx for spsc::Sender<u64> {
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String> {
        ringbus_put(value, mode, |v| self.try_send(v), |v| self.send(v))
    }
}

impl Rx for spsc::Receiver<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        match mode {
            Mode::Spin => ringbus_spin_take(|| self.try_recv()),
            Mode::Block => self.recv().map_err(|_| gone()),
        }
    }
}

impl Tx for mpmc::Sender<u64> {
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String> {
        ringbus_put(value, mode, |v| self.try_send(v), |v| self.send(v))
    }
}

impl Rx for mpmc::Receiver<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        match mode {
            Mode::Spin => ringbus_spin_take(|| self.try_recv()),
            Mode::Block => self.recv().map_err(|_| gone()),
        }
    }
}

impl Tx for pipeline::Pusher<u64> {
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String> {
        ringbus_put(value, mode, |v| self.try_send(v), |v| self.send(v))
    }
}

impl Rx for pipeline::Puller<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        match mode {
            Mode::Spin => ringbus_spin_take(|| self.try_recv()),
            Mode::Block => self.recv().map_err(|_| gone()),
        }
    }
}

impl Tx for broadcast::Publisher<u64> {
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String> {
        ringbus_put(value, mode, |v| self.try_send(v), |v| self.send(v))
    }
}

impl Rx for broadcast::Subscriber<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        match mode {
            Mode::Spin => ringbus_spin_take(|| self.try_recv().map(|sample| *sample)),
            Mode::Block => self.recv().map(|sample| *sample).map_err(|_| gone()),
        }
    }
}

/// A lossy publisher never waits: `mode` does not apply.
impl Tx for lossy::Publisher<u64> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        self.send(value).map_err(|_| gone())
    }
}

/// A lag is an error here: in a ping-pong nothing may be overwritten.
impl Rx for lossy::Subscriber<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        match mode {
            Mode::Spin => spin(|| match self.try_recv() {
                Ok(v) => Ok(Some(v)),
                Err(lossy::TryRecvError::Empty) => Ok(None),
                Err(lossy::TryRecvError::Lagged(n)) => Err(format!("lagged, missed {n}")),
                Err(lossy::TryRecvError::Disconnected) => Err(gone()),
            }),
            Mode::Block => self.recv().map_err(|e| format!("{e:?}")),
        }
    }
}

/// A pub/sub publisher with the one topic it sends on.
pub struct TopicPublisher {
    /// The publisher.
    pub publisher: pubsub::Publisher<u64>,
    /// The interned topic.
    pub topic: pubsub::Topic<u64>,
}

/// Every lab message reaches exactly one subscriber.
fn reached_one(n: usize) -> Result<(), String> {
    match n {
        1 => Ok(()),
        n => Err(format!("a message reached {n} subscribers, not 1")),
    }
}

impl Tx for TopicPublisher {
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String> {
        match mode {
            Mode::Block => reached_one(self.publisher.send(&self.topic, value)),
            Mode::Spin => {
                let mut pending = match self.publisher.try_send(&self.topic, value) {
                    Ok(n) => return reached_one(n),
                    Err(pending) => pending,
                };
                let mut spinner = Spinner::default();
                loop {
                    spinner.wait();
                    match pending.try_send() {
                        Ok(n) => return reached_one(n),
                        Err(still) => pending = still,
                    }
                }
            }
        }
    }
}

impl Rx for pubsub::Subscriber<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        match mode {
            Mode::Spin => ringbus_spin_take(|| self.try_recv().map(|m| *m.payload())),
            Mode::Block => self.recv().map(|m| *m.payload()).map_err(|_| gone()),
        }
    }
}

// ---------------------------------------------------------------------------
// Peers

/// rtrb only spins: it has no blocking operations.
impl Tx for rtrb::Producer<u64> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        let mut value = value;
        spin(|| match self.push(value) {
            Ok(()) => Ok(Some(())),
            Err(rtrb::PushError::Full(v)) if !self.is_abandoned() => {
                value = v;
                Ok(None)
            }
            Err(_) => Err(gone()),
        })
    }
}

impl Rx for rtrb::Consumer<u64> {
    fn take(&mut self, _mode: Mode) -> Result<u64, String> {
        spin(|| match self.pop() {
            Ok(v) => Ok(Some(v)),
            // Gone: take what it left before giving up.
            Err(_) if self.is_abandoned() => self.pop().map(Some).map_err(|_| gone()),
            Err(_) => Ok(None),
        })
    }
}

impl Tx for crossbeam_channel::Sender<u64> {
    fn put(&mut self, value: u64, mode: Mode) -> Result<(), String> {
        use crossbeam_channel::TrySendError as E;
        match mode {
            Mode::Block => self.send(value).map_err(|_| gone()),
            Mode::Spin => {
                let mut value = value;
                spin(|| match self.try_send(value) {
                    Ok(()) => Ok(Some(())),
                    Err(E::Full(v)) => {
                        value = v;
                        Ok(None)
                    }
                    Err(E::Disconnected(_)) => Err(gone()),
                })
            }
        }
    }
}

impl Rx for crossbeam_channel::Receiver<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        use crossbeam_channel::TryRecvError as E;
        match mode {
            Mode::Block => self.recv().map_err(|_| gone()),
            Mode::Spin => spin(|| match self.try_recv() {
                Ok(v) => Ok(Some(v)),
                Err(E::Empty) => Ok(None),
                Err(E::Disconnected) => Err(gone()),
            }),
        }
    }
}

/// flume, blocking.
impl Tx for flume::Sender<u64> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        self.send(value).map_err(|_| gone())
    }
}

impl Rx for flume::Receiver<u64> {
    fn take(&mut self, _mode: Mode) -> Result<u64, String> {
        self.recv().map_err(|_| gone())
    }
}

/// `std::sync::mpsc::sync_channel`, blocking.
impl Tx for std::sync::mpsc::SyncSender<u64> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        self.send(value).map_err(|_| gone())
    }
}

impl Rx for std::sync::mpsc::Receiver<u64> {
    fn take(&mut self, _mode: Mode) -> Result<u64, String> {
        self.recv().map_err(|_| gone())
    }
}

/// tokio's broadcast never waits for a slow receiver (it drops the oldest):
/// the sender spins while the ring is full, so that nothing is lost.
impl Tx for tokio::sync::broadcast::Sender<u64> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        let mut spinner = Spinner::default();
        while self.len() >= CAPACITY {
            spinner.wait();
        }
        self.send(value).map(|_| ()).map_err(|_| gone())
    }
}

impl Rx for tokio::sync::broadcast::Receiver<u64> {
    fn take(&mut self, mode: Mode) -> Result<u64, String> {
        use tokio::sync::broadcast::error::TryRecvError as E;
        match mode {
            Mode::Block => self.blocking_recv().map_err(|e| e.to_string()),
            Mode::Spin => spin(|| match self.try_recv() {
                Ok(v) => Ok(Some(v)),
                Err(E::Empty) => Ok(None),
                Err(e) => Err(e.to_string()),
            }),
        }
    }
}

/// The `bus` crate, blocking.
impl Tx for bus::Bus<u64> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        self.broadcast(value);
        Ok(())
    }
}

impl Rx for bus::BusReader<u64> {
    fn take(&mut self, _mode: Mode) -> Result<u64, String> {
        self.recv().map_err(|_| gone())
    }
}

/// The disruptor's event.
pub struct Event {
    /// The message.
    pub value: u64,
}

/// disruptor 4, single producer: `try_publish` in the lab's spin loop.
pub struct DisruptorTx<P>(pub P);

impl<P: disruptor::Producer<Event> + Send> Tx for DisruptorTx<P> {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        spin(|| Ok(self.0.try_publish(|e| e.value = value).ok().map(|_| ())))
    }
}

/// disruptor 4's `EventPoller` on a thread of the lab's own, one event per
/// poll, in the lab's spin loop.
pub struct DisruptorRx(pub disruptor::EventPoller<Event, disruptor::SingleProducerBarrier>);

impl Rx for DisruptorRx {
    fn take(&mut self, _mode: Mode) -> Result<u64, String> {
        spin(|| match self.0.take(1) {
            Ok(mut events) => Ok((&mut events).next().map(|e| e.value)),
            Err(disruptor::Polling::NoEvents) => Ok(None),
            Err(disruptor::Polling::Shutdown) => Err(gone()),
        })
    }
}
