//! Behaviour of the spsc and mpmc rings: FIFO across wrap-arounds, stress
//! with no loss, duplicate or reordering, disconnection from either side,
//! timeouts, drop counting (chunks included), odd message sizes, and bad
//! input.

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ringbus::spsc::ChunkError;
use ringbus::{
    mpmc, spsc, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError, Wait,
};

const WAITS: [Wait; 4] = [Wait::Spin, Wait::Yield, Wait::Backoff, Wait::Park];

#[test]
fn spsc_fifo_across_many_wrap_arounds() {
    let (tx, rx) = spsc::channel(4);
    let mut next = 0u32;
    for round in 0..1000u32 {
        let burst = round % 5; // 0..=4: empty, partial and full rings
        for i in 0..burst {
            tx.try_send(round * 10 + i).unwrap();
        }
        assert_eq!(rx.len(), burst as usize);
        for i in 0..burst {
            assert_eq!(rx.try_recv(), Ok(round * 10 + i));
            next += 1;
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
    assert_eq!(next, (0..1000).map(|r| r % 5).sum());
}

#[test]
fn mpmc_fifo_across_many_wrap_arounds() {
    let (tx, rx) = mpmc::channel(4);
    for round in 0..1000u32 {
        let burst = round % 5;
        for i in 0..burst {
            tx.try_send(round * 10 + i).unwrap();
        }
        assert_eq!(tx.len(), burst as usize);
        for i in 0..burst {
            assert_eq!(rx.try_recv(), Ok(round * 10 + i));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

#[test]
fn spsc_stress_a_million_messages_in_order() {
    const N: u64 = 1_000_000;
    let (tx, rx) = spsc::channel(256);
    let producer = thread::spawn(move || {
        for i in 0..N {
            tx.send(i).unwrap();
        }
    });
    let mut expected = 0;
    for value in rx.iter() {
        assert_eq!(value, expected);
        expected += 1;
    }
    assert_eq!(expected, N);
    producer.join().unwrap();
}

#[test]
fn spsc_every_wait_strategy_delivers_in_order() {
    for wait in WAITS {
        let (tx, rx) = spsc::Builder::new(8).wait(wait).build();
        let producer = thread::spawn(move || (0..20_000u32).for_each(|i| tx.send(i).unwrap()));
        assert!(rx.iter().eq(0..20_000), "{wait:?}");
        producer.join().unwrap();
    }
}

/// Two producers, two consumers: every message once, each producer's
/// messages in order at each consumer.
fn mpmc_stress(wait: Wait, per_producer: u64) {
    let (tx, rx) = mpmc::Builder::new(64).wait(wait).build::<(u64, u64)>();
    let producers: Vec<_> = (0..2)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || (0..per_producer).for_each(|i| tx.send((p, i)).unwrap()))
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || {
                let mut last = [None::<u64>; 2];
                let mut got = Vec::new();
                for (p, i) in rx.iter() {
                    if let Some(prev) = last[p as usize] {
                        assert!(i > prev, "producer {p} reordered: {prev} then {i}");
                    }
                    last[p as usize] = Some(i);
                    got.push((p, i));
                }
                got
            })
        })
        .collect();
    drop(rx);
    producers.into_iter().for_each(|p| p.join().unwrap());
    let mut seen = HashSet::new();
    for consumer in consumers {
        for message in consumer.join().unwrap() {
            assert!(seen.insert(message), "duplicate {message:?}");
        }
    }
    assert_eq!(
        seen.len() as u64,
        2 * per_producer,
        "{wait:?}: lost messages"
    );
}

#[test]
fn mpmc_stress_two_by_two() {
    mpmc_stress(Wait::Backoff, 200_000);
    mpmc_stress(Wait::Park, 20_000);
    mpmc_stress(Wait::Yield, 20_000);
}

#[test]
fn receivers_drain_then_disconnect() {
    let (tx, rx) = spsc::channel(4);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    drop(tx);
    assert!(rx.is_disconnected());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Disconnected)
    );
    assert_eq!(rx.iter().count(), 0);

    let (tx, rx) = mpmc::channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    drop(tx);
    // One sender is still alive: not disconnected.
    assert!(!rx.is_disconnected());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx2.send(2).unwrap();
    drop(tx2);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [2]);
    assert_eq!(rx.recv(), Err(RecvError));
}

