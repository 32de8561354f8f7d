//! The messages left in a ring when its last handle drops: every one of
//! them is dropped, even if one's `Drop` panics.

use crate::unwind::HeldPanic;

/// Calls `drop_one(i)` for every index `i` of `head..tail` (wrapping), in
/// order. If a call panics, the calls for the indices after it are still
/// made, and then the first panic goes on, so no message leaks and none is
/// dropped twice.
pub(crate) fn drop_each(head: usize, tail: usize, drop_one: &dyn Fn(usize)) {
    let mut held = HeldPanic::default();
    let mut index = head;
    while index != tail {
        held.run(|| drop_one(index));
        index = index.wrapping_add(1);
    }
    held.resume();
}

#[cfg(all(test, not(ringbus_loom)))]
mod tests {
    use std::cell::RefCell;
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::drop_each;

    #[test]
    fn every_index_once_in_order_across_the_wrap() {
        let seen = RefCell::new(Vec::new());
        drop_each(usize::MAX - 1, 2, &|i| seen.borrow_mut().push(i));
        assert_eq!(*seen.borrow(), [usize::MAX - 1, usize::MAX, 0, 1]);
    }

    #[test]
    fn the_rest_after_a_panic() {
        let seen = RefCell::new(Vec::new());
        let result = catch_unwind(AssertUnwindSafe(|| {
            drop_each(0, 5, &|i| {
                seen.borrow_mut().push(i);
                assert_ne!(i, 1, "message 1 panics on drop");
            })
        }));
        assert!(result.is_err());
        assert_eq!(*seen.borrow(), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn every_index_though_several_panic() {
        let seen = RefCell::new(Vec::new());
        let result = catch_unwind(AssertUnwindSafe(|| {
            drop_each(0, 5, &|i| {
                seen.borrow_mut().push(i);
                assert!(i % 2 == 0, "message {i} panics on drop");
            })
        }));
        let panic = result.unwrap_err();
        assert_eq!(*seen.borrow(), [0, 1, 2, 3, 4]);
        let message = panic.downcast_ref::<String>().unwrap();
        assert_eq!(
            message, "message 1 panics on drop",
            "the first panic goes on"
        );
    }
}
