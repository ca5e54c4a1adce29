//! The trail of what happened before an error: a bounded ring of breadcrumbs that any thread
//! adds to, and that every error event carries. The process has one; each scope has its own,
//! which continues the trail it was forked from as it was then ([`ScopeTrail`]).
//!
//! Adding costs one short lock and no I/O. An event only takes a mark on the caller's thread
//! (one atomic load, and a reference count in a scope); the transport thread copies the trail
//! up to that mark when it builds the payload, so a capture never copies the trail. Every string of a breadcrumb is cut to
//! [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES) as it is added, so the trail holds at most
//! `max_breadcrumbs` bounded breadcrumbs, whatever the program logs.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use serde_json::{Map, Value};

use crate::Level;
use crate::text::{truncate, truncate_cow, truncate_strings};

/// How many breadcrumbs the trail keeps by default (`ConfigBuilder::max_breadcrumbs`).
pub(crate) const DEFAULT_MAX_BREADCRUMBS: usize = 100;

/// Something that happened, kept so that a later error event shows what led to it.
///
/// Each of its strings (message, type, category, data keys and string values at any depth) is
/// cut to [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES) when it is added, and an error event
/// over [`MAX_EVENT_BYTES`](crate::MAX_EVENT_BYTES) drops its oldest breadcrumbs first.
///
/// ```
/// allstak::add_breadcrumb(
///     allstak::Breadcrumb::new("cache miss")
///         .with_category("cache")
///         .with_level(allstak::Level::Warning)
///         .with_data("key", "user:42"),
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Breadcrumb {
    pub(crate) timestamp: SystemTime,
    pub(crate) kind: Cow<'static, str>,
    pub(crate) category: Option<Cow<'static, str>>,
    pub(crate) message: Option<String>,
    pub(crate) level: Level,
    pub(crate) data: Map<String, Value>,
}

/// The hook [`ConfigBuilder::before_breadcrumb`](crate::ConfigBuilder::before_breadcrumb)
/// takes.
pub(crate) type BeforeBreadcrumb = dyn Fn(Breadcrumb) -> Option<Breadcrumb> + Send + Sync;

