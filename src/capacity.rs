//! The one rule for ring sizes, shared by every primitive.

use std::mem::{size_of, MaybeUninit};

use crate::sync::UnsafeCell;

/// The largest ring: indices and sequence stamps compare by signed
/// difference, so every live distance must stay far below `isize::MAX`.
const MAX_SLOTS: usize = 1 << (usize::BITS - 2);

/// Why a capacity cannot make a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CapacityError {
    /// The capacity is 0.
    Zero,
    /// It does not round up to a power of two within `MAX_SLOTS`.
    Rounding,
    /// That many slots exceed `isize::MAX` bytes.
    Bytes {
        /// The rounded-up number of slots.
        slots: usize,
        /// The size of one slot.
        slot_size: usize,
    },
    /// The allocator refused the ring's memory.
    Memory {
        /// The bytes asked for.
        bytes: usize,
    },
}

impl CapacityError {
    /// What is wrong, in a few words (for the bus's errors and [`alloc`]'s
    /// panic).
    pub(crate) fn reason(self) -> &'static str {
        match self {
            CapacityError::Zero => "a capacity must be greater than 0",
            CapacityError::Rounding => {
                "it does not round up to a power of two within the largest ring"
            }
            CapacityError::Bytes { .. } => "a ring that large would exceed isize::MAX bytes",
            CapacityError::Memory { .. } => "the allocator refused a ring that large",
        }
    }
}

/// The number of slots for a requested `capacity` of slots of type `S`, or
/// why there is no such ring: `capacity` rounded up to a power of two, so an
/// index maps to its slot with a mask instead of a division.
///
/// # Errors
///
/// If `capacity` is 0, if it does not round up to a power of two within
/// `2^(usize::BITS - 2)`, or if that many slots of `S` exceed `isize::MAX`
/// bytes (the most one allocation may hold).
pub(crate) fn try_slots<S>(capacity: usize) -> Result<usize, CapacityError> {
    if capacity == 0 {
        return Err(CapacityError::Zero);
    }
    let slots = match capacity.checked_next_power_of_two() {
        Some(slots) if slots <= MAX_SLOTS => slots,
        _ => return Err(CapacityError::Rounding),
    };
    let fits = slots
        .checked_mul(size_of::<S>())
        .is_some_and(|bytes| bytes <= isize::MAX as usize);
    if !fits {
        return Err(CapacityError::Bytes {
            slots,
            slot_size: size_of::<S>(),
        });
    }
    Ok(slots)
}

/// [`try_slots`], for the primitives' builders, whose contract is to panic.
///
/// # Panics
///
/// If `capacity` is 0, if it does not round up to a power of two within
/// `2^(usize::BITS - 2)`, or if that many slots of `S` exceed `isize::MAX`
/// bytes (the most one allocation may hold).
#[track_caller]
pub(crate) fn slots<S>(capacity: usize) -> usize {
    match try_slots::<S>(capacity) {
        Ok(slots) => slots,
        Err(CapacityError::Zero) => panic!("ringbus: capacity must be greater than 0"),
        Err(CapacityError::Rounding) => panic!(
            "ringbus: capacity overflow: {capacity} rounds up past the largest ring \
             ({MAX_SLOTS} slots)"
        ),
        Err(CapacityError::Bytes { slots, slot_size }) => panic!(
            "ringbus: capacity overflow: {slots} slots of {slot_size} bytes exceed isize::MAX bytes"
        ),
        // `try_slots` does not allocate.
        Err(CapacityError::Memory { .. }) => unreachable!(),
    }
}

/// A ring's `slots` slots, slot `i` made by `make(i)`, or
/// [`CapacityError::Memory`] if the allocator refuses them: a capacity that
/// passes [`try_slots`] may still ask for terabytes, and the bus must answer
/// that with an error, not with the abort of an infallible allocation.
///
/// `slots` must come from [`try_slots`] or [`slots`] for `S`, so the byte
/// size fits in `isize`.
pub(crate) fn try_alloc<S>(
    slots: usize,
    make: impl FnMut(usize) -> S,
) -> Result<Box<[S]>, CapacityError> {
    let mut ring = Vec::new();
    if ring.try_reserve_exact(slots).is_err() {
        return Err(CapacityError::Memory {
            bytes: slots.saturating_mul(size_of::<S>()),
        });
    }
    // Within the reserved capacity: no reallocation, no second allocation.
    ring.extend((0..slots).map(make));
    Ok(ring.into_boxed_slice())
}

