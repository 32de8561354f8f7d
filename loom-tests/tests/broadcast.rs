//! loom models of the broadcast ring: fan-out with wrap-around and
//! backpressure, a late joiner and a leaver mid-stream, a clone joining
//! while the publisher scans, disconnection, and drop of every message
//! exactly once (loans included), by the subscriber that passes it last
//! (`reap.rs`: the pass, the leave, a clone joining mid-reap, and a
//! subscriber made after the last one left).
#![cfg(ringbus_loom)]

use loom::thread;
use loom_tests::{counter, drops, model, Counted};
use ringbus::{broadcast, Wait};

/// Reads until the publisher is gone, collecting what it saw.
fn drain(mut subscriber: broadcast::Subscriber<i32>) -> Vec<i32> {
    let mut seen = Vec::new();
    while let Ok(sample) = subscriber.recv() {
        seen.push(*sample);
    }
    seen
}

/// One publisher, two subscribers, capacity 2, three messages: the publisher
/// laps the ring only as fast as the slower subscriber reads, and each
/// subscriber sees every message once, in order.
#[test]
fn fan_out_wraps_with_backpressure() {
    model(|| {
        let (publisher, first) = broadcast::Builder::new(2).wait(Wait::Park).build();
        let second = first.clone();
        let readers = [first, second].map(|s| thread::spawn(move || drain(s)));
        for i in 0..3 {
            publisher.send(i).unwrap();
        }
        drop(publisher);
        for reader in readers {
            assert_eq!(reader.join().unwrap(), [0, 1, 2]);
        }
    });
}

/// A subscriber leaves after one message while the publisher is blocked on
/// it (capacity 1), and a late joiner made after the first send sees exactly
/// what follows.
#[test]
fn late_joiner_and_leaver_mid_stream() {
    model(|| {
        let (publisher, mut leaver) = broadcast::Builder::new(1).wait(Wait::Park).build();
        let leaver = thread::spawn(move || {
            let first = *leaver.recv().unwrap();
            drop(leaver); // stops gating the publisher at once
            first
        });
        publisher.send(0).unwrap();
        let late = publisher.subscribe();
        let late = thread::spawn(move || drain(late));
        publisher.send(1).unwrap();
        publisher.send(2).unwrap();
        drop(publisher);
        assert_eq!(leaver.join().unwrap(), 0);
        assert_eq!(late.join().unwrap(), [1, 2]);
    });
}

/// A subscriber clones itself mid-stream (capacity 1) into a cursor entry
/// freed earlier, which the publisher's scan visits *before* the original's:
/// a scan can read the freed entry stale and then the original's advanced
/// cursor. The join counter makes the publisher rescan, so it never
/// overwrites a message the clone has not read.
#[test]
fn clone_joins_while_publishing() {
    model(|| {
        let (publisher, early) = broadcast::Builder::new(1).wait(Wait::Park).build();
        let mut original = publisher.subscribe();
        drop(early); // frees the first entry of the table
        let reader = thread::spawn(move || {
            let first = *original.recv().unwrap();
            let clone = original.clone(); // takes the freed first entry
            let clone = thread::spawn(move || drain(clone));
            let mut mine = vec![first];
            mine.extend(drain(original));
            (mine, clone.join().unwrap())
        });
        for i in 0..3 {
            publisher.send(i).unwrap();
        }
        drop(publisher);
        let (mine, cloned) = reader.join().unwrap();
        assert_eq!(mine, [0, 1, 2]);
        assert_eq!(cloned, [1, 2]);
    });
}

/// A subscriber clones itself into the cursor entry that another subscriber
/// has just freed, on another thread, after both read the first message of a
/// ring of one slot. The publisher's scan may read the clone's cursor (at
/// the second message) without seeing the freed entry or the leaver's
/// cursor past the first: only the clone's entry, stored with `Release`
/// after a claim that acquired the leaver's `FREE`, then orders the
/// leaver's read of the slot before the publisher's reuse of it.
#[test]
fn clone_reuses_the_entry_of_a_leaver() {
    model(|| {
        let (publisher, mut leaver) = broadcast::Builder::new(1).wait(Wait::Park).build();
        let mut source = leaver.clone();
        let leaving = thread::spawn(move || {
            let first = *leaver.recv().unwrap();
            drop(leaver); // frees the first entry of the table
            first
        });
        let cloning = thread::spawn(move || {
            let first = *source.recv().unwrap();
            // Takes the leaver's entry if it is free by now.
            let clone = source.clone();
            let mut mine = vec![first];
            mine.extend(drain(source));
            (mine, drain(clone))
        });
        publisher.send(0).unwrap();
        publisher.send(1).unwrap();
        drop(publisher);
        assert_eq!(leaving.join().unwrap(), 0);
        let (mine, cloned) = cloning.join().unwrap();
        assert_eq!(mine, [0, 1]);
        assert_eq!(cloned, [1]);
    });
}

