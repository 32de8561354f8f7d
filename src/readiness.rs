//! Readiness for someone else's event loop: a file descriptor that becomes
//! readable when messages wait (ZeroMQ's `ZMQ_FD`).
//!
//! A thread that already polls sockets with `epoll`, mio or tokio's
//! `AsyncFd` adds a [`ReadyFd`] to its interest set and drains the ring
//! itself when the fd is readable: no second thread, no channel between the
//! two.
//!
//! ```text
//!  loop {
//!      drain: while let Ok(m) = rx.try_recv() { handle(m) }
//!      if fd.arm(&rx)? { continue }      // a message came meanwhile: drain again
//!      epoll_wait(...)                    // the fd is readable when messages wait
//!  }
//! ```
//!
//! # The handshake: at most one write per empty → non-empty transition
//!
//! [`ReadyFd::arm`] is the waiter's half of the sleep/wake handshake of
//! `wait`'s module doc, with an eventfd write as the wake-up:
//!
//! 1. read the eventfd (it is no longer readable: the loop has drained);
//! 2. look: a message already there returns `true` (no registration);
//! 3. register the fd's waker on the receiver's signal (`sleepers += 1`:
//!    the senders now take their slow path), `SeqCst` fence;
//! 4. look again: a message that slipped in removes the registration and
//!    returns `true`; otherwise return `false` and let the loop wait.
//!
//! A sender that publishes reads `sleepers` after its fence; seeing the
//! registration, it takes the signal's lock, removes the waker and wakes it,
//! which writes the eventfd once. The waker is gone after that, so later
//! messages cost the senders nothing until the loop arms again: one write
//! per arming, that is per empty → non-empty transition. The fences make
//! the usual argument: the look in step 4 sees the message, or the sender
//! sees the registration. The loom model `fd_flag_handshake` in
//! `loom-tests/tests/waiters.rs` checks it on the very same code, with a
//! flag in place of the eventfd.
//!
//! Nobody pays anything while no fd is armed: the senders' hot path is the
//! one they always had.
//!
//! # Wait strategies
//!
//! On a [`Wait::Spin`] or [`Wait::Yield`] channel the senders never look for
//! waiters, so nothing would ever write the fd: [`ReadyFd::arm`] refuses
//! with [`io::ErrorKind::Unsupported`] rather than let the loop hang. Build
//! the channel with [`Wait::Backoff`] (the default) or [`Wait::Park`].
//!
//! # Platforms
//!
//! Linux only (`eventfd(2)`). Elsewhere the module does not exist; a port
//! would use the read end of a non-blocking pipe (or a kqueue `EVFILT_USER`
//! event on the BSDs and macOS) with the same handshake.
//!
//! [`Wait::Spin`]: crate::Wait::Spin
//! [`Wait::Yield`]: crate::Wait::Yield
//! [`Wait::Backoff`]: crate::Wait::Backoff
//! [`Wait::Park`]: crate::Wait::Park

use std::io;
use std::task::Waker;

use crate::select::Selectable;
use crate::sync::{Wake, WakeArc};

/// What an armed waiter does when woken, and how it is reset.
pub(crate) trait Kick: Send + Sync + 'static {
    /// The wake-up: make the fd readable.
    fn kick(&self);
    /// Make the fd unreadable again.
    fn clear(&self);
}

/// A [`Kick`] as a waker that does not keep it alive: a registration left
/// on a signal (by an fd armed elsewhere since, or dropped) holds only
/// this, so a dropped [`ReadyFd`] closes its eventfd at once. A wake that
/// races the drop either kicks a kick it holds alive meanwhile, or finds
/// it gone and does nothing.
struct Kicker<K>(std::sync::Weak<K>);

impl<K: Kick> Wake for Kicker<K> {
    fn wake(self: WakeArc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &WakeArc<Self>) {
        if let Some(kick) = self.0.upgrade() {
            kick.kick();
        }
    }
}

/// The arming logic, over any [`Kick`]: the eventfd, or a model's flag.
pub(crate) struct Armed<K: Kick> {
    /// The kick, owned here alone.
    kick: WakeArc<K>,
    /// What is registered on the signals: a [`Kicker`] of `kick`.
    waker: Waker,
    /// The registration, and the address of the signal it lives on (an id
    /// means something only on its own signal).
    key: Option<u64>,
    on: usize,
}

impl<K: Kick> Armed<K> {
    pub(crate) fn new(kick: K) -> Self {
        let kick = WakeArc::new(kick);
        let waker = Waker::from(WakeArc::new(Kicker(WakeArc::downgrade(&kick))));
        Armed {
            kick,
            waker,
            key: None,
            on: 0,
        }
    }

    pub(crate) fn kick(&self) -> &K {
        &self.kick
    }

