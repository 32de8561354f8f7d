//! `futures_core::Stream` for receivers and `futures_sink::Sink` for senders
//! (feature `async`).
//!
//! The plain `recv_async` / `send_async` methods need no feature: they are
//! `core::future`s. With the feature, every receiver is a `Stream` and every
//! sender a `Sink` itself. A `Stream` or `Sink` must remember its waker
//! registration between polls (and a sink the one item it accepted but had
//! no room for), so with the feature each handle carries that state: a few
//! bytes for a receiver, one `Option<T>` more for a sender. Without the
//! feature the handles carry nothing of it.
//!
//! ```
//! use futures::{SinkExt, StreamExt};
//!
//! let (mut tx, mut rx) = ringbus::spsc::channel::<u32>(4);
//! futures::executor::block_on(async {
//!     // `SinkExt::send`: the handle's own `send` is the blocking one.
//!     SinkExt::send(&mut tx, 1).await.unwrap();
//!     drop(tx);
//!     assert_eq!(rx.next().await, Some(1));
//!     assert_eq!(rx.next().await, None);
//! });
//! ```
//!
//! [`RecvStream`] and [`SendSink`] are the same as wrappers that own the
//! handle, for code that wants the stream or sink as a type of its own:
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
//! Which handles (each a `Stream` or `Sink` itself, or wrapped): streams
//! of `spsc::Receiver`, `mpmc::Receiver`, `pipeline::Puller`,
//! `pubsub::Subscriber`, `reqrep::Replier`, `broadcast::Subscriber<T>` for
//! `T: Clone` (a stream cannot lend a `Sample`, so it clones each message
//! out) and `broadcast::lossy::Subscriber` (it yields `Result<T,
//! lossy::RecvError>`: a lag is an item, `Err(Lagged(n))`, and the stream
//! ends when the publisher is gone); sinks of `spsc::Sender`,
//! `mpmc::Sender`, `pipeline::Pusher`, `broadcast::Publisher`,
//! `broadcast::MultiPublisher` and `broadcast::lossy::Publisher` (always
//! ready: it never waits). A pub/sub publisher sends to a topic, with a
//! delivery that may wait on several subscribers in turn: use its
//! `send_async`. A handle's own `send` is the blocking one, so call the
//! sink's as `SinkExt::send(&mut tx, value)`.
//!
//! A sink holds at most one item that `start_send` accepted but the ring
//! had no room for yet; `poll_ready`, `poll_flush` and `poll_close` push
//! it. Dropping the sink (or the sender) with an item still held drops that
//! item. Streams and sinks are cancellation-safe like the `recv_async`
//! futures: nothing is taken from a ring except in the poll that returns
//! it, and dropping a wrapper or a handle removes its waker registration.

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
    state: SinkState<S::Item>,
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
            state: SinkState::default(),
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
}

impl<S: SinkTarget> Unpin for SendSink<S> {}

impl<S: SinkTarget> Sink<S::Item> for SendSink<S> {
    type Error = SendError<S::Item>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        this.state.poll_pending(&mut this.sender, cx)
    }

    fn start_send(self: Pin<&mut Self>, item: S::Item) -> Result<(), Self::Error> {
        self.get_mut().state.start_send(item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        this.state.poll_pending(&mut this.sender, cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        let this = self.get_mut();
        this.state.poll_pending(&mut this.sender, cx)
    }
}

impl<S: SinkTarget> Drop for SendSink<S> {
    fn drop(&mut self) {
        self.state.cancel(&self.sender);
    }
}

impl<S: SinkTarget> std::fmt::Debug for SendSink<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SendSink")
            .field("pending", &self.state.pending.is_some())
            .finish_non_exhaustive()
    }
}

/// What a sink keeps between polls: the item `start_send` accepted and the
/// ring had no room for yet, and the waker registration of the poll that
/// waits for room. A [`SendSink`] holds one, and so does every sender that
/// is a `Sink` itself.
pub(crate) struct SinkState<T> {
    pending: Option<T>,
    registration: Slot,
}

// A shared `&SinkState` reaches no `T`: every method takes `&mut self`, and
// `SendSink`'s `Debug` only asks whether an item is pending, a read that
// races with no write (writes need `&mut`).
// SAFETY: hence sharing one between threads needs no `T: Sync`, and an mpmc
// sender that is a `Sink` stays `Sync` for every `T: Send`, as design.md
// says.
unsafe impl<T: Send> Sync for SinkState<T> {}

