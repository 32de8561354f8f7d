//! The async forms: tokio's multi-thread runtime and a minimal executor
//! (`futures::executor::block_on`), sync senders feeding async receivers,
//! cancellation safety, and (feature `async`) the Stream/Sink wrappers.

use std::collections::HashSet;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::thread;
use std::time::Duration;

use ringbus::{broadcast, mpmc, pipeline, pubsub, reqrep, spsc, RecvError, SendError, Wait};

const STRESS: u64 = 100_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

/// 100 k messages through a small mpmc ring, two sending tasks and two
/// receiving tasks on a two-thread tokio runtime: each message arrives once.
#[test]
fn tokio_mpmc_stress_two_tasks_each_side() {
    for wait in [Wait::Backoff, Wait::Park] {
        let rt = runtime();
        let (tx, rx) = mpmc::Builder::new(16).wait(wait).build::<u64>();
        let got = rt.block_on(async move {
            let mut senders = Vec::new();
            for half in 0..2u64 {
                let tx = tx.clone();
                senders.push(tokio::spawn(async move {
                    for i in (half..STRESS).step_by(2) {
                        tx.send_async(i).await.unwrap();
                    }
                }));
            }
            drop(tx);
            let mut receivers = Vec::new();
            for _ in 0..2 {
                let rx = rx.clone();
                receivers.push(tokio::spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(i) = rx.recv_async().await {
                        got.push(i);
                    }
                    got
                }));
            }
            drop(rx);
            for s in senders {
                s.await.unwrap();
            }
            let mut all = Vec::new();
            for r in receivers {
                all.extend(r.await.unwrap());
            }
            all
        });
        assert_eq!(got.len() as u64, STRESS, "{wait:?}");
        let unique: HashSet<u64> = got.into_iter().collect();
        assert_eq!(unique.len() as u64, STRESS, "{wait:?}");
    }
}

/// spsc under tokio: the handles move into tasks (the futures are `Send`).
#[test]
fn tokio_spsc_in_order() {
    let rt = runtime();
    let (mut tx, mut rx) = spsc::Builder::new(8).wait(Wait::Park).build::<u64>();
    rt.block_on(async move {
        let producer = tokio::spawn(async move {
            for i in 0..STRESS {
                tx.send_async(i).await.unwrap();
            }
        });
        let consumer = tokio::spawn(async move {
            let mut next = 0;
            while let Ok(i) = rx.recv_async().await {
                assert_eq!(i, next);
                next += 1;
            }
            next
        });
        producer.await.unwrap();
        assert_eq!(consumer.await.unwrap(), STRESS);
    });
}

/// A broadcast publisher task and two subscriber tasks: each sees all.
#[test]
fn tokio_broadcast_two_subscribers() {
    let rt = runtime();
    let (publisher, first) = broadcast::Builder::new(8).wait(Wait::Park).build::<u64>();
    let second = first.clone();
    rt.block_on(async move {
        let subs: Vec<_> = [first, second]
            .into_iter()
            .map(|mut sub| {
                tokio::spawn(async move {
                    let mut sum = 0;
                    while let Ok(sample) = sub.recv_async().await {
                        sum += *sample;
                    }
                    sum
                })
            })
            .collect();
        // A sync publisher on a plain thread feeds async subscribers.
        thread::spawn(move || {
            for i in 0..10_000u64 {
                publisher.send(i).unwrap();
            }
        });
        for s in subs {
            assert_eq!(s.await.unwrap(), (0..10_000u64).sum::<u64>());
        }
    });
}

/// The minimal executor: a sync sender thread feeds an async receiver.
#[test]
fn block_on_sync_sender_async_receiver() {
    let (tx, mut rx) = spsc::Builder::new(4).wait(Wait::Backoff).build::<u64>();
    let producer = thread::spawn(move || {
        for i in 0..STRESS {
            tx.send(i).unwrap();
        }
    });
    let sum = futures::executor::block_on(async {
        let mut sum = 0;
        while let Ok(i) = rx.recv_async().await {
            sum += i;
        }
        sum
    });
    producer.join().unwrap();
    assert_eq!(sum, (0..STRESS).sum::<u64>());
}

/// An async sender blocked on a full ring, woken by a sync receiver.
#[test]
fn block_on_async_sender_sync_receiver() {
    let (tx, rx) = mpmc::Builder::new(2).wait(Wait::Park).build::<u64>();
    let consumer = thread::spawn(move || rx.iter().count());
    futures::executor::block_on(async move {
        for i in 0..10_000 {
            tx.send_async(i).await.unwrap();
        }
    });
    assert_eq!(consumer.join().unwrap(), 10_000);
}

/// Spin and Yield channels: the futures busy-poll but complete.
#[test]
fn spin_and_yield_futures_complete() {
    for wait in [Wait::Spin, Wait::Yield] {
        let (tx, rx) = mpmc::Builder::new(4).wait(wait).build::<u32>();
        let producer = thread::spawn(move || {
            for i in 0..1_000 {
                tx.send(i).unwrap();
            }
        });
        let count = futures::executor::block_on(async {
            let mut n = 0;
            while rx.recv_async().await.is_ok() {
                n += 1;
            }
            n
        });
        producer.join().unwrap();
        assert_eq!(count, 1_000, "{wait:?}");
    }
}

/// Disconnection ends the async forms with the std-shaped errors.
#[test]
fn async_disconnection() {
    let (mut tx, mut rx) = spsc::channel::<u8>(2);
    futures::executor::block_on(async {
        tx.send_async(1).await.unwrap();
        assert_eq!(rx.recv_async().await, Ok(1));
        drop(rx);
        assert_eq!(tx.send_async(2).await, Err(SendError(2)));
    });
    let (tx, rx) = mpmc::channel::<u8>(2);
    drop(tx);
    assert_eq!(futures::executor::block_on(rx.recv_async()), Err(RecvError));
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

/// A pending receive future that is dropped takes nothing: the message sent
/// after it is still there for the next receive.
#[test]
fn dropped_pending_future_loses_nothing() {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u32>();
    for i in 0..100 {
        {
            let mut future = pin!(rx.recv_async());
            assert!(future.as_mut().poll(&mut cx).is_pending());
        } // dropped while registered
        tx.send(i).unwrap();
        assert_eq!(rx.try_recv(), Ok(i));
    }
}

/// Cancellation under load: `tokio::select!` races receives on two
/// channels, so one future is dropped every round; every message of both
/// arrives exactly once.
#[test]
fn select_macro_cancellation_loses_nothing() {
    let rt = runtime();
    let (tx_a, rx_a) = mpmc::Builder::new(4).wait(Wait::Park).build::<u64>();
    let (tx_b, rx_b) = mpmc::Builder::new(4).wait(Wait::Park).build::<u64>();
    let n = 20_000u64;
    let a = thread::spawn(move || (0..n).for_each(|i| tx_a.send(i).unwrap()));
    let b = thread::spawn(move || (n..2 * n).for_each(|i| tx_b.send(i).unwrap()));
    let got = rt.block_on(async move {
        let mut got = Vec::new();
        let (mut a_open, mut b_open) = (true, true);
        while a_open || b_open {
            tokio::select! {
                r = rx_a.recv_async(), if a_open => match r {
                    Ok(i) => got.push(i),
                    Err(_) => a_open = false,
                },
                r = rx_b.recv_async(), if b_open => match r {
                    Ok(i) => got.push(i),
                    Err(_) => b_open = false,
                },
            }
        }
        got
    });
    a.join().unwrap();
    b.join().unwrap();
    assert_eq!(got.len() as u64, 2 * n);
    assert_eq!(got.into_iter().collect::<HashSet<_>>().len() as u64, 2 * n);
}

/// Cancellation by timeout: receives that time out (and are dropped) while
/// a slow producer sends lose nothing.
#[test]
fn timeouts_lose_nothing() {
    let rt = runtime();
    let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u32>();
    let producer = thread::spawn(move || {
        for i in 0..200 {
            if i % 20 == 0 {
                thread::sleep(Duration::from_millis(3));
            }
            tx.send(i).unwrap();
        }
    });
    let got = rt.block_on(async move {
        let mut got = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_micros(500), rx.recv_async()).await {
                Ok(Ok(i)) => got.push(i),
                Ok(Err(_)) => break,
                Err(_elapsed) => {}
            }
        }
        got
    });
    producer.join().unwrap();
    assert_eq!(got, (0..200).collect::<Vec<_>>());
}

