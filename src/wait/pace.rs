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
//!
//! A pause must not trap a ping-pong. A side that sends one message and
//! waits for the answer (a request/reply exchange, a pipeline fed one job at
//! a time) also sees short waits when the round trip is fast, and once it
//! pauses, the answer is there at its first poll, so every later wait is
//! "short" too and every round trip pays the pause. On a machine whose
//! spin-loop hint takes 25 ns (a Zen 4 guest) [`SHARED_PAUSE`] is 0.8 µs,
//! and request/reply's `Backoff` round trip p50 was 0.78–0.91 µs there,
//! against 0.25 µs for a pair of spsc rings (docs/benchmarks.md, run P13).
//! So an mpmc side also looks, when a paused wait ends, at whether more
//! than the one message (or free slot) it waited for is ready: after a
//! pause that let a streaming side get ahead, many are; in a ping-pong, only
//! the one. A pause that found just the one is a *miss*: the side stops
//! pausing, and probes again only after `2^k` short waits, `k` growing with
//! each miss in a row (up to [`MAX_MISSES`]), so a ping-pong pays a pause
//! once in 1,024 round trips, and a stream that keeps gaining from its
//! pauses never misses.
//!
//! The spsc and broadcast rings count every pause as a gain, as before. An
//! spsc side that stopped pausing in a ping-pong measured *slower* (Zen 4
//! guest, `spsc_pingpong` example, `Backoff` p50 250–260 → 760–940 ns):
//! its [`PAUSE`] (8 hints, ~200 ns there) is about one round trip, so the
//! answer comes during the pause; without it, the answer comes after the
//! spin phase of [`Patience`](super::patience), and the side yields first.
//! [`SHARED_PAUSE`], four times longer, costs a round trip more than it
//! saves.

use std::time::Instant;

use super::{Patience, Signal, Wait};
use crate::sync::{HintWord, Ordering};

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

/// Misses in a row after which a side probes with a pause only once every
/// `2^MAX_MISSES` short waits (see the module doc).
const MAX_MISSES: u32 = 10;

/// One side's pacing state: whether its last wait was short, and how its
/// last pauses fared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pace {
    /// The next wait pauses before its first poll.
    streaming: bool,
    /// Pauses in a row that found only what the side waited for (a
    /// ping-pong), at most [`MAX_MISSES`].
    misses: u32,
    /// Short waits still to go before the side pauses again.
    skip: u32,
}

impl Pace {
    /// [`wait::block`](super::block) for a side that has caught up (nothing
    /// more is known to be available): pauses first if the last wait was
    /// short, then polls with `attempt` until it returns `Some`, waiting as
    /// `wait` says, and remembers whether this wait was short.
    ///
    /// Every pause counts as a gain (see the module doc).
    #[inline(always)]
    pub(crate) fn block<R>(
        &mut self,
        wait: Wait,
        signal: &Signal,
        deadline: Option<Instant>,
        attempt: impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let patience = Patience::default();
        self.block_pausing(PAUSE, wait, signal, deadline, attempt, |_| true, patience)
    }

