//! Topic filters: ZeroMQ byte prefixes and RabbitMQ topic-exchange patterns,
//! held per subscriber so that matching one topic does not try the filters
//! one by one: in the common case it costs the same with ten filters or ten
//! thousand.
//!
//! # Words
//!
//! A topic or a pattern is a list of **words** separated by `.`. The empty
//! string has no word; otherwise every `.` separates two words, which may be
//! empty: `"a..b"` is `["a", "", "b"]`, `"a."` is `["a", ""]`, `"."` is
//! `["", ""]`. In a pattern, the word `*` matches exactly one word (an empty
//! one too) and the word `#` matches zero or more words; every other word
//! matches itself only. `*` or `#` inside a longer word (`"md.a*"`, `"##"`) is
//! a [`FilterError::MixedWildcard`]. `"#.#"` means the same as `"#"` and is
//! stored as `"#"`.
//!
//! # Cost
//!
//! - Prefixes sit in a hash set of byte strings, beside a count of the
//!   prefixes of each length. A topic of `n` bytes asks the set one question
//!   (is `topic[..len]` a prefix?) per distinct prefix length `len <= n`, so
//!   it hashes at most the sum of those lengths, however many prefixes share
//!   them. Removing the last prefix of a length drops the length.
//! - Patterns sit in a trie of words (RabbitMQ's topic trie). Matching runs
//!   it as a nondeterministic automaton, word by word, with no recursion and
//!   no backtracking: it keeps the set of trie nodes the words so far lead
//!   to, each node at most once, and moves each along the next word (one
//!   hash lookup for the literal child, plus the `*` child). A node reached
//!   by `#` stays in the set (it swallows the word), and reaching a node
//!   with a `#` child adds that child too (`#` matching zero words); a `#`
//!   that ends a pattern matches as soon as it is reached. So a topic of `w`
//!   words costs `O(w × nodes)` moves at worst, each hashing one word, and
//!   in the common case (no `#`, few `*`) one or a few per word, however
//!   many patterns there are.
//!
//! Matching allocates nothing unless more than [`INLINE`] nodes of one kind
//! (`#` or not) are in the set at once; then it allocates scratch memory
//! sized to the trie for that call. That is allowed because matching is off
//! the per-message path: a publisher matches when it recomputes a topic's
//! route, a subscriber only for a message routed before its last
//! unsubscription. Adding a filter may allocate.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::error::Error;
use std::fmt;

/// A topic or filter that cannot be used.
///
/// ```
/// use ringbus::pubsub::{self, FilterError};
///
/// let (publisher, mut subscriber) = pubsub::channel::<u8>(8);
/// assert_eq!(subscriber.subscribe("md.a*"), Err(FilterError::MixedWildcard { word: 1 }));
/// assert!(publisher.topic("md.*").is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterError {
    /// A pattern's word holds `*` or `#` beside other characters (`"md.a*"`,
    /// `"a.##"`): a wildcard must be a whole word. `word` counts from 0.
    MixedWildcard {
        /// The index of the offending word.
        word: usize,
    },
    /// A topic holds `*` or `#`: topics are concrete names, wildcards belong
    /// in filters. `byte` is the offset of the first one.
    WildcardInTopic {
        /// The byte offset of the first wildcard character.
        byte: usize,
    },
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FilterError::MixedWildcard { word } => write!(
                f,
                "malformed topic pattern: word {word} mixes `*` or `#` with other characters"
            ),
            FilterError::WildcardInTopic { byte } => {
                write!(f, "invalid topic: wildcard `*` or `#` at byte {byte}")
            }
        }
    }
}

impl Error for FilterError {}

/// The first word of `rest` and what follows it (`None`: no word left).
#[inline]
fn split(rest: &str) -> (&str, Option<&str>) {
    match rest.find('.') {
        Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
        None => (rest, None),
    }
}

