//! pubsub behaviour: filters, subscription changes while publishing,
//! exactly-once delivery across many publishers and subscribers, overflow
//! policies, partial sends, disconnection.

use std::cell::{OnceCell, RefCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use ringbus::pubsub::{self, FilterError, Overflow, SubscriberOptions};
use ringbus::{RecvTimeoutError, TryRecvError, Wait};

fn drain<T: Copy>(s: &pubsub::Subscriber<T>) -> Vec<T> {
    s.try_iter().map(|m| *m).collect()
}

#[test]
fn malformed_filters_are_errors() {
    let (publisher, mut s) = pubsub::channel::<u8>(4);
    for (pattern, word) in [("md.a*", 1), ("#a", 0), ("a.b.**", 2), ("x.#y.z", 1)] {
        assert_eq!(
            s.subscribe(pattern),
            Err(FilterError::MixedWildcard { word }),
            "{pattern}"
        );
        assert_eq!(
            s.unsubscribe(pattern),
            Err(FilterError::MixedWildcard { word })
        );
    }
    assert_eq!(s.filter_count(), 0);
    assert_eq!(
        publisher.topic("a.*").unwrap_err(),
        FilterError::WildcardInTopic { byte: 2 }
    );
    let err = s.subscribe("a*").unwrap_err();
    assert!(err.to_string().contains("word 0"), "{err}");
}

#[test]
fn matching_table() {
    // (filter, is_prefix, topic, matches)
    let table: &[(&str, bool, &str, bool)] = &[
        ("", true, "", true),
        ("", true, "anything.at.all", true),
        ("md.", true, "md.ticks", true),
        ("md.", true, "md", false),
        ("md.t", true, "md.ticks", true),
        ("#", false, "", true),
        ("#", false, "a", true),
        ("#", false, "a..b.", true),
        ("*", false, "", false),
        ("*", false, "a", true),
        ("*", false, "a.b", false),
        ("", false, "", true),
        ("", false, "a", false),
        ("a.b", false, "a.b", true),
        ("a.b", false, "a.b.c", false),
        ("a.b", false, "a", false),
        ("a..b", false, "a..b", true),
        ("a..b", false, "a.b", false),
        ("a.*.b", false, "a..b", true),
        ("a.", false, "a.", true),
        ("a.", false, "a", false),
        ("a.*", false, "a.", true),
        ("a.#", false, "a", true),
        ("a.#", false, "a.b.c", true),
        ("*.a", false, ".a", true),
        ("*.a", false, "a", false),
        ("#.a", false, "a", true),
        ("#.a", false, "x.y.a", true),
        ("a.*", false, "a.b.c", false),
        ("*.*", false, "a.b", true),
        ("*.*", false, ".", true),
        ("a.#.z", false, "a.z", true),
        ("a.#.z", false, "a.b.c.z", true),
        ("a.#.z", false, "a.b.c.y", false),
        ("#.#", false, "", true),
        ("md.*.AAPL", false, "md.ticks.AAPL", true),
        ("md.*.AAPL", false, "md.ticks.MSFT", false),
        ("orders.#", false, "orders", true),
        ("orders.#", false, "ordersx", false),
    ];
    let (publisher, _s) = pubsub::channel::<u8>(4);
    for &(filter, prefix, topic, expected) in table {
        let mut s = publisher.subscriber();
        if prefix {
            s.subscribe_prefix(filter);
        } else {
            s.subscribe(filter).unwrap();
        }
        let t = publisher.topic(topic).unwrap();
        let reached = publisher.send(&t, 1);
        assert_eq!(
            reached == 1,
            expected,
            "{filter:?} (prefix: {prefix}) ~ {topic:?}"
        );
        assert_eq!(s.try_iter().count(), reached);
    }
}

#[test]
fn subscription_before_send_is_seen() {
    // The feed publishes a numbered stream. Once it is under way, the
    // subscriber thread subscribes, then raises a flag; the feed reads the
    // flag before each send. Every send made after it saw the flag must
    // arrive (Block: nothing is lost), in order, once.
    for round in 0..20u64 {
        let (publisher, mut s) = pubsub::Builder::new(1024).wait(Wait::Park).build::<u64>();
        let flag = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let feed = {
            let (flag, sent) = (flag.clone(), sent.clone());
            thread::spawn(move || {
                let topic = publisher.topic("md.ticks").unwrap();
                let mut first = None;
                for i in 0u64.. {
                    // Acquire: pairs with the Release store of `flag` below.
                    let seen = flag.load(Ordering::Acquire);
                    publisher.send(&topic, i);
                    // Relaxed: progress only; no data travels with it.
                    sent.store(i as usize + 1, Ordering::Relaxed);
                    if seen && first.is_none() {
                        first = Some(i);
                    }
                    if let Some(first) = first.filter(|&f| i >= f + 1_000) {
                        return (first, i);
                    }
                }
                unreachable!()
            })
        };
        // Relaxed: progress only (see the store above).
        while sent.load(Ordering::Relaxed) < 10 + round as usize * 50 {
            thread::yield_now();
        }
        s.subscribe("md.*").unwrap();
        // Release: pairs with the publisher's Acquire load of `flag`.
        flag.store(true, Ordering::Release);
        let got: Vec<u64> = s.iter().map(|m| *m).collect();
        let (first, last) = feed.join().unwrap();
        assert!(first > 0, "round {round}: subscribed before the feed began");
        let from = got.iter().position(|&v| v == first);
        let from = from.unwrap_or_else(|| panic!("round {round}: message {first} lost"));
        let expected: Vec<u64> = (first..=last).collect();
        assert_eq!(&got[from..], &expected[..], "round {round}");
        // In order, with no duplicate, before that point too.
        assert!(got.windows(2).all(|w| w[0] + 1 == w[1]), "round {round}");
    }
}

#[test]
fn nothing_arrives_after_unsubscribe() {
    for _ in 0..20 {
        let (publisher, mut s) = pubsub::Builder::new(64).wait(Wait::Park).build::<u64>();
        s.subscribe("a.#").unwrap();
        s.subscribe_prefix("keep");
        let stop = Arc::new(AtomicBool::new(false));
        let feed = {
            let stop = stop.clone();
            thread::spawn(move || {
                let a = publisher.topic("a.b").unwrap();
                let keep = publisher.topic("keep.me").unwrap();
                let mut i = 0u64;
                // Relaxed: a stop flag; the join orders the rest.
                while !stop.load(Ordering::Relaxed) {
                    publisher.send(&a, i);
                    publisher.send(&keep, i | 1 << 63);
                    i += 1;
                }
            })
        };
        // Receive a few, then unsubscribe from `a.#` while the feed runs.
        for _ in 0..50 {
            s.recv().unwrap();
        }
        assert_eq!(s.unsubscribe("a.#"), Ok(true));
        let mut kept = 0;
        for _ in 0..200 {
            let m = s.recv().unwrap();
            assert_eq!(m.topic(), "keep.me", "a message of `a.b` after unsubscribe");
            kept += 1;
        }
        // Relaxed: a stop flag; the join orders the rest.
        stop.store(true, Ordering::Relaxed);
        while let Ok(m) = s.recv() {
            assert_eq!(m.topic(), "keep.me");
        }
        feed.join().unwrap();
        assert_eq!(kept, 200);
    }
}

#[test]
fn many_publishers_many_subscribers_exactly_once_in_order() {
    const PUBLISHERS: u64 = 3;
    const PER: u64 = 20_000;
    let (publisher, mut all) = pubsub::Builder::new(64).build::<(u64, u64)>();
    all.subscribe("#").unwrap();
    let mut evens = publisher.subscriber();
    evens.subscribe("*.k0").unwrap();
    evens.subscribe("*.k2").unwrap();
    let mut second = publisher.subscriber_with(SubscriberOptions::new().capacity(8));
    second.subscribe_prefix("p1.");
    let barrier = Arc::new(Barrier::new(PUBLISHERS as usize));
    let feeds: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let publisher = publisher.clone();
            let barrier = barrier.clone();
            thread::spawn(move || {
                let topics: Vec<_> = (0..4)
                    .map(|k| publisher.topic(&format!("p{p}.k{k}")).unwrap())
                    .collect();
                barrier.wait();
                for i in 0..PER {
                    publisher.send(&topics[(i % 4) as usize], (p, i));
                }
            })
        })
        .collect();
    drop(publisher);
    let readers: Vec<_> = [all, evens, second]
        .into_iter()
        .map(|s| thread::spawn(move || s.iter().map(|m| *m).collect::<Vec<_>>()))
        .collect();
    feeds.into_iter().for_each(|f| f.join().unwrap());
    let got: Vec<Vec<(u64, u64)>> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    let wants: [&dyn Fn(u64, u64) -> bool; 3] = [&|_, _| true, &|_, i| i % 2 == 0, &|p, _| p == 1];
    for (s, (got, wants)) in got.iter().zip(wants).enumerate() {
        for p in 0..PUBLISHERS {
            let mine: Vec<u64> = got.iter().filter(|m| m.0 == p).map(|m| m.1).collect();
            let expected: Vec<u64> = (0..PER).filter(|&i| wants(p, i)).collect();
            assert_eq!(mine, expected, "subscriber {s}, publisher {p}");
        }
        let total = (0..PUBLISHERS)
            .map(|p| (0..PER).filter(|&i| wants(p, i)).count())
            .sum::<usize>();
        assert_eq!(got.len(), total, "subscriber {s}");
    }
}

