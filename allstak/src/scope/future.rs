//! A future bound to a scope: it runs in the scope at every poll, on whatever thread polls it,
//! so that the scope follows it into `tokio::spawn` and across a multi-thread runtime's workers.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::Scope;
use super::local::{self, Shared};

/// Binds a future to a scope, as `tracing`'s `Instrument` binds one to a span: every poll runs
/// in the scope, whichever thread polls it. Implemented for every future.
///
/// ```
/// use allstak::InScope as _;
///
/// # async fn work() {}
/// # async fn handler() {
/// // In a request's handler: the task reports with the request's user, tags, breadcrumbs
/// // and request context.
/// tokio::spawn(work().in_current_scope());
/// # }
/// ```
pub trait InScope: Future + Sized {
    /// This future, run in `scope` at every poll.
    ///
    /// ```
    /// use allstak::InScope as _;
    ///
    /// # async fn import() {}
    /// # async fn run() {
    /// let scope = allstak::Scope::new();
    /// scope.set_tag("job", "import");
    /// import().in_scope(scope).await;
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    fn in_scope(self, scope: Scope) -> Scoped<Self> {
        Scoped {
            future: ManuallyDrop::new(self),
            scope: scope.into_shared(),
        }
    }

    /// This future, run at every poll in the scope that is current now ([`Scope::current`]):
    /// the same scope, not a copy, so what the future sets there the scope's later events
    /// carry too.
    ///
    /// ```
    /// use allstak::InScope as _;
    ///
    /// # async fn send_receipt() {}
    /// # async fn handler() {
    /// allstak::set_user(allstak::User::new().with_id("u-42"));
    /// tokio::spawn(send_receipt().in_current_scope()); // its errors are u-42's
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    fn in_current_scope(self) -> Scoped<Self> {
        self.in_scope(Scope::current())
    }
}

impl<F: Future> InScope for F {}

pin_project_lite::pin_project! {
    /// A future bound to a scope by [`InScope`]: its output is the inner future's.
    ///
    /// ```
    /// use allstak::InScope as _;
    ///
    /// # async fn run() {
    /// let bound: allstak::Scoped<_> = async { 7 }.in_scope(allstak::Scope::new());
    /// assert_eq!(bound.await, 7);
    /// # }
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct Scoped<F> {
        // Dropped by hand, in the scope (`PinnedDrop`).
        #[pin]
        future: ManuallyDrop<F>,
        scope: Option<Arc<Shared>>,
    }

    impl<F> PinnedDrop for Scoped<F> {
        /// The future is dropped in its scope too: a cancelled task's or request's clean-up
        /// (a guard that logs as it drops) is its own, not the process's.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let _entered = local::enter(this.scope);
            // SAFETY: dropped in place, once (this is the wrapper's drop), and never used
            // again; the pinned future is not moved.
            unsafe { ManuallyDrop::drop(this.future.get_unchecked_mut()) };
        }
    }
}

impl<F> fmt::Debug for Scoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoped").finish_non_exhaustive()
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _entered = local::enter(this.scope);
        // SAFETY: a projection through `ManuallyDrop` (transparent), which is never moved out
        // of: the future stays pinned where it is.
        unsafe { this.future.map_unchecked_mut(|future| &mut **future) }.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A future that never completes, and says as it drops whether it ran in `scope`.
    struct SaysWhereItDrops {
        scope: Arc<Shared>,
        dropped_in_it: Arc<std::sync::Mutex<Option<bool>>>,
    }

    impl Future for SaysWhereItDrops {
        type Output = ();
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    impl Drop for SaysWhereItDrops {
        fn drop(&mut self) {
            let here = local::current().is_some_and(|current| Arc::ptr_eq(&current, &self.scope));
            *self
                .dropped_in_it
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(here);
        }
    }

    #[test]
    fn a_bound_future_cancelled_is_dropped_in_its_scope() {
        let scope = Scope::new();
        let shared = scope.clone().into_shared().expect("a scope of its own");
        let dropped_in_it = Arc::new(std::sync::Mutex::new(None));
        let bound = SaysWhereItDrops {
            scope: Arc::clone(&shared),
            dropped_in_it: Arc::clone(&dropped_in_it),
        }
        .in_scope(scope);
        // Cancelled: dropped before it completed, outside any scope.
        drop(bound);
        assert_eq!(*dropped_in_it.lock().expect("lock"), Some(true));
        assert!(local::current().is_none(), "the thread's scope is back");
    }

    #[test]
    fn a_bound_future_can_be_spawned_and_a_scope_shared_across_threads() {
        fn sendable<T: Send>() {}
        fn shareable<T: Send + Sync>() {}
        sendable::<Scoped<std::future::Ready<()>>>();
        shareable::<Scope>();
    }
}
