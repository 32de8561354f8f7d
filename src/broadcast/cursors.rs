//! The subscribers' cursors: a table that subscribers join and leave while
//! the publisher runs, without locks and without memory reclamation.
//!
//! # Design: an epoch-free slot table
//!
//! ```text
//!   Cursors ──► Segment [ c0 | c1 | FREE | c3 | … ] ──► Segment [ … ] ──► null
//!                        (one cache line per entry)
//! ```
//!
//! Each entry is one atomic word on its own cache line: a subscriber's
//! cursor (the sequence of the next message it will read), or `FREE`, or
//! `CLAIMING` while a joiner fills it in. Segments are allocated on `join`
//! when every entry is taken, linked with a compare-exchange, and freed only
//! when the ring drops; entries are reused. Nothing is ever freed while a
//! thread may read it, so the table needs no epochs, hazard pointers or
//! arc-swap, and reading it (the publisher's scan) takes no lock. An
//! arc-swapped array would cost an allocation and a copy per join and a
//! reference-count round trip per scan; the table costs neither.
//!
//! # Joining while the publisher scans
//!
//! The publisher computes the slowest cursor by scanning the entries; it
//! must never miss a subscriber whose messages it could overwrite. A
//! subscriber joins either at the publisher's own tail (`subscribe`, on the
//! publisher's thread: program order makes it visible) or as a clone at its
//! source's cursor `c`, on the source's thread, while the source cannot move
//! (it is borrowed). The danger is a scan that reads the source's cursor
//! *after* it moved past `c` but misses the clone's entry. So every join ends
//! with a `Release` increment of `joins`, and a scan reads `joins` before and
//! after (`Acquire`) and starts over if it changed:
//!
//! - if the scan saw the source past `c`, the source moved after the join's
//!   increment, so the second read of `joins` sees the increment: rescan;
//! - if the first read already saw the increment, the clone's entry
//!   happens-before the scan, which therefore sees it.
//!
//! Joins are rare; a scan repeats only when one lands in the middle of it.
//!
//! # Cursors and markers share one word
//!
//! Sequences are `usize`s that wrap, and every value is a sequence some
//! day: on a 32-bit target after 4 G messages, a minute or two of a busy
//! ring. So an entry holds a cursor *without its top bit* (modulo
//! `2^(usize::BITS - 1)`), and only the markers `FREE` and `CLAIMING` set
//! that bit. Storing the full sequence let a cursor equal a marker: the
//! scan skipped a subscriber at `usize::MAX - 1` and let the publisher
//! overwrite the slot it was reading, and one at `usize::MAX` looked free
//! to a joiner. The scan needs only distances, and a live distance is at
//! most a ring (`2^(usize::BITS - 2)` slots at the most, see
//! `capacity.rs`), so it measures them in the same modulus.

use crate::sync::{AtomicPtr, AtomicUsize, CachePadded, Ordering};
use std::ptr;

/// An entry nobody holds.
const FREE: usize = usize::MAX;
/// An entry being filled in by a joiner: not yet a cursor.
const CLAIMING: usize = usize::MAX - 1;

/// The bits of a sequence an entry holds: all but the top one, which only
/// the markers set.
const SEQUENCE: usize = usize::MAX >> 1;

/// Entries per segment.
const SEGMENT: usize = 8;

/// A run of entries and the link to the next run.
struct Segment {
    /// Cursors, `FREE` or `CLAIMING`, one per cache line.
    entries: [CachePadded<AtomicUsize>; SEGMENT],
    /// The next segment, or null. Set once, by compare-exchange.
    next: AtomicPtr<Segment>,
}

impl Segment {
    fn new() -> Self {
        Segment {
            entries: std::array::from_fn(|_| CachePadded::new(AtomicUsize::new(FREE))),
            next: AtomicPtr::new(ptr::null_mut()),
        }
    }
}

/// One subscriber's place in the table: a pointer to its entry, valid as long
/// as the table lives (segments are freed only with it).
#[derive(Debug)]
pub(super) struct Entry(*const AtomicUsize);

// SAFETY: an `Entry` only points into the table, which is `Sync`; the
// subscriber that owns it may move to another thread.
unsafe impl Send for Entry {}
// SAFETY: as for `Send`; `&Entry` only allows atomic operations.
unsafe impl Sync for Entry {}

/// The table of subscriber cursors.
pub(super) struct Cursors {
    /// The first segment, inline.
    first: Segment,
    /// Completed joins, incremented (Release) after each join's entry is
    /// filled in; read around every scan.
    joins: CachePadded<AtomicUsize>,
    /// Subscribers alive now.
    live: AtomicUsize,
}

impl Cursors {
    pub(super) fn new() -> Self {
        Cursors {
            first: Segment::new(),
            joins: CachePadded::new(AtomicUsize::new(0)),
            live: AtomicUsize::new(0),
        }
    }

