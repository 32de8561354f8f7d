//! Property tests: random sequences of operations on the spsc and mpmc
//! rings agree, result by result, with a `VecDeque` of the same capacity.

use std::collections::VecDeque;
use std::mem::MaybeUninit;

use proptest::prelude::*;
use ringbus::spsc::ChunkError;
use ringbus::{mpmc, spsc, TryRecvError, TrySendError};

#[derive(Clone, Debug)]
enum Op {
    Send(u32),
    Recv,
    /// spsc only: write `n` values in place, commit `k` of them.
    WriteChunk(usize, usize),
    /// spsc only: read `n` values in place, release `k` of them.
    ReadChunk(usize, usize),
    Peek,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u32>().prop_map(Op::Send),
        4 => Just(Op::Recv),
        1 => (0usize..10, 0usize..10).prop_map(|(n, k)| Op::WriteChunk(n, k.min(n))),
        1 => (0usize..10, 0usize..10).prop_map(|(n, k)| Op::ReadChunk(n, k.min(n))),
        1 => Just(Op::Peek),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn spsc_matches_a_vecdeque(capacity in 1usize..9, ops in prop::collection::vec(op(), 0..200)) {
        let (mut tx, mut rx) = spsc::channel::<u32>(capacity);
        let capacity = capacity.next_power_of_two();
        prop_assert_eq!(tx.capacity(), capacity);
        let mut model = VecDeque::new();
        let mut next = 0u32;
        for op in ops {
            match op {
                Op::Send(v) => {
                    let got = tx.try_send(v);
                    if model.len() == capacity {
                        prop_assert_eq!(got, Err(TrySendError::Full(v)));
                    } else {
                        prop_assert_eq!(got, Ok(()));
                        model.push_back(v);
                    }
                }
                Op::Recv => match model.pop_front() {
                    Some(v) => prop_assert_eq!(rx.try_recv(), Ok(v)),
                    None => prop_assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)),
                },
                Op::WriteChunk(n, k) => {
                    let free = capacity - model.len();
                    match tx.write_chunk_uninit(n) {
                        Ok(mut chunk) => {
                            prop_assert!(n <= free);
                            let (a, b) = chunk.as_mut_slices();
                            prop_assert_eq!(a.len() + b.len(), n);
                            for slot in a.iter_mut().chain(b.iter_mut()).take(k) {
                                *slot = MaybeUninit::new(next);
                                model.push_back(next);
                                next = next.wrapping_add(1);
                            }
                            // SAFETY: the first `k` slots were initialised.
                            unsafe { chunk.commit(k) };
                        }
                        Err(err) => {
                            prop_assert!(n > free);
                            prop_assert_eq!(err, ChunkError::TooFewSlots(free));
                        }
                    }
                }
                Op::ReadChunk(n, k) => match rx.read_chunk(n) {
                    Ok(chunk) => {
                        prop_assert!(n <= model.len());
                        let (a, b) = chunk.as_slices();
                        let seen: Vec<u32> = a.iter().chain(b).copied().collect();
                        let expected: Vec<u32> = model.iter().take(n).copied().collect();
                        prop_assert_eq!(seen, expected);
                        chunk.commit(k);
                        model.drain(..k);
                    }
                    Err(err) => {
                        prop_assert!(n > model.len());
                        prop_assert_eq!(err, ChunkError::TooFewSlots(model.len()));
                    }
                },
                Op::Peek => prop_assert_eq!(rx.peek().copied(), model.front().copied()),
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.len(), model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
            prop_assert_eq!(tx.is_full(), model.len() == capacity);
        }
        drop(tx);
        let rest: Vec<u32> = rx.try_iter().collect();
        prop_assert_eq!(rest, Vec::from(model));
        prop_assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    }

    #[test]
    fn mpmc_matches_a_vecdeque(capacity in 1usize..9, ops in prop::collection::vec(op(), 0..200)) {
        let (tx, rx) = mpmc::channel::<u32>(capacity);
        let capacity = capacity.next_power_of_two();
        prop_assert_eq!(rx.capacity(), capacity);
        let mut model = VecDeque::new();
        for op in ops {
            match op {
                Op::Send(v) => {
                    let got = tx.try_send(v);
                    if model.len() == capacity {
                        prop_assert_eq!(got, Err(TrySendError::Full(v)));
                    } else {
                        prop_assert_eq!(got, Ok(()));
                        model.push_back(v);
                    }
                }
                Op::Recv | Op::ReadChunk(..) => match model.pop_front() {
                    Some(v) => prop_assert_eq!(rx.try_recv(), Ok(v)),
                    None => prop_assert_eq!(rx.try_recv(), Err(TryRecvError::Empty)),
                },
                Op::WriteChunk(..) | Op::Peek => {}
            }
            prop_assert_eq!(tx.len(), model.len());
            prop_assert_eq!(rx.is_empty(), model.is_empty());
            prop_assert_eq!(rx.is_full(), model.len() == capacity);
        }
        drop(rx);
        prop_assert_eq!(tx.try_send(1), Err(TrySendError::Disconnected(1)));
    }
}
