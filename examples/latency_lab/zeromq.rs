//! The ZeroMQ peers (`--features zmq`, links the system libzmq): inproc
//! PAIR, PUB/SUB and REQ/REP sockets, 8-byte messages received into a
//! buffer (no allocation per message on the lab's side). High-water marks
//! of 1024, as the rings' capacity.

use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

use hdrhistogram::Histogram;

use crate::endpoints::{Mode, Rx, Tx};
use crate::harness::{pingpong, Unit, CAPACITY};
use crate::subjects::{pair_latency, pair_rate, round_trip_rate, Family, Subject};

extern "C" {
    // libzmq's own entry point (linked by the `zmq` crate): the crate's safe
    // API has no setter for `ZMQ_XPUB_NODROP`.
    fn zmq_setsockopt(
        socket: *mut c_void,
        option: c_int,
        value: *const c_void,
        len: usize,
    ) -> c_int;
}

/// `ZMQ_XPUB_NODROP` (zmq.h): block at the high-water mark, do not drop.
const ZMQ_XPUB_NODROP: c_int = 69;

/// A fresh `inproc://` address.
fn address(kind: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "inproc://latency-lab-{kind}-{}",
        // Relaxed: a unique name counter.
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A socket of the given kind, high-water marks of [`CAPACITY`], no linger.
fn socket(context: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let socket = context.socket(kind).expect("zmq socket");
    socket.set_sndhwm(CAPACITY as i32).expect("zmq sndhwm");
    socket.set_rcvhwm(CAPACITY as i32).expect("zmq rcvhwm");
    socket.set_linger(0).expect("zmq linger");
    socket
}

/// One end of a ZeroMQ connection (the socket keeps its context alive).
pub struct Socket(zmq::Socket);

impl Tx for Socket {
    fn put(&mut self, value: u64, _mode: Mode) -> Result<(), String> {
        self.0
            .send(&value.to_le_bytes()[..], 0)
            .map_err(|e| format!("zmq send: {e}"))
    }
}

impl Rx for Socket {
    fn take(&mut self, _mode: Mode) -> Result<u64, String> {
        let mut buffer = [0u8; 8];
        match self.0.recv_into(&mut buffer, 0) {
            Ok(8) => Ok(u64::from_le_bytes(buffer)),
            Ok(len) => Err(format!("zmq: a message of {len} bytes")),
            Err(e) => Err(format!("zmq recv: {e}")),
        }
    }
}

/// A PAIR connection, used one way.
fn pair() -> (Socket, Socket) {
    let context = zmq::Context::new();
    let address = address("pair");
    let rx = socket(&context, zmq::PAIR);
    rx.bind(&address).expect("zmq bind");
    let tx = socket(&context, zmq::PAIR);
    tx.connect(&address).expect("zmq connect");
    (Socket(tx), Socket(rx))
}

/// An XPUB with `ZMQ_XPUB_NODROP` (so that it blocks at the high-water mark
/// like the lossless subjects instead of dropping) and one SUB subscribed
/// to everything; returns once the subscription has reached the publisher
/// (no slow-joiner loss).
fn pub_sub() -> (Socket, Socket) {
    let context = zmq::Context::new();
    let address = address("pubsub");
    let mut publisher = socket(&context, zmq::XPUB);
    let on: c_int = 1;
    // SAFETY: a live socket pointer, an option libzmq documents as an int,
    // and a pointer to an int with its size.
    let rc = unsafe {
        zmq_setsockopt(
            publisher.as_mut_ptr(),
            ZMQ_XPUB_NODROP,
            (&on as *const c_int).cast(),
            std::mem::size_of::<c_int>(),
        )
    };
    assert_eq!(rc, 0, "zmq: ZMQ_XPUB_NODROP refused");
    publisher.bind(&address).expect("zmq bind");
    let subscriber = socket(&context, zmq::SUB);
    subscriber.connect(&address).expect("zmq connect");
    subscriber.set_subscribe(b"").expect("zmq subscribe");
    let mut buffer = [0u8; 16];
    publisher
        .recv_into(&mut buffer, 0)
        .expect("zmq: the subscription");
    (Socket(publisher), Socket(subscriber))
}

/// REQ/REP: the figures are whole round trips.
fn req_rep(rounds: u64, warmup: u64) -> Result<Histogram<u64>, String> {
    let context = zmq::Context::new();
    let address = address("reqrep");
    let rep = socket(&context, zmq::REP);
    rep.bind(&address).expect("zmq bind");
    let req = socket(&context, zmq::REQ);
    req.connect(&address).expect("zmq connect");
    let (mut req, mut rep) = (Socket(req), Socket(rep));
    pingpong(
        rounds,
        warmup,
        Unit::RoundTrip,
        move |i| {
            req.put(i, Mode::Block)?;
            req.take(Mode::Block)
        },
        move || {
            let v = rep.take(Mode::Block)?;
            rep.put(v, Mode::Block)
        },
    )
}

/// The ZeroMQ subjects.
pub fn subjects() -> Vec<Subject> {
    let block = Family::Default;
    vec![
        Subject {
            name: "ZeroMQ inproc PAIR",
            wait: "blocking",
            family: block,
            ringbus: false,
            unit: Unit::OneWay,
            latency: |r, w| pair_latency(r, w, Mode::Block, pair),
            rate: |n| pair_rate(n, Mode::Block, pair),
        },
        Subject {
            name: "ZeroMQ inproc PUB/SUB",
            wait: "blocking",
            family: block,
            ringbus: false,
            unit: Unit::OneWay,
            latency: |r, w| pair_latency(r, w, Mode::Block, pub_sub),
            rate: |n| pair_rate(n, Mode::Block, pub_sub),
        },
        Subject {
            name: "ZeroMQ inproc REQ/REP (round trip)",
            wait: "blocking",
            family: block,
            ringbus: false,
            unit: Unit::RoundTrip,
            latency: req_rep,
            rate: |n| round_trip_rate(n, |n| req_rep(n, 0)),
        },
    ]
}