/// A subscriber polling with `try_recv` sees the publisher's last message
/// before the disconnection, never a disconnection before it.
#[test]
fn drains_before_disconnect() {
    model(|| {
        let (publisher, mut subscriber) = broadcast::Builder::new(2).wait(Wait::Yield).build();
        let poller = thread::spawn(move || {
            let mut seen = Vec::new();
            loop {
                match subscriber.try_recv() {
                    Ok(sample) => seen.push(*sample),
                    Err(ringbus::TryRecvError::Empty) => thread::yield_now(),
                    Err(ringbus::TryRecvError::Disconnected) => return seen,
                }
            }
        });
        publisher.send(5).unwrap();
        drop(publisher);
        assert_eq!(poller.join().unwrap(), [5]);
    });
}

/// Every published message is dropped exactly once, not once per subscriber:
/// two subscribers, one leaving early, a wrap-around, a published loan and an
/// abandoned one.
#[test]
fn every_message_dropped_once() {
    model(|| {
        let count = counter();
        let (publisher, first) = broadcast::Builder::new(2)
            .wait(Wait::Park)
            .build::<Counted>();
        let mut second = first.clone();
        let early = thread::spawn(move || {
            let id = second.recv().map(|sample| sample.id).ok();
            drop(second);
            id
        });
        let reader = thread::spawn(move || {
            let mut first = first;
            let mut ids = Vec::new();
            while let Ok(sample) = first.recv() {
                ids.push(sample.id);
            }
            ids
        });
        publisher.send(Counted::new(0, &count)).unwrap();
        let mut loan = publisher.loan();
        loan.write(Counted::new(1, &count));
        assert!(loan.publish());
        let mut abandoned = publisher.loan();
        abandoned.write(Counted::new(99, &count));
        drop(abandoned);
        publisher.send(Counted::new(2, &count)).unwrap();
        drop(publisher);
        assert_eq!(early.join().unwrap(), Some(0));
        assert_eq!(reader.join().unwrap(), [0, 1, 2]);
        // The ring still holds the last messages until its last handle (the
        // readers') is gone, which it now is.
        assert_eq!(drops(&count), 4);
    });
}

/// With every subscriber gone, a send hands the value back; the publisher
/// blocked on a full ring is woken by the last subscriber's drop.
#[test]
fn subscribers_gone_while_publisher_blocked() {
    model(|| {
        let (publisher, subscriber) = broadcast::Builder::new(1).wait(Wait::Park).build();
        publisher.send(1).unwrap();
        let leaver = thread::spawn(move || drop(subscriber));
        // Full until the subscriber drops; then disconnected.
        assert_eq!(publisher.send(2), Err(ringbus::SendError(2)));
        leaver.join().unwrap();
    });
}

/// The only subscriber reads the one message of a full ring (capacity 1)
/// and leaves while the publisher waits to lend the slot. With nobody left,
/// the loan is granted at once and written: the leaver's read of that slot
/// must happen before the write. The publisher's scan may still read the
/// leaver's cursor from before its read (a whole ring behind: no room), so
/// only the subscriber count it reads next orders the two: the Release
/// decrement in `Cursors::leave`, the Acquire load in `Cursors::live`.
/// `Yield`: no sleep/wake fence stands in for them.
#[test]
fn loan_after_the_last_subscriber_left() {
    model(|| {
        let (publisher, mut subscriber) = broadcast::Builder::new(1).wait(Wait::Yield).build();
        publisher.send(1).unwrap();
        let leaver = thread::spawn(move || {
            let first = *subscriber.recv().unwrap();
            drop(subscriber);
            first
        });
        let mut loan = publisher.loan();
        loan.write(2);
        assert!(loan.publish());
        assert_eq!(leaver.join().unwrap(), 1);
    });
}

