//! REQ/REP behaviour: every reply reaches its own request across many
//! requesters and repliers, a timed-out request's late reply is never
//! returned for the next one, a requester learns when no reply can come
//! (repliers gone in every order, request dropped unanswered), and a
//! leaked `request_async` future leaves the next request sound. (No
//! allocation per round trip: `tests/alloc.rs`.)

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use ringbus::reqrep::{self, ReplyError, RequestError};
use ringbus::{RecvError, Wait};

/// What a replier answers to `n`: a value that names the request.
fn answer(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xABCD
}

/// 4 requesters × 10 000 requests, 2 repliers: every reply is the answer to
/// the request it came back for, and the repliers share the load.
#[test]
fn every_reply_matches_its_request() {
    const REQUESTERS: u64 = 4;
    const REQUESTS: u64 = 10_000;
    let (requester, replier) = reqrep::channel::<u64, u64>(64);
    let repliers: Vec<_> = (0..2)
        .map(|_| {
            let replier = replier.clone();
            thread::spawn(move || {
                let mut served = 0u64;
                for request in &replier {
                    let n = *request.payload();
                    request.reply(answer(n)).unwrap();
                    served += 1;
                }
                served
            })
        })
        .collect();
    drop(replier);
    let requesters: Vec<_> = (0..REQUESTERS)
        .map(|r| {
            let requester = requester.clone();
            thread::spawn(move || {
                for i in 0..REQUESTS {
                    let n = r << 32 | i;
                    assert_eq!(
                        requester.request(n),
                        Ok(answer(n)),
                        "requester {r}, request {i}"
                    );
                }
            })
        })
        .collect();
    drop(requester);
    for r in requesters {
        r.join().unwrap();
    }
    let served: Vec<u64> = repliers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(served.iter().sum::<u64>(), REQUESTERS * REQUESTS);
}

/// A request times out while its replier holds it; the late reply is handed
/// back to the replier, and the requester's next request gets its own reply,
/// never the stale one.
#[test]
fn late_reply_never_answers_the_next_request() {
    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
    let (timed_out_tx, timed_out) = mpsc::channel::<()>();
    let server = thread::spawn(move || {
        let first = replier.recv().unwrap();
        assert_eq!(*first.payload(), 1);
        timed_out.recv().unwrap(); // hold it until the requester gave up
        assert!(first.is_abandoned());
        assert_eq!(first.reply(100), Err(ReplyError(100)));
        let second = replier.recv().unwrap();
        assert_eq!(*second.payload(), 2);
        second.reply(200).unwrap();
    });
    assert_eq!(
        requester.request_timeout(1, Duration::from_millis(20)),
        Err(RequestError::Timeout(None))
    );
    timed_out_tx.send(()).unwrap();
    assert_eq!(requester.request(2), Ok(200));
    server.join().unwrap();
}

/// The same race without a handshake: the late reply may land while the
/// next request is already armed; it must still never be returned for it.
#[test]
fn late_replies_race_the_next_request() {
    let (requester, replier) = reqrep::channel::<u32, u32>(8);
    let server = thread::spawn(move || {
        for request in &replier {
            let n = *request.payload();
            if n % 2 == 0 {
                thread::sleep(Duration::from_micros(300)); // later than the timeout
            }
            let _ = request.reply(n + 1_000);
        }
    });
    for n in 0..200u32 {
        match requester.request_timeout(n, Duration::from_micros(100)) {
            Ok(reply) => assert_eq!(reply, n + 1_000, "reply to another request"),
            Err(RequestError::Timeout(_)) => {}
            Err(err) => panic!("unexpected {err:?}"),
        }
    }
    drop(requester);
    server.join().unwrap();
}

/// Every replier gone before the request: it comes back at once.
#[test]
fn repliers_gone_before_the_request() {
    let (requester, replier) = reqrep::channel::<String, u32>(4);
    let other = replier.clone();
    drop(replier);
    assert!(!requester.is_disconnected());
    drop(other);
    assert!(requester.is_disconnected());
    assert_eq!(
        requester.request("hi".into()),
        Err(RequestError::Disconnected("hi".into()))
    );
    assert_eq!(
        requester.request_timeout("again".into(), Duration::from_secs(1)),
        Err(RequestError::Disconnected("again".into()))
    );
}

