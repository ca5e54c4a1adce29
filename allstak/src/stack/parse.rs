//! Reads the text std's `Backtrace` prints with `{:#}` back into frames.
//!
//! std resolves a captured backtrace on its first `Display` and has no stable API for the frames,
//! so the text is the interface. Its shape, one entry per symbol (inlined calls included):
//!
//! ```text
//!    4:     0x55d5c3a5 - app::deep::h5c2fea67a955d18d
//!                                at /home/me/app/src/main.rs:6:49
//!   22:     0x55d5c3a6 - main
//! ```
//!
//! Anything else (a line std may add one day, a truncated text) is skipped: reading never fails.

/// One symbol as std printed it, innermost first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawFrame {
    /// Demangled, without the `::h0123…` hash or v0's `[0123…]` crate disambiguators.
    pub(crate) function: Option<String>,
    pub(crate) path: Option<String>,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
}

/// Every frame of `text` (a `{:#}` of `std::backtrace::Backtrace`), innermost first.
pub(crate) fn frames(text: &str) -> Vec<RawFrame> {
    let mut frames: Vec<RawFrame> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if let Some(location) = line.strip_prefix("at ") {
            if let Some(last) = frames.last_mut().filter(|f| f.path.is_none()) {
                let (path, line, column) = read_location(location);
                last.path = Some(path.to_owned());
                last.line = line;
                last.column = column;
            }
        } else if let Some(symbol) = entry(line) {
            frames.push(RawFrame {
                function: read_symbol(symbol),
                path: None,
                line: None,
                column: None,
            });
        }
    }
    frames
}

/// The text after `N:` on an entry line.
fn entry(line: &str) -> Option<&str> {
    let (index, rest) = line.split_once(':')?;
    let numbered = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    numbered.then(|| rest.trim())
}

/// `0x55d5c3a5 - name` (or just `name`) → the cleaned name; `None` when std knows none.
fn read_symbol(symbol: &str) -> Option<String> {
    let name = match symbol.split_once(' ') {
        Some((address, rest)) if is_address(address) => rest.trim_start().strip_prefix('-')?,
        _ if is_address(symbol) => return None,
        _ => symbol,
    };
    let name = name.trim();
    if name.is_empty() || name == "<unknown>" {
        return None;
    }
    Some(clean_name(name))
}

