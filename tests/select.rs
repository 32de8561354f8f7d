//! `select::Select`: receivers of different types at once, fairness under
//! load, timeouts, every wait strategy, no CPU while parked.

use std::thread;
use std::time::{Duration, Instant};

use ringbus::select::{ReadyTimeoutError, Select};
use ringbus::{broadcast, mpmc, pipeline, pubsub, reqrep, spsc, TryRecvError, Wait};

/// Different message types and kinds of receiver in one select.
#[test]
fn every_kind_of_receiver() {
    let (tx, rx) = spsc::channel::<u8>(4);
    let (mtx, mrx) = mpmc::channel::<String>(4);
    let (publisher, mut sub) = broadcast::channel::<f64>(4);
    let (push, pull) = pipeline::channel::<u16>(4);
    let (ps_pub, mut ps_sub) = pubsub::channel::<i64>(4);
    ps_sub.subscribe("#").unwrap();
    let (requester, replier) = reqrep::channel::<u32, u32>(4);

    tx.send(1).unwrap();
    mtx.send("two".into()).unwrap();
    publisher.send(3.0).unwrap();
    push.send(4).unwrap();
    ps_pub.send(&ps_pub.topic("t").unwrap(), 5);
    let client = thread::spawn(move || requester.request(6));
    // Wait for the request to be in the ring.
    while replier.is_empty() {
        thread::yield_now();
    }

    let mut seen = Vec::new();
    {
        let mut sel = Select::new();
        sel.recv(&rx);
        sel.recv(&mrx);
        sel.recv(&sub);
        sel.recv(&pull);
        sel.recv(&ps_sub);
        sel.recv(&replier);
        for _ in 0..6 {
            let i = sel.ready_timeout(Duration::from_secs(5)).unwrap();
            seen.push(i);
            match i {
                0 => assert_eq!(rx.try_recv(), Ok(1)),
                1 => assert_eq!(mrx.try_recv().unwrap(), "two"),
                2 => {} // a subscriber receives with `&mut`: below
                3 => assert_eq!(pull.try_recv(), Ok(4)),
                4 => {} // likewise
                5 => replier.try_recv().unwrap().reply(60).unwrap(),
                _ => unreachable!(),
            }
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3, 4, 5]);
    assert_eq!(*sub.try_recv().unwrap(), 3.0);
    assert_eq!(*ps_sub.try_recv().unwrap(), 5);
    assert_eq!(client.join().unwrap(), Ok(60));
}

/// With both receivers always ready, a select alternates between them.
#[test]
fn fair_when_both_are_ready() {
    let (tx_a, rx_a) = spsc::channel::<u32>(256);
    let (tx_b, rx_b) = spsc::channel::<u32>(256);
    for i in 0..200 {
        tx_a.send(i).unwrap();
        tx_b.send(i).unwrap();
    }
    let mut sel = Select::new();
    let a = sel.recv(&rx_a);
    let b = sel.recv(&rx_b);
    let mut counts = [0usize; 2];
    for _ in 0..200 {
        let i = sel.ready();
        if i == a {
            rx_a.try_recv().unwrap();
        } else {
            assert_eq!(i, b);
            rx_b.try_recv().unwrap();
        }
        counts[i] += 1;
    }
    assert_eq!(counts, [100, 100]);
}

/// A busy first receiver (its producer keeps it full all the time) does not
/// starve a second that gets a message now and then: every one of the
/// second's messages is selected, promptly.
#[test]
fn busy_endpoint_does_not_starve_the_other() {
    let (tx_busy, rx_busy) = mpmc::Builder::new(64).wait(Wait::Park).build::<u64>();
    let (tx_slow, rx_slow) = mpmc::Builder::new(64).wait(Wait::Park).build::<Instant>();
    let busy = thread::spawn(move || {
        let mut i = 0;
        while tx_busy.send(i).is_ok() {
            i += 1;
        }
    });
    let slow = thread::spawn(move || {
        for _ in 0..50 {
            thread::sleep(Duration::from_millis(2));
            tx_slow.send(Instant::now()).unwrap();
        }
    });
    let mut sel = Select::new();
    let b = sel.recv(&rx_busy);
    let s = sel.recv(&rx_slow);
    let (mut slow_seen, mut busy_seen) = (0, 0u64);
    let mut worst = Duration::ZERO;
    let start = Instant::now();
    while slow_seen < 50 {
        assert!(start.elapsed() < Duration::from_secs(20), "starved");
        let i = sel.ready_timeout(Duration::from_secs(5)).unwrap();
        if i == b {
            if rx_busy.try_recv().is_ok() {
                busy_seen += 1;
            }
        } else {
            assert_eq!(i, s);
            let sent = rx_slow.try_recv().unwrap();
            worst = worst.max(sent.elapsed());
            slow_seen += 1;
        }
    }
    drop(sel);
    drop(rx_busy);
    busy.join().unwrap();
    slow.join().unwrap();
    assert!(busy_seen > 0);
    // With the rotation, a ready slow message waits at most one busy
    // receive; allow a lot for a loaded 2-core machine.
    assert!(worst < Duration::from_millis(500), "worst wait {worst:?}");
}

