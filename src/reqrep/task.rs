//! The async receive of a replier and its readiness: the request ring's
//! (an [`mpmc`](crate::mpmc) ring), one call down.

use std::future::Future;

use super::slot::{Outcome, Seq, Slot};
use super::{Endpoint, Replier, ReplyTo, Request, RequestError, Requester};
use crate::error::{RecvError, SendError};
use crate::select::sealed::{SignalRef, Source};
use crate::sync::light_fence;
use crate::wait::task::{Poller, Until};
use crate::wait::{Signal, Wait};

/// A pending wait for the reply to request `seq`.
struct Reply<'a, Rep> {
    slot: &'a Slot<Rep>,
    seq: Seq,
    wait: Wait,
}

impl<Rep> Poller for Reply<'_, Rep> {
    type Output = Outcome<Rep>;

    fn signal(&self) -> &Signal {
        &self.slot.signal
    }

    fn wait(&self) -> Wait {
        self.wait
    }

    fn attempt(&mut self) -> Option<Outcome<Rep>> {
        self.slot.poll(self.seq)
    }
}

/// Cancels request `seq` if the future is dropped while waiting for its
/// reply: a reply that comes later is turned away, as after a timeout.
struct CancelOnDrop<'a, Rep> {
    slot: &'a Slot<Rep>,
    seq: Seq,
}

impl<Rep> Drop for CancelOnDrop<'_, Rep> {
    fn drop(&mut self) {
        drop(self.slot.cancel(self.seq));
    }
}

impl<Req, Rep> Requester<Req, Rep> {
    /// Sends `request` and waits for its reply, as a future (waiting first
    /// for room in the ring if it is full). Takes `&mut self` so that the
    /// future is `Send` (a requester is not `Sync`).
    ///
    /// Dropping the future before it completes: before the request is
    /// queued, drops the request; after, cancels it as a timeout does (a
    /// late reply is turned away, never returned for another request).
    ///
    /// # Errors
    ///
    /// As [`request`](Self::request).
    ///
    /// ```
    /// let (mut requester, replier) = ringbus::reqrep::channel::<u32, u32>(4);
    /// std::thread::spawn(move || {
    ///     for request in &replier {
    ///         let n = *request.payload();
    ///         request.reply(n * 2).unwrap();
    ///     }
    /// });
    /// let reply = futures::executor::block_on(requester.request_async(21));
    /// assert_eq!(reply, Ok(42));
    /// ```
    pub async fn request_async(&mut self, request: Req) -> Result<Rep, RequestError<Req>> {
        let this = &mut *self;
        if this.endpoint.repliers_gone() {
            return Err(RequestError::Disconnected(request));
        }
        let seq = this.seq.get().wrapping_add(1);
        this.seq.set(seq);
        this.slot.arm(seq);
        let request = Request::new(request, ReplyTo::new(this.slot.clone(), seq));
        // W_q, as in `request_until`.
        if let Err(SendError(request)) = this.tx.send_async(request).await {
            let (payload, reply_to) = request.into_parts();
            reply_to.disarm();
            return Err(RequestError::Disconnected(payload));
        }
        // F_q and R_r, as in `request_until`.
        light_fence();
        if this.endpoint.repliers_gone() {
            return match this.slot.cancel(seq) {
                None => {
                    Endpoint::<Req, Rep>::count(&this.endpoint.outcomes.unanswered);
                    Err(RequestError::Unanswered)
                }
                Some(outcome) => this.resolve(outcome),
            };
        }
        let cancel = CancelOnDrop {
            slot: &this.slot,
            seq,
        };
        let outcome = Until::new(Reply {
            slot: &this.slot,
            seq,
            wait: this.endpoint.wait,
        })
        .await;
        std::mem::forget(cancel);
        this.resolve(outcome)
    }
}

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
        crate::future::sealed::StreamSource::poll_recv(&mut self.rx, slot, cx)
    }

    fn cancel(&self, slot: &mut crate::future::sealed::Slot) {
        crate::future::sealed::StreamSource::cancel(&self.rx, slot);
    }
}

/// The replier is a `Stream` of requests itself (feature `async`): its mpmc
/// receiver's.
#[cfg(feature = "async")]
impl<Req, Rep> futures_core::Stream for Replier<Req, Rep> {
    type Item = Request<Req, Rep>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Request<Req, Rep>>> {
        std::pin::Pin::new(&mut self.get_mut().rx).poll_next(cx)
    }
}

// The replier never pins its fields.
impl<Req, Rep> Unpin for Replier<Req, Rep> {}
