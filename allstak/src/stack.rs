//! Stack traces: captured unresolved on the caller's thread (a few µs), turned into the event's
//! `frames` on the transport thread, where std symbolizes them.
//!
//! std's own `Backtrace` is used: its symbolizer is already linked into every Rust program (the
//! panic hook's `RUST_BACKTRACE` output), so the SDK adds no crate and no code for it.
//! BENCHMARKS.md has the figures behind that choice.

mod in_app;
mod parse;

pub(crate) use in_app::{InAppRules, is_location_in_app};

use std::backtrace::Backtrace;
use std::sync::Arc;
use std::time::Instant;

use parse::RawFrame;

/// Most frames sent; the innermost are kept (deep recursion would make events huge).
const MAX_FRAMES: usize = 100;

/// Set once a stack was symbolized in this process: std keeps what it read of the debug
/// info, and symbolizing another costs little.
static SYMBOLIZED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether symbolizing a stack now is cheap (one was, in this process, already): the exiting
/// thread symbolizes only then (the first one may take seconds on a large binary).
pub(crate) fn symbolizer_warm() -> bool {
    SYMBOLIZED.load(std::sync::atomic::Ordering::Relaxed)
}

/// A stack as captured: unresolved, cheap to move between threads.
#[derive(Clone, Debug)]
pub(crate) struct Stack(Arc<Backtrace>);

impl Stack {
    /// The current thread's stack, not yet symbolized.
    pub(crate) fn capture() -> Self {
        Self(Arc::new(Backtrace::force_capture()))
    }

    /// Symbolizes the stack (slow the first time in a process: std reads the debug info) and
    /// returns its frames, innermost last; see [`frames`].
    pub(crate) fn frames(&self, anchor: Option<Anchor<'_>>, rules: &InAppRules) -> Vec<Frame> {
        let started = Instant::now();
        let text = format!("{:#}", self.0);
        SYMBOLIZED.store(true, std::sync::atomic::Ordering::Relaxed);
        let raw = parse::frames(&text);
        // Tenths of a millisecond, in integers: no float formatting is linked in for this.
        let tenths = started.elapsed().as_micros() / 100;
        crate::diag::debug!(
            "symbolized a stack of {} frames in {}.{} ms",
            raw.len(),
            tenths / 10,
            tenths % 10
        );
        frames(raw, anchor, rules)
    }
}

/// What the event already knows of where it happened: the panic's `file:line`, or a tracked
/// fn's file. Its file is as rustc was given it (relative to the workspace), which tells which
/// part of the absolute paths is the workspace, and its line finds the panicking frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anchor<'a> {
    pub(crate) file: &'a str,
    /// A panic's line and column.
    pub(crate) line_column: Option<(u32, u32)>,
}

/// One frame as the wire sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub(crate) function: Option<String>,
    /// The path relative to the workspace (or the crate, for a dependency) where known.
    pub(crate) filename: Option<String>,
    pub(crate) abs_path: Option<String>,
    pub(crate) lineno: Option<u32>,
    pub(crate) colno: Option<u32>,
    pub(crate) in_app: bool,
}

/// Frames as std printed them (innermost first) → the event's frames (innermost last):
/// - what starts the program or the thread is cut: the frames outer than the fn it runs, as
///   `RUST_BACKTRACE=1` shows a stack;
/// - everything above the code that panicked or reported is cut: the capture, the SDK, the
///   panic machinery (up to the frame at the panic's `file:line` when debug info has it);
/// - the SDK's generated code is folded away: the body closure `f::{{closure}}` that the
///   attributes call in place, called by `f`, is one frame, `f`, at the closure's line;
/// - a panicking frame without debug info gets the panic's `file:line:col`;
/// - each frame gets its in-app flag, by `rules` (see [`in_app`]).
fn frames(mut raw: Vec<RawFrame>, anchor: Option<Anchor<'_>>, rules: &InAppRules) -> Vec<Frame> {
    cut_below_the_entry(&mut raw);
    cut_above_the_caller(&mut raw, anchor);
    fold_generated_code(&mut raw);
    raw.truncate(MAX_FRAMES);
    if let (Some(innermost), Some(anchor)) = (raw.first_mut(), anchor)
        && let Some((line, column)) = anchor.line_column
        && innermost.path.is_none()
    {
        innermost.path = Some(anchor.file.to_owned());
        innermost.line = Some(line);
        innermost.column = Some(column);
    }
    // A frame that names nothing (`<unknown>`, no file) tells a reader nothing.
    raw.retain(|frame| frame.function.is_some() || frame.path.is_some());
    let root = workspace_root(&raw, anchor);
    raw.into_iter()
        .rev()
        .map(|frame| {
            let in_app = in_app::is_in_app(frame.function.as_deref(), frame.path.as_deref(), rules);
            let (filename, abs_path) = match frame.path {
                Some(path) => {
                    let short = short_path(&path, root.as_deref());
                    let absolute = is_absolute(&path).then_some(path);
                    (Some(short), absolute)
                }
                None => (None, None),
            };
            Frame {
                function: frame.function,
                filename,
                abs_path,
                lineno: frame.line,
                colno: frame.column,
                in_app,
            }
        })
        .collect()
}

