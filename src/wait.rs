//! How a blocked side waits: [`Wait`], and the sleep/wake handshake behind
//! [`Wait::Park`].
//!
//! A send waits while the ring is full, a receive while it is empty. Every
//! primitive runs the same loop, [`block`]: try the lock-free operation; if it
//! would block, wait as the channel's [`Wait`] says; try again.
//!
//! # The sleep/wake handshake (no lost wake-up, no syscall when nobody sleeps)
//!
//! A [`Signal`] is where the threads that wait for one condition ("not empty",
//! "not full") sleep. Its `sleepers` counter is the only thing the other side
//! reads on its hot path:
//!
//! ```text
//!  sleeper (ring looked empty)            notifier (just published)
//!  ─────────────────────────────          ─────────────────────────────
//!  lock                                   store tail            (W_t)
//!  sleepers += 1                (W_s)     fence(SeqCst)         (F1)
//!  fence(SeqCst)                (F2)      load sleepers         (R_s)
//!  try again: load tail         (R_t)     if R_s > 0 { lock; notify_all }
//!  if still empty: wait (unlocks)
//! ```
//!
//! The two fences are totally ordered. If `F1` comes first, `R_t` sees `W_t`
//! and the sleeper does not sleep; if `F2` comes first, `R_s` sees `W_s` and
//! the notifier wakes it. The sleeper holds the lock from before `W_s` until
//! the condition variable releases it, and the notifier takes the lock before
//! notifying, so the notification cannot fall between the re-check and the
//! wait. A notifier that sees `sleepers == 0` pays one fence and one load: no
//! lock, no syscall. The loom model `park_wakeup` in `loom-tests/` fails when
//! either fence is removed.
//!
//! On Linux the pair is asymmetric (`sync::light_fence`,
//! `sync::heavy_fence`): the sleeper, already on its slow path, makes
//! `membarrier(2)` run a full barrier on every running thread of the process,
//! so the notifier's `F1` shrinks to a compiler fence and a message costs no
//! fence instruction at all. The argument is the same with `F1` placed where
//! the membarrier interrupts the notifier: if that point comes before `R_s`,
//! `W_t` has left the store buffer when the sleeper reads `tail`; if after,
//! `R_s` sees `W_s`, which the syscall made visible before it interrupted
//! anyone.
//!
//! # Registered wakers: async tasks, `Select`, readiness fds
//!
//! Besides sleeping threads, a [`Signal`] holds registered [`Waker`]s: an
//! async task's (`recv_async`, `send_async`, the streams and sinks), a
//! [`Select`](crate::select::Select)'s thread token, an armed readiness fd.
//! They use the same handshake, with the registration in place of `W_s`:
//!
//! ```text
//!  waiter (try_ failed)                    notifier (just published)
//!  ─────────────────────────────           ─────────────────────────────
//!  lock; push waker; sleepers += 1 (W_s)   store tail            (W_t)
//!  unlock                                  fence                 (F1)
//!  fence(SeqCst)                   (F2)    load sleepers         (R_s)
//!  try again                       (R_t)   if R_s > 0 { lock; wake and
//!  still blocked: Pending / park               remove every waker;
//!                                              notify_all }
//! ```
//!
//! The fence argument is the one above. A waker needs no lock across the
//! re-check (a thread does, because it must be inside `cond.wait` before the
//! notification): the waker is in the list before `W_s`, both under the
//! lock, so a notifier that reads `R_s > 0` and then takes the lock finds it.
//! A notifier wakes *and removes* every waker (so `sleepers` drops back and
//! the next message costs nothing again): a woken task that still finds
//! nothing registers anew. A waiter that stops waiting (a dropped future, a
//! select that returned) removes its own entry, found by a registration id
//! that no other registration in the process ever gets (`sync::unique_id`),
//! so it can never remove or overwrite someone else's, not even on another
//! signal that a freed one's memory was reused for.
//!
//! No waker is woken, cloned or dropped under the lock: a notifier takes
//! the whole list out under it and wakes the wakers after, and a
//! registration clones before it and drops a replaced waker after. A
//! waker's code is the executor's, and it may re-enter the channel: poll
//! its task at once (which then unregisters, or registers anew), send, or
//! drop the task and with it the last handle of a side, which notifies.
//! It may also panic: the notifier wakes the other wakers all the same, and
//! only then lets the panic go on (`unwind::HeldPanic`).
//! A parked thread's re-check, by contrast, does run under the lock: what
//! it calls must not run user code (`block`).
//!
//! # Spin and Yield channels
//!
//! Their senders and receivers never call `notify` (that is what keeps
//! those strategies free of fences on the hot path), so nothing registered
//! on their signals would ever be woken. Rather than make every `Spin`
//! operation pay a fence and a load for the rare external waiter, the
//! waiters adapt: a future on such a channel wakes itself and returns
//! `Pending` (the executor polls it again: a busy poll, which is what
//! `Spin` means), a `Select` holding such a receiver polls instead of
//! parking, and a readiness fd refuses to arm (`io::ErrorKind::Unsupported`)
//! instead of never becoming readable.

