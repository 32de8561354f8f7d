//! Zero-copy access to an [`spsc`](super) ring: write and read messages in
//! the slots themselves.
//!
//! A chunk is a run of `n` consecutive slots, lent by
//! [`Sender::write_chunk_uninit`] (free slots) or [`Receiver::read_chunk`]
//! (filled slots). Because the ring wraps, a chunk is one or two slices:
//!
//! ```text
//!   slots: [ 5 | 6 | · | · | · | · | 3 | 4 ]
//!            └second┘              └first─┘     read_chunk(4) from head = 6
//! ```
//!
//! Nothing moves until `commit`: the sender's commit publishes the first `k`
//! slots with one `Release` store of `tail` (and at most one wake-up), the
//! receiver's drops the first `k` messages in place and hands their slots
//! back with one store of `head`. Dropping a chunk without committing it
//! changes nothing.
//!
//! Chunks are not available in loom builds: they hand out plain slices of the
//! ring, which loom's per-cell tracking cannot follow. Their index protocol
//! is the one `try_send` and `try_recv` use, which the models check.

use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;
use std::slice;

use super::{Receiver, Ring, Sender};

/// Not enough slots for the chunk asked for.
///
/// ```
/// use ringbus::spsc::ChunkError;
///
/// let (mut tx, _rx) = ringbus::spsc::channel::<u8>(4);
/// assert_eq!(tx.write_chunk_uninit(5).unwrap_err(), ChunkError::TooFewSlots(4));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkError {
    /// Only this many slots are available now (free ones for a write chunk,
    /// filled ones for a read chunk).
    TooFewSlots(usize),
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkError::TooFewSlots(available) => {
                write!(f, "only {available} slots are available")
            }
        }
    }
}

impl std::error::Error for ChunkError {}

/// Where a chunk of `len` slots starting at `index` lies in the slot array:
/// `(offset of the first slice, its length, length of the second slice)`.
/// The second slice, if any, starts at offset 0.
fn split<T>(ring: &Ring<T>, index: usize, len: usize) -> (usize, usize, usize) {
    let start = index & ring.mask;
    let first = len.min(ring.capacity() - start);
    (start, first, len - first)
}

/// The slots as one run of `MaybeUninit<T>`.
///
/// The pointer comes from the whole slice, so it may address every slot; the
/// slots are `UnsafeCell`s, so writing through it from a shared borrow of the
/// ring is allowed. `UnsafeCell` is `repr(transparent)`, so the cast keeps the
/// layout.
fn base<T>(ring: &Ring<T>) -> *mut MaybeUninit<T> {
    ring.slots.as_ptr().cast::<MaybeUninit<T>>().cast_mut()
}

#[track_caller]
fn check_commit(count: usize, len: usize) {
    assert!(
        count <= len,
        "ringbus: cannot commit {count} slots of a chunk of {len}"
    );
}

impl<T> Sender<T> {
    /// Lends the next `n` free slots, uninitialised, to be written in place.
    ///
    /// Write them through [`WriteChunkUninit::as_mut_slices`] and publish the
    /// first `k` with [`commit`](WriteChunkUninit::commit), or use the safe
    /// [`fill_from_iter`](WriteChunkUninit::fill_from_iter). A chunk of 0 slots
    /// is allowed.
    ///
    /// The chunk does not check for a receiver: what it publishes after the
    /// receiver is gone is dropped with the ring (see
    /// [`is_disconnected`](Sender::is_disconnected)).
    ///
    /// # Errors
    ///
    /// [`ChunkError::TooFewSlots`] with the number of free slots when there
    /// are fewer than `n`.
    ///
    /// ```
    /// use std::mem::MaybeUninit;
    ///
    /// let (mut tx, rx) = ringbus::spsc::channel::<u32>(4);
    /// let mut chunk = tx.write_chunk_uninit(3).unwrap();
    /// let (first, second) = chunk.as_mut_slices();
    /// for (slot, value) in first.iter_mut().chain(second).zip(10..) {
    ///     *slot = MaybeUninit::new(value);
    /// }
    /// // SAFETY: all three slots were initialised above.
    /// unsafe { chunk.commit_all() };
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [10, 11, 12]);
    /// ```
    pub fn write_chunk_uninit(&mut self, n: usize) -> Result<WriteChunkUninit<'_, T>, ChunkError> {
        let free = self.free(n);
        if free < n {
            return Err(ChunkError::TooFewSlots(free));
        }
        Ok(WriteChunkUninit {
            sender: self,
            len: n,
        })
    }
}