#[test]
fn drop_newest_and_drop_oldest_count_exactly() {
    let (publisher, _s) = pubsub::channel::<u32>(4);
    let mut newest =
        publisher.subscriber_with(SubscriberOptions::new().overflow(Overflow::DropNewest));
    let mut oldest =
        publisher.subscriber_with(SubscriberOptions::new().overflow(Overflow::DropOldest));
    newest.subscribe("#").unwrap();
    oldest.subscribe("#").unwrap();
    let t = publisher.topic("t").unwrap();
    let reached: usize = (0..10).map(|i| publisher.send(&t, i)).sum();
    assert_eq!(reached, 4 + 10); // newest took 4, oldest took every one
    assert_eq!(newest.missed(), 6);
    assert_eq!(oldest.missed(), 6);
    assert_eq!(drain(&newest), [0, 1, 2, 3]);
    assert_eq!(drain(&oldest), [6, 7, 8, 9]);
}

#[test]
fn lossy_subscribers_never_stall_and_count_exactly_under_load() {
    const N: u64 = 200_000;
    for overflow in [Overflow::DropNewest, Overflow::DropOldest] {
        let (publisher, mut blocked) = pubsub::Builder::new(16).build::<u64>();
        // A Block subscriber with no filter: matched by nothing, never stalls.
        blocked.subscribe("other").unwrap();
        let mut lossy =
            publisher.subscriber_with(SubscriberOptions::new().capacity(16).overflow(overflow));
        lossy.subscribe("#").unwrap();
        let feed = thread::spawn(move || {
            let t = publisher.topic("t").unwrap();
            (0..N).for_each(|i| {
                publisher.send(&t, i);
            })
        });
        let mut received = 0u64;
        let mut last = None;
        while let Ok(m) = lossy.recv() {
            assert!(last.map_or(true, |l| l < *m), "{overflow:?}: out of order");
            last = Some(*m);
            received += 1;
        }
        feed.join().unwrap();
        assert_eq!(received + lossy.missed() as u64, N, "{overflow:?}");
        if overflow == Overflow::DropOldest {
            assert_eq!(last, Some(N - 1), "DropOldest keeps the latest");
        }
        drop(blocked);
    }
}

