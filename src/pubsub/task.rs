//! The async receive of a pub/sub subscriber and its readiness.
//!
//! A subscriber waits on its inbox's `not_empty` signal, which every
//! delivery notifies (on `Backoff`/`Park` endpoints), and so does the last
//! publisher's drop.

use std::future::Future;

use super::{Message, Subscriber};
use crate::error::{RecvError, TryRecvError};
use crate::select::sealed::{SignalRef, Source};
use crate::wait::task::{Poller, Until};
use crate::wait::{Signal, Wait};

/// A pending receive: the subscriber it borrows.
struct Recv<'a, T>(&'a Subscriber<T>);

impl<T> Poller for Recv<'_, T> {
    type Output = Result<Message<T>, RecvError>;

    fn signal(&self) -> &Signal {
        &self.0.inbox.not_empty
    }

    fn wait(&self) -> Wait {
        self.0.inbox.wait
    }

    #[inline]
    fn attempt(&mut self) -> Option<Self::Output> {
        match self.0.try_recv() {
            Ok(message) => Some(Ok(message)),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }
}

impl<T> Subscriber<T> {
    /// Takes the oldest message, as a future that waits while there is none.
    /// Cancellation-safe: a dropped future takes no message.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and every publisher gone.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(4);
    /// s.subscribe("md.#").unwrap();
    /// std::thread::spawn(move || publisher.send(&publisher.topic("md.eu").unwrap(), 5));
    /// let message = futures::executor::block_on(s.recv_async()).unwrap();
    /// assert_eq!((message.topic(), *message), ("md.eu", 5));
    /// ```
    pub fn recv_async(&self) -> impl Future<Output = Result<Message<T>, RecvError>> + '_ {
        Until::new(Recv(self))
    }
}

impl<T> Source for Subscriber<T> {
    fn signal(&self) -> SignalRef<'_> {
        SignalRef(&self.inbox.not_empty)
    }

    fn wait(&self) -> Wait {
        self.inbox.wait
    }

    /// A message in the inbox (it may still be filtered out by a later
    /// unsubscription: readiness is a hint) or every publisher gone.
    fn is_ready(&self) -> bool {
        self.inbox.rx.is_ready() || self.endpoint.publishers_gone()
    }
}

impl<T> crate::select::Selectable for Subscriber<T> {}

#[cfg(feature = "async")]
impl<T> crate::future::sealed::StreamSource for Subscriber<T> {
    type Item = Message<T>;

    fn poll_recv(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Message<T>, RecvError>> {
        slot.0.poll(&mut Recv(self), cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.inbox.not_empty);
    }
}
