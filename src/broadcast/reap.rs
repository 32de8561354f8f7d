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
//! leaving, the publisher after `subscribe` or before lending a slot with no
//! subscriber left) increments `requests`.
//!
//! - From 0, it becomes the reaper for one pass: it moves the passed
//!   messages (at most a stack buffer's worth) out of their slots, stores
//!   `reaped` past them, then swaps the count back to 0, ending its turn,
//!   and only then drops the messages.
//! - From more than 0, it is done: the running reaper sees its increment in
//!   the count it swaps out, and makes another pass (asks again, as anyone
//!   would) once it has dropped its messages. So does a reaper whose buffer
//!   was too small.
//!
//! The increments are `AcqRel` and the swap, a read-modify-write that
//! continues their release sequences, is `Release`. So a requester's cursor
//! store happens before the scan of the pass that serves it, whoever makes
//! it: no request is lost, and no thread spins or sleeps for another's reap.
//! The passes are ordered by the same count, so `reaped` is read and stored
//! by one thread at a time.
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
//!   message, which nobody then passes. `subscribe` reaps before joining
//!   (with no subscriber, that pass reaps up to the published end), so a
//!   new subscriber never finds the ring full of such messages, which
//!   would leave the publisher waiting for a reap nobody asks for.
//! - **The publisher reaps before it waits, never while.** A pass may be
//!   owed by a thread that is busy running `Drop`s, and a `Drop` may be the
//!   very code that sends, on the thread that owes the pass. So a publisher
//!   that finds no room reaps once itself: before it starts waiting, and
//!   when a `try_send` or `try_loan` would say `Full`. Its re-check before
//!   sleeping runs under the lock of the `not_full` signal, where a
//!   message's `Drop` (user code) or the reaper's own notification of that
//!   signal would deadlock; it only reads `reaped` there. (A second review
//!   found that without this, a `Drop` that sent more than its pass had
//!   freed waited for ever.)
//! - **Each message dropped once.** A message is moved out of its slot
//!   before `reaped` passes it, by the one reaper; what is left at the end,
//!   `reaped..tail`, the ring's drop drops.
//! - **A `Drop` may do anything.** The messages' `Drop`s run after the pass
//!   has moved them out, moved `reaped` and ended the reaper's turn. So that
//!   code may publish (the publisher reaps for itself if the pass made too
//!   little room), lend a slot, drop or clone a subscriber, or reap. (A first version ran them during its turn: a `Drop` that published
//!   twice, or lent with no subscriber left, waited for a reap only its own
//!   thread could make; a review found it.) If one panics, the other
//!   messages of the pass are still dropped while the panic unwinds, as in
//!   std's collections, and the pass owed to requesters that came in
//!   meanwhile still runs (a second panic aborts, as in std).
//!
//! The cost, only for a `T` with drop glue: two atomic read-modify-writes
//! (the request and the reaper's swap) per move of a cursor, and a scan of
//! the cursors by the reaper. It is not small: in
//! `broadcast_1to2_drop_glue` (docs/benchmarks.md, 2026-11-27) a subscriber
//! that moves once per message (`recv`) gets 3.8 M messages/s, against
//! 123 M for `u64` and 69 M for the same messages read with `recv_batch`,
//! which moves once per batch (and takes up to 32 messages per pass). The old design, where the publisher dropped a
//! message when it reused the slot, cost nothing per move, but held every
//! read message until the ring wrapped round, or for ever in a ring that
//! went quiet; the contract asks for the drop when the last subscriber
//! passes. A reaper that is descheduled holds messages back until it runs
//! again, as a descheduled slowest subscriber would.

use std::mem::{self, MaybeUninit};
use std::ptr;

use super::Ring;
use crate::sync::Ordering;

impl<T> Ring<T> {
    /// Drops every message all subscribers have passed, or has it dropped
    /// by the reaper already running.
    #[inline(never)]
    pub(super) fn reap(&self) {
        // The messages of one pass wait on the reaper's stack: a few
        // kilobytes at most, and one message when they are bigger.
        if mem::size_of::<T>() <= 128 {
            self.reap_in::<32>();
        } else if mem::size_of::<T>() <= 1024 {
            self.reap_in::<4>();
        } else {
            self.reap_in::<1>();
        }
    }

