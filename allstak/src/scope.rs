//! What an error event carries besides the error itself: the process's user and tags, set at
//! any time by any thread, and the HTTP request the current thread is serving (made visible by
//! the `tower` layer while it polls the request's handler).
//!
//! Setting a user or a tag is one short lock. An event takes a snapshot on the caller's thread:
//! one relaxed load when nothing was ever set, else a short lock and a reference count or two.
//! The transport thread reads the snapshot when it builds the payload.

use std::cell::Cell;
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

/// The process's user and tags.
struct Scope {
    user: Option<Arc<User>>,
    tags: Option<Arc<Tags>>,
}

static SCOPE: Mutex<Scope> = Mutex::new(Scope {
    user: None,
    tags: None,
});
/// Whether a user or a tag was ever set: until then an event skips the lock.
static IN_USE: AtomicBool = AtomicBool::new(false);

/// Sets (or, with `None`, clears) the user of every later event.
pub(crate) fn set_user(user: Option<User>) {
    if crate::fork::is_child() {
        return; // nothing is sent from a forked child, and the lock may be held for good
    }
    let user = user.map(Arc::new);
    // In a request's handler, the request's user (its callers are not the process's).
    let Err(user) = set_request_user(user) else {
        return;
    };
    IN_USE.store(true, Ordering::Relaxed);
    let previous = match SCOPE.lock() {
        Ok(mut scope) => std::mem::replace(&mut scope.user, user),
        Err(_) => None,
    };
    // Freed outside the lock.
    drop(previous);
}

/// The user known from the configuration: the user of every event until [`set_user`] is
/// called (and unless it was called before the SDK started).
pub(crate) fn set_configured_user(id: &str) {
    IN_USE.store(true, Ordering::Relaxed);
    if let Ok(mut scope) = SCOPE.lock()
        && scope.user.is_none()
    {
        scope.user = Some(Arc::new(User::new().with_id(id)));
    }
}

/// Sets a tag of every later event.
pub(crate) fn set_tag(key: String, value: String) {
    if crate::fork::is_child() {
        return; // nothing is sent from a forked child, and the lock may be held for good
    }
    let (key, value) = (truncate(key), truncate(value));
    IN_USE.store(true, Ordering::Relaxed);
    let replaced = match SCOPE.lock() {
        // In place unless an event still holds the tags it was given.
        Ok(mut scope) => Arc::make_mut(scope.tags.get_or_insert_default()).insert(key, value),
        Err(_) => None,
    };
    drop(replaced);
}

/// Removes a tag from every later event.
pub(crate) fn remove_tag(key: &str) {
    if crate::fork::is_child() {
        return; // nothing is sent from a forked child, and the lock may be held for good
    }
    let removed = match SCOPE.lock() {
        Ok(mut scope) => match &mut scope.tags {
            Some(tags) if tags.contains_key(key) => Arc::make_mut(tags).remove(key),
            _ => None,
        },
        Err(_) => None,
    };
    drop(removed);
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
    pub(crate) reported: bool,
    /// Set by [`crate::set_user`] in the request's handler: its events' user.
    pub(crate) user: Option<Arc<User>>,
}

impl RequestContext {
    /// A copy for an event: answered with `status`, or `None` (failed, or not answered yet).
    pub(crate) fn outcome(&self, status: Option<u16>) -> Self {
        Self {
            method: self.method.clone(),
            uri: self.uri.clone(),
            route: self.route.clone(),
            host: self.host.clone(),
            user_agent: self.user_agent.clone(),
            status,
            reported: true,
            user: self.user.clone(),
        }
    }

    /// The route if known, else the path (never the query, which may hold secrets).
    pub(crate) fn path(&self) -> &str {
        self.route.as_deref().unwrap_or_else(|| self.uri.path())
    }

    /// The `Host` header, else the URI's authority (HTTP/2).
    pub(crate) fn host(&self) -> Option<std::borrow::Cow<'_, str>> {
        match &self.host {
            Some(host) => Some(String::from_utf8_lossy(host.as_bytes())),
            None => self.uri.authority().map(|a| a.as_str().into()),
        }
    }
}

thread_local! {
    /// The request whose handler this thread is running, if any.
    static SERVING: Cell<Option<Box<RequestContext>>> = const { Cell::new(None) };
}

/// Lends `request` to the current thread until the guard is dropped (also when a panic unwinds
/// through it), when it goes back into `slot`: events raised meanwhile carry a copy of it, the
/// panic hook's included. Boxed, so that lending moves a pointer.
#[cfg_attr(not(feature = "tower"), allow(dead_code))]
pub(crate) fn serving(slot: &mut Option<Box<RequestContext>>) -> Serving<'_> {
    let previous = slot.take().and_then(|request| {
        SERVING
            .try_with(|serving| serving.replace(Some(request)))
            .ok()
    });
    Serving { slot, previous }
}

/// Gives the request back to its owner, and the thread what it served before; see [`serving`].
pub(crate) struct Serving<'a> {
    slot: &'a mut Option<Box<RequestContext>>,
    /// `None` when nothing was lent.
    previous: Option<Option<Box<RequestContext>>>,
}

