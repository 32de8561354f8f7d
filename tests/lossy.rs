//! Behaviour of the lossy broadcast ring: the publisher never waits, a
//! lapped subscriber learns exactly how many messages it missed, and no copy
//! is ever torn.

use std::thread;
use std::time::Duration;

use ringbus::broadcast::lossy::{self, RecvError, RecvTimeoutError, TryRecvError};
use ringbus::{SendError, Wait};

#[test]
fn lapped_subscriber_gets_exact_lag_once_then_oldest_held() {
    let (publisher, mut subscriber) = lossy::channel::<u64>(8);
    for i in 0..100 {
        publisher.send(i).unwrap();
    }
    assert_eq!(subscriber.len(), 8);
    assert!(subscriber.is_full());
    assert_eq!(subscriber.try_recv(), Err(TryRecvError::Lagged(92)));
    let rest: Vec<u64> = std::iter::from_fn(|| subscriber.try_recv().ok()).collect();
    assert_eq!(rest, (92..100).collect::<Vec<_>>());
    assert_eq!(subscriber.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn lag_after_partial_reading() {
    let (publisher, mut subscriber) = lossy::channel::<u32>(4);
    publisher.send(0).unwrap();
    publisher.send(1).unwrap();
    assert_eq!(subscriber.try_recv(), Ok(0));
    for i in 2..10 {
        publisher.send(i).unwrap();
    }
    // Read 0; 1..=5 were overwritten; 6..10 are held.
    assert_eq!(subscriber.recv(), Err(RecvError::Lagged(5)));
    assert_eq!(subscriber.recv(), Ok(6));
}

#[test]
fn subscribers_lag_independently() {
    let (publisher, mut fast) = lossy::channel::<u8>(2);
    let mut slow = fast.clone();
    for i in 0..6 {
        publisher.send(i).unwrap();
        assert_eq!(fast.try_recv(), Ok(i));
    }
    assert_eq!(slow.try_recv(), Err(TryRecvError::Lagged(4)));
    assert_eq!(slow.try_recv(), Ok(4));
    assert_eq!(slow.try_recv(), Ok(5));
}

#[test]
fn late_joiner_clone_and_disconnect() {
    let (publisher, mut first) = lossy::channel::<i32>(4);
    publisher.send(1).unwrap();
    let mut late = publisher.subscribe();
    publisher.send(2).unwrap();
    let mut clone = first.clone();
    drop(publisher);
    assert_eq!(late.recv(), Ok(2));
    assert_eq!(late.recv(), Err(RecvError::Disconnected));
    assert_eq!(first.recv(), Ok(1));
    assert_eq!(clone.recv(), Ok(1));
    assert_eq!(clone.recv(), Ok(2));
    assert_eq!(
        clone.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    );
    assert!(first.is_disconnected());
}

/// design.md: "On a broadcast `Publisher`, `len` counts what the slowest
/// subscriber has not read". The lossy publisher used to report how much
/// the ring held (`min(sent, capacity)`), read or not; an acceptance check
/// read the sentence as covering it too.
#[test]
fn publisher_len_counts_what_the_slowest_subscriber_has_not_read() {
    let (publisher, mut fast) = lossy::channel::<u32>(8);
    let mut slow = fast.clone();
    assert!(publisher.is_empty());
    for i in 0..5 {
        publisher.send(i).unwrap();
    }
    assert_eq!(publisher.len(), 5);
    while fast.try_recv().is_ok() {}
    assert_eq!(publisher.len(), 5, "the slow one has read nothing");
    assert_eq!(slow.try_recv(), Ok(0));
    assert_eq!(slow.try_recv(), Ok(1));
    assert_eq!(publisher.len(), 3);
    // A clone stands where its source does; a late joiner has read all.
    let clone = slow.clone();
    let late = publisher.subscribe();
    assert_eq!(publisher.len(), 3);
    drop(slow);
    assert_eq!(publisher.len(), 3, "the clone has read no more");
    drop(clone);
    assert_eq!(publisher.len(), 0);
    // Lapped: at most the capacity, then what is left after the lag.
    for i in 0..20 {
        publisher.send(i).unwrap();
    }
    assert_eq!(publisher.len(), 8);
    assert!(matches!(fast.try_recv(), Err(TryRecvError::Lagged(_))));
    assert_eq!(publisher.len(), 8, "the late joiner has read nothing yet");
    drop(late);
    assert_eq!(publisher.len(), 8);
    assert!(fast.try_recv().is_ok());
    assert_eq!(publisher.len(), 7);
    drop(fast);
    assert!(publisher.is_empty(), "no subscriber: nothing unread");
}

#[test]
fn no_subscriber_hands_the_value_back() {
    let (publisher, subscriber) = lossy::channel::<u8>(4);
    drop(subscriber);
    assert_eq!(publisher.send(9), Err(SendError(9)));
}

/// A value whose halves must always match; a torn copy would not.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
struct Pair {
    a: u64,
    tag: u8, // followed by padding: copied, never read as an integer
    b: u64,
}

#[test]
fn racing_reader_never_sees_a_torn_value_and_accounts_for_every_message() {
    const N: u64 = 200_000;
    for wait in [Wait::Backoff, Wait::Spin] {
        let (publisher, mut subscriber) = lossy::Builder::new(4).wait(wait).build::<Pair>();
        let reader = thread::spawn(move || {
            let (mut next, mut received, mut missed) = (0u64, 0u64, 0u64);
            loop {
                match subscriber.recv() {
                    Ok(pair) => {
                        assert_eq!(pair.a, pair.b, "torn value");
                        assert_eq!(pair.tag, pair.a as u8);
                        assert_eq!(pair.a, next, "gap without a Lagged report");
                        next += 1;
                        received += 1;
                    }
                    Err(RecvError::Lagged(n)) => {
                        next += n;
                        missed += n;
                    }
                    Err(RecvError::Disconnected) => return (next, received, missed),
                }
            }
        });
        for i in 0..N {
            publisher
                .send(Pair {
                    a: i,
                    tag: i as u8,
                    b: i,
                })
                .unwrap();
        }
        drop(publisher);
        let (next, received, missed) = reader.join().unwrap();
        assert_eq!(next, N, "{wait:?}");
        assert_eq!(received + missed, N, "{wait:?}");
        assert!(received > 0);
    }
}

#[test]
fn recv_timeout_times_out() {
    let (_publisher, mut subscriber) = lossy::channel::<u8>(2);
    assert_eq!(
        subscriber.recv_timeout(Duration::from_millis(2)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn zero_sized_messages() {
    let (publisher, mut subscriber) = lossy::channel::<()>(2);
    for _ in 0..5 {
        publisher.send(()).unwrap();
    }
    assert_eq!(subscriber.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(subscriber.try_recv(), Ok(()));
}

#[test]
fn errors_display_and_compare() {
    assert!(TryRecvError::Lagged(3).to_string().contains('3'));
    assert!(!RecvError::Disconnected.to_string().is_empty());
    let boxed: Box<dyn std::error::Error> = Box::new(RecvTimeoutError::Lagged(1));
    assert!(boxed.to_string().contains('1'));
}
