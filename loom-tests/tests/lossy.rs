//! loom models of the lossy broadcast ring: a lagging reader never returns a
//! torn value, `Lagged(n)` accounts for exactly the messages it missed, and
//! an async receive is woken by the send it waits for.
#![cfg(ringbus_loom)]

use loom::thread;
use loom_tests::model;
use ringbus::broadcast::lossy::{self, RecvError};
use ringbus::Wait;

/// Reads until the publisher is gone and checks every value: both words of
/// a message are equal (never torn), values arrive in order, and each gap is
/// exactly a `Lagged(n)` report. Returns (received, missed).
fn read_all(mut subscriber: lossy::Subscriber<(usize, usize)>, sent: usize) -> (usize, usize) {
    let mut next = 1;
    let (mut received, mut missed) = (0, 0);
    loop {
        match subscriber.recv() {
            Ok((a, b)) => {
                assert_eq!(a, b, "torn value");
                assert_eq!(a, next, "out of order or unreported gap");
                next += 1;
                received += 1;
            }
            Err(RecvError::Lagged(n)) => {
                assert!(n > 0);
                next += n as usize;
                missed += n as usize;
            }
            Err(RecvError::Disconnected) => break,
        }
    }
    assert_eq!(next, sent + 1, "every message received or reported missed");
    (received, missed)
}

/// The publisher laps a capacity-1 ring three times while the subscriber
/// copies two-word messages out: no torn value, exact `Lagged(n)`, and the
/// last message always arrives.
#[test]
fn lagging_reader_never_torn_and_lag_exact() {
    model(|| {
        let (publisher, subscriber) = lossy::Builder::new(1).wait(Wait::Park).build();
        let reader = thread::spawn(move || read_all(subscriber, 3));
        for i in 1..=3 {
            publisher.send((i, i)).unwrap();
        }
        drop(publisher);
        let (received, missed) = reader.join().unwrap();
        assert_eq!(received + missed, 3);
        assert!(received >= 1, "the last message is never overwritten");
    });
}

/// An async receive on a `Park` ring: the future registers its waker on
/// `not_empty` and looks again; the publisher's sends wake it (the
/// publisher outlives both receives, so its drop cannot stand in for a
/// missed wake-up), and then its drop does. No lost wake-up: both
/// messages, then `Disconnected`.
#[test]
fn async_recv_woken_by_send() {
    model(|| {
        let (publisher, mut subscriber) = lossy::Builder::new(2).wait(Wait::Park).build::<u8>();
        let feed = thread::spawn(move || {
            publisher.send(1).unwrap();
            publisher.send(2).unwrap();
            publisher
        });
        loom::future::block_on(async {
            assert_eq!(subscriber.recv_async().await, Ok(1));
            assert_eq!(subscriber.recv_async().await, Ok(2));
        });
        let publisher = feed.join().unwrap();
        let feed = thread::spawn(move || drop(publisher));
        let last = loom::future::block_on(subscriber.recv_async());
        assert_eq!(last, Err(RecvError::Disconnected));
        feed.join().unwrap();
    });
}

/// A subscriber polling with `try_recv` on a `Yield` ring sees the last
/// message before the disconnection. `Yield`: the publisher then runs no
/// wake-up fence after its `tail` store, which in the `Park` model above
/// stands in for the `Release` of the `publisher_gone` store (in the std
/// build on Linux that fence is only a compiler fence).
#[test]
fn drains_before_disconnect() {
    model(|| {
        let (publisher, mut subscriber) = lossy::Builder::new(2).wait(Wait::Yield).build::<u8>();
        let poller = thread::spawn(move || {
            let mut seen = Vec::new();
            loop {
                match subscriber.try_recv() {
                    Ok(value) => seen.push(value),
                    Err(lossy::TryRecvError::Empty) => thread::yield_now(),
                    Err(lossy::TryRecvError::Disconnected) => return seen,
                    Err(lossy::TryRecvError::Lagged(n)) => panic!("lagged {n}"),
                }
            }
        });
        publisher.send(5).unwrap();
        drop(publisher);
        assert_eq!(poller.join().unwrap(), [5]);
    });
}
