//! Metrics exactness: after known traffic, every counter equals what the test
//! sent, received, lost and waited for; while traffic runs, snapshots read
//! from another thread never go backwards.
//!
//! Waits are bounded: a test that needs a send to block polls the sender's
//! `full_waits` (which the send bumps before it waits) with a deadline.

use std::thread;
use std::time::{Duration, Instant};

use ringbus::broadcast::{self, lossy};
use ringbus::bus::{EndpointCounters, Pattern};
use ringbus::pubsub::{self, Overflow, SubscriberOptions};
use ringbus::reqrep::{self, RequestError};
use ringbus::{mpmc, pipeline, spsc, Bus, Stats, Wait};

/// Polls `done` until it is true, for at most 10 s.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

fn queue(sent: u64, received: u64, full_waits: u64, depth: usize, capacity: usize) -> Stats {
    let mut stats = Stats::default();
    stats.sent = sent;
    stats.received = received;
    stats.full_waits = full_waits;
    stats.depth = depth;
    stats.capacity = capacity;
    stats
}

#[test]
fn spsc_counts_exactly_from_either_end() {
    let (tx, rx) = spsc::channel::<u32>(8);
    assert_eq!(tx.stats(), queue(0, 0, 0, 0, 8));
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    for _ in 0..3 {
        rx.recv().unwrap();
    }
    assert_eq!(tx.stats(), queue(5, 3, 0, 2, 8));
    assert_eq!(rx.stats(), queue(5, 3, 0, 2, 8));
    // A failed try_send does not wait, so it is not a full wait.
    for i in 0..6 {
        tx.send(i).unwrap();
    }
    assert!(tx.try_send(99).is_err());
    assert_eq!(rx.stats(), queue(11, 3, 0, 8, 8));
}

#[test]
fn spsc_counts_sends_that_wait_once_each() {
    let (tx, rx) = spsc::Builder::new(1).wait(Wait::Park).build::<u32>();
    tx.send(0).unwrap();
    // A timed-out send waited.
    assert!(tx.send_timeout(1, Duration::from_millis(1)).is_err());
    assert_eq!(tx.stats().full_waits, 1);
    // A send blocked in another thread: counted once, however long it waits.
    let sender = thread::spawn(move || {
        tx.send(2).unwrap();
        tx
    });
    eventually("the blocked send", || rx.stats().full_waits == 2);
    thread::sleep(Duration::from_millis(20)); // it keeps waiting meanwhile
    assert_eq!(rx.recv(), Ok(0));
    let tx = sender.join().unwrap();
    assert_eq!(rx.recv(), Ok(2));
    assert_eq!(tx.stats(), queue(2, 2, 2, 0, 1));
}

#[test]
fn spsc_counts_across_wrap_around_with_chunks() {
    let (mut tx, mut rx) = spsc::channel::<u8>(4);
    for round in 0..10u8 {
        let mut chunk = tx.write_chunk_uninit(3).unwrap();
        let (first, second) = chunk.as_mut_slices();
        for slot in first.iter_mut().chain(second.iter_mut()) {
            slot.write(round);
        }
        // SAFETY: all 3 slots were written above.
        unsafe { chunk.commit_all() };
        rx.read_chunk(3).unwrap().commit_all();
        assert_eq!(tx.stats().depth, 0);
    }
    assert_eq!(rx.stats(), queue(30, 30, 0, 0, 4));
}

#[test]
fn mpmc_counts_every_producer_and_consumer() {
    let (tx, rx) = mpmc::channel::<u64>(16);
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let tx = tx.clone();
            thread::spawn(move || (0..1000).for_each(|i| tx.send(i).unwrap()))
        })
        .collect();
    drop(tx);
    let consumers: Vec<_> = (0..2)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.iter().count() as u64)
        })
        .collect();
    producers.into_iter().for_each(|p| p.join().unwrap());
    let taken: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(taken, 2000);
    let stats = rx.stats();
    assert_eq!((stats.sent, stats.received, stats.depth), (2000, 2000, 0));
    assert_eq!(stats.capacity, 16);
}

