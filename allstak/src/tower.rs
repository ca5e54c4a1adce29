//! `tower` integration (feature `tower`): a [`Layer`] for any service of `http::Request`s —
//! axum, tonic, hyper. A request answered with a 5xx, or a gRPC status that says the server
//! failed (`UNKNOWN`, `DEADLINE_EXCEEDED`, `UNIMPLEMENTED`, `INTERNAL`, `UNAVAILABLE`,
//! `DATA_LOSS`, in a trailers-only answer, as tonic sends a unary call's error), or an `Err` out
//! of the service, is a handled error event with the request's `requestContext` (method, route
//! or path, host, status, user agent); the session becomes `errored`, never `crashed`: a server
//! that answered did not crash.
//!
//! ```
//! use axum::{Router, extract::MatchedPath, routing::get};
//!
//! let app: Router = Router::new()
//!     .route("/users/{id}", get(|| async { "ada" }))
//!     .layer(
//!         allstak::tower::Layer::new()
//!             // `/users/{id}` rather than `/users/42`: one group per route on the dashboard.
//!             .route(|extensions| extensions.get::<MatchedPath>().map(MatchedPath::as_str)),
//!     );
//! # let _ = app;
//! ```
//!
//! Each request runs in a [scope](crate::Scope) of its own, forked from the current one when
//! the layer is called: the handler's future runs in it at every poll, on whichever thread
//! polls it. The user, tags and breadcrumbs the handler sets stay in that request's events;
//! an event raised meanwhile (a `#[allstak::track]` fn's `Err`, `tracing::error!`, a panic the
//! server survives, an error of a task spawned with
//! [`.in_current_scope()`](crate::InScope::in_current_scope)) carries its `requestContext`
//! too, without a status (there is no response yet). A 5xx that follows such an event is not a
//! second event. Only the path is
//! sent, never the query string; without a route, its segments that look like ids or tokens are
//! replaced: all digits or a UUID become `:id` (`/users/42` → `/users/:id`), 16 or more hex
//! digits or 20 or more base64url characters mixing letters and digits become `:token`
//! (`/reset/3f2a…` → `/reset/:token`).
//!
//! On the `Ok` path the layer copies the method, URI and two headers (reference counts: no text
//! is copied) into the request's scope (three small allocations), and lends the scope to a
//! thread-local around each poll (a pointer moved in and out); without a key it does nothing at
//! all.

use std::borrow::Cow;
use std::fmt::{self, Display};
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use http::header::{HOST, USER_AGENT};

use crate::event::{ErrorEvent, render, short_type_name};
use crate::integration as client;
use crate::scope::{self, RequestContext, Shared};

/// How the layer finds the route a request matched, from the request's extensions.
type FindRoute = Arc<dyn Fn(&http::Extensions) -> Option<&str> + Send + Sync>;

/// Reports a service's 5xx responses and errors to AllStak; see the [module](self).
///
/// `Send + Sync + Clone`, as axum's `Router::layer` and tower's `ServiceBuilder` want it.
///
/// ```
/// use tower_layer::Layer as _;
///
/// # #[derive(Clone)] struct Handler;
/// # impl tower_service::Service<http::Request<String>> for Handler {
/// #     type Response = http::Response<String>;
/// #     type Error = std::convert::Infallible;
/// #     type Future = std::future::Ready<Result<Self::Response, Self::Error>>;
/// #     fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
/// #         std::task::Poll::Ready(Ok(()))
/// #     }
/// #     fn call(&mut self, _: http::Request<String>) -> Self::Future {
/// #         std::future::ready(Ok(http::Response::new(String::new())))
/// #     }
/// # }
/// // Any `tower::Service<http::Request<B>>` answering `http::Response<R>`:
/// let service = allstak::tower::Layer::new().layer(Handler);
/// # let _ = service;
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct Layer {
    route: Option<FindRoute>,
}

impl fmt::Debug for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Layer")
            .field("route", &self.route.is_some())
            .finish()
    }
}

