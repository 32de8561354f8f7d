//! The replying end: [`Replier`] takes [`Request`]s, each answered through
//! its [`ReplyTo`] ticket.

use std::fmt;
use std::time::Duration;

use super::error::ReplyError;
use super::{Endpoint, ReplyTo, Shared};
use crate::error::{RecvError, RecvTimeoutError, TryRecvError};
use crate::mpmc;

/// One request taken by a replier: the payload, and the ticket that sends
/// the reply to the requester that asked.
///
/// Reply with [`reply`](Request::reply). Dropping a request without replying
/// tells its requester at once
/// ([`RequestError::Unanswered`](super::RequestError::Unanswered)).
///
/// ```
/// let (requester, replier) = ringbus::reqrep::channel::<String, String>(4);
/// std::thread::spawn(move || {
///     let mut request = replier.recv().unwrap();
///     request.payload_mut().push('!');
///     let shout = request.payload().to_uppercase();
///     request.reply(shout).unwrap();
/// });
/// assert_eq!(requester.request("hey".into()).as_deref(), Ok("HEY!"));
/// ```
pub struct Request<Req, Rep> {
    /// What the requester sent.
    payload: Req,
    /// Where the reply goes.
    reply_to: ReplyTo<Rep>,
}

impl<Req, Rep> Request<Req, Rep> {
    #[inline]
    pub(super) fn new(payload: Req, reply_to: ReplyTo<Rep>) -> Self {
        Request { payload, reply_to }
    }

    /// What the requester sent.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, ()>(1);
    /// let _ = requester.request_timeout(5, std::time::Duration::ZERO);
    /// assert_eq!(*replier.recv().unwrap().payload(), 5);
    /// ```
    pub fn payload(&self) -> &Req {
        &self.payload
    }

    /// What the requester sent, to change in place.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<Vec<u8>, ()>(1);
    /// let _ = requester.request_timeout(vec![1], std::time::Duration::ZERO);
    /// let mut request = replier.recv().unwrap();
    /// request.payload_mut().push(2);
    /// assert_eq!(request.payload(), &[1, 2]);
    /// ```
    pub fn payload_mut(&mut self) -> &mut Req {
        &mut self.payload
    }

    /// Sends `reply` to the requester that is waiting for it, and drops the
    /// request.
    ///
    /// # Errors
    ///
    /// [`ReplyError`] holding the reply if the requester stopped waiting for
    /// this request (it timed out, or saw every replier go).
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(1);
    /// let server = std::thread::spawn(move || replier.recv().unwrap().reply(7));
    /// assert_eq!(requester.request(0), Ok(7));
    /// assert!(server.join().unwrap().is_ok());
    /// ```
    #[inline]
    pub fn reply(self, reply: Rep) -> Result<(), ReplyError<Rep>> {
        self.reply_to.reply(reply)
    }

    /// Splits the request into its payload and the ticket to reply with, to
    /// keep the payload or to answer later (from any thread).
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<Vec<u32>, u32>(1);
    /// std::thread::spawn(move || {
    ///     let (numbers, reply_to) = replier.recv().unwrap().into_parts();
    ///     reply_to.reply(numbers.into_iter().sum()).unwrap();
    /// });
    /// assert_eq!(requester.request(vec![1, 2, 3]), Ok(6));
    /// ```
    pub fn into_parts(self) -> (Req, ReplyTo<Rep>) {
        (self.payload, self.reply_to)
    }

    /// Whether the requester has stopped waiting for this reply: a replier
    /// may skip the work.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(1);
    /// let _ = requester.request_timeout(1, std::time::Duration::ZERO);
    /// assert!(replier.recv().unwrap().is_abandoned());
    /// ```
    pub fn is_abandoned(&self) -> bool {
        self.reply_to.is_abandoned()
    }
}

impl<Req, Rep> fmt::Debug for Request<Req, Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("reply_to", &self.reply_to)
            .finish_non_exhaustive()
    }
}

