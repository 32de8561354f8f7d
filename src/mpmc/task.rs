//! The async forms of the mpmc ends (`recv_async`, `send_async`) and their
//! readiness for [`Select`](crate::select::Select) and readiness fds.

use std::future::Future;

use super::{diff, full_stamp, Receiver, Ring, Sender};
use crate::error::{RecvError, SendError, TryRecvError};
use crate::select::sealed::SignalRef;
use crate::sync::Ordering;
use crate::wait::task::{Poller, Until};
use crate::wait::{Signal, Wait};

/// A pending receive: the receiver it borrows.
pub(crate) struct Recv<'a, T>(pub(crate) &'a Receiver<T>);

impl<T> Poller for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn signal(&self) -> &Signal {
        &self.0.ring.not_empty
    }

    fn wait(&self) -> Wait {
        self.0.ring.wait
    }

    #[inline]
    fn attempt(&mut self) -> Option<Self::Output> {
        match self.0.ring.try_recv() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }
}

/// A pending send: the sender it borrows and the value, until it is sent.
pub(crate) struct Send<'a, T> {
    pub(crate) tx: &'a Sender<T>,
    pub(crate) value: Option<T>,
}

impl<T> Poller for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn signal(&self) -> &Signal {
        &self.tx.ring.not_full
    }

    fn wait(&self) -> Wait {
        self.tx.ring.wait
    }

    #[inline]
    fn attempt(&mut self) -> Option<Self::Output> {
        crate::wait::task::attempt_send(&mut self.value, |v| self.tx.ring.try_send(v))
    }
}

impl<T> Receiver<T> {
    /// Takes a message, as a future that waits while the ring is empty. Runs
    /// on any executor.
    ///
    /// Cancellation-safe: a message is claimed only in the `poll` that
    /// returns it, so dropping the future loses nothing. On a
    /// [`Wait::Spin`]/[`Wait::Yield`] ring it busy-polls.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and every sender gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(4);
    /// std::thread::spawn(move || tx.send("job").unwrap());
    /// assert_eq!(futures::executor::block_on(rx.recv_async()), Ok("job"));
    /// ```
    pub fn recv_async(&self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        Until::new(Recv(self))
    }
}

impl<T> Sender<T> {
    /// Sends `value`, as a future that waits while the ring is full.
    ///
    /// Dropping the future before it completes drops the value unsent.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if every receiver is gone.
    ///
    /// ```
    /// let (tx, rx) = ringbus::mpmc::channel(1);
    /// futures::executor::block_on(tx.send_async(3)).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// ```
    pub fn send_async(&self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        Until::new(Send {
            tx: self,
            value: Some(value),
        })
    }
}

impl<T> Ring<T> {
    /// Whether a receive would not block, claiming nothing.
    pub(crate) fn is_ready(&self) -> bool {
        // Relaxed: only where to look; the stamp decides.
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the Release stamp store of the sender that
            // filled the slot (as in `start_recv`).
            let stamp = self.slot(head).stamp.load(Ordering::Acquire);
            match diff(stamp, full_stamp(head)) {
                0 => return true,
                // Empty: ready only if disconnected. Acquire: as in
                // `start_recv`.
                d if d < 0 => return self.handles.senders.load(Ordering::Acquire) == 0,
                // Another receiver took it: look at the new head.
                _ => head = self.head.load(Ordering::Relaxed),
            }
        }
    }
}

impl<T> crate::select::sealed::Source for Receiver<T> {
    fn signal(&self) -> SignalRef<'_> {
        SignalRef(&self.ring.not_empty)
    }

    fn wait(&self) -> Wait {
        self.ring.wait
    }

    fn is_ready(&self) -> bool {
        self.ring.is_ready()
    }
}

impl<T> crate::select::Selectable for Receiver<T> {}

#[cfg(feature = "async")]
impl<T> crate::future::sealed::StreamSource for Receiver<T> {
    type Item = T;

    fn poll_recv(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T, RecvError>> {
        slot.0.poll(&mut Recv(self), cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.ring.not_empty);
    }
}

#[cfg(feature = "async")]
impl<T> crate::future::sealed::SinkTarget for Sender<T> {
    type Item = T;

    fn poll_send(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        value: &mut Option<T>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), SendError<T>>> {
        let op = Send {
            tx: self,
            value: value.take(),
        };
        crate::wait::task::poll_send(&mut slot.0, op, value, |op| op.value.take(), cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.ring.not_full);
    }
}

// The receiver is a `Stream` itself (feature `async`), as a `RecvStream`
// over it, with the registration kept in the handle.
#[cfg(feature = "async")]
crate::future::stream_for!(Receiver, T);

// The sender is a `Sink` itself (feature `async`), as a `SendSink` over it.
#[cfg(feature = "async")]
crate::future::sink_for!(Sender);

// Neither end pins its fields (a sink's pending message is moved freely).
impl<T> Unpin for Sender<T> {}
impl<T> Unpin for Receiver<T> {}

#[cfg(all(test, not(ringbus_loom)))]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    use crate::{mpmc, Wait};

    struct Noop;

    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    /// Registered-then-dropped futures leave no waker behind, a future
    /// polled again refreshes its one registration instead of adding one,
    /// and a notification removes what it wakes.
    #[test]
    fn no_stale_wakers() {
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u8>();
        for _ in 0..100 {
            let mut future = pin!(rx.recv_async());
            assert!(future.as_mut().poll(&mut cx).is_pending());
            assert!(future.as_mut().poll(&mut cx).is_pending());
            assert_eq!(rx.ring.not_empty.registered(), (1, 1));
        }
        assert_eq!(rx.ring.not_empty.registered(), (0, 0));
        let mut future = pin!(rx.recv_async());
        assert!(future.as_mut().poll(&mut cx).is_pending());
        tx.send(1).unwrap(); // wakes and removes
        assert_eq!(rx.ring.not_empty.registered(), (0, 0));
        assert!(future.as_mut().poll(&mut cx).is_ready());
    }
}
