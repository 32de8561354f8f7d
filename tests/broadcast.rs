//! Behaviour of the broadcast ring: fan-out in order, late joiners and
//! clones, backpressure from the slowest subscriber, disconnection, batches,
//! loans, and every message dropped exactly once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use ringbus::broadcast::{self, Publisher, Subscriber};
use ringbus::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError, Wait};

/// Reads until the publisher is gone.
fn drain(mut subscriber: Subscriber<u64>) -> Vec<u64> {
    let mut seen = Vec::new();
    while let Ok(sample) = subscriber.recv() {
        seen.push(*sample);
    }
    seen
}

#[test]
fn three_subscribers_each_see_every_message_in_order() {
    const N: u64 = 100_000;
    for wait in [Wait::Backoff, Wait::Park] {
        let (publisher, first) = broadcast::Builder::new(64).wait(wait).build();
        let others = [first.clone(), first.clone()];
        let readers: Vec<_> = std::iter::once(first)
            .chain(others)
            .map(|s| thread::spawn(move || drain(s)))
            .collect();
        for i in 0..N {
            publisher.send(i).unwrap();
        }
        drop(publisher);
        for reader in readers {
            let seen = reader.join().unwrap();
            assert_eq!(seen.len() as u64, N, "{wait:?}");
            assert!(seen.iter().copied().eq(0..N), "{wait:?}: out of order");
        }
    }
}

#[test]
fn batches_see_every_message_once_in_order() {
    const N: u64 = 50_000;
    let (publisher, mut subscriber) = broadcast::channel(128);
    let reader = thread::spawn(move || {
        let mut next = 0;
        let mut batches = 0;
        while let Ok(batch) = subscriber.recv_batch() {
            assert!(!batch.is_empty());
            let (first, second) = batch.as_slices();
            assert_eq!(first.len() + second.len(), batch.len());
            for &value in first.iter().chain(second) {
                assert_eq!(value, next);
                next += 1;
            }
            batches += 1;
        }
        (next, batches)
    });
    for i in 0..N {
        publisher.send(i).unwrap();
    }
    drop(publisher);
    let (received, batches) = reader.join().unwrap();
    assert_eq!(received, N);
    assert!(batches <= N);
}

#[test]
fn late_joiner_sees_only_later_messages() {
    let (publisher, mut first) = broadcast::channel(8);
    publisher.send(1).unwrap();
    publisher.send(2).unwrap();
    let mut late = publisher.subscribe();
    assert!(late.is_empty());
    publisher.send(3).unwrap();
    assert_eq!(*late.recv().unwrap(), 3);
    assert_eq!(late.try_recv().unwrap_err(), TryRecvError::Empty);
    let all: Vec<i32> = std::iter::from_fn(|| first.try_recv().ok().map(|s| *s)).collect();
    assert_eq!(all, [1, 2, 3]);
}

#[test]
fn clone_starts_where_the_original_stands() {
    let (publisher, mut original) = broadcast::channel(8);
    for i in 0..4 {
        publisher.send(i).unwrap();
    }
    drop(original.recv().unwrap());
    let mut clone = original.clone();
    assert_eq!(clone.len(), 3);
    for expected in 1..4 {
        assert_eq!(*original.recv().unwrap(), expected);
        assert_eq!(*clone.recv().unwrap(), expected);
    }
}

#[test]
fn slow_subscriber_blocks_the_publisher_until_it_reads() {
    let (publisher, mut slow) = broadcast::channel(4);
    let mut fast = slow.clone();
    for i in 0..4 {
        publisher.try_send(i).unwrap();
        drop(fast.recv().unwrap());
    }
    // `fast` has read everything, `slow` nothing: the ring is full for it.
    assert!(publisher.is_full());
    assert_eq!(publisher.len(), 4);
    assert_eq!(publisher.try_send(4), Err(TrySendError::Full(4)));
    assert_eq!(
        publisher.send_timeout(4, Duration::from_millis(5)),
        Err(SendTimeoutError::Timeout(4))
    );
    assert_eq!(*slow.recv().unwrap(), 0);
    assert!(!publisher.is_full());
    publisher.try_send(4).unwrap();
    assert_eq!(slow.len(), 4);
}

#[test]
fn dropping_the_slow_subscriber_frees_a_blocked_publisher() {
    for wait in [Wait::Backoff, Wait::Park, Wait::Yield] {
        let (publisher, slow) = broadcast::Builder::new(2).wait(wait).build();
        let mut fast = publisher.subscribe();
        let sender = thread::spawn(move || {
            for i in 0..10u32 {
                publisher.send(i).unwrap();
            }
            publisher
        });
        // `slow` never reads: the publisher blocks after two messages.
        drop(fast.recv().unwrap());
        drop(fast.recv().unwrap());
        thread::sleep(Duration::from_millis(20));
        assert!(!sender.is_finished(), "{wait:?}: the publisher must wait");
        drop(slow);
        let mut rest = Vec::new();
        while rest.len() < 8 {
            rest.push(*fast.recv().unwrap());
        }
        assert_eq!(rest, (2..10).collect::<Vec<_>>(), "{wait:?}");
        drop(sender.join().unwrap());
    }
}

#[test]
fn no_subscriber_hands_the_value_back() {
    let (publisher, subscriber) = broadcast::channel::<String>(4);
    drop(subscriber);
    assert_eq!(publisher.subscribers(), 0);
    let err = publisher.try_send("a".into()).unwrap_err();
    assert!(err.is_disconnected());
    assert_eq!(err.into_inner(), "a");
    assert_eq!(publisher.send("b".into()), Err(SendError("b".to_string())));
    assert!(!publisher.is_full());
    // A later subscriber receives what is sent after it.
    let mut late = publisher.subscribe();
    publisher.send("c".into()).unwrap();
    assert_eq!(late.recv().unwrap().as_str(), "c");
}