impl Layer {
    /// The layer; events give the request's path.
    ///
    /// ```
    /// let layer = allstak::tower::Layer::new();
    /// # let _ = layer;
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Tells the layer where the route a request matched is (`/users/{id}`): events then give it
    /// in place of the path, so that one route is one group however many ids it serves. With
    /// axum, the route is its `MatchedPath` extension:
    ///
    /// ```
    /// use axum::extract::MatchedPath;
    ///
    /// let layer = allstak::tower::Layer::new()
    ///     .route(|extensions| extensions.get::<MatchedPath>().map(MatchedPath::as_str));
    /// # let _ = layer;
    /// ```
    ///
    /// The finder is any closure, so it may hold state (a router's own route type, a prefix):
    ///
    /// ```
    /// #[derive(Clone)]
    /// struct Route(&'static str);
    ///
    /// let fallback = "/unmatched";
    /// let layer = allstak::tower::Layer::new().route(move |extensions| {
    ///     Some(extensions.get::<Route>().map_or(fallback, |route| route.0))
    /// });
    /// # let _ = layer;
    /// ```
    pub fn route(
        mut self,
        find: impl Fn(&http::Extensions) -> Option<&str> + Send + Sync + 'static,
    ) -> Self {
        self.route = Some(Arc::new(find));
        self
    }
}

impl<S> tower_layer::Layer<S> for Layer {
    type Service = Service<S>;

    fn layer(&self, inner: S) -> Service<S> {
        Service {
            inner,
            route: self.route.clone(),
        }
    }
}

/// A service wrapped by [`Layer`].
///
/// ```
/// use tower_layer::Layer as _;
/// # #[derive(Clone)] struct Handler;
/// let service: allstak::tower::Service<Handler> = allstak::tower::Layer::new().layer(Handler);
/// # let _ = service;
/// ```
#[derive(Clone)]
pub struct Service<S> {
    inner: S,
    route: Option<FindRoute>,
}

impl<S> fmt::Debug for Service<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service").finish_non_exhaustive()
    }
}

impl<S, B, R> tower_service::Service<http::Request<B>> for Service<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Display,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        // Without a key nothing is sent: no need to know the request, nor a scope for it.
        let mut scope = client::sending()
            .then(|| scope::fork_for_request(context(&request, self.route.as_ref())));
        let inner = {
            // A service may run the handler's first steps in `call` itself.
            let _entered = scope.is_some().then(|| scope::enter(&mut scope));
            self.inner.call(request)
        };
        ResponseFuture {
            inner: ManuallyDrop::new(inner),
            scope,
        }
    }
}

fn context<B>(request: &http::Request<B>, route: Option<&FindRoute>) -> RequestContext {
    let headers = request.headers();
    RequestContext {
        method: request.method().clone(),
        uri: request.uri().clone(),
        route: route
            .and_then(|find| find(request.extensions()))
            .map(str::to_owned)
            // Without a route, the path stands in for it, with no ids or tokens.
            .or_else(|| match templated_path(request.uri().path()) {
                Cow::Owned(path) => Some(path),
                Cow::Borrowed(_) => None,
            }),
        host: headers.get(HOST).cloned(),
        user_agent: headers.get(USER_AGENT).cloned(),
        status: None,
        reported: AtomicBool::new(false),
    }
}

/// `path` with each segment that looks like an id replaced by `:id` (all digits; a UUID), and
/// each that looks like a token by `:token` (16 hex digits or more; 20 base64url characters or
/// more with a digit and a letter, and either both cases or no `-`/`_`: a slug such as
/// `my-post-2024-12-01` stays, as does `getUserProfileSettings`); borrowed when none does.
fn templated_path(path: &str) -> Cow<'_, str> {
    let placeholder = |segment: &str| -> Option<&'static str> {
        let bytes = segment.as_bytes();
        let has = |class: fn(&u8) -> bool| bytes.iter().any(class);
        let all = |class: fn(&u8) -> bool| !bytes.is_empty() && bytes.iter().all(class);
        if all(u8::is_ascii_digit) || is_uuid(bytes) {
            Some(":id")
        } else if (bytes.len() >= 16 && all(u8::is_ascii_hexdigit))
            || (bytes.len() >= 20
                && all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && has(u8::is_ascii_digit)
                && has(u8::is_ascii_alphabetic)
                && ((has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase))
                    || !has(|&b| b == b'-' || b == b'_')))
        {
            Some(":token")
        } else {
            None
        }
    };
    if !path
        .split('/')
        .any(|segment| placeholder(segment).is_some())
    {
        return Cow::Borrowed(path);
    }
    let segments: Vec<&str> = path
        .split('/')
        .map(|segment| placeholder(segment).unwrap_or(segment))
        .collect();
    Cow::Owned(segments.join("/"))
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