/// Runs `hook` on `breadcrumb`: `None` when it dropped it, or panicked. A breadcrumb the hook
/// itself adds is kept as it is: through the hook again, each would add another, without end.
pub(crate) fn apply(hook: &BeforeBreadcrumb, breadcrumb: Breadcrumb) -> Option<Breadcrumb> {
    thread_local! {
        /// Set while `before_breadcrumb` runs on this thread.
        static IN_HOOK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    match IN_HOOK.try_with(|flag| flag.replace(true)) {
        Ok(false) => {}
        Ok(true) => return Some(breadcrumb),
        // The thread is exiting, past its thread-locals: the hook cannot be guarded.
        Err(_) => return None,
    }
    let outcome = crate::sdk_thread::quietly(|| hook(breadcrumb)).flatten();
    let _ = IN_HOOK.try_with(|flag| flag.set(false));
    outcome
}

impl Breadcrumb {
    /// A breadcrumb of type `default`, level `info`, timestamped now.
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("loaded 3 plugins");
    /// assert_eq!(breadcrumb.message(), Some("loaded 3 plugins"));
    /// assert_eq!(breadcrumb.kind(), "default");
    /// assert_eq!(breadcrumb.level(), allstak::Level::Info);
    /// ```
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            timestamp: SystemTime::now(),
            kind: Cow::Borrowed("default"),
            category: None,
            message: Some(message.into()),
            level: Level::Info,
            data: Map::new(),
        }
    }

    /// When it happened (when it was made, unless [`with_timestamp`](Self::with_timestamp)
    /// said otherwise).
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("started");
    /// assert!(breadcrumb.timestamp() <= std::time::SystemTime::now());
    /// ```
    #[must_use]
    pub fn timestamp(&self) -> SystemTime {
        self.timestamp
    }

    /// Its type on the wire: `default`, `log`, `http`, `navigation`…
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("GET /users").with_kind("http");
    /// assert_eq!(breadcrumb.kind(), "http");
    /// ```
    #[must_use]
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// What part of the program it comes from, if said.
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("miss").with_category("cache");
    /// assert_eq!(breadcrumb.category(), Some("cache"));
    /// ```
    #[must_use]
    pub fn category(&self) -> Option<&str> {
        self.category.as_deref()
    }

    /// Its message.
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("miss");
    /// assert_eq!(breadcrumb.message(), Some("miss"));
    /// ```
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// How serious it was.
    ///
    /// ```
    /// use allstak::{Breadcrumb, Level};
    /// assert_eq!(Breadcrumb::new("slow").with_level(Level::Warning).level(), Level::Warning);
    /// ```
    #[must_use]
    pub fn level(&self) -> Level {
        self.level
    }

    /// Its `data` object.
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("miss").with_data("key", "user:42");
    /// assert_eq!(breadcrumb.data()["key"], "user:42");
    /// ```
    #[must_use]
    pub fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// The `data` object to change (in [`ConfigBuilder::before_breadcrumb`](crate::ConfigBuilder::before_breadcrumb),
    /// say).
    ///
    /// ```
    /// let mut breadcrumb = allstak::Breadcrumb::new("login").with_data("email", "ada@example.com");
    /// breadcrumb.data_mut().remove("email");
    /// assert!(breadcrumb.data().is_empty());
    /// ```
    pub fn data_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.data
    }

    /// Itself with another message.
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("GET /users/42").with_message("GET /users/:id");
    /// assert_eq!(breadcrumb.message(), Some("GET /users/:id"));
    /// ```
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Itself timestamped `timestamp` (something that happened earlier, recorded now).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// let then = SystemTime::now() - Duration::from_secs(5);
    /// let breadcrumb = allstak::Breadcrumb::new("request sent").with_timestamp(then);
    /// assert_eq!(breadcrumb.timestamp(), then);
    /// ```
    #[must_use]
    pub fn with_timestamp(mut self, timestamp: SystemTime) -> Self {
        self.timestamp = timestamp;
        self
    }

    /// Itself with its type on the wire: `default`, `log`, `http`, `navigation`…
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("GET /users").with_kind("http");
    /// # let _ = breadcrumb;
    /// ```
    #[must_use]
    pub fn with_kind(mut self, kind: impl Into<Cow<'static, str>>) -> Self {
        self.kind = kind.into();
        self
    }

    /// Itself with the part of the program it comes from (`db`, `http`, a module path…).
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("miss").with_category("cache");
    /// # let _ = breadcrumb;
    /// ```
    #[must_use]
    pub fn with_category(mut self, category: impl Into<Cow<'static, str>>) -> Self {
        self.category = Some(category.into());
        self
    }

    /// Itself with how serious it was (`info` by default).
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("slow").with_level(allstak::Level::Warning);
    /// # let _ = breadcrumb;
    /// ```
    #[must_use]
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Itself with one more field of its `data` object.
    ///
    /// ```
    /// let breadcrumb = allstak::Breadcrumb::new("miss").with_data("key", "user:42");
    /// # let _ = breadcrumb;
    /// ```
    #[must_use]
    pub fn with_data(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.data.insert(truncate(key.into()), value.into());
        self
    }

    /// Itself with every string cut to [`crate::MAX_STRING_BYTES`].
    fn limited(mut self) -> Self {
        self.kind = truncate_cow(self.kind);
        self.category = self.category.map(truncate_cow);
        self.message = self.message.map(truncate);
        self.data.values_mut().for_each(truncate_strings);
        self
    }
}

