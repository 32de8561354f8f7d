//! The async forms of the broadcast ends: a subscriber's `recv_async` and
//! its readiness for [`Select`](crate::select::Select) and readiness fds,
//! and the publishers' `send_async` (single and multi).
//!
//! `recv_async` returns a [`Sample`] that borrows the subscriber, like
//! `recv`: fine in an `async fn`. A `Stream` cannot lend, so the stream form
//! (feature `async`) clones each message out and needs `T: Clone`.
//!
//! `send_async` takes `&mut self`, as spsc's does: the publisher is `Send`
//! but not `Sync` (it caches its tail and gate in `Cell`s), and a future
//! holding `&mut` of it is `Send` where one holding `&` would not be. It
//! waits on `not_full`, which a subscriber notifies after it moves its
//! cursor and when it leaves: the handshake of the blocking `send`.

use std::future::Future;

use super::{start_recv, MultiPublisher, Publisher, Sample, Subscriber};
use crate::error::{RecvError, SendError, TryRecvError, TrySendError};
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

/// What an async send needs of a publisher: both forms (single and multi)
/// wait for room on the ring's `not_full`.
pub(crate) trait Publish {
    /// The message type.
    type Item;
    /// One look for room; the value comes back when there is none.
    fn try_publish(&self, value: Self::Item) -> Result<(), TrySendError<Self::Item>>;
    /// Where the publisher waits for room.
    fn not_full(&self) -> &Signal;
    /// The ring's wait strategy.
    fn wait(&self) -> Wait;
}

impl<T> Publish for Publisher<T> {
    type Item = T;

    #[inline]
    fn try_publish(&self, value: T) -> Result<(), TrySendError<T>> {
        self.try_send(value)
    }

    fn not_full(&self) -> &Signal {
        &self.ring.not_full
    }

    fn wait(&self) -> Wait {
        self.ring.wait
    }
}

impl<T> Publish for MultiPublisher<T> {
    type Item = T;

    #[inline]
    fn try_publish(&self, value: T) -> Result<(), TrySendError<T>> {
        self.try_send(value)
    }

    fn not_full(&self) -> &Signal {
        &self.ring().not_full
    }

    fn wait(&self) -> Wait {
        self.ring().wait
    }
}

/// A pending send: the publisher it borrows and the value, until it is
/// published.
pub(crate) struct Send<'a, P: Publish> {
    pub(crate) tx: &'a mut P,
    pub(crate) value: Option<P::Item>,
}

impl<P: Publish> Poller for Send<'_, P> {
    type Output = Result<(), SendError<P::Item>>;

    fn signal(&self) -> &Signal {
        self.tx.not_full()
    }

    fn wait(&self) -> Wait {
        self.tx.wait()
    }

    #[inline]
    fn attempt(&mut self) -> Option<Self::Output> {
        crate::wait::task::attempt_send(&mut self.value, |v| self.tx.try_publish(v))
    }
}

impl<T> Publisher<T> {
    /// Publishes `value`, as a future that waits while the slowest
    /// subscriber is a whole ring behind. Runs on any executor.
    ///
    /// Dropping the future before it completes drops the value unpublished.
    /// On a [`Wait::Spin`]/[`Wait::Yield`] ring it busy-polls.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if there is no subscriber.
    ///
    /// ```
    /// let (mut publisher, mut subscriber) = ringbus::broadcast::channel(1);
    /// let reader = std::thread::spawn(move || {
    ///     let mut seen = Vec::new();
    ///     while let Ok(sample) = subscriber.recv() {
    ///         seen.push(*sample);
    ///     }
    ///     seen
    /// });
    /// futures::executor::block_on(async {
    ///     for i in 0..5 {
    ///         publisher.send_async(i).await.unwrap(); // waits for the reader
    ///     }
    /// });
    /// drop(publisher);
    /// assert_eq!(reader.join().unwrap(), [0, 1, 2, 3, 4]);
    /// ```
    pub fn send_async(&mut self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        Until::new(Send {
            tx: self,
            value: Some(value),
        })
    }
}

impl<T> MultiPublisher<T> {
    /// Publishes `value`, as a future that waits while the slowest
    /// subscriber is a whole ring behind: [`Publisher::send_async`] for
    /// one of several publishers (each awaits through its own handle).
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the value if there is no subscriber.
    ///
    /// ```
    /// let (mut first, mut subscriber) = ringbus::broadcast::Builder::new(2).build_multi();
    /// let mut second = first.clone();
    /// futures::executor::block_on(async {
    ///     first.send_async(1).await.unwrap();
    ///     second.send_async(2).await.unwrap();
    /// });
    /// assert_eq!(*subscriber.recv().unwrap(), 1);
    /// assert_eq!(*subscriber.recv().unwrap(), 2);
    /// ```
    pub fn send_async(&mut self, value: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        Until::new(Send {
            tx: self,
            value: Some(value),
        })
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

#[cfg(feature = "async")]
impl<T> crate::future::sealed::SinkTarget for Publisher<T> {
    type Item = T;

    fn poll_send(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        value: &mut Option<T>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), SendError<T>>> {
        poll_publish(self, slot, value, cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.ring.not_full);
    }
}

#[cfg(feature = "async")]
impl<T> crate::future::sealed::SinkTarget for MultiPublisher<T> {
    type Item = T;

    fn poll_send(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        value: &mut Option<T>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), SendError<T>>> {
        poll_publish(self, slot, value, cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(&self.ring().not_full);
    }
}

/// One poll of a sink's send through either publisher.
#[cfg(feature = "async")]
fn poll_publish<P: Publish>(
    tx: &mut P,
    slot: &mut crate::future::sealed::Slot,
    value: &mut Option<P::Item>,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Result<(), SendError<P::Item>>> {
    let op = Send {
        tx,
        value: value.take(),
    };
    crate::wait::task::poll_send(&mut slot.0, op, value, |op| op.value.take(), cx)
}

// The subscriber is a `Stream` itself (feature `async`, `T: Clone`), as a
// `RecvStream` over it (cloning each message out), with the registration
// kept in the handle.
#[cfg(feature = "async")]
crate::future::stream_for!(Subscriber, T, Clone);

// Both publishers are `Sink`s themselves (feature `async`), as a
// `SendSink` over them.
#[cfg(feature = "async")]
crate::future::sink_for!(Publisher);
#[cfg(feature = "async")]
crate::future::sink_for!(MultiPublisher);

// No broadcast handle pins its fields (a sink's pending message is moved
// freely).
impl<T> Unpin for Publisher<T> {}
impl<T> Unpin for MultiPublisher<T> {}
impl<T> Unpin for Subscriber<T> {}