#[test]
fn sends_fail_with_the_value_back_once_receivers_are_gone() {
    let (tx, rx) = spsc::channel::<String>(4);
    drop(rx);
    assert!(tx.is_disconnected());
    assert_eq!(
        tx.try_send("a".into()),
        Err(TrySendError::Disconnected("a".into()))
    );
    assert_eq!(tx.send("b".into()), Err(SendError("b".into())));
    assert_eq!(
        tx.send_timeout("c".into(), Duration::from_millis(1)),
        Err(SendTimeoutError::Disconnected("c".into()))
    );

    let (tx, rx) = mpmc::channel::<String>(4);
    let rx2 = rx.clone();
    drop(rx);
    tx.send("still one receiver".into()).unwrap();
    drop(rx2);
    assert_eq!(tx.send("x".into()), Err(SendError("x".into())));
}

#[test]
fn blocked_receiver_is_woken_by_the_sender_drop() {
    for wait in WAITS {
        let (tx, rx) = spsc::Builder::new(4).wait(wait).build::<u8>();
        let waiter = thread::spawn(move || rx.recv());
        thread::sleep(Duration::from_millis(10));
        drop(tx);
        assert_eq!(waiter.join().unwrap(), Err(RecvError), "{wait:?}");

        let (tx, rx) = mpmc::Builder::new(4).wait(wait).build::<u8>();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let rx = rx.clone();
                thread::spawn(move || rx.recv())
            })
            .collect();
        thread::sleep(Duration::from_millis(10));
        drop(tx);
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Err(RecvError), "{wait:?}");
        }
    }
}

#[test]
fn blocked_sender_is_woken_by_the_receiver_drop() {
    for wait in WAITS {
        let (tx, rx) = spsc::Builder::new(1).wait(wait).build();
        tx.send(1u8).unwrap();
        let waiter = thread::spawn(move || tx.send(2));
        thread::sleep(Duration::from_millis(10));
        drop(rx);
        assert_eq!(waiter.join().unwrap(), Err(SendError(2)), "{wait:?}");

        let (tx, rx) = mpmc::Builder::new(1).wait(wait).build();
        tx.send(1u8).unwrap();
        let waiter = thread::spawn(move || tx.send(2));
        thread::sleep(Duration::from_millis(10));
        drop(rx);
        assert_eq!(waiter.join().unwrap(), Err(SendError(2)), "{wait:?}");
    }
}

#[test]
fn timeouts_hand_the_value_back_and_long_timeouts_do_not_panic() {
    let (tx, rx) = spsc::channel(1);
    tx.send(1).unwrap();
    assert_eq!(
        tx.send_timeout(2, Duration::from_millis(2)),
        Err(SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(2)),
        Err(RecvTimeoutError::Timeout)
    );
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        tx.send(3).unwrap();
    });
    assert_eq!(rx.recv_timeout(Duration::MAX), Ok(3));
    sender.join().unwrap();

    let (tx, rx) = mpmc::channel(1);
    tx.send(1).unwrap();
    assert_eq!(
        tx.send_timeout(2, Duration::from_millis(2)),
        Err(SendTimeoutError::Timeout(2))
    );
    let receiver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        (rx.recv(), rx.recv())
    });
    assert_eq!(tx.send_timeout(2, Duration::MAX), Ok(()));
    assert_eq!(receiver.join().unwrap(), (Ok(1), Ok(2)));
}

/// A payload that counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: a drop counter; read after the threads joined.
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

fn drops(counter: &Arc<AtomicUsize>) -> usize {
    // Relaxed: see the counter's `fetch_add`.
    counter.load(Ordering::Relaxed)
}

#[test]
fn messages_left_in_the_ring_are_dropped_once_after_wrap_around() {
    for sender_first in [true, false] {
        let count = counter();
        let (tx, rx) = spsc::channel(4);
        // Wrap: 10 sent, 7 received, 3 left.
        for _ in 0..10 {
            tx.send(Counted(count.clone())).unwrap();
            if rx.len() == 4 {
                drop(rx.recv().unwrap());
            }
        }
        while rx.len() > 3 {
            drop(rx.recv().unwrap());
        }
        assert_eq!(drops(&count), 7);
        if sender_first {
            drop(tx);
            assert_eq!(drops(&count), 7);
            drop(rx);
        } else {
            drop(rx);
            assert_eq!(drops(&count), 7);
            drop(tx);
        }
        assert_eq!(drops(&count), 10);

        let count = counter();
        let (tx, rx) = mpmc::channel(4);
        for _ in 0..6 {
            tx.send(Counted(count.clone())).unwrap();
            drop(rx.recv().unwrap());
        }
        for _ in 0..3 {
            tx.send(Counted(count.clone())).unwrap();
        }
        let (tx2, rx2) = (tx.clone(), rx.clone());
        if sender_first {
            drop((tx, tx2, rx));
            assert_eq!(drops(&count), 6);
            drop(rx2);
        } else {
            drop((rx, rx2, tx));
            assert_eq!(drops(&count), 6);
            drop(tx2);
        }
        assert_eq!(drops(&count), 9);
    }
}