/// [`try_alloc`], for the primitives' builders, whose contract is to panic.
///
/// # Panics
///
/// If the allocator refuses the ring's memory.
#[track_caller]
pub(crate) fn alloc<S>(slots: usize, make: impl FnMut(usize) -> S) -> Box<[S]> {
    match try_alloc(slots, make) {
        Ok(ring) => ring,
        Err(err) => refused::<S>(slots, err),
    }
}

/// [`alloc`] of `slots` empty message cells, made without a loop over them:
/// a `MaybeUninit` is valid uninitialised, so no cell needs a value. (Made
/// one by one, a zero-sized `T` at the largest capacity cost `2^62` turns
/// of a loop in a debug build, which never finished.)
///
/// # Panics
///
/// If the allocator refuses the ring's memory.
#[cfg(not(ringbus_loom))]
#[track_caller]
pub(crate) fn alloc_empty<T>(slots: usize) -> Box<[UnsafeCell<MaybeUninit<T>>]> {
    let mut ring = Vec::new();
    if ring.try_reserve_exact(slots).is_err() {
        let bytes = slots.saturating_mul(size_of::<T>());
        refused::<UnsafeCell<MaybeUninit<T>>>(slots, CapacityError::Memory { bytes });
    }
    // SAFETY: `slots` elements fit in the capacity just reserved, and each
    // is a `MaybeUninit<T>` inside `repr(transparent)` cells (std's, in
    // `sync::UnsafeCell`), valid with any contents, uninitialised included.
    unsafe { ring.set_len(slots) };
    ring.into_boxed_slice()
}

/// [`alloc_empty`] under loom, whose cells track their accesses: each must
/// be made.
#[cfg(ringbus_loom)]
#[track_caller]
pub(crate) fn alloc_empty<T>(slots: usize) -> Box<[UnsafeCell<MaybeUninit<T>>]> {
    alloc(slots, |_| UnsafeCell::new(MaybeUninit::uninit()))
}

/// The panic of a ring the allocator refused.
#[cold]
#[track_caller]
fn refused<S>(slots: usize, err: CapacityError) -> ! {
    panic!(
        "ringbus: cannot allocate a ring of {slots} slots of {} bytes: {}",
        size_of::<S>(),
        err.reason()
    )
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
    fn try_slots_says_why() {
        assert_eq!(try_slots::<u64>(3), Ok(4));
        assert_eq!(try_slots::<u64>(0), Err(CapacityError::Zero));
        assert_eq!(try_slots::<()>(usize::MAX), Err(CapacityError::Rounding));
        assert_eq!(try_slots::<()>(MAX_SLOTS + 1), Err(CapacityError::Rounding));
        // 2^(BITS - 12) slots of 4 KiB: 2^BITS bytes, one past `usize`.
        let pages = 1 << (usize::BITS - 12);
        assert_eq!(
            try_slots::<[u8; 4096]>(pages),
            Err(CapacityError::Bytes {
                slots: pages,
                slot_size: 4096
            })
        );
        // The slot size decides: 2^(BITS - 5) slots of 8 bytes fit in
        // `isize::MAX` bytes, of 16 do not.
        let many = 1 << (usize::BITS - 5);
        assert_eq!(try_slots::<u64>(many), Ok(many));
        assert!(try_slots::<u128>(many).is_err());
    }

    #[test]
    #[should_panic(expected = "capacity must be greater than 0")]
    fn zero_panics() {
        slots::<u64>(0);
    }

    #[test]
    fn try_alloc_makes_every_slot() {
        let ring = try_alloc(4, |i| i * 10).unwrap();
        assert_eq!(&*ring, &[0, 10, 20, 30]);
    }

    // On 32 bits any size `try_slots` allows (up to `isize::MAX` bytes, 2
    // GiB) may well be granted, so the refusals are tested on 64 bits only.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn try_alloc_says_memory() {
        // Within isize::MAX bytes, far beyond any machine's memory (2^60
        // bytes, more than any address space holds): the allocator
        // refuses, and nothing aborts.
        let slots = try_slots::<[u8; 64]>(1 << 54).unwrap();
        assert_eq!(
            try_alloc(slots, |_| [0u8; 64]).err(),
            Some(CapacityError::Memory { bytes: 1 << 60 })
        );
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    #[should_panic(expected = "cannot allocate a ring of")]
    fn refused_memory_panics_in_the_builders() {
        alloc(1 << 54, |_| [0u8; 64]);
    }

    #[test]
    #[should_panic(expected = "capacity overflow")]
    fn rounding_overflow_panics() {
        slots::<()>(usize::MAX);
    }

    #[test]
    #[should_panic(expected = "capacity overflow")]
    fn byte_overflow_panics() {
        slots::<[u8; 4096]>(1 << (usize::BITS - 12));
    }
}
