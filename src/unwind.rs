//! User code run for each of several things in a row (a message's `Drop`,
//! a waker's `wake`): a panic in one must not skip the others. A skipped
//! `Drop` leaks a message, or loses one a delivery had still to hand out; a
//! skipped `wake` leaves a task asleep for good.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// The first panic of the code run through [`run`](Self::run), held until
/// the caller has run the rest and put its own state in order, then
/// [`resume`](Self::resume)d. Later panics are dropped (std's collections
/// abort on a second panic instead; here none unwinds through another).
///
/// Costs nothing while nothing panics: no allocation, no lock.
#[derive(Default)]
pub(crate) struct HeldPanic(Option<Box<dyn Any + Send>>);

impl HeldPanic {
    /// Runs `f`, holding its panic if it panics (and none is held yet).
    ///
    /// Unwind safety is the caller's to keep: `f` must leave nothing of
    /// the crate half done when it panics. Every caller runs user code on
    /// what is already out of the crate's hands (a message taken from its
    /// ring, one in a ring being dropped, a waker taken from its list), so
    /// what a panic leaves behind is the user's own state (a clone that
    /// shares it with the value that panicked, say), never the crate's.
    #[inline]
    pub(crate) fn run(&mut self, f: impl FnOnce()) {
        if let Err(panic) = catch_unwind(AssertUnwindSafe(f)) {
            self.0.get_or_insert(panic);
        }
    }

    /// Drops `value` through [`run`](Self::run).
    #[inline]
    pub(crate) fn discard<X>(&mut self, value: X) {
        self.run(move || drop(value));
    }

    /// Resumes the panic held, if any.
    #[inline]
    pub(crate) fn resume(self) {
        if let Some(panic) = self.0 {
            resume_unwind(panic);
        }
    }
}

#[cfg(all(test, not(ringbus_loom)))]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::HeldPanic;

    #[test]
    fn runs_everything_then_resumes_the_first_panic() {
        let mut ran = Vec::new();
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut held = HeldPanic::default();
            for i in 0..4 {
                held.run(|| {
                    ran.push(i);
                    assert!(i % 2 == 0, "odd {i}");
                });
            }
            held.resume();
        }));
        assert_eq!(ran, [0, 1, 2, 3]);
        let panic = result.unwrap_err();
        assert_eq!(panic.downcast_ref::<String>().unwrap(), "odd 1");
    }

    #[test]
    fn resumes_nothing_when_nothing_panicked() {
        let mut held = HeldPanic::default();
        held.discard(String::from("dropped"));
        held.run(|| {});
        held.resume();
    }
}
