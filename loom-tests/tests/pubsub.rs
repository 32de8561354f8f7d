//! loom models of pubsub's own concurrency (the rings are the mpmc ring,
//! modelled in `mpmc.rs`): the generation check that makes a subscription
//! that happens before a send visible to it, the receive-side check that
//! keeps in-flight messages out after an unsubscription, draining before
//! disconnection, a subscriber's drop releasing a blocked publisher and
//! dropping its unread messages, and the async send's wake-up.
#![cfg(ringbus_loom)]

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{counter, drops, model, Counted};
use ringbus::pubsub::{self, Overflow, SubscriberOptions};
use ringbus::{TryRecvError, Wait};

/// A subscriber subscribes, then raises a flag; a publisher whose topic
/// cached the match set from before the subscription reads the flag, then
/// sends. If it saw the flag, the message must reach the subscriber.
#[test]
fn subscription_before_send_is_seen() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Spin).build::<u8>();
        let topic = publisher.topic("t").unwrap(); // caches "nobody"
        let flag = Arc::new(AtomicBool::new(false));
        let feed = {
            let flag = flag.clone();
            thread::spawn(move || {
                // Acquire: pairs with the Release store of `flag` below.
                let seen = flag.load(Ordering::Acquire);
                let reached = publisher.send(&topic, 7);
                (seen, reached)
            })
        };
        subscriber.subscribe("t").unwrap();
        // Release: pairs with the Acquire load of `flag` above.
        flag.store(true, Ordering::Release);
        let (seen, reached) = feed.join().unwrap();
        if seen {
            assert_eq!(
                reached, 1,
                "a subscription that happened before the send was missed"
            );
        }
        match subscriber.try_recv() {
            Ok(message) => assert_eq!((reached, *message), (1, 7)),
            Err(TryRecvError::Disconnected) => assert_eq!(reached, 0),
            Err(TryRecvError::Empty) => panic!("publisher gone, yet Empty"),
        }
    });
}

/// A publisher sends to a topic while the subscriber unsubscribes from it.
/// The send may route with the old match set and land after the
/// unsubscription returned: the subscriber must still never receive it.
#[test]
fn nothing_after_unsubscribe() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Spin).build::<u8>();
        subscriber.subscribe("t").unwrap();
        let topic = publisher.topic("t").unwrap(); // caches the subscriber
        let feed = thread::spawn(move || {
            publisher.send(&topic, 1);
        });
        subscriber.unsubscribe("t").unwrap();
        let received = subscriber.try_recv();
        feed.join().unwrap();
        assert!(received.is_err(), "received after unsubscribe");
        assert!(subscriber.try_recv().is_err(), "received after unsubscribe");
    });
}

/// Two messages, then the publisher leaves; a parked subscriber receives
/// both, then `Disconnected` (never `Disconnected` with a message unread,
/// never a lost wake-up).
#[test]
fn drains_before_disconnect() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(2).wait(Wait::Park).build::<u8>();
        subscriber.subscribe("#").unwrap();
        let topic = publisher.topic("t").unwrap();
        let feed = thread::spawn(move || {
            assert_eq!(publisher.send(&topic, 1), 1);
            assert_eq!(publisher.send(&topic, 2), 1);
        });
        let mut received = Vec::new();
        while let Ok(message) = subscriber.recv() {
            received.push(*message);
        }
        assert_eq!(received, [1, 2]);
        feed.join().unwrap();
    });
}

/// A publisher blocks on a full `Block` subscriber that then drops: the
/// send returns, reaching nobody, instead of waiting for ever.
#[test]
fn dropped_subscriber_releases_blocked_publisher() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Park).build::<u8>();
        subscriber.subscribe("#").unwrap();
        let topic = publisher.topic("t").unwrap();
        assert_eq!(publisher.send(&topic, 1), 1);
        let feed = thread::spawn(move || publisher.send(&topic, 2));
        drop(subscriber);
        assert_eq!(feed.join().unwrap(), 0);
    });
}