#[test]
fn mpmc_counts_blocked_sends() {
    let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build::<u32>();
    tx.send(0).unwrap();
    let senders: Vec<_> = (1..=2)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || tx.send(i).unwrap())
        })
        .collect();
    eventually("two blocked sends", || rx.stats().full_waits == 2);
    let mut got: Vec<u32> = (0..3).map(|_| rx.recv().unwrap()).collect();
    senders.into_iter().for_each(|s| s.join().unwrap());
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2]);
    assert_eq!(tx.stats(), queue(3, 3, 2, 0, 1));
}

#[test]
fn mpmc_snapshots_never_go_backwards_while_traffic_runs() {
    const N: u64 = 50_000;
    let (tx, rx) = mpmc::Builder::new(8).wait(Wait::Park).build::<u64>();
    let observer_rx = rx.clone();
    let producer = thread::spawn(move || (0..N).for_each(|i| tx.send(i).unwrap()));
    let consumer = thread::spawn(move || rx.iter().count() as u64);
    let mut last = observer_rx.stats();
    let mut snapshots = 0;
    while !consumer.is_finished() {
        let now = observer_rx.stats();
        assert!(now.sent >= last.sent, "{now:?} after {last:?}");
        assert!(now.received >= last.received, "{now:?} after {last:?}");
        assert!(now.full_waits >= last.full_waits, "{now:?} after {last:?}");
        assert!(now.received <= now.sent, "{now:?}");
        assert!(now.depth <= now.capacity, "{now:?}");
        last = now;
        snapshots += 1;
        thread::yield_now();
    }
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), N);
    let end = observer_rx.stats();
    assert_eq!((end.sent, end.received, end.depth), (N, N, 0));
    assert!(snapshots > 0);
}

#[test]
fn broadcast_counts_per_subscriber_late_joiners_and_clones() {
    let (publisher, mut first) = broadcast::channel::<u32>(8);
    for i in 0..3 {
        publisher.send(i).unwrap();
    }
    let mut late = publisher.subscribe(); // starts at 3
    drop(first.recv().unwrap());
    let mut clone = first.clone(); // starts where `first` stands: 1
    for i in 3..5 {
        publisher.send(i).unwrap();
    }
    assert_eq!(publisher.stats().subscribers, 3);
    assert_eq!(publisher.stats().depth, 4); // `clone` has 4 unread
    while first.try_recv().is_ok() {}
    while late.try_recv().is_ok() {}
    let batch = clone.try_recv_batch().unwrap();
    assert_eq!(batch.len(), 4);
    drop(batch);
    let (f, l, c) = (first.stats(), late.stats(), clone.stats());
    assert_eq!((f.received, l.received, c.received), (5, 2, 4));
    for s in [f, l, c] {
        assert_eq!((s.sent, s.depth, s.subscribers, s.capacity), (5, 0, 3, 8));
        assert_eq!((s.lagged_events, s.missed), (0, 0));
    }
    drop(clone);
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.depth, stats.subscribers), (5, 0, 2));
}

#[test]
fn broadcast_counts_a_sample_once_it_is_dropped() {
    let (publisher, mut subscriber) = broadcast::channel::<u32>(4);
    publisher.send(1).unwrap();
    let sample = subscriber.recv().unwrap();
    assert_eq!(*sample, 1);
    drop(sample);
    assert_eq!(subscriber.stats().received, 1);
}

#[test]
fn broadcast_counts_waits_for_the_slowest_subscriber() {
    let (publisher, mut subscriber) = broadcast::Builder::new(1).wait(Wait::Park).build::<u32>();
    publisher.send(0).unwrap();
    // Each timed-out send found the ring full and waited: once each.
    assert!(publisher.send_timeout(1, Duration::from_millis(1)).is_err());
    assert!(publisher.send_timeout(2, Duration::ZERO).is_err());
    assert_eq!(publisher.stats().full_waits, 2);
    // `try_send` does not wait.
    assert!(publisher.try_send(3).is_err());
    drop(subscriber.recv().unwrap());
    publisher.send(4).unwrap(); // room: no wait
    let stats = publisher.stats();
    assert_eq!((stats.sent, stats.full_waits, stats.depth), (2, 2, 1));
}

#[test]
fn multi_publisher_counts_every_publisher() {
    let (publisher, mut subscriber) = broadcast::Builder::new(16).build_multi::<u32>();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let publisher = publisher.clone();
            thread::spawn(move || (0..500).for_each(|i| publisher.send(i).unwrap()))
        })
        .collect();
    let mut seen = 0;
    while seen < 1000 {
        drop(subscriber.recv().unwrap());
        seen += 1;
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(publisher.stats().sent, 1000);
    assert_eq!(subscriber.stats().received, 1000);
}

