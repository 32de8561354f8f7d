//! Pacing a side that keeps catching up with the other.
//!
//! A ring with one writer and one reader, both spinning, has two steady
//! states. In the *streaming* one they work hundreds of slots apart: each
//! side touches cache lines the other left long ago, the writer refreshes
//! its gate once per lap and the reader its cached tail once per batch of
//! hundreds. In the *polling* one the reader is right behind the writer (or
//! the writer, on a full ring, right behind the reader): it re-reads the
//! other side's counter after every few messages, so every store of that
//! counter, and of the slot next to it, finds the line in the other core's
//! cache and waits for it to come back. Both states feed themselves, and
//! which one a run settles in depends on a few instructions either side.
//!
//! The cure costs nothing when it is not needed: a side whose last wait was
//! over within a few polls (the other side is streaming back to back)
//! pauses a few spin-loop hints before it polls again. That leaves the other
//! side a moment to fill the lines it is on, and the ring tips into the
//! streaming state. A side that waited longer (a lone message, a round trip)
//! does not pause, so its latency is untouched; a side that never catches up
//! never waits at all. Pacing changes when a poll happens, never what it
//! sees, so it has no part in any correctness argument, and loom models skip
//! it.
//!
//! Measured on the 2-core reference machine (docs/benchmarks.md, "Two
//! steady states"): 1 → 1 broadcast with `Wait::Spin`, blocking
//! `send`/`recv`, 39–55 Mmsg/s without the pause and 174–186 with it; in a
//! bare model of the protocol, 45–60 without, 180 with 2 hints and 220 with
//! 4–8. The publish→receive round trip of a ping-pong is unchanged.
//!
//! The spsc ring has the same shape (cached `head` and `tail`, one writer,
//! one reader) and paces the same way. There most of the gain came from
//! the other half of the broadcast fix, a small inlined fast path with the
//! wait out of line: blocking `send`/`recv`, 1 → 1 on two pinned cores,
//! went from 22–25 to 256–300 Mmsg/s with `Backoff`; turning the pause off
//! again left 242–262 (docs/benchmarks.md, "spsc: the fast path").

use std::time::Instant;

use super::{Signal, Wait};

/// A wait that ended within this many polls means the other side is
/// streaming.
const SHORT_WAIT: u32 = 4;

/// Spin-loop hints to pause before polling again after a short wait: about
/// 80 ns on the reference machine. Longer pauses measured slower (16: 162,
/// 32: 152 Mmsg/s against 174 for 8).
const PAUSE: u32 = 8;

/// One side's pacing state: whether its last wait was short.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pace {
    streaming: bool,
}

impl Pace {
    /// [`wait::block`](super::block) for a side that has caught up (nothing
    /// more is known to be available): pauses first if the last wait was
    /// short, then polls with `attempt` until it returns `Some`, waiting as
    /// `wait` says, and remembers whether this wait was short.
    #[inline(always)]
    pub(crate) fn block<R>(
        &mut self,
        wait: Wait,
        signal: &Signal,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        self.before_poll();
        let mut polls = 0;
        let found = super::block(wait, signal, deadline, || {
            polls += 1;
            attempt()
        });
        self.after_wait(polls);
        found
    }

    /// Called before the first poll of the other side.
    #[inline]
    fn before_poll(&self) {
        // Not under loom: there every hint would be a scheduling point, and
        // the pause takes no part in what a poll sees.
        if self.streaming && !cfg!(ringbus_loom) {
            for _ in 0..PAUSE {
                std::hint::spin_loop();
            }
        }
    }

    /// Called when the wait ends, after `polls` polls.
    #[inline]
    fn after_wait(&mut self, polls: u32) {
        self.streaming = polls <= SHORT_WAIT;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_short_wait_makes_the_next_poll_pause() {
        let mut pace = Pace::default();
        assert!(!pace.streaming, "a fresh side polls at once");
        pace.after_wait(1);
        assert!(pace.streaming);
        pace.after_wait(SHORT_WAIT);
        assert!(pace.streaming);
        pace.after_wait(SHORT_WAIT + 1);
        assert!(!pace.streaming, "a long wait means a lone message");
    }
}