/// The number the next breadcrumb gets, in any trail: one sequence for all, so that a mark
/// taken when a scope is forked also says where its parent's trail stops.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A mark for an event captured now (or a scope forked now): what came before it is its.
pub(crate) fn mark_now() -> u64 {
    NEXT.load(Ordering::Relaxed)
}

/// A trail: the newest breadcrumbs, each numbered in the order added.
pub(crate) struct Trail {
    ring: Mutex<VecDeque<(u64, Breadcrumb)>>,
    capacity: AtomicUsize,
}

impl Trail {
    pub(crate) const fn new() -> Self {
        Self {
            ring: Mutex::new(VecDeque::new()),
            capacity: AtomicUsize::new(DEFAULT_MAX_BREADCRUMBS),
        }
    }

    pub(crate) fn set_capacity(&self, capacity: usize) {
        self.capacity.store(capacity, Ordering::Relaxed);
    }

    /// Adds `breadcrumb` with its strings cut, dropping the oldest once the trail is full.
    pub(crate) fn add(&self, breadcrumb: Breadcrumb) {
        self.add_within(breadcrumb, self.capacity.load(Ordering::Relaxed));
    }

    /// [`Self::add`], keeping at most `capacity` (a scope's trail keeps what its client's does).
    pub(crate) fn add_within(&self, breadcrumb: Breadcrumb, capacity: usize) {
        if capacity == 0 {
            return;
        }
        // Cut before the lock: other threads never wait for it.
        let breadcrumb = breadcrumb.limited();
        let Ok(mut ring) = self.ring.lock() else {
            return;
        };
        // Numbered under the lock, so numbers grow along the ring.
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let evicted = if ring.len() >= capacity {
            ring.pop_front()
        } else {
            None
        };
        ring.push_back((number, breadcrumb));
        while ring.len() > capacity {
            ring.pop_front();
        }
        drop(ring);
        // Freed outside the lock.
        drop(evicted);
    }

    /// A mark for an event captured now: the trail before it is what it carries.
    #[cfg(test)]
    pub(crate) fn mark(&self) -> u64 {
        mark_now()
    }

    /// Copies of the breadcrumbs added before `mark` that are still kept, oldest first.
    #[cfg(test)]
    pub(crate) fn before(&self, mark: u64) -> Vec<Breadcrumb> {
        let mut copies = Vec::new();
        self.newest_before(mark, usize::MAX, &mut copies);
        copies.reverse();
        copies
    }

    fn is_empty(&self) -> bool {
        self.ring.lock().is_ok_and(|ring| ring.is_empty())
    }

    /// Pushes copies of the (at most `most`) newest breadcrumbs added before `mark`, newest
    /// first.
    fn newest_before(&self, mark: u64, most: usize, into: &mut Vec<Breadcrumb>) {
        let Ok(ring) = self.ring.lock() else {
            return;
        };
        into.extend(
            ring.iter()
                .rev()
                .skip_while(|(number, _)| *number >= mark)
                .take(most)
                .map(|(_, breadcrumb)| breadcrumb.clone()),
        );
    }
}

/// A scope's trail: its own breadcrumbs, after those of the trail it was forked from (its
/// parent scope's, or the process's) as they were when it was forked.
pub(crate) struct ScopeTrail {
    own: Trail,
    /// `None`: forked from the process's trail.
    parent: Option<Arc<ScopeTrail>>,
    /// The mark taken when it was forked: the parent's breadcrumbs before it are its.
    forked_at: u64,
}

impl ScopeTrail {
    /// A trail that continues `parent` (the process's when `None`) as it is now.
    pub(crate) fn fork(parent: Option<Arc<ScopeTrail>>) -> Self {
        match parent {
            // A parent with nothing of its own is passed over: what it continues is what the
            // fork continues too, so that scopes forked from scopes (a task's from a request's,
            // again and again) do not make a chain that grows.
            Some(parent) if parent.own.is_empty() => Self {
                own: Trail::new(),
                parent: parent.parent.clone(),
                forked_at: parent.forked_at,
            },
            parent => Self {
                own: Trail::new(),
                parent,
                forked_at: mark_now(),
            },
        }
    }