impl Drop for Serving<'_> {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            *self.slot = SERVING
                .try_with(|serving| serving.replace(previous))
                .ok()
                .flatten();
        }
    }
}

/// Gives `user` to the request this thread is serving, if any; else gives it back.
fn set_request_user(user: Option<Arc<User>>) -> Result<(), Option<Arc<User>>> {
    SERVING
        .try_with(|serving| match serving.take() {
            Some(mut request) => {
                request.user = user.clone();
                serving.set(Some(request));
                Ok(())
            }
            None => Err(user.clone()),
        })
        .unwrap_or(Err(user))
}

/// A copy of the request the current thread is serving, for an event; the request is marked
/// reported.
pub(crate) fn current_request() -> Option<Arc<RequestContext>> {
    SERVING
        .try_with(|serving| {
            let mut request = serving.take()?;
            request.reported = true;
            let copy = Arc::new(request.outcome(None));
            serving.set(Some(request));
            Some(copy)
        })
        .ok()
        .flatten()
}

/// What an event carries besides the error: a snapshot taken when it was captured.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventContext {
    pub(crate) user: Option<Arc<User>>,
    pub(crate) tags: Option<Arc<Tags>>,
    pub(crate) request: Option<Arc<RequestContext>>,
}

impl EventContext {
    /// Fills in the process's user and tags, and the request being served unless the event
    /// already has one (that request is then marked reported).
    pub(crate) fn attach(&mut self) {
        if IN_USE.load(Ordering::Relaxed)
            && let Ok(scope) = SCOPE.lock()
        {
            self.user.clone_from(&scope.user);
            self.tags.clone_from(&scope.tags);
        }
        if self.request.is_none() {
            self.request = current_request();
        }
        if let Some(user) = self.request.as_ref().and_then(|r| r.user.as_ref()) {
            self.user = Some(Arc::clone(user));
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

    fn request(path: &str) -> Option<Box<RequestContext>> {
        Some(Box::new(RequestContext {
            method: Method::GET,
            uri: path.parse().expect("uri"),
            route: None,
            host: None,
            user_agent: None,
            status: None,
            reported: false,
            user: None,
        }))
    }

    fn served_path() -> Option<String> {
        SERVING.with(|serving| {
            let request = serving.take();
            let path = request.as_ref().map(|r| r.uri.path().to_owned());
            serving.set(request);
            path
        })
    }

    #[test]
    fn a_user_set_while_a_request_is_served_is_that_requests() {
        let mut served = request("/accounts/9");
        {
            let _serving = serving(&mut served);
            set_user(Some(User::new().with_id("u-9")));
            let mut context = EventContext::default();
            context.attach();
            assert_eq!(context.user.as_deref().and_then(User::id), Some("u-9"));
        }
        let served = served.expect("given back");
        assert_eq!(served.user.as_deref().and_then(User::id), Some("u-9"));
        // The copy an event of the layer's own takes keeps it.
        let answered = served.outcome(Some(503));
        assert_eq!(answered.user.as_deref().and_then(User::id), Some("u-9"));
    }

    #[test]
    fn a_request_is_lent_while_served_and_given_back_after_nesting_and_panics() {
        assert!(served_path().is_none());
        let mut outer = request("/outer");
        let serving_outer = serving(&mut outer);
        {
            let mut inner = request("/inner");
            let serving_inner = serving(&mut inner);
            assert_eq!(served_path().as_deref(), Some("/inner"));
            drop(serving_inner);
            assert_eq!(
                inner.map(|r| r.uri.path().to_owned()).as_deref(),
                Some("/inner")
            );
        }
        assert_eq!(served_path().as_deref(), Some("/outer"));
        let mut panicking = request("/panics");
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _during = serving(&mut panicking);
            panic!("in a handler");
        }));
        assert!(caught.is_err());
        assert!(panicking.is_some(), "given back while unwinding");
        assert_eq!(served_path().as_deref(), Some("/outer"));
        drop(serving_outer);
        assert!(served_path().is_none());
        assert!(outer.is_some());
    }

    #[test]
    fn an_event_takes_a_copy_of_the_request_being_served_and_marks_it_reported() {
        let mut served = request("/users/42?token=abc");
        {
            let _serving = serving(&mut served);
            let mut context = EventContext::default();
            context.attach();
            let copy = context.request.expect("the request");
            assert_eq!(copy.path(), "/users/42");
            assert_eq!(copy.host(), None);
        }
        assert!(served.is_some_and(|r| r.reported));
    }

    #[test]
    fn the_host_header_wins_over_the_authority() {
        let mut request = request("http://a.example/x")
            .expect("a request")
            .outcome(Some(500));
        assert_eq!(request.host().as_deref(), Some("a.example"));
        request.host = Some(HeaderValue::from_static("b.example:8080"));
        assert_eq!(request.host().as_deref(), Some("b.example:8080"));
        assert_eq!(request.status, Some(500));
    }
}
