//! Scopes: the user, tags, extra data and breadcrumbs of one piece of work (a request, a job),
//! and the thread-local that says which scope the current thread runs in.
//!
//! A scope is shared ([`Scope`] is a handle): a future bound to it takes it to whatever thread
//! polls it. The thread's current scope is lent in and out of a `Cell` (a pointer moved each
//! way), so that entering and leaving costs no reference count and no lock.

use std::cell::Cell;
use std::fmt;
use std::sync::{Arc, Mutex};

use super::{RequestContext, User, Values, process_values};
use crate::breadcrumbs::ScopeTrail;
use crate::text::truncate;

/// A scope's insides: its values (changed under a short lock), the request it serves (fixed
/// when it is forked), and its own breadcrumbs.
pub(crate) struct Shared {
    pub(crate) values: Mutex<Values>,
    pub(crate) request: Option<Arc<RequestContext>>,
    pub(crate) trail: Arc<ScopeTrail>,
}

impl Shared {
    /// A scope forked from `parent` (the process when `None`): a copy of its values, its
    /// request, and a trail that continues its own as it is now.
    fn fork(parent: Option<&Self>, request: Option<Arc<RequestContext>>) -> Self {
        let Some(parent) = parent else {
            return Self {
                values: Mutex::new(Values::NONE),
                request,
                trail: Arc::new(ScopeTrail::fork(None)),
            };
        };
        // In a forked child, a lock a parent's thread held at the fork is never released: the
        // child's scope then starts empty rather than wait for it.
        let values = if crate::fork::is_child() {
            parent.values.try_lock().map(|values| values.clone()).ok()
        } else {
            parent.values.lock().map(|values| values.clone()).ok()
        };
        let values = values.unwrap_or_default();
        Self {
            values: Mutex::new(values),
            request: request.or_else(|| parent.request.clone()),
            trail: Arc::new(ScopeTrail::fork(Some(Arc::clone(&parent.trail)))),
        }
    }
}

thread_local! {
    /// The scope this thread runs in; `None`: the process's.
    static CURRENT: Cell<Option<Arc<Shared>>> = const { Cell::new(None) };
}

/// The current thread's scope, if it runs in one.
pub(crate) fn current() -> Option<Arc<Shared>> {
    CURRENT
        .try_with(|current| {
            let scope = current.take();
            let copy = scope.clone();
            current.set(scope);
            copy
        })
        .ok()
        .flatten()
}

/// The current scope's trail: where a breadcrumb added now goes, and what an event's mark is
/// in (`None`: the process's).
pub(crate) fn current_trail() -> Option<Arc<ScopeTrail>> {
    CURRENT
        .try_with(|current| {
            let scope = current.take();
            let trail = scope.as_ref().map(|scope| Arc::clone(&scope.trail));
            current.set(scope);
            trail
        })
        .ok()
        .flatten()
}

/// A scope for a request the `tower` layer serves, forked from the current one.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) fn fork_for_request(request: RequestContext) -> Arc<Shared> {
    let parent = current();
    Arc::new(Shared::fork(parent.as_deref(), Some(Arc::new(request))))
}

/// Lends the scope in `slot` to the current thread until the guard is dropped (also when a
/// panic unwinds through it), when it goes back into `slot` and the thread gets its previous
/// scope back. `None` in `slot`: the thread runs in the process's scope meanwhile.
pub(crate) fn enter(slot: &mut Option<Arc<Shared>>) -> Entered<'_> {
    let mut lent = slot.take();
    let previous = CURRENT
        .try_with(|current| current.replace(lent.take()))
        .ok();
    if previous.is_none() {
        // The thread is past its thread-locals: nothing was lent.
        *slot = lent;
    }
    Entered { slot, previous }
}

/// Gives the scope back to its owner, and the thread its previous one; see [`enter`].
pub(crate) struct Entered<'a> {
    slot: &'a mut Option<Arc<Shared>>,
    /// `None` when nothing was lent.
    previous: Option<Option<Arc<Shared>>>,
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            *self.slot = CURRENT
                .try_with(|current| current.replace(previous))
                .ok()
                .flatten();
        }
    }
}

/// The user, tags, extra data and breadcrumbs of a piece of work — a request, a job, a task —
/// that the error events raised in it carry, over the process's.
///
/// A `Scope` is a handle: its clones are the same scope. Code runs in it with [`Scope::run`],
/// [`with_scope`](crate::with_scope) (a scope forked from the current one), or, for a future,
/// [`InScope`](crate::InScope). Inside, [`set_user`](crate::set_user),
/// [`set_tag`](crate::set_tag), [`remove_tag`](crate::remove_tag) and
/// [`add_breadcrumb`](crate::add_breadcrumb) change the scope, not the process.
///
/// An event raised in a scope carries the scope's user if it has one (else the process's), the
/// process's tags and extra data with the scope's over them, and the process's breadcrumbs up
/// to the moment the scope was forked followed by the scope's own (at most `max_breadcrumbs`,
/// the newest).
///
/// ```
/// let scope = allstak::Scope::new();
/// scope.set_user(allstak::User::new().with_id("u-7"));
/// scope.set_tag("job", "nightly-export");
/// scope.set_extra("batch", 42);
/// scope.add_breadcrumb(allstak::Breadcrumb::new("export started"));
/// scope.run(|| {
///     // An error reported here carries u-7, the tag, the extra and the breadcrumb.
///     allstak::add_breadcrumb(allstak::Breadcrumb::new("only in this scope"));
/// });
/// ```
#[derive(Clone)]
pub struct Scope {
    /// `None`: the process's scope (what runs in no scope changes).
    shared: Option<Arc<Shared>>,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("process", &self.shared.is_none())
            .finish_non_exhaustive()
    }
}

