//! A requester's reply slot, and the ticket ([`ReplyTo`]) a request carries
//! to it.
//!
//! Each [`Requester`](super::Requester) owns one slot, made with it and kept
//! for its life. The slot holds one reply and a `state` word that packs the
//! sequence number of the request it waits for with a tag:
//!
//! ```text
//!   state = seq << 2 | tag
//!
//!   requester: arm(seq) ──► (seq, WAITING) ──cancel──► (seq, GONE)
//!                                │
//!   ticket of seq:  reply: CAS ──┴──► (seq, WRITING) ──write, Release──► (seq, FULL)
//!                   drop:  CAS ─────► (seq, GONE)
//! ```
//!
//! Only a ticket whose `seq` matches a `WAITING` state wins its
//! compare-exchange, so a reply to an older request (one that timed out) finds
//! a newer `seq` and is handed back to its replier, never written into the
//! slot. At most one compare-exchange wins per `seq`: the value cell has one
//! writer at a time, and the requester reads it only after acquiring `FULL`.
//! The state word is 64 bits wide wherever the target has 64-bit atomics
//! (every 64-bit target, and 32-bit x86 and Arm), so sequence numbers wrap
//! after 2^62 requests of one requester: a stale ticket would have to
//! outlive that many requests to be mistaken for a live one. On a target
//! without them it is a `usize`, and on 32 bits that is 2^30 requests,
//! minutes of a busy requester while one replier sits on a ticket.

use std::fmt;
use std::mem::MaybeUninit;

use super::error::ReplyError;
#[cfg(target_has_atomic = "64")]
use crate::sync::AtomicU64 as AtomicState;
#[cfg(not(target_has_atomic = "64"))]
use crate::sync::AtomicUsize as AtomicState;
use crate::sync::{yield_now, Arc, Ordering, UnsafeCell};
use crate::wait::{Signal, Wait};

/// A request's sequence number, and the state word that packs one with a
/// tag: 64 bits where the target has 64-bit atomics (module doc).
#[cfg(target_has_atomic = "64")]
pub(super) type Seq = u64;
/// A request's sequence number, and the state word that packs one with a
/// tag: a `usize` on a target without 64-bit atomics (module doc).
#[cfg(not(target_has_atomic = "64"))]
pub(super) type Seq = usize;

/// Waiting for the reply of `seq`; a ticket may claim the slot.
const WAITING: Seq = 0;
/// A replier is writing the reply of `seq`.
const WRITING: Seq = 1;
/// The reply of `seq` is in the cell.
const FULL: Seq = 2;
/// No reply will come for `seq` (abandoned by its replier, or cancelled by
/// the requester); also the state of a slot with no request yet.
const GONE: Seq = 3;

/// The state word for `seq` and `tag`.
#[inline]
fn pack(seq: Seq, tag: Seq) -> Seq {
    seq.wrapping_shl(2) | tag
}

/// The reply slot of one requester.
pub(super) struct Slot<Rep> {
    /// `seq << 2 | tag` (see the module doc). Stored by the requester when it
    /// arms a request; compare-exchanged by tickets and by the requester's
    /// cancel.
    state: AtomicState,
    /// The reply, initialised exactly while the tag is `FULL`.
    value: UnsafeCell<MaybeUninit<Rep>>,
    /// Where the requester sleeps while it waits for a reply.
    pub(super) signal: Signal,
    /// Whether the requester may sleep, so that a ticket must notify.
    wait: Wait,
}

// The slot moves a `Rep` from a replier's thread to the requester's: `Rep:
// Send`. SAFETY: the cell is written only by the ticket that won `WAITING ->
// WRITING` and read only by the requester after acquiring `FULL`: one thread
// at a time, so no `Rep: Sync` is needed.
unsafe impl<Rep: Send> Send for Slot<Rep> {}
// SAFETY: as for `Send`.
unsafe impl<Rep: Send> Sync for Slot<Rep> {}

/// What the requester found in its slot.
pub(super) enum Outcome<Rep> {
    /// The reply.
    Reply(Rep),
    /// No reply will come.
    Gone,
}

impl<Rep> Slot<Rep> {
    pub(super) fn new(wait: Wait) -> Self {
        Slot {
            state: AtomicState::new(pack(0, GONE)),
            value: UnsafeCell::new(MaybeUninit::uninit()),
            signal: Signal::new(),
            wait,
        }
    }