/// The pattern handles' async forms, end to end.
#[test]
fn pattern_handles_async() {
    futures::executor::block_on(async {
        let (push, pull) = pipeline::channel::<u32>(4);
        push.send_async(1).await.unwrap();
        assert_eq!(pull.recv_async().await, Ok(1));

        let (publisher, mut sub) = pubsub::channel::<u32>(4);
        sub.subscribe("a.#").unwrap();
        publisher.send(&publisher.topic("a.b").unwrap(), 2);
        assert_eq!(*sub.recv_async().await.unwrap(), 2);

        let (requester, replier) = reqrep::channel::<u32, u32>(4);
        let client = thread::spawn(move || requester.request(3));
        let request = replier.recv_async().await.unwrap();
        let n = *request.payload();
        request.reply(n * 10).unwrap();
        assert_eq!(client.join().unwrap(), Ok(30));
    });
}

/// `pubsub::Publisher::send_async` under tokio: a publisher task sends
/// 20 k messages to a subscriber with a ring of 4 slots (`Block`: the sends
/// wait for it) and one with 64; each gets all of them, in order, and the
/// publisher task never blocks its thread. (An acceptance check found pub/sub
/// publishers had no async send, though every other bus handle has one.)
#[test]
fn tokio_pubsub_send_async_waits_for_block_subscribers() {
    const N: u32 = 20_000;
    for wait in [Wait::Backoff, Wait::Park] {
        let rt = runtime();
        let (publisher, mut slow) = pubsub::Builder::new(4).wait(wait).build::<u32>();
        let mut fast = publisher.subscriber_with(pubsub::SubscriberOptions::new().capacity(64));
        slow.subscribe("md.#").unwrap();
        fast.subscribe("md.*").unwrap();
        let readers: Vec<_> = [slow, fast]
            .into_iter()
            .map(|subscriber| {
                rt.spawn(async move {
                    let mut got = Vec::new();
                    while let Ok(message) = subscriber.recv_async().await {
                        got.push(*message);
                    }
                    got
                })
            })
            .collect();
        let reached = rt.block_on(async move {
            let topic = publisher.topic("md.eu").unwrap();
            let mut reached = 0;
            for i in 0..N {
                reached += publisher.send_async(&topic, i).await;
            }
            reached
        });
        assert_eq!(reached, 2 * N as usize);
        for reader in readers {
            let got = rt.block_on(reader).unwrap();
            assert_eq!(got, (0..N).collect::<Vec<_>>(), "{wait:?}");
        }
    }
}

/// A pending async send is cancellation-safe in `Pending`'s sense: dropped
/// while it waits for a full subscriber, the subscribers it reached keep
/// the message, the others never get it, and the publisher goes on.
/// Resumed from a `Pending`, it reaches exactly the rest; a subscriber
/// that leaves while a send waits for it is skipped.
#[test]
fn pubsub_send_async_cancelled_resumed_and_skipping_a_leaver() {
    use std::task::Poll;

    let (publisher, mut full) = pubsub::Builder::new(1).wait(Wait::Park).build::<u32>();
    let mut roomy = publisher.subscriber_with(pubsub::SubscriberOptions::new().capacity(8));
    roomy.subscribe("#").unwrap();
    full.subscribe("#").unwrap();
    let topic = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&topic, 0), 2); // `full` is full now
    let waker = Waker::from(Arc::new(Flag::default()));
    let mut cx = Context::from_waker(&waker);
    {
        // `roomy` comes after `full` in the match set, so the send stops at
        // `full` before reaching it.
        let mut send = pin!(publisher.send_async(&topic, 1));
        assert!(send.as_mut().poll(&mut cx).is_pending());
    } // dropped: gives up
    assert_eq!(drain(&full), [0]);
    assert_eq!(drain(&roomy), [0]);

    // Resumed from a `Pending`, once there is room.
    publisher.send(&topic, 2);
    let pending = publisher.try_send(&topic, 3).unwrap_err();
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut send = pin!(pending.send_async());
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(*full.recv().unwrap(), 2);
    assert!(
        flag.0.load(std::sync::atomic::Ordering::SeqCst),
        "woken by the receive"
    );
    assert_eq!(send.as_mut().poll(&mut cx), Poll::Ready(2));
    assert_eq!(drain(&full), [3]);
    assert_eq!(drain(&roomy), [2, 3]);

    // A subscriber that leaves while the send waits for it is skipped.
    publisher.send(&topic, 4);
    let leaver = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        drop(full);
    });
    let reached = futures::executor::block_on(publisher.send_async(&topic, 5));
    leaver.join().unwrap();
    assert_eq!(reached, 1);
    assert_eq!(drain(&roomy), [4, 5]);
}