    /// Adds a subscriber whose next message is `position`.
    ///
    /// The caller guarantees that the publisher cannot overwrite `position`
    /// until this returns: `position` is the publisher's tail (called on its
    /// thread) or the cursor of a live subscriber that does not move
    /// meanwhile.
    pub(super) fn join(&self, position: usize) -> Entry {
        // Count first: the publisher must not report "no subscriber" to a
        // sender once this subscriber exists. Relaxed: a count; the entry
        // itself is ordered by `joins`.
        self.live.fetch_add(1, Ordering::Relaxed);
        let mut segment = &self.first;
        loop {
            for entry in &segment.entries {
                // Relaxed: only a hint; the compare-exchange below claims.
                // Acquire on success: pairs with the Release store of `FREE`
                // in `leave`, so the previous owner's reads of the slots
                // happen before anything this entry's new cursor allows the
                // publisher to overwrite (the publisher acquires that cursor
                // in turn). Without it, reusing an entry would let the
                // publisher reuse a slot the previous owner is still reading:
                // the `late_joiner_and_leaver_mid_stream` model caught that.
                if entry.load(Ordering::Relaxed) == FREE
                    && entry
                        .compare_exchange(FREE, CLAIMING, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    // Release: hands on what the claim above acquired (the
                    // previous owner's reads of its slots) to a publisher
                    // whose scan acquires this cursor and not the `FREE`
                    // before it: that publisher may reuse those slots
                    // (model `clone_reuses_the_entry_of_a_leaver`, mutation
                    // 106). Scans are ordered against the join itself by
                    // `joins` below.
                    entry.store(position & SEQUENCE, Ordering::Release);
                    // Release: pairs with the Acquire reads of `joins` around
                    // each scan (see the module doc).
                    self.joins.fetch_add(1, Ordering::Release);
                    return Entry(&**entry);
                }
            }
            segment = self.next_segment(segment);
        }
    }

    /// The segment after `segment`, allocating it if there is none.
    #[cold]
    fn next_segment<'a>(&'a self, segment: &'a Segment) -> &'a Segment {
        // Acquire: pairs with the AcqRel compare-exchange that linked the
        // segment, so its initialised entries are visible.
        let mut next = segment.next.load(Ordering::Acquire);
        if next.is_null() {
            let fresh = Box::into_raw(Box::new(Segment::new()));
            // AcqRel on success: the Release half publishes the initialised
            // segment to the Acquire loads of `next` (here, in `lag` and in
            // other joiners). Acquire on failure: pairs with the winner's
            // Release, so the segment it linked is initialised for us.
            match segment.next.compare_exchange(
                ptr::null_mut(),
                fresh,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => next = fresh,
                Err(linked) => {
                    // SAFETY: `fresh` was never shared; we still own it.
                    drop(unsafe { Box::from_raw(fresh) });
                    next = linked;
                }
            }
        }
        // SAFETY: linked segments live as long as the table.
        unsafe { &*next }
    }

    /// Reports that `entry`'s subscriber now stands at `cursor`.
    #[inline]
    pub(super) fn report(&self, entry: &Entry, cursor: usize) {
        // Release: pairs with the Acquire loads of the scan (`lag`); the
        // subscriber's reads of the slots before `cursor` happen before the
        // publisher reuses them.
        self.entry(entry)
            .store(cursor & SEQUENCE, Ordering::Release);
    }

    /// Removes a subscriber: from now on it holds nobody back.
    pub(super) fn leave(&self, entry: &Entry) {
        // Uncount first: a publisher whose scan sees this entry free must
        // also see one subscriber fewer (it checks `live` after scanning), or
        // it could publish into a ring that nobody reads. Release: pairs with
        // the Acquire load in `live`. That pair also orders this subscriber's
        // reads of the slots before a write the publisher makes once it sees
        // nobody left, though its scan read this cursor from before them (no
        // room): a loan granted at once, with no subscriber (model
        // `loan_after_the_last_subscriber_left`, mutations 108 and 109).
        self.live.fetch_sub(1, Ordering::Release);
        // Release: pairs with the publisher's Acquire scan (and a joiner's
        // Acquire claim); the subscriber's reads of the slots happen before
        // the publisher reuses them.
        self.entry(entry).store(FREE, Ordering::Release);
    }

