//! The functions the benchmarks measure: a tracked fn and its unannotated twin, same body,
//! both `#[inline(never)]`.

/// The error both return for odd numbers.
#[derive(Debug)]
pub struct Invalid(pub u64);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is odd", self.0)
    }
}

impl std::error::Error for Invalid {}

/// Halves even numbers; odd ones are an error.
///
/// # Errors
/// For odd numbers.
#[inline(never)]
pub fn plain(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}

/// [`plain`] under `#[allstak::track]`.
///
/// # Errors
/// For odd numbers.
#[allstak::track]
#[inline(never)]
pub fn tracked(x: u64) -> Result<u64, Invalid> {
    if x.is_multiple_of(2) {
        Ok(x / 2)
    } else {
        Err(Invalid(x))
    }
}

/// Starts the process's session against a loopback collector answering with `reply`, for the
/// rest of the bench process; returns the collector (keep it alive).
///
/// # Panics
/// When no collector can be started: the benchmark cannot run.
#[must_use]
pub fn start_session(reply: allstak::testing::Reply) -> allstak::testing::Collector {
    start_session_with(reply, |config| config)
}

/// [`start_session`] with more settings on the config.
///
/// # Panics
/// When no collector can be started: the benchmark cannot run.
#[must_use]
pub fn start_session_with(
    reply: allstak::testing::Reply,
    configure: impl FnOnce(allstak::ConfigBuilder) -> allstak::ConfigBuilder,
) -> allstak::testing::Collector {
    let collector = allstak::testing::Collector::start().expect("collector");
    collector.set_reply(reply);
    let guard = allstak::init(
        configure(allstak::Config::builder())
            .api_key("bench")
            .host(collector.url())
            .release("bench@1")
            .track_test_runs(true)
            .exit_deadline(std::time::Duration::from_millis(100))
            .build(),
    );
    // The session lives for the rest of the bench process.
    std::mem::forget(guard);
    assert!(allstak::current_session_id().is_some());
    collector
}