/// A lossy subscriber awaits its messages too (issue 6 asks for
/// `recv_async` on broadcast subscribers; an acceptance check found the
/// lossy ones had none): under tokio, every message in order while it
/// keeps up; lapped, `Lagged(n)` once with the exact count, then the oldest
/// message still held; `Disconnected` at the end.
#[test]
fn tokio_lossy_recv_async() {
    use ringbus::broadcast::lossy;

    for wait in [Wait::Backoff, Wait::Park] {
        let rt = runtime();
        let (publisher, mut subscriber) = lossy::Builder::new(64).wait(wait).build::<u64>();
        let reader = rt.spawn(async move {
            let mut got = Vec::new();
            while let Ok(value) = subscriber.recv_async().await {
                got.push(value);
            }
            got
        });
        // 64 at a time, each batch only after the reader took the last
        // (the publisher is empty once the slowest subscriber has read
        // everything): nothing is overwritten.
        for i in 0..1_000u64 {
            publisher.send(i).unwrap();
            if i % 64 == 63 {
                while !publisher.is_empty() {
                    thread::yield_now();
                }
            }
        }
        drop(publisher);
        let got = rt.block_on(reader).unwrap();
        assert_eq!(got, (0..1_000).collect::<Vec<_>>(), "{wait:?}");
    }

    let (publisher, mut subscriber) = lossy::channel::<u64>(4);
    for i in 0..10 {
        publisher.send(i).unwrap();
    }
    futures::executor::block_on(async {
        assert_eq!(
            subscriber.recv_async().await,
            Err(lossy::RecvError::Lagged(6))
        );
        assert_eq!(subscriber.recv_async().await, Ok(6));
        drop(publisher);
        for i in 7..10 {
            assert_eq!(subscriber.recv_async().await, Ok(i));
        }
        assert_eq!(
            subscriber.recv_async().await,
            Err(lossy::RecvError::Disconnected)
        );
    });
}

/// `broadcast::Publisher::send_async` under tokio: a publisher task waits
/// for two subscriber tasks through a ring of 4; both see every message in
/// order. With `Backoff` and `Park`.
#[test]
fn tokio_broadcast_send_async_waits_for_the_slowest() {
    for wait in [Wait::Backoff, Wait::Park] {
        let rt = runtime();
        let (mut publisher, first) = broadcast::Builder::new(4).wait(wait).build::<u64>();
        let second = first.clone();
        rt.block_on(async move {
            let readers: Vec<_> = [first, second]
                .into_iter()
                .map(|mut sub| {
                    tokio::spawn(async move {
                        let mut next = 0u64;
                        while let Ok(sample) = sub.recv_async().await {
                            assert_eq!(*sample, next);
                            next += 1;
                        }
                        next
                    })
                })
                .collect();
            let writer = tokio::spawn(async move {
                for i in 0..20_000u64 {
                    publisher.send_async(i).await.unwrap();
                }
            });
            writer.await.unwrap();
            for r in readers {
                assert_eq!(r.await.unwrap(), 20_000, "{wait:?}");
            }
        });
    }
}

/// Two multi-publisher tasks `send_async` through a ring of 2 to a
/// subscriber thread: every message arrives once, each publisher's in order.
#[test]
fn tokio_multi_publisher_send_async() {
    for wait in [Wait::Backoff, Wait::Park] {
        let rt = runtime();
        let (first, mut subscriber) = broadcast::Builder::new(2).wait(wait).build_multi::<u64>();
        let reader = thread::spawn(move || {
            let mut next = [0u64; 2];
            while let Ok(sample) = subscriber.recv() {
                let (publisher, i) = ((*sample >> 32) as usize, *sample & 0xffff_ffff);
                assert_eq!(i, next[publisher], "publisher {publisher}'s order");
                next[publisher] += 1;
            }
            next
        });
        rt.block_on(async move {
            let writers: Vec<_> = [first.clone(), first]
                .into_iter()
                .enumerate()
                .map(|(k, mut publisher)| {
                    tokio::spawn(async move {
                        for i in 0..10_000u64 {
                            publisher.send_async(((k as u64) << 32) | i).await.unwrap();
                        }
                    })
                })
                .collect();
            for w in writers {
                w.await.unwrap();
            }
        });
        assert_eq!(reader.join().unwrap(), [10_000, 10_000], "{wait:?}");
    }
}

/// A pending broadcast `send_async` dropped while the ring is full drops its
/// value unpublished and leaves the publisher usable; with no subscriber
/// left the send hands the value back.
#[test]
fn broadcast_send_async_cancelled_then_disconnected() {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let (mut publisher, mut subscriber) = broadcast::Builder::new(1).wait(Wait::Park).build();
    publisher.send(String::from("first")).unwrap();
    {
        let mut future = pin!(publisher.send_async(String::from("dropped")));
        assert!(
            future.as_mut().poll(&mut cx).is_pending(),
            "the ring is full"
        );
    }
    assert_eq!(subscriber.try_recv().unwrap().as_str(), "first");
    assert_eq!(
        subscriber.try_recv().err(),
        Some(ringbus::TryRecvError::Empty)
    );
    futures::executor::block_on(publisher.send_async(String::from("second"))).unwrap();
    assert_eq!(subscriber.try_recv().unwrap().as_str(), "second");

    // A subscriber leaving wakes a send that waits for it.
    let flag = Arc::new(Flag::default());
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    publisher.send(String::from("third")).unwrap();
    let mut future = pin!(publisher.send_async(String::from("fourth")));
    assert!(
        future.as_mut().poll(&mut cx).is_pending(),
        "the ring is full"
    );
    drop(subscriber);
    assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst), "woken");
    assert_eq!(
        future.as_mut().poll(&mut cx),
        std::task::Poll::Ready(Err(SendError(String::from("fourth"))))
    );
}

