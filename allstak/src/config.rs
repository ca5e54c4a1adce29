//! What the SDK is told: builder values first, then `ALLSTAK_*` environment variables, then
//! defaults. Bad values never fail the program: each is dropped with one diagnostic.

use std::ffi::OsString;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::before_send::BeforeSend;
use crate::breadcrumbs::{BeforeBreadcrumb, Breadcrumb};
use crate::event::Event;
use crate::proxy::{self, Proxy};
use crate::stack::InAppRules;

/// The default AllStak ingest host.
pub const DEFAULT_HOST: &str = "https://api.allstak.sa";
/// The environment of a build without debug assertions (a release build), when none is given.
///
/// A build with debug assertions (a debug build: `cargo run`, `cargo build`) reports as
/// [`DEVELOPMENT_ENVIRONMENT`] instead, so that a laptop's runs do not count in production's
/// crash-free rate. Whose build decides: with `#[allstak::main]`, the crate the attribute is
/// in; with [`init`](crate::init), the `allstak` crate's (the same unless a profile overrides
/// `debug-assertions` for some packages).
///
/// ```
/// let config = allstak::Config::from_env();
/// # if std::env::var_os("ALLSTAK_ENVIRONMENT").is_none() {
/// let expected = if cfg!(debug_assertions) {
///     allstak::DEVELOPMENT_ENVIRONMENT
/// } else {
///     allstak::DEFAULT_ENVIRONMENT
/// };
/// assert_eq!(config.environment(), expected);
/// # }
/// ```
pub const DEFAULT_ENVIRONMENT: &str = "production";
/// The environment of a build with debug assertions, when none is given (see
/// [`DEFAULT_ENVIRONMENT`]).
///
/// ```
/// assert_eq!(allstak::DEVELOPMENT_ENVIRONMENT, "development");
/// ```
pub const DEVELOPMENT_ENVIRONMENT: &str = "development";
/// How long ending a session may hold the process, by default.
pub const DEFAULT_EXIT_DEADLINE: Duration = Duration::from_secs(2);

/// Longest value read from an environment variable; longer ones are ignored with a diagnostic.
const MAX_ENV_VALUE: usize = 4096;
/// Longest exit deadline accepted, so a typo cannot hold a process for hours.
const MAX_EXIT_DEADLINE: Duration = Duration::from_secs(60);
/// Commit identity set by hosting platforms, tried in this order after `ALLSTAK_RELEASE`.
const PLATFORM_COMMIT_VARS: [&str; 3] = [
    "VERCEL_GIT_COMMIT_SHA",
    "RAILWAY_GIT_COMMIT_SHA",
    "RENDER_GIT_COMMIT",
];

/// The resolved configuration of the SDK.
///
/// Build one with [`Config::builder`] or take everything from the environment with
/// [`Config::from_env`]. Values given to the builder win over the environment.
///
/// | env var | builder method | default |
/// |---|---|---|
/// | `ALLSTAK_API_KEY` | [`api_key`](ConfigBuilder::api_key) | none: nothing is sent |
/// | `ALLSTAK_HOST` | [`host`](ConfigBuilder::host) | `https://api.allstak.sa` |
/// | `ALLSTAK_RELEASE` | [`release`](ConfigBuilder::release) | platform commit, then the crate's `name@version` |
/// | `ALLSTAK_ENVIRONMENT` | [`environment`](ConfigBuilder::environment) | `development` in a build with debug assertions, else `production` |
/// | `ALLSTAK_USER_ID` | [`user_id`](ConfigBuilder::user_id) | none |
/// | `ALLSTAK_AUTO_SESSION_TRACKING` | [`auto_session_tracking`](ConfigBuilder::auto_session_tracking) | on |
/// | `ALLSTAK_TRACK_TEST_RUNS` | [`track_test_runs`](ConfigBuilder::track_test_runs) | off |
/// | `ALLSTAK_EXIT_DEADLINE_MS` | [`exit_deadline`](ConfigBuilder::exit_deadline) | 2000 (at most 60000: a longer one is cut, said under `ALLSTAK_DEBUG`) |
/// | `ALLSTAK_END_ON_SIGNALS` | [`end_on_signals`](ConfigBuilder::end_on_signals) | on (Unix) |
/// | `ALLSTAK_SEND_SERVER_NAME` | [`send_server_name`](ConfigBuilder::send_server_name) | on |
/// | `ALLSTAK_SAMPLE_RATE` | [`sample_rate`](ConfigBuilder::sample_rate) | `1.0`: every error event is sent |
/// | `ALLSTAK_ATTACH_STACKTRACE` | [`attach_stacktrace`](ConfigBuilder::attach_stacktrace) | off: errors carry their site, panics their stack |
/// | `ALLSTAK_IN_APP_INCLUDE` | [`in_app_include`](ConfigBuilder::in_app_include) | none: the program's crates as paths and names say |
/// | `ALLSTAK_IN_APP_EXCLUDE` | [`in_app_exclude`](ConfigBuilder::in_app_exclude) | none |
/// | `ALLSTAK_STATE_DIR` | [`state_dir`](ConfigBuilder::state_dir) | the platform's state dir |
/// | `ALLSTAK_PROXY` | [`proxy`](ConfigBuilder::proxy) | `https_proxy`, `http_proxy`, `all_proxy` as curl reads them |
/// | `ALLSTAK_DEBUG` | [`debug`](ConfigBuilder::debug) | off |
/// | — | [`before_send`](ConfigBuilder::before_send) | none |
/// | — | [`scrub_defaults`](ConfigBuilder::scrub_defaults) | on |
/// | `ALLSTAK_SCRUB_KEYS` | [`scrub_keys`](ConfigBuilder::scrub_keys) | none: the default names only |
///
/// ```
/// let config = allstak::Config::builder()
///     .release("my-app@1.2.3")
///     .environment("staging")
///     .build();
/// assert_eq!(config.release(), "my-app@1.2.3");
/// // The key never shows in Debug output.
/// let shown = format!("{:?}", allstak::Config::builder().api_key("secret-key").build());
/// assert!(!shown.contains("secret-key"));
/// ```
#[derive(Clone)]
pub struct Config {
    pub(crate) api_key: Option<String>,
    /// A key was given but could not be used (already reported in `problems`).
    pub(crate) api_key_refused: bool,
    pub(crate) host: Option<String>,
    pub(crate) release: String,
    pub(crate) environment: String,
    pub(crate) user_id: Option<String>,
    pub(crate) auto_session_tracking: bool,
    pub(crate) track_test_runs: bool,
    pub(crate) exit_deadline: Duration,
    pub(crate) debug: bool,
    pub(crate) end_on_signals: bool,
    /// Whether error events carry the host's name (`server_name`).
    pub(crate) send_server_name: bool,
    pub(crate) attach_stacktrace: bool,
    /// Which frames are the program's: its known crates, `in_app_include`, `in_app_exclude`.
    pub(crate) in_app: InAppRules,
    pub(crate) state_dir: Option<std::path::PathBuf>,
    pub(crate) proxy: Option<Proxy>,
    pub(crate) max_breadcrumbs: usize,
    pub(crate) before_send: Option<Arc<BeforeSend>>,
    pub(crate) before_breadcrumb: Option<Arc<BeforeBreadcrumb>>,
    /// The share of error events sent, 0.0 to 1.0.
    pub(crate) sample_rate: f32,
    pub(crate) scrub_defaults: bool,
    /// Key names scrubbed on top of the default ones.
    pub(crate) scrub_keys: Vec<String>,
    /// What was wrong with the input, said once the SDK starts (when debug is on).
    pub(crate) problems: Vec<String>,
}

impl Config {
    /// An empty builder: everything not set on it comes from the environment, then defaults.
    ///
    /// ```
    /// let config = allstak::Config::builder().environment("staging").build();
    /// assert_eq!(config.environment(), "staging");
    /// ```
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The configuration from `ALLSTAK_*` environment variables and defaults alone.
    ///
    /// ```
    /// let config = allstak::Config::from_env();
    /// assert!(!config.release().is_empty());
    /// ```
    #[must_use]
    pub fn from_env() -> Self {
        Self::builder().build()
    }

    /// The release every session and event is reported under.
    ///
    /// ```
    /// let config = allstak::Config::builder().release("shop@2.4.0").build();
    /// assert_eq!(config.release(), "shop@2.4.0");
    /// ```
    #[must_use]
    pub fn release(&self) -> &str {
        &self.release
    }