    /// Opens the slot for the reply of `seq`. Requester only, before the
    /// request carrying `seq` is queued.
    ///
    /// Normally the previous request is settled by now (its reply taken, or
    /// its state `GONE`), and this is one load and one store. But a
    /// `request_async` future can be leaked (`mem::forget` is safe), and then
    /// nothing settled it: its state may still be `WAITING`, a replier may be
    /// `WRITING` its reply, or the reply may sit `FULL` in the cell. Arming
    /// over it would let that late ticket and the next one write the cell at
    /// once. So it is settled first, as its own timeout would: cancelled, or
    /// its reply waited for and dropped (before arming: if that drop makes a
    /// request on this requester, the request starts on a settled slot).
    pub(super) fn arm(&self, seq: Seq) {
        // Relaxed: only decides whether to settle; `cancel` decides how, by
        // its compare-exchange and `poll`'s Acquire load. By coherence this
        // sees at least what the requester last wrote or read here: `GONE`
        // for a settled request, `WAITING` or later for a leaked one.
        let state = self.state.load(Ordering::Relaxed);
        if state & 3 != GONE {
            // `state >> 2` is the last armed `seq` (see `pack`).
            drop(self.cancel(state >> 2));
        }
        // Relaxed: a ticket for `seq` reaches a replier only through the
        // request ring, whose Release/Acquire stamps order this store before
        // the ticket's compare-exchange; a stale ticket's compare-exchange
        // fails whatever it reads, since no state of its `seq` is `WAITING`
        // any more.
        self.state.store(pack(seq, WAITING), Ordering::Relaxed);
    }

    /// Takes the outcome of `seq` if there is one. Requester only.
    #[inline]
    pub(super) fn poll(&self, seq: Seq) -> Option<Outcome<Rep>> {
        // Acquire: pairs with the Release store of `FULL` in `complete` (the
        // reply's write happens before our read).
        let state = self.state.load(Ordering::Acquire);
        if state == pack(seq, FULL) {
            // SAFETY: the tag is FULL for our `seq`: the ticket of `seq`
            // wrote the cell and will not touch it again, and no other ticket
            // can claim it until we arm the next `seq`.
            let reply = self.value.with(|v| unsafe { (*v).assume_init_read() });
            // Relaxed: only the requester reads this state; it marks the cell
            // empty so that the slot's drop does not drop the reply again.
            self.state.store(pack(seq, GONE), Ordering::Relaxed);
            Some(Outcome::Reply(reply))
        } else if state == pack(seq, GONE) || state & !3 != pack(seq, 0) {
            // Gone, or the slot was armed for a later request while this
            // one waited: a request made on this requester from code that
            // this one ran (a waker that its send woke polls a task inside
            // `wake`), whose `arm` cancelled this one. Its reply will never
            // come; without this, the wait (and `cancel`'s) went on for
            // ever, past any timeout.
            Some(Outcome::Gone)
        } else {
            None
        }
    }

    /// Stops waiting for `seq`: later replies to it are handed back to their
    /// repliers. Returns `None` if it cancelled, or the outcome that arrived
    /// first. Requester only.
    pub(super) fn cancel(&self, seq: Seq) -> Option<Outcome<Rep>> {
        // Relaxed: no data is published by cancelling; a ticket that then
        // fails its compare-exchange keeps its reply.
        match self.state.compare_exchange(
            pack(seq, WAITING),
            pack(seq, GONE),
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => None,
            // The ticket got there first: its replier is writing (a move,
            // bounded), has written, or dropped it. Wait for the tag to
            // settle and take the outcome.
            Err(_) => loop {
                if let Some(outcome) = self.poll(seq) {
                    return Some(outcome);
                }
                yield_now();
            },
        }
    }
}

impl<Rep> Drop for Slot<Rep> {
    fn drop(&mut self) {
        // Relaxed: `&mut self`, every ticket and the requester are gone, and
        // dropping the last `Arc` ordered their stores before this point.
        if self.state.load(Ordering::Relaxed) & 3 == FULL {
            // SAFETY: the tag is FULL, so the cell holds a reply nobody took.
            self.value.with_mut(|v| unsafe { (*v).assume_init_drop() });
        }
    }
}

/// Where the reply to one request goes: a ticket to its requester's slot,
/// for that request's sequence number only.
///
/// Got from [`Request::into_parts`](super::Request::into_parts), it lets a
/// replier keep the payload and answer later, from any thread. Dropping it
/// without replying tells the requester at once
/// ([`RequestError::Unanswered`](super::RequestError::Unanswered)).
///
/// ```
/// let (requester, replier) = ringbus::reqrep::channel::<String, usize>(4);
/// let server = std::thread::spawn(move || {
///     let (text, reply_to) = replier.recv().unwrap().into_parts();
///     reply_to.reply(text.len()).unwrap();
/// });
/// assert_eq!(requester.request("four".to_string()), Ok(4));
/// server.join().unwrap();
/// ```
pub struct ReplyTo<Rep> {
    /// The requester's slot while the ticket is still to be used; taken by
    /// `reply` and by `disarm`, so that `drop` does nothing. An `Option`
    /// rather than a flag beside the `Arc`: the pointer's niche keeps the
    /// ticket at 16 bytes, so a request of a `u64` with its ticket is 24,
    /// and its slot in the request ring 32: two to a cache line, none
    /// straddling two (a 40-byte slot straddles at every other index).
    slot: Option<Arc<Slot<Rep>>>,
    /// The sequence number of the request this ticket answers.
    seq: Seq,
}

