//! Dropping a message when the last subscriber passes it (for a `T` with
//! drop glue; any other `T` is simply overwritten and never reaped).
//!
//! # Why the subscribers drop
//!
//! A message belongs to every subscriber until the slowest has read it. The
//! publisher learns that only when it needs the slot again, which may be
//! much later or never: a ring that goes quiet would hold a `Vec`, a file
//! or a lock guard in a message everybody has read. So the subscriber whose
//! move past a message makes it unreachable drops it, on its own thread,
//! at once; and a subscriber that leaves drops the unread messages nobody
//! else needs.
//!
//! # The protocol
//!
//! `reaped` is the sequence before which every slot is empty; only the
//! slots `reaped..tail` hold messages. Reaping moves `reaped` up to the
//! slowest cursor (or to the published end, with no subscriber), dropping
//! the messages it passes. One thread reaps at a time, and nobody waits for
//! it: a thread that wants a reap (a subscriber after moving its cursor or
//! leaving, the publisher after `subscribe`) increments `reap_requests`.
//!
//! - From 0, it becomes the reaper: it reaps, then tries to put the count
//!   it last saw back to 0. If more requests came meanwhile, the exchange
//!   fails, and it reaps again.
//! - From more than 0, it is done: the running reaper will see its
//!   increment when it tries to stop, and reap again.
//!
//! The increments are `AcqRel` and the reaper's exchange `Acquire`, so a
//! requester's cursor store happens before the scan of the reap that serves
//! it: no request is lost, and no thread spins or sleeps for another's
//! reap. The reapers themselves are ordered by the same count, so `reaped`
//! is read and stored by one thread at a time.
//!
//! # Why it is safe
//!
//! - **No message dropped while someone may read it.** The reaper reads the
//!   end of the published messages first, then scans the cursors with the
//!   table's own protocol (`Cursors::lag`, which catches a clone joining
//!   mid-scan), and drops only below the slowest cursor and the end. Every
//!   cursor was stored with `Release` after its subscriber's last read of
//!   the slots behind it, and the scan acquires it.
//! - **No slot written while it holds a message.** The publisher (each
//!   publisher, with many) writes sequence `s` only once `reaped` is past
//!   `s - capacity`, acquiring the reaper's `Release` store of `reaped`,
//!   made after the message was moved out of its slot.
//! - **Nothing passed stays undropped.** Every move of a cursor and every
//!   leave asks for a reap, and no request is lost. One more case: the last
//!   subscriber's reap may read the end just before the publisher (which
//!   checked for subscribers just before the leave) publishes one more
//!   message, which nobody then passes. `subscribe` reaps after joining, so
//!   a new subscriber never finds the ring full of such messages, which
//!   would leave the publisher waiting for a reap nobody asks for.
//! - **The publisher never reaps while it waits.** Its re-check before
//!   sleeping runs under the lock of the `not_full` signal, where a
//!   message's `Drop` (user code) or the reaper's own notification of that
//!   signal would deadlock; it only reads `reaped` there.
//! - **Each message dropped once.** A message is moved out of its slot
//!   before `reaped` passes it, by the one reaper; what is left at the end,
//!   `reaped..tail`, the ring's drop drops.
//! - **A `Drop` may do anything.** The message is out of the ring and
//!   `reaped` moved before its `Drop` runs, so that code may publish,
//!   receive, or drop a subscriber (its request then joins the running
//!   reap). If it panics, the other messages of that reap are still
//!   dropped while the panic unwinds, as in std's collections, and the
//!   reaper goes on serving the requests that came in meanwhile, still while
//!   unwinding (a second panic aborts, as in std).
//!
//! The cost, only for a `T` with drop glue: two atomic read-modify-writes
//! (the request and the reaper's exchange) per move of a cursor, and a scan
//! of the cursors by the reaper. It is not small: in
//! `broadcast_1to2_drop_glue` (docs/benchmarks.md, 2026-11-27) a subscriber
//! that moves once per message (`recv`) gets 6 M messages/s, against 125 M
//! for `u64` and 91 M for the same messages read with `recv_batch`, which
//! moves once per batch. The old design, where the publisher dropped a
//! message when it reused the slot, cost nothing per move, but held every
//! read message until the ring wrapped round, or for ever in a ring that
//! went quiet; the contract asks for the drop when the last subscriber
//! passes. A reaper that is descheduled holds messages back until it runs
//! again, as a descheduled slowest subscriber would.

