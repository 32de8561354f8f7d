//! The bus: names, types, patterns, connection order, clean-up.

use std::thread;
use std::time::Duration;

use ringbus::bus::{BusError, Pattern};
use ringbus::pubsub::SubscriberOptions;
use ringbus::{pipeline, Bus, RecvTimeoutError, TryRecvError};

#[test]
fn pipeline_connects_in_either_order() {
    let bus = Bus::new();
    // Pusher first: buffered until a puller comes.
    let push = bus.pusher::<u32>("a").unwrap();
    push.send(1).unwrap();
    let pull = bus.puller::<u32>("a").unwrap();
    assert_eq!(pull.recv(), Ok(1));

    // Puller first: it waits, it is not disconnected.
    let pull = bus.puller::<u32>("b").unwrap();
    assert_eq!(pull.try_recv(), Err(TryRecvError::Empty));
    let push = bus.pusher::<u32>("b").unwrap();
    push.send(2).unwrap();
    assert_eq!(pull.recv(), Ok(2));
}

#[test]
fn pipeline_disconnects_once_the_connected_side_leaves_and_revives() {
    let bus = Bus::new();
    let pull = bus.puller::<u32>("jobs").unwrap();
    let push = bus.pusher::<u32>("jobs").unwrap();
    push.send(1).unwrap();
    drop(push);
    assert_eq!(pull.recv(), Ok(1));
    assert_eq!(
        pull.recv_timeout(Duration::from_millis(10)),
        Err(RecvTimeoutError::Disconnected)
    );
    // A new pusher on the same, still-alive endpoint reconnects it.
    let push = bus.pusher::<u32>("jobs").unwrap();
    push.send(2).unwrap();
    assert_eq!(pull.recv(), Ok(2));
}

#[test]
fn a_blocked_puller_wakes_when_the_first_pusher_connects_later() {
    let bus = Bus::builder().wait(ringbus::Wait::Park).build();
    let pull = bus.puller::<u64>("late").unwrap();
    let other = bus.clone();
    let pusher = thread::spawn(move || {
        thread::sleep(Duration::from_millis(20));
        other.pusher::<u64>("late").unwrap().send(9).unwrap();
    });
    assert_eq!(pull.recv(), Ok(9));
    pusher.join().unwrap();
}

#[test]
fn pubsub_connects_in_either_order_without_slow_joiner_loss() {
    let bus = Bus::new();
    // Subscriber first.
    let mut early = bus.subscriber::<u64>("md").unwrap();
    early.subscribe("md.#").unwrap();
    let publisher = bus.publisher::<u64>("md").unwrap();
    let topic = publisher.topic("md.XNAS.AAPL").unwrap();
    publisher.send(&topic, 1);
    // A subscriber made (and subscribed) after the publisher sees what is
    // published after that, and nothing before.
    let mut late = bus.subscriber::<u64>("md").unwrap();
    late.subscribe("md.*.AAPL").unwrap();
    publisher.send(&topic, 2);
    assert_eq!(*early.recv().unwrap().payload(), 1);
    assert_eq!(*early.recv().unwrap().payload(), 2);
    let message = late.recv().unwrap();
    assert_eq!((message.topic(), *message.payload()), ("md.XNAS.AAPL", 2));
    assert!(late.try_recv().is_err());
}

#[test]
fn reqrep_connects_in_either_order() {
    let bus = Bus::new();
    let replier = bus.replier::<u32, u32>("double").unwrap();
    let requester = bus.requester::<u32, u32>("double").unwrap();
    let server = thread::spawn(move || {
        for _ in 0..2 {
            let request = replier.recv().unwrap();
            let x = *request.payload();
            request.reply(2 * x).unwrap();
        }
    });
    assert_eq!(requester.request(4).unwrap(), 8);
    // Requester first on another endpoint.
    let requester2 = bus.requester::<u32, u32>("triple").unwrap();
    let replier2 = bus.replier::<u32, u32>("triple").unwrap();
    let server2 = thread::spawn(move || {
        let request = replier2.recv().unwrap();
        let x = *request.payload();
        request.reply(3 * x).unwrap();
    });
    assert_eq!(requester2.request(5).unwrap(), 15);
    assert_eq!(requester.request(6).unwrap(), 12);
    server.join().unwrap();
    server2.join().unwrap();
}

#[test]
fn requester_whose_replier_left_gets_an_error() {
    let bus = Bus::new();
    let requester = bus.requester::<u32, u32>("svc").unwrap();
    let replier = bus.replier::<u32, u32>("svc").unwrap();
    drop(replier);
    assert!(requester
        .request_timeout(1, Duration::from_secs(5))
        .is_err());
}

