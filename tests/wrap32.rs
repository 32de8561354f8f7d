//! Rings driven past the wrap of their indices, for real.
//!
//! Every ring counts messages in a `usize` that wraps: after 2^32 messages
//! on a 32-bit target. Each index, stamp and cursor comparison is meant to
//! work by wrapping difference, and the broadcast cursor table keeps the top
//! bit of an entry for its markers, so a cursor passes `usize::MAX - 1`
//! (the `CLAIMING` marker's value) on its way round. These tests send a
//! little more than 2^32 messages through each ring on one thread, checking
//! every message, the lengths and the lag as they go. On a 64-bit target
//! the wrap is 2^64 messages away, so the file compiles only for 32 bits:
//! `.ci/run` runs it on `i686-unknown-linux-gnu`.
//!
//! Each test takes seconds in a release build (the ring is run in chunks
//! or batches, and the messages are single bytes). The mpmc ring (under the
//! pipeline and request/reply) is not here: one message at a time, with a
//! compare-exchange on each side, its wrap took 92 s on the reference
//! machine. A unit test (`mpmc::tests`) starts one just before each wrap
//! instead, on every target; and it never derives an index from a stamp,
//! only compares the two by wrapping difference within two laps.
#![cfg(target_pointer_width = "32")]

use ringbus::broadcast;
use ringbus::spsc;

/// A little more than one wrap of a 32-bit index: 2^32 and one ring.
const PAST_THE_WRAP: u64 = (1 << 32) + 1024;

/// The message for sequence `i`: its low byte, so a lost or repeated
/// message shows as a mismatch within 256 messages.
fn byte(i: u64) -> u8 {
    i as u8
}

/// spsc: the sender fills the whole ring in one chunk, the receiver reads
/// it in one chunk, round and round past the wrap; every byte, and the
/// length at full and empty, checked on every lap.
#[test]
fn spsc_runs_past_the_wrap() {
    const CAPACITY: usize = 1024;
    let (mut tx, mut rx) = spsc::channel::<u8>(CAPACITY);
    let mut sent = 0u64;
    let mut received = 0u64;
    while received < PAST_THE_WRAP {
        let chunk = tx.write_chunk_uninit(CAPACITY).expect("empty ring");
        let written = chunk.fill_from_iter((sent..).map(byte));
        assert_eq!(written, CAPACITY);
        sent += CAPACITY as u64;
        assert!(tx.is_full() && rx.len() == CAPACITY, "at {sent}");
        let chunk = rx.read_chunk(CAPACITY).expect("full ring");
        let (first, second) = chunk.as_slices();
        for (offset, value) in first.iter().chain(second).enumerate() {
            assert_eq!(*value, byte(received + offset as u64), "at {received}");
        }
        chunk.commit_all();
        received += CAPACITY as u64;
        assert!(rx.is_empty() && tx.is_empty(), "at {received}");
    }
    // Not in step with the laps: one message across the wrap point again.
    tx.send(7).unwrap();
    assert_eq!(rx.try_recv(), Ok(7));
}

/// Reads every message `subscriber` has waiting in one batch, checking
/// each against its sequence; `at` is the subscriber's sequence.
fn read_all(subscriber: &mut broadcast::Subscriber<u8>, at: &mut u64) {
    let batch = subscriber.try_recv_batch().expect("messages wait");
    for (offset, value) in batch.iter().enumerate() {
        assert_eq!(*value, byte(*at + offset as u64), "at {}", *at);
    }
    *at += batch.len() as u64;
}

