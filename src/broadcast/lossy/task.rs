//! The async receive of a lossy subscriber (`recv_async`) and its readiness
//! for [`Select`](crate::select::Select) and readiness fds.
//!
//! The publisher notifies `not_empty` after each send on `Backoff`/`Park`
//! rings, and when it drops; a subscriber waits there like any receiver.

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