#[test]
fn partial_send_resumes_without_duplicates() {
    let (publisher, mut a) = pubsub::channel::<u32>(1);
    let mut b = publisher.subscriber_with(SubscriberOptions::new().capacity(1));
    let mut c = publisher.subscriber_with(SubscriberOptions::new().capacity(4));
    for s in [&mut a, &mut b, &mut c] {
        s.subscribe("#").unwrap();
    }
    let t = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&t, 0), 3);
    // Make room in `a` only: the send reaches `a`, then stops at `b`.
    a.recv().unwrap();
    let pending = publisher.try_send(&t, 1).unwrap_err();
    assert_eq!(pending.delivered(), 1);
    // Retrying while `b` is still full changes nothing.
    let pending = pending.try_send().unwrap_err();
    let pending = pending.send_timeout(Duration::from_millis(5)).unwrap_err();
    assert_eq!(pending.delivered(), 1);
    assert!(pending.to_string().contains("after reaching 1"));
    b.recv().unwrap();
    assert_eq!(pending.try_send(), Ok(3));
    assert_eq!(drain(&a), [1]);
    assert_eq!(drain(&b), [1]);
    assert_eq!(drain(&c), [0, 1]);

    // Giving up: the rest never get it.
    publisher.send(&t, 2); // a, b full again
    let pending = publisher.try_send(&t, 3).unwrap_err();
    assert_eq!(pending.delivered(), 0);
    assert_eq!(pending.into_inner(), 3);
    assert_eq!(drain(&c), [2]);
}

#[test]
fn subscribers_drain_then_disconnect() {
    let (publisher, mut s) = pubsub::channel::<u32>(8);
    s.subscribe("#").unwrap();
    let second = publisher.clone();
    let t = publisher.topic("t").unwrap();
    publisher.send(&t, 1);
    drop(publisher);
    second.send(&t, 2);
    assert!(!s.is_disconnected());
    drop(second);
    assert!(s.is_disconnected());
    assert_eq!(drain(&s), [1, 2]);
    assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Disconnected);
    assert_eq!(
        s.recv_timeout(Duration::from_millis(1)).unwrap_err(),
        RecvTimeoutError::Disconnected
    );
}

#[test]
fn parked_subscriber_wakes_on_disconnect() {
    let (publisher, mut s) = pubsub::Builder::new(8).wait(Wait::Park).build::<u32>();
    s.subscribe("#").unwrap();
    let reader = thread::spawn(move || s.recv().map(|m| *m));
    thread::sleep(Duration::from_millis(20));
    drop(publisher);
    assert!(reader.join().unwrap().is_err());
}

#[test]
fn dropped_subscriber_releases_a_blocked_publisher() {
    for wait in [Wait::Park, Wait::Backoff, Wait::Yield] {
        let (publisher, mut slow) = pubsub::Builder::new(1).wait(wait).build::<u32>();
        slow.subscribe("#").unwrap();
        let t = publisher.topic("t").unwrap();
        publisher.send(&t, 0);
        let feed = thread::spawn(move || publisher.send(&t, 1)); // blocks on `slow`
        thread::sleep(Duration::from_millis(20));
        drop(slow);
        assert_eq!(feed.join().unwrap(), 0, "{wait:?}");
    }
}

#[test]
fn dropped_subscriber_is_no_longer_matched() {
    let (publisher, mut s) = pubsub::channel::<u32>(8);
    s.subscribe("#").unwrap();
    let t = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&t, 1), 1);
    assert_eq!(publisher.subscriber_count(), 1);
    drop(s);
    assert_eq!(publisher.subscriber_count(), 0);
    assert_eq!(publisher.send(&t, 2), 0);
}

