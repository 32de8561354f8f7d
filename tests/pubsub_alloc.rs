//! A counting global allocator proves that publishing and receiving
//! allocate nothing once the endpoint, its subscribers and the topics exist
//! (the allocator of `tests/alloc.rs`, in a binary of its own).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ringbus::pubsub::{self, Overflow, SubscriberOptions};
use ringbus::{TryRecvError, Wait};

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