#[test]
fn type_mismatch_names_both_types() {
    let bus = Bus::new();
    let _push = bus.pusher::<u32>("jobs").unwrap();
    let err = bus.puller::<String>("jobs").unwrap_err();
    assert_eq!(
        err,
        BusError::TypeMismatch {
            name: "jobs".into(),
            expected: "alloc::string::String",
            found: "u32",
        }
    );
    assert!(err.to_string().contains("u32"));
    assert!(err.to_string().contains("String"));

    let _rep = bus.replier::<u8, u16>("svc").unwrap();
    let err = bus.requester::<u8, u32>("svc").unwrap_err();
    assert!(matches!(
        err,
        BusError::TypeMismatch {
            expected: "(u8, u32)",
            found: "(u8, u16)",
            ..
        }
    ));
}

/// Two closures in one function are distinct types with one `type_name`:
/// the error must still name them apart instead of "carries X, not X".
#[test]
fn type_mismatch_between_types_of_one_name_names_them_apart() {
    fn pusher_of<T: Send + 'static>(bus: &Bus, _: &T) -> Result<pipeline::Pusher<T>, BusError> {
        bus.pusher::<T>("jobs")
    }
    let bus = Bus::new();
    let (first, second) = (|| 1, || 2);
    let _keep = pusher_of(&bus, &first).unwrap();
    for _ in 0..2 {
        let err = pusher_of(&bus, &second).unwrap_err();
        let BusError::TypeMismatch {
            expected, found, ..
        } = &err
        else {
            panic!("expected TypeMismatch, got {err:?}");
        };
        assert_ne!(expected, found, "{err}");
        assert!(found.ends_with("(distinct type #1 of this name)"), "{err}");
        assert!(
            expected.ends_with("(distinct type #2 of this name)"),
            "{err}"
        );
        assert!(found.starts_with("bus::"), "{err}");
    }
    // Asked the other way round, each type keeps its label.
    let bus = Bus::new();
    let _keep = pusher_of(&bus, &second).unwrap();
    let err = pusher_of(&bus, &first).unwrap_err();
    assert!(
        matches!(&err, BusError::TypeMismatch { expected, found, .. }
            if expected.ends_with("#1 of this name)") && found.ends_with("#2 of this name)")),
        "{err}"
    );
}

#[test]
fn pattern_mismatch_names_both_patterns() {
    let bus = Bus::new();
    let _publisher = bus.publisher::<u32>("md").unwrap();
    for (err, expected) in [
        (bus.pusher::<u32>("md").unwrap_err(), Pattern::Pipeline),
        (bus.puller::<u32>("md").unwrap_err(), Pattern::Pipeline),
        (
            bus.requester::<u32, u32>("md").unwrap_err(),
            Pattern::ReqRep,
        ),
        (bus.replier::<u32, u32>("md").unwrap_err(), Pattern::ReqRep),
    ] {
        assert_eq!(
            err,
            BusError::PatternMismatch {
                name: "md".into(),
                expected,
                found: Pattern::PubSub,
            }
        );
        let text = err.to_string();
        assert!(text.contains("pub/sub") && text.contains(&expected.to_string()));
    }
    // A mismatch in both: the pattern is reported.
    assert!(matches!(
        bus.puller::<String>("md"),
        Err(BusError::PatternMismatch { .. })
    ));
}

#[test]
fn bad_names_are_errors_not_panics() {
    let bus = Bus::new();
    let long = "n".repeat(256);
    for name in [
        "",
        "inproc://",
        " ",
        "a b",
        "new\nline",
        "nul\0",
        "ünïcode",
        "star*",
        long.as_str(),
    ] {
        assert!(
            matches!(bus.pusher::<u8>(name), Err(BusError::InvalidName { .. })),
            "{name:?}"
        );
        assert!(matches!(
            bus.subscriber::<u8>(name),
            Err(BusError::InvalidName { .. })
        ));
        assert!(matches!(
            bus.requester::<u8, u8>(name),
            Err(BusError::InvalidName { .. })
        ));
    }
    // The inproc:// prefix names the same endpoint.
    let push = bus.pusher::<u8>("inproc://jobs").unwrap();
    let pull = bus.puller::<u8>("jobs").unwrap();
    push.send(3).unwrap();
    assert_eq!(pull.recv(), Ok(3));
}

