//! What an error event carries besides the error itself: the user, tags and extra data of the
//! process (set at any time by any thread) under those of the current scope ([`Scope`], in
//! [`local`]), and the HTTP request that scope serves (the `tower` layer gives each request a
//! scope of its own). A future bound to a scope takes it along ([`future`]).
//!
//! Setting a user or a tag is one short lock. An event takes a snapshot on the caller's thread:
//! one relaxed load and a thread-local read when nothing was ever set, else a short lock and a
//! reference count or two. The transport thread reads the snapshot when it builds the payload.

mod future;
mod local;

pub use future::{InScope, Scoped};
pub use local::Scope;
#[cfg(all(test, feature = "tower"))]
pub(crate) use local::current;
#[cfg_attr(not(feature = "tower"), allow(unused_imports))]
pub(crate) use local::{Shared, current_trail, enter, fork_for_request};

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use http::{HeaderValue, Method, Uri};

use crate::text::truncate;

/// Who was using the program when an error happened: the contract's `user` (`id`, `email`,
/// `ip`), sent with every error event after [`set_user`](crate::set_user). Each field is cut to
/// [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES).
///
/// ```
/// let user = allstak::User::new()
///     .with_id("u-42")
///     .with_email("ada@example.com")
///     .with_ip("203.0.113.7");
/// assert_eq!(user.id(), Some("u-42"));
/// allstak::set_user(user);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    id: Option<String>,
    email: Option<String>,
    ip: Option<String>,
}

impl User {
    /// A user with nothing known about them yet.
    ///
    /// ```
    /// assert_eq!(allstak::User::new().id(), None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The user's id in your system (what the dashboard counts crash-free users by).
    ///
    /// ```
    /// let user = allstak::User::new().with_id("u-42");
    /// assert_eq!(user.id(), Some("u-42"));
    /// ```
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(truncate(id.into()));
        self
    }

    /// The user's email address.
    ///
    /// ```
    /// let user = allstak::User::new().with_email("ada@example.com");
    /// assert_eq!(user.email(), Some("ada@example.com"));
    /// ```
    #[must_use]
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(truncate(email.into()));
        self
    }

    /// The user's IP address, as text.
    ///
    /// ```
    /// let user = allstak::User::new().with_ip("203.0.113.7");
    /// assert_eq!(user.ip(), Some("203.0.113.7"));
    /// ```
    #[must_use]
    pub fn with_ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(truncate(ip.into()));
        self
    }

    /// The id, if one was given.
    ///
    /// ```
    /// assert_eq!(allstak::User::new().with_id("u-1").id(), Some("u-1"));
    /// ```
    #[must_use]
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The email address, if one was given.
    ///
    /// ```
    /// assert_eq!(allstak::User::new().email(), None);
    /// ```
    #[must_use]
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// The IP address, if one was given.
    ///
    /// ```
    /// assert_eq!(allstak::User::new().ip(), None);
    /// ```
    #[must_use]
    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }
}

/// Tags by key, sorted so that payloads are stable.
pub(crate) type Tags = BTreeMap<String, String>;

/// Extra data by key ([`Scope::set_extra`]), sent in `metadata` beside the tags.
pub(crate) type Extra = BTreeMap<String, serde_json::Value>;

