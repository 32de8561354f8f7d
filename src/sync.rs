//! The one place that names the concurrency primitives.
//!
//! Every other module imports atomics, cells, `Arc`, the parking lock and
//! thread functions from here. A normal build re-exports `std`; a build with
//! `RUSTFLAGS="--cfg ringbus_loom"` re-exports [loom]'s checked twins, so the
//! models in `loom-tests/` explore every interleaving and every weak-memory
//! outcome of the very code users run. The cfg name belongs to ringbus alone:
//! no dependency reads it, so it changes how nothing else builds.
//!
//! [loom]: https://docs.rs/loom

#[cfg(not(ringbus_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Arc, Condvar, Mutex};

    /// A hint that the caller is busy-waiting.
    #[inline]
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }

    /// Gives the rest of this time slice to another thread.
    #[inline]
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }

    /// Spin, then yield: crossbeam's exponential backoff.
    pub(crate) use crossbeam_utils::Backoff;

    /// `std::cell::UnsafeCell` behind loom's closure-shaped API, so the same
    /// code compiles against both.
    ///
    /// `repr(transparent)` (as std's cell is): a slice of cells is laid out as
    /// a run of `T`s, which the spsc chunks rely on.
    #[derive(Debug)]
    #[repr(transparent)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        #[inline]
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Runs `f` with a shared raw pointer to the contents.
        #[inline]
        pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Runs `f` with an exclusive raw pointer to the contents.
        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// One machine word of a value that a reader may load while a writer
    /// stores it (the data of a sequence lock).
    ///
    /// Each load and store is a single atomic instruction (inline assembly
    /// from `atomic-maybe-uninit`), so a racing read is not a data race: at
    /// worst it sees a mix of old and new words, which the sequence lock
    /// rejects. The word travels as `MaybeUninit`, so a value's padding bytes
    /// are copied but never read as integers.
    #[derive(Debug)]
    pub(crate) struct AtomicWord(atomic_maybe_uninit::AtomicMaybeUninit<usize>);

    impl AtomicWord {
        pub(crate) fn new() -> Self {
            AtomicWord(atomic_maybe_uninit::AtomicMaybeUninit::new(
                std::mem::MaybeUninit::uninit(),
            ))
        }

        #[inline]
        pub(crate) fn load(&self, order: Ordering) -> std::mem::MaybeUninit<usize> {
            self.0.load(order)
        }

        #[inline]
        pub(crate) fn store(&self, word: std::mem::MaybeUninit<usize>, order: Ordering) {
            self.0.store(word, order);
        }
    }
}

#[cfg(ringbus_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Arc, Condvar, Mutex};

    /// Under loom a spin is a yield to the model's scheduler.
    #[inline]
    pub(crate) fn spin_loop() {
        loom::hint::spin_loop();
    }

    /// Gives control to another modelled thread.
    #[inline]
    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }

    /// crossbeam's `Backoff` spins on `std`, which loom cannot see. This twin
    /// yields to loom's scheduler and reports completion at once, so a model
    /// reaches the parking path of `Wait::Backoff` in a few steps.
    #[derive(Debug, Default)]
    pub(crate) struct Backoff;

    impl Backoff {
        pub(crate) fn new() -> Self {
            Backoff
        }
        pub(crate) fn spin(&self) {
            loom::thread::yield_now();
        }
        pub(crate) fn snooze(&self) {
            loom::thread::yield_now();
        }
        pub(crate) fn is_completed(&self) -> bool {
            true
        }
    }

    /// loom's twin of the std `AtomicWord`: a loom `AtomicUsize`, so models
    /// check the sequence lock's orderings word by word. Only for models,
    /// whose payloads have no padding: an uninitialised byte would be read
    /// as an integer here.
    #[derive(Debug)]
    pub(crate) struct AtomicWord(loom::sync::atomic::AtomicUsize);

    impl AtomicWord {
        pub(crate) fn new() -> Self {
            AtomicWord(loom::sync::atomic::AtomicUsize::new(0))
        }

        pub(crate) fn load(&self, order: Ordering) -> std::mem::MaybeUninit<usize> {
            std::mem::MaybeUninit::new(self.0.load(order))
        }

        pub(crate) fn store(&self, word: std::mem::MaybeUninit<usize>, order: Ordering) {
            // SAFETY: loom models use padding-free payloads (see above).
            self.0.store(unsafe { word.assume_init() }, order);
        }
    }
}

pub(crate) use imp::*;

/// Pads and aligns a value to the length of a cache line, so that counters
/// written by different threads never share one.
pub(crate) use crossbeam_utils::CachePadded;
