//! Waiting without a thread of one's own: the futures behind `recv_async` /
//! `send_async`, and the thread token of a [`Select`](crate::select::Select).
//!
//! Every waiting form is "try; if it would block, register on the
//! [`Signal`], fence, try again; still blocked: wait" (the handshake in the
//! parent module's doc). Here the wait is `Poll::Pending` and the wake-up a
//! [`Waker`]. The fast path (the first try succeeds) touches no lock and
//! allocates nothing.
//!
//! # Spin and Yield channels
//!
//! On a channel built with [`Wait::Spin`] or [`Wait::Yield`] the other side
//! never looks for waiters (that is what makes those strategies cost nothing
//! on the hot path), so a registered waker would never be woken. A future on
//! such a channel therefore wakes itself and returns `Pending`: the executor
//! polls it again at once. That is a busy poll, which is what `Spin` means;
//! on an executor with other work it shares the thread the way `Yield` does.
//!
//! # Cancellation
//!
//! A future owns nothing until it returns `Ready`: the try that succeeds is
//! the one that takes the message, in the same `poll`. Dropping a pending
//! future removes its waker (by its registration id) and loses no message.
//! A notifier wakes every registered waiter, so a woken future that is
//! dropped without being polled leaves no other waiter asleep.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use super::{Signal, Wait};
use crate::error::{SendError, TrySendError};
use crate::sync::{Condvar, Mutex, Wake, WakeArc};

/// An operation that may block on one [`Signal`]: a receive or a send.
pub(crate) trait Poller {
    /// What the operation returns when it completes (or finds the channel
    /// disconnected).
    type Output;
    /// Where the operation waits.
    fn signal(&self) -> &Signal;
    /// The channel's wait strategy: whether the other side notifies.
    fn wait(&self) -> Wait;
    /// Tries once; `None` means "would block".
    fn attempt(&mut self) -> Option<Self::Output>;
}

/// One waiter's registration on a [`Signal`], if any.
#[derive(Debug, Default)]
pub(crate) struct Registration {
    key: Option<u64>,
}

impl Registration {
    /// Polls `op`: the lock-free try first, then the handshake.
    #[inline]
    pub(crate) fn poll<P: Poller + ?Sized>(
        &mut self,
        op: &mut P,
        cx: &mut Context<'_>,
    ) -> Poll<P::Output> {
        if let Some(output) = op.attempt() {
            if self.key.is_some() {
                op.signal().unregister(&mut self.key);
            }
            return Poll::Ready(output);
        }
        self.poll_slow(op, cx)
    }

    #[cold]
    fn poll_slow<P: Poller + ?Sized>(
        &mut self,
        op: &mut P,
        cx: &mut Context<'_>,
    ) -> Poll<P::Output> {
        if !op.wait().may_sleep() {
            // Spin/Yield: nobody will wake us (see the module doc).
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        op.signal().register(&mut self.key, cx.waker());
        // R_t: the re-check after F2.
        match op.attempt() {
            Some(output) => {
                op.signal().unregister(&mut self.key);
                Poll::Ready(output)
            }
            None => Poll::Pending,
        }
    }

    /// Removes the registration, if a notifier has not already.
    #[inline]
    pub(crate) fn cancel(&mut self, signal: &Signal) {
        if self.key.is_some() {
            signal.unregister(&mut self.key);
        }
    }
}

/// The future of one blocking operation: polls `op` until it completes.
pub(crate) struct Until<P: Poller> {
    op: P,
    registration: Registration,
}

impl<P: Poller> Until<P> {
    pub(crate) fn new(op: P) -> Self {
        Until {
            op,
            registration: Registration::default(),
        }
    }
}

// The future never hands out a pinned reference to `op`: it can move freely.
impl<P: Poller> Unpin for Until<P> {}

impl<P: Poller> Future for Until<P> {
    type Output = P::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<P::Output> {
        let this = self.get_mut();
        this.registration.poll(&mut this.op, cx)
    }
}

impl<P: Poller> Drop for Until<P> {
    fn drop(&mut self) {
        self.registration.cancel(self.op.signal());
    }
}

/// A thread's wake-up token: a flag and a condition variable, woken through
/// a [`Waker`] (so a [`Signal`] treats it like a task). `Select` parks on one.
#[derive(Debug)]
pub(crate) struct Parker {
    woken: Mutex<bool>,
    cond: Condvar,
}

impl Parker {
    pub(crate) fn new() -> WakeArc<Self> {
        WakeArc::new(Parker {
            woken: Mutex::new(false),
            cond: Condvar::new(),
        })
    }

    /// Forgets earlier wake-ups. Call before registering the token.
    pub(crate) fn reset(&self) {
        *self.woken.lock().unwrap_or_else(|e| e.into_inner()) = false;
    }

    /// Sleeps until woken (since the last `reset`) or until `deadline`.
    pub(crate) fn park(&self, deadline: Option<Instant>) {
        let mut woken = self.woken.lock().unwrap_or_else(|e| e.into_inner());
        while !*woken {
            match deadline {
                None => woken = self.cond.wait(woken).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => {
                        woken = self
                            .cond
                            .wait_timeout(woken, left)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                    _ => return,
                },
            }
        }
    }
}

impl Wake for Parker {
    fn wake(self: WakeArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &WakeArc<Self>) {
        *self.woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cond.notify_one();
    }
}

/// One attempt of a send poller: tries the value held in `value` with
/// `try_send`, and puts it back if there was no room (so a later poll, or
/// the sink that owns it, still has it).
#[inline]
pub(crate) fn attempt_send<T>(
    value: &mut Option<T>,
    try_send: impl FnOnce(T) -> Result<(), TrySendError<T>>,
) -> Option<Result<(), SendError<T>>> {
    match try_send(value.take()?) {
        Ok(()) => Some(Ok(())),
        Err(TrySendError::Disconnected(value)) => Some(Err(SendError(value))),
        Err(TrySendError::Full(back)) => {
            *value = Some(back);
            None
        }
    }
}

/// One poll of a send op whose value lives in `value` between polls (the
/// sink's buffer): the op takes it, and a blocked op hands it back.
#[cfg(feature = "async")]
pub(crate) fn poll_send<P, T, E>(
    registration: &mut Registration,
    mut op: P,
    value: &mut Option<T>,
    take_back: impl FnOnce(&mut P) -> Option<T>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), E>>
where
    P: Poller<Output = Result<(), E>>,
{
    let result = registration.poll(&mut op, cx);
    if result.is_pending() {
        *value = take_back(&mut op);
    }
    result
}
