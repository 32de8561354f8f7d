//! `futures_core::Stream` for receivers and `futures_sink::Sink` for senders
//! (feature `async`).
//!
//! The plain `recv_async` / `send_async` methods need no feature: they are
//! `core::future`s. A `Stream` or a `Sink` must remember its waker
//! registration between polls, which a handle does not carry (it would cost
//! every user a field), so they are small wrappers that own the handle:
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//! use ringbus::future::{RecvStream, SendSink};
//!
//! let (tx, rx) = ringbus::mpmc::channel::<u32>(4);
//! futures::executor::block_on(async {
//!     let mut sink = SendSink::new(tx);
//!     let producer = async move {
//!         for i in 0..10 {
//!             sink.send(i).await.unwrap();
//!         }
//!         // dropping the sink drops the sender: the stream ends
//!     };
//!     let consumer = RecvStream::new(rx).collect::<Vec<_>>();
//!     let ((), got) = futures::join!(producer, consumer);
//!     assert_eq!(got, (0..10).collect::<Vec<_>>());
//! });
//! ```
//!
//! Which handles: [`RecvStream`] over `spsc::Receiver`, `mpmc::Receiver`,
//! `pipeline::Puller`, `pubsub::Subscriber`, `reqrep::Replier`,
//! `broadcast::Subscriber<T>` for `T: Clone` (a stream cannot lend a
//! `Sample`, so it clones each message out) and `broadcast::lossy::
//! Subscriber` (it yields `Result<T, lossy::RecvError>`: a lag is an item,
//! `Err(Lagged(n))`, and the stream ends when the publisher is gone);
//! [`SendSink`] over `spsc::Sender`, `mpmc::Sender`, `pipeline::Pusher`,
//! `broadcast::Publisher`, `broadcast::MultiPublisher` and
//! `broadcast::lossy::Publisher` (always ready:
//! it never waits). A pub/sub publisher sends to a topic, with a delivery
//! that may wait on several subscribers in turn: use its `send_async`.
//!
//! A `SendSink` holds at most one item that `start_send` accepted but the
//! ring had no room for yet; `poll_ready`, `poll_flush` and `poll_close`
//! push it. Dropping the sink with an item still held drops that item.
//! Both wrappers are cancellation-safe like the `recv_async` futures:
//! nothing is taken from a ring except in the poll that returns it, and
//! dropping a wrapper removes its waker registration.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use crate::error::SendError;

/// The traits that tie a handle to its poll operation; sealed.
pub(crate) mod sealed {
    use std::task::{Context, Poll};

    use crate::error::{RecvError, SendError};
    use crate::wait::task::Registration;

    /// A wrapper's waker registration (opaque outside the crate).
    #[derive(Debug, Default)]
    pub struct Slot(pub(crate) Registration);

    /// A receiver that a [`RecvStream`](super::RecvStream) can own.
    pub trait StreamSource {
        /// What the stream yields.
        type Item;
        /// One poll of a receive.
        #[doc(hidden)]
        fn poll_recv(
            &mut self,
            slot: &mut Slot,
            cx: &mut Context<'_>,
        ) -> Poll<Result<Self::Item, RecvError>>;
        /// Removes the registration.
        #[doc(hidden)]
        fn cancel(&self, slot: &mut Slot);
    }

    /// A sender that a [`SendSink`](super::SendSink) can own.
    pub trait SinkTarget {
        /// What the sink accepts.
        type Item;
        /// One poll of a send of `*value` (left in place while blocked).
        #[doc(hidden)]
        fn poll_send(
            &mut self,
            slot: &mut Slot,
            value: &mut Option<Self::Item>,
            cx: &mut Context<'_>,
        ) -> Poll<Result<(), SendError<Self::Item>>>;
        /// Removes the registration.
        #[doc(hidden)]
        fn cancel(&self, slot: &mut Slot);
    }
}

use sealed::{SinkTarget, Slot, StreamSource};

