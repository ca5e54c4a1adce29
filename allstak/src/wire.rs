//! The wire format: every request the SDK sends, as the path and JSON body the transport posts
//! (`../shared/CONTRACT.md`), and the SDK's identity, written here and nowhere else.
//!
//! A leaf: payloads are built from plain values (strings, numbers, JSON maps, frames already
//! symbolized). Turning what the program captured into them is the `prepare` module's.

use std::borrow::Cow;

use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// The name this SDK reports itself under.
pub const SDK_NAME: &str = "allstak-rust";
/// This SDK's version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The `platform` of every payload and frame.
const PLATFORM: &str = "rust";
/// The `User-Agent` of every request.
pub(crate) const USER_AGENT: &str = concat!("allstak-rust/", env!("CARGO_PKG_VERSION"));

pub(crate) const SESSIONS_START: &str = "/ingest/v1/sessions/start";
pub(crate) const SESSIONS_END: &str = "/ingest/v1/sessions/end";
pub(crate) const ERRORS: &str = "/ingest/v1/errors";

/// One `POST` to the ingest API: the path under the host, and the JSON body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Post {
    pub(crate) path: &'static str,
    pub(crate) body: Vec<u8>,
}

impl Post {
    /// What tells a request from another across runs (FNV-1a over its path and body: stable
    /// across builds and Rust versions, unlike `std`'s hasher).
    pub(crate) fn digest(&self) -> u64 {
        self.path
            .bytes()
            .chain([b'\n'])
            .chain(self.body.iter().copied())
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            })
    }

    fn json(path: &'static str, payload: &impl Serialize) -> Self {
        // Our payloads are plain structs of strings, numbers and JSON values: serializing them
        // cannot fail.
        let body = serde_json::to_vec(payload).unwrap_or_default();
        Self { path, body }
    }

    /// [`Self::json`] for a payload the SDK reports itself in: its fields, then the identity.
    fn identified(path: &'static str, payload: &impl Serialize) -> Self {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Identified<'a, T> {
            #[serde(flatten)]
            payload: &'a T,
            sdk_name: &'static str,
            sdk_version: &'static str,
            platform: Platform,
        }
        Self::json(
            path,
            &Identified {
                payload,
                sdk_name: SDK_NAME,
                sdk_version: SDK_VERSION,
                platform: Platform,
            },
        )
    }
}

/// The `platform` field: always `rust`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Platform;

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(PLATFORM)
    }
}

/// `POST /ingest/v1/sessions/start`.
pub(crate) fn session_start(
    session_id: &str,
    release: &str,
    environment: &str,
    user_id: Option<&str>,
) -> Post {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SessionStart<'a> {
        session_id: &'a str,
        release: &'a str,
        environment: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        user_id: Option<&'a str>,
    }
    let payload = SessionStart {
        session_id,
        release,
        environment,
        user_id,
    };
    Post::identified(SESSIONS_START, &payload)
}

/// `POST /ingest/v1/sessions/end`, for this process's session or one recovered from the state
/// dir; `status` as the contract spells it (`ok`, `errored`, `crashed`, `abnormal`).
pub(crate) fn session_end(session_id: &str, duration_ms: u64, status: &str) -> Post {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SessionEnd<'a> {
        session_id: &'a str,
        duration_ms: u64,
        status: &'a str,
    }
    let payload = SessionEnd {
        session_id,
        duration_ms,
        status,
    };
    Post::json(SESSIONS_END, &payload)
}

/// `POST /ingest/v1/errors`, the body exactly as `payload` says.
pub(crate) fn error(payload: &ErrorPayload<'_>) -> Post {
    Post::identified(ERRORS, payload)
}

/// The body of `POST /ingest/v1/errors`, without the SDK's identity ([`error`] adds it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorPayload<'a> {
    /// The id the capture call returned: lets the server drop a copy it already has.
    pub(crate) event_id: String,
    pub(crate) exception_class: &'a str,
    pub(crate) message: Cow<'a, str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) stack_trace: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) frames: Vec<FramePayload<'a>>,
    /// As the contract spells it: `debug`, `info`, `warning`, `error`, `fatal`.
    pub(crate) level: &'a str,
    pub(crate) environment: &'a str,
    pub(crate) release: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<UserPayload<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_context: Option<RequestContextPayload<'a>>,
    pub(crate) metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) breadcrumbs: Vec<BreadcrumbPayload<'a>>,
    pub(crate) handled: bool,
    pub(crate) mechanism: &'a str,
}

