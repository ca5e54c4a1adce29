//! Locks the exiting thread takes: it must never wait on another thread's I/O (a hung disk
//! would hold the process past its exit deadline), so it tries briefly and gives up.

use std::sync::{Mutex, MutexGuard, TryLockError};
use std::thread;
use std::time::{Duration, Instant};

/// How long the exiting thread tries for a lock another thread holds for one local file write.
pub(crate) const TRIES_FOR: Duration = Duration::from_millis(2);

/// `mutex`, if got within [`TRIES_FOR`] (yielding between tries); a poisoned one as it is.
pub(crate) fn lock_soon<T>(mutex: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    let until = Instant::now() + TRIES_FOR;
    loop {
        match mutex.try_lock() {
            Ok(guard) => return Some(guard),
            Err(TryLockError::Poisoned(poisoned)) => return Some(poisoned.into_inner()),
            Err(TryLockError::WouldBlock) if Instant::now() < until => thread::yield_now(),
            Err(TryLockError::WouldBlock) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_held_elsewhere_is_given_up_on_soon_and_a_free_or_poisoned_one_is_taken() {
        let mutex = Mutex::new(1);
        let held = mutex.lock().unwrap();
        let trying = Instant::now();
        thread::scope(|scope| {
            scope.spawn(|| assert!(lock_soon(&mutex).is_none()));
        });
        // Generous: 2 ms of tries on a loaded machine.
        assert!(
            trying.elapsed() < Duration::from_secs(1),
            "{:?}",
            trying.elapsed()
        );
        drop(held);
        assert_eq!(lock_soon(&mutex).map(|guard| *guard), Some(1));

        let _ = std::panic::catch_unwind(|| {
            let _guard = mutex.lock().unwrap();
            panic!("poisons the lock");
        });
        assert!(mutex.is_poisoned());
        assert_eq!(lock_soon(&mutex).map(|guard| *guard), Some(1));
    }
}