    /// `reap`, taking at most `N` messages out of the ring per pass.
    fn reap_in<const N: usize>(&self) {
        loop {
            // AcqRel: the Release half hands this thread's cursor store
            // (made before) to the pass that serves this request: the
            // running reaper's swap below continues this increment's
            // release sequence, and the next reaper's Acquire increment
            // reads that swap's 0. The Acquire half pairs with the last
            // reaper's Release swap, so its store of `reaped` happens
            // before we read it.
            if self.requests.fetch_add(1, Ordering::AcqRel) != 0 {
                return;
            }
            let mut taken = Taken::<T, N>::new();
            let all = self.take_passed(&mut taken);
            // Release: orders this pass's store of `reaped` before the next
            // reaper's increment (above), which reads this 0. The increments
            // that came in meanwhile need no Acquire here: this swap, a
            // read-modify-write, continues their release sequences, so the
            // next reaper's Acquire increment synchronises with them too,
            // and their cursor stores happen before its pass (mutation 60,
            // an `AcqRel` swap weakened to this, survived every model).
            let asked = self.requests.swap(0, Ordering::Release);
            if self.wait.may_sleep() {
                self.not_full.notify();
            }
            // Another pass if requests came in meanwhile (their requesters
            // counted on this reaper) or if the messages did not all fit.
            let again = asked != 1 || !all;
            // The messages' `Drop`s run here, no longer as the reaper: they
            // may publish (the publisher reaps for itself if this pass made
            // too little room), lend, drop a subscriber or reap themselves. If one panics, the others are
            // still dropped and the next pass still runs, while unwinding.
            let rest = Again { ring: self, again };
            drop(taken);
            mem::forget(rest);
            if !again {
                return;
            }
        }
    }

    /// The publisher's gate for a `T` with drop glue: every sequence before
    /// it is reaped, its slot free.
    #[inline]
    pub(super) fn reaped(&self) -> usize {
        // Acquire: pairs with the reaper's Release store in `take_passed`;
        // the move out of each slot before it happens before our reuse.
        self.reaped.load(Ordering::Acquire)
    }

    /// Moves the messages every subscriber has passed out of the ring, at
    /// most `N`, into `taken`, and moves `reaped` past them. Returns whether
    /// that was all of them. Only the reaper calls it.
    fn take_passed<const N: usize>(&self, taken: &mut Taken<T, N>) -> bool {
        // Relaxed: only the reaper stores `reaped`, and the reapers are
        // ordered by `requests` (see `reap_in`).
        let reaped = self.reaped.load(Ordering::Relaxed);
        // The end first, then the cursors: a subscriber the scan misses
        // joined at the publisher's tail, at or past this end (a clone is
        // caught by the scan itself).
        let end = self.readable_end(reaped);
        let passed = end.wrapping_sub(self.cursors.lag(end));
        if (passed.wrapping_sub(reaped) as isize) < 0 {
            // A subscriber joining a multi-publisher ring holds a place
            // behind `reaped` for a moment, then moves to the tail, which is
            // never behind it (see `Subscriber::join_multi`), and asks for a
            // reap. It reads nothing before; nothing to do now.
            return true;
        }
        // Every cursor past `reaped`, and the end, lie within a lap of it.
        debug_assert!(passed.wrapping_sub(reaped) <= self.capacity());
        let count = passed.wrapping_sub(reaped).min(N);
        for (offset, item) in taken.items.iter_mut().enumerate().take(count) {
            let sequence = reaped.wrapping_add(offset);
            // Every cursor is at or past `passed` (the scan's Acquire loads
            // pair with the subscribers' Release cursor stores), and every
            // sequence from `reaped` to the end holds a published message
            // (`readable_end` acquired it).
            // SAFETY: so nobody reads the slot any more (`with_mut`: under
            // loom, the move counts as a write, checked against their
            // reads), and it holds a message, moved out once, here, as
            // `reaped` passes it below.
            item.write(
                self.slot(sequence)
                    .with_mut(|slot| unsafe { (*slot).assume_init_read() }),
            );
            taken.len += 1;
        }
        if count != 0 {
            // Release: pairs with the publishers' Acquire loads of `reaped`
            // (`Ring::reaped`): the moves above happen before the slots are
            // written again.
            self.reaped
                .store(reaped.wrapping_add(count), Ordering::Release);
        }
        count == passed.wrapping_sub(reaped)
    }
}

/// Messages taken out of the ring by one reap pass, dropped (in order) when
/// this drops.
struct Taken<T, const N: usize> {
    items: [MaybeUninit<T>; N],
    /// `items[..len]` are initialised.
    len: usize,
}

impl<T, const N: usize> Taken<T, N> {
    fn new() -> Self {
        Taken {
            items: std::array::from_fn(|_| MaybeUninit::uninit()),
            len: 0,
        }
    }
}

impl<T, const N: usize> Drop for Taken<T, N> {
    fn drop(&mut self) {
        let items = self.items.as_mut_ptr().cast::<T>();
        crate::leftovers::drop_each(0, self.len, &|i| {
            // SAFETY: `items[..len]` are initialised, and `drop_each` visits
            // each index once.
            unsafe { ptr::drop_in_place(items.add(i)) }
        });
    }
}

/// The pass still owed to requesters if a message's `Drop` panics.
struct Again<'r, T> {
    ring: &'r Ring<T>,
    again: bool,
}

impl<T> Drop for Again<'_, T> {
    fn drop(&mut self) {
        if self.again {
            self.ring.reap();
        }
    }
}