    /// The atomic word behind `entry`.
    #[inline]
    fn entry<'a>(&'a self, entry: &Entry) -> &'a AtomicUsize {
        // SAFETY: `entry` was returned by `join` on this table, whose segments
        // live as long as it does.
        unsafe { &*entry.0 }
    }

    /// Subscribers alive now.
    #[inline]
    pub(super) fn live(&self) -> usize {
        // Acquire: pairs with the Release decrement in `leave`.
        self.live.load(Ordering::Acquire)
    }

    /// The slowest cursor, as a distance behind `tail` (0 when no subscriber
    /// is registered, or when every cursor is already past `tail`).
    ///
    /// Every cursor read here was stored with `Release` after its subscriber
    /// finished reading the slots before it, so the publisher may reuse them.
    pub(super) fn lag(&self, tail: usize) -> usize {
        self.slowest(tail).unwrap_or(0)
    }

    /// [`lag`](Self::lag), or `None` when the scan saw no cursor at all.
    pub(super) fn slowest(&self, tail: usize) -> Option<usize> {
        loop {
            // Acquire: pairs with the Release increment at the end of `join`.
            let before = self.joins.load(Ordering::Acquire);
            let mut lag = 0;
            let mut seen = false;
            let mut segment = Some(&self.first);
            while let Some(current) = segment {
                for entry in &current.entries {
                    // Acquire: pairs with the subscriber's Release store of
                    // its cursor (`Subscriber::advance`, `join`).
                    let cursor = entry.load(Ordering::Acquire);
                    if cursor & !SEQUENCE != 0 {
                        continue; // `FREE` or `CLAIMING`
                    }
                    // The distance modulo `2^(usize::BITS - 1)`, like the
                    // cursor (see the module doc).
                    let behind = tail.wrapping_sub(cursor) & SEQUENCE;
                    // Seen, whether or not it holds anything back.
                    seen = true;
                    // A cursor past `tail` holds nothing back at `tail`. It
                    // happens when `tail` is stale: a multi-publisher loaded
                    // it, other publishers claimed more and subscribers read
                    // past it. Counted as a wrapped distance, such a cursor
                    // looked a whole ring behind, the claim said `Full` and
                    // the publisher slept with nobody left to wake it. A
                    // cursor is never more than a ring (`SEQUENCE / 2 + 1`
                    // slots at most) behind `tail` or ahead of it.
                    if behind <= SEQUENCE / 2 + 1 {
                        lag = lag.max(behind);
                    }
                }
                // Acquire: pairs with the AcqRel link in `next_segment`.
                let next = current.next.load(Ordering::Acquire);
                // SAFETY: linked segments live as long as the table.
                segment = unsafe { next.as_ref() };
            }
            // Acquire: see the module doc; a join that finished during the
            // scan may have been missed.
            if self.joins.load(Ordering::Acquire) == before {
                return seen.then_some(lag);
            }
        }
    }
}

impl Drop for Cursors {
    fn drop(&mut self) {
        // Relaxed: `&mut self` means no other thread can reach the table.
        let mut next = self.first.next.load(Ordering::Relaxed);
        while !next.is_null() {
            // SAFETY: nobody else can reach the segments; each was made by
            // `Box::into_raw` and is freed once, here.
            let segment = unsafe { Box::from_raw(next) };
            // Relaxed: as above, nobody else can reach the table.
            next = segment.next.load(Ordering::Relaxed);
        }
    }
}

#[cfg(all(test, not(ringbus_loom)))]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_slowest_cursor_behind_tail() {
        let cursors = Cursors::new();
        assert_eq!(cursors.lag(7), 0, "no subscriber");
        let _a = cursors.join(3);
        let _b = cursors.join(5);
        assert_eq!(cursors.lag(7), 4);
    }

    #[test]
    fn a_cursor_past_a_stale_tail_holds_nothing_back() {
        // A multi-publisher that loaded `tail` = 4 before other publishers
        // claimed up to 6 and a subscriber read to 6 must not see that
        // subscriber a whole ring behind (it used to: 4 - 6 wrapped to
        // usize::MAX - 1, the claim said `Full` and the publisher slept).
        let cursors = Cursors::new();
        let _ahead = cursors.join(6);
        assert_eq!(cursors.lag(4), 0);
        let _behind = cursors.join(2);
        assert_eq!(cursors.lag(4), 2);
    }

    #[test]
    fn a_cursor_at_a_marker_value_is_still_a_cursor() {
        // After 2^32 messages on a 32-bit target a cursor reaches the
        // markers' values. Stored whole, the one at `usize::MAX - 1` was
        // skipped (lag 0: the publisher could overwrite what it reads) and
        // the one at `usize::MAX` looked free.
        let cursors = Cursors::new();
        let at_claiming = cursors.join(usize::MAX - 1);
        assert_eq!(cursors.lag(3), 5, "tail 3 is 5 past usize::MAX - 1");
        let at_free = cursors.join(usize::MAX);
        let other = cursors.join(0);
        assert_ne!(
            cursors.entry(&other) as *const _,
            cursors.entry(&at_free) as *const _
        );
        assert_eq!(cursors.live(), 3);
        cursors.leave(&at_claiming);
        assert_eq!(cursors.lag(3), 4, "usize::MAX is 4 behind 3");
        cursors.report(&at_free, 2);
        assert_eq!(cursors.lag(3), 3, "0 is 3 behind 3");
    }

    #[test]
    fn a_full_ring_of_the_largest_capacity_counts_as_behind() {
        let cursors = Cursors::new();
        let _slowest = cursors.join(7);
        let largest = 1 << (usize::BITS - 2);
        assert_eq!(cursors.lag(7usize.wrapping_add(largest)), largest);
    }
}