/// The last replier leaves while the request waits in the ring: the parked
/// requester wakes with `Unanswered`.
#[test]
fn last_replier_leaves_with_the_request_queued() {
    for wait in [Wait::Backoff, Wait::Park, Wait::Yield] {
        let (requester, replier) = reqrep::Builder::new(4).wait(wait).build::<u32, u32>();
        let client = thread::spawn(move || requester.request(1));
        while replier.is_empty() {
            thread::sleep(Duration::from_millis(1));
        }
        drop(replier);
        assert_eq!(
            client.join().unwrap(),
            Err(RequestError::Unanswered),
            "{wait:?}"
        );
    }
}

/// A request whose payload panics when dropped.
struct Bomb {
    /// Counts every drop, the panicking one too.
    drops: Arc<AtomicUsize>,
    bomb: bool,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        // Relaxed: read after the threads that drop are joined.
        self.drops.fetch_add(1, Ordering::Relaxed);
        if self.bomb && !thread::panicking() {
            panic!("this request's payload panics on drop");
        }
    }
}

/// The last replier leaves with three requests queued, and the first one's
/// payload panics when the replier drops it: the panic goes on, and still
/// every requester gets `Unanswered` and every payload is dropped once.
#[test]
fn last_replier_drains_past_a_payload_that_panics_on_drop() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<Bomb, u8>();
    let mut clients = Vec::new();
    for bomb in [true, false, false] {
        let (requester, drops) = (requester.clone(), drops.clone());
        clients.push(thread::spawn(move || {
            requester.request_timeout(Bomb { drops, bomb }, Duration::from_secs(10))
        }));
        // In the ring in this order: the bomb is dropped first.
        while replier.len() < clients.len() {
            thread::sleep(Duration::from_millis(1));
        }
    }
    let panicked = catch_unwind(AssertUnwindSafe(move || drop(replier)));
    assert!(panicked.is_err(), "the payload's panic goes on");
    for client in clients {
        match client.join().unwrap() {
            Err(RequestError::Unanswered) => {}
            other => panic!("a queued requester got {:?}", other.map(|_| ())),
        }
    }
    // Relaxed: every thread that dropped a payload is joined.
    assert_eq!(drops.load(Ordering::Relaxed), 3);
}

/// The last replier leaves while requests keep coming, many times over: no
/// requester hangs, each gets a reply or an error.
#[test]
fn repliers_leaving_under_load_never_hang_a_requester() {
    for round in 0..200 {
        let (requester, replier) = reqrep::Builder::new(2)
            .wait(Wait::Backoff)
            .build::<u32, u32>();
        let clients: Vec<_> = (0..2)
            .map(|_| {
                let requester = requester.clone();
                thread::spawn(move || {
                    for n in 0..5 {
                        match requester.request(n) {
                            Ok(reply) => assert_eq!(reply, n * 3),
                            Err(RequestError::Disconnected(back)) => assert_eq!(back, n),
                            Err(RequestError::Unanswered) => {}
                            Err(err) => panic!("round {round}: unexpected {err:?}"),
                        }
                    }
                })
            })
            .collect();
        drop(requester);
        for _ in 0..round % 4 {
            if let Ok(request) = replier.recv() {
                let n = *request.payload();
                let _ = request.reply(n * 3);
            }
        }
        drop(replier);
        for c in clients {
            c.join().unwrap();
        }
    }
}

/// The replier handle goes, but a request it already took is still
/// answered, or reports `Unanswered` when dropped.
#[test]
fn taken_requests_outlive_their_replier() {
    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
    let (taken_tx, taken) = mpsc::channel();
    let server = thread::spawn(move || {
        let request = replier.recv().unwrap();
        drop(replier);
        taken.recv().unwrap();
        let n = *request.payload();
        request.reply(n + 1).unwrap();
    });
    taken_tx.send(()).unwrap();
    assert_eq!(requester.request(1), Ok(2));
    server.join().unwrap();

    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
    let server = thread::spawn(move || {
        let request = replier.recv().unwrap();
        drop(replier);
        thread::sleep(Duration::from_millis(10));
        drop(request);
    });
    assert_eq!(requester.request(1), Err(RequestError::Unanswered));
    server.join().unwrap();
    assert_eq!(requester.request(2), Err(RequestError::Disconnected(2)));
}

