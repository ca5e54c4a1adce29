//! Whose code a frame is: a pure function of the frame's function name, its source path and
//! what the program said ([`InAppRules`]).
//!
//! The program's crates (workspace members, path dependencies) are in-app; std, core, alloc,
//! the panic runtime, this SDK and third-party crates (cargo's registry and git checkouts, the
//! rustc sysroot) are not. The name decides first, so that a build without debug info (names
//! only) still tells std and the SDK apart from the program; the path decides where the name
//! cannot: `debug = "line-tables-only"` gives bare names (`first`, not `app::first`).
//!
//! Without a path, a name says its crate but not where the crate comes from: it is the
//! program's only if it is one of the crates the SDK knows as the program's own (the crate
//! `#[allstak::main]` expands in, its package's library, the crate named like the executable).
//! Any other crate is taken for a dependency: a release build without debug info has far more
//! frames of dependencies (a tokio worker's eight) than of unlisted crates of the program's.
//! `in_app_include` lists those; `in_app_exclude` corrects the other way. Both match a path
//! prefix of the function's name, and the longest match decides: `myapp` included and
//! `myapp::generated` excluded leaves `myapp::generated::parse` out and `myapp::db::load` in.
//! The same prefix in both lists is excluded.

/// Crates whose frames are the Rust runtime's, by the first segment of the function's path.
const RUNTIME_CRATES: [&str; 4] = ["std", "core", "alloc", "__rustc"];
/// This SDK's crates, by the first segment of the function's path.
const SDK_CRATES: [&str; 2] = ["allstak", "allstak_macros"];
/// This SDK's sources, as its debug info names them.
const SDK_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");

/// What the program says about whose code is whose, beyond what frames' paths say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct InAppRules {
    /// Crates known to be the program's own, for frames without a path.
    pub(crate) own_crates: Vec<String>,
    /// `in_app_include`: crate or module paths whose frames are in-app.
    pub(crate) include: Vec<String>,
    /// `in_app_exclude`: crate or module paths whose frames are not.
    pub(crate) exclude: Vec<String>,
}

impl InAppRules {
    /// What `in_app_include`/`in_app_exclude` say of `function`, if either matches: the longest
    /// matching prefix decides, an exclude on a tie.
    fn decision(&self, function: &str) -> Option<bool> {
        let longest = |prefixes: &[String]| {
            prefixes
                .iter()
                .filter(|prefix| names_under(function, prefix))
                .map(String::len)
                .max()
        };
        match (longest(&self.include), longest(&self.exclude)) {
            (Some(include), Some(exclude)) => Some(include > exclude),
            (Some(_), None) => Some(true),
            (None, Some(_)) => Some(false),
            (None, None) => None,
        }
    }
}

/// Whose code a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The program's own crates: in-app.
    Program,
    /// A dependency from a registry or a git checkout, or a crate named without a path that is
    /// not one of the program's known crates.
    ThirdParty,
    /// std, core, alloc, the panic machinery, C runtime symbols (`main`, `_start`), unknowns.
    Runtime,
    /// This SDK.
    Sdk,
}

/// Where a source file comes from, as its path says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The rustc sysroot: std, core, alloc (`/rustc/<commit>/library/…`, rust-src's copy).
    Sysroot,
    /// A crate from a registry (`~/.cargo/registry/src/<index>/<crate>-<version>/…`).
    Registry,
    /// A git dependency (`~/.cargo/git/checkouts/<repo>/<rev>/…`).
    GitCheckout,
    /// This SDK's own sources (where it was built from).
    Sdk,
    /// Anything else: the program's own sources, path dependencies included.
    Local,
}

/// Whether a frame is the program's own code: `in_app_include`/`in_app_exclude` if one matches
/// its function, else whose code it is.
pub(crate) fn is_in_app(function: Option<&str>, path: Option<&str>, rules: &InAppRules) -> bool {
    function
        .and_then(|function| rules.decision(function))
        .unwrap_or_else(|| owner(function, path, &rules.own_crates) == Owner::Program)
}

/// Whether the one frame an event's location gives (a panic's `file:line`, a tracked fn's site,
/// a `tracing` callsite) is the program's: its file is as rustc was given it, relative for the
/// workspace's crates, absolute for a dependency's.
pub(crate) fn is_location_in_app(function: Option<&str>, file: &str, rules: &InAppRules) -> bool {
    if let Some(decided) = function.and_then(|function| rules.decision(function)) {
        return decided;
    }
    if file.is_empty() {
        return owner(function, None, &rules.own_crates) == Owner::Program;
    }
    origin(file) == Origin::Local
}