/// As `dropped_subscriber_releases_blocked_publisher`, counting drops: the
/// leaving subscriber drops its unread message at once, and the blocked
/// send, which may take the room that makes, sees the subscriber gone
/// after its delivery and drops that message itself. Both are gone when
/// the threads are done, while the topic (whose cached route still holds
/// the ring) lives on, and the send reached nobody.
#[test]
fn leaving_subscriber_drops_unread_messages() {
    model(|| {
        let dropped = counter();
        let (publisher, mut subscriber) = pubsub::Builder::new(1)
            .wait(Wait::Park)
            .build::<Arc<Counted>>();
        subscriber.subscribe("#").unwrap();
        let topic = publisher.topic("t").unwrap();
        let first = Arc::new(Counted::new(1, &dropped));
        assert_eq!(publisher.send(&topic, first), 1);
        let second = Arc::new(Counted::new(2, &dropped));
        let feed = thread::spawn(move || {
            let reached = publisher.send(&topic, second);
            (reached, topic, publisher)
        });
        drop(subscriber);
        let (reached, topic, publisher) = feed.join().unwrap();
        assert_eq!(reached, 0, "a send counted a subscriber that had left");
        assert_eq!(drops(&dropped), 2, "a message outlived its subscriber");
        drop((topic, publisher));
    });
}

/// An async send stopped at a full `Block` subscriber registers its waker
/// on that subscriber's `not_full` signal and looks again; the receive that
/// makes room wakes it. Two sends through a ring of one slot, so the second
/// always waits: no lost wake-up, both messages arrive once, in order.
#[test]
fn async_send_woken_by_receive() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Park).build::<u8>();
        subscriber.subscribe("#").unwrap();
        let feed = thread::spawn(move || {
            let topic = publisher.topic("t").unwrap();
            loom::future::block_on(async {
                assert_eq!(publisher.send_async(&topic, 1).await, 1);
                assert_eq!(publisher.send_async(&topic, 2).await, 1);
            });
        });
        assert_eq!(*subscriber.recv().unwrap(), 1);
        assert_eq!(*subscriber.recv().unwrap(), 2);
        feed.join().unwrap();
    });
}

/// As `drains_before_disconnect`, with `Wait::Spin`: no park handshake, so
/// no fence of the wake-up path orders the publisher's ring writes before
/// its departure; only the publisher count's `Release`/`Acquire` does.
#[test]
fn drains_before_disconnect_spin() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(2).wait(Wait::Spin).build::<u8>();
        subscriber.subscribe("#").unwrap();
        let topic = publisher.topic("t").unwrap();
        let feed = thread::spawn(move || {
            assert_eq!(publisher.send(&topic, 1), 1);
        });
        loop {
            match subscriber.try_recv() {
                Ok(message) => assert_eq!(*message, 1),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        feed.join().unwrap();
        // Disconnected only after the message was taken.
        assert!(subscriber.is_empty());
    });
}

/// A parked subscriber is woken by the delivery itself (a publisher stays
/// alive, so no disconnection wakes it).
#[test]
fn park_wakeup_on_delivery() {
    model(|| {
        let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Park).build::<u8>();
        subscriber.subscribe("#").unwrap();
        let topic = publisher.topic("t").unwrap();
        let stays = publisher.clone();
        let feed = thread::spawn(move || {
            assert_eq!(publisher.send(&topic, 3), 1);
        });
        assert_eq!(*subscriber.recv().unwrap(), 3);
        feed.join().unwrap();
        drop(stays);
    });
}

/// A `DropOldest` publisher makes room by taking the oldest message while
/// the subscriber takes messages too: every message is either received, in
/// order, or counted missed, exactly once, and the latest is never lost;
/// the stats say the same.
#[test]
fn drop_oldest_counts_exactly() {
    model(|| {
        let (publisher, _block) = pubsub::Builder::new(1).wait(Wait::Spin).build::<u8>();
        let options = SubscriberOptions::new()
            .capacity(1)
            .overflow(Overflow::DropOldest);
        let mut subscriber = publisher.subscriber_with(options);
        subscriber.subscribe("#").unwrap();
        let topic = publisher.topic("t").unwrap();
        let feed = thread::spawn(move || {
            for i in 0..3 {
                assert_eq!(publisher.send(&topic, i), 1);
            }
        });
        let mut received = Vec::new();
        loop {
            match subscriber.try_recv() {
                Ok(message) => received.push(*message),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        feed.join().unwrap();
        assert!(received.windows(2).all(|w| w[0] < w[1]), "{received:?}");
        assert_eq!(received.last(), Some(&2), "the latest was lost");
        assert_eq!(received.len() + subscriber.missed(), 3);
        // What was pushed out of the ring is not what was received, and a
        // send that gave up on room dropped its own message, which never
        // entered the ring.
        let stats = subscriber.stats();
        assert_eq!(stats.received, received.len() as u64, "{stats:?}");
        assert_eq!(stats.missed, subscriber.missed() as u64, "{stats:?}");
    });
}
