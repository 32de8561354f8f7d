//! loom models of the metrics: the counters add no synchronisation (they are
//! read from the rings' own indices, or are relaxed counters bumped on slow
//! paths), so these models check the arithmetic under every interleaving:
//! a snapshot taken while the other side runs is in range, and the final
//! counts are exact.
#![cfg(ringbus_loom)]

use loom::thread;
use loom_tests::model;
use ringbus::broadcast::lossy;
use ringbus::{mpmc, spsc, Wait};

/// spsc, capacity 1, `Park`: a snapshot taken by the receiver while the
/// sender runs never shows more received than sent nor a depth past the
/// capacity; at the end the counts are exact, and `full_waits` counts at
/// most one wait per send.
#[test]
fn spsc_snapshots_in_range_and_final_counts_exact() {
    model(|| {
        let (tx, rx) = spsc::Builder::new(1).wait(Wait::Park).build::<u8>();
        let sender = thread::spawn(move || {
            for i in 0..2 {
                tx.send(i).unwrap();
            }
            tx.stats()
        });
        let before = rx.stats();
        assert!(before.received <= before.sent && before.depth <= 1);
        assert_eq!(rx.recv(), Ok(0));
        let middle = rx.stats();
        assert!(middle.sent >= before.sent && middle.received == 1);
        assert!(middle.depth <= 1);
        assert_eq!(rx.recv(), Ok(1));
        let at_sender = sender.join().unwrap();
        assert_eq!(at_sender.sent, 2);
        assert!(at_sender.full_waits <= 1);
        let end = rx.stats();
        assert_eq!((end.sent, end.received, end.depth), (2, 2, 0));
        assert_eq!(end.full_waits, at_sender.full_waits);
    });
}

/// mpmc, capacity 1: a second sender finds the slot taken and waits while
/// the receiver takes snapshots and both messages: at the end, sent and
/// received are exact and the blocked send counted at most once.
#[test]
fn mpmc_counts_a_blocked_sender() {
    model(|| {
        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build::<u8>();
        tx.send(0).unwrap();
        let other = tx.clone();
        let sender = thread::spawn(move || other.send(1).unwrap());
        let during = rx.stats();
        assert!(during.received <= during.sent && during.depth <= 1);
        let mut got = [rx.recv().unwrap(), rx.recv().unwrap()];
        sender.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [0, 1]);
        let end = rx.stats();
        assert_eq!((end.sent, end.received, end.depth), (2, 2, 0));
        assert!(end.full_waits <= 1);
        drop(tx);
    });
}

/// lossy, capacity 1, three messages published while the subscriber reads
/// (parking when it has read everything): what it receives plus what it is
/// told it missed is everything, and its own snapshot says exactly that.
#[test]
fn lossy_received_plus_missed_is_everything() {
    model(|| {
        let (publisher, mut subscriber) = lossy::Builder::new(1).wait(Wait::Park).build::<u8>();
        let reader = thread::spawn(move || {
            let (mut received, mut missed, mut reports) = (0u64, 0u64, 0u64);
            loop {
                match subscriber.recv() {
                    Ok(_) => received += 1,
                    Err(lossy::RecvError::Lagged(n)) => {
                        assert!(
                            n > 0 && n <= 2,
                            "Lagged({n}) after {received} received, {missed} missed"
                        );
                        missed += n;
                        reports += 1;
                    }
                    Err(lossy::RecvError::Disconnected) => break,
                }
            }
            (subscriber.stats(), received, missed, reports)
        });
        for i in 0..3 {
            publisher.send(i).unwrap();
        }
        // A moment's picture, taken while the reader runs: the two totals
        // are separate relaxed counters (`lagged_events` may already count a
        // report whose `missed` this thread does not see yet), each at most
        // what the reader is eventually told.
        let totals = publisher.stats();
        assert_eq!(totals.sent, 3);
        drop(publisher);
        let (mine, received, missed, reports) = reader.join().unwrap();
        assert_eq!(received + missed, 3);
        assert_eq!(
            (mine.received, mine.missed, mine.lagged_events),
            (received, missed, reports)
        );
        assert_eq!((mine.sent, mine.depth), (3, 0));
        assert!(
            totals.lagged_events <= reports && totals.missed <= missed,
            "{totals:?} {mine:?}"
        );
    });
}