/// The replying end of a [`reqrep`](super) channel: takes the next request.
/// Clone it for more repliers; each request goes to exactly one of them.
///
/// `Send` and `Sync` when `Req` and `Rep` are `Send`.
///
/// ```
/// use std::thread;
///
/// let (requester, replier) = ringbus::reqrep::channel::<u32, u32>(8);
/// let servers: Vec<_> = (0..2)
///     .map(|_| {
///         let replier = replier.clone();
///         thread::spawn(move || {
///             for request in replier.iter() {
///                 let n = *request.payload();
///                 request.reply(n * 2).unwrap();
///             }
///         })
///     })
///     .collect();
/// drop(replier);
/// for n in 0..10 {
///     assert_eq!(requester.request(n), Ok(n * 2));
/// }
/// drop(requester);
/// servers.into_iter().for_each(|s| s.join().unwrap());
/// ```
pub struct Replier<Req, Rep> {
    /// Out of the request ring.
    pub(super) rx: mpmc::Receiver<Request<Req, Rep>>,
    /// Keeps the endpoint (and a bus registry's `Weak` of it) alive; counts
    /// this replier in its `repliers`.
    endpoint: Shared<Endpoint<Req, Rep>>,
}

impl<Req, Rep> Replier<Req, Rep> {
    /// A replier already counted in by `endpoint.join()`.
    pub(super) fn new(
        rx: mpmc::Receiver<Request<Req, Rep>>,
        endpoint: Shared<Endpoint<Req, Rep>>,
    ) -> Self {
        Replier {
            rx: rx.for_round_trips(),
            endpoint,
        }
    }

    /// Takes the next request if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if no request waits and a requester is alive
    /// (or none ever connected), [`TryRecvError::Disconnected`] if none waits
    /// and every requester is gone.
    ///
    /// ```
    /// use ringbus::TryRecvError;
    ///
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert!(matches!(replier.try_recv(), Err(TryRecvError::Empty)));
    /// drop(requester);
    /// assert!(matches!(replier.try_recv(), Err(TryRecvError::Disconnected)));
    /// ```
    #[inline]
    pub fn try_recv(&self) -> Result<Request<Req, Rep>, TryRecvError> {
        self.rx.try_recv()
    }

    /// Takes the next request, waiting while there is none.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once no request waits and every requester is gone.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// std::thread::spawn(move || requester.request(3));
    /// let request = replier.recv().unwrap();
    /// assert_eq!(*request.payload(), 3);
    /// request.reply(4).unwrap();
    /// assert!(replier.recv().is_err()); // the requester is gone
    /// ```
    #[inline]
    pub fn recv(&self) -> Result<Request<Req, Rep>, RecvError> {
        self.rx.recv()
    }

    /// Takes the next request, waiting at most `timeout` while there is
    /// none.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if none came in time,
    /// [`RecvTimeoutError::Disconnected`] once none waits and every requester
    /// is gone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringbus::RecvTimeoutError;
    ///
    /// let (_requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// let err = replier.recv_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(err, RecvTimeoutError::Timeout);
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Request<Req, Rep>, RecvTimeoutError> {
        self.rx.recv_timeout(timeout)
    }

    /// An iterator over the requests already waiting: it never waits, and
    /// ends at the first `Empty` or `Disconnected`.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// let _ = requester.request_timeout(1, Duration::ZERO);
    /// assert_eq!(replier.try_iter().count(), 1);
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, Req, Rep> {
        TryIter { replier: self }
    }

