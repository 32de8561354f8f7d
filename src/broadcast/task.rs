//! The async receive of a broadcast subscriber (`recv_async`) and its
//! readiness for [`Select`](crate::select::Select) and readiness fds.
//!
//! `recv_async` returns a [`Sample`] that borrows the subscriber, like
//! `recv`: fine in an `async fn`. A `Stream` cannot lend, so the stream form
//! (feature `async`) clones each message out and needs `T: Clone`.

use super::{start_recv, Sample, Subscriber};
use crate::error::{RecvError, TryRecvError};
use crate::select::sealed::SignalRef;
use crate::wait::task::{Poller, Until};
use crate::wait::{Signal, Wait};

/// A pending wait for a message at the subscriber's cursor.
pub(crate) struct Ready<'a, T>(pub(crate) &'a mut Subscriber<T>);

impl<T> Poller for Ready<'_, T> {
    /// `Ok` when a message waits, `Err` when disconnected.
    type Output = Result<(), RecvError>;

    fn signal(&self) -> &Signal {
        &self.0.ring.not_empty
    }

    fn wait(&self) -> Wait {
        self.0.ring.wait
    }

    #[inline]
    fn attempt(&mut self) -> Option<Self::Output> {
        let sub = &mut *self.0;
        match start_recv(&sub.ring, sub.cursor, &mut sub.tail) {
            Ok(()) => Some(Ok(())),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }
}

impl<T> Subscriber<T> {
    /// The oldest unread message, as a future that waits while there is
    /// none; the [`Sample`] borrows the subscriber as `recv`'s does.
    ///
    /// Cancellation-safe: the subscriber moves on only when the sample drops.
    /// On a [`Wait::Spin`]/[`Wait::Yield`] ring it busy-polls.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once everything is read and the publisher is gone.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::broadcast::channel(4);
    /// std::thread::spawn(move || publisher.send(String::from("tick")).unwrap());
    /// futures::executor::block_on(async {
    ///     let sample = subscriber.recv_async().await.unwrap();
    ///     assert_eq!(sample.as_str(), "tick");
    /// });
    /// ```
    pub async fn recv_async(&mut self) -> Result<Sample<'_, T>, RecvError> {
        Until::new(Ready(&mut *self)).await?;
        Ok(self.sample())
    }
}

impl<T> crate::select::sealed::Source for Subscriber<T> {
    fn signal(&self) -> SignalRef<'_> {
        SignalRef(&self.ring.not_empty)
    }

    fn wait(&self) -> Wait {
        self.ring.wait
    }

    fn is_ready(&self) -> bool {
        self.ring.readable_end(self.cursor) != self.cursor || self.is_disconnected()
    }
}

impl<T> crate::select::Selectable for Subscriber<T> {}

/// A receive that clones the message out (the stream form).
#[cfg(feature = "async")]
struct RecvCloned<'a, T>(&'a mut Subscriber<T>);

#[cfg(feature = "async")]
impl<T: Clone> Poller for RecvCloned<'_, T> {
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
            Ok(sample) => Some(Ok(T::clone(&sample))),
            Err(TryRecvError::Disconnected) => Some(Err(RecvError)),
            Err(TryRecvError::Empty) => None,
        }
    }
}

/// A stream cannot lend a [`Sample`]: it clones each message out.
#[cfg(feature = "async")]
impl<T: Clone> crate::future::sealed::StreamSource for Subscriber<T> {
    type Item = T;

    fn poll_recv(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T, RecvError>> {
        slot.0.poll(&mut RecvCloned(self), cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.ring.not_empty);
    }
}