#[test]
fn subscribers_drain_then_disconnect() {
    let (publisher, mut subscriber) = broadcast::channel(4);
    publisher.send(1).unwrap();
    publisher.send(2).unwrap();
    drop(publisher);
    assert!(subscriber.is_disconnected());
    assert_eq!(*subscriber.try_recv().unwrap(), 1);
    assert_eq!(
        *subscriber.recv_timeout(Duration::from_millis(1)).unwrap(),
        2
    );
    assert_eq!(
        subscriber.try_recv().unwrap_err(),
        TryRecvError::Disconnected
    );
    assert_eq!(
        subscriber
            .recv_timeout(Duration::from_millis(1))
            .unwrap_err(),
        RecvTimeoutError::Disconnected
    );
    assert!(subscriber.recv().is_err());
}

#[test]
fn blocked_subscriber_is_woken_by_the_publisher_drop() {
    for wait in [Wait::Backoff, Wait::Park, Wait::Spin] {
        let (publisher, mut subscriber) = broadcast::Builder::new(4).wait(wait).build::<u8>();
        let waiter = thread::spawn(move || subscriber.recv().is_err());
        thread::sleep(Duration::from_millis(10));
        drop(publisher);
        assert!(waiter.join().unwrap(), "{wait:?}");
    }
}

#[test]
fn recv_timeout_times_out_on_empty() {
    let (_publisher, mut subscriber) = broadcast::channel::<u8>(4);
    assert_eq!(
        subscriber
            .recv_timeout(Duration::from_millis(2))
            .unwrap_err(),
        RecvTimeoutError::Timeout
    );
}

/// A payload that counts its drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: a drop counter; read after the drops' threads joined or on this thread.
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn count(drops: &Arc<AtomicUsize>) -> usize {
    // Relaxed: see `Counted::drop`.
    drops.load(Ordering::Relaxed)
}

#[test]
fn every_message_dropped_once_not_once_per_subscriber() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (publisher, mut a) = broadcast::channel(4);
    let mut b = a.clone();
    let c = a.clone();
    // 10 messages through a ring of 4, read by two of three subscribers.
    for _ in 0..10 {
        publisher.send(Counted(drops.clone())).unwrap();
        drop(a.recv().unwrap());
        drop(b.recv().unwrap());
        if c.is_full() {
            // `c` never reads; dropping it frees the publisher.
            break;
        }
    }
    assert_eq!(count(&drops), 0, "`c` has read none of the 4");
    drop(c);
    assert_eq!(count(&drops), 4, "`c` was the last to need them");
    for _ in 0..6 {
        publisher.send(Counted(drops.clone())).unwrap();
        drop(a.recv().unwrap());
        drop(b.recv().unwrap());
    }
    let sent = 4 + 6;
    assert_eq!(count(&drops), sent);
    drop((publisher, a, b));
    assert_eq!(count(&drops), sent);
}

/// Issue 4: a message is dropped "when the last subscriber passes it", with
/// every handle still alive: not when its slot is reused. Whoever passes it
/// last (a sample, a batch, a clone, a leaver) drops it.
#[test]
fn a_message_is_dropped_when_the_last_subscriber_passes_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (publisher, mut a) = broadcast::channel(8);
    let mut b = a.clone();
    publisher.send(Counted(drops.clone())).unwrap();
    drop(a.recv().unwrap());
    assert_eq!(count(&drops), 0, "`b` has not passed it");
    drop(b.recv().unwrap());
    assert_eq!(count(&drops), 1, "both passed it");

    // A batch passes all of its messages when it drops.
    for _ in 0..3 {
        publisher.send(Counted(drops.clone())).unwrap();
    }
    drop(b.recv_batch().unwrap());
    assert_eq!(count(&drops), 1, "`a` has not passed them");
    let mut c = a.clone(); // starts where `a` stands: needs them too
    assert_eq!(a.recv_batch().unwrap().len(), 3);
    assert_eq!(count(&drops), 1, "the clone has not passed them");
    drop(c.recv().unwrap());
    assert_eq!(count(&drops), 2, "the clone passed the first");
    drop(c); // its leaving passes the other two
    assert_eq!(count(&drops), 4);

    // Across threads: a subscriber on another thread passes it last.
    publisher.send(Counted(drops.clone())).unwrap();
    drop(a.recv().unwrap());
    std::thread::spawn(move || drop(b.recv().unwrap()))
        .join()
        .unwrap();
    assert_eq!(count(&drops), 5);
    drop((publisher, a));
    assert_eq!(count(&drops), 5, "nothing left to drop");
}

#[test]
fn unread_messages_dropped_once_whichever_handle_goes_last() {
    for publisher_last in [false, true] {
        let drops = Arc::new(AtomicUsize::new(0));
        let (publisher, subscriber) = broadcast::channel(2);
        let other = subscriber.clone();
        for _ in 0..2 {
            publisher.send(Counted(drops.clone())).unwrap();
        }
        if publisher_last {
            drop(subscriber);
            assert_eq!(count(&drops), 0, "`other` has not read them");
            // The last subscriber leaves: nobody can read them any more.
            drop(other);
            assert_eq!(count(&drops), 2);
            drop(publisher);
        } else {
            drop(publisher);
            drop(subscriber);
            assert_eq!(count(&drops), 0);
            drop(other);
        }
        assert_eq!(count(&drops), 2, "publisher_last = {publisher_last}");
    }
}

#[test]
fn loans_publish_in_place_and_abandoned_loans_leak_nothing() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (publisher, mut subscriber): (Publisher<(u32, Counted)>, _) = broadcast::channel(2);
    for round in 0..5u32 {
        // Published.
        let mut loan = publisher.loan();
        let slot = loan.write((0, Counted(drops.clone())));
        slot.0 = round; // modified in place
        assert!(loan.publish());
        assert_eq!(subscriber.recv().unwrap().0, round);
        // Written twice, then abandoned: both values dropped, nothing sent.
        let mut abandoned = publisher.loan();
        abandoned.write((99, Counted(drops.clone())));
        abandoned.write((98, Counted(drops.clone())));
        drop(abandoned);
        assert!(matches!(subscriber.try_recv(), Err(TryRecvError::Empty)));
        // Never written: publishes nothing.
        assert!(!publisher.try_loan().unwrap().publish());
    }
    // Every abandoned value (two per round) is gone, and so is every
    // published one: the subscriber passed it.
    assert_eq!(count(&drops), 5 * 3);
    drop((publisher, subscriber));
    assert_eq!(count(&drops), 5 * 3);
}

