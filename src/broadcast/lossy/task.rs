//! The async receive of a lossy subscriber (`recv_async`) and its readiness
//! for [`Select`](crate::select::Select) and readiness fds; with the feature
//! `async`, the subscriber as a `Stream` and the publisher as a `Sink`.
//!
//! The publisher notifies `not_empty` after each send on `Backoff`/`Park`
//! rings, and when it drops; a subscriber waits there like any receiver. The
//! publisher never waits, so its sink is always ready.

use std::future::Future;

use super::{RecvError, Subscriber, TryRecvError};
use crate::select::sealed::SignalRef;
use crate::sync::Ordering;
use crate::wait::task::{Poller, Until};
use crate::wait::{Signal, Wait};

/// A pending receive: the subscriber it borrows.
struct Recv<'a, T>(&'a mut Subscriber<T>);

impl<T: Copy> Poller for Recv<'_, T> {
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
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(RecvError::Disconnected)),
            Err(TryRecvError::Lagged(missed)) => Some(Err(RecvError::Lagged(missed))),
        }
    }
}

impl<T: Copy> Subscriber<T> {
    /// A copy of the oldest unread message, as a future that waits while
    /// there is none. Cancellation-safe: the cursor moves only in the poll
    /// that returns a message (or a lag).
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv): [`RecvError::Lagged`] once after messages
    /// were overwritten unread, [`RecvError::Disconnected`] once everything
    /// is read and the publisher is gone.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::lossy::channel(4);
    /// std::thread::spawn(move || publisher.send(7u32).unwrap());
    /// let got = futures::executor::block_on(subscriber.recv_async());
    /// assert_eq!(got, Ok(7));
    /// ```
    pub fn recv_async(&mut self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        Until::new(Recv(self))
    }
}

impl<T> crate::select::sealed::Source for Subscriber<T> {
    fn signal(&self) -> SignalRef<'_> {
        SignalRef(&self.ring.not_empty)
    }

    fn wait(&self) -> Wait {
        self.ring.wait
    }

    /// Something past the cursor (a message, or a lag to report), or the
    /// publisher gone.
    fn is_ready(&self) -> bool {
        // Acquire: pairs with the publisher's Release store of `tail`.
        let tail = self.ring.tail.load(Ordering::Acquire);
        // Acquire: pairs with the Release store in `Publisher::drop`.
        !super::nothing_past(tail, self.cursor) || self.ring.publisher_gone.load(Ordering::Acquire)
    }
}

impl<T> crate::select::Selectable for Subscriber<T> {}

/// The stream yields `Ok(message)`, and `Err(RecvError::Lagged(n))` once
/// after `n` messages were overwritten unread (then the oldest still held);
/// it ends once everything is read and the publisher is gone, so it never
/// yields `RecvError::Disconnected`.
#[cfg(feature = "async")]
impl<T: Copy> crate::future::sealed::StreamSource for Subscriber<T> {
    type Item = Result<T, RecvError>;

    fn poll_recv(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Self::Item, crate::error::RecvError>> {
        // `recv_async`'s poll; only disconnection ends the stream.
        slot.0
            .poll(&mut Recv(self), cx)
            .map(|received| match received {
                Err(RecvError::Disconnected) => Err(crate::error::RecvError),
                lag_or_message => Ok(lag_or_message),
            })
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.ring.not_empty);
    }
}

/// A lossy publisher never waits: every poll of its sink is ready, and an
/// item is published in the poll that accepts it.
#[cfg(feature = "async")]
impl<T: Copy> crate::future::sealed::SinkTarget for super::Publisher<T> {
    type Item = T;

    fn poll_send(
        &mut self,
        _slot: &mut crate::future::sealed::Slot,
        value: &mut Option<T>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), crate::error::SendError<T>>> {
        std::task::Poll::Ready(match value.take() {
            Some(value) => self.send(value),
            None => Ok(()),
        })
    }

    /// Nothing to remove: the sink never registers a waker.
    fn cancel(&self, _slot: &mut crate::future::sealed::Slot) {}
}

// The subscriber is a `Stream` itself (feature `async`), as a `RecvStream`
// over it (a lag is an `Err(Lagged(n))` item), with the registration kept
// in the handle.
#[cfg(feature = "async")]
crate::future::stream_for!(Subscriber, Result<T, RecvError>, Copy);

/// The publisher is a `Sink` itself (feature `async`): always ready, it
/// publishes each item in `start_send` and has nothing to flush.
#[cfg(feature = "async")]
impl<T: Copy> futures_sink::Sink<T> for super::Publisher<T> {
    type Error = crate::error::SendError<T>;

    fn poll_ready(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn start_send(self: std::pin::Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
        self.send(item)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }
}