/// Cuts std's marker `__rust_begin_short_backtrace` and every frame outer than it (`main`,
/// `std::rt::lang_start`, libc's start; a thread's start): the frames `RUST_BACKTRACE=1` hides.
/// `main`, or the thread's closure, is what it calls.
fn cut_below_the_entry(raw: &mut Vec<RawFrame>) {
    let marker = raw.iter().position(|frame| {
        frame
            .function
            .as_deref()
            .is_some_and(|f| f.contains("__rust_begin_short_backtrace"))
    });
    if let Some(marker) = marker.filter(|&at| at > 0) {
        raw.truncate(marker);
    }
}

/// Cuts the frames above the one that panicked or reported. With debug info, that is the first
/// frame at the anchor's `file:line`; otherwise the first frame that is not std's, the panic
/// machinery's or the SDK's.
fn cut_above_the_caller(raw: &mut Vec<RawFrame>, anchor: Option<Anchor<'_>>) {
    let at_anchor = anchor.and_then(|anchor| {
        let (line, _) = anchor.line_column?;
        raw.iter().position(|frame| {
            frame.line == Some(line)
                && frame
                    .path
                    .as_deref()
                    .is_some_and(|path| same_file(path, anchor.file))
        })
    });
    let first_own = at_anchor.or_else(|| {
        raw.iter().position(|frame| {
            matches!(
                owner(frame),
                in_app::Owner::Program | in_app::Owner::ThirdParty
            )
        })
    });
    raw.drain(..first_own.unwrap_or(raw.len()));
}

/// Folds the body closure `#[allstak::main]` and `#[allstak::track]` wrap a fn's body in into
/// the fn, and drops the SDK's remaining frames: they only say how the SDK is plumbed.
fn fold_generated_code(raw: &mut Vec<RawFrame>) {
    let mut folded: Vec<RawFrame> = Vec::with_capacity(raw.len());
    let mut frames = std::mem::take(raw).into_iter().peekable();
    while let Some(mut frame) = frames.next() {
        if is_sdk(&frame) {
            continue;
        }
        let closure = frame.function.as_deref().and_then(closure_owner);
        if let Some(closure_of) = closure {
            let closure_of = closure_of.map(str::to_owned);
            // The attributes' body closure, called in place by the fn it is in.
            while frames.peek().is_some_and(is_sdk) {
                frames.next();
            }
            // The fn the body was in (a line-tables-only build names the closure just
            // `{closure#0}`: then the same file says whose it is).
            let outer = frames.peek().and_then(|f| f.function.clone());
            let owned = match &closure_of {
                Some(owner) => outer.as_ref() == Some(owner),
                None => frames
                    .peek()
                    .is_some_and(|f| f.path.is_some() && f.path == frame.path),
            };
            if outer.is_some() && owned {
                frames.next();
                frame.function = outer;
            }
        }
        folded.push(frame);
    }
    *raw = folded;
}

/// Whose code a frame is, for cutting and folding: these tell only the SDK and the runtime
/// from the rest, which the program's own crates do not change.
fn owner(frame: &RawFrame) -> in_app::Owner {
    in_app::owner(frame.function.as_deref(), frame.path.as_deref(), &[])
}