#[test]
fn lossy_lag_counts_are_exactly_what_was_overwritten() {
    let (publisher, mut reader) = lossy::channel::<u32>(4);
    let mut idle = publisher.subscribe(); // reads only at the end
    for i in 0..10 {
        publisher.send(i).unwrap();
    }
    assert_eq!(reader.try_recv(), Err(lossy::TryRecvError::Lagged(6)));
    assert_eq!(reader.try_iter_count(), 4);
    for i in 10..20 {
        publisher.send(i).unwrap();
    }
    assert_eq!(reader.try_recv(), Err(lossy::TryRecvError::Lagged(6)));
    assert_eq!(reader.try_iter_count(), 4);
    let stats = reader.stats();
    assert_eq!(
        (stats.received, stats.lagged_events, stats.missed),
        (8, 2, 12)
    );
    assert_eq!((stats.sent, stats.depth, stats.subscribers), (20, 0, 2));

    assert_eq!(idle.try_recv(), Err(lossy::TryRecvError::Lagged(16)));
    assert_eq!(idle.try_iter_count(), 4);
    let stats = idle.stats();
    assert_eq!(
        (stats.received, stats.lagged_events, stats.missed),
        (4, 1, 16)
    );

    let totals = publisher.stats();
    assert_eq!(
        (totals.sent, totals.lagged_events, totals.missed),
        (20, 3, 28)
    );
    // Both subscribers have read everything: the publisher's depth (its
    // `len`, what the slowest has not read) is 0, though the ring holds 4.
    assert_eq!(
        (totals.full_waits, totals.depth, totals.capacity),
        (0, 0, 4)
    );
    // A clone starts with counters of its own.
    let clone = idle.clone();
    assert_eq!((clone.stats().received, clone.stats().missed), (0, 0));
}

#[test]
fn lossy_received_plus_missed_is_everything_sent_under_a_racing_publisher() {
    const N: u64 = 200_000;
    let (publisher, mut subscriber) = lossy::Builder::new(8).wait(Wait::Park).build::<u64>();
    let sender = thread::spawn(move || {
        for i in 0..N {
            publisher.send(i).unwrap();
        }
    });
    let (mut received, mut missed, mut reports, mut next) = (0u64, 0u64, 0u64, 0u64);
    loop {
        match subscriber.recv() {
            Ok(value) => {
                assert!(value >= next, "out of order");
                next = value + 1;
                received += 1;
            }
            Err(lossy::RecvError::Lagged(n)) => {
                missed += n;
                reports += 1;
            }
            Err(lossy::RecvError::Disconnected) => break,
        }
    }
    sender.join().unwrap();
    let stats = subscriber.stats();
    assert_eq!(received + missed, N);
    assert_eq!((stats.received, stats.missed), (received, missed));
    assert_eq!((stats.lagged_events, stats.sent), (reports, N));
}

/// `try_iter` for the lossy subscriber: count what is readable now.
trait DrainCount {
    fn try_iter_count(&mut self) -> u64;
}

impl<T: Copy> DrainCount for lossy::Subscriber<T> {
    fn try_iter_count(&mut self) -> u64 {
        let mut count = 0;
        while self.try_recv().is_ok() {
            count += 1;
        }
        count
    }
}

fn drop_options(overflow: Overflow) -> SubscriberOptions {
    SubscriberOptions::new().capacity(2).overflow(overflow)
}