    /// Steps 1–4 of the module doc.
    pub(crate) fn arm<S: Selectable + ?Sized>(&mut self, receiver: &S) -> io::Result<bool> {
        if !receiver.wait().may_sleep() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "ringbus: a Spin or Yield channel never wakes an fd; build it with Wait::Backoff or Wait::Park",
            ));
        }
        // 1.
        self.kick().clear();
        // 2.
        if receiver.is_ready() {
            return Ok(true);
        }
        // 3. A registration left on another signal stays there until that
        // signal's next notification removes it (one write, harmless). The
        // address alone may name a new signal where a freed one was: the
        // key then names no registration there (ids are unique in the
        // process), so `register` adds one instead of taking another's.
        // Back on a signal it left, the fd takes up the registration it
        // left there, if it is still listed, instead of adding a second
        // one that `disarm` would not know of.
        let signal = receiver.signal().0;
        let on = signal as *const _ as usize;
        if self.on != on {
            self.key = signal.registered_key(&self.waker);
            self.on = on;
        }
        signal.register(&mut self.key, &self.waker);
        // 4.
        if receiver.is_ready() {
            signal.unregister(&mut self.key);
            return Ok(true);
        }
        Ok(false)
    }

    /// Removes the registration from `receiver`'s signal, if there is one.
    #[cfg_attr(ringbus_loom, allow(dead_code))]
    pub(crate) fn disarm<S: Selectable + ?Sized>(&mut self, receiver: &S) {
        let signal = receiver.signal().0;
        if self.on == signal as *const _ as usize {
            signal.unregister(&mut self.key);
        }
    }
}

#[cfg(all(target_os = "linux", not(ringbus_loom)))]
pub use linux::ReadyFd;

#[cfg(all(target_os = "linux", not(ringbus_loom)))]
mod linux {
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

    use super::{Armed, Kick};
    use crate::select::Selectable;

    /// A non-blocking eventfd.
    struct EventFd(OwnedFd);