/// The words of `s`, as the `rest` argument of [`split`]: `None` for the
/// empty string, which has no word.
#[inline]
fn words(s: &str) -> Option<&str> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Checks that `topic` can be published to: no `*` or `#`.
pub(crate) fn check_topic(topic: &str) -> Result<(), FilterError> {
    match topic.find(['*', '#']) {
        Some(byte) => Err(FilterError::WildcardInTopic { byte }),
        None => Ok(()),
    }
}

/// Checks a pattern and returns it normalised (`#.#` runs collapsed to `#`).
pub(crate) fn normalise(pattern: &str) -> Result<String, FilterError> {
    let mut out = String::with_capacity(pattern.len());
    let mut rest = words(pattern);
    let mut index = 0;
    let mut previous_hash = false;
    while let Some(s) = rest {
        let (word, after) = split(s);
        if word.len() > 1 && word.contains(['*', '#']) {
            return Err(FilterError::MixedWildcard { word: index });
        }
        let hash = word == "#";
        // A `#` right after a `#` adds nothing: drop it. The first word is
        // never dropped, so `index > 0` means `out` holds a word already.
        if !(hash && previous_hash) {
            if index > 0 {
                out.push('.');
            }
            out.push_str(word);
        }
        index += 1;
        previous_hash = hash;
        rest = after;
    }
    Ok(out)
}

/// One node of the pattern trie.
#[derive(Debug, Default)]
struct Node {
    /// Children by literal word.
    literal: HashMap<Box<str>, usize>,
    /// The child reached by a `*` word.
    star: Option<usize>,
    /// The child reached by a `#` word: a `#` node, which may swallow any
    /// number of words, so a match never moves it out of its set.
    hash: Option<usize>,
    /// Whether a subscribed pattern ends here.
    terminal: bool,
}

/// One subscriber's filters. See the module doc.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    /// Subscribed prefixes, as bytes.
    prefixes: HashSet<Box<[u8]>>,
    /// How many prefixes have each length (never 0): the only lengths of a
    /// topic's head worth looking up in `prefixes`.
    prefix_lengths: BTreeMap<usize, usize>,
    /// Subscribed patterns, normalised: the source of truth for the trie.
    patterns: HashSet<Box<str>>,
    /// The pattern trie; `nodes[0]` is the root once a pattern was added.
    /// Nodes are never freed: an unsubscribed pattern only clears `terminal`.
    nodes: Vec<Node>,
}

impl Filters {
    /// Adds a prefix; false if it was there already.
    pub(crate) fn add_prefix(&mut self, prefix: &str) -> bool {
        let added = self.prefixes.insert(prefix.as_bytes().into());
        if added {
            *self.prefix_lengths.entry(prefix.len()).or_insert(0) += 1;
        }
        added
    }

    /// Removes a prefix; false if it was not there.
    pub(crate) fn remove_prefix(&mut self, prefix: &str) -> bool {
        let removed = self.prefixes.remove(prefix.as_bytes());
        if removed {
            // The prefix was counted when it was added.
            if let Some(count) = self.prefix_lengths.get_mut(&prefix.len()) {
                *count -= 1;
                if *count == 0 {
                    self.prefix_lengths.remove(&prefix.len());
                }
            }
        }
        removed
    }

    /// Adds a pattern; false if it (or an equivalent one) was there already.
    pub(crate) fn add_pattern(&mut self, pattern: &str) -> Result<bool, FilterError> {
        let pattern = normalise(pattern)?;
        if self.patterns.contains(pattern.as_str()) {
            return Ok(false);
        }
        if self.nodes.is_empty() {
            self.nodes.push(Node::default());
        }
        let mut node = 0;
        let mut rest = words(&pattern);
        while let Some(s) = rest {
            let (word, after) = split(s);
            node = self.child(node, word);
            rest = after;
        }
        self.nodes[node].terminal = true;
        self.patterns.insert(pattern.into_boxed_str());
        Ok(true)
    }

    /// The child of `node` along `word`, created if missing.
    fn child(&mut self, node: usize, word: &str) -> usize {
        let next = self.nodes.len();
        let slot = match word {
            "*" => self.nodes[node].star.get_or_insert(next),
            "#" => self.nodes[node].hash.get_or_insert(next),
            _ => self.nodes[node].literal.entry(word.into()).or_insert(next),
        };
        let child = *slot;
        if child == next {
            self.nodes.push(Node::default());
        }
        child
    }

