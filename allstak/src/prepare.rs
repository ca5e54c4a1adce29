//! From what the program captured to what the wire sends: an error event, its breadcrumbs and
//! the config become [`wire`] payloads of plain values. The one place that merges tags under
//! the event's fields, adds the runtime context under both, scrubs secrets, symbolizes the stack, makes the body fit
//! [`MAX_EVENT_BYTES`] and removes the API key.
//!
//! Runs on the transport thread, so the caller's thread never pays for it.

use std::borrow::Cow;

use crate::breadcrumbs::Breadcrumb;
use crate::config::Config;
use crate::diag;
use crate::event::{ErrorEvent, Location, truncate_cow, truncated};
use crate::scope::RequestContext;
use crate::wire::{self, Post, json_len};
use crate::{SessionId, User, scrub, stack, time};

/// The largest error event the SDK sends: 256 KiB of JSON body. (The contract names no limit
/// of the ingest API; an event a server still refuses with `413` is counted as dropped.)
///
/// The body is built on the SDK's thread. When it is larger, what matters least goes first,
/// until it fits: the oldest breadcrumbs, then the largest `metadata` fields, the outermost
/// frames, the innermost causes, the user, the request. What was left out is said in
/// `metadata["allstak.trimmed"]` (`{"bytes": 830521, "breadcrumbs": 69}`: the size before, and
/// how many of each). An event that cannot fit even then (a release or environment of hundreds
/// of KiB) is not sent, and is counted by [`dropped_event_count`](crate::dropped_event_count).
/// Every string is cut to [`MAX_STRING_BYTES`](crate::MAX_STRING_BYTES) before that.
///
/// ```
/// assert_eq!(allstak::MAX_EVENT_BYTES, 256 * 1024);
/// ```
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// `POST /ingest/v1/sessions/start` for this process's session, under the config's release,
/// environment and user.
pub(crate) fn session_start(id: SessionId, config: &Config) -> Post {
    let request = wire::session_start(
        &id.to_string(),
        config.release(),
        config.environment(),
        config.user_id.as_deref(),
    );
    without_api_key(request, config)
}

/// The API key never leaves in a payload that holds text from the program.
fn without_api_key(mut request: Post, config: &Config) -> Post {
    if let Some(key) = &config.api_key {
        request.body = scrub::without_api_key(request.body, key);
    }
    request
}

/// `POST /ingest/v1/errors`, with the breadcrumbs recorded before the event; secrets scrubbed;
/// made to fit [`MAX_EVENT_BYTES`] (`None`: it cannot be).
pub(crate) fn error(
    event: &ErrorEvent,
    breadcrumbs: &[Breadcrumb],
    config: &Config,
) -> Option<Post> {
    // Symbolized here, on the transport thread; a stack that yields nothing (a stripped binary)
    // leaves the location's one frame.
    let stack = event
        .stack
        .as_ref()
        .map(|stack| {
            stack.frames(
                event.location.as_ref().map(Location::anchor),
                &config.in_app,
            )
        })
        .unwrap_or_default();
    let frames: Vec<wire::FramePayload<'_>> = if stack.is_empty() {
        event
            .location
            .iter()
            .map(|location| frame_of_location(location, &config.in_app))
            .collect()
    } else {
        stack.iter().map(frame_of_stack).collect()
    };
    // What never leaves the process: secrets by their names and in the text of every string.
    let rules = scrub::Rules::from_config(config);
    let stack_trace: Vec<String> = event
        .causes
        .iter()
        .map(|cause| format!("caused by: {}", rules.text(cause)))
        .collect();
    let mut fields = Cow::Borrowed(&event.metadata);
    if let Some(extra) = &event.context.extra {
        crate::scope::merge_extra(fields.to_mut(), extra);
    }
    if let Some(tags) = &event.context.tags {
        crate::scope::merge_tags(fields.to_mut(), tags);
    }
    // Under the program's own tags and fields, and scrubbed as they are.
    crate::runtime_context::process().fill(
        fields.to_mut(),
        event.thread.as_ref().and_then(std::thread::Thread::name),
        config.send_server_name,
    );
    if let Cow::Owned(scrubbed) = rules.fields(&fields) {
        fields = Cow::Owned(scrubbed);
    }
    let payload = wire::ErrorPayload {
        event_id: event.id.to_string(),
        exception_class: &event.exception_class,
        message: rules.text(&event.message),
        stack_trace,
        frames,
        level: event.level.as_str(),
        environment: config.environment(),
        release: config.release(),
        session_id: event.session_id.map(|id| id.to_string()),
        user: event.context.user.as_deref().and_then(user),
        request_context: event
            .context
            .request
            .as_deref()
            .map(|request| request_context(request, &rules)),
        metadata: wire::Metadata {
            rust_type: event.type_name,
            trimmed: None,
            fields,
        },
        breadcrumbs: breadcrumbs
            .iter()
            .map(|breadcrumb| breadcrumb_payload(breadcrumb, &rules))
            .collect(),
        handled: event.handled,
        mechanism: event.mechanism,
    };
    fit(payload, config)
}