/// A `Request` (or its `ReplyTo`) dropped without a reply tells the
/// requester at once; the requester's next request is served normally.
#[test]
fn request_dropped_unanswered() {
    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
    let server = thread::spawn(move || {
        drop(replier.recv().unwrap());
        let (_payload, reply_to) = replier.recv().unwrap().into_parts();
        drop(reply_to);
        let request = replier.recv().unwrap();
        let n = *request.payload();
        request.reply(n * 2).unwrap();
        assert_eq!(replier.recv().err(), Some(RecvError));
    });
    assert_eq!(requester.request(1), Err(RequestError::Unanswered));
    assert_eq!(
        requester.request_timeout(2, Duration::from_secs(30)),
        Err(RequestError::Unanswered)
    );
    assert_eq!(requester.request(3), Ok(6));
    drop(requester);
    server.join().unwrap();
}

/// One replier leaves, the other keeps serving.
#[test]
fn remaining_replier_keeps_serving() {
    let (requester, replier) = reqrep::channel::<u32, u32>(4);
    let other = replier.clone();
    drop(replier);
    let server = thread::spawn(move || {
        for request in &other {
            let n = *request.payload();
            request.reply(n).unwrap();
        }
    });
    for n in 0..100 {
        assert_eq!(requester.request(n), Ok(n));
    }
    drop(requester);
    server.join().unwrap();
}

/// Requests and replies left behind are dropped exactly once.
#[test]
fn payloads_and_replies_dropped_once() {
    let probe = Arc::new(());
    let (requester, replier) = reqrep::channel::<Arc<()>, Arc<()>>(4);
    for _ in 0..3 {
        let err = requester.request_timeout(probe.clone(), Duration::ZERO);
        assert!(matches!(err, Err(RequestError::Timeout(None))));
    }
    assert_eq!(Arc::strong_count(&probe), 4);
    // A late reply comes back to the replier, who drops it.
    let late = replier.recv().unwrap();
    let back = late.reply(probe.clone()).unwrap_err().into_inner();
    drop(back);
    assert_eq!(Arc::strong_count(&probe), 3);
    drop(replier); // the last replier drains the two still queued
    assert_eq!(Arc::strong_count(&probe), 1);
    drop(requester);
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(futures::task::noop_waker_ref()))
}

/// A `request_async` future leaked (`mem::forget` is safe) after its reply
/// landed: nothing took that reply. The next request drops it, exactly
/// once, and gets its own.
#[test]
fn forgotten_async_request_leaves_no_reply_behind() {
    let probe = Arc::new(());
    let (mut requester, replier) = reqrep::channel::<u64, (u64, Arc<()>)>(4);
    let mut leaked = Box::pin(requester.request_async(1));
    assert!(poll_once(leaked.as_mut()).is_pending());
    let first = replier.recv().unwrap();
    assert_eq!(*first.payload(), 1);
    first.reply((1, probe.clone())).unwrap();
    std::mem::forget(leaked);
    assert_eq!(Arc::strong_count(&probe), 2, "the reply waits in the slot");

    let echo = probe.clone();
    let server = thread::spawn(move || {
        let request = replier.recv().unwrap();
        let n = *request.payload();
        request.reply((n, echo)).unwrap();
    });
    let (n, reply) = requester.request(2).unwrap();
    assert_eq!(n, 2, "request 2 got another request's reply");
    server.join().unwrap();
    drop(reply);
    assert_eq!(
        Arc::strong_count(&probe),
        1,
        "the leaked request's reply was not dropped"
    );
    drop(requester);
    assert_eq!(Arc::strong_count(&probe), 1);
}

/// A payload whose drop waits until `gate` says go (or is gone).
struct Gate(Option<mpsc::Receiver<()>>);

impl Drop for Gate {
    fn drop(&mut self) {
        if let Some(gate) = self.0.take() {
            let _ = gate.recv();
        }
    }
}