#[test]
fn chunks_half_committed_drop_every_message_once() {
    let count = counter();
    let (mut tx, mut rx) = spsc::channel::<Counted>(8);
    // Wrap the ring first so that chunks span the end.
    for _ in 0..6 {
        tx.send(Counted(count.clone())).unwrap();
        drop(rx.recv().unwrap());
    }
    // Write 5, commit 3: the two uncommitted values are the writer's (leaked
    // as MaybeUninit would be), so initialise only what is committed.
    let mut chunk = tx.write_chunk_uninit(5).unwrap();
    let (first, second) = chunk.as_mut_slices();
    assert_eq!(first.len() + second.len(), 5);
    assert!(!second.is_empty(), "the chunk should wrap");
    for slot in first.iter_mut().chain(second.iter_mut()).take(3) {
        slot.write(Counted(count.clone()));
    }
    // SAFETY: the first three slots were initialised.
    unsafe { chunk.commit(3) };
    assert_eq!(rx.len(), 3);
    // Read 3, release 2 (dropped in place), leave 1.
    let chunk = rx.read_chunk(3).unwrap();
    chunk.commit(2);
    assert_eq!(drops(&count), 6 + 2);
    // A chunk dropped without commit changes nothing.
    let _ = rx.read_chunk(1).unwrap();
    let _ = tx.write_chunk_uninit(2).unwrap();
    assert_eq!(rx.len(), 1);
    // fill_from_iter publishes what it wrote.
    let chunk = tx.write_chunk_uninit(4).unwrap();
    let written = chunk.fill_from_iter((0..2).map(|_| Counted(count.clone())));
    assert_eq!(written, 2);
    assert_eq!(rx.len(), 3);
    assert!(rx.peek().is_some());
    drop((tx, rx));
    assert_eq!(drops(&count), 6 + 3 + 2);
}

#[test]
fn chunk_errors_report_what_is_available_and_zero_is_allowed() {
    let (mut tx, mut rx) = spsc::channel::<u8>(4);
    assert_eq!(rx.read_chunk(1).unwrap_err(), ChunkError::TooFewSlots(0));
    assert_eq!(rx.read_chunk(0).unwrap().len(), 0);
    assert_eq!(tx.write_chunk_uninit(0).unwrap().len(), 0);
    tx.send(1).unwrap();
    assert_eq!(
        tx.write_chunk_uninit(4).unwrap_err(),
        ChunkError::TooFewSlots(3)
    );
    assert_eq!(rx.read_chunk(2).unwrap_err(), ChunkError::TooFewSlots(1));
    assert!(!ChunkError::TooFewSlots(1).to_string().is_empty());
}

#[test]
fn committing_more_than_the_chunk_panics_and_leaves_the_ring_intact() {
    let count = counter();
    let (mut tx, mut rx) = spsc::channel::<Counted>(4);
    tx.send(Counted(count.clone())).unwrap();
    tx.send(Counted(count.clone())).unwrap();

    let result = catch_unwind(AssertUnwindSafe(|| {
        rx.read_chunk(2).unwrap().commit(3);
    }));
    let message = *result.unwrap_err().downcast::<String>().unwrap();
    assert!(
        message.contains("cannot commit 3 slots of a chunk of 2"),
        "{message}"
    );
    assert_eq!(rx.len(), 2);
    assert_eq!(drops(&count), 0);

    let result = catch_unwind(AssertUnwindSafe(|| {
        let chunk = tx.write_chunk_uninit(1).unwrap();
        // SAFETY: never reached: the count is checked first.
        unsafe { chunk.commit(2) };
    }));
    assert!(result.is_err());
    assert_eq!(tx.len(), 2);

    drop(rx.recv().unwrap());
    drop(rx.recv().unwrap());
    assert_eq!(rx.try_recv().unwrap_err(), TryRecvError::Empty);
    drop((tx, rx));
    assert_eq!(drops(&count), 2);
}

