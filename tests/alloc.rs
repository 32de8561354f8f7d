//! A counting global allocator proves that sending and receiving allocate
//! nothing once a ring exists, nor pushing and pulling jobs, nor a request
//! and its reply once the requester exists, nor publishing and receiving
//! once a pub/sub endpoint, its subscribers and the topics exist.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::mem::MaybeUninit;

use std::thread;
use std::time::Duration;

use ringbus::pubsub::{self, Overflow, SubscriberOptions};
use ringbus::{broadcast, mpmc, pipeline, reqrep, spsc, TryRecvError, Wait};

/// Counts allocations made by the current thread while it is counting.
struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping touches only
// const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.with(|n| n.set(n.get() + 1));
        }
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The allocations `f` makes on this thread.
fn allocations(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.with(Cell::get)
}

#[test]
fn spsc_send_and_receive_allocate_nothing() {
    for wait in [Wait::Spin, Wait::Backoff, Wait::Park] {
        let (mut tx, mut rx) = spsc::Builder::new(64).wait(wait).build::<u64>();
        let n = allocations(|| {
            for i in 0..10_000 {
                tx.try_send(i).unwrap();
                assert_eq!(rx.try_recv(), Ok(i));
                tx.send(i).unwrap();
                assert_eq!(rx.recv(), Ok(i));
            }
            for _ in 0..1_000 {
                let mut chunk = tx.write_chunk_uninit(8).unwrap();
                let (a, b) = chunk.as_mut_slices();
                for slot in a.iter_mut().chain(b) {
                    *slot = MaybeUninit::new(1);
                }
                // SAFETY: every slot was initialised.
                unsafe { chunk.commit_all() };
                let chunk = rx.read_chunk(8).unwrap();
                chunk.commit_all();
            }
        });
        assert_eq!(n, 0, "{wait:?}");
    }
}

#[test]
fn mpmc_send_and_receive_allocate_nothing() {
    for wait in [Wait::Spin, Wait::Backoff, Wait::Park] {
        let (tx, rx) = mpmc::Builder::new(64).wait(wait).build::<u64>();
        let n = allocations(|| {
            for i in 0..10_000 {
                tx.try_send(i).unwrap();
                assert_eq!(rx.try_recv(), Ok(i));
                tx.send(i).unwrap();
                assert_eq!(rx.recv(), Ok(i));
            }
        });
        assert_eq!(n, 0, "{wait:?}");
    }
}

#[test]
fn broadcast_publish_and_receive_allocate_nothing() {
    let (publisher, mut first) = broadcast::channel::<u64>(64);
    let mut second = first.clone();
    let n = allocations(|| {
        for i in 0..10_000 {
            publisher.send(i).unwrap();
            assert_eq!(*first.recv().unwrap(), i);
            assert_eq!(*second.try_recv().unwrap(), i);
            let mut loan = publisher.loan();
            loan.write(i);
            loan.publish();
            drop(first.recv_batch().unwrap());
            drop(second.recv().unwrap());
        }
    });
    assert_eq!(n, 0);

    let (publisher, mut subscriber) = broadcast::lossy::channel::<u64>(64);
    let n = allocations(|| {
        for i in 0..10_000 {
            publisher.send(i).unwrap();
            assert_eq!(subscriber.recv(), Ok(i));
        }
    });
    assert_eq!(n, 0);
}

#[test]
fn push_and_pull_allocate_nothing() {
    for wait in [Wait::Spin, Wait::Backoff, Wait::Park] {
        let (push, pull) = pipeline::Builder::new(64).wait(wait).build::<u64>();
        let n = allocations(|| {
            for i in 0..10_000 {
                push.try_send(i).unwrap();
                assert_eq!(pull.try_recv(), Ok(i));
                push.send(i).unwrap();
                assert_eq!(pull.recv(), Ok(i));
                push.send_timeout(i, Duration::from_secs(1)).unwrap();
                assert_eq!(pull.recv_timeout(Duration::from_secs(1)), Ok(i));
            }
        });
        assert_eq!(n, 0, "{wait:?}");
    }
}

#[test]
fn request_and_reply_allocate_nothing() {
    for wait in [Wait::Spin, Wait::Backoff, Wait::Park] {
        let (requester, replier) = reqrep::Builder::new(64).wait(wait).build::<u64, u64>();
        let server = thread::spawn(move || {
            // The first request is served before counting starts.
            let first = replier.recv().unwrap();
            let n = *first.payload();
            first.reply(n).unwrap();
            allocations(|| {
                for request in &replier {
                    let n = *request.payload();
                    request.reply(n + 1).unwrap();
                }
            })
        });
        assert_eq!(requester.request(0), Ok(0));
        let n = allocations(|| {
            for i in 0..5_000 {
                assert_eq!(requester.request(i), Ok(i + 1));
                assert_eq!(
                    requester.request_timeout(i, Duration::from_secs(30)),
                    Ok(i + 1)
                );
            }
        });
        drop(requester);
        assert_eq!(n, 0, "requester, {wait:?}");
        assert_eq!(server.join().unwrap(), 0, "replier, {wait:?}");
    }
}

