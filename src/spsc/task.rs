//! The async forms of the spsc ends (`recv_async`, `send_async`) and their
//! readiness for [`Select`](crate::select::Select) and readiness fds.
//!
//! They take `&mut self`: a handle is `Send` but not `Sync` (it caches
//! indices in `Cell`s), and a future holding `&mut` of it is `Send` where one
//! holding `&` would not be, so the task that awaits it can move between an
//! executor's threads.

use std::future::Future;

use super::{Receiver, Sender};
use crate::error::{RecvError, SendError, TryRecvError};
use crate::select::sealed::SignalRef;
use crate::wait::task::{Poller, Until};
use crate::wait::{Signal, Wait};

/// A pending receive: the receiver it borrows.
pub(crate) struct Recv<'a, T>(pub(crate) &'a mut Receiver<T>);

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
        match self.0.try_recv() {
            Ok(value) => Some(Ok(value)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }
}

/// A pending send: the sender it borrows and the value, until it is sent.
pub(crate) struct Send<'a, T> {
    pub(crate) tx: &'a mut Sender<T>,
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
        crate::wait::task::attempt_send(&mut self.value, |v| self.tx.try_send(v))
    }
}

impl<T> Receiver<T> {
    /// Takes the oldest message, as a future that waits while the ring is
    /// empty. Runs on any executor (it needs only `core::future`).
    ///
    /// Cancellation-safe: a message is taken only in the `poll` that returns
    /// it, so dropping the future loses nothing. On a [`Wait::Spin`] or
    /// [`Wait::Yield`] ring the future busy-polls (the sender never looks for
    /// waiters there); see the [`select`](crate::select) module doc.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and the sender gone.
    ///
    /// ```
    /// let (tx, mut rx) = ringbus::spsc::channel(4);
    /// std::thread::spawn(move || tx.send(5u8).unwrap());
    /// let got = futures::executor::block_on(rx.recv_async());
    /// assert_eq!(got, Ok(5));
    /// ```
    pub fn recv_async(&mut self) -> impl Future<Output = Result<T, RecvError>> + '_ {
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
    /// [`SendError`] holding the value if the receiver is gone.
    ///
    /// ```
    /// let (mut tx, rx) = ringbus::spsc::channel(1);
    /// futures::executor::block_on(async {
    ///     tx.send_async(1).await.unwrap();
    ///     assert_eq!(rx.try_recv(), Ok(1));
    ///     drop(rx);
    ///     assert_eq!(tx.send_async(2).await, Err(ringbus::SendError(2)));
    /// });
    /// ```
    pub fn send_async(&mut self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        Until::new(Send {
            tx: self,
            value: Some(value),
        })
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
        self.available(1) > 0 || self.is_disconnected()
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