/// A batch takes every message published before the call. An acceptance
/// check found batches cut at the tail the subscriber had cached at its
/// last receive: after one receive, a batch held 1 of 3 waiting messages.
#[test]
fn batch_takes_every_message_published_before_it() {
    let (publisher, mut subscriber) = broadcast::channel::<u32>(8);
    publisher.send(0).unwrap();
    publisher.send(1).unwrap();
    assert_eq!(*subscriber.recv().unwrap(), 0);
    publisher.send(2).unwrap();
    publisher.send(3).unwrap();
    assert_eq!(subscriber.len(), 3);
    let batch = subscriber.try_recv_batch().unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1, 2, 3]);
    drop(batch);
    publisher.send(4).unwrap();
    assert_eq!(subscriber.recv_batch().unwrap().len(), 1);

    // The multi-publisher form, the same.
    let (publisher, mut subscriber) = broadcast::Builder::new(8).build_multi::<u32>();
    for i in 0..2 {
        publisher.send(i).unwrap();
    }
    assert_eq!(*subscriber.recv().unwrap(), 0);
    for i in 2..5 {
        publisher.send(i).unwrap();
    }
    let batch = subscriber.recv_batch().unwrap();
    assert_eq!(batch.iter().copied().collect::<Vec<_>>(), [1, 2, 3, 4]);
}

/// Lending takes `&self`, as sending does (design.md: "Sending takes
/// `&self`"), so a second loan, or a send, while a loan is alive is a
/// runtime error on the publisher's thread instead of a borrow error.
#[test]
fn one_loan_at_a_time() {
    let (publisher, mut subscriber) = broadcast::channel::<u32>(4);
    let loan = publisher.loan();
    let second = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(publisher.try_loan());
    }));
    assert!(second.is_err(), "a second loan while one is alive");
    let send = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = publisher.try_send(1);
    }));
    assert!(send.is_err(), "a send into the lent slot");
    drop(loan);
    // The loan's end frees the slot for both.
    publisher.send(2).unwrap();
    let mut loan = publisher.loan();
    loan.write(3);
    assert!(loan.publish());
    assert_eq!(*subscriber.recv().unwrap(), 2);
    assert_eq!(*subscriber.recv().unwrap(), 3);
    assert!(matches!(subscriber.try_recv(), Err(TryRecvError::Empty)));
}

/// The value of an abandoned loan may send on the same publisher from its
/// `Drop` (the loan has ended by then): the message goes out once.
#[test]
fn abandoned_loan_value_may_send_from_its_drop() {
    use std::rc::Rc;

    struct Echo(Option<Rc<Publisher<Echo>>>);
    impl Drop for Echo {
        fn drop(&mut self) {
            if let Some(publisher) = self.0.take() {
                publisher.send(Echo(None)).unwrap();
            }
        }
    }
    let (publisher, mut subscriber) = broadcast::channel::<Echo>(4);
    let publisher = Rc::new(publisher);
    let mut loan = publisher.loan();
    loan.write(Echo(Some(publisher.clone())));
    drop(loan);
    assert!(subscriber.try_recv().unwrap().0.is_none());
    assert!(matches!(subscriber.try_recv(), Err(TryRecvError::Empty)));
}

#[test]
fn loan_in_place_through_maybe_uninit() {
    let (publisher, mut subscriber) = broadcast::channel::<[u64; 512]>(2);
    let mut loan = publisher.loan();
    let slot = loan.as_uninit_mut();
    // SAFETY: writing every element through a raw pointer initialises it.
    unsafe {
        let base = slot.as_mut_ptr().cast::<u64>();
        for i in 0..512 {
            base.add(i).write(i as u64);
        }
        loan.assume_init();
    }
    assert!(loan.publish());
    let sample = subscriber.recv().unwrap();
    assert!(sample.iter().enumerate().all(|(i, &v)| v == i as u64));
}

#[test]
fn subscribers_join_and_leave_while_publishing() {
    const N: u64 = 20_000;
    let (publisher, keeper) = broadcast::Builder::new(16).build::<u64>();
    let joiner = {
        let keeper = keeper.clone();
        thread::spawn(move || {
            // Clones join mid-stream, read a while (less than the ring, since
            // `source` on this thread holds the publisher back meanwhile),
            // leave; each sees a contiguous, increasing run.
            let mut runs = 0;
            let mut source = keeper;
            loop {
                let mut clone = source.clone();
                let mut last = None;
                for _ in 0..8 {
                    match clone.recv() {
                        Ok(sample) => {
                            let value = *sample;
                            if let Some(last) = last {
                                assert_eq!(value, last + 1);
                            }
                            last = Some(value);
                        }
                        Err(_) => return runs,
                    }
                }
                runs += 1;
                drop(clone);
                // Keep `source` moving so that it does not hold everyone.
                while let Ok(sample) = source.try_recv() {
                    drop(sample);
                }
            }
        })
    };
    let reader = thread::spawn(move || drain(keeper));
    for i in 0..N {
        publisher.send(i).unwrap();
    }
    drop(publisher);
    assert!(reader.join().unwrap().iter().copied().eq(0..N));
    assert!(joiner.join().unwrap() > 0);
}

#[test]
fn zero_sized_and_large_messages() {
    let (publisher, mut subscriber) = broadcast::channel::<()>(2);
    for _ in 0..5 {
        publisher.send(()).unwrap();
        assert_eq!(*subscriber.recv().unwrap(), ());
    }
    let (publisher, mut subscriber) = broadcast::channel::<[u8; 4096]>(2);
    for i in 0..5u8 {
        publisher.send([i; 4096]).unwrap();
        assert!(subscriber.recv().unwrap().iter().all(|&b| b == i));
    }
}

