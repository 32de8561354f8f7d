//! loom models of ringbus live in `tests/`; this library is empty on purpose.
//!
//! Run them with
//! `RUSTFLAGS="--cfg ringbus_loom" cargo test -p loom-tests --release`.
