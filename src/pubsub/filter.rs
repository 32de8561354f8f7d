//! Topic filters: ZeroMQ byte prefixes and RabbitMQ topic-exchange patterns,
//! held per subscriber so that matching one topic costs the same with ten
//! filters or ten thousand.
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
//! - Prefixes sit in a hash set of byte strings. A topic of `n` bytes asks it
//!   at most `n + 1` questions (is `topic[..i]` a prefix?), however many
//!   prefixes there are.
//! - Patterns sit in a trie of words (RabbitMQ's topic trie). Matching walks
//!   it along the topic's words: a literal word is one hash lookup, and only
//!   `*` and `#` branches add paths. With no `#`, the cost is at most
//!   `words × 2^stars`-bounded by the patterns actually present, and in the
//!   common case one path per word; each `#` can add a factor of the number
//!   of words.
//!
//! Matching allocates nothing; adding a filter may.

use std::collections::{HashMap, HashSet};
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
    /// The child reached by a `#` word.
    hash: Option<usize>,
    /// Whether this node was reached by `#`: it may swallow more words.
    is_hash: bool,
    /// Whether a subscribed pattern ends here.
    terminal: bool,
}

/// One subscriber's filters. See the module doc.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    /// Subscribed prefixes, as bytes.
    prefixes: HashSet<Box<[u8]>>,
    /// The length of the longest prefix ever subscribed: no longer slice of a
    /// topic needs looking up.
    longest_prefix: usize,
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
        self.longest_prefix = self.longest_prefix.max(prefix.len());
        added
    }

    /// Removes a prefix; false if it was not there.
    pub(crate) fn remove_prefix(&mut self, prefix: &str) -> bool {
        self.prefixes.remove(prefix.as_bytes())
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
            self.nodes.push(Node {
                is_hash: word == "#",
                ..Node::default()
            });
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
        if !self.prefixes.is_empty() {
            let bytes = topic.as_bytes();
            let longest = bytes.len().min(self.longest_prefix);
            if (0..=longest).any(|i| self.prefixes.contains(&bytes[..i])) {
                return true;
            }
        }
        !self.patterns.is_empty() && self.walk(0, words(topic))
    }

    /// Whether a pattern below `node` matches the words `rest`.
    fn walk(&self, node: usize, rest: Option<&str>) -> bool {
        let n = &self.nodes[node];
        // A `#` child may match zero words: try it on the same words.
        if let Some(hash) = n.hash {
            if self.walk(hash, rest) {
                return true;
            }
        }
        let Some(s) = rest else {
            return n.terminal;
        };
        let (word, after) = split(s);
        // A node reached by `#` may swallow this word and stay.
        (n.is_hash && self.walk(node, after))
            || n.literal
                .get(word)
                .is_some_and(|&child| self.walk(child, after))
            || n.star.is_some_and(|child| self.walk(child, after))
    }
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
}
