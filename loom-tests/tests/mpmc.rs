//! loom models of the mpmc ring: wrap-around with competing senders and
//! competing receivers, full and empty edges, disconnection when the last
//! clone of a side drops, drop of unread messages, and the `Park` wake-up.
#![cfg(ringbus_loom)]

use loom::thread;
use loom_tests::{counter, drops, model, Counted};
use ringbus::{mpmc, TryRecvError, TrySendError, Wait};

/// Two senders race for one slot (capacity 1, so the second laps the ring);
/// the receiver gets each message exactly once, then `Disconnected` once both
/// clones are gone. Blocked sides park, so a lost wake-up is a deadlock.
#[test]
fn two_senders_lap_one_slot() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build();
        let senders: Vec<_> = (0..2)
            .map(|id| {
                let tx = tx.clone();
                thread::spawn(move || tx.send(id).unwrap())
            })
            .collect();
        drop(tx);
        let mut received: Vec<i32> = rx.iter().collect();
        received.sort_unstable();
        assert_eq!(received, [0, 1]);
        for sender in senders {
            sender.join().unwrap();
        }
    });
}

/// Two receivers race for two messages through a slot of capacity 1: each
/// message goes to exactly one of them, and both see the disconnection.
#[test]
fn two_receivers_split_messages() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build();
        let other = {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().collect::<Vec<i32>>())
        };
        let sender = thread::spawn(move || {
            tx.send(0).unwrap();
            tx.send(1).unwrap();
        });
        let mut received: Vec<i32> = rx.iter().collect();
        received.extend(other.join().unwrap());
        received.sort_unstable();
        assert_eq!(received, [0, 1]);
        sender.join().unwrap();
    });
}

/// `try_` operations at the edges of a capacity-1 ring: a second `try_send`
/// succeeds exactly when the receiver already took the first message (else
/// `Full` hands it back), and the receiver sees `Empty` or the messages, then
/// `Disconnected`.
#[test]
fn empty_full_disconnected_edges() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Yield).build();
        let sender = thread::spawn(move || {
            tx.send(5).unwrap();
            match tx.try_send(6) {
                Ok(()) => true,
                Err(TrySendError::Full(6)) => false,
                Err(err) => panic!("unexpected {err:?}"),
            }
        });
        let mut received = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(value) => received.push(value),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        let second_sent = sender.join().unwrap();
        let expected: &[i32] = if second_sent { &[5, 6] } else { &[5] };
        assert_eq!(received, expected);
    });
}

/// The last receiver drops while a sender is blocked on a full ring: the
/// sender is woken with its value back, and every message is dropped once.
#[test]
fn receivers_drop_while_sender_blocked() {
    model(|| {
        let count = counter();
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build();
        let sender = {
            let count = count.clone();
            thread::spawn(move || {
                // The first send may already find no receiver; the second
                // cannot succeed either way (capacity 1, nobody receives).
                let _ = tx.send(Counted::new(0, &count));
                tx.send(Counted::new(1, &count)).is_err()
            })
        };
        let rx2 = rx.clone();
        drop(rx);
        let last = thread::spawn(move || drop(rx2));
        last.join().unwrap();
        assert!(sender.join().unwrap(), "the second send must fail");
        assert_eq!(drops(&count), 2);
    });
}

/// Unread messages (after a wrap-around) are dropped exactly once when the
/// last handle goes.
#[test]
fn unread_messages_dropped_once() {
    model(|| {
        let count = counter();
        let (tx, rx) = mpmc::Builder::new(2).wait(Wait::Yield).build();
        let sender = {
            let count = count.clone();
            thread::spawn(move || {
                for id in 0..3 {
                    let _ = tx.send(Counted::new(id, &count));
                }
            })
        };
        let first = rx.recv().unwrap();
        assert_eq!(first.id, 0);
        drop(first);
        drop(rx);
        sender.join().unwrap();
        assert_eq!(drops(&count), 3);
    });
}

/// `Wait::Park` on both conditions (capacity 1, two messages): a lost wake-up
/// leaves both sides asleep, which loom reports as a deadlock.
#[test]
fn park_wakeup() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build();
        let receiver = thread::spawn(move || (rx.recv().unwrap(), rx.recv().unwrap()));
        tx.send(1u8).unwrap();
        tx.send(2u8).unwrap();
        assert_eq!(receiver.join().unwrap(), (1, 2));
    });
}
