//! The scenarios the test programs play, typed: one enum per program in `src/bin`, named after
//! it. A program parses its arguments into its enum and panics on anything else, so a misspelt
//! or missing scenario never passes as a normal run; the tests pass the enum, so they can only
//! ask a program for a scenario it plays, and the enum's type says which program that is.
//!
//! One enum per program rather than one for all: each program's `match` is then exhaustive over
//! exactly what it plays, with no catch-all arm for the other programs' scenarios.

/// What one test program is asked to do, and the arguments that ask it.
pub trait Scenario: Sized {
    /// The program that plays it: `tests/src/bin/<PROGRAM>.rs`.
    const PROGRAM: &'static str;

    /// The program's command-line arguments for it.
    fn to_args(&self) -> Vec<String>;

    /// The scenario `args` ask for, or what is wrong with them.
    fn from_args(args: &[String]) -> Result<Self, String>;

    /// The scenario this process was started for. Any other arguments stop the program with a
    /// panic (exit code 101) that says what it plays.
    fn of_this_process() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Self::from_args(&args).unwrap_or_else(|problem| panic!("{}: {problem}", Self::PROGRAM))
    }
}

/// One of a fixed few values, each named by a word on the command line.
pub trait Named: Copy + 'static {
    /// Every value, in order.
    const ALL: &'static [Self];

    /// Its word on the command line.
    fn name(self) -> &'static str;

    /// The value `name` names.
    fn named(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|value| value.name() == name)
    }
}

/// `given` as a `T`, or why it names none (`what` says what a `T` is).
fn parse_named<T: Named>(what: &str, given: &str) -> Result<T, String> {
    T::named(given).ok_or_else(|| format!("unknown {what} {given:?}; {}", known::<T>()))
}

/// The names of every `T`, for a message.
fn known<T: Named>() -> String {
    let names: Vec<&str> = T::ALL.iter().map(|value| value.name()).collect();
    format!("the known ones: {}", names.join(", "))
}

/// `args` as the one word naming a scenario `T`.
fn one_named<T: Named>(args: &[String]) -> Result<T, String> {
    match args {
        [name] => parse_named("scenario", name),
        _ => Err(format!(
            "takes one scenario, not {args:?}; {}",
            known::<T>()
        )),
    }
}

