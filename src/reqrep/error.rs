//! What a request or a reply can fail with.

use std::error::Error;
use std::fmt;

/// [`request`](super::Requester::request) or
/// [`request_timeout`](super::Requester::request_timeout) got no reply.
///
/// `Debug` prints the kind without requiring `Req: Debug`.
///
/// ```
/// use ringbus::reqrep::{self, RequestError};
///
/// let (requester, replier) = reqrep::channel::<u32, u32>(4);
/// drop(replier);
/// // No replier: the request was never queued and comes back.
/// assert_eq!(requester.request(7), Err(RequestError::Disconnected(7)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RequestError<Req> {
    /// Every replier was gone when the request was made: it was never
    /// queued, and comes back.
    Disconnected(Req),
    /// The request was queued but will never be answered: the replier that
    /// took it dropped it without replying, or every replier went away while
    /// it waited in the ring.
    Unanswered,
    /// No reply came in time ([`request_timeout`](super::Requester::request_timeout)
    /// only). `Some` holds the request when the ring stayed full so that it
    /// was never queued; `None` means it was queued, and a reply that comes
    /// later is discarded, never returned for another request.
    Timeout(Option<Req>),
}

impl<Req> RequestError<Req> {
    /// The request, if it was never queued.
    ///
    /// ```
    /// use ringbus::reqrep::RequestError;
    ///
    /// assert_eq!(RequestError::Disconnected("job").into_inner(), Some("job"));
    /// assert_eq!(RequestError::<&str>::Unanswered.into_inner(), None);
    /// ```
    pub fn into_inner(self) -> Option<Req> {
        match self {
            RequestError::Disconnected(req) => Some(req),
            RequestError::Unanswered => None,
            RequestError::Timeout(req) => req,
        }
    }

    /// Whether every replier was gone.
    ///
    /// ```
    /// assert!(ringbus::reqrep::RequestError::Disconnected(1).is_disconnected());
    /// ```
    pub fn is_disconnected(&self) -> bool {
        matches!(self, RequestError::Disconnected(_))
    }

    /// Whether the request was queued or taken and will never be answered.
    ///
    /// ```
    /// assert!(ringbus::reqrep::RequestError::<u8>::Unanswered.is_unanswered());
    /// ```
    pub fn is_unanswered(&self) -> bool {
        matches!(self, RequestError::Unanswered)
    }

    /// Whether the timeout passed.
    ///
    /// ```
    /// assert!(ringbus::reqrep::RequestError::<u8>::Timeout(None).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, RequestError::Timeout(_))
    }
}

impl<Req> fmt::Debug for RequestError<Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Disconnected(_) => f.write_str("Disconnected(..)"),
            RequestError::Unanswered => f.write_str("Unanswered"),
            RequestError::Timeout(Some(_)) => f.write_str("Timeout(Some(..))"),
            RequestError::Timeout(None) => f.write_str("Timeout(None)"),
        }
    }
}

impl<Req> fmt::Display for RequestError<Req> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Disconnected(_) => f.write_str("requesting with no replier connected"),
            RequestError::Unanswered => f.write_str("the request was dropped without a reply"),
            RequestError::Timeout(_) => f.write_str("timed out waiting for a reply"),
        }
    }
}

impl<Req> Error for RequestError<Req> {}

/// [`reply`](super::Request::reply) found nobody waiting: the requester gave
/// up on this request (it timed out, or learnt that every replier had gone).
/// The reply comes back.
///
/// ```
/// use std::time::Duration;
/// use ringbus::reqrep::{self, ReplyError, RequestError};
///
/// let (requester, replier) = reqrep::channel::<u32, u32>(4);
/// let timeout = Duration::from_millis(1);
/// assert_eq!(requester.request_timeout(1, timeout), Err(RequestError::Timeout(None)));
/// let late = replier.recv().unwrap();
/// assert_eq!(late.reply(10), Err(ReplyError(10)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ReplyError<Rep>(pub Rep);

impl<Rep> ReplyError<Rep> {
    /// The reply that nobody waited for.
    ///
    /// ```
    /// assert_eq!(ringbus::reqrep::ReplyError(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> Rep {
        self.0
    }
}

impl<Rep> fmt::Debug for ReplyError<Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplyError(..)")
    }
}

impl<Rep> fmt::Display for ReplyError<Rep> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("replying to a request nobody waits for")
    }
}

impl<Rep> Error for ReplyError<Rep> {}