/// Whose code a frame is, from its function's name and its source path; `own_crates` are the
/// crates known to be the program's, for a name without a path.
pub(crate) fn owner(function: Option<&str>, path: Option<&str>, own_crates: &[String]) -> Owner {
    let krate = function.and_then(crate_of);
    let origin = path.map(origin);
    if krate.is_some_and(|k| SDK_CRATES.contains(&k)) || origin == Some(Origin::Sdk) {
        return Owner::Sdk;
    }
    if krate.is_some_and(|k| RUNTIME_CRATES.contains(&k)) {
        return Owner::Runtime;
    }
    match origin {
        Some(Origin::Sysroot) => return Owner::Runtime,
        Some(Origin::Registry | Origin::GitCheckout) => return Owner::ThirdParty,
        _ => {}
    }
    match (function, krate, path) {
        (None, _, _) => Owner::Runtime,
        // In the program's sources: a Rust name with any local path (a workspace member's is
        // relative, as rustc was given it), or a bare name with an absolute one (a
        // line-tables-only build names `app::first` just `first`).
        (Some(_), Some(_), Some(_)) => Owner::Program,
        (Some(_), None, Some(path)) if is_absolute(path) => Owner::Program,
        // No debug info: the name alone says the crate, not where it comes from.
        (Some(_), Some(krate), None) if own_crates.iter().any(|own| own == krate) => Owner::Program,
        (Some(_), Some(_), None) => Owner::ThirdParty,
        // A bare name is a C symbol (`main`, `_start`, `__rust_try`), or a C library's frame
        // with its own relative debug info (libc6-dbg's `./csu/libc-start.c`).
        (Some(_), None, _) => Owner::Runtime,
    }
}

/// A Rust path's start, looking through the `<` and `&dyn` of trait-impl names
/// (`<alloc::boxed::Box<F,A> as core::ops::Fn…>::call` starts `alloc::boxed::Box`).
fn path_start(function: &str) -> &str {
    function
        .trim_start_matches(['<', '&', '*', '('])
        .trim_start_matches("mut ")
        .trim_start_matches("const ")
        .trim_start_matches("dyn ")
}

/// The crate a Rust path names (see [`path_start`]); `None` for a bare name.
fn crate_of(function: &str) -> Option<&str> {
    let (krate, _) = path_start(function).split_once("::")?;
    let plain = !krate.is_empty() && krate.chars().all(|c| c.is_alphanumeric() || c == '_');
    plain.then_some(krate)
}