#[test]
fn bus_handles_allocate_nothing_per_message() {
    // The registry allocates when an endpoint is made; the handles it hands
    // out are the patterns' own, so messages through them allocate nothing.
    let bus = ringbus::Bus::builder().capacity(64).build();
    let push = bus.pusher::<u64>("jobs").unwrap();
    let pull = bus.puller::<u64>("jobs").unwrap();
    let publisher = bus.publisher::<u64>("md").unwrap();
    let mut subscriber = bus.subscriber::<u64>("md").unwrap();
    subscriber.subscribe("md.*.AAPL").unwrap();
    let topic = publisher.topic("md.XNAS.AAPL").unwrap();
    let other = publisher.topic("md.XNAS.MSFT").unwrap();
    // The first send on a topic computes its match set.
    assert_eq!(publisher.send(&topic, 0), 1);
    assert_eq!(publisher.send(&other, 0), 0);
    assert_eq!(*subscriber.recv().unwrap().payload(), 0);
    let n = allocations(|| {
        for i in 0..10_000 {
            push.send(i).unwrap();
            assert_eq!(pull.recv(), Ok(i));
            assert_eq!(publisher.send(&topic, i), 1);
            assert_eq!(publisher.send(&other, i), 0);
            assert_eq!(*subscriber.recv().unwrap().payload(), i);
        }
    });
    assert_eq!(n, 0);
}

/// Polls `future` once with a waker that does nothing; it must be ready.
fn ready_now<F: std::future::Future>(future: F, cx: &mut std::task::Context<'_>) -> F::Output {
    match std::pin::pin!(future).poll(cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("not ready"),
    }
}

struct NoopWaker;

impl std::task::Wake for NoopWaker {
    fn wake(self: std::sync::Arc<Self>) {}
}

#[test]
fn async_forms_that_find_a_message_allocate_nothing() {
    // The waker is made (one allocation) before counting starts.
    let waker = std::task::Waker::from(std::sync::Arc::new(NoopWaker));
    let mut cx = std::task::Context::from_waker(&waker);
    for wait in [Wait::Spin, Wait::Backoff, Wait::Park] {
        let (mut tx, mut rx) = spsc::Builder::new(64).wait(wait).build::<u64>();
        let (mtx, mrx) = mpmc::Builder::new(64).wait(wait).build::<u64>();
        let (publisher, mut subscriber) = broadcast::Builder::new(64).wait(wait).build::<u64>();
        let (push, pull) = pipeline::Builder::new(64).wait(wait).build::<u64>();
        let n = allocations(|| {
            for i in 0..1_000 {
                ready_now(tx.send_async(i), &mut cx).unwrap();
                assert_eq!(ready_now(rx.recv_async(), &mut cx), Ok(i));
                ready_now(mtx.send_async(i), &mut cx).unwrap();
                assert_eq!(ready_now(mrx.recv_async(), &mut cx), Ok(i));
                publisher.send(i).unwrap();
                assert_eq!(*ready_now(subscriber.recv_async(), &mut cx).unwrap(), i);
                ready_now(push.send_async(i), &mut cx).unwrap();
                assert_eq!(ready_now(pull.recv_async(), &mut cx), Ok(i));
            }
        });
        assert_eq!(n, 0, "{wait:?}");
    }
}

#[test]
fn publish_and_receive_allocate_nothing() {
    for wait in [Wait::Spin, Wait::Backoff, Wait::Park] {
        let (publisher, mut block) = pubsub::Builder::new(64).wait(wait).build::<u64>();
        let mut newest = publisher.subscriber_with(
            SubscriberOptions::new()
                .capacity(4)
                .overflow(Overflow::DropNewest),
        );
        let mut oldest = publisher.subscriber_with(
            SubscriberOptions::new()
                .capacity(4)
                .overflow(Overflow::DropOldest),
        );
        block.subscribe("md.*.AAPL").unwrap();
        newest.subscribe_prefix("md.");
        oldest.subscribe("#").unwrap();
        for i in 0..1000 {
            oldest.subscribe(&format!("x.{i}.#")).unwrap();
        }
        let aapl = publisher.topic("md.ticks.AAPL").unwrap();
        let msft = publisher.topic("md.ticks.MSFT").unwrap();
        // The first send of each topic after the last change refreshes its
        // cache (allowed to allocate); everything after must not.
        publisher.send(&aapl, 0);
        publisher.send(&msft, 0);
        block.try_iter().for_each(drop);
        newest.try_iter().for_each(drop);
        oldest.try_iter().for_each(drop);
        let n = allocations(|| {
            for i in 0..10_000 {
                assert_eq!(publisher.send(&aapl, i), 3);
                assert_eq!(publisher.try_send(&msft, i), Ok(2));
                assert_eq!(block.recv().unwrap().topic(), "md.ticks.AAPL");
                assert_eq!(block.try_recv().unwrap_err(), TryRecvError::Empty);
                assert_eq!(newest.try_iter().count(), 2);
                assert_eq!(*oldest.recv().unwrap(), i);
                assert_eq!(*oldest.recv().unwrap(), i);
            }
        });
        assert_eq!(n, 0, "{wait:?}");
    }
}