#[test]
fn pubsub_counts_per_subscriber_under_each_overflow_policy() {
    let (publisher, mut block) = pubsub::channel::<u32>(8);
    let mut newest = publisher.subscriber_with(drop_options(Overflow::DropNewest));
    let mut oldest = publisher.subscriber_with(drop_options(Overflow::DropOldest));
    let mut other = publisher.subscriber();
    block.subscribe("#").unwrap();
    newest.subscribe("#").unwrap();
    oldest.subscribe("#").unwrap();
    other.subscribe("other").unwrap();
    let topic = publisher.topic("t").unwrap();
    for i in 0..5 {
        publisher.send(&topic, i);
    }
    let (b, n, o) = (block.stats(), newest.stats(), oldest.stats());
    assert_eq!((b.delivered, b.received, b.missed, b.depth), (5, 0, 0, 5));
    assert_eq!((n.delivered, n.received, n.missed, n.depth), (2, 0, 3, 2));
    assert_eq!((o.delivered, o.received, o.missed, o.depth), (5, 0, 3, 2));
    assert_eq!(other.stats().delivered, 0);

    assert_eq!(block.try_iter().count(), 5);
    let kept: Vec<u32> = newest.try_iter().map(|m| *m).collect();
    assert_eq!(kept, [0, 1]);
    let kept: Vec<u32> = oldest.try_iter().map(|m| *m).collect();
    assert_eq!(kept, [3, 4]);
    let (b, n, o) = (block.stats(), newest.stats(), oldest.stats());
    assert_eq!((b.received, b.depth, b.capacity), (5, 0, 8));
    assert_eq!((n.received, n.missed, n.capacity), (2, 3, 2));
    assert_eq!((o.received, o.missed, o.depth), (2, 3, 0));
    assert_eq!(newest.missed(), 3);

    let total = publisher.stats();
    assert_eq!((total.delivered, total.received, total.missed), (12, 9, 6));
    assert_eq!(
        (total.depth, total.publishers, total.subscribers),
        (0, 1, 4)
    );
    // A subscriber that leaves keeps its part in the endpoint's totals.
    drop(oldest);
    let after = publisher.stats();
    assert_eq!((after.delivered, after.received, after.missed), (12, 9, 6));
    assert_eq!(after.subscribers, 3);
}

#[test]
fn pubsub_does_not_count_a_message_discarded_after_unsubscribe() {
    let (publisher, mut subscriber) = pubsub::channel::<u32>(4);
    subscriber.subscribe("a").unwrap();
    publisher.send(&publisher.topic("a").unwrap(), 1);
    subscriber.unsubscribe("a").unwrap();
    assert!(subscriber.try_recv().is_err()); // discarded on receive
    let stats = subscriber.stats();
    assert_eq!((stats.delivered, stats.received, stats.depth), (1, 0, 0));
}

#[test]
fn pubsub_counts_waits_for_a_full_block_subscriber() {
    let options = SubscriberOptions::new().capacity(1);
    let (publisher, _unused) = pubsub::Builder::new(1).wait(Wait::Park).build::<u32>();
    let mut subscriber = publisher.subscriber_with(options);
    subscriber.subscribe("#").unwrap();
    publisher.send(&publisher.topic("t").unwrap(), 0);
    let sender = thread::spawn(move || {
        publisher.send(&publisher.topic("t").unwrap(), 1);
    });
    eventually("the blocked publisher", || {
        subscriber.stats().full_waits == 1
    });
    assert_eq!(*subscriber.recv().unwrap(), 0);
    sender.join().unwrap();
    assert_eq!(*subscriber.recv().unwrap(), 1);
    let stats = subscriber.stats();
    assert_eq!(
        (stats.delivered, stats.received, stats.full_waits),
        (2, 2, 1)
    );
}

#[test]
fn pipeline_counts_jobs_from_every_handle() {
    let (push, pull) = pipeline::channel::<u32>(16);
    let other = push.clone();
    let worker = pull.clone();
    for i in 0..5 {
        push.send(i).unwrap();
        other.send(i).unwrap();
    }
    for _ in 0..4 {
        worker.recv().unwrap();
    }
    for _ in 0..3 {
        pull.recv().unwrap();
    }
    for handle_stats in [push.stats(), other.stats(), worker.stats(), pull.stats()] {
        assert_eq!(handle_stats, queue(10, 7, 0, 3, 16));
    }
}

#[test]
fn reqrep_counts_how_each_request_ended() {
    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
    let server = thread::spawn(move || {
        for request in &replier {
            if *request.payload() % 2 == 0 {
                let n = *request.payload();
                request.reply(n).unwrap();
            } // odd: dropped unanswered
        }
        replier
    });
    for i in 0..6 {
        let result = requester.request(i);
        if i % 2 == 0 {
            assert_eq!(result, Ok(i));
        } else {
            assert_eq!(result, Err(RequestError::Unanswered));
        }
    }
    let stats = requester.stats();
    assert_eq!((stats.requests, stats.taken, stats.replies), (6, 6, 3));
    assert_eq!((stats.unanswered, stats.timeouts, stats.depth), (3, 0, 0));
    drop(requester);
    let replier = server.join().unwrap();
    assert_eq!(replier.stats(), stats);
}