/// A waker that records that it was woken.
#[derive(Default)]
struct Flag(std::sync::atomic::AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Everything waiting in a subscriber's ring.
fn drain(subscriber: &pubsub::Subscriber<u32>) -> Vec<u32> {
    subscriber.try_iter().map(|m| *m).collect()
}

#[cfg(feature = "async")]
mod streams {
    use futures::{SinkExt, StreamExt};
    use ringbus::future::{RecvStream, SendSink};
    use ringbus::{broadcast, mpmc, pipeline, spsc, Wait};

    /// Sink → ring → Stream, 100 k messages, under tokio.
    #[test]
    fn sink_to_stream_under_tokio() {
        let rt = super::runtime();
        let (tx, rx) = spsc::Builder::new(8).wait(Wait::Park).build::<u64>();
        rt.block_on(async move {
            let producer = tokio::spawn(async move {
                let mut sink = SendSink::new(tx);
                for i in 0..super::STRESS {
                    sink.send(i).await.unwrap();
                }
            });
            let consumer = tokio::spawn(async move {
                RecvStream::new(rx)
                    .fold(0u64, |n, i| async move {
                        assert_eq!(i, n);
                        n + 1
                    })
                    .await
            });
            producer.await.unwrap();
            assert_eq!(consumer.await.unwrap(), super::STRESS);
        });
    }

    /// Every kind of receiver streams; broadcast clones.
    #[test]
    fn every_receiver_streams() {
        futures::executor::block_on(async {
            let (tx, rx) = mpmc::channel::<u8>(4);
            let mut sink = SendSink::new(tx);
            sink.send(1).await.unwrap();
            drop(sink);
            assert_eq!(RecvStream::new(rx).collect::<Vec<_>>().await, [1]);

            let (push, pull) = pipeline::channel::<u8>(4);
            let mut sink = SendSink::new(push);
            sink.send(2).await.unwrap();
            drop(sink);
            assert_eq!(RecvStream::new(pull).collect::<Vec<_>>().await, [2]);

            let (publisher, sub) = broadcast::channel::<String>(4);
            publisher.send("x".to_owned()).unwrap();
            drop(publisher);
            assert_eq!(RecvStream::new(sub).collect::<Vec<_>>().await, ["x"]);

            let (publisher, sub) = broadcast::channel::<String>(4);
            let mut sink = SendSink::new(publisher);
            sink.send("y".to_owned()).await.unwrap();
            drop(sink);
            assert_eq!(RecvStream::new(sub).collect::<Vec<_>>().await, ["y"]);
        });
    }

    /// A broadcast publisher's sink waits for the slowest of two subscriber
    /// streams through a ring of 2, under tokio; both get everything.
    #[test]
    fn broadcast_sink_to_two_streams_under_tokio() {
        let rt = super::runtime();
        let (publisher, first) = broadcast::Builder::new(2).wait(Wait::Park).build::<u64>();
        let second = first.clone();
        rt.block_on(async move {
            let readers: Vec<_> = [first, second]
                .into_iter()
                .map(|sub| tokio::spawn(RecvStream::new(sub).collect::<Vec<_>>()))
                .collect();
            let mut sink = SendSink::new(publisher);
            let mut items = futures::stream::iter((0..10_000u64).map(Ok));
            sink.send_all(&mut items).await.unwrap();
            drop(sink);
            for r in readers {
                assert_eq!(r.await.unwrap(), (0..10_000).collect::<Vec<_>>());
            }
        });
    }

    /// A lossy subscriber streams: a lag is an item, `Err(Lagged(n))`, and
    /// the stream ends when the publisher is gone; a lossy publisher sinks.
    #[test]
    fn lossy_stream_reports_lags_and_lossy_sink_publishes() {
        use ringbus::broadcast::lossy;

        let (publisher, subscriber) = lossy::channel::<u32>(4);
        for i in 0..10 {
            publisher.send(i).unwrap();
        }
        drop(publisher);
        let got = futures::executor::block_on(RecvStream::new(subscriber).collect::<Vec<_>>());
        assert_eq!(
            got,
            [Err(lossy::RecvError::Lagged(6)), Ok(6), Ok(7), Ok(8), Ok(9)]
        );

        let (publisher, subscriber) = lossy::Builder::new(64).wait(Wait::Park).build::<u64>();
        let rt = super::runtime();
        rt.block_on(async move {
            let reader = tokio::spawn(RecvStream::new(subscriber).collect::<Vec<_>>());
            let mut sink = SendSink::new(publisher);
            // 32 at a time, each batch after the reader took the last:
            // nothing is overwritten.
            for i in 0..1_000u64 {
                sink.send(i).await.unwrap();
                if i % 32 == 31 {
                    while !sink.get_ref().is_empty() {
                        tokio::task::yield_now().await;
                    }
                }
            }
            drop(sink);
            let got = reader.await.unwrap();
            assert_eq!(got, (0..1_000).map(Ok).collect::<Vec<_>>());
        });

        let (publisher, subscriber) = lossy::channel::<u8>(4);
        drop(subscriber);
        let mut sink = SendSink::new(publisher);
        assert_eq!(
            futures::executor::block_on(sink.send(1)),
            Err(ringbus::SendError(1)),
            "no subscriber: the value comes back"
        );
    }

    /// Every receiver is a `Stream` and every sender a `Sink` itself, no
    /// wrapper needed: `rx.next().await`, `tx.send(v).await`.
    #[test]
    fn handles_are_streams_and_sinks_themselves() {
        use ringbus::{pubsub, reqrep};

        futures::executor::block_on(async {
            let (mut tx, mut rx) = spsc::channel::<u8>(2);
            SinkExt::send(&mut tx, 1).await.unwrap();
            SinkExt::send(&mut tx, 2).await.unwrap();
            drop(tx);
            assert_eq!(rx.next().await, Some(1));
            assert_eq!(rx.collect::<Vec<_>>().await, [2]);

            let (mut tx, rx) = mpmc::channel::<u8>(2);
            let mut other = tx.clone();
            SinkExt::send(&mut tx, 3).await.unwrap();
            SinkExt::send(&mut other, 4).await.unwrap();
            drop((tx, other));
            assert_eq!(rx.collect::<Vec<_>>().await, [3, 4]);

            let (mut push, mut pull) = pipeline::channel::<u8>(2);
            SinkExt::send(&mut push, 5).await.unwrap();
            drop(push);
            assert_eq!(pull.next().await, Some(5));
            assert_eq!(pull.next().await, None);

            let (mut publisher, mut sub) = broadcast::channel::<String>(2);
            SinkExt::send(&mut publisher, "six".to_owned())
                .await
                .unwrap();
            drop(publisher);
            assert_eq!(sub.next().await.as_deref(), Some("six"));
            assert_eq!(sub.next().await, None);

            let (mut publisher, mut sub) = broadcast::Builder::new(2).build_multi::<u8>();
            SinkExt::send(&mut publisher, 7).await.unwrap();
            drop(publisher);
            assert_eq!(sub.next().await, Some(7));
            assert_eq!(sub.next().await, None);

            let (mut publisher, mut sub) = broadcast::lossy::channel::<u8>(2);
            SinkExt::send(&mut publisher, 8).await.unwrap();
            drop(publisher);
            assert_eq!(sub.next().await, Some(Ok(8)));
            assert_eq!(sub.next().await, None);

            let (publisher, mut sub) = pubsub::channel::<u8>(2);
            sub.subscribe("#").unwrap();
            let topic = publisher.topic("a.b").unwrap();
            assert_eq!(publisher.send(&topic, 9), 1);
            drop(publisher);
            let message = sub.next().await.unwrap();
            assert_eq!((message.topic(), *message), ("a.b", 9));
            assert!(sub.next().await.is_none());

            let (requester, mut replier) = reqrep::channel::<u8, u8>(2);
            let asker = std::thread::spawn(move || requester.request(10));
            let request = replier.next().await.unwrap();
            let n = *request.payload();
            request.reply(n + 1).unwrap();
            assert_eq!(asker.join().unwrap(), Ok(11));
            assert!(replier.next().await.is_none(), "the requester is gone");
        });
    }

    /// The handles' own streams and sinks under tokio: two sending tasks
    /// (`Sink` on cloned mpmc senders) and two receiving tasks (`Stream` on
    /// cloned receivers) through a ring of 8; every message arrives once.
    #[test]
    fn handles_stream_and_sink_under_tokio() {
        let rt = super::runtime();
        let (tx, rx) = mpmc::Builder::new(8).wait(Wait::Park).build::<u64>();
        rt.block_on(async move {
            let senders: Vec<_> = (0..2u64)
                .map(|k| {
                    let mut tx = tx.clone();
                    tokio::spawn(async move {
                        for i in 0..super::STRESS / 2 {
                            SinkExt::send(&mut tx, k * super::STRESS + i).await.unwrap();
                        }
                    })
                })
                .collect();
            drop(tx);
            let receivers: Vec<_> = (0..2)
                .map(|_| tokio::spawn(rx.clone().collect::<Vec<_>>()))
                .collect();
            drop(rx);
            for s in senders {
                s.await.unwrap();
            }
            let mut all = Vec::new();
            for r in receivers {
                all.extend(r.await.unwrap());
            }
            all.sort_unstable();
            let expected: Vec<u64> = (0..2u64)
                .flat_map(|k| (0..super::STRESS / 2).map(move |i| k * super::STRESS + i))
                .collect();
            assert_eq!(all, expected);
        });
    }

    /// A handle dropped while its stream or sink waits: the receiver's
    /// registration goes with it, and a sender's pending item is dropped
    /// once, unsent.
    #[test]
    fn handles_dropped_while_their_stream_or_sink_waits() {
        use futures::Sink;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        use std::task::{Context, Poll};

        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }

        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        let (tx, mut rx) = mpmc::Builder::new(1).wait(Wait::Park).build::<Counted>();
        assert!(rx.poll_next_unpin(&mut cx).is_pending(), "registered");
        drop(rx); // unregisters; the sender sees the disconnection
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut tx2, rx2) = mpmc::Builder::new(1).wait(Wait::Park).build::<Counted>();
        tx2.start_send_unpin(Counted(drops.clone())).unwrap();
        assert!(matches!(tx2.poll_flush_unpin(&mut cx), Poll::Ready(Ok(()))));
        tx2.start_send_unpin(Counted(drops.clone())).unwrap();
        assert!(
            tx2.poll_flush_unpin(&mut cx).is_pending(),
            "the ring is full"
        );
        assert!(
            std::pin::Pin::new(&mut tx2)
                .start_send(Counted(drops.clone()))
                .is_err(),
            "one pending item at a time"
        );
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the refused item");
        drop(tx2);
        assert_eq!(drops.load(Ordering::SeqCst), 2, "the pending item, unsent");
        assert_eq!(rx2.len(), 1);
        drop(rx2);
        assert_eq!(drops.load(Ordering::SeqCst), 3);
        drop(tx);
    }

    /// A sender dropped while its sink holds an item whose `Drop` panics still
    /// disconnects first: the receivers see the end instead of waiting for
    /// ever (the panic comes after the disconnection).
    #[test]
    fn a_panicking_held_item_does_not_keep_the_channel_connected() {
        use futures::Sink;
        use std::panic::{catch_unwind, AssertUnwindSafe};
        use std::pin::Pin;
        use std::task::Context;
        use std::time::Duration;

        struct Bomb(bool);
        impl Drop for Bomb {
            fn drop(&mut self) {
                if self.0 {
                    panic!("a held item panics as it drops");
                }
            }
        }
        /// Fills the one slot, holds a `Bomb(true)`, drops the sender.
        fn hold_then_drop<S: Sink<Bomb> + Unpin>(mut tx: S) {
            let waker = futures::task::noop_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(Pin::new(&mut tx).start_send(Bomb(false)).is_ok());
            assert!(Pin::new(&mut tx).poll_flush(&mut cx).is_ready());
            assert!(Pin::new(&mut tx).start_send(Bomb(true)).is_ok());
            assert!(Pin::new(&mut tx).poll_flush(&mut cx).is_pending(), "full");
            assert!(catch_unwind(AssertUnwindSafe(|| drop(tx))).is_err());
        }
        let patience = Duration::from_secs(5);

        let (tx, rx) = spsc::Builder::new(1).wait(Wait::Park).build::<Bomb>();
        hold_then_drop(tx);
        assert!(rx.recv_timeout(patience).is_ok());
        assert_eq!(
            rx.recv_timeout(patience).err(),
            Some(ringbus::RecvTimeoutError::Disconnected)
        );

        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build::<Bomb>();
        hold_then_drop(tx);
        assert!(rx.recv_timeout(patience).is_ok());
        assert_eq!(
            rx.recv_timeout(patience).err(),
            Some(ringbus::RecvTimeoutError::Disconnected)
        );

        let (tx, mut sub) = broadcast::Builder::new(1).wait(Wait::Park).build::<Bomb>();
        hold_then_drop(tx);
        assert!(sub.recv_timeout(patience).is_ok());
        assert_eq!(
            sub.recv_timeout(patience).err(),
            Some(ringbus::RecvTimeoutError::Disconnected)
        );

        let (tx, mut sub) = broadcast::Builder::new(1)
            .wait(Wait::Park)
            .build_multi::<Bomb>();
        hold_then_drop(tx);
        assert!(sub.recv_timeout(patience).is_ok());
        assert_eq!(
            sub.recv_timeout(patience).err(),
            Some(ringbus::RecvTimeoutError::Disconnected)
        );
    }

    /// An mpmc sender stays `Sync` for a `T` that is `Send` but not `Sync`,
    /// although it can hold a pending item as a `Sink`.
    #[test]
    fn mpmc_sender_is_sync_for_send_only_messages() {
        fn is_sync<T: Sync>() {}
        is_sync::<mpmc::Sender<std::cell::Cell<u8>>>();
        is_sync::<pipeline::Pusher<std::cell::Cell<u8>>>();
    }

    /// The new wrappers can move between an executor's threads.
    #[test]
    fn broadcast_wrappers_are_send() {
        let (publisher, subscriber) = broadcast::lossy::channel::<u8>(4);
        super::is_send(&RecvStream::new(subscriber));
        super::is_send(&SendSink::new(publisher));
        let (publisher, _subscriber) = broadcast::channel::<u8>(4);
        super::is_send(&SendSink::new(publisher));
        let (publisher, _subscriber) = broadcast::Builder::new(4).build_multi::<u8>();
        super::is_send(&SendSink::new(publisher));
    }

    /// A multi-publisher's sink feeds a subscriber's stream.
    #[test]
    fn multi_publisher_sinks() {
        let (publisher, subscriber) = broadcast::Builder::new(2).build_multi::<u32>();
        futures::executor::block_on(async move {
            let mut sink = SendSink::new(publisher.clone());
            let mut stream = RecvStream::new(subscriber);
            for i in 0..100 {
                sink.send(i).await.unwrap();
                assert_eq!(stream.next().await, Some(i));
            }
            drop((sink, publisher));
            assert_eq!(stream.next().await, None);
        });
    }
}