/// `n` free slots of an spsc ring, lent to be written in place, from
/// [`Sender::write_chunk_uninit`].
///
/// Nothing is published until [`commit`](Self::commit),
/// [`commit_all`](Self::commit_all) or
/// [`fill_from_iter`](Self::fill_from_iter). Values written and not committed
/// are never dropped (they leak), as with any `MaybeUninit`.
pub struct WriteChunkUninit<'a, T> {
    sender: &'a Sender<T>,
    len: usize,
}

impl<T> WriteChunkUninit<'_, T> {
    /// The slots, in order: two slices when the chunk wraps around the end of
    /// the ring, else the second is empty.
    pub fn as_mut_slices(&mut self) -> (&mut [MaybeUninit<T>], &mut [MaybeUninit<T>]) {
        let ring = &*self.sender.ring;
        let (start, first, second) = split(ring, self.sender.tail.get(), self.len);
        let base = base(ring);
        // The `len` slots from `tail` are free (checked when the chunk was
        // made; only this exclusive borrow of the sender could change that),
        // so the receiver does not touch them; `start + first` and `second`
        // stay within the slot array.
        // SAFETY: and the ranges are disjoint (`first + second = len <= capacity`).
        unsafe {
            (
                slice::from_raw_parts_mut(base.add(start), first),
                slice::from_raw_parts_mut(base, second),
            )
        }
    }

    /// Publishes the first `count` slots to the receiver.
    ///
    /// # Safety
    ///
    /// The first `count` slots of the chunk must have been initialised.
    ///
    /// # Panics
    ///
    /// If `count` exceeds the chunk's length; the ring is left untouched.
    ///
    /// ```
    /// use std::mem::MaybeUninit;
    ///
    /// let (mut tx, rx) = ringbus::spsc::channel::<u8>(4);
    /// let mut chunk = tx.write_chunk_uninit(4).unwrap();
    /// chunk.as_mut_slices().0[0] = MaybeUninit::new(7);
    /// // SAFETY: the first slot is initialised.
    /// unsafe { chunk.commit(1) };
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// ```
    #[track_caller]
    pub unsafe fn commit(self, count: usize) {
        check_commit(count, self.len);
        self.sender.publish(count);
    }

    /// Publishes every slot of the chunk.
    ///
    /// # Safety
    ///
    /// Every slot of the chunk must have been initialised.
    pub unsafe fn commit_all(self) {
        self.sender.publish(self.len);
    }

    /// Writes values from `iter` until the chunk is full or `iter` ends, and
    /// publishes them. Returns how many it wrote.
    ///
    /// If `iter` panics, the values written before the panic are published.
    ///
    /// ```
    /// let (mut tx, rx) = ringbus::spsc::channel::<char>(8);
    /// let chunk = tx.write_chunk_uninit(5).unwrap();
    /// assert_eq!(chunk.fill_from_iter("abc".chars()), 3);
    /// assert_eq!(rx.try_iter().collect::<String>(), "abc");
    /// ```
    pub fn fill_from_iter(mut self, iter: impl IntoIterator<Item = T>) -> usize {
        /// Publishes what was written, on return and on unwind alike.
        struct Publish<'s, T> {
            sender: &'s Sender<T>,
            written: usize,
        }
        impl<T> Drop for Publish<'_, T> {
            fn drop(&mut self) {
                self.sender.publish(self.written);
            }
        }

        let sender = self.sender;
        let (first, second) = self.as_mut_slices();
        let mut done = Publish { sender, written: 0 };
        let mut iter = iter.into_iter();
        for slot in first.iter_mut().chain(second) {
            let Some(value) = iter.next() else { break };
            slot.write(value);
            done.written += 1;
        }
        done.written
    }

    /// The number of slots in the chunk.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk has no slot.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> fmt::Debug for WriteChunkUninit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteChunkUninit")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Lends the next `n` messages, to be read in place.
    ///
    /// Read them through [`ReadChunk::as_slices`]; [`commit`](ReadChunk::commit)
    /// drops the first `k` and hands their slots back to the sender. A chunk
    /// of 0 slots is allowed.
    ///
    /// # Errors
    ///
    /// [`ChunkError::TooFewSlots`] with the number of waiting messages when
    /// there are fewer than `n`.
    ///
    /// ```
    /// let (tx, mut rx) = ringbus::spsc::channel(4);
    /// for word in ["a", "b", "c"] {
    ///     tx.send(word.to_string()).unwrap();
    /// }
    /// let chunk = rx.read_chunk(2).unwrap();
    /// let (first, second) = chunk.as_slices();
    /// let joined: String = first.iter().chain(second).map(String::as_str).collect();
    /// assert_eq!(joined, "ab");
    /// chunk.commit_all(); // drops "a" and "b" in place
    /// assert_eq!(rx.recv().unwrap(), "c");
    /// ```
    pub fn read_chunk(&mut self, n: usize) -> Result<ReadChunk<'_, T>, ChunkError> {
        let available = self.available(n);
        if available < n {
            return Err(ChunkError::TooFewSlots(available));
        }
        Ok(ReadChunk {
            receiver: self,
            len: n,
        })
    }
}