/// Tags from `(key, value)` pairs, as events carry them (tests).
#[cfg(test)]
pub(crate) fn tags(pairs: &[(&str, &str)]) -> Arc<Tags> {
    Arc::new(
        pairs
            .iter()
            .map(|&(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
    )
}

/// What a scope holds besides its breadcrumbs (the process's too): each part shared with the
/// events that carry it and the scopes forked from it, and copied only when changed while
/// shared.
#[derive(Clone, Debug, Default)]
pub(crate) struct Values {
    pub(crate) user: Option<Arc<User>>,
    pub(crate) tags: Option<Arc<Tags>>,
    pub(crate) extra: Option<Arc<Extra>>,
}

impl Values {
    const NONE: Self = Self {
        user: None,
        tags: None,
        extra: None,
    };
}

/// The process's user, tags and extra data: those of every event, under its scope's.
static PROCESS: Mutex<Values> = Mutex::new(Values::NONE);
/// Whether the process's values were ever set: until then an event skips the lock.
static IN_USE: AtomicBool = AtomicBool::new(false);

/// The process's values, to change (`IN_USE` from now on).
pub(crate) fn process_values() -> &'static Mutex<Values> {
    IN_USE.store(true, Ordering::Relaxed);
    &PROCESS
}

/// Sets (or, with `None`, clears) the user of every later event of the current scope.
pub(crate) fn set_user(user: Option<User>) {
    Scope::current().set_user(user);
}

/// The user known from the configuration: the user of every event until [`set_user`] is
/// called (and unless it was called before the SDK started).
pub(crate) fn set_configured_user(id: &str) {
    if let Ok(mut process) = process_values().lock()
        && process.user.is_none()
    {
        process.user = Some(Arc::new(User::new().with_id(id)));
    }
}

/// Sets a tag of every later event of the current scope.
pub(crate) fn set_tag(key: String, value: String) {
    Scope::current().set_tag(key, value);
}

/// Removes a tag from every later event of the current scope.
pub(crate) fn remove_tag(key: &str) {
    Scope::current().remove_tag(key);
}

/// An HTTP request being served, as the `tower` layer saw it: the parts are kept as `http`
/// types (cheap to copy) and turned into text on the transport thread.
#[derive(Debug)]
pub(crate) struct RequestContext {
    pub(crate) method: Method,
    pub(crate) uri: Uri,
    /// The route that matched (`/users/{id}`), when the layer was told how to find it.
    pub(crate) route: Option<String>,
    pub(crate) host: Option<HeaderValue>,
    pub(crate) user_agent: Option<HeaderValue>,
    /// The response's status, once there is one.
    pub(crate) status: Option<u16>,
    /// Set once an error event carried this request: its 5xx is then not a second event.
    pub(crate) reported: AtomicBool,
}

impl RequestContext {
    /// A copy for an event: answered with `status`, or `None` (failed, or not answered yet).
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn outcome(&self, status: Option<u16>) -> Self {
        Self {
            method: self.method.clone(),
            uri: self.uri.clone(),
            route: self.route.clone(),
            host: self.host.clone(),
            user_agent: self.user_agent.clone(),
            status,
            reported: AtomicBool::new(true),
        }
    }

    /// The route if known, else the path (never the query, which may hold secrets).
    pub(crate) fn path(&self) -> &str {
        self.route.as_deref().unwrap_or_else(|| self.uri.path())
    }

    /// The `Host` header, else the URI's authority (HTTP/2), without its user info (a
    /// password, in `user:pass@host`).
    pub(crate) fn host(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.host {
            Some(host) => Some(String::from_utf8_lossy(host.as_bytes())),
            None => self.uri.authority().map(|a| match a.port() {
                Some(port) => format!("{}:{port}", a.host()).into(),
                None => a.host().into(),
            }),
        }
    }
}

/// What an event carries besides the error: a snapshot taken when it was captured.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventContext {
    pub(crate) user: Option<Arc<User>>,
    pub(crate) tags: Option<Arc<Tags>>,
    pub(crate) extra: Option<Arc<Extra>>,
    pub(crate) request: Option<Arc<RequestContext>>,
    /// Whether [`Self::attach`] took the snapshot already (a panic's, in the panic hook).
    attached: bool,
}

impl EventContext {
    /// The snapshot of this thread's scope, now.
    pub(crate) fn now() -> Self {
        let mut context = Self::default();
        context.attach();
        context
    }

    /// Takes the snapshot, once: the process's user, tags and extra data, under those of the
    /// current scope; the request the scope serves unless the event already has one.
    pub(crate) fn attach(&mut self) {
        if std::mem::replace(&mut self.attached, true) {
            return;
        }
        if IN_USE.load(Ordering::Relaxed)
            && let Ok(process) = PROCESS.lock()
        {
            self.user.clone_from(&process.user);
            self.tags.clone_from(&process.tags);
            self.extra.clone_from(&process.extra);
        }
        if let Some(scope) = local::current() {
            if let Ok(values) = scope.values.lock() {
                if values.user.is_some() {
                    self.user.clone_from(&values.user);
                }
                self.tags = layered(self.tags.take(), values.tags.as_ref());
                self.extra = layered(self.extra.take(), values.extra.as_ref());
            }
            if self.request.is_none() {
                self.request.clone_from(&scope.request);
            }
        }
    }

