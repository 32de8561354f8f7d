//! `readiness::ReadyFd` in a real epoll loop: one thread serves a loopback
//! UDP socket and drains a ring through its eventfd, with no second thread.
#![cfg(target_os = "linux")]

use std::net::UdpSocket;
use std::os::fd::AsRawFd;
use std::thread;
use std::time::{Duration, Instant};

use ringbus::readiness::ReadyFd;
use ringbus::{broadcast, mpmc, spsc, TryRecvError, Wait};

/// A minimal epoll set.
struct Epoll(i32);

impl Epoll {
    fn new() -> Self {
        // SAFETY: creates a new epoll fd.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(fd >= 0);
        Epoll(fd)
    }

    fn add(&self, fd: i32, token: u64) {
        let mut event = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: token,
        };
        // SAFETY: valid fds and a valid event.
        let rc = unsafe { libc::epoll_ctl(self.0, libc::EPOLL_CTL_ADD, fd, &mut event) };
        assert_eq!(rc, 0);
    }

    /// The tokens of the ready fds (empty on timeout).
    fn wait(&self, timeout: Duration) -> Vec<u64> {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 8];
        // SAFETY: a buffer of 8 events.
        let n =
            unsafe { libc::epoll_wait(self.0, events.as_mut_ptr(), 8, timeout.as_millis() as i32) };
        assert!(n >= 0, "epoll_wait failed");
        events[..n as usize].iter().map(|e| e.u64).collect()
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        // SAFETY: our fd, closed once.
        unsafe { libc::close(self.0) };
    }
}

const SOCKET: u64 = 1;
const RING: u64 = 2;