/// A receiver as a [`Stream`]: yields each message, ends when the channel
/// is drained and disconnected.
///
/// ```
/// use futures::StreamExt;
///
/// let (tx, rx) = ringbus::spsc::channel(4);
/// tx.send(1).unwrap();
/// tx.send(2).unwrap();
/// drop(tx);
/// let mut stream = ringbus::future::RecvStream::new(rx);
/// let all: Vec<i32> = futures::executor::block_on(stream.by_ref().collect());
/// assert_eq!(all, [1, 2]);
/// ```
pub struct RecvStream<R: StreamSource> {
    receiver: R,
    registration: Slot,
}

impl<R: StreamSource> RecvStream<R> {
    /// Wraps `receiver`.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::mpmc::channel::<u8>(4);
    /// let _stream = ringbus::future::RecvStream::new(rx);
    /// ```
    pub fn new(receiver: R) -> Self {
        RecvStream {
            receiver,
            registration: Slot::default(),
        }
    }

    /// The receiver, for its other methods.
    ///
    /// ```
    /// let (_tx, rx) = ringbus::mpmc::channel::<u8>(4);
    /// let stream = ringbus::future::RecvStream::new(rx);
    /// assert!(stream.get_ref().is_empty());
    /// ```
    pub fn get_ref(&self) -> &R {
        &self.receiver
    }

    fn cancel(&mut self) {
        self.receiver.cancel(&mut self.registration);
    }
}

// The stream never pins its fields.
impl<R: StreamSource> Unpin for RecvStream<R> {}

impl<R: StreamSource> Stream for RecvStream<R> {
    type Item = R::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<R::Item>> {
        let this = self.get_mut();
        this.receiver
            .poll_recv(&mut this.registration, cx)
            .map(Result::ok)
    }
}

impl<R: StreamSource> Drop for RecvStream<R> {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl<R: StreamSource> std::fmt::Debug for RecvStream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvStream").finish_non_exhaustive()
    }
}

/// A sender as a [`Sink`]; see the [module doc](self) for its one-item
/// buffer.
///
/// ```
/// use futures::SinkExt;
///
/// let (tx, rx) = ringbus::spsc::channel(4);
/// let mut sink = ringbus::future::SendSink::new(tx);
/// futures::executor::block_on(sink.send(5)).unwrap();
/// assert_eq!(rx.try_recv(), Ok(5));
/// ```
pub struct SendSink<S: SinkTarget> {
    sender: S,
    /// The item accepted by `start_send` and not yet in the ring.
    pending: Option<S::Item>,
    registration: Slot,
}

impl<S: SinkTarget> SendSink<S> {
    /// Wraps `sender`.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::mpmc::channel::<u8>(4);
    /// let _sink = ringbus::future::SendSink::new(tx);
    /// ```
    pub fn new(sender: S) -> Self {
        SendSink {
            sender,
            pending: None,
            registration: Slot::default(),
        }
    }

    /// The sender, for its other methods.
    ///
    /// ```
    /// let (tx, _rx) = ringbus::mpmc::channel::<u8>(4);
    /// let sink = ringbus::future::SendSink::new(tx);
    /// assert_eq!(sink.get_ref().capacity(), 4);
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.sender
    }

    /// Pushes the pending item, if any, into the ring.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SendError<S::Item>>> {
        if self.pending.is_none() {
            return Poll::Ready(Ok(()));
        }
        self.sender
            .poll_send(&mut self.registration, &mut self.pending, cx)
    }
}

impl<S: SinkTarget> Unpin for SendSink<S> {}

impl<S: SinkTarget> Sink<S::Item> for SendSink<S> {
    type Error = SendError<S::Item>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: S::Item) -> Result<(), Self::Error> {
        let this = self.get_mut();
        // `poll_ready` said Ready, so nothing is pending; if a caller skipped
        // it, the older item goes first (it is pushed by the next poll) and
        // this one waits behind it: refuse rather than reorder or drop.
        if this.pending.is_some() {
            return Err(SendError(item));
        }
        this.pending = Some(item);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.get_mut().poll_pending(cx)
    }
}

impl<S: SinkTarget> Drop for SendSink<S> {
    fn drop(&mut self) {
        // A registration exists only while an item waits for room (a poll
        // that completes removes its own).
        if self.pending.is_some() {
            self.sender.cancel(&mut self.registration);
        }
    }
}

impl<S: SinkTarget> std::fmt::Debug for SendSink<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendSink")
            .field("pending", &self.pending.is_some())
            .finish_non_exhaustive()
    }
}