fn is_sdk(frame: &RawFrame) -> bool {
    owner(frame) == in_app::Owner::Sdk
}

/// For a closure's name, the fn it is in if the name says (`app::main` for
/// `app::main::{{closure}}`, legacy mangling, or `app::main::{closure#0}`, v0), or `Some(None)`
/// for a bare `{closure#0}` (line-tables-only); `None` for anything else.
fn closure_owner(function: &str) -> Option<Option<&str>> {
    let (owner, last) = match function.rsplit_once("::") {
        Some((owner, last)) => (Some(owner), last),
        None => (None, function),
    };
    let closure = last == "{{closure}}" || (last.starts_with("{closure#") && last.ends_with('}'));
    closure.then_some(owner)
}

/// Whether `path` (absolute, as debug info has it) is `file` (as rustc was given it).
fn same_file(path: &str, file: &str) -> bool {
    let path = path.replace('\\', "/");
    let file = file.replace('\\', "/");
    !file.is_empty()
        && (path == file
            || path
                .strip_suffix(file.as_str())
                .is_some_and(|p| p.ends_with('/')))
}

/// The directory the anchor's relative file is relative to (the workspace), else the current
/// directory.
fn workspace_root(raw: &[RawFrame], anchor: Option<Anchor<'_>>) -> Option<String> {
    let from_anchor = anchor.filter(|a| !is_absolute(a.file)).and_then(|anchor| {
        raw.iter().find_map(|frame| {
            let path = frame.path.as_deref()?;
            let root = path.get(..path.len().checked_sub(anchor.file.len())?)?;
            same_file(path, anchor.file).then(|| root.to_owned())
        })
    });
    from_anchor.or_else(|| {
        let mut dir = std::env::current_dir().ok()?.to_str()?.to_owned();
        if !dir.ends_with(std::path::MAIN_SEPARATOR) {
            dir.push(std::path::MAIN_SEPARATOR);
        }
        Some(dir)
    })
}

/// The path as a reader wants it: relative to the workspace; a dependency's from its crate
/// directory (`serde-1.0.0/src/de.rs`); std's from the sysroot (`library/std/src/rt.rs`).
fn short_path(path: &str, root: Option<&str>) -> String {
    if let Some(relative) = root.and_then(|root| path.strip_prefix(root)) {
        return relative.to_owned();
    }
    let normalized = path.replace('\\', "/");
    let after = |marker: &str, skip: usize| {
        let start = normalized.find(marker)? + marker.len();
        let mut rest = &normalized[start..];
        for _ in 0..skip {
            rest = rest.split_once('/')?.1;
        }
        Some(rest.to_owned())
    };
    match in_app::origin(path) {
        in_app::Origin::Registry => after("/registry/src/", 1),
        in_app::Origin::GitCheckout => after("/git/checkouts/", 0),
        in_app::Origin::Sysroot => after("/rustc/", 1).or_else(|| after("/rust/", 0)),
        in_app::Origin::Sdk | in_app::Origin::Local => None,
    }
    .unwrap_or_else(|| path.to_owned())
}

fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || std::path::Path::new(path).is_absolute()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(function: &str, path: Option<&str>, line: u32) -> RawFrame {
        RawFrame {
            function: Some(function.to_owned()),
            path: path.map(str::to_owned),
            line: path.map(|_| line),
            column: path.map(|_| 5),
        }
    }

    const STD: &str =
        "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs";
    const PRIVATE: &str = "/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/allstak-0.1.0/src/private.rs";
    const MAIN: &str = "/home/me/shop/src/main.rs";

    /// The stack of a panic three calls deep under `#[allstak::main]`, debug build.
    fn panic_stack() -> Vec<RawFrame> {
        vec![
            raw("<std::backtrace::Backtrace>::force_capture", Some(STD), 312),
            raw("allstak::panic::install::{{closure}}", Some(PRIVATE), 60),
            raw("std::panicking::panic_with_hook", Some(STD), 833),
            raw("__rustc::rust_begin_unwind", Some(STD), 689),
            raw("core::panicking::panic_fmt", Some(STD), 80),
            raw("shop::three", Some(MAIN), 10),
            raw("shop::two", Some(MAIN), 12),
            raw("shop::one", Some(MAIN), 14),
            raw("shop::main::{{closure}}", Some(MAIN), 20),
            raw("shop::main", Some(MAIN), 18),
            raw("core::ops::function::FnOnce::call_once", Some(STD), 250),
            raw(
                "std::sys::backtrace::__rust_begin_short_backtrace",
                Some(STD),
                166,
            ),
            raw("std::rt::lang_start::{{closure}}", Some(STD), 206),
            raw("std::rt::lang_start_internal", Some(STD), 171),
            raw("main", None, 0),
            raw(
                "__libc_start_main_impl",
                Some("./csu/../csu/libc-start.c"),
                360,
            ),
            raw("_start", None, 0),
        ]
    }

    /// The frames of a stack of the `shop` program's, as `#[allstak::main]` there marks them.
    fn shop_frames(raw: Vec<RawFrame>, anchor: Option<Anchor<'_>>) -> Vec<Frame> {
        let rules = InAppRules {
            own_crates: vec!["shop".to_owned()],
            ..InAppRules::default()
        };
        frames(raw, anchor, &rules)
    }

    fn names(frames: &[Frame]) -> Vec<&str> {
        frames
            .iter()
            .map(|f| f.function.as_deref().unwrap_or("?"))
            .collect()
    }

    #[test]
    fn a_panic_starts_at_the_panicking_frame_and_ends_innermost_last() {
        let anchor = Anchor {
            file: "src/main.rs",
            line_column: Some((10, 5)),
        };
        let frames = shop_frames(panic_stack(), Some(anchor));
        assert_eq!(
            names(&frames),
            [
                "core::ops::function::FnOnce::call_once",
                "shop::main",
                "shop::one",
                "shop::two",
                "shop::three",
            ]
        );
        let crash = frames.last().expect("a frame");
        assert_eq!(crash.filename.as_deref(), Some("src/main.rs"));
        assert_eq!(crash.abs_path.as_deref(), Some(MAIN));
        assert_eq!((crash.lineno, crash.colno), (Some(10), Some(5)));
        assert_eq!(
            frames.iter().map(|f| f.in_app).collect::<Vec<_>>(),
            [false, true, true, true, true]
        );
        // The body closure is folded into `main`, at the body's line.
        assert_eq!(frames[1].lineno, Some(20));
        assert_eq!(
            frames[0].filename.as_deref(),
            Some("library/std/src/panicking.rs")
        );
    }

    #[test]
    fn a_threads_start_is_cut_below_the_closure_it_runs() {
        let stack = vec![
            raw("shop::worker", Some(MAIN), 30),
            raw("shop::main::{{closure}}", Some(MAIN), 40),
            raw(
                "std::sys::backtrace::__rust_begin_short_backtrace::<shop::main::{closure#0}, ()>",
                Some(STD),
                166,
            ),
            raw(
                "std::thread::lifecycle::spawn_unchecked::{{closure}}",
                Some(STD),
                91,
            ),
            raw("start_thread", Some("./nptl/pthread_create.c"), 447),
            raw("clone3", None, 0),
        ];
        assert_eq!(
            names(&shop_frames(stack, None)),
            ["shop::main::{{closure}}", "shop::worker"]
        );
    }

    #[test]
    fn without_debug_info_the_cut_is_at_the_first_frame_that_is_not_runtime_or_sdk() {
        let stack: Vec<RawFrame> = panic_stack()
            .into_iter()
            .filter(|f| f.function.as_deref() != Some("shop::main::{{closure}}"))
            .map(|f| RawFrame {
                path: None,
                line: None,
                column: None,
                ..f
            })
            .collect();
        let anchor = Anchor {
            file: "src/main.rs",
            line_column: Some((10, 5)),
        };
        let mut frames = shop_frames(stack, Some(anchor));
        assert_eq!(
            names(&frames),
            [
                "core::ops::function::FnOnce::call_once",
                "shop::main",
                "shop::one",
                "shop::two",
                "shop::three"
            ]
        );
        // The panicking frame has the panic's place, from the panic itself.
        let innermost = frames.pop().expect("a frame");
        assert_eq!(innermost.filename.as_deref(), Some("src/main.rs"));
        assert_eq!(innermost.abs_path, None);
        assert_eq!((innermost.lineno, innermost.colno), (Some(10), Some(5)));
        assert!(
            frames
                .iter()
                .all(|f| f.filename.is_none() && f.lineno.is_none())
        );
    }

    /// A panic in a tokio task, in a release build without debug info: the worker's frames are
    /// named, not placed, and are tokio's, not the program's.
    #[test]
    fn without_debug_info_a_tokio_workers_frames_are_not_in_app() {
        let no_path = |function: &str| raw(function, None, 0);
        let stack = vec![
            no_path("<std::backtrace::Backtrace>::force_capture"),
            no_path("allstak::panic::install::{{closure}}"),
            no_path("std::panicking::panic_with_hook"),
            no_path("core::panicking::panic_fmt"),
            no_path("shop::three"),
            no_path("shop::two"),
            no_path("tokio::runtime::task::core::Core<T,S>::poll"),
            no_path("tokio::runtime::task::harness::Harness<T,S>::poll"),
            no_path("tokio::runtime::scheduler::multi_thread::worker::Context::run_task"),
            no_path("tokio::runtime::scheduler::multi_thread::worker::Context::run"),
            no_path("tokio::runtime::context::scoped::Scoped<T>::set"),
            no_path("tokio::runtime::context::runtime::enter_runtime"),
            no_path("tokio::runtime::scheduler::multi_thread::worker::run"),
            no_path(
                "<tokio::runtime::blocking::task::BlockingTask<T> as core::future::future::Future>::poll",
            ),
            no_path("tokio::runtime::blocking::pool::Inner::run"),
            no_path("std::sys::backtrace::__rust_begin_short_backtrace"),
            no_path("std::thread::lifecycle::spawn_unchecked::{{closure}}"),
        ];
        let anchor = Anchor {
            file: "src/main.rs",
            line_column: Some((10, 5)),
        };
        let marked = shop_frames(stack.clone(), Some(anchor));
        assert_eq!(marked.len(), 11, "{:?}", names(&marked));
        let in_app: Vec<&str> = marked
            .iter()
            .filter(|f| f.in_app)
            .filter_map(|f| f.function.as_deref())
            .collect();
        assert_eq!(in_app, ["shop::two", "shop::three"]);

        // `in_app_include` and `in_app_exclude` correct it.
        let rules = InAppRules {
            own_crates: vec!["shop".to_owned()],
            include: vec!["tokio::runtime::task".to_owned()],
            exclude: vec!["shop::two".to_owned()],
        };
        let corrected = frames(stack, Some(anchor), &rules);
        let in_app: Vec<&str> = corrected
            .iter()
            .filter(|f| f.in_app)
            .filter_map(|f| f.function.as_deref())
            .collect();
        assert_eq!(
            in_app,
            [
                "tokio::runtime::task::harness::Harness<T,S>::poll",
                "tokio::runtime::task::core::Core<T,S>::poll",
                "shop::three"
            ]
        );
    }

    #[test]
    fn a_panic_in_a_dependency_starts_there() {
        let dependency = "/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde_json-1.0.0/src/de.rs";
        let mut stack = panic_stack();
        stack.insert(5, raw("serde_json::de::from_str", Some(dependency), 40));
        let anchor = Anchor {
            file: dependency,
            line_column: Some((40, 5)),
        };
        let frames = shop_frames(stack, Some(anchor));
        let crash = frames.last().expect("a frame");
        assert_eq!(crash.function.as_deref(), Some("serde_json::de::from_str"));
        assert_eq!(
            crash.filename.as_deref(),
            Some("serde_json-1.0.0/src/de.rs")
        );
        assert!(!crash.in_app);
    }

    #[test]
    fn a_tracked_error_starts_at_the_tracked_fn() {
        let stack = vec![
            raw("allstak::client::capture", Some(PRIVATE), 200),
            raw(
                "<allstak::private::Describe<T>>::record",
                Some(PRIVATE),
                250,
            ),
            raw("shop::parse_port", Some(MAIN), 3),
            raw("shop::load", Some(MAIN), 8),
            raw("shop::main::{closure#0}", Some(MAIN), 20),
            raw("shop::main", Some(MAIN), 18),
        ];
        let frames = shop_frames(
            stack,
            Some(Anchor {
                file: "src/main.rs",
                line_column: None,
            }),
        );
        assert_eq!(
            names(&frames),
            ["shop::main", "shop::load", "shop::parse_port"]
        );
        assert!(frames.iter().all(|f| f.in_app));
    }

    #[test]
    fn line_tables_only_bare_names_are_folded_and_placed_by_their_path() {
        let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/src/private.rs");
        let stack = vec![
            raw("<std::backtrace::Backtrace>::force_capture", Some(STD), 312),
            raw("{closure#0}", Some(sdk), 60),
            raw("panic_with_hook", Some(STD), 833),
            raw("third", Some(MAIN), 22),
            raw("first", Some(MAIN), 11),
            raw("{closure#0}", Some(MAIN), 41),
            raw("main", Some(MAIN), 38),
            raw("call_once<fn(), ()>", Some(STD), 250),
            raw("main", None, 0),
        ];
        let frames = shop_frames(
            stack,
            Some(Anchor {
                file: "src/main.rs",
                line_column: Some((22, 5)),
            }),
        );
        assert_eq!(
            names(&frames),
            ["main", "call_once<fn(), ()>", "main", "first", "third"]
        );
        assert_eq!(
            frames.iter().map(|f| f.in_app).collect::<Vec<_>>(),
            [false, false, true, true, true]
        );
        assert_eq!(frames[2].lineno, Some(41));
    }

    #[test]
    fn a_closure_of_the_users_own_is_kept() {
        let stack = vec![
            raw("shop::run::{{closure}}", Some(MAIN), 4),
            raw("core::option::Option<T>::map", Some(STD), 1),
            raw("shop::run", Some(MAIN), 4),
        ];
        assert_eq!(
            names(&shop_frames(stack, None)),
            [
                "shop::run",
                "core::option::Option<T>::map",
                "shop::run::{{closure}}"
            ]
        );
    }

    #[test]
    fn nothing_but_runtime_frames_gives_no_frames() {
        let stack = vec![
            raw("std::rt::lang_start", Some(STD), 1),
            raw("main", None, 0),
        ];
        assert!(shop_frames(stack, None).is_empty());
    }

    #[test]
    fn paths_are_shortened_to_what_a_reader_needs() {
        assert_eq!(short_path(MAIN, Some("/home/me/shop/")), "src/main.rs");
        assert_eq!(
            short_path(PRIVATE, Some("/home/me/shop/")),
            "allstak-0.1.0/src/private.rs"
        );
        assert_eq!(short_path(STD, None), "library/std/src/panicking.rs");
        assert_eq!(
            short_path(
                "/home/me/.cargo/git/checkouts/tokio-0123456789abcdef/a1b2c3d/tokio/src/lib.rs",
                None
            ),
            "tokio-0123456789abcdef/a1b2c3d/tokio/src/lib.rs"
        );
        assert_eq!(
            short_path("/elsewhere/lib.rs", Some("/home/me/shop/")),
            "/elsewhere/lib.rs"
        );
    }

    #[test]
    fn the_text_std_prints_for_a_real_capture_is_read_back() {
        #[inline(never)]
        fn capture_here() -> Stack {
            Stack::capture()
        }
        let stack = capture_here();
        let raw = parse::frames(&format!("{:#}", stack.0));
        let here = raw
            .iter()
            .find(|f| {
                f.function
                    .as_deref()
                    .is_some_and(|n| n.ends_with("::capture_here"))
            })
            .unwrap_or_else(|| panic!("no capture_here in {raw:?}"));
        assert!(
            here.function
                .as_deref()
                .is_some_and(|n| n.starts_with("allstak::stack::tests::"))
        );
        assert!(
            here.path
                .as_deref()
                .is_some_and(|p| p.ends_with("src/stack.rs")),
            "{here:?}"
        );
        assert!(here.line.is_some_and(|l| l > 0));
        // The SDK's own frames are never sent: in its own tests, all of them are cut.
        assert!(stack.frames(None, &InAppRules::default()).iter().all(|f| {
            !f.function
                .as_deref()
                .is_some_and(|n| n.starts_with("allstak::"))
        }));
        // One symbolized: the exiting thread may symbolize the next ones.
        assert!(symbolizer_warm());
    }
}