    /// The environment name: as told, else `development` in a build with debug assertions and
    /// `production` otherwise (see [`DEFAULT_ENVIRONMENT`]).
    ///
    /// ```
    /// let config = allstak::Config::builder().environment("staging").build();
    /// assert_eq!(config.environment(), "staging");
    /// ```
    #[must_use]
    pub fn environment(&self) -> &str {
        &self.environment
    }

    /// The ingest base URL, without trailing slashes; `None` when the one given was unusable.
    ///
    /// ```
    /// let config = allstak::Config::builder().host("https://ingest.example/").build();
    /// assert_eq!(config.host(), Some("https://ingest.example"));
    /// let config = allstak::Config::builder().host("ftp://nope").build();
    /// assert_eq!(config.host(), None);
    /// ```
    #[must_use]
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Whether an API key is configured (the key itself is never handed out).
    ///
    /// ```
    /// let config = allstak::Config::builder().api_key("ask_live_123").build();
    /// assert!(config.has_api_key());
    /// ```
    #[must_use]
    pub fn has_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    /// How long ending a session may hold the process.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = allstak::Config::builder()
    ///     .exit_deadline(Duration::from_millis(500))
    ///     .build();
    /// assert_eq!(config.exit_deadline(), Duration::from_millis(500));
    /// // Also the bound a program may give `flush`:
    /// allstak::flush(config.exit_deadline());
    /// ```
    #[must_use]
    pub fn exit_deadline(&self) -> Duration {
        self.exit_deadline
    }

    /// Whether sessions are tracked at all.
    ///
    /// ```
    /// let config = allstak::Config::builder().auto_session_tracking(false).build();
    /// assert!(!config.auto_session_tracking());
    /// ```
    #[must_use]
    pub fn auto_session_tracking(&self) -> bool {
        self.auto_session_tracking
    }

    /// The crate and module paths whose frames are marked in-app, whatever their paths say
    /// (see [`ConfigBuilder::in_app_include`]).
    ///
    /// ```
    /// let config = allstak::Config::builder().in_app_include(["shop_core"]).build();
    /// assert_eq!(config.in_app_include(), ["shop_core"]);
    /// ```
    #[must_use]
    pub fn in_app_include(&self) -> &[String] {
        &self.in_app.include
    }

    /// The crate and module paths whose frames are never marked in-app (see
    /// [`ConfigBuilder::in_app_exclude`]).
    ///
    /// ```
    /// let config = allstak::Config::builder().in_app_exclude(["shop::generated"]).build();
    /// assert_eq!(config.in_app_exclude(), ["shop::generated"]);
    /// ```
    #[must_use]
    pub fn in_app_exclude(&self) -> &[String] {
        &self.in_app.exclude
    }