#[test]
fn thousand_filters_per_subscriber() {
    let (publisher, mut s) = pubsub::channel::<u32>(4096);
    for i in 0..1000 {
        if i % 2 == 0 {
            s.subscribe(&format!("md.{i}.*")).unwrap();
        } else {
            s.subscribe_prefix(&format!("px.{i}."));
        }
    }
    let mut other = publisher.subscriber();
    for i in 0..1000 {
        other.subscribe(&format!("zz.#.{i}")).unwrap();
    }
    assert_eq!(s.filter_count(), 1000);
    let mut expected = Vec::new();
    for i in 0..2000u32 {
        let name = if i % 3 == 0 {
            format!("md.{i}.x")
        } else {
            format!("px.{i}.y")
        };
        let hit = i < 1000 && ((i % 3 == 0 && i % 2 == 0) || (i % 3 != 0 && i % 2 == 1));
        let t = publisher.topic(&name).unwrap();
        assert_eq!(publisher.send(&t, i), usize::from(hit), "{name}");
        if hit {
            expected.push(i);
        }
    }
    assert_eq!(drain(&s), expected);
    let t = publisher.topic("zz.a.b.999").unwrap();
    assert_eq!(publisher.send(&t, 7), 1);
    assert_eq!(drain(&other), [7]);
}

#[test]
fn topics_cache_follows_changes_and_endpoints() {
    let (p1, mut s1) = pubsub::channel::<u32>(8);
    let (p2, mut s2) = pubsub::channel::<u32>(8);
    s1.subscribe("x").unwrap();
    s2.subscribe("x").unwrap();
    let t = p1.topic("x").unwrap();
    assert_eq!(p1.send(&t, 1), 1);
    // The same Topic through another endpoint's publisher routes there.
    assert_eq!(p2.send(&t, 2), 1);
    assert_eq!(drain(&s1), [1]);
    assert_eq!(drain(&s2), [2]);
    let t2 = t.clone();
    s1.unsubscribe("x").unwrap();
    assert_eq!(p1.send(&t2, 3), 0);
    assert_eq!(t2.name(), "x");
}

/// A topic does not keep its endpoint alive, so the endpoint may be freed
/// and a new one allocated at the same address, with the same generation:
/// the topic must still not use the dead endpoint's route (its inboxes and
/// interned name) there.
#[test]
fn a_topic_outliving_its_endpoint_routes_on_a_new_one() {
    let (p1, mut s1) = pubsub::channel::<u32>(8);
    s1.subscribe("x").unwrap();
    let t = p1.topic("x").unwrap();
    assert_eq!(p1.send(&t, 1), 1);
    drop((p1, s1));
    for i in 0..32 {
        let (p2, mut s2) = pubsub::channel::<u32>(8);
        s2.subscribe("x").unwrap(); // the generation the topic cached
        assert_eq!(p2.send(&t, i), 1);
        let message = s2.recv().unwrap();
        assert_eq!((message.topic(), *message), ("x", i));
    }
}

#[test]
fn messages_are_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    struct Counted(Arc<AtomicUsize>);
    impl Clone for Counted {
        fn clone(&self) -> Self {
            Counted(self.0.clone())
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            // Relaxed: a drop counter, read on the dropping thread.
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let (publisher, mut a) = pubsub::channel::<Counted>(4);
    let mut b = publisher.subscriber();
    a.subscribe("#").unwrap();
    b.subscribe("#").unwrap();
    let t = publisher.topic("t").unwrap();
    for _ in 0..3 {
        publisher.send(&t, Counted(drops.clone()));
    }
    drop(a.recv().unwrap());
    // Relaxed: same thread as the drops.
    assert_eq!(drops.load(Ordering::Relaxed), 1);
    // A dropped subscriber drops its unread messages at once, although the
    // topic's cache still holds its ring until the next send. (They used
    // to live as long as that cache: an acceptance check found them alive
    // after the bus had freed the endpoint.)
    drop(a);
    // Relaxed: same thread as the drops.
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    assert_eq!(publisher.send(&t, Counted(drops.clone())), 1);
    // Relaxed: same thread as the drops.
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    drop((publisher, t, b));
    // Relaxed: same thread as the drops.
    assert_eq!(drops.load(Ordering::Relaxed), 7);
}

/// A [`pubsub::Pending`] counts as a publisher: after the last `Publisher`
/// drops, the subscriber sees `Empty`, not `Disconnected`, until the pending
/// send is finished (its message is then drained first) or dropped.
#[test]
fn pending_send_keeps_subscribers_connected() {
    let (publisher, mut s) = pubsub::channel::<u32>(1);
    s.subscribe("#").unwrap();
    let t = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&t, 1), 1);
    let pending = publisher.try_send(&t, 2).unwrap_err(); // the ring is full
    drop(publisher);
    assert_eq!(*s.try_recv().unwrap(), 1);
    assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Empty);
    assert_eq!(pending.send(), 1);
    assert_eq!(drain(&s), [2]);
    assert_eq!(s.try_recv().unwrap_err(), TryRecvError::Disconnected);

    // Dropping a pending send instead ends it too, and wakes a waiting
    // subscriber.
    let (publisher, mut s) = pubsub::channel::<u32>(1);
    s.subscribe("#").unwrap();
    let t = publisher.topic("t").unwrap();
    publisher.send(&t, 1);
    let pending = publisher.try_send(&t, 2).unwrap_err();
    drop(publisher);
    let reader = thread::spawn(move || s.iter().map(|m| *m).collect::<Vec<_>>());
    thread::sleep(Duration::from_millis(20));
    drop(pending);
    assert_eq!(reader.join().unwrap(), [1]);
}

