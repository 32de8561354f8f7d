//! loom models of the registered waiters (`wait.rs`'s module doc): the async
//! waker handshake, a select's token registration, and a readiness fd's
//! arming. A lost wake-up shows up as a loom deadlock (a task or a select
//! that never wakes) or as a bounded wait that never ends.
#![cfg(ringbus_loom)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc as StdArc;
use std::task::{Context, Poll, Wake, Waker};

use loom::future::block_on;
use loom::thread;
use loom_tests::model;
use ringbus::readiness::ModelFd;
use ringbus::select::Select;
use ringbus::{mpmc, spsc, TryRecvError, Wait};

/// A waker that does nothing: a future polled once and then dropped.
struct Noop;

impl Wake for Noop {
    fn wake(self: StdArc<Self>) {}
}

/// A sync sender feeds an async receiver through a ring of one slot: the
/// task registers its waker when the ring is empty and must be woken for
/// each message (and the sender, parked on the full ring, by the task's
/// receive).
#[test]
fn async_recv_wakeup() {
    model(|| {
        let (tx, mut rx) = spsc::Builder::new(1).wait(Wait::Park).build();
        let receiver = thread::spawn(move || {
            block_on(async {
                let a = rx.recv_async().await.unwrap();
                let b = rx.recv_async().await.unwrap();
                (a, b)
            })
        });
        tx.send(1u8).unwrap();
        tx.send(2u8).unwrap();
        assert_eq!(receiver.join().unwrap(), (1, 2));
    });
}

/// An async sender blocked on a full ring is woken by a sync receive.
#[test]
fn async_send_wakeup() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build();
        let sender = thread::spawn(move || {
            block_on(async {
                tx.send_async(1u8).await.unwrap();
                tx.send_async(2u8).await.unwrap();
            })
        });
        assert_eq!(rx.recv(), Ok(1));
        assert_eq!(rx.recv(), Ok(2));
        sender.join().unwrap();
    });
}

/// Cancellation: a receive future polled once (perhaps registering its
/// waker) and dropped takes nothing; the message is received afterwards by
/// another future, exactly once.
#[test]
fn dropped_future_loses_nothing() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build();
        let sender = thread::spawn(move || {
            tx.send(7u8).unwrap();
            tx
        });
        let waker = Waker::from(StdArc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let first = {
            let mut future = pin!(rx.recv_async());
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(got) => Some(got.unwrap()),
                Poll::Pending => None,
            }
            // Dropped here, registered or not.
        };
        let got = match first {
            Some(value) => value,
            None => block_on(rx.recv_async()).unwrap(),
        };
        assert_eq!(got, 7);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
        drop(sender.join().unwrap());
    });
}

/// A select over two rings registers one token on both and parks: each
/// message must wake it, and each is received once.
#[test]
fn select_registration() {
    model(|| {
        let (tx_a, rx_a) = spsc::Builder::new(1).wait(Wait::Park).build();
        let (tx_b, rx_b) = spsc::Builder::new(1).wait(Wait::Park).build();
        let a = thread::spawn(move || {
            tx_a.send(1u8).unwrap();
            tx_a
        });
        let b = thread::spawn(move || {
            tx_b.send(2u8).unwrap();
            tx_b
        });
        let mut got = Vec::new();
        {
            let mut sel = Select::new();
            let ia = sel.recv(&rx_a);
            let ib = sel.recv(&rx_b);
            while got.len() < 2 {
                let i = sel.ready();
                let taken = if i == ia {
                    rx_a.try_recv()
                } else {
                    assert_eq!(i, ib);
                    rx_b.try_recv()
                };
                // A ready spsc ring with a live sender holds a message.
                got.push(taken.unwrap());
            }
        }
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        drop((a.join().unwrap(), b.join().unwrap()));
    });
}

/// Two selecting threads on one mpmc ring, two messages: readiness is only a
/// hint, so each retries on `Empty`; every message is taken exactly once and
/// neither thread sleeps through its message.
#[test]
fn select_no_message_taken_twice() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(2).wait(Wait::Park).build();
        let other = rx.clone();
        let worker = thread::spawn(move || {
            let mut sel = Select::new();
            sel.recv(&other);
            loop {
                sel.ready();
                match other.try_recv() {
                    Ok(value) => return value,
                    Err(TryRecvError::Empty) => continue,
                    Err(TryRecvError::Disconnected) => unreachable!(),
                }
            }
        });
        tx.send(1u8).unwrap();
        tx.send(2u8).unwrap();
        let mine = {
            let mut sel = Select::new();
            sel.recv(&rx);
            loop {
                sel.ready();
                match rx.try_recv() {
                    Ok(value) => break value,
                    Err(TryRecvError::Empty) => continue,
                    Err(TryRecvError::Disconnected) => unreachable!(),
                }
            }
        };
        let theirs = worker.join().unwrap();
        let mut both = [mine, theirs];
        both.sort_unstable();
        assert_eq!(both, [1, 2]);
        drop(tx);
    });
}

/// The readiness fd: the event loop arms on an empty ring while the sender
/// publishes two messages. Either `arm` sees a message (returns true), or
/// the fd becomes readable; and one transition writes it at most once.
#[test]
fn fd_flag_handshake() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(2).wait(Wait::Park).build();
        let mut fd = ModelFd::new();
        let sender = thread::spawn(move || {
            tx.send(1u8).unwrap();
            tx.send(2u8).unwrap();
            tx
        });
        if !fd.arm(&rx) {
            // The event loop's epoll_wait.
            while !fd.is_readable() {
                thread::yield_now();
            }
        }
        assert_eq!(rx.try_recv(), Ok(1));
        let tx = sender.join().unwrap();
        assert!(
            fd.writes() <= 1,
            "{} writes for one transition",
            fd.writes()
        );
        drop(tx);
    });
}
