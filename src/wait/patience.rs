//! How long [`Wait::Backoff`](super::Wait::Backoff) keeps trying before it
//! parks: a few spin-loop hints, then many yields.
//!
//! Parking is what a blocked side must avoid when it can: the sleeper pays a
//! `membarrier` (an interrupt on every core running the program) and a
//! futex wait, the notifier a futex wake, and the woken thread waits for the
//! scheduler. On the reference machine (a 2-vCPU KVM guest) a park/unpark
//! pair costs 50–70 µs, against the ~40 ns a message costs in a ring.
//!
//! Spinning, on the other hand, only pays when the other side is running on
//! another core right now. When more threads are busy than there are cores
//! (a pipeline's ventilator, two workers and sink on two cores; a publisher
//! and four subscribers), the thread a waiter waits for is often queued
//! behind the waiter on the same core, and every spin-loop hint is time
//! taken from it. A yield hands the core over when someone else wants it
//! and returns at once when nobody does, so a yield loop is a poll that
//! costs a system call per look when the waiter has a core of its own and
//! gives the core away when it does not.
//!
//! So the spin phase is short (1, 2, then 4 hints: it catches a message
//! already on its way) and the yield phase long (at least 64 yields and at
//! least 100 µs) before the waiter parks. crossbeam's `Backoff`, which
//! ringbus used before, spins 127 hints in growing steps of up to 64
//! between looks (several microseconds) and parks after 4 yields.
//! Measured side by side in one session, the code before and after this
//! change alternating (docs/benchmarks.md, "Patience before parking"):
//! pub/sub 1 → 4 unpinned 14–21 → 28–34 Mmsg/s; the pipeline with both
//! workers pinned to one core and ventilator and sink to the other 5.9–6.4
//! → 39–43 Mjobs/s; a pinned spsc ping-pong p50 580–855 → 380–399 ns and
//! p90 67–70 µs (one round trip in ten parked) → 0.4–0.5 µs.
//!
//! A side whose next message is the other side's answer (a requester
//! waiting for its reply, a replier for its requester's next request) is
//! different: the message is on its way, one cross-core round trip off,
//! and a yield costs more than that round trip (0.3–0.6 µs in the KVM and
//! Firecracker guests measured). Its [`Patience::for_round_trip`] spins
//! [`ROUND_TRIP_STEPS`] steps of 4 hints more before the first yield: 19
//! hints in all, ~190 ns where a hint takes 10 ns (Zen 5) and ~475 ns where
//! it takes 25 ns (Zen 4). On the Zen 4 guest, request/reply's `Backoff`
//! round trip p50 went from 731–741 ns (each side yielding once per round
//! trip) to 241–270 ns, 0.93–1.08× two spsc rings (`cargo bench --bench
//! reqrep -- percentiles`, three runs each); giving every waiter the longer
//! spin instead cost the pipeline, ends together, 5–10 %.
//!
//! This decides only *when* a waiter looks again and when it parks, never
//! what it sees, so it has no part in any correctness argument. Under loom
//! the patience is exhausted at once: a model reaches the park path in one
//! step, as it did with loom's twin of crossbeam's `Backoff`.

use std::time::{Duration, Instant};

use crate::sync::{spin_loop, yield_now};

/// Spin steps before the first yield: step `k` spins `2^k` hints.
const SPIN_STEPS: u32 = 3;

/// Spin steps of 4 hints a [`Patience::for_round_trip`] adds before its
/// first yield.
const ROUND_TRIP_STEPS: u32 = 3;

/// Yields after the spin steps, at the least, before the waiter parks.
const YIELDS: u32 = 64;

/// How long the yield phase lasts, at the least. On a core nobody else
/// wants, 64 yields pass in ~20 µs; a consumer alone on its core whose
/// producer shares the other core with a third thread then parked every
/// ~350 messages, and each park cost the busy core a membarrier interrupt
/// and a futex wake (pipeline with one worker: 5.6 Mjobs/s; 22 with this
/// floor at 100 µs, and no parks).
const YIELD_TIME: Duration = Duration::from_micros(100);

/// One wait's progress through its spin and yield phases.
#[derive(Debug)]
pub(crate) struct Patience {
    /// Spin steps and yields done so far.
    step: u32,
    /// Spin steps before the first yield.
    spin_steps: u32,
    /// When the yield phase began.
    yielding_since: Option<Instant>,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            step: 0,
            spin_steps: SPIN_STEPS,
            yielding_since: None,
        }
    }
}

impl Patience {
    /// The patience of a side whose next message is the other side's
    /// answer: [`ROUND_TRIP_STEPS`] more spin steps before the first yield
    /// (see the module doc).
    pub(crate) fn for_round_trip() -> Self {
        Patience {
            spin_steps: SPIN_STEPS + ROUND_TRIP_STEPS,
            ..Patience::default()
        }
    }

    /// Waits a little before the next look, or returns `false` once the
    /// patience is spent and the caller should park.
    #[inline]
    pub(crate) fn wait(&mut self) -> bool {
        if cfg!(ringbus_loom) {
            return false;
        }
        let step = self.step;
        if step < self.spin_steps {
            // 1, 2, 4 hints, then 4 for each step a round trip adds.
            for _ in 0..1u32 << step.min(SPIN_STEPS - 1) {
                spin_loop();
            }
        } else {
            let since = *self.yielding_since.get_or_insert_with(Instant::now);
            if step >= self.spin_steps + YIELDS && since.elapsed() >= YIELD_TIME {
                return false;
            }
            yield_now();
        }
        self.step = step.saturating_add(1);
        true
    }
}

#[cfg(all(test, not(ringbus_loom)))]
mod tests {
    use super::*;

    #[test]
    fn patience_runs_out_after_the_spin_and_yield_phases() {
        let mut patience = Patience::default();
        let start = Instant::now();
        let mut looks = 0;
        while patience.wait() {
            looks += 1;
        }
        assert!(looks >= SPIN_STEPS + YIELDS);
        assert!(start.elapsed() >= YIELD_TIME);
        // Spent stays spent: the caller parks on every later call.
        assert!(!patience.wait());
    }

    /// The number of waits before the first yield.
    fn spins_before_yielding(mut patience: Patience) -> u32 {
        let mut spins = 0;
        while patience.wait() && patience.yielding_since.is_none() {
            spins += 1;
        }
        spins
    }

    #[test]
    fn a_round_trip_spins_longer_before_it_yields() {
        assert_eq!(spins_before_yielding(Patience::default()), SPIN_STEPS);
        assert_eq!(
            spins_before_yielding(Patience::for_round_trip()),
            SPIN_STEPS + ROUND_TRIP_STEPS
        );
        let mut patience = Patience::for_round_trip();
        let mut looks = 0;
        while patience.wait() {
            looks += 1;
        }
        assert!(looks >= SPIN_STEPS + ROUND_TRIP_STEPS + YIELDS);
    }
}
