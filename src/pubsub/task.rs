//! The async receive of a pub/sub subscriber and its readiness, and the
//! async send of a publisher.
//!
//! A subscriber waits on its inbox's `not_empty` signal, which every
//! delivery notifies (on `Backoff`/`Park` endpoints), and so does the last
//! publisher's drop. A send waits on the `not_full` signal of the `Block`
//! subscriber it stopped at, which that subscriber's receives notify, and
//! so does its drop; when the send moves on and stops at another
//! subscriber, it moves its waker there.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::delivery::{Mode, Pending};
use super::{Inbox, Message, Publisher, Subscriber, Topic};
use crate::error::{RecvError, TryRecvError};
use crate::select::sealed::{SignalRef, Source};
use crate::sync::Arc;
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

impl<T: Clone> Publisher<T> {
    /// Sends `message` like [`send`](Self::send), as a future that waits
    /// for room in each full `Block` subscriber's ring instead of blocking
    /// the thread. Resolves to the number of subscribers reached.
    ///
    /// Nothing happens until the first poll. A future dropped before it is
    /// ready gives up on the subscribers it has not reached yet, as dropping
    /// a [`Pending`] does: each subscriber gets the message once or not at
    /// all. The future holds its own clone of `topic` (a `Topic` is not
    /// `Sync`), so it is `Send` when `T` is.
    ///
    /// ```
    /// let (publisher, mut subscriber) = ringbus::pubsub::channel(1);
    /// subscriber.subscribe("md.#").unwrap();
    /// let topic = publisher.topic("md.eu").unwrap();
    /// let reader = std::thread::spawn(move || {
    ///     (0..3).map(|_| *subscriber.recv().unwrap()).collect::<Vec<_>>()
    /// });
    /// futures::executor::block_on(async {
    ///     for i in 0..3 {
    ///         // A ring of one slot: each send waits for the reader.
    ///         assert_eq!(publisher.send_async(&topic, i).await, 1);
    ///     }
    /// });
    /// assert_eq!(reader.join().unwrap(), [0, 1, 2]);
    /// ```
    pub fn send_async(&self, topic: &Topic<T>, message: T) -> impl Future<Output = usize> + '_ {
        let topic = topic.clone();
        async move {
            match self.try_send(&topic, message) {
                Ok(reached) => reached,
                Err(pending) => pending.send_async().await,
            }
        }
    }
}

impl<T: Clone> Pending<T> {
    /// Finishes the send like [`send`](Self::send), as a future that waits
    /// for room instead of blocking the thread. Resolves to the total number
    /// of subscribers reached. Dropped before it is ready, it gives up on
    /// the rest, as dropping the `Pending` does.
    ///
    /// ```
    /// let (publisher, mut s) = ringbus::pubsub::channel(1);
    /// s.subscribe("#").unwrap();
    /// let t = publisher.topic("t").unwrap();
    /// publisher.send(&t, 1);
    /// let pending = publisher.try_send(&t, 2).unwrap_err(); // `s` is full
    /// let reader = std::thread::spawn(move || [*s.recv().unwrap(), *s.recv().unwrap()]);
    /// assert_eq!(futures::executor::block_on(pending.send_async()), 1);
    /// assert_eq!(reader.join().unwrap(), [1, 2]);
    /// ```
    pub fn send_async(self) -> impl Future<Output = usize> {
        SendAsync {
            pending: Some(self),
            waiting_on: None,
            key: None,
        }
    }
}

/// The future of [`Pending::send_async`] (and so of the waiting part of
/// [`Publisher::send_async`]).
struct SendAsync<T> {
    /// The delivery so far; `None` once it is done.
    pending: Option<Pending<T>>,
    /// The subscriber whose `not_full` signal holds our waker (`key`).
    waiting_on: Option<Arc<Inbox<T>>>,
    /// Our registration on that signal, if a notifier has not removed it.
    key: Option<u64>,
}

// Nothing in the future is ever pinned: it moves freely.
impl<T> Unpin for SendAsync<T> {}

impl<T> SendAsync<T> {
    /// Removes our waker from the signal it is on, if any.
    fn unregister(&mut self) {
        if let Some(inbox) = self.waiting_on.take() {
            inbox.not_full.unregister(&mut self.key);
        }
    }
}

impl<T: Clone> Future for SendAsync<T> {
    type Output = usize;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = self.get_mut();
        let mut attempt = match this.pending.take() {
            Some(pending) => pending.resume(Mode::Try),
            // Polled after it was ready: nothing more to send.
            None => return Poll::Ready(0),
        };
        loop {
            let pending = match attempt {
                Ok(reached) => {
                    this.unregister();
                    return Poll::Ready(reached);
                }
                Err(pending) => pending,
            };
            // Stopped at a full `Block` subscriber: wait on its signal.
            let inbox = pending.set.inboxes[pending.next].clone();
            if !inbox.wait.may_sleep() {
                // Spin/Yield endpoints notify nobody: poll again at once
                // (see `wait::task`).
                this.pending = Some(pending);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if !this
                .waiting_on
                .as_ref()
                .is_some_and(|on| Arc::ptr_eq(on, &inbox))
            {
                this.unregister();
            }
            inbox.not_full.register(&mut this.key, cx.waker());
            this.waiting_on = Some(inbox);
            // The re-check after the registration's fence: room made before
            // it is seen here, room made after it wakes us.
            let next = pending.next;
            match pending.resume(Mode::Try) {
                Err(pending) if pending.next == next => {
                    this.pending = Some(pending);
                    return Poll::Pending;
                }
                // Done, or stopped at a later subscriber: go round.
                again => attempt = again,
            }
        }
    }
}

impl<T> Drop for SendAsync<T> {
    fn drop(&mut self) {
        self.unregister();
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

// The subscriber is a `Stream` itself (feature `async`), as a `RecvStream`
// over it, with the registration kept in the handle.
#[cfg(feature = "async")]
crate::future::stream_for!(Subscriber, Message<T>);

// The subscriber never pins its fields.
impl<T> Unpin for Subscriber<T> {}