/// A `DropOldest` send never empties the ring and never waits for the
/// subscriber: while the subscriber is in the middle of taking a message
/// (a big one, so that the window is wide), a send drops at most the
/// oldest message and, failing room, its own. (An earlier version took
/// message after message while the slot the subscriber held stayed full,
/// and then spun until the subscriber ran again.)
#[test]
fn drop_oldest_send_loses_at_most_two() {
    type Big = [u64; 8192]; // 64 KiB moved into and out of the ring
                            // Big values on the stack: give both threads room (debug builds copy).
    let roomy = || thread::Builder::new().stack_size(64 << 20);
    let (publisher, _idle) = pubsub::channel::<Big>(1);
    let options = SubscriberOptions::new()
        .capacity(16)
        .overflow(Overflow::DropOldest);
    let mut subscriber = publisher.subscriber_with(options);
    subscriber.subscribe("#").unwrap();
    let topic = publisher.topic("t").unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let reader = roomy()
        .spawn(move || {
            let mut last = None;
            let mut received = 0u64;
            // Relaxed: a stop flag; the joins order the rest.
            while !stop.load(Ordering::Relaxed) || !subscriber.is_empty() {
                match subscriber.try_recv() {
                    Ok(message) => {
                        assert!(last < Some(message[0]), "out of order");
                        assert!(message.iter().all(|&w| w == message[0]), "torn");
                        last = Some(message[0]);
                        received += 1;
                    }
                    Err(_) => thread::yield_now(),
                }
            }
            received
        })
        .unwrap();
    let feed = roomy()
        .spawn(move || {
            let deadline = Instant::now() + Duration::from_millis(400);
            let (mut sent, mut worst) = (0u64, 0u64);
            while Instant::now() < deadline {
                let before = publisher.stats().missed;
                assert!(publisher.send(&topic, [sent; 8192]) <= 1);
                worst = worst.max(publisher.stats().missed - before);
                sent += 1;
            }
            (sent, worst, publisher.stats().missed)
        })
        .unwrap();
    let (sent, worst, missed) = feed.join().unwrap();
    // Relaxed: see the reader.
    done.store(true, Ordering::Relaxed);
    let received = reader.join().unwrap();
    assert!(worst <= 2, "one send dropped {worst} messages");
    assert_eq!(received + missed, sent);
}

thread_local! {
    /// What a [`Resends`] clone sends with, and a subscriber it changes.
    static RESEND_PUBLISHER: OnceCell<pubsub::Publisher<Resends>> = const { OnceCell::new() };
    static RESEND_TOPIC: OnceCell<pubsub::Topic<Resends>> = const { OnceCell::new() };
    static RESEND_OTHER: RefCell<Option<pubsub::Subscriber<Resends>>> = const { RefCell::new(None) };
}

/// A payload whose `clone` (made for every matching subscriber but the
/// last) changes a subscription, which makes the topic's cached route stale,
/// and sends on the same `Topic` again.
struct Resends(u32);

impl Clone for Resends {
    fn clone(&self) -> Self {
        if self.0 == 1 {
            RESEND_OTHER.with(|s| {
                s.borrow_mut()
                    .as_mut()
                    .unwrap()
                    .subscribe("elsewhere")
                    .unwrap()
            });
            let reached = RESEND_PUBLISHER.with(|p| {
                RESEND_TOPIC.with(|t| p.get().unwrap().send(t.get().unwrap(), Resends(2)))
            });
            assert_eq!(reached, 2);
        }
        Resends(self.0)
    }
}

/// A send made from inside another send on the same `Topic` (by a
/// message's `clone`, after a subscription change) works, instead of
/// panicking on the topic's cache ("already borrowed").
#[test]
fn send_from_inside_a_send_on_the_same_topic() {
    let (publisher, mut a) = pubsub::channel::<Resends>(8);
    let mut b = publisher.subscriber();
    a.subscribe("t").unwrap();
    b.subscribe("t").unwrap();
    RESEND_OTHER.with(|s| *s.borrow_mut() = Some(publisher.subscriber()));
    RESEND_TOPIC.with(|t| assert!(t.set(publisher.topic("t").unwrap()).is_ok()));
    RESEND_PUBLISHER.with(|p| assert!(p.set(publisher).is_ok()));
    let reached = RESEND_PUBLISHER
        .with(|p| RESEND_TOPIC.with(|t| p.get().unwrap().send(t.get().unwrap(), Resends(1))));
    assert_eq!(reached, 2);
    let got = |s: &pubsub::Subscriber<Resends>| s.try_iter().map(|m| m.0).collect::<Vec<_>>();
    // `a` gets the inner message first: the outer one's clone sent it.
    assert_eq!(got(&a), [2, 1]);
    assert_eq!(got(&b), [2, 1]);
}

/// Runs `f` on a thread of its own (the default stack) and returns what it
/// returns; fails if that takes longer than `limit`, leaving the thread to
/// run on.
fn within<R: Send + 'static>(limit: Duration, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || tx.send(f()));
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("took longer than {limit:?}"),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the thread panicked"),
    }
}

/// Generous: each case below takes milliseconds; the recursive matcher this
/// replaced overflowed the stack or ran for minutes.
const LIMIT: Duration = Duration::from_secs(5);