#[test]
fn reqrep_counts_timeouts() {
    let (requester, replier) = reqrep::channel::<u32, u32>(4);
    let timeout = Duration::from_millis(1);
    assert_eq!(
        requester.request_timeout(1, timeout),
        Err(RequestError::Timeout(None))
    );
    let stats = replier.stats();
    assert_eq!(
        (stats.requests, stats.taken, stats.timeouts, stats.depth),
        (1, 0, 1, 1)
    );
    drop(replier.recv().unwrap());
    assert_eq!(requester.stats().taken, 1);
    assert_eq!(requester.stats().unanswered, 0); // it had stopped waiting
}

#[test]
fn bus_lists_every_endpoint_with_its_counters() {
    let bus = Bus::builder().capacity(8).wait(Wait::Park).build();
    let mut md = bus.subscriber::<u64>("md").unwrap();
    md.subscribe("#").unwrap();
    let publisher = bus.publisher::<u64>("md").unwrap();
    let topic = publisher.topic("ticks").unwrap();
    for i in 0..3 {
        publisher.send(&topic, i);
    }
    md.recv().unwrap();
    let push = bus.pusher::<String>("jobs").unwrap();
    push.send("a".into()).unwrap();
    push.send("b".into()).unwrap();
    let requester = bus.requester::<u8, u8>("rpc").unwrap();
    let replier = bus.replier::<u8, u8>("rpc").unwrap();
    let server = thread::spawn(move || {
        let request = replier.recv().unwrap();
        request.reply(1).unwrap();
        replier
    });
    assert_eq!(requester.request(0), Ok(1));
    let _replier = server.join().unwrap();

    let stats = bus.stats();
    let names: Vec<_> = stats
        .iter()
        .map(|e| (e.name.as_str(), e.pattern, e.message))
        .collect();
    assert_eq!(
        names,
        [
            ("jobs", Pattern::Pipeline, "alloc::string::String"),
            ("md", Pattern::PubSub, "u64"),
            ("rpc", Pattern::ReqRep, "(u8, u8)"),
        ]
    );
    match stats[0].counters {
        EndpointCounters::Pipeline(s) => assert_eq!(s, queue(2, 0, 0, 2, 8)),
        other => panic!("{other:?}"),
    }
    match stats[1].counters {
        EndpointCounters::PubSub(s) => {
            assert_eq!((s.delivered, s.received, s.depth), (3, 1, 2));
            assert_eq!((s.publishers, s.subscribers, s.missed), (1, 1, 0));
        }
        other => panic!("{other:?}"),
    }
    match stats[2].counters {
        EndpointCounters::ReqRep(s) => {
            assert_eq!((s.requests, s.taken, s.replies, s.unanswered), (1, 1, 1, 0));
        }
        other => panic!("{other:?}"),
    }
    // An endpoint whose handles are all gone is not listed.
    drop(push);
    assert_eq!(bus.stats().len(), 2);
}

#[test]
fn bus_stats_are_readable_while_traffic_runs() {
    const N: u64 = 20_000;
    let bus = Bus::builder().capacity(4).wait(Wait::Park).build();
    let push = bus.pusher::<u64>("jobs").unwrap();
    let pull = bus.puller::<u64>("jobs").unwrap();
    let producer = thread::spawn(move || (0..N).for_each(|i| push.send(i).unwrap()));
    let consumer = thread::spawn(move || pull.iter().count() as u64);
    let mut last = (0, 0);
    while !consumer.is_finished() {
        for endpoint in bus.stats() {
            if let EndpointCounters::Pipeline(s) = endpoint.counters {
                assert!(
                    s.sent >= last.0 && s.received >= last.1,
                    "{s:?} after {last:?}"
                );
                assert!(s.depth <= 4);
                last = (s.sent, s.received);
            }
        }
        thread::yield_now();
    }
    producer.join().unwrap();
    assert_eq!(consumer.join().unwrap(), N);
    assert!(bus.stats().is_empty()); // every handle is gone
}