impl Default for Scope {
    fn default() -> Self {
        Self::new()
    }
}

impl Scope {
    /// A fresh scope: no user, tags, extra data or breadcrumbs of its own (the process's still
    /// apply under it, and its trail follows the process's as it is now).
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.run(|| allstak::set_tag("tenant", "acme")); // this scope's tag only
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            shared: Some(Arc::new(Shared::fork(None, None))),
        }
    }

    /// The scope the current thread runs in; outside any scope, the process's: changing it then
    /// changes what every event carries (as [`set_tag`](crate::set_tag) does).
    ///
    /// ```
    /// allstak::with_scope(
    ///     |scope| scope.set_tag("job", "export"),
    ///     || {
    ///         let current = allstak::Scope::current();
    ///         // Handed to a thread, it keeps the job's tag there.
    ///         std::thread::spawn(move || current.run(|| { /* ... */ })).join().unwrap();
    ///     },
    /// );
    /// ```
    #[must_use]
    pub fn current() -> Self {
        Self { shared: current() }
    }

    /// A new scope that starts as a copy of this one: its user, tags, extra data, the request
    /// it serves, and its breadcrumbs so far; what is changed in either afterwards is not seen
    /// by the other. A fork of the process's scope is a fresh scope.
    ///
    /// ```
    /// use allstak::InScope as _;
    ///
    /// # async fn job() {}
    /// # fn spawn(_: impl std::future::Future<Output = ()> + Send + 'static) {}
    /// // A background job that starts with the request's values, and keeps its own.
    /// spawn(job().in_scope(allstak::Scope::current().fork()));
    /// ```
    #[must_use]
    pub fn fork(&self) -> Self {
        Self {
            shared: Some(Arc::new(Shared::fork(self.shared.as_deref(), None))),
        }
    }

    /// Runs `run` in this scope on the current thread, then gives the thread its previous
    /// scope back (also when `run` panics).
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.set_tag("phase", "migrate");
    /// let rows = scope.run(|| 3);
    /// assert_eq!(rows, 3);
    /// ```
    pub fn run<R>(&self, run: impl FnOnce() -> R) -> R {
        let mut slot = self.shared.clone();
        let _entered = enter(&mut slot);
        run()
    }

    /// Runs `run` in `scope`, consumed (no reference count taken).
    pub(crate) fn run_owned<R>(self, run: impl FnOnce() -> R) -> R {
        let mut slot = self.shared;
        let _entered = enter(&mut slot);
        run()
    }

    /// The scope's insides, for a future bound to it.
    pub(crate) fn into_shared(self) -> Option<Arc<Shared>> {
        self.shared
    }

    /// Changes the values under their lock; what `change` returns is dropped after it.
    fn change<T>(&self, change: impl FnOnce(&mut Values) -> T) {
        if crate::fork::is_child() {
            return; // nothing is sent from a forked child, and the lock may be held for good
        }
        let values = match &self.shared {
            Some(shared) => &shared.values,
            None => process_values(),
        };
        let replaced = match values.lock() {
            Ok(mut values) => Some(change(&mut values)),
            Err(_) => None,
        };
        // Freed outside the lock.
        drop(replaced);
    }

    /// Sets (or, with `None`, clears) the user of this scope's events: the contract's `user`.
    /// A scope without a user of its own sends the process's.
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.set_user(allstak::User::new().with_id("u-42"));
    /// scope.set_user(None); // the process's user again
    /// ```
    pub fn set_user(&self, user: impl Into<Option<User>>) {
        let user = user.into().map(Arc::new);
        self.change(|values| std::mem::replace(&mut values.user, user));
    }

    /// Sets a tag of this scope's events, sent in their `metadata`; it wins over a process tag
    /// of the same name (a field an integration captured wins over both). Key and value are
    /// cut to [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES).
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.set_tag("tenant", "acme");
    /// ```
    pub fn set_tag(&self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (truncate(key.into()), truncate(value.into()));
        // In place unless an event or a fork still holds the tags it was given.
        self.change(|values| Arc::make_mut(values.tags.get_or_insert_default()).insert(key, value));
    }

    /// Removes a tag this scope set (a process tag stays under it).
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.set_tag("tenant", "acme");
    /// scope.remove_tag("tenant");
    /// ```
    pub fn remove_tag(&self, key: &str) {
        self.change(|values| match &mut values.tags {
            Some(tags) if tags.contains_key(key) => Arc::make_mut(tags).remove(key),
            _ => None,
        });
    }

    /// Sets a field of extra data of this scope's events: any JSON value, sent in their
    /// `metadata` (over a tag of the same name, under a field an integration captured). Strings
    /// are cut to [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES).
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.set_extra("attempt", 3);
    /// scope.set_extra("order", serde_json::json!({"id": "o-9", "items": 2}));
    /// ```
    pub fn set_extra(&self, key: impl Into<String>, value: impl Into<serde_json::Value>) {
        let key = truncate(key.into());
        let mut value = value.into();
        crate::text::truncate_strings(&mut value);
        self.change(|values| {
            Arc::make_mut(values.extra.get_or_insert_default()).insert(key, value)
        });
    }

    /// Removes a field of extra data this scope set.
    ///
    /// ```
    /// let scope = allstak::Scope::new();
    /// scope.set_extra("attempt", 3);
    /// scope.remove_extra("attempt");
    /// ```
    pub fn remove_extra(&self, key: &str) {
        self.change(|values| match &mut values.extra {
            Some(extra) if extra.contains_key(key) => Arc::make_mut(extra).remove(key),
            _ => None,
        });
    }

    /// This scope's trail of breadcrumbs; `None` for the process's.
    pub(crate) fn trail(&self) -> Option<&ScopeTrail> {
        self.shared.as_ref().map(|shared| &*shared.trail)
    }
}
