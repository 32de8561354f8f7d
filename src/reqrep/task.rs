//! The async receive of a replier and its readiness: the request ring's
//! (an [`mpmc`](crate::mpmc) ring), one call down.

use std::future::Future;

use super::{Replier, Request};
use crate::error::RecvError;
use crate::select::sealed::{SignalRef, Source};
use crate::wait::Wait;

impl<Req, Rep> Replier<Req, Rep> {
    /// Takes the next request, as a future that waits while there is none.
    /// Cancellation-safe: a dropped future takes no request.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once no request waits and every requester is gone.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// let client = std::thread::spawn(move || requester.request(20));
    /// futures::executor::block_on(async {
    ///     let request = replier.recv_async().await.unwrap();
    ///     let n = *request.payload();
    ///     request.reply(n + 1).unwrap();
    /// });
    /// assert_eq!(client.join().unwrap(), Ok(21));
    /// ```
    pub fn recv_async(&self) -> impl Future<Output = Result<Request<Req, Rep>, RecvError>> + '_ {
        self.rx.recv_async()
    }
}

impl<Req, Rep> Source for Replier<Req, Rep> {
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

impl<Req, Rep> crate::select::Selectable for Replier<Req, Rep> {}

#[cfg(feature = "async")]
impl<Req, Rep> crate::future::sealed::StreamSource for Replier<Req, Rep> {
    type Item = Request<Req, Rep>;

    fn poll_recv(
        &mut self,
        slot: &mut crate::future::sealed::Slot,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Request<Req, Rep>, RecvError>> {
        slot.0.poll(&mut crate::mpmc::task::Recv(&self.rx), cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        slot.0.cancel(Source::signal(&self.rx).0);
    }
}