fn is_address(text: &str) -> bool {
    text.strip_prefix("0x")
        .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `path:line:column`, `path:line` or `path` (a Windows drive's `C:` is part of the path).
fn read_location(location: &str) -> (&str, Option<u32>, Option<u32>) {
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    let Some((rest, last)) = location
        .rsplit_once(':')
        .filter(|(_, n)| number(n).is_some())
    else {
        return (location, None, None);
    };
    match rest.rsplit_once(':').filter(|(_, n)| number(n).is_some()) {
        Some((path, line)) => (path, number(line), number(last)),
        None => (rest, number(last), None),
    }
}

/// Drops what makes a name unreadable and unstable between builds: the legacy mangling's
/// trailing `::h` + 16 hex digits, and v0's `[0123abcd]` after a crate name.
pub(crate) fn clean_name(name: &str) -> String {
    let name = match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    };
    let mut clean = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(open) = rest.find('[') {
        let after_ident = rest[..open]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let disambiguator = rest[open + 1..].find(']').filter(|&len| {
            len > 0
                && rest[open + 1..open + 1 + len]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit())
        });
        match disambiguator {
            Some(len) if after_ident => {
                clean.push_str(&rest[..open]);
                rest = &rest[open + len + 2..];
            }
            _ => {
                clean.push_str(&rest[..=open]);
                rest = &rest[open + 1..];
            }
        }
    }
    clean.push_str(rest);
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real `{:#}` of a `Backtrace` captured in a panic hook (rustc 1.95, Linux, debug build).
    const CAPTURED: &str = "   0:     0x562cfd1bfbfb - std[e28293b1aa0f68bd]::backtrace_rs::backtrace::libunwind::trace
                               at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/../../backtrace/src/backtrace/libunwind.rs:117:9
   1:     0x562cfd1bfb45 - <std[e28293b1aa0f68bd]::backtrace::Backtrace>::force_capture
                               at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/backtrace.rs:312:9
   2:     0x562cfd1a3784 - btexp::main::{{closure}}::h48f7c5cae7f3a75e
                               at /tmp/btexp/src/main.rs:23:49
   3:     0x562cfd1cbaa2 - <alloc[fdfd2bd8633a6659]::boxed::Box<dyn for<'a, 'b> core[c1f1a4ba060b9bfa]::ops::function::Fn<(&'a std[e28293b1aa0f68bd]::panic::PanicHookInfo<'b>,), Output = ()> + core[c1f1a4ba060b9bfa]::marker::Sync + core[c1f1a4ba060b9bfa]::marker::Send> as core[c1f1a4ba060b9bfa]::ops::function::Fn<(&std[e28293b1aa0f68bd]::panic::PanicHookInfo,)>>::call
                               at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/alloc/src/boxed.rs:2254:9
   4:     0x562cfd1bb65d - __rustc[b7974e8690430dd9]::rust_begin_unwind
                               at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/std/src/panicking.rs:689:5
   5:     0x562cfd1e195c - core[c1f1a4ba060b9bfa]::panicking::panic_fmt
                               at /rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/panicking.rs:80:14
   6:     0x562cfd1a4235 - btexp::three::h2172fe389061453f
                               at /tmp/btexp/src/main.rs:10:14
   7:     0x562cfd1a3b9b - __rust_try
   8:     0x562cfd1a425e - main
   9:     0x7fe77d3e424a - __libc_start_call_main
                               at ./csu/../sysdeps/nptl/libc_start_call_main.h:58:16
  10:                0x0 - <unknown>
";

    fn frame(
        function: Option<&str>,
        path: Option<&str>,
        line: Option<u32>,
        column: Option<u32>,
    ) -> RawFrame {
        RawFrame {
            function: function.map(str::to_owned),
            path: path.map(str::to_owned),
            line,
            column,
        }
    }

    #[test]
    fn every_symbol_is_a_frame_with_its_location_innermost_first() {
        let frames = frames(CAPTURED);
        assert_eq!(frames.len(), 11);
        assert_eq!(
            frames[2],
            frame(
                Some("btexp::main::{{closure}}"),
                Some("/tmp/btexp/src/main.rs"),
                Some(23),
                Some(49)
            )
        );
        assert_eq!(
            frames[3].function.as_deref(),
            Some(
                "<alloc::boxed::Box<dyn for<'a, 'b> core::ops::function::Fn<(&'a std::panic::PanicHookInfo<'b>,), Output = ()> + core::marker::Sync + core::marker::Send> as core::ops::function::Fn<(&std::panic::PanicHookInfo,)>>::call"
            )
        );
        assert_eq!(
            frames[4].function.as_deref(),
            Some("__rustc::rust_begin_unwind")
        );
        assert_eq!(frames[6].function.as_deref(), Some("btexp::three"));
        assert_eq!(frames[7], frame(Some("__rust_try"), None, None, None));
        assert_eq!(frames[8], frame(Some("main"), None, None, None));
        assert_eq!(
            frames[9].path.as_deref(),
            Some("./csu/../sysdeps/nptl/libc_start_call_main.h")
        );
        assert_eq!(frames[10], frame(None, None, None, None));
    }

    #[test]
    fn the_short_format_and_missing_columns_are_read_too() {
        let text = "   0: app::run\n             at ./src/main.rs:6\n   1: app::main\n             at C:\\app\\src\\main.rs:17:13\n";
        assert_eq!(
            frames(text),
            [
                frame(Some("app::run"), Some("./src/main.rs"), Some(6), None),
                frame(
                    Some("app::main"),
                    Some("C:\\app\\src\\main.rs"),
                    Some(17),
                    Some(13)
                ),
            ]
        );
    }

    #[test]
    fn names_lose_their_hash_and_crate_disambiguators_but_not_their_slices() {
        assert_eq!(clean_name("app::deep::h5c2fea67a955d18d"), "app::deep");
        assert_eq!(
            clean_name("std[e28293b1aa0f68bd]::rt::lang_start_internal"),
            "std::rt::lang_start_internal"
        );
        assert_eq!(clean_name("<[u8]>::to_vec"), "<[u8]>::to_vec");
        assert_eq!(clean_name("app::f::<[u8; 4]>"), "app::f::<[u8; 4]>");
        assert_eq!(clean_name("app::h"), "app::h");
        assert_eq!(clean_name("app::hash_it"), "app::hash_it");
        assert_eq!(clean_name("a[ab"), "a[ab");
    }

    proptest::proptest! {
        /// Whatever the text, reading it returns (never panics), and every frame came from an
        /// entry line.
        #[test]
        fn any_text_is_read_without_panicking(text in "(\\PC|\n| +[0-9]+: |at |0x[0-9a-f]+ - |:[0-9]+|\\[[0-9a-f]*\\]?|::h[0-9a-f]{0,16})*") {
            let entries = text.lines().filter(|l| entry(l.trim()).is_some()).count();
            proptest::prop_assert_eq!(frames(&text).len(), entries);
        }

        #[test]
        fn any_name_is_cleaned_without_panicking(name in "(\\PC|\\[|\\]|[0-9a-f]|::h)*") {
            let _ = clean_name(&name);
        }
    }
}