#[test]
fn handles_are_send_and_sync_as_the_contract_says() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Publisher<u64>>();
    send::<Subscriber<u64>>();
    sync::<Subscriber<u64>>();
    send::<broadcast::lossy::Publisher<u64>>();
    send::<broadcast::lossy::Subscriber<u64>>();
}

#[test]
#[should_panic(expected = "capacity must be greater than 0")]
fn zero_capacity_panics() {
    let _ = broadcast::channel::<u8>(0);
}

#[test]
#[should_panic(expected = "capacity overflow")]
fn overflowing_capacity_panics() {
    let _ = broadcast::Builder::new(usize::MAX).build::<u8>();
}

/// An acceptance check found that the multi-publisher form checked only
/// the slots' bytes: 2^62 zero-sized slots passed, a debug build then
/// spent for ever building them, and a release build panicked only in the
/// allocation of the per-slot marks (2^62 words). The marks are checked
/// first now, with the same clear message. (2^(BITS - 2) words: 2^BITS
/// bytes, on any target.)
#[test]
#[should_panic(expected = "capacity overflow")]
fn multi_publisher_capacity_counts_its_marks() {
    let _ = broadcast::Builder::new(1 << (usize::BITS - 2)).build_multi::<()>();
}

#[test]
fn multi_publisher_every_subscriber_sees_every_message_in_publisher_order() {
    const PER: u64 = 20_000;
    for wait in [Wait::Backoff, Wait::Park] {
        let (publisher, first) = broadcast::Builder::new(32)
            .wait(wait)
            .build_multi::<(u64, u64)>();
        let second = first.clone();
        let readers: Vec<_> = [first, second]
            .into_iter()
            .map(|mut subscriber| {
                thread::spawn(move || {
                    let mut next = [0u64; 2];
                    while let Ok(sample) = subscriber.recv() {
                        let (id, i) = *sample;
                        assert_eq!(i, next[id as usize], "publisher {id} out of order");
                        next[id as usize] += 1;
                    }
                    next
                })
            })
            .collect();
        let publishers: Vec<_> = (0..2u64)
            .map(|id| {
                let publisher = publisher.clone();
                thread::spawn(move || (0..PER).for_each(|i| publisher.send((id, i)).unwrap()))
            })
            .collect();
        drop(publisher);
        publishers.into_iter().for_each(|p| p.join().unwrap());
        for reader in readers {
            assert_eq!(reader.join().unwrap(), [PER, PER], "{wait:?}");
        }
    }
}

#[test]
fn multi_publisher_subscribe_is_a_late_joiner_and_revives_an_empty_ring() {
    let (publisher, mut first) = broadcast::Builder::new(4).build_multi::<u32>();
    let other = publisher.clone();
    publisher.send(1).unwrap();
    let mut late = other.subscribe();
    assert_eq!(publisher.subscribers(), 2);
    other.send(2).unwrap();
    assert_eq!(
        *late.recv().unwrap(),
        2,
        "only what was sent after the call"
    );
    assert_eq!(late.try_recv().unwrap_err(), TryRecvError::Empty);
    assert_eq!(*first.recv().unwrap(), 1);
    assert_eq!(*first.recv().unwrap(), 2);
    drop((first, late));
    assert_eq!(publisher.send(3), Err(SendError(3)), "nobody listens");
    let mut again = publisher.subscribe();
    other.send(4).unwrap();
    assert_eq!(*again.recv().unwrap(), 4);
    // A late joiner holds the publishers back like any subscriber.
    for i in 5..9 {
        publisher.try_send(i).unwrap();
    }
    assert_eq!(other.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(*again.recv().unwrap(), 5);
    other.try_send(9).unwrap();
}

/// Subscribers join through `MultiPublisher::subscribe` from a thread that
/// publishes nothing while two others publish: each joiner sees, of each
/// publisher, an unbroken run of its messages up to the last (every message
/// claimed after it joined, in order, none torn), and with drop glue every
/// message is dropped once, by the time the last subscriber has passed it.
#[test]
fn multi_publisher_subscribers_join_while_others_publish() {
    const PER: u64 = 20_000;
    let drops = Arc::new(AtomicUsize::new(0));
    for wait in [Wait::Backoff, Wait::Park] {
        drops.store(0, Ordering::Relaxed); // Relaxed: no other thread runs yet.
        let (publisher, mut keeper) = broadcast::Builder::new(8)
            .wait(wait)
            .build_multi::<(u64, u64, Counted)>();
        let publishers: Vec<_> = (0..2u64)
            .map(|id| {
                let publisher = publisher.clone();
                let drops = drops.clone();
                thread::spawn(move || {
                    for i in 0..PER {
                        publisher.send((id, i, Counted(drops.clone()))).unwrap();
                    }
                })
            })
            .collect();
        // The keeper reads everything, so the publishers never stop.
        let keeper = thread::spawn(move || {
            let mut next = [0u64; 2];
            while let Ok(sample) = keeper.recv() {
                let (id, i, _) = &*sample;
                assert_eq!(*i, next[*id as usize]);
                next[*id as usize] += 1;
            }
            next
        });
        let mut joiners = Vec::new();
        for _ in 0..16 {
            let mut late = publisher.subscribe();
            joiners.push(thread::spawn(move || {
                let mut next: [Option<u64>; 2] = [None, None];
                while let Ok(sample) = late.recv() {
                    let (id, i, _) = &*sample;
                    let expected = next[*id as usize].get_or_insert(*i);
                    assert_eq!(i, expected, "a gap in publisher {id}'s messages");
                    *expected += 1;
                }
                next
            }));
            thread::sleep(Duration::from_micros(200));
        }
        drop(publisher);
        publishers.into_iter().for_each(|p| p.join().unwrap());
        assert_eq!(keeper.join().unwrap(), [PER, PER]);
        for joiner in joiners {
            for next in joiner.join().unwrap() {
                assert!(
                    matches!(next, None | Some(PER)),
                    "{wait:?}: ended at {next:?}"
                );
            }
        }
        assert_eq!(count(&drops), 2 * PER as usize, "{wait:?}");
    }
}

#[test]
fn multi_publisher_drops_every_message_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (publisher, mut subscriber) = broadcast::Builder::new(4).build_multi();
    let other = publisher.clone();
    for _ in 0..10 {
        publisher.send(Counted(drops.clone())).unwrap();
        other.send(Counted(drops.clone())).unwrap();
        drop(subscriber.recv().unwrap());
        drop(subscriber.recv().unwrap());
    }
    assert_eq!(
        count(&drops),
        20,
        "each dropped as the subscriber passed it"
    );
    other.send(Counted(drops.clone())).unwrap();
    drop((publisher, other));
    assert_eq!(count(&drops), 20);
    assert!(subscriber.recv().is_ok());
    assert_eq!(count(&drops), 21);
    assert!(subscriber.recv().is_err());
    drop(subscriber);
    assert_eq!(count(&drops), 21);
}

