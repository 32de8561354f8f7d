//! The async forms of the pipeline ends and their readiness: the mpmc
//! ring's (see [`mpmc`](crate::mpmc)), one call down.

use std::future::Future;

use super::{Puller, Pusher};
use crate::error::{RecvError, SendError};
use crate::select::sealed::{SignalRef, Source};
use crate::wait::Wait;

impl<T> Pusher<T> {
    /// Pushes `job`, as a future that waits while the ring is full.
    /// Dropping the future before it completes drops the job unsent.
    ///
    /// # Errors
    ///
    /// [`SendError`] holding the job if every puller is gone.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(2);
    /// futures::executor::block_on(push.send_async(9)).unwrap();
    /// assert_eq!(pull.try_recv(), Ok(9));
    /// ```
    pub fn send_async(&self, job: T) -> impl Future<Output = Result<(), SendError<T>>> + '_ {
        self.tx.send_async(job)
    }
}

impl<T> Puller<T> {
    /// Takes the next job, as a future that waits while there is none.
    /// Cancellation-safe: a dropped future takes no job.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the ring is empty and every pusher gone.
    ///
    /// ```
    /// let (push, pull) = ringbus::pipeline::channel(2);
    /// std::thread::spawn(move || push.send("job").unwrap());
    /// assert_eq!(futures::executor::block_on(pull.recv_async()), Ok("job"));
    /// ```
    pub fn recv_async(&self) -> impl Future<Output = Result<T, RecvError>> + '_ {
        self.rx.recv_async()
    }
}

impl<T> Source for Puller<T> {
    fn signal(&self) -> SignalRef<'_> {
        self.rx.signal()
    }

    fn wait(&self) -> Wait {
        Source::wait(&self.rx)
    }

    fn is_ready(&self) -> bool {
        self.rx.is_ready()
    }
}

impl<T> crate::select::Selectable for Puller<T> {}

#[cfg(feature = "async")]
impl<T> crate::future::sealed::StreamSource for Puller<T> {
    type Item = T;

    fn poll_recv(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<T, RecvError>> {
        crate::future::sealed::StreamSource::poll_recv(&mut self.rx, slot, cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        crate::future::sealed::StreamSource::cancel(&self.rx, slot);
    }
}

#[cfg(feature = "async")]
impl<T> crate::future::sealed::SinkTarget for Pusher<T> {
    type Item = T;

    fn poll_send(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        value: &mut Option<T>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), SendError<T>>> {
        crate::future::sealed::SinkTarget::poll_send(&mut self.tx, slot, value, cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        crate::future::sealed::SinkTarget::cancel(&self.tx, slot);
    }
}

/// The puller is a `Stream` itself (feature `async`): its mpmc receiver's.
#[cfg(feature = "async")]
impl<T> futures_core::Stream for Puller<T> {
    type Item = T;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        std::pin::Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

/// The pusher is a `Sink` itself (feature `async`): its mpmc sender's.
#[cfg(feature = "async")]
impl<T> futures_sink::Sink<T> for Pusher<T> {
    type Error = SendError<T>;

    fn poll_ready(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.get_mut().tx).poll_ready(cx)
    }

    fn start_send(self: std::pin::Pin<&mut Self>, job: T) -> Result<(), Self::Error> {
        std::pin::Pin::new(&mut self.get_mut().tx).start_send(job)
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.get_mut().tx).poll_flush(cx)
    }

    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::pin::Pin::new(&mut self.get_mut().tx).poll_close(cx)
    }
}

// Neither end pins its fields.
impl<T> Unpin for Pusher<T> {}
impl<T> Unpin for Puller<T> {}