/// The request for `payload`, the API key removed, trimmed until it fits [`MAX_EVENT_BYTES`].
fn fit(mut payload: wire::ErrorPayload<'_>, config: &Config) -> Option<Post> {
    let mut request = without_api_key(wire::error(&payload), config);
    let original = request.body.len();
    while request.body.len() > MAX_EVENT_BYTES {
        if !trim(&mut payload, request.body.len() - MAX_EVENT_BYTES, original) {
            diag::debug!(
                "an error event of {original} bytes is over {MAX_EVENT_BYTES} bytes even without \
                 its breadcrumbs, metadata, frames, causes, user and request; it is dropped"
            );
            return None;
        }
        request = without_api_key(wire::error(&payload), config);
    }
    if let Some(trimmed) = &payload.metadata.trimmed {
        diag::debug!(
            "an error event of {original} bytes was over {MAX_EVENT_BYTES} bytes; sent in {} \
             bytes, trimmed as its metadata says: {}",
            request.body.len(),
            serde_json::to_string(trimmed).unwrap_or_default()
        );
    }
    Some(request)
}

/// Leaves out enough of the next part in line to save about `over` bytes: the oldest
/// breadcrumbs, then the largest metadata fields, the outermost frames (the crash site is the
/// last), the innermost causes, the user, the request. `false` once nothing is left.
fn trim(payload: &mut wire::ErrorPayload<'_>, over: usize, original: usize) -> bool {
    let trimmed = payload
        .metadata
        .trimmed
        .get_or_insert_with(|| wire::Trimmed {
            bytes: original,
            ..wire::Trimmed::default()
        });
    if !payload.breadcrumbs.is_empty() {
        let oldest = enough(payload.breadcrumbs.iter().map(json_len), over);
        payload.breadcrumbs.drain(..oldest);
        trimmed.breadcrumbs += oldest;
    } else if !payload.metadata.fields.is_empty() {
        let mut sizes: Vec<(usize, &String)> = payload
            .metadata
            .fields
            .iter()
            .map(|(key, value)| (json_len(key) + 1 + json_len(value), key))
            .collect();
        sizes.sort_unstable_by_key(|(size, _)| std::cmp::Reverse(*size));
        let largest = enough(sizes.iter().map(|(size, _)| *size), over);
        let keys: Vec<String> = sizes
            .into_iter()
            .take(largest)
            .map(|(_, key)| key.clone())
            .collect();
        let fields = payload.metadata.fields.to_mut();
        for key in &keys {
            fields.remove(key);
        }
        trimmed.metadata += largest;
    } else if !payload.frames.is_empty() {
        let outermost = enough(payload.frames.iter().map(json_len), over);
        payload.frames.drain(..outermost);
        trimmed.frames += outermost;
    } else if !payload.stack_trace.is_empty() {
        let innermost = enough(payload.stack_trace.iter().rev().map(json_len), over);
        payload
            .stack_trace
            .truncate(payload.stack_trace.len().saturating_sub(innermost));
        trimmed.stack_trace += innermost;
    } else if payload.user.take().is_some() {
        trimmed.user = true;
    } else if payload.request_context.take().is_some() {
        trimmed.request_context = true;
    } else {
        return false;
    }
    true
}

