//! The bus's view of a pipeline: ends minted from an [`Endpoint`] in any
//! order, sides that leave and come back.

use super::*;

#[test]
fn pusher_first_buffers_up_to_capacity_then_a_puller_drains() {
    let endpoint = Endpoint::<u32>::new(2, Wait::Park);
    let push = endpoint.pusher();
    assert!(
        !push.is_disconnected(),
        "a never-connected side is not gone"
    );
    assert_eq!(push.try_send(1), Ok(()));
    assert_eq!(push.try_send(2), Ok(()));
    assert_eq!(push.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(
        push.send_timeout(3, Duration::from_millis(1)),
        Err(SendTimeoutError::Timeout(3))
    );
    let pull = endpoint.puller();
    assert_eq!(pull.try_iter().collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn puller_first_waits_for_a_pusher() {
    let endpoint = Endpoint::<u32>::new(2, Wait::Park);
    let pull = endpoint.puller();
    assert_eq!(pull.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(
        pull.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Timeout)
    );
    assert!(!pull.is_disconnected());
    let late = crate::sync::thread::spawn({
        let endpoint = endpoint.clone();
        move || endpoint.pusher().send(9).unwrap()
    });
    assert_eq!(pull.recv(), Ok(9));
    late.join().unwrap();
    // The pusher has come and gone: now the side is disconnected.
    assert_eq!(pull.recv(), Err(RecvError));
}

#[test]
fn sides_disconnect_and_revive() {
    let endpoint = Endpoint::<u32>::new(4, Wait::Backoff);
    let pull = endpoint.puller();
    let push = endpoint.pusher();
    push.send(1).unwrap();
    drop(push);
    assert_eq!(pull.recv(), Ok(1));
    assert_eq!(pull.try_recv(), Err(TryRecvError::Disconnected));

    // A pusher connecting again revives the pushing side.
    let push = endpoint.pusher();
    assert!(!pull.is_disconnected());
    push.send(2).unwrap();
    assert_eq!(pull.recv(), Ok(2));

    // Every puller gone: pushes fail and hand the job back...
    drop(pull);
    assert_eq!(push.try_send(3), Err(TrySendError::Disconnected(3)));
    assert_eq!(push.send(3), Err(SendError(3)));
    // ...until a puller connects again.
    let pull = endpoint.puller();
    push.send(4).unwrap();
    assert_eq!(pull.recv(), Ok(4));
}

#[test]
fn clones_count_as_the_same_side() {
    let endpoint = Endpoint::<u32>::new(4, Wait::Park);
    let first = endpoint.pusher();
    let second = first.clone();
    let pull = endpoint.puller();
    drop(first);
    second.send(1).unwrap();
    assert!(!pull.is_disconnected());
    drop(second);
    assert_eq!(pull.recv(), Ok(1));
    assert_eq!(pull.recv(), Err(RecvError));
}

#[test]
fn endpoint_is_send_sync_static() {
    fn check<E: Send + Sync + 'static>() {}
    check::<Endpoint<String>>();
    check::<Pusher<String>>();
    check::<Puller<String>>();
}