    /// [`block`](Self::block), pausing `pause` hints after a short wait;
    /// `more` says, of what `attempt` found, whether more than that one
    /// message (or slot) was ready.
    // Private and inlined into its two callers, each of which passes its
    // own pause, patience and look at what it found.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn block_pausing<R>(
        &mut self,
        pause: u32,
        wait: Wait,
        signal: &Signal,
        deadline: Option<Instant>,
        mut attempt: impl FnMut() -> Option<R>,
        more: impl FnOnce(&R) -> bool,
        patience: Patience,
    ) -> Option<R> {
        let paused = self.before_poll(pause);
        let mut polls: u32 = 0;
        let found = super::block_with(patience, wait, signal, deadline, || {
            // Saturating: a `Spin` or `Yield` side may poll for minutes, past
            // `u32::MAX` (a debug build would panic on the overflow); only
            // "more than `SHORT_WAIT`" matters.
            polls = polls.saturating_add(1);
            attempt()
        });
        // Asked only after a pause: an unpaused wait does not need it.
        let more = paused && found.as_ref().map_or(true, more);
        self.after_wait(polls, paused, more);
        found
    }

    /// Called before the first poll of the other side: pauses if the last
    /// wait was short, and says whether it did.
    #[inline]
    fn before_poll(&self, pause: u32) -> bool {
        // Not under loom: there every hint would be a scheduling point, and
        // the pause takes no part in what a poll sees.
        if self.streaming && !cfg!(ringbus_loom) {
            for _ in 0..pause {
                std::hint::spin_loop();
            }
            return true;
        }
        false
    }

    /// Called when the wait ends, after `polls` polls; `paused` if it
    /// began with a pause, and then `more` if more than the one message or
    /// slot it waited for was ready.
    #[inline]
    fn after_wait(&mut self, polls: u32, paused: bool, more: bool) {
        let short = polls <= SHORT_WAIT;
        if !short {
            // A lone message: no pause next time, whatever the pauses did.
            self.streaming = false;
        } else if paused && !more {
            // A miss: the pause found only what a ping-pong's other side
            // would have sent anyway. Probe again after 2^misses short waits.
            self.misses = (self.misses + 1).min(MAX_MISSES);
            self.skip = 1 << self.misses;
            self.streaming = false;
        } else if paused {
            // The pause let the other side get ahead: keep pausing.
            self.misses = 0;
        } else if self.skip > 0 {
            self.skip -= 1;
        } else {
            self.streaming = true;
        }
    }

    /// The state in one word, for a [`SharedPace`]: `streaming` in bit 0,
    /// `misses` in bits 1–4, `skip` from bit 8 (at most `2^MAX_MISSES`).
    fn pack(self) -> u32 {
        u32::from(self.streaming) | self.misses << 1 | self.skip << 8
    }

    /// The inverse of [`pack`](Self::pack).
    fn unpack(word: u32) -> Self {
        Pace {
            streaming: word & 1 != 0,
            misses: (word >> 1) & 0xf,
            skip: word >> 8,
        }
    }
}

/// The pacing state of a handle that threads may share (an [`mpmc`] end is
/// `Sync`): a [`Pace`] kept in one word, so that a wait through `&self` can
/// update it. Threads that share one handle share its pacing too, which
/// only blurs the hint.
///
/// [`mpmc`]: crate::mpmc
#[derive(Debug, Default)]
pub(crate) struct SharedPace {
    state: HintWord,
    /// The handle's waits are for the other side's answer: they spin
    /// longer before they yield ([`Patience::for_round_trip`]).
    round_trip: bool,
}

impl SharedPace {
    /// The pacing of a handle whose waits are for the other side's answer
    /// (a request/reply replier's receiver).
    pub(crate) fn for_round_trips() -> Self {
        SharedPace {
            round_trip: true,
            ..SharedPace::default()
        }
    }