    /// Removes a pattern; false if it was not there.
    pub(crate) fn remove_pattern(&mut self, pattern: &str) -> Result<bool, FilterError> {
        let pattern = normalise(pattern)?;
        if !self.patterns.remove(pattern.as_str()) {
            return Ok(false);
        }
        let mut node = 0;
        let mut rest = words(&pattern);
        while let Some(s) = rest {
            let (word, after) = split(s);
            let n = &self.nodes[node];
            // The pattern was present, so its whole path exists.
            let next = match word {
                "*" => n.star,
                "#" => n.hash,
                _ => n.literal.get(word).copied(),
            };
            match next {
                Some(next) => node = next,
                None => return Ok(true),
            }
            rest = after;
        }
        self.nodes[node].terminal = false;
        Ok(true)
    }

    /// The number of filters (prefixes and patterns).
    pub(crate) fn len(&self) -> usize {
        self.prefixes.len() + self.patterns.len()
    }

    /// Whether any filter matches `topic`.
    pub(crate) fn matches(&self, topic: &str) -> bool {
        self.matches_prefix(topic.as_bytes())
            || (!self.patterns.is_empty() && self.matches_pattern(topic).0)
    }

    /// Whether a prefix matches `topic`: one lookup per distinct prefix
    /// length that fits in it.
    fn matches_prefix(&self, topic: &[u8]) -> bool {
        self.prefix_lengths
            .range(..=topic.len())
            .any(|(&len, _)| self.prefixes.contains(&topic[..len]))
    }

    /// Whether a pattern matches `topic`, and how many times a node was moved
    /// along a word (the work done, for tests). See the module doc.
    fn matches_pattern(&self, topic: &str) -> (bool, usize) {
        // First on the stack; if the set outgrows that, again on the heap.
        // The wasted first try did at most `2 * INLINE` moves per word, so
        // the bound in the module doc holds.
        let mut lists = [0; 3 * INLINE];
        let mut scratch = Scratch::new(&mut lists, INLINE, None);
        match self.run(topic, &mut scratch) {
            Some(matched) => (matched, scratch.moves),
            None => self.matches_pattern_on_heap(topic, scratch.moves),
        }
    }

    /// [`Filters::matches_pattern`] with scratch memory sized to the trie,
    /// which the set cannot outgrow, counting on from `moves`.
    fn matches_pattern_on_heap(&self, topic: &str, moves: usize) -> (bool, usize) {
        // Allocating per call: matching is off the per-message path (see the
        // module doc), and only sets wider than `INLINE` come here.
        let nodes = self.nodes.len();
        let mut lists = vec![0; 3 * nodes];
        let mut seen = vec![0; nodes.div_ceil(64)];
        let mut scratch = Scratch::new(&mut lists, nodes, Some(&mut seen));
        scratch.moves = moves;
        // Each node is in a list at most once (see `run`), so none overflows.
        let matched = self
            .run(topic, &mut scratch)
            .expect("scratch lists sized to the trie");
        (matched, scratch.moves)
    }