fn is_send<T: Send>(_: &T) {}

/// Every async form is `Send`, so a task awaiting it can move between an
/// executor's threads (spsc takes `&mut self` for this).
#[test]
fn futures_are_send() {
    let (p, s) = pubsub::channel::<u8>(4);
    is_send(&s.recv_async());
    let topic = p.topic("t").unwrap();
    is_send(&p.send_async(&topic, 1));
    let (_r, rep) = reqrep::channel::<u8, u8>(4);
    is_send(&rep.recv_async());
    let (pu, pl) = pipeline::channel::<u8>(4);
    is_send(&pl.recv_async());
    is_send(&pu.send_async(1));
    let (mut bp, mut b) = broadcast::channel::<u8>(4);
    is_send(&b.recv_async());
    is_send(&bp.send_async(1));
    let (mut mp, _ms) = broadcast::Builder::new(4).build_multi::<u8>();
    is_send(&mp.send_async(1));
    let (mtx, mrx) = mpmc::channel::<u8>(4);
    is_send(&mrx.recv_async());
    is_send(&mtx.send_async(1));
    let (mut tx, mut rx) = spsc::channel::<u8>(4);
    is_send(&rx.recv_async());
    is_send(&tx.send_async(1));
}

/// `request_async` under tokio: two requester tasks, one replier thread;
/// every reply goes to its own request.
#[test]
fn tokio_request_async() {
    let rt = runtime();
    let (requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u64, u64>();
    let server = thread::spawn(move || {
        for request in &replier {
            let n = *request.payload();
            request.reply(n + 1).unwrap();
        }
    });
    rt.block_on(async move {
        let tasks: Vec<_> = (0..2u64)
            .map(|t| {
                let mut requester = requester.clone();
                tokio::spawn(async move {
                    for i in 0..2_000 {
                        let n = t * 1_000_000 + i;
                        assert_eq!(requester.request_async(n).await, Ok(n + 1));
                    }
                })
            })
            .collect();
        drop(requester);
        for task in tasks {
            task.await.unwrap();
        }
    });
    server.join().unwrap();
}

/// A `request_async` dropped while waiting for its reply cancels the
/// request: the late reply is turned away and the next request gets its own.
#[test]
fn dropped_request_async_is_cancelled() {
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);
    let (mut requester, replier) = reqrep::Builder::new(4).wait(Wait::Park).build::<u32, u32>();
    {
        let mut future = pin!(requester.request_async(1));
        assert!(future.as_mut().poll(&mut cx).is_pending()); // queued, waiting
    }
    let late = replier.try_recv().unwrap();
    assert_eq!(*late.payload(), 1);
    assert!(late.reply(10).is_err()); // turned away
    let server = thread::spawn(move || {
        let request = replier.recv().unwrap();
        let n = *request.payload();
        request.reply(n * 10).unwrap();
    });
    assert_eq!(
        futures::executor::block_on(requester.request_async(2)),
        Ok(20)
    );
    server.join().unwrap();
    let (mut requester, replier) = reqrep::channel::<u8, u8>(2);
    drop(replier);
    assert!(futures::executor::block_on(requester.request_async(1))
        .unwrap_err()
        .is_disconnected());
    is_send(&requester.request_async(2));
}