/// One frame of `frames`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FramePayload<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) filename: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) abs_path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) function: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) lineno: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) colno: Option<u32>,
    pub(crate) in_app: bool,
    pub(crate) platform: Platform,
}

/// `user`: `{id, email, ip}`.
#[derive(Serialize)]
pub(crate) struct UserPayload<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ip: Option<&'a str>,
}

/// `requestContext`: `{method, path, host, statusCode, userAgent}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestContextPayload<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) host: Option<Cow<'a, str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_agent: Option<Cow<'a, str>>,
}

/// `metadata`: the Rust type, what was trimmed if anything, then the event's fields.
#[derive(Serialize)]
pub(crate) struct Metadata<'a> {
    #[serde(rename = "rust.type")]
    pub(crate) rust_type: &'a str,
    #[serde(rename = "allstak.trimmed", skip_serializing_if = "Option::is_none")]
    pub(crate) trimmed: Option<Trimmed>,
    #[serde(flatten)]
    pub(crate) fields: Cow<'a, Map<String, Value>>,
}

/// What was left out of an event to fit the size limit: `metadata["allstak.trimmed"]`.
#[derive(Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Trimmed {
    /// The body's size before.
    pub(crate) bytes: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) breadcrumbs: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) metadata: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) frames: usize,
    #[serde(skip_serializing_if = "is_zero")]
    pub(crate) stack_trace: usize,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) user: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub(crate) request_context: bool,
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}

fn is_false(flag: &bool) -> bool {
    !*flag
}

/// One of `breadcrumbs`: `{timestamp, type, category, message, level, data}`.
#[derive(Serialize)]
pub(crate) struct BreadcrumbPayload<'a> {
    /// RFC 3339, UTC.
    pub(crate) timestamp: String,
    #[serde(rename = "type")]
    pub(crate) kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<Cow<'a, str>>,
    pub(crate) level: &'a str,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub(crate) data: Cow<'a, Map<String, Value>>,
}

/// The length of `value` as JSON, without writing it anywhere.
pub(crate) fn json_len(value: &impl Serialize) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(request: &Post) -> Value {
        serde_json::from_slice(&request.body).expect("json")
    }

    #[test]
    fn the_end_payload_has_id_duration_in_ms_and_lower_case_status() {
        let id = crate::SessionId::random().to_string();
        let duration = crate::time::millis(std::time::Duration::from_micros(1_500_700));
        let request = session_end(&id, duration, crate::SessionStatus::Errored.as_str());
        assert_eq!(request.path, "/ingest/v1/sessions/end");
        assert_eq!(
            json_of(&request),
            json!({"sessionId": id, "durationMs": 1500, "status": "errored"})
        );
    }

    #[test]
    fn the_start_payload_from_plain_values_ends_with_the_sdks_identity() {
        let request = session_start("id-1", "app@1", "dev", None);
        assert_eq!(request.path, "/ingest/v1/sessions/start");
        assert_eq!(
            String::from_utf8_lossy(&request.body),
            format!(
                "{{\"sessionId\":\"id-1\",\"release\":\"app@1\",\"environment\":\"dev\",\
                 \"sdkName\":\"allstak-rust\",\"sdkVersion\":\"{SDK_VERSION}\",\"platform\":\"rust\"}}"
            )
        );
    }

    #[test]
    fn session_ids_are_lower_case_uuid_v4_with_dashes() {
        let id = crate::SessionId::random().to_string();
        assert_eq!(id.len(), 36);
        assert_eq!(id, id.to_lowercase());
        assert_eq!(id.as_bytes()[14], b'4');
        assert_eq!(id.matches('-').count(), 4);
    }

    #[test]
    fn the_user_agent_names_the_sdk_and_its_version() {
        assert_eq!(USER_AGENT, format!("{SDK_NAME}/{SDK_VERSION}"));
    }
}