    /// Marks the request this event was raised in as reported, so that the `tower` layer does
    /// not report its 5xx again: only for an error event that is on its way (after
    /// `before_send`), never for an info message or an event the hook dropped.
    pub(crate) fn mark_reported(&self) {
        if let Some(request) = &self.request {
            request.reported.store(true, Ordering::Relaxed);
        }
    }
}

/// `over`'s entries over `under`'s: one of them as it is when the other has none.
fn layered<V: Clone>(
    under: Option<Arc<BTreeMap<String, V>>>,
    over: Option<&Arc<BTreeMap<String, V>>>,
) -> Option<Arc<BTreeMap<String, V>>> {
    match (under, over) {
        (under, None) => under,
        (Some(under), Some(over)) if over.is_empty() => Some(under),
        (Some(under), Some(over)) if !under.is_empty() => {
            let mut both = BTreeMap::clone(&under);
            both.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
            Some(Arc::new(both))
        }
        (_, Some(over)) => Some(Arc::clone(over)),
    }
}

/// Puts the extra data into an event's fields, except where a field has the same name: a
/// field wins over extra data (which wins over a tag: merge it first).
pub(crate) fn merge_extra(fields: &mut serde_json::Map<String, serde_json::Value>, extra: &Extra) {
    for (key, value) in extra {
        if !fields.contains_key(key) {
            fields.insert(key.clone(), value.clone());
        }
    }
}