    /// The share of error events sent, from 0.0 (none) to 1.0 (all, the default); see
    /// [`ConfigBuilder::sample_rate`].
    ///
    /// ```
    /// let config = allstak::Config::builder().sample_rate(0.25).build();
    /// assert_eq!(config.sample_rate(), 0.25);
    /// ```
    #[must_use]
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate
    }

    /// The key names scrubbed on top of the default ones (see [`ConfigBuilder::scrub_keys`]).
    ///
    /// ```
    /// let config = allstak::Config::builder().scrub_keys(["ssn", " iban "]).build();
    /// assert_eq!(config.scrub_keys(), ["ssn", "iban"]);
    /// ```
    #[must_use]
    pub fn scrub_keys(&self) -> &[String] {
        &self.scrub_keys
    }

    /// The proxy's URL, if requests go through one.
    pub(crate) fn proxy_url(&self) -> Option<&str> {
        self.proxy.as_ref().map(Proxy::url)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("host", &self.host)
            .field("release", &self.release)
            .field("environment", &self.environment)
            .field("user_id", &self.user_id)
            .field("auto_session_tracking", &self.auto_session_tracking)
            .field("track_test_runs", &self.track_test_runs)
            .field("exit_deadline", &self.exit_deadline)
            .field("debug", &self.debug)
            .field("end_on_signals", &self.end_on_signals)
            .field("send_server_name", &self.send_server_name)
            .field("attach_stacktrace", &self.attach_stacktrace)
            .field("in_app_include", &self.in_app.include)
            .field("in_app_exclude", &self.in_app.exclude)
            .field("state_dir", &self.state_dir)
            .field("proxy", &self.proxy)
            .field("max_breadcrumbs", &self.max_breadcrumbs)
            .field("before_send", &self.before_send.as_ref().map(|_| "Fn"))
            .field(
                "before_breadcrumb",
                &self.before_breadcrumb.as_ref().map(|_| "Fn"),
            )
            .field("sample_rate", &self.sample_rate)
            .field("scrub_defaults", &self.scrub_defaults)
            .field("scrub_keys", &self.scrub_keys)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Config`]; see there for each setting's environment variable and default.
///
/// ```
/// use std::time::Duration;
/// let config = allstak::Config::builder()
///     .host("http://127.0.0.1:9000/")
///     .exit_deadline(Duration::from_millis(500))
///     .build();
/// assert_eq!(config.host(), Some("http://127.0.0.1:9000"));
/// assert_eq!(config.exit_deadline(), Duration::from_millis(500));
/// ```
#[derive(Clone, Default)]
#[must_use]
pub struct ConfigBuilder {
    api_key: Option<String>,
    host: Option<String>,
    release: Option<String>,
    default_release: Option<String>,
    environment: Option<String>,
    /// Whether the build that sets the SDK up has debug assertions (the default environment).
    debug_assertions: Option<bool>,
    user_id: Option<String>,
    auto_session_tracking: Option<bool>,
    track_test_runs: Option<bool>,
    exit_deadline: Option<Duration>,
    debug: Option<bool>,
    end_on_signals: Option<bool>,
    send_server_name: Option<bool>,
    attach_stacktrace: Option<bool>,
    in_app_include: Option<Vec<String>>,
    in_app_exclude: Option<Vec<String>>,
    /// The crates `#[allstak::main]` knows as the program's.
    own_crates: Vec<String>,
    state_dir: Option<std::path::PathBuf>,
    proxy: Option<String>,
    max_breadcrumbs: Option<usize>,
    before_send: Option<Arc<BeforeSend>>,
    before_breadcrumb: Option<Arc<BeforeBreadcrumb>>,
    sample_rate: Option<f32>,
    scrub_defaults: Option<bool>,
    scrub_keys: Option<Vec<String>>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("host", &self.host)
            .field("release", &self.release)
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// The project's API key. Prefer `ALLSTAK_API_KEY`: keys do not belong in source.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The ingest base URL, e.g. `https://api.allstak.sa`, winning over `ALLSTAK_HOST`. A blank
    /// one counts as not given (`ALLSTAK_HOST`, else [`DEFAULT_HOST`]), as a blank release,
    /// environment or user id does.
    ///
    /// ```
    /// let config = allstak::Config::builder().host("https://ingest.example/").build();
    /// assert_eq!(config.host(), Some("https://ingest.example"));
    /// ```
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// The release, winning over `ALLSTAK_RELEASE` and platform commit variables.
    ///
    /// ```
    /// let config = allstak::Config::builder().release("shop@2.4.0").build();
    /// assert_eq!(config.release(), "shop@2.4.0");
    /// ```
    pub fn release(mut self, release: impl Into<String>) -> Self {
        self.release = Some(release.into());
        self
    }

    /// The release used when neither the builder, `ALLSTAK_RELEASE` nor a platform commit
    /// variable gives one; `#[allstak::main]` passes the crate's `name@version` here.
    /// [`release_name!`](crate::release_name) gives the same for manual setups.
    pub fn default_release(mut self, release: impl Into<String>) -> Self {
        self.default_release = Some(release.into());
        self
    }

    /// The environment name, winning over `ALLSTAK_ENVIRONMENT`. Without either, a build with
    /// debug assertions reports as `development`, any other as `production` (see
    /// [`DEFAULT_ENVIRONMENT`]).
    ///
    /// ```
    /// let config = allstak::Config::builder().environment("staging").build();
    /// assert_eq!(config.environment(), "staging");
    /// ```
    pub fn environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// Whether the program's build has debug assertions, for the default environment:
    /// `#[allstak::main]` passes `cfg!(debug_assertions)` of the crate it is in.
    pub(crate) fn debug_assertions(mut self, on: bool) -> Self {
        self.debug_assertions = Some(on);
        self
    }

    /// The id of the program's user, known before the session starts (`ALLSTAK_USER_ID`): sent
    /// as the session start's `userId`, and the user of every error event until
    /// [`set_user`](crate::set_user) says otherwise.
    ///
    /// ```
    /// let config = allstak::Config::builder().user_id("u-42").build();
    /// # let _ = config;
    /// ```
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// Turns session tracking on or off (`ALLSTAK_AUTO_SESSION_TRACKING`).
    pub fn auto_session_tracking(mut self, on: bool) -> Self {
        self.auto_session_tracking = Some(on);
        self
    }

    /// Tracks sessions even in a test run (`ALLSTAK_TRACK_TEST_RUNS`), for tests that point
    /// the SDK at a loopback collector on purpose.
    ///
    /// A doctest is a test run too: this one, with a key and a host, starts no session.
    ///
    /// ```
    /// let _guard = allstak::init(
    ///     allstak::Config::builder()
    ///         .api_key("ask_doc")
    ///         .host("http://127.0.0.1:9")
    ///         .build(),
    /// );
    /// assert_eq!(allstak::current_session_id(), None);
    /// ```
    pub fn track_test_runs(mut self, on: bool) -> Self {
        self.track_test_runs = Some(on);
        self
    }

    /// How long ending a session may hold the process (at most 60 s).
    pub fn exit_deadline(mut self, deadline: Duration) -> Self {
        self.exit_deadline = Some(deadline);
        self
    }

    /// Whether SIGTERM and SIGINT end the session (`ALLSTAK_END_ON_SIGNALS`; Unix only). On by
    /// default: the signal ends the session with the status reached so far, within the exit
    /// deadline, and the process then dies of the same signal (or runs the handler it had
    /// installed before the SDK started), as it would without the SDK. A signal the program
    /// ignores stays ignored, and a handler it installs later (tokio's `signal`, signal-hook,
    /// ctrlc) owns the signal: its `main` returning ends the session. Off: a program killed by
    /// these signals leaves its session open, and the next run reports it `abnormal`.
    ///
    /// ```
    /// // This program is stopped by its supervisor, and wants that counted as abnormal.
    /// let config = allstak::Config::builder().end_on_signals(false).build();
    /// # let _ = config;
    /// ```
    pub fn end_on_signals(mut self, on: bool) -> Self {
        self.end_on_signals = Some(on);
        self
    }

    /// Whether error events carry the host's name as `metadata["server_name"]`
    /// (`ALLSTAK_SEND_SERVER_NAME`; on by default). A host name can be personal data (a laptop
    /// named after its owner): turn it off where that matters. The README's "What each event
    /// carries" lists the rest of the runtime context, which is always sent.
    ///
    /// ```
    /// let config = allstak::Config::builder().send_server_name(false).build();
    /// # let _ = config;
    /// ```
    pub fn send_server_name(mut self, on: bool) -> Self {
        self.send_server_name = Some(on);
        self
    }

    /// Sends the whole stack with every tracked error and `capture_*` call
    /// (`ALLSTAK_ATTACH_STACKTRACE`), not only the tracked fn's site. The stack is captured on
    /// the reporting thread (a few µs) and symbolized on the SDK's. Panics always carry theirs.
    ///
    /// ```
    /// let config = allstak::Config::builder().attach_stacktrace(true).build();
    /// # let _ = config;
    /// ```
    pub fn attach_stacktrace(mut self, on: bool) -> Self {
        self.attach_stacktrace = Some(on);
        self
    }

    /// Crates or modules whose frames are the program's own (`ALLSTAK_IN_APP_INCLUDE`,
    /// comma-separated): each a path such as `shop_core` or `shop_core::db`, matching the
    /// frames whose function is in it (`shop_core::db::load`, `<shop_core::Cart as …>::next`).
    /// Replaces what the variable says.
    ///
    /// Without it, a frame is in-app when its source path is in the program's sources (not
    /// std's, not a registry's or a git checkout's), or, in a release build without debug
    /// info (no paths), when its function is in the crate `#[allstak::main]` is in, that
    /// package's library, or the crate named like the executable. List the program's other
    /// crates here (workspace members, path dependencies) for such builds. A package's name
    /// (`shop-core`) is read as its crate's (`shop_core`); a value that is no path is dropped
    /// with a diagnostic. Against [`in_app_exclude`](Self::in_app_exclude), the longest
    /// matching path wins, and the same path in both excludes.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .in_app_include(["shop_core", "shop_db"])
    ///     .build();
    /// assert_eq!(config.in_app_include(), ["shop_core", "shop_db"]);
    /// ```
    pub fn in_app_include<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.in_app_include = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// Crates or modules whose frames are never the program's own (`ALLSTAK_IN_APP_EXCLUDE`,
    /// comma-separated), whatever their paths say: generated code, a vendored copy of a
    /// dependency. Paths as for [`in_app_include`](Self::in_app_include); the longest matching
    /// path of the two lists wins, and the same path in both excludes.
    ///
    /// ```
    /// // `shop` is in-app, its generated bindings are not.
    /// let config = allstak::Config::builder()
    ///     .in_app_exclude(["shop::generated"])
    ///     .build();
    /// assert_eq!(config.in_app_exclude(), ["shop::generated"]);
    /// ```
    pub fn in_app_exclude<I>(mut self, paths: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.in_app_exclude = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// A crate known to be the program's, for frames without a source path: what
    /// `#[allstak::main]` knows of where it expands.
    pub(crate) fn own_crate(mut self, name: &str) -> Self {
        add_crate(&mut self.own_crates, name);
        self
    }

    /// The proxy to send through (`ALLSTAK_PROXY`): `http://host:port` or `https://host:port`,
    /// with `user:password@` if it needs them. Wins over the environment's proxy variables
    /// (`https_proxy`, `http_proxy`, `all_proxy`, read as curl reads them, with `no_proxy`);
    /// an empty value sends directly whatever they say. A value that cannot be used (a
    /// `socks5://` proxy, a malformed URL) is one diagnostic, and requests go directly.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .proxy("http://proxy.corp.example:3128")
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// How many breadcrumbs the trail keeps for error events (default 100; 0 keeps none). An
    /// event over [`MAX_EVENT_BYTES`](crate::MAX_EVENT_BYTES) carries only the newest that fit.
    ///
    /// ```
    /// let config = allstak::Config::builder().max_breadcrumbs(20).build();
    /// # let _ = config;
    /// ```
    pub fn max_breadcrumbs(mut self, max: usize) -> Self {
        self.max_breadcrumbs = Some(max);
        self
    }

    /// A hook that sees every error event before it is queued, and may change it (message,
    /// class, level, metadata, user) or drop it by returning `None`: the place for custom
    /// scrubbing. It runs on the thread that captured the event (on the SDK's own thread for a
    /// panic, where a second panic would abort the process); a panic in it is caught and drops
    /// that event. A dropped event still counts for the session's status. The default scrubbing
    /// ([`scrub_defaults`](Self::scrub_defaults)) runs after it.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_send(|mut event| {
    ///         if event.exception_class() == "ClientDisconnected" {
    ///             return None; // not worth an event
    ///         }
    ///         event.metadata_mut().remove("internal_note");
    ///         Some(event)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn before_send(
        mut self,
        hook: impl Fn(Event) -> Option<Event> + Send + Sync + 'static,
    ) -> Self {
        self.before_send = Some(Arc::new(hook));
        self
    }

    /// A hook that sees every breadcrumb before it joins the trail (added by
    /// [`add_breadcrumb`](crate::add_breadcrumb), the `tracing` layer or the `log` logger), and
    /// may change it or drop it by returning `None`. It runs on the thread that adds the
    /// breadcrumb, only when events are sent; a panic in it is caught and drops that
    /// breadcrumb.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .before_breadcrumb(|breadcrumb| {
    ///         // Health checks say nothing about an error.
    ///         (breadcrumb.category() != Some("health")).then_some(breadcrumb)
    ///     })
    ///     .build();
    /// # let _ = config;
    /// ```
    pub fn before_breadcrumb(
        mut self,
        hook: impl Fn(Breadcrumb) -> Option<Breadcrumb> + Send + Sync + 'static,
    ) -> Self {
        self.before_breadcrumb = Some(Arc::new(hook));
        self
    }

    /// The share of error events sent (`ALLSTAK_SAMPLE_RATE`; the attribute's
    /// `sample_rate = …`), from 0.0 (none) to 1.0 (all, the default). Each event is kept or
    /// dropped at random, before anything of it is built on the caller's thread. Sessions are
    /// never sampled: a sampled-out error still makes the session `errored` (it happened), and
    /// a crash still makes it `crashed`. Applies to every error event, a panic's and the
    /// crash's included, as in 0.2 and sentry. A value outside 0.0 to 1.0 (or not a number) is
    /// ignored with one diagnostic: every event is sent.
    ///
    /// ```
    /// // A chatty service: one error event in ten is enough to see what goes wrong.
    /// let config = allstak::Config::builder().sample_rate(0.1).build();
    /// assert_eq!(config.sample_rate(), 0.1);
    /// ```
    pub fn sample_rate(mut self, rate: f32) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// Whether the default scrubbing runs (on by default): values under keys named like a
    /// secret (`password`, `passwd`, `pwd`, `secret`, `api_key`, `apikey`, `access_token`,
    /// `auth`, `authorization`, `credentials`, `mysql_pwd`, `private_key`, `privatekey`,
    /// `token`, `session`, `cookie`, `set-cookie`, `csrf`, and the
    /// [`scrub_keys`](Self::scrub_keys)) become `[scrubbed]` in events' metadata and
    /// breadcrumbs' data, and secrets written in strings (such pairs as `pwd: "…"` or
    /// `token=…`, bearer and basic credentials, URL passwords, JWTs, AWS key ids, card numbers,
    /// emails) too; the README's privacy section lists every rule. Off turns all of it off. The
    /// API key itself never leaves in a payload, whatever this says.
    ///
    /// ```
    /// // This program's `token` fields are counts, not secrets.
    /// let config = allstak::Config::builder().scrub_defaults(false).build();
    /// # let _ = config;
    /// ```
    pub fn scrub_defaults(mut self, on: bool) -> Self {
        self.scrub_defaults = Some(on);
        self
    }

    /// Key names scrubbed on top of the default ones (`ALLSTAK_SCRUB_KEYS`, comma-separated;
    /// this list replaces the variable's). A name matches by its words, in any case and with
    /// any separator: `ssn` hits `ssn`, `user_ssn` and `userSSN`, `tax_id` hits `taxId` and
    /// `X-Tax-Id`; a name of five letters or more also hits the end of a longer word (`email`
    /// hits `workemail`; `ssn` does not hit `lessn`). A value is scrubbed under such a key, and after
    /// it in strings (`ssn=…`, `ssn: "…"`). A name without a letter or digit is dropped with
    /// a diagnostic. [`scrub_defaults(false)`](Self::scrub_defaults) turns these off too.
    ///
    /// ```
    /// let config = allstak::Config::builder()
    ///     .scrub_keys(["ssn", "tax_id"])
    ///     .build();
    /// assert_eq!(config.scrub_keys(), ["ssn", "tax_id"]);
    /// ```
    pub fn scrub_keys<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.scrub_keys = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Where open sessions are written for abnormal-session recovery (`ALLSTAK_STATE_DIR`;
    /// default: the platform's state dir, e.g. `~/.local/state/allstak`).
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// Prints the SDK's diagnostics on stderr (`ALLSTAK_DEBUG`).
    pub fn debug(mut self, on: bool) -> Self {
        self.debug = Some(on);
        self
    }

    /// Resolves every setting: builder, then environment, then default.
    #[must_use]
    pub fn build(self) -> Config {
        self.build_with(&mut |name| std::env::var_os(name))
    }

    pub(crate) fn build_with(self, env: &mut dyn FnMut(&str) -> Option<OsString>) -> Config {
        let mut problems = Vec::new();
        let mut var = |name: &str| read_env(env, name, &mut problems);

        let api_key = self.api_key.or_else(|| var("ALLSTAK_API_KEY"));
        // A blank value given is one not given, as a blank variable is: the next in line counts.
        let host = given(self.host).or_else(|| var("ALLSTAK_HOST"));
        let release = given(self.release)
            .or_else(|| var("ALLSTAK_RELEASE"))
            .or_else(|| {
                PLATFORM_COMMIT_VARS
                    .iter()
                    .find_map(|name| var(name))
                    .map(|sha| sha.chars().take(12).collect())
            });
        let environment = given(self.environment).or_else(|| var("ALLSTAK_ENVIRONMENT"));
        let user_id = given(self.user_id).or_else(|| var("ALLSTAK_USER_ID"));
        let auto_session_tracking = self
            .auto_session_tracking
            .or_else(|| flag(var("ALLSTAK_AUTO_SESSION_TRACKING")));
        let track_test_runs = self
            .track_test_runs
            .or_else(|| flag(var("ALLSTAK_TRACK_TEST_RUNS")));
        let debug = self.debug.or_else(|| flag(var("ALLSTAK_DEBUG")));
        let end_on_signals = self
            .end_on_signals
            .or_else(|| flag(var("ALLSTAK_END_ON_SIGNALS")));
        let send_server_name = self
            .send_server_name
            .or_else(|| flag(var("ALLSTAK_SEND_SERVER_NAME")));
        let attach_stacktrace = self
            .attach_stacktrace
            .or_else(|| flag(var("ALLSTAK_ATTACH_STACKTRACE")));
        let in_app_include = self
            .in_app_include
            .map(|paths| ("in_app_include", paths))
            .or_else(|| {
                var("ALLSTAK_IN_APP_INCLUDE")
                    .map(|list| ("ALLSTAK_IN_APP_INCLUDE", comma_separated(&list)))
            });
        let in_app_exclude = self
            .in_app_exclude
            .map(|paths| ("in_app_exclude", paths))
            .or_else(|| {
                var("ALLSTAK_IN_APP_EXCLUDE")
                    .map(|list| ("ALLSTAK_IN_APP_EXCLUDE", comma_separated(&list)))
            });
        let deadline_ms = var("ALLSTAK_EXIT_DEADLINE_MS");
        let sample_rate = match self.sample_rate {
            Some(rate) => Some(("sample_rate", rate.to_string(), Some(rate))),
            None => var("ALLSTAK_SAMPLE_RATE").map(|text| {
                let rate = text.trim().parse::<f32>().ok();
                ("ALLSTAK_SAMPLE_RATE", text, rate)
            }),
        };
        // Relative to where the program started, once: a program that changes its working
        // dir later (a daemon's `chdir("/")`) keeps writing where it began.
        let state_dir = self
            .state_dir
            .or_else(|| var("ALLSTAK_STATE_DIR").map(std::path::PathBuf::from))
            .map(|dir| std::path::absolute(&dir).unwrap_or(dir));
        let proxy_setting = self.proxy.or_else(|| var("ALLSTAK_PROXY"));
        let scrub_keys = self
            .scrub_keys
            .map(|names| ("scrub_keys", names))
            .or_else(|| {
                var("ALLSTAK_SCRUB_KEYS").map(|list| ("ALLSTAK_SCRUB_KEYS", comma_separated(&list)))
            });

        let exit_deadline = match (self.exit_deadline, deadline_ms) {
            (Some(deadline), _) => Some(deadline),
            (None, Some(ms)) => match ms.parse::<u64>() {
                Ok(ms) => Some(Duration::from_millis(ms)),
                Err(_) => {
                    problems.push(format!(
                        "ALLSTAK_EXIT_DEADLINE_MS is not a number of milliseconds: {}",
                        shorten(&format!("{ms:?}"))
                    ));
                    None
                }
            },
            (None, None) => None,
        };
        if exit_deadline.is_some_and(|deadline| deadline > MAX_EXIT_DEADLINE) {
            problems.push(format!(
                "the exit deadline is cut to {} s, the longest an exit waits",
                MAX_EXIT_DEADLINE.as_secs()
            ));
        }
        let exit_deadline = exit_deadline
            .unwrap_or(DEFAULT_EXIT_DEADLINE)
            .min(MAX_EXIT_DEADLINE);
        let sample_rate = match sample_rate {
            Some((_, _, Some(rate))) if (0.0..=1.0).contains(&rate) => rate,
            Some((setting, text, _)) => {
                problems.push(format!(
                    "{setting} is not a number from 0.0 to 1.0: {}; every error event is sent",
                    shorten(&format!("{text:?}"))
                ));
                1.0
            }
            None => 1.0,
        };
        let mut in_app_list = |setting: Option<(&str, Vec<String>)>| {
            setting
                .map(|(name, paths)| module_paths(name, paths, &mut problems))
                .unwrap_or_default()
        };
        let in_app = InAppRules {
            include: in_app_list(in_app_include),
            exclude: in_app_list(in_app_exclude),
            own_crates: {
                let mut own_crates = self.own_crates;
                if let Some(name) = executable_crate() {
                    add_crate(&mut own_crates, &name);
                }
                own_crates
            },
        };

        let scrub_keys = scrub_keys
            .map(|(setting, names)| {
                let (kept, refused) = crate::scrub::key_names(names);
                if !refused.is_empty() {
                    problems.push(format!(
                        "{setting}: ignored {}: each entry is a key name with a letter or digit",
                        shorten(&format!("{refused:?}")),
                    ));
                }
                kept
            })
            .unwrap_or_default();

        let valid_api_key = api_key
            .as_deref()
            .and_then(|key| valid_key(key, &mut problems));
        let host = valid_host(host.as_deref().unwrap_or(DEFAULT_HOST), &mut problems);
        let proxy = host.as_deref().and_then(|host| {
            let mut env_problems = Vec::new();
            let proxy = proxy::resolve(
                proxy_setting.as_deref(),
                host,
                &mut |name| read_env(env, name, &mut env_problems),
                &mut problems,
            );
            problems.append(&mut env_problems);
            proxy
        });
        let mut capped = |setting: &str, value: String| identifier(setting, value, &mut problems);
        let release = release
            .or(self.default_release)
            .filter(|r| !r.trim().is_empty())
            .map_or_else(executable_name, |release| capped("the release", release));
        let environment = environment.filter(|e| !e.trim().is_empty()).map_or_else(
            || {
                default_environment(self.debug_assertions.unwrap_or(cfg!(debug_assertions)))
                    .to_owned()
            },
            |environment| capped("the environment", environment),
        );
        let user_id = user_id
            .filter(|u| !u.trim().is_empty())
            .map(|user_id| capped("the user id", user_id));
        Config {
            api_key_refused: valid_api_key.is_none()
                && api_key.is_some_and(|k| !k.trim().is_empty()),
            api_key: valid_api_key,
            host,
            release,
            environment,
            user_id,
            auto_session_tracking: auto_session_tracking.unwrap_or(true),
            track_test_runs: track_test_runs.unwrap_or(false),
            exit_deadline,
            debug: debug.unwrap_or(false),
            end_on_signals: end_on_signals.unwrap_or(true),
            send_server_name: send_server_name.unwrap_or(true),
            attach_stacktrace: attach_stacktrace.unwrap_or(false),
            in_app,
            state_dir,
            proxy,
            max_breadcrumbs: self
                .max_breadcrumbs
                .unwrap_or(crate::breadcrumbs::DEFAULT_MAX_BREADCRUMBS),
            before_send: self.before_send,
            before_breadcrumb: self.before_breadcrumb,
            sample_rate,
            scrub_defaults: self.scrub_defaults.unwrap_or(true),
            scrub_keys,
            problems,
        }
    }
}

/// The environment of a build with or without debug assertions, when none is given.
fn default_environment(debug_assertions: bool) -> &'static str {
    if debug_assertions {
        DEVELOPMENT_ENVIRONMENT
    } else {
        DEFAULT_ENVIRONMENT
    }
}

/// One environment variable: unset, empty, non-UTF-8 and oversized values all read as unset.
fn read_env(
    env: &mut dyn FnMut(&str) -> Option<OsString>,
    name: &str,
    problems: &mut Vec<String>,
) -> Option<String> {
    let raw = env(name)?;
    if raw.len() > MAX_ENV_VALUE {
        problems.push(format!(
            "{name} is {} bytes long (the limit is {MAX_ENV_VALUE}); ignored",
            raw.len()
        ));
        return None;
    }
    match raw.into_string() {
        Ok(value) if value.trim().is_empty() => None,
        Ok(value) => Some(value.trim().to_owned()),
        Err(_) => {
            problems.push(format!("{name} is not valid UTF-8; ignored"));
            None
        }
    }
}

/// A value given to the builder, unless blank.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

fn comma_separated(list: &str) -> Vec<String> {
    list.split(',').map(str::to_owned).collect()
}

/// Crate or module paths for `setting`: blanks skipped, a package's name (`my-lib`) read as its
/// crate's (`my_lib`), duplicates dropped, and what is no path dropped with one problem.
fn module_paths(setting: &str, values: Vec<String>, problems: &mut Vec<String>) -> Vec<String> {
    let mut paths: Vec<String> = Vec::with_capacity(values.len());
    let mut seen = std::collections::HashSet::new();
    let mut refused = Vec::new();
    for value in &values {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let path = value.replace('-', "_");
        if !is_module_path(&path) {
            refused.push(format!("{value:?}"));
        } else if seen.insert(path.clone()) {
            paths.push(path);
        }
    }
    if !refused.is_empty() {
        problems.push(format!(
            "{setting}: ignored {}: each entry is a crate or module path, such as `my_crate` or \
             `my_crate::db`",
            shorten(&refused.join(", ")),
        ));
    }
    paths
}

/// Adds a crate's name to `crates`, once; a package's name (`my-app`) is its crate's (`my_app`).
fn add_crate(crates: &mut Vec<String>, name: &str) {
    let name = name.replace('-', "_");
    if is_module_path(&name) && !name.contains("::") && !crates.contains(&name) {
        crates.push(name);
    }
}

/// `name` or `name::inner::…`, each segment an identifier.
fn is_module_path(path: &str) -> bool {
    path.split("::").all(|segment| {
        let mut chars = segment.chars();
        chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
            && chars.all(|c| c.is_alphanumeric() || c == '_')
    })
}

/// The crate named like the executable (cargo names a binary after its crate), for programs
/// set up without `#[allstak::main]`.
fn executable_crate() -> Option<String> {
    Some(current_exe()?.file_stem()?.to_str()?.to_owned())
}

/// The executable's path, read once (a `readlink` of `/proc/self/exe` on Linux): the program's
/// crate, its default release and the test-run guard each ask.
fn current_exe() -> Option<&'static std::path::Path> {
    static EXE: std::sync::OnceLock<Option<std::path::PathBuf>> = std::sync::OnceLock::new();
    EXE.get_or_init(|| std::env::current_exe().ok()).as_deref()
}