/// Whether `function` is in the crate or module `prefix` (`tokio` holds
/// `tokio::runtime::park` and `<tokio::task::JoinHandle<T>>::poll`, not `tokio_util::sync`).
fn names_under(function: &str, prefix: &str) -> bool {
    !prefix.is_empty()
        && path_start(function)
            .strip_prefix(prefix)
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Where `path` comes from. Both separators count, so Windows paths are read the same way.
pub(crate) fn origin(path: &str) -> Origin {
    let path = path.replace('\\', "/");
    if path.starts_with(&SDK_SOURCES.replace('\\', "/")) {
        Origin::Sdk
    } else if path.starts_with("/rustc/")
        || path.contains("/lib/rustlib/src/rust/")
        || ["std", "core", "alloc", "panic_unwind", "panic_abort"]
            .iter()
            .any(|krate| path.starts_with(&format!("library/{krate}/src/")))
    {
        Origin::Sysroot
    } else if path.contains("/registry/src/") {
        Origin::Registry
    } else if path.contains("/git/checkouts/") {
        Origin::GitCheckout
    } else {
        Origin::Local
    }
}

fn is_absolute(path: &str) -> bool {
    path.starts_with('/') || std::path::Path::new(path).is_absolute()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSROOT: &str =
        "/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs";
    const REGISTRY: &str =
        "/home/me/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/serde-1.0.0/src/de/mod.rs";
    const GIT: &str =
        "/home/me/.cargo/git/checkouts/tokio-0123456789abcdef/a1b2c3d/tokio/src/lib.rs";
    const MEMBER: &str = "/home/me/shop/crates/billing/src/invoice.rs";
    const PATH_DEPENDENCY: &str = "/home/me/libs/geometry/src/lib.rs";

    /// What `#[allstak::main]` in the `shop` package's binary knows, and nothing more.
    fn shop() -> InAppRules {
        rules(&[], &[])
    }

    fn rules(include: &[&str], exclude: &[&str]) -> InAppRules {
        let owned = |names: &[&str]| names.iter().map(|&n| n.to_owned()).collect();
        InAppRules {
            own_crates: owned(&["shop"]),
            include: owned(include),
            exclude: owned(exclude),
        }
    }

    fn in_app(function: &str, path: Option<&str>) -> bool {
        is_in_app(Some(function), path, &shop())
    }

    #[test]
    fn paths_say_where_the_code_comes_from() {
        assert_eq!(origin(SYSROOT), Origin::Sysroot);
        assert_eq!(origin("library/std/src/rt.rs"), Origin::Sysroot);
        assert_eq!(
            origin(
                "/home/me/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/core/src/option.rs"
            ),
            Origin::Sysroot
        );
        assert_eq!(origin(REGISTRY), Origin::Registry);
        assert_eq!(
            origin(
                "C:\\Users\\me\\.cargo\\registry\\src\\index.crates.io-1949cf8c6b5b557f\\serde-1.0.0\\src\\de.rs"
            ),
            Origin::Registry
        );
        assert_eq!(origin(GIT), Origin::GitCheckout);
        assert_eq!(origin(MEMBER), Origin::Local);
        assert_eq!(origin(PATH_DEPENDENCY), Origin::Local);
        assert_eq!(origin("src/main.rs"), Origin::Local);
        assert_eq!(origin("/home/me/library/std/src/mine.rs"), Origin::Local);
    }

    #[test]
    fn the_programs_crates_are_in_app() {
        assert!(in_app("billing::invoice::total", Some(MEMBER)));
        assert!(in_app("geometry::area", Some(PATH_DEPENDENCY)));
        assert!(in_app("shop::main::{{closure}}", Some(MEMBER)));
        assert!(in_app(
            "<shop::Order as core::fmt::Display>::fmt",
            Some(MEMBER)
        ));
        // A workspace member's file as rustc was given it: relative to the workspace.
        assert!(in_app(
            "billing::invoice::total",
            Some("crates/billing/src/invoice.rs")
        ));
    }

    /// A release build without debug info: names from the symbol table, no paths. A tokio
    /// worker's frames around a task that panicked in the program's `shop::charge`.
    #[test]
    fn without_paths_only_the_programs_known_crates_are_in_app() {
        for (function, expected) in [
            ("shop::charge", true),
            ("shop::main::{{closure}}", true),
            ("<shop::Order as core::fmt::Display>::fmt", true),
            ("tokio::runtime::task::core::Core<T,S>::poll", false),
            ("tokio::runtime::task::harness::poll_future", false),
            (
                "<tokio::runtime::blocking::task::BlockingTask<T> as core::future::future::Future>::poll",
                false,
            ),
            (
                "tokio::runtime::scheduler::multi_thread::worker::Context::run_task",
                false,
            ),
            ("tokio::runtime::context::scoped::Scoped<T>::set", false),
            ("serde_json::de::from_str", false),
            // A crate whose name starts like the program's is not the program's.
            ("shop_core::price", false),
            ("shopx::price", false),
            ("stdx::parse", false),
            // std, the SDK and C symbols, as with paths.
            ("core::panicking::panic_fmt", false),
            ("allstak::private::MainSession::end", false),
            ("__rust_try", false),
            ("main", false),
        ] {
            assert_eq!(in_app(function, None), expected, "{function}");
        }
    }

    #[test]
    fn a_locations_file_says_whose_it_is() {
        let shop = shop();
        assert!(is_location_in_app(None, "src/main.rs", &shop));
        assert!(is_location_in_app(
            Some("billing::total"),
            "crates/billing/src/lib.rs",
            &shop
        ));
        assert!(!is_location_in_app(None, REGISTRY, &shop));
        assert!(!is_location_in_app(Some("hyper::proto::h1"), GIT, &shop));
        assert!(!is_location_in_app(None, SYSROOT, &shop));
        // A callsite without a file: its module alone.
        assert!(is_location_in_app(Some("shop::db"), "", &shop));
        assert!(!is_location_in_app(Some("h2::proto"), "", &shop));
        // The rules win over the file.
        let rules = rules(&["hyper"], &["shop::generated"]);
        assert!(is_location_in_app(
            Some("hyper::proto::h1"),
            REGISTRY,
            &rules
        ));
        assert!(!is_location_in_app(
            Some("shop::generated::parse"),
            "src/generated.rs",
            &rules
        ));
    }

    #[test]
    fn include_makes_a_crate_in_app_and_exclude_takes_one_out() {
        let rules = rules(&["shop_core", "vendored"], &["shop::generated", "billing"]);
        for (function, path, expected) in [
            // Included: the program's other crates, without paths or with a registry's.
            ("shop_core::price", None, true),
            (
                "<shop_core::Cart as core::iter::Iterator>::next",
                None,
                true,
            ),
            ("vendored::parse", Some(REGISTRY), true),
            // Excluded: out whatever the path says.
            ("shop::generated::schema::load", None, false),
            ("<shop::generated::Row>::decode", Some(MEMBER), false),
            ("billing::invoice::total", Some(MEMBER), false),
            // A prefix is a whole path segment: `shop::generated` does not hold these.
            ("shop::generated_by_hand::load", None, true),
            ("billing_v2::total", Some(MEMBER), true),
            // Neither list: as without them.
            ("shop::checkout", None, true),
            ("tokio::runtime::park::wake", None, false),
            // A bare name (line-tables-only) matches no prefix: its path decides.
            ("total", Some(MEMBER), true),
        ] {
            assert_eq!(
                is_in_app(Some(function), path, &rules),
                expected,
                "{function} at {path:?}"
            );
        }
    }

    #[test]
    fn the_longest_matching_prefix_decides_and_a_tie_is_excluded() {
        let nested = rules(&["tokio::task"], &["tokio"]);
        assert!(is_in_app(Some("tokio::task::spawn"), None, &nested));
        assert!(!is_in_app(Some("tokio::runtime::park"), None, &nested));
        let nested = rules(&["shop"], &["shop::generated"]);
        assert!(!is_in_app(Some("shop_core::x"), None, &nested));
        assert!(is_in_app(Some("shop::db::load"), None, &nested));
        assert!(!is_in_app(Some("shop::generated::load"), None, &nested));
        let tie = rules(&["shop_core"], &["shop_core"]);
        assert!(!is_in_app(Some("shop_core::price"), None, &tie));
    }

    #[test]
    fn line_tables_only_names_are_placed_by_their_path() {
        assert!(in_app("first", Some(MEMBER)));
        assert!(in_app("{closure#0}", Some(MEMBER)));
        assert_eq!(
            owner(
                Some("end<shop::main::{closure_env#0}>"),
                Some(&format!("{SDK_SOURCES}private.rs")),
                &[]
            ),
            Owner::Sdk
        );
        assert_eq!(
            owner(Some("call_once<fn(), ()>"), Some(SYSROOT), &[]),
            Owner::Runtime
        );
        assert_eq!(
            owner(Some("from_str<T>"), Some(REGISTRY), &[]),
            Owner::ThirdParty
        );
        // A C library's own debug info (libc6-dbg) has relative paths.
        assert!(!in_app(
            "__libc_start_main_impl",
            Some("./csu/../csu/libc-start.c")
        ));
    }

    #[test]
    fn third_party_crates_are_not_in_app() {
        assert!(!in_app("serde::de::Visitor::visit_str", Some(REGISTRY)));
        assert!(!in_app("tokio::runtime::Runtime::block_on", Some(GIT)));
        assert_eq!(
            owner(Some("tokio::runtime::park::wake"), None, &[]),
            Owner::ThirdParty
        );
    }

    #[test]
    fn std_the_panic_machinery_and_the_sdk_are_not_in_app() {
        for function in [
            "std::panicking::begin_panic_handler",
            "core::panicking::panic_fmt",
            "alloc::vec::Vec<T>::push",
            "<alloc::boxed::Box<F,A> as core::ops::function::Fn<Args>>::call",
            "<&dyn core::ops::function::Fn<(), Output = i32> as core::ops::function::FnOnce<()>>::call_once",
            "<std::backtrace::Backtrace>::create",
            "allstak::private::MainSession::end",
            "<allstak::private::Describe<T>>::record",
            "allstak_macros::main",
            "__rustc::rust_begin_unwind",
            "rust_begin_unwind",
            "__rust_try",
            "main",
            "_start",
            "__libc_start_main",
        ] {
            assert!(!in_app(function, None), "{function}");
        }
        // The sysroot's path wins over a name that looks like the program's.
        assert!(!in_app("shop::helper", Some(SYSROOT)));
        assert!(!is_in_app(None, Some(MEMBER), &shop()));
    }
}