/// Declares a [`Named`] enum: `Variant = "name",` each, under at most one `#[cfg(…)]`.
macro_rules! named {
    (
        $(#[doc = $doc:literal])*
        pub enum $enum:ident {
            $(
                $(#[doc = $variant_doc:literal])*
                $(#[cfg($cfg:meta)])?
                $variant:ident = $name:literal,
            )*
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $enum {
            $( $(#[doc = $variant_doc])* $(#[cfg($cfg)])? $variant, )*
        }

        impl $crate::Named for $enum {
            const ALL: &'static [Self] = &[$( $(#[cfg($cfg)])? Self::$variant, )*];

            fn name(self) -> &'static str {
                match self {
                    $( $(#[cfg($cfg)])? Self::$variant => $name, )*
                }
            }
        }
    };
}

/// Declares the scenarios of a program whose one argument names its scenario.
macro_rules! scenarios {
    (
        $(#[doc = $doc:literal])*
        pub enum $enum:ident for $program:literal { $($variants:tt)* }
    ) => {
        named! { $(#[doc = $doc])* pub enum $enum { $($variants)* } }

        impl $crate::Scenario for $enum {
            const PROGRAM: &'static str = $program;

            fn to_args(&self) -> Vec<String> {
                vec![$crate::Named::name(*self).to_owned()]
            }

            fn from_args(args: &[String]) -> Result<Self, String> {
                $crate::one_named(args)
            }
        }
    };
}

scenarios! {
    /// `#[allstak::main]` with arguments (`attr_args`).
    pub enum AttrArgs for "attr_args" {
        /// Says whether a session is active, and returns.
        Ok = "ok",
        /// A thread panics in code the attribute marks in-app or not.
        ThreadPanic = "thread-panic",
    }
}

/// `main` returning an `ExitCode` (`attr_exit_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrExitCode {
    /// `main` returns `ExitCode::from(code)`.
    Returns(u8),
}

impl Scenario for AttrExitCode {
    const PROGRAM: &'static str = "attr_exit_code";

    fn to_args(&self) -> Vec<String> {
        let Self::Returns(code) = self;
        vec![code.to_string()]
    }

    fn from_args(args: &[String]) -> Result<Self, String> {
        match args {
            [code] => code
                .parse()
                .map(Self::Returns)
                .map_err(|_| format!("{code:?} is not an exit code (0 to 255)")),
            _ => Err(format!("takes one exit code, not {args:?}")),
        }
    }
}

scenarios! {
    /// A program using both attributes (`attr_main`).
    pub enum AttrMain for "attr_main" {
        Ok = "ok",
        /// A tracked fn returns `Err`, which `main` handles.
        Handled = "handled",
        /// A tracked fn with `report = false` returns `Err`.
        Quiet = "quiet",
        /// `main` returns `Err`.
        Err = "err",
        Panic = "panic",
        /// `main` panics after installing a panic hook of its own.
        UserHook = "user-hook",
        /// `std::process::exit(3)` after a tracked `Err`.
        Exit = "exit",
        ThreadPanic = "thread-panic",
        /// A tracked fn returns an error whose `Display` panics.
        DisplayPanics = "display-panics",
        /// `catch_unwind` catches a panic on the main thread, then `main` returns `Err`.
        CaughtPanicThenErr = "caught-panic-then-err",
        /// `catch_unwind` catches a panic on the main thread.
        CaughtPanic = "caught-panic",
    }
}

/// `main` returning `Result<ExitCode, E>` (`attr_result_exit_code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrResultExitCode {
    /// `main` returns `Ok(ExitCode::from(code))`.
    ReturnsOk(u8),
    /// `main` returns `Err`.
    ReturnsErr,
}

impl Scenario for AttrResultExitCode {
    const PROGRAM: &'static str = "attr_result_exit_code";

    fn to_args(&self) -> Vec<String> {
        match self {
            Self::ReturnsOk(code) => vec![code.to_string()],
            Self::ReturnsErr => vec!["err".to_owned()],
        }
    }

    fn from_args(args: &[String]) -> Result<Self, String> {
        match args {
            [err] if err == "err" => Ok(Self::ReturnsErr),
            [code] => code
                .parse()
                .map(Self::ReturnsOk)
                .map_err(|_| format!("{code:?} is neither an exit code (0 to 255) nor `err`")),
            _ => Err(format!("takes one exit code or `err`, not {args:?}")),
        }
    }
}

scenarios! {
    /// `#[tokio::main]` above `#[allstak::main]` (`attr_tokio_above`).
    pub enum AttrTokioAbove for "attr_tokio_above" {
        /// A tracked async fn returns `Ok`.
        Ok = "ok",
        /// Then a spawned task panics.
        TaskPanic = "task-panic",
    }
}

scenarios! {
    /// `#[tokio::main]` below `#[allstak::main]` (`attr_tokio_below`).
    pub enum AttrTokioBelow for "attr_tokio_below" {
        /// A tracked async fn returns `Ok`.
        Ok = "ok",
        /// A tracked async fn returns `Err`.
        Err = "err",
    }
}

scenarios! {
    /// An axum server behind `allstak::tower::Layer` (`axum_program`).
    pub enum AxumProgram for "axum_program" {
        /// Prints `listening on <address>` and serves until its stdin closes.
        Serve = "serve",
        /// [`AxumProgram::Serve`], with a layer that is not told the route.
        ServeWithoutRoute = "serve-without-route",
        /// Calls a failing tower service once, through the layer.
        ServiceError = "service-error",
        /// [`AxumProgram::Serve`], after setting a process tag and breadcrumb: for the
        /// concurrent requests of `/together/{name}`, each in a scope of its own.
        ServeScopes = "serve-scopes",
    }
}

/// A program printing its own log, with the SDK's integration beside it when `WITH_ALLSTAK=1`
/// (`beside_logs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BesideLogs {
    /// A tracing subscriber: a `fmt` layer on stdout, set up as `Layout` says, filtered.
    Tracing(Layout, Filter),
    /// env_logger on stderr, filtered.
    Log(Filter),
}

named! {
    /// Where the program's filter sits among the tracing layers, and where ours does.
    pub enum Layout {
        /// A global filter, then the program's `fmt` layer, then ours.
        Global = "global",
        /// Ours, then a global filter, then the program's `fmt` layer.
        GlobalOursFirst = "global-ours-first",
        /// The program's `fmt` layer with its own filter, then ours.
        PerLayer = "per-layer",
        /// Ours, then the program's `fmt` layer with its own filter.
        PerLayerOursFirst = "per-layer-ours-first",
        /// The program's `fmt` layer with its own filter, then ours behind a filter of its own
        /// (`WARN`).
        BothFiltered = "both-filtered",
        /// The program's `fmt` layer with no filter at all (every level), then ours.
        Unfiltered = "unfiltered",
    }
}

named! {
    /// The program's own log filter (a directive both `EnvFilter` and env_logger read).
    pub enum Filter {
        Trace = "trace",
        Debug = "debug",
        Info = "info",
        Warn = "warn",
        Error = "error",
        Off = "off",
    }
}

impl Scenario for BesideLogs {
    const PROGRAM: &'static str = "beside_logs";

    fn to_args(&self) -> Vec<String> {
        let words = match self {
            Self::Tracing(layout, filter) => vec!["tracing", layout.name(), filter.name()],
            Self::Log(filter) => vec!["log", filter.name()],
        };
        words.into_iter().map(str::to_owned).collect()
    }

    fn from_args(args: &[String]) -> Result<Self, String> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args[..] {
            ["tracing", layout, filter] => Ok(Self::Tracing(
                parse_named("layout", layout)?,
                parse_named("filter", filter)?,
            )),
            ["log", filter] => Ok(Self::Log(parse_named("filter", filter)?)),
            _ => Err(format!(
                "takes `tracing <layout> <filter>` or `log <filter>`, not {args:?}"
            )),
        }
    }
}

scenarios! {
    /// A program with what real programs have beside the SDK: its own `before_send`, its own
    /// signal handling, `fork`, `catch_unwind` (`companions`).
    pub enum Companions for "companions" {
        /// Its `before_send` drops an event and reports that through the SDK.
        BeforeSendReports = "before-send-reports",
        /// Its `before_send` panics.
        BeforeSendPanics = "before-send-panics",
        /// Three panics caught by `catch_unwind`, a breadcrumb before each.
        CaughtPanics = "caught-panics",
        /// A task panics on a current-thread runtime; the program runs on until its stdin closes.
        TaskPanicThenWait = "task-panic-then-wait",
        /// A child forked after the session started reports an error and exits.
        #[cfg(unix)]
        ForkChildReports = "fork-child-reports",
        /// A child forked after the session started is stopped by SIGTERM.
        #[cfg(unix)]
        ForkChildSigterm = "fork-child-sigterm",
        /// Children forked while another thread sets tags, each panicking (and catching it).
        #[cfg(unix)]
        ForkChildrenPanicWhileTagsChange = "fork-children-panic-while-tags-change",
        /// Sets its own SIGTERM handler and ignores SIGINT, then forks: the child's are those.
        #[cfg(unix)]
        ForkChildKeepsTheProgramsSignals = "fork-child-keeps-the-programs-signals",
        /// Reports a message holding a one-letter API key.
        ShortKey = "short-key",
        /// Blocks SIGTERM, says `ready`, and reads the signal from a signalfd.
        #[cfg(target_os = "linux")]
        Signalfd = "signalfd",
    }
}

scenarios! {
    /// A program setting a user, tags and a `before_send` hook (`context`).
    pub enum Context for "context" {
        UserAndTags = "user-and-tags",
        BeforeSend = "before-send",
        /// Tags under secret names and the API key in a message, default scrubbing.
        ScrubOn = "scrub-on",
        /// The same with `scrub_defaults(false)`.
        ScrubOff = "scrub-off",
    }
}

scenarios! {
    /// A program reporting through `tracing` and `log` (`integrations`).
    pub enum Integrations for "integrations" {
        /// `tracing::error!` with an error field, in a span, after breadcrumbs.
        TracingError = "tracing-error",
        /// `Err`s seen by both `#[tracing::instrument(err)]` and `#[allstak::track]`.
        InstrumentAndTrack = "instrument-and-track",
        /// 150 breadcrumbs, then an error.
        FullTrail = "full-trail",
        /// 2 MB messages, fields and span values.
        HugeValues = "huge-values",
        /// 100 breadcrumbs of 8 KiB, then an error.
        HeavyTrail = "heavy-trail",
        /// `log::error!` through the SDK's logger around env_logger.
        LogError = "log-error",
        /// Secrets in a span's Debug value (`DbConfig { pwd, auth, private_key }`), in an
        /// error's field (`credentials`) and in its message (a bearer token, a URL's password).
        Secrets = "secrets",
        /// Two of the SDK's layers on one registry (as when a shared telemetry crate adds one
        /// too): a span with fields, recorded again, and an error in it.
        TwoLayers = "two-layers",
    }
}

scenarios! {
    /// A program using the manual API, `allstak::init` (`manual_program`).
    pub enum ManualProgram for "manual_program" {
        Ok = "ok",
        /// A session of 200 ms.
        OkAfter200Ms = "ok-after-200ms",
        /// One captured error with a source.
        Capture = "capture",
        /// A session of 200 ms, then one captured error.
        CaptureAfter200Ms = "capture-after-200ms",
        CaptureThree = "capture-three",
        /// Three captured errors, then `flush` and the dropped count.
        CaptureThreeAndFlush = "capture-three-and-flush",
        /// An error and a flush, twice, then the dropped count.
        FlushTwice = "flush-twice",
        ThreadPanic = "thread-panic",
        /// A captured error, then `std::process::exit(3)`.
        Exit = "exit",
        Panic = "panic",
        /// Captures a value whose `Display` panics.
        DisplayPanics = "display-panics",
        /// Runs until its stdin closes, or it is killed.
        Hang = "hang",
        /// Captures an error, then runs until its stdin closes.
        CaptureThenHang = "capture-then-hang",
        /// Captures an error once its stdin closes.
        CaptureOnceStdinCloses = "capture-once-stdin-closes",
        /// 5000 captured errors.
        Flood = "flood",
        /// An error, a flush, another error.
        Flush = "flush",
        /// SIGTERM ignored before the SDK starts, then raised.
        #[cfg(unix)]
        SigtermIgnored = "sigterm-ignored",
        /// A SIGTERM handler of its own before the SDK starts, then SIGTERM raised.
        #[cfg(unix)]
        SigtermOwnHandler = "sigterm-own-handler",
        /// A second `init`, its guard dropped, then an error.
        SecondInit = "second-init",
        /// An error, the session ended `ok`, another error, a flush.
        EndWithOkAfterAnError = "end-with-ok-after-an-error",
        /// The session ended, then errors past its exit deadline.
        CaptureAfterTheEnd = "capture-after-the-end",
        /// The guard ends the session `abnormal`.
        EndWith = "end-with",
    }
}

scenarios! {
    /// The public API's answers: event ids, levels, sampling, whether the SDK reports
    /// (`api_program`, a `#[allstak::main]` program without arguments). It prints `enabled:
    /// <bool>`, then `disabled: <reason>` when it is not, first.
    pub enum ApiProgram for "api_program" {
        /// `capture_error`, then prints `event id: <id or none>` and `last event id: <…>`.
        CaptureError = "capture-error",
        /// `capture_message(.., Level::Info)`, then prints `event id: <…>` and `status: <…>`.
        InfoMessage = "info-message",
    }
}

scenarios! {
    /// A tokio server with its own `tokio::signal` handlers (`signal_server`).
    pub enum SignalServer for "signal_server" {
        /// Says `ready` once its SIGTERM and SIGINT streams are registered; on either signal,
        /// drains for 300 ms on the runtime's threads, then returns.
        GracefulShutdown = "graceful-shutdown",
    }
}

scenarios! {
    /// `#[allstak::main(sample_rate = 0.0)]`: a tracked `Err` and a captured error, then
    /// `event id: <id or none>` (`attr_sampled_out`).
    pub enum AttrSampledOut for "attr_sampled_out" {
        Errors = "errors",
    }
}

scenarios! {
    /// A program under `#[allstak::main]` stopped by a signal (`signal_handlers`).
    pub enum SignalHandlers for "signal_handlers" {
        /// Says `ready`, then runs until its stdin closes: only a signal stops it.
        Wait = "wait",
        /// Reports a handled error, then plays [`SignalHandlers::Wait`].
        HandledThenWait = "handled-then-wait",
        /// signal-hook flags for SIGTERM and SIGINT; says `ready`, stops once one is set.
        SignalHook = "signal-hook",
        /// Blocks SIGTERM, says `ready`, and takes it with `sigwait`.
        Sigwait = "sigwait",
    }
}

scenarios! {
    /// `#[allstak::main(end_on_signals = false)]` (`signals_left_alone`).
    pub enum SignalsLeftAlone for "signals_left_alone" {
        /// Says `ready`, then runs until its stdin closes: only a signal stops it.
        Wait = "wait",
    }
}

scenarios! {
    /// Stacks in events: a panic three calls deep and a tracked `Err` two calls deep
    /// (`stack_trace`).
    pub enum StackTrace for "stack_trace" {
        Panic = "panic",
        ThreadPanic = "thread-panic",
        TaskPanic = "task-panic",
        Tracked = "tracked",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    fn round_trips<S: Scenario + PartialEq + std::fmt::Debug>(scenario: S) {
        assert_eq!(S::from_args(&scenario.to_args()), Ok(scenario));
    }

    fn every_named_scenario_round_trips<S: Scenario + Named + PartialEq + std::fmt::Debug>() {
        for scenario in S::ALL {
            round_trips(*scenario);
        }
    }

    #[test]
    fn every_scenario_is_parsed_back_from_its_arguments() {
        every_named_scenario_round_trips::<ApiProgram>();
        every_named_scenario_round_trips::<AttrSampledOut>();
        every_named_scenario_round_trips::<AttrArgs>();
        every_named_scenario_round_trips::<AttrMain>();
        every_named_scenario_round_trips::<AttrTokioAbove>();
        every_named_scenario_round_trips::<AttrTokioBelow>();
        every_named_scenario_round_trips::<AxumProgram>();
        every_named_scenario_round_trips::<Companions>();
        every_named_scenario_round_trips::<Context>();
        every_named_scenario_round_trips::<Integrations>();
        every_named_scenario_round_trips::<ManualProgram>();
        every_named_scenario_round_trips::<SignalHandlers>();
        every_named_scenario_round_trips::<SignalServer>();
        every_named_scenario_round_trips::<SignalsLeftAlone>();
        every_named_scenario_round_trips::<StackTrace>();
        for code in [0, 2, 255] {
            round_trips(AttrExitCode::Returns(code));
            round_trips(AttrResultExitCode::ReturnsOk(code));
        }
        round_trips(AttrResultExitCode::ReturnsErr);
        for filter in Filter::ALL {
            for layout in Layout::ALL {
                round_trips(BesideLogs::Tracing(*layout, *filter));
            }
            round_trips(BesideLogs::Log(*filter));
        }
    }

    #[test]
    fn the_names_in_use_keep_their_meaning() {
        assert_eq!(ManualProgram::Capture.to_args(), ["capture"]);
        assert_eq!(ManualProgram::OkAfter200Ms.to_args(), ["ok-after-200ms"]);
        assert_eq!(
            AttrMain::CaughtPanicThenErr.to_args(),
            ["caught-panic-then-err"]
        );
        assert_eq!(AttrExitCode::Returns(2).to_args(), ["2"]);
        assert_eq!(AttrResultExitCode::ReturnsErr.to_args(), ["err"]);
        assert_eq!(
            BesideLogs::Tracing(Layout::PerLayerOursFirst, Filter::Off).to_args(),
            ["tracing", "per-layer-ours-first", "off"]
        );
    }

    #[test]
    fn a_misspelt_missing_or_extra_argument_is_refused_naming_what_is_known() {
        let misspelt = ManualProgram::from_args(&args(&["capure"])).expect_err("refused");
        assert!(
            misspelt.contains("unknown scenario \"capure\""),
            "{misspelt}"
        );
        assert!(misspelt.contains("capture-three-and-flush"), "{misspelt}");
        assert!(ManualProgram::from_args(&[]).is_err());
        assert!(ManualProgram::from_args(&args(&["ok", "ok"])).is_err());
        assert!(AttrExitCode::from_args(&args(&["two"])).is_err());
        assert!(AttrExitCode::from_args(&args(&["256"])).is_err());
        assert!(AttrResultExitCode::from_args(&args(&["error"])).is_err());
        assert!(BesideLogs::from_args(&args(&["tracing", "global", "verbose"])).is_err());
        assert!(BesideLogs::from_args(&args(&["log"])).is_err());
    }
}
