//! The bus's view of a request/reply channel: ends minted from an
//! [`Endpoint`] in any order, sides that leave and come back.

use super::*;
use crate::sync::thread;

fn serve_one(replier: &Replier<u32, u32>) {
    let request = replier.recv().unwrap();
    let n = *request.payload();
    request.reply(n + 1).unwrap();
}

#[test]
fn requester_first_queues_and_waits_for_a_replier() {
    let endpoint = Endpoint::<u32, u32>::new(4, Wait::Park);
    let requester = endpoint.requester();
    assert!(
        !requester.is_disconnected(),
        "a never-connected side is not gone"
    );
    let probe = requester.clone();
    let client = thread::spawn(move || requester.request(1));
    // Let the request land in the ring before any replier exists.
    while probe.is_empty() {
        thread::yield_now();
    }
    let replier = endpoint.replier();
    serve_one(&replier);
    assert_eq!(client.join().unwrap(), Ok(2));
}

#[test]
fn replier_first_waits_for_requests() {
    let endpoint = Endpoint::<u32, u32>::new(4, Wait::Backoff);
    let replier = endpoint.replier();
    assert!(matches!(replier.try_recv(), Err(TryRecvError::Empty)));
    assert!(!replier.is_disconnected());
    let client = thread::spawn({
        let endpoint = endpoint.clone();
        move || endpoint.requester().request(5)
    });
    serve_one(&replier);
    assert_eq!(client.join().unwrap(), Ok(6));
    // The requester has come and gone: the side is disconnected.
    assert!(replier.recv().is_err());
}

#[test]
fn repliers_leave_and_come_back() {
    let endpoint = Endpoint::<u32, u32>::new(4, Wait::Park);
    let requester = endpoint.requester();
    let replier = endpoint.replier();
    drop(replier);
    assert!(requester.is_disconnected());
    assert_eq!(requester.request(1), Err(RequestError::Disconnected(1)));

    let replier = endpoint.replier();
    assert!(!requester.is_disconnected());
    let server = thread::spawn(move || serve_one(&replier));
    assert_eq!(requester.request(2), Ok(3));
    server.join().unwrap();
    assert_eq!(requester.request(3), Err(RequestError::Disconnected(3)));
}

#[test]
fn endpoint_is_send_sync_static() {
    fn check<E: Send + Sync + 'static>() {}
    fn send<E: Send + 'static>() {}
    check::<Endpoint<String, Vec<u8>>>();
    check::<Replier<String, Vec<u8>>>();
    check::<Request<String, Vec<u8>>>();
    send::<Requester<String, Vec<u8>>>();
    send::<ReplyTo<Vec<u8>>>();
}