#[test]
fn a_topic_of_many_words_matches_without_deep_recursion() {
    // 100 000 empty words, on a spawned thread's default stack: one
    // recursion per word aborted the process.
    let reached = within(LIMIT, || {
        let (publisher, mut all) = pubsub::channel::<u8>(4);
        all.subscribe("#").unwrap();
        let mut ends_empty = publisher.subscriber();
        ends_empty.subscribe("#.").unwrap();
        // Matched on receipt too: a message routed before an
        // unsubscription is checked again.
        ends_empty.subscribe("x").unwrap();
        let mut none = publisher.subscriber();
        none.subscribe("#.x").unwrap();
        none.subscribe("a.#").unwrap();
        let t = publisher.topic(&".".repeat(99_999)).unwrap();
        let reached = publisher.send(&t, 1);
        ends_empty.unsubscribe("x").unwrap();
        let received = ends_empty.try_iter().count();
        (reached, drain(&all).len(), received, drain(&none).len())
    });
    assert_eq!(reached, (2, 1, 1, 0));
}

#[test]
fn many_hashes_match_without_backtracking() {
    // Five `#`s and a topic that fails only at its last word: backtracking
    // tried about C(200, 5) ways (37 s in a release build).
    let reached = within(LIMIT, || {
        let (publisher, mut s) = pubsub::channel::<u8>(4);
        s.subscribe("#.a.#.a.#.a.#.a.#.b").unwrap();
        let words = vec!["a"; 200].join(".");
        let miss = publisher.topic(&words).unwrap();
        let hit = publisher.topic(&format!("{words}.b")).unwrap();
        (publisher.send(&miss, 1), publisher.send(&hit, 2), drain(&s))
    });
    assert_eq!(reached, (0, 1, vec![2]));
}

#[test]
fn a_long_prefix_matches_in_linear_time() {
    // Looking up every head of the topic up to the longest prefix hashed
    // 160 000² / 2 bytes (3 s in a release build).
    let reached = within(LIMIT, || {
        let n = 160_000;
        let (publisher, mut s) = pubsub::channel::<u8>(4);
        let long = "y".repeat(n);
        s.subscribe_prefix(&long);
        s.subscribe_prefix("x");
        let miss = publisher.topic(&"z".repeat(n)).unwrap();
        let hit = publisher.topic(&format!("{long}.z")).unwrap();
        let short = publisher.topic(&"x".repeat(n)).unwrap();
        let before = (publisher.send(&miss, 1), publisher.send(&hit, 2), drain(&s));
        // Once the long prefix goes, the short one still matches.
        s.unsubscribe_prefix(&long);
        let after = (
            publisher.send(&hit, 3),
            publisher.send(&short, 4),
            drain(&s),
        );
        (before, after)
    });
    assert_eq!(reached, ((0, 1, vec![2]), (0, 1, vec![4])));
}

/// `stats().received` counts what the subscriber took, also when some
/// `DropOldest` sends found no room in time and dropped their own new
/// message (which never entered the ring) instead of an old one. Six
/// publishers on a ring of one, until that has happened in a round.
#[test]
fn drop_oldest_received_counts_what_the_subscriber_took() {
    const PUBLISHERS: u64 = 6;
    const EACH: u64 = 20_000;
    let gave_up_in = within(Duration::from_secs(60), || {
        for round in 0..40 {
            let (publisher, _idle) = pubsub::channel::<u64>(1);
            let mut s = publisher.subscriber_with(
                SubscriberOptions::new()
                    .capacity(1)
                    .overflow(Overflow::DropOldest),
            );
            s.subscribe("#").unwrap();
            let reader = thread::spawn(move || {
                let got = s.iter().count() as u64;
                (got, s.stats())
            });
            let feeds: Vec<_> = (0..PUBLISHERS)
                .map(|_| {
                    let publisher = publisher.clone();
                    thread::spawn(move || {
                        let t = publisher.topic("t").unwrap();
                        (0..EACH).for_each(|i| _ = publisher.send(&t, i));
                    })
                })
                .collect();
            drop(publisher);
            feeds.into_iter().for_each(|f| f.join().unwrap());
            let (got, stats) = reader.join().unwrap();
            let sent = PUBLISHERS * EACH;
            assert_eq!(got + stats.missed, sent, "round {round}: {stats:?}");
            assert_eq!(stats.received, got, "round {round}: {stats:?}");
            if stats.delivered < sent {
                return Some(round);
            }
        }
        None
    });
    // Not a failure: the race is the machine's to give.
    if gave_up_in.is_none() {
        eprintln!("no DropOldest send gave up on room in 40 rounds");
    }
}

/// A message whose `Drop` publishes on the endpoint it came from.
struct Echo {
    /// Where the drop publishes (`None`: an inert copy).
    publisher: Option<Arc<pubsub::Publisher<Echo>>>,
}

impl Clone for Echo {
    /// The copies for the other subscribers are inert.
    fn clone(&self) -> Self {
        Echo { publisher: None }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        if let Some(p) = self.publisher.take() {
            p.send(&p.topic("echo").unwrap(), Echo { publisher: None });
        }
    }
}