/// The audit's finding 5: `inproc://` was stripped once, so
/// `"inproc://inproc://md"` made the key `"inproc://md"`, which
/// `endpoints()` listed but which, passed back, named `"md"`.
#[test]
fn a_listed_name_leads_back_to_its_endpoint() {
    let bus = Bus::new();
    for name in ["inproc://inproc://md", "tcp://md", "a://b"] {
        assert!(
            matches!(bus.pusher::<u8>(name), Err(BusError::InvalidName { .. })),
            "{name:?}"
        );
    }
    assert!(bus.endpoints().is_empty());

    let push = bus.pusher::<u8>("inproc://a:/b").unwrap();
    let listed = bus.endpoints();
    assert_eq!(listed, vec![("a:/b".into(), Pattern::Pipeline, "u8")]);
    let pull = bus.puller::<u8>(&listed[0].0).unwrap();
    push.send(7).unwrap();
    assert_eq!(pull.try_recv(), Ok(7));
    assert_eq!(bus.endpoints().len(), 1);
}

/// Whether `err` is `BusError::Capacity` for endpoint `name` and
/// `capacity`, with a message that names both.
fn is_capacity_error(err: &BusError, name: &str, capacity: usize) -> bool {
    let text = err.to_string();
    matches!(err, BusError::Capacity { name: n, capacity: c, .. } if n == name && *c == capacity)
        && text.contains(&format!("{name:?}"))
        && text.contains(&capacity.to_string())
}

/// One attempt at each handle whose creation builds a ring, on endpoints
/// "a" (pipeline), "b" (pub/sub: a subscriber; a publisher holds no ring)
/// and "c" (request/reply). The tests that use it pick capacities for
/// 64-bit slot sizes.
#[cfg(target_pointer_width = "64")]
fn ring_handles(bus: &Bus) -> Vec<(&'static str, Result<(), BusError>)> {
    vec![
        ("a", bus.pusher::<u8>("a").map(drop)),
        ("a", bus.puller::<u8>("a").map(drop)),
        ("b", bus.subscriber::<u8>("b").map(drop)),
        ("c", bus.requester::<u8, u8>("c").map(drop)),
        ("c", bus.replier::<u8, u8>("c").map(drop)),
    ]
}

/// The audit's finding 4a: `subscriber_with` and a capacity of 0 (or one
/// too large for a ring of the messages) panicked, although it returns a
/// `Result`.
#[test]
fn a_subscriber_capacity_that_makes_no_ring_is_an_error() {
    let bus = Bus::new();
    let publisher = bus.publisher::<u32>("md").unwrap();
    // 2^(BITS - 3) slots of 8 bytes or more: past `usize` on any target.
    for capacity in [0, 1 << (usize::BITS - 3), usize::MAX] {
        let options = SubscriberOptions::new().capacity(capacity);
        let err = bus
            .subscriber_with::<u32>("inproc://md", options)
            .unwrap_err();
        assert!(is_capacity_error(&err, "md", capacity), "{err}");
    }
    // The endpoint is unharmed; a wrong type is still reported as such (the
    // type is checked before the capacity).
    assert_eq!(publisher.subscriber_count(), 0);
    assert!(matches!(
        bus.subscriber_with::<u8>("md", SubscriberOptions::new().capacity(0)),
        Err(BusError::TypeMismatch { .. })
    ));
    let options = SubscriberOptions::new().capacity(2);
    let mut subscriber = bus.subscriber_with::<u32>("md", options).unwrap();
    subscriber.subscribe("#").unwrap();
    assert_eq!(publisher.send(&publisher.topic("t").unwrap(), 5), 1);
    assert_eq!(*subscriber.recv().unwrap(), 5);
    // On a new name, the failed attempt leaves no endpoint behind.
    let options = SubscriberOptions::new().capacity(0);
    assert!(bus.subscriber_with::<u32>("fresh", options).is_err());
    assert_eq!(bus.endpoints(), vec![("md".into(), Pattern::PubSub, "u32")]);
}