use std::mem;

use super::Ring;
use crate::sync::Ordering;

impl<T> Ring<T> {
    /// Drops every message all subscribers have passed, or has it dropped
    /// by the reaper already running.
    #[inline(never)]
    pub(super) fn reap(&self) {
        // AcqRel: the Release half hands this thread's cursor store (made
        // before) to the reaper that sees the count, through the Acquire
        // half of its exchange below; the Acquire half pairs with the last
        // reaper's Release exchange to 0, so its store of `reaped` happens
        // before we read it.
        if self.reap_requests.fetch_add(1, Ordering::AcqRel) != 0 {
            return;
        }
        /// Goes on serving requests if a message's `Drop` panics: the
        /// requesters counted on this reaper.
        struct Unwinding<'r, T>(&'r Ring<T>);
        impl<T> Drop for Unwinding<'_, T> {
            fn drop(&mut self) {
                self.0.serve_requests();
            }
        }
        let unwinding = Unwinding(self);
        self.drop_passed();
        mem::forget(unwinding);
        self.serve_requests();
    }

    /// Reaps again until no request came in since the last reap (the count
    /// goes back from 1, ours, to 0), then wakes the publishers.
    fn serve_requests(&self) {
        let mut seen = 1;
        loop {
            // AcqRel on success: Release orders this reap's store of
            // `reaped` before the next reaper's increment (in `reap`);
            // Acquire on failure pairs with the increments that came in
            // meanwhile.
            match self
                .reap_requests
                .compare_exchange(seen, 0, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(now) => seen = now,
            }
            self.drop_passed();
        }
        if self.wait.may_sleep() {
            self.not_full.notify();
        }
    }

    /// The publisher's gate for a `T` with drop glue: every sequence before
    /// it is reaped, its slot free.
    #[inline]
    pub(super) fn reaped(&self) -> usize {
        // Acquire: pairs with the reaper's Release store in `drop_passed`;
        // the move out of each slot before it happens before our reuse.
        self.reaped.load(Ordering::Acquire)
    }

    /// Moves `reaped` up to the slowest cursor, dropping what it passes.
    /// Only the reaper calls it.
    fn drop_passed(&self) {
        // Relaxed: only the reaper stores `reaped`, and the reapers are
        // ordered by `reap_requests` (see `reap`).
        let reaped = self.reaped.load(Ordering::Relaxed);
        // The end first, then the cursors: a subscriber the scan misses
        // joined at the publisher's tail, at or past this end (a clone is
        // caught by the scan itself).
        let end = self.readable_end(reaped);
        let passed = end.wrapping_sub(self.cursors.lag(end));
        crate::leftovers::drop_each(reaped, passed, &|sequence| {
            // Every cursor is at or past `passed` (the scan's Acquire loads
            // pair with the subscribers' Release cursor stores), and every
            // sequence from `reaped` to the end holds a published message
            // (`readable_end` acquired it).
            // SAFETY: so nobody reads the slot any more (`with_mut`: under
            // loom, the move counts as a write, checked against their
            // reads), and it holds a message, moved out once, here, as
            // `reaped` passes it.
            let message = self
                .slot(sequence)
                .with_mut(|slot| unsafe { (*slot).assume_init_read() });
            // Release: pairs with the publishers' Acquire loads of `reaped`
            // (`Ring::reaped`): the move above happens before the slot is
            // written again.
            self.reaped
                .store(sequence.wrapping_add(1), Ordering::Release);
            drop(message);
        });
    }
}