/// How many times each message of the drop tests below was dropped, by id.
static DROPPED: std::sync::Mutex<Vec<(u64, u32)>> = std::sync::Mutex::new(Vec::new());

/// The drop count of message `id` so far.
fn dropped(id: u64) -> u32 {
    let counts = DROPPED.lock().unwrap_or_else(|e| e.into_inner());
    counts.iter().find(|(i, _)| *i == id).map_or(0, |(_, n)| *n)
}

/// What a [`Tricky`] message does when it is dropped.
#[derive(Clone, Copy, PartialEq)]
enum OnDrop {
    Nothing,
    /// Sends message `.0` on the thread's publisher.
    Resend(u64),
    Panic,
}

/// A message that counts its drops (ids are unique per test) and may run
/// user code in its `Drop`: send again, or panic.
struct Tricky {
    id: u64,
    on_drop: OnDrop,
    _heap: Box<u64>,
}

impl Tricky {
    fn new(id: u64, on_drop: OnDrop) -> Self {
        Tricky {
            id,
            on_drop,
            _heap: Box::new(id),
        }
    }
}

thread_local! {
    static RESEND_ON: std::cell::OnceCell<Publisher<Tricky>> = const { std::cell::OnceCell::new() };
}

impl Drop for Tricky {
    fn drop(&mut self) {
        {
            let mut counts = DROPPED.lock().unwrap_or_else(|e| e.into_inner());
            match counts.iter_mut().find(|(i, _)| *i == self.id) {
                Some((_, n)) => *n += 1,
                None => counts.push((self.id, 1)),
            }
        }
        match std::mem::replace(&mut self.on_drop, OnDrop::Nothing) {
            OnDrop::Nothing => {}
            OnDrop::Resend(id) => RESEND_ON.with(|p| {
                let _ = p.get().unwrap().try_send(Tricky::new(id, OnDrop::Nothing));
            }),
            OnDrop::Panic => panic!("message {} panics on drop", self.id),
        }
    }
}

/// A message's `Drop` may send on the same publisher (through a
/// thread-local one): it runs when the subscriber passes the message, after
/// the message left the ring, so the send finds room and goes out once.
#[test]
fn a_message_whose_drop_sends_again_is_dropped_once() {
    let (publisher, mut subscriber) = broadcast::channel::<Tricky>(1);
    RESEND_ON.with(|p| assert!(p.set(publisher).is_ok()));
    let send = |m| RESEND_ON.with(|p| p.get().unwrap().send(m).ok().unwrap());
    send(Tricky::new(101, OnDrop::Resend(102)));
    assert_eq!(subscriber.recv().unwrap().id, 101);
    // Passing 101 dropped it, and its drop sent 102 into the freed slot.
    assert_eq!((dropped(101), dropped(102)), (1, 0));
    assert_eq!(subscriber.recv().unwrap().id, 102);
    assert_eq!(dropped(102), 1);
    send(Tricky::new(103, OnDrop::Nothing));
    assert_eq!(subscriber.recv().unwrap().id, 103);
    assert_eq!(dropped(103), 1);
    drop(subscriber);
    for id in 101..=103 {
        assert_eq!(dropped(id), 1, "message {id}");
    }
}

/// A message's `Drop` may panic: the panic comes out where the subscriber
/// passes the message (the sample's drop), the message counts as dropped,
/// and the ring goes on: later messages are still dropped as they are
/// passed (the reap did not stay taken), and none twice by the ring's drop.
/// Single and multi publisher.
#[test]
fn a_message_whose_drop_panics_is_dropped_once() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    for (multi, base) in [(false, 200), (true, 300)] {
        let send: Box<dyn Fn(Tricky)>;
        let mut subscriber;
        if multi {
            let (publisher, s) = broadcast::Builder::new(1).build_multi::<Tricky>();
            subscriber = s;
            send = Box::new(move |m| publisher.send(m).ok().unwrap());
        } else {
            let (publisher, s) = broadcast::channel::<Tricky>(1);
            subscriber = s;
            send = Box::new(move |m| publisher.send(m).ok().unwrap());
        }
        send(Tricky::new(base + 1, OnDrop::Panic));
        let passed = catch_unwind(AssertUnwindSafe(|| {
            assert_eq!(subscriber.recv().unwrap().id, base + 1);
        }));
        assert!(passed.is_err(), "the message's drop panicked");
        assert_eq!(dropped(base + 1), 1);
        send(Tricky::new(base + 2, OnDrop::Nothing)); // the slot is free
        assert_eq!(subscriber.recv().unwrap().id, base + 2);
        assert_eq!(dropped(base + 2), 1, "reaping goes on after the panic");
        send(Tricky::new(base + 3, OnDrop::Nothing));
        drop((send, subscriber)); // the last subscriber leaves: drops it
        for id in base + 1..=base + 3 {
            assert_eq!(dropped(id), 1, "message {id} (multi: {multi})");
        }
    }
}