impl<Rep> ReplyTo<Rep> {
    /// A ticket for the request `seq` of the requester that owns `slot`.
    #[inline]
    pub(super) fn new(slot: Arc<Slot<Rep>>, seq: Seq) -> Self {
        ReplyTo {
            slot: Some(slot),
            seq,
        }
    }

    /// A ticket whose request was never queued: dropping it tells nobody.
    #[inline]
    pub(super) fn disarm(mut self) {
        self.slot = None;
    }

    /// Sends the reply to the requester that is waiting for it.
    ///
    /// # Errors
    ///
    /// [`ReplyError`] holding the reply if the requester stopped waiting for
    /// this request (it timed out, or saw every replier go).
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(1);
    /// let server = std::thread::spawn(move || {
    ///     let (n, reply_to) = replier.recv().unwrap().into_parts();
    ///     reply_to.reply(n + 1)
    /// });
    /// assert_eq!(requester.request(1), Ok(2));
    /// assert!(server.join().unwrap().is_ok());
    /// ```
    #[inline]
    pub fn reply(mut self, reply: Rep) -> Result<(), ReplyError<Rep>> {
        // Always there: only `reply` and `disarm` take it, and both consume
        // the ticket.
        let Some(slot) = self.slot.take() else {
            return Err(ReplyError(reply));
        };
        // Relaxed: the requester's last read of the cell (the previous reply)
        // happens before it armed `seq`, which happens before this ticket
        // came out of the request ring (stamp Release/Acquire); the
        // compare-exchange only picks the one writer.
        if slot
            .state
            .compare_exchange(
                pack(self.seq, WAITING),
                pack(self.seq, WRITING),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err()
        {
            return Err(ReplyError(reply));
        }
        // The cell is empty: `arm` settled the previous request (its reply
        // taken or dropped) before it armed `seq`.
        // SAFETY: our compare-exchange moved `seq` from WAITING to WRITING:
        // we alone may touch the (empty) cell until we store FULL.
        slot.value.with_mut(|v| unsafe { (*v).write(reply) });
        // Release: pairs with the Acquire load in `Slot::poll`.
        slot.state.store(pack(self.seq, FULL), Ordering::Release);
        if slot.wait.may_sleep() {
            slot.signal.notify();
        }
        Ok(())
    }

    /// Whether the requester has stopped waiting for this reply (it timed
    /// out, or saw every replier go): a replier may skip the work.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(1);
    /// let _ = requester.request_timeout(1, Duration::from_millis(1));
    /// let (_, reply_to) = replier.recv().unwrap().into_parts();
    /// assert!(reply_to.is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        // Relaxed: a hint; `reply` decides with its compare-exchange.
        self.slot.as_ref().map_or(true, |slot| {
            slot.state.load(Ordering::Relaxed) != pack(self.seq, WAITING)
        })
    }
}

impl<Rep> Drop for ReplyTo<Rep> {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        // Relaxed: no data travels with GONE (the requester reads nothing of
        // ours after seeing it); on failure the requester stopped waiting.
        if slot
            .state
            .compare_exchange(
                pack(self.seq, WAITING),
                pack(self.seq, GONE),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok()
            && slot.wait.may_sleep()
        {
            slot.signal.notify();
        }
    }
}

impl<Rep> fmt::Debug for ReplyTo<Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplyTo")
            .field("seq", &self.seq)
            .field("abandoned", &self.is_abandoned())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ticket is a pointer and a sequence number: a request of a `u64`
    /// fits a 32-byte ring slot with its stamp (see `ReplyTo::slot`). With a
    /// `bool` beside the `Arc` it was 24 bytes, and the slot 40.
    #[cfg(all(target_pointer_width = "64", not(ringbus_loom)))]
    #[test]
    fn a_ticket_is_a_pointer_and_a_sequence_number() {
        assert_eq!(std::mem::size_of::<ReplyTo<u64>>(), 16);
        assert_eq!(std::mem::size_of::<super::super::Request<u64, u64>>(), 24);
    }

    /// A ticket 2^30 requests old must find its request settled, not the
    /// live one: 2^30 is where a `usize` state word of a 32-bit target
    /// wrapped (`seq << 2` drops the top bits), so on `i686` this failed
    /// before the state word became 64 bits: the stale reply landed in the
    /// slot of the live request.
    #[cfg(target_has_atomic = "64")]
    #[test]
    fn a_ticket_a_32_bit_wrap_old_is_stale() {
        let slot = Arc::new(Slot::<u32>::new(Wait::Spin));
        let old: Seq = 7;
        slot.arm(old);
        let stale = ReplyTo::new(slot.clone(), old);
        assert!(slot.cancel(old).is_none(), "timed out before any reply");
        let live = old + (1 << 30);
        slot.arm(live);
        assert!(stale.reply(1).is_err(), "the stale reply goes back");
        assert!(ReplyTo::new(slot.clone(), live).reply(2).is_ok());
        assert!(matches!(slot.poll(live), Some(Outcome::Reply(2))));
    }
}
