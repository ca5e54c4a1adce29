//! Random bits for what must differ between processes and attempts (session ids, retry
//! jitter); not for secrets.

/// 128 random bits: two hashes under std's randomly keyed hasher, whose keys come from the
/// operating system's randomness (drawn once per thread, then varied for each new hasher), of a
/// per-process count, the process id and the clock: a forked child inherits its parent's keys
/// and count, and must still draw other ids than its parent and its siblings. Random enough to
/// tell sessions apart; not for secrets.
pub(crate) fn random_u128() -> u128 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};

    static DRAWN: AtomicU64 = AtomicU64::new(0);
    let count = DRAWN.fetch_add(1, Ordering::Relaxed);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let keys = RandomState::new();
    let half = |which: u8| {
        let mut hasher = keys.build_hasher();
        hasher.write_u64(count);
        hasher.write_u32(std::process::id());
        hasher.write_u64(now.as_secs());
        hasher.write_u32(now.subsec_nanos());
        hasher.write_u8(which);
        u128::from(hasher.finish())
    };
    half(0) << 64 | half(1)
}

/// 128 random bits for what is drawn per event (event ids, the sampling dice): two `SplitMix64`
/// streams per thread, seeded once from [`random_u128`], a few nanoseconds a draw where
/// [`random_u128`] costs a system call or two. Successive draws of a stream never repeat (its
/// state steps through every `u64`), and two threads' 128 bits coincide only if both their
/// streams do. A forked child inherits its parent's thread's streams, but it sends nothing
/// (see [`crate::fork`]). Not for secrets.
pub(crate) fn fast_u128() -> u128 {
    use std::cell::Cell;

    thread_local! {
        static STREAMS: Cell<Option<(u64, u64)>> = const { Cell::new(None) };
    }
    /// `SplitMix64`'s step and output function.
    fn next(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    STREAMS
        .try_with(|streams| {
            let (mut high, mut low) = streams.get().unwrap_or_else(|| {
                let seed = random_u128().to_be_bytes();
                let half = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().unwrap_or_default());
                (half(&seed[..8]), half(&seed[8..]))
            });
            let bits = u128::from(next(&mut high)) << 64 | u128::from(next(&mut low));
            streams.set(Some((high, low)));
            bits
        })
        // The thread is exiting, past its thread-locals.
        .unwrap_or_else(|_| random_u128())
}

/// `true` with probability `rate` (0.0 to 1.0): the sampling dice. `1.0` and above always, `0.0`
/// and below never, without drawing.
pub(crate) fn chance(rate: f32) -> bool {
    if rate >= 1.0 {
        return true;
    }
    if rate <= 0.0 || rate.is_nan() {
        return false;
    }
    // 32 random bits against the rate scaled to them: both exact in an `f64`.
    let draw = u32::try_from(fast_u128() >> 96).unwrap_or(u32::MAX);
    f64::from(draw) < f64::from(rate) * 4_294_967_296.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_draws_differ() {
        assert_ne!(random_u128(), random_u128());
    }

    #[test]
    fn fast_draws_differ_on_a_thread_and_between_threads() {
        let mut drawn: Vec<u128> = (0..1000).map(|_| fast_u128()).collect();
        drawn.extend(
            std::thread::spawn(|| (0..1000).map(|_| fast_u128()).collect::<Vec<_>>())
                .join()
                .expect("the other thread"),
        );
        let count = drawn.len();
        drawn.sort_unstable();
        drawn.dedup();
        assert_eq!(drawn.len(), count);
    }

    #[test]
    fn a_chance_of_one_always_wins_of_zero_never_and_of_a_half_about_half() {
        assert!((0..1000).all(|_| chance(1.0)));
        assert!((0..1000).all(|_| !chance(0.0)));
        let wins = (0..10_000).filter(|_| chance(0.5)).count();
        // Six standard deviations (50 each) either side.
        assert!((4700..=5300).contains(&wins), "{wins}");
    }
}
