//! The one rule for ring sizes, shared by every primitive.

use std::mem::size_of;

/// The largest ring: indices and sequence stamps compare by signed
/// difference, so every live distance must stay far below `isize::MAX`.
const MAX_SLOTS: usize = 1 << (usize::BITS - 2);

/// The number of slots for a requested `capacity` of slots of type `S`:
/// `capacity` rounded up to a power of two, so an index maps to its slot with
/// a mask instead of a division.
///
/// # Panics
///
/// If `capacity` is 0, if it does not round up to a power of two within
/// `2^(usize::BITS - 2)`, or if that many slots of `S` exceed `isize::MAX`
/// bytes (the most one allocation may hold).
#[track_caller]
pub(crate) fn slots<S>(capacity: usize) -> usize {
    assert!(capacity > 0, "ringbus: capacity must be greater than 0");
    let slots = match capacity.checked_next_power_of_two() {
        Some(slots) if slots <= MAX_SLOTS => slots,
        _ => panic!(
            "ringbus: capacity overflow: {capacity} rounds up past the largest ring \
             ({MAX_SLOTS} slots)"
        ),
    };
    let fits = slots
        .checked_mul(size_of::<S>())
        .is_some_and(|bytes| bytes <= isize::MAX as usize);
    assert!(
        fits,
        "ringbus: capacity overflow: {slots} slots of {} bytes exceed isize::MAX bytes",
        size_of::<S>()
    );
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_up_to_a_power_of_two() {
        assert_eq!(slots::<u64>(1), 1);
        assert_eq!(slots::<u64>(3), 4);
        assert_eq!(slots::<u64>(1024), 1024);
        assert_eq!(slots::<u64>(1025), 2048);
        assert_eq!(slots::<()>(MAX_SLOTS), MAX_SLOTS);
    }

    #[test]
    #[should_panic(expected = "capacity must be greater than 0")]
    fn zero_panics() {
        slots::<u64>(0);
    }

    #[test]
    #[should_panic(expected = "capacity overflow")]
    fn rounding_overflow_panics() {
        slots::<()>(usize::MAX);
    }

    #[test]
    #[should_panic(expected = "capacity overflow")]
    fn byte_overflow_panics() {
        slots::<[u8; 4096]>(1 << 52);
    }
}