/// Runs `f` on a thread of its own and fails if it takes longer than five
/// seconds (a deadlock), leaving that thread behind.
fn within_5s(f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(5))
        .expect("deadlocked (or panicked)");
}

type Task = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

/// A run-on-wake executor: `wake` polls the task at once, on the waking
/// thread (as an `async-task` whose schedule function runs the runnable).
/// The `Waker` contract allows it.
struct Inline {
    task: std::sync::Mutex<Option<Task>>,
    done: std::sync::atomic::AtomicBool,
}

impl Inline {
    /// Spawns `task` and polls it once.
    fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Arc<Inline> {
        let inline = Arc::new(Inline {
            task: std::sync::Mutex::new(Some(Box::pin(task))),
            done: std::sync::atomic::AtomicBool::new(false),
        });
        inline.clone().wake();
        inline
    }

    fn done(&self) -> bool {
        self.done.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Wake for Inline {
    fn wake(self: Arc<Self>) {
        let Ok(mut slot) = self.task.try_lock() else {
            return;
        };
        let waker = Waker::from(self.clone());
        if let Some(task) = slot.as_mut() {
            if task
                .as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
            {
                *slot = None;
                self.done.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }
}

/// A waker that polls its task inside `wake` does not deadlock the send or
/// receive that woke it, for every kind of endpoint: wakers are woken
/// outside the signal's lock, and the woken future's unregistration takes
/// it. (They were woken under it: every case here hung.)
#[test]
fn a_waker_may_poll_its_task_inline() {
    within_5s(|| {
        let (tx, mut rx) = spsc::Builder::new(1).wait(Wait::Park).build::<u32>();
        let task = Inline::spawn(async move { assert_eq!(rx.recv_async().await, Ok(7)) });
        tx.send(7).unwrap();
        assert!(task.done(), "spsc recv_async");

        let (mut tx, rx) = spsc::Builder::new(1).wait(Wait::Park).build::<u32>();
        tx.send(1).unwrap();
        let task = Inline::spawn(async move { tx.send_async(2).await.unwrap() });
        assert_eq!(rx.try_recv(), Ok(1));
        assert!(task.done(), "spsc send_async");

        let (tx, rx) = mpmc::Builder::new(1).wait(Wait::Park).build::<u32>();
        let task = Inline::spawn(async move { assert_eq!(rx.recv_async().await, Ok(7)) });
        tx.send(7).unwrap();
        assert!(task.done(), "mpmc recv_async");

        let (jobs, work) = pipeline::Builder::new(1).wait(Wait::Park).build::<u32>();
        let task = Inline::spawn(async move { assert_eq!(work.recv_async().await, Ok(7)) });
        jobs.send(7).unwrap();
        assert!(task.done(), "pipeline recv_async");

        let (publisher, mut subscriber) =
            broadcast::Builder::new(1).wait(Wait::Park).build::<u32>();
        let task = Inline::spawn(async move {
            assert_eq!(*subscriber.recv_async().await.unwrap(), 7);
        });
        publisher.send(7).unwrap();
        assert!(task.done(), "broadcast recv_async");

        let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Park).build::<u32>();
        subscriber.subscribe("t").unwrap();
        let topic = publisher.topic("t").unwrap();
        let task = Inline::spawn(async move {
            assert_eq!(*subscriber.recv_async().await.unwrap(), 7);
        });
        assert_eq!(publisher.send(&topic, 7), 1);
        assert!(task.done(), "pubsub recv_async");

        let (requester, replier) = reqrep::Builder::new(1).wait(Wait::Park).build::<u32, u32>();
        let task = Inline::spawn(async move {
            let request = replier.recv_async().await.unwrap();
            let n = *request.payload();
            request.reply(n + 1).unwrap();
        });
        assert_eq!(requester.request(1), Ok(2));
        assert!(task.done(), "reqrep recv_async");
    });
}

/// A waker that owns the last sender: dropping it (when its future stops
/// waiting, or is polled again with another waker) drops that sender, whose
/// drop notifies the very signal the waker was registered on. No deadlock:
/// wakers are dropped outside the signal's lock.
#[test]
fn a_waker_may_own_and_drop_the_last_sender() {
    struct Holds(#[allow(dead_code)] mpmc::Sender<u32>);
    impl Wake for Holds {
        fn wake(self: Arc<Self>) {}
    }
    within_5s(|| {
        for replaced in [false, true] {
            let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u32>();
            let waker = Waker::from(Arc::new(Holds(tx)));
            let mut future = Box::pin(rx.recv_async());
            let polled = future.as_mut().poll(&mut Context::from_waker(&waker));
            assert!(polled.is_pending());
            drop(waker);
            if replaced {
                // Polled again with another waker: the registered one goes,
                // and the sender with it.
                let other = Waker::from(Arc::new(Noop));
                let polled = future.as_mut().poll(&mut Context::from_waker(&other));
                assert_eq!(polled, std::task::Poll::Ready(Err(RecvError)));
            } else {
                // Dropped: the registered waker goes with the future.
                drop(future);
                assert!(rx.is_disconnected());
            }
        }
    });
}

/// A waker whose `wake` sends on the same channel while a thread sleeps on
/// it: the waking send's notification reaches that thread too.
#[test]
fn a_waker_may_send_on_the_channel_that_woke_it() {
    struct SendsOnWake(mpmc::Sender<u32>);
    impl Wake for SendsOnWake {
        fn wake(self: Arc<Self>) {
            let _ = self.0.try_send(99);
        }
    }
    within_5s(|| {
        let (tx, rx) = mpmc::Builder::new(8).wait(Wait::Park).build::<u32>();
        let sleeper = {
            let rx = rx.clone();
            thread::spawn(move || rx.recv())
        };
        // Let it sleep (it gets a message either way).
        thread::sleep(Duration::from_millis(100));
        let waker = Waker::from(Arc::new(SendsOnWake(tx.clone())));
        let mut future = pin!(rx.recv_async());
        assert!(future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        tx.send(1).unwrap();
        let first = sleeper.join().unwrap().unwrap();
        let mut got = vec![first];
        got.extend(rx.try_iter());
        got.sort_unstable();
        assert_eq!(got, [1, 99]);
    });
}

/// The last publisher of a pub/sub endpoint wakes every subscriber, and a
/// waker it wakes may drop another subscriber of the endpoint (or
/// subscribe): the subscribers are woken outside the endpoint's lock, which
/// leaving takes. (They were woken under it: this hung.)
#[test]
fn a_waker_may_drop_a_subscriber_when_the_last_publisher_leaves() {
    struct DropsOnWake(std::sync::Mutex<Option<pubsub::Subscriber<u32>>>);
    impl Wake for DropsOnWake {
        fn wake(self: Arc<Self>) {
            drop(self.0.lock().unwrap().take());
        }
    }
    within_5s(|| {
        let (publisher, mut first) = pubsub::Builder::new(4).wait(Wait::Park).build::<u32>();
        first.subscribe("#").unwrap();
        let second = publisher.subscriber();
        let wake = Arc::new(DropsOnWake(std::sync::Mutex::new(Some(second))));
        let waker = Waker::from(wake.clone());
        let mut future = Box::pin(first.recv_async());
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        drop(publisher);
        assert!(wake.0.lock().unwrap().is_none(), "the waker ran");
        // Every publisher is gone and nothing was sent.
        let polled = future.as_mut().poll(&mut cx);
        assert!(matches!(polled, std::task::Poll::Ready(Err(_))));
    });
}

thread_local! {
    /// The broadcast publisher the waker below sends on or lends from.
    static PUBLISHER: std::cell::Cell<Option<&'static broadcast::Publisher<u32>>> =
        const { std::cell::Cell::new(None) };
    /// What that waker does, and what came of it.
    static ON_WAKE: std::cell::RefCell<OnWake> = const { std::cell::RefCell::new(OnWake::Nothing) };
}

/// What [`PublishesOnWake`] does when woken, and then what came of it.
#[derive(Default)]
enum OnWake {
    #[default]
    Nothing,
    Send,
    Sent(bool),
    Lend,
    Lent(broadcast::Loan<'static, u32>),
}

/// A waker that, on the waking thread, sends on or takes (and keeps) a
/// loan of the publisher in [`PUBLISHER`], as a task polled inline would.
struct PublishesOnWake;

impl Wake for PublishesOnWake {
    fn wake(self: Arc<Self>) {
        let publisher = PUBLISHER.get().expect("a publisher to use");
        ON_WAKE.with_borrow_mut(|on_wake| match on_wake {
            OnWake::Send => *on_wake = OnWake::Sent(publisher.try_send(99).is_ok()),
            OnWake::Lend => *on_wake = OnWake::Lent(publisher.loan()),
            _ => {}
        });
    }
}

/// A loan's publish wakes the subscribers' wakers, and one may send on the
/// same publisher, into the next slot: the loan has ended by then. (It
/// ended only when the published loan dropped: the send panicked on a slot
/// "still lent".) A loan that waker takes and keeps keeps the publisher
/// lent after the publish returns.
#[test]
fn a_waker_may_send_on_the_publisher_whose_loan_woke_it() {
    within_5s(|| {
        let (publisher, mut subscriber) =
            broadcast::Builder::new(4).wait(Wait::Park).build::<u32>();
        let publisher: &'static _ = Box::leak(Box::new(publisher));
        PUBLISHER.set(Some(publisher));
        let waker = Waker::from(Arc::new(PublishesOnWake));
        let mut cx = Context::from_waker(&waker);

        ON_WAKE.set(OnWake::Send);
        {
            let mut future = Box::pin(subscriber.recv_async());
            assert!(future.as_mut().poll(&mut cx).is_pending());
            let mut loan = publisher.loan();
            loan.write(1);
            assert!(loan.publish());
        }
        assert!(matches!(ON_WAKE.take(), OnWake::Sent(true)));
        assert_eq!(*subscriber.try_recv().unwrap(), 1);
        assert_eq!(*subscriber.try_recv().unwrap(), 99);

        ON_WAKE.set(OnWake::Lend);
        {
            let mut future = Box::pin(subscriber.recv_async());
            assert!(future.as_mut().poll(&mut cx).is_pending());
            let mut loan = publisher.loan();
            loan.write(2);
            assert!(loan.publish());
        }
        let OnWake::Lent(mut kept) = ON_WAKE.take() else {
            panic!("the waker took no loan");
        };
        // The kept loan still holds the next slot: a send must not write it.
        let send = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| publisher.try_send(3)));
        assert!(send.is_err(), "a send while the waker's loan is alive");
        kept.write(4);
        assert!(kept.publish());
        publisher.send(5).unwrap();
        let got: Vec<u32> = std::iter::from_fn(|| subscriber.try_recv().ok().map(|m| *m)).collect();
        assert_eq!(got, [2, 4, 5]);
        PUBLISHER.set(None);
    });
}

/// A waker whose `wake` panics.
struct PanicsOnWake;

impl Wake for PanicsOnWake {
    fn wake(self: Arc<Self>) {
        panic!("this waker panics");
    }
}

impl Flag {
    fn woken(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A `wake` that panics does not leave the wakers after it asleep: the
/// notifier wakes every one, then the panic reaches the sender. (The rest
/// left the list unwoken, and their tasks slept for good.) The same when a
/// pub/sub send wakes each subscriber in turn (the later ones get the
/// message too), and when the last publisher leaves.
#[test]
fn a_panicking_wake_does_not_leave_the_others_asleep() {
    /// Polls `future` once with `waker`; it must wait.
    fn park<F: Future>(future: std::pin::Pin<&mut F>, waker: &Waker) {
        assert!(future.poll(&mut Context::from_waker(waker)).is_pending());
    }
    within_5s(|| {
        let panics = Waker::from(Arc::new(PanicsOnWake));
        let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u32>();
        let flag = Arc::new(Flag::default());
        let (mut first, mut second) = (Box::pin(rx.recv_async()), Box::pin(rx.recv_async()));
        park(first.as_mut(), &panics);
        park(second.as_mut(), &Waker::from(flag.clone()));
        let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.send(1)));
        assert!(sent.is_err(), "the waker's panic reaches the sender");
        assert!(flag.woken(), "the second waiter was woken");
        // The message went in: the first future takes it.
        let noop = Waker::from(Arc::new(Noop));
        let polled = first.as_mut().poll(&mut Context::from_waker(&noop));
        assert_eq!(polled, std::task::Poll::Ready(Ok(1)));

        let (publisher, mut a) = pubsub::Builder::new(4).wait(Wait::Park).build::<u32>();
        let mut b = publisher.subscriber();
        a.subscribe("#").unwrap();
        b.subscribe("#").unwrap();
        let flag = Arc::new(Flag::default());
        let (mut first, mut second) = (Box::pin(a.recv_async()), Box::pin(b.recv_async()));
        park(first.as_mut(), &panics);
        park(second.as_mut(), &Waker::from(flag.clone()));
        // A send wakes the first, whose waker panics: the second gets the
        // message all the same (the walk goes on), and is woken.
        let topic = publisher.topic("t").unwrap();
        let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            publisher.send(&topic, 7);
        }));
        assert!(sent.is_err(), "the waker's panic reaches the sender");
        assert!(flag.woken(), "the second subscriber was woken");
        for future in [&mut first, &mut second] {
            let polled = future.as_mut().poll(&mut Context::from_waker(&noop));
            assert!(matches!(polled, std::task::Poll::Ready(Ok(m)) if *m == 7));
        }
        let flag = Arc::new(Flag::default());
        let (mut first, mut second) = (Box::pin(a.recv_async()), Box::pin(b.recv_async()));
        park(first.as_mut(), &panics);
        park(second.as_mut(), &Waker::from(flag.clone()));
        let left = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(publisher)));
        assert!(
            left.is_err(),
            "the waker's panic reaches the dropping thread"
        );
        assert!(flag.woken(), "the second subscriber was woken");
    });
}