    impl Kick for EventFd {
        fn kick(&self) {
            let one: u64 = 1;
            // SAFETY: writes 8 bytes from a live u64 to an fd we own. A full
            // counter (EAGAIN, after 2^64 - 2 writes) is already readable.
            let _ = unsafe {
                libc::write(
                    self.0.as_raw_fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
        }

        fn clear(&self) {
            let mut count: u64 = 0;
            // SAFETY: reads 8 bytes into a live u64 from an fd we own;
            // EAGAIN (counter already 0) is fine, the fd is non-blocking.
            let _ = unsafe {
                libc::read(
                    self.0.as_raw_fd(),
                    (&mut count as *mut u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
        }
    }

    /// A file descriptor (Linux `eventfd`) that becomes readable when
    /// messages wait in the receiver it was last [armed](Self::arm) on; see
    /// the [module doc](super).
    ///
    /// Add it to an `epoll` set (or mio's `SourceFd`, tokio's `AsyncFd`) for
    /// readability. It stays readable until the next `arm`. Dropping it
    /// closes the eventfd at once, armed or not.
    ///
    /// ```
    /// use ringbus::{readiness::ReadyFd, spsc};
    ///
    /// let (tx, mut rx) = spsc::channel::<u32>(8);
    /// let mut fd = ReadyFd::new().unwrap();
    /// assert_eq!(fd.arm(&rx).unwrap(), false); // empty: armed
    /// assert!(!fd.is_readable());
    /// tx.send(1).unwrap(); // the one write of this transition
    /// tx.send(2).unwrap(); // costs the sender nothing
    /// assert!(fd.is_readable());
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(fd.arm(&rx).unwrap(), false); // drained: armed again
    /// # drop(tx); let _ = &mut rx;
    /// ```
    pub struct ReadyFd {
        armed: Armed<EventFd>,
    }

    impl ReadyFd {
        /// A new eventfd (non-blocking, close-on-exec), not armed yet.
        ///
        /// # Errors
        ///
        /// What `eventfd(2)` reports (out of file descriptors, ...).
        ///
        /// ```
        /// use std::os::fd::AsRawFd;
        ///
        /// let fd = ringbus::readiness::ReadyFd::new().unwrap();
        /// assert!(fd.as_raw_fd() >= 0);
        /// ```
        pub fn new() -> io::Result<Self> {
            // SAFETY: eventfd takes two integers and returns a new fd or -1.
            let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor that nothing else owns.
            let owned = unsafe { OwnedFd::from_raw_fd(fd) };
            Ok(ReadyFd {
                armed: Armed::new(EventFd(owned)),
            })
        }

        /// Resets the fd and arms it on `receiver`: it becomes readable
        /// (one eventfd write) when a message arrives or the senders go.
        /// Call it after draining the receiver, before waiting.
        ///
        /// Returns `true` if a message (or the disconnection) is already
        /// there: drain again instead of waiting (the fd is not armed then).
        ///
        /// # Errors
        ///
        /// [`io::ErrorKind::Unsupported`] if the channel waits with
        /// [`Wait::Spin`](crate::Wait::Spin) or
        /// [`Wait::Yield`](crate::Wait::Yield): its senders never look for
        /// waiters, so the fd would never become readable.
        ///
        /// ```
        /// use ringbus::{readiness::ReadyFd, spsc, Wait};
        ///
        /// let (tx, rx) = spsc::channel(4);
        /// let mut fd = ReadyFd::new().unwrap();
        /// tx.send(1).unwrap();
        /// assert_eq!(fd.arm(&rx).unwrap(), true); // drain first
        ///
        /// let (_tx, spin) = spsc::Builder::new(4).wait(Wait::Spin).build::<u8>();
        /// assert_eq!(fd.arm(&spin).unwrap_err().kind(), std::io::ErrorKind::Unsupported);
        /// ```
        pub fn arm<S: Selectable + ?Sized>(&mut self, receiver: &S) -> io::Result<bool> {
            self.armed.arm(receiver)
        }

        /// Removes the fd's registration from `receiver` (a receiver it is
        /// no longer armed on forgets it at its next message anyway).
        ///
        /// ```
        /// let (tx, rx) = ringbus::spsc::channel(4);
        /// let mut fd = ringbus::readiness::ReadyFd::new().unwrap();
        /// fd.arm(&rx).unwrap();
        /// fd.disarm(&rx);
        /// tx.send(1).unwrap();
        /// assert!(!fd.is_readable());
        /// ```
        pub fn disarm<S: Selectable + ?Sized>(&mut self, receiver: &S) {
            self.armed.disarm(receiver);
        }

        /// Whether the fd is readable now (a `poll(2)` with no timeout).
        ///
        /// ```
        /// let fd = ringbus::readiness::ReadyFd::new().unwrap();
        /// assert!(!fd.is_readable());
        /// ```
        pub fn is_readable(&self) -> bool {
            let mut poll = libc::pollfd {
                fd: self.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, timeout 0.
            let n = unsafe { libc::poll(&mut poll, 1, 0) };
            n > 0 && poll.revents & libc::POLLIN != 0
        }
    }

    impl AsRawFd for ReadyFd {
        fn as_raw_fd(&self) -> RawFd {
            self.armed.kick().0.as_raw_fd()
        }
    }

    impl AsFd for ReadyFd {
        fn as_fd(&self) -> BorrowedFd<'_> {
            self.armed.kick().0.as_fd()
        }
    }

    impl std::fmt::Debug for ReadyFd {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("ReadyFd")
                .field("fd", &self.as_raw_fd())
                .finish_non_exhaustive()
        }
    }
}

#[cfg(ringbus_loom)]
pub use model::ModelFd;

#[cfg(ringbus_loom)]
mod model {
    use super::{Armed, Kick};
    use crate::select::Selectable;
    use crate::sync::{AtomicBool, AtomicUsize, Ordering};

    /// A flag and a write counter in place of the eventfd.
    struct Flag {
        readable: AtomicBool,
        writes: AtomicUsize,
    }

    impl Kick for Flag {
        fn kick(&self) {
            // SeqCst: a model's stand-in for the syscall; the handshake's
            // orderings are elsewhere.
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.readable.store(true, Ordering::SeqCst);
        }

        fn clear(&self) {
            self.readable.store(false, Ordering::SeqCst);
        }
    }

    /// The [`ReadyFd`](super) arming logic with a flag for the eventfd, for
    /// the loom models only.
    #[doc(hidden)]
    pub struct ModelFd {
        armed: Armed<Flag>,
    }

    #[doc(hidden)]
    impl ModelFd {
        #[allow(clippy::new_without_default, missing_docs)]
        pub fn new() -> Self {
            ModelFd {
                armed: Armed::new(Flag {
                    readable: AtomicBool::new(false),
                    writes: AtomicUsize::new(0),
                }),
            }
        }

        #[allow(missing_docs)]
        pub fn arm<S: Selectable + ?Sized>(&mut self, receiver: &S) -> bool {
            self.armed.arm(receiver).expect("a Park or Backoff channel")
        }

        #[allow(missing_docs)]
        pub fn is_readable(&self) -> bool {
            self.armed.kick().readable.load(Ordering::SeqCst)
        }

        #[allow(missing_docs)]
        pub fn writes(&self) -> usize {
            self.armed.kick().writes.load(Ordering::SeqCst)
        }
    }
}