/// The audit's finding 4b: `Builder::build` checked the capacity with an
/// 8-byte slot, so a capacity too large for the rings' real slots built,
/// and then every handle creation panicked inside the registry; and a
/// capacity of 0 panicked in `build`. Now `build` accepts any capacity and
/// each endpoint creation checks it with its own slot sizes.
#[cfg(target_pointer_width = "64")]
#[test]
fn a_bus_capacity_that_makes_no_ring_is_an_error_at_every_endpoint() {
    // 2^59 slots of 16 bytes or more exceed isize::MAX bytes: no pattern
    // can use it.
    let capacity = 1 << 59;
    let bus = Bus::builder().capacity(capacity).build();
    let mut errors = ring_handles(&bus);
    errors.push(("b", bus.publisher::<u8>("b").map(drop)));
    for (name, result) in errors {
        let err = result.unwrap_err();
        assert!(is_capacity_error(&err, name, capacity), "{err}");
    }
    assert!(bus.endpoints().is_empty());

    // 2^58 fits a pipeline's 16-byte slots but not a subscriber ring's
    // 32-byte ones: the pub/sub endpoint refuses it when it is created,
    // publishers included, instead of every subscriber panicking later.
    let capacity = 1 << 58;
    let bus = Bus::builder().capacity(capacity).build();
    for (name, result) in [
        ("md", bus.publisher::<u8>("md").map(drop)),
        ("md", bus.subscriber::<u8>("md").map(drop)),
        (
            "md",
            bus.subscriber_with::<u8>("md", SubscriberOptions::new().capacity(4))
                .map(drop),
        ),
    ] {
        let err = result.unwrap_err();
        assert!(is_capacity_error(&err, name, capacity), "{err}");
    }
    assert!(bus.endpoints().is_empty());

    // 0 no longer panics in `build`; every endpoint says why it cannot be.
    let bus = Bus::builder().capacity(0).build();
    for (name, result) in [
        ("a", bus.pusher::<u8>("a").map(drop)),
        ("b", bus.subscriber::<u8>("b").map(drop)),
        ("c", bus.replier::<u8, u8>("c").map(drop)),
    ] {
        let err = result.unwrap_err();
        assert!(is_capacity_error(&err, name, 0), "{err}");
        assert!(err.to_string().contains("greater than 0"), "{err}");
    }
    // The registry is fine (nothing panicked under its lock).
    assert!(bus.endpoints().is_empty());
}

/// An acceptance check found that a `Topic` outliving its endpoint kept
/// the unread messages of the endpoint's gone subscribers alive (their
/// `Drop` ran only when the topic did), although the bus had freed the
/// endpoint.
#[test]
fn unread_messages_go_with_their_endpoint_even_while_a_topic_lives() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Clone)]
    struct Counted(Arc<AtomicUsize>);
    impl Drop for Counted {
        fn drop(&mut self) {
            // Relaxed: a drop counter, read on the dropping thread.
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let bus = Bus::new();
    let publisher = bus.publisher::<Counted>("md").unwrap();
    let mut subscriber = bus.subscriber::<Counted>("md").unwrap();
    subscriber.subscribe("#").unwrap();
    let topic = publisher.topic("t").unwrap();
    for _ in 0..3 {
        assert_eq!(publisher.send(&topic, Counted(drops.clone())), 1);
    }
    drop((publisher, subscriber));
    assert!(bus.endpoints().is_empty());
    // Relaxed: same thread as the drops.
    assert_eq!(drops.load(Ordering::Relaxed), 3);
    drop(topic);
    // Relaxed: as above; nothing is dropped twice.
    assert_eq!(drops.load(Ordering::Relaxed), 3);
}

/// An acceptance check found that a capacity small enough to pass the
/// size checks but far larger than memory (`1 << 40`: 16 TiB of slots)
/// aborted the process in the ring's infallible allocation. The rings are
/// now allocated fallibly, and the bus answers with `BusError::Capacity`.
/// (`1 << 55` slots of 16 bytes or more exceed any address space, so the
/// allocator refuses them whatever its overcommit policy.)
#[cfg(target_pointer_width = "64")]
#[test]
fn a_capacity_larger_than_memory_is_an_error_not_an_abort() {
    let capacity = 1 << 55;
    let bus = Bus::builder().capacity(capacity).build();
    for (name, result) in ring_handles(&bus) {
        let err = result.unwrap_err();
        assert!(is_capacity_error(&err, name, capacity), "{err}");
        assert!(err.to_string().contains("allocator refused"), "{err}");
    }
    assert!(bus.endpoints().is_empty());

    // A publisher holds no ring; its subscribers' rings are refused one by
    // one, and a subscriber asking for a ring that fits still gets it.
    let publisher = bus.publisher::<u8>("md").unwrap();
    let err = bus.subscriber::<u8>("md").map(drop).unwrap_err();
    assert!(is_capacity_error(&err, "md", capacity), "{err}");
    let options = SubscriberOptions::new().capacity(4);
    let mut subscriber = bus.subscriber_with::<u8>("md", options).unwrap();
    subscriber.subscribe("#").unwrap();
    assert_eq!(publisher.send(&publisher.topic("t").unwrap(), 9), 1);
    assert_eq!(*subscriber.recv().unwrap(), 9);

    // The publisher's own `subscriber()` has no error to answer with: it
    // panics, as its `# Panics` says, and the endpoint goes on as before.
    let minted = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| publisher.subscriber()));
    let panic = minted.map(drop).unwrap_err();
    let message = panic.downcast_ref::<String>().expect("a formatted panic");
    assert!(message.contains("cannot allocate"), "{message}");
    assert_eq!(publisher.send(&publisher.topic("t").unwrap(), 10), 1);
    assert_eq!(*subscriber.recv().unwrap(), 10);
}

