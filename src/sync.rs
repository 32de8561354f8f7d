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
    #[cfg(target_has_atomic = "64")]
    pub(crate) use std::sync::atomic::AtomicU64;
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

    /// The notifier's half of the sleep/wake fence pair (`F1` in
    /// `wait.rs`): a full `SeqCst` fence, or, where the sleeper's half is a
    /// `membarrier(2)`, only a compiler fence.
    ///
    /// `fence(SeqCst)` must wait for the store before it (the publishing
    /// store, whose cache line the other core usually holds) to leave the
    /// store buffer: tens of nanoseconds on every message. Linux's
    /// `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)` lets the rare side pay
    /// instead: it makes every running thread of the process pass a full
    /// barrier before it returns, which orders that thread's earlier store
    /// before its later load from the sleeper's point of view, exactly what
    /// the fence pair needs (the scheme of folly's `asymmetricLightBarrier`
    /// and liburcu). The mode is chosen once, before any channel exists, and
    /// never changes.
    ///
    /// The compiler fence's half of the pair rests on that kernel guarantee,
    /// not on the Rust memory model, which knows no `membarrier`: loom checks
    /// the pair as two `SeqCst` fences, which is what the std build runs
    /// where `membarrier` is missing.
    #[inline]
    pub(crate) fn light_fence() {
        if asymmetric_fences() {
            std::sync::atomic::compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The sleeper's half of the fence pair (`F2` in `wait.rs`): see
    /// [`light_fence`].
    pub(crate) fn heavy_fence() {
        fence(Ordering::SeqCst);
        if asymmetric_fences() {
            membarrier::expedited();
        }
    }

    /// Whether the process uses `membarrier(2)` for the heavy half of the
    /// fence pair. Decided on first use (every `Signal` asks when it is made,
    /// so before any handle can notify) and fixed from then on.
    #[inline]
    pub(crate) fn asymmetric_fences() -> bool {
        static ASYMMETRIC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ASYMMETRIC.get_or_init(membarrier::register)
    }

    #[cfg(target_os = "linux")]
    mod membarrier {
        const QUERY: libc::c_long = 0;
        const PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
        const REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

        fn call(command: libc::c_long) -> libc::c_long {
            // SAFETY: membarrier takes two integers and touches no memory of
            // ours; an unknown command fails with an error code.
            unsafe {
                libc::syscall(
                    libc::SYS_membarrier,
                    command,
                    0 as libc::c_long,
                    0 as libc::c_long,
                )
            }
        }

        /// Registers the process for expedited barriers; false if the kernel
        /// cannot (old kernel, seccomp): then both halves are real fences.
        pub(super) fn register() -> bool {
            let supported = call(QUERY);
            supported >= 0
                && supported & PRIVATE_EXPEDITED != 0
                && call(REGISTER_PRIVATE_EXPEDITED) == 0
        }

        /// A full barrier on every running thread of the process.
        pub(super) fn expedited() {
            let result = call(PRIVATE_EXPEDITED);
            // Registration succeeded, so this cannot fail; if it ever did,
            // the notifiers' compiler fences would not be enough.
            assert_eq!(result, 0, "ringbus: membarrier failed after registration");
        }
    }

    #[cfg(not(target_os = "linux"))]
    mod membarrier {
        pub(super) fn register() -> bool {
            false
        }

        pub(super) fn expedited() {}
    }
}

#[cfg(ringbus_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    #[cfg(target_has_atomic = "64")]
    pub(crate) use loom::sync::atomic::AtomicU64;
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
            // `lossy::Ring::store_value` starts each word from zeros under
            // loom, so only a payload's padding bytes could be uninitialised.
            // SAFETY: the models use padding-free payloads (see above).
            self.0.store(unsafe { word.assume_init() }, order);
        }
    }

    /// Under loom both halves of the fence pair are `SeqCst` fences, which is
    /// what the models check; the std build may make the notifier's half a
    /// compiler fence when the sleeper's is a `membarrier(2)`.
    #[inline]
    pub(crate) fn light_fence() {
        fence(Ordering::SeqCst);
    }

    /// See [`light_fence`].
    pub(crate) fn heavy_fence() {
        fence(Ordering::SeqCst);
    }

    /// Always false under loom.
    pub(crate) fn asymmetric_fences() -> bool {
        false
    }
}

pub(crate) use imp::*;

/// Real threads, for the unit tests that spawn them (never built under
/// loom, whose models spawn through `loom::thread` in `loom-tests/`).
#[cfg(all(test, not(ringbus_loom)))]
pub(crate) use std::thread;

/// Wakers are built from std's `Arc` in both builds (`std::task::Wake` knows
/// no other): loom need not see a waker's reference count, only what waking
/// it does, which goes through the primitives above.
pub(crate) use std::sync::Arc as WakeArc;
pub(crate) use std::task::Wake;

/// A word that holds only a timing hint (`wait::pace::SharedPace`): std's
/// `AtomicU32` in both builds. What it holds decides when a thread polls
/// again, never what the poll sees, and the loom build never touches it, so
/// the models need not track it.
pub(crate) use std::sync::atomic::AtomicU32 as HintWord;

/// A number no other call in this process returns: the ids of waker
/// registrations (`wait::Signal`), so that a stale id, kept by a waiter
/// after its signal was freed (`readiness`), never names a registration on
/// another signal that happens to live at the same address. std's atomic in
/// both builds: only uniqueness matters, no data goes with it, and the
/// models need not track it.
pub(crate) fn unique_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // Relaxed: only the atomicity of the increment matters.
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Pads and aligns a value to the length of a cache line, so that counters
/// written by different threads never share one.
pub(crate) use crossbeam_utils::CachePadded;