    /// Adds `breadcrumb` to this scope only, keeping at most `capacity` of its own.
    pub(crate) fn add(&self, breadcrumb: Breadcrumb, capacity: usize) {
        self.own.add_within(breadcrumb, capacity);
    }
}

impl std::fmt::Debug for ScopeTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeTrail").finish_non_exhaustive()
    }
}

/// Where an event's breadcrumbs are, as of when it happened.
#[derive(Clone, Debug)]
pub(crate) struct Mark {
    /// `None`: the process's trail.
    pub(crate) scope: Option<Arc<ScopeTrail>>,
    pub(crate) at: u64,
}

impl Mark {
    /// The event's breadcrumbs, oldest first: at most `capacity`, the newest, from its scope's
    /// trail and those it continues (`process`: the process's).
    pub(crate) fn read(&self, process: &Trail, capacity: usize) -> Vec<Breadcrumb> {
        let mut newest_first = Vec::new();
        let (mut scope, mut at) = (self.scope.as_deref(), self.at);
        // A loop, not recursion: however deep scopes nest, the stack does not grow.
        while newest_first.len() < capacity {
            let most = capacity - newest_first.len();
            match scope {
                Some(trail) => {
                    trail.own.newest_before(at, most, &mut newest_first);
                    at = at.min(trail.forked_at);
                    scope = trail.parent.as_deref();
                }
                None => {
                    process.newest_before(at, most, &mut newest_first);
                    break;
                }
            }
        }
        newest_first.reverse();
        newest_first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_breadcrumb_the_hook_adds_is_kept_as_it_is_not_hooked_again() {
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let hook = |breadcrumb: Breadcrumb| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            let inner = apply(&|_| None, Breadcrumb::new("from the hook"));
            assert_eq!(
                inner.and_then(|b| b.message).as_deref(),
                Some("from the hook")
            );
            Some(breadcrumb)
        };
        let hook: &BeforeBreadcrumb = &hook;
        assert!(apply(hook, Breadcrumb::new("outer")).is_some());
        assert_eq!(CALLS.load(Ordering::Relaxed), 1);
        // The guard is down again: the next one goes through a hook.
        assert!(apply(&|_| None, Breadcrumb::new("dropped")).is_none());
    }

    fn messages(trail: &[Breadcrumb]) -> Vec<String> {
        trail.iter().filter_map(|b| b.message.clone()).collect()
    }

    #[test]
    fn a_full_trail_keeps_the_newest() {
        let trail = Trail::new();
        for n in 0..150 {
            trail.add(Breadcrumb::new(n.to_string()));
        }
        let kept = trail.before(trail.mark());
        assert_eq!(kept.len(), DEFAULT_MAX_BREADCRUMBS);
        assert_eq!(kept[0].message.as_deref(), Some("50"));
        assert_eq!(kept[99].message.as_deref(), Some("149"));
    }

    #[test]
    fn an_event_carries_only_what_came_before_it() {
        let trail = Trail::new();
        trail.add(Breadcrumb::new("before"));
        let mark = trail.mark();
        trail.add(Breadcrumb::new("after"));
        assert_eq!(messages(&trail.before(mark)), ["before"]);
    }

    #[test]
    fn every_string_of_a_breadcrumb_is_cut_as_it_is_added() {
        let trail = Trail::new();
        let huge = "x".repeat(2 << 20);
        trail.add(
            Breadcrumb::new(huge.clone())
                .with_kind(huge.clone())
                .with_category(huge.clone())
                .with_data(huge.clone(), serde_json::json!({"deep": [huge.clone()]}))
                .with_data("short", "kept"),
        );
        let kept = trail.before(trail.mark());
        let cut =
            |text: &str| text.len() <= crate::MAX_STRING_BYTES && text.ends_with(crate::TRUNCATED);
        let crumb = &kept[0];
        assert!(cut(crumb.message.as_deref().unwrap_or_default()));
        assert!(cut(&crumb.kind));
        assert!(cut(crumb.category.as_deref().unwrap_or_default()));
        let (key, value) = crumb
            .data
            .iter()
            .find(|(k, _)| *k != "short")
            .expect("the big field");
        assert!(cut(key));
        assert!(cut(value["deep"][0].as_str().unwrap_or_default()));
        assert_eq!(crumb.data["short"], "kept");
    }

