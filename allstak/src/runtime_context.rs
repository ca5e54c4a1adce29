//! What every error event says of where it ran, in its `metadata`: the OS and its version, the
//! architecture, the rustc that built the program, the host's name, and the name of the thread
//! that raised it.
//!
//! The process-wide values are read once per process, on the SDK's thread (the first event
//! prepared reads them): the caller's thread only takes a handle to its own thread.

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// `metadata` key: the OS, as `uname -s` says (`Linux`, `Darwin`, `FreeBSD`), `windows` on
/// Windows.
pub(crate) const OS_NAME: &str = "os.name";
/// `metadata` key: the OS's version, as `uname -r` says (the kernel's release); left out where
/// there is no `uname`.
pub(crate) const OS_VERSION: &str = "os.version";
/// `metadata` key: the CPU architecture the program was built for (`x86_64`, `aarch64`).
pub(crate) const ARCH: &str = "arch";
/// `metadata` key: the version of the rustc that built the program (`1.88.0 (6b00bc388
/// 2025-06-23)`), or `unknown`.
pub(crate) const RUSTC_VERSION: &str = "rustc.version";
/// `metadata` key: the name of the thread that raised the event (`main`,
/// `tokio-rt-worker`); left out for a thread without a name.
pub(crate) const THREAD_NAME: &str = "thread.name";
/// `metadata` key: the host's name, as `uname -n` says (`COMPUTERNAME` on Windows), unless
/// [`send_server_name`](crate::ConfigBuilder::send_server_name) is off.
pub(crate) const SERVER_NAME: &str = "server_name";

/// The process-wide part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RuntimeContext {
    pub(crate) os_name: String,
    pub(crate) os_version: Option<String>,
    pub(crate) arch: &'static str,
    pub(crate) rustc_version: &'static str,
    pub(crate) server_name: Option<String>,
}

/// This process's, read the first time it is asked for.
pub(crate) fn process() -> &'static RuntimeContext {
    static PROCESS: OnceLock<RuntimeContext> = OnceLock::new();
    PROCESS.get_or_init(RuntimeContext::read)
}

impl RuntimeContext {
    fn read() -> Self {
        let system = system::read();
        Self {
            os_name: system.name,
            os_version: system.version,
            arch: std::env::consts::ARCH,
            rustc_version: env!("ALLSTAK_RUSTC_VERSION"),
            server_name: system.host,
        }
    }

    /// Adds the context to `fields` under its keys, with `thread_name` for the thread that
    /// raised the event, and the host's name if `send_server_name`. A key `fields` already has
    /// (the program's own tag or field) keeps the program's value.
    pub(crate) fn fill(
        &self,
        fields: &mut Map<String, Value>,
        thread_name: Option<&str>,
        send_server_name: bool,
    ) {
        let mut add = |key: &str, value: Option<&str>| {
            if let Some(value) = value
                && !fields.contains_key(key)
            {
                fields.insert(key.to_owned(), Value::from(crate::text::truncated(value)));
            }
        };
        add(OS_NAME, Some(&self.os_name));
        add(OS_VERSION, self.os_version.as_deref());
        add(ARCH, Some(self.arch));
        add(RUSTC_VERSION, Some(self.rustc_version));
        add(THREAD_NAME, thread_name);
        if send_server_name {
            add(SERVER_NAME, self.server_name.as_deref());
        }
    }
}

/// The OS's name and version and the host's name.
struct System {
    name: String,
    version: Option<String>,
    host: Option<String>,
}

#[cfg(unix)]
mod system {
    use std::ffi::CStr;

    /// `uname(2)`: one system call, no file read.
    pub(super) fn read() -> super::System {
        // SAFETY: a zeroed `utsname` is valid plain data for `uname` to fill.
        let mut names: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `names` lives for the call.
        if unsafe { libc::uname(&raw mut names) } != 0 {
            return super::System {
                name: std::env::consts::OS.to_owned(),
                version: None,
                host: None,
            };
        }
        super::System {
            name: text(&names.sysname).unwrap_or_else(|| std::env::consts::OS.to_owned()),
            version: text(&names.release),
            host: text(&names.nodename),
        }
    }

    /// A field of `utsname`: text up to its NUL; `None` if empty or without one.
    fn text(field: &[libc::c_char]) -> Option<String> {
        // SAFETY: `c_char` and `u8` have the same size and alignment; the slice is the field.
        let bytes: &[u8] =
            unsafe { std::slice::from_raw_parts(field.as_ptr().cast(), field.len()) };
        let text = CStr::from_bytes_until_nul(bytes).ok()?.to_string_lossy();
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_owned())
    }
}

#[cfg(not(unix))]
mod system {
    pub(super) fn read() -> super::System {
        super::System {
            name: std::env::consts::OS.to_owned(),
            version: None,
            host: std::env::var("COMPUTERNAME")
                .ok()
                .filter(|name| !name.trim().is_empty()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> RuntimeContext {
        RuntimeContext {
            os_name: "Linux".to_owned(),
            os_version: Some("6.8.0-45-generic".to_owned()),
            arch: "x86_64",
            rustc_version: "1.88.0 (6b00bc388 2025-06-23)",
            server_name: Some("web-1".to_owned()),
        }
    }

    #[test]
    fn every_key_is_filled_in() {
        let mut fields = Map::new();
        context().fill(&mut fields, Some("tokio-rt-worker"), true);
        assert_eq!(
            Value::Object(fields),
            json!({
                "os.name": "Linux",
                "os.version": "6.8.0-45-generic",
                "arch": "x86_64",
                "rustc.version": "1.88.0 (6b00bc388 2025-06-23)",
                "thread.name": "tokio-rt-worker",
                "server_name": "web-1",
            })
        );
    }

    #[test]
    fn the_programs_own_tags_and_fields_win_over_the_context() {
        let mut fields = Map::new();
        fields.insert("server_name".to_owned(), json!("from-a-tag"));
        fields.insert("arch".to_owned(), json!({"simd": true}));
        context().fill(&mut fields, Some("main"), true);
        assert_eq!(fields["server_name"], "from-a-tag");
        assert_eq!(fields["arch"], json!({"simd": true}));
        assert_eq!(fields["os.name"], "Linux");
    }

    #[test]
    fn the_host_is_left_out_when_turned_off_and_unknowns_are_left_out() {
        let mut fields = Map::new();
        context().fill(&mut fields, Some("main"), false);
        assert!(!fields.contains_key(SERVER_NAME));
        let mut bare = context();
        bare.os_version = None;
        bare.server_name = None;
        let mut fields = Map::new();
        bare.fill(&mut fields, None, true);
        let keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        assert_eq!(keys, [ARCH, OS_NAME, RUSTC_VERSION]);
    }

    #[test]
    fn this_process_is_read_from_the_system_and_the_build() {
        let process = process();
        assert_eq!(process.arch, std::env::consts::ARCH);
        assert!(!process.os_name.is_empty());
        // Built by a rustc that says its version: `1.88.0 (…)`, a nightly's `1.90.0-nightly (…)`.
        assert!(
            process
                .rustc_version
                .split('.')
                .next()
                .is_some_and(|major| major.parse::<u32>().is_ok()),
            "{}",
            process.rustc_version
        );
        #[cfg(target_os = "linux")]
        {
            assert_eq!(process.os_name, "Linux");
            let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("release");
            assert_eq!(process.os_version.as_deref(), Some(release.trim()));
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
            assert_eq!(process.server_name.as_deref(), Some(host.trim()));
        }
        assert!(std::ptr::eq(process, super::process()), "read once");
    }
}
