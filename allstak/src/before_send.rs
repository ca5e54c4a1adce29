//! `before_send`: the program's last word on an error event before it is queued — to change it,
//! scrub what the defaults do not know about, or drop it. The hook sees an [`Event`], a view
//! of the captured event that hides how the SDK stores it.

use std::cell::Cell;

use crate::event::{ErrorEvent, Event, truncate_strings};
use crate::sdk_thread::quietly;

/// The hook [`ConfigBuilder::before_send`](crate::ConfigBuilder::before_send) takes.
pub(crate) type BeforeSend = dyn Fn(Event) -> Option<Event> + Send + Sync;

/// Runs `hook` on `event`: `None` when it dropped the event, or panicked (the hook may be what
/// keeps a secret out of the event: without it, nothing is sent).
pub(crate) fn apply(hook: &BeforeSend, mut event: ErrorEvent) -> Option<ErrorEvent> {
    // The hook sees one metadata object: the tags, the extra data over them, then the event's
    // own fields over both.
    if let Some(extra) = event.context.extra.take() {
        crate::scope::merge_extra(&mut event.metadata, &extra);
    }
    if let Some(tags) = event.context.tags.take() {
        crate::scope::merge_tags(&mut event.metadata, &tags);
    }
    // An event the hook itself reports (`capture_display` to log a dropped event) is sent as it
    // is: through the hook again, each report would report again, without end.
    match IN_HOOK.try_with(Cell::get) {
        Ok(false) => {}
        Ok(true) => return Some(event),
        // The thread is exiting, past its thread-locals: the hook cannot be guarded.
        Err(_) => return None,
    }
    let outcome = quietly(|| {
        let _in_hook = InHook::enter();
        hook(Event::captured(event))
    });
    match outcome {
        Some(outcome) => outcome.map(|event| {
            let mut event = event.into_inner();
            // Whatever the hook put in: no string over the limit.
            event.metadata.values_mut().for_each(truncate_strings);
            event
        }),
        None => {
            crate::diag::debug!("before_send panicked; the event is dropped");
            None
        }
    }
}

thread_local! {
    /// Set while `before_send` runs on this thread.
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

/// Whether `before_send` is running on this thread (a panic now is the hook's).
pub(crate) fn is_running() -> bool {
    IN_HOOK.try_with(Cell::get).unwrap_or(false)
}

/// Marks the thread as running the hook until dropped (also when the hook panics).
struct InHook;

impl InHook {
    fn enter() -> Self {
        let _ = IN_HOOK.try_with(|flag| flag.set(true));
        Self
    }
}

impl Drop for InHook {
    fn drop(&mut self) {
        let _ = IN_HOOK.try_with(|flag| flag.set(false));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Level;
    use crate::scope::User;
    use serde_json::Value;

    fn event_with_tags() -> ErrorEvent {
        let mut event = ErrorEvent::new("app::Oops", "boom".to_owned(), "capture");
        event.context.tags = Some(crate::scope::tags(&[("region", "eu"), ("tenant", "acme")]));
        event
            .metadata
            .insert("tenant".to_owned(), Value::from("field"));
        event
    }

    #[test]
    fn an_event_the_hook_reports_skips_the_hook_instead_of_recursing() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        let hook = |event: Event| {
            CALLS.fetch_add(1, Ordering::Relaxed);
            // What `capture_display` inside the hook comes down to: the hook applied again.
            let inner = ErrorEvent::new("&str", "dropped one".to_owned(), "capture");
            let reported = apply(&|_| None, inner);
            assert_eq!(reported.map(|e| e.message), Some("dropped one".to_owned()));
            Some(event)
        };
        assert!(apply(&hook, ErrorEvent::new("x::Y", "boom".to_owned(), "capture")).is_some());
        assert_eq!(CALLS.load(Ordering::Relaxed), 1);
        // Outside the hook, hooks run again.
        assert!(
            apply(
                &|_| None,
                ErrorEvent::new("x::Y", "boom".to_owned(), "capture")
            )
            .is_none()
        );
    }

    #[test]
    fn the_hook_sees_tags_in_metadata_under_the_events_own_fields_and_may_change_everything() {
        let event = apply(
            &|mut event: Event| {
                assert_eq!(event.metadata()["region"], "eu");
                assert_eq!(event.metadata()["tenant"], "field");
                event.set_message("changed");
                event.set_exception_class("Other");
                event.set_level(Level::Warning);
                event.set_user(Some(User::new().with_id("u-9")));
                event.metadata_mut().remove("region");
                Some(event)
            },
            event_with_tags(),
        )
        .expect("kept");
        assert_eq!(event.message, "changed");
        assert_eq!(event.exception_class, "Other");
        assert_eq!(event.level, Level::Warning);
        assert_eq!(
            event.context.user.as_deref().and_then(User::id),
            Some("u-9")
        );
        assert!(!event.metadata.contains_key("region"));
        assert!(event.context.tags.is_none());
    }

    #[test]
    fn what_the_hook_puts_in_is_cut_to_the_string_limit() {
        let huge = "x".repeat(1 << 20);
        let event = apply(
            &move |mut event: Event| {
                event.set_message(huge.as_str());
                event.set_exception_class(huge.as_str());
                let dump = serde_json::json!({"rows": [huge.as_str()]});
                event.metadata_mut().insert("dump".to_owned(), dump);
                Some(event)
            },
            event_with_tags(),
        )
        .expect("kept");
        let cut =
            |text: &str| text.len() <= crate::MAX_STRING_BYTES && text.ends_with(crate::TRUNCATED);
        assert!(cut(&event.message));
        assert!(cut(&event.exception_class));
        assert!(cut(event.metadata["dump"]["rows"][0]
            .as_str()
            .unwrap_or_default()));
        assert_eq!(event.metadata["region"], "eu");
    }

    #[test]
    fn a_hook_returning_none_drops_the_event() {
        assert!(apply(&|_| None, event_with_tags()).is_none());
    }

    #[test]
    fn a_panicking_hook_is_contained_and_its_event_dropped() {
        assert!(apply(&|_| panic!("a bug in before_send"), event_with_tags()).is_none());
    }
}