/// A waker that, when woken, sends one message through a pub/sub publisher
/// (a run-on-wake executor polling a send task), and says it was woken.
struct PublishesWhenWoken {
    publisher: pubsub::Publisher<u64>,
    topic: std::sync::Mutex<pubsub::Topic<u64>>,
    woken: std::sync::atomic::AtomicBool,
}

impl Wake for PublishesWhenWoken {
    fn wake(self: Arc<Self>) {
        // A `Pending` (the ring full again) is dropped: the message is given up.
        let _ = (self.publisher).try_send(&self.topic.lock().unwrap(), u64::MAX);
        self.woken.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A parked pub/sub subscriber whose re-check (under its `not_empty` lock)
/// takes a message wakes the publishers waiting for room only after the
/// wait: a waiting `send_async` whose waker sends to this subscriber
/// notifies `not_empty`, whose lock that thread would hold. (It woke them
/// under the lock: the subscriber hung within its first few hundred
/// messages.)
/// A race: the re-check must be the attempt that finds the message, so the
/// test runs for two seconds and fails on a stall of two.
#[test]
fn a_send_async_waker_may_publish_to_the_subscriber_that_made_room() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Instant;

    let (publisher, mut subscriber) = pubsub::Builder::new(1).wait(Wait::Park).build::<u64>();
    subscriber.subscribe("#").unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = {
        let received = received.clone();
        thread::spawn(move || {
            while subscriber.recv().is_ok() {
                received.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let sender = {
        let (publisher, stop) = (publisher.clone(), stop.clone());
        thread::spawn(move || {
            let topic = publisher.topic("t").unwrap();
            while !stop.load(Ordering::SeqCst) {
                publisher.send(&topic, 0);
            }
        })
    };
    let waiter = {
        let (publisher, stop) = (publisher.clone(), stop.clone());
        thread::spawn(move || {
            let topic = publisher.topic("t").unwrap();
            while !stop.load(Ordering::SeqCst) {
                let Err(pending) = publisher.try_send(&topic, 0) else {
                    continue;
                };
                let wake = Arc::new(PublishesWhenWoken {
                    publisher: publisher.clone(),
                    topic: std::sync::Mutex::new(publisher.topic("t").unwrap()),
                    woken: AtomicBool::new(false),
                });
                let waker = Waker::from(wake.clone());
                let mut future = Box::pin(pending.send_async());
                if future
                    .as_mut()
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending()
                {
                    // Registered: stay so until woken (or the test ends).
                    while !wake.woken.load(Ordering::SeqCst) && !stop.load(Ordering::SeqCst) {
                        thread::yield_now();
                    }
                }
            }
        })
    };
    drop(publisher);
    let started = Instant::now();
    let (mut last, mut moved) = (0, Instant::now());
    while started.elapsed() < Duration::from_secs(2) {
        thread::sleep(Duration::from_millis(50));
        let now = received.load(Ordering::SeqCst);
        if now != last {
            (last, moved) = (now, Instant::now());
        }
        assert!(
            moved.elapsed() < Duration::from_secs(2),
            "the subscriber stopped receiving after {now} messages: deadlocked in recv"
        );
    }
    // Each thread ends once told to (the subscriber at the disconnect),
    // unless one is deadlocked: then the test fails, leaving them behind.
    stop.store(true, Ordering::SeqCst);
    let threads = [sender, waiter, receiver];
    let stopping = Instant::now();
    while !threads.iter().all(|t| t.is_finished()) {
        assert!(
            stopping.elapsed() < Duration::from_secs(5),
            "deadlocked: a thread did not end (the subscriber had {} messages)",
            received.load(Ordering::SeqCst)
        );
        thread::sleep(Duration::from_millis(10));
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(last > 0);
}