pin_project_lite::pin_project! {
    /// The future of a [`Service`]: the inner service's, run in the request's scope, reported
    /// on when it is ready.
    pub struct ResponseFuture<F> {
        // Dropped by hand, in the request's scope (`PinnedDrop`).
        #[pin]
        inner: ManuallyDrop<F>,
        // The request's scope; `None` without a key.
        scope: Option<Arc<Shared>>,
    }

    impl<F> PinnedDrop for ResponseFuture<F> {
        /// A request cancelled (its client gone) drops its handler's future in its scope: what
        /// the handler's clean-up records (a guard that logs as it drops) stays the request's,
        /// not every later request's.
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let _entered = this.scope.is_some().then(|| scope::enter(this.scope));
            // SAFETY: dropped in place, once (this is the wrapper's drop), and never used
            // again; the pinned future is not moved.
            unsafe { ManuallyDrop::drop(this.inner.get_unchecked_mut()) };
        }
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Display,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let outcome = {
            // Until the guard drops (a panic unwinding included), this thread runs in the
            // request's scope.
            let _entered = this.scope.is_some().then(|| scope::enter(this.scope));
            // SAFETY: a projection through `ManuallyDrop` (transparent), which is never moved
            // out of: the future stays pinned where it is.
            ready!(unsafe { this.inner.map_unchecked_mut(|inner| &mut **inner) }.poll(cx))
        };
        let scope = this.scope.take();
        match &outcome {
            Ok(response) if response.status().is_server_error() => {
                let status = response.status();
                let class = ("HttpServerError", "http::StatusCode");
                report_answer(scope, status.as_u16(), class, &status);
            }
            // Without a key there is no request scope, and nothing to report.
            Ok(response) if scope.is_some() => {
                if let Some(code) = grpc_server_error(response.headers()) {
                    // The status came as a header value: the event's Rust type says so.
                    let class = ("GrpcServerError", "http::HeaderValue");
                    let status = response.status().as_u16();
                    report_answer(scope, status, class, &code);
                }
            }
            Ok(_) => {}
            Err(error) => report_error(scope, error),
        }
        Poll::Ready(outcome)
    }
}

/// Whether an event already carried this request: its outcome is then no second event.
fn already_reported(request: Option<&RequestContext>) -> bool {
    request.is_some_and(|request| request.reported.load(Ordering::Relaxed))
}

/// Runs `report` with the request `scope` serves, in that scope (its events carry the user,
/// tags and breadcrumbs the request's handler set), unless an event already carried it.
fn in_request_scope(mut scope: Option<Arc<Shared>>, report: impl FnOnce(Option<&RequestContext>)) {
    let request = scope.as_ref().and_then(|scope| scope.request.clone());
    if already_reported(request.as_deref()) {
        return;
    }
    let _entered = scope::enter(&mut scope);
    report(request.as_deref());
}

/// A gRPC status that says the server failed, read from a response's `grpc-status` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct GrpcStatus {
    code: u8,
    name: &'static str,
}

impl Display for GrpcStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "grpc-status {} {}", self.code, self.name)
    }
}