#[test]
fn peek_looks_without_taking() {
    let (tx, mut rx) = spsc::channel(2);
    assert_eq!(rx.peek(), None);
    tx.send(5).unwrap();
    tx.send(6).unwrap();
    assert_eq!(rx.peek(), Some(&5));
    assert_eq!(rx.peek(), Some(&5));
    assert_eq!(rx.recv(), Ok(5));
    assert_eq!(rx.peek(), Some(&6));
}

#[test]
fn zero_sized_messages() {
    let (tx, rx) = spsc::channel::<()>(4);
    for _ in 0..10 {
        tx.send(()).unwrap();
        assert_eq!(rx.recv(), Ok(()));
    }
    for _ in 0..4 {
        tx.try_send(()).unwrap();
    }
    assert_eq!(tx.try_send(()), Err(TrySendError::Full(())));
    let (tx, rx) = mpmc::channel::<()>(2);
    for _ in 0..10 {
        tx.send(()).unwrap();
        assert_eq!(rx.recv(), Ok(()));
    }
    assert!(rx.is_empty());
}

/// A zero-sized message takes no memory, so any capacity up to the largest
/// ring fits. The spsc and broadcast rings' empty cells are made without a
/// loop over them: made one by one, `2^62` of them never finished in a
/// debug build.
#[test]
fn zero_sized_messages_at_the_largest_capacity() {
    let largest: usize = 1 << (usize::BITS - 2);
    let (tx, rx) = spsc::channel::<()>(largest);
    assert_eq!(tx.capacity(), largest);
    for _ in 0..3 {
        tx.send(()).unwrap();
    }
    assert_eq!((rx.len(), rx.recv()), (3, Ok(())));
    let (publisher, mut subscriber) = ringbus::broadcast::channel::<()>(largest);
    publisher.send(()).unwrap();
    assert_eq!(*subscriber.recv().unwrap(), ());
    assert!(subscriber.try_recv().is_err());
}

#[test]
fn four_kilobyte_messages_cross_threads_intact() {
    let (tx, rx) = spsc::channel::<[u8; 4096]>(4);
    let producer = thread::spawn(move || {
        for i in 0..200u32 {
            tx.send([i as u8; 4096]).unwrap();
        }
    });
    for i in 0..200u32 {
        let page = rx.recv().unwrap();
        assert!(page.iter().all(|&b| b == i as u8));
    }
    producer.join().unwrap();

    let (tx, rx) = mpmc::channel::<Box<[u8; 4096]>>(4);
    let producer = thread::spawn(move || {
        for i in 0..200u32 {
            tx.send(Box::new([i as u8; 4096])).unwrap();
        }
    });
    for i in 0..200u32 {
        assert!(rx.recv().unwrap().iter().all(|&b| b == i as u8));
    }
    producer.join().unwrap();
}

#[test]
fn introspection_agrees_with_the_state() {
    let (tx, rx) = spsc::channel(3);
    assert_eq!((tx.capacity(), rx.capacity()), (4, 4));
    assert!(tx.is_empty() && rx.is_empty());
    for i in 0..4 {
        tx.send(i).unwrap();
        assert_eq!((tx.len(), rx.len()), (i + 1, i + 1));
    }
    assert!(tx.is_full() && rx.is_full());
    rx.recv().unwrap();
    assert!(!tx.is_full());

    let (tx, rx) = mpmc::channel(5);
    assert_eq!((tx.capacity(), rx.capacity()), (8, 8));
    for i in 0..8 {
        tx.send(i).unwrap();
    }
    assert!(tx.is_full() && rx.is_full());
    assert_eq!(rx.len(), 8);
    assert_eq!(format!("{tx:?}"), "Sender { len: 8, capacity: 8, .. }");
}

#[test]
fn send_and_sync_as_the_contract_says() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<spsc::Sender<Vec<u8>>>();
    send::<spsc::Receiver<Vec<u8>>>();
    send::<mpmc::Sender<Vec<u8>>>();
    send::<mpmc::Receiver<Vec<u8>>>();
    sync::<mpmc::Sender<Vec<u8>>>();
    sync::<mpmc::Receiver<Vec<u8>>>();
    // A `Cell` payload is `Send` but not `Sync`: every handle stays `Send`.
    send::<spsc::Sender<std::cell::Cell<u8>>>();
    send::<mpmc::Receiver<std::cell::Cell<u8>>>();
}