    /// Runs the patterns over the words of `topic` (see the module doc):
    /// whether one matches, or `None` if `scratch` ran out of room.
    ///
    /// Only a node reached by `#` can be reached along two paths at once
    /// (staying put, and as the `#` child of a node just reached); every
    /// other node has one parent and one edge from it, so it appears at most
    /// once in `scratch.next` as long as its parent appears at most once in
    /// the set before. `#` nodes are kept apart in `scratch.hashes`, once
    /// each, and never leave it.
    fn run(&self, topic: &str, scratch: &mut Scratch<'_>) -> Option<bool> {
        if self.nodes.is_empty() {
            return Some(false);
        }
        // The set: `scratch.now[..now]` and `scratch.hashes[..hashes]`.
        let mut now = 0;
        let mut hashes = 0;
        push(scratch.now, &mut now, 0)?;
        if self.reach_hash(0, scratch, &mut hashes)? {
            return Some(true);
        }
        let mut rest = words(topic);
        while let Some(s) = rest {
            let (word, after) = split(s);
            let mut next = 0;
            // The `#` nodes reached while moving along this word wait for
            // the next one.
            let hashes_before = hashes;
            for i in 0..now + hashes_before {
                let node = match i.checked_sub(now) {
                    None => scratch.now[i],
                    Some(h) => scratch.hashes[h],
                };
                let n = &self.nodes[node];
                scratch.moves += 1;
                for child in [n.literal.get(word).copied(), n.star].into_iter().flatten() {
                    push(scratch.next, &mut next, child)?;
                    if self.reach_hash(child, scratch, &mut hashes)? {
                        return Some(true);
                    }
                }
            }
            std::mem::swap(&mut scratch.now, &mut scratch.next);
            now = next;
            if now == 0 && hashes == 0 {
                return Some(false);
            }
            rest = after;
        }
        // A terminal `#` node in the set would have returned already.
        Some(scratch.now[..now].iter().any(|&n| self.nodes[n].terminal))
    }

    /// Adds to the set the `#` child of `node` (the zero-word match of `#`),
    /// and that child's own, if not there yet. True if one of them ends a
    /// pattern: it matches whatever words follow. `None`: out of room.
    fn reach_hash(
        &self,
        node: usize,
        scratch: &mut Scratch<'_>,
        hashes: &mut usize,
    ) -> Option<bool> {
        let mut next = self.nodes[node].hash;
        while let Some(hash) = next {
            let new = match scratch.seen.as_deref_mut() {
                Some(seen) => {
                    let (word, bit) = (hash / 64, 1 << (hash % 64));
                    let new = seen[word] & bit == 0;
                    seen[word] |= bit;
                    new
                }
                None => !scratch.hashes[..*hashes].contains(&hash),
            };
            if !new {
                // Its own `#` child was added with it.
                break;
            }
            push(scratch.hashes, hashes, hash)?;
            if self.nodes[hash].terminal {
                return Some(true);
            }
            next = self.nodes[hash].hash;
        }
        Some(false)
    }
}

/// How many nodes of each kind a match keeps on the stack before it
/// allocates: see [`Filters::matches_pattern`].
const INLINE: usize = 16;

/// The working memory of one pattern match ([`Filters::run`]).
struct Scratch<'a> {
    /// The non-`#` nodes the words so far lead to.
    now: &'a mut [usize],
    /// The non-`#` nodes the next word leads to, being filled.
    next: &'a mut [usize],
    /// The `#` nodes reached so far, each once.
    hashes: &'a mut [usize],
    /// Bit `i` set: `#` node `i` is in `hashes`. `None`: `hashes` is short
    /// (at most [`INLINE`] long), so searching it is as quick.
    seen: Option<&'a mut [u64]>,
    /// How many times a node was moved along a word.
    moves: usize,
}

impl<'a> Scratch<'a> {
    /// Scratch made of three lists of `capacity` nodes cut from `lists`.
    fn new(lists: &'a mut [usize], capacity: usize, seen: Option<&'a mut [u64]>) -> Self {
        let (now, rest) = lists.split_at_mut(capacity);
        let (next, rest) = rest.split_at_mut(capacity);
        Scratch {
            now,
            next,
            hashes: &mut rest[..capacity],
            seen,
            moves: 0,
        }
    }
}