/// A parked subscriber that discards a message routed before its last
/// unsubscription drops it outside its wait's lock: the message's `Drop`
/// may publish to that same subscriber. (It used to run under the lock,
/// and the delivery's wake-up locked it again: a deadlock.) Each message
/// goes out a little later after the subscriber took the last one, 0 to
/// 5 µs, so that some arrive while it is going to sleep.
#[test]
fn a_discarded_message_may_publish_to_its_subscriber_from_drop() {
    const K: usize = 20_000;
    within(Duration::from_secs(60), || {
        let (publisher, mut first) = pubsub::Builder::new(1).wait(Wait::Park).build::<Echo>();
        let mut s = publisher.subscriber_with(SubscriberOptions::new().capacity(2 * K));
        first.subscribe("t").unwrap();
        s.subscribe("t").unwrap();
        s.subscribe("echo").unwrap();
        let publisher = Arc::new(publisher);
        let t = publisher.topic("t").unwrap();
        // Fill `first`'s ring of one, so that the next K sends stop there,
        // before they reach `s`.
        assert_eq!(publisher.send(&t, Echo { publisher: None }), 2);
        drop(s.try_recv().unwrap());
        let pendings: Vec<_> = (0..K)
            .map(|_| {
                let echo = Echo {
                    publisher: Some(publisher.clone()),
                };
                publisher.try_send(&t, echo).unwrap_err()
            })
            .collect();
        // `s` discards those K on receive, and `first` leaves, so the
        // pending sends go straight to `s`.
        s.unsubscribe("t").unwrap();
        drop(first);
        let echoes = Arc::new(AtomicUsize::new(0));
        let reader = thread::spawn({
            let echoes = echoes.clone();
            move || {
                for _ in 0..K {
                    let echo = s.recv_timeout(Duration::from_secs(5)).unwrap();
                    assert_eq!(echo.topic(), "echo");
                    // Release: pairs with the sender's Acquire load below
                    // (only pacing; no data travels with it).
                    echoes.fetch_add(1, Ordering::Release);
                }
            }
        });
        for (i, pending) in pendings.into_iter().enumerate() {
            // Acquire: pairs with the reader's Release increment above.
            // Two threads on two cores: spinning is fine, and precise.
            while echoes.load(Ordering::Acquire) < i {
                std::hint::spin_loop();
            }
            let delay = Duration::from_nanos((i % 101) as u64 * 50);
            let start = Instant::now();
            while start.elapsed() < delay {
                std::hint::spin_loop();
            }
            assert_eq!(pending.send(), 1);
        }
        reader.join().unwrap();
    });
}

/// A publisher's `len` is its deepest subscriber's backlog, and `is_full`
/// says whether a `Block` subscriber's ring is full, whatever the lossy
/// ones hold.
#[test]
fn publisher_len_and_is_full_follow_the_subscribers() {
    let (publisher, mut block) = pubsub::channel::<u32>(2);
    let mut lossy = publisher.subscriber_with(
        SubscriberOptions::new()
            .capacity(1)
            .overflow(Overflow::DropOldest),
    );
    block.subscribe("b").unwrap();
    lossy.subscribe("#").unwrap();
    let (b, l) = (publisher.topic("b").unwrap(), publisher.topic("l").unwrap());
    assert_eq!((publisher.len(), publisher.is_empty()), (0, true));
    publisher.send(&l, 1);
    publisher.send(&l, 2);
    // The lossy ring of one is full; nothing makes a send wait.
    assert_eq!((publisher.len(), publisher.is_full()), (1, false));
    publisher.send(&b, 3);
    publisher.send(&b, 4);
    assert_eq!((publisher.len(), publisher.is_full()), (2, true));
    assert!(publisher.try_send(&b, 5).is_err());
    assert_eq!(*block.try_recv().unwrap(), 3);
    assert_eq!((publisher.len(), publisher.is_full()), (1, false));
    drop((block, lossy));
    assert_eq!((publisher.len(), publisher.is_empty()), (0, true));
}

thread_local! {
    /// The id of the next [`Fragile`] copy whose drop panics, once.
    static ARMED: std::cell::Cell<Option<u32>> = const { std::cell::Cell::new(None) };
    /// The [`Fragile`] copies alive on this thread.
    static FRAGILE_LIVE: std::cell::Cell<i64> = const { std::cell::Cell::new(0) };
}

/// A message whose next drop panics once `arm`ed, counting the copies
/// alive on its thread (these tests send and drop on one thread).
struct Fragile(u32);

impl Fragile {
    fn new(id: u32) -> Self {
        FRAGILE_LIVE.set(FRAGILE_LIVE.get() + 1);
        Fragile(id)
    }

    /// The next drop of a copy of message `id` panics.
    fn arm(id: u32) {
        ARMED.set(Some(id));
    }

    fn live() -> i64 {
        FRAGILE_LIVE.get()
    }
}

impl Clone for Fragile {
    fn clone(&self) -> Self {
        Fragile::new(self.0)
    }
}

impl Drop for Fragile {
    fn drop(&mut self) {
        FRAGILE_LIVE.set(FRAGILE_LIVE.get() - 1);
        if ARMED.get() == Some(self.0) {
            ARMED.set(None);
            panic!("message {} panics as it drops", self.0);
        }
    }
}

/// The ids of the messages waiting for `subscriber`, taken.
fn ids(subscriber: &pubsub::Subscriber<Fragile>) -> Vec<u32> {
    subscriber.try_iter().map(|m| m.0).collect()
}

/// Whether `f` panicked (the panic caught).
fn panics(f: impl FnOnce()) -> bool {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_err()
}

