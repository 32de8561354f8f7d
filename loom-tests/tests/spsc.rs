//! loom models of the spsc ring: wrap-around, full and empty edges,
//! disconnection from either side, drop of unread messages, and the `Park`
//! wake-up (a lost wake-up shows up as a loom deadlock).
#![cfg(ringbus_loom)]

use loom::thread;
use loom_tests::{counter, drops, model, Counted};
use ringbus::{spsc, RecvError, TryRecvError, TrySendError, Wait};

/// Capacity 2, three messages: the sender laps the ring while the receiver
/// reads, both parking when blocked. Every message arrives once, in order,
/// then the receiver sees the disconnection.
#[test]
fn wrap_around_fifo_with_park() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(2).wait(Wait::Park).build();
        let sender = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        let received: Vec<i32> = rx.iter().collect();
        assert_eq!(received, [0, 1, 2]);
        sender.join().unwrap();
    });
}

/// Capacity 1 with `try_` operations: `Full` and `Empty` are reported only
/// when true, and the messages cross in order.
#[test]
fn full_and_empty_edges() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(1).wait(Wait::Yield).build();
        let sender = thread::spawn(move || {
            for i in 0..2 {
                let mut value = i;
                loop {
                    match tx.try_send(value) {
                        Ok(()) => break,
                        Err(TrySendError::Full(v)) => {
                            value = v;
                            thread::yield_now();
                        }
                        Err(TrySendError::Disconnected(_)) => unreachable!(),
                    }
                }
            }
        });
        let mut received = Vec::new();
        while received.len() < 2 {
            match rx.try_recv() {
                Ok(value) => received.push(value),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        assert_eq!(received, [0, 1]);
        sender.join().unwrap();
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

/// The sender publishes and drops while the receiver waits: the receiver
/// drains the message first, then gets `Disconnected` (and is woken for it).
#[test]
fn sender_drops_mid_stream() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(2).wait(Wait::Park).build();
        let sender = thread::spawn(move || {
            tx.send(7).unwrap();
            drop(tx);
        });
        assert_eq!(rx.recv(), Ok(7));
        assert_eq!(rx.recv(), Err(RecvError));
        sender.join().unwrap();
    });
}

/// The receiver drops while the sender is blocked on a full ring: the sender
/// is woken, its value comes back, and every message is dropped exactly once.
#[test]
fn receiver_drops_while_sender_blocked() {
    model(|| {
        let count = counter();
        let (tx, rx) = spsc::Builder::new(1).wait(Wait::Park).build();
        let sender = {
            let count = count.clone();
            thread::spawn(move || {
                // The first send may already find the receiver gone; the
                // second cannot succeed either way (capacity 1, nobody
                // receives), and must hand its value back.
                let _ = tx.send(Counted::new(0, &count));
                match tx.send(Counted::new(1, &count)) {
                    Ok(()) => None,
                    Err(err) => Some(err.into_inner().id),
                }
            })
        };
        drop(rx);
        let returned = sender.join().unwrap();
        assert_eq!(returned, Some(1));
        assert_eq!(drops(&count), 2);
    });
}

/// Messages left in the ring (after a wrap-around) are dropped exactly once
/// when the last handle goes, whichever side drops last.
#[test]
fn unread_messages_dropped_once() {
    model(|| {
        let count = counter();
        let (tx, rx) = spsc::Builder::new(2).wait(Wait::Yield).build();
        let sender = {
            let count = count.clone();
            thread::spawn(move || {
                let mut sent = 0;
                for id in 0..3 {
                    if tx.send(Counted::new(id, &count)).is_ok() {
                        sent += 1;
                    }
                }
                sent
            })
        };
        let first = rx.recv().unwrap();
        assert_eq!(first.id, 0);
        drop(first);
        drop(rx);
        let sent = sender.join().unwrap();
        assert!(sent >= 1);
        assert_eq!(drops(&count), 3);
    });
}

/// The sleep/wake handshake of `Wait::Park` on both conditions: the receiver
/// sleeps on "not empty", the sender on "not full" (capacity 1). A lost
/// wake-up leaves both asleep, which loom reports as a deadlock.
#[test]
fn park_wakeup() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(1).wait(Wait::Park).build();
        let receiver = thread::spawn(move || {
            let a = rx.recv().unwrap();
            let b = rx.recv().unwrap();
            (a, b)
        });
        tx.send(1u8).unwrap();
        tx.send(2u8).unwrap();
        assert_eq!(receiver.join().unwrap(), (1, 2));
    });
}

/// `len` refreshes its side's cached index of the other side
/// (`Receiver::len` the `tail`, `Sender::len` the `head`), and the next
/// receive or send trusts that cache without loading the index again: so
/// `len`'s loads must acquire, as the receive's and the send's own do.
/// Capacity 1, two messages; each side asks `len` (through `is_empty` or
/// `is_full`) until it shows a message (room), then tries once.
#[test]
fn len_refreshes_the_cached_index() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(1).wait(Wait::Yield).build();
        let sender = thread::spawn(move || {
            for i in 0..2 {
                while tx.is_full() {
                    thread::yield_now();
                }
                tx.try_send(i).unwrap();
            }
        });
        for i in 0..2 {
            while rx.is_empty() {
                thread::yield_now();
            }
            assert_eq!(rx.try_recv(), Ok(i));
        }
        sender.join().unwrap();
    });
}