impl<T> Default for SinkState<T> {
    fn default() -> Self {
        SinkState {
            pending: None,
            registration: Slot::default(),
        }
    }
}

impl<T> SinkState<T> {
    /// Pushes the pending item, if any, into `sender`'s ring.
    pub(crate) fn poll_pending<S: SinkTarget<Item = T>>(
        &mut self,
        sender: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        if self.pending.is_none() {
            return Poll::Ready(Ok(()));
        }
        sender.poll_send(&mut self.registration, &mut self.pending, cx)
    }

    /// Accepts `item` for the next poll to push.
    pub(crate) fn start_send(&mut self, item: T) -> Result<(), SendError<T>> {
        // `poll_ready` said Ready, so nothing is pending; if a caller skipped
        // it, the older item goes first (it is pushed by the next poll) and
        // this one waits behind it: refuse rather than reorder or drop.
        if self.pending.is_some() {
            return Err(SendError(item));
        }
        self.pending = Some(item);
        Ok(())
    }

    /// Removes the registration, if any (when the sink or sender drops).
    pub(crate) fn cancel<S: SinkTarget<Item = T>>(&mut self, sender: &S) {
        // A registration exists only while an item waits for room (a poll
        // that completes removes its own).
        if self.pending.is_some() {
            sender.cancel(&mut self.registration);
        }
    }
}

/// `Stream::poll_next` of a receiver that is a `Stream` itself, keeping its
/// registration in the field `slot` picks.
pub(crate) fn poll_next<R: StreamSource>(
    receiver: &mut R,
    slot: fn(&mut R) -> &mut Slot,
    cx: &mut Context<'_>,
) -> Poll<Option<R::Item>> {
    let mut registration = std::mem::take(slot(receiver));
    let polled = receiver.poll_recv(&mut registration, cx);
    *slot(receiver) = registration;
    polled.map(Result::ok)
}

/// Removes the registration of a receiver's own stream (its `Drop`).
pub(crate) fn cancel_stream<R: StreamSource>(receiver: &mut R, slot: fn(&mut R) -> &mut Slot) {
    let mut registration = std::mem::take(slot(receiver));
    receiver.cancel(&mut registration);
}

/// The poll methods of a sender that is a `Sink` itself, keeping its
/// [`SinkState`] in the field `state` picks.
pub(crate) fn poll_sink<S: SinkTarget>(
    sender: &mut S,
    state: fn(&mut S) -> &mut SinkState<S::Item>,
    cx: &mut Context<'_>,
) -> Poll<Result<(), SendError<S::Item>>> {
    let mut kept = std::mem::take(state(sender));
    let polled = kept.poll_pending(sender, cx);
    *state(sender) = kept;
    polled
}

/// Removes the registration of a sender's own sink (its `Drop`).
pub(crate) fn cancel_sink<S: SinkTarget>(
    sender: &mut S,
    state: fn(&mut S) -> &mut SinkState<S::Item>,
) {
    let mut kept = std::mem::take(state(sender));
    kept.cancel(sender);
}

/// `impl Stream` for a receiver type with a `stream: Slot` field and a
/// `StreamSource` impl yielding `$item` (for `T: $bound`, if given):
/// `poll_next` forwards to [`poll_next`].
macro_rules! stream_for {
    ($receiver:ident, $item:ty $(, $bound:path)?) => {
        impl<T $(: $bound)?> futures_core::Stream for $receiver<T> {
            type Item = $item;

            fn poll_next(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Option<Self::Item>> {
                crate::future::poll_next(self.get_mut(), |r| &mut r.stream, cx)
            }
        }
    };
}
pub(crate) use stream_for;

/// `impl Sink<T>` for a sender type with a `sink: SinkState<T>` field and a
/// `SinkTarget` impl: the four methods forward to [`poll_sink`] and
/// [`SinkState::start_send`].
macro_rules! sink_for {
    ($sender:ident) => {
        impl<T> futures_sink::Sink<T> for $sender<T> {
            type Error = crate::error::SendError<T>;

            fn poll_ready(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                crate::future::poll_sink(self.get_mut(), |s| &mut s.sink, cx)
            }

            fn start_send(self: std::pin::Pin<&mut Self>, item: T) -> Result<(), Self::Error> {
                self.get_mut().sink.start_send(item)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                crate::future::poll_sink(self.get_mut(), |s| &mut s.sink, cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<Result<(), Self::Error>> {
                crate::future::poll_sink(self.get_mut(), |s| &mut s.sink, cx)
            }
        }
    };
}
pub(crate) use sink_for;