/// The gRPC codes that say the server failed (those OpenTelemetry marks a server span's error
/// for); the others (`NOT_FOUND`, `INVALID_ARGUMENT`, ...) are the caller's, as a 4xx is.
const GRPC_SERVER_ERRORS: [GrpcStatus; 6] = [
    GrpcStatus {
        code: 2,
        name: "UNKNOWN",
    },
    GrpcStatus {
        code: 4,
        name: "DEADLINE_EXCEEDED",
    },
    GrpcStatus {
        code: 12,
        name: "UNIMPLEMENTED",
    },
    GrpcStatus {
        code: 13,
        name: "INTERNAL",
    },
    GrpcStatus {
        code: 14,
        name: "UNAVAILABLE",
    },
    GrpcStatus {
        code: 15,
        name: "DATA_LOSS",
    },
];

/// A gRPC server answers HTTP 200 even when the call failed: a call that fails before its first
/// message (what tonic sends for a `Status` a unary handler returns) is a "trailers-only"
/// response, its status in the `grpc-status` header. (A stream that fails later says so in the
/// body's trailers, which the layer does not read.)
fn grpc_server_error(headers: &http::HeaderMap) -> Option<GrpcStatus> {
    const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
    let code: u8 = headers.get(GRPC_STATUS)?.to_str().ok()?.parse().ok()?;
    GRPC_SERVER_ERRORS
        .into_iter()
        .find(|status| status.code == code)
}

/// A request answered with a failure (`outcome`: a 5xx, or a gRPC status): a handled event of
/// `class` (its exception class and Rust type) with the request, answered `status`.
#[cold]
#[inline(never)]
fn report_answer(
    scope: Option<Arc<Shared>>,
    status: u16,
    (class, type_name): (&'static str, &'static str),
    outcome: &dyn Display,
) {
    in_request_scope(scope, |request| {
        client::capture(|| {
            let answered = request.map(|request| request.outcome(Some(status)));
            let message = match &answered {
                Some(request) => {
                    format!("{} {} answered {outcome}", request.method, request.path())
                }
                None => format!("answered {outcome}"),
            };
            let mut event =
                ErrorEvent::with_class(Cow::Borrowed(class), type_name, message, "tower");
            event.context.request = answered.map(Arc::new);
            event
        });
    });
}

