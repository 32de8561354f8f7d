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
//!
//! An mpmc ring has many writers and readers, but a side that streams
//! still polls the slot another side is writing, and pacing helps it where
//! the two share cores with other busy threads: the pipeline (ventilator →
//! 2 workers → sink on two cores, `Backoff`), pinned so that each worker
//! shares its core with an end, went from 43.0 to 46.1 and from 45.8 to
//! 50.1 Mjobs/s (medians of 8 alternating runs); with both workers on one
//! core it stayed at 41–42, and unpinned the gain (2–5 %) is below the
//! noise of one run (docs/benchmarks.md, "Pacing the mpmc ring"). Its
//! handles are `Sync`, so their pacing state is a [`SharedPace`], and the
//! pause is longer ([`SHARED_PAUSE`]).

use std::time::Instant;

use super::{Signal, Wait};
use crate::sync::{HintFlag, Ordering};

/// A wait that ended within this many polls means the other side is
/// streaming.
const SHORT_WAIT: u32 = 4;

/// Spin-loop hints to pause before polling again after a short wait: about
/// 80 ns on the reference machine. Longer pauses measured slower (16: 162,
/// 32: 152 Mmsg/s against 174 for 8).
const PAUSE: u32 = 8;

/// Spin-loop hints a shared-ring side ([`SharedPace`]) pauses after a short
/// wait: about 320 ns. In sweeps on the pipeline (ventilator → 2 workers →
/// sink, medians of 8–15 alternating runs) 32 hints came out on top twice
/// (45.6 and 47.4 Mjobs/s against 40.0 and 41.6 unpaced); 8 and 16 gave
/// 38.3–42.2, 64 and 128 gave 43.5 and 46.6.
const SHARED_PAUSE: u32 = 32;

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
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        self.block_pausing(PAUSE, wait, signal, deadline, attempt)
    }

    /// [`block`](Self::block), pausing `pause` hints after a short wait.
    #[inline(always)]
    fn block_pausing<R>(
        &mut self,
        pause: u32,
        wait: Wait,
        signal: &Signal,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        self.before_poll(pause);
        let mut polls: u32 = 0;
        let found = super::block(wait, signal, deadline, || {
            // Saturating: a `Spin` or `Yield` side may poll for minutes, past
            // `u32::MAX` (a debug build would panic on the overflow); only
            // "more than `SHORT_WAIT`" matters.
            polls = polls.saturating_add(1);
            attempt()
        });
        self.after_wait(polls);
        found
    }

    /// Called before the first poll of the other side.
    #[inline]
    fn before_poll(&self, pause: u32) {
        // Not under loom: there every hint would be a scheduling point, and
        // the pause takes no part in what a poll sees.
        if self.streaming && !cfg!(ringbus_loom) {
            for _ in 0..pause {
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

/// The pacing state of a handle that threads may share (an [`mpmc`] end is
/// `Sync`): a [`Pace`] kept in a flag, so that a wait through `&self` can
/// update it. Threads that share one handle share its pacing too, which
/// only blurs the hint.
///
/// [`mpmc`]: crate::mpmc
#[derive(Debug, Default)]
pub(crate) struct SharedPace {
    streaming: HintFlag,
}

impl SharedPace {
    /// [`Pace::block`] for a shared handle, pausing [`SHARED_PAUSE`] hints
    /// after a short wait.
    #[inline(always)]
    pub(crate) fn block<R>(
        &self,
        wait: Wait,
        signal: &Signal,
        deadline: Option<Instant>,
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        // Under loom the pause is skipped anyway; leave the flag alone too.
        if cfg!(ringbus_loom) {
            return super::block(wait, signal, deadline, attempt);
        }
        // Relaxed: a timing hint (see `HintFlag`); nothing is read through
        // it, and a stale value only moves the next poll by a few hints.
        let streaming = self.streaming.load(Ordering::Relaxed);
        let mut pace = Pace { streaming };
        let found = pace.block_pausing(SHARED_PAUSE, wait, signal, deadline, attempt);
        if pace.streaming != streaming {
            // Relaxed: as for the load above. Stored only on a change, so a
            // handle that keeps streaming does not keep dirtying the line.
            self.streaming.store(pace.streaming, Ordering::Relaxed);
        }
        found
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

    // Under loom a shared pace does not touch its flag at all.
    #[cfg(not(ringbus_loom))]
    #[test]
    fn a_shared_pace_keeps_the_hint_in_its_flag() {
        let pace = SharedPace::default();
        let signal = Signal::new();
        let wait_polls = |polls_needed: u32| {
            let mut polls = 0;
            pace.block(Wait::Spin, &signal, None, || {
                polls += 1;
                (polls == polls_needed).then_some(polls)
            })
        };
        assert_eq!(wait_polls(1), Some(1));
        // Relaxed: stored by this thread, in the call above.
        assert!(pace.streaming.load(Ordering::Relaxed), "a short wait");
        assert_eq!(wait_polls(SHORT_WAIT + 1), Some(SHORT_WAIT + 1));
        // Relaxed: as above.
        assert!(!pace.streaming.load(Ordering::Relaxed), "a long wait");
    }
}