use std::task::Waker;
use std::time::Instant;

use crate::sync::{
    asymmetric_fences, heavy_fence, light_fence, spin_loop, unique_id, yield_now, AtomicUsize,
    Condvar, Mutex, Ordering,
};
use crate::unwind::HeldPanic;
pub(crate) use patience::Patience;

pub(crate) mod pace;
mod patience;
pub(crate) mod task;

/// How a sender waits while the ring is full, and a receiver while it is empty.
///
/// Set per channel with the `Builder`s:
///
/// ```
/// use ringbus::{spsc, Wait};
///
/// let (tx, rx) = spsc::Builder::new(64).wait(Wait::Park).build();
/// tx.send(7u32).unwrap();
/// assert_eq!(rx.recv(), Ok(7));
/// assert_eq!(Wait::default(), Wait::Backoff);
/// ```
///
/// | strategy  | latency to wake | CPU while waiting | cost on the other side's hot path |
/// |-----------|-----------------|-------------------|-----------------------------------|
/// | `Spin`    | lowest          | a whole core      | none                              |
/// | `Yield`   | low             | a whole core, shared with runnable threads | none     |
/// | `Backoff` | low, then a wake-up | a core for ~100 µs, then none | one fence and one load |
/// | `Park`    | a wake-up (µs)  | none              | one fence and one load            |
///
/// `Spin` and `Yield` suit a thread pinned to a core of its own. On a machine
/// with more busy threads than cores they waste the time slice the other side
/// needs: prefer `Backoff`, the default.
///
/// A side of an spsc, mpmc or broadcast ring (and so a pipeline's pushers and
/// pullers) that waits in `send`/`recv` (not in a loop of its own around
/// `try_send`/`try_recv`) also paces itself, whatever its `Wait`: when its
/// last wait was over within a few polls, the other side is streaming, and
/// it pauses a few spin-loop hints before polling again. That keeps a
/// spinning ring in its fast steady state (the two sides far apart) instead
/// of the slow one (each polling the line the other is writing); a wait for
/// a lone message is not paced, so latency is unchanged. See
/// `docs/benchmarks.md`, "Two steady states" and "Pacing the mpmc ring".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Wait {
    /// Busy-spin with a spin-loop hint. Never sleeps.
    Spin,
    /// Call `std::thread::yield_now` between tries. Never sleeps.
    Yield,
    /// Spin a little (7 spin-loop hints), then yield a while (at least 64
    /// yields and 100 µs), then park as [`Wait::Park`] does. The default.
    /// The long yield phase keeps a waiter off the costly park path, and
    /// gives its core to the thread it waits for when that thread shares
    /// the core.
    #[default]
    Backoff,
    /// Sleep on a condition variable until the other side wakes this one:
    /// zero CPU while idle.
    Park,
}

impl Wait {
    /// Whether a side waiting this way may go to sleep, so that the other side
    /// must check for sleepers after each operation.
    #[inline]
    pub(crate) fn may_sleep(self) -> bool {
        matches!(self, Wait::Backoff | Wait::Park)
    }
}

/// Where the threads that wait for one condition sleep (see the module doc).
#[derive(Debug)]
pub(crate) struct Signal {
    /// How many threads are registered to sleep. Written by sleepers, read by
    /// notifiers after their publishing store and a `SeqCst` fence.
    sleepers: AtomicUsize,
    /// Held by a sleeper from its registration until it waits; taken by a
    /// notifier before it notifies. Guards the registered wakers.
    lock: Mutex<Wakers>,
    /// Where sleepers wait.
    cond: Condvar,
}