#[test]
fn endpoint_is_cleaned_up_when_its_handles_are_gone() {
    let bus = Bus::new();
    let push = bus.pusher::<u32>("x").unwrap();
    let pull = bus.puller::<u32>("x").unwrap();
    push.send(1).unwrap();
    assert_eq!(
        bus.endpoints(),
        vec![("x".into(), Pattern::Pipeline, "u32")]
    );
    drop(push);
    assert_eq!(bus.endpoints().len(), 1, "a puller still holds it");
    drop(pull);
    assert!(bus.endpoints().is_empty());
    // The name is free again, for any pattern and type.
    let _publisher = bus.publisher::<String>("x").unwrap();
    assert_eq!(
        bus.endpoints(),
        vec![("x".into(), Pattern::PubSub, "alloc::string::String")]
    );
}

/// The audit's finding 3: a `Topic` held its endpoint, so after every
/// publisher and subscriber was gone the bus still listed the name and kept
/// it for its pattern and type until the topic dropped.
#[test]
fn a_lingering_topic_does_not_keep_its_endpoint() {
    let bus = Bus::new();
    let publisher = bus.publisher::<u32>("md").unwrap();
    let mut subscriber = bus.subscriber::<u32>("md").unwrap();
    subscriber.subscribe("#").unwrap();
    let topic = publisher.topic("t").unwrap();
    assert_eq!(publisher.send(&topic, 1), 1);
    drop((publisher, subscriber));
    assert!(bus.endpoints().is_empty());
    assert!(bus.stats().is_empty());
    // The name is free for any pattern and type.
    let push = bus.pusher::<u32>("md").unwrap();
    assert_eq!(
        bus.endpoints(),
        vec![("md".into(), Pattern::Pipeline, "u32")]
    );
    drop(push);
    // The topic still works, through the publisher of a new endpoint.
    let publisher = bus.publisher::<u32>("md").unwrap();
    let mut subscriber = bus.subscriber::<u32>("md").unwrap();
    subscriber.subscribe("#").unwrap();
    assert_eq!(publisher.send(&topic, 2), 1);
    let message = subscriber.recv().unwrap();
    assert_eq!((message.topic(), *message.payload()), ("t", 2));
}

#[test]
fn unread_messages_are_dropped_with_the_endpoint() {
    let probe = std::sync::Arc::new(());
    let bus = Bus::new();
    let push = bus.pusher::<std::sync::Arc<()>>("x").unwrap();
    push.send(probe.clone()).unwrap();
    push.send(probe.clone()).unwrap();
    assert_eq!(std::sync::Arc::strong_count(&probe), 3);
    drop(push);
    assert_eq!(std::sync::Arc::strong_count(&probe), 1);
}

#[test]
fn clones_share_endpoints_across_threads() {
    let bus = Bus::new();
    // The puller keeps the endpoint alive even if every pusher is done
    // before it reads (an endpoint with no handle left is freed). Every
    // pusher connects before any sends: a pusher that finished and dropped
    // while the others had not connected yet would disconnect the side for a
    // moment, and the puller would see the end of the stream.
    let pull = bus.puller::<u64>("fan-in").unwrap();
    let connected = std::sync::Arc::new(std::sync::Barrier::new(4));
    let handles: Vec<_> = (0..4u64)
        .map(|i| {
            let bus = bus.clone();
            let connected = connected.clone();
            thread::spawn(move || {
                let push = bus.pusher::<u64>("fan-in").unwrap();
                connected.wait();
                for j in 0..1000 {
                    push.send(i * 1000 + j).unwrap();
                }
            })
        })
        .collect();
    let mut seen = vec![false; 4000];
    for _ in 0..4000 {
        let v = pull.recv().unwrap() as usize;
        assert!(!seen[v], "duplicate {v}");
        seen[v] = true;
    }
    for h in handles {
        h.join().unwrap();
    }
    assert!(seen.iter().all(|&s| s));
    assert_eq!(pull.recv(), Err(ringbus::RecvError), "every pusher is gone");
}
