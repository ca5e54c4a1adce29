//! Whose code a frame is: a pure function of the frame's function name and source path.
//!
//! The program's crates (workspace members, path dependencies) are in-app; std, core, alloc,
//! the panic runtime, this SDK and third-party crates (cargo's registry and git checkouts, the
//! rustc sysroot) are not. The name decides first, so that a build without debug info (names
//! only) still tells std and the SDK apart from the program; the path decides where the name
//! cannot: `debug = "line-tables-only"` gives bare names (`first`, not `app::first`).

/// Crates whose frames are the Rust runtime's, by the first segment of the function's path.
const RUNTIME_CRATES: [&str; 4] = ["std", "core", "alloc", "__rustc"];
/// This SDK's crates, by the first segment of the function's path.
const SDK_CRATES: [&str; 2] = ["allstak", "allstak_macros"];
/// This SDK's sources, as its debug info names them.
const SDK_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");

/// Whose code a frame is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Owner {
    /// The program's own crates: in-app.
    Program,
    /// A dependency from a registry or a git checkout.
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

/// Whether a frame is the program's own code.
pub(crate) fn is_in_app(function: Option<&str>, path: Option<&str>) -> bool {
    owner(function, path) == Owner::Program
}

/// Whose code a frame is, from its function's name and its source path.
pub(crate) fn owner(function: Option<&str>, path: Option<&str>) -> Owner {
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
    // A bare name is a C symbol (`main`, `_start`, `__rust_try`), unless the program's own
    // sources say it is theirs (a line-tables-only build names `app::first` just `first`).
    let located_in_program = path.is_some_and(is_absolute) && origin == Some(Origin::Local);
    match function {
        Some(_) if krate.is_some() || located_in_program => Owner::Program,
        _ => Owner::Runtime,
    }
}

/// The crate a Rust path names, looking through the `<` and `&dyn` of trait-impl names
/// (`<alloc::boxed::Box<F,A> as core::ops::Fn…>::call` is alloc's); `None` for a bare name.
fn crate_of(function: &str) -> Option<&str> {
    let path = function
        .trim_start_matches(['<', '&', '*', '('])
        .trim_start_matches("mut ")
        .trim_start_matches("const ")
        .trim_start_matches("dyn ");
    let (krate, _) = path.split_once("::")?;
    let plain = !krate.is_empty() && krate.chars().all(|c| c.is_alphanumeric() || c == '_');
    plain.then_some(krate)
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
        assert!(is_in_app(Some("billing::invoice::total"), Some(MEMBER)));
        assert!(is_in_app(Some("geometry::area"), Some(PATH_DEPENDENCY)));
        assert!(is_in_app(Some("shop::main::{{closure}}"), Some(MEMBER)));
        assert!(is_in_app(
            Some("<shop::Order as core::fmt::Display>::fmt"),
            Some(MEMBER)
        ));
        // No debug info: the name alone.
        assert!(is_in_app(Some("shop::checkout"), None));
        // A crate whose name starts like ours is not ours.
        assert!(is_in_app(Some("allstak_tests::three"), None));
        assert!(is_in_app(Some("stdx::parse"), None));
    }

    #[test]
    fn line_tables_only_names_are_placed_by_their_path() {
        assert!(is_in_app(Some("first"), Some(MEMBER)));
        assert!(is_in_app(Some("{closure#0}"), Some(MEMBER)));
        assert_eq!(
            owner(
                Some("call_once<(), shop::main::{closure_env#0}>"),
                Some(&format!("{SDK_SOURCES}private.rs"))
            ),
            Owner::Sdk
        );
        assert_eq!(
            owner(Some("call_once<fn(), ()>"), Some(SYSROOT)),
            Owner::Runtime
        );
        assert_eq!(
            owner(Some("from_str<T>"), Some(REGISTRY)),
            Owner::ThirdParty
        );
        // A C library's own debug info (libc6-dbg) has relative paths.
        assert!(!is_in_app(
            Some("__libc_start_main_impl"),
            Some("./csu/../csu/libc-start.c")
        ));
    }

    #[test]
    fn third_party_crates_are_not_in_app() {
        assert!(!is_in_app(
            Some("serde::de::Visitor::visit_str"),
            Some(REGISTRY)
        ));
        assert!(!is_in_app(
            Some("tokio::runtime::Runtime::block_on"),
            Some(GIT)
        ));
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
            "allstak::private::call_once",
            "<allstak::private::Describe<T>>::record",
            "allstak_macros::main",
            "__rustc::rust_begin_unwind",
            "rust_begin_unwind",
            "__rust_try",
            "main",
            "_start",
            "__libc_start_main",
        ] {
            assert!(!is_in_app(Some(function), None), "{function}");
        }
        // The sysroot's path wins over a name that looks like the program's.
        assert!(!is_in_app(Some("shop::helper"), Some(SYSROOT)));
        assert!(!is_in_app(None, Some(MEMBER)));
    }
}