    #[test]
    fn a_scopes_trail_is_its_parents_as_of_the_fork_then_its_own() {
        let process = Trail::new();
        process.add(Breadcrumb::new("boot"));
        let request = Arc::new(ScopeTrail::fork(None));
        process.add(Breadcrumb::new("other work, after the fork"));
        request.add(Breadcrumb::new("auth"), 100);
        let task = Arc::new(ScopeTrail::fork(Some(Arc::clone(&request))));
        request.add(Breadcrumb::new("the request, after the task forked"), 100);
        task.add(Breadcrumb::new("task"), 100);
        let mark = |scope: &Arc<ScopeTrail>| Mark {
            scope: Some(Arc::clone(scope)),
            at: mark_now(),
        };
        assert_eq!(
            messages(&mark(&task).read(&process, 100)),
            ["boot", "auth", "task"]
        );
        assert_eq!(
            messages(&mark(&request).read(&process, 100)),
            ["boot", "auth", "the request, after the task forked"]
        );
        let unscoped = Mark {
            scope: None,
            at: mark_now(),
        };
        assert_eq!(
            messages(&unscoped.read(&process, 100)),
            ["boot", "other work, after the fork"]
        );
    }

    #[test]
    fn a_fork_of_a_scope_with_no_breadcrumbs_continues_what_that_scope_continues() {
        let process = Trail::new();
        process.add(Breadcrumb::new("before"));
        let mut scope = Arc::new(ScopeTrail::fork(None));
        process.add(Breadcrumb::new("after the first fork"));
        for _ in 0..1000 {
            scope = Arc::new(ScopeTrail::fork(Some(scope)));
        }
        assert!(scope.parent.is_none(), "no chain of empty scopes");
        scope.add(Breadcrumb::new("own"), 100);
        let mark = Mark {
            scope: Some(scope),
            at: mark_now(),
        };
        assert_eq!(messages(&mark.read(&process, 100)), ["before", "own"]);
    }

    #[test]
    fn an_event_in_a_scope_carries_the_newest_breadcrumbs_up_to_the_capacity() {
        let process = Trail::new();
        (0..5).for_each(|n| process.add(Breadcrumb::new(format!("p{n}"))));
        let scope = Arc::new(ScopeTrail::fork(None));
        (0..5).for_each(|n| scope.add(Breadcrumb::new(format!("s{n}")), 3));
        let mark = Mark {
            scope: Some(scope),
            at: mark_now(),
        };
        assert_eq!(messages(&mark.read(&process, 4)), ["p4", "s2", "s3", "s4"]);
    }

    #[test]
    fn a_capacity_of_zero_keeps_nothing() {
        let trail = Trail::new();
        trail.set_capacity(0);
        trail.add(Breadcrumb::new("dropped"));
        assert!(trail.before(trail.mark()).is_empty());
    }

    #[test]
    fn breadcrumbs_from_many_threads_are_all_numbered_in_order() {
        let trail = Trail::new();
        trail.set_capacity(10_000);
        std::thread::scope(|scope| {
            for t in 0..8 {
                let trail = &trail;
                scope.spawn(move || {
                    (0..500).for_each(|n| trail.add(Breadcrumb::new(format!("{t}-{n}"))))
                });
            }
        });
        let kept = trail.before(trail.mark());
        assert_eq!(kept.len(), 4000);
    }
}