/// How many parts, of these sizes in this order, add up to `over` bytes (each with the comma
/// before the next); all of them if they do not.
fn enough(sizes: impl Iterator<Item = usize>, over: usize) -> usize {
    let mut saved = 0;
    let mut count = 0;
    for size in sizes {
        count += 1;
        saved += size + 1;
        if saved >= over {
            break;
        }
    }
    count
}

/// The one frame a location gives: a panic's `file:line:col`, a tracked fn's site.
fn frame_of_location<'a>(
    location: &'a Location,
    rules: &stack::InAppRules,
) -> wire::FramePayload<'a> {
    let (function, filename, lineno, colno) = location.parts();
    wire::FramePayload {
        filename: Some(filename),
        abs_path: None,
        function,
        lineno: Some(lineno),
        colno: Some(colno),
        in_app: stack::is_location_in_app(function, filename, rules),
        platform: wire::Platform,
    }
}

fn frame_of_stack(frame: &stack::Frame) -> wire::FramePayload<'_> {
    wire::FramePayload {
        filename: frame.filename.as_deref(),
        abs_path: frame.abs_path.as_deref(),
        function: frame.function.as_deref(),
        lineno: frame.lineno,
        colno: frame.colno,
        in_app: frame.in_app,
        platform: wire::Platform,
    }
}

/// `None` for a user with nothing known: no empty object is sent. Sent as the program set it
/// (`set_user` names the user on purpose): an id that is an email stays one id, the same as the
/// session's `userId`.
fn user(user: &User) -> Option<wire::UserPayload<'_>> {
    let payload = wire::UserPayload {
        id: user.id(),
        email: user.email(),
        ip: user.ip(),
    };
    (payload.id.is_some() || payload.email.is_some() || payload.ip.is_some()).then_some(payload)
}

fn request_context<'a>(
    request: &'a RequestContext,
    rules: &scrub::Rules,
) -> wire::RequestContextPayload<'a> {
    wire::RequestContextPayload {
        method: request.method.as_str(),
        path: scrubbed(truncated(request.path()), rules),
        host: request
            .host()
            .map(|host| scrubbed(truncate_cow(host), rules)),
        status_code: request.status,
        user_agent: request.user_agent.as_ref().map(|agent| {
            scrubbed(
                truncate_cow(String::from_utf8_lossy(agent.as_bytes())),
                rules,
            )
        }),
    }
}

/// `text` with the secrets in it scrubbed; as it was (not copied) when it holds none.
fn scrubbed<'a>(text: Cow<'a, str>, rules: &scrub::Rules) -> Cow<'a, str> {
    match rules.text(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(clean) => Cow::Owned(clean),
    }
}