    /// [`Pace::block`] for a shared handle, pausing [`SHARED_PAUSE`] hints
    /// after a short wait; `more` says, of what `attempt` found, whether
    /// more than that one message (or slot) was ready, so that a
    /// ping-pong stops pausing (see the module doc).
    #[inline(always)]
    pub(crate) fn block<R>(
        &self,
        wait: Wait,
        signal: &Signal,
        deadline: Option<Instant>,
        attempt: impl FnMut() -> Option<R>,
        more: impl FnOnce(&R) -> bool,
    ) -> Option<R> {
        let patience = if self.round_trip {
            Patience::for_round_trip()
        } else {
            Patience::default()
        };
        // Under loom the pause is skipped anyway; leave the state alone too.
        if cfg!(ringbus_loom) {
            return super::block_with(patience, wait, signal, deadline, attempt);
        }
        // Relaxed: a timing hint (see `HintWord`); nothing is read through
        // it, and a stale value only moves the next poll by a few hints.
        let word = self.state.load(Ordering::Relaxed);
        let mut pace = Pace::unpack(word);
        let found = pace.block_pausing(
            SHARED_PAUSE,
            wait,
            signal,
            deadline,
            attempt,
            more,
            patience,
        );
        let new = pace.pack();
        if new != word {
            // Relaxed: as for the load above. Stored only on a change, so a
            // handle that keeps streaming does not keep dirtying the line.
            self.state.store(new, Ordering::Relaxed);
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
        pace.after_wait(1, false, false);
        assert!(pace.streaming);
        pace.after_wait(SHORT_WAIT, true, true);
        assert!(pace.streaming);
        pace.after_wait(SHORT_WAIT + 1, true, true);
        assert!(!pace.streaming, "a long wait means a lone message");
    }

    /// A ping-pong: each wait is short, and a paused one finds only the
    /// answer it waited for.
    #[test]
    fn a_ping_pong_stops_pausing_and_probes_ever_more_rarely() {
        let mut pace = Pace::default();
        let mut pauses = 0;
        for _ in 0..100_000 {
            let paused = pace.streaming;
            pauses += u32::from(paused);
            pace.after_wait(1, paused, false);
        }
        // Probes after 2, 4, ..., 1024 short waits, then every 1025.
        assert!(pauses < 110, "{pauses} pauses in 100 000 round trips");
        assert_eq!(pace.misses, MAX_MISSES);
    }

    /// A stream: a paused wait finds more than it waited for.
    #[test]
    fn a_pause_that_gains_keeps_the_side_pausing() {
        let mut pace = Pace::default();
        // Three misses first: the side is probing rarely...
        for _ in 0..3 {
            pace.after_wait(1, false, false);
            while !pace.streaming {
                pace.after_wait(1, false, false);
            }
            pace.after_wait(1, true, false);
        }
        assert_eq!((pace.misses, pace.skip), (3, 8));
        for _ in 0..8 {
            pace.after_wait(1, false, false);
            assert!(!pace.streaming, "2^3 short waits are skipped");
        }
        pace.after_wait(1, false, false);
        assert!(pace.streaming, "the next one arms the probe");
        // ...until a probe gains: then every wait pauses.
        pace.after_wait(1, true, true);
        assert_eq!(pace.misses, 0);
        for _ in 0..1000 {
            assert!(pace.streaming);
            pace.after_wait(2, true, true);
        }
    }

    #[test]
    fn the_state_packs_into_one_word() {
        let states = [
            Pace::default(),
            Pace {
                streaming: true,
                misses: MAX_MISSES,
                skip: 1 << MAX_MISSES,
            },
            Pace {
                streaming: false,
                misses: 7,
                skip: 100,
            },
        ];
        for pace in states {
            assert_eq!(Pace::unpack(pace.pack()), pace);
        }
    }

    // Under loom a shared pace does not touch its state at all.
    #[cfg(not(ringbus_loom))]
    #[test]
    fn a_shared_pace_keeps_the_hint_in_its_word() {
        let pace = SharedPace::default();
        let signal = Signal::new();
        let wait_polls = |polls_needed: u32, more: bool| {
            let mut polls = 0;
            pace.block(
                Wait::Spin,
                &signal,
                None,
                || {
                    polls += 1;
                    (polls == polls_needed).then_some(polls)
                },
                |_| more,
            )
        };
        // Relaxed: stored by this thread, in the calls before each load.
        let state = || Pace::unpack(pace.state.load(Ordering::Relaxed));
        assert_eq!(wait_polls(1, false), Some(1));
        assert!(state().streaming, "a short wait");
        assert_eq!(wait_polls(1, true), Some(1));
        assert!(state().streaming, "a pause that gained");
        assert_eq!(wait_polls(1, false), Some(1));
        assert_eq!(
            state(),
            Pace {
                streaming: false,
                misses: 1,
                skip: 2
            },
            "a miss"
        );
        assert_eq!(wait_polls(SHORT_WAIT + 1, false), Some(SHORT_WAIT + 1));
        assert!(!state().streaming, "a long wait");
    }
}