/// Appends `node` to `list[..*len]`; `None` if the list is full.
#[inline]
fn push(list: &mut [usize], len: &mut usize, node: usize) -> Option<()> {
    *list.get_mut(*len)? = node;
    *len += 1;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> Filters {
        let mut f = Filters::default();
        for p in patterns {
            f.add_pattern(p).unwrap();
        }
        f
    }

    #[test]
    fn words_and_edges() {
        let cases: &[(&str, &str, bool)] = &[
            ("#", "", true),
            ("#", "a.b", true),
            ("*", "", false),
            ("*", "a", true),
            ("*", ".", false),
            ("", "", true),
            ("", "a", false),
            ("a.#", "a", true),
            ("a.#", "a.", true),
            ("a.*", "a.", true),
            ("a.*", "a", false),
            ("a..b", "a..b", true),
            ("a.*.b", "a..b", true),
            ("#.b", "b", true),
            ("#.b", "a.c.b", true),
            ("*.b", "b", false),
            ("a.#.b", "a.b", true),
            ("a.#.b", "a.x.y.b", true),
            ("a.#.b", "a.x.y.c", false),
            ("md.*.AAPL", "md.ticks.AAPL", true),
            ("md.*.AAPL", "md.ticks.x.AAPL", false),
        ];
        for &(pattern, topic, expected) in cases {
            assert_eq!(
                set(&[pattern]).matches(topic),
                expected,
                "{pattern} ~ {topic}"
            );
        }
    }

    #[test]
    fn normalising_and_errors() {
        assert_eq!(normalise("#.#.a.#").unwrap(), "#.a.#");
        assert_eq!(
            normalise("a.b*"),
            Err(FilterError::MixedWildcard { word: 1 })
        );
        assert_eq!(normalise("##"), Err(FilterError::MixedWildcard { word: 0 }));
        assert_eq!(
            check_topic("a.b#"),
            Err(FilterError::WildcardInTopic { byte: 3 })
        );
    }

    #[test]
    fn add_remove() {
        let mut f = set(&["a.*", "#.z"]);
        assert!(!f.add_pattern("a.*").unwrap());
        assert!(f.remove_pattern("a.*").unwrap());
        assert!(!f.matches("a.b"));
        assert!(f.matches("q.z"));
        assert!(f.add_prefix("md."));
        assert!(f.matches("md.x"));
        assert!(f.remove_prefix("md."));
        assert!(!f.matches("md.x"));
        assert_eq!(f.len(), 1);
    }

    /// The reference: RabbitMQ's topic matching, by definition (as in
    /// `tests/pubsub_props.rs`).
    fn reference(pattern: &[&str], topic: &[&str]) -> bool {
        match pattern.split_first() {
            None => topic.is_empty(),
            Some((&"#", rest)) => (0..=topic.len()).any(|k| reference(rest, &topic[k..])),
            Some((&"*", rest)) => !topic.is_empty() && reference(rest, &topic[1..]),
            Some((word, rest)) => topic.first() == Some(word) && reference(rest, &topic[1..]),
        }
    }

    /// The words of a topic or pattern, as a list.
    fn word_list(s: &str) -> Vec<&str> {
        if s.is_empty() {
            Vec::new()
        } else {
            s.split('.').collect()
        }
    }

    #[test]
    fn filters_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Filters>();
    }

    #[test]
    fn matching_takes_words_times_nodes_moves_at_most() {
        // The audit's case: 5 `#`s, and a topic that fails only at its end.
        // Backtracking tried about C(200, 5) paths.
        let f = set(&["#.a.#.a.#.a.#.a.#.b"]);
        let topic = vec!["a"; 200].join(".");
        let (matched, moves) = f.matches_pattern(&topic);
        assert!(!matched);
        assert!(moves <= 200 * f.nodes.len(), "{moves} moves");
        assert!(f.matches(&format!("{topic}.b")));
        // Many empty words, and a `#` that must swallow them all.
        let f = set(&["#.", "#.x", "a.#"]);
        let dots = ".".repeat(99_999);
        let (matched, moves) = f.matches_pattern(&dots);
        assert!(matched);
        assert!(moves <= 100_000 * f.nodes.len(), "{moves} moves");
        assert!(!f.matches(&format!("{dots}y")));
        // A `#` ending a pattern matches as soon as it is reached.
        assert_eq!(set(&["#"]).matches_pattern(&dots), (true, 0));
    }

    #[test]
    fn wide_sets_spill_to_the_heap_and_still_match() {
        // Every pattern of five `a` or `*` words and a sixth: after
        // "a.a.a.a.a", 32 non-`#` nodes are in play; with a `#` in one of
        // the five places instead, up to 5 * 16 `#` nodes.
        let mut patterns = Vec::new();
        for bits in 0..32 {
            let head: Vec<&str> = (0..5)
                .map(|i| if bits >> i & 1 == 1 { "*" } else { "a" })
                .collect();
            patterns.push(format!("{}.z", head.join(".")));
            for i in 0..5 {
                let mut head = head.clone();
                head[i] = "#";
                patterns.push(format!("{}.y", head.join(".")));
            }
        }
        let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
        let f = set(&patterns);
        for topic in [
            "a.a.a.a.a.z",
            "a.a.a.a.a.y",
            "a.a.a.a.a.x",
            "a.a.a.a.z",
            "a.a.a.a.a.a.y",
            "",
        ] {
            let expected = patterns
                .iter()
                .any(|p| reference(&word_list(p), &word_list(topic)));
            assert_eq!(f.matches(topic), expected, "{topic}");
            assert_eq!(f.matches_pattern_on_heap(topic, 0).0, expected, "{topic}");
        }
        // The stack really ran out.
        let mut lists = [0; 3 * INLINE];
        assert_eq!(
            f.run("a.a.a.a.a.x", &mut Scratch::new(&mut lists, INLINE, None)),
            None
        );
    }

    #[test]
    fn stack_and_heap_agree_with_the_reference() {
        // Deterministic pseudo-random pattern sets and topics over a small
        // alphabet (empty words, `*` and `#` at either end), more patterns
        // than `tests/pubsub_props.rs` tries.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n) as usize
        };
        let alphabet = ["a", "b", "", "*", "#", "a", "b"];
        let mut outcomes = [0; 2];
        for _ in 0..200 {
            let patterns: Vec<String> = (0..1 + next(30))
                .map(|_| {
                    let n = next(6);
                    (0..n)
                        .map(|_| alphabet[next(7)])
                        .collect::<Vec<_>>()
                        .join(".")
                })
                .collect();
            let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
            let f = set(&patterns);
            for _ in 0..20 {
                let n = next(7);
                let topic = (0..n)
                    .map(|_| alphabet[next(3)])
                    .collect::<Vec<_>>()
                    .join(".");
                let expected = patterns
                    .iter()
                    .any(|p| reference(&word_list(p), &word_list(&topic)));
                assert_eq!(f.matches(&topic), expected, "{patterns:?} ~ {topic:?}");
                outcomes[usize::from(expected)] += 1;
                assert_eq!(
                    f.matches_pattern_on_heap(&topic, 0).0,
                    expected,
                    "{patterns:?} ~ {topic:?}"
                );
            }
        }
        // Both answers come up often.
        assert!(outcomes.iter().all(|&n| n > 400), "{outcomes:?}");
    }

    #[test]
    fn prefix_lengths_follow_adds_and_removes() {
        let mut f = Filters::default();
        let long = "y".repeat(100_000);
        assert!(f.add_prefix("aa"));
        assert!(f.add_prefix("bb"));
        assert!(f.add_prefix(&long));
        assert!(!f.add_prefix("aa"));
        assert!(f.matches(&format!("{long}z")));
        assert!(!f.matches(&"x".repeat(200_000)));
        // Removing the longest prefix drops its length: no topic asks for
        // it again.
        assert!(f.remove_prefix(&long));
        assert!(!f.remove_prefix(&long));
        assert_eq!(f.prefix_lengths.iter().collect::<Vec<_>>(), [(&2, &2)]);
        assert!(!f.matches(&format!("{long}z")));
        // A length stays while a prefix of it does.
        assert!(f.remove_prefix("aa"));
        assert_eq!(f.prefix_lengths.iter().collect::<Vec<_>>(), [(&2, &1)]);
        assert!(f.matches("bb.c"));
        assert!(!f.matches("aa.c"));
        assert!(f.remove_prefix("bb"));
        assert!(f.prefix_lengths.is_empty());
        assert!(!f.matches("bb.c"));
        // The empty prefix is a length too.
        assert!(f.add_prefix(""));
        assert!(f.matches(""));
        assert!(f.remove_prefix(""));
        assert!(!f.matches(""));
    }
}