/// A publisher and, in this order in its match set for every topic, a
/// subscriber with `lossy` options and a `Block` one with room for 8.
fn lossy_then_block(
    lossy: SubscriberOptions,
) -> (
    pubsub::Publisher<Fragile>,
    pubsub::Subscriber<Fragile>,
    pubsub::Subscriber<Fragile>,
) {
    let (publisher, first) = pubsub::channel::<Fragile>(8);
    drop(first);
    let mut lossy = publisher.subscriber_with(lossy);
    let mut block = publisher.subscriber_with(SubscriberOptions::new().capacity(8));
    lossy.subscribe("#").unwrap();
    block.subscribe("#").unwrap();
    (publisher, lossy, block)
}

/// A send whose delivery drops a message (here: one a `DropOldest` ring
/// pushes out) whose `Drop` panics still offers its own message to every
/// subscriber after that one, and the lossy subscriber accounts for both;
/// the panic reaches the sender after the walk. (It cut the walk short: the
/// `Block` subscriber after it, with room, lost the message, and the lossy
/// one counted it nowhere.)
#[test]
fn a_panicking_drop_during_a_send_does_not_cut_its_delivery_short() {
    let options = SubscriberOptions::new()
        .capacity(2)
        .overflow(Overflow::DropOldest);
    let (publisher, latest, block) = lossy_then_block(options);
    let topic = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&topic, Fragile::new(0)), 2);
    assert_eq!(publisher.send(&topic, Fragile::new(1)), 2);
    // The copy of 0 in `latest` is pushed out by the next send, and panics.
    Fragile::arm(0);
    let sent = panics(|| _ = publisher.send(&topic, Fragile::new(2)));
    assert!(sent, "the panic reaches the sender");
    assert_eq!(publisher.send(&topic, Fragile::new(3)), 2);
    assert_eq!(ids(&block), [0, 1, 2, 3], "Block lost none");
    let taken = ids(&latest);
    assert_eq!(taken, [2, 3]);
    assert_eq!(latest.missed(), 2);
    assert_eq!(latest.stats().received, 2);
    drop((publisher, topic, latest, block));
    assert_eq!(Fragile::live(), 0, "every copy dropped");
}

/// The same for the copy a full `DropNewest` subscriber refuses.
#[test]
fn a_refused_copy_that_panics_as_it_drops_does_not_cut_the_delivery_short() {
    let options = SubscriberOptions::new()
        .capacity(1)
        .overflow(Overflow::DropNewest);
    let (publisher, newest, block) = lossy_then_block(options);
    let topic = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&topic, Fragile::new(0)), 2);
    Fragile::arm(1);
    let sent = panics(|| _ = publisher.send(&topic, Fragile::new(1)));
    assert!(sent, "the panic reaches the sender");
    assert_eq!(ids(&block), [0, 1], "Block lost none");
    assert_eq!((ids(&newest), newest.missed()), (vec![0], 1));
    drop((publisher, topic, newest, block));
    assert_eq!(Fragile::live(), 0, "every copy dropped");
}

/// A subscriber that leaves drops its unread messages at once, all of
/// them even if one panics as it drops; the panic comes after. (The drain
/// stopped at it: the rest stayed alive for as long as a `Topic` cached the
/// subscriber's inbox.)
#[test]
fn a_leaving_subscriber_drops_every_unread_message_though_one_panics() {
    let (publisher, mut subscriber) = pubsub::channel::<Fragile>(8);
    subscriber.subscribe("#").unwrap();
    let topic = publisher.topic("t").unwrap();
    for id in 0..4 {
        assert_eq!(publisher.send(&topic, Fragile::new(id)), 1);
    }
    Fragile::arm(1);
    assert!(
        panics(|| drop(subscriber)),
        "the panic reaches the dropping thread"
    );
    assert_eq!(Fragile::live(), 0, "the topic still caches the route");
    assert_eq!(publisher.send(&topic, Fragile::new(4)), 0);
    drop((publisher, topic));
    assert_eq!(Fragile::live(), 0);
}

/// A `try_send` that catches a message's panicking `Drop` and then stops at
/// a full `Block` subscriber resumes the panic, as its `# Panics` says: the
/// message drops with it (no `Pending`), nothing leaks, and the endpoint
/// goes on.
#[test]
fn a_try_send_that_caught_a_panic_and_stopped_resumes_it() {
    let options = SubscriberOptions::new()
        .capacity(1)
        .overflow(Overflow::DropNewest);
    let (publisher, newest, block) = lossy_then_block(options);
    let topic = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&topic, Fragile::new(0)), 2);
    for id in 1..8 {
        // Fills `block` (8 slots); `newest` refuses each.
        assert_eq!(publisher.send(&topic, Fragile::new(id)), 1);
    }
    Fragile::arm(8);
    let sent = panics(|| _ = publisher.try_send(&topic, Fragile::new(8)));
    assert!(sent, "the refused copy's panic reaches the sender");
    assert_eq!(block.try_iter().count(), 8);
    assert_eq!(newest.try_iter().count(), 1);
    assert_eq!(publisher.try_send(&topic, Fragile::new(9)).ok(), Some(2));
    assert_eq!(newest.missed(), 8);
    drop((publisher, topic, newest, block));
    assert_eq!(Fragile::live(), 0, "every copy dropped");
}