    /// An iterator that waits for each request and ends when none waits and
    /// every requester is gone.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// let client = std::thread::spawn(move || requester.request(1));
    /// for request in replier.iter() {
    ///     request.reply(2).unwrap();
    /// }
    /// assert_eq!(client.join().unwrap(), Ok(2));
    /// ```
    pub fn iter(&self) -> Iter<'_, Req, Rep> {
        Iter { replier: self }
    }

    /// The number of requests the ring holds at most, a power of two.
    ///
    /// ```
    /// let (_requester, replier) = ringbus::reqrep::channel::<u8, u8>(5);
    /// assert_eq!(replier.capacity(), 8);
    /// ```
    pub fn capacity(&self) -> usize {
        self.rx.capacity()
    }

    /// The number of requests waiting. A snapshot: other handles may change
    /// it at any time.
    ///
    /// ```
    /// let (_requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert_eq!(replier.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.rx.len()
    }

    /// Whether no request waits.
    ///
    /// ```
    /// let (_requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert!(replier.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Whether the request ring is full.
    ///
    /// ```
    /// let (_requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// assert!(!replier.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.rx.is_full()
    }

    /// Whether every requester is gone. Requests they sent may still wait.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// drop(requester);
    /// assert!(replier.is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        self.rx.is_disconnected()
    }

    /// A snapshot of the channel's counters, shared by every requester and
    /// replier (see [`ReqRepStats`](crate::ReqRepStats)). No lock.
    ///
    /// ```
    /// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
    /// let server = std::thread::spawn(move || {
    ///     for request in &replier {
    ///         request.reply(0).unwrap();
    ///     }
    ///     replier
    /// });
    /// for i in 0..3 {
    ///     requester.request(i).unwrap();
    /// }
    /// drop(requester);
    /// let stats = server.join().unwrap().stats();
    /// assert_eq!((stats.requests, stats.taken, stats.replies), (3, 3, 3));
    /// ```
    pub fn stats(&self) -> crate::ReqRepStats {
        self.endpoint.stats()
    }
}

impl<Req, Rep> Clone for Replier<Req, Rep> {
    /// Another replier sharing the requests; each goes to one of them.
    fn clone(&self) -> Self {
        self.endpoint.join();
        Replier::new(self.rx.clone(), self.endpoint.clone())
    }
}

impl<Req, Rep> Drop for Replier<Req, Rep> {
    fn drop(&mut self) {
        // The last replier out drops what is still queued, so that no
        // requester waits for a reply that cannot come (module doc).
        if self.endpoint.leave() {
            self.endpoint.drain(&self.rx);
        }
    }
}

impl<Req, Rep> fmt::Debug for Replier<Req, Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replier")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

/// An iterator over the requests already waiting, from
/// [`Replier::try_iter`].
///
/// ```
/// let (_requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
/// assert!(replier.try_iter().next().is_none());
/// ```
#[derive(Debug)]
pub struct TryIter<'a, Req, Rep> {
    replier: &'a Replier<Req, Rep>,
}

impl<Req, Rep> Iterator for TryIter<'_, Req, Rep> {
    type Item = Request<Req, Rep>;

    fn next(&mut self) -> Option<Request<Req, Rep>> {
        self.replier.try_recv().ok()
    }
}

/// A waiting iterator over the requests, from [`Replier::iter`]; ends when
/// none waits and every requester is gone.
///
/// ```
/// let (requester, replier) = ringbus::reqrep::channel::<u8, u8>(4);
/// drop(requester);
/// assert!(replier.iter().next().is_none());
/// ```
#[derive(Debug)]
pub struct Iter<'a, Req, Rep> {
    replier: &'a Replier<Req, Rep>,
}

impl<Req, Rep> Iterator for Iter<'_, Req, Rep> {
    type Item = Request<Req, Rep>;

    fn next(&mut self) -> Option<Request<Req, Rep>> {
        self.replier.recv().ok()
    }
}

impl<'a, Req, Rep> IntoIterator for &'a Replier<Req, Rep> {
    type Item = Request<Req, Rep>;
    type IntoIter = Iter<'a, Req, Rep>;

    fn into_iter(self) -> Iter<'a, Req, Rep> {
        self.iter()
    }
}