/// Broadcast: one publisher and three subscribers past the wrap. The
/// slowest (`a`) rests at sequences `-2 (mod 256)` while the publisher fills
/// the ring, so once a lap before the wrap its cursor is `usize::MAX - 1`,
/// the table's `CLAIMING` marker; `b` rests one later, at `usize::MAX`, the
/// `FREE` marker. (Before the cursor table kept markers and cursors apart, a
/// scan skipped `a` there: the publisher then sent one message more than the
/// ring holds, over one `a` had not read.) Every lap checks the room the
/// publisher finds, the lag it reports and every byte each subscriber
/// reads.
#[test]
fn broadcast_runs_past_the_wrap() {
    const CAPACITY: u64 = 256;
    let (publisher, mut a) = broadcast::channel::<u8>(CAPACITY as usize);
    let (mut b, mut fast) = (publisher.subscribe(), publisher.subscribe());
    let (mut sent, mut a_at, mut b_at, mut fast_at) = (0u64, 0u64, 0u64, 0u64);
    let send = |sent: &mut u64, count: u64| {
        for _ in 0..count {
            publisher.try_send(byte(*sent)).expect("room");
            *sent += 1;
        }
    };
    // Everyone at 254, then the lap's second half (below).
    send(&mut sent, CAPACITY - 2);
    for (subscriber, at) in [
        (&mut a, &mut a_at),
        (&mut b, &mut b_at),
        (&mut fast, &mut fast_at),
    ] {
        read_all(subscriber, at);
    }
    let mut lap = 0u64;
    loop {
        // Second half: `b` one past `a`, `fast` at the end, a varying
        // number of messages on.
        send(&mut sent, 1);
        assert_eq!(b.try_recv().map(|m| *m), Ok(byte(b_at)));
        b_at += 1;
        send(&mut sent, lap % (CAPACITY - 2));
        read_all(&mut fast, &mut fast_at);
        let lag = sent - a_at;
        assert_eq!(publisher.len() as u64, lag, "a's lag at {sent}");
        assert_eq!((a.len() as u64, b.len() as u64), (lag, lag - 1));
        if a_at >= PAST_THE_WRAP {
            break;
        }
        // First half: the publisher fills exactly what `a` left free.
        while publisher.try_send(byte(sent)).is_ok() {
            sent += 1;
        }
        assert_eq!(sent - a_at, CAPACITY, "full at {sent}");
        assert!(publisher.is_full());
        for (subscriber, at) in [
            (&mut fast, &mut fast_at),
            (&mut b, &mut b_at),
            (&mut a, &mut a_at),
        ] {
            read_all(subscriber, at);
        }
        assert_eq!(publisher.len(), 0);
        lap += 1;
    }
    assert_eq!(a_at % CAPACITY, CAPACITY - 2, "a rested at -2 (mod 256)");
}

/// Lossy broadcast: its slot stamps (twice the sequence) wrap after 2^31
/// messages and its sequences after 2^32. The publisher runs a varying
/// number of messages past a subscriber each round, more than the ring
/// holds, and the subscriber must be told exactly how many it lost, then
/// read the oldest messages left, every round past both wraps; then once
/// from more than 2^30 behind.
#[test]
fn lossy_runs_past_the_wrap() {
    use ringbus::broadcast::lossy::{self, TryRecvError};
    const CAPACITY: u64 = 256;
    /// Messages the subscriber reads after each `Lagged`.
    const READ: u64 = 4;
    let (publisher, mut subscriber) = lossy::channel::<u8>(CAPACITY as usize);
    let (mut sent, mut at) = (0u64, 0u64);
    let mut round = 0u64;
    while at < PAST_THE_WRAP {
        let lost = 1 + round % 200;
        // Up to a ring and `lost` past the subscriber.
        while sent - at < CAPACITY + lost {
            publisher.send(byte(sent)).unwrap();
            sent += 1;
        }
        assert_eq!(
            subscriber.try_recv(),
            Err(TryRecvError::Lagged(lost)),
            "at {at}"
        );
        at += lost;
        for _ in 0..READ {
            assert_eq!(subscriber.try_recv(), Ok(byte(at)), "at {at}");
            at += 1;
        }
        let left = (CAPACITY - READ) as usize;
        assert_eq!((subscriber.len(), publisher.len()), (left, left), "at {at}");
        round += 1;
    }
    // Idle while the publisher runs 2^30 messages and more past: the slot
    // at the cursor then shows a stamp that wrapped past half its range
    // (it looks older than the message sought), and the subscriber must
    // still learn exactly how many it missed.
    let far = (1 << 30) + 1000;
    while sent - at < far {
        publisher.send(byte(sent)).unwrap();
        sent += 1;
    }
    assert_eq!(
        subscriber.try_recv(),
        Err(TryRecvError::Lagged(far - CAPACITY)),
        "at {at}"
    );
    at += far - CAPACITY;
    assert_eq!(subscriber.try_recv(), Ok(byte(at)));
}