/// Of several messages one subscriber passes at once (a batch, or its
/// leaving), one panics in its `Drop`: the others are still dropped.
#[test]
fn passed_messages_all_dropped_when_one_panics() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let (publisher, mut subscriber) = broadcast::channel::<Tricky>(4);
    for (id, on_drop) in [
        (501, OnDrop::Nothing),
        (502, OnDrop::Panic),
        (503, OnDrop::Nothing),
    ] {
        publisher.send(Tricky::new(id, on_drop)).ok().unwrap();
    }
    let passed = catch_unwind(AssertUnwindSafe(|| {
        assert_eq!(subscriber.recv_batch().unwrap().len(), 3);
    }));
    assert!(passed.is_err());
    for id in 501..=503 {
        assert_eq!(dropped(id), 1, "message {id}");
    }
    publisher
        .send(Tricky::new(504, OnDrop::Nothing))
        .ok()
        .unwrap();
    drop(subscriber.recv().unwrap());
    assert_eq!(dropped(504), 1);
}

/// A message's `Drop` that sends on the publisher while a loan of it is
/// alive finds the slot lent and panics (the send may not take the slot and
/// move `tail` under the loan); the loan is unharmed and publishes after.
#[test]
fn a_send_from_a_drop_while_a_loan_is_alive_finds_the_slot_lent() {
    use std::cell::Cell;
    use std::rc::Rc;

    struct Echo(Option<Rc<Publisher<Echo>>>, Rc<Cell<usize>>);
    impl Drop for Echo {
        fn drop(&mut self) {
            self.1.set(self.1.get() + 1);
            if let Some(publisher) = self.0.take() {
                let _ = publisher.send(Echo(None, self.1.clone()));
            }
        }
    }
    let drops = Rc::new(Cell::new(0));
    let (publisher, mut subscriber) = broadcast::channel::<Echo>(2);
    let publisher = Rc::new(publisher);
    publisher
        .send(Echo(Some(publisher.clone()), drops.clone()))
        .unwrap();
    let mut loan = publisher.loan();
    let passed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(subscriber.recv().unwrap()); // drops the echo: it sends
    }));
    assert!(passed.is_err(), "the echo's send took the lent slot");
    // The echo and the message it tried to send: each dropped once.
    assert_eq!(drops.get(), 2);
    assert!(matches!(subscriber.try_recv(), Err(TryRecvError::Empty)));
    loan.write(Echo(None, drops.clone()));
    assert!(loan.publish());
    assert!(subscriber.recv().unwrap().0.is_none());
    assert_eq!(drops.get(), 3);
    publisher.send(Echo(None, drops.clone())).unwrap();
    assert!(subscriber.recv().unwrap().0.is_none());
    drop((publisher, subscriber));
    assert_eq!(drops.get(), 4);
}

/// Messages left in the ring are all dropped when it goes, even if one's
/// `Drop` panics.
#[test]
fn leftovers_all_dropped_when_one_panics() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let (publisher, subscriber) = broadcast::channel::<Tricky>(4);
    publisher
        .send(Tricky::new(401, OnDrop::Panic))
        .ok()
        .unwrap();
    publisher
        .send(Tricky::new(402, OnDrop::Nothing))
        .ok()
        .unwrap();
    publisher
        .send(Tricky::new(403, OnDrop::Nothing))
        .ok()
        .unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| drop((publisher, subscriber)))).is_err());
    for id in 401..=403 {
        assert_eq!(dropped(id), 1, "message {id}");
    }
}

/// Messages with drop glue through a small ring, the publisher waiting for
/// the reap: two subscribers on their own threads, single and multi
/// publisher, each waiting strategy that sleeps or yields. Each message is
/// dropped once, and every one by the time both subscribers have read it,
/// with every handle still alive.
#[test]
fn messages_with_drop_glue_stream_through_a_small_ring() {
    const N: usize = 10_000;
    for wait in [Wait::Park, Wait::Backoff, Wait::Yield] {
        for multi in [false, true] {
            let drops = Arc::new(AtomicUsize::new(0));
            let builder = broadcast::Builder::new(4).wait(wait);
            let (send, first): (Box<dyn Fn(usize)>, _) = if multi {
                let (publisher, first) = builder.build_multi::<(usize, Counted)>();
                let drops = drops.clone();
                (
                    Box::new(move |i| publisher.send((i, Counted(drops.clone()))).ok().unwrap()),
                    first,
                )
            } else {
                let (publisher, first) = builder.build::<(usize, Counted)>();
                let drops = drops.clone();
                (
                    Box::new(move |i| publisher.send((i, Counted(drops.clone()))).ok().unwrap()),
                    first,
                )
            };
            let readers = [first.clone(), first].map(|mut subscriber| {
                thread::spawn(move || {
                    for i in 0..N {
                        assert_eq!(subscriber.recv().unwrap().0, i);
                    }
                    subscriber
                })
            });
            (0..N).for_each(&send);
            let subscribers = readers.map(|reader| reader.join().unwrap());
            assert_eq!(count(&drops), N, "{wait:?}, multi: {multi}");
            drop((send, subscribers));
            assert_eq!(count(&drops), N);
        }
    }
}

/// With no subscriber a loan is still granted, and what it publishes nobody
/// reads: the next loan finds that message still in its slot (nobody passed
/// it) and drops it first, rather than write over it.
#[test]
fn loans_without_subscribers_drop_what_they_published() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (publisher, subscriber) = broadcast::channel::<Counted>(1);
    drop(subscriber);
    for published in 1..=3 {
        let mut loan = publisher.loan();
        loan.write(Counted(drops.clone()));
        assert!(loan.publish());
        assert_eq!(count(&drops), published - 1, "the one before is gone");
    }
    let mut late = publisher.subscribe();
    assert_eq!(count(&drops), 3, "a subscriber never sees the old ones");
    publisher.send(Counted(drops.clone())).unwrap();
    drop(late.recv().unwrap());
    assert_eq!(count(&drops), 4);
    drop((publisher, late));
    assert_eq!(count(&drops), 4);
}