/// Two publishers claim sequences of a capacity-1 ring concurrently: the
/// subscriber sees both messages once, each only after it is written.
#[test]
fn multi_publisher_claims_and_marks() {
    model(|| {
        let (publisher, subscriber) = broadcast::Builder::new(1).wait(Wait::Park).build_multi();
        let other = publisher.clone();
        let first = thread::spawn(move || publisher.send(1).unwrap());
        let second = thread::spawn(move || other.send(2).unwrap());
        let mut seen = drain(subscriber);
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
        first.join().unwrap();
        second.join().unwrap();
    });
}

/// Two publishers of a multi-publisher ring send one message each and drop,
/// while the subscriber polls with `try_recv`: it sees both messages before
/// the disconnection. The last publisher's `AcqRel` decrement acquires the
/// other's marks, and its `Release` store of `publisher_gone` hands them on.
/// `Yield`: with `Park` the wake-up fence after each mark stands in for
/// them (`multi_publisher_claims_and_marks` survives both weakenings).
#[test]
fn multi_publisher_drains_before_disconnect() {
    model(|| {
        let (publisher, mut subscriber) = broadcast::Builder::new(2)
            .wait(Wait::Yield)
            .build_multi::<i32>();
        let other = publisher.clone();
        let first = thread::spawn(move || publisher.send(1).unwrap());
        let second = thread::spawn(move || other.send(2).unwrap());
        let mut seen = Vec::new();
        loop {
            match subscriber.try_recv() {
                Ok(sample) => seen.push(*sample),
                Err(ringbus::TryRecvError::Empty) => thread::yield_now(),
                Err(ringbus::TryRecvError::Disconnected) => break,
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, [1, 2]);
        first.join().unwrap();
        second.join().unwrap();
    });
}

/// An async send through a ring of one slot waits for the subscriber and is
/// woken by its receive: no lost wake-up between the subscriber's cursor
/// store and the publisher's waker registration. The subscriber reads both
/// messages while the publisher lives, so no disconnection can wake it.
#[test]
fn async_send_woken_by_receive() {
    model(|| {
        let (mut publisher, mut subscriber) = broadcast::Builder::new(1).wait(Wait::Park).build();
        let feed = thread::spawn(move || {
            loom::future::block_on(async {
                publisher.send_async(1).await.unwrap();
                publisher.send_async(2).await.unwrap();
            });
            publisher
        });
        assert_eq!(*subscriber.recv().unwrap(), 1);
        assert_eq!(*subscriber.recv().unwrap(), 2);
        drop(feed.join().unwrap());
    });
}

/// Issue 4: a message is dropped when the last subscriber passes it, by that
/// subscriber, while every handle lives. Two subscribers on two threads,
/// capacity 1 and two messages: the publisher waits for the reap (not only
/// for the cursors) and is woken by the reaper; the two subscribers' reap
/// requests race, and neither is lost.
#[test]
fn last_subscriber_to_pass_a_message_drops_it() {
    model(|| {
        let count = counter();
        let (publisher, first) = broadcast::Builder::new(1)
            .wait(Wait::Park)
            .build::<Counted>();
        let second = first.clone();
        let readers = [first, second].map(|mut subscriber| {
            thread::spawn(move || {
                let ids: Vec<_> = (0..2).map(|_| subscriber.recv().unwrap().id).collect();
                (ids, subscriber) // alive: its leaving would reap too
            })
        });
        publisher.send(Counted::new(0, &count)).unwrap();
        publisher.send(Counted::new(1, &count)).unwrap();
        let subscribers = readers.map(|reader| {
            let (ids, subscriber) = reader.join().unwrap();
            assert_eq!(ids, [0, 1]);
            subscriber
        });
        assert_eq!(drops(&count), 2, "both passed both messages");
        drop((publisher, subscribers));
        assert_eq!(drops(&count), 2);
    });
}

/// A subscriber that leaves with a message unread drops it if nobody else
/// needs it, racing the other subscriber's reap of the same messages; each
/// message is dropped once, before the ring goes.
#[test]
fn leaver_drops_what_nobody_else_needs() {
    model(|| {
        let count = counter();
        let (publisher, mut stays) = broadcast::Builder::new(2)
            .wait(Wait::Park)
            .build::<Counted>();
        let mut leaver = stays.clone();
        publisher.send(Counted::new(0, &count)).unwrap();
        publisher.send(Counted::new(1, &count)).unwrap();
        let leaver = thread::spawn(move || {
            let id = leaver.recv().unwrap().id;
            drop(leaver); // 1 unread
            id
        });
        assert_eq!(stays.recv().unwrap().id, 0);
        assert_eq!(stays.recv().unwrap().id, 1);
        assert_eq!(leaver.join().unwrap(), 0);
        assert_eq!(drops(&count), 2, "nobody needs either any more");
        drop((publisher, stays));
        assert_eq!(drops(&count), 2);
    });
}

/// `clone_joins_while_publishing` with messages that have drop glue: the
/// reaper's scan (on whichever thread) must not miss the clone either, or it
/// would move a message out while the clone reads it (loom checks the move
/// as a write against the clone's read).
#[test]
fn clone_joins_while_reaping() {
    model(|| {
        let count = counter();
        let (publisher, early) = broadcast::Builder::new(1)
            .wait(Wait::Park)
            .build::<Counted>();
        let mut original = publisher.subscribe();
        drop(early); // frees the first entry of the table
        let reader = thread::spawn(move || {
            let first = original.recv().unwrap().id;
            let mut clone = original.clone(); // takes the freed first entry
            let clone = thread::spawn(move || clone.recv().unwrap().id);
            let second = original.recv().unwrap().id;
            (first, second, clone.join().unwrap())
        });
        publisher.send(Counted::new(0, &count)).unwrap();
        publisher.send(Counted::new(1, &count)).unwrap();
        drop(publisher);
        assert_eq!(reader.join().unwrap(), (0, 1, 1));
        assert_eq!(drops(&count), 2);
    });
}

/// The last subscriber leaves while the publisher sends: the send may
/// publish a message just after the leaver's reap read the end, and nobody
/// passes it. A later `subscribe` reaps it, or a ring of one slot would stay
/// full and the next send wait for ever.
#[test]
fn subscribe_reaps_what_the_last_leaver_could_not() {
    model(|| {
        let count = counter();
        let (publisher, subscriber) = broadcast::Builder::new(1)
            .wait(Wait::Park)
            .build::<Counted>();
        let leaver = thread::spawn(move || drop(subscriber));
        // Published, or handed back if the subscriber was gone already.
        let _ = publisher.send(Counted::new(0, &count));
        leaver.join().unwrap();
        let mut late = publisher.subscribe();
        assert_eq!(drops(&count), 1, "message 0 is gone either way");
        publisher.send(Counted::new(1, &count)).unwrap();
        assert_eq!(late.recv().unwrap().id, 1);
        assert_eq!(drops(&count), 2);
        drop((publisher, late));
    });
}

/// A multi-publisher that loaded `tail` before other publishers claimed
/// more and the subscriber read and reaped it sees `reaped` past its
/// `tail`: that is room, not a ring a whole lap behind. The ring never
/// holds more than one unread message of two here, so `Full` would be
/// wrong. (Found by review: the wrapped distance said `Full`.)
#[test]
fn multi_publisher_stale_tail_is_not_full() {
    model(|| {
        let count = counter();
        let (first, mut subscriber) = broadcast::Builder::new(2)
            .wait(Wait::Spin)
            .build_multi::<Counted>();
        let second = first.clone();
        first.try_send(Counted::new(0, &count)).unwrap();
        first.try_send(Counted::new(1, &count)).unwrap();
        drop(subscriber.try_recv_batch().unwrap()); // reaped = 2
        let other = thread::spawn(move || {
            second.try_send(Counted::new(2, &count)).unwrap();
            loop {
                if let Ok(sample) = subscriber.try_recv() {
                    if sample.id == 2 {
                        break;
                    }
                    continue;
                }
                thread::yield_now();
            }
            (second, subscriber)
        });
        let count = counter();
        let mine = thread::spawn(move || first.try_send(Counted::new(3, &count)).is_ok());
        assert!(mine.join().unwrap(), "spurious Full");
        drop(other.join().unwrap());
    });
}

/// A subscriber joins through `MultiPublisher::subscribe` on a thread that
/// publishes nothing, while another thread publishes two messages through a
/// ring of one slot and a third subscriber reads them. The joiner sees a
/// suffix of the messages, each only after it is written and before its
/// slot is reused: a claim that missed the joiner's entry could otherwise
/// lap the place it joined at.
#[test]
fn multi_publisher_subscribe_while_publishing() {
    model(|| {
        let (publisher, mut reader) = broadcast::Builder::new(1)
            .wait(Wait::Park)
            .build_multi::<i32>();
        let other = publisher.clone();
        let sender = thread::spawn(move || {
            other.send(1).unwrap();
            other.send(2).unwrap();
        });
        let reading = thread::spawn(move || {
            let seen: Vec<i32> = (0..2).map(|_| *reader.recv().unwrap()).collect();
            assert_eq!(seen, [1, 2]);
        });
        let late = publisher.subscribe();
        drop(publisher);
        let seen = drain(late);
        assert!(
            [&[1, 2][..], &[2], &[]].contains(&&seen[..]),
            "not a suffix: {seen:?}"
        );
        sender.join().unwrap();
        reading.join().unwrap();
    });
}

/// As above with messages that have drop glue: the joiner's first place may
/// lie behind what was reaped, and the reaper must leave it alone; the
/// joiner's move to the tail asks for a reap. Each message is dropped once,
/// by the time its last reader passed it.
#[test]
fn multi_publisher_subscribe_while_reaping() {
    model(|| {
        let count = counter();
        let (publisher, mut reader) = broadcast::Builder::new(1)
            .wait(Wait::Park)
            .build_multi::<Counted>();
        let other = publisher.clone();
        let sender_count = count.clone();
        let sender = thread::spawn(move || {
            other.send(Counted::new(0, &sender_count)).unwrap();
            other.send(Counted::new(1, &sender_count)).unwrap();
        });
        let reading = thread::spawn(move || {
            let ids: Vec<_> = (0..2).map(|_| reader.recv().unwrap().id).collect();
            assert_eq!(ids, [0, 1]);
            reader
        });
        let mut late = publisher.subscribe();
        drop(publisher);
        let mut ids = Vec::new();
        while let Ok(sample) = late.recv() {
            ids.push(sample.id);
        }
        assert!(
            [&[0, 1][..], &[1], &[]].contains(&&ids[..]),
            "not a suffix: {ids:?}"
        );
        sender.join().unwrap();
        let reader = reading.join().unwrap();
        assert_eq!(drops(&count), 2, "both passed by every subscriber alive");
        drop((reader, late));
        assert_eq!(drops(&count), 2);
    });
}

/// The joiner is the only subscriber: with nobody else's cursor in the
/// scan, a publisher learns of it only through its entry. Two publishers
/// try once each, concurrently with the join, through a ring of one slot:
/// the second claim lands a lap after the first, and must neither write the
/// slot while the first is still writing it (the joiner moves past claims in
/// flight) nor overwrite what the joiner will read. The joiner gets only
/// messages that were sent, once each.
#[test]
fn multi_publisher_subscribe_alone() {
    model(|| lone_joiner(false));
}

/// As `multi_publisher_subscribe_alone`, with the second publisher asking
/// its `len` before it tries: a `len` whose scan sees no cursor (the joiner's
/// entry not visible yet) must not leave a gate that lets the next claim
/// run a lap past a claim still being written.
#[test]
fn multi_publisher_len_while_a_lone_subscriber_joins() {
    model(|| lone_joiner(true));
}

/// The body of the two models above: two publishers try once each while
/// the only subscriber joins, the second asking its `len` first if
/// `second_asks_len`.
fn lone_joiner(second_asks_len: bool) {
    let (publisher, first) = broadcast::Builder::new(1)
        .wait(Wait::Park)
        .build_multi::<i32>();
    drop(first);
    let senders = [1, 2].map(|value| {
        let publisher = publisher.clone();
        thread::spawn(move || {
            if second_asks_len && value == 2 {
                let _ = publisher.len();
            }
            publisher.try_send(value).is_ok().then_some(value)
        })
    });
    let late = publisher.subscribe();
    drop(publisher);
    let seen = drain(late);
    let sent: Vec<i32> = senders
        .into_iter()
        .filter_map(|sender| sender.join().unwrap())
        .collect();
    assert!(
        seen.iter().all(|value| sent.contains(value)),
        "{seen:?} of {sent:?}"
    );
    assert!(seen.len() < 2 || seen[0] != seen[1], "duplicated: {seen:?}");
}
