//! Property tests of pubsub matching: random patterns, prefixes and topics
//! over a small alphabet (so that empty words, trailing dots, `*` and `#` at
//! either end all come up) agree with a plain recursive reference matcher;
//! and random subscribe/unsubscribe sequences route exactly as a model set
//! of filters says.

use proptest::prelude::*;
use ringbus::pubsub;

/// The words of a topic or pattern: none for `""`, else split on `.`.
fn words(s: &str) -> Vec<&str> {
    if s.is_empty() {
        Vec::new()
    } else {
        s.split('.').collect()
    }
}

/// The reference: RabbitMQ's topic matching, by definition.
fn reference(pattern: &[&str], topic: &[&str]) -> bool {
    match pattern.split_first() {
        None => topic.is_empty(),
        Some((&"#", rest)) => (0..=topic.len()).any(|k| reference(rest, &topic[k..])),
        Some((&"*", rest)) => !topic.is_empty() && reference(rest, &topic[1..]),
        Some((word, rest)) => topic.first() == Some(word) && reference(rest, &topic[1..]),
    }
}

fn word() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just("a"), Just("b"), Just(""), Just("ab")]
}

fn pattern_word() -> impl Strategy<Value = &'static str> {
    prop_oneof![3 => word(), 1 => Just("*"), 1 => Just("#")]
}

/// Joins 0..5 words; 0 words is the empty string.
fn joined(w: impl Strategy<Value = &'static str>) -> impl Strategy<Value = String> {
    prop::collection::vec(w, 0..5).prop_map(|ws| ws.join("."))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn patterns_match_like_the_reference(
        patterns in prop::collection::vec(joined(pattern_word()), 1..4),
        topics in prop::collection::vec(joined(word()), 1..8),
    ) {
        let (publisher, mut subscriber) = pubsub::channel::<u8>(16);
        for p in &patterns {
            subscriber.subscribe(p).unwrap();
        }
        for t in &topics {
            let expected = patterns.iter().any(|p| reference(&words(p), &words(t)));
            let topic = publisher.topic(t).unwrap();
            prop_assert_eq!(publisher.send(&topic, 0), usize::from(expected), "{:?} ~ {:?}", patterns, t);
            prop_assert_eq!(subscriber.try_iter().count(), usize::from(expected));
        }
    }

    #[test]
    fn prefixes_match_like_starts_with(
        prefixes in prop::collection::vec("[ab.]{0,4}", 1..4),
        topics in prop::collection::vec("[ab.]{0,6}", 1..8),
    ) {
        let (publisher, mut subscriber) = pubsub::channel::<u8>(16);
        for p in &prefixes {
            subscriber.subscribe_prefix(p);
        }
        for t in &topics {
            let expected = prefixes.iter().any(|p| t.starts_with(p.as_str()));
            let topic = publisher.topic(t).unwrap();
            prop_assert_eq!(publisher.send(&topic, 0), usize::from(expected), "{:?} ~ {:?}", prefixes, t);
            subscriber.try_iter().for_each(drop);
        }
    }

    #[test]
    fn subscription_changes_route_like_a_model(
        ops in prop::collection::vec((any::<bool>(), joined(pattern_word()), joined(word())), 1..40),
    ) {
        // Each op subscribes or unsubscribes a pattern, then sends to a
        // topic: the subscriber gets it exactly when some pattern of the
        // model set matches, including messages already in flight.
        let (publisher, mut subscriber) = pubsub::channel::<u8>(64);
        let topic_cache: Vec<_> = ops.iter().map(|(_, _, t)| publisher.topic(t).unwrap()).collect();
        let mut model: Vec<String> = Vec::new();
        for ((add, pattern, _), topic) in ops.iter().zip(&topic_cache) {
            let normal = |p: &str| {
                let mut p = p.to_owned();
                while p.contains("#.#") {
                    p = p.replace("#.#", "#");
                }
                p
            };
            if *add {
                let new = subscriber.subscribe(pattern).unwrap();
                let was = model.iter().any(|m| normal(m) == normal(pattern));
                if !was {
                    model.push(pattern.clone());
                }
                prop_assert_eq!(new, !was);
            } else {
                let removed = subscriber.unsubscribe(pattern).unwrap();
                let before = model.len();
                model.retain(|m| normal(m) != normal(pattern));
                prop_assert_eq!(removed, before != model.len());
            }
            let expected = model.iter().any(|p| reference(&words(p), &words(topic.name())));
            prop_assert_eq!(publisher.send(topic, 0), usize::from(expected));
            prop_assert_eq!(subscriber.try_iter().count(), usize::from(expected));
        }
    }
}