/// Timeouts: nothing ready returns the error after about the timeout.
#[test]
fn timeout_when_nothing_comes() {
    for wait in [Wait::Spin, Wait::Yield, Wait::Backoff, Wait::Park] {
        let (_tx, rx) = mpmc::Builder::new(4).wait(wait).build::<u8>();
        let (_p, sub) = broadcast::Builder::new(4).wait(wait).build::<u8>();
        let mut sel = Select::new();
        sel.recv(&rx);
        sel.recv(&sub);
        let start = Instant::now();
        assert_eq!(
            sel.ready_timeout(Duration::from_millis(20)),
            Err(ReadyTimeoutError)
        );
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(20), "{wait:?} {took:?}");
        assert!(took < Duration::from_secs(2), "{wait:?} {took:?}");
    }
}

/// Every wait strategy: a message from another thread wakes the select.
#[test]
fn woken_by_another_thread_with_every_strategy() {
    for wait in [Wait::Spin, Wait::Yield, Wait::Backoff, Wait::Park] {
        let (tx_a, rx_a) = spsc::Builder::new(4).wait(wait).build::<u8>();
        let (tx_b, rx_b) = mpmc::Builder::new(4).wait(wait).build::<u8>();
        let feeder = thread::spawn(move || {
            for i in 0..100 {
                thread::sleep(Duration::from_micros(200));
                if i % 2 == 0 {
                    tx_a.send(i).unwrap();
                } else {
                    tx_b.send(i).unwrap();
                }
            }
            (tx_a, tx_b)
        });
        let mut sel = Select::new();
        sel.recv(&rx_a);
        sel.recv(&rx_b);
        let mut got = 0;
        while got < 100 {
            match sel.ready_timeout(Duration::from_secs(5)).unwrap() {
                0 => got += usize::from(rx_a.try_recv().is_ok()),
                _ => got += usize::from(rx_b.try_recv().is_ok()),
            }
        }
        drop(sel);
        drop(feeder.join().unwrap());
    }
}

/// A receiver whose senders are gone is ready (its `try_recv` says
/// `Disconnected` at once).
#[test]
fn disconnection_is_ready() {
    let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u8>();
    let (_keep, other) = spsc::Builder::new(4).wait(Wait::Park).build::<u8>();
    let mut sel = Select::new();
    sel.recv(&other);
    let i = sel.recv(&rx);
    thread::spawn(move || {
        thread::sleep(Duration::from_millis(10));
        drop(tx);
    });
    assert_eq!(sel.ready_timeout(Duration::from_secs(5)), Ok(i));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// With `Park`, a select waiting on idle receivers uses no CPU.
#[cfg(target_os = "linux")]
#[test]
fn parked_select_uses_no_cpu() {
    fn thread_cpu() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a valid timespec to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
    let (_tx_a, rx_a) = spsc::Builder::new(4).wait(Wait::Park).build::<u8>();
    let (_tx_b, rx_b) = mpmc::Builder::new(4).wait(Wait::Park).build::<u8>();
    let mut sel = Select::new();
    sel.recv(&rx_a);
    sel.recv(&rx_b);
    let before = thread_cpu();
    assert!(sel.ready_timeout(Duration::from_millis(300)).is_err());
    let used = thread_cpu() - before;
    assert!(
        used < Duration::from_millis(30),
        "used {used:?} of CPU in 300 ms"
    );
}

/// A lossy subscriber can be selected on with the other receivers (an
/// acceptance check found it could not): ready when a message, a lag or
/// the publisher's departure waits.
#[test]
fn lossy_subscriber_in_a_select() {
    use ringbus::broadcast::lossy;

    let (publisher, mut ticks) = lossy::Builder::new(2).wait(Wait::Park).build::<u32>();
    let (tx, jobs) = mpmc::Builder::new(4).wait(Wait::Park).build::<u8>();
    let feed = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        for i in 0..5 {
            publisher.send(i).unwrap(); // laps the ring of 2
        }
        publisher
    });
    let ready = {
        let mut sel = Select::new();
        let t = sel.recv(&ticks);
        sel.recv(&jobs);
        assert_eq!(sel.ready(), t);
        t
    };
    assert_eq!(ready, 0);
    let publisher = feed.join().unwrap();
    // Whatever the select saw first, the lag is reported once, exactly.
    let mut seen = Vec::new();
    let mut missed = 0;
    loop {
        match ticks.try_recv() {
            Ok(value) => seen.push(value),
            Err(lossy::TryRecvError::Lagged(n)) => missed += n,
            Err(_) => break,
        }
    }
    assert_eq!(seen, [3, 4]);
    assert_eq!(missed, 3);
    drop(publisher);
    let mut sel = Select::new();
    let t = sel.recv(&ticks);
    assert_eq!(
        sel.ready_timeout(Duration::from_secs(5)),
        Ok(t),
        "the publisher left"
    );
    drop(tx);
}
