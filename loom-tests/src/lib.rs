//! loom models of ringbus's lock-free primitives.
//!
//! The models live in `tests/` and compile only with the loom cfg. `run`
//! builds them and runs each in a process of its own, as many at a time as
//! there are cores (its header says why that is faster than `cargo test`):
//!
//! ```text
//! bash loom-tests/run               # every model
//! bash loom-tests/run broadcast::   # one file's models
//! LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg ringbus_loom" \
//!     cargo test -p loom-tests --release --target-dir target/loom   # the same, slower
//! ```
//!
//! Each model is small (capacity 1 or 2, two or three threads, a handful of
//! messages) so that loom can explore every interleaving and every
//! weak-memory outcome within the preemption bound. This file holds what the
//! models share: a bounded `model` runner and a `Counted` payload whose
//! drops are counted.

#![cfg(ringbus_loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;

/// Runs `f` under loom in every interleaving, with at most
/// `LOOM_MAX_PREEMPTIONS` (default 2) preemptions per execution.
pub fn model<F>(f: F)
where
    F: Fn() + Sync + Send + 'static,
{
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    builder.check(f);
}

/// A payload that counts its drops in a shared counter.
#[derive(Debug)]
pub struct Counted {
    /// Which message this is.
    pub id: usize,
    drops: Arc<AtomicUsize>,
}

impl Counted {
    /// A message `id` whose drop increments `drops`.
    pub fn new(id: usize, drops: &Arc<AtomicUsize>) -> Self {
        Counted {
            id,
            drops: drops.clone(),
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        // Relaxed: a drop counter; read after the model's threads joined.
        self.drops.fetch_add(1, Ordering::Relaxed);
    }
}

/// A fresh drop counter.
pub fn counter() -> Arc<AtomicUsize> {
    Arc::new(AtomicUsize::new(0))
}

/// The number of drops counted so far.
pub fn drops(counter: &Arc<AtomicUsize>) -> usize {
    // Relaxed: see `fetch_add` in `drop`.
    counter.load(Ordering::Relaxed)
}