fn breadcrumb_payload<'a>(
    breadcrumb: &'a Breadcrumb,
    rules: &scrub::Rules,
) -> wire::BreadcrumbPayload<'a> {
    wire::BreadcrumbPayload {
        timestamp: time::rfc3339(breadcrumb.timestamp),
        kind: &breadcrumb.kind,
        category: breadcrumb.category.as_deref(),
        message: breadcrumb
            .message
            .as_deref()
            .map(|message| rules.text(message)),
        level: breadcrumb.level.as_str(),
        data: rules.fields(&breadcrumb.data),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Level;
    use serde_json::{Value, json};
    use std::fmt;
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    /// `metadata` as this thread's events carry it: with the runtime context.
    fn with_runtime_context(mut metadata: Value) -> Value {
        let fields = metadata.as_object_mut().expect("an object");
        crate::runtime_context::process().fill(fields, std::thread::current().name(), true);
        metadata
    }

    #[test]
    fn every_event_carries_the_runtime_context_under_the_programs_own_tags() {
        let config = Config::builder().release("app@1").build();
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
        event.context.tags = Some(crate::scope::tags(&[("server_name", "from-a-tag")]));
        let json = json_of(&sent(&event, &[], &config));
        let process = crate::runtime_context::process();
        let metadata = &json["metadata"];
        assert_eq!(metadata["os.name"], process.os_name.as_str());
        assert_eq!(metadata["arch"], std::env::consts::ARCH);
        assert_eq!(metadata["rustc.version"], process.rustc_version);
        assert_eq!(
            metadata["server_name"], "from-a-tag",
            "the program's tag wins"
        );
        assert_eq!(
            metadata["thread.name"].as_str(),
            std::thread::current().name()
        );

        // Raised on a named thread, prepared here: the thread that raised it.
        let raised = std::thread::Builder::new()
            .name("worker-7".to_owned())
            .spawn(|| ErrorEvent::new("x::Y", "boom".to_owned(), "capture"))
            .expect("spawned")
            .join()
            .expect("joined");
        let config = Config::builder()
            .release("app@1")
            .send_server_name(false)
            .build();
        let json = json_of(&sent(&raised, &[], &config));
        assert_eq!(json["metadata"]["thread.name"], "worker-7");
        assert!(json["metadata"].get("server_name").is_none(), "turned off");
        // An unnamed thread has no name to send.
        let unnamed = std::thread::spawn(|| ErrorEvent::new("x::Y", "boom".to_owned(), "capture"))
            .join()
            .expect("joined");
        let json = json_of(&sent(&unnamed, &[], &config));
        assert!(json["metadata"].get("thread.name").is_none());
    }

    fn json_of(request: &Post) -> Value {
        serde_json::from_slice(&request.body).expect("json")
    }

    /// The request for an event that fits.
    fn sent(event: &ErrorEvent, breadcrumbs: &[Breadcrumb], config: &Config) -> Post {
        error(event, breadcrumbs, config).expect("the event fits")
    }

    #[test]
    fn the_start_payload_has_every_field_and_leaves_absent_ones_out() {
        let id = SessionId::random();
        let config = Config::builder()
            .release("app@1")
            .environment("dev")
            .build();
        let request = session_start(id, &config);
        assert_eq!(request.path, "/ingest/v1/sessions/start");
        assert_eq!(
            json_of(&request),
            json!({
                "sessionId": id.to_string(), "release": "app@1", "environment": "dev",
                "sdkName": "allstak-rust", "sdkVersion": env!("CARGO_PKG_VERSION"),
                "platform": "rust",
            })
        );
        let config = Config::builder().release("app@1").user_id("u-7").build();
        assert_eq!(json_of(&session_start(id, &config))["userId"], "u-7");
    }

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("could not load settings")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn an_error_payload_carries_every_field_and_no_nulls() {
        let config = Config::builder()
            .release("app@1.2.3")
            .environment("staging")
            .build();
        let outer = Outer(std::io::Error::other("disk on fire"));
        let mut event = ErrorEvent::from_error(std::any::type_name::<Outer>(), &outer, "track");
        event.location = Some(Location::TrackSite("app::load\nsrc/main.rs\n12\n5"));
        event.context.user = Some(Arc::new(crate::User::new().with_id("u-1")));
        let id = SessionId::random();
        event.session_id = Some(id);
        let request = sent(&event, &[], &config);
        assert_eq!(request.path, "/ingest/v1/errors");
        assert_eq!(
            json_of(&request),
            json!({
                "eventId": event.id.to_string(),
                "exceptionClass": "Outer",
                "message": "could not load settings",
                "stackTrace": ["caused by: disk on fire"],
                "frames": [{
                    "filename": "src/main.rs", "function": "app::load", "lineno": 12,
                    "colno": 5, "inApp": true, "platform": "rust"
                }],
                "level": "error",
                "environment": "staging",
                "release": "app@1.2.3",
                "sessionId": id.to_string(),
                "user": {"id": "u-1"},
                "metadata": with_runtime_context(json!({"rust.type": std::any::type_name::<Outer>()})),
                "handled": true,
                "mechanism": "track",
                "sdkName": "allstak-rust",
                "sdkVersion": env!("CARGO_PKG_VERSION"),
                "platform": "rust",
            })
        );
    }

    #[test]
    fn absent_fields_are_left_out() {
        let config = Config::builder().release("app@1").build();
        let event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
        let json = json_of(&sent(&event, &[], &config));
        for absent in [
            "stackTrace",
            "frames",
            "sessionId",
            "user",
            "breadcrumbs",
            "requestContext",
        ] {
            assert!(json.get(absent).is_none(), "{absent}");
        }
        assert!(!has_null(&json));
    }

    proptest::proptest! {
        /// Any type name, message and causes: valid JSON, no null, the message kept (or cut).
        #[test]
        fn any_error_gives_a_valid_payload(
            type_name in ".{0,80}", message in ".{0,200}", causes in proptest::collection::vec(".{0,40}", 0..4)
        ) {
            let type_name: &'static str = Box::leak(type_name.into_boxed_str());
            let mut event = ErrorEvent::new(type_name, message.clone(), "capture");
            event.causes = causes;
            let config = Config::builder().release("app@1").build();
            let json: Value = serde_json::from_slice(&sent(&event, &[], &config).body).expect("valid JSON");
            proptest::prop_assert_eq!(json["message"].as_str(), Some(message.as_str()));
            proptest::prop_assert!(json["exceptionClass"].is_string());
            proptest::prop_assert!(!has_null(&json));
        }
    }

    #[test]
    fn breadcrumbs_and_metadata_fields_have_the_contracts_shape() {
        let config = Config::builder().release("app@1").build();
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "tracing");
        event
            .metadata
            .insert("span.request".to_owned(), json!({"id": 7}));
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(784_111_777_042);
        let mut crumb = Breadcrumb::new("cache miss")
            .with_category("cache")
            .with_level(Level::Warning)
            .with_data("key", "user:42");
        crumb.timestamp = at;
        let bare = Breadcrumb::new("bare");
        let json = json_of(&sent(&event, &[crumb, bare], &config));
        assert_eq!(
            json["metadata"],
            with_runtime_context(json!({"rust.type": "x::Y", "span.request": {"id": 7}}))
        );
        assert_eq!(
            json["breadcrumbs"][0],
            json!({
                "timestamp": "1994-11-06T08:49:37.042Z", "type": "default", "category": "cache",
                "message": "cache miss", "level": "warning", "data": {"key": "user:42"}
            })
        );
        let bare = json["breadcrumbs"][1].as_object().expect("object");
        assert_eq!(
            bare.keys().map(String::as_str).collect::<Vec<_>>(),
            ["level", "message", "timestamp", "type"]
        );
    }

    fn breadcrumb_messages(json: &Value) -> Vec<&str> {
        json["breadcrumbs"]
            .as_array()
            .map(|crumbs| {
                crumbs
                    .iter()
                    .filter_map(|b| b["message"].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn a_2_mb_breadcrumb_then_an_error_is_sent_cut_with_a_marker_under_the_cap() {
        let trail = crate::breadcrumbs::Trail::new();
        trail.add(Breadcrumb::new("starting"));
        trail.add(Breadcrumb::new("x".repeat(2 << 20)).with_data("payload", "y".repeat(2 << 20)));
        trail.add(Breadcrumb::new("retrying"));
        let event = ErrorEvent::new("x::Y", "boom".to_owned(), "tracing");
        let config = Config::builder().release("app@1").build();
        let request = sent(&event, &trail.before(trail.mark()), &config);
        assert!(
            request.body.len() <= MAX_EVENT_BYTES,
            "{}",
            request.body.len()
        );
        let json = json_of(&request);
        assert_eq!(json["message"], "boom");
        let messages = breadcrumb_messages(&json);
        assert_eq!(messages.len(), 3, "nothing had to be dropped");
        assert_eq!((messages[0], messages[2]), ("starting", "retrying"));
        for cut in [
            messages[1],
            json["breadcrumbs"][1]["data"]["payload"]
                .as_str()
                .unwrap_or_default(),
        ] {
            assert!(cut.len() <= crate::MAX_STRING_BYTES, "{}", cut.len());
            assert!(cut.ends_with(crate::TRUNCATED));
            assert!(cut.starts_with("xxxx") || cut.starts_with("yyyy"));
        }
        assert!(json["metadata"].get("allstak.trimmed").is_none());
    }

    /// 100 breadcrumbs of 8 KiB each, numbered: some 820 KiB of trail.
    fn heavy_trail() -> Vec<Breadcrumb> {
        (0..100)
            .map(|n| Breadcrumb::new(format!("{n:03} {}", "z".repeat(crate::MAX_STRING_BYTES))))
            .collect()
    }

    #[test]
    fn an_event_over_the_cap_drops_its_oldest_breadcrumbs_first_and_only_as_many_as_needed() {
        let trail = heavy_trail();
        let event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
        let config = Config::builder().release("app@1").build();
        let request = sent(&event, &trail, &config);
        let size = request.body.len();
        assert!(size <= MAX_EVENT_BYTES, "{size}");
        let json = json_of(&request);
        let kept: Vec<&str> = breadcrumb_messages(&json).iter().map(|m| &m[..3]).collect();
        let dropped = 100 - kept.len();
        let newest: Vec<String> = (dropped..100).map(|n| format!("{n:03}")).collect();
        assert_eq!(kept, newest, "the newest, in order");
        // One more breadcrumb (8 KiB) would not have fitted.
        assert!(
            size + crate::MAX_STRING_BYTES + 100 > MAX_EVENT_BYTES,
            "{size}"
        );
        let trimmed = &json["metadata"]["allstak.trimmed"];
        assert_eq!(trimmed["breadcrumbs"], dropped);
        assert!(
            trimmed["bytes"].as_u64().is_some_and(|b| b > 800 * 1024),
            "{trimmed}"
        );
        assert_eq!(json["message"], "boom");
        assert_eq!(json["metadata"]["rust.type"], "x::Y");
    }

    #[test]
    fn past_the_breadcrumbs_the_largest_metadata_fields_go_first() {
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
        let numbers: Vec<u32> = (100_000..200_000).collect();
        event.metadata.insert("big".to_owned(), json!(numbers));
        event.metadata.insert("small".to_owned(), json!(1));
        event.context.tags = Some(crate::scope::tags(&[("region", "eu")]));
        let config = Config::builder().release("app@1").build();
        let json = json_of(&sent(&event, &heavy_trail(), &config));
        assert!(json["breadcrumbs"].is_null(), "every breadcrumb went first");
        assert!(json["metadata"].get("big").is_none());
        assert_eq!(json["metadata"]["small"], 1);
        assert_eq!(json["metadata"]["region"], "eu");
        assert_eq!(
            json["metadata"]["allstak.trimmed"]["metadata"], 1,
            "{}",
            json["metadata"]
        );
        assert_eq!(json["metadata"]["allstak.trimmed"]["breadcrumbs"], 100);
    }

    #[test]
    fn an_event_that_cannot_fit_is_not_sent() {
        // Past what the builder lets through (a release is cut to 1 KiB): set here.
        let mut config = Config::builder().build();
        config.release = "r".repeat(MAX_EVENT_BYTES);
        let event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
        assert!(error(&event, &heavy_trail(), &config).is_none());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        /// Any trail and fields: a valid body within the cap, with the newest breadcrumbs.
        #[test]
        fn any_event_is_sent_within_the_cap_with_its_newest_breadcrumbs(
            crumbs in proptest::collection::vec(0..3 * crate::MAX_STRING_BYTES, 0..120),
            fields in proptest::collection::vec(0usize..60_000, 0..6),
        ) {
            let trail = crate::breadcrumbs::Trail::new();
            trail.set_capacity(crumbs.len());
            for (n, len) in crumbs.iter().enumerate() {
                trail.add(Breadcrumb::new(format!("{n:03} {}", "é".repeat(*len / 2))));
            }
            let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
            for (n, len) in fields.iter().enumerate() {
                event.metadata.insert(format!("f{n}"), json!(vec![7u8; *len]));
            }
            let config = Config::builder().release("app@1").build();
            let request = sent(&event, &trail.before(trail.mark()), &config);
            proptest::prop_assert!(request.body.len() <= MAX_EVENT_BYTES);
            let json = json_of(&request);
            let kept = breadcrumb_messages(&json);
            let first = crumbs.len() - kept.len();
            for (offset, message) in kept.iter().enumerate() {
                let number = format!("{:03} ", first + offset);
                proptest::prop_assert!(message.starts_with(&number));
                proptest::prop_assert!(message.len() <= crate::MAX_STRING_BYTES);
            }
        }
    }

    #[test]
    fn the_user_has_the_contracts_shape_and_an_empty_one_is_left_out() {
        let config = Config::builder().release("app@1").build();
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "capture");
        let user = User::new()
            .with_id("u-42")
            .with_email("ada@example.com")
            .with_ip("203.0.113.7");
        event.context.user = Some(Arc::new(user));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["user"],
            json!({"id": "u-42", "email": "ada@example.com", "ip": "203.0.113.7"})
        );
        event.context.user = Some(Arc::new(User::new().with_email("ada@example.com")));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["user"],
            json!({"email": "ada@example.com"})
        );
        event.context.user = Some(Arc::new(User::new()));
        assert!(json_of(&sent(&event, &[], &config)).get("user").is_none());
        // Sent as set: an id that is an email is the user's id, not a secret.
        event.context.user = Some(Arc::new(User::new().with_id("ada@example.com")));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["user"],
            json!({"id": "ada@example.com"})
        );
    }

    #[test]
    fn tags_go_to_metadata_under_the_events_own_fields() {
        let config = Config::builder().release("app@1").build();
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "tracing");
        event.context.tags = Some(crate::scope::tags(&[("region", "eu"), ("tenant", "acme")]));
        event
            .metadata
            .insert("tenant".to_owned(), json!("from-field"));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["metadata"],
            with_runtime_context(
                json!({"rust.type": "x::Y", "region": "eu", "tenant": "from-field"})
            )
        );
    }

    #[test]
    fn extra_data_goes_to_metadata_over_the_tags_and_under_the_events_own_fields() {
        let config = Config::builder().release("app@1").build();
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "tracing");
        event.context.tags = Some(crate::scope::tags(&[("region", "eu"), ("plan", "tag")]));
        let extra = [
            ("plan", json!({"tier": "pro"})),
            ("attempt", json!("from-extra")),
        ];
        event.context.extra = Some(Arc::new(
            extra.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ));
        event.metadata.insert("attempt".to_owned(), json!(3));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["metadata"],
            with_runtime_context(
                json!({"rust.type": "x::Y", "region": "eu", "plan": {"tier": "pro"}, "attempt": 3})
            )
        );
    }

    #[test]
    fn the_request_context_has_the_contracts_shape_with_the_route_and_no_query() {
        let config = Config::builder().release("app@1").build();
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "tower");
        let mut request = RequestContext {
            method: http::Method::POST,
            uri: "/users/42?token=abc".parse().expect("uri"),
            route: None,
            host: Some(http::HeaderValue::from_static("api.example:8443")),
            user_agent: Some(http::HeaderValue::from_static("curl/8.5")),
            status: Some(503),
            reported: std::sync::atomic::AtomicBool::new(false),
        };
        event.context.request = Some(Arc::new(request.outcome(Some(503))));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["requestContext"],
            json!({
                "method": "POST", "path": "/users/42", "host": "api.example:8443",
                "statusCode": 503, "userAgent": "curl/8.5"
            })
        );
        request.route = Some("/users/{id}".to_owned());
        request.host = None;
        request.user_agent = None;
        request.status = None;
        event.context.request = Some(Arc::new(request));
        assert_eq!(
            json_of(&sent(&event, &[], &config))["requestContext"],
            json!({"method": "POST", "path": "/users/{id}"})
        );
    }

    fn event_with_secrets() -> (ErrorEvent, Breadcrumb) {
        let mut event = ErrorEvent::new("x::Y", "boom".to_owned(), "tracing");
        event.context.tags = Some(crate::scope::tags(&[
            ("api_key", "k-1"),
            ("tenant", "acme"),
        ]));
        for (key, value) in [
            ("password", json!("hunter2")),
            ("client_secret", json!("s")),
            ("refresh_token", json!("t")),
            ("ApiKey", json!("k-2")),
            ("authorization", json!("Bearer b")),
            ("cookie", json!("sid=1")),
            (
                "spans",
                json!([{"name": "login", "fields": {"Password": "p", "id": 7}}]),
            ),
            ("user", json!("u-1")),
        ] {
            event.metadata.insert(key.to_owned(), value);
        }
        let crumb = Breadcrumb::new("signed in")
            .with_data("token", "t-2")
            .with_data("id", 7);
        (event, crumb)
    }

    #[test]
    fn secrets_in_metadata_tags_and_breadcrumb_data_are_scrubbed_by_default() {
        let config = Config::builder().release("app@1").build();
        let (event, crumb) = event_with_secrets();
        let json = json_of(&sent(&event, &[crumb], &config));
        assert_eq!(
            json["metadata"],
            with_runtime_context(json!({
                "rust.type": "x::Y",
                "api_key": "[scrubbed]",
                "tenant": "acme",
                "password": "[scrubbed]",
                "client_secret": "[scrubbed]",
                "refresh_token": "[scrubbed]",
                "ApiKey": "[scrubbed]",
                "authorization": "[scrubbed]",
                "cookie": "[scrubbed]",
                "spans": [{"name": "login", "fields": {"Password": "[scrubbed]", "id": 7}}],
                "user": "u-1",
            }))
        );
        assert_eq!(
            json["breadcrumbs"][0]["data"],
            json!({"token": "[scrubbed]", "id": 7})
        );
    }

    #[test]
    fn scrub_defaults_false_sends_fields_as_they_are() {
        let config = Config::builder()
            .release("app@1")
            .scrub_defaults(false)
            .build();
        let (event, crumb) = event_with_secrets();
        let json = json_of(&sent(&event, &[crumb], &config));
        assert_eq!(json["metadata"]["password"], "hunter2");
        assert_eq!(json["metadata"]["api_key"], "k-1");
        assert_eq!(json["metadata"]["spans"][0]["fields"]["Password"], "p");
        assert_eq!(json["breadcrumbs"][0]["data"]["token"], "t-2");
    }

    #[test]
    fn the_api_key_never_leaves_in_a_payload_even_with_scrubbing_off() {
        let key = "ask_live_secret_0123";
        for scrub_defaults in [true, false] {
            let config = Config::builder()
                .release("app@1")
                .api_key(key)
                .user_id(key)
                .scrub_defaults(scrub_defaults)
                .build();
            let mut event = ErrorEvent::new("x::Y", format!("login with {key} refused"), "log");
            event.causes = vec![format!("key {key}")];
            event.metadata.insert("note".to_owned(), json!(key));
            let crumb = Breadcrumb::new(format!("using {key}"));
            let request = sent(&event, &[crumb], &config);
            let body = String::from_utf8_lossy(&request.body);
            assert!(!body.contains(key), "{body}");
            assert_eq!(
                json_of(&request)["message"],
                "login with [scrubbed] refused"
            );
            let start = session_start(SessionId::random(), &config);
            assert!(!String::from_utf8_lossy(&start.body).contains(key));
        }
    }

    fn has_null(value: &Value) -> bool {
        match value {
            Value::Null => true,
            Value::Array(items) => items.iter().any(has_null),
            Value::Object(fields) => fields.values().any(has_null),
            _ => false,
        }
    }
}