#[cold]
#[inline(never)]
fn report_error<E: Display>(scope: Option<Arc<Shared>>, error: &E) {
    in_request_scope(scope, |request| {
        client::capture(|| {
            let type_name = std::any::type_name::<E>();
            let mut event = ErrorEvent::with_class(
                Cow::Owned(short_type_name(type_name)),
                type_name,
                render(error),
                "tower",
            );
            event.context.request = request.map(|request| Arc::new(request.outcome(None)));
            event
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::future::Ready;
    use tower_layer::Layer as _;
    use tower_service::Service as _;

    /// A service answering every request with `status`, or failing.
    #[derive(Clone)]
    struct Answer(Result<u16, &'static str>);

    impl tower_service::Service<http::Request<()>> for Answer {
        type Response = http::Response<()>;
        type Error = &'static str;
        type Future = Ready<Result<http::Response<()>, &'static str>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> Self::Future {
            std::future::ready(self.0.map(|status| {
                let mut response = http::Response::new(());
                *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
                response
            }))
        }
    }

    fn ready<F: Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => output,
            Poll::Pending => unreachable!("our test services are always ready"),
        }
    }

    fn get(path: &str) -> http::Request<()> {
        http::Request::get(path)
            .header(HOST, "api.example")
            .header(USER_AGENT, "test/1")
            .body(())
            .unwrap_or_default()
    }

    #[test]
    fn a_grpc_status_is_a_server_error_only_for_the_codes_that_say_the_server_failed() {
        let status = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "grpc-status",
                http::HeaderValue::from_str(value)
                    .unwrap_or_else(|_| http::HeaderValue::from_static("x")),
            );
            grpc_server_error(&headers).map(|status| status.to_string())
        };
        assert_eq!(status("13").as_deref(), Some("grpc-status 13 INTERNAL"));
        assert_eq!(status("14").as_deref(), Some("grpc-status 14 UNAVAILABLE"));
        for (code, name) in [
            (2, "UNKNOWN"),
            (4, "DEADLINE_EXCEEDED"),
            (12, "UNIMPLEMENTED"),
            (15, "DATA_LOSS"),
        ] {
            assert_eq!(
                status(&code.to_string()),
                Some(format!("grpc-status {code} {name}"))
            );
        }
        // OK, and the caller's failures (CANCELLED, INVALID_ARGUMENT, NOT_FOUND, ...,
        // UNAUTHENTICATED), are no server error; nor is what is no status at all.
        for value in [
            "0", "1", "3", "5", "6", "7", "8", "9", "10", "11", "16", "99", "", "13 ", "x", "-13",
            "300",
        ] {
            assert_eq!(status(value), None, "{value:?}");
        }
        assert_eq!(grpc_server_error(&http::HeaderMap::new()), None);
    }

    /// A handler's future that never completes, and says as it drops whether it ran in
    /// `scope`.
    struct SaysWhereItDrops {
        scope: Arc<Shared>,
        dropped_in_it: Arc<std::sync::Mutex<Option<bool>>>,
    }

    impl Future for SaysWhereItDrops {
        type Output = Result<http::Response<()>, Infallible>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Pending
        }
    }

    impl Drop for SaysWhereItDrops {
        fn drop(&mut self) {
            let here =
                crate::scope::current().is_some_and(|current| Arc::ptr_eq(&current, &self.scope));
            *self
                .dropped_in_it
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(here);
        }
    }

    #[test]
    fn a_cancelled_request_drops_its_handlers_future_in_the_requests_scope() {
        let scope = crate::Scope::new()
            .into_shared()
            .expect("a scope of its own");
        let dropped_in_it = Arc::new(std::sync::Mutex::new(None));
        let response = ResponseFuture {
            inner: ManuallyDrop::new(SaysWhereItDrops {
                scope: Arc::clone(&scope),
                dropped_in_it: Arc::clone(&dropped_in_it),
            }),
            scope: Some(scope),
        };
        // The client went away: the server drops the response future unfinished.
        drop(response);
        assert_eq!(*dropped_in_it.lock().expect("lock"), Some(true));
    }

    #[test]
    fn responses_and_errors_pass_through_unchanged() {
        let mut service = Layer::new().layer(Answer(Ok(503)));
        let response = ready(service.call(get("/x")));
        assert_eq!(response.map(|r| r.status().as_u16()), Ok(503));
        let mut failing = Layer::new().layer(Answer(Err("upstream gone")));
        assert_eq!(ready(failing.call(get("/x"))).err(), Some("upstream gone"));
    }

    #[test]
    fn the_context_has_method_path_host_and_user_agent_and_the_route_when_found() {
        let mut request = get("/users/42?token=abc");
        let context = super::context(&request, None);
        assert_eq!(context.method, http::Method::GET);
        assert_eq!(context.path(), "/users/:id");
        let context = super::context(&get("/users/me?token=abc"), None);
        assert_eq!(context.path(), "/users/me");
        assert_eq!(context.route, None, "nothing to replace: nothing copied");
        assert_eq!(context.host().as_deref(), Some("api.example"));
        assert_eq!(
            context.user_agent,
            Some(http::HeaderValue::from_static("test/1"))
        );
        #[derive(Clone)]
        struct Route(&'static str);
        request.extensions_mut().insert(Route("/users/{id}"));
        // A finder that holds state: a closure, not a `fn`.
        let unmatched = "/unmatched";
        let find: FindRoute =
            Arc::new(move |extensions| Some(extensions.get::<Route>().map_or(unmatched, |r| r.0)));
        let context = super::context(&request, Some(&find));
        assert_eq!(context.path(), "/users/{id}");
        let context = super::context(&get("/users/7"), Some(&find));
        assert_eq!(context.path(), "/unmatched");
    }

    #[test]
    fn ids_and_tokens_in_a_path_become_placeholders_and_words_stay() {
        for (path, templated) in [
            ("/users/42", "/users/:id"),
            ("/users/42/orders/7", "/users/:id/orders/:id"),
            ("/items/550e8400-e29b-41d4-a716-446655440000", "/items/:id"),
            ("/objects/507f1f77bcf86cd799439011", "/objects/:token"),
            ("/reset/9f86d081884c7d65", "/reset/:token"),
            ("/reset/dGhpcyBpcyBhIHRva2VuIDEy_x-Y", "/reset/:token"),
            ("/verify/k3j4h5k6j7h8g9f0d1s2q8", "/verify/:token"),
            ("/a/1/", "/a/:id/"),
        ] {
            assert_eq!(templated_path(path), templated, "{path}");
        }
        for kept in [
            "/",
            "",
            "/users/me",
            "/v1/users",
            "/blog/my-post-2024-12-01-announcement",
            "/api/getUserProfileSettings",
            // Hex, but 15 digits; a UUID missing a digit; a word of hex letters.
            "/reset/9f86d081884c7d6",
            "/items/550e8400-e29b-41d4-a716-44665544000",
            "/cafe/deadbeef",
            "/files/report_final_version_2",
        ] {
            assert!(matches!(templated_path(kept), Cow::Borrowed(_)), "{kept}");
        }
    }

    #[test]
    fn without_a_route_the_message_and_the_context_say_the_templated_path() {
        let request = get("/reset/dGhpcyBpcyBhIHRva2VuIDEy_x-Y?page=2");
        let context = super::context(&request, None);
        let answered = context.outcome(Some(500));
        assert_eq!(answered.path(), "/reset/:token");
        assert!(!format!("{} {}", answered.method, answered.path()).contains("dGhp"));
    }

    /// A handler that makes `.0` the user of its request, waits once, then answers 500.
    #[cfg(feature = "testing")]
    #[derive(Clone)]
    struct Caller(&'static str);

    #[cfg(feature = "testing")]
    impl tower_service::Service<http::Request<()>> for Caller {
        type Response = http::Response<()>;
        type Error = Infallible;
        type Future = WaitsOnce;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: http::Request<()>) -> WaitsOnce {
            WaitsOnce {
                caller: self.0,
                waited: false,
            }
        }
    }

    #[cfg(feature = "testing")]
    struct WaitsOnce {
        caller: &'static str,
        waited: bool,
    }

    #[cfg(feature = "testing")]
    impl Future for WaitsOnce {
        type Output = Result<http::Response<()>, Infallible>;

        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            if std::mem::replace(&mut self.waited, true) {
                let mut response = http::Response::new(());
                *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
                return Poll::Ready(Ok(response));
            }
            crate::set_user(crate::User::new().with_id(self.caller));
            Poll::Pending
        }
    }

    #[cfg(feature = "testing")]
    #[test]
    fn requests_polled_in_turn_on_one_thread_each_keep_their_own_user() {
        let events = crate::testing::capture(|| {
            let mut cx = Context::from_waker(std::task::Waker::noop());
            let mut alice = Box::pin(Layer::new().layer(Caller("alice")).call(get("/a")));
            let mut bob = Box::pin(Layer::new().layer(Caller("bob")).call(get("/b")));
            assert!(alice.as_mut().poll(&mut cx).is_pending());
            assert!(bob.as_mut().poll(&mut cx).is_pending());
            assert!(alice.as_mut().poll(&mut cx).is_ready());
            assert!(bob.as_mut().poll(&mut cx).is_ready());
            assert!(
                crate::scope::current_trail().is_none(),
                "out of both scopes"
            );
        });
        let users: Vec<_> = events
            .iter()
            .map(|event| event.user().and_then(crate::User::id))
            .collect();
        assert_eq!(users, [Some("alice"), Some("bob")]);
    }

    #[test]
    fn the_layer_is_send_sync_and_clone() {
        fn layer_bounds<T: Send + Sync + Clone + 'static>() {}
        layer_bounds::<Layer>();
        layer_bounds::<Service<Answer>>();
        fn future_bounds<T: Send>() {}
        future_bounds::<ResponseFuture<Ready<Result<http::Response<()>, Infallible>>>>();
    }
}