/// Every `Unanswered` a requester returns is counted, on the async path too:
/// here an async request finds room in the ring only once the last replier
/// has left (it is held in its drain by a payload whose drop waits), and so
/// learns after its send that no reply can come.
#[test]
fn async_request_after_the_last_replier_left_is_counted() {
    let (mut requester, replier) = reqrep::Builder::new(1)
        .wait(Wait::Yield)
        .build::<Gate, u8>();
    let (go, gate) = mpsc::channel();
    // Fill the ring (one slot) with a request whose payload holds the drain.
    let filler = requester.clone();
    let timed_out = filler.request_timeout(Gate(Some(gate)), Duration::from_millis(1));
    assert!(matches!(timed_out, Err(RequestError::Timeout(None))));
    let mut pending = Box::pin(requester.request_async(Gate(None)));
    assert!(poll_once(pending.as_mut()).is_pending(), "the ring is full");
    let leaver = thread::spawn(move || drop(replier));
    let result = loop {
        if let Poll::Ready(result) = poll_once(pending.as_mut()) {
            break result;
        }
        thread::yield_now();
    };
    drop(pending);
    go.send(()).unwrap();
    leaver.join().unwrap();
    let unanswered = match result {
        Err(RequestError::Unanswered) => 1,
        Err(RequestError::Disconnected(_)) => 0,
        other => panic!(
            "unexpected {:?}",
            other.map(|_| ()).map_err(|e| e.to_string())
        ),
    };
    let stats = requester.stats();
    assert_eq!(stats.unanswered, unanswered, "{stats:?}");
    assert_eq!(stats.replies, 0);
}

thread_local! {
    /// What [`RunsNested`] runs when it is woken on this thread (once).
    static NESTED: std::cell::RefCell<Option<Box<dyn FnOnce()>>> =
        const { std::cell::RefCell::new(None) };
}

/// A waker that runs this thread's [`NESTED`] code: a run-on-wake executor
/// polling, inside `wake`, a task that shares the requester.
struct RunsNested;

impl std::task::Wake for RunsNested {
    fn wake(self: Arc<Self>) {
        if let Some(nested) = NESTED.with_borrow_mut(Option::take) {
            nested();
        }
    }
}

/// A request made on a requester while its own request waits (code that
/// request runs can do it: here a waker its send wakes, on this thread,
/// through an `Rc`) takes the reply slot over, and the waiting request ends
/// at once with `Unanswered`, its reply turned away. (It waited for a state
/// of its own number that could no longer come: for ever, past its
/// timeout.)
#[test]
fn a_request_made_inside_another_on_the_same_requester_ends_that_one() {
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
        let server = {
            let replier = replier.clone();
            thread::spawn(move || {
                for request in &replier {
                    let n = *request.payload();
                    let _ = request.reply(n + 1);
                }
            })
        };
        // A pending receive registers the waker on the request ring.
        let waker = std::task::Waker::from(Arc::new(RunsNested));
        let mut receive = Box::pin(replier.recv_async());
        assert!(poll_once_with(receive.as_mut(), &waker).is_pending());
        let requester = std::rc::Rc::new(requester);
        let nested = std::rc::Rc::new(std::cell::Cell::new(None));
        {
            let (requester, nested) = (requester.clone(), nested.clone());
            NESTED.set(Some(Box::new(move || {
                nested.set(Some(
                    requester.request_timeout(100, Duration::from_secs(10)),
                ));
            })));
        }
        let started = std::time::Instant::now();
        let outer = requester.request_timeout(1, Duration::from_secs(10));
        let waited = started.elapsed();
        assert_eq!(
            nested.take(),
            Some(Ok(101)),
            "the nested request is answered"
        );
        assert_eq!(outer, Err(RequestError::Unanswered));
        assert!(waited < Duration::from_secs(5), "waited {waited:?}");
        assert_eq!(requester.request(2), Ok(3), "the requester goes on");
        drop(receive);
        drop((replier, requester));
        server.join().unwrap();
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(30))
        .expect("hung (or panicked)");
}

/// Polls `future` once with `waker`.
fn poll_once_with<F: Future>(future: Pin<&mut F>, waker: &std::task::Waker) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(waker))
}