impl Signal {
    pub(crate) fn new() -> Self {
        // Settle the fence mode before any handle can notify.
        let _ = asymmetric_fences();
        Signal {
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(Wakers { list: Vec::new() }),
            cond: Condvar::new(),
        }
    }

    /// Wakes every sleeper. Call after the store that may end their wait.
    #[inline]
    pub(crate) fn notify(&self) {
        if self.has_sleepers() {
            self.wake_all();
        }
    }

    /// [`notify`](Self::notify) for a caller with more to do after it (a
    /// delivery walk): a panic of a waker's `wake` is held in `held`, not
    /// let through the caller. Only the waking, off the fast path, runs
    /// such code.
    #[inline]
    pub(crate) fn notify_holding(&self, held: &mut HeldPanic) {
        if self.has_sleepers() {
            held.run(|| self.wake_all());
        }
    }

    /// Whether someone sleeps on this signal, as a notifier must ask it:
    /// after its publishing store, through the fence pair.
    #[inline]
    fn has_sleepers(&self) -> bool {
        // F1: orders the caller's publishing store before the load below, and
        // pairs with F2 in `sleep` (see the module doc). A compiler fence when
        // F2 is a membarrier (`sync::light_fence`).
        light_fence();
        // Relaxed: the fences above and in `sleep` order this load against the
        // sleeper's increment; no data is read through it.
        self.sleepers.load(Ordering::Relaxed) != 0
    }

    #[cold]
    fn wake_all(&self) {
        // Taking the lock waits out a sleeper that registered but has not yet
        // reached `cond.wait`; once we hold it, every registered sleeper is
        // waiting and will see the notification, and every waker registered
        // before the `sleepers` increment we saw is in the list.
        let mut wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if wakers.list.is_empty() {
            // Only threads sleep here.
            drop(wakers);
            self.cond.notify_all();
            return;
        }
        // The wakers leave the list under the lock and are woken after it:
        // a `wake` may re-enter this signal (see the module doc).
        let mut woken = std::mem::take(&mut wakers.list);
        // Relaxed: under the lock, like every change to the list.
        self.sleepers.fetch_sub(woken.len(), Ordering::Relaxed);
        drop(wakers);
        self.cond.notify_all();
        // A `wake` that panics must not leave the tasks after it asleep
        // (they left the list, and `sleepers` no longer counts them): each
        // is woken, then the first panic goes on.
        let mut held = HeldPanic::default();
        for (_, waker) in woken.drain(..) {
            held.run(|| waker.wake());
        }
        // Give the list its memory back, unless a registration made since
        // has allocated anew: waiting stays allocation-free.
        let mut wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if wakers.list.capacity() == 0 {
            std::mem::swap(&mut wakers.list, &mut woken);
        }
        drop(wakers);
        held.resume();
    }

    /// Registers `waker` (or refreshes the waker of the registration `key`
    /// names, if it is still there), then runs the fence `F2`. The caller
    /// must try its operation again afterwards, and call
    /// [`unregister`](Self::unregister) once it stops waiting.
    #[cold]
    pub(crate) fn register(&self, key: &mut Option<u64>, waker: &Waker) {
        self.register_unfenced(key, waker);
        // F2: pairs with F1 in `notify` (`sync::heavy_fence`).
        heavy_fence();
    }