/// `1/true/on/yes` and `0/false/off/no`, any case; anything else is unset.
fn flag(value: Option<String>) -> Option<bool> {
    let value = value?.to_ascii_lowercase();
    match value.as_str() {
        "1" | "true" | "on" | "yes" => Some(true),
        "0" | "false" | "off" | "no" => Some(false),
        _ => None,
    }
}

/// A key goes into an HTTP header: anything but visible ASCII would corrupt or inject headers.
fn valid_key(key: &str, problems: &mut Vec<String>) -> Option<String> {
    let key = key.trim();
    if key.is_empty() {
        return None;
    }
    if key.bytes().all(|b| b.is_ascii_graphic()) {
        Some(key.to_owned())
    } else {
        problems.push(
            "the API key holds characters an HTTP header cannot carry (spaces, newlines or \
             non-ASCII); nothing will be sent"
                .to_owned(),
        );
        None
    }
}

fn valid_host(host: &str, problems: &mut Vec<String>) -> Option<String> {
    let trimmed = host.trim().trim_end_matches('/');
    // The scheme in lower case, as the backends and the state file's hash of the host expect.
    let usable = crate::host::Url::parse(trimmed).is_some_and(|url| {
        matches!(url.scheme, "http" | "https")
            && !url.host.is_empty()
            && !trimmed
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
            && trimmed.parse::<http::Uri>().is_ok()
    });
    if usable {
        Some(trimmed.to_owned())
    } else {
        problems.push(format!(
            "the host {:?} is not an http:// or https:// URL; nothing will be sent",
            shorten(trimmed)
        ));
        None
    }
}