/// Puts the tags into an event's fields, except where a field has the same name: a field wins
/// over a tag.
pub(crate) fn merge_tags(fields: &mut serde_json::Map<String, serde_json::Value>, tags: &Tags) {
    for (key, value) in tags {
        if !fields.contains_key(key) {
            fields.insert(key.clone(), serde_json::Value::String(value.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::task::{Context, Poll};

    fn request(path: &str) -> RequestContext {
        RequestContext {
            method: Method::GET,
            uri: path.parse().expect("uri"),
            route: None,
            host: None,
            user_agent: None,
            status: None,
            reported: AtomicBool::new(false),
        }
    }

    fn tag(context: &EventContext, key: &str) -> Option<String> {
        context.tags.as_ref()?.get(key).cloned()
    }

    fn user_id(context: &EventContext) -> Option<&str> {
        context.user.as_deref().and_then(User::id)
    }

    #[test]
    fn what_is_set_in_a_scope_is_its_events_only() {
        crate::with_scope(
            |scope| scope.set_tag("scope-test-job", "export"),
            || {
                crate::set_user(User::new().with_id("u-scoped"));
                crate::configure_scope(|scope| scope.set_extra("scope-test-batch", 7));
                let inside = EventContext::now();
                assert_eq!(user_id(&inside), Some("u-scoped"));
                assert_eq!(tag(&inside, "scope-test-job").as_deref(), Some("export"));
                let extra = inside
                    .extra
                    .as_deref()
                    .and_then(|e| e.get("scope-test-batch"));
                assert_eq!(extra, Some(&serde_json::json!(7)));
            },
        );
        let outside = EventContext::now();
        assert_ne!(user_id(&outside), Some("u-scoped"));
        assert_eq!(tag(&outside, "scope-test-job"), None);
        assert!(
            outside
                .extra
                .is_none_or(|e| !e.contains_key("scope-test-batch"))
        );
    }

    #[test]
    fn a_scopes_tags_go_over_the_processs_which_still_show_under_it() {
        crate::set_tag("scope-test-region", "eu");
        crate::set_tag("scope-test-tier", "free");
        crate::with_scope(
            |scope| scope.set_tag("scope-test-tier", "pro"),
            || {
                let inside = EventContext::now();
                assert_eq!(tag(&inside, "scope-test-region").as_deref(), Some("eu"));
                assert_eq!(tag(&inside, "scope-test-tier").as_deref(), Some("pro"));
            },
        );
        assert_eq!(
            tag(&EventContext::now(), "scope-test-tier").as_deref(),
            Some("free")
        );
        crate::remove_tag("scope-test-region");
        crate::remove_tag("scope-test-tier");
    }

    #[test]
    fn a_fork_starts_as_a_copy_and_then_goes_its_own_way() {
        let parent = Scope::new();
        parent.set_tag("scope-test-a", "1");
        let child = parent.fork();
        child.set_tag("scope-test-b", "2");
        parent.set_tag("scope-test-c", "3");
        let seen = child.run(EventContext::now);
        assert_eq!(tag(&seen, "scope-test-a").as_deref(), Some("1"));
        assert_eq!(tag(&seen, "scope-test-b").as_deref(), Some("2"));
        assert_eq!(tag(&seen, "scope-test-c"), None);
        assert_eq!(tag(&parent.run(EventContext::now), "scope-test-b"), None);
    }

    #[test]
    fn an_event_in_a_requests_scope_carries_the_request_and_marks_it_reported_when_sent() {
        let mut scope = Some(fork_for_request(request("/users/42?token=abc")));
        let context = {
            let _entered = enter(&mut scope);
            EventContext::now()
        };
        let copy = context.request.clone().expect("the request");
        assert_eq!(copy.path(), "/users/42");
        let scope = scope.expect("given back");
        let served = scope.request.as_ref().expect("its request");
        // Taking the snapshot does not mark it: an info message, or an event `before_send`
        // drops, leaves the request's 5xx to the layer.
        assert!(!served.reported.load(Ordering::Relaxed));
        context.mark_reported();
        assert!(served.reported.load(Ordering::Relaxed));
        // A scope forked in the request's serves it too.
        let mut slot = Some(scope);
        let _entered = enter(&mut slot);
        let nested = crate::with_scope(|_| {}, EventContext::now);
        assert_eq!(
            nested.request.map(|r| r.path().to_owned()).as_deref(),
            Some("/users/42")
        );
    }

    #[test]
    fn a_scope_is_lent_while_entered_and_given_back_after_nesting_and_panics() {
        let path =
            || local::current().and_then(|s| s.request.as_ref().map(|r| r.path().to_owned()));
        assert!(path().is_none());
        let mut outer = Some(fork_for_request(request("/outer")));
        let entered_outer = enter(&mut outer);
        {
            let mut inner = Some(fork_for_request(request("/inner")));
            let entered_inner = enter(&mut inner);
            assert_eq!(path().as_deref(), Some("/inner"));
            drop(entered_inner);
            assert!(inner.is_some());
        }
        assert_eq!(path().as_deref(), Some("/outer"));
        let mut panicking = Some(fork_for_request(request("/panics")));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _during = enter(&mut panicking);
            panic!("in a handler");
        }));
        assert!(caught.is_err());
        assert!(panicking.is_some(), "given back while unwinding");
        assert_eq!(path().as_deref(), Some("/outer"));
        drop(entered_outer);
        assert!(path().is_none());
        assert!(outer.is_some());
    }

    #[test]
    fn a_future_bound_to_a_scope_runs_in_it_on_whichever_thread_polls_it() {
        let scope = Scope::new();
        scope.set_tag("scope-test-task", "bound");
        let bound = async { EventContext::now() }.in_scope(scope);
        let seen = std::thread::spawn(move || {
            let mut bound = std::pin::pin!(bound);
            let mut cx = Context::from_waker(std::task::Waker::noop());
            match bound.as_mut().poll(&mut cx) {
                Poll::Ready(seen) => seen,
                Poll::Pending => unreachable!("an async block without awaits is ready"),
            }
        })
        .join()
        .expect("the thread");
        assert_eq!(tag(&seen, "scope-test-task").as_deref(), Some("bound"));
        assert_eq!(tag(&EventContext::now(), "scope-test-task"), None);
    }

    #[test]
    fn the_host_header_wins_over_the_authority() {
        let mut context = request("http://a.example/x").outcome(Some(500));
        assert_eq!(context.host().as_deref(), Some("a.example"));
        context.host = Some(HeaderValue::from_static("b.example:8080"));
        assert_eq!(context.host().as_deref(), Some("b.example:8080"));
        assert_eq!(context.status, Some(500));
        // The authority's user info is no host.
        let with_port = request("http://ada:hunter2@c.example:5432/x");
        assert_eq!(with_port.host().as_deref(), Some("c.example:5432"));
        let without = request("http://ada:hunter2@d.example/x");
        assert_eq!(without.host().as_deref(), Some("d.example"));
    }
}