/// Messages whose `Drop` acts on the ring that drops them (review cases).
mod reaping_reentry {
    use ringbus::broadcast::{self, MultiPublisher, Publisher, Subscriber};
    use ringbus::Wait;
    use std::cell::RefCell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// What a [`Msg`] does when it is dropped (by the reaper).
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Act {
        Nothing,
        DropOther,
        Panic,
        SendTwice,
        LoanTwice,
    }

    struct Msg {
        act: Act,
        drops: Arc<AtomicUsize>,
    }

    impl Msg {
        fn new(act: Act, d: &Arc<AtomicUsize>) -> Self {
            Msg {
                act,
                drops: d.clone(),
            }
        }
    }

    thread_local! {
        static OTHER: RefCell<Option<Subscriber<Msg>>> = const { RefCell::new(None) };
        static PUB: RefCell<Option<Publisher<Msg>>> = const { RefCell::new(None) };
        static SENT: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    impl Drop for Msg {
        fn drop(&mut self) {
            // Relaxed: a drop counter, read on this thread.
            self.drops.fetch_add(1, Ordering::Relaxed);
            match self.act {
                Act::Nothing => {}
                Act::DropOther => OTHER.with(|o| drop(o.borrow_mut().take())),
                Act::Panic => panic!("drop panics"),
                Act::SendTwice => PUB.with(|p| {
                    let p = p.borrow();
                    let p = p.as_ref().unwrap();
                    for _ in 0..2 {
                        let r = p.send_timeout(
                            Msg::new(Act::Nothing, &self.drops),
                            Duration::from_secs(1),
                        );
                        SENT.with(|s| {
                            s.borrow_mut().push(format!(
                                "{:?}",
                                r.map_err(|e| match e {
                                    ringbus::SendTimeoutError::Timeout(_) => "Timeout",
                                    ringbus::SendTimeoutError::Disconnected(_) => "Disconnected",
                                })
                            ))
                        });
                    }
                }),
                Act::LoanTwice => PUB.with(|p| {
                    let p = p.borrow();
                    let p = p.as_ref().unwrap();
                    for _ in 0..2 {
                        let mut loan = p.loan();
                        loan.write(Msg::new(Act::Nothing, &self.drops));
                        loan.publish();
                    }
                }),
            }
        }
    }

    /// A panic in a later pass of one reap (the first pass's drop of message 0
    /// drops a second subscriber, which asks for another pass; that pass drops
    /// message 1, which panics) must not leave the reap taken: later messages
    /// are still dropped as they are passed. (Found by review: the first
    /// version guarded only the first pass.)
    #[test]
    fn a_panic_in_a_later_reap_pass_does_not_stop_reaping() {
        let d = Arc::new(AtomicUsize::new(0));
        let (publisher, mut s1) = broadcast::Builder::new(2).wait(Wait::Park).build::<Msg>();
        let mut s2 = s1.clone();
        publisher.send(Msg::new(Act::DropOther, &d)).ok().unwrap(); // 0
        publisher.send(Msg::new(Act::Panic, &d)).ok().unwrap(); // 1
        drop(s2.recv().unwrap()); // s2 at 1
        OTHER.with(|o| *o.borrow_mut() = Some(s2));
        // s1 passes 0 and 1 at once: the reap drops 0 (its Drop drops s2: a
        // second request), then the served request's pass drops 1, which panics.
        let r = catch_unwind(AssertUnwindSafe(|| {
            assert_eq!(s1.try_recv_batch().unwrap().len(), 2);
        }));
        assert!(r.is_err());
        // Relaxed: the drop counter, written on this thread (see `Msg::drop`).
        assert_eq!(d.load(Ordering::Relaxed), 2);
        publisher.send(Msg::new(Act::Nothing, &d)).ok().unwrap(); // 2
        publisher.send(Msg::new(Act::Nothing, &d)).ok().unwrap(); // 3
        drop(s1.recv().unwrap());
        drop(s1.recv().unwrap());
        // Relaxed: as above.
        assert_eq!(
            d.load(Ordering::Relaxed),
            4,
            "2 and 3 passed by the only subscriber: dropped"
        );
        assert!(
            publisher.try_send(Msg::new(Act::Nothing, &d)).is_ok(),
            "ring is empty: room"
        );
    }

    /// A `Drop` that sends twice on the same publisher, run by the reap of two
    /// passed messages on the publisher's thread, finds the room that reap
    /// made. (Found by review: the first version ran the `Drop`s as the reaper,
    /// with `reaped` still short of the second message, so the second send
    /// waited for a reap only its own thread could finish: a timeout, or a hang
    /// with `send`.)
    #[test]
    fn drop_that_sends_twice_finds_the_room_its_reap_made() {
        let d = Arc::new(AtomicUsize::new(0));
        let (publisher, mut s1) = broadcast::Builder::new(2).wait(Wait::Park).build::<Msg>();
        publisher.send(Msg::new(Act::SendTwice, &d)).ok().unwrap();
        publisher.send(Msg::new(Act::Nothing, &d)).ok().unwrap();
        PUB.with(|p| *p.borrow_mut() = Some(publisher));
        assert_eq!(s1.try_recv_batch().unwrap().len(), 2); // passes both
        let sent = SENT.with(|s| s.borrow().clone());
        assert_eq!(
            sent,
            ["Ok(())", "Ok(())"],
            "both cursors are past both old messages"
        );
        PUB.with(|p| drop(p.borrow_mut().take()));
    }

    /// The same with loans and no subscriber left: the second `loan` needs a
    /// reap (the first loan's message is in the only slot, and nobody passes
    /// it). (Found by review: it spun for ever, waiting for the reaper it was.)
    #[test]
    fn drop_that_loans_twice_without_subscribers_does_not_hang() {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let d = Arc::new(AtomicUsize::new(0));
            let (publisher, s1) = broadcast::Builder::new(1).wait(Wait::Park).build::<Msg>();
            publisher.send(Msg::new(Act::LoanTwice, &d)).ok().unwrap();
            PUB.with(|p| *p.borrow_mut() = Some(publisher));
            drop(s1); // leaver reaps 0 on this thread; its Drop loans twice
            tx.send(()).unwrap();
        });
        assert!(rx.recv_timeout(Duration::from_secs(10)).is_ok(), "hung");
    }
    /// A message bigger than 1 KiB (a reap pass then takes one at a time).
    struct Big {
        sends: usize,
        _pad: [u8; 2048],
    }

    thread_local! {
        static PUB_BIG: RefCell<Option<Publisher<Big>>> = const { RefCell::new(None) };
        static SENT_BIG: RefCell<Vec<bool>> = const { RefCell::new(Vec::new()) };
    }

    impl Drop for Big {
        fn drop(&mut self) {
            for _ in 0..self.sends {
                PUB_BIG.with(|p| {
                    let big = Big {
                        sends: 0,
                        _pad: [0; 2048],
                    };
                    let sent = p
                        .borrow()
                        .as_ref()
                        .unwrap()
                        .send_timeout(big, Duration::from_secs(5));
                    SENT_BIG.with(|s| s.borrow_mut().push(sent.is_ok()));
                });
            }
        }
    }

    /// A `Drop` that sends more than its reap pass freed: the pass took one
    /// message of two (big messages), and the second send needs the pass
    /// this very thread still owes. The publisher reaps for itself before
    /// it waits. (Found by a second review: the send timed out, or hung.)
    #[test]
    fn drop_that_sends_more_than_its_pass_freed() {
        let (publisher, mut s1) = broadcast::Builder::new(2).wait(Wait::Park).build::<Big>();
        for sends in [2, 0] {
            let big = Big {
                sends,
                _pad: [0; 2048],
            };
            assert!(publisher.send(big).is_ok());
        }
        PUB_BIG.with(|p| *p.borrow_mut() = Some(publisher));
        assert_eq!(s1.try_recv_batch().unwrap().len(), 2);
        let sent = SENT_BIG.with(|s| s.borrow().clone());
        assert_eq!(sent, [true, true]);
        assert_eq!(s1.try_recv_batch().unwrap().len(), 2, "both arrived");
        PUB_BIG.with(|p| drop(p.borrow_mut().take()));
    }

    /// `MultiPublisher::is_full` answers what `try_send` would, also while
    /// a passed message waits for a reap pass this very thread owes: the
    /// pass took one big message of two, and the first one's `Drop` fills
    /// the slot it freed, then asks. (It said full, without reaping, while
    /// `try_send` reaped and succeeded.)
    #[test]
    fn multi_is_full_reaps_as_try_send_does() {
        struct Huge {
            check: bool,
            _pad: [u8; 2048],
        }
        thread_local! {
            static MULTI: RefCell<Option<MultiPublisher<Huge>>> = const { RefCell::new(None) };
            static SEEN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
        }
        fn huge(check: bool) -> Huge {
            Huge {
                check,
                _pad: [0; 2048],
            }
        }
        impl Drop for Huge {
            fn drop(&mut self) {
                if !self.check {
                    return;
                }
                MULTI.with(|p| {
                    let p = p.borrow();
                    let p = p.as_ref().unwrap();
                    let seen = [
                        format!("{:?}", p.try_send(huge(false)).map_err(drop)),
                        format!("full {}", p.is_full()),
                        format!("{:?}", p.try_send(huge(false)).map_err(drop)),
                        format!("full {}", p.is_full()),
                    ];
                    SEEN.with(|s| s.borrow_mut().extend(seen));
                });
            }
        }
        let (publisher, mut s1) = broadcast::Builder::new(2).build_multi::<Huge>();
        for check in [true, false] {
            assert!(publisher.try_send(huge(check)).is_ok());
        }
        assert!(publisher.is_full());
        MULTI.with(|p| *p.borrow_mut() = Some(publisher));
        assert_eq!(s1.try_recv_batch().unwrap().len(), 2); // passes both
        let seen = SEEN.with(|s| s.borrow().clone());
        assert_eq!(
            seen,
            ["Ok(())", "full false", "Ok(())", "full true"],
            "the second old message was passed: room for one more, then full"
        );
        assert_eq!(s1.try_recv_batch().unwrap().len(), 2, "both arrived");
        MULTI.with(|p| drop(p.borrow_mut().take()));
    }

    /// The same with small messages: 64 passed at once, a pass takes 32,
    /// and the first message's `Drop` sends 33 with `try_send`.
    #[test]
    fn drop_that_try_sends_more_than_its_pass_freed() {
        thread_local! {
            static PUB_U: RefCell<Option<Publisher<Small>>> = const { RefCell::new(None) };
            static OK: RefCell<usize> = const { RefCell::new(0) };
        }
        struct Small(usize);
        impl Drop for Small {
            fn drop(&mut self) {
                for _ in 0..self.0 {
                    PUB_U.with(|p| {
                        if p.borrow().as_ref().unwrap().try_send(Small(0)).is_ok() {
                            OK.with(|ok| *ok.borrow_mut() += 1);
                        }
                    });
                }
            }
        }
        let (publisher, mut s1) = broadcast::channel::<Small>(64);
        assert!(publisher.send(Small(33)).is_ok());
        for _ in 1..64 {
            assert!(publisher.send(Small(0)).is_ok());
        }
        PUB_U.with(|p| *p.borrow_mut() = Some(publisher));
        assert_eq!(s1.try_recv_batch().unwrap().len(), 64);
        assert_eq!(OK.with(|ok| *ok.borrow()), 33);
        PUB_U.with(|p| drop(p.borrow_mut().take()));
    }
}
