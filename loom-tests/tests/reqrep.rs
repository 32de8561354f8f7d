//! loom models of request/reply: the race between a requester queueing a
//! request and the last replier leaving (the store-buffering fence pair),
//! a reply racing the requester's cancel, replies reaching their own
//! requester, a request dropped without a reply, and a leaked
//! `request_async` future answered while the next request is armed.
#![cfg(ringbus_loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::thread;
use loom_tests::{counter, drops, model, Counted};
use ringbus::reqrep::{self, RequestError};
use ringbus::Wait;

/// What a request may end with when its replier may leave: a reply of
/// `expected`, or an error that says no reply will come. Never a hang (loom
/// reports a requester parked for ever as a deadlock, and one spinning for
/// ever as a branch limit).
#[track_caller]
fn settled(result: Result<u32, RequestError<u32>>, request: u32, expected: Option<u32>) {
    match result {
        Ok(reply) => assert_eq!(Some(reply), expected, "a reply nobody sent"),
        Err(RequestError::Disconnected(back)) => assert_eq!(back, request),
        Err(RequestError::Unanswered) => {}
        Err(err @ RequestError::Timeout(_)) => panic!("unexpected {err:?}"),
    }
}

/// The last replier leaves while a requester queues its request: the
/// requester gets its request back or learns it is unanswered. `Yield`, so
/// that the ring's own wake-up fence (taken only when a side may sleep) does
/// not stand in for the requester's fence.
#[test]
fn last_replier_leaves_while_request_queued() {
    model(|| {
        let (requester, replier) = reqrep::Builder::new(1)
            .wait(Wait::Yield)
            .build::<u32, u32>();
        let client = thread::spawn(move || requester.request(1));
        drop(replier);
        settled(client.join().unwrap(), 1, None);
    });
}

/// As above with `Park`: the requester sleeps on its slot, and the drain (or
/// its own cancel) must wake it.
#[test]
fn last_replier_leaves_while_requester_parked() {
    model(|| {
        let (requester, replier) = reqrep::Builder::new(1).wait(Wait::Park).build::<u32, u32>();
        let client = thread::spawn(move || requester.request(1));
        drop(replier);
        settled(client.join().unwrap(), 1, None);
    });
}

/// A replier answers if it finds the request, then leaves: its reply races
/// the requester's cancel (taken when the requester sees no replier left).
/// The requester gets that reply or an error, never a hang or a wrong value.
#[test]
fn reply_races_leave_and_cancel() {
    model(|| {
        let (requester, replier) = reqrep::Builder::new(1)
            .wait(Wait::Yield)
            .build::<u32, u32>();
        let server = thread::spawn(move || {
            if let Ok(request) = replier.try_recv() {
                let n = *request.payload();
                let _ = request.reply(n + 10);
            }
        });
        settled(requester.request(1), 1, Some(11));
        server.join().unwrap();
    });
}

/// Two requesters share one replier through a ring of one slot: each gets
/// the reply to its own request (the value cell is handed over by the
/// slot's state word).
#[test]
fn replies_reach_their_own_requester() {
    model(|| {
        let (requester, replier) = reqrep::Builder::new(1).wait(Wait::Park).build::<u32, u32>();
        let other = requester.clone();
        let a = thread::spawn(move || requester.request(1));
        let b = thread::spawn(move || other.request(2));
        for request in replier.iter().take(2) {
            let n = *request.payload();
            request.reply(n * 10).unwrap();
        }
        assert_eq!(a.join().unwrap(), Ok(10));
        assert_eq!(b.join().unwrap(), Ok(20));
    });
}

/// A replier drops a request without replying: the parked requester wakes
/// with `Unanswered`, while the replier stays connected.
#[test]
fn request_dropped_unreplied_wakes_requester() {
    model(|| {
        let (requester, replier) = reqrep::Builder::new(1).wait(Wait::Park).build::<u32, u32>();
        let server = thread::spawn(move || {
            drop(replier.recv().unwrap());
            replier
        });
        assert_eq!(requester.request(1), Err(RequestError::Unanswered));
        drop(server.join().unwrap());
    });
}

/// Two requesters queue while the last replier leaves: a request whose
/// index was claimed before the leaver's fence but is still being written
/// must be waited for and drained, not skipped (the drain reads the ring's
/// tail, then takes everything below it). Each requester settles. `Park`:
/// with three threads spinning on `Yield`, loom's executions outgrow its
/// branch bound before anything goes wrong.
#[test]
fn drain_waits_for_a_request_being_written() {
    model(|| {
        let (requester, replier) = reqrep::Builder::new(2).wait(Wait::Park).build::<u32, u32>();
        let other = requester.clone();
        let a = thread::spawn(move || requester.request(1));
        let b = thread::spawn(move || other.request(2));
        drop(replier);
        settled(a.join().unwrap(), 1, None);
        settled(b.join().unwrap(), 2, None);
    });
}

/// Polls `future` once, with a waker that does nothing.
fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// A `request_async` future is leaked (`mem::forget` is safe: no destructor
/// cancels its request) while a replier answers it, and the requester makes
/// its next request at once. Arming the next request must first settle the
/// leaked one (cancel it, wait out its reply's write, or drop the reply), so
/// that the late reply and the next never write the slot at once and the
/// late `FULL` never overwrites the next request's `WAITING`: the next
/// request gets its own reply, never a hang. `Yield`, so that a lost reply
/// shows as a requester spinning for ever (loom's branch limit).
#[test]
fn leaked_async_request_answered_while_the_next_is_armed() {
    model(|| {
        let dropped = counter();
        let (mut requester, replier) = reqrep::Builder::new(2)
            .wait(Wait::Yield)
            .build::<usize, Counted>();
        let mut leaked = Box::pin(requester.request_async(1));
        assert!(poll_once(leaked.as_mut()).is_pending());
        std::mem::forget(leaked);
        let made = dropped.clone();
        let server = thread::spawn(move || {
            for request in replier.iter().take(2) {
                let n = *request.payload();
                // The leaked request's reply may be turned away (and dropped
                // here).
                let _ = request.reply(Counted::new(n, &made));
            }
        });
        let reply = requester.request(2).expect("request 2 unanswered");
        assert_eq!(reply.id, 2, "request 2 got another request's reply");
        drop(reply);
        server.join().unwrap();
        drop(requester);
        // Both replies dropped once: the leaked request's was turned away,
        // or dropped by the next `arm`; never left in the slot unowned.
        assert_eq!(drops(&dropped), 2);
    });
}

/// Polls `future` until it is ready, yielding to loom's scheduler between
/// polls: how a `Yield` channel's future is driven (it wakes itself at once,
/// and `loom::future::block_on` would re-poll it without ever yielding).
fn block_on_yielding<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(output) = poll_once(future.as_mut()) {
            return output;
        }
        thread::yield_now();
    }
}

/// As `last_replier_leaves_while_request_queued`, through `request_async`,
/// whose own fence `F_q` (in `reqrep/task.rs`) sits between the queued
/// request and its look at the replier count. `Yield`, as there: with a side
/// that may sleep, the ring's wake-up fence after the write stands in for
/// `F_q`.
#[test]
fn last_replier_leaves_while_async_request_queued() {
    model(|| {
        let (mut requester, replier) = reqrep::Builder::new(1)
            .wait(Wait::Yield)
            .build::<u32, u32>();
        let client = thread::spawn(move || block_on_yielding(requester.request_async(1)));
        drop(replier);
        settled(client.join().unwrap(), 1, None);
    });
}