    /// [`register`](Self::register) without the fence: the caller runs
    /// `sync::heavy_fence` itself before its re-check (a select registering
    /// on several signals fences once).
    #[cold]
    pub(crate) fn register_unfenced(&self, key: &mut Option<u64>, waker: &Waker) {
        // Cloned before the lock and the replaced one dropped after it: a
        // waker's clone and drop are the executor's code, which may re-enter
        // this signal (see the module doc).
        let fresh = waker.clone();
        let mut wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let present = key.and_then(|key| wakers.list.iter_mut().find(|(id, _)| *id == key));
        // What to drop after the lock: the clone, or the waker it replaced.
        let unused = match present {
            Some((_, registered)) if registered.will_wake(waker) => Some(fresh),
            Some((_, registered)) => Some(std::mem::replace(registered, fresh)),
            None => {
                let id = unique_id();
                wakers.list.push((id, fresh));
                *key = Some(id);
                // W_s. Relaxed: ordered by the caller's F2; changed only
                // under the lock while a waker is listed.
                self.sleepers.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        drop(wakers);
        drop(unused);
    }

    /// The registration of a waker that [`will_wake`](Waker::will_wake) as
    /// `waker` does, if one is listed: a readiness fd back on a signal it
    /// left takes up its own registration there.
    #[cfg(any(target_os = "linux", ringbus_loom))]
    pub(crate) fn registered_key(&self, waker: &Waker) -> Option<u64> {
        let wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let found = wakers
            .list
            .iter()
            .find(|(_, listed)| listed.will_wake(waker));
        found.map(|(id, _)| *id)
    }

    /// The number of registered wakers and the `sleepers` count (tests).
    #[cfg(all(test, not(ringbus_loom)))]
    pub(crate) fn registered(&self) -> (usize, usize) {
        let wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // Relaxed: under the lock, which orders every change to it.
        (wakers.list.len(), self.sleepers.load(Ordering::Relaxed))
    }

    /// Removes the registration `key` names, if a notifier has not removed
    /// it already. No lock when there is none.
    pub(crate) fn unregister(&self, key: &mut Option<u64>) {
        let Some(id) = key.take() else { return };
        let mut wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let removed = wakers
            .list
            .iter()
            .position(|(listed, _)| *listed == id)
            .map(|at| wakers.list.swap_remove(at));
        if removed.is_some() {
            // Relaxed: a stale count only costs a notifier a needless lock.
            self.sleepers.fetch_sub(1, Ordering::Relaxed);
        }
        // After the lock: dropping a waker may re-enter this signal.
        drop(wakers);
        drop(removed);
    }

    /// Registers as a sleeper, runs `attempt` once more, and sleeps until
    /// notified (or until `deadline`) if it still would block.
    ///
    /// Returns what `attempt` returned; `None` means "woken or timed out, try
    /// again".
    #[cold]
    fn sleep<R>(
        &self,
        deadline: Option<Instant>,
        attempt: &mut impl FnMut() -> Option<R>,
    ) -> Option<R> {
        let guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        // W_s. Relaxed: ordered by F2 below.
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        // F2: pairs with F1 in `notify` (`sync::heavy_fence`).
        heavy_fence();
        let result = attempt();
        let guard = match (&result, deadline) {
            (Some(_), _) => guard,
            (None, None) => self.cond.wait(guard).unwrap_or_else(|e| e.into_inner()),
            (None, Some(deadline)) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) => {
                    self.cond
                        .wait_timeout(guard, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => guard,
            },
        };
        // Relaxed: a stale count only costs a notifier a needless lock.
        self.sleepers.fetch_sub(1, Ordering::Relaxed);
        drop(guard);
        result
    }
}

/// The wakers registered on a [`Signal`], under its lock.
#[derive(Debug)]
struct Wakers {
    /// Registration id and waker of every registered waiter.
    list: Vec<(u64, Waker)>,
}

/// The deadline `timeout` from now, or `None` when it lies beyond what an
/// `Instant` can hold (wait for ever, never panic).
pub(crate) fn deadline(timeout: std::time::Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Runs `attempt` until it returns `Some`, waiting between tries as `wait`
/// says and sleeping on `signal` when it parks.
///
/// Returns `None` once `deadline` has passed. `attempt` must not notify
/// `signal` itself (it may notify the other side's signal), nor run user
/// code that might: a parked attempt runs under `signal`'s lock, so no
/// message may be dropped in it.
#[inline]
pub(crate) fn block<R>(
    wait: Wait,
    signal: &Signal,
    deadline: Option<Instant>,
    attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    block_with(Patience::default(), wait, signal, deadline, attempt)
}

/// [`block`], with `patience` deciding how a `Backoff` waiter spins and
/// yields before it parks.
#[inline]
pub(crate) fn block_with<R>(
    mut patience: Patience,
    wait: Wait,
    signal: &Signal,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    let mut tries: u32 = 0;
    loop {
        if let Some(result) = attempt() {
            return Some(result);
        }
        // Reading the clock costs ~20 ns: a spinner looks every 64 tries.
        tries = tries.wrapping_add(1);
        if let Some(deadline) = deadline {
            if (wait != Wait::Spin || tries % 64 == 0) && Instant::now() >= deadline {
                return None;
            }
        }
        match wait {
            Wait::Spin => spin_loop(),
            Wait::Yield => yield_now(),
            Wait::Backoff if patience.wait() => {}
            Wait::Backoff | Wait::Park => {
                if let Some(result) = signal.sleep(deadline, &mut attempt) {
                    return Some(result);
                }
            }
        }
    }
}