fn shorten(value: &str) -> String {
    const SHOWN: usize = 80;
    if value.chars().count() > SHOWN {
        format!("{}…", value.chars().take(SHOWN).collect::<String>())
    } else {
        value.to_owned()
    }
}

/// The longest release, environment or user id sent, in bytes: they name things, and each is
/// written into a session's state file (twice, escaped), which must stay small enough for the
/// next run to read.
const MAX_IDENTIFIER: usize = 1024;

/// `value` cut to [`MAX_IDENTIFIER`] bytes (at a character boundary), said if it was.
fn identifier(setting: &str, mut value: String, problems: &mut Vec<String>) -> String {
    if value.len() > MAX_IDENTIFIER {
        problems.push(format!(
            "{setting} is {} bytes long; cut to its first {MAX_IDENTIFIER}: {}",
            value.len(),
            shorten(&value)
        ));
        let mut end = MAX_IDENTIFIER;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
    value
}

/// Last resort for a release: the executable's name, so a session always has one.
fn executable_name() -> String {
    current_exe()
        .and_then(|path| path.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Whether this process is a test run, where no traffic is sent unless asked for.
pub(crate) fn is_test_run(cfg_test: bool) -> bool {
    cfg_test
        || std::env::var_os("NEXTEST").is_some()
        || std::env::var_os("NEXTEST_RUN_ID").is_some()
        || std::env::var_os("RUSTDOC_DOCTEST_RUN_NB_TEST").is_some()
        || current_exe().is_some_and(|exe| is_libtest_binary(exe) || is_doctest(exe))
}

/// rustdoc builds each doctest as `rust_out` in a temporary `rustdoctest*` directory (edition
/// 2021's doctests carry no other mark).
fn is_doctest(exe: &std::path::Path) -> bool {
    exe.file_stem().is_some_and(|stem| stem == "rust_out")
        && exe.ancestors().skip(1).any(|dir| {
            dir.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("rustdoctest"))
        })
}

/// `target/<profile>/deps/<name>-<16 hex digits>`: how cargo names test harness binaries.
fn is_libtest_binary(exe: &std::path::Path) -> bool {
    let in_deps = exe
        .parent()
        .and_then(|dir| dir.file_name())
        .is_some_and(|dir| dir == "deps");
    let hashed = exe
        .file_stem()
        .and_then(|stem| stem.to_str())
        .and_then(|stem| stem.rsplit_once('-'))
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    in_deps && hashed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn build(builder: ConfigBuilder, vars: &[(&str, &str)]) -> Config {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        builder.build_with(&mut |name| vars.get(name).cloned())
    }

    #[test]
    fn the_proxy_comes_from_the_builder_then_allstak_proxy_then_curls_variables() {
        let env = [
            ("ALLSTAK_HOST", "https://ingest.example"),
            ("https_proxy", "http://env-proxy:3128"),
        ];
        assert_eq!(
            build(Config::builder(), &env).proxy_url(),
            Some("http://env-proxy:3128")
        );
        let with_ours = [env[0], env[1], ("ALLSTAK_PROXY", "http://ours:8080")];
        assert_eq!(
            build(Config::builder(), &with_ours).proxy_url(),
            Some("http://ours:8080")
        );
        let builder = Config::builder().proxy("http://builder:1");
        assert_eq!(
            build(builder, &with_ours).proxy_url(),
            Some("http://builder:1")
        );
        assert_eq!(
            build(Config::builder().proxy(""), &with_ours).proxy_url(),
            None
        );
        let excluded = [env[0], env[1], ("NO_PROXY", "example")];
        assert_eq!(build(Config::builder(), &excluded).proxy_url(), None);
    }

    #[test]
    fn an_unsupported_proxy_is_one_problem_and_a_direct_connection() {
        let config = build(
            Config::builder(),
            &[("ALLSTAK_PROXY", "socks5://user:pw@s:1080")],
        );
        assert_eq!(config.proxy_url(), None);
        assert_eq!(config.problems.len(), 1, "{:?}", config.problems);
        assert!(
            config.problems[0].contains("socks5"),
            "{}",
            config.problems[0]
        );
        assert!(
            !config.problems[0].contains("pw"),
            "no credentials in diagnostics"
        );
    }

    #[test]
    fn a_huge_release_environment_or_user_id_is_cut_and_said() {
        let long = "é".repeat(3000);
        let config = build(
            Config::builder()
                .release(long.clone())
                .environment(long.clone())
                .user_id(long),
            &[],
        );
        for value in [
            config.release(),
            config.environment(),
            config.user_id.as_deref().unwrap_or_default(),
        ] {
            assert_eq!(value.len(), MAX_IDENTIFIER, "cut at a character boundary");
            assert!(value.chars().all(|c| c == 'é'));
        }
        assert_eq!(config.problems.len(), 3, "{:?}", config.problems);
        assert!(config.problems[0].starts_with("the release is 6000 bytes long"));
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = build(Config::builder().default_release("app@1.0.0"), &[]);
        assert_eq!(config.api_key, None);
        assert_eq!(config.host(), Some(DEFAULT_HOST));
        assert_eq!(config.release(), "app@1.0.0");
        assert_eq!(
            config.environment(),
            "development",
            "tests are debug builds"
        );
        assert!(config.auto_session_tracking);
        assert!(config.end_on_signals);
        assert!(config.send_server_name);
        assert!(!config.track_test_runs);
        assert!(!config.debug);
        assert_eq!(config.exit_deadline(), Duration::from_secs(2));
        assert!(config.problems.is_empty());
    }

    #[test]
    fn the_sample_rate_comes_from_the_builder_then_allstak_sample_rate_and_a_bad_one_is_one_problem()
     {
        assert_eq!(build(Config::builder(), &[]).sample_rate(), 1.0);
        let env = [("ALLSTAK_SAMPLE_RATE", " 0.25 ")];
        assert_eq!(build(Config::builder(), &env).sample_rate(), 0.25);
        assert_eq!(
            build(Config::builder().sample_rate(0.0), &env).sample_rate(),
            0.0
        );
        for bad in ["1.5", "-0.1", "NaN", "half", "inf"] {
            let config = build(Config::builder(), &[("ALLSTAK_SAMPLE_RATE", bad)]);
            assert_eq!(config.sample_rate(), 1.0, "{bad}");
            assert_eq!(config.problems.len(), 1, "{bad}: {:?}", config.problems);
            assert!(
                config.problems[0]
                    .starts_with("ALLSTAK_SAMPLE_RATE is not a number from 0.0 to 1.0"),
                "{}",
                config.problems[0]
            );
        }
        let config = build(Config::builder().sample_rate(2.0), &[]);
        assert_eq!(config.sample_rate(), 1.0);
        assert!(
            config.problems[0].starts_with("sample_rate is not"),
            "{:?}",
            config.problems
        );
    }

    #[test]
    fn environment_variables_fill_in_what_the_builder_left_out() {
        let config = build(
            Config::builder(),
            &[
                ("ALLSTAK_API_KEY", "ask_123"),
                ("ALLSTAK_HOST", "http://127.0.0.1:8080//"),
                ("ALLSTAK_RELEASE", "env@2"),
                ("ALLSTAK_ENVIRONMENT", "staging"),
                ("ALLSTAK_AUTO_SESSION_TRACKING", "off"),
                ("ALLSTAK_TRACK_TEST_RUNS", "YES"),
                ("ALLSTAK_EXIT_DEADLINE_MS", "750"),
                ("ALLSTAK_DEBUG", "1"),
            ],
        );
        assert_eq!(config.api_key.as_deref(), Some("ask_123"));
        assert_eq!(config.host(), Some("http://127.0.0.1:8080"));
        assert_eq!(config.release(), "env@2");
        assert_eq!(config.environment(), "staging");
        assert!(!config.auto_session_tracking);
        assert!(config.track_test_runs);
        assert!(config.debug);
        assert_eq!(config.exit_deadline(), Duration::from_millis(750));
    }

    #[test]
    fn the_user_id_comes_from_the_builder_then_allstak_user_id() {
        let env = [("ALLSTAK_USER_ID", "env-user")];
        assert_eq!(
            build(Config::builder(), &env).user_id.as_deref(),
            Some("env-user")
        );
        assert_eq!(
            build(Config::builder().user_id("u-1"), &env)
                .user_id
                .as_deref(),
            Some("u-1")
        );
        assert_eq!(build(Config::builder().user_id(" "), &[]).user_id, None);
    }

    #[test]
    fn scrubbing_is_on_and_there_is_no_hook_unless_asked() {
        let config = build(Config::builder(), &[]);
        assert!(config.scrub_defaults);
        assert!(config.before_send.is_none());
        let config = build(
            Config::builder()
                .scrub_defaults(false)
                .before_send(|_| None),
            &[],
        );
        assert!(!config.scrub_defaults);
        assert!(config.before_send.is_some());
        assert!(format!("{config:?}").contains("before_send: Some(\"Fn\")"));
    }

    #[test]
    fn scrub_keys_come_from_the_builder_then_the_environment_and_extend_the_rules() {
        use crate::scrub::Rules;
        assert!(build(Config::builder(), &[]).scrub_keys.is_empty());
        let env = [("ALLSTAK_SCRUB_KEYS", " ssn, tax_id,,SSN, --")];
        let config = build(Config::builder(), &env);
        assert_eq!(config.scrub_keys(), ["ssn", "tax_id"]);
        assert_eq!(config.problems.len(), 1, "{:?}", config.problems);
        assert!(config.problems[0].starts_with("ALLSTAK_SCRUB_KEYS: ignored [\"--\"]"));
        let rules = Rules::from_config(&config);
        assert!(rules.is_sensitive("user_ssn") && rules.is_sensitive("taxId"));
        assert!(rules.is_sensitive("password"), "the defaults stay");
        assert!(!Rules::from_config(&build(Config::builder(), &[])).is_sensitive("ssn"));
        // The builder's list replaces the variable's; scrub_defaults(false) turns all off.
        let config = build(Config::builder().scrub_keys(["iban"]), &env);
        assert_eq!(config.scrub_keys(), ["iban"]);
        let off = Rules::from_config(&build(
            Config::builder().scrub_keys(["iban"]).scrub_defaults(false),
            &[],
        ));
        assert!(!off.is_sensitive("iban") && !off.is_sensitive("password"));
        assert_eq!(off.text("password=hunter2"), "password=hunter2");
    }

    #[test]
    fn the_environment_defaults_to_development_in_a_debug_build_and_production_otherwise() {
        let debug = Config::builder().debug_assertions(true);
        let release = Config::builder().debug_assertions(false);
        assert_eq!(build(debug.clone(), &[]).environment(), "development");
        assert_eq!(build(release.clone(), &[]).environment(), "production");
        // The variable and the builder (the attribute's argument) still win.
        let env = [("ALLSTAK_ENVIRONMENT", "staging")];
        assert_eq!(build(debug.clone(), &env).environment(), "staging");
        assert_eq!(build(release, &env).environment(), "staging");
        assert_eq!(build(debug.environment("qa"), &env).environment(), "qa");
        // `init(Config)` users get the allstak crate's own build.
        assert_eq!(
            build(Config::builder(), &[]).environment(),
            if cfg!(debug_assertions) {
                "development"
            } else {
                "production"
            }
        );
    }

    #[test]
    fn signals_end_the_session_and_events_carry_the_host_unless_turned_off() {
        let config = build(Config::builder(), &[]);
        assert!(config.end_on_signals && config.send_server_name);
        let off = [
            ("ALLSTAK_END_ON_SIGNALS", "0"),
            ("ALLSTAK_SEND_SERVER_NAME", "false"),
        ];
        let config = build(Config::builder(), &off);
        assert!(!config.end_on_signals && !config.send_server_name);
        let config = build(
            Config::builder()
                .end_on_signals(true)
                .send_server_name(true),
            &off,
        );
        assert!(config.end_on_signals && config.send_server_name);
        let config = build(
            Config::builder()
                .end_on_signals(false)
                .send_server_name(false),
            &[],
        );
        assert!(!config.end_on_signals && !config.send_server_name);
    }

    #[test]
    fn builder_values_win_over_the_environment() {
        let config = build(
            Config::builder()
                .release("explicit@1")
                .environment("dev")
                .host("https://example.com")
                .exit_deadline(Duration::from_millis(10)),
            &[
                ("ALLSTAK_RELEASE", "env@2"),
                ("ALLSTAK_ENVIRONMENT", "staging"),
                ("ALLSTAK_HOST", "http://127.0.0.1:1"),
                ("ALLSTAK_EXIT_DEADLINE_MS", "750"),
            ],
        );
        assert_eq!(config.release(), "explicit@1");
        assert_eq!(config.environment(), "dev");
        assert_eq!(config.host(), Some("https://example.com"));
        assert_eq!(config.exit_deadline(), Duration::from_millis(10));
    }

    #[test]
    fn release_order_is_explicit_then_env_then_platform_commit_then_crate() {
        let sha = "0123456789abcdef0123";
        let crate_default = || Config::builder().default_release("app@1.0.0");
        assert_eq!(build(crate_default(), &[]).release(), "app@1.0.0");
        for var in PLATFORM_COMMIT_VARS {
            assert_eq!(
                build(crate_default(), &[(var, sha)]).release(),
                "0123456789ab"
            );
        }
        assert_eq!(
            build(
                crate_default(),
                &[
                    ("VERCEL_GIT_COMMIT_SHA", "vercel"),
                    ("RENDER_GIT_COMMIT", "render")
                ]
            )
            .release(),
            "vercel"
        );
        let with_env = [("ALLSTAK_RELEASE", "env@2"), ("RENDER_GIT_COMMIT", sha)];
        assert_eq!(build(crate_default(), &with_env).release(), "env@2");
        assert_eq!(
            build(crate_default().release("explicit@3"), &with_env).release(),
            "explicit@3"
        );
    }

    #[test]
    fn a_relative_state_dir_is_where_the_program_started() {
        let config = build(Config::builder(), &[("ALLSTAK_STATE_DIR", "kept/here")]);
        let dir = config.state_dir.expect("a dir");
        assert!(dir.is_absolute(), "{dir:?}");
        assert_eq!(dir, std::env::current_dir().expect("cwd").join("kept/here"));
    }

    #[test]
    fn a_blank_value_given_is_one_not_given() {
        let blank = || {
            Config::builder()
                .default_release("app@1.0.0")
                .release(" ")
                .environment("")
                .host("")
                .user_id("")
        };
        let env = [
            ("ALLSTAK_RELEASE", "env@2"),
            ("ALLSTAK_ENVIRONMENT", "staging"),
            ("ALLSTAK_HOST", "https://ingest.example"),
            ("ALLSTAK_USER_ID", "u-1"),
        ];
        let config = build(blank(), &env);
        assert_eq!(
            (
                config.release(),
                config.environment(),
                config.host(),
                config.user_id.as_deref()
            ),
            (
                "env@2",
                "staging",
                Some("https://ingest.example"),
                Some("u-1")
            )
        );
        let config = build(blank(), &[]);
        assert_eq!(
            (config.release(), config.host(), config.user_id.as_deref()),
            ("app@1.0.0", Some(DEFAULT_HOST), None)
        );
        assert!(config.problems.is_empty(), "{:?}", config.problems);
    }

    #[test]
    fn a_missing_release_falls_back_to_the_executable_name() {
        let config = build(Config::builder(), &[]);
        // This test runs in cargo's harness binary, `target/<profile>/deps/allstak-<16 hex>`.
        let exe = std::env::current_exe().expect("the test binary's path");
        let stem = exe
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a UTF-8 name");
        assert_eq!(config.release(), stem);
        let hash = stem.strip_prefix("allstak-").expect("allstak-<hash>");
        assert_eq!(hash.len(), 16, "{stem}");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{stem}");
    }

    #[test]
    fn an_empty_key_means_no_key() {
        assert_eq!(
            build(Config::builder(), &[("ALLSTAK_API_KEY", "  ")]).api_key,
            None
        );
        assert_eq!(build(Config::builder().api_key(""), &[]).api_key, None);
    }

    #[test]
    fn a_key_that_could_inject_headers_is_refused_with_one_problem() {
        let config = build(Config::builder().api_key("abc\r\nX-Evil: 1"), &[]);
        assert_eq!(config.api_key, None);
        assert_eq!(config.problems.len(), 1);
        assert!(!config.problems[0].contains("abc"));
    }

    #[test]
    fn a_malformed_host_is_refused_with_one_problem() {
        for host in [
            "api.allstak.sa",
            "ftp://x",
            "http://",
            "http://exa mple.com",
            "https:///x",
        ] {
            let config = build(Config::builder().host(host), &[]);
            assert_eq!(config.host(), None, "{host}");
            assert_eq!(config.problems.len(), 1, "{host}");
        }
    }

    #[test]
    fn huge_and_non_utf8_values_are_ignored_with_a_problem_each() {
        let huge = "x".repeat(1 << 20);
        let mut read = Vec::new();
        let config = Config::builder()
            .default_release("app@1")
            .build_with(&mut |name| {
                read.push(name.to_owned());
                match name {
                    "ALLSTAK_RELEASE" => Some(OsString::from(huge.clone())),
                    #[cfg(unix)]
                    "ALLSTAK_ENVIRONMENT" => {
                        use std::os::unix::ffi::OsStringExt;
                        Some(OsString::from_vec(vec![0x66, 0xff, 0x6f]))
                    }
                    _ => None,
                }
            });
        // Each variable read once: the eighteen `ALLSTAK_*` ones, the three platform commits (no
        // release came from ALLSTAK_RELEASE) and the four proxies curl reads for an https host.
        assert_eq!(read.len(), 25, "{read:?}");
        let mut distinct = read.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), read.len(), "{read:?}");
        assert_eq!(config.release(), "app@1");
        assert_eq!(
            config.environment(),
            default_environment(cfg!(debug_assertions))
        );
        assert_eq!(config.problems.len(), if cfg!(unix) { 2 } else { 1 });
    }

    #[test]
    fn an_unparsable_deadline_keeps_the_default_and_huge_ones_are_capped() {
        let config = build(Config::builder(), &[("ALLSTAK_EXIT_DEADLINE_MS", "soon")]);
        assert_eq!(config.exit_deadline(), DEFAULT_EXIT_DEADLINE);
        assert_eq!(config.problems.len(), 1);
        let config = build(
            Config::builder(),
            &[("ALLSTAK_EXIT_DEADLINE_MS", "99999999")],
        );
        assert_eq!(config.exit_deadline(), MAX_EXIT_DEADLINE);
        assert_eq!(config.problems.len(), 1, "said: {:?}", config.problems);
        let long = "9".repeat(4000) + "x";
        let config = build(Config::builder(), &[("ALLSTAK_EXIT_DEADLINE_MS", &long)]);
        assert!(config.problems[0].len() < 200, "{}", config.problems[0]);
    }

    #[test]
    fn a_deadline_of_zero_is_kept_never_waiting_at_exit() {
        let config = build(Config::builder(), &[("ALLSTAK_EXIT_DEADLINE_MS", "0")]);
        assert_eq!(config.exit_deadline(), Duration::ZERO);
        assert!(config.problems.is_empty());
        let config = build(Config::builder().exit_deadline(Duration::ZERO), &[]);
        assert_eq!(config.exit_deadline(), Duration::ZERO);
    }

    #[test]
    fn debug_output_redacts_the_key() {
        let config = build(Config::builder().api_key("super-secret"), &[]);
        let shown = format!("{config:?} {:?}", Config::builder().api_key("super-secret"));
        assert!(!shown.contains("super-secret"));
        assert!(shown.contains("[redacted]"));
    }

    proptest::proptest! {
        /// Any bytes in any variable: a config comes out, every problem said without a panic.
        #[test]
        fn any_environment_gives_a_config(
            values in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..64), 14),
            key in ".{0,40}",
        ) {
            let names = [
                "ALLSTAK_API_KEY", "ALLSTAK_HOST", "ALLSTAK_RELEASE", "ALLSTAK_ENVIRONMENT",
                "ALLSTAK_AUTO_SESSION_TRACKING", "ALLSTAK_TRACK_TEST_RUNS", "ALLSTAK_DEBUG",
                "ALLSTAK_EXIT_DEADLINE_MS", "ALLSTAK_STATE_DIR", "ALLSTAK_END_ON_SIGNALS",
                "VERCEL_GIT_COMMIT_SHA", "RENDER_GIT_COMMIT", "ALLSTAK_IN_APP_INCLUDE",
                "ALLSTAK_IN_APP_EXCLUDE",
            ];
            let config = Config::builder().api_key(key).build_with(&mut |name| {
                let at = names.iter().position(|n| *n == name)?;
                #[cfg(unix)]
                { use std::os::unix::ffi::OsStringExt; Some(OsString::from_vec(values[at].clone())) }
                #[cfg(not(unix))]
                { Some(OsString::from(String::from_utf8_lossy(&values[at]).into_owned())) }
            });
            proptest::prop_assert!(!config.release().is_empty());
            proptest::prop_assert!(config.exit_deadline() <= MAX_EXIT_DEADLINE);
            if let Some(key) = &config.api_key {
                proptest::prop_assert!(key.bytes().all(|b| b.is_ascii_graphic()));
            }
            if let Some(host) = config.host() {
                proptest::prop_assert!(host.starts_with("http://") || host.starts_with("https://"));
            }
            for path in config.in_app_include().iter().chain(config.in_app_exclude()) {
                proptest::prop_assert!(is_module_path(path), "{path:?}");
            }
        }
    }

    #[test]
    fn doctest_binaries_are_recognised_by_their_path() {
        use std::path::Path;
        assert!(is_doctest(Path::new("/tmp/rustdoctestAbC123/rust_out")));
        assert!(is_doctest(Path::new(r"C:\Temp\rustdoctest9x\rust_out.exe")) || !cfg!(windows));
        assert!(is_doctest(Path::new(
            "/tmp/rustdoctestAbC123/doctest_bundle_2024/rust_out"
        )));
        assert!(!is_doctest(Path::new("/home/me/rust_out")));
        assert!(!is_doctest(Path::new("/tmp/rustdoctestAbC123/my_app")));
    }

    #[test]
    fn attach_stacktrace_comes_from_the_builder_then_the_environment_and_is_off_by_default() {
        assert!(!build(Config::builder(), &[]).attach_stacktrace);
        let on = [("ALLSTAK_ATTACH_STACKTRACE", "1")];
        assert!(build(Config::builder(), &on).attach_stacktrace);
        assert!(!build(Config::builder().attach_stacktrace(false), &on).attach_stacktrace);
        assert!(build(Config::builder().attach_stacktrace(true), &[]).attach_stacktrace);
    }

    #[test]
    fn in_app_lists_come_from_the_builder_then_the_environment_and_are_empty_by_default() {
        let config = build(Config::builder(), &[]);
        assert!(config.in_app_include().is_empty() && config.in_app_exclude().is_empty());
        let env = [
            (
                "ALLSTAK_IN_APP_INCLUDE",
                " shop_core, shop-db::pool ,,shop_core,",
            ),
            ("ALLSTAK_IN_APP_EXCLUDE", "shop::generated"),
        ];
        let config = build(Config::builder(), &env);
        // Blanks and repeats skipped; a package's name read as its crate's.
        assert_eq!(config.in_app_include(), ["shop_core", "shop_db::pool"]);
        assert_eq!(config.in_app_exclude(), ["shop::generated"]);
        assert!(config.problems.is_empty(), "{:?}", config.problems);
        // The builder's list replaces the variable's, even an empty one.
        let config = build(
            Config::builder()
                .in_app_include(vec!["billing".to_owned()])
                .in_app_exclude(Vec::<String>::new()),
            &env,
        );
        assert_eq!(config.in_app_include(), ["billing"]);
        assert!(config.in_app_exclude().is_empty());
    }

    #[test]
    fn what_is_not_a_module_path_is_dropped_with_one_problem_per_setting() {
        let config = build(
            Config::builder().in_app_exclude(["tokio::*", "ok", "::x"]),
            &[(
                "ALLSTAK_IN_APP_INCLUDE",
                "shop core, shop_core, tokio::, 9lives",
            )],
        );
        assert_eq!(config.in_app_include(), ["shop_core"]);
        assert_eq!(config.in_app_exclude(), ["ok"]);
        assert_eq!(config.problems.len(), 2, "{:?}", config.problems);
        assert!(
            config.problems[0].starts_with(
                "ALLSTAK_IN_APP_INCLUDE: ignored \"shop core\", \"tokio::\", \"9lives\": each"
            ),
            "{}",
            config.problems[0]
        );
        assert!(
            config.problems[1].starts_with(
                "in_app_exclude: ignored \"tokio::*\", \"::x\": each entry is a crate"
            ),
            "{}",
            config.problems[1]
        );
    }

    #[test]
    fn the_programs_own_crates_are_the_ones_given_and_the_executables() {
        let config = build(
            Config::builder()
                .own_crate("shop")
                .own_crate("shop-core")
                .own_crate("shop")
                .own_crate("not a crate"),
            &[],
        );
        // This test's executable is `allstak-<hash>`, read as a crate's name.
        let exe = executable_crate()
            .expect("the test binary's name")
            .replace('-', "_");
        assert_eq!(
            config.in_app.own_crates,
            ["shop", "shop_core", exe.as_str()]
        );
    }

    #[test]
    fn libtest_binaries_are_recognised_by_their_path() {
        use std::path::Path;
        assert!(is_libtest_binary(Path::new(
            "/p/target/debug/deps/app-0123456789abcdef"
        )));
        assert!(!is_libtest_binary(Path::new("/p/target/debug/app")));
        assert!(!is_libtest_binary(Path::new(
            "/p/target/debug/deps/app-0123"
        )));
        assert!(!is_libtest_binary(Path::new(
            "/usr/bin/app-0123456789abcdef"
        )));
    }
}