#[test]
fn errors_print_their_kind_without_a_debug_payload() {
    struct Opaque;
    let full: TrySendError<Opaque> = TrySendError::Full(Opaque);
    assert_eq!(format!("{full:?}"), "Full(..)");
    assert!(!full.to_string().is_empty());
    let boxed: Box<dyn std::error::Error> = Box::new(SendError(Opaque));
    assert!(!boxed.to_string().is_empty());
    assert!(matches!(SendTimeoutError::Timeout(7).into_inner(), 7));
    assert!(TryRecvError::Empty.is_empty());
    assert!(RecvTimeoutError::Disconnected.is_disconnected());
}

#[test]
#[should_panic(expected = "capacity must be greater than 0")]
fn spsc_zero_capacity_panics() {
    let _ = spsc::channel::<u8>(0);
}

#[test]
#[should_panic(expected = "capacity must be greater than 0")]
fn spsc_builder_zero_capacity_panics() {
    let _ = spsc::Builder::new(0).build::<u8>();
}

#[test]
#[should_panic(expected = "capacity must be greater than 0")]
fn mpmc_zero_capacity_panics() {
    let _ = mpmc::channel::<u8>(0);
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn spsc_rounding_overflow_panics() {
    let _ = spsc::channel::<u8>(usize::MAX);
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn mpmc_rounding_overflow_panics() {
    let _ = mpmc::Builder::new(usize::MAX).build::<u8>();
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn spsc_byte_size_overflow_panics() {
    let _ = spsc::channel::<[u8; 4096]>(1 << (usize::BITS - 12));
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn mpmc_byte_size_overflow_panics() {
    let _ = mpmc::channel::<[u8; 4096]>(1 << (usize::BITS - 12));
}

/// A message that counts its drops, and panics in its `Drop` when `bomb`.
struct Bomb {
    drops: Arc<AtomicUsize>,
    bomb: bool,
}

impl Drop for Bomb {
    fn drop(&mut self) {
        // Relaxed: read on this thread after the drops.
        self.drops.fetch_add(1, Ordering::Relaxed);
        if self.bomb {
            panic!("a message that panics on drop");
        }
    }
}

/// Four messages, the first of which panics when dropped.
fn bombs(drops: &Arc<AtomicUsize>) -> impl Iterator<Item = Bomb> + '_ {
    (0..4).map(move |i| Bomb {
        drops: drops.clone(),
        bomb: i == 0,
    })
}

/// Messages left in a ring are all dropped when it goes, even if one's
/// `Drop` panics (the panic goes on, the others do not leak).
#[test]
fn leftovers_all_dropped_when_one_panics() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = spsc::channel(4);
    bombs(&drops).for_each(|b| tx.try_send(b).ok().unwrap());
    assert!(catch_unwind(AssertUnwindSafe(|| drop((tx, rx)))).is_err());
    // Relaxed: same thread.
    assert_eq!(drops.load(Ordering::Relaxed), 4, "spsc");

    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpmc::channel(4);
    bombs(&drops).for_each(|b| tx.try_send(b).ok().unwrap());
    assert!(catch_unwind(AssertUnwindSafe(|| drop((tx, rx)))).is_err());
    // Relaxed: same thread.
    assert_eq!(drops.load(Ordering::Relaxed), 4, "mpmc");
}

/// A read chunk that wraps round the ring drops both of its parts on
/// `commit`, even if a message of the first part panics.
#[test]
fn chunk_commit_drops_both_parts_when_one_panics() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = spsc::channel::<Bomb>(4);
    // Move the ring's head to slot 3, so that four messages wrap.
    for _ in 0..3 {
        tx.try_send(Bomb {
            drops: drops.clone(),
            bomb: false,
        })
        .ok()
        .unwrap();
        drop(rx.try_recv().unwrap());
    }
    bombs(&drops).for_each(|b| tx.try_send(b).ok().unwrap());
    let chunk = rx.read_chunk(4).unwrap();
    let (first, second) = chunk.as_slices();
    assert_eq!((first.len(), second.len()), (1, 3), "the chunk wraps");
    assert!(catch_unwind(AssertUnwindSafe(|| chunk.commit_all())).is_err());
    // Relaxed: same thread.
    assert_eq!(drops.load(Ordering::Relaxed), 3 + 4);
    assert!(rx.is_empty());
    drop((tx, rx));
    assert_eq!(
        drops.load(Ordering::Relaxed),
        3 + 4,
        "nothing dropped twice"
    );
}