/// `n` messages of an spsc ring, lent to be read in place, from
/// [`Receiver::read_chunk`].
///
/// Nothing is released until [`commit`](Self::commit) or
/// [`commit_all`](Self::commit_all); a chunk dropped without either leaves
/// every message in the ring.
pub struct ReadChunk<'a, T> {
    receiver: &'a Receiver<T>,
    len: usize,
}

impl<T> ReadChunk<'_, T> {
    /// The messages, oldest first: two slices when the chunk wraps around the
    /// end of the ring, else the second is empty.
    pub fn as_slices(&self) -> (&[T], &[T]) {
        let ring = &*self.receiver.ring;
        let (start, first, second) = split(ring, self.receiver.head.get(), self.len);
        let base = base(ring).cast::<T>().cast_const();
        // The `len` slots from `head` hold messages the sender published (we
        // acquired its `tail` store when the chunk was made) and will not
        // touch until `head` moves, which only `commit` does, consuming this.
        // SAFETY: so they are readable; the ranges lie within the array and
        // are disjoint (`first + second = len <= capacity`).
        unsafe {
            (
                slice::from_raw_parts(base.add(start), first),
                slice::from_raw_parts(base, second),
            )
        }
    }

    /// Drops the first `count` messages in place and hands their slots back
    /// to the sender.
    ///
    /// # Panics
    ///
    /// If `count` exceeds the chunk's length; the ring is left untouched.
    ///
    /// ```
    /// let (tx, mut rx) = ringbus::spsc::channel(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// rx.read_chunk(2).unwrap().commit(1);
    /// assert_eq!(rx.recv(), Ok(2));
    /// ```
    #[track_caller]
    pub fn commit(self, count: usize) {
        check_commit(count, self.len);

        /// Releases the slots even if a message's `Drop` panics, so that no
        /// message is dropped twice.
        struct Release<'r, T> {
            receiver: &'r Receiver<T>,
            count: usize,
        }
        impl<T> Drop for Release<'_, T> {
            fn drop(&mut self) {
                self.receiver.release(self.count);
            }
        }

        /// Drops the second range (after the wrap) even if a message of
        /// the first panics, so that none leaks.
        struct DropOnExit<T>(*mut [T]);
        impl<T> Drop for DropOnExit<T> {
            fn drop(&mut self) {
                // SAFETY: see `commit` below: the range holds initialised
                // messages only this receiver may touch, dropped once, here.
                unsafe { ptr::drop_in_place(self.0) }
            }
        }

        let ring = &*self.receiver.ring;
        let (start, first, second) = split(ring, self.receiver.head.get(), count);
        let base = base(ring).cast::<T>();
        let _release = Release {
            receiver: self.receiver,
            count,
        };
        let second = DropOnExit(ptr::slice_from_raw_parts_mut(base, second));
        // Each range is dropped once: the first here, the second by `second`
        // (even if one of the first panics); `_release` then moves `head`
        // past them before anyone can read them again.
        // SAFETY: as in `as_slices`, the ranges hold initialised messages
        // that only this receiver may touch.
        unsafe { ptr::drop_in_place(ptr::slice_from_raw_parts_mut(base.add(start), first)) };
        drop(second);
    }

    /// Drops every message of the chunk in place and hands the slots back.
    pub fn commit_all(self) {
        let len = self.len;
        self.commit(len);
    }

    /// The number of messages in the chunk.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chunk has no message.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> fmt::Debug for ReadChunk<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadChunk")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