/// One thread, one epoll set: a UDP socket fed by one thread and a ring fed
/// by another. Every datagram and every message is handled; the loop only
/// sleeps in epoll_wait.
#[test]
fn epoll_loop_serves_a_socket_and_a_ring() {
    for wait in [Wait::Backoff, Wait::Park] {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let address = socket.local_addr().unwrap();
        let (tx, rx) = mpmc::Builder::new(16).wait(wait).build::<u32>();

        let datagrams = 200u32;
        let messages = 20_000u32;
        let udp = thread::spawn(move || {
            let out = UdpSocket::bind("127.0.0.1:0").unwrap();
            for i in 0..datagrams {
                out.send_to(&i.to_le_bytes(), address).unwrap();
                if i % 10 == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
        });
        let producer = thread::spawn(move || {
            for i in 0..messages {
                tx.send(i).unwrap();
                if i % 1000 == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
        });

        let epoll = Epoll::new();
        let mut ready = ReadyFd::new().unwrap();
        epoll.add(socket.as_raw_fd(), SOCKET);
        epoll.add(ready.as_raw_fd(), RING);

        let (mut got_datagrams, mut got_messages) = (0u32, 0u32);
        let mut next = 0u32;
        let mut ring_open = true;
        let deadline = Instant::now() + Duration::from_secs(30);
        // Drain, then arm; arm says "drain again" if a message slipped in.
        let mut drain = |got: &mut u32, open: &mut bool| loop {
            match rx.try_recv() {
                Ok(i) => {
                    assert_eq!(i, next);
                    next += 1;
                    *got += 1;
                }
                Err(TryRecvError::Empty) => {
                    if !ready.arm(&rx).unwrap() {
                        return;
                    }
                }
                Err(TryRecvError::Disconnected) => {
                    *open = false;
                    return;
                }
            }
        };
        drain(&mut got_messages, &mut ring_open);
        while got_datagrams < datagrams || ring_open {
            assert!(
                Instant::now() < deadline,
                "stuck: {got_datagrams} {got_messages}"
            );
            for token in epoll.wait(Duration::from_secs(5)) {
                match token {
                    SOCKET => {
                        let mut buf = [0u8; 4];
                        while let Ok((4, _)) = socket.recv_from(&mut buf) {
                            got_datagrams += 1;
                        }
                    }
                    RING => drain(&mut got_messages, &mut ring_open),
                    _ => unreachable!(),
                }
            }
        }
        udp.join().unwrap();
        producer.join().unwrap();
        assert_eq!(got_datagrams, datagrams, "{wait:?}");
        assert_eq!(got_messages, messages, "{wait:?}");
    }
}

/// An armed fd stays quiet while nothing comes, becomes readable with the
/// first message, and stays readable (one write) until re-armed.
#[test]
fn readable_exactly_when_messages_wait() {
    let (tx, rx) = spsc::Builder::new(8).wait(Wait::Park).build::<u8>();
    let mut fd = ReadyFd::new().unwrap();
    let epoll = Epoll::new();
    epoll.add(fd.as_raw_fd(), RING);
    assert!(!fd.arm(&rx).unwrap());
    assert!(epoll.wait(Duration::from_millis(20)).is_empty());
    let sender = thread::spawn(move || {
        thread::sleep(Duration::from_millis(5));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        tx
    });
    assert_eq!(epoll.wait(Duration::from_secs(5)), [RING]);
    let tx = sender.join().unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    // Still armed-and-fired: re-arming with a message left says "drain".
    assert!(fd.arm(&rx).unwrap());
    assert_eq!(rx.try_recv(), Ok(2));
    assert!(!fd.arm(&rx).unwrap());
    assert!(!fd.is_readable());
    // Disconnection makes it readable too.
    drop(tx);
    assert!(fd.is_readable());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

/// A broadcast subscriber works the same way.
#[test]
fn broadcast_subscriber_fd() {
    let (publisher, mut sub) = broadcast::Builder::new(8).wait(Wait::Backoff).build::<u8>();
    let mut fd = ReadyFd::new().unwrap();
    assert!(!fd.arm(&sub).unwrap());
    publisher.send(9).unwrap();
    assert!(fd.is_readable());
    assert_eq!(*sub.try_recv().unwrap(), 9);
}

/// Spin and Yield channels are refused, not left to hang.
#[test]
fn spin_and_yield_are_refused() {
    for wait in [Wait::Spin, Wait::Yield] {
        let (_tx, rx) = mpmc::Builder::new(8).wait(wait).build::<u8>();
        let mut fd = ReadyFd::new().unwrap();
        let err = fd.arm(&rx).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::Unsupported, "{wait:?}");
    }
}

/// A waker that counts its wake-ups.
struct Count(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Count {
    fn wake(self: std::sync::Arc<Self>) {
        // Relaxed: read on this thread after the send that woke it.
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// An fd armed on a ring that is then freed, and armed again on a new ring
/// (which the allocator often puts at the freed ring's address), must not
/// take over the registration of a task already waiting on the new ring:
/// the task is still woken by the next message. (Registration ids used to
/// restart at 0 on every ring, so the fd's stale id named the task's.)
#[test]
fn an_fd_rearmed_where_a_freed_ring_was_leaves_other_waiters_alone() {
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Waker};

    for _ in 0..100 {
        let mut fd = ReadyFd::new().unwrap();
        {
            let (_tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u32>();
            assert!(!fd.arm(&rx).unwrap());
        }
        let (tx, rx) = mpmc::Builder::new(4).wait(Wait::Park).build::<u32>();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut waiting = Box::pin(rx.recv_async());
        assert!(waiting
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        assert!(!fd.arm(&rx).unwrap());
        tx.send(7).unwrap();
        // Relaxed: the wake ran on this thread, inside `send`.
        assert_eq!(
            count.0.load(Ordering::Relaxed),
            1,
            "the waiting task was not woken"
        );
        assert!(fd.is_readable());
    }
}

/// An fd armed on A, then on B, then on A again has one registration on A,
/// which `disarm` removes: a message to A then leaves it unreadable.
#[test]
fn disarm_after_coming_back_leaves_nothing_behind() {
    let (tx_a, rx_a) = spsc::channel::<u32>(8);
    let (tx_b, rx_b) = spsc::channel::<u32>(8);
    let mut fd = ReadyFd::new().unwrap();
    assert!(!fd.arm(&rx_a).unwrap());
    assert!(!fd.arm(&rx_b).unwrap());
    assert!(!fd.arm(&rx_a).unwrap());
    fd.disarm(&rx_a);
    tx_a.send(1).unwrap();
    assert!(!fd.is_readable(), "a disarmed fd fired");
    // Still armed nowhere: B's stale registration (left when the fd moved
    // on) writes once, as the module doc says, and is gone after.
    tx_b.send(1).unwrap();
    assert!(fd.is_readable());
    drop((tx_a, tx_b));
}

/// The eventfds of this process, counted in `/proc/self/fd`.
fn eventfds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains("eventfd"))
        .count()
}

/// A dropped `ReadyFd` closes its eventfd at once, even while it is armed
/// on a receiver that gets no message (the registration left there holds
/// no fd).
#[test]
fn a_dropped_armed_fd_closes_its_eventfd() {
    let (tx, rx) = spsc::channel::<u32>(8);
    let before = eventfds();
    for _ in 0..100 {
        let mut fd = ReadyFd::new().unwrap();
        assert!(!fd.arm(&rx).unwrap());
    }
    // Other tests of this file may hold a few eventfds meanwhile.
    let after = eventfds();
    assert!(
        after < before + 20,
        "{} eventfds still open",
        after - before
    );
    // The registrations left behind cost the next message one wake-up.
    tx.send(1).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
}
